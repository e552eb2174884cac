/* Pod sandboxes: run, stop, remove, status, list. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "config/config_internal.h"
#include "handle_internal.h"
#include "network/network.h"
#include "network/ns.h"
#include "pod/cgroup.h"
#include "pod/config.h"
#include "pod/pod_internal.h"
#include "spec/spec.h"
#include "pod/sandbox_files.h"
#include "runtime/runtime.h"

/* Configuration values read under the config lock (crio_reload may swap it). */
struct pod_settings {
    char *driver;
    char *shm_size;
};

static void settings_free(struct pod_settings *s)
{
    free(s->driver);
    free(s->shm_size);
}

static int settings_read(struct pod_settings *s, crio *c)
{
    pthread_rwlock_rdlock(&c->config_lock);
    s->driver = strdup(crio_config_str(c->cfg, "crio.runtime.cgroup_manager"));
    s->shm_size = strdup(crio_config_str(c->cfg, "crio.runtime.shm_size"));
    pthread_rwlock_unlock(&c->config_lock);
    return s->driver && s->shm_size ? 0 : crio_error_oom();
}

/* ---- run ---- */

static int pod_name(char **out, const cJSON *cfg)
{
    const char *name = crio_spec_cri_string(cfg, "metadata.name");
    if (!name || !*name)
        return crio_error_set(CRIO_EINVAL, "pod config: metadata.name is required");
    const char *ns = crio_spec_cri_string(cfg, "metadata.namespace"), *uid = crio_spec_cri_string(cfg, "metadata.uid");
    if (asprintf(out, "k8s_%s_%s_%s_%lld", name, ns ? ns : "", uid ? uid : "",
                 (long long)crio_spec_cri_int(cfg, "metadata.attempt", 0)) < 0)
        return crio_error_oom();
    return 0;
}

static void read_ns_modes(pod_rec *r)
{
    static const char *const keys[3] = { "linux.security_context.namespace_options.network",
                                         "linux.security_context.namespace_options.pid",
                                         "linux.security_context.namespace_options.ipc" };
    for (int i = 0; i < 3; i++)
        r->ns_mode[i] = (int)crio_spec_cri_int(r->config, keys[i], CRIO_NS_POD);
    /* A pod-level PID mode of CONTAINER is the usual default; TARGET makes no sense for a pod. */
    if (r->ns_mode[CRIO_NS_PID] == CRIO_NS_TARGET)
        r->ns_mode[CRIO_NS_PID] = CRIO_NS_CONTAINER;
}

/* The pod's hostname: the configured one, the host's for host network, else the pod name. */
static int pod_hostname(char **out, const pod_rec *r)
{
    const char *h = crio_spec_cri_string(r->config, "hostname");
    if (h && *h) {
        *out = strdup(h);
    } else if (r->ns_mode[CRIO_NS_NETWORK] == CRIO_NS_NODE) {
        char buf[256] = "";
        gethostname(buf, sizeof buf - 1);
        *out = strdup(buf);
    } else {
        const char *n = crio_spec_cri_string(r->config, "metadata.name");
        *out = strdup(n ? n : "localhost");
    }
    return *out ? 0 : crio_error_oom();
}

static int pod_cgroup(pod_rec *r, const char *driver)
{
    const char *parent = crio_spec_cri_string(r->config, "linux.cgroup_parent");
    if (parent && *parent) {
        /* The kubelet names the pod-level cgroup it made itself: containers go right under it. */
        r->cgroup = strdup(parent);
        if (!r->cgroup)
            return crio_error_oom();
    } else {
        int e = crio_cgroup_pod_path(&r->cgroup, driver, NULL, r->id);
        if (e < 0)
            return e;
    }
    if (strcmp(driver, "cgroupfs") != 0)
        return 0; /* systemd makes the slices when the runtime asks for them */
    _cleanup_free_ char *fs = NULL;
    int e = crio_cgroup_fs_path(&fs, r->cgroup);
    if (e < 0)
        return e;
    /* Only a cgroup we made is ours to remove: never the kubelet's. */
    _cleanup_free_ char *mem = crio_cgroup_memory_dir(fs);
    bool existed = mem && access(mem, F_OK) == 0;
    if ((e = crio_cgroup_create(fs)) == 0 && !existed)
        r->cgroup_fs = TAKE_PTR(fs);
    return e;
}

