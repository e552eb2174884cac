/*
 * crioctl: container commands, as crictl has them: create, start, run, ps,
 * inspect, stop, rm, exec (ExecSync only: interactive exec needs the
 * streaming server), update and logs (read from the log file, as crictl).
 */
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "crioctl.h"
#include "logs.h"
#include "pbjson_in.h"

#define RUNTIME_SERVICE "/runtime.v1.RuntimeService/"
#define IMAGE_SERVICE "/runtime.v1.ImageService/"

/* The labels the kubelet puts on containers; crictl's POD and namespace come from them. */
#define POD_NAME_LABEL "io.kubernetes.pod.name"
#define POD_NAMESPACE_LABEL "io.kubernetes.pod.namespace"

#define PULL_OPTIONS                                                                          \
    "      --no-pull                 do not pull the image, even when it is missing\n"       \
    "      --with-pull               pull the image even when it is present\n"               \
    "      --creds USER[:PASSWORD]   credentials for the registry\n"                         \
    "      --auth AUTH               credentials as base64 \"USER:PASSWORD\"\n"              \
    "      --pull-timeout DURATION   give up a pull after DURATION; 0, the default, waits\n" \
    "  -T, --cancel-timeout DURATION give up on CreateContainer after DURATION (default:\n"  \
    "                                the global --timeout)\n"

const char crioctl_help_create[] =
    PULL_OPTIONS
    "The image is pulled first when the runtime does not have it.  The configs are JSON or\n"
    "YAML (see runp); POD_CONFIG may be \"\".  Prints the container id.\n";

const char crioctl_help_run[] =
    "  -r, --runtime HANDLER         run the pod with this runtime handler\n" PULL_OPTIONS
    "Runs a pod (runp), creates the container in it (create) and starts it (start); prints\n"
    "the container id.\n";

const char crioctl_help_ps[] =
    "  -a, --all             show every container (default: running ones)\n"
    "      --id ID           only the container with this id (or id prefix)\n"
    "  -p, --pod ID          only containers of this pod\n"
    "      --name REGEX      only containers whose name matches\n"
    "      --namespace REGEX only containers whose pod namespace matches\n"
    "  -s, --state STATE     only containers in this state: created, running, exited, unknown\n"
    "      --label KEY=VALUE only containers with this label (repeatable)\n"
    "  -l, --latest          only the most recently created container (any state)\n"
    "  -n, --last N          only the N most recently created containers (any state)\n"
    "      --no-trunc        show ids in full\n"
    "  -q, --quiet           only show container ids\n"
    "  -v, --verbose         show every field of each container\n"
    "  -o, --output FORMAT   output format: table (the default) or json\n";

const char crioctl_help_inspect[] =
    "  -o, --output FORMAT   output format: json (the default) or table\n"
    "  -q, --quiet           do not ask for verbose information\n";

const char crioctl_help_stop[] =
    "  -t, --timeout SECONDS seconds to wait before killing the container (default: 0)\n"
    "  -a, --all             stop every running container\n";

const char crioctl_help_rm[] =
    "  -a, --all             remove every container\n"
    "  -f, --force           stop a running container before removing it\n"
    "  -k, --keep-logs       keep the container's log file and its rotations\n";

const char crioctl_help_exec[] =
    "  -s, --sync            run synchronously (the only mode for now)\n"
    "      --timeout SECONDS kill the command after SECONDS (default: 0, none)\n"
    "  -i, -t                interactive exec needs the streaming server (not yet)\n"
    "Prints the command's stdout and stderr and exits with its exit code.\n";

const char crioctl_help_update[] =
    "      --memory BYTES        memory limit (a number, or with a suffix: 512m, 1g)\n"
    "      --cpu-shares SHARES   CPU shares (relative weight)\n"
    "      --cpu-quota USECS     CFS quota per period\n"
    "      --cpu-period USECS    CFS period\n"
    "      --cpuset-cpus CPUS    CPUs to run on (0-3,5)\n"
    "      --cpuset-mems NODES   memory nodes to use\n"
    "      --oom-score-adj N     OOM killer score adjustment\n"
    "Settings not given keep their current values.\n";

