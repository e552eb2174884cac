/* The registry of pods and containers: tables, names, persistence, recovery, exits, events. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "network/ns.h"
#include "handle_internal.h"
#include "pod/pod_internal.h"
#include "spec/spec.h"
#include "runtime/monitor.h"
#include "runtime/runtime.h"

#define STATE_MAX (4 * 1024 * 1024)

int64_t crio_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t crio_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- records ---- */

pod_rec *pod_rec_new(void)
{
    pod_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->op, NULL);
    pthread_mutex_init(&r->lock, NULL);
    r->refs = 1;
    r->state = CRIO_POD_NOTREADY;
    return r;
}

ctr_rec *ctr_rec_new(void)
{
    ctr_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->op, NULL);
    pthread_mutex_init(&r->lock, NULL);
    r->refs = 1;
    r->state = CRIO_CONTAINER_UNKNOWN;
    return r;
}

static void pod_rec_free(pod_rec *r)
{
    free(r->name);
    cJSON_Delete(r->config);
    free(r->runtime_handler);
    free(r->cgroup);
    free(r->cgroup_fs);
    for (size_t i = 0; i < r->nips; i++)
        free(r->ips[i]);
    free(r->ips);
    cJSON_Delete(r->cni);
    pod_fixed_put(r->fixed);
    pthread_mutex_destroy(&r->op);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void ctr_rec_free(ctr_rec *r)
{
    free(r->name);
    cJSON_Delete(r->config);
    free(r->image);
    free(r->image_id);
    free(r->image_ref);
    free(r->log_path);
    free(r->runtime_handler);
    free(r->cgroups_path);
    free(r->reason);
    free(r->message);
    ctr_fixed_put(r->fixed);
    pthread_mutex_destroy(&r->op);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void pod_put(pod_rec *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
        pod_rec_free(r);
}

void ctr_put(ctr_rec *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
        ctr_rec_free(r);
}

static void pod_ref(pod_rec *r) { __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL); }
static void ctr_ref(ctr_rec *r) { __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL); }

/* ---- tables ---- */

static int lookup_index(size_t *idx, const char *prefix, const char *const *ids, size_t n, const char *what)
{
    const char *m = NULL;
    int e = crio_id_lookup_prefix(&m, prefix, ids, n);
    if (e == CRIO_ENOTFOUND)
        return crio_error_set(CRIO_ENOTFOUND, "%s %s not found", what, prefix);
    if (e < 0)
        return crio_error_wrap(e, "%s %s", what, prefix);
    for (size_t i = 0; i < n; i++)
        if (ids[i] == m) {
            *idx = i;
            return 0;
        }
    return crio_error_set(CRIO_EINTERNAL, "%s %s: lookup", what, prefix);
}

/*
 * Finds a record by id or unique prefix in a table of pod_rec or ctr_rec
 * pointers; both begin with their id, which a pointer to the record is a
 * pointer to.  Registry lock held.
 */
static int find_rec(size_t *idx, void *const *recs, size_t n, const char *id, const char *what)
{
    if (!id || !*id)
        return crio_error_set(CRIO_EINVAL, "no %s id given", what);
    const char **ids = malloc((n + 1) * sizeof *ids);
    if (!ids)
        return crio_error_oom();
    for (size_t i = 0; i < n; i++)
        ids[i] = (const char *)recs[i];
    int e = lookup_index(idx, id, ids, n, what);
    free(ids);
    return e;
}

int pods_get_pod(crio_pods *p, const char *id, pod_rec **out)
{
    size_t idx = 0;
    pthread_rwlock_rdlock(&p->lock);
    int e = find_rec(&idx, (void *const *)p->pods, p->npods, id, "pod");
    if (e == 0) {
        *out = p->pods[idx];
        pod_ref(*out);
    }
    pthread_rwlock_unlock(&p->lock);
    return e;
}

int pods_get_ctr(crio_pods *p, const char *id, ctr_rec **out)
{
    size_t idx = 0;
    pthread_rwlock_rdlock(&p->lock);
    int e = find_rec(&idx, (void *const *)p->ctrs, p->nctrs, id, "container");
    if (e == 0) {
        *out = p->ctrs[idx];
        ctr_ref(*out);
    }
    pthread_rwlock_unlock(&p->lock);
    return e;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * size);
    if (!nv)
        return crio_error_oom();
    *v = nv;
    *cap = nc;
    return 0;
}

