/* The library handle: root ownership, configuration, status. */
#include "handle_internal.h"

#include <crio/version.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "config/config_internal.h"
#include "network/network.h"
#include "pod/pod_internal.h"

const char *crio_version(void)
{
    return CRIO_VERSION_STRING;
}

const char *crio_runtime_name(void)
{
    return "libcrio";
}

const char *crio_runtime_api_version(void)
{
    return "v1";
}

/* Reads who holds a root's lock, for the error message. */
static void lock_holder(char *buf, size_t len, int fd)
{
    ssize_t n = pread(fd, buf, len - 1, 0);
    if (n <= 0) {
        snprintf(buf, len, "an unknown process");
        return;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

static int lock_root(int *out, const char *root)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/crio.lock", root) < 0)
        return crio_error_oom();
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return crio_error_sys(errno, "open root %s: lock file %s", root, path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e != EWOULDBLOCK)
            return crio_error_sys(e, "open root %s: lock %s", root, path);
        char holder[256];
        lock_holder(holder, sizeof holder, fd);
        return crio_error_set(CRIO_EBUSY, "open root %s: in use by %s (lock %s)", root, holder, path);
    }
    char comm[64] = "?";
    FILE *f = fopen("/proc/self/comm", "re");
    if (f) {
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    char line[128];
    int n = snprintf(line, sizeof line, "pid %d (%s)\n", (int)getpid(), comm);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
        return crio_error_sys(errno, "open root %s: write lock file %s", root, path);
    *out = TAKE_FD(fd);
    return 0;
}

/* registries.conf plus crio.conf's older [crio.image] registries / insecure_registries. */
static int load_registries(crio_registries **out, const crio_config *cfg)
{
    crio_registries *r = NULL;
    int e = crio_registries_load(&r, crio_config_str(cfg, "crio.image.registries_conf"));
    if (e < 0)
        return e;
    const char *const *search, *const *insecure;
    size_t ns = 0, ni = 0;
    crio_config_get_list(cfg, "crio.image.registries", &search, &ns);
    crio_config_get_list(cfg, "crio.image.insecure_registries", &insecure, &ni);
    if ((e = crio_registries_apply_legacy(r, search, ns, insecure, ni)) < 0) {
        crio_registries_free(r);
        return e;
    }
    *out = r;
    return 0;
}

/* [crio.network] as lib/network takes it; the strings are borrowed from cfg. */
static crio_net_settings net_settings(const crio_config *cfg)
{
    const char *const *dirs = NULL;
    size_t n = 0;
    crio_config_get_list(cfg, "crio.network.plugin_dirs", &dirs, &n);
    int64_t timeout = crio_config_int(cfg, "crio.network.plugin_timeout");
    return (crio_net_settings){ .network_dir = crio_config_str(cfg, "crio.network.network_dir"),
                                .plugin_dirs = dirs,
                                .default_network = crio_config_str(cfg, "crio.network.cni_default_network"),
                                .plugin_timeout_ms = timeout > 0 ? timeout * 1000 : 0 };
}

static int open_network(crio *c, const crio_config *cfg)
{
    crio_net_settings s = net_settings(cfg);
    return crio_net_open(&c->net, &s);
}

void crio_close(crio *c)
{
    if (!c)
        return;
    crio_pods_close(c->pods);
    crio_net_close(c->net);
    crio_store_close(c->store);
    crio_registries_free(c->registries);
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the flock */
    crio_config_free(c->cfg);
    free(c->root);
    free(c->runroot);
    pthread_rwlock_destroy(&c->config_lock);
    free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio, crio_close)

int crio_open(crio **out, const crio_config *cfg)
{
    if (!out || !cfg)
        return crio_error_set(CRIO_EINVAL, "crio_open: NULL argument");
    int e = crio_config_validate(cfg);
    if (e < 0)
        return e;
    _cleanup_(crio_closep) crio *c = calloc(1, sizeof *c);
    if (!c)
        return crio_error_oom();
    c->lock_fd = -1;
    pthread_rwlock_init(&c->config_lock, NULL);
    if ((e = crio_config_copy(&c->cfg, cfg)) < 0)
        return e;
    c->root = strdup(crio_config_str(cfg, "crio.root"));
    c->runroot = strdup(crio_config_str(cfg, "crio.runroot"));
    if (!c->root || !c->runroot)
        return crio_error_oom();
    if ((e = crio_fs_mkdir_p(c->root, 0711)) < 0 || (e = crio_fs_mkdir_p(c->runroot, 0711)) < 0)
        return crio_error_wrap(e, "open root");
    if ((e = lock_root(&c->lock_fd, c->root)) < 0)
        return e;
    if ((e = crio_store_open(&c->store, c->root, crio_config_str(cfg, "crio.storage_driver"))) < 0)
        return e;
    if ((e = load_registries(&c->registries, cfg)) < 0)
        return e;
    crio_log_level lvl;
    if (crio_log_level_parse(&lvl, crio_config_str(cfg, "crio.runtime.log_level")) == 0)
        crio_log_set_level(lvl);
    int removed = crio_fs_remove_temporaries(c->root);
    if (removed > 0)
        crio_log_info("removed %d temporary files left in %s by an interrupted write", removed, c->root);
    if ((e = open_network(c, cfg)) < 0)
        return e;
    /* Pods and containers last: recovery may need everything above. */
    if ((e = crio_pods_open(&c->pods, c)) < 0)
        return e;
    crio_log_debug("opened root %s, runroot %s", c->root, c->runroot);
    *out = TAKE_PTR(c);
    return 0;
}

const crio_config *crio_get_config(const crio *c)
{
    return c->cfg;
}

int crio_reload(crio *c, const crio_config *cfg)
{
    int e = crio_config_validate(cfg);
    if (e < 0)
        return e;
    static const char *const fixed[] = { "crio.root", "crio.runroot" };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(fixed); i++)
        if (strcmp(crio_config_str(cfg, fixed[i]), crio_config_str(c->cfg, fixed[i])) != 0)
            return crio_error_set(CRIO_EINVAL, "reload: %s cannot change while running (%s -> %s)",
                                  fixed[i], crio_config_str(c->cfg, fixed[i]),
                                  crio_config_str(cfg, fixed[i]));
    crio_config *copy;
    crio_registries *regs;
    if ((e = load_registries(&regs, cfg)) < 0)
        return crio_error_wrap(e, "reload");
    if ((e = crio_config_copy(&copy, cfg)) < 0) {
        crio_registries_free(regs);
        return e;
    }
    pthread_rwlock_wrlock(&c->config_lock);
    crio_config *old = c->cfg;
    crio_registries *old_regs = c->registries;
    c->cfg = copy;
    c->registries = regs;
    pthread_rwlock_unlock(&c->config_lock);
    crio_config_free(old);
    crio_registries_free(old_regs);
    crio_net_settings ns = net_settings(cfg);
    if (crio_net_configure(c->net, &ns) < 0)
        crio_log_warn("reload: network: %s", crio_error_message(crio_error_last()));
    crio_log_info("configuration reloaded"); /* before a new level can hide it */
    crio_log_level lvl;
    if (crio_log_level_parse(&lvl, crio_config_str(cfg, "crio.runtime.log_level")) == 0)
        crio_log_set_level(lvl);
    return 0;
}

