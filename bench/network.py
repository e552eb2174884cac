#!/usr/bin/python3
"""Networking benchmark (run by bench/run.sh): pod start latency on a CNI
bridge network, with the plugins' own time reported apart from libcrio's,
and 100 pods up and down in rounds, watching for anything that grows.

    /usr/bin/python3 bench/network.py [--build B] [--runs 50] [--warmup 3]
                                      [--pods 100] [--rounds 3] [--threads 8]

One crio-server (runc, cgroupfs) with its root on disk in a scratch
directory and its runroot on a tmpfs the benchmark mounts itself (crio's
default runroot, /run/crio, is a tmpfs on any production host; /run is not
one here) and unmounts at the end.  Its network dir holds one conflist of
Debian's real plugins (/usr/lib/cni): bridge (its own bridge name, isGateway,
ipMasq) with host-local IPAM (its own free /24 and a dataDir in the
benchmark's temporary directory), then portmap.  At the end the bridge is
deleted, and any iptables rule of the network still there is reported and
removed.

1. Latency: --runs pods (+ --warmup untimed), one at a time, each a
   RunPodSandbox with network namespace mode POD (pid CONTAINER, so no pause
   process; no container).  Timed from the client: RunPodSandbox, then
   (untimed) the verbose PodSandboxStatus, whose info["info"] JSON has
   "cni": {"network", "add_ms", "check"}: add_ms is the plugin chain's ADD
   time as crio measured it.  libcrio's overhead per pod = RunPodSandbox
   latency - add_ms (it includes the Python gRPC client's round trip, whose
   median with Version is printed as a floor).  Then StopPodSandbox (timed:
   it runs the chain's DEL) and RemovePodSandbox.  Interleaved with the
   same for a host-network pod (network NODE: no CNI), as a reference.
   Target: median overhead < 5 ms.
2. Leaks: --rounds rounds of --pods pods run in parallel (--threads client
   threads), each pod with one hostPort mapping (so portmap adds its DNAT
   chain) and its IP checked (in the subnet, all different), then all
   stopped and removed in parallel.  After each round's teardown: crio-server
   VmRSS and open fds; the mounts under the runroot (netns pins), the veths
   on the bridge (brif), host-local's allocations, the iptables lines of the
   network (rules naming it, and the CNI- chains they jump to, with their
   rules), the CNI records kept in pods' state (ROOT/pods/*/state.json).  The host-wide counts
   (all `ip -o link` veths, all `iptables-save` lines, all CNI- chains) are
   printed too but not judged: other processes on the host change them.
   Target: rounds 2.. equal to round 1 for every kernel object and fd
   count, and VmRSS growing less than --rss-tolerance KiB (default 512).
   Why a tolerance: glibc's malloc keeps per-thread caches (tcache) and
   arenas that fill over the first rounds, as requests land on different
   threads.  Measured here (malloc_stats() through gdb, 7 rounds of 100
   pods): with the defaults, VmRSS grew +460, +180, +80, +70, +50, +30 KiB
   a round; with GLIBC_TUNABLES=glibc.malloc.tcache_count=0:
   glibc.malloc.arena_max=1 the heap in use was flat from round 3 (414 KB
   +- 1 KB) and VmRSS within 12 KiB.  512 KiB over 3 rounds passes that
   settling and still catches a leak of ~2 KiB per pod (200 KiB a round).
   The kernel objects are also compared with the state before round 1 (after
   the latency part): all must be back to it.

Prints the figures, then one line for bench/run.sh:

    network-summary runs=N run_ms=MS run_p90=MS add_ms=MS add_p90=MS
        overhead_ms=MS overhead_p90=MS stop_ms=MS stop_p90=MS host_ms=MS
        host_p90=MS host_stop_ms=MS rtt_ms=MS pods=N rounds=N
        rss_kib=K1/K2/.. fds=F1/F2/.. rss_tol_kib=T leak=PASS|MISS leak_why=...

(one line).  Exit status 1 when a CRI call fails, a pod gets no IP or a wrong
one, add_ms is missing, a pod's objects are not all there while it runs,
crio-server crashes or does not exit 0 on SIGTERM; a missed target
(overhead or leak) is not a failure.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pod_start import (RUNC, BenchError, CrioServer, Deadline, _libc, api, become_subreaper,  # noqa: E402
                       cleanup_on_signals, log, mounts_under, percentile, reap_orphans, rpc_error_text, run_main,
                       umount_under, vm_rss_kib)

import grpc  # noqa: E402

CNI_DIR = "/usr/lib/cni"
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"
IPTABLES_SAVE = shutil.which("iptables-save") or "/usr/sbin/iptables-save"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"


def run_cmd(argv, check=True, timeout=60):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise BenchError("%s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr.strip()[-300:]))
    return r


def free_subnet():
    """A 10.20x.y.0/24 that no route or address of the host touches (the
    integration tests take theirs from 10.24x)."""
    text = run_cmd([IP, "-o", "-4", "route", "show", "table", "all"], check=False).stdout + \
        run_cmd([IP, "-o", "-4", "addr"], check=False).stdout
    nets = []
    for m in re.finditer(r"(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", text):
        try:
            nets.append(ipaddress.ip_network(m.group(1), strict=False))
        except ValueError:
            pass
    seed = int(uuid.uuid4().hex[:8], 16)
    for k in range(2560):
        n = (seed + k) % 2560
        cand = ipaddress.ip_network("10.%d.%d.0/24" % (200 + n // 256, n % 256))
        if not any(cand.overlaps(x) and x.prefixlen > 0 for x in nets):
            return cand
    raise BenchError("no free 10.20x.y.0/24 subnet")


class BridgeNet:
    """The benchmark's network: bridge + host-local + portmap."""

    def __init__(self, tmp):
        self.bridge = "crbn%d" % (os.getpid() % 1000000)
        self.subnet = free_subnet()
        self.gateway = str(self.subnet.network_address + 1)
        self.data_dir = os.path.join(tmp, "ipam")
        self.name = "crio-bench-net-%d" % os.getpid()

    def conflist(self):
        return {"cniVersion": "1.0.0", "name": self.name, "plugins": [
            {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": True,
             "ipam": {"type": "host-local", "dataDir": self.data_dir,
                      "ranges": [[{"subnet": str(self.subnet), "gateway": self.gateway}]]}},
            {"type": "portmap", "capabilities": {"portMappings": True}}]}

    def veths(self):
        try:
            return os.listdir("/sys/class/net/%s/brif" % self.bridge)
        except FileNotFoundError:
            return []

    def allocations(self):
        d = os.path.join(self.data_dir, self.name)
        try:
            return [f for f in os.listdir(d) if f != "lock" and not f.startswith("last_reserved_ip")]
        except FileNotFoundError:
            return []

    def iptables(self):
        """(our lines, all lines, all CNI- chains): our lines are the rules that
        name the network, the CNI- chains they jump to (declarations and rules)."""
        out = run_cmd([IPTABLES_SAVE]).stdout.splitlines()
        lines = []
        table = ""
        for ln in out:
            if ln.startswith("*"):
                table = ln[1:]
            elif ln.startswith((":", "-A")):
                lines.append((table, ln))
        # The plugins' comments: name: \"NET\" id: \"ID\" (ipMasq), dnat name: \"NET\" ... (portmap).
        mark = re.compile(r"name: \\?\"?%s(?![\w.-])" % re.escape(self.name))
        named = [(t, ln) for t, ln in lines if ln.startswith("-A") and mark.search(ln)]
        chains = set()
        for t, ln in named:
            m = re.search(r" -j (CNI-\S+)", ln)
            if m and not m.group(1).startswith("CNI-HOSTPORT-"):
                chains.add((t, m.group(1)))
        ours = set(named)
        for t, ln in lines:
            c = ln[1:].split()[0] if ln.startswith(":") else ln.split()[1]
            if (t, c) in chains:
                ours.add((t, ln))
        cni_chains = sum(1 for _, ln in lines if ln.startswith(":CNI-"))
        return sorted(ours), len(out), cni_chains

    def remove_iptables(self, ours):
        for t, ln in ours:
            if ln.startswith("-A "):
                subprocess.run([IPTABLES, "-w", "-t", t, "-D"] + _split(ln)[1:], capture_output=True)
        for t, ln in ours:
            if ln.startswith(":"):
                chain = ln[1:].split()[0]
                subprocess.run([IPTABLES, "-w", "-t", t, "-F", chain], capture_output=True)
                subprocess.run([IPTABLES, "-w", "-t", t, "-X", chain], capture_output=True)

    def delete(self):
        if os.path.exists("/sys/class/net/" + self.bridge):
            for v in self.veths():
                subprocess.run([IP, "link", "del", v], capture_output=True)
            run_cmd([IP, "link", "del", self.bridge], check=False)


