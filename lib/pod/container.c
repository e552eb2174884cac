/* Containers: create, start, stop, remove, status, list, update, exec, log reopening. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include <crio/image.h>
#include "config/config_internal.h"
#include "handle_internal.h"
#include "pod/cgroup.h"
#include "pod/config.h"
#include "pod/pod_internal.h"
#include "runtime/runtime.h"
#include "spec/spec.h"
#include "storage/copy.h"
#include "storage/store.h"

#define CREATE_TIMEOUT_MS 60000
#define EXEC_OUTPUT_CAP (16u * 1024 * 1024)
#define KILL_WAIT_NS (30 * 1000000000LL)

/* Configuration values for creating a container, read under the config lock. */
struct ctr_settings {
    char *driver, *log_dir;
    char **caps, **env, **sysctls, **ulimits; /* NULL-terminated */
    int64_t log_size_max;
};

static void strv_free0(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void ctr_settings_free(struct ctr_settings *s)
{
    free(s->driver);
    free(s->log_dir);
    strv_free0(s->caps);
    strv_free0(s->env);
    strv_free0(s->sysctls);
    strv_free0(s->ulimits);
}

/* A NULL-terminated copy of a list key (the config may be swapped by a reload). */
static char **list_copy(const crio_config *cfg, const char *key)
{
    const char *const *items = NULL;
    size_t n = 0;
    if (crio_config_get_list(cfg, key, &items, &n) < 0)
        return NULL;
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        if (!(v[i] = strdup(items[i]))) {
            strv_free0(v);
            return NULL;
        }
    return v;
}

static int ctr_settings_read(struct ctr_settings *s, crio *c)
{
    pthread_rwlock_rdlock(&c->config_lock);
    s->driver = strdup(crio_config_str(c->cfg, "crio.runtime.cgroup_manager"));
    s->log_dir = strdup(crio_config_str(c->cfg, "crio.log_dir"));
    s->log_size_max = crio_config_int(c->cfg, "crio.runtime.log_size_max");
    s->caps = list_copy(c->cfg, "crio.runtime.default_capabilities");
    s->env = list_copy(c->cfg, "crio.runtime.default_env");
    s->sysctls = list_copy(c->cfg, "crio.runtime.default_sysctls");
    s->ulimits = list_copy(c->cfg, "crio.runtime.default_ulimits");
    pthread_rwlock_unlock(&c->config_lock);
    return s->driver && s->log_dir && s->caps && s->env && s->sysctls && s->ulimits ? 0 : crio_error_oom();
}

/* ---- paths ---- */

static char *subpath(const char *dir, const char *name)
{
    char *s;
    return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

/* Our own oom_score_adj: without CAP_SYS_RESOURCE no child may go lower. */
static int own_oom_score_adj(void)
{
    _cleanup_free_ char *buf = NULL;
    size_t len;
    if (crio_fs_read_file(&buf, &len, "/proc/self/oom_score_adj", 64) < 0) {
        crio_error_clear();
        return -1000;
    }
    return atoi(buf);
}

/* ---- rootfs ---- */

/*
 * Mounts the container's root filesystem: an overlay of the image's layers
 * under a writable upper dir of its own (vfs: a private copy of the top
 * layer's full tree).  *rootfs gets the path the bundle names.
 */
/*
 * Mounts an overlay of `lower` (top first) with `upper` and `work` at
 * `target`.  The mount API adds one lower layer at a time ("lowerdir+",
 * Linux 6.8), so an image may have as many layers as overlay stacks (500);
 * mount(2) takes them all in one page of options, which fits ~35 layers of
 * our paths, and is what older kernels get.
 */
static int overlay_mount(const char *target, const char *const *lower, size_t n, const char *upper, const char *work)
{
    _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    bool per_layer = fs >= 0 && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[0], 0) == 0;
    if (per_layer) {
        for (size_t i = 1; i < n; i++)
            if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[i], 0) < 0)
                return crio_error_sys(errno, "rootfs: overlay layer %zu of %zu (%s)", i + 1, n, lower[i]);
        if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            return crio_error_sys(errno, "rootfs: overlay of %zu layers at %s", n, target);
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0 || move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return crio_error_sys(errno, "rootfs: mount overlay at %s", target);
        return 0;
    }
    size_t len = strlen("lowerdir=,upperdir=,workdir=") + strlen(upper) + strlen(work) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(lower[i]) + 1;
    if (len > (size_t)sysconf(_SC_PAGESIZE))
        return crio_error_set(CRIO_EINVAL,
                              "rootfs: the image has too many layers (%zu) for one overlay mount on this kernel "
                              "(Linux 6.8 mounts up to 500)", n);
    _cleanup_free_ char *data = malloc(len);
    if (!data)
        return crio_error_oom();
    char *p = data + sprintf(data, "lowerdir=");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? ":" : "", lower[i]);
    sprintf(p, ",upperdir=%s,workdir=%s", upper, work);
    if (mount("overlay", target, "overlay", 0, data) < 0)
        return crio_error_sys(errno, "rootfs: mount overlay at %s", target);
    return 0;
}

