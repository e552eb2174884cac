/*
 * crio-monitor and crio-pause, run for real: a busybox bundle, runc, cgroups.
 * Each test builds its own bundle and runc root under /tmp/mon-test-*, starts
 * the monitor the way libcrio does (sync pipe, /dev/null stdin), and checks
 * what it leaves: the sync line, the CRI log, the exit file.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/monitor.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#define SYNC_FD 9
#define DEADLINE_MS 20000

static char tmp[64];        /* /tmp/mon-test-XXXXXX */
static char id[64];         /* container id and cgroup name */
static char monitor_bin[PATH_MAX], pause_bin[PATH_MAX], runc_bin[64];
static pid_t monitor_pid = -1, container_pid = -1, pause_pid = -1;

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Polls `cond` every 10 ms until it holds or `ms` pass; its last value. */
#define WAIT_UNTIL(cond, ms)                                                                                 \
    ({                                                                                                       \
        int64_t end_ = now_ms() + (ms);                                                                      \
        bool ok_;                                                                                            \
        while (!(ok_ = (cond)) && now_ms() < end_)                                                           \
            usleep(10000);                                                                                   \
        ok_;                                                                                                 \
    })

static const char *path_of(const char *name)
{
    /* Rotating buffers: a few can be used in one expression. */
    static char bufs[16][PATH_MAX];
    static int next;
    char *p = bufs[next++ % 16];
    snprintf(p, PATH_MAX, "%s/%s", tmp, name);
    return p;
}

/* The whole file, NUL-terminated (the caller frees), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + used, 1, cap - used - 1, f)) > 0) {
        used += n;
        if (cap - used < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

static void spew(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static bool file_contains(const char *path, const char *needle)
{
    char *s = slurp(path, NULL);
    bool found = s && strstr(s, needle);
    free(s);
    return found;
}

/* A process is gone once it is reaped or a zombie (its parent may not reap). */
static bool process_gone(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "re");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !rp || rp[2] == 'Z' || rp[2] == 'X';
}

static pid_t parent_of(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "re");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char state;
    int ppid;
    cr_assert_eq(sscanf(strrchr(buf, ')') + 2, "%c %d", &state, &ppid), 2);
    return ppid;
}

/* A "Key:" number of /proc/PID/status. */
static long proc_status(pid_t pid, const char *key)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "re");
    cr_assert_not_null(f);
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            v = strtol(line + klen + 1, NULL, 10);
    fclose(f);
    return v;
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int runc(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s --root %s %s >>%s 2>&1", runc_bin, path_of("runc"), args, path_of("runc.log"));
    return run(cmd);
}

/* ---- the bundle ---- */

static void copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static cJSON *mount_entry(const char *dest, const char *type, const char *const *options)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "destination", dest);
    cJSON_AddStringToObject(m, "type", type);
    cJSON_AddStringToObject(m, "source", type);
    cJSON *opts = cJSON_AddArrayToObject(m, "options");
    for (; options && *options; options++)
        cJSON_AddItemToArray(opts, cJSON_CreateString(*options));
    return m;
}

