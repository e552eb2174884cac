/*
 * crioctl: pod commands, as crictl has them: runp, pods, inspectp, stopp,
 * rmp.  Pod configs are read by pbjson_in (JSON or YAML).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "api.pb-c.h"
#include "crioctl.h"
#include "logs.h"
#include "pbjson_in.h"

#define RUNTIME_SERVICE "/runtime.v1.RuntimeService/"

const char crioctl_help_runp[] =
    "  -r, --runtime HANDLER         run the pod with this runtime handler (default: the\n"
    "                                runtime's default)\n"
    "  -T, --cancel-timeout DURATION give up on RunPodSandbox after DURATION (default: the\n"
    "                                global --timeout)\n"
    "POD_CONFIG is a PodSandboxConfig in JSON or YAML, as crictl reads it: proto field names\n"
    "(log_directory) or JSON names (logDirectory), enums by name or number.  Prints the pod id.\n";

const char crioctl_help_pods[] =
    "      --id ID           only the pod with this id (or id prefix)\n"
    "      --name REGEX      only pods whose name matches\n"
    "      --namespace REGEX only pods whose namespace matches\n"
    "  -s, --state STATE     only pods in this state: ready or notready\n"
    "      --label KEY=VALUE only pods with this label (repeatable)\n"
    "  -l, --latest          only the most recently created pod\n"
    "  -n, --last N          only the N most recently created pods\n"
    "      --no-trunc        show ids in full\n"
    "  -q, --quiet           only show pod ids\n"
    "  -v, --verbose         show every field of each pod\n"
    "  -o, --output FORMAT   output format: table (the default) or json\n";

const char crioctl_help_inspectp[] =
    "  -o, --output FORMAT   output format: json (the default) or table\n"
    "  -q, --quiet           do not ask for verbose information\n";

const char crioctl_help_rmp[] =
    "  -a, --all             remove all pods\n"
    "  -f, --force           stop a pod that is ready before removing it\n";

/* ---- Pod configs ---- */

/* A random (version 4) UUID, as crictl gives a pod config without a uid. */
static int random_uuid(char out[37])
{
    unsigned char b[16];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

static int check_pod_metadata(crioctl_ctx *ctx, const char *path, Runtime__V1__PodSandboxConfig *cfg)
{
    Runtime__V1__PodSandboxMetadata *md = cfg->metadata;
    char uuid[37];

    if (!md) {
        crioctl_error(ctx, "%s: metadata is not set", path);
        return -1;
    }
    if (!md->name || !md->name[0] || !md->namespace_ || !md->namespace_[0]) {
        crioctl_error(ctx, "%s: metadata needs a name and a namespace", path);
        return -1;
    }
    if (!md->uid || !md->uid[0]) {
        char *uid = random_uuid(uuid) == 0 ? strdup(uuid) : NULL;
        if (!uid) {
            crioctl_error(ctx, "cannot generate a pod uid: %s", strerror(errno));
            return -1;
        }
        /* The unpacked message owns its strings (freed unless the shared empty one). */
        if (md->uid != protobuf_c_empty_string)
            free(md->uid);
        md->uid = uid;
    }
    return 0;
}

int crioctl_load_config(crioctl_ctx *ctx, const char *path, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **out)
{
    char *err = NULL;

    if (crioctl_pbjson_load_file(path, desc, out, &err) < 0) {
        crioctl_error(ctx, "%s", err ? err : "out of memory");
        free(err);
        return -1;
    }
    return 0;
}

int crioctl_load_pod_config(crioctl_ctx *ctx, const char *path, Runtime__V1__PodSandboxConfig **out)
{
    ProtobufCMessage *m;

    *out = NULL;
    if (crioctl_load_config(ctx, path, &runtime__v1__pod_sandbox_config__descriptor, &m) < 0)
        return -1;
    if (check_pod_metadata(ctx, path, (Runtime__V1__PodSandboxConfig *)m) < 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return -1;
    }
    *out = (Runtime__V1__PodSandboxConfig *)m;
    return 0;
}

int crioctl_run_pod(crioctl_ctx *ctx, Runtime__V1__PodSandboxConfig *config, const char *handler,
                    char **pod_id)
{
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;

    req.config = config;
    if (handler)
        req.runtime_handler = (char *)handler;
    return crioctl_call_for_id(ctx, RUNTIME_SERVICE "RunPodSandbox", &req.base,
                               &runtime__v1__run_pod_sandbox_response__descriptor, "pod_sandbox_id", pod_id);
}

/* ---- runp ---- */

int crioctl_cmd_runp(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "runtime", required_argument, NULL, 'r' },
                                          { "cancel-timeout", required_argument, NULL, 'T' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    Runtime__V1__PodSandboxConfig *cfg;
    const char *handler = NULL;
    char *id;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":r:T:" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 'r') {
            handler = optarg;
        } else if (opt == 'T') {
            if (crioctl_parse_duration(optarg, &ctx->timeout_ms) < 0) {
                crioctl_error(ctx, "invalid --cancel-timeout \"%s\"", optarg);
                return 1;
            }
        } else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0) {
            return r;
        }
    }
    if (argc - optind != 1) {
        crioctl_error(ctx, "expected one pod config file (usage: crioctl runp [OPTIONS] POD_CONFIG)");
        return 1;
    }
    if (crioctl_load_pod_config(ctx, argv[optind], &cfg) < 0)
        return 1;
    r = crioctl_run_pod(ctx, cfg, handler, &id);
    protobuf_c_message_free_unpacked(&cfg->base, NULL);
    if (r < 0)
        return 1;
    printf("%s\n", id);
    free(id);
    return 0;
}

