/*
 * A pod's files under RUNROOT/pods/<id>/: hostname, hosts, resolv.conf,
 * the shm tmpfs, and the pause process with its pause.pid record.
 */
#include "pod/sandbox_files.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/spawn.h"
#include "network/ns.h"
#include "pod/cgroup.h"

/* CRI-O's limit, from glibc's resolver before 2.26 (MAXDNSRCH). */
#define DNS_SEARCH_MAX 6
#define HOST_RESOLV_MAX (64 * 1024)
#define PAUSE_PID_MAX 4096
/* How long the pause helper may take to report, and a killed pause to go. */
#define PAUSE_START_DEADLINE_MS 10000
#define PAUSE_STOP_DEADLINE_MS 5000
/* Stacked mounts on DIR/shm beyond this are not ours to peel off. */
#define SHM_MAX_LAYERS 16

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- hostname, hosts, resolv.conf ---- */

/* A value that becomes one token of a line: no blank, no line break, no control character. */
static int check_token(const char *what, const char *v)
{
    if (!*v)
        return crio_error_set(CRIO_EINVAL, "%s: empty value", what);
    for (const char *p = v; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return crio_error_set(CRIO_EINVAL, "%s \"%s\": blank or line break in the value", what, v);
    return 0;
}

/* The CRI field `snake` in either protobuf JSON spelling (the camelCase one is `camel`). */
static const cJSON *member(const cJSON *obj, const char *snake, const char *camel)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, snake);
    return v ? v : cJSON_GetObjectItemCaseSensitive(obj, camel);
}

/* Checks that `v` (may be NULL) is an array of valid tokens; returns its length. */
static int check_token_array(const cJSON *v, const char *what)
{
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return crio_error_set(CRIO_EINVAL, "dns_config.%s: not an array", what);
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, v)
    {
        if (!cJSON_IsString(item))
            return crio_error_set(CRIO_EINVAL, "dns_config.%s: not a string", what);
        int r = check_token(what, item->valuestring);
        if (r < 0)
            return r;
        n++;
    }
    return n;
}

/* Writes "<keyword> a b c\n" for the array's items (one line), or one "<keyword> x\n" line per item. */
static void print_items(FILE *f, const cJSON *arr, const char *keyword, bool one_line)
{
    const cJSON *item;
    bool first = true;
    cJSON_ArrayForEach(item, arr)
    {
        if (!one_line)
            fprintf(f, "%s %s\n", keyword, item->valuestring);
        else
            fprintf(f, "%s %s", first ? keyword : "", item->valuestring);
        first = false;
    }
    if (one_line && !first)
        fputc('\n', f);
}

/* resolv.conf from a dns_config object whose arrays were checked. */
static int format_resolv(char **out, size_t *len, const cJSON *servers, const cJSON *searches,
                         const cJSON *options)
{
    FILE *f = open_memstream(out, len);
    if (!f)
        return crio_error_oom();
    print_items(f, servers, "nameserver", false);
    print_items(f, searches, "search", true);
    print_items(f, options, "options", true);
    bool failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        free(*out);
        *out = NULL;
        return crio_error_oom();
    }
    return 0;
}

/* The host's /etc/resolv.conf (an empty file when the host has none), as CRI-O copies it. */
static int host_resolv(char **out, size_t *len)
{
    int r = crio_fs_read_file(out, len, "/etc/resolv.conf", HOST_RESOLV_MAX);
    if (r == CRIO_ENOTFOUND) {
        crio_error_clear();
        *len = 0;
        return (*out = strdup("")) ? 0 : crio_error_oom();
    }
    return r < 0 ? crio_error_wrap(r, "resolv.conf from the host") : 0;
}