/* A bundle whose process is `busybox sh -c SCRIPT`, in the test's own cgroup. */
static void make_bundle(const char *script, bool terminal, long memory_limit)
{
    cr_assert_eq(mkdir(path_of("bundle"), 0755), 0);
    cr_assert_eq(mkdir(path_of("bundle/rootfs"), 0755), 0);
    cr_assert_eq(mkdir(path_of("bundle/rootfs/bin"), 0755), 0);
    copy_file("/bin/busybox", path_of("bundle/rootfs/bin/busybox"), 0755);

    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "ociVersion", "1.0.2");
    cJSON *proc = cJSON_AddObjectToObject(spec, "process");
    cJSON_AddBoolToObject(proc, "terminal", terminal);
    cJSON *user = cJSON_AddObjectToObject(proc, "user");
    cJSON_AddNumberToObject(user, "uid", 0);
    cJSON_AddNumberToObject(user, "gid", 0);
    const char *args[] = { "/bin/busybox", "sh", "-c", script };
    cJSON_AddItemToObject(proc, "args", cJSON_CreateStringArray(args, 4));
    const char *env[] = { "PATH=/bin", "TERM=xterm" };
    cJSON_AddItemToObject(proc, "env", cJSON_CreateStringArray(env, 2));
    cJSON_AddStringToObject(proc, "cwd", "/");
    cJSON_AddBoolToObject(proc, "noNewPrivileges", true);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "root"), "path", "rootfs");
    cJSON_AddStringToObject(spec, "hostname", "mon");

    cJSON *mounts = cJSON_AddArrayToObject(spec, "mounts");
    const char *dev_opts[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
    const char *pts_opts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
    cJSON_AddItemToArray(mounts, mount_entry("/proc", "proc", NULL));
    cJSON_AddItemToArray(mounts, mount_entry("/dev", "tmpfs", dev_opts));
    cJSON_AddItemToArray(mounts, mount_entry("/dev/pts", "devpts", pts_opts));

    cJSON *linux_ = cJSON_AddObjectToObject(spec, "linux");
    cJSON *nss = cJSON_AddArrayToObject(linux_, "namespaces");
    const char *types[] = { "pid", "ipc", "uts", "mount", "network" };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        cJSON *ns = cJSON_CreateObject();
        cJSON_AddStringToObject(ns, "type", types[i]);
        cJSON_AddItemToArray(nss, ns);
    }
    char cg[80];
    snprintf(cg, sizeof cg, "/%s", id);
    cJSON_AddStringToObject(linux_, "cgroupsPath", cg);
    if (memory_limit > 0) {
        /* swap = limit: with swap the container would page out instead of OOM. */
        cJSON *mem = cJSON_AddObjectToObject(cJSON_AddObjectToObject(linux_, "resources"), "memory");
        cJSON_AddNumberToObject(mem, "limit", (double)memory_limit);
        cJSON_AddNumberToObject(mem, "swap", (double)memory_limit);
    }
    char *text = cJSON_Print(spec);
    spew(path_of("bundle/config.json"), text);
    free(text);
    cJSON_Delete(spec);
}

/* ---- the monitor ---- */

struct started {
    int first_status; /* of the process libcrio starts, which must exit at once */
    cJSON *sync;      /* the sync line, parsed */
};

static const char *oom_cgroup(void)
{
    static char p[128];
    snprintf(p, sizeof p, "/sys/fs/cgroup/memory/%s", id);
    return p;
}