/* Where crio-pause is: beside the handler's crio-monitor. */
static int pause_path(char **out, crio *c, const char *handler)
{
    crio_runtime *rt = NULL;
    int e = crio_runtime_get(&rt, c, handler);
    if (e < 0)
        return e;
    _cleanup_free_ char *m = strdup(rt->monitor_path);
    crio_runtime_free(rt);
    if (!m || asprintf(out, "%s/crio-pause", dirname(m)) < 0)
        return crio_error_oom();
    free(m);
    m = strdup(*out);
    if (access(*out, X_OK) < 0) {
        int err = errno;
        free(*out);
        *out = NULL;
        return crio_error_sys(err, "pause program %s", m);
    }
    return 0;
}

/* The pod as lib/network sees it; `netns` is a PATH_MAX buffer. */
static crio_net_pod net_pod(crio_pods *p, const pod_rec *r, char *netns)
{
    _cleanup_free_ char *dir = pod_run_dir(p, r->id);
    snprintf(netns, PATH_MAX, "%s/net", dir ? dir : "");
    return (crio_net_pod){ .id = r->id, .netns = netns, .config = r->config };
}

/* CNI ADD on the pinned netns with the prepared record; the pod's IPs come from the result. */
static int pod_attach_network(crio_pods *p, pod_rec *r)
{
    char netns[PATH_MAX];
    crio_net_pod np = net_pod(p, r, netns);
    crio_net_attachment at;
    int e = crio_net_attach(&at, p->c->net, &np, r->cni);
    if (e < 0) {
        /* A failed ADD has already run its own DEL: nothing is left for the record to undo. */
        pthread_mutex_lock(&r->lock);
        cJSON_Delete(r->cni);
        r->cni = NULL;
        pthread_mutex_unlock(&r->lock);
        return e;
    }
    pthread_mutex_lock(&r->lock);
    r->ips = TAKE_PTR(at.ips);
    r->nips = at.n_ips;
    at.n_ips = 0;
    r->cni_ns = at.plugin_ns;
    pthread_mutex_unlock(&r->lock);
    crio_log_debug("pod %s: network %s, %zu IPs, plugins took %.1f ms", r->id, at.network, r->nips,
                   (double)r->cni_ns / 1e6);
    crio_net_attachment_clear(&at);
    return 0;
}

/* CNI DEL with the pod's record, which then goes (op lock held); no record: nothing to do. */
static int pod_detach_network(crio_pods *p, pod_rec *r)
{
    char netns[PATH_MAX];
    crio_net_pod np = net_pod(p, r, netns);
    int e = crio_net_detach(p->c->net, &np, r->cni);
    if (e < 0)
        return e;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nips; i++)
        free(r->ips[i]);
    free(r->ips);
    r->ips = NULL;
    r->nips = 0; /* released: another pod may get it now */
    cJSON_Delete(r->cni);
    r->cni = NULL;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Sets up everything a pod has; the record is registered and saved as "creating". */
