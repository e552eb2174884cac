/*
 * The event loop while the container runs: one epoll set over the child
 * signal, the container's output, the ctl FIFO, the attach socket and its
 * clients, and the OOM watch.  Everything is non-blocking: a container that
 * stops reading stdin, or a slow attach client, never stalls the log.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"
#include "runtime/monitor.h"

enum source { SRC_SIGNAL, SRC_STDOUT, SRC_STDERR, SRC_STDIN, SRC_CTL, SRC_ATTACH, SRC_OOM, SRC_CLIENT };

/* An epoll tag: the source, and for a client its slot and generation (so that
 * an event queued for a client that left is not applied to its successor). */
#define TAG(src, slot, gen) (((uint64_t)(src) << 32) | ((uint64_t)(gen) << 8) | (uint64_t)(slot))

/* Reads beyond this while draining at exit: an orphan still writing cannot hold the monitor. */
#define DRAIN_MAX_READS 256
/* How long a pty may take to hand over the last output after the container exits. */
#define TTY_DRAIN_MS 1000

struct client {
    int fd;         /* -1: free slot */
    uint32_t gen;
    bool reading;   /* its input has not ended */
};

struct mon {
    const struct mon_opts *o;
    int ep, sigfd, ctl_fd, attach_fd;
    struct mon_stdio *io;
    struct crilog *log;
    struct oom_watch *oom;
    pid_t pid;
    bool exited;
    struct mon_exit *ex;
    struct client clients[MON_MAX_CLIENTS];
    uint32_t next_gen;
    char ctl_buf[256];
    size_t ctl_len;
    /* One client packet on its way to stdin (tag byte at 0). */
    char stdin_buf[MON_PACKET_MAX];
    size_t stdin_off, stdin_len;
    bool stdin_polled, stdin_close_pending;
};

/* Static rather than on the stack: the loop's one big buffer. */
static char readbuf[MON_READ_MAX];

