"""What every benchmark script shares, with nothing beyond the standard
library (bench/pull.py does without grpc): the error type, the log, stopping
a server process, and the exit status of main()."""

import signal
import subprocess
import sys


class BenchError(Exception):
    pass


def log(*a):
    print(*a, flush=True)


# Pids of the processes we started and wait for ourselves (see pod_start.reap_orphans).
own_children = set()


def stop_process(proc, what, timeout=20, must_succeed=True):
    """SIGTERM, then the exit status (a crash or a hang is an error when must_succeed)."""
    if proc is None:
        return
    try:
        if proc.poll() is not None:
            if must_succeed:
                raise BenchError("%s died before it was stopped (status %s)" % (what, proc.returncode))
            return
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if must_succeed:
                raise BenchError("%s did not exit within %d s of SIGTERM" % (what, timeout))
            return
        if rc != 0 and must_succeed:
            raise BenchError("%s exited with status %s on SIGTERM" % (what, rc))
    finally:
        own_children.discard(proc.pid)


def run_main(main, prog):
    """Exits with main()'s status; a BenchError is one line on stderr (as bench/PROG) and status 1."""
    try:
        sys.exit(main())
    except BenchError as e:
        sys.stderr.write("bench/%s: %s\n" % (prog, e))
        sys.exit(1)
