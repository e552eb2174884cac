#!/usr/bin/python3
"""Memory benchmark (run by bench/run.sh): crio-server's resident memory with
100 running pods, and each crio-monitor's.

    /usr/bin/python3 bench/pod_rss.py [--build B] [--pods 100]

One crio-server on a scratch root (bench/pod_start.py's CrioServer) imports
busybox:1, then runs --pods pods (host network), each with one started
busybox `sleep 3600` container.  After one round of the calls a kubelet
makes (ListPodSandbox, ListContainers, PodSandboxStatus and ContainerStatus
of each), it reads VmRSS (and Pss, which shares the pages of libc and other
mapped files among the processes that map them) of crio-server and of every
crio-monitor of this server (the processes running B/crio-monitor whose
command line names the server's scratch directory: one per container).

Prints the figures, then one line for bench/run.sh:

    podrss-summary pods=N server_kib=K server_pss_kib=K idle_kib=K monitors=N
                   monitor_avg_kib=K monitor_max_kib=K monitor_pss_avg_kib=K

(one line; idle_kib: crio-server after start and the image import).
Targets: crio-server VmRSS < 20 MiB; every crio-monitor's VmRSS < 1 MiB,
judged on the largest.  Exit status 1 when a call fails, a container does
not run, the monitors cannot be found, or crio-server crashes or does not
exit 0 on SIGTERM.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pod_start import (BenchError, api, crio_bench, log, make_pods, pids_of, pss_kib, run_main,  # noqa: E402
                       vm_rss_kib)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("B", "build"))
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--timeout", type=int, default=1800, help="for the whole benchmark (seconds)")
    a = ap.parse_args()
    if a.pods < 1:
        ap.error("--pods must be at least 1")
    with crio_bench(os.path.abspath(a.build), a.timeout, "the memory benchmark", "pod_rss", "crio-bench-rss.",
                    a.pods) as srv:
        idle = vm_rss_kib(srv.proc.pid)
        log("== memory: crio-server and crio-monitor VmRSS with %d running pods (one busybox sleep each)"
            % a.pods)
        log("   crio-server after start and the image import: %s KiB" % idle)
        pods = make_pods(srv, a.pods, 1, True, "rss")

        # One round of what a kubelet asks.
        cri = srv.cri
        ctrs = cri("ListContainers", api.ListContainersRequest()).containers
        items = cri("ListPodSandbox", api.ListPodSandboxRequest()).items
        if len(items) != a.pods or len(ctrs) != a.pods:
            raise BenchError("crio lists %d pods and %d containers, want %d of each"
                             % (len(items), len(ctrs), a.pods))
        for pod, (ctr,) in pods:
            cri("PodSandboxStatus", api.PodSandboxStatusRequest(pod_sandbox_id=pod))
            st = cri("ContainerStatus", api.ContainerStatusRequest(container_id=ctr)).status
            if st.state != api.CONTAINER_RUNNING:
                raise BenchError("container %s is %s (exit code %d, %r)" % (
                    ctr[:12], api.ContainerState.Name(st.state), st.exit_code, st.reason))
        srv.check_alive("the status calls")

        server_kib = vm_rss_kib(srv.proc.pid)
        server_pss = pss_kib(srv.proc.pid)
        mons = pids_of(srv.monitor, srv.dir)
        if len(mons) != a.pods:
            raise BenchError("found %d crio-monitor processes of this server (%s), want %d (one per container)"
                             % (len(mons), srv.monitor, a.pods))
        rss = [vm_rss_kib(p) for p in mons]
        pss = [pss_kib(p) for p in mons]
        rss = [r for r in rss if r is not None]
        pss = [p for p in pss if p is not None]
        if len(rss) != a.pods:
            raise BenchError("%d of the crio-monitor processes exited while measured" % (a.pods - len(rss)))
        avg = sum(rss) / len(rss)
        pavg = sum(pss) / len(pss) if pss else 0
        log("   crio-server: VmRSS %d KiB (%.1f MiB), Pss %s KiB   (target VmRSS < 20 MiB: %s)"
            % (server_kib, server_kib / 1024, server_pss, "PASS" if server_kib < 20480 else "MISS"))
        log("   crio-monitor x %d: VmRSS avg %.0f KiB, min %d, max %d KiB; Pss avg %.0f KiB"
            "   (target VmRSS < 1 MiB each: %s)"
            % (len(rss), avg, min(rss), max(rss), pavg, "PASS" if max(rss) < 1024 else "MISS"))

    log("podrss-summary pods=%d server_kib=%d server_pss_kib=%s idle_kib=%s monitors=%d monitor_avg_kib=%.0f"
        " monitor_max_kib=%d monitor_pss_avg_kib=%.0f"
        % (a.pods, server_kib, server_pss, idle, len(rss), avg, max(rss), pavg))
    return 0


if __name__ == "__main__":
    run_main(main, "pod_rss")