static void ep_set(struct mon *m, int op, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = { .events = events, .data.u64 = tag };
    if (epoll_ctl(m->ep, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
        mon_log(MON_ERROR, "epoll_ctl fd %d: %s", fd, strerror(errno));
}

/* ---- stdin ---- */

static void clients_set_input(struct mon *m, bool on)
{
    for (int i = 0; i < MON_MAX_CLIENTS; i++) {
        struct client *c = &m->clients[i];
        if (c->fd >= 0 && c->reading)
            ep_set(m, EPOLL_CTL_MOD, c->fd, on ? EPOLLIN : 0, TAG(SRC_CLIENT, i, c->gen));
    }
}

static void stdin_close(struct mon *m)
{
    if (m->io->in < 0)
        return;
    if (m->stdin_off < m->stdin_len) {
        /* Let what a client already sent go first. */
        m->stdin_close_pending = true;
        return;
    }
    /* A terminal has no separate stdin to close: end-of-file is ^D. */
    if (m->o->terminal && write(m->io->in, "\x04", 1) < 0)
        mon_log(MON_DEBUG, "send EOF to the terminal: %s", strerror(errno));
    if (m->stdin_polled)
        ep_set(m, EPOLL_CTL_DEL, m->io->in, 0, 0);
    close(m->io->in);
    m->io->in = -1;
    m->stdin_polled = m->stdin_close_pending = false;
    m->stdin_off = m->stdin_len = 0;
    clients_set_input(m, true);
    mon_log(MON_DEBUG, "closed the container's stdin");
}

/* Writes the pending packet; while the container is not reading, clients are not read either. */
static void stdin_push(struct mon *m)
{
    while (m->stdin_off < m->stdin_len) {
        ssize_t n = write(m->io->in, m->stdin_buf + m->stdin_off, m->stdin_len - m->stdin_off);
        if (n > 0) {
            m->stdin_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            if (!m->stdin_polled)
                ep_set(m, EPOLL_CTL_ADD, m->io->in, EPOLLOUT, TAG(SRC_STDIN, 0, 0));
            m->stdin_polled = true;
            clients_set_input(m, false);
            return;
        } else {
            /* The container closed its stdin: nothing more can go there. */
            m->stdin_off = m->stdin_len = 0;
            m->stdin_close_pending = true;
        }
    }
    m->stdin_off = m->stdin_len = 0;
    if (m->stdin_polled) {
        ep_set(m, EPOLL_CTL_DEL, m->io->in, 0, 0);
        m->stdin_polled = false;
        clients_set_input(m, true);
    }
    if (m->stdin_close_pending)
        stdin_close(m);
}

/* ---- attach clients ---- */

static void client_input_ended(struct mon *m, struct client *c)
{
    if (!c->reading)
        return;
    c->reading = false;
    if (m->o->stdin_once)
        stdin_close(m);
}

static void client_drop(struct mon *m, int slot)
{
    struct client *c = &m->clients[slot];
    client_input_ended(m, c);
    close(c->fd);
    c->fd = -1;
    mon_log(MON_DEBUG, "attach client %d left", slot);
}

static void client_accept(struct mon *m)
{
    int fd = accept4(m->attach_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < MON_MAX_CLIENTS; i++) {
        struct client *c = &m->clients[i];
        if (c->fd >= 0)
            continue;
        *c = (struct client){ .fd = fd, .gen = ++m->next_gen & 0xffffff, .reading = true };
        ep_set(m, EPOLL_CTL_ADD, fd, m->stdin_polled ? 0 : EPOLLIN, TAG(SRC_CLIENT, i, c->gen));
        mon_log(MON_DEBUG, "attach client %d joined", i);
        return;
    }
    mon_log(MON_WARN, "attach: more than %d clients, refusing one", MON_MAX_CLIENTS);
    close(fd);
}

static void client_read(struct mon *m, int slot)
{
    struct client *c = &m->clients[slot];
    /* stdin_buf is busy: the event came in the same batch that filled it,
     * and comes again once stdin_push re-enables clients. */
    if (m->stdin_off < m->stdin_len)
        return;
    ssize_t n = recv(c->fd, m->stdin_buf, sizeof m->stdin_buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        client_drop(m, slot);
        return;
    }
    if (n == 0) {
        /* It shut down its sending side; it may still be reading output. */
        client_input_ended(m, c);
        ep_set(m, EPOLL_CTL_MOD, c->fd, 0, TAG(SRC_CLIENT, slot, c->gen));
        return;
    }
    if (m->stdin_buf[0] != CRIO_ATTACH_STDIN || n == 1 || m->io->in < 0)
        return;
    m->stdin_off = 1;
    m->stdin_len = (size_t)n;
    stdin_push(m);
}

/* Sends output to every client as tagged packets; a client that cannot keep up is dropped. */
static void clients_send(struct mon *m, enum mon_stream s, const char *data, size_t len)
{
    char tag = s == MON_STDOUT ? CRIO_ATTACH_STDOUT : CRIO_ATTACH_STDERR;
    for (int i = 0; i < MON_MAX_CLIENTS; i++) {
        if (m->clients[i].fd < 0)
            continue;
        for (size_t off = 0; off < len;) {
            size_t k = len - off < MON_PACKET_MAX - 1 ? len - off : MON_PACKET_MAX - 1;
            struct iovec iov[2] = { { .iov_base = &tag, .iov_len = 1 },
                                    { .iov_base = (void *)(data + off), .iov_len = k } };
            struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
            if (sendmsg(m->clients[i].fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                if (errno == EAGAIN)
                    mon_log(MON_WARN, "attach client %d is not reading; dropping it", i);
                client_drop(m, i);
                break;
            }
            off += k;
        }
    }
}

/* ---- container output ---- */

/* One read of a stream: 1 data, 0 nothing now, -1 the stream ended. */
static int output_read(struct mon *m, enum mon_stream s)
{
    int fd = s == MON_STDOUT ? m->io->out : m->io->err;
    ssize_t n = read(fd, readbuf, sizeof readbuf);
    if (n > 0) {
        clients_send(m, s, readbuf, (size_t)n);
        crilog_write(m->log, s, readbuf, (size_t)n);
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    /* EOF, or EIO from a pty master whose other side is closed. */
    ep_set(m, EPOLL_CTL_DEL, fd, 0, 0);
    close(fd);
    if (s == MON_STDOUT)
        m->io->out = -1;
    else
        m->io->err = -1;
    return -1;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After the exit, what the container wrote is in its pipes, or (pty) about to be. */
static void output_drain(struct mon *m)
{
    int64_t deadline = monotonic_ms() + TTY_DRAIN_MS;
    for (int s = MON_STDOUT; s <= MON_STDERR; s++)
        for (int i = 0; i < DRAIN_MAX_READS; i++) {
            int fd = s == MON_STDOUT ? m->io->out : m->io->err;
            if (fd < 0)
                break;
            int r = output_read(m, (enum mon_stream)s);
            if (r < 0)
                break;
            if (r == 0 && !m->o->terminal)
                break;
            /* A pty's last output can trail the exit; EIO marks its end. */
            int64_t left = deadline - monotonic_ms();
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (r == 0 && (left <= 0 || poll(&p, 1, (int)left) <= 0))
                break;
        }
}

/* ---- ctl commands ---- */

static void ctl_resize(struct mon *m, const char *args)
{
    char *end;
    unsigned long h = strtoul(args, &end, 10);
    unsigned long w = strtoul(end, &end, 10);
    if (*end || h == 0 || w == 0 || h > 0xffff || w > 0xffff) {
        mon_log(MON_WARN, "ctl: bad resize \"%s\"", args);
        return;
    }
    if (!m->o->terminal || m->io->out < 0)
        return;
    struct winsize ws = { .ws_row = (unsigned short)h, .ws_col = (unsigned short)w };
    if (ioctl(m->io->out, TIOCSWINSZ, &ws) < 0)
        mon_log(MON_WARN, "resize the terminal: %s", strerror(errno));
}

static void ctl_command(struct mon *m, char *cmd)
{
    size_t len = strlen(cmd);
    while (len > 0 && (cmd[len - 1] == '\r' || cmd[len - 1] == ' '))
        cmd[--len] = '\0';
    if (strcmp(cmd, "reopen") == 0) {
        if (crilog_reopen(m->log) < 0)
            mon_log(MON_ERROR, "reopen %s: %s", m->o->log_path, strerror(errno));
    } else if (strncmp(cmd, "resize ", 7) == 0) {
        ctl_resize(m, cmd + 7);
    } else if (len > 0) {
        mon_log(MON_WARN, "ctl: unknown command \"%s\"", cmd);
    }
}

static void ctl_read(struct mon *m)
{
    ssize_t n = read(m->ctl_fd, m->ctl_buf + m->ctl_len, sizeof m->ctl_buf - 1 - m->ctl_len);
    if (n <= 0)
        return;
    m->ctl_len += (size_t)n;
    char *start = m->ctl_buf, *end = m->ctl_buf + m->ctl_len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
        *nl = '\0';
        ctl_command(m, start);
        start = nl + 1;
    }
    size_t rest = (size_t)(end - start);
    if (rest == sizeof m->ctl_buf - 1) {
        mon_log(MON_WARN, "ctl: command too long, dropped");
        rest = 0;
    }
    memmove(m->ctl_buf, start, rest);
    m->ctl_len = rest;
}

/* ---- children ---- */

/* As a subreaper the monitor also inherits the container's orphans: reap them all. */
static void reap(struct mon *m)
{
    struct signalfd_siginfo si;
    while (read(m->sigfd, &si, sizeof si) > 0) {
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
        if (p != m->pid)
            continue;
        m->exited = true;
        m->ex->status = status;
        m->ex->at = mon_now_ns();
    }
}

static void dispatch(struct mon *m, const struct epoll_event *ev)
{
    enum source src = (enum source)(ev->data.u64 >> 32);
    int slot = (int)(ev->data.u64 & 0xff);
    uint32_t gen = (uint32_t)(ev->data.u64 >> 8) & 0xffffff;
    switch (src) {
    case SRC_SIGNAL:
        reap(m);
        break;
    case SRC_STDOUT:
        output_read(m, MON_STDOUT);
        break;
    case SRC_STDERR:
        output_read(m, MON_STDERR);
        break;
    case SRC_STDIN:
        stdin_push(m);
        break;
    case SRC_CTL:
        ctl_read(m);
        break;
    case SRC_ATTACH:
        client_accept(m);
        break;
    case SRC_OOM:
        oom_watch_event(m->oom);
        break;
    case SRC_CLIENT:
        if (m->clients[slot].fd < 0 || m->clients[slot].gen != gen)
            break;
        if (ev->events & EPOLLIN)
            client_read(m, slot);
        if (m->clients[slot].fd >= 0 && (ev->events & (EPOLLHUP | EPOLLERR)) && !(ev->events & EPOLLIN))
            client_drop(m, slot);
        break;
    }
}

static int loop_setup(struct mon *m)
{
    m->ep = epoll_create1(EPOLL_CLOEXEC);
    if (m->ep < 0)
        return -1;
    for (int i = 0; i < MON_MAX_CLIENTS; i++)
        m->clients[i].fd = -1;
    ep_set(m, EPOLL_CTL_ADD, m->sigfd, EPOLLIN, TAG(SRC_SIGNAL, 0, 0));
    ep_set(m, EPOLL_CTL_ADD, m->io->out, EPOLLIN, TAG(SRC_STDOUT, 0, 0));
    if (m->io->err >= 0)
        ep_set(m, EPOLL_CTL_ADD, m->io->err, EPOLLIN, TAG(SRC_STDERR, 0, 0));
    ep_set(m, EPOLL_CTL_ADD, m->ctl_fd, EPOLLIN, TAG(SRC_CTL, 0, 0));
    ep_set(m, EPOLL_CTL_ADD, m->attach_fd, EPOLLIN, TAG(SRC_ATTACH, 0, 0));
    if (m->oom->fd >= 0)
        ep_set(m, EPOLL_CTL_ADD, m->oom->fd, EPOLLIN, TAG(SRC_OOM, 0, 0));
    return 0;
}

static void loop_teardown(struct mon *m)
{
    for (int i = 0; i < MON_MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0)
            close(m->clients[i].fd);
    if (m->io->in >= 0)
        close(m->io->in);
    m->io->in = -1;
    close(m->ep);
}

int mon_loop(const struct mon_opts *o, int sigfd, struct mon_stdio *io, int ctl_fd, int attach_fd,
             struct crilog *log, struct oom_watch *oom, pid_t pid, struct mon_exit *ex)
{
    /* Static: the state holds an 8 KiB stdin buffer that need not be on the
     * stack (the loop runs once per process, so it starts zeroed). */
    static struct mon m;
    m.o = o;
    m.sigfd = sigfd;
    m.ctl_fd = ctl_fd;
    m.attach_fd = attach_fd;
    m.io = io;
    m.log = log;
    m.oom = oom;
    m.pid = pid;
    m.ex = ex;
    if (loop_setup(&m) < 0)
        return -1;
    /* It may have exited (and been reparented to the monitor) before the loop began. */
    reap(&m);
    while (!m.exited) {
        struct epoll_event evs[16];
        int n = epoll_wait(m.ep, evs, 16, -1);
        if (n < 0 && errno != EINTR) {
            mon_log(MON_ERROR, "epoll_wait: %s", strerror(errno));
            loop_teardown(&m);
            return -1;
        }
        for (int i = 0; i < n; i++)
            dispatch(&m, &evs[i]);
    }
    output_drain(&m);
    crilog_flush(log);
    loop_teardown(&m);
    return 0;
}