struct reserved_name {
    char *name;
    char id[CRIO_ID_LEN + 1];
    const char *what;
};

int pods_reserve_name(crio_pods *p, const char *name, const char *id, const char *what)
{
    pthread_rwlock_wrlock(&p->lock);
    int e = 0;
    for (size_t i = 0; i < p->nnames && e == 0; i++)
        if (strcmp(p->names[i].name, name) == 0)
            e = crio_error_set(CRIO_EEXISTS, "%s name \"%s\" is reserved by %s %s", what, name, p->names[i].what,
                               p->names[i].id);
    if (e == 0)
        e = grow((void **)&p->names, &p->cap_names, p->nnames, sizeof *p->names);
    char *copy = e == 0 ? strdup(name) : NULL;
    if (e == 0 && !copy)
        e = crio_error_oom();
    if (e == 0) {
        struct reserved_name *rn = &p->names[p->nnames++];
        rn->name = copy;
        snprintf(rn->id, sizeof rn->id, "%s", id);
        rn->what = what;
    }
    pthread_rwlock_unlock(&p->lock);
    return e;
}

/* Registry lock held. */
static void release_name_locked(crio_pods *p, const char *name)
{
    for (size_t i = 0; name && i < p->nnames; i++)
        if (strcmp(p->names[i].name, name) == 0) {
            free(p->names[i].name);
            p->names[i] = p->names[--p->nnames];
            return;
        }
}

void pods_release_name(crio_pods *p, const char *name)
{
    pthread_rwlock_wrlock(&p->lock);
    release_name_locked(p, name);
    pthread_rwlock_unlock(&p->lock);
}

int pods_add_pod(crio_pods *p, pod_rec *r)
{
    pthread_rwlock_wrlock(&p->lock);
    int e = grow((void **)&p->pods, &p->cap_pods, p->npods, sizeof *p->pods);
    if (e == 0)
        p->pods[p->npods++] = r;
    pthread_rwlock_unlock(&p->lock);
    return e;
}

int pods_add_ctr(crio_pods *p, ctr_rec *r)
{
    pthread_rwlock_wrlock(&p->lock);
    int e = grow((void **)&p->ctrs, &p->cap_ctrs, p->nctrs, sizeof *p->ctrs);
    if (e == 0)
        p->ctrs[p->nctrs++] = r;
    pthread_rwlock_unlock(&p->lock);
    return e;
}

int pods_making_add(crio_pods *p, ctr_rec *r)
{
    pthread_rwlock_wrlock(&p->lock);
    int e = grow((void **)&p->making, &p->cap_making, p->nmaking, sizeof *p->making);
    if (e == 0)
        p->making[p->nmaking++] = r;
    pthread_rwlock_unlock(&p->lock);
    return e;
}

void pods_making_del(crio_pods *p, ctr_rec *r)
{
    pthread_rwlock_wrlock(&p->lock);
    for (size_t i = 0; i < p->nmaking; i++)
        if (p->making[i] == r) {
            p->making[i] = p->making[--p->nmaking];
            break;
        }
    pthread_rwlock_unlock(&p->lock);
}

void pods_del_pod(crio_pods *p, pod_rec *r)
{
    bool found = false;
    pthread_rwlock_wrlock(&p->lock);
    for (size_t i = 0; i < p->npods; i++)
        if (p->pods[i] == r) {
            memmove(&p->pods[i], &p->pods[i + 1], (p->npods - i - 1) * sizeof *p->pods);
            p->npods--;
            release_name_locked(p, r->name);
            found = true;
            break;
        }
    pthread_rwlock_unlock(&p->lock);
    if (found)
        pod_put(r);
}

void pods_del_ctr(crio_pods *p, ctr_rec *r)
{
    bool found = false;
    pthread_rwlock_wrlock(&p->lock);
    for (size_t i = 0; i < p->nctrs; i++)
        if (p->ctrs[i] == r) {
            memmove(&p->ctrs[i], &p->ctrs[i + 1], (p->nctrs - i - 1) * sizeof *p->ctrs);
            p->nctrs--;
            release_name_locked(p, r->name);
            found = true;
            break;
        }
    pthread_rwlock_unlock(&p->lock);
    if (found)
        ctr_put(r);
}