static int pod_setup(crio_pods *p, pod_rec *r, const struct pod_settings *st)
{
    crio *c = p->c;
    _cleanup_free_ char *dir = pod_run_dir(p, r->id), *hostname = NULL;
    if (!dir)
        return crio_error_oom();
    int e = crio_fs_mkdir_p(dir, 0711);
    if (e == 0)
        e = pod_hostname(&hostname, r);
    int which = 0;
    if (r->ns_mode[CRIO_NS_NETWORK] != CRIO_NS_NODE)
        which |= CRIO_PIN_NET | CRIO_PIN_UTS; /* a host-network pod keeps the host's hostname too */
    if (r->ns_mode[CRIO_NS_IPC] != CRIO_NS_NODE)
        which |= CRIO_PIN_IPC;
    if (e == 0 && which)
        e = crio_ns_pin(dir, which, hostname);
    if (e == 0)
        e = crio_sandbox_write_files(dir, hostname, r->config);
    if (e == 0 && r->ns_mode[CRIO_NS_IPC] != CRIO_NS_NODE) {
        uint64_t size = 0;
        if ((e = crio_parse_size(&size, st->shm_size)) == 0)
            e = crio_sandbox_mount_shm(dir, size);
    }
    if (e == 0)
        e = pod_cgroup(r, st->driver);
    if (e == 0 && r->ns_mode[CRIO_NS_PID] == CRIO_NS_POD) {
        _cleanup_free_ char *pp = NULL;
        if ((e = pause_path(&pp, c, r->runtime_handler)) == 0)
            e = crio_sandbox_start_pause(&r->pause_pid, dir, pp, r->cgroup_fs);
    }
    /* Last, when the netns is complete: a plugin may look at it. */
    if (e == 0 && r->cni)
        e = pod_attach_network(p, r);
    return e;
}

int crio_pod_run(char **id_out, crio *c, const crio_pod_config *cfg, const char *runtime_handler)
{
    if (!id_out || !c || !cfg)
        return crio_error_set(CRIO_EINVAL, "run pod: NULL argument");
    crio_pods *p = c->pods;
    struct pod_settings st = { 0 };
    _cleanup_free_ char *name = NULL;
    const cJSON *tree = crio_pod_config_json_tree(cfg);
    int e = pod_name(&name, tree);
    if (e < 0)
        return e;
    crio_runtime *rt = NULL;
    if ((e = crio_runtime_get(&rt, c, runtime_handler)) < 0)
        return crio_error_wrap(e, "run pod %s", crio_spec_cri_string(tree, "metadata.name"));
    pod_rec *r = pod_rec_new();
    if (!r || (e = settings_read(&st, c)) < 0 || (e = crio_id_new(r->id)) < 0) {
        crio_runtime_free(rt);
        settings_free(&st);
        pod_put(r);
        return r ? e : crio_error_oom();
    }
    r->name = TAKE_PTR(name);
    r->config = cJSON_Duplicate(tree, true);
    r->runtime_handler = strdup(rt->name);
    crio_runtime_free(rt);
    r->created_at = crio_now_ns();
    r->creating = true;
    read_ns_modes(r);
    if (!r->config || !r->runtime_handler) {
        pod_put(r);
        settings_free(&st);
        return crio_error_oom();
    }
    if ((e = pods_reserve_name(p, r->name, r->id, "pod")) < 0) {
        pod_put(r);
        settings_free(&st);
        return e;
    }
    /* What its CNI ADD will use is recorded with it from the start: a crash during ADD can be undone. */
    if (r->ns_mode[CRIO_NS_NETWORK] != CRIO_NS_NODE) {
        crio_net_pod np = { .id = r->id, .config = r->config };
        e = crio_net_prepare(&r->cni, c->net, &np);
    }
    /* Built privately: the pod enters the tables complete. */
    if (e == 0)
        e = pod_save(p, r);
    if (e == 0)
        e = pod_setup(p, r, &st);
    if (e == 0) {
        r->creating = false;
        r->state = CRIO_POD_READY;
        e = pod_save(p, r);
    }
    if (e == 0 && !(*id_out = strdup(r->id)))
        e = crio_error_oom();
    if (e == 0 && (e = pods_add_pod(p, r)) < 0) {
        free(*id_out);
        *id_out = NULL;
    }
    settings_free(&st);
    if (e < 0) {
        _cleanup_free_ char *msg = strdup(crio_error_message(crio_error_last()));
        pod_release(p, r);
        pod_teardown(p, r);
        pods_release_name(p, r->name);
        int code = crio_error_set(e, "run pod %s: %s", crio_spec_cri_string(tree, "metadata.name"), msg ? msg : "");
        pod_put(r);
        return code;
    }
    crio_log_info("pod %s (%s) is ready", r->id, r->name);
    return 0;
}

