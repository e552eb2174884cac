/* OCI runtime handlers: resolving them from the configuration and running their commands. */
#include "runtime/runtime.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/spawn.h"
#include "config/config_internal.h"
#include "handle_internal.h"
#include "runtime/monitor.h"

/* `make install` passes the real one; this is what the default PREFIX gives. */
#ifndef CRIO_LIBEXECDIR
#define CRIO_LIBEXECDIR "/usr/local/libexec/crio"
#endif

#define MONITOR_NAME "crio-monitor"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* A runtime's stdout is `state` JSON at most; its stderr is an error message. */
#define RUNTIME_OUT_CAP (1024 * 1024)
#define RUNTIME_ERR_CAP (64 * 1024)
#define EXEC_DEFAULT_CAP (16 * 1024 * 1024)
/* The most arguments any runtime command here takes, with the program and --root. */
#define MAX_ARGS 40

/* Helpers run with this environment, not the daemon's (which may hold anything). */
static const char *const helper_env[] = { "PATH=" DEFAULT_PATH, NULL };

void crio_runtime_free(crio_runtime *rt)
{
    if (!rt)
        return;
    free(rt->name);
    free(rt->path);
    free(rt->root);
    free(rt->monitor_path);
    free(rt->tmp_dir);
    free(rt);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_runtime, crio_runtime_free)

/* ---- finding crio-monitor ---- */

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Takes `cand` into *out when it is an executable file. */
static bool take_if_executable(char **out, char *cand)
{
    if (cand && is_executable(cand)) {
        *out = cand;
        return true;
    }
    free(cand);
    return false;
}

static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/*
 * For the main program dladdr names argv[0], which may be relative or made
 * up (Criterion's workers call themselves "boxfort-worker"): the kernel's
 * /proc/self/exe is right.  The main program is the object holding the
 * program headers the kernel mapped (AT_PHDR).
 */
static bool in_main_program(const Dl_info *info)
{
    Dl_info main_info;
    void *phdr = (void *)getauxval(AT_PHDR);
    return phdr && dladdr(phdr, &main_info) && main_info.dli_fbase == info->dli_fbase;
}

/*
 * The directory of the object libcrio's code lives in: libcrio.so's, or the
 * program's when it links libcrio.a.  A monitor installed next to the
 * library is the one built with it.
 */
static char *library_dir(void)
{
    Dl_info info;
    if (!dladdr((void *)crio_runtime_get, &info) || !info.dli_fname)
        return NULL;
    char *real = realpath(in_main_program(&info) ? "/proc/self/exe" : info.dli_fname, NULL);
    char *slash = real ? strrchr(real, '/') : NULL;
    if (!slash) {
        free(real);
        return NULL;
    }
    *slash = '\0';
    return real;
}

static bool find_in_path(char **out, const char *name)
{
    _cleanup_free_ char *dirs = strdup(DEFAULT_PATH);
    const char *env = getenv("PATH");
    if (env && *env) {
        free(dirs);
        dirs = strdup(env);
    }
    char *save = NULL;
    for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
        if (*d == '/' && take_if_executable(out, path_join(d, name)))
            return true;
    return false;
}

/* A configured monitor_path must exist: a typo is reported, not silently replaced. */
static int configured_monitor(char **out, const char *path, const char *what)
{
    if (access(path, X_OK) < 0)
        return crio_error_set_errno(CRIO_ENOTFOUND, errno, "%s \"%s\"", what, path);
    if (!is_executable(path))
        return crio_error_set(CRIO_ENOTFOUND, "%s \"%s\": not an executable file", what, path);
    return (*out = strdup(path)) ? 0 : crio_error_oom();
}