/* Reads the one sync line, with a deadline. */
static cJSON *read_sync(int fd)
{
    char line[CRIO_MONITOR_SYNC_MAX + 1];
    size_t used = 0;
    int64_t end = now_ms() + DEADLINE_MS;
    while (used < sizeof line - 1 && !memchr(line, '\n', used)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = (int)(end - now_ms());
        cr_assert_gt(left, 0, "no sync line within %d ms", DEADLINE_MS);
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = read(fd, line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    line[used] = '\0';
    cr_assert(used > 0 && line[used - 1] == '\n', "sync line \"%s\" is not one full line", line);
    cJSON *j = cJSON_Parse(line);
    cr_assert_not_null(j, "sync line \"%s\" is not JSON", line);
    return j;
}

/*
 * Starts crio-monitor as libcrio does, with `extra` options after the
 * defaults (a later option overrides an earlier one), and waits for the
 * first process.  Also leaves an unrelated fd open across the exec, which
 * the monitor must not keep.  *sync gets the sync pipe's read end.
 */
static int spawn_monitor(const char *const *extra, int *sync)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    const char *argv[64] = {
        monitor_bin, "--id", id, "--runtime", runc_bin, "--runtime-root", path_of("runc"),
        "--bundle", path_of("bundle"), "--exit-file", path_of("exit"), "--log-path", path_of("ctr.log"),
        "--ctl", path_of("ctl"), "--attach", path_of("attach"), "--oom-cgroup", oom_cgroup(),
        "--log-level", "debug", "--sync-fd", "9",
    };
    size_t n = 0;
    while (argv[n])
        n++;
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        int err = open(path_of("monitor.err"), O_WRONLY | O_CREAT | O_APPEND, 0644);
        int leak = open(path_of("leaked"), O_WRONLY | O_CREAT, 0644); /* no O_CLOEXEC */
        if (null < 0 || err < 0 || leak < 0 || dup2(null, 0) < 0 || dup2(err, 1) < 0 || dup2(err, 2) < 0 ||
            dup2(p[1], SYNC_FD) < 0)
            _exit(127);
        execv(monitor_bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    *sync = p[0];
    return status;
}

/* spawn_monitor, then the sync line. */
static struct started start_monitor(const char *const *extra)
{
    int fd;
    struct started s = { .first_status = spawn_monitor(extra, &fd) };
    s.sync = read_sync(fd);
    close(fd);
    cJSON *jp = cJSON_GetObjectItem(s.sync, "pid");
    cJSON *jm = cJSON_GetObjectItem(s.sync, "monitor_pid");
    cr_assert(cJSON_IsNumber(jp));
    container_pid = jp->valueint;
    monitor_pid = cJSON_IsNumber(jm) ? jm->valueint : -1;
    return s;
}

/* Starts a monitor for `script` and checks it reported a created container. */
static void start_container(const char *script, const char *const *extra)
{
    make_bundle(script, false, 0);
    cr_assert_eq(mkfifo(path_of("ctl"), 0600), 0);
    struct started s = start_monitor(extra);
    cr_assert(WIFEXITED(s.first_status) && WEXITSTATUS(s.first_status) == 0,
              "the first monitor process exits 0 at once");
    cr_assert_gt(container_pid, 0, "create failed: %s", cJSON_PrintUnformatted(s.sync));
    cr_assert_gt(monitor_pid, 0);
    cJSON_Delete(s.sync);
}

struct exit_info {
    int code, sig;
    bool oom;
    int64_t at;
};

static struct exit_info wait_exit(void)
{
    cr_assert(WAIT_UNTIL(exists(path_of("exit")), DEADLINE_MS), "no exit file");
    char *text = slurp(path_of("exit"), NULL);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "exit file \"%s\"", text);
    struct exit_info e = {
        .code = cJSON_GetObjectItem(j, "exit_code")->valueint,
        .sig = cJSON_GetObjectItem(j, "signal")->valueint,
        .oom = cJSON_IsTrue(cJSON_GetObjectItem(j, "oom_killed")),
        .at = (int64_t)cJSON_GetObjectItem(j, "finished_at")->valuedouble,
    };
    cr_assert(cJSON_IsBool(cJSON_GetObjectItem(j, "oom_killed")));
    cJSON_Delete(j);
    free(text);
    /* Then the monitor is done: it exits and takes its socket with it. */
    cr_assert(WAIT_UNTIL(process_gone(monitor_pid), DEADLINE_MS), "monitor %d still running", monitor_pid);
    cr_assert_not(exists(path_of("attach")), "the attach socket is removed");
    return e;
}

/* The monitor's own messages hold no error and no sanitizer report. */
static void assert_monitor_quiet(void)
{
    char *err = slurp(path_of("monitor.err"), NULL);
    cr_assert_not_null(err);
    cr_assert_null(strstr(err, ": error:"), "monitor errors: %s", err);
    cr_assert_null(strstr(err, "Sanitizer"), "monitor: %s", err);
    cr_assert_null(strstr(err, "runtime error"), "monitor: %s", err);
    free(err);
}

/* Whether a live process has `needle` among its arguments. */
static bool process_with_arg(const char *needle)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d))) {
        char p[300];
        snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
        size_t len;
        char *cmd = slurp(p, &len);
        if (!cmd)
            continue;
        for (size_t off = 0; off < len; off += strlen(cmd + off) + 1)
            if (strcmp(cmd + off, needle) == 0 && !process_gone(atoi(e->d_name)))
                found = true;
        free(cmd);
    }
    closedir(d);
    return found;
}

/* ---- the CRI log ---- */

struct entry {
    char stream[8];
    char tag;
    char *text;
    int64_t ns;
};

/* "2006-01-02T15:04:05.000000000Z" to ns, or -1 when malformed. */
static int64_t parse_ts(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return -1;
    struct tm tm = { 0 };
    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
           &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000000000 + strtoll(s + 20, NULL, 10);
}