/* ---- stop and remove ---- */

int pod_release(crio_pods *p, pod_rec *r)
{
    _cleanup_free_ char *dir = pod_run_dir(p, r->id);
    if (!dir)
        return crio_error_oom();
    int e = 0;
    bool keep_netns = false;
    /* Before the namespace goes, so that the plugins still find their interfaces in it. */
    if (r->cni && pod_detach_network(p, r) < 0) {
        crio_log_warn("pod %s: %s", r->id, crio_error_message(crio_error_last()));
        e = crio_error_code(crio_error_last());
        keep_netns = true; /* for the retry's DEL */
    }
    if (crio_sandbox_stop_pause(dir) < 0) {
        crio_log_warn("pod %s: stop pause: %s", r->id, crio_error_message(crio_error_last()));
        e = crio_error_code(crio_error_last());
    }
    pthread_mutex_lock(&r->lock);
    r->pause_pid = 0;
    pthread_mutex_unlock(&r->lock);
    if (crio_sandbox_unmount_shm(dir) < 0) {
        crio_log_warn("pod %s: %s", r->id, crio_error_message(crio_error_last()));
        e = crio_error_code(crio_error_last());
    }
    if (!keep_netns && crio_ns_unpin(dir) < 0) {
        crio_log_warn("pod %s: %s", r->id, crio_error_message(crio_error_last()));
        e = crio_error_code(crio_error_last());
    }
    return e;
}

/* Whether another pod's containers live in this pod's cgroup. */
static bool cgroup_shared(crio_pods *p, const pod_rec *r)
{
    pod_rec **v = NULL;
    size_t n = 0;
    bool shared = false;
    if (pods_all(p, &v, &n) < 0) {
        crio_error_clear();
        return true; /* when in doubt, leave it */
    }
    for (size_t i = 0; i < n && !shared; i++)
        if (v[i] != r) {
            pthread_mutex_lock(&v[i]->lock);
            shared = v[i]->cgroup && r->cgroup && strcmp(v[i]->cgroup, r->cgroup) == 0;
            pthread_mutex_unlock(&v[i]->lock);
        }
    pods_put_all(v, n);
    return shared;
}

int pod_teardown(crio_pods *p, pod_rec *r)
{
    int e = 0;
    /* A parent several pods were given (crictl users share one) goes with the last of them. */
    if (r->cgroup_fs && !cgroup_shared(p, r) && crio_cgroup_remove(r->cgroup_fs) < 0) {
        crio_log_warn("pod %s: %s", r->id, crio_error_message(crio_error_last()));
        e = crio_error_code(crio_error_last());
    }
    _cleanup_free_ char *run = pod_run_dir(p, r->id), *root = NULL;
    if (!run || asprintf(&root, "%s/%s", p->root_pods, r->id) < 0)
        return crio_error_oom();
    crio_fs_remove_tree(AT_FDCWD, run);
    /* state.json goes last: until then a crash leaves a record to finish the job with. */
    int e2 = crio_fs_remove_tree(AT_FDCWD, root);
    return e < 0 ? e : e2;
}

/* The kubelet's io.kubernetes.pod.terminationGracePeriod annotation, in seconds (0 when absent). */
static int64_t grace_period(const cJSON *config)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(config, "annotations"),
                                                      "io.kubernetes.pod.terminationGracePeriod");
    if (!cJSON_IsString(a))
        return 0;
    long long g = strtoll(a->valuestring, NULL, 10);
    return g > 0 && g < 3600 ? g : 0;
}

