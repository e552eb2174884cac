/*
 * lib/runtime: resolving handlers, and every runtime command against the real
 * runc with busybox containers; create through stand-in monitors speaking
 * lib/runtime/monitor.h (each failure mode) and through the real crio-monitor
 * when it is built next to this binary's build directory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <crio/config.h>
#include <crio/handle.h>

#include "base/error.h"
#include "base/json.h"
#include "base/spawn.h"
#include "runtime/runtime.h"

#define RUNC "/usr/sbin/runc"

static char dir[64];
static char runc_root[128];
static char saved_path[4096];
static crio_config *cfg;
static crio *handle;

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Returns a path under the test's directory (one of 16 rotating buffers). */
static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *at(const char *fmt, ...)
{
    static char bufs[16][512];
    static int k;
    char *p = bufs[k++ % 16];
    char rel[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(p, 512, "%s/%s", dir, rel);
    return p;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    cr_assert_eq(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void set(const char *key, const char *value)
{
    cr_assert_eq(crio_config_set(cfg, key, value), 0, "%s: %s", key, errmsg());
}

static void open_handle(void)
{
    if (handle)
        crio_close(handle);
    handle = NULL;
    cr_assert_eq(crio_open(&handle, cfg), 0, "%s", errmsg());
}

/* A monitor that only has to exist: tests that never create use it. */
static const char *placeholder_monitor(void)
{
    const char *p = at("placeholder-monitor");
    write_file(p, "#!/bin/sh\nexit 99\n", 0755);
    return p;
}

static void setup(void)
{
    snprintf(saved_path, sizeof saved_path, "%s", getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin");
    strcpy(dir, "/tmp/rt-runtime-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(runc_root, sizeof runc_root, "%s/runc", dir);
    cr_assert_eq(mkdir(at("net.d"), 0755), 0);
    cr_assert_eq(crio_config_new(&cfg), 0);
    set("crio.root", at("root"));
    set("crio.runroot", at("run"));
    set("crio.network.network_dir", at("net.d"));
    set("crio.runtime.runtimes.runc.runtime_path", RUNC);
    set("crio.runtime.runtimes.runc.runtime_root", runc_root);
    set("crio.runtime.monitor_path", placeholder_monitor());
    open_handle();
}

/* Containers, cgroups and files of this test go, whatever the test left. */
static void teardown(void)
{
    if (!dir[0])
        return; /* already done: a skipped test cleans up before skipping */
    setenv("PATH", saved_path, 1); /* a test may have changed it */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "for id in $(" RUNC " --root %s list -q 2>/dev/null); do " RUNC " --root %s delete --force $id; done",
             runc_root, runc_root);
    cr_assert_eq(system(cmd), 0);
    char pattern[128];
    snprintf(pattern, sizeof pattern, "/sys/fs/cgroup/*/rt-test-%d-*", (int)getpid());
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            rmdir(g.gl_pathv[i]);
        globfree(&g);
    }
    crio_close(handle);
    handle = NULL;
    crio_config_free(cfg);
    cfg = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    dir[0] = '\0';
    cr_assert_eq(system(cmd), 0);
}

TestSuite(runtime, .init = setup, .fini = teardown);

static crio_runtime *get_runtime(void)
{
    crio_runtime *rt = NULL;
    cr_assert_eq(crio_runtime_get(&rt, handle, NULL), 0, "%s", errmsg());
    return rt;
}

/* ---- resolving handlers ---- */

Test(runtime, default_handler_resolves_from_config)
{
    set("crio.runtime.runtimes.other.runtime_path", "/bin/true");
    open_handle();
    crio_runtime *rt = get_runtime();
    cr_assert_str_eq(rt->name, "runc");
    cr_assert_str_eq(rt->path, RUNC);
    cr_assert_str_eq(rt->root, runc_root);
    cr_assert_str_eq(rt->monitor_path, at("placeholder-monitor"));
    cr_assert_str_eq(rt->tmp_dir, at("run/runtime"));
    crio_runtime_free(rt);
    cr_assert_eq(crio_runtime_get(&rt, handle, ""), 0, "%s", errmsg());
    cr_assert_str_eq(rt->name, "runc");
    crio_runtime_free(rt);
    cr_assert_eq(crio_runtime_get(&rt, handle, "other"), 0, "%s", errmsg());
    cr_assert_str_eq(rt->path, "/bin/true");
    cr_assert_str_eq(rt->root, "", "no runtime_root: the runtime's own default");
    crio_runtime_free(rt);
}

Test(runtime, unknown_handler_lists_configured_ones)
{
    set("crio.runtime.runtimes.kata.runtime_path", "/bin/true");
    open_handle();
    crio_runtime *rt = NULL;
    cr_assert_eq(crio_runtime_get(&rt, handle, "gvisor"), CRIO_EINVAL);
    cr_assert_null(rt);
    cr_assert(strstr(errmsg(), "\"gvisor\""), "%s", errmsg());
    cr_assert(strstr(errmsg(), "runc") && strstr(errmsg(), "kata"), "%s", errmsg());
}

Test(runtime, missing_runtime_binary_is_not_found)
{
    set("crio.runtime.runtimes.ghost.runtime_path", "/nonexistent/ghost-runtime");
    set("crio.runtime.runtimes.crio-no-such-runtime.runtime_path", "");
    open_handle();
    crio_runtime *rt = NULL;
    cr_assert_eq(crio_runtime_get(&rt, handle, "ghost"), CRIO_ENOTFOUND);
    cr_assert(strstr(errmsg(), "/nonexistent/ghost-runtime"), "%s", errmsg());
    cr_assert_eq(crio_runtime_get(&rt, handle, "crio-no-such-runtime"), CRIO_ENOTFOUND);
    cr_assert(strstr(errmsg(), "PATH"), "%s", errmsg());
}

Test(runtime, handler_monitor_path_wins_and_a_wrong_one_is_reported)
{
    const char *own = at("own-monitor");
    write_file(own, "#!/bin/sh\n", 0755);
    set("crio.runtime.runtimes.runc.monitor_path", own);
    open_handle();
    crio_runtime *rt = get_runtime();
    cr_assert_str_eq(rt->monitor_path, own);
    crio_runtime_free(rt);

    set("crio.runtime.runtimes.runc.monitor_path", at("missing-monitor"));
    open_handle();
    cr_assert_eq(crio_runtime_get(&rt, handle, "runc"), CRIO_ENOTFOUND);
    cr_assert(strstr(errmsg(), "missing-monitor"), "%s", errmsg());
    cr_assert(strstr(errmsg(), "monitor_path"), "%s", errmsg());
}

/* Unconfigured: next to the library (here: this static binary), libexec, then PATH. */
Test(runtime, monitor_is_searched_then_reported_with_where_it_looked)
{
    set("crio.runtime.monitor_path", "");
    open_handle();
    cr_assert_eq(mkdir(at("bin"), 0755), 0);
    setenv("PATH", at("bin"), 1);
    crio_runtime *rt = NULL;
    cr_assert_eq(crio_runtime_get(&rt, handle, NULL), CRIO_ENOTFOUND);
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    char near[600];
    snprintf(near, sizeof near, "%s/crio-monitor", self);
    cr_assert(strstr(errmsg(), near), "names the library's directory: %s", errmsg());
    cr_assert(strstr(errmsg(), "libexec/crio/crio-monitor"), "%s", errmsg());
    cr_assert(strstr(errmsg(), "crio.runtime.monitor_path"), "%s", errmsg());

    write_file(at("bin/crio-monitor"), "#!/bin/sh\n", 0755);
    cr_assert_eq(crio_runtime_get(&rt, handle, NULL), 0, "%s", errmsg());
    cr_assert_str_eq(rt->monitor_path, at("bin/crio-monitor"));
    crio_runtime_free(rt);
}

/* ---- bundles and containers ---- */

/* A cgroupfs path unique to this test process, so teardown finds what runc left. */
static const char *cgroup_of(const char *name)
{
    static char buf[4][128];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 128, "rt-test-%d-%s", (int)getpid(), name);
    return p;
}

/* bundles/NAME: a busybox rootfs and `runc spec` adjusted to run `args` without a terminal. */
static const char *make_bundle(const char *name, const char *const *args)
{
    const char *bundle = at("bundles/%s", name);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/rootfs/bin %s/rootfs/tmp && (ln /bin/busybox %s/rootfs/bin/busybox 2>/dev/null || "
             "cp /bin/busybox %s/rootfs/bin/busybox) && ln -s busybox %s/rootfs/bin/sh && " RUNC " spec -b %s",
             bundle, bundle, bundle, bundle, bundle, bundle);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    char config[600];
    snprintf(config, sizeof config, "%s/config.json", bundle);
    cJSON *spec = NULL;
    cr_assert_eq(crio_json_read_file(&spec, config, 1 << 20), 0, "%s", errmsg());
    cJSON *process = cJSON_GetObjectItem(spec, "process");
    cJSON_ReplaceItemInObject(process, "terminal", cJSON_CreateFalse());
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; args[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(args[i]));
    cJSON_ReplaceItemInObject(process, "args", a);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(spec, "root"), "readonly", cJSON_CreateFalse());
    char cg[160];
    snprintf(cg, sizeof cg, "/%s", cgroup_of(name));
    cJSON_AddStringToObject(cJSON_GetObjectItem(spec, "linux"), "cgroupsPath", cg);
    cr_assert_eq(crio_json_write_file(config, spec, 0644), 0, "%s", errmsg());
    cJSON_Delete(spec);
    return bundle;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define SLEEPER ARGS("/bin/busybox", "sleep", "1000")

/* Creates the container with runc itself (stdio on /dev/null), not through a monitor. */
static void runc_create(const char *id, const char *bundle)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, RUNC " --root %s create --bundle %s %s </dev/null >/dev/null 2>%s/create.err",
             runc_root, bundle, id, bundle);
    cr_assert_eq(system(cmd), 0, "runc create failed: %s", read_text(at("bundles/%s/create.err", id)));
}