def _split(line):
    import shlex
    return shlex.split(line)


def host_veths():
    r = run_cmd([IP, "-o", "link", "show", "type", "veth"], check=False)
    return len(r.stdout.splitlines())


class NetServer(CrioServer):
    """CrioServer with the runroot on its own tmpfs and a CNI network."""

    def __init__(self, build, net, netdir):
        super().__init__(build)
        self.net = net
        self.root = os.path.join(self.dir, "root")
        self.runroot = os.path.join(self.dir, "r")
        self.tmpfs = False
        with open(os.path.join(netdir, "10-bench.conflist"), "w") as f:
            json.dump(net.conflist(), f)
        with open(os.path.join(self.dir, "crio.conf"), "w") as f:
            f.write('[crio]\nroot = "%s"\nrunroot = "%s"\nlog_dir = "%s/logs"\n'
                    '[crio.api]\nlisten = "%s"\n'
                    '[crio.runtime]\ncgroup_manager = "cgroupfs"\n'
                    '[crio.runtime.runtimes.runc]\nruntime_path = "%s"\nruntime_root = "%s"\n'
                    '[crio.network]\nnetwork_dir = "%s"\nplugin_dirs = ["%s"]\ncni_default_network = "%s"\n'
                    % (self.root, self.runroot, self.dir, self.sock, RUNC, self.runc_root, netdir, CNI_DIR,
                       net.name))

    def mount_runroot(self):
        os.makedirs(self.runroot, exist_ok=True)
        if _libc.mount(b"tmpfs", self.runroot.encode(), b"tmpfs", 0, b"mode=0755,size=256m") != 0:
            raise BenchError("mounting a tmpfs on %s failed" % self.runroot)
        self.tmpfs = True

    def unmount_runroot(self):
        if self.tmpfs:
            umount_under(self.runroot)
            _libc.umount2(self.runroot.encode(), 2)
            self.tmpfs = False

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def cache_files(self):
        """Pods whose state still holds a CNI record (what their DEL needs)."""
        n = 0
        try:
            pods = os.listdir(os.path.join(self.root, "pods"))
        except FileNotFoundError:
            return 0
        for p in pods:
            try:
                with open(os.path.join(self.root, "pods", p, "state.json")) as f:
                    n += "cni" in json.load(f)
            except (OSError, ValueError):
                pass
        return n