int pods_ctrs_of(crio_pods *p, const char *pod_id, ctr_rec ***out, size_t *n)
{
    pthread_rwlock_rdlock(&p->lock);
    ctr_rec **v = malloc((p->nctrs + 1) * sizeof *v);
    size_t k = 0;
    if (v)
        for (size_t i = 0; i < p->nctrs; i++)
            if (!pod_id || strcmp(p->ctrs[i]->pod_id, pod_id) == 0) {
                ctr_ref(p->ctrs[i]);
                v[k++] = p->ctrs[i];
            }
    pthread_rwlock_unlock(&p->lock);
    if (!v)
        return crio_error_oom();
    *out = v;
    *n = k;
    return 0;
}

void ctrs_put_all(ctr_rec **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ctr_put(v[i]);
    free(v);
}

int pods_all(crio_pods *p, pod_rec ***out, size_t *n)
{
    pthread_rwlock_rdlock(&p->lock);
    pod_rec **v = malloc((p->npods + 1) * sizeof *v);
    if (v)
        for (size_t i = 0; i < p->npods; i++) {
            pod_ref(p->pods[i]);
            v[i] = p->pods[i];
        }
    *n = p->npods;
    pthread_rwlock_unlock(&p->lock);
    if (!v)
        return crio_error_oom();
    *out = v;
    return 0;
}

void pods_put_all(pod_rec **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pod_put(v[i]);
    free(v);
}

bool crio_pods_image_in_use(struct crio *c, const char *image_id, char **who)
{
    crio_pods *p = c->pods;
    if (!p)
        return false;
    bool used = false;
    pthread_rwlock_rdlock(&p->lock);
    for (size_t i = 0; i < p->nctrs + p->nmaking && !used; i++) {
        bool making = i >= p->nctrs;
        ctr_rec *r = making ? p->making[i - p->nctrs] : p->ctrs[i];
        if (r->image_id && strcmp(r->image_id, image_id) == 0) {
            used = true;
            if (who && asprintf(who, "container %s (%s)%s", r->id, r->name ? r->name : "",
                                making ? ", being created" : "") < 0)
                *who = NULL;
        }
    }
    pthread_rwlock_unlock(&p->lock);
    return used;
}

/* ---- paths ---- */

static char *path2(const char *a, const char *b)
{
    char *s;
    return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

char *pod_run_dir(crio_pods *p, const char *id) { return path2(p->run_pods, id); }
char *ctr_run_dir(crio_pods *p, const char *id) { return path2(p->run_ctrs, id); }
char *ctr_root_dir(crio_pods *p, const char *id) { return path2(p->root_ctrs, id); }
char *ctr_exit_file(crio_pods *p, const char *id) { return path2(p->exits, id); }

/* ---- persistence ---- */

/*
 * Nanosecond times are strings in state files: a JSON number goes through a
 * double, which at 1.8e18 keeps only multiples of 256 ns, and status must
 * read the same before and after a restart.
 */
static void add_time(cJSON *j, const char *key, int64_t ns)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)ns);
    cJSON_AddStringToObject(j, key, buf);
}

static int64_t get_time(const cJSON *j, const char *key)
{
    const char *s = crio_json_string(j, key);
    return s ? strtoll(s, NULL, 10) : crio_json_int(j, key, 0);
}

/* An integer member read from the JSON text itself, exactly (cJSON's numbers are doubles). */
static bool json_text_i64(const char *text, const char *key, int64_t *out)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *at = strstr(text, pat);
    if (!at)
        return false;
    at += strlen(pat);
    at += strspn(at, " \t\r\n");
    if (*at++ != ':')
        return false;
    at += strspn(at, " \t\r\n");
    char *end;
    errno = 0;
    long long v = strtoll(at, &end, 10);
    if (end == at || errno)
        return false;
    *out = v;
    return true;
}

static const char *pod_state_name(const pod_rec *r)
{
    return r->creating ? "creating" : r->state == CRIO_POD_READY ? "ready" : "notready";
}

