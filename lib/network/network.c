/*
 * Pod networking for a handle (see network.h).
 *
 * The configuration directory is watched with inotify, drained at each use
 * rather than by a thread of its own: readiness is only ever asked for
 * (Status, RunPodSandbox), so a change is seen by the very next question,
 * and a library user gets it without running an event loop.
 */
#include "network/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h> /* isfinite, NAN */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "network/cni.h"

#define NET_WATCH_MASK                                                                                   \
    (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | \
     IN_MOVE_SELF | IN_ONLYDIR)
#define NET_MAX_CIDRS 2

/* A loaded configuration, shared by the calls that use it. */
struct net_conf {
    int refs;
    crio_cni *cni;
};

struct crio_net {
    pthread_mutex_t lock;
    char *dir;
    char **plugin_dirs;
    char *default_network;
    int64_t timeout_ms;
    int ifd, wd;  /* inotify fd and the directory's watch (-1: not watched yet) */
    bool dirty;   /* the directory changed since cur was loaded */
    struct net_conf *cur;
    char *cidrs[NET_MAX_CIDRS]; /* the pod CIDRs, for ipRanges */
};

static void conf_put(struct net_conf *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    crio_cni_free(c->cni);
    free(c);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct net_conf, conf_put)

void crio_net_attachment_clear(crio_net_attachment *at)
{
    for (size_t i = 0; i < at->n_ips; i++)
        free(at->ips[i]);
    free(at->ips);
    free(at->network);
    *at = (crio_net_attachment){ 0 };
}

/* ---- configuration and the watch ---- */

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int set_settings(crio_net *n, const crio_net_settings *s)
{
    size_t nd = 0;
    while (s->plugin_dirs && s->plugin_dirs[nd])
        nd++;
    char **dirs = calloc(nd + 1, sizeof *dirs);
    char *dir = strdup(s->network_dir ? s->network_dir : "");
    char *def = strdup(s->default_network ? s->default_network : "");
    bool ok = dirs && dir && def;
    for (size_t i = 0; ok && i < nd; i++)
        ok = (dirs[i] = strdup(s->plugin_dirs[i])) != NULL;
    if (!ok) {
        strv_free(dirs);
        free(dir);
        free(def);
        return crio_error_oom();
    }
    strv_free(n->plugin_dirs);
    free(n->dir);
    free(n->default_network);
    n->plugin_dirs = dirs;
    n->dir = dir;
    n->default_network = def;
    n->timeout_ms = s->plugin_timeout_ms;
    return 0;
}

/* (Re)starts watching the directory; it may not exist yet (then retried at each use). */
static void watch_dir(crio_net *n)
{
    if (n->ifd < 0)
        return;
    if (n->wd >= 0)
        inotify_rm_watch(n->ifd, n->wd);
    n->wd = inotify_add_watch(n->ifd, n->dir, NET_WATCH_MASK);
}

/* Reads what the watch saw; any change (or a lost watch) marks the configuration dirty. */
static void drain_watch(crio_net *n)
{
    if (n->ifd < 0) {
        n->dirty = true; /* no inotify: read the directory every time */
        return;
    }
    if (n->wd < 0) {
        watch_dir(n);
        if (n->wd >= 0)
            n->dirty = true; /* the directory appeared */
        return;
    }
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool rewatch = false;
    for (;;) {
        ssize_t len = read(n->ifd, buf, sizeof buf);
        if (len <= 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            /* Events of a watch replaced earlier (its IN_IGNORED) are stale, not changes. */
            if (ev->wd == n->wd || (ev->mask & IN_Q_OVERFLOW))
                n->dirty = true;
            /* The directory itself went (or was moved away): watch the path again. */
            if (ev->wd == n->wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)))
                rewatch = true;
            p += sizeof *ev + ev->len;
        }
    }
    if (rewatch) {
        watch_dir(n);
        n->dirty = true;
    }
}

/* Loads the directory into a new current configuration (lock held). */
static int reload(crio_net *n)
{
    struct net_conf *c = calloc(1, sizeof *c);
    if (!c)
        return crio_error_oom();
    c->refs = 1;
    int e = crio_cni_load(&c->cni, n->dir, (const char *const *)n->plugin_dirs, n->default_network);
    if (e < 0) {
        free(c);
        return e;
    }
    crio_cni_set_timeout(c->cni, n->timeout_ms);
    conf_put(n->cur);
    n->cur = c;
    n->dirty = false;
    return 0;
}