/* The pod's resolv.conf: from dns_config when it names anything, else the host's. */
static int build_resolv(char **out, size_t *len, const cJSON *pod_config)
{
    const cJSON *dns = pod_config ? member(pod_config, "dns_config", "dnsConfig") : NULL;
    if (dns && !cJSON_IsNull(dns) && !cJSON_IsObject(dns))
        return crio_error_set(CRIO_EINVAL, "dns_config: not an object");
    const cJSON *servers = dns ? member(dns, "servers", "servers") : NULL;
    const cJSON *searches = dns ? member(dns, "searches", "searches") : NULL;
    const cJSON *options = dns ? member(dns, "options", "options") : NULL;
    int ns = check_token_array(servers, "servers"), nsearch, nopt;
    if (ns < 0)
        return ns;
    if ((nsearch = check_token_array(searches, "searches")) < 0)
        return nsearch;
    if ((nopt = check_token_array(options, "options")) < 0)
        return nopt;
    if (nsearch > DNS_SEARCH_MAX)
        return crio_error_set(CRIO_EINVAL, "dns_config.searches: %d domains, at most %d allowed", nsearch,
                              DNS_SEARCH_MAX);
    if (ns + nsearch + nopt == 0)
        return host_resolv(out, len);
    return format_resolv(out, len, servers, searches, options);
}

/* The hostname to write: the given one, or the host's for NULL/"". */
static int pick_hostname(char *buf, size_t len, const char *hostname)
{
    if (hostname && *hostname) {
        if (strlen(hostname) > HOST_NAME_MAX)
            return crio_error_set(CRIO_EINVAL, "hostname \"%s\": longer than %d characters", hostname,
                                  HOST_NAME_MAX);
        snprintf(buf, len, "%s", hostname);
    } else if (gethostname(buf, len) < 0) {
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "gethostname");
    }
    return check_token("hostname", buf);
}

static int write_text(const char *dir, const char *name, const char *text, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return crio_fs_write_atomic_volatile(path, text, len, 0644); /* the runroot: gone at reboot anyway */
}

int crio_sandbox_write_files(const char *dir, const char *hostname, const cJSON *pod_config)
{
    char host[HOST_NAME_MAX + 1];
    int r = pick_hostname(host, sizeof host, hostname);
    if (r < 0)
        return r;
    /* Everything is checked before the first file is written. */
    _cleanup_free_ char *resolv = NULL;
    size_t resolv_len = 0;
    if ((r = build_resolv(&resolv, &resolv_len, pod_config)) < 0)
        return r;
    char line[HOST_NAME_MAX + 2], hosts[512];
    int n = snprintf(line, sizeof line, "%s\n", host);
    int m = snprintf(hosts, sizeof hosts,
                     "127.0.0.1\tlocalhost\n"
                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "127.0.1.1\t%s\n",
                     host);
    if ((r = write_text(dir, "hostname", line, (size_t)n)) < 0 ||
        (r = write_text(dir, "hosts", hosts, (size_t)m)) < 0 ||
        (r = write_text(dir, "resolv.conf", resolv, resolv_len)) < 0)
        return r;
    return 0;
}

/* ---- shm ---- */

/* Whether `path` is the root of a mount (statx knows; st_dev comparison otherwise). */
static bool is_mount_point(const char *path)
{
    struct statx sx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
        return false;
    if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        return sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/..", path);
    struct stat a, b;
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int crio_sandbox_mount_shm(const char *dir, uint64_t size)
{
    if (size == 0)
        return crio_error_set(CRIO_EINVAL, "shm size 0: tmpfs would have no limit");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/shm", dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "create %s", path);
    if (is_mount_point(path))
        return crio_error_set(CRIO_EEXISTS, "mount shm at %s: already mounted", path);
    char opts[64];
    snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)size);
    if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "mount shm at %s (%s)", path, opts);
    return 0;
}

int crio_sandbox_unmount_shm(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/shm", dir);
    for (int i = 0; i < SHM_MAX_LAYERS && is_mount_point(path); i++)
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "unmount %s", path);
    if (rmdir(path) < 0 && errno != ENOENT)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "remove %s", path);
    return 0;
}