static cJSON *strv_json(char **v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/*
 * The record of an object still being made need not survive a power loss:
 * after a reboot nothing it could describe exists, and a start removes a
 * directory without a record.  Every later state is durable.
 */
static int save_json(const char *dir_root, const char *id, cJSON *j, bool creating)
{
    _cleanup_free_ char *dir = path2(dir_root, id), *file = NULL;
    if (!dir || asprintf(&file, "%s/state.json", dir) < 0)
        return crio_error_oom();
    int e = crio_fs_mkdir_p(dir, 0700);
    if (e == 0)
        e = creating ? crio_json_write_file_volatile(file, j, 0600) : crio_json_write_file(file, j, 0600);
    return e;
}

int pod_save(crio_pods *p, const pod_rec *r)
{
    _cleanup_json_ cJSON *j = cJSON_CreateObject();
    if (!j)
        return crio_error_oom();
    crio_json_add_string(j, "id", r->id);
    crio_json_add_string(j, "name", r->name);
    crio_json_add_string(j, "state", pod_state_name(r));
    crio_json_add_string(j, "runtime_handler", r->runtime_handler);
    add_time(j, "created_at", r->created_at);
    cJSON *modes = cJSON_AddArrayToObject(j, "ns_mode");
    for (int i = 0; modes && i < 3; i++)
        cJSON_AddItemToArray(modes, cJSON_CreateNumber(r->ns_mode[i]));
    crio_json_add_string(j, "cgroup", r->cgroup);
    crio_json_add_string(j, "cgroup_fs", r->cgroup_fs);
    cJSON_AddNumberToObject(j, "pause_pid", r->pause_pid);
    cJSON_AddItemToObject(j, "ips", strv_json(r->ips, r->nips));
    if (r->cni)
        cJSON_AddItemToObject(j, "cni", cJSON_Duplicate(r->cni, true));
    cJSON_AddItemToObject(j, "config", cJSON_Duplicate(r->config, true));
    return save_json(p->root_pods, r->id, j, r->creating);
}

static const char *ctr_state_name(const ctr_rec *r)
{
    if (r->creating)
        return "creating";
    switch (r->state) {
    case CRIO_CONTAINER_CREATED: return "created";
    case CRIO_CONTAINER_RUNNING: return "running";
    case CRIO_CONTAINER_EXITED: return "exited";
    default: return "unknown";
    }
}

int ctr_save(crio_pods *p, const ctr_rec *r)
{
    _cleanup_json_ cJSON *j = cJSON_CreateObject();
    if (!j)
        return crio_error_oom();
    crio_json_add_string(j, "id", r->id);
    crio_json_add_string(j, "pod_id", r->pod_id);
    crio_json_add_string(j, "name", r->name);
    crio_json_add_string(j, "state", ctr_state_name(r));
    crio_json_add_string(j, "image", r->image);
    crio_json_add_string(j, "image_id", r->image_id);
    crio_json_add_string(j, "image_ref", r->image_ref);
    crio_json_add_string(j, "log_path", r->log_path);
    crio_json_add_string(j, "runtime_handler", r->runtime_handler);
    crio_json_add_string(j, "cgroups_path", r->cgroups_path);
    cJSON_AddNumberToObject(j, "stop_signal", r->stop_signal);
    add_time(j, "created_at", r->created_at);
    add_time(j, "started_at", r->started_at);
    add_time(j, "finished_at", r->finished_at);
    cJSON_AddNumberToObject(j, "exit_code", r->exit_code);
    crio_json_add_string(j, "reason", r->reason);
    crio_json_add_string(j, "message", r->message);
    cJSON_AddNumberToObject(j, "pid", r->pid);
    cJSON_AddNumberToObject(j, "monitor_pid", r->monitor_pid);
    cJSON_AddItemToObject(j, "config", cJSON_Duplicate(r->config, true));
    return save_json(p->root_ctrs, r->id, j, r->creating);
}

static char *dup_str(const cJSON *j, const char *key)
{
    const char *s = crio_json_string(j, key);
    return s ? strdup(s) : NULL;
}

static pod_rec *pod_load(const cJSON *j)
{
    pod_rec *r = pod_rec_new();
    const char *id = crio_json_string(j, "id");
    const char *st = crio_json_string(j, "state");
    if (!r || !id || !crio_id_valid(id) || !st) {
        if (r)
            pod_put(r);
        return NULL;
    }
    snprintf(r->id, sizeof r->id, "%s", id);
    r->name = dup_str(j, "name");
    r->runtime_handler = dup_str(j, "runtime_handler");
    r->created_at = get_time(j, "created_at");
    r->creating = strcmp(st, "creating") == 0;
    r->state = strcmp(st, "ready") == 0 ? CRIO_POD_READY : CRIO_POD_NOTREADY;
    const cJSON *modes = cJSON_GetObjectItemCaseSensitive(j, "ns_mode");
    for (int i = 0; i < 3; i++) {
        const cJSON *m = cJSON_GetArrayItem(modes, i);
        r->ns_mode[i] = cJSON_IsNumber(m) ? m->valueint : CRIO_NS_POD;
    }
    r->cgroup = dup_str(j, "cgroup");
    r->cgroup_fs = dup_str(j, "cgroup_fs");
    r->pause_pid = (pid_t)crio_json_int(j, "pause_pid", 0);
    const cJSON *ips = cJSON_GetObjectItemCaseSensitive(j, "ips"), *ip;
    size_t n = (size_t)cJSON_GetArraySize(ips);
    r->ips = n ? calloc(n, sizeof *r->ips) : NULL;
    cJSON_ArrayForEach(ip, ips) if (r->ips && cJSON_IsString(ip)) r->ips[r->nips++] = strdup(ip->valuestring);
    const cJSON *cni = cJSON_GetObjectItemCaseSensitive(j, "cni");
    r->cni = cJSON_IsObject(cni) ? cJSON_Duplicate(cni, true) : NULL;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    r->config = cfg ? cJSON_Duplicate(cfg, true) : cJSON_CreateObject();
    return r;
}

static ctr_rec *ctr_load(const cJSON *j)
{
    ctr_rec *r = ctr_rec_new();
    const char *id = crio_json_string(j, "id"), *pid = crio_json_string(j, "pod_id");
    const char *st = crio_json_string(j, "state");
    if (!r || !id || !crio_id_valid(id) || !pid || !crio_id_valid(pid) || !st) {
        if (r)
            ctr_put(r);
        return NULL;
    }
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->pod_id, sizeof r->pod_id, "%s", pid);
    r->name = dup_str(j, "name");
    r->creating = strcmp(st, "creating") == 0;
    r->state = !strcmp(st, "created") ? CRIO_CONTAINER_CREATED
               : !strcmp(st, "running") ? CRIO_CONTAINER_RUNNING
               : !strcmp(st, "exited")  ? CRIO_CONTAINER_EXITED
                                        : CRIO_CONTAINER_UNKNOWN;
    r->image = dup_str(j, "image");
    r->image_id = dup_str(j, "image_id");
    r->image_ref = dup_str(j, "image_ref");
    r->log_path = dup_str(j, "log_path");
    r->runtime_handler = dup_str(j, "runtime_handler");
    r->cgroups_path = dup_str(j, "cgroups_path");
    r->stop_signal = (int)crio_json_int(j, "stop_signal", 15);
    r->created_at = get_time(j, "created_at");
    r->started_at = get_time(j, "started_at");
    r->finished_at = get_time(j, "finished_at");
    r->exit_code = (int32_t)crio_json_int(j, "exit_code", 0);
    r->reason = dup_str(j, "reason");
    r->message = dup_str(j, "message");
    r->pid = (pid_t)crio_json_int(j, "pid", 0);
    r->monitor_pid = (pid_t)crio_json_int(j, "monitor_pid", 0);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    r->config = cfg ? cJSON_Duplicate(cfg, true) : cJSON_CreateObject();
    return r;
}