/* ---- pods ---- */

struct pods_opts {
    const char *id;
    int state; /* -1: any */
    crioctl_labels labels;
    crioctl_selection sel;
    bool no_trunc, quiet, verbose;
};

static int parse_pod_state(crioctl_ctx *ctx, const char *s, int *state)
{
    if (strcasecmp(s, "ready") == 0) {
        *state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
    } else if (strcasecmp(s, "notready") == 0) {
        *state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    } else {
        crioctl_error(ctx, "--state should be ready or notready, not \"%s\"", s);
        return -1;
    }
    return 0;
}

static const char *pod_state_name(int state)
{
    switch (state) {
    case RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY:
        return "Ready";
    case RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY:
        return "NotReady";
    default:
        return "Unknown";
    }
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* Newest first, as crictl sorts. */
static int pod_cmp_created(const void *a, const void *b)
{
    const Runtime__V1__PodSandbox *x = *(Runtime__V1__PodSandbox *const *)a;
    const Runtime__V1__PodSandbox *y = *(Runtime__V1__PodSandbox *const *)b;

    return x->created_at < y->created_at ? 1 : x->created_at > y->created_at ? -1 : 0;
}

static int list_pods(crioctl_ctx *ctx, const struct pods_opts *o, Runtime__V1__ListPodSandboxResponse **out)
{
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__PodSandboxFilter filter = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
    Runtime__V1__PodSandboxStateValue state = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;
    ProtobufCMessage *m;
    int r;

    if (o->id)
        filter.id = (char *)o->id;
    if (o->state >= 0) {
        state.state = (Runtime__V1__PodSandboxState)o->state;
        filter.state = &state;
    }
    req.filter = &filter;
    r = crioctl_call_with_labels(ctx, RUNTIME_SERVICE "ListPodSandbox", &req.base, &filter.base, &o->labels,
                                 &runtime__v1__list_pod_sandbox_response__descriptor, &m);
    *out = (Runtime__V1__ListPodSandboxResponse *)m;
    return r;
}

static bool pod_matches(const void *item, const regex_t *name_re, const regex_t *ns_re, void *payload)
{
    const Runtime__V1__PodSandboxMetadata *md = ((const Runtime__V1__PodSandbox *)item)->metadata;

    return md && (!name_re || regexec(name_re, str_or_empty(md->name), 0, NULL, 0) == 0) &&
           (!ns_re || regexec(ns_re, str_or_empty(md->namespace_), 0, NULL, 0) == 0);
}

static const char *runtime_handler(const char *h)
{
    return h && h[0] ? h : "(default)";
}

static int add_pod_row(crioctl_table *t, const Runtime__V1__PodSandbox *p, bool no_trunc, int64_t now)
{
    char id[128], age[64], created[80], attempt[16];
    const Runtime__V1__PodSandboxMetadata *md = p->metadata;

    if (no_trunc)
        snprintf(id, sizeof(id), "%s", str_or_empty(p->id));
    else
        crioctl_truncate_id(id, sizeof(id), p->id);
    crioctl_human_duration(age, sizeof(age), now - p->created_at);
    snprintf(created, sizeof(created), "%s ago", age);
    snprintf(attempt, sizeof(attempt), "%" PRIu32, md ? md->attempt : 0);
    const char *row[] = { id, created, pod_state_name(p->state), md ? str_or_empty(md->name) : "",
                          md ? str_or_empty(md->namespace_) : "", attempt, runtime_handler(p->runtime_handler) };
    return crioctl_table_add(t, 7, row);
}

static int print_pods_table(crioctl_ctx *ctx, Runtime__V1__PodSandbox **pods, size_t n, bool no_trunc)
{
    static const char *const head[] = { "POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME" };
    crioctl_table *t = crioctl_listing_table(7, head);
    int64_t now = crioctl_now_ns();
    int r = t ? 0 : -1;

    for (size_t i = 0; r == 0 && i < n; i++)
        r = add_pod_row(t, pods[i], no_trunc, now);
    return crioctl_table_output(ctx, t, r);
}

static void print_pod_verbose(const Runtime__V1__PodSandbox *p)
{
    const Runtime__V1__PodSandboxMetadata *md = p->metadata;
    char created[96];

    printf("ID: %s\n", str_or_empty(p->id));
    if (md && md->name && md->name[0])
        printf("Name: %s\n", md->name);
    if (md && md->uid && md->uid[0])
        printf("UID: %s\n", md->uid);
    if (md && md->namespace_ && md->namespace_[0])
        printf("Namespace: %s\n", md->namespace_);
    if (md && md->attempt)
        printf("Attempt: %" PRIu32 "\n", md->attempt);
    printf("Status: %s\n", pod_state_name(p->state));
    crioctl_format_go_time(created, sizeof(created), p->created_at);
    printf("Created: %s\n", created);
    crioctl_print_map(stdout, "Labels", p->n_labels, (ProtobufCMessage *const *)p->labels);
    crioctl_print_map(stdout, "Annotations", p->n_annotations, (ProtobufCMessage *const *)p->annotations);
    printf("Runtime: %s\n\n", runtime_handler(p->runtime_handler));
}

static int output_pods(crioctl_ctx *ctx, const struct pods_opts *o, Runtime__V1__PodSandbox **pods, size_t n)
{
    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        Runtime__V1__ListPodSandboxResponse shown = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
        shown.n_items = n;
        shown.items = pods;
        return crioctl_print_message_json(ctx, &shown.base);
    }
    if (o->quiet) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", str_or_empty(pods[i]->id));
        return 0;
    }
    if (o->verbose) {
        for (size_t i = 0; i < n; i++)
            print_pod_verbose(pods[i]);
        return 0;
    }
    return print_pods_table(ctx, pods, n, o->no_trunc);
}

