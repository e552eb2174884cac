/*
 * Running helper programs (the OCI runtime, crio-monitor, CNI plugins).
 *
 * The daemon is multi-threaded and may be large, so a child is started with
 * posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK), no page-table copy) and
 * gets exactly what the caller names: argv, the whole environment, stdin
 * from a buffer or /dev/null, stdout/stderr captured (up to a cap) or on a
 * given fd, optionally a few more fds as 3, 4, ... and nothing else: every
 * other fd is closed in the child, whatever its close-on-exec flag.  The
 * child runs in a process group of its own with default signal dispositions
 * and an empty signal mask.  A run has a deadline after which the child's
 * group is killed (SIGKILL) and CRIO_ETIMEDOUT returned.
 *
 * A helper that runs this process's own code instead of a program is forked
 * (crio_fork_helper).
 */
#ifndef CRIO_BASE_SPAWN_H
#define CRIO_BASE_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where one of the child's standard streams goes.  Zero (the default) is /dev/null. */
typedef enum {
    CRIO_SPAWN_DEVNULL = 0,
    CRIO_SPAWN_PIPE, /* stdin: fed from `input`; stdout/stderr: captured */
    CRIO_SPAWN_FD,   /* the caller's fd (in_fd / out_fd / err_fd) */
} crio_spawn_io;

/* The default capture cap when out_cap / err_cap is 0. */
#define CRIO_SPAWN_DEFAULT_CAP (1024 * 1024)

typedef struct crio_spawn_opts {
    /* argv[0] is the program's path, executed as is (no PATH search). */
    const char *const *argv;
    /* The child's whole environment, NULL-terminated (NULL: an empty one). */
    const char *const *envp;
    crio_spawn_io in, out, err;
    const void *input; /* in == CRIO_SPAWN_PIPE: written to the child's stdin, then closed */
    size_t input_len;
    int in_fd, out_fd, err_fd;   /* for CRIO_SPAWN_FD */
    size_t out_cap, err_cap;     /* bytes kept per captured stream; the rest is read and dropped */
    /* Extra fds the child gets as 3, 4, ... (in this order); all others are closed. */
    const int *pass_fds;
    size_t n_pass_fds;
    /* Kill the child after this long (0: no limit). */
    int64_t timeout_ms;
    /*
     * Called at the deadline before the child is killed, e.g. to kill a
     * process the child started outside its process group.
     */
    void (*on_timeout)(pid_t pid, void *payload);
    void *payload;
} crio_spawn_opts;

typedef struct crio_spawn_result {
    pid_t pid;
    int exit_code; /* the exit status, or 128 + signal */
    int signal;    /* the signal that ended the child, or 0 */
    /* Captured output, NUL-terminated ("" when not captured; NULL when the child never ran). */
    char *out, *err;
    size_t out_len, err_len;
    bool out_truncated, err_truncated;
} crio_spawn_result;

/*
 * Runs the program and waits for it, collecting its output.  Returns 0 once
 * the child has run and exited, whatever its status (read res->exit_code);
 * the result is filled in on every return and is released with
 * crio_spawn_result_free.  Output written after the child exited, by
 * processes it left behind, is not waited for.
 * Errors: CRIO_EUNAVAILABLE when the program cannot be executed (missing,
 * not executable), with the command's name; CRIO_ETIMEDOUT at the deadline
 * (the child was killed and reaped; the message has its stderr so far);
 * CRIO_EINVAL for bad options; system errors mapped from errno.
 */
int crio_spawn_run(crio_spawn_result *res, const crio_spawn_opts *opts);

void crio_spawn_result_free(crio_spawn_result *res);

/*
 * Describes how a run ended, for an error message: its stderr with white
 * space trimmed and lines joined by "; " when it wrote any, else "exit status
 * N" or "killed by signal N".  Writes at most `len` bytes into `buf`.
 */
const char *crio_spawn_describe(char *buf, size_t len, const crio_spawn_result *res);

/*
 * Sets the thread's error to `code` with the formatted context, ": " and
 * crio_spawn_describe(res), and returns `code`:
 *     return crio_spawn_error(CRIO_EINTERNAL, &res, "plugin %s ADD", name);
 */
int crio_spawn_error(int code, const crio_spawn_result *res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A forked helper's ends of its two pipes, or the parent's: the helper
 * writes reports on one and reads the parent's word on the other (a byte,
 * or EOF once the parent closes its end).
 */
typedef struct crio_helper_fds {
    int report;  /* the helper's write end; the parent's read end */
    int control; /* the helper's read end; the parent's write end */
} crio_helper_fds;

/*
 * Forks a helper: a child that runs code of this process rather than a
 * program, for what the calling thread must not do itself (unshare or join
 * namespaces).  The child starts with every signal blocked, so that no
 * handler of the daemon's runs in it (SIGKILL still ends it), and as a fork
 * of a multi-threaded process it may only make async-signal-safe calls.
 * Returns 0 in both processes, as fork() does: *pid is 0 in the child and
 * the child's pid in the parent, and *fds holds that process's ends of the
 * pipes (close-on-exec; the other ends are closed).  The child keeps only
 * stdio, its pipe ends and the `n_keep` fds in `keep`: a helper forked while
 * another runs must not hold that one's pipes open, or each waits for an
 * EOF the other prevents.
 * Errors: CRIO_EINTERNAL "WHAT: pipe" or "WHAT: fork", nothing left open.
 */
int crio_fork_helper(pid_t *pid, crio_helper_fds *fds, const char *what, const int *keep, size_t n_keep);

#endif
