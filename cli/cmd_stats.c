/*
 * crioctl: resource usage and events, as crictl has them: stats (containers),
 * statsp (pods), events (the GetContainerEvents stream).
 *
 * CPU % is measured as crictl measures it: two samples `--seconds` apart,
 * the CPU time used between them over the time between them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "crioctl.h"
#include "logs.h"

#define RUNTIME_SERVICE "/runtime.v1.RuntimeService/"

/* Between two frames of --watch (crictl refreshes twice a second). */
#define WATCH_INTERVAL_MS 500

const char crioctl_help_stats[] =
    "  -a, --all             show every container (default: running ones)\n"
    "      --id ID           only this container (also given as the argument)\n"
    "  -p, --pod ID          only containers of this pod\n"
    "      --label KEY=VALUE only containers with this label (repeatable)\n"
    "  -s, --seconds N       sample CPU usage over N seconds (default: 1)\n"
    "  -w, --watch           refresh until interrupted\n"
    "  -o, --output FORMAT   output format: table (the default) or json\n";

const char crioctl_help_statsp[] =
    "      --id ID           only this pod (also given as the argument)\n"
    "      --label KEY=VALUE only pods with this label (repeatable)\n"
    "  -s, --seconds N       sample CPU usage over N seconds (default: 1)\n"
    "  -w, --watch           refresh until interrupted\n"
    "  -o, --output FORMAT   output format: table (the default) or json\n";

const char crioctl_help_events[] =
    "  -o, --output FORMAT   json: each event as a JSON document; default: one line per\n"
    "                        event (time, type, container, pod)\n"
    "Runs until interrupted.\n";

struct stats_opts {
    const char *id, *pod;
    crioctl_labels labels;
    bool all, watch;
    long seconds;
};

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static uint64_t u64_value(const Runtime__V1__UInt64Value *v)
{
    return v ? v->value : 0;
}

/* CPU % between two samples of cumulative CPU time; -1 when the clock did not move. */
static double cpu_percent(uint64_t cpu, int64_t ts, uint64_t old_cpu, int64_t old_ts)
{
    if (cpu == 0)
        return 0; /* only a running container has a rate */
    if (ts == old_ts)
        return -1;
    return (double)(cpu - old_cpu) / (double)(ts - old_ts) * 100.0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* The long-only options of stats and statsp. */
enum { OPT_ID = 256, OPT_LABEL };

/* Handles one option shared by stats and statsp; returns -1 to go on, or the exit status. */
static int stats_option(crioctl_ctx *ctx, int opt, int argc, char **argv, struct stats_opts *o)
{
    char *end;

    switch (opt) {
    case 'a':
        o->all = true;
        return -1;
    case OPT_ID:
        o->id = optarg;
        return -1;
    case 'p':
        o->pod = optarg;
        return -1;
    case OPT_LABEL:
        return crioctl_label_option(ctx, &o->labels, optarg) < 0 ? 1 : -1;
    case 's':
        errno = 0;
        o->seconds = strtol(optarg, &end, 10);
        if (errno || end == optarg || *end || o->seconds < 0 || o->seconds > 86400) {
            crioctl_error(ctx, "invalid --seconds \"%s\": expected a number of seconds", optarg);
            return 1;
        }
        return -1;
    case 'w':
        o->watch = true;
        return -1;
    default:
        return crioctl_common_option(ctx, opt, argc, argv);
    }
}

/* Parses the options of stats (with_containers) or statsp; returns -1 to go on, or the exit status. */
static int stats_options(crioctl_ctx *ctx, int argc, char **argv, struct stats_opts *o, bool with_containers)
{
    static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                          { "id", required_argument, NULL, OPT_ID },
                                          { "pod", required_argument, NULL, 'p' },
                                          { "label", required_argument, NULL, OPT_LABEL },
                                          { "seconds", required_argument, NULL, 's' },
                                          { "watch", no_argument, NULL, 'w' },
                                          CRIOCTL_COMMON_OPTIONS,
                                          { 0, 0, 0, 0 } };
    static const struct option popts[] = { { "id", required_argument, NULL, OPT_ID },
                                           { "label", required_argument, NULL, OPT_LABEL },
                                           { "seconds", required_argument, NULL, 's' },
                                           { "watch", no_argument, NULL, 'w' },
                                           CRIOCTL_COMMON_OPTIONS,
                                           { 0, 0, 0, 0 } };
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, with_containers ? ":ap:s:w" CRIOCTL_COMMON_SHORT : ":s:w" CRIOCTL_COMMON_SHORT,
                              with_containers ? opts : popts, NULL)) != -1)
        if ((r = stats_option(ctx, opt, argc, argv, o)) >= 0)
            return r;
    if (argc - optind > 1) {
        crioctl_error(ctx, "unexpected argument \"%s\": takes at most one id", argv[optind + 1]);
        return 1;
    }
    if (optind < argc && !o->id)
        o->id = argv[optind];
    return -1;
}