/* Stops the pod's containers and releases what a running pod holds; pod op held. */
static int pod_stop_locked(crio_pods *p, pod_rec *r)
{
    ctr_rec **v = NULL;
    size_t n = 0;
    int e = pods_ctrs_of(p, r->id, &v, &n);
    if (e < 0)
        return e;
    /*
     * The CRI asks for running containers to be forcibly stopped; the
     * grace period the kubelet gave the pod (an annotation on the pod or its
     * containers) is honoured where it is known.
     */
    int64_t grace = grace_period(r->config);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->lock);
        int64_t g = grace_period(v[i]->config);
        pthread_mutex_unlock(&v[i]->lock);
        if (g > grace)
            grace = g;
    }
    ctrs_stop(p, v, n, grace);
    ctrs_put_all(v, n);
    e = pod_release(p, r);
    pthread_mutex_lock(&r->lock);
    /* Saved even when already not ready: the network record may have gone. */
    r->state = CRIO_POD_NOTREADY;
    int e2 = pod_save(p, r);
    pthread_mutex_unlock(&r->lock);
    return e < 0 ? e : e2;
}

int crio_pod_stop(crio *c, const char *id)
{
    pod_rec *r;
    int e = pods_get_pod(c->pods, id, &r);
    if (e < 0)
        return e;
    pthread_mutex_lock(&r->op);
    e = pod_stop_locked(c->pods, r);
    pthread_mutex_unlock(&r->op);
    pod_put(r);
    return e < 0 ? crio_error_wrap(e, "stop pod %s", id) : 0;
}

int crio_pod_remove(crio *c, const char *id)
{
    crio_pods *p = c->pods;
    pod_rec *r;
    int e = pods_get_pod(p, id, &r);
    if (e == CRIO_ENOTFOUND) {
        crio_error_clear();
        return 0;
    }
    if (e < 0)
        return e;
    pthread_mutex_lock(&r->op);
    ctr_rec **v = NULL;
    size_t n = 0;
    if ((e = pods_ctrs_of(p, r->id, &v, &n)) == 0) {
        ctrs_stop(p, v, n, 0);
        for (size_t i = 0; i < n && e == 0; i++)
            e = ctr_remove(p, v[i]);
        ctrs_put_all(v, n);
    }
    if (e == 0)
        e = pod_release(p, r);
    if (e == 0)
        e = pod_teardown(p, r);
    if (e == 0)
        pods_del_pod(p, r);
    pthread_mutex_unlock(&r->op);
    pod_put(r);
    return e < 0 ? crio_error_wrap(e, "remove pod %s", id) : 0;
}

/* ---- status ---- */

/* What never changes after the pod is made, shared by its snapshots (see ctr_fixed). */
struct pod_fixed {
    int refs;
    char *name, *uid, *namespace_, *handler, *netns, *config_json;
    uint32_t attempt;
    char **labels, **annotations; /* key, value, key, value ... */
    size_t nlabels, nannotations;
};

struct crio_pod {
    pod_fixed *f;
    char id[CRIO_ID_LEN + 1];
    char *info_json;
    crio_pod_state state;
    bool ready;
    int64_t created_at;
    int ns_mode[3];
    char **ips;
    size_t nips;
};

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void pod_fixed_put(pod_fixed *f)
{
    if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    char *strs[] = { f->name, f->uid, f->namespace_, f->handler, f->netns, f->config_json };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(strs); i++)
        free(strs[i]);
    strv_free(f->labels, f->nlabels * 2);
    strv_free(f->annotations, f->nannotations * 2);
    free(f);
}

void crio_pod_free(crio_pod *s)
{
    if (!s)
        return;
    pod_fixed_put(s->f);
    free(s->info_json);
    strv_free(s->ips, s->nips);
    free(s);
}

/* Copies a JSON object of strings into key/value pairs. */
int crio_map_pairs(char ***out, size_t *n, const cJSON *obj)
{
    size_t cnt = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) if (cJSON_IsString(it)) cnt++;
    char **v = calloc(cnt * 2 + 1, sizeof *v);
    if (!v)
        return crio_error_oom();
    size_t k = 0;
    cJSON_ArrayForEach(it, obj) {
        if (!cJSON_IsString(it))
            continue;
        v[k] = strdup(it->string);
        v[k + 1] = strdup(it->valuestring);
        if (!v[k] || !v[k + 1]) {
            strv_free(v, k + 2);
            return crio_error_oom();
        }
        k += 2;
    }
    *out = v;
    *n = cnt;
    return 0;
}

