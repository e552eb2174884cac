/* RuntimeService stats: ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"
#include "cri/cri.h"

/* ---- CPU rate ---- */

/*
 * The CRI wants usage_nano_cores, a rate; the library gives cumulative CPU
 * time.  The rate comes from the previous sample of the same container or
 * pod, kept here.  Samples closer than RATE_WINDOW_NS give no new rate (two
 * calls a few microseconds apart would be noise): the last rate is repeated.
 * Entries nobody asked about for STALE_NS (removed containers) are dropped.
 */
#define RATE_WINDOW_NS 1000000000LL
#define STALE_NS (600LL * 1000000000LL)

struct cpu_sample {
    char kind; /* 'c' container, 'p' pod: ids of both kinds never collide here */
    char *id;
    int64_t ts;    /* the sample the rate is measured from */
    uint64_t cpu;
    int64_t seen;  /* the last time anyone asked */
    uint64_t rate;
    bool has_rate;
};

static struct {
    pthread_mutex_t mu;
    struct cpu_sample *v;
    size_t n, cap;
} cpu_cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void cpu_cache_evict(int64_t now)
{
    for (size_t i = 0; i < cpu_cache.n;) {
        if (now - cpu_cache.v[i].seen > STALE_NS) {
            free(cpu_cache.v[i].id);
            cpu_cache.v[i] = cpu_cache.v[--cpu_cache.n];
        } else {
            i++;
        }
    }
}

/* The entry for kind/id, added (with no rate yet) when absent; NULL when out of memory. */
static struct cpu_sample *cpu_cache_get(char kind, const char *id, int64_t ts, uint64_t cpu)
{
    for (size_t i = 0; i < cpu_cache.n; i++)
        if (cpu_cache.v[i].kind == kind && strcmp(cpu_cache.v[i].id, id) == 0)
            return &cpu_cache.v[i];
    if (cpu_cache.n == cpu_cache.cap) {
        size_t cap = cpu_cache.cap ? cpu_cache.cap * 2 : 64;
        struct cpu_sample *v = realloc(cpu_cache.v, cap * sizeof *v);
        if (!v)
            return NULL;
        cpu_cache.v = v;
        cpu_cache.cap = cap;
    }
    char *copy = strdup(id);
    if (!copy)
        return NULL;
    cpu_cache.v[cpu_cache.n] = (struct cpu_sample){ .kind = kind, .id = copy, .ts = ts, .cpu = cpu };
    return &cpu_cache.v[cpu_cache.n++];
}

/* Records a sample; true with *rate (ns of CPU per second) once there is one. */
static bool cpu_nano_cores(char kind, const char *id, int64_t ts, uint64_t cpu, uint64_t *rate)
{
    pthread_mutex_lock(&cpu_cache.mu);
    cpu_cache_evict(ts);
    struct cpu_sample *e = cpu_cache_get(kind, id, ts, cpu);
    bool ok = false;
    if (e) {
        e->seen = ts;
        if (ts < e->ts || cpu < e->cpu) {
            /* The clock or the counter went back (a new cgroup): start over. */
            e->ts = ts;
            e->cpu = cpu;
            e->has_rate = false;
        } else if (ts - e->ts >= RATE_WINDOW_NS) {
            /* In floating point: ns of CPU times 1e9 overflows 64 bits within minutes on many cores. */
            e->rate = (uint64_t)((double)(cpu - e->cpu) * 1e9 / (double)(ts - e->ts));
            e->has_rate = true;
            e->ts = ts;
            e->cpu = cpu;
        }
        ok = e->has_rate;
        *rate = e->rate;
    }
    pthread_mutex_unlock(&cpu_cache.mu);
    return ok;
}

/* ---- messages ---- */

static Runtime__V1__UInt64Value *u64(cri_arena *a, uint64_t v)
{
    Runtime__V1__UInt64Value *u = cri_new(a, &runtime__v1__uint64_value__descriptor);
    if (u)
        u->value = v;
    return u;
}