/* What stats (containers) and statsp (pods) differ in. */
struct stats_kind {
    bool containers;         /* stats: the options --all and --pod too */
    const char *const *head; /* the table's columns */
    size_t columns;
    /* One sample, sorted by id (a List...StatsResponse) into *out; 0, or -1 (printed). */
    int (*sample)(crioctl_ctx *ctx, const struct stats_opts *o, ProtobufCMessage **out);
    /* Adds the rows of `after`, its CPU % measured since `before`; 0, or -1 (printed). */
    int (*add_rows)(crioctl_ctx *ctx, crioctl_table *t, const ProtobufCMessage *before,
                    const ProtobufCMessage *after, const struct stats_opts *o);
};

/* The cells both tables have. */
struct usage_cells {
    char id[64], cpu[32], mem[32];
};

/* The id cut short, the CPU % between two samples and the memory; 0, or -1 (printed). */
static int usage_cells(crioctl_ctx *ctx, struct usage_cells *c, const char *id, const Runtime__V1__CpuUsage *cpu,
                       const Runtime__V1__CpuUsage *old, uint64_t mem)
{
    double p = cpu_percent(cpu ? u64_value(cpu->usage_core_nano_seconds) : 0, cpu ? cpu->timestamp : 0,
                           old ? u64_value(old->usage_core_nano_seconds) : 0, old ? old->timestamp : 0);

    if (p < 0) {
        crioctl_error(ctx, "cpu stat is not updated during sample");
        return -1;
    }
    crioctl_truncate_id(c->id, sizeof(c->id), id);
    snprintf(c->cpu, sizeof(c->cpu), "%.2f", p);
    crioctl_human_size(c->mem, sizeof(c->mem), (double)mem);
    return 0;
}

static int print_stats_table(crioctl_ctx *ctx, const struct stats_kind *k, const ProtobufCMessage *before,
                             const ProtobufCMessage *after, const struct stats_opts *o)
{
    crioctl_table *t = crioctl_listing_table(k->columns, k->head);
    int r = t ? 0 : (crioctl_error(ctx, "out of memory"), -1);

    if (r >= 0)
        r = k->add_rows(ctx, t, before, after, o);
    if (r >= 0) {
        if (o->watch)
            fputs("\033[2J\033[H", stdout); /* clear the screen for the next frame */
        r = crioctl_table_print(t, stdout);
        fflush(stdout);
    }
    crioctl_table_free(t);
    return r < 0 ? 1 : 0;
}

/* One frame: JSON of one sample, or the table of two. */
static int show_stats(crioctl_ctx *ctx, const struct stats_kind *k, const struct stats_opts *o)
{
    ProtobufCMessage *before = NULL, *after = NULL;
    int r = 1;

    if (k->sample(ctx, o, &before) < 0)
        return 1;
    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        r = crioctl_print_message_json(ctx, before);
    } else {
        sleep_ms(o->seconds * 1000);
        if (k->sample(ctx, o, &after) == 0)
            r = print_stats_table(ctx, k, before, after, o);
    }
    protobuf_c_message_free_unpacked(before, NULL);
    if (after)
        protobuf_c_message_free_unpacked(after, NULL);
    return r;
}

/* Runs stats or statsp: one frame, or frames until interrupted (--watch). */
static int run_stats(crioctl_ctx *ctx, int argc, char **argv, const struct stats_kind *k)
{
    struct stats_opts o = { .seconds = 1 };
    int r;

    if ((r = stats_options(ctx, argc, argv, &o, k->containers)) < 0) {
        do {
            r = show_stats(ctx, k, &o);
            if (r == 0 && o.watch)
                sleep_ms(WATCH_INTERVAL_MS); /* JSON, or --seconds 0, would not pause at all */
        } while (r == 0 && o.watch);
    }
    crioctl_labels_free(&o.labels);
    return r;
}

/* ---- stats ---- */

static int stats_id_cmp(const void *a, const void *b)
{
    const Runtime__V1__ContainerStats *x = *(Runtime__V1__ContainerStats *const *)a;
    const Runtime__V1__ContainerStats *y = *(Runtime__V1__ContainerStats *const *)b;

    return strcmp(x->attributes ? str_or_empty(x->attributes->id) : "",
                  y->attributes ? str_or_empty(y->attributes->id) : "");
}