static int find_monitor(char **out, const crio_config *cfg, const char *handler)
{
    char what[256];
    const char *p = crio_config_runtime_str(cfg, handler, "monitor_path");
    snprintf(what, sizeof what, "runtime handler \"%s\": monitor_path", handler);
    if (p && *p)
        return configured_monitor(out, p, what);
    p = crio_config_str(cfg, "crio.runtime.monitor_path");
    if (p && *p)
        return configured_monitor(out, p, "crio.runtime.monitor_path");
    _cleanup_free_ char *dir = library_dir();
    char near[PATH_MAX] = "", beside[PATH_MAX] = "";
    if (dir) {
        snprintf(near, sizeof near, "%s/" MONITOR_NAME, dir);
        snprintf(beside, sizeof beside, "%s/../libexec/crio/" MONITOR_NAME, dir);
        if (take_if_executable(out, strdup(near)) || take_if_executable(out, realpath(beside, NULL)))
            return 0;
    }
    if (take_if_executable(out, strdup(CRIO_LIBEXECDIR "/" MONITOR_NAME)) || find_in_path(out, MONITOR_NAME))
        return 0;
    return crio_error_set(CRIO_ENOTFOUND,
                          "runtime handler \"%s\": " MONITOR_NAME " not found (looked for %s%s%s%s"
                          CRIO_LIBEXECDIR "/" MONITOR_NAME " and in PATH); set crio.runtime.monitor_path",
                          handler, near, *near ? ", " : "", beside, *beside ? ", " : "");
}

/* ---- resolving a handler ---- */

static int unknown_handler(const crio_config *cfg, const char *name)
{
    char known[512] = "";
    size_t at = 0, n = crio_config_runtime_count(cfg);
    for (size_t i = 0; i < n && at < sizeof known; i++)
        at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "",
                               crio_config_runtime_name(cfg, i));
    return crio_error_set(CRIO_EINVAL, "unknown runtime handler \"%s\" (configured: %s)", name,
                          n ? known : "none");
}

static int resolve(crio_runtime **out, const crio_config *cfg, const char *name, const char *runroot)
{
    if (!name || !*name)
        name = crio_config_str(cfg, "crio.runtime.default_runtime");
    if (!crio_config_runtime_str(cfg, name, "runtime_path"))
        return unknown_handler(cfg, name);
    _cleanup_(crio_runtime_freep) crio_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return crio_error_oom();
    const char *root = crio_config_runtime_str(cfg, name, "runtime_root");
    rt->name = strdup(name);
    rt->root = strdup(root ? root : "");
    rt->tmp_dir = path_join(runroot, "runtime");
    if (!rt->name || !rt->root || !rt->tmp_dir)
        return crio_error_oom();
    int e = crio_runtime_resolve_path(&rt->path, cfg, name);
    if (e == 0)
        e = find_monitor(&rt->monitor_path, cfg, name);
    if (e < 0)
        return e;
    *out = TAKE_PTR(rt);
    return 0;
}

int crio_runtime_get(crio_runtime **out, crio *c, const char *name)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "crio_runtime_get: NULL argument");
    /* crio_reload swaps the configuration under this lock. */
    pthread_rwlock_rdlock(&c->config_lock);
    int e = resolve(out, c->cfg, name, c->runroot);
    pthread_rwlock_unlock(&c->config_lock);
    return e;
}

/* ---- running the runtime ---- */

struct cmd {
    const char *argv[MAX_ARGS + 1];
    size_t n;
    const char *verb, *id; /* for messages: "runtime NAME VERB ID: ..." */
};

static void cmd_add(struct cmd *c, const char *arg)
{
    /* Callers here add at most MAX_ARGS; the bound keeps a mistake from overflowing. */
    if (c->n < MAX_ARGS)
        c->argv[c->n++] = arg;
    c->argv[c->n] = NULL;
}

/* Appends the msg="..." value found in [m, end), unescaped, to buf at *at. */
static void append_msg(char *buf, size_t len, size_t *at, const char *m, const char *end)
{
    if (*at && *at + 3 < len)
        *at += (size_t)snprintf(buf + *at, len - *at, "; ");
    for (m += 5; m < end && *m != '"' && *at + 1 < len; m++) {
        if (*m == '\\' && m + 1 < end)
            m++;
        buf[(*at)++] = *m;
    }
    buf[*at] = '\0';
}