static int rootfs_mount(char **rootfs, crio_pods *p, const char *id, const cJSON *image_rec)
{
    crio *c = p->c;
    _cleanup_free_ char *root = ctr_root_dir(p, id), *run = ctr_run_dir(p, id);
    if (!root || !run)
        return crio_error_oom();
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(image_rec, "layers");
    int nl = cJSON_GetArraySize(layers);
    if (!strcmp(crio_store_driver(c->store), "vfs")) {
        _cleanup_free_ char *fs = subpath(root, "fs");
        if (!fs)
            return crio_error_oom();
        int e = crio_fs_mkdir_p(fs, 0755);
        if (e < 0)
            return e;
        if (nl > 0) {
            _cleanup_free_ char *top = NULL;
            if ((e = crio_store_layer_dir(&top, c->store, cJSON_GetArrayItem(layers, nl - 1)->valuestring)) < 0)
                return e;
            _cleanup_close_ int sfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            _cleanup_close_ int dfd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sfd < 0 || dfd < 0)
                return crio_error_sys(errno, "rootfs: open %s", sfd < 0 ? top : fs);
            if ((e = crio_copy_tree(sfd, dfd)) < 0)
                return crio_error_wrap(e, "rootfs: copy layer");
        }
        *rootfs = TAKE_PTR(fs);
        return 0;
    }
    _cleanup_free_ char *upper = subpath(root, "upper"), *work = subpath(root, "work"),
                        *empty = subpath(root, "empty"), *target = subpath(run, "rootfs");
    if (!upper || !work || !empty || !target)
        return crio_error_oom();
    int e;
    if ((e = crio_fs_mkdir_p(upper, 0755)) < 0 || (e = crio_fs_mkdir_p(work, 0700)) < 0 ||
        (e = crio_fs_mkdir_p(target, 0755)) < 0)
        return e;
    const char **dirs = calloc(nl ? (size_t)nl : 1, sizeof *dirs);
    if (!dirs)
        return crio_error_oom();
    /* overlay's lowerdir lists the top layer first. */
    for (int i = nl - 1; i >= 0; i--) {
        char *d = NULL;
        if ((e = crio_store_layer_dir(&d, c->store, cJSON_GetArrayItem(layers, i)->valuestring)) < 0)
            break;
        dirs[nl - 1 - i] = d;
    }
    if (e == 0 && nl == 0) {
        /* overlay needs a lower layer: an image without layers gets an empty one. */
        if ((e = crio_fs_mkdir_p(empty, 0755)) == 0 && !(dirs[0] = strdup(empty)))
            e = crio_error_oom();
    }
    if (e == 0)
        e = overlay_mount(target, dirs, nl ? (size_t)nl : 1, upper, work);
    for (int i = 0; i < (nl ? nl : 1); i++)
        free((char *)dirs[i]);
    free(dirs);
    if (e < 0)
        return e;
    *rootfs = TAKE_PTR(target);
    return 0;
}