/* The configuration in force, with a reference the caller puts; NULL only on error. */
static struct net_conf *current(crio_net *n)
{
    pthread_mutex_lock(&n->lock);
    drain_watch(n);
    if ((n->dirty || !n->cur) && reload(n) < 0 && n->cur)
        crio_log_warn("CNI: reload of %s: %s (keeping the previous configuration)", n->dir,
                      crio_error_message(crio_error_last()));
    struct net_conf *c = n->cur;
    if (c)
        __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&n->lock);
    return c;
}

int crio_net_open(crio_net **out, const crio_net_settings *s)
{
    crio_net *n = calloc(1, sizeof *n);
    if (!n)
        return crio_error_oom();
    pthread_mutex_init(&n->lock, NULL);
    n->wd = -1;
    n->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (n->ifd < 0)
        crio_log_warn("CNI: inotify: %s; %s will be read at every use", strerror(errno), s->network_dir);
    int e = set_settings(n, s);
    if (e == 0) {
        watch_dir(n);
        e = reload(n);
    }
    if (e < 0) {
        crio_net_close(n);
        return e;
    }
    *out = n;
    return 0;
}

void crio_net_close(crio_net *n)
{
    if (!n)
        return;
    if (n->ifd >= 0)
        close(n->ifd);
    conf_put(n->cur);
    strv_free(n->plugin_dirs);
    free(n->dir);
    free(n->default_network);
    for (size_t i = 0; i < NET_MAX_CIDRS; i++)
        free(n->cidrs[i]);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

int crio_net_configure(crio_net *n, const crio_net_settings *s)
{
    pthread_mutex_lock(&n->lock);
    int e = set_settings(n, s);
    if (e == 0) {
        watch_dir(n);
        e = reload(n);
    }
    pthread_mutex_unlock(&n->lock);
    return e;
}

bool crio_net_ready(crio_net *n, char **why)
{
    _cleanup_(conf_putp) struct net_conf *c = current(n);
    if (!c) {
        if (why)
            *why = strdup(crio_error_message(crio_error_last()));
        return false;
    }
    return crio_cni_ready(c->cni, why);
}

/* ---- the pod CIDR ---- */

static bool valid_cidr(const char *s)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : 0;
    if (!slash || len == 0 || len >= sizeof addr)
        return false;
    memcpy(addr, s, len);
    addr[len] = '\0';
    unsigned char bin[16];
    int max = inet_pton(AF_INET, addr, bin) == 1 ? 32 : inet_pton(AF_INET6, addr, bin) == 1 ? 128 : -1;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    return max > 0 && slash[1] && !*end && bits >= 0 && bits <= max;
}

int crio_net_set_pod_cidr(crio_net *n, const char *cidrs)
{
    char *parsed[NET_MAX_CIDRS] = { 0 };
    size_t k = 0;
    _cleanup_free_ char *copy = strdup(cidrs ? cidrs : "");
    if (!copy)
        return crio_error_oom();
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int e = 0;
        if (k == NET_MAX_CIDRS)
            e = crio_error_set(CRIO_EINVAL, "pod CIDR: at most %d (one per IP family)", NET_MAX_CIDRS);
        else if (!valid_cidr(t))
            e = crio_error_set(CRIO_EINVAL, "pod CIDR: \"%s\" is not an address/prefix", t);
        else if (!(parsed[k++] = strdup(t)))
            e = crio_error_oom();
        if (e < 0) {
            for (size_t i = 0; i < k; i++)
                free(parsed[i]);
            return e;
        }
    }
    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < NET_MAX_CIDRS; i++) {
        free(n->cidrs[i]);
        n->cidrs[i] = parsed[i];
    }
    pthread_mutex_unlock(&n->lock);
    if (k)
        crio_log_info("CNI: pod CIDR %s", cidrs);
    return 0;
}

/* ---- runtimeConfig from the pod's config ---- */