/*
 * runc logs as logrus text, `time="..." level=error msg="container does not
 * exist"`: the msg values are what a user needs.  Copies those of the error
 * lines (of any line when none is one: a warning must not hide the error,
 * but is better than nothing), joined by "; ".  False when no line has one.
 */
static bool logrus_messages(char *buf, size_t len, const char *text)
{
    if (len < 2)
        return false;
    for (int only_errors = 1; only_errors >= 0; only_errors--) {
        size_t at = 0;
        buf[0] = '\0';
        for (const char *line = text; *line;) {
            const char *end = strchr(line, '\n');
            if (!end)
                end = line + strlen(line);
            const char *m = memmem(line, (size_t)(end - line), "msg=\"", 5);
            bool error = memmem(line, (size_t)(end - line), "level=error", 11) ||
                         memmem(line, (size_t)(end - line), "level=fatal", 11);
            if (m && (error || !only_errors))
                append_msg(buf, len, &at, m, end);
            line = *end ? end + 1 : end;
        }
        if (at)
            return true;
    }
    return false;
}

/* What the runtime said, for an error message. */
static const char *runtime_said(char *buf, size_t len, const crio_spawn_result *res)
{
    if (res->err && logrus_messages(buf, len, res->err))
        return buf;
    return crio_spawn_describe(buf, len, res);
}

static bool says(const char *msg, const char *what)
{
    return strstr(msg, what) != NULL;
}

/* runc: "container does not exist"; crun: "container `ID` does not exist". */
static bool says_unknown(const char *msg)
{
    return says(msg, "does not exist");
}

static int runtime_failed(const crio_runtime *rt, const struct cmd *c, const char *msg)
{
    int code = says_unknown(msg) ? CRIO_ENOTFOUND : CRIO_EINTERNAL;
    return crio_error_set(code, "runtime %s %s %s: %s", rt->name, c->verb, c->id, msg);
}

/*
 * Runs the prepared command.  `o` brings what differs from the default
 * (stdout/stderr captured, the helper environment, CRIO_RUNTIME_TIMEOUT_MS);
 * spawn failures are reported with the command's context.
 */
static int cmd_run(const crio_runtime *rt, const struct cmd *c, crio_spawn_opts *o, crio_spawn_result *res)
{
    o->argv = c->argv;
    o->envp = helper_env;
    o->out = o->err = CRIO_SPAWN_PIPE;
    if (!o->out_cap)
        o->out_cap = RUNTIME_OUT_CAP;
    if (!o->err_cap)
        o->err_cap = RUNTIME_ERR_CAP;
    if (!o->timeout_ms)
        o->timeout_ms = CRIO_RUNTIME_TIMEOUT_MS;
    crio_log_debug("runtime %s %s %s", rt->name, c->verb, c->id);
    int e = crio_spawn_run(res, o);
    return e < 0 ? crio_error_wrap(e, "runtime %s %s %s", rt->name, c->verb, c->id) : 0;
}

/*
 * Runs a command that prints nothing useful on success (`o`: as cmd_run's,
 * NULL for none).  *msg gets the runtime's message when it failed (exit
 * status not 0) and 1 is returned, so that the caller can decide what a
 * failure means.
 */
static int run_simple(const crio_runtime *rt, const struct cmd *c, crio_spawn_opts *o, char *msg, size_t msg_len)
{
    crio_spawn_opts none = { .timeout_ms = 0 };
    crio_spawn_result res;
    int e = cmd_run(rt, c, o ? o : &none, &res);
    if (e == 0 && res.exit_code != 0) {
        runtime_said(msg, msg_len, &res);
        e = 1;
    }
    crio_spawn_result_free(&res);
    return e;
}

static int check_id(const char *id)
{
    /* An id that starts with '-' would be read as a flag. */
    if (!id || !*id || *id == '-' || strchr(id, '/'))
        return crio_error_set(CRIO_EINVAL, "bad container id \"%s\"", id ? id : "(null)");
    return 0;
}

/*
 * Checks the container id and starts "RUNTIME [--root DIR] VERB" (global
 * flags go before the command); the caller adds the rest.
 */