/* ---- exits ---- */

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
}

/* Records an exit read from the monitor's exit file (its text, and as parsed). */
static void apply_exit(ctr_rec *r, const char *text, const cJSON *ex)
{
    r->state = CRIO_CONTAINER_EXITED;
    r->exit_code = (int32_t)crio_json_int(ex, "exit_code", 255);
    if (!json_text_i64(text, "finished_at", &r->finished_at))
        r->finished_at = crio_now_ns();
    bool oom = crio_json_bool(ex, "oom_killed", false);
    set_str(&r->reason, oom ? "OOMKilled" : r->exit_code == 0 ? "Completed" : "Error");
    r->pid = 0;
}

bool ctr_reconcile_exit(crio_pods *p, ctr_rec *r)
{
    if ((r->state != CRIO_CONTAINER_RUNNING && r->state != CRIO_CONTAINER_CREATED) || r->starting)
        return false;
    _cleanup_free_ char *f = ctr_exit_file(p, r->id);
    _cleanup_json_ cJSON *ex = NULL;
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (!f || crio_fs_read_file(&text, &len, f, CRIO_MONITOR_EXIT_MAX) < 0 ||
        crio_json_parse(&ex, text, len, CRIO_MONITOR_EXIT_MAX, "exit file") < 0) {
        crio_error_clear();
        return false;
    }
    apply_exit(r, text, ex);
    if (ctr_save(p, r) < 0)
        crio_log_warn("container %s: save exit: %s", r->id, crio_error_message(crio_error_last()));
    return true;
}