/* Parses every line, checking the format strictly; returns the count. */
static size_t parse_log(const char *path, struct entry *out, size_t max)
{
    char *data = slurp(path, NULL);
    cr_assert_not_null(data, "no log %s", path);
    size_t n = 0;
    int64_t prev = 0;
    for (char *line = data; *line;) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "log ends without a newline: \"%s\"", line);
        *nl = '\0';
        cr_assert_lt(n, max);
        struct entry *e = &out[n++];
        e->ns = parse_ts(line);
        cr_assert_geq(e->ns, 0, "bad timestamp in \"%.60s\"", line);
        cr_assert_geq(e->ns, prev, "timestamps go back in \"%.60s\"", line);
        prev = e->ns;
        cr_assert_eq(line[30], ' ');
        cr_assert(strncmp(line + 31, "stdout ", 7) == 0 || strncmp(line + 31, "stderr ", 7) == 0, "stream in \"%.60s\"",
                  line);
        memcpy(e->stream, line + 31, 6);
        e->stream[6] = '\0';
        e->tag = line[38];
        cr_assert(e->tag == 'P' || e->tag == 'F');
        cr_assert_eq(line[39], ' ');
        e->text = strdup(line + 40);
        line = nl + 1;
    }
    free(data);
    return n;
}

static void free_entries(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].text);
}

/* ---- set-up ---- */