static int cmd_begin(struct cmd *c, const crio_runtime *rt, const char *verb, const char *id)
{
    int e = check_id(id);
    if (e < 0)
        return e;
    c->n = 0;
    cmd_add(c, rt->path);
    if (rt->root && *rt->root) {
        cmd_add(c, "--root");
        cmd_add(c, rt->root);
    }
    cmd_add(c, verb);
    c->verb = verb;
    c->id = id;
    return 0;
}

int crio_runtime_start(const crio_runtime *rt, const char *id)
{
    struct cmd c;
    int e = cmd_begin(&c, rt, "start", id);
    if (e < 0)
        return e;
    cmd_add(&c, id);
    char msg[768];
    if ((e = run_simple(rt, &c, NULL, msg, sizeof msg)) <= 0)
        return e;
    return runtime_failed(rt, &c, msg);
}

int crio_runtime_kill(const crio_runtime *rt, const char *id, int sig, bool all)
{
    struct cmd c;
    int e = cmd_begin(&c, rt, "kill", id);
    if (e < 0)
        return e;
    char signum[16];
    snprintf(signum, sizeof signum, "%d", sig);
    if (all)
        cmd_add(&c, "--all");
    cmd_add(&c, id);
    cmd_add(&c, signum);
    char msg[768];
    if ((e = run_simple(rt, &c, NULL, msg, sizeof msg)) <= 0)
        return e;
    /* runc: "container not running" once it exited; crun: "... process already exited"-like. */
    if (says_unknown(msg) || says(msg, "not running") || says(msg, "already exited") ||
        says(msg, "already finished")) {
        crio_log_debug("runtime %s kill %s: already gone (%s)", rt->name, id, msg);
        return 0;
    }
    return runtime_failed(rt, &c, msg);
}

int crio_runtime_delete(const crio_runtime *rt, const char *id, bool force)
{
    struct cmd c;
    int e = cmd_begin(&c, rt, "delete", id);
    if (e < 0)
        return e;
    if (force)
        cmd_add(&c, "--force");
    cmd_add(&c, id);
    char msg[768];
    if ((e = run_simple(rt, &c, NULL, msg, sizeof msg)) <= 0)
        return e;
    if (says_unknown(msg))
        return 0;
    /* runc: "cannot delete container ID that is not stopped: running" */
    if (says(msg, "not stopped"))
        return crio_error_set(CRIO_EBUSY, "runtime %s delete %s: %s", rt->name, id, msg);
    return runtime_failed(rt, &c, msg);
}

static int parse_state(const crio_runtime *rt, const char *id, const crio_spawn_result *res, char **status,
                       pid_t *pid)
{
    _cleanup_json_ cJSON *j = NULL;
    /* Bad output is the runtime's fault, not the caller's: not the parser's CRIO_EINVAL. */
    if (crio_json_parse(&j, res->out, res->out_len, RUNTIME_OUT_CAP, "runtime state") < 0)
        return crio_error_set(CRIO_EINTERNAL, "runtime %s state %s: %s", rt->name, id,
                              crio_error_message(crio_error_last()));
    const char *s = crio_json_string(j, "status");
    int64_t p = crio_json_int(j, "pid", -1);
    if (!s || p < 0 || p > INT_MAX)
        return crio_error_set(CRIO_EINTERNAL, "runtime %s state %s: no status or pid in %.200s", rt->name, id,
                              res->out);
    if (!(*status = strdup(s)))
        return crio_error_oom();
    if (pid)
        *pid = (pid_t)p;
    return 0;
}

int crio_runtime_state(const crio_runtime *rt, const char *id, char **status, pid_t *pid)
{
    struct cmd c;
    int e = cmd_begin(&c, rt, "state", id);
    if (e < 0)
        return e;
    cmd_add(&c, id);
    crio_spawn_opts o = { .timeout_ms = 0 };
    crio_spawn_result res;
    if ((e = cmd_run(rt, &c, &o, &res)) == 0) {
        char msg[768];
        e = res.exit_code ? runtime_failed(rt, &c, runtime_said(msg, sizeof msg, &res))
                          : parse_state(rt, id, &res, status, pid);
    }
    crio_spawn_result_free(&res);
    return e;
}