static void expect_state(crio_runtime *rt, const char *id, const char *want, int ms)
{
    char *status = NULL;
    pid_t pid = -1;
    double end = now_ms() + ms;
    for (;;) {
        cr_assert_eq(crio_runtime_state(rt, id, &status, &pid), 0, "%s", errmsg());
        bool done = strcmp(status, want) == 0;
        if (done || now_ms() > end) {
            cr_assert_str_eq(status, want, "container %s", id);
            free(status);
            return;
        }
        free(status);
        usleep(5000);
    }
}

static int cgroup_procs(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/sys/fs/cgroup/pids/%s/cgroup.procs", cgroup_of(name));
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int n = 0, pid;
    while (fscanf(f, "%d", &pid) == 1)
        n++;
    fclose(f);
    return n;
}

static bool cgroup_exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/sys/fs/cgroup/memory/%s", cgroup_of(name));
    return access(path, F_OK) == 0;
}

static cJSON *process_json(const char *const *args)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(p, "args");
    for (size_t i = 0; args[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(args[i]));
    cJSON *env = cJSON_AddArrayToObject(p, "env");
    cJSON_AddItemToArray(env, cJSON_CreateString("PATH=/bin"));
    cJSON_AddStringToObject(p, "cwd", "/");
    cJSON *user = cJSON_AddObjectToObject(p, "user");
    cJSON_AddNumberToObject(user, "uid", 0);
    cJSON_AddNumberToObject(user, "gid", 0);
    return p;
}

