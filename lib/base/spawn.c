/* Running helper programs with a closed set of fds, an explicit environment and a deadline; forked helpers. */
#include "base/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/error.h"

/* Without a pidfd, how often the child is checked for with waitpid(WNOHANG). */
#define POLL_FALLBACK_MS 5
/* A captured stream's buffer starts this small and doubles up to its cap. */
#define CAPTURE_INITIAL 4096

static const char *prog_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the parent's side of the child's stdio ---- */

struct capture {
    int fd; /* the read end, or -1 */
    char *buf;
    size_t len, size, cap;
    bool truncated;
};

struct run {
    const char *name;
    pid_t pid;
    int pidfd; /* -1: poll waitpid instead */
    bool exited;
    int status;
    int in_fd; /* our end of stdin, or -1 */
    const char *input;
    size_t input_len, input_off;
    struct capture cap[2]; /* stdout, stderr */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void run_release_fds(struct run *r)
{
    close_fd(&r->pidfd);
    close_fd(&r->in_fd);
    close_fd(&r->cap[0].fd);
    close_fd(&r->cap[1].fd);
}

/* Makes room for at least one more byte below the cap; false when the cap is reached. */
static bool capture_grow(struct capture *c, bool *oom)
{
    if (c->len < c->size)
        return true;
    if (c->size >= c->cap)
        return false;
    size_t n = c->size ? c->size * 2 : CAPTURE_INITIAL;
    if (n > c->cap)
        n = c->cap;
    char *p = realloc(c->buf, n + 1); /* + the NUL */
    if (!p) {
        *oom = true;
        return false;
    }
    c->buf = p;
    c->size = n;
    return true;
}

/* What one capture_read call ended with. */
enum { READ_AGAIN, READ_MORE, READ_CLOSED };

/*
 * Reads what the stream has now, at most READ_BURST chunks so that a child
 * that never stops writing cannot keep the caller from its deadline.  Bytes
 * past the cap are read and dropped: a chatty child never blocks on a full
 * pipe.  At EOF or on an error the stream is closed.
 */
#define READ_BURST 16
static int capture_read(struct capture *c, bool *oom)
{
    for (int burst = 0; burst < READ_BURST; burst++) {
        char scratch[4096];
        char *dst = scratch;
        size_t room = sizeof scratch;
        if (capture_grow(c, oom)) {
            dst = c->buf + c->len;
            room = c->size - c->len;
        }
        ssize_t n = read(c->fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return READ_AGAIN;
        if (n <= 0) {
            close_fd(&c->fd);
            return READ_CLOSED;
        }
        if (dst == scratch)
            c->truncated = true;
        else
            c->len += (size_t)n;
    }
    return READ_MORE;
}

/* Sends more of the input; closes our end when all is sent or the child stopped reading. */
static void input_write(struct run *r)
{
    while (r->input_off < r->input_len) {
        /* A socket, not a pipe: MSG_NOSIGNAL spares the caller a SIGPIPE. */
        ssize_t n = send(r->in_fd, r->input + r->input_off, r->input_len - r->input_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            break; /* EPIPE, ECONNRESET: the child closed its stdin */
        r->input_off += (size_t)n;
    }
    close_fd(&r->in_fd);
}

/* Reaps the child if it has exited; returns a CRIO_E* code on a waitpid failure. */
static int check_exit(struct run *r, bool block)
{
    for (;;) {
        pid_t p = waitpid(r->pid, &r->status, block ? 0 : WNOHANG);
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            return crio_error_sys(errno, "%s: wait for pid %d", r->name, (int)r->pid);
        if (p == r->pid)
            r->exited = true;
        return 0;
    }
}

/*
 * Reads what the streams hold once the child has gone.  A pipe holds at most
 * its buffer (64 KiB by default, 1 MiB at most unprivileged), so DRAIN_ROUNDS
 * bursts get all the child wrote; only a descendant that keeps writing is cut.
 */
#define DRAIN_ROUNDS 64
static void drain(struct run *r, bool *oom)
{
    for (int i = 0; i < 2; i++)
        for (int round = 0; round < DRAIN_ROUNDS && r->cap[i].fd >= 0; round++)
            if (capture_read(&r->cap[i], oom) != READ_MORE)
                break;
}

static int poll_timeout(const struct run *r, int64_t deadline)
{
    int64_t wait = -1;
    if (deadline > 0) {
        wait = deadline - crio_monotonic_ms();
        if (wait < 0)
            wait = 0;
    }
    if (r->pidfd < 0 && (wait < 0 || wait > POLL_FALLBACK_MS))
        wait = POLL_FALLBACK_MS;
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

/*
 * Feeds stdin and collects stdout/stderr until the child exits.  Returns 0
 * once it has exited (and been reaped), CRIO_ETIMEDOUT at the deadline.
 */
static int pump(struct run *r, int64_t deadline, bool *oom)
{
    while (!r->exited) {
        if (deadline > 0 && crio_monotonic_ms() >= deadline)
            return CRIO_ETIMEDOUT;
        struct pollfd p[4];
        int n = 0, in_i = -1, cap_i[2] = { -1, -1 }, pid_i = -1;
        if (r->in_fd >= 0)
            p[in_i = n++] = (struct pollfd){ .fd = r->in_fd, .events = POLLOUT };
        for (int i = 0; i < 2; i++)
            if (r->cap[i].fd >= 0)
                p[cap_i[i] = n++] = (struct pollfd){ .fd = r->cap[i].fd, .events = POLLIN };
        if (r->pidfd >= 0)
            p[pid_i = n++] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
        int k = poll(p, (nfds_t)n, poll_timeout(r, deadline));
        if (k < 0 && errno != EINTR)
            return crio_error_sys(errno, "%s: poll", r->name);
        if (k <= 0 && r->pidfd >= 0)
            continue;
        if (in_i >= 0 && p[in_i].revents)
            input_write(r);
        for (int i = 0; i < 2; i++)
            if (cap_i[i] >= 0 && p[cap_i[i]].revents)
                capture_read(&r->cap[i], oom);
        if (pid_i < 0 || p[pid_i].revents) {
            int e = check_exit(r, false);
            if (e < 0)
                return e;
        }
    }
    drain(r, oom);
    return 0;
}

/* ---- starting the child ---- */

/* The fds the child gets, each raised to a number no dup2 into 0..base-1 can clobber. */
struct child_fds {
    int src[3];     /* stdin, stdout, stderr sources; -1: /dev/null */
    int *pass;      /* pass_fds, raised */
    int tmp[64];    /* raised copies we own and close after the spawn */
    size_t ntmp;
};

static int raise_fd(struct child_fds *cf, int fd, int base)
{
    if (fd >= base)
        return fd;
    if (cf->ntmp == CRIO_ARRAY_SIZE(cf->tmp))
        return crio_error_set(CRIO_EINVAL, "spawn: too many fds to pass");
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, base);
    if (copy < 0 && errno == EBADF)
        return crio_error_set(CRIO_EINVAL, "spawn: fd %d to pass is not open", fd);
    if (copy < 0)
        return crio_error_sys(errno, "spawn: duplicate fd %d", fd);
    cf->tmp[cf->ntmp++] = copy;
    return copy;
}

static void child_fds_release(struct child_fds *cf)
{
    for (size_t i = 0; i < cf->ntmp; i++)
        close(cf->tmp[i]);
    free(cf->pass);
}

static int file_actions(posix_spawn_file_actions_t *fa, const struct child_fds *cf, size_t npass)
{
    static const int null_flags[3] = { O_RDONLY, O_WRONLY, O_WRONLY };
    int e = 0;
    for (int i = 0; i < 3 && e == 0; i++)
        e = cf->src[i] >= 0 ? posix_spawn_file_actions_adddup2(fa, cf->src[i], i)
                            : posix_spawn_file_actions_addopen(fa, i, "/dev/null", null_flags[i], 0);
    for (size_t i = 0; i < npass && e == 0; i++)
        e = posix_spawn_file_actions_adddup2(fa, cf->pass[i], 3 + (int)i);
    /* Whatever the daemon left without O_CLOEXEC (or another thread just opened) stays out. */
    if (e == 0)
        e = posix_spawn_file_actions_addclosefrom_np(fa, 3 + (int)npass);
    return e ? crio_error_sys(e, "spawn: file actions") : 0;
}

static int spawn_attrs(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    /* The child starts clean: no blocked or ignored signals inherited from the daemon (SIGPIPE). */
    int e = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                               POSIX_SPAWN_SETPGROUP);
    if (e == 0)
        e = posix_spawnattr_setsigmask(attr, &none);
    if (e == 0)
        e = posix_spawnattr_setsigdefault(attr, &all);
    /* Its own group, so that a timeout kills what it started too. */
    if (e == 0)
        e = posix_spawnattr_setpgroup(attr, 0);
    return e ? crio_error_sys(e, "spawn: attributes") : 0;
}

static bool exec_errno(int e)
{
    return e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR || e == ELOOP || e == ETXTBSY ||
           e == EPERM || e == EISDIR || e == ENAMETOOLONG;
}

static int do_spawn(struct run *r, const crio_spawn_opts *o, const struct child_fds *cf)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (posix_spawn_file_actions_init(&fa) != 0 || posix_spawnattr_init(&attr) != 0)
        return crio_error_oom();
    int e = file_actions(&fa, cf, o->n_pass_fds);
    if (e == 0)
        e = spawn_attrs(&attr);
    if (e == 0) {
        static const char *const empty_env[] = { NULL };
        const char *const *env = o->envp ? o->envp : empty_env;
        int err = posix_spawn(&r->pid, o->argv[0], &fa, &attr, (char *const *)o->argv, (char *const *)env);
        if (err && exec_errno(err))
            e = crio_error_set_errno(CRIO_EUNAVAILABLE, err, "run %s: exec %s", r->name, o->argv[0]);
        else if (err == EBADF)
            e = crio_error_set_errno(CRIO_EINVAL, err, "run %s: a passed fd is not open", r->name);
        else if (err)
            e = crio_error_sys(err, "run %s", r->name);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return e;
}

/* ---- setting up the streams ---- */

/* Pipes and sockets are made close-on-exec: only the dup2'ed copies reach the child. */
static int open_streams(struct run *r, const crio_spawn_opts *o, int child_end[3])
{
    if (o->in == CRIO_SPAWN_PIPE) {
        int sv[2];
        /* A socket pair, not a pipe, for MSG_NOSIGNAL (see input_write). */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            return crio_error_sys(errno, "run %s: socketpair", r->name);
        shutdown(sv[0], SHUT_RD);
        shutdown(sv[1], SHUT_WR);
        r->in_fd = sv[0];
        child_end[0] = sv[1];
    }
    const crio_spawn_io modes[2] = { o->out, o->err };
    const size_t caps[2] = { o->out_cap, o->err_cap };
    for (int i = 0; i < 2; i++) {
        if (modes[i] != CRIO_SPAWN_PIPE)
            continue;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return crio_error_sys(errno, "run %s: pipe", r->name);
        r->cap[i].fd = pfd[0];
        r->cap[i].cap = caps[i] ? caps[i] : CRIO_SPAWN_DEFAULT_CAP;
        child_end[i + 1] = pfd[1];
        if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0)
            return crio_error_sys(errno, "run %s: pipe", r->name);
    }
    return 0;
}

static int child_fds_init(struct child_fds *cf, const crio_spawn_opts *o, const int child_end[3])
{
    const int base = 3 + (int)o->n_pass_fds;
    const crio_spawn_io modes[3] = { o->in, o->out, o->err };
    const int given[3] = { o->in_fd, o->out_fd, o->err_fd };
    for (int i = 0; i < 3; i++) {
        int fd = modes[i] == CRIO_SPAWN_PIPE ? child_end[i] : modes[i] == CRIO_SPAWN_FD ? given[i] : -1;
        cf->src[i] = -1;
        if (fd >= 0 && (cf->src[i] = raise_fd(cf, fd, base)) < 0)
            return cf->src[i];
    }
    if (o->n_pass_fds && !(cf->pass = calloc(o->n_pass_fds, sizeof(int))))
        return crio_error_oom();
    for (size_t i = 0; i < o->n_pass_fds; i++)
        if ((cf->pass[i] = raise_fd(cf, o->pass_fds[i], base)) < 0)
            return cf->pass[i];
    return 0;
}

static int check_opts(const crio_spawn_opts *o)
{
    if (!o || !o->argv || !o->argv[0] || !*o->argv[0])
        return crio_error_set(CRIO_EINVAL, "spawn: no program");
    if ((o->in == CRIO_SPAWN_FD && o->in_fd < 0) || (o->out == CRIO_SPAWN_FD && o->out_fd < 0) ||
        (o->err == CRIO_SPAWN_FD && o->err_fd < 0))
        return crio_error_set(CRIO_EINVAL, "run %s: CRIO_SPAWN_FD without an fd", prog_name(o->argv[0]));
    if (o->n_pass_fds > 32 || (o->n_pass_fds && !o->pass_fds))
        return crio_error_set(CRIO_EINVAL, "run %s: bad pass_fds", prog_name(o->argv[0]));
    for (size_t i = 0; i < o->n_pass_fds; i++)
        if (fcntl(o->pass_fds[i], F_GETFD) < 0)
            return crio_error_set(CRIO_EINVAL, "run %s: fd %d to pass is not open", prog_name(o->argv[0]),
                                  o->pass_fds[i]);
    if (o->timeout_ms < 0)
        return crio_error_set(CRIO_EINVAL, "run %s: negative timeout", prog_name(o->argv[0]));
    return 0;
}

/* Starts the child; on success only our ends of its streams stay open here. */
static int start(struct run *r, const crio_spawn_opts *o)
{
    int child_end[3] = { -1, -1, -1 };
    struct child_fds cf = { .pass = NULL };
    int e = open_streams(r, o, child_end);
    if (e == 0)
        e = child_fds_init(&cf, o, child_end);
    if (e == 0)
        e = do_spawn(r, o, &cf);
    child_fds_release(&cf);
    for (int i = 0; i < 3; i++)
        close_fd(&child_end[i]);
    if (e < 0)
        return e;
#ifdef SYS_pidfd_open
    /* The child is not reaped before we wait for it, so its pid cannot be reused meanwhile. */
    r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
#endif
    if (r->in_fd >= 0 && o->input_len == 0)
        close_fd(&r->in_fd);
    return 0;
}

/* ---- results ---- */

static char *capture_take(struct capture *c, size_t *len, bool *truncated, bool *oom)
{
    char *s = c->buf ? c->buf : malloc(1);
    if (!s) {
        *oom = true;
        return NULL;
    }
    s[c->len] = '\0';
    *len = c->len;
    *truncated = c->truncated;
    c->buf = NULL;
    return s;
}

static void fill_result(crio_spawn_result *res, struct run *r, bool *oom)
{
    res->pid = r->pid;
    if (WIFSIGNALED(r->status)) {
        res->signal = WTERMSIG(r->status);
        res->exit_code = 128 + res->signal;
    } else {
        res->exit_code = WEXITSTATUS(r->status);
    }
    res->out = capture_take(&r->cap[0], &res->out_len, &res->out_truncated, oom);
    res->err = capture_take(&r->cap[1], &res->err_len, &res->err_truncated, oom);
}

/* The deadline passed (or waiting failed): kill the child's group and reap it. */
static int kill_child(struct run *r, const crio_spawn_opts *o, bool timed_out)
{
    if (timed_out && o->on_timeout)
        o->on_timeout(r->pid, o->payload);
    kill(-r->pid, SIGKILL);
    kill(r->pid, SIGKILL);
    return check_exit(r, true);
}

static int timed_out(const crio_spawn_result *res, const char *name, int64_t ms)
{
    if (res->err && res->err_len) {
        char buf[768];
        return crio_error_set(CRIO_ETIMEDOUT, "%s: timed out after %lld ms (killed): %s", name, (long long)ms,
                              crio_spawn_describe(buf, sizeof buf, res));
    }
    return crio_error_set(CRIO_ETIMEDOUT, "%s: timed out after %lld ms (killed)", name, (long long)ms);
}

int crio_spawn_run(crio_spawn_result *res, const crio_spawn_opts *o)
{
    *res = (crio_spawn_result){ .pid = -1 };
    int e = check_opts(o);
    if (e < 0)
        return e;
    struct run r = {
        .name = prog_name(o->argv[0]), .pid = -1, .pidfd = -1, .in_fd = -1,
        .input = o->input, .input_len = o->input ? o->input_len : 0,
        .cap = { { .fd = -1 }, { .fd = -1 } },
    };
    int64_t deadline = o->timeout_ms ? crio_monotonic_ms() + o->timeout_ms : 0;
    bool oom = false;
    if ((e = start(&r, o)) == 0) {
        e = pump(&r, deadline, &oom);
        /* Whatever stopped the wait, no child is left running or unreaped. */
        if (e < 0 && !r.exited) {
            int k = kill_child(&r, o, e == CRIO_ETIMEDOUT);
            if (k < 0 && e == CRIO_ETIMEDOUT)
                e = k;
            drain(&r, &oom);
        }
    }
    run_release_fds(&r);
    if (r.exited)
        fill_result(res, &r, &oom);
    free(r.cap[0].buf);
    free(r.cap[1].buf);
    if (oom)
        return crio_error_oom();
    if (e == CRIO_ETIMEDOUT)
        return timed_out(res, r.name, o->timeout_ms);
    return e;
}

void crio_spawn_result_free(crio_spawn_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

/* ---- messages ---- */

/* Appends `s[0..n)` with white space runs (newlines included) around lines folded into "; ". */
static size_t append_trimmed(char *buf, size_t len, size_t at, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && at + 1 < len) {
        size_t end = i;
        while (end < n && s[end] != '\n')
            end++;
        size_t a = i, b = end;
        while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
            b--;
        if (b > a) {
            if (at)
                at += (size_t)snprintf(buf + at, len - at, "; ");
            if (at + 1 < len)
                at += (size_t)snprintf(buf + at, len - at, "%.*s", (int)(b - a), s + a);
        }
        i = end + 1;
    }
    return at < len ? at : len - 1;
}

const char *crio_spawn_describe(char *buf, size_t len, const crio_spawn_result *res)
{
    if (!len)
        return buf;
    buf[0] = '\0';
    size_t at = res->err ? append_trimmed(buf, len, 0, res->err, res->err_len) : 0;
    if (at == 0) {
        if (res->signal)
            snprintf(buf, len, "killed by signal %d", res->signal);
        else
            snprintf(buf, len, "exit status %d", res->exit_code);
    }
    return buf;
}

int crio_spawn_error(int code, const crio_spawn_result *res, const char *fmt, ...)
{
    char ctx[512], why[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return crio_error_set(code, "%s: %s", ctx, crio_spawn_describe(why, sizeof why, res));
}

/* ---- forked helpers ---- */

/* Closes every fd from `from` up except those in `keep` (sorted, at most 16); async-signal-safe. */
static void close_all_but(int from, const int *keep, size_t n)
{
    unsigned lo = (unsigned)from;
    for (size_t i = 0; i <= n; i++) {
        unsigned hi = i < n ? (unsigned)keep[i] : ~0U;
        if (i < n && hi < lo)
            continue;
        if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
            /* Before Linux 5.9: one by one, up to the fd limit. */
            struct rlimit rl;
            unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (unsigned)rl.rlim_cur : 65536;
            for (unsigned fd = lo; fd < hi && fd < top; fd++)
                close((int)fd);
        }
        if (i < n)
            lo = hi + 1;
    }
}

/* The child's fds to keep, sorted; false when there are too many. */
static bool sorted_keep(int *out, size_t *n, const int *extra, size_t n_extra, int a, int b)
{
    if (n_extra + 2 > 16)
        return false;
    size_t k = 0;
    out[k++] = a;
    out[k++] = b;
    for (size_t i = 0; i < n_extra; i++)
        out[k++] = extra[i];
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    *n = k;
    return true;
}

int crio_fork_helper(pid_t *pid, crio_helper_fds *fds, const char *what, const int *keep, size_t n_keep)
{
    if (n_keep > 14)
        return crio_error_set(CRIO_EINVAL, "%s: %zu fds to keep is too many", what, n_keep);
    int rep[2], ctl[2];
    if (pipe2(rep, O_CLOEXEC) < 0)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "%s: pipe", what);
    if (pipe2(ctl, O_CLOEXEC) < 0) {
        int e = errno;
        close(rep[0]);
        close(rep[1]);
        return crio_error_set_errno(CRIO_EINTERNAL, e, "%s: pipe", what);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int kept[16];
    size_t n_kept = 0;
    sorted_keep(kept, &n_kept, keep, n_keep, rep[1], ctl[0]);
    pid_t child = fork();
    if (child == 0) {
        /* The helper: its mask stays full, and it holds nothing of other helpers. */
        close_all_but(3, kept, n_kept);
        *fds = (crio_helper_fds){ .report = rep[1], .control = ctl[0] };
        *pid = 0;
        return 0;
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(rep[1]);
    close(ctl[0]);
    if (child < 0) {
        close(rep[0]);
        close(ctl[1]);
        return crio_error_set_errno(CRIO_EINTERNAL, fork_errno, "%s: fork", what);
    }
    *fds = (crio_helper_fds){ .report = rep[0], .control = ctl[1] };
    *pid = child;
    return 0;
}