static Runtime__V1__CpuUsage *cpu_usage(cri_arena *a, char kind, const char *id, const crio_stats *s)
{
    Runtime__V1__CpuUsage *cpu = cri_new(a, &runtime__v1__cpu_usage__descriptor);
    if (!cpu)
        return NULL;
    cpu->timestamp = crio_stats_timestamp(s);
    cpu->usage_core_nano_seconds = u64(a, crio_stats_cpu_usage_ns(s));
    uint64_t rate;
    if (cpu_nano_cores(kind, id, cpu->timestamp, crio_stats_cpu_usage_ns(s), &rate))
        cpu->usage_nano_cores = u64(a, rate);
    return cpu;
}

static Runtime__V1__MemoryUsage *memory_usage(cri_arena *a, const crio_stats *s)
{
    Runtime__V1__MemoryUsage *mem = cri_new(a, &runtime__v1__memory_usage__descriptor);
    if (!mem)
        return NULL;
    mem->timestamp = crio_stats_timestamp(s);
    mem->working_set_bytes = u64(a, crio_stats_memory_working_set(s));
    mem->usage_bytes = u64(a, crio_stats_memory_usage(s));
    mem->rss_bytes = u64(a, crio_stats_memory_rss(s));
    mem->page_faults = u64(a, crio_stats_memory_page_faults(s));
    mem->major_page_faults = u64(a, crio_stats_memory_major_page_faults(s));
    /* As the kubelet's cadvisor: limit minus working set, only where there is a limit. */
    uint64_t limit = crio_stats_memory_limit(s), ws = crio_stats_memory_working_set(s);
    if (limit != UINT64_MAX)
        mem->available_bytes = u64(a, limit > ws ? limit - ws : 0);
    return mem;
}

static Runtime__V1__FilesystemUsage *writable_layer(cri_arena *a, const crio_stats *s)
{
    Runtime__V1__FilesystemUsage *fs = cri_new(a, &runtime__v1__filesystem_usage__descriptor);
    Runtime__V1__FilesystemIdentifier *fsid = cri_new(a, &runtime__v1__filesystem_identifier__descriptor);
    if (!fs || !fsid)
        return NULL;
    fsid->mountpoint = (char *)crio_stats_fs_mountpoint(s);
    fs->timestamp = crio_stats_timestamp(s);
    fs->fs_id = fsid;
    fs->used_bytes = u64(a, crio_stats_writable_bytes(s));
    fs->inodes_used = u64(a, crio_stats_writable_inodes(s));
    return fs;
}

static Runtime__V1__ContainerAttributes *ctr_attributes(cri_arena *a, const crio_container *ctr)
{
    Runtime__V1__ContainerAttributes *at = cri_new(a, &runtime__v1__container_attributes__descriptor);
    if (!at)
        return NULL;
    at->id = (char *)crio_container_id(ctr);
    at->metadata = cri_container_metadata(a, ctr);
    cri_container_maps(a, &at->base, ctr);
    return at;
}

static Runtime__V1__PodSandboxAttributes *pod_attributes(cri_arena *a, const crio_pod *pod)
{
    Runtime__V1__PodSandboxAttributes *at = cri_new(a, &runtime__v1__pod_sandbox_attributes__descriptor);
    if (!at)
        return NULL;
    at->id = (char *)crio_pod_id(pod);
    at->metadata = cri_pod_metadata(a, pod);
    cri_pod_maps(a, &at->base, pod);
    return at;
}

static void free_stats(void *s)
{
    crio_stats_free(s);
}

/* Reads the library's figures, kept by the arena (the reply borrows the mountpoint). */
static int stats_read(cri_arena *a, crio_stats **out, crio *c, char kind, const char *id)
{
    int e = kind == 'c' ? crio_container_stats_get(out, c, id) : crio_pod_stats_get(out, c, id);
    if (e < 0)
        return e;
    return cri_adopt(a, *out, free_stats) < 0 ? CRIO_ENOMEM : 0;
}