def ns_options(network):
    return api.NamespaceOption(network=network, pid=api.CONTAINER, ipc=api.POD)


def net_pod_config(srv, name, network, host_port=None):
    pc = srv.pod_config(name)
    pc.linux.security_context.namespace_options.CopyFrom(ns_options(network))
    pc.hostname = name[:63]
    if host_port:
        pc.port_mappings.add(protocol=api.TCP, container_port=80, host_port=host_port)
    return pc


def cni_info(cri, pod):
    """(ip, cni info dict) of a pod, from the verbose PodSandboxStatus."""
    r = cri("PodSandboxStatus", api.PodSandboxStatusRequest(pod_sandbox_id=pod, verbose=True))
    try:
        info = json.loads(r.info["info"])
    except (KeyError, ValueError) as e:
        raise BenchError("PodSandboxStatus of %s: no info[\"info\"] JSON (%s)" % (pod[:12], e))
    return r.status.network.ip, info.get("cni")


def check_ip(net, pod, ip):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        raise BenchError("pod %s has no valid IP in PodSandboxStatus (%r)" % (pod[:12], ip))
    if a not in net.subnet or str(a) == net.gateway:
        raise BenchError("pod %s got IP %s, not a pod address of %s" % (pod[:12], ip, net.subnet))
    return ip