/*
 * A JSON document as an unlinked in-memory file: the runtime reads it as
 * /proc/self/fd/3, so that no temporary file is left behind by a crash.
 */
static int json_memfd(int *out, const cJSON *json, const char *what)
{
    _cleanup_free_ char *text = cJSON_PrintUnformatted(json);
    if (!text)
        return crio_error_oom();
    _cleanup_close_ int fd = memfd_create(what, MFD_CLOEXEC);
    if (fd < 0)
        return crio_error_sys(errno, "memfd for %s", what);
    if (crio_fs_write_all(fd, text, strlen(text)) < 0)
        return crio_error_sys(errno, "write %s", what);
    *out = TAKE_FD(fd);
    return 0;
}

int crio_runtime_update(const crio_runtime *rt, const char *id, const cJSON *resources)
{
    struct cmd c;
    int e = cmd_begin(&c, rt, "update", id);
    if (e < 0)
        return e;
    if (!cJSON_IsObject(resources))
        return crio_error_set(CRIO_EINVAL, "runtime %s update %s: resources must be an object", rt->name, id);
    _cleanup_close_ int fd = -1;
    if ((e = json_memfd(&fd, resources, "crio-resources")) < 0)
        return e;
    cmd_add(&c, "--resources");
    cmd_add(&c, "/proc/self/fd/3");
    cmd_add(&c, id);
    crio_spawn_opts o = { .pass_fds = &fd, .n_pass_fds = 1 };
    char msg[768];
    if ((e = run_simple(rt, &c, &o, msg, sizeof msg)) <= 0)
        return e;
    return runtime_failed(rt, &c, msg);
}

/* ---- exec ---- */

void crio_exec_output_free(crio_exec_output *o)
{
    if (!o)
        return;
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
    o->out_len = o->err_len = 0;
}

