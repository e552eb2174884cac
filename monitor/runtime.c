/*
 * Running `RUNTIME create` with the container's stdio, and the clean-up
 * `RUNTIME delete --force` when a created container cannot be handed over.
 *
 * Without a terminal the runtime's own stdio becomes the container's, so
 * the runtime's error message arrives on the container's stderr pipe, which
 * is read for the sync line when create fails.  With --terminal the runtime
 * sends the pty master over a console socket and its stderr is a pipe of its
 * own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

extern char **environ;

/* The ends the runtime gets as its stdin, stdout and stderr. */
struct child_stdio {
    int fd[3];
};

struct console {
    char dir[32];  /* "" until made */
    char path[64]; /* "" until bound */
    int fd;        /* listening socket */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A pipe whose end `ours` (0 read, 1 write) is the monitor's and non-blocking. */
static int make_pipe(int *ours, int *theirs, int our_end)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    *ours = p[our_end];
    *theirs = p[!our_end];
    return set_nonblock(*ours);
}

static void child_stdio_close(struct child_stdio *c)
{
    for (int i = 0; i < 3; i++)
        close_fd(&c->fd[i]);
}

static int open_null(int flags)
{
    return open("/dev/null", flags | O_CLOEXEC | O_NOCTTY);
}

/*
 * Without a terminal: pipes for stdout and stderr, and for stdin when it is
 * kept open (otherwise /dev/null).  With one: the runtime gets /dev/null and
 * a pipe for its error message only.
 */
static int make_stdio(const struct mon_opts *o, struct mon_stdio *io, struct child_stdio *c)
{
    *io = (struct mon_stdio){ .out = -1, .err = -1, .in = -1 };
    *c = (struct child_stdio){ .fd = { -1, -1, -1 } };
    if (make_pipe(&io->err, &c->fd[2], 0) < 0)
        return -1;
    if (o->terminal) {
        c->fd[0] = open_null(O_RDONLY);
        c->fd[1] = open_null(O_WRONLY);
        return c->fd[0] < 0 || c->fd[1] < 0 ? -1 : 0;
    }
    if (make_pipe(&io->out, &c->fd[1], 0) < 0)
        return -1;
    if (o->stdin_open)
        return make_pipe(&io->in, &c->fd[0], 1);
    c->fd[0] = open_null(O_RDONLY);
    return c->fd[0] < 0 ? -1 : 0;
}

static void mon_stdio_close(struct mon_stdio *io)
{
    close_fd(&io->out);
    close_fd(&io->err);
    close_fd(&io->in);
}