/* ---- sizes ---- */

/* The binary shift of a unit letter, or -1. */
static int unit_shift(char c)
{
    static const char units[] = "kmgtpe";
    const char *u = strchr(units, tolower((unsigned char)c));
    return c && u ? 10 * (int)(u - units + 1) : -1;
}

int crio_parse_size(uint64_t *out, const char *s)
{
    if (!s || !isdigit((unsigned char)*s))
        return crio_error_set(CRIO_EINVAL, "size \"%s\": not a number", s ? s : "");
    uint64_t v = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return crio_error_set(CRIO_EINVAL, "size \"%s\": too large", s);
        v = v * 10 + d;
    }
    /* Units are binary (as docker's RAMInBytes): k, m, g, t, p, e, optionally "i" and/or "b". */
    int shift = 0;
    if (unit_shift(*p) >= 0) {
        shift = unit_shift(*p++);
        if (*p == 'i' || *p == 'I')
            p++;
    }
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p)
        return crio_error_set(CRIO_EINVAL, "size \"%s\": unknown unit", s);
    if (shift && v > (UINT64_MAX >> shift))
        return crio_error_set(CRIO_EINVAL, "size \"%s\": too large", s);
    *out = v << shift;
    return 0;
}

/* ---- the pause process ---- */

static int kill_pause(pid_t pid, unsigned long long start);

/* Messages on the report pipe, each written in one write() (atomic, < PIPE_BUF). */
enum { MSG_READY = 1, MSG_PID, MSG_FAIL };
enum { STEP_SETNS, STEP_UNSHARE, STEP_FORK, STEP_SETSID, STEP_STDIO, STEP_EXEC };
static const char *const step_names[] = { "join the pod's namespaces", "unshare the PID namespace",
                                          "fork",                      "setsid",
                                          "open /dev/null",            "execute" };
struct pause_msg {
    int kind;
    int step; /* MSG_FAIL */
    int value; /* MSG_PID: the pause pid; MSG_FAIL: errno */
};

/* What the forked helper needs, prepared before the fork (it must not allocate) but for its pipe ends. */
typedef struct pause_ctx {
    const char *path;
    int ns_fd[3], ns_type[3], n_ns;
    int report_fd; /* write end */
    int go_fd;     /* read end: one byte = go on; EOF = exit */
} pause_ctx;

static void send_msg(int fd, int kind, int step, int value)
{
    struct pause_msg m = { kind, step, value };
    ssize_t n = write(fd, &m, sizeof m);
    (void)n;
}

__attribute__((noreturn)) static void fail_exit(int fd, int step)
{
    send_msg(fd, MSG_FAIL, step, errno);
    _exit(127);
}