static int container_stats(crioctl_ctx *ctx, const struct stats_opts *o, ProtobufCMessage **out)
{
    Runtime__V1__ListContainerStatsRequest req = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    Runtime__V1__ContainerStatsFilter filter = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    Runtime__V1__ListContainerStatsResponse *resp;

    if (o->id)
        filter.id = (char *)o->id;
    if (o->pod)
        filter.pod_sandbox_id = (char *)o->pod;
    req.filter = &filter;
    if (crioctl_call_with_labels(ctx, RUNTIME_SERVICE "ListContainerStats", &req.base, &filter.base, &o->labels,
                                 &runtime__v1__list_container_stats_response__descriptor, out) < 0)
        return -1;
    resp = (Runtime__V1__ListContainerStatsResponse *)*out;
    if (resp->n_stats > 1)
        qsort(resp->stats, resp->n_stats, sizeof(*resp->stats), stats_id_cmp);
    return 0;
}

static const Runtime__V1__ContainerStats *find_container_stats(const Runtime__V1__ListContainerStatsResponse *r,
                                                                const char *id)
{
    for (size_t i = 0; i < r->n_stats; i++)
        if (r->stats[i]->attributes && strcmp(str_or_empty(r->stats[i]->attributes->id), id) == 0)
            return r->stats[i];
    return NULL;
}

/* Adds a container's row; 1 when it is skipped, 0, or -1 (printed). */
static int add_stats_row(crioctl_ctx *ctx, crioctl_table *t, const Runtime__V1__ContainerStats *s,
                         const Runtime__V1__ListContainerStatsResponse *before, bool all)
{
    const char *id = s->attributes ? str_or_empty(s->attributes->id) : "";
    const Runtime__V1__ContainerStats *old = find_container_stats(before, id);
    uint64_t cpu = s->cpu ? u64_value(s->cpu->usage_core_nano_seconds) : 0;
    uint64_t mem = s->memory ? u64_value(s->memory->working_set_bytes) : 0;
    struct usage_cells c;
    char disk[32], inodes[32];

    if ((!all && cpu == 0 && mem == 0) || !old)
        return 1; /* not running; or new since the first sample */
    if (usage_cells(ctx, &c, id, s->cpu, old->cpu, mem) < 0)
        return -1;
    crioctl_human_size(disk, sizeof(disk), s->writable_layer ? (double)u64_value(s->writable_layer->used_bytes) : 0);
    snprintf(inodes, sizeof(inodes), "%" PRIu64, s->writable_layer ? u64_value(s->writable_layer->inodes_used) : 0);
    const char *name = s->attributes && s->attributes->metadata ? str_or_empty(s->attributes->metadata->name) : "";
    const char *row[] = { c.id, name, c.cpu, c.mem, disk, inodes };
    return crioctl_table_add(t, 6, row) < 0 ? (crioctl_error(ctx, "out of memory"), -1) : 0;
}

static int add_stats_rows(crioctl_ctx *ctx, crioctl_table *t, const ProtobufCMessage *before,
                          const ProtobufCMessage *after, const struct stats_opts *o)
{
    const Runtime__V1__ListContainerStatsResponse *a = (const Runtime__V1__ListContainerStatsResponse *)after;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < a->n_stats; i++)
        r = add_stats_row(ctx, t, a->stats[i], (const Runtime__V1__ListContainerStatsResponse *)before, o->all);
    return r;
}

int crioctl_cmd_stats(crioctl_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES" };
    static const struct stats_kind containers = { true, head, 6, container_stats, add_stats_rows };

    return run_stats(ctx, argc, argv, &containers);
}

/* ---- statsp ---- */

static int pod_stats_id_cmp(const void *a, const void *b)
{
    const Runtime__V1__PodSandboxStats *x = *(Runtime__V1__PodSandboxStats *const *)a;
    const Runtime__V1__PodSandboxStats *y = *(Runtime__V1__PodSandboxStats *const *)b;

    return strcmp(x->attributes ? str_or_empty(x->attributes->id) : "",
                  y->attributes ? str_or_empty(y->attributes->id) : "");
}

static int pod_stats(crioctl_ctx *ctx, const struct stats_opts *o, ProtobufCMessage **out)
{
    Runtime__V1__ListPodSandboxStatsRequest req = RUNTIME__V1__LIST_POD_SANDBOX_STATS_REQUEST__INIT;
    Runtime__V1__PodSandboxStatsFilter filter = RUNTIME__V1__POD_SANDBOX_STATS_FILTER__INIT;
    Runtime__V1__ListPodSandboxStatsResponse *resp;

    if (o->id)
        filter.id = (char *)o->id;
    req.filter = &filter;
    if (crioctl_call_with_labels(ctx, RUNTIME_SERVICE "ListPodSandboxStats", &req.base, &filter.base, &o->labels,
                                 &runtime__v1__list_pod_sandbox_stats_response__descriptor, out) < 0)
        return -1;
    resp = (Runtime__V1__ListPodSandboxStatsResponse *)*out;
    if (resp->n_stats > 1)
        qsort(resp->stats, resp->n_stats, sizeof(*resp->stats), pod_stats_id_cmp);
    return 0;
}

