/*
 * OCI runtime handlers: runc (or any runtime with runc's command line) run
 * as a subprocess with a closed set of fds, an explicit environment and a
 * timeout.  Containers are created through crio-monitor (monitor.h); every
 * other operation runs the runtime directly.
 */
#ifndef CRIO_RUNTIME_RUNTIME_H
#define CRIO_RUNTIME_RUNTIME_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <crio/handle.h>

/* A resolved runtime handler. */
typedef struct crio_runtime {
    char *name;         /* the handler's name ("runc") */
    char *path;         /* the runtime binary */
    char *root;         /* its --root state dir ("" for the runtime's default) */
    char *monitor_path; /* crio-monitor to use */
    char *tmp_dir;      /* private scratch dir for exec pid files (RUNROOT/runtime), made on use */
} crio_runtime;

/*
 * Resolves handler `name` (NULL or "": the default runtime) from the
 * configuration.  Errors: CRIO_EINVAL for an unknown handler (the message
 * lists the known ones), CRIO_ENOTFOUND when its binary or crio-monitor
 * cannot be found.
 */
int crio_runtime_get(crio_runtime **out, crio *c, const char *name);
void crio_runtime_free(crio_runtime *rt);

/* What crio-monitor needs for one container (see monitor.h). */
typedef struct crio_monitor_args {
    const char *id;
    const char *bundle;     /* holds config.json; the monitor writes pidfile here */
    const char *exit_file;
    const char *log_path;
    const char *ctl_path;   /* FIFO, created by crio_runtime_create */
    const char *attach_path;
    const char *oom_cgroup; /* memory cgroup dir of the container, or NULL */
    int64_t log_size_max;   /* -1: unlimited */
    bool terminal, stdin_open, stdin_once;
} crio_monitor_args;

/* The create deadline when the caller passes 0 (CRI-O's default too). */
#define CRIO_RUNTIME_CREATE_TIMEOUT_MS (240 * 1000)

/*
 * Starts crio-monitor, which has the runtime create the container, and
 * waits (at most `timeout_ms`; <= 0: CRIO_RUNTIME_CREATE_TIMEOUT_MS) for its
 * report.  Creates args->ctl_path as a FIFO (an existing FIFO is reused).
 * On success *pid is the container's process and *monitor_pid the monitor's.
 * Errors: CRIO_EINVAL for missing arguments, CRIO_EUNAVAILABLE when the
 * monitor cannot be run, CRIO_EINTERNAL when the runtime refused (its
 * message is included) or the monitor died without reporting,
 * CRIO_ETIMEDOUT.  On failure no monitor is left running, the FIFO made here
 * is removed, and after a timeout or a dead monitor the container is
 * force-deleted from the runtime.
 */
int crio_runtime_create(const crio_runtime *rt, const crio_monitor_args *args, int timeout_ms, pid_t *pid,
                        pid_t *monitor_pid);
/*
 * The other commands run `RUNTIME [--root DIR] CMD ...` with a deadline of
 * CRIO_RUNTIME_TIMEOUT_MS.  Common errors: CRIO_EUNAVAILABLE when the
 * runtime binary cannot be run; CRIO_EINTERNAL "runtime NAME CMD ID: MSG"
 * when it fails (MSG: its error message); CRIO_ENOTFOUND when it does not
 * know the container (start, state, update, exec); CRIO_ETIMEDOUT.
 */
#define CRIO_RUNTIME_TIMEOUT_MS (60 * 1000)

/* `runtime start ID`. */
int crio_runtime_start(const crio_runtime *rt, const char *id);
/* `runtime kill [--all] ID SIG`; an already gone container is not an error. */
int crio_runtime_kill(const crio_runtime *rt, const char *id, int sig, bool all);
/*
 * `runtime delete [--force] ID`; an unknown container is not an error.
 * Errors: CRIO_EBUSY when it is running and `force` is false.
 */
int crio_runtime_delete(const crio_runtime *rt, const char *id, bool force);
/*
 * `runtime state ID`: *status is "created", "running", "stopped" or
 * "paused" (malloc'd), *pid the init pid.  Errors: CRIO_ENOTFOUND when the
 * runtime does not know the container.
 */
int crio_runtime_state(const crio_runtime *rt, const char *id, char **status, pid_t *pid);
/* `runtime update --resources FILE ID` with an OCI LinuxResources object. */
int crio_runtime_update(const crio_runtime *rt, const char *id, const cJSON *resources);

/* The outcome of an exec. */
typedef struct crio_exec_output {
    int exit_code;
    char *out, *err; /* malloc'd, NUL-terminated after len */
    size_t out_len, err_len;
} crio_exec_output;

/*
 * `runtime exec --process FILE --pid-file F ID` of an OCI process object,
 * collecting stdout and stderr (each cut at `cap` bytes; 0: 16 MiB).  The
 * process's own exit status, whatever it is, is a success: out->exit_code
 * (128 + signal for a signal death).  At `timeout_ms` (0: none, though a
 * day at most) the exec'd process and the runtime are killed and
 * CRIO_ETIMEDOUT returned.
 * Errors: CRIO_EBUSY when the container is not running; CRIO_EINTERNAL
 * when the runtime could not start the process (e.g. no such executable;
 * the runtime's message is included); CRIO_ENOTFOUND.
 */
int crio_runtime_exec_sync(const crio_runtime *rt, const char *id, const cJSON *process, int64_t timeout_ms,
                           size_t cap, crio_exec_output *out);
void crio_exec_output_free(crio_exec_output *o);

#endif