/* Marks every fd from 3 up close-on-exec; close_range where the kernel has it, one by one otherwise. */
static void cloexec_from_3(void)
{
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
    for (int fd = 3; fd < max; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * The pause process before exec: a session of its own, default signal
 * handling, stdio on /dev/null and no inherited fd past exec.  Only the
 * report fd stays open until exec, to tell an exec failure.
 */
__attribute__((noreturn)) static void pause_exec(const pause_ctx *c)
{
    int rfd = c->report_fd;
    if (rfd < 3 && (rfd = fcntl(rfd, F_DUPFD_CLOEXEC, 3)) < 0)
        _exit(127);
    if (setsid() < 0)
        fail_exit(rfd, STEP_SETSID);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        fail_exit(rfd, STEP_STDIO);
    if (null > 2)
        close(null);
    cloexec_from_3();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *const argv[] = { (char *)c->path, NULL };
    char *const envp[] = { NULL };
    execve(c->path, argv, envp);
    fail_exit(rfd, STEP_EXEC);
}

/* Waits for the caller's byte; false on EOF (the caller gave up). */
static bool wait_go(int fd)
{
    char b;
    ssize_t n;
    while ((n = read(fd, &b, 1)) < 0 && errno == EINTR)
        ;
    return n == 1;
}

/*
 * The helper, forked from a possibly multi-threaded caller with every
 * signal blocked: async-signal-safe calls only.  It joins the pod's
 * namespaces, waits while the caller moves it into the cgroup, unshares a
 * PID namespace and forks the pause process into it (as its PID 1), then
 * exits when the caller has read what it needs, leaving the pause process
 * to init.
 */
__attribute__((noreturn)) static void pause_helper(const pause_ctx *c)
{
    /* Default dispositions (the caller's handlers must not run here or in pause), mask kept full. */
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    for (int i = 0; i < c->n_ns; i++)
        if (setns(c->ns_fd[i], c->ns_type[i]) < 0)
            fail_exit(c->report_fd, STEP_SETNS);
    send_msg(c->report_fd, MSG_READY, 0, 0);
    if (!wait_go(c->go_fd))
        _exit(1);
    if (unshare(CLONE_NEWPID) < 0)
        fail_exit(c->report_fd, STEP_UNSHARE);
    pid_t pid = fork();
    if (pid < 0)
        fail_exit(c->report_fd, STEP_FORK);
    if (pid == 0)
        pause_exec(c);
    send_msg(c->report_fd, MSG_PID, 0, pid);
    /* Until the caller has read the pause's start time: a dead pause stays our zombie, its pid unreused. */
    wait_go(c->go_fd);
    _exit(0);
}

/* Reads one message before the deadline.  1: a message; 0: EOF; <0: error set. */
static int read_msg(int fd, struct pause_msg *m, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - crio_monotonic_ms();
        if (left <= 0)
            return crio_error_set(CRIO_ETIMEDOUT, "start pause: no report from the helper in %d ms",
                                  PAUSE_START_DEADLINE_MS);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno != EINTR)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "start pause: poll");
        if (r <= 0)
            continue;
        ssize_t n = read(fd, m, sizeof *m);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return 0;
        if (n != (ssize_t)sizeof *m)
            return crio_error_set(CRIO_EINTERNAL, "start pause: short report from the helper");
        return 1;
    }
}

/* The error a report other than the expected one stands for. */
static int msg_error(const struct pause_msg *m)
{
    if (m->kind == MSG_FAIL && m->step >= 0 && m->step < (int)CRIO_ARRAY_SIZE(step_names))
        return crio_error_set_errno(CRIO_EINTERNAL, m->value, "start pause: %s", step_names[m->step]);
    return crio_error_set(CRIO_EINTERNAL, "start pause: unexpected report %d", m->kind);
}

/* Reads a message of `kind`; a failure report, EOF or another kind becomes an error. */
static int expect_msg(int fd, int kind, struct pause_msg *m, int64_t deadline)
{
    int r = read_msg(fd, m, deadline);
    if (r < 0)
        return r;
    if (r == 0)
        return crio_error_set(CRIO_EINTERNAL, "start pause: the helper died");
    return m->kind == kind ? 0 : msg_error(m);
}

/*
 * Field 22 of /proc/PID/stat (start time in clock ticks since boot) and the
 * state letter.  The fields are counted after the last ')', since the
 * command name may hold spaces and parentheses.  -1 with errno (ENOENT: gone).
 */
static int proc_start_time(pid_t pid, unsigned long long *start, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return n == 0 ? (errno = ENOENT, -1) : -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return errno = EINVAL, -1;
    char st;
    /* After ")": state (3), then fields 4..21 skipped, start time (22). */
    if (sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", &st,
               start) != 2)
        return errno = EINVAL, -1;
    if (state)
        *state = st;
    return 0;
}

typedef struct pause_run {
    pid_t helper, pause;
    int report_fd, go_fd; /* our ends */
} pause_run;

