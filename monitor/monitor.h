/*
 * crio-monitor internals: the per-container parent (see lib/runtime/monitor.h
 * for its contract with libcrio).  It is a small static program, not linked
 * with libcrio: every buffer is fixed-size and nothing grows with the
 * container's output, so each monitor stays well under 1 MiB RSS.
 */
#ifndef CRIO_MONITOR_MONITOR_H
#define CRIO_MONITOR_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One CRI log entry holds at most this much text; longer lines become P entries. */
#define MON_LINE_MAX 8192
/* One read from the container's stdout/stderr. */
#define MON_READ_MAX 32768
/* An attach packet, tag byte included (clients receive with a buffer this big). */
#define MON_PACKET_MAX 8192
#define MON_MAX_CLIENTS 16

/* ---- util.c: the monitor's own messages and small file helpers ---- */

enum mon_level { MON_ERROR, MON_WARN, MON_INFO, MON_DEBUG };

/* Sets the level from a --log-level name; -1 when the name is unknown. */
int mon_log_set_level(const char *name);
/* Writes "crio-monitor[pid]: level: message" to stderr when `level` is enabled. */
void mon_log(enum mon_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes all of `len` bytes, retrying EINTR and short writes; -1 with errno. */
int mon_write_all(int fd, const void *data, size_t len);
/* Reads up to cap-1 bytes of `name` under `dirfd` into `buf`, NUL-terminated; -1 with errno. */
ssize_t mon_read_small(int dirfd, const char *name, char *buf, size_t cap);
/* Copies `src` into `dst` as a JSON string body (no quotes), cut to fit `cap`. */
void mon_json_escape(char *dst, size_t cap, const char *src);
/* Replaces `path` with `data`: temporary in the same directory, fsync, rename, fsync dir. */
int mon_write_atomic(const char *path, const char *data, size_t len);
/* Nanoseconds since the epoch from a CLOCK_REALTIME reading. */
int64_t mon_now_ns(void);

/* ---- crilog.c: the container log in the CRI format ---- */

enum mon_stream { MON_STDOUT, MON_STDERR };

struct crilog {
    const char *path;
    int fd;            /* -1 while the file cannot be opened */
    int64_t size_max;  /* <= 0: unlimited */
    int64_t written;   /* the file's size as far as the monitor knows */
    bool failing;      /* the last write failed (reported once, not per line) */
    size_t pending[2]; /* an unfinished line of each stream, waiting for its newline */
    char buf[2][MON_LINE_MAX];
};

/* Opens (creating) the log; *created tells whether the file is new.  -1 with errno. */
int crilog_open(struct crilog *l, const char *path, int64_t size_max, bool *created);
/* Reopens the path after a rotation (the old file keeps what it has). */
int crilog_reopen(struct crilog *l);
/* Logs a chunk of the stream's output, completing and splitting lines. */
void crilog_write(struct crilog *l, enum mon_stream s, const char *data, size_t len);
/* Writes the unfinished lines as P entries (the container is gone). */
void crilog_flush(struct crilog *l);
void crilog_close(struct crilog *l);
/* Formats t (ns since the epoch) as "2006-01-02T15:04:05.000000000Z": 30 chars + NUL. */
void crilog_timestamp(char out[31], int64_t t);

/* ---- oom.c: OOM kills in the container's memory cgroup ---- */

struct oom_watch {
    int dirfd;         /* the cgroup directory (O_PATH), -1 when not watched */
    int version;       /* 1 or 2 */
    int fd;            /* v1 eventfd or v2 inotify fd, for the event loop; -1 if none */
    uint64_t baseline; /* oom_kill when the watch started */
    bool seen;         /* an OOM was signalled while the cgroup existed */
};

/* Starts watching `dir` (a v1 or v2 memory cgroup); a missing dir is only warned about. */
void oom_watch_start(struct oom_watch *w, const char *dir);
/* The event loop saw w->fd readable. */
void oom_watch_event(struct oom_watch *w);
/* Whether an OOM kill happened since the watch started. */
bool oom_watch_killed(struct oom_watch *w);
void oom_watch_stop(struct oom_watch *w);

/* ---- runtime.c: running the OCI runtime ---- */

struct mon_opts {
    const char *id, *runtime, *runtime_root, *bundle, *exit_file, *log_path, *ctl, *attach, *oom_cgroup;
    int64_t log_size_max;
    bool terminal, stdin_open, stdin_once;
    int sync_fd;
};

/* The container's stdio as the monitor holds it after a successful create. */
struct mon_stdio {
    int out;  /* stdout read end, or the pty master with --terminal */
    int err;  /* stderr read end; -1 with --terminal */
    int in;   /* stdin write end (a dup of the master with --terminal); -1 without --stdin */
};

/*
 * Runs `RUNTIME create` with the container's stdio and waits for it.  On
 * success fills *io and *pid (from the pid file).  On failure writes a
 * message to err and leaves no container behind.  Gives up, killing the
 * runtime, if the reader of the sync fd goes away.
 */
int runtime_create(const struct mon_opts *o, int sigfd, struct mon_stdio *io, pid_t *pid, char *err,
                   size_t errlen);
/* `RUNTIME delete --force ID`, for a container created but not handed over. */
void runtime_delete(const struct mon_opts *o);

/* ---- loop.c: the event loop while the container runs ---- */

struct mon_exit {
    int status;      /* as waitpid reports it */
    int64_t at;      /* ns since the epoch */
};

/*
 * Serves the container until its process `pid` exits: copies output to the
 * log and attach clients, feeds stdin, obeys ctl commands and watches OOM.
 * Returns once the output has been drained after the exit.
 */
int mon_loop(const struct mon_opts *o, int sigfd, struct mon_stdio *io, int ctl_fd, int attach_fd,
             struct crilog *log, struct oom_watch *oom, pid_t pid, struct mon_exit *ex);

#endif