static void rootfs_unmount(crio_pods *p, const char *id)
{
    _cleanup_free_ char *run = ctr_run_dir(p, id), *target = run ? subpath(run, "rootfs") : NULL;
    if (target && umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        crio_log_warn("container %s: unmount rootfs: %s", id, strerror(errno));
}

/* ---- create ---- */

/* The log file: the pod's log_directory joined with the container's log_path. */
static int log_path_for(char **out, const pod_rec *pod, const cJSON *cfg, const char *id, const char *log_dir)
{
    const char *dir = crio_spec_cri_string(pod->config, "log_directory"), *rel = crio_spec_cri_string(cfg, "log_path");
    int n;
    if (dir && *dir && rel && *rel)
        n = asprintf(out, "%s/%s", dir, rel);
    else if (rel && rel[0] == '/')
        n = asprintf(out, "%s", rel);
    else if (dir && *dir)
        n = asprintf(out, "%s/%s.log", dir, id);
    else
        n = asprintf(out, "%s/%s/%s.log", log_dir, pod->id, id);
    if (n < 0)
        return crio_error_oom();
    if (strstr(*out, "/../") || !strncmp(*out, "../", 3))
        return crio_error_set(CRIO_EINVAL, "container log path %s: no \"..\" allowed", *out);
    _cleanup_free_ char *parent = strdup(*out);
    if (!parent)
        return crio_error_oom();
    *strrchr(parent, '/') = '\0';
    return *parent ? crio_fs_mkdir_p(parent, 0755) : 0;
}

/* Path of a pod's namespace pin, "" for the host's. */
static char *ns_path(crio_pods *p, const pod_rec *pod, crio_ns_kind kind, const char *file)
{
    crio_ns_mode m = (crio_ns_mode)pod->ns_mode[kind];
    if (m == CRIO_NS_NODE)
        return strdup("");
    _cleanup_free_ char *dir = pod_run_dir(p, pod->id);
    return dir ? subpath(dir, file) : NULL;
}

/* The container's PID namespace: the pod's pause process, the host's, a target's, or its own (NULL). */
static int pid_ns_path(char **out, crio_pods *p, const pod_rec *pod, const cJSON *cfg)
{
    int mode = (int)crio_spec_cri_int(cfg, "linux.security_context.namespace_options.pid", pod->ns_mode[CRIO_NS_PID]);
    *out = NULL;
    if (mode == CRIO_NS_NODE) {
        *out = strdup("");
    } else if (mode == CRIO_NS_POD && pod->pause_pid > 0) {
        if (asprintf(out, "/proc/%d/ns/pid", (int)pod->pause_pid) < 0)
            *out = NULL;
    } else if (mode == CRIO_NS_TARGET) {
        const char *target = crio_spec_cri_string(cfg, "linux.security_context.namespace_options.target_id");
        ctr_rec *t;
        int e = pods_get_ctr(p, target ? target : "", &t);
        if (e < 0)
            return crio_error_wrap(CRIO_ENOTFOUND, "PID namespace target");
        pthread_mutex_lock(&t->lock);
        pid_t pid = t->state == CRIO_CONTAINER_RUNNING ? t->pid : 0;
        pthread_mutex_unlock(&t->lock);
        ctr_put(t);
        if (pid <= 0)
            return crio_error_set(CRIO_EBUSY, "PID namespace target %s is not running", target);
        if (asprintf(out, "/proc/%d/ns/pid", (int)pid) < 0)
            *out = NULL;
    } else {
        return 0;
    }
    return *out ? 0 : crio_error_oom();
}

/* Writes the bundle's config.json from the generated spec. */
static int write_bundle(crio_pods *p, ctr_rec *r, const pod_rec *pod, const cJSON *image_cfg, const char *rootfs,
                        const struct ctr_settings *st)
{
    _cleanup_free_ char *pod_dir = pod_run_dir(p, pod->id), *run = ctr_run_dir(p, r->id);
    _cleanup_free_ char *netns = ns_path(p, pod, CRIO_NS_NETWORK, "net"),
                        *ipcns = ns_path(p, pod, CRIO_NS_IPC, "ipc"),
                        *utsns = ns_path(p, pod, CRIO_NS_NETWORK, "uts"), *pidns = NULL;
    if (!pod_dir || !run || !netns || !ipcns || !utsns)
        return crio_error_oom();
    int e = pid_ns_path(&pidns, p, pod, r->config);
    if (e < 0)
        return e;
    _cleanup_free_ char *hostname_path = subpath(pod_dir, "hostname"), *hosts = subpath(pod_dir, "hosts"),
                        *resolv = subpath(pod_dir, "resolv.conf"),
                        *shm = pod->ns_mode[CRIO_NS_IPC] == CRIO_NS_NODE ? strdup("/dev/shm") : subpath(pod_dir, "shm"),
                        *hostname = NULL, *cfgpath = subpath(run, "config.json");
    size_t hl;
    if (crio_fs_read_file(&hostname, &hl, hostname_path, 4096) == 0)
        hostname[strcspn(hostname, "\n")] = '\0';
    crio_error_clear();
    _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return crio_error_sys(errno, "open rootfs %s", rootfs);
    crio_spec_input in = {
        .container = r->config,
        .pod = pod->config,
        .image_config = image_cfg,
        .container_id = r->id,
        .pod_id = pod->id,
        .rootfs = rootfs,
        .rootfs_fd = rootfd,
        .netns_path = netns,
        .ipcns_path = ipcns,
        .utsns_path = utsns,
        .pidns_path = pidns,
        .hostname_path = hostname_path,
        .hosts_path = hosts,
        .resolv_path = resolv,
        .shm_path = shm,
        .hostname = hostname,
        .cgroups_path = r->cgroups_path,
        .default_capabilities = (const char *const *)st->caps,
        .default_env = (const char *const *)st->env,
        .default_sysctls = (const char *const *)st->sysctls,
        .default_ulimits = (const char *const *)st->ulimits,
        .oom_score_adj_min = own_oom_score_adj(),
        .pod_privileged = crio_spec_cri_bool(pod->config, "linux.security_context.privileged", false),
    };
    _cleanup_json_ cJSON *spec = NULL;
    if ((e = crio_spec_generate(&spec, &in)) < 0)
        return e;
    return crio_json_write_file_volatile(cfgpath, spec, 0600); /* the bundle is in the runroot */
}

/* Has the monitor have the runtime create the container. */
static int runtime_create(crio_pods *p, ctr_rec *r, const struct ctr_settings *st)
{
    crio_runtime *rt = NULL;
    int e = crio_runtime_get(&rt, p->c, r->runtime_handler);
    if (e < 0)
        return e;
    _cleanup_free_ char *run = ctr_run_dir(p, r->id), *exit_file = ctr_exit_file(p, r->id), *ctl = NULL,
                        *attach = NULL, *fs = NULL, *oom = NULL;
    ctl = run ? subpath(run, "ctl") : NULL;
    attach = run ? subpath(run, "attach") : NULL;
    if (!ctl || !attach || !exit_file) {
        crio_runtime_free(rt);
        return crio_error_oom();
    }
    if (crio_cgroup_fs_path(&fs, r->cgroups_path) == 0)
        oom = crio_cgroup_memory_dir(fs);
    crio_error_clear();
    crio_monitor_args a = {
        .id = r->id,
        .bundle = run,
        .exit_file = exit_file,
        .log_path = r->log_path,
        .ctl_path = ctl,
        .attach_path = attach,
        .oom_cgroup = oom,
        .log_size_max = st->log_size_max,
        .terminal = crio_spec_cri_bool(r->config, "tty", false),
        .stdin_open = crio_spec_cri_bool(r->config, "stdin", false),
        .stdin_once = crio_spec_cri_bool(r->config, "stdin_once", false),
    };
    pid_t pid = 0, mpid = 0;
    e = crio_runtime_create(rt, &a, CREATE_TIMEOUT_MS, &pid, &mpid);
    crio_runtime_free(rt);
    if (e < 0)
        return e;
    pthread_mutex_lock(&r->lock);
    r->pid = pid;
    r->monitor_pid = mpid;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Mounts, writes the bundle and creates the runtime container of a private record. */
static int ctr_setup(crio_pods *p, ctr_rec *r, const pod_rec *pod, const cJSON *image_rec, const cJSON *image_cfg,
                     const struct ctr_settings *st)
{
    _cleanup_free_ char *run = ctr_run_dir(p, r->id), *rootfs = NULL;
    if (!run)
        return crio_error_oom();
    int e = crio_fs_mkdir_p(run, 0700);
    if (e == 0)
        e = rootfs_mount(&rootfs, p, r->id, image_rec);
    if (e == 0)
        e = log_path_for(&r->log_path, pod, r->config, r->id, st->log_dir);
    if (e == 0)
        e = crio_cgroup_container_path(&r->cgroups_path, st->driver, pod->cgroup, r->id);
    if (e == 0)
        e = write_bundle(p, r, pod, image_cfg, rootfs, st);
    if (e == 0)
        e = runtime_create(p, r, st);
    return e;
}

static int ctr_name(char **out, const cJSON *cfg, const pod_rec *pod)
{
    const char *name = crio_spec_cri_string(cfg, "metadata.name");
    if (!name || !*name)
        return crio_error_set(CRIO_EINVAL, "container config: metadata.name is required");
    const char *pn = crio_spec_cri_string(pod->config, "metadata.name"), *ns = crio_spec_cri_string(pod->config, "metadata.namespace"),
               *uid = crio_spec_cri_string(pod->config, "metadata.uid");
    if (asprintf(out, "k8s_%s_%s_%s_%s_%lld", name, pn ? pn : "", ns ? ns : "", uid ? uid : "",
                 (long long)crio_spec_cri_int(cfg, "metadata.attempt", 0)) < 0)
        return crio_error_oom();
    return 0;
}

/* Resolves the config's image to its record and config document. */
static int resolve_image(ctr_rec *r, cJSON **rec, cJSON **cfg, crio *c)
{
    const char *image = crio_spec_cri_string(r->config, "image.image");
    if (!image || !*image)
        return crio_error_set(CRIO_EINVAL, "container config: image.image is required");
    crio_image *img = NULL;
    int e = crio_image_get(&img, c, image);
    if (e < 0)
        return e == CRIO_ENOTFOUND ? crio_error_set(CRIO_ENOTFOUND, "image %s not found", image) : e;
    r->image = strdup(image);
    r->image_id = strdup(crio_image_id(img));
    r->image_ref = strdup(crio_image_repo_digest_count(img) ? crio_image_repo_digest(img, 0) : crio_image_id(img));
    e = crio_json_parse(cfg, crio_image_config_json(img), strlen(crio_image_config_json(img)), 4 << 20,
                        "image config");
    crio_image_free(img);
    if (e == 0)
        e = crio_store_image_get(c->store, r->image_id, rec);
    if (e == 0 && (!r->image || !r->image_id || !r->image_ref))
        e = crio_error_oom();
    return e;
}

int crio_container_create(char **id_out, crio *c, const char *pod_id, const crio_container_config *cfg)
{
    if (!id_out || !c || !cfg)
        return crio_error_set(CRIO_EINVAL, "create container: NULL argument");
    crio_pods *p = c->pods;
    pod_rec *pod;
    int e = pods_get_pod(p, pod_id, &pod);
    if (e < 0)
        return e;
    pthread_mutex_lock(&pod->op);
    ctr_rec *r = ctr_rec_new();
    struct ctr_settings st = { 0 };
    _cleanup_json_ cJSON *image_rec = NULL, *image_cfg = NULL;
    ctr_rec *making = NULL; /* counted as its image's user while being made */
    bool reserved = false;
    if (!r) {
        e = crio_error_oom();
        goto out;
    }
    r->config = cJSON_Duplicate(crio_container_config_json_tree(cfg), true);
    r->runtime_handler = strdup(pod->runtime_handler ? pod->runtime_handler : "");
    snprintf(r->pod_id, sizeof r->pod_id, "%s", pod->id);
    if (!r->config || !r->runtime_handler) {
        e = crio_error_oom();
        goto out;
    }
    pthread_mutex_lock(&pod->lock);
    bool ready = pod->state == CRIO_POD_READY && !pod->creating;
    pthread_mutex_unlock(&pod->lock);
    if (!ready) {
        e = crio_error_set(CRIO_EBUSY, "pod %s is not ready", pod->id);
        goto out;
    }
    if ((e = ctr_name(&r->name, r->config, pod)) < 0 || (e = crio_id_new(r->id)) < 0)
        goto out;
    /* Under the store's lock, as RemoveImage checks: the image cannot go between its lookup and our claim on it. */
    crio_store_lock(c->store);
    if ((e = resolve_image(r, &image_rec, &image_cfg, c)) == 0 && (e = pods_making_add(p, r)) == 0)
        making = r;
    crio_store_unlock(c->store);
    if (e < 0 || (e = ctr_settings_read(&st, c)) < 0)
        goto out;
    if ((e = pods_reserve_name(p, r->name, r->id, "container")) < 0)
        goto out;
    reserved = true;
    r->stop_signal = crio_spec_container_stop_signal(r->config, image_cfg);
    r->created_at = crio_now_ns();
    r->creating = true;
    if ((e = ctr_save(p, r)) < 0 || (e = ctr_setup(p, r, pod, image_rec, image_cfg, &st)) < 0)
        goto out;
    r->creating = false;
    r->state = CRIO_CONTAINER_CREATED;
    if ((e = ctr_save(p, r)) < 0)
        goto out;
    if (!(*id_out = strdup(r->id))) {
        e = crio_error_oom();
        goto out;
    }
    if ((e = pods_add_ctr(p, r)) < 0) {
        free(*id_out);
        *id_out = NULL;
        goto out;
    }
    reserved = false;
    r = NULL; /* the table's now */
    events_emit(p, CRIO_EVENT_CONTAINER_CREATED, *id_out, pod->id);
out:
    if (making)
        pods_making_del(p, making); /* in the table by now, or failed */
    if (e < 0 && r) {
        _cleanup_free_ char *msg = strdup(crio_error_message(crio_error_last()));
        if (r->id[0])
            ctr_teardown(p, r);
        crio_error_set(e, "create container %s in pod %s: %s", crio_spec_cri_string(r->config, "metadata.name"),
                       pod->id, msg ? msg : "");
    }
    if (reserved)
        pods_release_name(p, r->name);
    ctr_put(r);
    ctr_settings_free(&st);
    pthread_mutex_unlock(&pod->op);
    pod_put(pod);
    return e;
}

/* ---- teardown ---- */

int ctr_teardown(crio_pods *p, ctr_rec *r)
{
    crio_runtime *rt = NULL;
    if (crio_runtime_get(&rt, p->c, r->runtime_handler) == 0) {
        if (crio_runtime_delete(rt, r->id, true) < 0)
            crio_log_warn("container %s: %s", r->id, crio_error_message(crio_error_last()));
        crio_runtime_free(rt);
    }
    crio_error_clear();
    rootfs_unmount(p, r->id);
    _cleanup_free_ char *run = ctr_run_dir(p, r->id), *root = ctr_root_dir(p, r->id),
                        *exit_file = ctr_exit_file(p, r->id);
    if (!run || !root || !exit_file)
        return crio_error_oom();
    int e = crio_fs_remove_tree(AT_FDCWD, run);
    if (e == 0)
        e = crio_fs_remove_tree(AT_FDCWD, exit_file);
    /* The writable layer before state.json, so an interrupted removal still has a record. */
    static const char *const parts[] = { "upper", "work", "fs", "empty" };
    for (size_t i = 0; e == 0 && i < CRIO_ARRAY_SIZE(parts); i++) {
        _cleanup_free_ char *d = subpath(root, parts[i]);
        e = d ? crio_fs_remove_tree(AT_FDCWD, d) : crio_error_oom();
    }
    if (e == 0)
        e = crio_fs_remove_tree(AT_FDCWD, root);
    return e;
}

/* ---- start, stop, remove ---- */

static int ctr_get_op(crio *c, const char *id, ctr_rec **out)
{
    int e = pods_get_ctr(c->pods, id, out);
    if (e == 0)
        pthread_mutex_lock(&(*out)->op);
    return e;
}

static void ctr_release_op(ctr_rec *r)
{
    pthread_mutex_unlock(&r->op);
    ctr_put(r);
}

/* Reconciles with the exit file and returns the state (taking the field lock briefly). */
static crio_container_state ctr_current_state(crio_pods *p, ctr_rec *r)
{
    pthread_mutex_lock(&r->lock);
    bool changed = ctr_reconcile_exit(p, r);
    crio_container_state s = r->state;
    pthread_mutex_unlock(&r->lock);
    if (changed)
        events_emit(p, CRIO_EVENT_CONTAINER_STOPPED, r->id, r->pod_id);
    return s;
}

int crio_container_start(crio *c, const char *id)
{
    crio_pods *p = c->pods;
    ctr_rec *r;
    int e = ctr_get_op(c, id, &r);
    if (e < 0)
        return e;
    crio_container_state s = ctr_current_state(p, r);
    if (s != CRIO_CONTAINER_CREATED) {
        e = crio_error_set(CRIO_EBUSY, "start container %s: it is %s, not created", r->id,
                           s == CRIO_CONTAINER_RUNNING ? "running" : s == CRIO_CONTAINER_EXITED ? "exited" : "unknown");
        ctr_release_op(r);
        return e;
    }
    pthread_mutex_lock(&r->lock);
    r->starting = true;
    pthread_mutex_unlock(&r->lock);
    /* Taken before `runtime start`: a process that exits at once must not finish before it started. */
    int64_t started = crio_now_ns();
    crio_runtime *rt = NULL;
    if ((e = crio_runtime_get(&rt, c, r->runtime_handler)) == 0)
        e = crio_runtime_start(rt, r->id);
    crio_runtime_free(rt);
    pthread_mutex_lock(&r->lock);
    r->starting = false;
    if (e == 0) {
        r->state = CRIO_CONTAINER_RUNNING;
        r->started_at = started;
        e = ctr_save(p, r);
        /* Emitted under the field lock: an exit cannot be reported before it. */
        if (e == 0)
            events_emit(p, CRIO_EVENT_CONTAINER_STARTED, r->id, r->pod_id);
    } else {
        e = crio_error_wrap(e, "start container %s", r->id);
    }
    pthread_mutex_unlock(&r->lock);
    ctr_current_state(p, r); /* it may have exited already */
    ctr_release_op(r);
    return e;
}

static void ctr_signal(crio_pods *p, ctr_rec *r, int sig)
{
    crio_runtime *rt = NULL;
    if (crio_runtime_get(&rt, p->c, r->runtime_handler) == 0) {
        /* SIGKILL goes to every process of the container, as its init may not forward it. */
        if (crio_runtime_kill(rt, r->id, sig, sig == SIGKILL) < 0)
            crio_log_warn("container %s: kill %d: %s", r->id, sig, crio_error_message(crio_error_last()));
        crio_runtime_free(rt);
    }
    crio_error_clear();
}

static bool ctr_is_live(crio_container_state s)
{
    return s == CRIO_CONTAINER_RUNNING || s == CRIO_CONTAINER_CREATED;
}

void ctrs_stop(crio_pods *p, ctr_rec **v, size_t n, int64_t timeout_s)
{
    bool *live = calloc(n + 1, sizeof *live);
    if (!live)
        return;
    for (size_t i = 0; i < n; i++) {
        live[i] = ctr_is_live(ctr_current_state(p, v[i]));
        if (live[i] && timeout_s > 0)
            ctr_signal(p, v[i], v[i]->stop_signal > 0 ? v[i]->stop_signal : SIGTERM);
    }
    int64_t deadline = crio_mono_ns() + (timeout_s > 0 ? timeout_s : 0) * 1000000000LL;
    for (size_t i = 0; i < n; i++)
        if (live[i] && timeout_s > 0 && ctr_wait_exit(p, v[i], deadline))
            live[i] = false;
    for (size_t i = 0; i < n; i++)
        if (live[i])
            ctr_signal(p, v[i], SIGKILL);
    deadline = crio_mono_ns() + KILL_WAIT_NS;
    for (size_t i = 0; i < n; i++)
        if (live[i] && !ctr_wait_exit(p, v[i], deadline))
            crio_log_warn("container %s did not exit after SIGKILL", v[i]->id);
    free(live);
}

int crio_container_stop(crio *c, const char *id, int64_t timeout_seconds)
{
    ctr_rec *r;
    int e = ctr_get_op(c, id, &r);
    if (e < 0)
        return e;
    ctrs_stop(c->pods, &r, 1, timeout_seconds);
    crio_container_state s = ctr_current_state(c->pods, r);
    if (ctr_is_live(s))
        e = crio_error_set(CRIO_EINTERNAL, "stop container %s: it did not exit after SIGKILL", r->id);
    ctr_release_op(r);
    return e;
}

int ctr_remove(crio_pods *p, ctr_rec *r)
{
    if (ctr_is_live(ctr_current_state(p, r)))
        ctrs_stop(p, &r, 1, 0);
    int e = ctr_teardown(p, r);
    if (e < 0)
        return crio_error_wrap(e, "remove container %s", r->id);
    char pod_id[CRIO_ID_LEN + 1], id[CRIO_ID_LEN + 1];
    memcpy(pod_id, r->pod_id, sizeof pod_id);
    memcpy(id, r->id, sizeof id);
    pods_del_ctr(p, r);
    events_emit(p, CRIO_EVENT_CONTAINER_DELETED, id, pod_id);
    return 0;
}

int crio_container_remove(crio *c, const char *id)
{
    ctr_rec *r;
    int e = ctr_get_op(c, id, &r);
    if (e == CRIO_ENOTFOUND) {
        crio_error_clear();
        return 0;
    }
    if (e < 0)
        return e;
    e = ctr_remove(c->pods, r);
    ctr_release_op(r);
    return e;
}

/* ---- update, reopen, exec ---- */

int crio_container_update_resources(crio *c, const char *id, const crio_container_config *cfg)
{
    if (!c || !cfg)
        return crio_error_set(CRIO_EINVAL, "update container: NULL argument");
    ctr_rec *r;
    int e = ctr_get_op(c, id, &r);
    if (e < 0)
        return e;
    const cJSON *res = crio_spec_cri_get(crio_container_config_json_tree(cfg), "linux.resources");
    _cleanup_json_ cJSON *oci = NULL;
    crio_container_state s = ctr_current_state(c->pods, r);
    if (!ctr_is_live(s))
        e = crio_error_set(CRIO_EBUSY, "update container %s: it is not running", r->id);
    if (e == 0 && !res)
        e = crio_error_set(CRIO_EINVAL, "update container %s: no linux.resources given", r->id);
    if (e == 0)
        e = crio_spec_resources(&oci, res);
    crio_runtime *rt = NULL;
    if (e == 0 && (e = crio_runtime_get(&rt, c, r->runtime_handler)) == 0)
        e = crio_runtime_update(rt, r->id, oci);
    crio_runtime_free(rt);
    if (e == 0) {
        /* Remember them, so that status shows what applies now. */
        pthread_mutex_lock(&r->lock);
        cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(r->config, "linux");
        if (!linux_)
            linux_ = cJSON_AddObjectToObject(r->config, "linux");
        cJSON *copy = cJSON_Duplicate(res, true);
        if (linux_ && copy) {
            cJSON_DeleteItemFromObjectCaseSensitive(linux_, "resources");
            cJSON_AddItemToObject(linux_, "resources", copy);
        } else {
            cJSON_Delete(copy);
        }
        e = ctr_save(c->pods, r);
        pthread_mutex_unlock(&r->lock);
    }
    ctr_release_op(r);
    return e < 0 ? crio_error_wrap(e, "update container %s", id) : 0;
}

int crio_container_reopen_log(crio *c, const char *id)
{
    ctr_rec *r;
    int e = pods_get_ctr(c->pods, id, &r);
    if (e < 0)
        return e;
    _cleanup_free_ char *run = ctr_run_dir(c->pods, r->id), *ctl = run ? subpath(run, "ctl") : NULL;
    _cleanup_free_ char *log = NULL;
    pthread_mutex_lock(&r->lock);
    bool running = r->state == CRIO_CONTAINER_RUNNING;
    log = r->log_path ? strdup(r->log_path) : NULL;
    pthread_mutex_unlock(&r->lock);
    if (!running) {
        e = crio_error_set(CRIO_EBUSY, "reopen log of container %s: it is not running", r->id);
    } else if (!ctl || !log) {
        e = crio_error_oom();
    } else {
        /* O_NONBLOCK: ENXIO rather than a hang when no monitor reads the FIFO any more. */
        _cleanup_close_ int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || write(fd, "reopen\n", 7) != 7)
            e = crio_error_sys(errno, "reopen log of container %s: monitor control %s", r->id, ctl);
        /* The monitor reopens before it reads the next command: wait for the file. */
        int64_t deadline = crio_mono_ns() + 5 * 1000000000LL;
        while (e == 0 && access(log, F_OK) < 0) {
            if (crio_mono_ns() > deadline) {
                e = crio_error_set(CRIO_ETIMEDOUT, "reopen log of container %s: %s did not reappear", r->id, log);
                break;
            }
            usleep(2000);
        }
    }
    ctr_put(r);
    return e;
}

struct crio_exec_result {
    crio_exec_output out;
};

int crio_container_exec_sync(crio_exec_result **out, crio *c, const char *id, const char *const *argv, size_t argc,
                             int64_t timeout_seconds)
{
    if (!out || !c || !argv || argc == 0)
        return crio_error_set(CRIO_EINVAL, "exec: no command given");
    ctr_rec *r;
    int e = pods_get_ctr(c->pods, id, &r);
    if (e < 0)
        return e;
    if (ctr_current_state(c->pods, r) != CRIO_CONTAINER_RUNNING) {
        e = crio_error_set(CRIO_EBUSY, "exec in container %s: it is not running", r->id);
        ctr_put(r);
        return e;
    }
    _cleanup_free_ char *run = ctr_run_dir(c->pods, r->id), *cfgpath = run ? subpath(run, "config.json") : NULL;
    _cleanup_json_ cJSON *spec = NULL;
    cJSON *proc = NULL;
    if (!cfgpath)
        e = crio_error_oom();
    if (e == 0)
        e = crio_json_read_file(&spec, cfgpath, 4 << 20);
    /* The container's own process settings (user, env, cwd, caps), with the new command. */
    if (e == 0 && !(proc = cJSON_DetachItemFromObjectCaseSensitive(spec, "process")))
        e = crio_error_set(CRIO_EINTERNAL, "exec in container %s: its spec has no process", r->id);
    if (e == 0) {
        cJSON *args = cJSON_CreateArray();
        for (size_t i = 0; args && i < argc; i++)
            cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
        cJSON_ReplaceItemInObjectCaseSensitive(proc, "args", args);
        cJSON_DeleteItemFromObjectCaseSensitive(proc, "terminal");
        cJSON_AddBoolToObject(proc, "terminal", false);
    }
    crio_runtime *rt = NULL;
    crio_exec_result *res = calloc(1, sizeof *res);
    if (e == 0 && !res)
        e = crio_error_oom();
    if (e == 0 && (e = crio_runtime_get(&rt, c, r->runtime_handler)) == 0)
        e = crio_runtime_exec_sync(rt, r->id, proc, timeout_seconds > 0 ? timeout_seconds * 1000 : 0,
                                   EXEC_OUTPUT_CAP, &res->out);
    crio_runtime_free(rt);
    cJSON_Delete(proc);
    ctr_put(r);
    if (e < 0) {
        crio_exec_result_free(res);
        return e;
    }
    *out = res;
    return 0;
}

int32_t crio_exec_result_exit_code(const crio_exec_result *r) { return r->out.exit_code; }

const char *crio_exec_result_stdout(const crio_exec_result *r, size_t *len)
{
    if (len)
        *len = r->out.out_len;
    return r->out.out ? r->out.out : "";
}

const char *crio_exec_result_stderr(const crio_exec_result *r, size_t *len)
{
    if (len)
        *len = r->out.err_len;
    return r->out.err ? r->out.err : "";
}

void crio_exec_result_free(crio_exec_result *r)
{
    if (!r)
        return;
    crio_exec_output_free(&r->out);
    free(r);
}

/* ---- status ---- */

/*
 * What never changes after creation is built once per container and shared,
 * reference counted, by every snapshot: listing 500 containers copies a few
 * numbers each, not a dozen strings and two label maps.
 */
struct ctr_fixed {
    int refs;
    char *name, *image, *image_id, *image_ref, *log_path, *mounts_json;
    uint32_t attempt;
    char **labels, **annotations;
    size_t nlabels, nannotations;
};

struct crio_container {
    ctr_fixed *f;
    char id[CRIO_ID_LEN + 1], pod_id[CRIO_ID_LEN + 1];
    char *reason, *message, *config_json, *info_json;
    crio_container_state state;
    int64_t created_at, started_at, finished_at, pid;
    int32_t exit_code;
};

static void pairs_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < 2 * n; i++)
        free(v[i]);
    free(v);
}