/* The pid the runtime wrote into its --pid-file, or 0 while there is none. */
static pid_t read_pid_file(const char *path)
{
    char buf[32];
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long pid = strtol(buf, NULL, 10);
    return pid > 1 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/*
 * At the deadline: the exec'd process runs in the container, outside the
 * runtime's process group, and the runtime does not pass SIGKILL on; kill it
 * by the pid the runtime recorded, then spawn kills the runtime.
 */
static void kill_exec_process(pid_t runtime_pid, void *pid_file)
{
    pid_t pid = read_pid_file(pid_file);
    if (pid > 0)
        kill(pid, SIGKILL);
}

/* An empty file the runtime replaces with the exec'd process's pid. */
static int make_pid_file(char **out, const crio_runtime *rt)
{
    const char *dir = rt->tmp_dir ? rt->tmp_dir : "/tmp";
    int e = crio_fs_mkdir_p(dir, 0700);
    if (e < 0)
        return e;
    _cleanup_free_ char *path = path_join(dir, "exec-XXXXXX");
    if (!path)
        return crio_error_oom();
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return crio_error_sys(errno, "create exec pid file in %s", dir);
    close(fd);
    *out = TAKE_PTR(path);
    return 0;
}

static void remove_file(char **path)
{
    if (*path) {
        unlink(*path);
        free(*path);
    }
}

static int exec_failed(const crio_runtime *rt, const struct cmd *c, const crio_spawn_result *res)
{
    char msg[768];
    runtime_said(msg, sizeof msg, res);
    /* runc: "exec failed: cannot exec in a stopped container" */
    if (says(msg, "stopped container") || says(msg, "not running"))
        return crio_error_set(CRIO_EBUSY, "runtime %s exec %s: %s", rt->name, c->id, msg);
    return runtime_failed(rt, c, msg);
}

static void take_output(crio_exec_output *out, crio_spawn_result *res)
{
    out->exit_code = res->exit_code;
    out->out = TAKE_PTR(res->out);
    out->err = TAKE_PTR(res->err);
    out->out_len = res->out_len;
    out->err_len = res->err_len;
}

int crio_runtime_exec_sync(const crio_runtime *rt, const char *id, const cJSON *process, int64_t timeout_ms,
                           size_t cap, crio_exec_output *out)
{
    *out = (crio_exec_output){ .exit_code = -1 };
    struct cmd c;
    int e = cmd_begin(&c, rt, "exec", id);
    if (e < 0)
        return e;
    if (!cJSON_IsObject(process) || timeout_ms < 0)
        return crio_error_set(CRIO_EINVAL, "runtime %s exec %s: bad process or timeout", rt->name, id);
    _cleanup_close_ int fd = -1;
    _cleanup_(remove_file) char *pid_file = NULL;
    if ((e = json_memfd(&fd, process, "crio-process")) < 0 || (e = make_pid_file(&pid_file, rt)) < 0)
        return e;
    cmd_add(&c, "--process");
    cmd_add(&c, "/proc/self/fd/3");
    cmd_add(&c, "--pid-file");
    cmd_add(&c, pid_file);
    cmd_add(&c, id);
    crio_spawn_opts o = {
        .pass_fds = &fd, .n_pass_fds = 1, .out_cap = cap ? cap : EXEC_DEFAULT_CAP,
        .err_cap = cap ? cap : EXEC_DEFAULT_CAP,
        /* No limit asked: still bounded, by a day, so that a stuck exec is not forever. */
        .timeout_ms = timeout_ms ? timeout_ms : 24 * 3600 * 1000LL,
        .on_timeout = kill_exec_process, .payload = pid_file,
    };
    crio_spawn_result res;
    if ((e = cmd_run(rt, &c, &o, &res)) == 0) {
        /* The runtime writes the pid file only once the process started: else it failed itself. */
        if (res.exit_code != 0 && read_pid_file(pid_file) == 0)
            e = exec_failed(rt, &c, &res);
        else
            take_output(out, &res);
    }
    crio_spawn_result_free(&res);
    return e;
}

/* ---- create, through crio-monitor ---- */

static int make_ctl_fifo(const char *path, bool *made)
{
    *made = false;
    if (mkfifo(path, 0600) == 0) {
        *made = true;
        return 0;
    }
    int err = errno;
    struct stat st;
    /* A FIFO left by an earlier attempt for this container will do. */
    if (err == EEXIST && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode))
        return 0;
    return crio_error_sys(err, "create control FIFO %s", path);
}

/* Number arguments live as long as the command. */
struct monitor_cmd {
    struct cmd c;
    char log_max[24];
};

static void monitor_argv(struct monitor_cmd *m, const crio_runtime *rt, const crio_monitor_args *a)
{
    struct cmd *c = &m->c;
    c->n = 0;
    cmd_add(c, rt->monitor_path);
    const char *const pairs[][2] = {
        { "--id", a->id }, { "--runtime", rt->path }, { "--runtime-root", rt->root && *rt->root ? rt->root : NULL },
        { "--bundle", a->bundle }, { "--exit-file", a->exit_file }, { "--log-path", a->log_path },
        { "--ctl", a->ctl_path }, { "--attach", a->attach_path }, { "--oom-cgroup", a->oom_cgroup },
    };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(pairs); i++)
        if (pairs[i][1]) {
            cmd_add(c, pairs[i][0]);
            cmd_add(c, pairs[i][1]);
        }
    if (a->log_size_max >= 0) {
        snprintf(m->log_max, sizeof m->log_max, "%" PRId64, a->log_size_max);
        cmd_add(c, "--log-size-max");
        cmd_add(c, m->log_max);
    }
    if (a->terminal)
        cmd_add(c, "--terminal");
    if (a->stdin_open)
        cmd_add(c, "--stdin");
    if (a->stdin_once)
        cmd_add(c, "--stdin-once");
    /* The sync pipe is passed as the child's first fd after stdio (start_monitor). */
    cmd_add(c, "--sync-fd");
    cmd_add(c, "3");
}