int crio_network_set_pod_cidr(crio *c, const char *cidrs)
{
    if (!c)
        return crio_error_set(CRIO_EINVAL, "set pod CIDR: NULL handle");
    return crio_net_set_pod_cidr(c->net, cidrs);
}

crio_cgroup_driver crio_cgroup_driver_get(crio *c)
{
    pthread_rwlock_rdlock(&c->config_lock);
    bool systemd = strcmp(crio_config_str(c->cfg, "crio.runtime.cgroup_manager"), "systemd") == 0;
    pthread_rwlock_unlock(&c->config_lock);
    return systemd ? CRIO_CGROUP_DRIVER_SYSTEMD : CRIO_CGROUP_DRIVER_CGROUPFS;
}

int crio_runtime_resolve_path(char **out, const crio_config *cfg, const char *handler)
{
    const char *path = crio_config_runtime_str(cfg, handler, "runtime_path");
    if (!path)
        return crio_error_set(CRIO_ENOTFOUND, "no runtime handler \"%s\"", handler);
    if (*path) {
        if (access(path, X_OK) < 0)
            return crio_error_sys(errno, "runtime handler \"%s\": %s", handler, path);
        return (*out = strdup(path)) ? 0 : crio_error_oom();
    }
    const char *env = getenv("PATH");
    _cleanup_free_ char *dirs = strdup(env && *env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (!dirs)
        return crio_error_oom();
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *cand = NULL;
        if (asprintf(&cand, "%s/%s", d, handler) < 0)
            return crio_error_oom();
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            *out = TAKE_PTR(cand);
            return 0;
        }
    }
    return crio_error_set(CRIO_ENOTFOUND, "runtime handler \"%s\": no runtime_path set and \"%s\" not found in PATH",
                          handler, handler);
}

/* ---- status ---- */

struct condition {
    char *type, *reason, *message;
    int ok;
};

struct crio_status {
    struct condition cond[2];
    size_t ncond;
    char **handlers;
    size_t nhandlers;
    char *config_toml;
    char *root, *runroot;
};