void ctr_fixed_put(ctr_fixed *f)
{
    if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    char *strs[] = { f->name, f->image, f->image_id, f->image_ref, f->log_path, f->mounts_json };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(strs); i++)
        free(strs[i]);
    pairs_free(f->labels, f->nlabels);
    pairs_free(f->annotations, f->nannotations);
    free(f);
}

static char *dupz(const char *s) { return strdup(s ? s : ""); }

/* Builds the record's fixed part on first use (field lock held). */
static ctr_fixed *ctr_fixed_get(ctr_rec *r)
{
    if (r->fixed) {
        __atomic_add_fetch(&r->fixed->refs, 1, __ATOMIC_ACQ_REL);
        return r->fixed;
    }
    ctr_fixed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->refs = 1;
    f->name = dupz(crio_spec_cri_string(r->config, "metadata.name"));
    f->attempt = (uint32_t)crio_spec_cri_int(r->config, "metadata.attempt", 0);
    f->image = dupz(r->image);
    f->image_id = dupz(r->image_id);
    f->image_ref = dupz(r->image_ref);
    f->log_path = dupz(r->log_path);
    const cJSON *mounts = crio_spec_cri_get(r->config, "mounts");
    f->mounts_json = mounts ? cJSON_PrintUnformatted(mounts) : strdup("[]");
    if (!f->name || !f->image || !f->image_id || !f->image_ref || !f->log_path || !f->mounts_json ||
        crio_map_pairs(&f->labels, &f->nlabels, crio_spec_cri_get(r->config, "labels")) < 0 ||
        crio_map_pairs(&f->annotations, &f->nannotations, crio_spec_cri_get(r->config, "annotations")) < 0) {
        ctr_fixed_put(f);
        return NULL;
    }
    r->fixed = f; /* the record's reference */
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
    return f;
}