static void find_binaries(void)
{
    /* This test is $(B)/tests/unit/test_monitor; the programs are $(B)/crio-*. */
    char self[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = '\0';
    for (int up = 0; up < 3; up++)
        *strrchr(self, '/') = '\0';
    snprintf(monitor_bin, sizeof monitor_bin, "%s/crio-monitor", self);
    snprintf(pause_bin, sizeof pause_bin, "%s/crio-pause", self);
    cr_assert(access(monitor_bin, X_OK) == 0, "%s: %s", monitor_bin, strerror(errno));
    cr_assert(access(pause_bin, X_OK) == 0, "%s: %s", pause_bin, strerror(errno));
    strcpy(runc_bin, access("/usr/sbin/runc", X_OK) == 0 ? "/usr/sbin/runc" : "/usr/bin/runc");
}

static void setup(void)
{
    find_binaries();
    strcpy(tmp, "/tmp/mon-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(id, sizeof id, "mon-%s", tmp + strlen("/tmp/mon-test-"));
    monitor_pid = container_pid = pause_pid = -1;
}

/* Removes the cgroup the runtime made under each hierarchy. */
static void remove_cgroups(void)
{
    DIR *d = opendir("/sys/fs/cgroup");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s", e->d_name, id);
        rmdir(p);
    }
    closedir(d);
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --root %s delete --force %s >/dev/null 2>&1", runc_bin, path_of("runc"), id);
    run(cmd);
    if (monitor_pid > 0 && !process_gone(monitor_pid))
        kill(monitor_pid, SIGKILL);
    /* PID 1 of its namespace: killing it ends everything in there. */
    if (pause_pid > 0 && !process_gone(pause_pid))
        kill(pause_pid, SIGKILL);
    remove_cgroups();
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    run(cmd);
}

TestSuite(monitor, .init = setup, .fini = teardown, .timeout = 90);

static void start(void)
{
    char args[128];
    snprintf(args, sizeof args, "start %s", id);
    cr_assert_eq(runc(args), 0, "runc start");
}

/* ---- tests ---- */

Test(monitor, logs_both_streams_and_records_the_exit_code)
{
    int64_t t0 = now_ns();
    start_container("echo out1; echo err1 >&2; printf partial; exit 3", NULL);

    /* Detached: not our child, its own session, nothing of ours inherited. */
    cr_assert_neq(parent_of(monitor_pid), getpid());
    cr_assert_eq(getsid(monitor_pid), monitor_pid);
    char fd_dir[64], link[PATH_MAX], target[PATH_MAX];
    snprintf(fd_dir, sizeof fd_dir, "/proc/%d/fd", monitor_pid);
    DIR *d = opendir(fd_dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        snprintf(link, sizeof link, "%s/%s", fd_dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        cr_assert_null(strstr(target, "leaked"), "the monitor kept an inherited fd: %s", target);
    }
    closedir(d);

    start();
    struct exit_info x = wait_exit();
    cr_assert_eq(x.code, 3);
    cr_assert_eq(x.sig, 0);
    cr_assert_not(x.oom);
    cr_assert(x.at >= t0 && x.at <= now_ns(), "finished_at %lld", (long long)x.at);

    struct entry ent[8];
    size_t n = parse_log(path_of("ctr.log"), ent, 8);
    cr_assert_eq(n, 3);
    int out = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(ent[i].ns >= t0 - 1000000000LL && ent[i].ns <= now_ns(), "timestamp is now, in UTC");
        if (strcmp(ent[i].stream, "stderr") == 0) {
            cr_assert_eq(ent[i].tag, 'F');
            cr_assert_str_eq(ent[i].text, "err1");
        } else if (out++ == 0) {
            cr_assert_eq(ent[i].tag, 'F');
            cr_assert_str_eq(ent[i].text, "out1");
        } else {
            cr_assert_eq(ent[i].tag, 'P', "a last line without newline is partial");
            cr_assert_str_eq(ent[i].text, "partial");
        }
    }
    cr_assert_eq(out, 2);
    free_entries(ent, n);
    assert_monitor_quiet();
}

Test(monitor, splits_a_long_line_into_partial_entries)
{
    start_container("head -c 100000 /dev/zero | tr '\\0' x; echo; echo short", NULL);
    start();
    cr_assert_eq(wait_exit().code, 0);

    static struct entry ent[256];
    size_t n = parse_log(path_of("ctr.log"), ent, 256);
    cr_assert_geq(n, 3);
    size_t total = 0, piece = strlen(ent[0].text);
    for (size_t i = 0; i < n - 2; i++) {
        cr_assert_eq(ent[i].tag, 'P', "entry %zu of the long line", i);
        cr_assert_eq(strlen(ent[i].text), piece, "pieces are one buffer each");
        total += strlen(ent[i].text);
    }
    cr_assert_eq(ent[n - 2].tag, 'F');
    cr_assert_leq(strlen(ent[n - 2].text), piece);
    total += strlen(ent[n - 2].text);
    cr_assert_eq(total, 100000);
    for (size_t i = 0; i < n - 1; i++)
        cr_assert_eq(strspn(ent[i].text, "x"), strlen(ent[i].text));
    cr_assert_eq(ent[n - 1].tag, 'F');
    cr_assert_str_eq(ent[n - 1].text, "short");
    free_entries(ent, n);
    assert_monitor_quiet();
}

Test(monitor, signal_death_and_footprint_while_running)
{
    start_container("echo ready; exec sleep 1000", NULL);
    start();
    cr_assert(WAIT_UNTIL(file_contains(path_of("ctr.log"), "stdout F ready\n"), DEADLINE_MS));

    struct stat st;
    cr_assert_eq(stat(path_of("attach"), &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));
    /* The container sees only its stdio: nothing of the monitor's leaks in. */
    char link[64];
    for (int fd = 3; fd < 64; fd++) {
        snprintf(link, sizeof link, "/proc/%d/fd/%d", container_pid, fd);
        cr_assert_not(exists(link), "the container has fd %d", fd);
    }
    snprintf(link, sizeof link, "/proc/%d/fd/1", container_pid);
    cr_assert(exists(link));
    long rss = proc_status(monitor_pid, "VmRSS");
    cr_log_info("crio-monitor VmRSS %ld kB", rss);
#ifndef SANITIZED
    cr_assert_lt(rss, 1024, "crio-monitor uses %ld kB", rss);
#endif

    char args[128];
    snprintf(args, sizeof args, "kill %s KILL", id);
    cr_assert_eq(runc(args), 0);
    struct exit_info x = wait_exit();
    cr_assert_eq(x.code, 137);
    cr_assert_eq(x.sig, 9);
    cr_assert_not(x.oom);
    assert_monitor_quiet();
}

Test(monitor, detects_an_oom_kill)
{
    make_bundle("x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived", false, 8 << 20);
    cr_assert_eq(mkfifo(path_of("ctl"), 0600), 0);
    struct started s = start_monitor(NULL);
    cr_assert_gt(container_pid, 0, "create: %s", cJSON_PrintUnformatted(s.sync));
    cJSON_Delete(s.sync);
    start();
    struct exit_info x = wait_exit();
    cr_assert(x.oom, "exit %d signal %d, not OOM-killed", x.code, x.sig);
    cr_assert_not(file_contains(path_of("ctr.log"), "survived"));
    assert_monitor_quiet();
}

Test(monitor, oom_kill_counter_of_a_v2_cgroup)
{
    /* A stand-in v2 cgroup (this host has no v2 memory controller): only
     * memory.events, whose oom_kill goes up while the container runs. */
    cr_assert_eq(mkdir(path_of("fakecg"), 0755), 0);
    spew(path_of("fakecg/memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    char fakecg[PATH_MAX];
    strcpy(fakecg, path_of("fakecg"));
    const char *extra[] = { "--oom-cgroup", fakecg, NULL };
    start_container("while [ ! -e /go ]; do sleep 0.02; done", extra);
    start();
    spew(path_of("fakecg/memory.events"), "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n");
    spew(path_of("bundle/rootfs/go"), "");
    struct exit_info x = wait_exit();
    cr_assert_eq(x.code, 0);
    cr_assert(x.oom);
    assert_monitor_quiet();
}

Test(monitor, reopen_moves_to_a_new_log_file)
{
    start_container("echo before; while [ ! -e /go ]; do sleep 0.02; done; echo after", NULL);
    start();
    cr_assert(WAIT_UNTIL(file_contains(path_of("ctr.log"), "stdout F before\n"), DEADLINE_MS));
    cr_assert_eq(rename(path_of("ctr.log"), path_of("ctr.log.1")), 0);
    int ctl = open(path_of("ctl"), O_WRONLY | O_CLOEXEC);
    cr_assert_geq(ctl, 0);
    cr_assert_eq(write(ctl, "reopen\n", 7), 7);
    close(ctl);
    cr_assert(WAIT_UNTIL(exists(path_of("ctr.log")), DEADLINE_MS), "reopen creates the log");
    spew(path_of("bundle/rootfs/go"), "");
    cr_assert_eq(wait_exit().code, 0);
    cr_assert(file_contains(path_of("ctr.log.1"), "stdout F before\n"));
    cr_assert_not(file_contains(path_of("ctr.log.1"), "after"));
    cr_assert(file_contains(path_of("ctr.log"), "stdout F after\n"));
    cr_assert_not(file_contains(path_of("ctr.log"), "before"));
    assert_monitor_quiet();
}

Test(monitor, log_size_max_keeps_the_newest_entries)
{
    const char *extra[] = { "--log-size-max", "2048", NULL };
    start_container("i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done", extra);
    start();
    cr_assert_eq(wait_exit().code, 0);
    struct stat st;
    cr_assert_eq(stat(path_of("ctr.log"), &st), 0);
    cr_assert_leq(st.st_size, 2048);
    static struct entry ent[64];
    size_t n = parse_log(path_of("ctr.log"), ent, 64); /* whole entries only */
    cr_assert_geq(n, 1);
    /* What is left is the newest lines, in order, with none missing. */
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "line-%zu", 100 - n + i);
        cr_assert_str_eq(ent[i].text, want);
    }
    cr_assert_not(file_contains(path_of("ctr.log"), "stdout F line-0\n"));
    free_entries(ent, n);
    assert_monitor_quiet();
}

/* Receives one packet, waiting at most the deadline; its length (0: closed). */
static ssize_t recv_packet(int fd, char *buf, size_t cap)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    cr_assert_eq(poll(&p, 1, DEADLINE_MS), 1, "no packet from the monitor");
    return recv(fd, buf, cap, 0);
}