static int check_monitor_args(const crio_runtime *rt, const crio_monitor_args *a)
{
    if (!a || !a->bundle || !a->exit_file || !a->log_path || !a->ctl_path || !a->attach_path)
        return crio_error_set(CRIO_EINVAL, "runtime %s create %s: missing monitor arguments", rt->name,
                              a && a->id ? a->id : "");
    return check_id(a->id);
}

/*
 * Kills whoever holds the write end of our sync pipe: the monitor (and what
 * it started without close-on-exec).  The monitor's first process exits and
 * its second has not told us its pid yet, so /proc is the only place to find
 * it.  Only called on the failure path.  Each holder's process group (its
 * session, after setsid) goes too, with the runtime it was waiting for, but
 * never our own group: a holder could be a plain fork of this process.
 */
static void kill_holder(pid_t pid)
{
    crio_log_warn("killing " MONITOR_NAME " pid %d", (int)pid);
    pid_t group = getpgid(pid);
    if (group > 1 && group != getpgrp())
        kill(-group, SIGKILL);
    kill(pid, SIGKILL);
}

static void kill_pipe_holders(int fd)
{
    struct stat st;
    _cleanup_closedir_ DIR *proc = fstat(fd, &st) == 0 ? opendir("/proc") : NULL;
    char want[64];
    snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
    pid_t self = getpid();
    for (struct dirent *d; proc && (d = readdir(proc));) {
        char *end;
        long pid = strtol(d->d_name, &end, 10);
        if (*end || pid <= 1 || pid == self)
            continue;
        char fddir[64];
        snprintf(fddir, sizeof fddir, "/proc/%ld/fd", pid);
        _cleanup_closedir_ DIR *fds = opendir(fddir);
        for (struct dirent *f; fds && (f = readdir(fds));) {
            char link[64];
            ssize_t n = readlinkat(dirfd(fds), f->d_name, link, sizeof link - 1);
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (strcmp(link, want) == 0) {
                kill_holder((pid_t)pid);
                break;
            }
        }
    }
}

/*
 * Reads the monitor's one line (up to '\n' or EOF) by the deadline.
 * Returns its length, 0 at EOF without a line, or CRIO_ETIMEDOUT.
 */
static int read_sync_line(int fd, char *buf, size_t size, int64_t deadline)
{
    size_t len = 0;
    for (;;) {
        int64_t left = deadline - crio_monotonic_ms();
        if (left <= 0)
            return CRIO_ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int k = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (k < 0 && errno != EINTR)
            return crio_error_sys(errno, "poll " MONITOR_NAME " sync pipe");
        if (k <= 0)
            continue;
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return crio_error_sys(errno, "read " MONITOR_NAME " sync pipe");
        len += (size_t)n;
        buf[len] = '\0';
        if (n == 0 || memchr(buf, '\n', len) || len == size - 1)
            return (int)len;
    }
}

static int parse_sync(const crio_runtime *rt, const char *id, const char *line, size_t len, pid_t *pid,
                      pid_t *monitor_pid)
{
    _cleanup_json_ cJSON *j = NULL;
    if (crio_json_parse(&j, line, len, CRIO_MONITOR_SYNC_MAX, MONITOR_NAME " report") < 0)
        return crio_error_set(CRIO_EINTERNAL, "runtime %s create %s: %s", rt->name, id,
                              crio_error_message(crio_error_last()));
    int64_t p = crio_json_int(j, "pid", -1), m = crio_json_int(j, "monitor_pid", -1);
    if (p > 0 && p <= INT_MAX && m > 0 && m <= INT_MAX) {
        *pid = (pid_t)p;
        *monitor_pid = (pid_t)m;
        return 0;
    }
    const char *err = crio_json_string(j, "error");
    char msg[768];
    /* The monitor passes the runtime's stderr on; keep just runc's messages from it. */
    if (!err || !logrus_messages(msg, sizeof msg, err))
        snprintf(msg, sizeof msg, "%s", err ? err : "no pid and no error in " MONITOR_NAME " report");
    return crio_error_set(CRIO_EINTERNAL, "runtime %s create %s: %s", rt->name, id, msg);
}