static int exec_sync(crio_runtime *rt, const char *id, const char *const *args, int64_t timeout_ms, size_t cap,
                     crio_exec_output *out)
{
    cJSON *p = process_json(args);
    int e = crio_runtime_exec_sync(rt, id, p, timeout_ms, cap, out);
    cJSON_Delete(p);
    return e;
}

Test(runtime, lifecycle_start_exec_kill_delete)
{
    crio_runtime *rt = get_runtime();
    runc_create("life", make_bundle("life", SLEEPER));
    char *status = NULL;
    pid_t pid = -1;
    cr_assert_eq(crio_runtime_state(rt, "life", &status, &pid), 0, "%s", errmsg());
    cr_assert_str_eq(status, "created");
    cr_assert_gt(pid, 1);
    free(status);

    double t = now_ms();
    cr_assert_eq(crio_runtime_start(rt, "life"), 0, "%s", errmsg());
    cr_log_info("start: %.1f ms", now_ms() - t);
    expect_state(rt, "life", "running", 0);

    crio_exec_output out;
    t = now_ms();
    cr_assert_eq(exec_sync(rt, "life", ARGS("/bin/sh", "-c", "echo out; echo err >&2; exit 7"), 10000, 0, &out), 0,
                 "%s", errmsg());
    cr_log_info("exec_sync: %.1f ms", now_ms() - t);
    cr_assert_eq(out.exit_code, 7);
    cr_assert_str_eq(out.out, "out\n");
    cr_assert_eq(out.out_len, 4);
    cr_assert_str_eq(out.err, "err\n");
    crio_exec_output_free(&out);

    /* A process killed by a signal reports 128 + signal, as a success of exec itself. */
    cr_assert_eq(exec_sync(rt, "life", ARGS("/bin/sh", "-c", "kill -9 $$"), 10000, 0, &out), 0, "%s", errmsg());
    cr_assert_eq(out.exit_code, 137);
    crio_exec_output_free(&out);

    cr_assert_eq(crio_runtime_kill(rt, "life", SIGKILL, false), 0, "%s", errmsg());
    expect_state(rt, "life", "stopped", 5000);
    cr_assert_eq(crio_runtime_kill(rt, "life", SIGKILL, false), 0, "killing a stopped container: %s", errmsg());
    cr_assert_eq(crio_runtime_kill(rt, "life", SIGKILL, true), 0, "%s", errmsg());

    cr_assert_eq(exec_sync(rt, "life", ARGS("/bin/busybox", "true"), 10000, 0, &out), CRIO_EBUSY);
    cr_assert(strstr(errmsg(), "runtime runc exec life: "), "%s", errmsg());
    cr_assert(strstr(errmsg(), "stopped"), "%s", errmsg());

    cr_assert(cgroup_exists("life"));
    t = now_ms();
    cr_assert_eq(crio_runtime_delete(rt, "life", false), 0, "%s", errmsg());
    cr_log_info("delete: %.1f ms", now_ms() - t);
    cr_assert_not(cgroup_exists("life"), "runc removes the cgroup on delete");
    cr_assert_eq(crio_runtime_state(rt, "life", &status, &pid), CRIO_ENOTFOUND);
    cr_assert(strstr(errmsg(), "runtime runc state life: container does not exist"), "%s", errmsg());
    cr_assert_eq(crio_runtime_delete(rt, "life", false), 0, "deleting an unknown container: %s", errmsg());
    cr_assert_eq(crio_runtime_kill(rt, "life", SIGTERM, false), 0, "killing an unknown container: %s", errmsg());
    crio_runtime_free(rt);
}