/* Opens the pins DIR has (a host-network pod has no net pin: the pause then stays in the host's). */
static int open_pins(pause_ctx *c, const char *dir)
{
    static const struct {
        const char *name;
        int type;
    } kinds[] = { { "net", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS } };
    c->n_ns = 0;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(kinds); i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, kinds[i].name);
        if (!crio_ns_is_pinned(path))
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "start pause: open %s", path);
        c->ns_fd[c->n_ns] = fd;
        c->ns_type[c->n_ns++] = kinds[i].type;
    }
    return 0;
}

static void close_pins(pause_ctx *c)
{
    for (int i = 0; i < c->n_ns; i++)
        close(c->ns_fd[i]);
    c->n_ns = 0;
}

/* Forks the helper, keeping our pipe ends in `run`. */
static int fork_helper(pause_run *run, pause_ctx *c)
{
    pid_t pid;
    crio_helper_fds fds;
    int r = crio_fork_helper(&pid, &fds, "start pause", c->ns_fd, (size_t)c->n_ns);
    if (r < 0)
        return r;
    if (pid == 0) {
        c->report_fd = fds.report;
        c->go_fd = fds.control;
        pause_helper(c);
    }
    *run = (pause_run){ .helper = pid, .pause = -1, .report_fd = fds.report, .go_fd = fds.control };
    return 0;
}

/* Lets the helper go (EOF on its pipe), killing it first on failure, and reaps it. */
static void release_helper(pause_run *run, bool kill_it)
{
    if (run->helper <= 0)
        return;
    if (kill_it)
        kill(run->helper, SIGKILL);
    if (run->go_fd >= 0)
        close(TAKE_FD(run->go_fd));
    while (waitpid(run->helper, NULL, 0) < 0 && errno == EINTR)
        ;
    run->helper = -1;
}

static int write_pause_record(const char *dir, pid_t pid, unsigned long long start)
{
    _cleanup_json_ cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddNumberToObject(j, "pid", pid) || !cJSON_AddNumberToObject(j, "start_time", (double)start))
        return crio_error_oom();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pause.pid", dir);
    return crio_json_write_file_volatile(path, j, 0644); /* the runroot */
}

/*
 * The conversation with the helper, up to the pause's exec.  On success
 * run->pause is the pause's pid and *start its start time; the helper is
 * reaped.
 */
static int run_helper(pause_run *run, const char *cgroup, unsigned long long *start)
{
    int64_t deadline = crio_monotonic_ms() + PAUSE_START_DEADLINE_MS;
    struct pause_msg m;
    int r = expect_msg(run->report_fd, MSG_READY, &m, deadline);
    /* The helper is moved here, by us, so the forked child never has to allocate or lock. */
    if (r == 0 && cgroup && (r = crio_cgroup_enter(cgroup, run->helper)) < 0)
        r = crio_error_wrap(r, "start pause");
    if (r == 0 && write(run->go_fd, "g", 1) != 1)
        r = crio_error_set_errno(CRIO_EINTERNAL, errno, "start pause: signal the helper");
    if (r == 0 && (r = expect_msg(run->report_fd, MSG_PID, &m, deadline)) == 0) {
        run->pause = m.value;
        if (proc_start_time(run->pause, start, NULL) < 0)
            r = crio_error_set_errno(CRIO_EINTERNAL, errno, "start pause: read /proc/%d/stat", (int)run->pause);
    }
    if (r < 0 && run->pause > 0)
        kill(run->pause, SIGKILL); /* still the helper's child: the pid cannot have been reused */
    release_helper(run, r < 0);
    if (r < 0)
        return r;
    /* EOF once the pause process has exec'd (the pipe is close-on-exec); a report means exec failed. */
    int got = read_msg(run->report_fd, &m, deadline);
    return got == 1 ? msg_error(&m) : got;
}