static const Runtime__V1__LinuxPodSandboxStats *find_pod_stats(const Runtime__V1__ListPodSandboxStatsResponse *r,
                                                                const char *id)
{
    for (size_t i = 0; i < r->n_stats; i++)
        if (r->stats[i]->attributes && strcmp(str_or_empty(r->stats[i]->attributes->id), id) == 0)
            return r->stats[i]->linux;
    return NULL;
}

/* Adds a pod's row; 1 when it is skipped, 0, or -1 (printed). */
static int add_pod_stats_row(crioctl_ctx *ctx, crioctl_table *t, const Runtime__V1__PodSandboxStats *s,
                             const Runtime__V1__ListPodSandboxStatsResponse *before)
{
    const char *id = s->attributes ? str_or_empty(s->attributes->id) : "";
    const Runtime__V1__LinuxPodSandboxStats *lx = s->linux, *old = find_pod_stats(before, id);
    uint64_t cpu = lx && lx->cpu ? u64_value(lx->cpu->usage_core_nano_seconds) : 0;
    uint64_t mem = lx && lx->memory ? u64_value(lx->memory->working_set_bytes) : 0;
    struct usage_cells c;

    if ((cpu == 0 && mem == 0) || !old)
        return 1; /* no data; or new since the first sample */
    if (usage_cells(ctx, &c, id, lx->cpu, old->cpu, mem) < 0)
        return -1;
    const char *row[] = { s->attributes->metadata ? str_or_empty(s->attributes->metadata->name) : "", c.id, c.cpu,
                          c.mem };
    return crioctl_table_add(t, 4, row) < 0 ? (crioctl_error(ctx, "out of memory"), -1) : 0;
}

static int add_pod_stats_rows(crioctl_ctx *ctx, crioctl_table *t, const ProtobufCMessage *before,
                              const ProtobufCMessage *after, const struct stats_opts *o)
{
    const Runtime__V1__ListPodSandboxStatsResponse *a = (const Runtime__V1__ListPodSandboxStatsResponse *)after;
    int r = 0;

    for (size_t i = 0; r >= 0 && i < a->n_stats; i++)
        r = add_pod_stats_row(ctx, t, a->stats[i], (const Runtime__V1__ListPodSandboxStatsResponse *)before);
    return r;
}

int crioctl_cmd_statsp(crioctl_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "POD", "POD ID", "CPU %", "MEM" };
    static const struct stats_kind pods = { false, head, 4, pod_stats, add_pod_stats_rows };

    return run_stats(ctx, argc, argv, &pods);
}

/* ---- events ---- */

static void print_event_line(const Runtime__V1__ContainerEventResponse *ev)
{
    const ProtobufCEnumValue *type = protobuf_c_enum_descriptor_get_value(&runtime__v1__container_event_type__descriptor,
                                                                          (int)ev->container_event_type);
    const Runtime__V1__PodSandboxStatus *pod = ev->pod_sandbox_status;
    char when[64];

    crioctl_format_rfc3339nano(when, sizeof(when), ev->created_at, crioctl_local_offset(ev->created_at));
    printf("%s %s container=%s", when, type ? type->name : "UNKNOWN_EVENT", str_or_empty(ev->container_id));
    if (pod) {
        printf(" pod=%s", str_or_empty(pod->id));
        if (pod->metadata)
            printf(" (%s/%s)", str_or_empty(pod->metadata->namespace_), str_or_empty(pod->metadata->name));
    }
    printf("\n");
}

static int on_event(crioctl_ctx *ctx, const ProtobufCMessage *msg, void *payload)
{
    if (ctx->output == CRIOCTL_OUTPUT_JSON) {
        if (crioctl_print_message_json(ctx, msg) != 0)
            return 1;
    } else {
        print_event_line((const Runtime__V1__ContainerEventResponse *)msg);
    }
    /* A stream read by another program (| jq) sees each event as it comes. */
    return fflush(stdout) == 0 ? 0 : 1;
}

int crioctl_cmd_events(crioctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = { CRIOCTL_COMMON_OPTIONS, { 0, 0, 0, 0 } };
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    int opt, r;

    crioctl_getopt_begin();
    while ((opt = getopt_long(argc, argv, ":" CRIOCTL_COMMON_SHORT, opts, NULL)) != -1)
        if ((r = crioctl_common_option(ctx, opt, argc, argv)) >= 0)
            return r;
    if (crioctl_no_args(ctx, argc, argv))
        return 1;
    ctx->timeout_ms = 0; /* the stream lasts until interrupted */
    r = crioctl_call_stream(ctx, CRIOCTL_RUNTIME_SERVICE, RUNTIME_SERVICE "GetContainerEvents", &req.base,
                            &runtime__v1__container_event_response__descriptor, on_event, NULL);
    return r < 0 ? 1 : 0;
}
