/* crioctl: inspect, inspectp and inspecti, which show objects' statuses as crictl does. */
#include <stdlib.h>

#include "crioctl.h"

/* One status: its document; several: an array of them (as crictl). */
static int print_documents(crioctl_ctx *ctx, const crioctl_inspector *how, ProtobufCMessage **resps, int n)
{
    cJSON *doc = n == 1 ? how->json(resps[0]) : cJSON_CreateArray();

    for (int i = 0; doc && n > 1 && i < n; i++) {
        cJSON *one = how->json(resps[i]);
        if (!one || !cJSON_AddItemToArray(doc, one)) {
            cJSON_Delete(one);
            cJSON_Delete(doc);
            doc = NULL;
        }
    }
    return crioctl_print_json_doc(ctx, doc);
}

int crioctl_inspect(crioctl_ctx *ctx, int argc, char **argv, const crioctl_inspector *how)
{
    static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    ProtobufCMessage **resps;
    bool quiet = false;
    int opt, r, n;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, how->shortopts, opts, NULL)) != -1) {
        if (opt == 'q')
            quiet = true;
        else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    if (optind >= argc) {
        crioctl_error(ctx, "%s", how->no_object);
        return 1;
    }
    n = argc - optind;
    resps = calloc((size_t)n, sizeof(*resps));
    if (!resps) {
        crioctl_error(ctx, "out of memory");
        return 1;
    }
    /* As crictl: every object is looked up before anything is printed; the first failure ends it. */
    r = 0;
    for (int i = 0; i < n && r == 0; i++)
        r = how->status(ctx, argv[optind + i], !quiet, &resps[i]) < 0 ? 1 : 0;
    if (r == 0 && ctx->output == CRIOCTL_OUTPUT_TABLE)
        for (int i = 0; i < n; i++)
            how->print_table(resps[i], !quiet);
    else if (r == 0)
        r = print_documents(ctx, how, resps, n);
    for (int i = 0; i < n; i++)
        if (resps[i])
            protobuf_c_message_free_unpacked(resps[i], NULL);
    free(resps);
    return r;
}