static char empty[] = "";

static void free_nonempty(char *s)
{
    if (s != empty)
        free(s);
}

void crio_container_free(crio_container *s)
{
    if (!s)
        return;
    ctr_fixed_put(s->f);
    free_nonempty(s->reason);
    free_nonempty(s->message);
    free(s->config_json);
    free(s->info_json);
    free(s);
}

/* Verbose details: the OCI spec, pid, bundle. */
static char *ctr_info(crio_pods *p, const ctr_rec *r)
{
    _cleanup_json_ cJSON *info = cJSON_CreateObject();
    if (!info)
        return NULL;
    _cleanup_free_ char *run = ctr_run_dir(p, r->id), *cfgpath = run ? subpath(run, "config.json") : NULL;
    cJSON *spec = NULL;
    if (cfgpath && crio_json_read_file(&spec, cfgpath, 4 << 20) == 0)
        cJSON_AddItemToObject(info, "runtimeSpec", spec);
    crio_error_clear();
    cJSON_AddNumberToObject(info, "pid", r->pid);
    cJSON_AddNumberToObject(info, "monitor_pid", r->monitor_pid);
    crio_json_add_string(info, "bundle", run);
    crio_json_add_string(info, "runtime_handler", r->runtime_handler);
    crio_json_add_string(info, "cgroups_path", r->cgroups_path);
    return cJSON_PrintUnformatted(info);
}

