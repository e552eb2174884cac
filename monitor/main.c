/*
 * crio-monitor: the parent of one container (lib/runtime/monitor.h is the
 * protocol).  It detaches from libcrio, has the runtime create the
 * container, reports on the sync fd, then holds the container's stdio until
 * it exits and records how it ended in the exit file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"
#include "runtime/monitor.h"

/* Exit codes of the monitor itself. */
#define EXIT_USAGE 2
#define EXIT_FAILED 1

/* The sync line and the message it carries; static, as they are used at most once. */
static char sync_line[CRIO_MONITOR_SYNC_MAX];
static char message[CRIO_MONITOR_SYNC_MAX / 2];

/* Sets the failure message; returns -1. */
__attribute__((format(printf, 1, 2))) static int failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(struct mon_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        { "id", required_argument, NULL, 'i' },         { "runtime", required_argument, NULL, 'r' },
        { "runtime-root", required_argument, NULL, 'R' }, { "bundle", required_argument, NULL, 'b' },
        { "exit-file", required_argument, NULL, 'e' },  { "log-path", required_argument, NULL, 'l' },
        { "log-size-max", required_argument, NULL, 'm' }, { "ctl", required_argument, NULL, 'c' },
        { "attach", required_argument, NULL, 'a' },     { "oom-cgroup", required_argument, NULL, 'o' },
        { "terminal", no_argument, NULL, 't' },         { "stdin", no_argument, NULL, 's' },
        { "stdin-once", no_argument, NULL, 'S' },       { "log-level", required_argument, NULL, 'L' },
        { "sync-fd", required_argument, NULL, 'y' },    { NULL, 0, NULL, 0 },
    };
    *o = (struct mon_opts){ .log_size_max = -1, .sync_fd = -1 };
    int64_t v;
    int c;
    opterr = 0; /* errors are reported below, on the sync fd too */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o->id = optarg; break;
        case 'r': o->runtime = optarg; break;
        case 'R': o->runtime_root = optarg; break;
        case 'b': o->bundle = optarg; break;
        case 'e': o->exit_file = optarg; break;
        case 'l': o->log_path = optarg; break;
        case 'c': o->ctl = optarg; break;
        case 'a': o->attach = optarg; break;
        case 'o': o->oom_cgroup = optarg; break;
        case 't': o->terminal = true; break;
        case 's': o->stdin_open = true; break;
        case 'S': o->stdin_once = true; break;
        case 'm':
            if (parse_int(optarg, &o->log_size_max) < 0)
                return failf("bad --log-size-max \"%s\"", optarg);
            break;
        case 'y':
            if (parse_int(optarg, &v) < 0 || v < 0 || v > 1 << 20)
                return failf("bad --sync-fd \"%s\"", optarg);
            o->sync_fd = (int)v;
            break;
        case 'L':
            if (mon_log_set_level(optarg) < 0)
                return failf("bad --log-level \"%s\"", optarg);
            break;
        default:
            return failf("unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return failf("unexpected argument \"%s\"", argv[optind]);
    const char *missing = !o->id ? "--id" : !o->runtime ? "--runtime" : !o->bundle ? "--bundle"
                        : !o->exit_file ? "--exit-file" : !o->log_path ? "--log-path" : !o->ctl ? "--ctl"
                        : !o->attach ? "--attach" : o->sync_fd < 0 ? "--sync-fd" : NULL;
    if (missing)
        return failf("%s is required", missing);
    return 0;
}

/* Writes the one sync line and closes the fd; false when libcrio is no longer listening. */
static bool sync_send(struct mon_opts *o, pid_t pid, const char *error)
{
    if (o->sync_fd < 0)
        return false;
    int n;
    if (error) {
        /* Room for the rest of the line: escaping may grow the message. */
        char esc[sizeof sync_line - 64];
        mon_json_escape(esc, sizeof esc, error);
        n = snprintf(sync_line, sizeof sync_line, "{\"pid\": -1, \"error\": \"%s\"}\n", esc);
    } else {
        n = snprintf(sync_line, sizeof sync_line, "{\"pid\": %d, \"monitor_pid\": %d}\n", (int)pid, (int)getpid());
    }
    bool ok = n > 0 && (size_t)n < sizeof sync_line && mon_write_all(o->sync_fd, sync_line, (size_t)n) == 0;
    close(o->sync_fd);
    o->sync_fd = -1;
    return ok;
}

/* The daemon may have left 0-2 closed: keep them taken, so that no pipe lands there. */
static void keep_stdio_open(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR | O_NOCTTY);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
}

/* Nothing inherited but stdio and the sync fd may stay: the container must not see it. */
static void close_inherited(int keep)
{
    unsigned first = 3;
    if (keep >= 3) {
        if (keep > 3)
            close_range(3, (unsigned)keep - 1, 0);
        first = (unsigned)keep + 1;
    }
    if (close_range(first, ~0U, 0) == 0 || errno != ENOSYS)
        return;
    /* Kernels before 5.9. */
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
        if (fd != keep)
            close((int)fd);
}

/*
 * Leaves libcrio: the first process exits at once (libcrio reaps it), the
 * second is orphaned into its own session, so neither a signal to libcrio's
 * process group nor libcrio's death reaches it.  As a subreaper it then
 * inherits the container process when the runtime exits.
 */
static int detach(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return -1;
    return 0;
}