/* Builds the stats of item `i` of a library listing: 0, CRIO_ENOMEM, or the error reading it. */
typedef int (*stats_at_fn)(cri_arena *a, ProtobufCMessage **out, crio *c, const void *list, size_t i);

/*
 * The stats of each of the `count` items of a listing, into (*v)[0 .. *n).
 * An item that stops or goes away between the listing and the reading is
 * left out: a listing must not fail for the race.  0 or CRIO_ENOMEM.
 */
static int stats_of_each(cri_arena *a, ProtobufCMessage ***v, size_t *n, crio *c, const void *list, size_t count,
                         stats_at_fn at)
{
    size_t k = 0;
    *v = cri_ptrs(a, count);
    for (size_t i = 0; *v && i < count; i++) {
        int e = at(a, &(*v)[k], c, list, i);
        if (e == CRIO_ENOMEM)
            return e;
        if (e == 0)
            k++;
    }
    *n = k;
    return a->oom ? CRIO_ENOMEM : 0;
}

/* Answers a reply built in `a`, or the failure `e` (out of memory included). */
static void reply_stats(grpc_reply *reply, cri_arena *a, const ProtobufCMessage *resp, int e)
{
    if (e < 0 && e != CRIO_ENOMEM) {
        cri_reply_error(reply, e);
        cri_arena_free(a);
        return;
    }
    a->oom |= e == CRIO_ENOMEM;
    cri_reply_built(reply, a, resp);
}

/* ---- containers ---- */

static int ctr_stats(cri_arena *a, ProtobufCMessage **out, crio *c, const crio_container *ctr)
{
    crio_stats *s;
    int e = stats_read(a, &s, c, 'c', crio_container_id(ctr));
    if (e < 0)
        return e;
    Runtime__V1__ContainerStats *cs = cri_new(a, &runtime__v1__container_stats__descriptor);
    if (!cs)
        return CRIO_ENOMEM;
    cs->attributes = ctr_attributes(a, ctr);
    cs->cpu = cpu_usage(a, 'c', crio_container_id(ctr), s);
    cs->memory = memory_usage(a, s);
    cs->writable_layer = writable_layer(a, s);
    *out = &cs->base;
    return a->oom ? CRIO_ENOMEM : 0;
}

static int ctr_stats_at(cri_arena *a, ProtobufCMessage **out, crio *c, const void *list, size_t i)
{
    return ctr_stats(a, out, c, crio_container_list_at(list, i));
}

/* Stats of every running container `f` matches. */
static int ctrs_stats(cri_arena *a, Runtime__V1__ContainerStats ***out, size_t *n, crio *c,
                      crio_container_filter *f)
{
    crio_container_list *list = NULL;
    ProtobufCMessage **v;
    *out = NULL;
    *n = 0;
    int e = crio_container_filter_set_state(f, CRIO_CONTAINER_RUNNING);
    if (e == 0)
        e = crio_container_list_get(&list, c, f);
    if (e == CRIO_ENOTFOUND)
        return 0;
    if (e < 0)
        return e;
    if (cri_adopt(a, list, cri_free_container_list) < 0)
        return CRIO_ENOMEM;
    e = stats_of_each(a, &v, n, c, list, crio_container_list_count(list), ctr_stats_at);
    *out = (Runtime__V1__ContainerStats **)v;
    return e;
}

static void one_ctr_stats(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ContainerStatsRequest *in = (const Runtime__V1__ContainerStatsRequest *)msg;
    cri_arena a = { 0 };
    Runtime__V1__ContainerStatsResponse resp = RUNTIME__V1__CONTAINER_STATS_RESPONSE__INIT;
    crio_container *ctr = NULL;
    ProtobufCMessage *stats = NULL;
    int e = crio_container_get(&ctr, c, in->container_id);
    if (e == 0)
        e = ctr_stats(&a, &stats, c, ctr);
    resp.stats = (Runtime__V1__ContainerStats *)stats;
    reply_stats(reply, &a, &resp.base, e);
    crio_container_free(ctr);
}