static char *dupz(const char *s) { return strdup(s ? s : ""); }

/* Builds the record's fixed part on first use (field lock held). */
static pod_fixed *pod_fixed_get(crio_pods *p, pod_rec *r)
{
    if (r->fixed) {
        __atomic_add_fetch(&r->fixed->refs, 1, __ATOMIC_ACQ_REL);
        return r->fixed;
    }
    pod_fixed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->refs = 1;
    f->name = dupz(crio_spec_cri_string(r->config, "metadata.name"));
    f->uid = dupz(crio_spec_cri_string(r->config, "metadata.uid"));
    f->namespace_ = dupz(crio_spec_cri_string(r->config, "metadata.namespace"));
    f->attempt = (uint32_t)crio_spec_cri_int(r->config, "metadata.attempt", 0);
    f->handler = dupz(r->runtime_handler);
    if (r->ns_mode[CRIO_NS_NETWORK] == CRIO_NS_NODE || asprintf(&f->netns, "%s/%s/net", p->run_pods, r->id) < 0)
        f->netns = strdup("");
    f->config_json = cJSON_PrintUnformatted(r->config);
    if (!f->name || !f->uid || !f->namespace_ || !f->handler || !f->netns || !f->config_json ||
        crio_map_pairs(&f->labels, &f->nlabels, crio_spec_cri_get(r->config, "labels")) < 0 ||
        crio_map_pairs(&f->annotations, &f->nannotations, crio_spec_cri_get(r->config, "annotations")) < 0) {
        pod_fixed_put(f);
        return NULL;
    }
    r->fixed = f;
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
    return f;
}

/* The "cni" member of the verbose info: network, ADD's plugin time, and CHECK's verdict. */
static bool add_cni_info(cJSON *info, const pod_rec *r, const char *check)
{
    if (!r->cni)
        return true;
    cJSON *cni = cJSON_AddObjectToObject(info, "cni");
    return cni && crio_json_add_string(cni, "network", crio_json_string(r->cni, "network")) &&
           (!r->cni_ns || cJSON_AddNumberToObject(cni, "add_ms", (double)r->cni_ns / 1e6)) &&
           crio_json_add_string(cni, "check", check);
}

static char *pod_info(const pod_rec *r, const char *netns, const char *check)
{
    cJSON *info = cJSON_CreateObject();
    if (!info)
        return NULL;
    cJSON_AddNumberToObject(info, "pause_pid", r->pause_pid);
    crio_json_add_string(info, "cgroup_parent", r->cgroup);
    crio_json_add_string(info, "runtime_handler", r->runtime_handler);
    crio_json_add_string(info, "netns", netns);
    if (!add_cni_info(info, r, check)) {
        cJSON_Delete(info);
        return NULL;
    }
    char *s = cJSON_PrintUnformatted(info);
    cJSON_Delete(info);
    return s;
}

/* A snapshot of the record (field lock held); `verbose` adds the info JSON (with `check`, CHECK's verdict). */
static int pod_snapshot(crio_pod **out, crio_pods *p, pod_rec *r, bool verbose, const char *check)
{
    crio_pod *s = calloc(1, sizeof *s);
    if (!s)
        return crio_error_oom();
    s->f = pod_fixed_get(p, r);
    memcpy(s->id, r->id, sizeof s->id);
    s->state = r->creating ? CRIO_POD_NOTREADY : r->state;
    s->ready = s->state == CRIO_POD_READY;
    s->created_at = r->created_at;
    memcpy(s->ns_mode, r->ns_mode, sizeof s->ns_mode);
    s->ips = r->nips ? calloc(r->nips, sizeof *s->ips) : NULL;
    for (size_t i = 0; s->ips && i < r->nips; i++)
        if ((s->ips[s->nips] = strdup(r->ips[i])))
            s->nips++;
    if (verbose && s->f)
        s->info_json = pod_info(r, s->ready ? s->f->netns : "", check);
    if (!s->f || (r->nips && !s->ips) || (verbose && !s->info_json)) {
        crio_pod_free(s);
        return crio_error_oom();
    }
    *out = s;
    return 0;
}