static int add_port_mappings(cJSON *rt, const cJSON *config)
{
    static const char *const protocols[] = { "tcp", "udp", "sctp" };
    cJSON *arr = NULL;
    const cJSON *pm;
    cJSON_ArrayForEach(pm, cJSON_GetObjectItemCaseSensitive(config, "port_mappings")) {
        int64_t host = crio_json_int(pm, "host_port", 0), ctr = crio_json_int(pm, "container_port", 0);
        int64_t proto = crio_json_int(pm, "protocol", 0);
        if (host <= 0)
            continue; /* the kubelet lists every container port; only host ports are mapped */
        if (host > 65535 || ctr <= 0 || ctr > 65535 || proto < 0 || proto > 2)
            return crio_error_set(CRIO_EINVAL, "port mapping %lld -> %lld: port or protocol out of range",
                                  (long long)host, (long long)ctr);
        const char *host_ip = crio_json_string(pm, "host_ip");
        cJSON *m = cJSON_CreateObject();
        if (!m || (!arr && !(arr = cJSON_AddArrayToObject(rt, "portMappings"))) || !cJSON_AddItemToArray(arr, m)) {
            cJSON_Delete(m);
            return crio_error_oom();
        }
        if (!cJSON_AddNumberToObject(m, "hostPort", (double)host) ||
            !cJSON_AddNumberToObject(m, "containerPort", (double)ctr) ||
            !cJSON_AddStringToObject(m, "protocol", protocols[proto]) ||
            (host_ip && *host_ip && !cJSON_AddStringToObject(m, "hostIP", host_ip)))
            return crio_error_oom();
    }
    return 0;
}

/*
 * A Kubernetes quantity ("10M", "1.5Gi", "500k", "2e6") in bits per
 * second, bounded as the kubelet bounds it (1 kbit .. 1 Pbit).
 */
static int parse_bandwidth(double *out, const char *text, const char *what)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = { { "", 1 },           { "k", 1e3 },        { "M", 1e6 },        { "G", 1e9 },
                  { "T", 1e12 },       { "P", 1e15 },       { "E", 1e18 },       { "Ki", 1024.0 },
                  { "Mi", 1048576.0 }, { "Gi", 1073741824.0 }, { "Ti", 1099511627776.0 },
                  { "Pi", 1125899906842624.0 }, { "Ei", 1152921504606846976.0 }, { "m", 1e-3 } };
    char *end = NULL;
    errno = 0;
    double v = text && *text ? strtod(text, &end) : NAN;
    if (errno || !end || end == text || !isfinite(v) || *text == ' ')
        return crio_error_set(CRIO_EINVAL, "annotation %s: \"%s\" is not a quantity", what, text ? text : "");
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(units); i++)
        if (!strcmp(end, units[i].suffix)) {
            v *= units[i].mult;
            if (v < 1e3 || v > 1e15)
                return crio_error_set(CRIO_EINVAL, "annotation %s: %s is unreasonably %s (want 1k to 1P bits/s)",
                                      what, text, v < 1e3 ? "small" : "large");
            *out = (double)(int64_t)v; /* whole bits */
            return 0;
        }
    return crio_error_set(CRIO_EINVAL, "annotation %s: \"%s\" has an unknown unit", what, text);
}

static int add_bandwidth(cJSON *rt, const cJSON *config)
{
    static const struct {
        const char *annotation, *rate, *burst;
    } dirs[] = { { "kubernetes.io/ingress-bandwidth", "ingressRate", "ingressBurst" },
                 { "kubernetes.io/egress-bandwidth", "egressRate", "egressBurst" } };
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(config, "annotations");
    cJSON *bw = NULL;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(dirs); i++) {
        const char *v = crio_json_string(ann, dirs[i].annotation);
        if (!v)
            continue;
        double rate = 0;
        int e = parse_bandwidth(&rate, v, dirs[i].annotation);
        if (e < 0)
            return e;
        /* No burst limit of its own, as the kubelet's CNI users ask: the largest the plugin takes. */
        if ((!bw && !(bw = cJSON_AddObjectToObject(rt, "bandwidth"))) || !cJSON_AddNumberToObject(bw, dirs[i].rate, rate) ||
            !cJSON_AddNumberToObject(bw, dirs[i].burst, (double)UINT32_MAX))
            return crio_error_oom();
    }
    return 0;
}