void cri_container_stats(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__container_stats_request__descriptor, "container_id",
              one_ctr_stats);
}

static int ctr_stats_filter(crio_container_filter **out, const Runtime__V1__ContainerStatsFilter *f)
{
    int e = crio_container_filter_new(out);
    if (e < 0 || !f)
        return e;
    if (*f->id)
        e = crio_container_filter_set_id(*out, f->id);
    if (e == 0 && *f->pod_sandbox_id)
        e = crio_container_filter_set_pod_id(*out, f->pod_sandbox_id);
    for (size_t i = 0; e == 0 && i < f->n_label_selector; i++)
        e = crio_container_filter_add_label(*out, f->label_selector[i]->key, f->label_selector[i]->value);
    return e;
}

static void list_ctr_stats(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ListContainerStatsRequest *in = (const Runtime__V1__ListContainerStatsRequest *)msg;
    cri_arena a = { 0 };
    Runtime__V1__ListContainerStatsResponse resp = RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;
    crio_container_filter *f = NULL;
    int e = ctr_stats_filter(&f, in->filter);
    if (e == 0)
        e = ctrs_stats(&a, &resp.stats, &resp.n_stats, c, f);
    crio_container_filter_free(f);
    reply_stats(reply, &a, &resp.base, e);
}

void cri_list_container_stats(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__list_container_stats_request__descriptor, NULL, list_ctr_stats);
}

/* ---- pods ---- */

static Runtime__V1__ProcessUsage *process_usage(cri_arena *a, const crio_stats *s)
{
    Runtime__V1__ProcessUsage *p = cri_new(a, &runtime__v1__process_usage__descriptor);
    if (p) {
        p->timestamp = crio_stats_timestamp(s);
        p->process_count = u64(a, crio_stats_pids(s));
    }
    return p;
}

/* The pod's interfaces; NULL for a pod without a network namespace of its own. */
static Runtime__V1__NetworkUsage *network_usage(cri_arena *a, const crio_stats *s)
{
    size_t n = crio_stats_network_count(s);
    if (n == 0)
        return NULL;
    Runtime__V1__NetworkUsage *net = cri_new(a, &runtime__v1__network_usage__descriptor);
    Runtime__V1__NetworkInterfaceUsage **v = cri_alloc(a, n * sizeof *v);
    if (!net || !v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        Runtime__V1__NetworkInterfaceUsage *u = cri_new(a, &runtime__v1__network_interface_usage__descriptor);
        if (!u)
            return NULL;
        u->name = (char *)crio_stats_network_name(s, i); /* lives as long as the stats, adopted by the arena */
        u->rx_bytes = u64(a, crio_stats_network_rx_bytes(s, i));
        u->rx_errors = u64(a, crio_stats_network_rx_errors(s, i));
        u->tx_bytes = u64(a, crio_stats_network_tx_bytes(s, i));
        u->tx_errors = u64(a, crio_stats_network_tx_errors(s, i));
        v[i] = u;
    }
    net->timestamp = crio_stats_timestamp(s);
    net->default_interface = v[0];
    net->interfaces = v;
    net->n_interfaces = n;
    return net;
}

/* The pod's own figures (its cgroup holds its containers) and each running container's. */
static int pod_stats(cri_arena *a, ProtobufCMessage **out, crio *c, const crio_pod *pod)
{
    crio_stats *s;
    int e = stats_read(a, &s, c, 'p', crio_pod_id(pod));
    if (e < 0)
        return e;
    Runtime__V1__PodSandboxStats *ps = cri_new(a, &runtime__v1__pod_sandbox_stats__descriptor);
    Runtime__V1__LinuxPodSandboxStats *lx = cri_new(a, &runtime__v1__linux_pod_sandbox_stats__descriptor);
    if (!ps || !lx)
        return CRIO_ENOMEM;
    ps->attributes = pod_attributes(a, pod);
    lx->cpu = cpu_usage(a, 'p', crio_pod_id(pod), s);
    lx->memory = memory_usage(a, s);
    lx->process = process_usage(a, s);
    lx->network = network_usage(a, s);
    ps->linux = lx;
    crio_container_filter *f = NULL;
    e = crio_container_filter_new(&f);
    if (e == 0)
        e = crio_container_filter_set_pod_id(f, crio_pod_id(pod));
    if (e == 0)
        e = ctrs_stats(a, &lx->containers, &lx->n_containers, c, f);
    crio_container_filter_free(f);
    *out = &ps->base;
    return e;
}