/* A listening socket for the runtime to send the pty master to. */
static int console_listen(struct console *con)
{
    char dir[] = "/tmp/crio-monitor-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    strcpy(con->dir, dir);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/console.sock", dir);
    con->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (con->fd < 0 || bind(con->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return -1;
    strcpy(con->path, sa.sun_path);
    return listen(con->fd, 1);
}

static void console_remove(struct console *con)
{
    close_fd(&con->fd);
    if (con->path[0])
        unlink(con->path);
    if (con->dir[0])
        rmdir(con->dir);
    con->path[0] = con->dir[0] = '\0';
}

/* Takes the pty master the runtime sent (it is queued by the time create returns). */
static int console_receive(struct console *con)
{
    int conn = accept4(con->fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return -1;
    char data[256];
    struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    close(conn);
    struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = EPROTO;
        return -1;
    }
    int master;
    memcpy(&master, CMSG_DATA(c), sizeof master);
    if (set_nonblock(master) < 0) {
        close(master);
        return -1;
    }
    return master;
}

/* argv[0..]: the runtime and its global --root. */
static size_t runtime_argv(const char **argv, const struct mon_opts *o)
{
    size_t n = 0;
    argv[n++] = o->runtime;
    if (o->runtime_root && *o->runtime_root) {
        argv[n++] = "--root";
        argv[n++] = o->runtime_root;
    }
    return n;
}

/* Starts argv with `stdio` (NULL: the monitor's own) and default signal handling. */
static int spawn(const char **argv, const struct child_stdio *stdio, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    /* The monitor ignores SIGPIPE and blocks SIGCHLD; the runtime, and the
     * container after it, must not inherit either. */
    sigaddset(&dfl, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    for (int i = 0; stdio && i < 3; i++)
        posix_spawn_file_actions_adddup2(&fa, stdio->fd[i], i);
    int r = posix_spawn(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    errno = r;
    return r == 0 ? 0 : -1;
}

/*
 * Waits for the runtime.  If the sync fd's reader goes away first (libcrio
 * gave up on this create), kills it and returns -1 with EPIPE.
 */
static int wait_runtime(pid_t pid, int sigfd, int sync_fd, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        /* A pipe's write end polls POLLERR once its reader has closed. */
        struct pollfd p[2] = { { .fd = sigfd, .events = POLLIN }, { .fd = sync_fd, .events = 0 } };
        int n = poll(p, 2, -1);
        if (n < 0 && errno != EINTR)
            p[1].revents = POLLERR;
        if (p[1].revents & (POLLERR | POLLHUP)) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            errno = EPIPE;
            return -1;
        }
        struct signalfd_siginfo si;
        while (read(sigfd, &si, sizeof si) > 0) {
            /* Only a wake-up: waitpid tells what happened. */
        }
    }
}

/* Cuts runc's logrus line down to its message: `... level=error msg="TEXT"`. */
static void extract_message(char *text)
{
    char *m = NULL;
    for (char *p = strstr(text, "msg=\""); p; p = strstr(p + 1, "msg=\""))
        m = p;
    if (m) {
        char *src = m + 5, *dst = text;
        while (*src && *src != '"') {
            if (*src == '\\' && src[1]) {
                src++;
                *dst++ = *src == 'n' ? '\n' : *src == 't' ? '\t' : *src;
                src++;
            } else {
                *dst++ = *src++;
            }
        }
        *dst = '\0';
    }
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
        text[--len] = '\0';
}

/* What the runtime said on stderr, or how it ended when it said nothing. */
static void runtime_error(int errfd, int status, char *err, size_t errlen)
{
    size_t used = 0;
    while (errfd >= 0 && used < errlen - 1) {
        ssize_t n = read(errfd, err + used, errlen - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    err[used] = '\0';
    extract_message(err);
    size_t skip = strspn(err, " \t\n");
    memmove(err, err + skip, strlen(err + skip) + 1);
    if (err[0])
        return;
    if (WIFSIGNALED(status))
        snprintf(err, errlen, "runtime create killed by signal %d", WTERMSIG(status));
    else
        snprintf(err, errlen, "runtime create exited with status %d", WEXITSTATUS(status));
}

static int read_pidfile(const struct mon_opts *o, pid_t *pid)
{
    char path[PATH_MAX], buf[32];
    if ((size_t)snprintf(path, sizeof path, "%s/pidfile", o->bundle) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mon_read_small(AT_FDCWD, path, buf, sizeof buf) < 0)
        return -1;
    char *end;
    long v = strtol(buf, &end, 10);
    if (v <= 0 || v > INT32_MAX || (*end && *end != '\n')) {
        errno = EINVAL;
        return -1;
    }
    *pid = (pid_t)v;
    return 0;
}

/*
 * Spawns `RUNTIME create` and waits for it: 0 when it succeeded, 1 when it
 * failed (it cleans up after itself), -1 when it could not run, -2 when it
 * was killed mid-way.
 */
static int run_create(const struct mon_opts *o, int sigfd, struct child_stdio *c, const struct console *con,
                      char *err, size_t errlen, int *status)
{
    char pidfile[PATH_MAX];
    snprintf(pidfile, sizeof pidfile, "%s/pidfile", o->bundle);
    const char *argv[16];
    size_t n = runtime_argv(argv, o);
    argv[n++] = "create";
    argv[n++] = "--bundle";
    argv[n++] = o->bundle;
    argv[n++] = "--pid-file";
    argv[n++] = pidfile;
    if (o->terminal) {
        argv[n++] = "--console-socket";
        argv[n++] = con->path;
    }
    argv[n++] = o->id;
    argv[n] = NULL;

    pid_t pid;
    if (spawn(argv, c, &pid) < 0) {
        snprintf(err, errlen, "run %s: %s", o->runtime, strerror(errno));
        return -1;
    }
    /* The container holds its ends now (the runtime passed them on). */
    child_stdio_close(c);
    if (wait_runtime(pid, sigfd, o->sync_fd, status) < 0) {
        snprintf(err, errlen, "wait for %s create: %s", o->runtime, strerror(errno));
        return -2;
    }
    return WIFEXITED(*status) && WEXITSTATUS(*status) == 0 ? 0 : 1;
}

/* Picks up what create left: the container's pid, and the pty master. */
static int take_container(const struct mon_opts *o, struct console *con, struct mon_stdio *io, pid_t *pid,
                          char *err, size_t errlen)
{
    if (read_pidfile(o, pid) < 0) {
        snprintf(err, errlen, "read %s/pidfile: %s", o->bundle, strerror(errno));
        return -1;
    }
    if (!o->terminal)
        return 0;
    io->out = console_receive(con);
    if (io->out < 0) {
        snprintf(err, errlen, "receive the terminal from %s: %s", o->runtime, strerror(errno));
        return -1;
    }
    /* The runtime's stderr pipe served only for its error message. */
    close_fd(&io->err);
    if (o->stdin_open && (io->in = fcntl(io->out, F_DUPFD_CLOEXEC, 3)) < 0) {
        snprintf(err, errlen, "dup terminal: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int runtime_create(const struct mon_opts *o, int sigfd, struct mon_stdio *io, pid_t *pid, char *err,
                   size_t errlen)
{
    struct child_stdio c;
    struct console con = { .fd = -1 };
    int status = 0;
    int r = -1;
    if (make_stdio(o, io, &c) < 0 || (o->terminal && console_listen(&con) < 0)) {
        snprintf(err, errlen, "container stdio: %s", strerror(errno));
    } else {
        r = run_create(o, sigfd, &c, &con, err, errlen, &status);
        if (r == 1)
            runtime_error(io->err, status, err, errlen);
        if (r == 0 && take_container(o, &con, io, pid, err, errlen) < 0)
            r = -2;
        /* Only a container this monitor created is deleted: a create that
         * failed by itself may have met another container with the same id. */
        if (r == -2)
            runtime_delete(o);
    }
    child_stdio_close(&c);
    console_remove(&con);
    if (r != 0)
        mon_stdio_close(io);
    return r == 0 ? 0 : -1;
}

void runtime_delete(const struct mon_opts *o)
{
    const char *argv[8];
    size_t n = runtime_argv(argv, o);
    argv[n++] = "delete";
    argv[n++] = "--force";
    argv[n++] = o->id;
    argv[n] = NULL;
    pid_t pid;
    int status;
    if (spawn(argv, NULL, &pid) < 0) {
        mon_log(MON_ERROR, "run %s delete: %s", o->runtime, strerror(errno));
        return;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}