def ms(v):
    return v * 1000.0


def med(xs):
    return statistics.median(xs)


# ---------------------------------------------------------------- part 1: latency

def latency(srv, net, runs, warmup):
    cri = srv.cri
    t = {"run": [], "add": [], "over": [], "stop": [], "hrun": [], "hstop": []}
    for i in range(warmup + runs):
        timed = i >= warmup
        order = ("net", "host") if i % 2 == 0 else ("host", "net")
        for kind in order:
            name = "lat-%s-%d" % (kind, i)
            pc = net_pod_config(srv, name, api.POD if kind == "net" else api.NODE)
            t0 = time.perf_counter()
            pod = cri("RunPodSandbox", api.RunPodSandboxRequest(config=pc)).pod_sandbox_id
            t1 = time.perf_counter()
            try:
                if kind == "net":
                    ip, info = cni_info(cri, pod)
                    check_ip(net, pod, ip)
                    if not info or info.get("network") != net.name or not isinstance(info.get("add_ms"), (int, float)):
                        raise BenchError("pod %s: verbose status has no cni.add_ms for network %s: %r"
                                         % (pod[:12], net.name, info))
                t2 = time.perf_counter()
                cri("StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=pod))
                t3 = time.perf_counter()
            finally:
                cri("RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=pod))
            srv.check_alive("the latency runs")
            if not timed:
                continue
            if kind == "net":
                t["run"].append(ms(t1 - t0))
                t["add"].append(info["add_ms"])
                t["over"].append(ms(t1 - t0) - info["add_ms"])
                t["stop"].append(ms(t3 - t2))
            else:
                t["hrun"].append(ms(t1 - t0))
                t["hstop"].append(ms(t3 - t2))
        if timed and ((i - warmup) % 10 == 9 or runs <= 10):
            log("   run %-3d bridge pod %6.1f ms (plugins %6.1f, libcrio %5.1f), stop %6.1f ms;"
                "  host-network pod %5.1f ms, stop %5.1f ms"
                % (i - warmup + 1, t["run"][-1], t["add"][-1], t["over"][-1], t["stop"][-1], t["hrun"][-1],
                   t["hstop"][-1]))
    return t


def rtt(cri, n=200):
    for _ in range(20):
        cri("Version", api.VersionRequest(version="v1"))
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        cri("Version", api.VersionRequest(version="v1"))
        xs.append(ms(time.perf_counter() - t0))
    return med(xs)


# ---------------------------------------------------------------- part 2: leaks

def kernel_state(srv, net):
    ours, ipt_all, cni_chains = net.iptables()
    mounts = mounts_under(srv.runroot)
    return {
        "netns": sum(1 for m in mounts if m.endswith("/net")),
        "mounts": len(mounts),
        "veths": len(net.veths()),
        "ips": len(net.allocations()),
        "ipt": len(ours),
        "cache": srv.cache_files(),
        "fds": srv.fds(),
        # Host-wide, not judged:
        "host_veths": host_veths(),
        "host_ipt": ipt_all,
        "host_cni_chains": cni_chains,
    }


JUDGED = ("netns", "mounts", "veths", "ips", "ipt", "cache")


def fmt_state(s, rss):
    return ("VmRSS %6d KiB  fds %3d | runroot mounts %3d (netns %3d)  bridge veths %3d  IPs %3d  iptables %3d"
            "  cache %3d | host: veths %d, iptables-save %d lines, CNI- chains %d"
            % (rss, s["fds"], s["mounts"], s["netns"], s["veths"], s["ips"], s["ipt"], s["cache"],
               s["host_veths"], s["host_ipt"], s["host_cni_chains"]))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


IDLE_TRIM_S = 1.0   # crio-server trims its heap after a second without calls (server/grpc/server.c)


def settle_rss(srv):
    """VmRSS once the server is idle: past its idle trim, and steady (two readings 0.2 s apart agree)."""
    time.sleep(IDLE_TRIM_S + 0.3)
    deadline, last = time.monotonic() + 5, vm_rss_kib(srv.proc.pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = vm_rss_kib(srv.proc.pid)
        if now == last:
            break
        last = now
    return last


def round_trip(srv, net, rnd, pods, threads, port_base):
    cri = srv.cri

    def up(i):
        pc = net_pod_config(srv, "leak-%d-%d" % (rnd, i), api.POD, host_port=port_base + i)
        try:
            t0 = time.perf_counter()
            pod = cri("RunPodSandbox", api.RunPodSandboxRequest(config=pc)).pod_sandbox_id
            took = ms(time.perf_counter() - t0)
        except grpc.RpcError as e:
            raise BenchError("RunPodSandbox of pod %d (round %d): %s" % (i, rnd, rpc_error_text(e)))
        ip, info = cni_info(cri, pod)
        add = (info or {}).get("add_ms")
        if not isinstance(add, (int, float)):
            raise BenchError("pod %s: verbose status has no cni.add_ms: %r" % (pod[:12], info))
        return pod, check_ip(net, pod, ip), took, add

    def down(pod):
        try:
            cri("StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=pod))
            cri("RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=pod))
        except grpc.RpcError as e:
            raise BenchError("Stop/RemovePodSandbox %s (round %d): %s" % (pod[:12], rnd, rpc_error_text(e)))

    made, errors = [], []
    t0 = time.monotonic()
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(up, i) for i in range(pods)]:
            try:
                made.append(f.result())
            except (BenchError, grpc.RpcError) as e:
                errors.append(str(e) if isinstance(e, BenchError) else rpc_error_text(e))
    t_up = time.monotonic() - t0
    peak = None
    if not errors:
        ips = [m[1] for m in made]
        if len(set(ips)) != len(ips):
            errors.append("round %d: %d pods share %d IPs" % (rnd, len(ips), len(set(ips))))
        peak = kernel_state(srv, net)
        for k, want in (("netns", pods), ("veths", pods), ("ips", pods), ("cache", pods)):
            if peak[k] != want:
                errors.append("round %d: with %d pods up, %s = %d, want %d" % (rnd, pods, k, peak[k], want))
        if peak["ipt"] < pods:
            errors.append("round %d: with %d pods up, only %d iptables lines of the network" % (rnd, pods, peak["ipt"]))
    t1 = time.monotonic()
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(down, m[0]) for m in made]:
            try:
                f.result()
            except (BenchError, grpc.RpcError) as e:
                errors.append(str(e) if isinstance(e, BenchError) else rpc_error_text(e))
    t_down = time.monotonic() - t1
    srv.check_alive("round %d" % rnd)
    if errors:
        raise BenchError("; ".join(errors[:5]))
    left = cri("ListPodSandbox", api.ListPodSandboxRequest()).items
    if left:
        raise BenchError("round %d: %d pods still listed after their removal" % (rnd, len(left)))
    lat = (med([m[2] for m in made]), med([m[3] for m in made]), med([m[2] - m[3] for m in made]))
    return t_up, t_down, peak, lat


def leaks(srv, net, pods, rounds, threads, tol):
    port_base = 20000 + (os.getpid() % 400) * 100     # one hostPort per pod, unique within a round
    rss0 = settle_rss(srv)
    s0 = kernel_state(srv, net)
    log("   before round 1:  " + fmt_state(s0, rss0))
    states, rss = [], []
    for rnd in range(1, rounds + 1):
        load = loadavg()
        t_up, t_down, peak, lat = round_trip(srv, net, rnd, pods, threads, port_base)
        r = settle_rss(srv)
        s = kernel_state(srv, net)
        states.append(s)
        rss.append(r)
        log("   round %d: %d pods up in %.1f s (with them up: netns %d, veths %d, IPs %d, iptables %d, cache %d,"
            " fds %d), down in %.1f s" % (rnd, pods, t_up, peak["netns"], peak["veths"], peak["ips"], peak["ipt"],
                                         peak["cache"], peak["fds"], t_down))
        log("            RunPodSandbox with %d in flight: median %.1f ms (plugins %.1f, the rest %.1f); load average"
            " before the round %s" % (threads, lat[0], lat[1], lat[2], load))
        log("   after round %d:   " % rnd + fmt_state(s, r))
    why = []
    for k in JUDGED + ("fds",):
        vals = [s[k] for s in states]
        if any(v != vals[0] for v in vals[1:]):
            why.append("%s %s" % (k, "/".join(map(str, vals))))
    for k in JUDGED:
        if states[-1][k] != s0[k]:
            why.append("%s not back to %d (%d)" % (k, s0[k], states[-1][k]))
    growth = [r - rss[0] for r in rss[1:]]
    if any(g >= tol for g in growth):
        why.append("VmRSS +%d KiB" % max(growth))
    log("   rounds 2..%d against round 1: kernel objects and fds %s; VmRSS growth %s KiB (tolerance < %d KiB)"
        % (rounds, "equal" if not [w for w in why if not w.startswith("VmRSS")] else "DIFFERENT",
           ", ".join("%+d" % g for g in growth) or "-", tol))
    verdict = "PASS" if not why else "MISS"
    log("   leaks: %s%s" % (verdict, (" (" + "; ".join(why) + ")") if why else ""))
    return rss0, rss, states, verdict, why


# ---------------------------------------------------------------- main

def stats(xs):
    return med(xs), percentile(xs, 90)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("B", "build"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rss-tolerance", type=int, default=512, help="KiB")
    ap.add_argument("--timeout", type=int, default=1200, help="for the whole benchmark (seconds)")
    a = ap.parse_args()
    if a.runs < 1 or a.pods < 1 or a.rounds < 2 or a.threads < 1:
        ap.error("--runs, --pods and --threads must be at least 1, --rounds at least 2")
    if a.pods > 250:
        ap.error("--pods: at most 250 (one /24)")
    for tool in (IPTABLES_SAVE, IPTABLES):
        if not os.access(tool, os.X_OK):
            raise BenchError("%s is missing (the bridge plugin's ipMasq and portmap need iptables)" % tool)
    for p in ("bridge", "host-local", "portmap"):
        if not os.access(os.path.join(CNI_DIR, p), os.X_OK):
            raise BenchError("%s/%s is missing (containernetworking-plugins)" % (CNI_DIR, p))
    build = os.path.abspath(a.build)
    cleanup_on_signals()
    become_subreaper()

    tmp = tempfile.mkdtemp(prefix="crio-bench-net.", dir=os.environ.get("TMPDIR", "/tmp"))
    netdir = os.path.join(tmp, "net.d")
    os.makedirs(netdir)
    net = BridgeNet(tmp)
    srv = None
    try:
        with Deadline(a.timeout, "the network benchmark"):
            srv = NetServer(build, net, netdir)
            srv.mount_runroot()
            srv.start()
            log("== network: bridge %s, %s, host-local dataDir %s, network %s (bridge ipMasq + portmap)"
                % (net.bridge, net.subnet, net.data_dir, net.name))
            log("   runroot %s on a tmpfs mounted by the benchmark (as /run/crio is on a production host;"
                " /run here is not a tmpfs); root %s on disk (%s)"
                % (srv.runroot, srv.root, fs_type(srv.dir)))
            c = srv.cri("Status", api.StatusRequest())
            nready = [x for x in c.status.conditions if x.type == "NetworkReady"]
            if not nready or not nready[0].status:
                raise BenchError("crio-server says NetworkReady is %s" % (
                    "%s (%s: %s)" % (nready[0].status, nready[0].reason, nready[0].message) if nready else "absent"))
            rtt_ms = rtt(srv.cri)
            log("   client round trip (Version, median of 200): %.2f ms" % rtt_ms)

            log("== pod start with bridge networking: RunPodSandbox (network POD, no container), %d runs"
                " (+%d warm-up), interleaved with a host-network pod" % (a.runs, a.warmup))
            t = latency(srv, net, a.runs, a.warmup)
            S = {k: stats(v) for k, v in t.items()}
            log("   %-36s median %6.2f ms  p90 %6.2f ms" % ("RunPodSandbox, bridge pod:", *S["run"]))
            log("   %-36s median %6.2f ms  p90 %6.2f ms" % ("  CNI ADD (plugins, add_ms):", *S["add"]))
            log("   %-36s median %6.2f ms  p90 %6.2f ms   (target median < 5 ms: %s)"
                % ("  libcrio overhead (run - add_ms):", *S["over"], "PASS" if S["over"][0] < 5 else "MISS"))
            log("   %-36s median %6.2f ms  p90 %6.2f ms" % ("StopPodSandbox, bridge pod (DEL):", *S["stop"]))
            log("   %-36s median %6.2f ms  p90 %6.2f ms" % ("RunPodSandbox, host-network pod:", *S["hrun"]))
            log("   %-36s median %6.2f ms  p90 %6.2f ms" % ("StopPodSandbox, host-network pod:", *S["hstop"]))

            log("== %d pods (bridge, one hostPort each) up and down, %d rounds, %d client threads"
                % (a.pods, a.rounds, a.threads))
            rss0, rss, states, verdict, why = leaks(srv, net, a.pods, a.rounds, a.threads, a.rss_tolerance)

            srv.stop()
            log("   crio-server exited 0 on SIGTERM")
            left = mounts_under(srv.runroot)
            if left:
                log("   WARNING: %d mounts left under the runroot after crio-server's exit" % len(left))
    except (BenchError, grpc.RpcError):
        if srv is not None:
            tail = srv.log_tail()
            if tail.strip():
                sys.stderr.write("bench/network: crio-server log (tail):\n%s\n" % tail)
        raise
    finally:
        if srv is not None:
            try:
                srv.force_stop("crio-server", 20)
            except Exception as e:
                sys.stderr.write("bench/network: cleanup: %s\n" % e)
            srv.unmount_runroot()
            srv.force_cleanup()
        reap_orphans()
        try:
            ours = net.iptables()[0]
            if ours:
                sys.stderr.write("bench/network: removing %d iptables lines of %s left behind\n"
                                 % (len(ours), net.name))
                net.remove_iptables(ours)
        except Exception as e:
            sys.stderr.write("bench/network: iptables cleanup: %s\n" % e)
        net.delete()
        umount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)

    def f2(v):
        return "%.2f" % v
    log("network-summary runs=%d run_ms=%s run_p90=%s add_ms=%s add_p90=%s overhead_ms=%s overhead_p90=%s"
        " stop_ms=%s stop_p90=%s host_ms=%s host_p90=%s host_stop_ms=%s rtt_ms=%s pods=%d rounds=%d"
        " rss_kib=%s fds=%s rss_tol_kib=%d leak=%s leak_why=%s"
        % (a.runs, f2(S["run"][0]), f2(S["run"][1]), f2(S["add"][0]), f2(S["add"][1]), f2(S["over"][0]),
           f2(S["over"][1]), f2(S["stop"][0]), f2(S["stop"][1]), f2(S["hrun"][0]), f2(S["hrun"][1]),
           f2(S["hstop"][0]), f2(rtt_ms), a.pods, a.rounds, "/".join(map(str, rss)),
           "/".join(str(s["fds"]) for s in states), a.rss_tolerance, verdict,
           ",".join(w.replace(" ", "_") for w in why) or "-"))
    return 0


def fs_type(path):
    """The filesystem type of the mount holding path (from /proc/self/mountinfo)."""
    best, typ = "", "?"
    p = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            mp = parts[4]
            if (p == mp or p.startswith(mp.rstrip("/") + "/")) and len(mp) >= len(best):
                best, typ = mp, parts[parts.index("-") + 1]
    return typ


if __name__ == "__main__":
    run_main(main, "network")