Test(monitor, attach_streams_output_and_feeds_stdin_once)
{
    const char *extra[] = { "--stdin", "--stdin-once", NULL };
    start_container("cat; echo bye >&2", extra);
    int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, path_of("attach"));
    cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    start();

    char pkt[8192];
    cr_assert_eq(send(c, "\0hello\n", 7, 0), 7);
    ssize_t n = recv_packet(c, pkt, sizeof pkt);
    cr_assert_eq(n, 7);
    cr_assert_eq(memcmp(pkt, "\2hello\n", 7), 0, "stdin echoed back as stdout");
    /* The client's input ends: with --stdin-once so does the container's. */
    cr_assert_eq(shutdown(c, SHUT_WR), 0);
    n = recv_packet(c, pkt, sizeof pkt);
    cr_assert_eq(n, 5);
    cr_assert_eq(memcmp(pkt, "\3bye\n", 5), 0, "stderr comes tagged 3");
    cr_assert_eq(recv_packet(c, pkt, sizeof pkt), 0, "the monitor closes clients at exit");
    close(c);

    cr_assert_eq(wait_exit().code, 0);
    cr_assert(file_contains(path_of("ctr.log"), "stdout F hello\n"));
    cr_assert(file_contains(path_of("ctr.log"), "stderr F bye\n"));
    assert_monitor_quiet();
}