static int parse_count(crioctl_ctx *ctx, const char *opt, const char *arg, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(arg, &end, 10);
    if (errno || end == arg || *end || *out < 0) {
        crioctl_error(ctx, "invalid %s \"%s\": expected a count", opt, arg);
        return -1;
    }
    return 0;
}

/* Parses the options of pods; returns -1 to go on, or the exit status. */
static int pods_options(crioctl_ctx *ctx, int argc, char **argv, struct pods_opts *o)
{
    enum { OPT_ID = 256, OPT_NAME, OPT_NAMESPACE, OPT_LABEL, OPT_NO_TRUNC };
    static const struct option opts[] = { { "id", required_argument, NULL, OPT_ID },
                                          { "name", required_argument, NULL, OPT_NAME },
                                          { "namespace", required_argument, NULL, OPT_NAMESPACE },
                                          { "state", required_argument, NULL, 's' },
                                          { "label", required_argument, NULL, OPT_LABEL },
                                          { "latest", no_argument, NULL, 'l' },
                                          { "last", required_argument, NULL, 'n' },
                                          { "no-trunc", no_argument, NULL, OPT_NO_TRUNC },
                                          { "quiet", no_argument, NULL, 'q' },
                                          { "verbose", no_argument, NULL, 'v' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":s:ln:qv" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        switch (opt) {
        case OPT_ID:
            o->id = optarg;
            break;
        case OPT_NAME:
            o->sel.name = optarg;
            break;
        case OPT_NAMESPACE:
            o->sel.ns = optarg;
            break;
        case 's':
            if (parse_pod_state(ctx, optarg, &o->state) < 0)
                return 1;
            break;
        case OPT_LABEL:
            if (crioctl_label_option(ctx, &o->labels, optarg) < 0)
                return 1;
            break;
        case 'l':
            o->sel.latest = true;
            break;
        case 'n':
            if (parse_count(ctx, "--last", optarg, &o->sel.last) < 0)
                return 1;
            break;
        case OPT_NO_TRUNC:
            o->no_trunc = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        default:
            if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
                return r;
        }
    }
    return crioctl_no_args(ctx, argc, argv) ? 1 : -1;
}

int crioctl_cmd_pods(crioctl_ctx *ctx, int argc, char **argv)
{
    struct pods_opts o = { .state = -1 };
    Runtime__V1__ListPodSandboxResponse *resp = NULL;
    long n;
    int r;

    if ((r = pods_options(ctx, argc, argv, &o)) >= 0) {
        crioctl_labels_free(&o.labels);
        return r;
    }
    r = 1;
    if (list_pods(ctx, &o, &resp) == 0 &&
        (n = crioctl_select(ctx, &o.sel, (void **)resp->items, resp->n_items, pod_matches, NULL, pod_cmp_created)) >= 0)
        r = output_pods(ctx, &o, resp->items, (size_t)n);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    crioctl_labels_free(&o.labels);
    return r;
}

/* ---- inspectp ---- */

/* A PodSandboxStatusResponse, with its status, into *out; 0, or -1 (printed). */
static int pod_status(crioctl_ctx *ctx, const char *id, bool verbose, ProtobufCMessage **out)
{
    Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;

    req.pod_sandbox_id = (char *)id;
    req.verbose = verbose;
    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "PodSandboxStatus", &req.base,
                     &runtime__v1__pod_sandbox_status_response__descriptor, out) < 0)
        return -1;
    if (!((Runtime__V1__PodSandboxStatusResponse *)*out)->status) {
        crioctl_error(ctx, "INTERNAL: the status of pod %s came without a status", id);
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
        return -1;
    }
    return 0;
}

