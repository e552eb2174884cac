/* crioctl: commands about the runtime itself: version, info, runtime-config. */
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"
#include "crioctl.h"

#define RUNTIME_SERVICE "/runtime.v1.RuntimeService/"

/* The CRI API version crioctl speaks (what crictl sends in VersionRequest). */
#define CRI_API_VERSION "v1"

/* Parses the options of a command that takes only the common ones. */
static int simple_options(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    return crioctl_no_args(ctx, argc, argv) ? 1 : -1;
}

/* Prints a message as JSON (crictl's jsonpb form); returns the exit status. */
static int print_message_json(crioctl_ctx *ctx, const ProtobufCMessage *msg)
{
    cJSON *j = crioctl_pb_to_json(msg);
    int r = j ? crioctl_print_json(ctx, j) : (crioctl_error(ctx, "out of memory"), -1);

    cJSON_Delete(j);
    return r < 0 ? 1 : 0;
}

int crioctl_cmd_version(crioctl_ctx *ctx, int argc, char **argv)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    Runtime__V1__VersionResponse *resp;
    ProtobufCMessage *m;
    int r;

    if ((r = simple_options(ctx, argc, argv)) >= 0)
        return r;
    req.version = (char *)CRI_API_VERSION;
    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "Version", &req.base,
                     &runtime__v1__version_response__descriptor, &m) < 0)
        return 1;
    resp = (Runtime__V1__VersionResponse *)m;
    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        r = print_message_json(ctx, m);
    } else {
        printf("Version:  %s\n", resp->version);
        printf("RuntimeName:  %s\n", resp->runtime_name);
        printf("RuntimeVersion:  %s\n", resp->runtime_version);
        printf("RuntimeApiVersion:  %s\n", resp->runtime_api_version);
        r = 0;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

/* Sets obj[key] = item, replacing an earlier member of that name. */
static bool put_member(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return false;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

/*
 * The document crictl prints for `info`: {"status": ..., then the info map
 * sorted by key, each value embedded as JSON when it parses as JSON, else
 * as a string}, plus runtimeHandlers and features when the runtime sends them.
 */
static cJSON *info_json(const Runtime__V1__StatusResponse *resp)
{
    cJSON *root = cJSON_CreateObject();
    Runtime__V1__StatusResponse__InfoEntry **sorted = NULL;
    bool ok = root != NULL;

    if (ok)
        ok = put_member(root, "status", crioctl_pb_to_json((const ProtobufCMessage *)resp->status));
    if (ok && resp->n_runtime_handlers > 0) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && i < resp->n_runtime_handlers; i++) {
            cJSON *h = crioctl_pb_to_json((const ProtobufCMessage *)resp->runtime_handlers[i]);
            if (!h || !cJSON_AddItemToArray(a, h)) {
                cJSON_Delete(h);
                cJSON_Delete(a);
                a = NULL;
            }
        }
        ok = put_member(root, "runtimeHandlers", a);
    }
    if (ok && resp->features)
        ok = put_member(root, "features", crioctl_pb_to_json((const ProtobufCMessage *)resp->features));

    if (ok && resp->n_info > 0) {
        sorted = malloc(resp->n_info * sizeof(*sorted));
        ok = sorted != NULL;
    }
    if (ok && sorted) {
        /* A stable insertion sort (the map is small): of a repeated key,
         * the last value wins, as when a map is parsed. */
        for (size_t i = 0; i < resp->n_info; i++) {
            size_t j = i;
            while (j > 0 && strcmp(sorted[j - 1]->key, resp->info[i]->key) > 0) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = resp->info[i];
        }
        for (size_t i = 0; ok && i < resp->n_info; i++) {
            const char *v = sorted[i]->value ? sorted[i]->value : "";
            cJSON *parsed = cJSON_ParseWithOpts(v, NULL, 1);
            cJSON *item = parsed ? cJSON_CreateRaw(v) : cJSON_CreateString(v);
            cJSON_Delete(parsed);
            ok = put_member(root, sorted[i]->key, item);
        }
    }
    free(sorted);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int crioctl_cmd_info(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    ProtobufCMessage *m;
    bool quiet = false;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:q" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 'q')
            quiet = true;
        else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    if (crioctl_no_args(ctx, argc, argv))
        return 1;

    req.verbose = !quiet;
    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "Status", &req.base,
                     &runtime__v1__status_response__descriptor, &m) < 0)
        return 1;
    /* Like crictl, info prints JSON whatever the format (table included). */
    cJSON *j = info_json((const Runtime__V1__StatusResponse *)m);
    if (!j) {
        crioctl_error(ctx, "out of memory");
        r = 1;
    } else {
        r = crioctl_print_json(ctx, j) < 0 ? 1 : 0;
    }
    cJSON_Delete(j);
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

int crioctl_cmd_runtime_config(crioctl_ctx *ctx, int argc, char **argv)
{
    Runtime__V1__RuntimeConfigRequest req = RUNTIME__V1__RUNTIME_CONFIG_REQUEST__INIT;
    Runtime__V1__RuntimeConfigResponse *resp;
    ProtobufCMessage *m;
    int r;

    if ((r = simple_options(ctx, argc, argv)) >= 0)
        return r;
    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "RuntimeConfig", &req.base,
                     &runtime__v1__runtime_config_response__descriptor, &m) < 0)
        return 1;
    resp = (Runtime__V1__RuntimeConfigResponse *)m;
    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        r = print_message_json(ctx, m);
    } else {
        /* crictl: a tabwriter row "cgroup driver:" + the enum's name. */
        crioctl_table *t = crioctl_table_new(10, 3);
        r = t ? 0 : 1;
        if (t && resp->linux) {
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
                &runtime__v1__cgroup_driver__descriptor, (int)resp->linux->cgroup_driver);
            char num[16];
            snprintf(num, sizeof(num), "%d", (int)resp->linux->cgroup_driver);
            const char *row[] = { "cgroup driver:", ev ? ev->name : num };
            r = crioctl_table_add(t, 2, row) < 0;
        }
        if (r)
            crioctl_error(ctx, "out of memory");
        else
            r = crioctl_table_print(t, stdout) < 0;
        crioctl_table_free(t);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}