static char *dup_or_empty(const char *s)
{
    return s && *s ? strdup(s) : empty;
}

/* A snapshot of the record (field lock held); `verbose` adds the config and the info JSON. */
static int ctr_snapshot(crio_container **out, crio_pods *p, ctr_rec *r, bool verbose)
{
    crio_container *s = calloc(1, sizeof *s);
    if (!s)
        return crio_error_oom();
    s->f = ctr_fixed_get(r);
    memcpy(s->id, r->id, sizeof s->id);
    memcpy(s->pod_id, r->pod_id, sizeof s->pod_id);
    s->state = r->creating ? CRIO_CONTAINER_UNKNOWN : r->state;
    s->created_at = r->created_at;
    s->started_at = r->started_at;
    s->finished_at = r->finished_at;
    s->exit_code = r->exit_code;
    s->pid = r->state == CRIO_CONTAINER_RUNNING ? r->pid : 0;
    s->reason = dup_or_empty(r->reason);
    s->message = dup_or_empty(r->message);
    if (verbose) {
        s->config_json = cJSON_PrintUnformatted(r->config);
        s->info_json = ctr_info(p, r);
    }
    if (!s->f || !s->reason || !s->message || (verbose && (!s->config_json || !s->info_json))) {
        crio_container_free(s);
        return crio_error_oom();
    }
    *out = s;
    return 0;
}