bool ctr_wait_exit(crio_pods *p, ctr_rec *r, int64_t deadline_ns)
{
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool changed = ctr_reconcile_exit(p, r);
        bool exited = r->state == CRIO_CONTAINER_EXITED || r->state == CRIO_CONTAINER_UNKNOWN;
        pthread_mutex_unlock(&r->lock);
        if (changed)
            events_emit(p, CRIO_EVENT_CONTAINER_STOPPED, r->id, r->pod_id);
        if (exited)
            return true;
        int64_t now = crio_mono_ns();
        if (now >= deadline_ns)
            return false;
        /* The watcher broadcasts on every exit; a bounded wait also covers a missed event. */
        int64_t until = now + 50 * 1000000LL < deadline_ns ? now + 50 * 1000000LL : deadline_ns;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait_ns = until - now;
        ts.tv_sec += wait_ns / 1000000000LL;
        ts.tv_nsec += wait_ns % 1000000000LL;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&p->exit_lock);
        pthread_cond_timedwait(&p->exit_cond, &p->exit_lock, &ts);
        pthread_mutex_unlock(&p->exit_lock);
    }
}

/* Handles one exit file appearing. */
static void on_exit_file(crio_pods *p, const char *id)
{
    if (!crio_id_valid(id))
        return;
    ctr_rec *r;
    if (pods_get_ctr(p, id, &r) < 0) {
        crio_error_clear();
        return;
    }
    pthread_mutex_lock(&r->lock);
    bool changed = ctr_reconcile_exit(p, r);
    pthread_mutex_unlock(&r->lock);
    if (changed)
        events_emit(p, CRIO_EVENT_CONTAINER_STOPPED, r->id, r->pod_id);
    ctr_put(r);
    pthread_mutex_lock(&p->exit_lock);
    pthread_cond_broadcast(&p->exit_cond);
    pthread_mutex_unlock(&p->exit_lock);
}

static void *exit_watcher(void *arg)
{
    crio_pods *p = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        struct pollfd fds[2] = { { p->inotify_fd, POLLIN, 0 }, { p->wake_fd, POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        ssize_t n = read(p->inotify_fd, buf, sizeof buf);
        if (n <= 0)
            continue;
        for (char *q = buf; q < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)q;
            if (ev->len && ev->name[0] != '.')
                on_exit_file(p, ev->name);
            q += sizeof *ev + ev->len;
        }
    }
    return NULL;
}

static int start_watcher(crio_pods *p)
{
    p->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (p->inotify_fd < 0)
        return crio_error_sys(errno, "exit watcher: inotify");
    /* The monitor writes a temporary and renames it into place. */
    if (inotify_add_watch(p->inotify_fd, p->exits, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        return crio_error_sys(errno, "exit watcher: watch %s", p->exits);
    p->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (p->wake_fd < 0)
        return crio_error_sys(errno, "exit watcher: eventfd");
    int e = pthread_create(&p->watcher, NULL, exit_watcher, p);
    if (e)
        return crio_error_sys(e, "exit watcher: thread");
    p->watcher_running = true;
    return 0;
}

/* ---- recovery ---- */

/* Reads every ROOT/<kind>/<id>/state.json; unreadable ones are moved aside, not lost. */
static int load_dir(const char *dir, cJSON **out)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return crio_error_oom();
    DIR *d = opendir(dir);
    if (!d) {
        *out = arr;
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *f = NULL;
        if (asprintf(&f, "%s/%s/state.json", dir, de->d_name) < 0)
            continue;
        cJSON *j = NULL;
        if (crio_json_read_file(&j, f, STATE_MAX) < 0) {
            /* No state: a create that died before its first save.  Leave a marker object. */
            crio_error_clear();
            j = cJSON_CreateObject();
            crio_json_add_string(j, "orphan", de->d_name);
        }
        cJSON_AddItemToArray(arr, j);
    }
    closedir(d);
    *out = arr;
    return 0;
}

/* Whether `pid` is still the crio-monitor of container `id` (its command line names the id). */
static bool monitor_alive(pid_t pid, const char *id)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false; /* a zombie has an empty command line */
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, "crio-monitor") && strstr(buf, id);
}