const char crioctl_help_logs[] =
    "  -f, --follow          follow the log until the container stops\n"
    "      --tail N          only the last N lines (default: all)\n"
    "  -t, --timestamps      show each line's time\n"
    "      --since TIME      only lines since TIME: a duration ago (42m), an RFC 3339 time,\n"
    "                        or a Unix time\n"
    "      --limit-bytes N   stop after N bytes\n"
    "  -s, --stream STREAM   only stdout or stderr\n"
    "  -p, --previous        the log of the container's previous attempt\n"
    "  -r, --reopen          ask the runtime to reopen the log file first\n";

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static int parse_seconds(crioctl_ctx *ctx, const char *opt, const char *arg, int64_t *out)
{
    char *end;

    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 0) {
        crioctl_error(ctx, "invalid %s \"%s\": expected a number of seconds", opt, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_count(crioctl_ctx *ctx, const char *opt, const char *arg, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(arg, &end, 10);
    if (errno || end == arg || *end) {
        crioctl_error(ctx, "invalid %s \"%s\": expected a number", opt, arg);
        return -1;
    }
    return 0;
}

/* A bounded deadline for a call that waits `secs` by design: the global timeout on top. */
static long call_timeout(const crioctl_ctx *ctx, int64_t secs)
{
    if (ctx->timeout_ms == 0)
        return 0;
    if (secs > (int64_t)(LONG_MAX / 1000) - ctx->timeout_ms / 1000)
        return 0;
    return ctx->timeout_ms + (long)secs * 1000;
}

/* ---- Calls ---- */

static int container_status(crioctl_ctx *ctx, const char *id, bool verbose,
                            Runtime__V1__ContainerStatusResponse **out)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    ProtobufCMessage *m;

    req.container_id = (char *)id;
    req.verbose = verbose;
    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "ContainerStatus", &req.base,
                     &runtime__v1__container_status_response__descriptor, &m) < 0)
        return -1;
    *out = (Runtime__V1__ContainerStatusResponse *)m;
    if (!(*out)->status) {
        crioctl_error(ctx, "INTERNAL: the status of container %s came without a status", id);
        protobuf_c_message_free_unpacked(m, NULL);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int start_container(crioctl_ctx *ctx, const char *id)
{
    Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;

    req.container_id = (char *)id;
    return crioctl_call_discard(ctx, RUNTIME_SERVICE "StartContainer", &req.base,
                                &runtime__v1__start_container_response__descriptor);
}

static int stop_container(crioctl_ctx *ctx, const char *id, int64_t timeout)
{
    Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    long saved = ctx->timeout_ms;
    int r;

    req.container_id = (char *)id;
    req.timeout = timeout;
    /* The runtime may wait `timeout` seconds before it kills: do not give up before. */
    ctx->timeout_ms = call_timeout(ctx, timeout);
    r = crioctl_call_discard(ctx, RUNTIME_SERVICE "StopContainer", &req.base,
                             &runtime__v1__stop_container_response__descriptor);
    ctx->timeout_ms = saved;
    return r;
}

static int remove_container(crioctl_ctx *ctx, const char *id)
{
    Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;

    req.container_id = (char *)id;
    return crioctl_call_discard(ctx, RUNTIME_SERVICE "RemoveContainer", &req.base,
                                &runtime__v1__remove_container_response__descriptor);
}

/* ---- create, start, run ---- */

struct pull_opts {
    bool no_pull, with_pull;
    const char *creds, *auth;
    long timeout_ms; /* 0: none */
};

static int load_container_config(crioctl_ctx *ctx, const char *path, Runtime__V1__ContainerConfig **out)
{
    Runtime__V1__ContainerConfig *cfg;
    ProtobufCMessage *m;
    const char *problem = NULL;

    if (crioctl_load_config(ctx, path, &runtime__v1__container_config__descriptor, &m) < 0)
        return -1;
    cfg = (Runtime__V1__ContainerConfig *)m;
    if (!cfg->metadata || !cfg->metadata->name || !cfg->metadata->name[0])
        problem = "metadata needs a name";
    else if (!cfg->image || !cfg->image->image || !cfg->image->image[0])
        problem = "image.image is not set";
    if (problem) {
        crioctl_error(ctx, "%s: %s", path, problem);
        protobuf_c_message_free_unpacked(m, NULL);
        return -1;
    }
    /* As crictl: the runtime reports the image as the user named it. */
    if (!cfg->image->user_specified_image || !cfg->image->user_specified_image[0]) {
        char *dup = strdup(cfg->image->image);
        if (!dup) {
            crioctl_error(ctx, "out of memory");
            protobuf_c_message_free_unpacked(m, NULL);
            return -1;
        }
        if (cfg->image->user_specified_image != protobuf_c_empty_string)
            free(cfg->image->user_specified_image);
        cfg->image->user_specified_image = dup;
    }
    *out = cfg;
    return 0;
}

static int image_present(crioctl_ctx *ctx, Runtime__V1__ImageSpec *spec, bool *present)
{
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    ProtobufCMessage *m;

    req.image = spec;
    if (crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "ImageStatus", &req.base,
                     &runtime__v1__image_status_response__descriptor, &m) < 0)
        return -1;
    *present = ((Runtime__V1__ImageStatusResponse *)m)->image != NULL;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int pull_image(crioctl_ctx *ctx, Runtime__V1__ImageSpec *spec, Runtime__V1__PodSandboxConfig *pod,
                      const struct pull_opts *p)
{
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    Runtime__V1__AuthConfig auth = RUNTIME__V1__AUTH_CONFIG__INIT;
    ProtobufCMessage *m;
    char *user = NULL;
    long saved = ctx->timeout_ms;
    int r;

    req.image = spec;
    req.sandbox_config = pod;
    if (p->creds) {
        const char *colon = strchr(p->creds, ':');
        user = colon ? strndup(p->creds, (size_t)(colon - p->creds)) : strdup(p->creds);
        if (!user) {
            crioctl_error(ctx, "out of memory");
            return -1;
        }
        auth.username = user;
        if (colon)
            auth.password = (char *)colon + 1;
        req.auth = &auth;
    } else if (p->auth) {
        auth.auth = (char *)p->auth;
        req.auth = &auth;
    }
    fprintf(stderr, "Pulling image %s\n", spec->image);
    ctx->timeout_ms = p->timeout_ms; /* a pull takes as long as the image is big */
    r = crioctl_call(ctx, CRIOCTL_IMAGE_SERVICE, IMAGE_SERVICE "PullImage", &req.base,
                     &runtime__v1__pull_image_response__descriptor, &m);
    ctx->timeout_ms = saved;
    free(user);
    if (r == 0)
        protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

/* Pulls the container's image when it is missing (or always, --with-pull). */
static int ensure_image(crioctl_ctx *ctx, Runtime__V1__ContainerConfig *cfg, Runtime__V1__PodSandboxConfig *pod,
                        const struct pull_opts *p)
{
    bool present = false;

    if (p->no_pull)
        return 0;
    if (!p->with_pull && image_present(ctx, cfg->image, &present) < 0)
        return -1;
    return present ? 0 : pull_image(ctx, cfg->image, pod, p);
}

static int create_container(crioctl_ctx *ctx, const char *pod_id, Runtime__V1__ContainerConfig *cfg,
                            Runtime__V1__PodSandboxConfig *pod, const struct pull_opts *p, char **id)
{
    Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;

    *id = NULL;
    if (ensure_image(ctx, cfg, pod, p) < 0)
        return -1;
    req.pod_sandbox_id = (char *)pod_id;
    req.config = cfg;
    req.sandbox_config = pod;
    return crioctl_call_for_id(ctx, RUNTIME_SERVICE "CreateContainer", &req.base,
                               &runtime__v1__create_container_response__descriptor, "container_id", id);
}

enum { OPT_NO_PULL = 256, OPT_WITH_PULL, OPT_CREDS, OPT_AUTH, OPT_PULL_TIMEOUT };

#define PULL_LONG_OPTIONS                                                   \
    { "no-pull", no_argument, NULL, OPT_NO_PULL },                          \
        { "with-pull", no_argument, NULL, OPT_WITH_PULL },                  \
        { "creds", required_argument, NULL, OPT_CREDS },                    \
        { "auth", required_argument, NULL, OPT_AUTH },                      \
        { "pull-timeout", required_argument, NULL, OPT_PULL_TIMEOUT },      \
        { "cancel-timeout", required_argument, NULL, 'T' }

/* Handles a pull option (or -T); returns 1 when it was one, 0 when not, -1 on error. */
static int pull_option(crioctl_ctx *ctx, int opt, struct pull_opts *p)
{
    switch (opt) {
    case OPT_NO_PULL:
        p->no_pull = true;
        return 1;
    case OPT_WITH_PULL:
        p->with_pull = true;
        return 1;
    case OPT_CREDS:
        p->creds = optarg;
        return 1;
    case OPT_AUTH:
        p->auth = optarg;
        return 1;
    case OPT_PULL_TIMEOUT:
    case 'T':
        if (crioctl_parse_duration(optarg, opt == 'T' ? &ctx->timeout_ms : &p->timeout_ms) < 0) {
            crioctl_error(ctx, "invalid %s \"%s\": expected a duration such as 30s or 2m",
                          opt == 'T' ? "--cancel-timeout" : "--pull-timeout", optarg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

static int check_pull_opts(crioctl_ctx *ctx, const struct pull_opts *p)
{
    if (p->no_pull && p->with_pull) {
        crioctl_error(ctx, "--no-pull and --with-pull conflict");
        return -1;
    }
    if (p->creds && p->auth) {
        crioctl_error(ctx, "both --creds and --auth are specified");
        return -1;
    }
    return 0;
}

/* Parses the options of create and, with `handler`, run; returns -1 to go on, or the exit status. */
static int create_options(crioctl_ctx *ctx, int argc, char **argv, struct pull_opts *p, const char **handler)
{
    static const struct option create_opts[] = { PULL_LONG_OPTIONS, CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    static const struct option run_opts[] = { PULL_LONG_OPTIONS,
                                              { "runtime", required_argument, NULL, 'r' },
                                              CRIOCTL_COMMON_OPTIONS,
                                              { 0, 0, 0, 0 } };
    const char *shortopts = handler ? ":r:T:" CRIOCTL_COMMON_SHORT : ":T:" CRIOCTL_COMMON_SHORT;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, shortopts, handler ? run_opts : create_opts, NULL)) != -1) {
        if (opt == 'r') { /* only known to run */
            *handler = optarg;
            continue;
        }
        if ((r = pull_option(ctx, opt, p)) < 0)
            return 1;
        if (r == 0 && (r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    return check_pull_opts(ctx, p) < 0 ? 1 : -1;
}

int crioctl_cmd_create(crioctl_ctx *ctx, int argc, char **argv)
{
    struct pull_opts p = { 0 };
    Runtime__V1__ContainerConfig *cfg = NULL;
    Runtime__V1__PodSandboxConfig *pod = NULL;
    char *id = NULL;
    int r;

    if ((r = create_options(ctx, argc, argv, &p, NULL)) >= 0)
        return r;
    if (argc - optind != 3) {
        crioctl_error(ctx, "expected 3 arguments (usage: crioctl create [OPTIONS] POD-ID CONTAINER_CONFIG "
                           "POD_CONFIG)");
        return 1;
    }
    r = 1;
    if (load_container_config(ctx, argv[optind + 1], &cfg) == 0 &&
        (!argv[optind + 2][0] || crioctl_load_pod_config(ctx, argv[optind + 2], &pod) == 0) &&
        create_container(ctx, argv[optind], cfg, pod, &p, &id) == 0) {
        printf("%s\n", id);
        r = 0;
    }
    free(id);
    if (cfg)
        protobuf_c_message_free_unpacked(&cfg->base, NULL);
    if (pod)
        protobuf_c_message_free_unpacked(&pod->base, NULL);
    return r;
}

int crioctl_cmd_start(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    int opt, r, failed = 0;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    if (optind >= argc) {
        crioctl_error(ctx, "no container given (usage: crioctl start CONTAINER-ID...)");
        return 1;
    }
    /* Each container in turn; a failure is reported and the others still started. */
    for (int i = optind; i < argc; i++) {
        if (start_container(ctx, argv[i]) < 0)
            failed = 1;
        else
            printf("%s\n", argv[i]);
    }
    return failed;
}

/* runp + create + start; the pod is left in place when a later step fails (named in the error). */
static int run_container(crioctl_ctx *ctx, Runtime__V1__ContainerConfig *cfg, Runtime__V1__PodSandboxConfig *pod,
                         const char *handler, const struct pull_opts *p)
{
    char *pod_id = NULL, *id = NULL;
    int r = -1;

    if (crioctl_run_pod(ctx, pod, handler, &pod_id) < 0)
        return -1;
    if (create_container(ctx, pod_id, cfg, pod, p, &id) == 0 && start_container(ctx, id) == 0) {
        printf("%s\n", id);
        r = 0;
    } else {
        crioctl_error(ctx, "pod %s is left in place%s%s; remove it with 'crioctl rmp -f %s'", pod_id,
                      id ? " with container " : "", id ? id : "", pod_id);
    }
    free(id);
    free(pod_id);
    return r;
}

int crioctl_cmd_run(crioctl_ctx *ctx, int argc, char **argv)
{
    struct pull_opts p = { 0 };
    Runtime__V1__ContainerConfig *cfg = NULL;
    Runtime__V1__PodSandboxConfig *pod = NULL;
    const char *handler = NULL;
    int r;

    if ((r = create_options(ctx, argc, argv, &p, &handler)) >= 0)
        return r;
    if (argc - optind != 2) {
        crioctl_error(ctx, "expected 2 arguments (usage: crioctl run [OPTIONS] CONTAINER_CONFIG POD_CONFIG)");
        return 1;
    }
    /* Both configs are checked before anything is created. */
    r = 1;
    if (load_container_config(ctx, argv[optind], &cfg) == 0 &&
        crioctl_load_pod_config(ctx, argv[optind + 1], &pod) == 0)
        r = run_container(ctx, cfg, pod, handler, &p) < 0;
    if (cfg)
        protobuf_c_message_free_unpacked(&cfg->base, NULL);
    if (pod)
        protobuf_c_message_free_unpacked(&pod->base, NULL);
    return r;
}

/* ---- ps ---- */

struct ps_opts {
    const char *id, *pod;
    int state; /* -1: running only (unless all), -2: any */
    crioctl_labels labels;
    crioctl_selection sel;
    bool all, no_trunc, quiet, verbose;
};

static int parse_container_state(crioctl_ctx *ctx, const char *s, int *state)
{
    static const struct {
        const char *name;
        int state;
    } states[] = {
        { "created", RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED },
        { "running", RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING },
        { "exited", RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED },
        { "unknown", RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN },
    };

    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (strcasecmp(s, states[i].name) == 0) {
            *state = states[i].state;
            return 0;
        }
    crioctl_error(ctx, "--state should be one of created, running, exited or unknown, not \"%s\"", s);
    return -1;
}

static const char *container_state_name(int state)
{
    switch (state) {
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED:
        return "Created";
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING:
        return "Running";
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED:
        return "Exited";
    default:
        return "Unknown";
    }
}

/* A label's value; NULL when the container does not have the label. */
static const char *label_value(size_t n, Runtime__V1__Container__LabelsEntry *const *labels, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i]->key && strcmp(labels[i]->key, key) == 0)
            return str_or_empty(labels[i]->value);
    return NULL;
}

/*
 * The pods, fetched once and only when a container lacks the kubelet's pod
 * labels (crictl then shows "unknown"; containers made with crioctl have
 * none, and their pod's name is one call away).
 */
struct pod_index {
    crioctl_ctx *ctx;
    Runtime__V1__ListPodSandboxResponse *pods;
    bool fetched;
};

static const Runtime__V1__PodSandboxMetadata *pod_metadata(struct pod_index *pi, const char *pod_id)
{
    if (!pi->fetched) {
        Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
        ProtobufCMessage *m;
        pi->fetched = true;
        if (crioctl_call(pi->ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "ListPodSandbox", &req.base,
                         &runtime__v1__list_pod_sandbox_response__descriptor, &m) == 0)
            pi->pods = (Runtime__V1__ListPodSandboxResponse *)m;
    }
    for (size_t i = 0; pi->pods && i < pi->pods->n_items; i++)
        if (strcmp(str_or_empty(pi->pods->items[i]->id), str_or_empty(pod_id)) == 0)
            return pi->pods->items[i]->metadata;
    return NULL;
}

/* The name (or, with `ns`, the namespace) of a container's pod; "unknown" when not found. */
static const char *pod_of(struct pod_index *pi, const Runtime__V1__Container *c, bool ns)
{
    const char *v = label_value(c->n_labels, c->labels, ns ? POD_NAMESPACE_LABEL : POD_NAME_LABEL);
    const Runtime__V1__PodSandboxMetadata *md;

    if (v)
        return v;
    md = pod_metadata(pi, c->pod_sandbox_id);
    if (md && (ns ? md->namespace_ : md->name))
        return ns ? md->namespace_ : md->name;
    return "unknown";
}

static void pod_index_free(struct pod_index *pi)
{
    if (pi->pods)
        protobuf_c_message_free_unpacked(&pi->pods->base, NULL);
}

/* Newest first, as crictl sorts. */
static int container_cmp_created(const void *a, const void *b)
{
    const Runtime__V1__Container *x = *(Runtime__V1__Container *const *)a;
    const Runtime__V1__Container *y = *(Runtime__V1__Container *const *)b;

    return x->created_at < y->created_at ? 1 : x->created_at > y->created_at ? -1 : 0;
}

static int list_containers(crioctl_ctx *ctx, const struct ps_opts *o, Runtime__V1__ListContainersResponse **out)
{
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    Runtime__V1__ContainerFilter filter = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerStateValue state = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    ProtobufCMessage *m = NULL;
    int r;

    if (o->id)
        filter.id = (char *)o->id;
    if (o->pod)
        filter.pod_sandbox_id = (char *)o->pod;
    /* Running ones by default; any state with --all, or for --latest and --last. */
    if (o->state >= 0 || (o->state == -1 && !o->all)) {
        state.state = o->state >= 0 ? (Runtime__V1__ContainerState)o->state
                                    : RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
        filter.state = &state;
    }
    if (o->sel.latest || o->sel.last > 0)
        filter.state = NULL;
    req.filter = &filter;
    r = crioctl_call_with_labels(ctx, RUNTIME_SERVICE "ListContainers", &req.base, &filter.base, &o->labels,
                                 &runtime__v1__list_containers_response__descriptor, &m);
    *out = (Runtime__V1__ListContainersResponse *)m;
    return r;
}

/* The pod's namespace is looked up last: it may take a call (see pod_index). */
static bool container_matches(const void *item, const regex_t *name_re, const regex_t *ns_re, void *pod_index)
{
    const Runtime__V1__Container *c = item;

    if (!c->metadata)
        return false;
    if (name_re && regexec(name_re, str_or_empty(c->metadata->name), 0, NULL, 0) != 0)
        return false;
    return !ns_re || regexec(ns_re, pod_of(pod_index, c, true), 0, NULL, 0) == 0;
}

/* crictl cuts an image that is a digest ("sha256:<64 hex>") to its first 13 hex digits. */
static void image_column(char *buf, size_t n, const char *image, bool no_trunc)
{
    const char *hex = strncmp(image, "sha256:", 7) == 0 ? image + 7 : NULL;

    if (!no_trunc && hex && strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64)
        crioctl_truncate_id(buf, n, hex);
    else
        snprintf(buf, n, "%s", image);
}

static int add_container_row(crioctl_table *t, struct pod_index *pi, const Runtime__V1__Container *c, bool no_trunc,
                             int64_t now)
{
    char id[128], pod[128], image[512], age[64], created[80], attempt[16];
    const Runtime__V1__ContainerMetadata *md = c->metadata;

    if (no_trunc) {
        snprintf(id, sizeof(id), "%s", str_or_empty(c->id));
        snprintf(pod, sizeof(pod), "%s", str_or_empty(c->pod_sandbox_id));
    } else {
        crioctl_truncate_id(id, sizeof(id), c->id);
        crioctl_truncate_id(pod, sizeof(pod), c->pod_sandbox_id);
    }
    image_column(image, sizeof(image), c->image ? str_or_empty(c->image->image) : "", no_trunc);
    crioctl_human_duration(age, sizeof(age), now - c->created_at);
    snprintf(created, sizeof(created), "%s ago", age);
    snprintf(attempt, sizeof(attempt), "%" PRIu32, md ? md->attempt : 0);
    const char *row[] = { id,      image, created, container_state_name(c->state), md ? str_or_empty(md->name) : "",
                          attempt, pod,   pod_of(pi, c, false) };
    return crioctl_table_add(t, 8, row);
}

static int print_containers_table(crioctl_ctx *ctx, struct pod_index *pi, Runtime__V1__Container **cs, size_t n,
                                  bool no_trunc)
{
    static const char *const head[] = { "CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD" };
    crioctl_table *t = crioctl_listing_table(8, head);
    int64_t now = crioctl_now_ns();
    int r = t ? 0 : -1;

    for (size_t i = 0; r == 0 && i < n; i++)
        r = add_container_row(t, pi, cs[i], no_trunc, now);
    return crioctl_table_output(ctx, t, r);
}

static void print_container_verbose(struct pod_index *pi, const Runtime__V1__Container *c, int64_t now)
{
    const Runtime__V1__ContainerMetadata *md = c->metadata;
    char age[64];

    printf("ID: %s\n", str_or_empty(c->id));
    printf("PodID: %s\n", str_or_empty(c->pod_sandbox_id));
    printf("Namespace: %s\n", pod_of(pi, c, true));
    if (md && md->name && md->name[0])
        printf("Name: %s\n", md->name);
    if (md)
        printf("Attempt: %" PRIu32 "\n", md->attempt);
    printf("State: %s\n", container_state_name(c->state));
    if (c->image)
        printf("Image: %s\n", str_or_empty(c->image->image));
    crioctl_human_duration(age, sizeof(age), now - c->created_at);
    printf("Created: %s ago\n", age);
    crioctl_print_map(stdout, "Labels", c->n_labels, (ProtobufCMessage *const *)c->labels);
    crioctl_print_map(stdout, "Annotations", c->n_annotations, (ProtobufCMessage *const *)c->annotations);
    printf("\n");
}

static int output_containers(crioctl_ctx *ctx, struct pod_index *pi, const struct ps_opts *o,
                             Runtime__V1__Container **cs, size_t n)
{
    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        Runtime__V1__ListContainersResponse shown = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
        shown.n_containers = n;
        shown.containers = cs;
        return crioctl_print_message_json(ctx, &shown.base);
    }
    if (o->quiet) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", str_or_empty(cs[i]->id));
        return 0;
    }
    if (o->verbose) {
        int64_t now = crioctl_now_ns();
        for (size_t i = 0; i < n; i++)
            print_container_verbose(pi, cs[i], now);
        return 0;
    }
    return print_containers_table(ctx, pi, cs, n, o->no_trunc);
}

/* The long-only options of ps. */
enum { PS_ID = 256, PS_NAME, PS_NAMESPACE, PS_LABEL, PS_NO_TRUNC };

/* Handles one option of ps; returns -1 to go on, or the exit status. */
static int ps_option(crioctl_ctx *ctx, int opt, int argc, char **argv, struct ps_opts *o)
{
    switch (opt) {
    case 'a':
        o->all = true;
        return -1;
    case PS_ID:
        o->id = optarg;
        return -1;
    case 'p':
        o->pod = optarg;
        return -1;
    case PS_NAME:
        o->sel.name = optarg;
        return -1;
    case PS_NAMESPACE:
        o->sel.ns = optarg;
        return -1;
    case 's':
        return parse_container_state(ctx, optarg, &o->state) < 0 ? 1 : -1;
    case PS_LABEL:
        return crioctl_label_option(ctx, &o->labels, optarg) < 0 ? 1 : -1;
    case 'l':
        o->sel.latest = true;
        return -1;
    case 'n':
        return parse_count(ctx, "--last", optarg, &o->sel.last) < 0 ? 1 : -1;
    case PS_NO_TRUNC:
        o->no_trunc = true;
        return -1;
    case 'q':
        o->quiet = true;
        return -1;
    case 'v':
        o->verbose = true;
        return -1;
    default:
        return crioctl_common_option(ctx, opt, argc, argv);
    }
}

int crioctl_cmd_ps(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                          { "id", required_argument, NULL, PS_ID },
                                          { "pod", required_argument, NULL, 'p' },
                                          { "name", required_argument, NULL, PS_NAME },
                                          { "namespace", required_argument, NULL, PS_NAMESPACE },
                                          { "state", required_argument, NULL, 's' },
                                          { "label", required_argument, NULL, PS_LABEL },
                                          { "latest", no_argument, NULL, 'l' },
                                          { "last", required_argument, NULL, 'n' },
                                          { "no-trunc", no_argument, NULL, PS_NO_TRUNC },
                                          { "quiet", no_argument, NULL, 'q' },
                                          { "verbose", no_argument, NULL, 'v' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    struct ps_opts o = { .state = -1 };
    struct pod_index pi = { .ctx = ctx };
    Runtime__V1__ListContainersResponse *resp = NULL;
    long n;
    int opt, r = -1;

    crioctl_getopt_begin();
    while (r < 0 && (opt = getopt_long(argc, argv, ":ap:s:ln:qv" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        r = ps_option(ctx, opt, argc, argv, &o);
    if (r < 0 && crioctl_no_args(ctx, argc, argv))
        r = 1;
    if (r < 0) {
        r = 1;
        if (list_containers(ctx, &o, &resp) == 0 &&
            (n = crioctl_select(ctx, &o.sel, (void **)resp->containers, resp->n_containers, container_matches, &pi,
                                container_cmp_created)) >= 0)
            r = output_containers(ctx, &pi, &o, resp->containers, (size_t)n);
    }
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    pod_index_free(&pi);
    crioctl_labels_free(&o.labels);
    return r;
}

/* ---- inspect ---- */

static cJSON *container_status_json(const ProtobufCMessage *msg)
{
    const Runtime__V1__ContainerStatusResponse *resp = (const Runtime__V1__ContainerStatusResponse *)msg;
    const Runtime__V1__ContainerStatus *st = resp->status;
    cJSON *status = crioctl_pb_to_json(&st->base);
    /* As crictl: a start time once started, a finish time once exited. */
    bool started = st->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
    bool finished = st->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED ||
                    (st->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN && st->finished_at > 0);

    if (status && !(crioctl_json_set_time(status, "createdAt", st->created_at, false) &&
                    crioctl_json_set_time(status, "startedAt", st->started_at, !started) &&
                    crioctl_json_set_time(status, "finishedAt", st->finished_at, !finished))) {
        cJSON_Delete(status);
        status = NULL;
    }
    return crioctl_status_info_json(status, resp->n_info, (ProtobufCMessage *const *)resp->info);
}

static void print_age(const char *label, int64_t ns, int64_t now)
{
    char age[64];

    crioctl_human_duration(age, sizeof(age), now - ns);
    printf("%s: %s ago\n", label, age);
}

static void print_container_status_table(const ProtobufCMessage *msg, bool verbose)
{
    const Runtime__V1__ContainerStatusResponse *resp = (const Runtime__V1__ContainerStatusResponse *)msg;
    const Runtime__V1__ContainerStatus *st = resp->status;
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value(&runtime__v1__container_state__descriptor, (int)st->state);
    int64_t now = crioctl_now_ns();

    printf("ID: %s\n", str_or_empty(st->id));
    if (st->metadata && st->metadata->name && st->metadata->name[0])
        printf("Name: %s\n", st->metadata->name);
    if (st->metadata && st->metadata->attempt)
        printf("Attempt: %" PRIu32 "\n", st->metadata->attempt);
    if (ev)
        printf("State: %s\n", ev->name);
    else
        printf("State: %d\n", (int)st->state);
    print_age("Created", st->created_at, now);
    if (st->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED)
        print_age("Started", st->started_at, now);
    if (st->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
        if (st->finished_at > 0)
            print_age("Finished", st->finished_at, now);
        printf("Exit Code: %" PRId32 "\n", st->exit_code);
    }
    crioctl_print_map(stdout, "Labels", st->n_labels, (ProtobufCMessage *const *)st->labels);
    crioctl_print_map(stdout, "Annotations", st->n_annotations, (ProtobufCMessage *const *)st->annotations);
    if (verbose) {
        printf("Info: ");
        crioctl_print_go_map(stdout, resp->n_info, (ProtobufCMessage *const *)resp->info);
        printf("\n");
    }
}

/* container_status as crioctl_inspect calls it. */
static int inspect_status(crioctl_ctx *ctx, const char *id, bool verbose, ProtobufCMessage **out)
{
    Runtime__V1__ContainerStatusResponse *resp;
    int r = container_status(ctx, id, verbose, &resp);

    *out = r == 0 ? &resp->base : NULL;
    return r;
}

int crioctl_cmd_inspect(crioctl_ctx *ctx, int argc, char **argv)
{
    static const crioctl_inspector how = { ":q" CRIOCTL_COMMON_SHORT,
                                           "no container given (usage: crioctl inspect [OPTIONS] CONTAINER-ID...)",
                                           inspect_status, container_status_json, print_container_status_table };

    return crioctl_inspect(ctx, argc, argv, &how);
}

/* ---- stop, rm ---- */

/* The containers listed with `o`, newest first. */
static int list_sorted(crioctl_ctx *ctx, const struct ps_opts *o, Runtime__V1__ListContainersResponse **resp)
{
    if (list_containers(ctx, o, resp) < 0)
        return -1;
    if ((*resp)->n_containers > 1)
        qsort((*resp)->containers, (*resp)->n_containers, sizeof(*(*resp)->containers), container_cmp_created);
    return 0;
}

static int stop_all(crioctl_ctx *ctx, int64_t timeout)
{
    struct ps_opts o = { .state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING };
    Runtime__V1__ListContainersResponse *resp;
    int failed = 0;

    if (list_sorted(ctx, &o, &resp) < 0)
        return 1;
    if (resp->n_containers == 0)
        printf("No running containers found.\n");
    for (size_t i = 0; i < resp->n_containers; i++) {
        const char *id = str_or_empty(resp->containers[i]->id);
        if (stop_container(ctx, id, timeout) < 0)
            failed = 1;
        else
            printf("%s\n", id);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return failed;
}

int crioctl_cmd_stop(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "timeout", required_argument, NULL, 't' },
                                          { "all", no_argument, NULL, 'a' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    int64_t timeout = 0; /* crictl's default: the runtime kills at once */
    bool all = false;
    int opt, r, failed = 0;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":t:a" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 't') {
            if (parse_seconds(ctx, "--timeout", optarg, &timeout) < 0)
                return 1;
        } else if (opt == 'a') {
            all = true;
        } else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0) {
            return r;
        }
    }
    if (all && optind < argc) {
        crioctl_error(ctx, "cannot name containers together with --all");
        return 1;
    }
    if (all)
        return stop_all(ctx, timeout);
    if (optind >= argc) {
        crioctl_error(ctx, "no container given (usage: crioctl stop [OPTIONS] CONTAINER-ID... | stop --all)");
        return 1;
    }
    for (int i = optind; i < argc; i++) {
        if (stop_container(ctx, argv[i], timeout) < 0)
            failed = 1;
        else
            printf("%s\n", argv[i]);
    }
    return failed;
}

/* Removes a container's log file and its rotations ("<path>.*"), as crictl does:
 * the kubelet, not the runtime, owns container logs. */
static void remove_logs(crioctl_ctx *ctx, const char *log_path)
{
    char *pattern = NULL;
    glob_t g = { 0 };

    if (!log_path || !log_path[0])
        return;
    if (asprintf(&pattern, "%s.*", log_path) >= 0 && glob(pattern, GLOB_NOSORT, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (unlink(g.gl_pathv[i]) < 0 && errno != ENOENT)
                crioctl_error(ctx, "cannot remove the log file %s: %s", g.gl_pathv[i], strerror(errno));
    if (unlink(log_path) < 0 && errno != ENOENT)
        crioctl_error(ctx, "cannot remove the log file %s: %s", log_path, strerror(errno));
    globfree(&g);
    free(pattern);
}

static int rm_one(crioctl_ctx *ctx, const char *id, bool force, bool keep_logs)
{
    Runtime__V1__ContainerStatusResponse *st;
    char *log_path = NULL;
    bool running;

    if (container_status(ctx, id, false, &st) < 0)
        return -1;
    running = st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    log_path = st->status->log_path && st->status->log_path[0] ? strdup(st->status->log_path) : NULL;
    protobuf_c_message_free_unpacked(&st->base, NULL);
    int r = -1;
    if (running && !force)
        crioctl_error(ctx, "container %s is running, please stop it first (or use --force)", id);
    else if ((!running || stop_container(ctx, id, 0) == 0) && remove_container(ctx, id) == 0)
        r = 0;
    if (r == 0 && !keep_logs)
        remove_logs(ctx, log_path);
    if (r == 0)
        printf("%s\n", id);
    free(log_path);
    return r;
}

int crioctl_cmd_rm(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                          { "force", no_argument, NULL, 'f' },
                                          { "keep-logs", no_argument, NULL, 'k' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    bool all = false, force = false, keep_logs = false;
    int opt, r, failed = 0;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":afk" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 'a')
            all = true;
        else if (opt == 'f')
            force = true;
        else if (opt == 'k')
            keep_logs = true;
        else if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    }
    if (all && optind < argc) {
        crioctl_error(ctx, "cannot name containers together with --all");
        return 1;
    }
    if (all) {
        struct ps_opts o = { .state = -2 };
        Runtime__V1__ListContainersResponse *resp;
        if (list_sorted(ctx, &o, &resp) < 0)
            return 1;
        if (resp->n_containers == 0)
            fputs("No containers to remove\n", stderr);
        for (size_t i = 0; i < resp->n_containers; i++)
            failed |= rm_one(ctx, str_or_empty(resp->containers[i]->id), force, keep_logs) < 0;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return failed;
    }
    if (optind >= argc) {
        crioctl_error(ctx, "no container given (usage: crioctl rm [OPTIONS] CONTAINER-ID... | rm --all)");
        return 1;
    }
    for (int i = optind; i < argc; i++)
        failed |= rm_one(ctx, argv[i], force, keep_logs) < 0;
    return failed;
}

/* ---- exec ---- */

/* The exit status for a command's exit code (one that is 0 mod 256 would read as success). */
static int exit_status(int32_t code)
{
    if (code == 0)
        return 0;
    return (code & 0xff) ? code & 0xff : 1;
}

static int exec_sync(crioctl_ctx *ctx, const char *id, char **cmd, size_t n, int64_t timeout)
{
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    Runtime__V1__ExecSyncResponse *resp;
    ProtobufCMessage *m;
    long saved = ctx->timeout_ms;
    int r;

    req.container_id = (char *)id;
    req.cmd = cmd;
    req.n_cmd = n;
    req.timeout = timeout;
    /* As the kubelet: no deadline for a command without one, else its timeout and ours. */
    ctx->timeout_ms = timeout ? call_timeout(ctx, timeout) : 0;
    r = crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "ExecSync", &req.base,
                     &runtime__v1__exec_sync_response__descriptor, &m);
    ctx->timeout_ms = saved;
    if (r < 0)
        return 1;
    resp = (Runtime__V1__ExecSyncResponse *)m;
    if (resp->stdout.len)
        fwrite(resp->stdout.data, 1, resp->stdout.len, stdout);
    fflush(stdout); /* before the stderr bytes, as the command wrote them */
    if (resp->stderr.len)
        fwrite(resp->stderr.data, 1, resp->stderr.len, stderr);
    r = exit_status(resp->exit_code);
    protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

int crioctl_cmd_exec(crioctl_ctx *ctx, int argc, char **argv)
{
    enum { OPT_TIMEOUT = 256 };
    static const struct option opts[] = { { "interactive", no_argument, NULL, 'i' },
                                          { "tty", no_argument, NULL, 't' },
                                          { "sync", no_argument, NULL, 's' },
                                          { "timeout", required_argument, NULL, OPT_TIMEOUT },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    int64_t timeout = 0;
    bool interactive = false;
    int opt, r;

    /* "+": the command's own options follow the id and are not ours. */
    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, "+:its" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1) {
        if (opt == 'i' || opt == 't') {
            interactive = true;
        } else if (opt == OPT_TIMEOUT) {
            if (parse_seconds(ctx, "--timeout", optarg, &timeout) < 0)
                return 1;
        } else if (opt != 's' && (r = crioctl_common_option(ctx, opt, argc, argv)) >= 0) {
            return r;
        }
    }
    if (interactive) {
        crioctl_error(ctx, "interactive exec needs the streaming server (not yet); use exec without -i/-t");
        return 1;
    }
    if (argc - optind < 2) {
        crioctl_error(ctx, "expected a container and a command (usage: crioctl exec [OPTIONS] CONTAINER-ID "
                           "COMMAND [ARG...])");
        return 1;
    }
    /* "exec ID -- CMD...": the "--" only separates. */
    int cmd = optind + 1 + (strcmp(argv[optind + 1], "--") == 0);
    if (cmd >= argc) {
        crioctl_error(ctx, "no command given after \"--\"");
        return 1;
    }
    return exec_sync(ctx, argv[optind], argv + cmd, (size_t)(argc - cmd), timeout);
}

/* ---- update ---- */

struct update_opts {
    int64_t memory, cpu_shares, cpu_quota, cpu_period, oom_score_adj;
    bool has_memory, has_shares, has_quota, has_period, has_oom;
    const char *cpuset_cpus, *cpuset_mems;
};

static int int_option(crioctl_ctx *ctx, const char *name, const char *arg, int64_t *out, bool *has)
{
    char *end;

    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end) {
        crioctl_error(ctx, "invalid %s \"%s\": expected a number", name, arg);
        return -1;
    }
    *out = v;
    *has = true;
    return 0;
}

/* The options of update (all long-only). */
enum { OPT_MEMORY = 256, OPT_SHARES, OPT_QUOTA, OPT_PERIOD, OPT_CPUS, OPT_MEMS, OPT_OOM };

/* Handles one option of update; returns -1 to go on, or the exit status. */
static int update_option(crioctl_ctx *ctx, int opt, int argc, char **argv, struct update_opts *u)
{
    switch (opt) {
    case OPT_MEMORY:
        if (crioctl_parse_bytes(optarg, &u->memory) < 0) {
            crioctl_error(ctx, "invalid --memory \"%s\": expected bytes (536870912, 512m, 1g)", optarg);
            return 1;
        }
        u->has_memory = true;
        return -1;
    case OPT_SHARES:
        return int_option(ctx, "--cpu-shares", optarg, &u->cpu_shares, &u->has_shares) < 0 ? 1 : -1;
    case OPT_QUOTA:
        return int_option(ctx, "--cpu-quota", optarg, &u->cpu_quota, &u->has_quota) < 0 ? 1 : -1;
    case OPT_PERIOD:
        return int_option(ctx, "--cpu-period", optarg, &u->cpu_period, &u->has_period) < 0 ? 1 : -1;
    case OPT_OOM:
        return int_option(ctx, "--oom-score-adj", optarg, &u->oom_score_adj, &u->has_oom) < 0 ? 1 : -1;
    case OPT_CPUS:
        u->cpuset_cpus = optarg;
        return -1;
    case OPT_MEMS:
        u->cpuset_mems = optarg;
        return -1;
    default:
        return crioctl_common_option(ctx, opt, argc, argv);
    }
}

static bool update_nothing(const struct update_opts *u)
{
    return !u->has_memory && !u->has_shares && !u->has_quota && !u->has_period && !u->has_oom &&
           !u->cpuset_cpus && !u->cpuset_mems;
}

/*
 * The resources to send: the container's current ones with the given
 * settings changed.  crictl sends only the given ones, which a runtime reads
 * as zeroing the rest; starting from the current values keeps them.
 */
static void merge_resources(Runtime__V1__LinuxContainerResources *res, const Runtime__V1__LinuxContainerResources *cur,
                            const struct update_opts *u)
{
    if (cur) {
        *res = *cur; /* shallow: borrowed from the status until the call is made */
        res->base.unknown_fields = NULL;
        res->base.n_unknown_fields = 0;
    }
    if (u->has_memory)
        res->memory_limit_in_bytes = u->memory;
    if (u->has_shares)
        res->cpu_shares = u->cpu_shares;
    if (u->has_quota)
        res->cpu_quota = u->cpu_quota;
    if (u->has_period)
        res->cpu_period = u->cpu_period;
    if (u->has_oom)
        res->oom_score_adj = u->oom_score_adj;
    if (u->cpuset_cpus)
        res->cpuset_cpus = (char *)u->cpuset_cpus;
    if (u->cpuset_mems)
        res->cpuset_mems = (char *)u->cpuset_mems;
}

static int update_one(crioctl_ctx *ctx, const char *id, const struct update_opts *u)
{
    Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    Runtime__V1__ContainerStatusResponse *st;
    int r;

    if (container_status(ctx, id, false, &st) < 0)
        return -1;
    merge_resources(&res, st->status->resources ? st->status->resources->linux : NULL, u);
    req.container_id = (char *)id;
    req.linux = &res;
    r = crioctl_call_discard(ctx, RUNTIME_SERVICE "UpdateContainerResources", &req.base,
                             &runtime__v1__update_container_resources_response__descriptor);
    protobuf_c_message_free_unpacked(&st->base, NULL);
    if (r == 0)
        printf("%s\n", id);
    return r;
}

int crioctl_cmd_update(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "memory", required_argument, NULL, OPT_MEMORY },
                                          { "cpu-shares", required_argument, NULL, OPT_SHARES },
                                          { "cpu-share", required_argument, NULL, OPT_SHARES }, /* crictl's name */
                                          { "cpu-quota", required_argument, NULL, OPT_QUOTA },
                                          { "cpu-period", required_argument, NULL, OPT_PERIOD },
                                          { "cpuset-cpus", required_argument, NULL, OPT_CPUS },
                                          { "cpuset-mems", required_argument, NULL, OPT_MEMS },
                                          { "oom-score-adj", required_argument, NULL, OPT_OOM },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    struct update_opts u = { 0 };
    int opt, r, failed = 0;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = update_option(ctx, opt, argc, argv, &u)) >= 0)
            return r;
    if (optind >= argc) {
        crioctl_error(ctx, "no container given (usage: crioctl update [OPTIONS] CONTAINER-ID...)");
        return 1;
    }
    if (update_nothing(&u)) {
        crioctl_error(ctx, "nothing to update (see 'crioctl update --help')");
        return 1;
    }
    for (int i = optind; i < argc; i++)
        failed |= update_one(ctx, argv[i], &u) < 0;
    return failed;
}

/* ---- logs ---- */

struct logs_opts {
    crioctl_log_writer w;
    long tail;
    bool follow, previous, reopen, tail_set;
    const char *since, *stream;
};

/* The long-only options of logs. */
enum { OPT_TAIL = 256, OPT_SINCE, OPT_LIMIT };

/* Handles one option of logs; returns -1 to go on, or the exit status. */
static int logs_option(crioctl_ctx *ctx, int opt, int argc, char **argv, struct logs_opts *o)
{
    long limit;

    switch (opt) {
    case 'f':
        o->follow = true;
        return -1;
    case 't':
        o->w.timestamps = true;
        return -1;
    case 'p':
        o->previous = true;
        return -1;
    case 'r':
        o->reopen = true;
        return -1;
    case OPT_TAIL:
        o->tail_set = true;
        return parse_count(ctx, "--tail", optarg, &o->tail) < 0 ? 1 : -1;
    case OPT_SINCE:
        o->since = optarg;
        return -1;
    case OPT_LIMIT:
        if (parse_count(ctx, "--limit-bytes", optarg, &limit) < 0)
            return 1;
        o->w.limit_bytes = limit;
        return -1;
    case 's':
        o->stream = optarg;
        return -1;
    default:
        return crioctl_common_option(ctx, opt, argc, argv);
    }
}

static int check_logs_opts(crioctl_ctx *ctx, struct logs_opts *o)
{
    if (o->stream && strcmp(o->stream, "stdout") == 0) {
        o->w.streams = CRIOCTL_LOG_STDOUT;
    } else if (o->stream && strcmp(o->stream, "stderr") == 0) {
        o->w.streams = CRIOCTL_LOG_STDERR;
    } else if (o->stream) {
        crioctl_error(ctx, "invalid stream \"%s\": must be stdout or stderr", o->stream);
        return -1;
    }
    /* --tail counts the lines of both streams. */
    if (o->stream && o->tail_set) {
        crioctl_error(ctx, "--tail and --stream are mutually exclusive");
        return -1;
    }
    if (o->since && crioctl_log_parse_since(o->since, crioctl_now_ns(), &o->w.since_ns) < 0) {
        crioctl_error(ctx, "invalid --since \"%s\": expected a duration (42m), an RFC 3339 time or a Unix time",
                      o->since);
        return -1;
    }
    return 0;
}

/* The previous attempt's log, as crictl names it: "<dir>/<attempt - 1><.ext>". */
static char *previous_log_path(crioctl_ctx *ctx, const Runtime__V1__ContainerStatus *st)
{
    const char *path = st->log_path, *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    uint32_t attempt = st->metadata ? st->metadata->attempt : 0;
    char *out = NULL;

    if (attempt == 0) {
        crioctl_error(ctx, "previous terminated container %s not found",
                      st->metadata ? str_or_empty(st->metadata->name) : str_or_empty(st->id));
        return NULL;
    }
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    if (asprintf(&out, "%.*s%" PRIu32 "%s", dirlen, path, attempt - 1, dot && dot > slash ? dot : "") < 0)
        out = NULL;
    return out;
}

static int reopen_log(crioctl_ctx *ctx, const char *id)
{
    Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;

    req.container_id = (char *)id;
    return crioctl_call_discard(ctx, RUNTIME_SERVICE "ReopenContainerLog", &req.base,
                                &runtime__v1__reopen_container_log_response__descriptor);
}

/* The log path to read (malloc'd), from the container's status; NULL after an error. */
static char *log_path_of(crioctl_ctx *ctx, const char *id, bool previous)
{
    Runtime__V1__ContainerStatusResponse *st;
    char *path = NULL;

    if (container_status(ctx, id, false, &st) < 0)
        return NULL;
    if (!st->status->log_path || !st->status->log_path[0])
        crioctl_error(ctx, "the container has not set log path");
    else if (previous)
        path = previous_log_path(ctx, st->status);
    else if (!(path = strdup(st->status->log_path)))
        crioctl_error(ctx, "out of memory");
    protobuf_c_message_free_unpacked(&st->base, NULL);
    return path;
}

struct running_check {
    crioctl_ctx *ctx;
    const char *id;
};

/* While following: is the container still running? */
static int container_running(void *payload)
{
    struct running_check *rc = payload;
    Runtime__V1__ContainerStatusResponse *st;
    int running;

    if (container_status(rc->ctx, rc->id, false, &st) < 0)
        return -ECANCELED; /* printed */
    running = st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    protobuf_c_message_free_unpacked(&st->base, NULL);
    return running;
}

static int read_logs(crioctl_ctx *ctx, const char *id, const char *path, struct logs_opts *o)
{
    struct running_check rc = { ctx, id };
    crioctl_log_read_opts ro = { .path = path,
                                 .tail = o->tail,
                                 .follow = o->follow,
                                 .check_ms = 1000,
                                 .running = container_running,
                                 .payload = &rc };
    const char *what = "read";
    int r = crioctl_log_read(&ro, &o->w, stdout, stderr, &what);

    if (r == -ECANCELED)
        return 1; /* the status check failed: printed */
    if (r < 0) {
        crioctl_error(ctx, "%s %s: %s", what, path, strerror(-r));
        return 1;
    }
    return 0;
}

int crioctl_cmd_logs(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
                                          { "tail", required_argument, NULL, OPT_TAIL },
                                          { "since", required_argument, NULL, OPT_SINCE },
                                          { "limit-bytes", required_argument, NULL, OPT_LIMIT },
                                          { "timestamps", no_argument, NULL, 't' },
                                          { "stream", required_argument, NULL, 's' },
                                          { "previous", no_argument, NULL, 'p' },
                                          { "reopen", no_argument, NULL, 'r' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    struct logs_opts o = { .tail = -1 };
    char *path;
    int opt, r = -1;

    crioctl_log_writer_init(&o.w);
    crioctl_getopt_begin();
    while (r < 0 && (opt = getopt_long(argc, argv, ":ftprs:" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        r = logs_option(ctx, opt, argc, argv, &o);
    if (r >= 0)
        return r;
    if (argc - optind != 1) {
        crioctl_error(ctx, "expected one container (usage: crioctl logs [OPTIONS] CONTAINER-ID)");
        return 1;
    }
    if (check_logs_opts(ctx, &o) < 0)
        return 1;
    if (o.reopen && reopen_log(ctx, argv[optind]) < 0)
        return 1;
    if (!(path = log_path_of(ctx, argv[optind], o.previous)))
        return 1;
    r = read_logs(ctx, argv[optind], path, &o);
    free(path);
    return r;
}