static cJSON *pod_status_json(const ProtobufCMessage *msg)
{
    const Runtime__V1__PodSandboxStatusResponse *resp = (const Runtime__V1__PodSandboxStatusResponse *)msg;
    cJSON *status = crioctl_pb_to_json(&resp->status->base);

    if (status && !crioctl_json_set_time(status, "createdAt", resp->status->created_at, false)) {
        cJSON_Delete(status);
        status = NULL;
    }
    return crioctl_status_info_json(status, resp->n_info, (ProtobufCMessage *const *)resp->info);
}

static void print_pod_status_table(const ProtobufCMessage *msg, bool verbose)
{
    const Runtime__V1__PodSandboxStatusResponse *resp = (const Runtime__V1__PodSandboxStatusResponse *)msg;
    const Runtime__V1__PodSandboxStatus *st = resp->status;
    const Runtime__V1__PodSandboxMetadata *md = st->metadata;
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value(&runtime__v1__pod_sandbox_state__descriptor, (int)st->state);
    char created[96];

    printf("ID: %s\n", str_or_empty(st->id));
    if (md) {
        if (md->name && md->name[0])
            printf("Name: %s\n", md->name);
        if (md->uid && md->uid[0])
            printf("UID: %s\n", md->uid);
        if (md->namespace_ && md->namespace_[0])
            printf("Namespace: %s\n", md->namespace_);
        printf("Attempt: %" PRIu32 "\n", md->attempt);
    }
    if (ev)
        printf("Status: %s\n", ev->name);
    else
        printf("Status: %d\n", (int)st->state);
    crioctl_format_go_time(created, sizeof(created), st->created_at);
    printf("Created: %s\n", created);
    if (st->network) {
        printf("IP Addresses: %s\n", str_or_empty(st->network->ip));
        for (size_t i = 0; i < st->network->n_additional_ips; i++)
            printf("Additional IP: %s\n", str_or_empty(st->network->additional_ips[i]->ip));
    }
    crioctl_print_map(stdout, "Labels", st->n_labels, (ProtobufCMessage *const *)st->labels);
    crioctl_print_map(stdout, "Annotations", st->n_annotations, (ProtobufCMessage *const *)st->annotations);
    if (verbose) {
        printf("Info: ");
        crioctl_print_go_map(stdout, resp->n_info, (ProtobufCMessage *const *)resp->info);
        printf("\n");
    }
}