int crio_pod_get(crio_pod **out, crio *c, const char *id)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "pod status: NULL argument");
    pod_rec *r;
    int e = pods_get_pod(c->pods, id, &r);
    if (e < 0)
        return e;
    pthread_mutex_lock(&r->lock);
    bool attached = r->cni && !r->creating && r->state == CRIO_POD_READY;
    _cleanup_json_ cJSON *record = attached ? cJSON_Duplicate(r->cni, true) : NULL;
    pthread_mutex_unlock(&r->lock);
    /* CHECK runs plugins: outside the field lock (on a copy), so a list is never held up by it. */
    _cleanup_free_ char *check = NULL;
    if (attached) {
        char netns[PATH_MAX];
        crio_net_pod np = net_pod(c->pods, r, netns);
        int ce = record ? crio_net_check(c->net, &np, record) : crio_error_oom();
        check = strdup(ce == 0 ? "ok" : ce == CRIO_ENOTSUP ? "unsupported" : crio_error_message(crio_error_last()));
        crio_error_clear();
    }
    pthread_mutex_lock(&r->lock);
    e = pod_snapshot(out, c->pods, r, true, check);
    pthread_mutex_unlock(&r->lock);
    pod_put(r);
    return e;
}

const char *crio_pod_id(const crio_pod *s) { return s->id; }
const char *crio_pod_name(const crio_pod *s) { return s->f->name; }
const char *crio_pod_uid(const crio_pod *s) { return s->f->uid; }
const char *crio_pod_namespace(const crio_pod *s) { return s->f->namespace_; }
uint32_t crio_pod_attempt(const crio_pod *s) { return s->f->attempt; }
crio_pod_state crio_pod_state_get(const crio_pod *s) { return s->state; }
int64_t crio_pod_created_at(const crio_pod *s) { return s->created_at; }
const char *crio_pod_runtime_handler(const crio_pod *s) { return s->f->handler; }
size_t crio_pod_label_count(const crio_pod *s) { return s->f->nlabels; }
const char *crio_pod_label_key(const crio_pod *s, size_t i)
{
    return i < s->f->nlabels ? s->f->labels[2 * i] : NULL;
}
const char *crio_pod_label_value(const crio_pod *s, size_t i)
{
    return i < s->f->nlabels ? s->f->labels[2 * i + 1] : NULL;
}
size_t crio_pod_annotation_count(const crio_pod *s) { return s->f->nannotations; }
const char *crio_pod_annotation_key(const crio_pod *s, size_t i)
{
    return i < s->f->nannotations ? s->f->annotations[2 * i] : NULL;
}
const char *crio_pod_annotation_value(const crio_pod *s, size_t i)
{
    return i < s->f->nannotations ? s->f->annotations[2 * i + 1] : NULL;
}
crio_ns_mode crio_pod_namespace_mode(const crio_pod *s, crio_ns_kind kind)
{
    return (unsigned)kind < 3 ? (crio_ns_mode)s->ns_mode[kind] : CRIO_NS_POD;
}
const char *crio_pod_netns_path(const crio_pod *s) { return s->ready ? s->f->netns : ""; }
size_t crio_pod_ip_count(const crio_pod *s) { return s->nips; }
const char *crio_pod_ip(const crio_pod *s, size_t i) { return i < s->nips ? s->ips[i] : NULL; }
const char *crio_pod_config_json(const crio_pod *s) { return s->f->config_json; }
const char *crio_pod_info_json(const crio_pod *s) { return s->info_json ? s->info_json : "{}"; }

/* ---- listing ---- */

struct crio_pod_filter {
    char *id;
    int state; /* -1: any */
    char **labels;
    size_t nlabels;
};

int crio_pod_filter_new(crio_pod_filter **out)
{
    crio_pod_filter *f = calloc(1, sizeof *f);
    if (!f)
        return crio_error_oom();
    f->state = -1;
    *out = f;
    return 0;
}