int crio_container_get(crio_container **out, crio *c, const char *id)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "container status: NULL argument");
    ctr_rec *r;
    int e = pods_get_ctr(c->pods, id, &r);
    if (e < 0)
        return e;
    ctr_current_state(c->pods, r);
    pthread_mutex_lock(&r->lock);
    e = ctr_snapshot(out, c->pods, r, true);
    pthread_mutex_unlock(&r->lock);
    ctr_put(r);
    return e;
}

const char *crio_container_id(const crio_container *s) { return s->id; }
const char *crio_container_pod_id(const crio_container *s) { return s->pod_id; }
const char *crio_container_name(const crio_container *s) { return s->f->name; }
uint32_t crio_container_attempt(const crio_container *s) { return s->f->attempt; }
crio_container_state crio_container_state_get(const crio_container *s) { return s->state; }
int64_t crio_container_created_at(const crio_container *s) { return s->created_at; }
int64_t crio_container_started_at(const crio_container *s) { return s->started_at; }
int64_t crio_container_finished_at(const crio_container *s) { return s->finished_at; }
int32_t crio_container_exit_code(const crio_container *s) { return s->exit_code; }
const char *crio_container_reason(const crio_container *s) { return s->reason; }
const char *crio_container_message(const crio_container *s) { return s->message; }
const char *crio_container_image(const crio_container *s) { return s->f->image; }
const char *crio_container_image_id(const crio_container *s) { return s->f->image_id; }
const char *crio_container_image_ref(const crio_container *s) { return s->f->image_ref; }
const char *crio_container_log_path(const crio_container *s) { return s->f->log_path; }
size_t crio_container_label_count(const crio_container *s) { return s->f->nlabels; }
const char *crio_container_label_key(const crio_container *s, size_t i)
{
    return i < s->f->nlabels ? s->f->labels[2 * i] : NULL;
}
const char *crio_container_label_value(const crio_container *s, size_t i)
{
    return i < s->f->nlabels ? s->f->labels[2 * i + 1] : NULL;
}
size_t crio_container_annotation_count(const crio_container *s) { return s->f->nannotations; }
const char *crio_container_annotation_key(const crio_container *s, size_t i)
{
    return i < s->f->nannotations ? s->f->annotations[2 * i] : NULL;
}
const char *crio_container_annotation_value(const crio_container *s, size_t i)
{
    return i < s->f->nannotations ? s->f->annotations[2 * i + 1] : NULL;
}
const char *crio_container_mounts_json(const crio_container *s) { return s->f->mounts_json; }
int64_t crio_container_pid(const crio_container *s) { return s->pid; }
const char *crio_container_config_json(const crio_container *s) { return s->config_json ? s->config_json : "{}"; }
const char *crio_container_info_json(const crio_container *s) { return s->info_json ? s->info_json : "{}"; }

