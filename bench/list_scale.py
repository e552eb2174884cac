#!/usr/bin/python3
"""Listing benchmark (run by bench/run.sh): ListContainers and ListPodSandbox
latency with many containers.

    /usr/bin/python3 bench/list_scale.py [--build B] [--pods 50] [--per-pod 10]
                                         [--calls 200] [--start]

One crio-server on a scratch root (bench/pod_start.py's CrioServer) runs
--pods pods (host network) of --per-pod busybox `sleep 3600` containers each:
created, not started (--start starts them).  Then --calls unary calls of each
of ListContainers and ListPodSandbox with no filter (every container, every
pod), one after the other on one connection, after 20 untimed calls of each.
The time is the client's, from the request to the last byte of the reply: the
reply is kept as bytes (not decoded in the timed loop, so Python's protobuf
does not weigh on the figure); one reply of each is decoded and checked to
list every container and every pod.

Prints the percentiles, then one line for bench/run.sh:

    list-summary containers=N pods=N lc_p50=MS lc_p99=MS lc_max=MS lp_p50=MS lp_p99=MS lp_max=MS calls=N
                 lc_kib=K lc_cpu=MS lp_cpu=MS

(one line; lc_cpu, lp_cpu: crio-server's CPU time per call, from /proc,
which the client's Python does not add to).  Target: p99 < 2 ms for both.  Exit status 1 when a call fails, a listing
is incomplete, or crio-server crashes or does not exit 0 on SIGTERM.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pod_start import BenchError, api, crio_bench, log, make_pods, percentile, run_main  # noqa: E402

WARMUP = 20
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime + stime of a process (all its threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def timed_calls(stub, req, calls):
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        body = stub(req, timeout=30)
        out.append(time.perf_counter() - t0)
    return out, body


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("B", "build"))
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--per-pod", type=int, default=10)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--start", action="store_true", help="start the containers (default: created only)")
    ap.add_argument("--timeout", type=int, default=1800, help="for the whole benchmark (seconds)")
    a = ap.parse_args()
    if a.pods < 1 or a.per_pod < 1 or a.calls < 1:
        ap.error("--pods, --per-pod and --calls must be at least 1")
    n_ctr = a.pods * a.per_pod
    with crio_bench(os.path.abspath(a.build), a.timeout, "the listing benchmark", "list_scale", "crio-bench-list.",
                    a.pods) as srv:
        log("== list: %d pods x %d containers (%s), ListContainers and ListPodSandbox, %d calls each"
            % (a.pods, a.per_pod, "started" if a.start else "created", a.calls))
        make_pods(srv, a.pods, a.per_pod, a.start, "list")

        reqs = {"ListContainers": api.ListContainersRequest(), "ListPodSandbox": api.ListPodSandboxRequest()}
        raw = {m: srv.cri.stub(m, req_cls=type(r), raw=True) for m, r in reqs.items()}
        want = {"ListContainers": n_ctr, "ListPodSandbox": a.pods}
        res = {}
        for m, req in reqs.items():
            timed_calls(raw[m], req, WARMUP)
            cpu0 = proc_cpu(srv.proc.pid)
            times, body = timed_calls(raw[m], req, a.calls)
            cpu = (proc_cpu(srv.proc.pid) - cpu0) / a.calls * 1000
            srv.check_alive(m)
            reply = getattr(api, m + "Response").FromString(body)
            got = len(reply.containers if m == "ListContainers" else reply.items)
            if got != want[m]:
                raise BenchError("%s listed %d, want %d" % (m, got, want[m]))
            if m == "ListContainers":
                want_state = api.CONTAINER_RUNNING if a.start else api.CONTAINER_CREATED
                bad = [c for c in reply.containers if c.state != want_state]
                if bad:
                    raise BenchError("ListContainers: %d containers are not %s (first: %s is %s)"
                                     % (len(bad), api.ContainerState.Name(want_state), bad[0].id[:12],
                                        api.ContainerState.Name(bad[0].state)))
            ms = [t * 1000 for t in times]
            res[m] = (statistics.median(ms), percentile(ms, 99), max(ms), len(body), cpu)
            log("   %-15s %4d items, reply %6.1f KiB: p50 %.3f ms  p99 %.3f ms  max %.3f ms;"
                " crio-server CPU %.2f ms/call  (target p99 < 2 ms: %s)"
                % (m, got, len(body) / 1024, res[m][0], res[m][1], res[m][2], cpu,
                   "PASS" if res[m][1] < 2 else "MISS"))

    lc, lp = res["ListContainers"], res["ListPodSandbox"]
    log("list-summary containers=%d pods=%d lc_p50=%.3f lc_p99=%.3f lc_max=%.3f lp_p50=%.3f lp_p99=%.3f lp_max=%.3f"
        " calls=%d lc_kib=%.1f lc_cpu=%.2f lp_cpu=%.2f"
        % (n_ctr, a.pods, lc[0], lc[1], lc[2], lp[0], lp[1], lp[2], a.calls, lc[3] / 1024, lc[4], lp[4]))
    return 0


if __name__ == "__main__":
    run_main(main, "list_scale")