/* What the runtime says of a container the state file calls created or running. */
static void reconcile_with_runtime(crio_pods *p, ctr_rec *r)
{
    if (ctr_reconcile_exit(p, r))
        return;
    if (r->state != CRIO_CONTAINER_RUNNING && r->state != CRIO_CONTAINER_CREATED)
        return;
    crio_runtime *rt = NULL;
    _cleanup_free_ char *status = NULL;
    pid_t pid = 0;
    int e = crio_runtime_get(&rt, p->c, r->runtime_handler);
    if (e == 0)
        e = crio_runtime_state(rt, r->id, &status, &pid);
    crio_runtime_free(rt);
    if (e == 0 && status && (!strcmp(status, "running") || !strcmp(status, "created") || !strcmp(status, "paused"))) {
        r->pid = pid;
        return; /* still there: the monitor still watches it */
    }
    crio_error_clear();
    /* Stopped, and its monitor still running: the exit file is moments away (output drains first). */
    int64_t deadline = crio_mono_ns() + 10 * 1000000000LL;
    while (r->monitor_pid > 0 && monitor_alive(r->monitor_pid, r->id) && crio_mono_ns() < deadline) {
        if (ctr_reconcile_exit(p, r))
            return;
        usleep(5000);
    }
    if (ctr_reconcile_exit(p, r))
        return;
    /* Gone without an exit file: the monitor died too (or the host rebooted). */
    r->state = CRIO_CONTAINER_EXITED;
    r->exit_code = 255;
    r->finished_at = crio_now_ns();
    set_str(&r->reason, "Error");
    set_str(&r->message, "the container and its monitor were gone when libcrio started");
    r->pid = 0;
    ctr_save(p, r);
}

/*
 * A ready pod whose pinned network namespace is gone (the runroot did not
 * survive a reboot) has no network left: it is not ready, and its
 * StopPodSandbox releases what the CNI cache still records.
 */
static void pod_reconcile(crio_pods *p, pod_rec *r)
{
    if (r->state != CRIO_POD_READY || r->ns_mode[CRIO_NS_NETWORK] == CRIO_NS_NODE)
        return;
    _cleanup_free_ char *dir = pod_run_dir(p, r->id), *netns = NULL;
    if (!dir || asprintf(&netns, "%s/net", dir) < 0 || crio_ns_is_pinned(netns))
        return;
    crio_log_warn("pod %s: its network namespace is gone (a reboot?): the pod is not ready", r->id);
    r->state = CRIO_POD_NOTREADY;
    pod_save(p, r);
}

static void recover(crio_pods *p)
{
    _cleanup_json_ cJSON *pods = NULL, *ctrs = NULL;
    load_dir(p->root_pods, &pods);
    load_dir(p->root_ctrs, &ctrs);
    cJSON *j;
    cJSON_ArrayForEach(j, pods) {
        const char *orphan = crio_json_string(j, "orphan");
        pod_rec *r = orphan ? NULL : pod_load(j);
        if (!r) {
            crio_log_warn("pod state %s is unreadable: removing its directory", orphan ? orphan : "?");
            if (orphan && crio_id_valid(orphan)) {
                _cleanup_free_ char *d = path2(p->root_pods, orphan), *rd = pod_run_dir(p, orphan);
                crio_fs_remove_tree(AT_FDCWD, rd);
                crio_fs_remove_tree(AT_FDCWD, d);
            }
            continue;
        }
        if ((r->name && pods_reserve_name(p, r->name, r->id, "pod") < 0) || pods_add_pod(p, r) < 0) {
            crio_log_warn("pod %s: %s", r->id, crio_error_message(crio_error_last()));
            crio_error_clear();
            pod_put(r);
        }
    }
    cJSON_ArrayForEach(j, ctrs) {
        const char *orphan = crio_json_string(j, "orphan");
        ctr_rec *r = orphan ? NULL : ctr_load(j);
        if (!r) {
            if (orphan && crio_id_valid(orphan)) {
                /* Created no runtime state before the first save: just the directories. */
                crio_log_warn("container %s has no state: removing it", orphan);
                ctr_rec *tmp = ctr_rec_new();
                if (tmp) {
                    snprintf(tmp->id, sizeof tmp->id, "%s", orphan);
                    ctr_teardown(p, tmp);
                    ctr_put(tmp);
                }
            }
            continue;
        }
        if ((r->name && pods_reserve_name(p, r->name, r->id, "container") < 0) || pods_add_ctr(p, r) < 0) {
            crio_log_warn("container %s: %s", r->id, crio_error_message(crio_error_last()));
            crio_error_clear();
            ctr_put(r);
        }
    }
    /* Half-made objects go; the rest is reconciled with the runtime. */
    ctr_rec **cv = NULL;
    size_t nc = 0;
    if (pods_ctrs_of(p, NULL, &cv, &nc) == 0) {
        for (size_t i = 0; i < nc; i++) {
            ctr_rec *r = cv[i];
            if (r->creating) {
                crio_log_info("container %s was being created when libcrio stopped: removing it", r->id);
                ctr_teardown(p, r);
                pods_del_ctr(p, r);
                continue;
            }
            /* Under the field lock: the exit watcher is already running and may record the exit too. */
            pthread_mutex_lock(&r->lock);
            reconcile_with_runtime(p, r);
            pthread_mutex_unlock(&r->lock);
        }
        ctrs_put_all(cv, nc);
    }
    pod_rec **pv = NULL;
    size_t np = 0;
    if (pods_all(p, &pv, &np) == 0) {
        for (size_t i = 0; i < np; i++)
            if (pv[i]->creating) {
                crio_log_info("pod %s was being created when libcrio stopped: removing it", pv[i]->id);
                pod_release(p, pv[i]);
                pod_teardown(p, pv[i]);
                pods_del_pod(p, pv[i]);
            } else {
                pod_reconcile(p, pv[i]);
            }
        pods_put_all(pv, np);
    }
    crio_error_clear();
}