int crioctl_cmd_inspectp(crioctl_ctx *ctx, int argc, char **argv)
{
    static const crioctl_inspector how = { ":q" CRIOCTL_COMMON_SHORT,
                                           "no pod given (usage: crioctl inspectp [OPTIONS] POD-ID...)", pod_status,
                                           pod_status_json, print_pod_status_table };

    return crioctl_inspect(ctx, argc, argv, &how);
}

/* ---- stopp, rmp ---- */

static int stop_pod(crioctl_ctx *ctx, const char *id)
{
    Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;

    req.pod_sandbox_id = (char *)id;
    if (crioctl_call_discard(ctx, RUNTIME_SERVICE "StopPodSandbox", &req.base,
                             &runtime__v1__stop_pod_sandbox_response__descriptor) < 0)
        return -1;
    printf("Stopped sandbox %s\n", id);
    return 0;
}

int crioctl_cmd_stopp(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    int opt, r, failed = 0;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    if (optind >= argc) {
        crioctl_error(ctx, "no pod given (usage: crioctl stopp POD-ID...)");
        return 1;
    }
    /* Each pod in turn; a failure is reported and the others still stopped. */
    for (int i = optind; i < argc; i++)
        failed |= stop_pod(ctx, argv[i]) < 0;
    return failed;
}

static int remove_pod(crioctl_ctx *ctx, const char *id, bool force)
{
    Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    ProtobufCMessage *m;
    bool ready;

    if (pod_status(ctx, id, false, &m) < 0)
        return -1;
    ready = ((Runtime__V1__PodSandboxStatusResponse *)m)->status->state ==
            RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
    protobuf_c_message_free_unpacked(m, NULL);
    if (ready && !force) {
        crioctl_error(ctx, "pod sandbox %s is running, please stop it first (or use --force)", id);
        return -1;
    }
    if (ready && stop_pod(ctx, id) < 0)
        return -1;
    req.pod_sandbox_id = (char *)id;
    if (crioctl_call_discard(ctx, RUNTIME_SERVICE "RemovePodSandbox", &req.base,
                             &runtime__v1__remove_pod_sandbox_response__descriptor) < 0)
        return -1;
    printf("Removed sandbox %s\n", id);
    return 0;
}

static int remove_all_pods(crioctl_ctx *ctx, bool force)
{
    struct pods_opts o = { .state = -1 };
    Runtime__V1__ListPodSandboxResponse *resp;
    int failed = 0;

    if (list_pods(ctx, &o, &resp) < 0)
        return 1;
    if (resp->n_items == 0)
        fputs("No pods to remove\n", stderr);
    for (size_t i = 0; i < resp->n_items; i++)
        failed |= remove_pod(ctx, str_or_empty(resp->items[i]->id), force) < 0;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return failed;
}

int crioctl_cmd_rmp(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                          { "force", no_argument, NULL, 'f' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    bool all = false, force = false;
    int opt, r, failed = 0;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":af" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 'a')
            all = true;
        else if (opt == 'f')
            force = true;
        else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    if (all && optind < argc) {
        crioctl_error(ctx, "cannot name pods together with --all");
        return 1;
    }
    if (all)
        return remove_all_pods(ctx, force);
    if (optind >= argc) {
        crioctl_error(ctx, "no pod given (usage: crioctl rmp [OPTIONS] POD-ID... | rmp --all)");
        return 1;
    }
    for (int i = optind; i < argc; i++)
        failed |= remove_pod(ctx, argv[i], force) < 0;
    return failed;
}