Test(runtime, unknown_container_errors)
{
    crio_runtime *rt = get_runtime();
    cr_assert_eq(crio_runtime_start(rt, "nobody"), CRIO_ENOTFOUND);
    cr_assert_str_eq(errmsg(), "runtime runc start nobody: container does not exist");
    crio_exec_output out;
    cr_assert_eq(exec_sync(rt, "nobody", ARGS("/bin/true"), 5000, 0, &out), CRIO_ENOTFOUND, "%s", errmsg());
    cJSON *res = cJSON_Parse("{\"memory\":{\"limit\":67108864}}");
    cr_assert_eq(crio_runtime_update(rt, "nobody", res), CRIO_ENOTFOUND, "%s", errmsg());
    cJSON_Delete(res);
    cr_assert_eq(crio_runtime_start(rt, "--all"), CRIO_EINVAL, "an id is never taken for a flag");
    cr_assert_eq(crio_runtime_start(rt, "a/b"), CRIO_EINVAL);
    crio_runtime_free(rt);
}

Test(runtime, delete_running_needs_force)
{
    crio_runtime *rt = get_runtime();
    runc_create("busy", make_bundle("busy", SLEEPER));
    cr_assert_eq(crio_runtime_start(rt, "busy"), 0, "%s", errmsg());
    cr_assert_eq(crio_runtime_delete(rt, "busy", false), CRIO_EBUSY);
    cr_assert(strstr(errmsg(), "not stopped"), "%s", errmsg());
    cr_assert_eq(crio_runtime_delete(rt, "busy", true), 0, "%s", errmsg());
    char *status = NULL;
    cr_assert_eq(crio_runtime_state(rt, "busy", &status, NULL), CRIO_ENOTFOUND);
    cr_assert_not(cgroup_exists("busy"));
    crio_runtime_free(rt);
}

Test(runtime, exec_output_cap_missing_binary_and_timeout)
{
    crio_runtime *rt = get_runtime();
    runc_create("ex", make_bundle("ex", SLEEPER));
    cr_assert_eq(crio_runtime_start(rt, "ex"), 0, "%s", errmsg());
    crio_exec_output out;

    /* 200 KB of output, more than a pipe holds, kept to the first 100 bytes. */
    cr_assert_eq(exec_sync(rt, "ex", ARGS("/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' y"), 10000, 100,
                           &out),
                 0, "%s", errmsg());
    cr_assert_eq(out.exit_code, 0);
    cr_assert_eq(out.out_len, 100);
    cr_assert_eq(strspn(out.out, "y"), 100);
    crio_exec_output_free(&out);

    cr_assert_eq(exec_sync(rt, "ex", ARGS("/no/such/binary"), 10000, 0, &out), CRIO_EINTERNAL);
    cr_assert(strstr(errmsg(), "runtime runc exec ex: "), "%s", errmsg());
    cr_assert(strstr(errmsg(), "/no/such/binary"), "%s", errmsg());
    cr_assert_eq(out.exit_code, -1);

    cr_assert_eq(cgroup_procs("ex"), 1);
    double t = now_ms();
    cr_assert_eq(exec_sync(rt, "ex", ARGS("/bin/busybox", "sleep", "60"), 400, 0, &out), CRIO_ETIMEDOUT);
    double took = now_ms() - t;
    cr_log_info("exec timeout of 400 ms returned after %.0f ms", took);
    cr_assert_lt(took, 2500, "%.0f ms", took);
    cr_assert(strstr(errmsg(), "runtime runc exec ex") && strstr(errmsg(), "timed out after 400 ms"), "%s",
              errmsg());
    /* The exec'd sleep was killed, not just runc: only the container's init is left. */
    for (int i = 0; i < 200 && cgroup_procs("ex") != 1; i++)
        usleep(10000);
    cr_assert_eq(cgroup_procs("ex"), 1, "the exec'd process outlived its timeout");
    expect_state(rt, "ex", "running", 0);

    /* No pid files are left behind in the runtime's scratch directory. */
    glob_t g;
    char pattern[256];
    snprintf(pattern, sizeof pattern, "%s/exec-*", rt->tmp_dir);
    cr_assert_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
    crio_runtime_free(rt);
}