int crio_pods_open(crio_pods **out, struct crio *c)
{
    crio_pods *p = calloc(1, sizeof *p);
    if (!p)
        return crio_error_oom();
    p->c = c;
    p->inotify_fd = p->wake_fd = -1;
    pthread_rwlock_init(&p->lock, NULL);
    pthread_mutex_init(&p->ev_lock, NULL);
    pthread_mutex_init(&p->exit_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->exit_cond, &ca);
    pthread_condattr_destroy(&ca);
    p->root_pods = path2(c->root, "pods");
    p->root_ctrs = path2(c->root, "containers");
    p->run_pods = path2(c->runroot, "pods");
    p->run_ctrs = path2(c->runroot, "containers");
    p->exits = path2(c->runroot, "exits");
    int e = (!p->root_pods || !p->root_ctrs || !p->run_pods || !p->run_ctrs || !p->exits) ? crio_error_oom() : 0;
    const char *dirs[] = { p->root_pods, p->root_ctrs, p->run_pods, p->run_ctrs, p->exits };
    for (size_t i = 0; e == 0 && i < CRIO_ARRAY_SIZE(dirs); i++)
        if ((e = crio_fs_mkdir_p(dirs[i], 0700)) < 0)
            e = crio_error_wrap(e, "open");
    c->pods = p; /* recovery's teardown paths reach the handle */
    if (e == 0)
        e = start_watcher(p);
    if (e == 0)
        recover(p);
    if (e < 0) {
        c->pods = NULL;
        crio_pods_close(p);
        return e;
    }
    *out = p;
    return 0;
}

void crio_pods_close(crio_pods *p)
{
    if (!p)
        return;
    if (p->watcher_running) {
        uint64_t one = 1;
        if (write(p->wake_fd, &one, sizeof one) < 0)
            crio_log_warn("exit watcher: wake: %s", strerror(errno));
        pthread_join(p->watcher, NULL);
    }
    if (p->inotify_fd >= 0)
        close(p->inotify_fd);
    if (p->wake_fd >= 0)
        close(p->wake_fd);
    for (size_t i = 0; i < p->npods; i++)
        pod_put(p->pods[i]);
    for (size_t i = 0; i < p->nctrs; i++)
        ctr_put(p->ctrs[i]);
    free(p->pods);
    free(p->ctrs);
    free(p->making);
    for (size_t i = 0; i < p->nnames; i++)
        free(p->names[i].name);
    free(p->names);
    while (p->subs) {
        crio_events_unsubscribe(p->subs); /* the caller should have ended them */
    }
    free(p->root_pods);
    free(p->root_ctrs);
    free(p->run_pods);
    free(p->run_ctrs);
    free(p->exits);
    pthread_rwlock_destroy(&p->lock);
    pthread_mutex_destroy(&p->ev_lock);
    pthread_mutex_destroy(&p->exit_lock);
    pthread_cond_destroy(&p->exit_cond);
    free(p);
}