Test(monitor, terminal_and_resize)
{
    make_bundle("while :; do s=$(stty size); [ \"$s\" = \"40 120\" ] && break; sleep 0.02; done; echo size $s",
                true, 0);
    cr_assert_eq(mkfifo(path_of("ctl"), 0600), 0);
    const char *extra[] = { "--terminal", NULL };
    struct started s = start_monitor(extra);
    cr_assert_gt(container_pid, 0, "create: %s", cJSON_PrintUnformatted(s.sync));
    cJSON_Delete(s.sync);
    start();
    int ctl = open(path_of("ctl"), O_WRONLY | O_CLOEXEC);
    cr_assert_geq(ctl, 0);
    cr_assert_eq(write(ctl, "resize 40 120\n", 14), 14);
    close(ctl);
    /* The container only ends once it sees the new size. */
    cr_assert_eq(wait_exit().code, 0);
    cr_assert(file_contains(path_of("ctr.log"), "stdout F size 40 120"));
    assert_monitor_quiet();
}

Test(monitor, runtime_create_failure_is_reported_and_leaves_nothing)
{
    make_bundle("true", false, 0);
    /* No rootfs: runc refuses to create. */
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path_of("bundle/rootfs"));
    cr_assert_eq(run(cmd), 0);
    cr_assert_eq(mkfifo(path_of("ctl"), 0600), 0);

    struct started s = start_monitor(NULL);
    cr_assert_eq(container_pid, -1);
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(s.sync, "error"));
    cr_assert_not_null(err);
    cr_assert_gt(strlen(err), 5);
    cr_assert_null(strstr(err, "level=error"), "the runtime's message, not its log line: %s", err);
    cr_assert_not(err[strlen(err) - 1] == '\n');
    cr_log_info("create error: %s", err);
    cJSON_Delete(s.sync);

    cr_assert(WAIT_UNTIL(!process_with_arg(id), DEADLINE_MS), "a monitor or runtime for %s is left", id);
    cr_assert_not(exists(path_of("attach")));
    cr_assert_not(exists(path_of("ctr.log")), "the log it created is removed");
    cr_assert_not(exists(path_of("exit")));
    char args[128];
    snprintf(args, sizeof args, "state %s", id);
    cr_assert_neq(runc(args), 0, "no container is left");
}

/*
 * libcrio gives up waiting (it closes its end of the sync pipe) while the
 * runtime hangs in create: the monitor kills it and leaves nothing running.
 */
Test(monitor, gives_up_when_libcrio_stops_waiting)
{
    make_bundle("true", false, 0);
    cr_assert_eq(mkfifo(path_of("ctl"), 0600), 0);
    char runtime[PATH_MAX];
    strcpy(runtime, path_of("hanging-runtime"));
    /* A sleep long enough, and of a length nothing else on the host uses. */
    char secs[32], script[128];
    snprintf(secs, sizeof secs, "%d", 100000 + (int)getpid());
    snprintf(script, sizeof script, "#!/bin/sh\ncase \"$*\" in *create*) exec sleep %s;; esac\n", secs);
    spew(runtime, script);
    cr_assert_eq(chmod(runtime, 0755), 0);
    const char *extra[] = { "--runtime", runtime, NULL };
    int fd;
    int first = spawn_monitor(extra, &fd);
    cr_assert(WIFEXITED(first) && WEXITSTATUS(first) == 0);
    /* The runtime is hanging, as far as anyone can tell. */
    cr_assert(WAIT_UNTIL(process_with_arg(secs), DEADLINE_MS));
    cr_assert(process_with_arg(id));
    close(fd);
    cr_assert(WAIT_UNTIL(!process_with_arg(id) && !process_with_arg(secs), DEADLINE_MS),
              "the monitor or the runtime is left");
    cr_assert_not(exists(path_of("attach")));
    cr_assert_not(exists(path_of("ctr.log")));
}

