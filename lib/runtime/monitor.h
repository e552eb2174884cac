/*
 * The protocol between libcrio and crio-monitor, the per-container parent.
 * Shared by lib/runtime (which starts monitors) and monitor/ (the program).
 *
 * libcrio runs:
 *   crio-monitor --id ID --runtime PATH [--runtime-root DIR] --bundle DIR
 *                --exit-file FILE --log-path FILE [--log-size-max BYTES]
 *                --ctl FIFO --attach SOCKET [--oom-cgroup DIR]
 *                [--terminal] [--stdin] [--stdin-once] [--log-level LEVEL]
 *                --sync-fd N
 * with fd N the write end of a pipe (close-on-exec cleared), stdin on
 * /dev/null, stdout/stderr on /dev/null (or a debug file) and no other fds.
 *
 * The monitor forks; the first process exits at once (libcrio reaps it), the
 * second calls setsid(), becomes a child subreaper and runs
 *   RUNTIME [--root DIR] create --bundle DIR --pid-file BUNDLE/pidfile
 *           [--console-socket SOCK] ID
 * with the container's stdio on pipes it holds (or a console socket with
 * --terminal).  When create returns it writes ONE line to the sync fd and
 * closes it:
 *   {"pid": 1234, "monitor_pid": 1230}               created
 *   {"pid": -1, "error": "runc create failed: ..."}   failed (runtime stderr, trimmed)
 * and then exits on failure.  libcrio waits for that line with a deadline.
 *
 * While the container runs, the monitor:
 * - writes its stdout/stderr to --log-path in the CRI format
 *   "<RFC3339Nano time> <stdout|stderr> <P|F> <text>\n" (P: a partial line,
 *   cut at a full buffer or at exit without newline), keeping the file under
 *   --log-size-max bytes (-1/absent: no limit) by truncating it when full;
 * - reads commands from the --ctl FIFO, one per line:
 *     "reopen"           reopen --log-path (the kubelet rotated it)
 *     "resize H W"       set the terminal size (tty containers)
 *   After "reopen" the new file exists before the monitor reads the next command.
 * - serves --attach, a SOCK_SEQPACKET unix socket: each connected client gets
 *   the output as packets whose first byte is 2 (stdout) or 3 (stderr) and
 *   may send packets (first byte 0) whose rest goes to the container's stdin;
 *   with --stdin-once stdin closes when the first attached client leaves;
 * - watches the --oom-cgroup memory cgroup (v1: memory.oom_control eventfd
 *   via cgroup.event_control, and its oom_kill counter; v2: memory.events
 *   oom_kill) for OOM kills.
 * When the container's process exits, the monitor drains its output, writes
 * --exit-file atomically (temporary + rename):
 *   {"exit_code": 0, "signal": 0, "oom_killed": false, "finished_at": NS}
 * (exit_code = 128+signal for a signal death), and exits 0.
 */
#ifndef CRIO_RUNTIME_MONITOR_H
#define CRIO_RUNTIME_MONITOR_H

/* The longest sync line libcrio accepts. */
#define CRIO_MONITOR_SYNC_MAX 8192
/* Attach packet stream tags (first byte). */
#define CRIO_ATTACH_STDIN 0
#define CRIO_ATTACH_STDOUT 2
#define CRIO_ATTACH_STDERR 3
/* Exit file size cap when reading it. */
#define CRIO_MONITOR_EXIT_MAX 4096

#endif