static long read_long(const char *path)
{
    char *t = read_text(path);
    return t ? atol(t) : -1;
}

Test(runtime, update_memory_limit_reaches_the_cgroup)
{
    crio_runtime *rt = get_runtime();
    runc_create("upd", make_bundle("upd", SLEEPER));
    cr_assert_eq(crio_runtime_start(rt, "upd"), 0, "%s", errmsg());
    char limit[256];
    snprintf(limit, sizeof limit, "/sys/fs/cgroup/memory/%s/memory.limit_in_bytes", cgroup_of("upd"));
    cr_assert_neq(read_long(limit), 64L << 20);
    cJSON *res = cJSON_Parse("{\"memory\":{\"limit\":67108864},\"cpu\":{\"shares\":512}}");
    double t = now_ms();
    cr_assert_eq(crio_runtime_update(rt, "upd", res), 0, "%s", errmsg());
    cr_log_info("update: %.1f ms", now_ms() - t);
    cJSON_Delete(res);
    cr_assert_eq(read_long(limit), 64L << 20);
    char shares[256];
    snprintf(shares, sizeof shares, "/sys/fs/cgroup/cpu/%s/cpu.shares", cgroup_of("upd"));
    cr_assert_eq(read_long(shares), 512);

    cJSON *bad = cJSON_CreateArray();
    cr_assert_eq(crio_runtime_update(rt, "upd", bad), CRIO_EINVAL);
    cJSON_Delete(bad);
    /* runc refuses a limit below the usage it already has: its message comes through. */
    res = cJSON_Parse("{\"memory\":{\"limit\":4096}}");
    cr_assert_eq(crio_runtime_update(rt, "upd", res), CRIO_EINTERNAL);
    cr_assert(strstr(errmsg(), "runtime runc update upd: "), "%s", errmsg());
    cJSON_Delete(res);
    cr_assert_eq(read_long(limit), 64L << 20);
    crio_runtime_free(rt);
}

/* ---- a runtime that fails ---- */

Test(runtime, failing_runtime_message_is_reported)
{
    const char *bad = at("bad-runtime");
    write_file(bad,
               "#!/bin/sh\n"
               "echo 'time=\"2024-01-01T00:00:00Z\" level=warning msg=\"a warning, not the reason\"' >&2\n"
               "echo 'time=\"2024-01-01T00:00:00Z\" level=error msg=\"refused: \\\"quota\\\" exceeded\"' >&2\n"
               "exit 1\n",
               0755);
    const char *plain = at("plain-runtime");
    write_file(plain, "#!/bin/sh\nprintf '  plain failure  \\n' >&2\nexit 3\n", 0755);
    const char *silent = at("silent-runtime");
    write_file(silent, "#!/bin/sh\nexit 5\n", 0755);
    set("crio.runtime.runtimes.bad.runtime_path", bad);
    set("crio.runtime.runtimes.plain.runtime_path", plain);
    set("crio.runtime.runtimes.silent.runtime_path", silent);
    open_handle();
    crio_runtime *rt = NULL;
    cr_assert_eq(crio_runtime_get(&rt, handle, "bad"), 0, "%s", errmsg());
    cr_assert_eq(crio_runtime_start(rt, "c1"), CRIO_EINTERNAL);
    cr_assert_str_eq(errmsg(), "runtime bad start c1: refused: \"quota\" exceeded");
    cr_assert_eq(crio_runtime_kill(rt, "c1", 9, false), CRIO_EINTERNAL);
    crio_runtime_free(rt);

    cr_assert_eq(crio_runtime_get(&rt, handle, "plain"), 0, "%s", errmsg());
    cr_assert_eq(crio_runtime_delete(rt, "c1", true), CRIO_EINTERNAL);
    cr_assert_str_eq(errmsg(), "runtime plain delete c1: plain failure");
    char *status = NULL;
    cr_assert_eq(crio_runtime_state(rt, "c1", &status, NULL), CRIO_EINTERNAL);
    crio_runtime_free(rt);

    cr_assert_eq(crio_runtime_get(&rt, handle, "silent"), 0, "%s", errmsg());
    cr_assert_eq(crio_runtime_start(rt, "c1"), CRIO_EINTERNAL);
    cr_assert_str_eq(errmsg(), "runtime silent start c1: exit status 5");
    /* The binary disappears after it was resolved: the runtime is unavailable. */
    cr_assert_eq(unlink(silent), 0);
    cr_assert_eq(crio_runtime_start(rt, "c1"), CRIO_EUNAVAILABLE);
    cr_assert(strstr(errmsg(), "runtime silent start c1: ") && strstr(errmsg(), silent), "%s", errmsg());
    crio_runtime_free(rt);
}