static int add_dns(cJSON *rt, const cJSON *config)
{
    static const char *const keys[][2] = { { "servers", "servers" }, { "searches", "searches" }, { "options", "options" } };
    const cJSON *dns = cJSON_GetObjectItemCaseSensitive(config, "dns_config");
    cJSON *out = NULL;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(keys); i++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(dns, keys[i][0]);
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
            continue;
        cJSON *copy = cJSON_Duplicate(arr, true);
        if (!copy || (!out && !(out = cJSON_AddObjectToObject(rt, "dns"))) || !cJSON_AddItemToObject(out, keys[i][1], copy)) {
            cJSON_Delete(copy);
            return crio_error_oom();
        }
    }
    return 0;
}

/* ipRanges: one range set per CIDR, as host-local takes them (lock held). */
static int add_ip_ranges(cJSON *rt, crio_net *n)
{
    cJSON *sets = NULL;
    for (size_t i = 0; i < NET_MAX_CIDRS && n->cidrs[i]; i++) {
        cJSON *set = cJSON_CreateArray(), *range = cJSON_CreateObject();
        bool ok = set && range && cJSON_AddItemToArray(set, range);
        if (!ok)
            cJSON_Delete(range);
        if (!ok || (!sets && !(sets = cJSON_AddArrayToObject(rt, "ipRanges"))) || !cJSON_AddItemToArray(sets, set)) {
            cJSON_Delete(set);
            return crio_error_oom();
        }
        if (!cJSON_AddStringToObject(range, "subnet", n->cidrs[i]))
            return crio_error_oom();
    }
    return 0;
}

static int runtime_config(char **out, crio_net *n, const cJSON *config)
{
    _cleanup_json_ cJSON *rt = cJSON_CreateObject();
    if (!rt)
        return crio_error_oom();
    int e = add_port_mappings(rt, config);
    if (e == 0)
        e = add_bandwidth(rt, config);
    if (e == 0)
        e = add_dns(rt, config);
    if (e == 0) {
        pthread_mutex_lock(&n->lock);
        e = add_ip_ranges(rt, n);
        pthread_mutex_unlock(&n->lock);
    }
    if (e < 0)
        return e;
    return (*out = cJSON_PrintUnformatted(rt)) ? 0 : crio_error_oom();
}

/* ---- attach, detach, check ---- */

static crio_cni_attach attach_of(const crio_net_pod *pod, const char *rtconf)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod->config, "metadata");
    return (crio_cni_attach){ .container_id = pod->id,
                              .netns = pod->netns,
                              .ifname = "eth0",
                              .pod_namespace = crio_json_string(md, "namespace"),
                              .pod_name = crio_json_string(md, "name"),
                              .pod_uid = crio_json_string(md, "uid"),
                              .runtime_config = rtconf };
}

/* A record's members as text, for lib/network/cni (NULL where absent). */
struct record_text {
    char *config, *rtconf, *result;
};

static void record_text_clear(struct record_text *t)
{
    free(t->config);
    free(t->rtconf);
    free(t->result);
}

static int record_text(struct record_text *t, const cJSON *record)
{
    *t = (struct record_text){ 0 };
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(record, "config");
    const cJSON *rtconf = cJSON_GetObjectItemCaseSensitive(record, "runtimeConfig");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(record, "result");
    if (!cJSON_IsObject(config))
        return crio_error_set(CRIO_EDATALOSS, "network record: no configuration");
    if (!(t->config = cJSON_PrintUnformatted(config)) || (rtconf && !(t->rtconf = cJSON_PrintUnformatted(rtconf))) ||
        (result && !(t->result = cJSON_PrintUnformatted(result)))) {
        record_text_clear(t);
        return crio_error_oom();
    }
    return 0;
}