void crio_status_free(crio_status *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->ncond; i++) {
        free(st->cond[i].type);
        free(st->cond[i].reason);
        free(st->cond[i].message);
    }
    for (size_t i = 0; i < st->nhandlers; i++)
        free(st->handlers[i]);
    free(st->handlers);
    free(st->config_toml);
    free(st->root);
    free(st->runroot);
    free(st);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_status, crio_status_free)

static int add_condition(crio_status *st, const char *type, int ok, const char *reason, const char *message)
{
    struct condition *c = &st->cond[st->ncond];
    c->ok = ok;
    c->type = strdup(type);
    c->reason = strdup(reason);
    c->message = strdup(message);
    st->ncond++;
    return c->type && c->reason && c->message ? 0 : crio_error_oom();
}

static int check_runtime(crio_status *st, crio *c)
{
    const char *handler = crio_config_str(c->cfg, "crio.runtime.default_runtime");
    _cleanup_free_ char *path = NULL;
    if (crio_runtime_resolve_path(&path, c->cfg, handler) < 0)
        return add_condition(st, CRIO_CONDITION_RUNTIME_READY, 0, "RuntimeNotFound",
                             crio_error_message(crio_error_last()));
    const char *dirs[] = { c->root, c->runroot };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(dirs); i++)
        if (access(dirs[i], W_OK | X_OK) < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s is not writable: %s", dirs[i], strerror(errno));
            return add_condition(st, CRIO_CONDITION_RUNTIME_READY, 0, "StorageNotReady", msg);
        }
    return add_condition(st, CRIO_CONDITION_RUNTIME_READY, 1, "", "");
}

static int check_network(crio_status *st, crio *c)
{
    _cleanup_free_ char *why = NULL;
    if (crio_net_ready(c->net, &why))
        return add_condition(st, CRIO_CONDITION_NETWORK_READY, 1, "", "");
    _cleanup_free_ char *msg = NULL;
    if (asprintf(&msg, "Network plugin returns error: %s", why ? why : "no CNI network") < 0)
        return crio_error_oom();
    return add_condition(st, CRIO_CONDITION_NETWORK_READY, 0, "NetworkPluginNotReady", msg);
}

int crio_status_get(crio_status **out, crio *c)
{
    _cleanup_(crio_status_freep) crio_status *st = calloc(1, sizeof *st);
    if (!st)
        return crio_error_oom();
    pthread_rwlock_rdlock(&c->config_lock);
    int e = check_runtime(st, c);
    if (e == 0)
        e = check_network(st, c);
    size_t n = crio_config_runtime_count(c->cfg);
    if (e == 0 && !(st->handlers = calloc(n ? n : 1, sizeof(char *))))
        e = crio_error_oom();
    for (size_t i = 0; e == 0 && i < n; i++) {
        if (!(st->handlers[i] = strdup(crio_config_runtime_name(c->cfg, i))))
            e = crio_error_oom();
        st->nhandlers = i + 1;
    }
    if (e == 0)
        e = crio_config_to_toml(&st->config_toml, c->cfg);
    pthread_rwlock_unlock(&c->config_lock);
    if (e < 0)
        return e;
    st->root = strdup(c->root);
    st->runroot = strdup(c->runroot);
    if (!st->root || !st->runroot)
        return crio_error_oom();
    *out = TAKE_PTR(st);
    return 0;
}

size_t crio_status_condition_count(const crio_status *st) { return st->ncond; }
const char *crio_status_condition_type(const crio_status *st, size_t i)
{
    return i < st->ncond ? st->cond[i].type : NULL;
}
int crio_status_condition_ok(const crio_status *st, size_t i)
{
    return i < st->ncond ? st->cond[i].ok : 0;
}
const char *crio_status_condition_reason(const crio_status *st, size_t i)
{
    return i < st->ncond ? st->cond[i].reason : NULL;
}
const char *crio_status_condition_message(const crio_status *st, size_t i)
{
    return i < st->ncond ? st->cond[i].message : NULL;
}
size_t crio_status_handler_count(const crio_status *st) { return st->nhandlers; }
const char *crio_status_handler_name(const crio_status *st, size_t i)
{
    return i < st->nhandlers ? st->handlers[i] : NULL;
}

int crio_status_info_json(char **out, const crio_status *st)
{
    _cleanup_json_ cJSON *o = cJSON_CreateObject();
    if (!o || !crio_json_add_string(o, "version", crio_version()) ||
        !crio_json_add_string(o, "root", st->root) || !crio_json_add_string(o, "runroot", st->runroot) ||
        !crio_json_add_string(o, "config", st->config_toml))
        return crio_error_oom();
    if (!(*out = cJSON_PrintUnformatted(o)))
        return crio_error_oom();
    return 0;
}