Test(runtime, state_output_that_is_not_json_is_internal)
{
    const char *odd = at("odd-runtime");
    write_file(odd, "#!/bin/sh\necho 'not json'\n", 0755);
    set("crio.runtime.runtimes.odd.runtime_path", odd);
    open_handle();
    crio_runtime *rt = NULL;
    cr_assert_eq(crio_runtime_get(&rt, handle, "odd"), 0, "%s", errmsg());
    char *status = NULL;
    cr_assert_eq(crio_runtime_state(rt, "c1", &status, NULL), CRIO_EINTERNAL);
    cr_assert(strstr(errmsg(), "runtime odd state c1"), "%s", errmsg());
    cr_assert_null(status);
    crio_runtime_free(rt);
}

/* ---- create through a monitor ---- */

static crio_monitor_args monitor_args(const char *id, const char *bundle)
{
    return (crio_monitor_args){
        .id = id, .bundle = bundle, .exit_file = at("bundles/%s/exit", id), .log_path = at("bundles/%s/log", id),
        .ctl_path = at("bundles/%s/ctl", id), .attach_path = at("bundles/%s/attach", id), .log_size_max = -1,
    };
}

/*
 * A stand-in for crio-monitor: records its arguments, then its first process
 * exits and a second one (bundle/monitor.pid) does what MODE says with the
 * sync fd: "ok" has runc create the container and reports it; "reply"
 * writes what the test put in DIR/sync-reply; "hang" never reports; "die"
 * exits silently; "fail" is a first process that fails before forking.
 */
static void use_fake_monitor(const char *mode)
{
    char script[4096];
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "printf '%%s\\n' \"$@\" > %s/monitor-args\n"
             "mode=%s\n"
             "[ $mode = fail ] && exit 2\n"
             "while [ $# -gt 0 ]; do case \"$1\" in\n"
             "  --id) id=$2; shift;; --runtime) rt=$2; shift;; --runtime-root) root=$2; shift;;\n"
             "  --bundle) bundle=$2; shift;; --sync-fd) sfd=$2; shift;;\n"
             "esac; shift; done\n"
             "[ \"$sfd\" = 3 ] || exit 3\n"
             "exec 1>&- 2>&-\n"
             "sh -c '\n"
             "  echo $$ > \"$1/monitor.pid\"\n"
             "  case $0 in\n"
             "  ok) \"$2\" --root \"$3\" create --bundle \"$1\" --pid-file \"$1/pidfile\" \"$4\" </dev/null "
             ">/dev/null 2>/dev/null\n"
             "      echo \"{\\\"pid\\\": $(cat \"$1/pidfile\"), \\\"monitor_pid\\\": $$}\" >&3;;\n"
             "  reply) cat %s/sync-reply >&3; exit 1;;\n"
             "  hang) exec sleep 1000;;\n"
             "  die) exit 1;;\n"
             "  esac' $mode \"$bundle\" \"$rt\" \"$root\" \"$id\" &\n"
             "exit 0\n",
             dir, mode, dir);
    const char *path = at("fake-monitor-%s", mode);
    write_file(path, script, 0755);
    set("crio.runtime.monitor_path", path);
    open_handle();
}

static pid_t read_pid(const char *path)
{
    for (int i = 0; i < 200; i++) {
        long p = read_long(path);
        if (p > 0)
            return (pid_t)p;
        usleep(5000);
    }
    cr_assert_fail("no pid in %s", path);
    return -1;
}

static bool gone(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *t = read_text(path);
    /* Init here may leave zombies a while: one counts as gone. */
    return !t || strstr(t, ") Z ");
}