static int pod_stats_at(cri_arena *a, ProtobufCMessage **out, crio *c, const void *list, size_t i)
{
    return pod_stats(a, out, c, crio_pod_list_at(list, i));
}

static void one_pod_stats(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__PodSandboxStatsRequest *in = (const Runtime__V1__PodSandboxStatsRequest *)msg;
    cri_arena a = { 0 };
    Runtime__V1__PodSandboxStatsResponse resp = RUNTIME__V1__POD_SANDBOX_STATS_RESPONSE__INIT;
    crio_pod *pod = NULL;
    ProtobufCMessage *stats = NULL;
    int e = crio_pod_get(&pod, c, in->pod_sandbox_id);
    if (e == 0)
        e = pod_stats(&a, &stats, c, pod);
    resp.stats = (Runtime__V1__PodSandboxStats *)stats;
    reply_stats(reply, &a, &resp.base, e);
    crio_pod_free(pod);
}

void cri_pod_sandbox_stats(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__pod_sandbox_stats_request__descriptor, "pod_sandbox_id",
              one_pod_stats);
}

/* Ready pods only: a stopped pod has no cgroup left to read. */
static int pod_stats_filter(crio_pod_filter **out, const Runtime__V1__PodSandboxStatsFilter *f)
{
    int e = crio_pod_filter_new(out);
    if (e == 0)
        e = crio_pod_filter_set_state(*out, CRIO_POD_READY);
    if (e < 0 || !f)
        return e;
    if (*f->id)
        e = crio_pod_filter_set_id(*out, f->id);
    for (size_t i = 0; e == 0 && i < f->n_label_selector; i++)
        e = crio_pod_filter_add_label(*out, f->label_selector[i]->key, f->label_selector[i]->value);
    return e;
}

static void free_pod_list(void *l)
{
    crio_pod_list_free(l);
}

/* Stats of the pods `f` matches. */
static int pods_stats(cri_arena *a, Runtime__V1__PodSandboxStats ***out, size_t *n, crio *c,
                      const crio_pod_filter *f)
{
    crio_pod_list *list = NULL;
    ProtobufCMessage **v;
    int e = crio_pod_list_get(&list, c, f);
    if (e == CRIO_ENOTFOUND)
        return 0;
    if (e < 0)
        return e;
    if (cri_adopt(a, list, free_pod_list) < 0)
        return CRIO_ENOMEM;
    e = stats_of_each(a, &v, n, c, list, crio_pod_list_count(list), pod_stats_at);
    *out = (Runtime__V1__PodSandboxStats **)v;
    return e;
}

static void list_pod_stats(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ListPodSandboxStatsRequest *in = (const Runtime__V1__ListPodSandboxStatsRequest *)msg;
    cri_arena a = { 0 };
    Runtime__V1__ListPodSandboxStatsResponse resp = RUNTIME__V1__LIST_POD_SANDBOX_STATS_RESPONSE__INIT;
    crio_pod_filter *f = NULL;
    int e = pod_stats_filter(&f, in->filter);
    if (e == 0)
        e = pods_stats(&a, &resp.stats, &resp.n_stats, c, f);
    crio_pod_filter_free(f);
    reply_stats(reply, &a, &resp.base, e);
}

void cri_list_pod_sandbox_stats(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply,
                                void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__list_pod_sandbox_stats_request__descriptor, NULL, list_pod_stats);
}