Test(monitor, bad_arguments_are_reported_on_the_sync_fd)
{
    const char *extra[] = { "--log-size-max", "lots", NULL };
    struct started s = start_monitor(extra);
    cr_assert(WIFEXITED(s.first_status) && WEXITSTATUS(s.first_status) == 2);
    cr_assert_eq(container_pid, -1);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s.sync, "error")), "bad --log-size-max \"lots\"");
    cJSON_Delete(s.sync);
}

/* ---- crio-pause ---- */

static int children_of(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    char *s = slurp(p, NULL);
    if (!s)
        return -1;
    int n = 0;
    for (char *t = strtok(s, " \n"); t; t = strtok(NULL, " \n"))
        n++;
    free(s);
    return n;
}

static pid_t first_child_of(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    char *s = slurp(p, NULL);
    pid_t c = s ? atoi(s) : 0;
    free(s);
    return c;
}

static bool runs_pause(pid_t pid)
{
    char p[64], target[PATH_MAX];
    snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(p, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    return strcmp(target, pause_bin) == 0;
}

/*
 * As PID 1 of a new PID namespace: one child has already exited before the
 * exec (a zombie waiting), another exits later; both are reaped, and
 * SIGTERM from outside the namespace ends it with 0, having printed nothing.
 */
Test(pause, reaps_children_and_exits_on_sigterm, .init = setup, .fini = teardown, .timeout = 60)
{
    int hold[2];
    cr_assert_eq(pipe(hold), 0);
    pid_t outer = fork();
    cr_assert_geq(outer, 0);
    if (outer == 0) {
        if (unshare(CLONE_NEWPID) < 0)
            _exit(120);
        pid_t init = fork();
        if (init == 0) {
            if (fork() == 0)
                _exit(0);
            if (fork() == 0) {
                char c;
                close(hold[1]);
                _exit(read(hold[0], &c, 1) < 0);
            }
            close(hold[0]);
            close(hold[1]);
            int out = open(path_of("pause.out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(out, 1);
            dup2(out, 2);
            execl(pause_bin, "crio-pause", (char *)NULL);
            _exit(121);
        }
        close(hold[0]);
        close(hold[1]);
        int st;
        if (init < 0 || waitpid(init, &st, 0) != init)
            _exit(122);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
    }
    close(hold[0]);
    pid_t init = 0;
    cr_assert(WAIT_UNTIL((init = first_child_of(outer)) > 0 && runs_pause(init), DEADLINE_MS));
    pause_pid = init;
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/status", (int)init);
    char *status = slurp(p, NULL);
    char *nspid = strstr(status, "NSpid:");
    cr_assert_not_null(nspid);
    cr_assert_eq(strtol(strrchr(strtok(nspid, "\n"), '\t') + 1, NULL, 10), 1, "crio-pause is PID 1 there");
    free(status);

    cr_assert(WAIT_UNTIL(children_of(init) == 1, DEADLINE_MS), "the early zombie is reaped");
    close(hold[1]);
    cr_assert(WAIT_UNTIL(children_of(init) == 0, DEADLINE_MS), "the later child is reaped");
    cr_assert_eq(kill(init, SIGTERM), 0);
    int st;
    cr_assert_eq(waitpid(outer, &st, 0), outer);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 0, "crio-pause exits 0 on SIGTERM");
    struct stat sb;
    cr_assert_eq(stat(path_of("pause.out"), &sb), 0);
    cr_assert_eq(sb.st_size, 0, "crio-pause prints nothing");
}