int crio_net_prepare(cJSON **record, crio_net *n, const crio_net_pod *pod)
{
    *record = NULL;
    _cleanup_(conf_putp) struct net_conf *c = current(n);
    if (!c)
        return crio_error_code(crio_error_last());
    _cleanup_free_ char *why = NULL, *rtconf = NULL, *config = NULL;
    if (!crio_cni_ready(c->cni, &why))
        return crio_error_set(CRIO_EBUSY, "network not ready: %s", why ? why : "no CNI network");
    int e = runtime_config(&rtconf, n, pod->config);
    if (e < 0)
        return e;
    if (!(config = crio_cni_config_json(c->cni)))
        return crio_error_oom();
    _cleanup_json_ cJSON *r = cJSON_CreateObject();
    cJSON *conf_obj = cJSON_Parse(config), *rt_obj = cJSON_Parse(rtconf);
    bool ok = r && conf_obj && rt_obj && cJSON_AddStringToObject(r, "network", crio_cni_network_name(c->cni)) &&
              cJSON_AddItemToObject(r, "config", conf_obj);
    if (!ok || !cJSON_AddItemToObject(r, "runtimeConfig", rt_obj)) {
        if (!ok)
            cJSON_Delete(conf_obj);
        cJSON_Delete(rt_obj);
        return crio_error_oom();
    }
    *record = TAKE_PTR(r);
    return 0;
}

int crio_net_attach(crio_net_attachment *out, crio_net *n, const crio_net_pod *pod, cJSON *record)
{
    *out = (crio_net_attachment){ 0 };
    _cleanup_(conf_putp) struct net_conf *c = current(n);
    if (!c)
        return crio_error_code(crio_error_last());
    _cleanup_(record_text_clear) struct record_text t;
    int e = record_text(&t, record);
    if (e < 0)
        return e;
    const char *network = crio_json_string(record, "network");
    crio_cni_attach a = attach_of(pod, t.rtconf);
    crio_cni_result *res = NULL;
    if ((e = crio_cni_add(&res, c->cni, &a, t.config)) < 0)
        return crio_error_wrap(e, "network %s", network ? network : "?");
    cJSON *result = cJSON_Parse(crio_cni_result_json(res));
    size_t k = crio_cni_result_ip_count(res);
    if (!result || !(out->ips = calloc(k + 1, sizeof *out->ips)) || !(out->network = strdup(network ? network : "")))
        e = crio_error_oom();
    for (size_t i = 0; e == 0 && i < k; i++)
        if (!(out->ips[out->n_ips++] = strdup(crio_cni_result_ip(res, i))))
            e = crio_error_oom();
    if (e == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(record, "result");
        if (!cJSON_AddItemToObject(record, "result", result))
            e = crio_error_oom();
        else
            result = NULL;
    }
    out->plugin_ns = crio_cni_result_plugin_ns(res);
    if (e < 0) {
        if (crio_cni_del(c->cni, &a, t.config, crio_cni_result_json(res)) < 0)
            crio_log_warn("pod %s: undo ADD: %s", pod->id, crio_error_message(crio_error_last()));
        crio_net_attachment_clear(out);
        e = crio_error_oom();
    }
    cJSON_Delete(result);
    crio_cni_result_free(res);
    return e;
}

/* Runs DEL, or CHECK (`check`), with what the record holds; plugin dirs and timeout are the current ones. */
static int run_recorded(crio_net *n, const crio_net_pod *pod, const cJSON *record, bool check)
{
    _cleanup_(conf_putp) struct net_conf *c = current(n);
    if (!c)
        return crio_error_code(crio_error_last());
    _cleanup_(record_text_clear) struct record_text t;
    int e = record_text(&t, record);
    if (e < 0)
        return e;
    crio_cni_attach a = attach_of(pod, t.rtconf);
    return check ? crio_cni_check(c->cni, &a, t.config, t.result) : crio_cni_del(c->cni, &a, t.config, t.result);
}

int crio_net_detach(crio_net *n, const crio_net_pod *pod, const cJSON *record)
{
    if (!record)
        return 0; /* never attached, or already detached */
    int e = run_recorded(n, pod, record, false);
    return e < 0 ? crio_error_wrap(e, "network DEL") : 0;
}

int crio_net_check(crio_net *n, const crio_net_pod *pod, const cJSON *record)
{
    if (!cJSON_GetObjectItemCaseSensitive(record, "result"))
        return crio_error_set(CRIO_ENOTFOUND, "network of pod %s: not attached", pod->id);
    return run_recorded(n, pod, record, true);
}