Test(runtime, create_through_fake_monitor_passes_protocol_arguments)
{
    use_fake_monitor("ok");
    crio_runtime *rt = get_runtime();
    const char *bundle = make_bundle("viafake", SLEEPER);
    crio_monitor_args a = monitor_args("viafake", bundle);
    a.oom_cgroup = "/sys/fs/cgroup/memory/x";
    a.log_size_max = 1024;
    a.stdin_open = a.stdin_once = true;
    pid_t pid = -1, mon = -1;
    double t = now_ms();
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), 0, "%s", errmsg());
    cr_log_info("create via a shell stand-in monitor: %.1f ms", now_ms() - t);
    cr_assert_gt(pid, 1);
    cr_assert_eq(mon, read_pid(at("bundles/viafake/monitor.pid")));
    char *status = NULL;
    pid_t spid = -1;
    cr_assert_eq(crio_runtime_state(rt, "viafake", &status, &spid), 0, "%s", errmsg());
    cr_assert_str_eq(status, "created");
    cr_assert_eq(spid, pid);
    free(status);
    struct stat st;
    cr_assert_eq(stat(a.ctl_path, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode));

    char want[4096];
    snprintf(want, sizeof want,
             "--id\nviafake\n--runtime\n" RUNC "\n--runtime-root\n%s\n--bundle\n%s\n--exit-file\n%s\n"
             "--log-path\n%s\n--ctl\n%s\n--attach\n%s\n--oom-cgroup\n/sys/fs/cgroup/memory/x\n"
             "--log-size-max\n1024\n--stdin\n--stdin-once\n--sync-fd\n3\n",
             runc_root, bundle, a.exit_file, a.log_path, a.ctl_path, a.attach_path);
    cr_assert_str_eq(read_text(at("monitor-args")), want);
    crio_runtime_free(rt);
}

Test(runtime, create_reports_the_runtimes_error)
{
    use_fake_monitor("reply");
    /* As the monitor passes runc's stderr on: a logrus line, of which the msg is kept. */
    write_file(at("sync-reply"),
               "{\"pid\": -1, \"error\": \"time=\\\"x\\\" level=error msg=\\\"runc create failed: boom\\\"\"}\n",
               0644);
    crio_runtime *rt = get_runtime();
    crio_monitor_args a = monitor_args("err", make_bundle("err", SLEEPER));
    pid_t pid = -1, mon = -1;
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), CRIO_EINTERNAL);
    cr_assert_str_eq(errmsg(), "runtime runc create err: runc create failed: boom");
    cr_assert_eq(access(a.ctl_path, F_OK), -1, "the FIFO made for this attempt is removed");
    crio_runtime_free(rt);
}

Test(runtime, create_timeout_kills_the_monitor)
{
    use_fake_monitor("hang");
    crio_runtime *rt = get_runtime();
    crio_monitor_args a = monitor_args("hang", make_bundle("hang", SLEEPER));
    pid_t pid = -1, mon = -1;
    double t = now_ms();
    cr_assert_eq(crio_runtime_create(rt, &a, 500, &pid, &mon), CRIO_ETIMEDOUT);
    double took = now_ms() - t;
    cr_assert_lt(took, 2500, "%.0f ms", took);
    cr_assert_geq(took, 490, "%.0f ms", took);
    cr_assert(strstr(errmsg(), "runtime runc create hang: crio-monitor did not report within 500 ms"), "%s",
              errmsg());
    pid_t hung = read_pid(at("bundles/hang/monitor.pid"));
    for (int i = 0; i < 200 && !gone(hung); i++)
        usleep(5000);
    cr_assert(gone(hung), "monitor %d left running", (int)hung);
    crio_runtime_free(rt);
}

Test(runtime, create_with_monitor_dying_or_failing)
{
    use_fake_monitor("die");
    crio_runtime *rt = get_runtime();
    crio_monitor_args a = monitor_args("die", make_bundle("die", SLEEPER));
    pid_t pid = -1, mon = -1;
    double t = now_ms();
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), CRIO_EINTERNAL);
    cr_assert_lt(now_ms() - t, 2000, "EOF on the sync pipe is noticed at once");
    cr_assert(strstr(errmsg(), "crio-monitor exited without reporting"), "%s", errmsg());
    crio_runtime_free(rt);

    use_fake_monitor("fail");
    rt = get_runtime();
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), CRIO_EUNAVAILABLE);
    cr_assert(strstr(errmsg(), "exit status 2"), "%s", errmsg());
    crio_runtime_free(rt);

    set("crio.runtime.monitor_path", at("placeholder-monitor"));
    open_handle();
    rt = get_runtime();
    free(rt->monitor_path);
    rt->monitor_path = strdup(at("vanished-monitor"));
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), CRIO_EUNAVAILABLE);
    cr_assert(strstr(errmsg(), "vanished-monitor"), "%s", errmsg());
    a.bundle = NULL;
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), CRIO_EINVAL);
    crio_runtime_free(rt);
}