/* SIGCHLD, as a descriptor for poll and epoll. */
static int child_signal_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int ctl_open(const char *path)
{
    /* Read-write, so that the FIFO never reads EOF between writers. */
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/*
 * Binds the attach socket.  sun_path holds 107 bytes, less than a runroot
 * plus a 64-hex id needs, so a long path is bound through its directory's
 * /proc/self/fd entry (clients connect the same way).
 */
static int attach_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int dfd = -1;
    if (strlen(path) < sizeof sa.sun_path) {
        strcpy(sa.sun_path, path);
    } else {
        const char *slash = strrchr(path, '/');
        char dir[4096];
        if (!slash || (size_t)(slash - path) >= sizeof dir) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        dfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return -1;
        if (snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1) >=
            (int)sizeof sa.sun_path) {
            close(dfd);
            errno = ENAMETOOLONG;
            return -1;
        }
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        errno = e;
        return -1;
    }
    unlink(path); /* a socket left by an earlier monitor of this container */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0700) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        if (dfd >= 0)
            close(dfd);
        errno = e;
        return -1;
    }
    if (dfd >= 0)
        close(dfd);
    return fd;
}

/* The files the container needs before it exists: log, ctl FIFO, attach socket. */
static int prepare(const struct mon_opts *o, struct crilog *log, bool *log_created, int *ctl_fd, int *attach_fd)
{
    if (crilog_open(log, o->log_path, o->log_size_max, log_created) < 0)
        return failf("open log %s: %s", o->log_path, strerror(errno));
    if ((*ctl_fd = ctl_open(o->ctl)) < 0)
        return failf("open ctl FIFO %s: %s", o->ctl, strerror(errno));
    if ((*attach_fd = attach_listen(o->attach)) < 0)
        return failf("attach socket %s: %s", o->attach, strerror(errno));
    return 0;
}

static int write_exit_file(const struct mon_opts *o, const struct mon_exit *ex, bool oom_killed)
{
    int code = 0, sig = 0;
    if (WIFSIGNALED(ex->status)) {
        sig = WTERMSIG(ex->status);
        code = 128 + sig;
    } else {
        code = WEXITSTATUS(ex->status);
    }
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"exit_code\": %d, \"signal\": %d, \"oom_killed\": %s, \"finished_at\": %lld}\n", code, sig,
                     oom_killed ? "true" : "false", (long long)ex->at);
    if (mon_write_atomic(o->exit_file, json, (size_t)n) < 0) {
        mon_log(MON_ERROR, "write %s: %s", o->exit_file, strerror(errno));
        return -1;
    }
    mon_log(MON_INFO, "container %s exited: %d (signal %d, oom %d)", o->id, code, sig, oom_killed);
    return 0;
}

/* Undoes prepare() for a container that never ran. */
static void unprepare(const struct mon_opts *o, struct crilog *log, bool log_created, int ctl_fd, int attach_fd)
{
    if (attach_fd >= 0) {
        close(attach_fd);
        unlink(o->attach);
    }
    if (ctl_fd >= 0)
        close(ctl_fd);
    crilog_close(log);
    if (log_created)
        unlink(o->log_path);
}

static int fail(struct mon_opts *o, int code)
{
    mon_log(MON_ERROR, "%s", message);
    sync_send(o, -1, message);
    return code;
}

int main(int argc, char **argv)
{
    static struct mon_opts o;
    static struct crilog log;
    struct oom_watch oom;
    struct mon_stdio io;
    struct mon_exit ex = { 0 };
    bool log_created = false;
    int ctl_fd = -1, attach_fd = -1;
    pid_t pid = -1;

    if (parse_args(&o, argc, argv) < 0)
        return fail(&o, EXIT_USAGE);
    keep_stdio_open();
    /* Writes to a gone attach client or reader must fail, not kill the monitor. */
    signal(SIGPIPE, SIG_IGN);
    close_inherited(o.sync_fd);
    if (fcntl(o.sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
        failf("--sync-fd %d: %s", o.sync_fd, strerror(errno));
        o.sync_fd = -1;
        return fail(&o, EXIT_USAGE);
    }
    if (detach() < 0) {
        failf("detach: %s", strerror(errno));
        return fail(&o, EXIT_FAILED);
    }
    int sigfd = child_signal_fd();
    if (sigfd < 0) {
        failf("signalfd: %s", strerror(errno));
        return fail(&o, EXIT_FAILED);
    }
    if (prepare(&o, &log, &log_created, &ctl_fd, &attach_fd) < 0 ||
        runtime_create(&o, sigfd, &io, &pid, message, sizeof message) < 0) {
        unprepare(&o, &log, log_created, ctl_fd, attach_fd);
        return fail(&o, EXIT_FAILED);
    }
    /* Before the sync line: an OOM right after start must not be missed. */
    oom_watch_start(&oom, o.oom_cgroup);
    if (!sync_send(&o, pid, NULL)) {
        /* libcrio gave up waiting and reported a failure: make that true. */
        mon_log(MON_ERROR, "sync fd closed before the report; deleting container %s", o.id);
        runtime_delete(&o);
        unprepare(&o, &log, log_created, ctl_fd, attach_fd);
        return EXIT_FAILED;
    }
    mon_log(MON_DEBUG, "container %s created, pid %d", o.id, (int)pid);

    int r = mon_loop(&o, sigfd, &io, ctl_fd, attach_fd, &log, &oom, pid, &ex);
    close(attach_fd);
    unlink(o.attach);
    if (r < 0)
        return EXIT_FAILED;
    bool oom_killed = oom_watch_killed(&oom);
    oom_watch_stop(&oom);
    crilog_close(&log);
    return write_exit_file(&o, &ex, oom_killed) < 0 ? EXIT_FAILED : 0;
}