void crio_pod_filter_free(crio_pod_filter *f)
{
    if (!f)
        return;
    free(f->id);
    strv_free(f->labels, f->nlabels * 2);
    free(f);
}

int crio_pod_filter_set_id(crio_pod_filter *f, const char *id)
{
    free(f->id);
    f->id = id && *id ? strdup(id) : NULL;
    return !id || !*id || f->id ? 0 : crio_error_oom();
}

int crio_pod_filter_set_state(crio_pod_filter *f, crio_pod_state state)
{
    if (state != CRIO_POD_READY && state != CRIO_POD_NOTREADY)
        return crio_error_set(CRIO_EINVAL, "pod filter: state %d", (int)state);
    f->state = state;
    return 0;
}

int crio_labels_add(char ***v, size_t *n, const char *key, const char *value)
{
    if (!key || !value)
        return crio_error_set(CRIO_EINVAL, "filter: NULL label");
    char **nv = realloc(*v, (*n + 1) * 2 * sizeof *nv);
    if (!nv)
        return crio_error_oom();
    *v = nv;
    nv[*n * 2] = strdup(key);
    nv[*n * 2 + 1] = strdup(value);
    (*n)++;
    return nv[*n * 2 - 2] && nv[*n * 2 - 1] ? 0 : crio_error_oom();
}

int crio_pod_filter_add_label(crio_pod_filter *f, const char *key, const char *value)
{
    return crio_labels_add(&f->labels, &f->nlabels, key, value);
}

bool crio_labels_match(const cJSON *labels, char **want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, want[2 * i]);
        if (!cJSON_IsString(v) || strcmp(v->valuestring, want[2 * i + 1]) != 0)
            return false;
    }
    return true;
}

static bool pod_matches(const pod_rec *r, const crio_pod_filter *f)
{
    if (!f)
        return true;
    if (f->id && strncmp(r->id, f->id, strlen(f->id)) != 0)
        return false;
    crio_pod_state st = r->creating ? CRIO_POD_NOTREADY : r->state;
    if (f->state >= 0 && (int)st != f->state)
        return false;
    return crio_labels_match(crio_spec_cri_get(r->config, "labels"), f->labels, f->nlabels);
}

struct crio_pod_list {
    crio_pod **items;
    size_t n;
};

static int by_created(const void *a, const void *b)
{
    int64_t x = (*(crio_pod *const *)a)->created_at, y = (*(crio_pod *const *)b)->created_at;
    return x < y ? -1 : x > y;
}

int crio_pod_list_get(crio_pod_list **out, crio *c, const crio_pod_filter *filter)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "list pods: NULL argument");
    pod_rec **v = NULL;
    size_t n = 0;
    int e = pods_all(c->pods, &v, &n);
    if (e < 0)
        return e;
    crio_pod_list *l = calloc(1, sizeof *l);
    if (l)
        l->items = calloc(n + 1, sizeof *l->items);
    if (!l || !l->items)
        e = crio_error_oom();
    for (size_t i = 0; e == 0 && i < n; i++) {
        pthread_mutex_lock(&v[i]->lock);
        if (pod_matches(v[i], filter) && (e = pod_snapshot(&l->items[l->n], c->pods, v[i], false, NULL)) == 0)
            l->n++;
        pthread_mutex_unlock(&v[i]->lock);
    }
    pods_put_all(v, n);
    if (e < 0) {
        crio_pod_list_free(l);
        return e;
    }
    qsort(l->items, l->n, sizeof *l->items, by_created);
    *out = l;
    return 0;
}

size_t crio_pod_list_count(const crio_pod_list *l) { return l ? l->n : 0; }
const crio_pod *crio_pod_list_at(const crio_pod_list *l, size_t i) { return l && i < l->n ? l->items[i] : NULL; }

void crio_pod_list_free(crio_pod_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        crio_pod_free(l->items[i]);
    free(l->items);
    free(l);
}