/* ---- the real crio-monitor ---- */

/* $(B)/crio-monitor, two levels above this binary ($(B)/tests/unit). */
static bool use_real_monitor(void)
{
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    char mon[600];
    snprintf(mon, sizeof mon, "%s/../../crio-monitor", self);
    char *real = realpath(mon, NULL);
    if (!real || access(real, X_OK) != 0) {
        free(real);
        return false;
    }
    set("crio.runtime.monitor_path", real);
    free(real);
    open_handle();
    return true;
}

static char *wait_file(const char *path, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        char *t = read_text(path);
        if (t && *t)
            return t;
        usleep(5000);
    }
    return read_text(path);
}

Test(runtime, real_monitor_lifecycle)
{
    if (!use_real_monitor()) {
        teardown(); /* Criterion does not run .fini for a skipped test */
        cr_skip_test("crio-monitor is not built next to this test");
    }
    crio_runtime *rt = get_runtime();
    const char *bundle = make_bundle("real", ARGS("/bin/sh", "-c", "echo hello; read x; exit 3"));
    crio_monitor_args a = monitor_args("real", bundle);
    a.stdin_open = true;
    pid_t pid = -1, mon = -1;
    double t = now_ms();
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), 0, "%s", errmsg());
    cr_log_info("create via crio-monitor: %.1f ms", now_ms() - t);
    cr_assert_gt(pid, 1);
    cr_assert_gt(mon, 1);
    cr_assert_neq(pid, mon);
    expect_state(rt, "real", "created", 0);
    t = now_ms();
    cr_assert_eq(crio_runtime_start(rt, "real"), 0, "%s", errmsg());
    cr_log_info("start: %.1f ms", now_ms() - t);
    char *log = wait_file(a.log_path, 5000);
    cr_assert(log && strstr(log, " stdout F hello\n"), "log: %s", log ? log : "(none)");

    crio_exec_output out;
    cr_assert_eq(exec_sync(rt, "real", ARGS("/bin/busybox", "echo", "in-exec"), 10000, 0, &out), 0, "%s",
                 errmsg());
    cr_assert_str_eq(out.out, "in-exec\n");
    crio_exec_output_free(&out);

    cr_assert_eq(crio_runtime_kill(rt, "real", SIGKILL, false), 0, "%s", errmsg());
    char *exit_json = wait_file(a.exit_file, 5000);
    cr_assert_not_null(exit_json, "no exit file");
    cJSON *j = cJSON_Parse(exit_json);
    cr_assert_not_null(j, "%s", exit_json);
    cr_assert_eq(crio_json_int(j, "exit_code", -1), 137, "%s", exit_json);
    cr_assert_eq(crio_json_int(j, "signal", -1), SIGKILL, "%s", exit_json);
    cJSON_Delete(j);
    expect_state(rt, "real", "stopped", 5000);
    for (int i = 0; i < 400 && !gone(mon); i++)
        usleep(5000);
    cr_assert(gone(mon), "the monitor exits after the container");
    cr_assert_eq(crio_runtime_delete(rt, "real", false), 0, "%s", errmsg());
    crio_runtime_free(rt);
}

Test(runtime, real_monitor_reports_runtime_failure)
{
    if (!use_real_monitor()) {
        teardown(); /* Criterion does not run .fini for a skipped test */
        cr_skip_test("crio-monitor is not built next to this test");
    }
    crio_runtime *rt = get_runtime();
    crio_monitor_args a = monitor_args("broken", make_bundle("broken", SLEEPER));
    /* A bundle whose rootfs is missing: runc create fails and says why. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s/rootfs", a.bundle);
    cr_assert_eq(system(cmd), 0);
    pid_t pid = -1, mon = -1;
    cr_assert_eq(crio_runtime_create(rt, &a, 10000, &pid, &mon), CRIO_EINTERNAL);
    cr_assert(strstr(errmsg(), "runtime runc create broken: "), "%s", errmsg());
    cr_assert(strstr(errmsg(), "rootfs"), "the runtime's reason is included: %s", errmsg());
    cr_log_info("%s", errmsg());
    char *status = NULL;
    cr_assert_eq(crio_runtime_state(rt, "broken", &status, NULL), CRIO_ENOTFOUND);
    crio_runtime_free(rt);
}