int crio_sandbox_start_pause(pid_t *pid, const char *dir, const char *pause_path, const char *cgroup)
{
    if (!pid || !dir || !pause_path)
        return crio_error_set(CRIO_EINVAL, "start pause: NULL argument");
    if (access(pause_path, X_OK) < 0)
        return crio_error_sys(errno, "start pause: %s", pause_path);
    pause_ctx c = { .path = pause_path };
    int r = open_pins(&c, dir);
    pause_run run = { .helper = -1, .pause = -1, .report_fd = -1, .go_fd = -1 };
    if (r == 0)
        r = fork_helper(&run, &c);
    close_pins(&c);
    if (r < 0)
        return r;
    unsigned long long start = 0;
    r = run_helper(&run, cgroup, &start);
    close(run.report_fd);
    if (r == 0 && (r = write_pause_record(dir, run.pause, start)) < 0)
        crio_error_wrap(r, "start pause");
    if (r < 0) {
        /* It may be running (a late exec report, no record): it must not outlive the failure. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", crio_error_message(crio_error_last()));
        if (start && kill_pause(run.pause, start) < 0)
            crio_error_set(r, "%s", msg); /* the first failure is the one to report */
        return r;
    }
    *pid = run.pause;
    return 0;
}

/* ---- stopping it ---- */

/* Gone, a zombie (killed, waiting for init to reap it) or another process by now. */
static bool pause_gone(pid_t pid, unsigned long long start)
{
    unsigned long long now;
    char state;
    return proc_start_time(pid, &now, &state) < 0 || now != start || state == 'Z' || state == 'X';
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for a killed process with a deadline: its pidfd turns readable when it exits, else poll /proc. */
static int wait_gone(pid_t pid, unsigned long long start, int pidfd)
{
    int64_t deadline = crio_monotonic_ms() + PAUSE_STOP_DEADLINE_MS, delay = 1;
    for (;;) {
        int64_t left = deadline - crio_monotonic_ms();
        if (pidfd >= 0) {
            struct pollfd p = { .fd = pidfd, .events = POLLIN };
            if (poll(&p, 1, left > 0 ? (int)left : 0) > 0)
                return 0;
        } else if (pause_gone(pid, start)) {
            return 0;
        } else if (left > 0) {
            crio_sleep_ms(delay < left ? delay : left);
            delay = delay * 2 > 50 ? 50 : delay * 2;
        }
        if (left <= 0)
            return crio_error_set(CRIO_ETIMEDOUT, "stop pause %d: still there after %d ms", (int)pid,
                                  PAUSE_STOP_DEADLINE_MS);
    }
}

/* SIGKILLs the pause process if `pid` is still the one started at `start`, and waits for it. */
static int kill_pause(pid_t pid, unsigned long long start)
{
    /* The pidfd is taken before the check, so the process checked is the one signalled. */
    _cleanup_close_ int pidfd = pidfd_open_(pid);
    if (pidfd < 0 && errno == ESRCH)
        return 0;
    if (pause_gone(pid, start))
        return 0;
    int r = pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) : kill(pid, SIGKILL);
    if (r < 0 && errno != ESRCH)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "stop pause %d: kill", (int)pid);
    return wait_gone(pid, start, pidfd);
}

int crio_sandbox_stop_pause(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pause.pid", dir);
    _cleanup_json_ cJSON *j = NULL;
    int r = crio_json_read_file(&j, path, PAUSE_PID_MAX);
    if (r == CRIO_ENOTFOUND) {
        crio_error_clear();
        return 0;
    }
    if (r < 0)
        return crio_error_wrap(r, "stop pause");
    int64_t pid = crio_json_int(j, "pid", -1), start = crio_json_int(j, "start_time", -1);
    if (pid <= 1 || pid > INT32_MAX || start < 0)
        return crio_error_set(CRIO_EDATALOSS, "stop pause: %s: no valid pid and start_time", path);
    if ((r = kill_pause((pid_t)pid, (unsigned long long)start)) < 0)
        return r;
    if (unlink(path) < 0 && errno != ENOENT)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "stop pause: remove %s", path);
    return 0;
}