/* ---- listing ---- */

struct crio_container_filter {
    char *id, *pod_id;
    int state;
    char **labels;
    size_t nlabels;
};

int crio_container_filter_new(crio_container_filter **out)
{
    crio_container_filter *f = calloc(1, sizeof *f);
    if (!f)
        return crio_error_oom();
    f->state = -1;
    *out = f;
    return 0;
}

void crio_container_filter_free(crio_container_filter *f)
{
    if (!f)
        return;
    free(f->id);
    free(f->pod_id);
    pairs_free(f->labels, f->nlabels);
    free(f);
}

static int set_opt(char **dst, const char *v)
{
    free(*dst);
    *dst = v && *v ? strdup(v) : NULL;
    return !v || !*v || *dst ? 0 : crio_error_oom();
}

int crio_container_filter_set_id(crio_container_filter *f, const char *id) { return set_opt(&f->id, id); }
int crio_container_filter_set_pod_id(crio_container_filter *f, const char *pod_id) { return set_opt(&f->pod_id, pod_id); }

int crio_container_filter_set_state(crio_container_filter *f, crio_container_state state)
{
    if ((unsigned)state > CRIO_CONTAINER_UNKNOWN)
        return crio_error_set(CRIO_EINVAL, "container filter: state %d", (int)state);
    f->state = state;
    return 0;
}

int crio_container_filter_add_label(crio_container_filter *f, const char *key, const char *value)
{
    return crio_labels_add(&f->labels, &f->nlabels, key, value);
}

static bool ctr_matches(const ctr_rec *r, const crio_container_filter *f)
{
    if (!f)
        return true;
    if (f->id && strncmp(r->id, f->id, strlen(f->id)) != 0)
        return false;
    if (f->pod_id && strncmp(r->pod_id, f->pod_id, strlen(f->pod_id)) != 0)
        return false;
    crio_container_state st = r->creating ? CRIO_CONTAINER_UNKNOWN : r->state;
    if (f->state >= 0 && (int)st != f->state)
        return false;
    return crio_labels_match(crio_spec_cri_get(r->config, "labels"), f->labels, f->nlabels);
}

struct crio_container_list {
    crio_container **items;
    size_t n;
};

static int by_created(const void *a, const void *b)
{
    int64_t x = (*(crio_container *const *)a)->created_at, y = (*(crio_container *const *)b)->created_at;
    return x < y ? -1 : x > y;
}

int crio_container_list_get(crio_container_list **out, crio *c, const crio_container_filter *filter)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "list containers: NULL argument");
    ctr_rec **v = NULL;
    size_t n = 0;
    int e = pods_ctrs_of(c->pods, NULL, &v, &n);
    if (e < 0)
        return e;
    crio_container_list *l = calloc(1, sizeof *l);
    if (l)
        l->items = calloc(n + 1, sizeof *l->items);
    if (!l || !l->items)
        e = crio_error_oom();
    for (size_t i = 0; e == 0 && i < n; i++) {
        pthread_mutex_lock(&v[i]->lock);
        if (ctr_matches(v[i], filter) && (e = ctr_snapshot(&l->items[l->n], c->pods, v[i], false)) == 0)
            l->n++;
        pthread_mutex_unlock(&v[i]->lock);
    }
    ctrs_put_all(v, n);
    if (e < 0) {
        crio_container_list_free(l);
        return e;
    }
    qsort(l->items, l->n, sizeof *l->items, by_created);
    *out = l;
    return 0;
}

size_t crio_container_list_count(const crio_container_list *l) { return l ? l->n : 0; }
const crio_container *crio_container_list_at(const crio_container_list *l, size_t i)
{
    return l && i < l->n ? l->items[i] : NULL;
}

void crio_container_list_free(crio_container_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        crio_container_free(l->items[i]);
    free(l->items);
    free(l);
}