/* Starts the monitor and reaps its first process, which exits at once. */
static int start_monitor(const crio_runtime *rt, const crio_monitor_args *a, int sync_w, int64_t timeout_ms)
{
    struct monitor_cmd m;
    monitor_argv(&m, rt, a);
    /* The monitor's second process keeps stdout/stderr: /dev/null, not a pipe we would wait on. */
    crio_spawn_opts o = {
        .argv = m.c.argv, .envp = helper_env, .pass_fds = &sync_w, .n_pass_fds = 1, .timeout_ms = timeout_ms,
    };
    crio_spawn_result res;
    int e = crio_spawn_run(&res, &o);
    if (e == 0 && res.exit_code != 0)
        e = crio_spawn_error(CRIO_EUNAVAILABLE, &res, MONITOR_NAME " %s", rt->monitor_path);
    crio_spawn_result_free(&res);
    return e < 0 ? crio_error_wrap(e, "runtime %s create %s", rt->name, a->id) : 0;
}

/* After a timeout or a dead monitor: nothing of this attempt may stay behind. */
static void abandon_create(const crio_runtime *rt, const char *id, int sync_r)
{
    kill_pipe_holders(sync_r);
    crio_runtime_delete(rt, id, true);
}

static int wait_monitor(const crio_runtime *rt, const char *id, int sync_r, int64_t deadline, int64_t timeout_ms,
                        pid_t *pid, pid_t *monitor_pid)
{
    char line[CRIO_MONITOR_SYNC_MAX + 1];
    int n = read_sync_line(sync_r, line, sizeof line, deadline);
    if (n > 0)
        return parse_sync(rt, id, line, (size_t)n, pid, monitor_pid);
    /* Keep the reason: the cleanup below runs commands that set errors of their own. */
    int code = n < 0 ? n : CRIO_EINTERNAL;
    char msg[512];
    if (n == CRIO_ETIMEDOUT)
        snprintf(msg, sizeof msg, "runtime %s create %s: " MONITOR_NAME " did not report within %" PRId64 " ms",
                 rt->name, id, timeout_ms);
    else if (n == 0)
        snprintf(msg, sizeof msg, "runtime %s create %s: " MONITOR_NAME " exited without reporting", rt->name, id);
    else
        snprintf(msg, sizeof msg, "%s", crio_error_message(crio_error_last()));
    abandon_create(rt, id, sync_r);
    return crio_error_set(code, "%s", msg);
}

int crio_runtime_create(const crio_runtime *rt, const crio_monitor_args *args, int timeout_ms, pid_t *pid,
                        pid_t *monitor_pid)
{
    int e = check_monitor_args(rt, args);
    if (e < 0)
        return e;
    int64_t limit = timeout_ms > 0 ? timeout_ms : CRIO_RUNTIME_CREATE_TIMEOUT_MS;
    int64_t t0 = crio_monotonic_ms(), deadline = t0 + limit;
    bool made_fifo;
    if ((e = make_ctl_fifo(args->ctl_path, &made_fifo)) < 0)
        return e;
    int sync[2] = { -1, -1 };
    if (pipe2(sync, O_CLOEXEC) < 0)
        e = crio_error_sys(errno, "runtime %s create %s: sync pipe", rt->name, args->id);
    /* A first process that failed or hung may have forked already. */
    if (e == 0 && (e = start_monitor(rt, args, sync[1], limit)) < 0)
        kill_pipe_holders(sync[0]);
    if (sync[1] >= 0)
        close(sync[1]); /* so that EOF tells us the monitor is gone */
    if (e == 0)
        e = wait_monitor(rt, args->id, sync[0], deadline, limit, pid, monitor_pid);
    if (sync[0] >= 0)
        close(sync[0]);
    if (e < 0 && made_fifo)
        unlink(args->ctl_path);
    if (e == 0)
        crio_log_debug("runtime %s create %s: pid %d, monitor %d, %" PRId64 " ms", rt->name, args->id, (int)*pid,
                       (int)*monitor_pid, crio_monotonic_ms() - t0);
    return e;
}
