#!/usr/bin/python3
"""Pod start benchmark (run by bench/run.sh): the time from RunPodSandbox to
the return of StartContainer for one busybox `sleep 3600` container (image
present), against a bare `runc run -d` of an equivalent bundle and, when it
can run here, containerd's CRI plugin driven by the same client.  Side by
side in one run, interleaved.

    /usr/bin/python3 bench/pod_start.py [--build B] [--runs N] [--warmup N]
                                        [--no-ctr] [--no-runc]

- crio: one crio-server on a scratch root (runc, cgroupfs, runc's state in
  the scratch directory too); busybox:1 from tests/fixtures (built into
  B/bench-images) is imported with libcrio.v1.Images/Import as
  localhost/busybox:1.  Timed: RunPodSandbox + CreateContainer +
  StartContainer, from writing the first request to the last reply, with
  Python's grpc client (the same client for containerd).
- runc: an overlay mount of the unpacked busybox layer (fresh upper and work
  dirs), config.json from `runc spec` adjusted (no terminal, `sleep 3600`,
  read-write root, own PID/IPC/UTS/mount namespaces, host network, a
  cgroup under the benchmark's own parent), then `runc run -d`.  Timed: the
  mount, the write of config.json and runc run -d from fork to exit.
- ctr: /usr/bin/containerd with a private config (root, state, socket and
  runc root in a temporary directory; overlayfs snapshotter; an empty CNI
  conf dir; restrict_oom_score_adj, as root here may not lower its OOM
  score), its sandbox image localhost/pause:1 built here (a static C pause
  in an OCI layout), both images imported with `ctr -n k8s.io images
  import` from docker-archive tarballs made by skopeo.  When containerd
  cannot run a pod here, one line says why and its column is skipped.

Every pod uses the host network (namespace_options network=NODE, pid
CONTAINER, ipc POD), so neither runtime needs CNI.  Each run starts one pod
(one container) per runtime, in an order rotating from run to run, checks
that the container runs (untimed), and removes it again (untimed), so every
start sees the same, nearly empty runtime.  Untimed warm-up runs come first.

Prints every run, then one line for bench/run.sh:

    podstart-summary crio=MS crio_p90=MS runc=MS runc_p90=MS ctr=MS|- ctr_p90=MS|- ratio=R ctr_ratio=R|- runs=N

(milliseconds; ratio = crio / runc; ctr_ratio = crio / ctr) and, when
containerd was skipped, `podstart-ctr-skipped REASON`.  Exit status 1 when a
crio call fails, a container does not run, crio-server crashes or does not
exit 0 on SIGTERM; a missed target is not a failure.

This file is also the shared machinery of bench/list_scale.py and
bench/pod_rss.py (CrioServer, Cri, the request builders, the cleanup,
crio_bench and run_main).
"""

import argparse
import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import images  # noqa: E402

import grpc  # noqa: E402

sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import BenchError, log, own_children, stop_process  # noqa: E402

RUNC = shutil.which("runc") or "/usr/sbin/runc"
IMAGE = "localhost/busybox:1"
PAUSE_IMAGE = "localhost/pause:1"
CALL_TIMEOUT = 60.0


# ---------------------------------------------------------------- protos

def _load_protos():
    """api_pb2 (runtime.v1) and libcrio_pb2 (libcrio.v1) from Debian's protoc."""
    gen = tempfile.mkdtemp(prefix="crio-bench-proto.")
    atexit.register(shutil.rmtree, gen, True)
    r = subprocess.run(["protoc", "--python_out=" + gen, "-Iproto", "proto/api.proto", "proto/libcrio.proto"],
                       cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("bench: protoc failed (%d): %s" % (r.returncode, r.stderr.strip()))
    sys.path.insert(0, gen)
    import api_pb2
    import libcrio_pb2
    return api_pb2, libcrio_pb2


api, lcapi = _load_protos()


# ---------------------------------------------------------------- processes

_libc = ctypes.CDLL("libc.so.6", use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
MNT_DETACH = 2


def become_subreaper():
    """Orphans (crio-monitor, containerd's shims, runc's detached containers)
    become our children, not pid 1's (which here does not reap them):
    reap_orphans() collects them, so a run leaves no zombies behind."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def proc_stat(pid):
    """(state, ppid) of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[1])
    except (OSError, IndexError, ValueError):
        return None


def all_pids():
    for n in os.listdir("/proc"):
        if n.isdigit():
            yield int(n)


def reap_orphans():
    """Reaps adopted orphans that have exited (never our own Popen children)."""
    me = os.getpid()
    for pid in all_pids():
        if pid in own_children:     # our Popen children: Popen reaps them
            continue
        st = proc_stat(pid)
        if st and st[1] == me and st[0] in ("Z", "X"):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def spawn(argv, logpath, **kw):
    with open(logpath, "ab") as logf:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             start_new_session=True, **kw)
    own_children.add(p.pid)
    return p


def proc_kib(pid, name, key):
    """The figure (KiB) of line `key` ("VmRSS:") of /proc/PID/NAME, or None."""
    try:
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def vm_rss_kib(pid):
    return proc_kib(pid, "status", "VmRSS:")


def pss_kib(pid):
    return proc_kib(pid, "smaps_rollup", "Pss:")


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def pids_of(exe_path, mention):
    """Live processes running `exe_path` whose command line mentions `mention`."""
    want = os.path.realpath(exe_path)
    m = mention.encode()
    out = []
    for pid in all_pids():
        e = exe(pid)
        if e and (e == want or e == want + " (deleted)"):
            st = proc_stat(pid)
            if st and st[0] not in ("Z", "X") and any(m in a for a in cmdline(pid)):
                out.append(pid)
    return out


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(cond, timeout, what, interval=0.002):
    """Polls cond() until true (returns its value) or raises BenchError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise BenchError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)
        interval = min(interval * 2, 0.05)


def wait_socket(path, proc, what, timeout=20):
    def ready():
        if proc.poll() is not None:
            raise BenchError("%s exited during start-up (status %s)" % (what, proc.returncode))
        if not os.path.exists(path):
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()
    wait_until(ready, timeout, "%s to listen on %s" % (what, path))


def mounts_under(d):
    """Mount points under directory d, deepest (latest) first."""
    d = os.path.realpath(d).rstrip("/") + "/"
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if mp.startswith(d):
                    out.append(mp)
    except OSError:
        pass
    return list(reversed(out))


def umount_under(d):
    for _ in range(3):           # stacked mounts: a few passes
        mps = mounts_under(d)
        if not mps:
            return
        for mp in mps:
            _libc.umount2(mp.encode(), MNT_DETACH)


def remove_cgroup_parent(parent):
    """rmdir a cgroupfs parent ("/crio-bench-1234") and everything under it,
    deepest first, in every hierarchy.  Tolerates what is busy or absent."""
    parent = parent.strip("/")
    if not parent:
        return
    for h in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", h, parent)
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, _ in os.walk(top, topdown=False):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def runc_cleanup(root, extra=()):
    """Deletes (forcibly) every container in a runc state root."""
    if not os.path.isdir(root):
        return
    r = subprocess.run([RUNC, "--root", root, "list", "-q"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    for cid in r.stdout.split():
        subprocess.run([RUNC, "--root", root, "delete", "-f", cid], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def remove_leftovers(runc_root, d, cgroup_parent):
    """After a runtime's processes are gone: its runc containers, the mounts
    under its directory d and its cgroup parent; then the orphans are reaped."""
    try:
        runc_cleanup(runc_root)
    except (OSError, subprocess.SubprocessError):
        pass
    umount_under(d)
    remove_cgroup_parent(cgroup_parent)
    reap_orphans()


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    v = sorted(values)
    if not v:
        return None
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


class Deadline:
    """A whole-run watchdog: SIGALRM raises BenchError, so every finally runs."""

    def __init__(self, seconds, what):
        self.seconds, self.what = int(seconds), what

    def __enter__(self):
        def fire(sig, frame):
            raise BenchError("%s did not finish within %d s" % (self.what, self.seconds))
        self.old = signal.signal(signal.SIGALRM, fire)
        signal.alarm(self.seconds)
        return self

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def cleanup_on_signals():
    """SIGTERM and SIGHUP raise SystemExit, so that the finally blocks clean up."""
    def handler(sig, frame):
        raise SystemExit(128 + sig)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


# ---------------------------------------------------------------- CRI client

class Cri:
    """A gRPC channel to one CRI server, with cached generic stubs."""

    def __init__(self, sock):
        self.sock = sock
        self.ch = grpc.insecure_channel("unix://" + sock, options=[("grpc.max_receive_message_length", 64 << 20)])
        self.stubs = {}

    def stub(self, method, service="runtime.v1.RuntimeService", req_cls=None, resp_cls=None, raw=False):
        path = "/%s/%s" % (service, method)
        key = (path, raw)
        s = self.stubs.get(key)
        if s is None:
            if raw:
                s = self.ch.unary_unary(path, request_serializer=req_cls.SerializeToString)
            else:
                resp_cls = resp_cls or getattr(api, method + "Response")
                s = self.ch.unary_unary(path, request_serializer=req_cls.SerializeToString,
                                        response_deserializer=resp_cls.FromString)
            self.stubs[key] = s
        return s

    IMAGE_METHODS = {"ListImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo"}

    def __call__(self, method, req, timeout=CALL_TIMEOUT):
        service = "runtime.v1.ImageService" if method in self.IMAGE_METHODS else "runtime.v1.RuntimeService"
        return self.stub(method, service=service, req_cls=type(req))(req, timeout=timeout)

    def close(self):
        self.ch.close()


def ns_options():
    return api.NamespaceOption(network=api.NODE, pid=api.CONTAINER, ipc=api.POD)


def pod_config(name, uid, log_dir, cgroup_parent, labels=None):
    return api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace="crio-bench", attempt=0),
        log_directory=log_dir, labels=labels or {},
        linux=api.LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent,
            security_context=api.LinuxSandboxSecurityContext(namespace_options=ns_options())))


def container_config(name, command, image=IMAGE, labels=None):
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=name, attempt=0), image=api.ImageSpec(image=image),
        command=command, log_path=name + ".log", labels=labels or {},
        linux=api.LinuxContainerConfig(
            security_context=api.LinuxContainerSecurityContext(namespace_options=ns_options())))


def remove_all_pods(cri, timeout=CALL_TIMEOUT):
    """Stops and removes every pod (and container) a CRI server knows: the
    containers are stopped first with timeout 0 (SIGKILL at once: `sleep` as
    PID 1 ignores SIGTERM, and a pod stop would wait out each grace period).
    Returns the errors met (strings); goes on after each."""
    errors = []
    try:
        for c in cri("ListContainers", api.ListContainersRequest(), timeout=timeout).containers:
            if c.state == api.CONTAINER_RUNNING:
                try:
                    cri("StopContainer", api.StopContainerRequest(container_id=c.id, timeout=0), timeout=timeout)
                except grpc.RpcError as e:
                    errors.append("StopContainer %s: %s %s" % (c.id[:12], e.code().name, e.details()))
    except grpc.RpcError as e:
        errors.append("ListContainers: %s %s" % (e.code().name, e.details()))
    try:
        pods = cri("ListPodSandbox", api.ListPodSandboxRequest(), timeout=timeout).items
    except grpc.RpcError as e:
        return ["ListPodSandbox: %s %s" % (e.code().name, e.details())]
    for p in pods:
        for m in ("StopPodSandbox", "RemovePodSandbox"):
            try:
                cri(m, getattr(api, m + "Request")(pod_sandbox_id=p.id), timeout=timeout)
            except grpc.RpcError as e:
                errors.append("%s %s: %s %s" % (m, p.id[:12], e.code().name, e.details()))
    try:
        for c in cri("ListContainers", api.ListContainersRequest(), timeout=timeout).containers:
            try:
                cri("RemoveContainer", api.RemoveContainerRequest(container_id=c.id), timeout=timeout)
            except grpc.RpcError as e:
                errors.append("RemoveContainer %s: %s %s" % (c.id[:12], e.code().name, e.details()))
    except grpc.RpcError as e:
        errors.append("ListContainers: %s %s" % (e.code().name, e.details()))
    return errors


def rpc_error_text(e):
    if isinstance(e, grpc.RpcError):
        return "%s: %s" % (e.code().name, e.details())
    return str(e)


class CriProcess:
    """A CRI server process of ours (crio-server, containerd) and the channel to it."""

    proc = None
    cri = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def force_stop(self, what, timeout):
        """Best effort: every pod removed (each call within `timeout` s), the
        channel closed, the process stopped."""
        try:
            if self.alive() and self.cri:
                remove_all_pods(self.cri, timeout=timeout)
        except Exception:
            pass
        if self.cri:
            self.cri.close()
            self.cri = None
        if self.proc is not None:
            stop_process(self.proc, what, must_succeed=False)
            self.proc = None


# ---------------------------------------------------------------- images

def busybox_image(build):
    """tests/fixtures' busybox:1 (an OCI layout), built once into B/bench-images."""
    return images.build(os.path.join(build, "bench-images"), names=["busybox"])["busybox:1"]


# ---------------------------------------------------------------- crio-server

class CrioServer(CriProcess):
    """One crio-server on a scratch directory: root, runroot, runc's state
    root, logs and cgroup parent (/crio-bench-PID-NAME) all its own.

    The directory is a short one in /tmp whatever TMPDIR says: crio puts
    unix sockets under RUNROOT/containers/<64-hex id>/, and a socket path
    must fit in 108 bytes."""

    name = "crio"

    def __init__(self, build, log_level="error", server=None):
        self.build = build
        tmp = self.dir = tempfile.mkdtemp(prefix="crb.", dir="/tmp")
        self.server = server or os.path.join(build, "crio-server")
        self.monitor = os.path.join(os.path.dirname(os.path.realpath(self.server)), "crio-monitor")
        self.sock = os.path.join(tmp, "crio.sock")
        self.logpath = os.path.join(tmp, "crio-server.log")
        self.runc_root = os.path.join(tmp, "runc")
        self.log_root = os.path.join(tmp, "logs")
        self.cgroup_parent = "/crio-bench-%d-%s" % (os.getpid(), os.path.basename(tmp.rstrip("/")))
        self.log_level = log_level
        self.proc = None
        self.cri = None
        for d in ("conf.d", "net.d", "logs"):
            os.makedirs(os.path.join(tmp, d), exist_ok=True)
        with open(os.path.join(tmp, "crio.conf"), "w") as f:
            f.write('[crio]\nroot = "%s/root"\nrunroot = "%s/r"\nlog_dir = "%s/logs"\n'
                    '[crio.api]\nlisten = "%s"\n'
                    '[crio.runtime]\ncgroup_manager = "cgroupfs"\n'
                    '[crio.runtime.runtimes.runc]\nruntime_path = "%s"\nruntime_root = "%s"\n'
                    '[crio.network]\nnetwork_dir = "%s/net.d"\n'
                    % (tmp, tmp, tmp, self.sock, RUNC, self.runc_root, tmp))

    def start(self):
        for f in (self.server, self.monitor):
            if not os.access(f, os.X_OK):
                raise BenchError("%s is missing (make all)" % f)
        self.proc = spawn([self.server, "--config", os.path.join(self.dir, "crio.conf"),
                           "--config-dir", os.path.join(self.dir, "conf.d"), "--log-level", self.log_level],
                          self.logpath)
        wait_socket(self.sock, self.proc, "crio-server")
        self.cri = Cri(self.sock)
        return self

    def check_alive(self, during, grace=0):
        """Raises when crio-server has exited; grace: seconds to give a dying
        server to exit (after a call failed with a closed socket)."""
        if grace and self.proc is not None:
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        if not self.alive():
            raise BenchError("crio-server died during %s (status %s)" % (during, self.proc.returncode))

    def import_image(self, layout, name=IMAGE):
        req = lcapi.ImportRequest(path=layout, name=name)
        try:
            r = self.cri.stub("Import", service="libcrio.v1.Images", req_cls=lcapi.ImportRequest,
                              resp_cls=lcapi.ImportResponse)(req, timeout=120)
        except grpc.RpcError as e:
            raise BenchError("crio Import %s as %s failed: %s" % (layout, name, rpc_error_text(e)))
        return r

    def pod_config(self, name, labels=None):
        d = os.path.join(self.log_root, name)
        os.makedirs(d, exist_ok=True)
        # As the kubelet does: cgroup_parent is the pod's own cgroup.
        return pod_config(name, "uid-" + name, d, "%s/pod-%s" % (self.cgroup_parent, name), labels)

    def log_tail(self, n=3000):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        """Removes every pod, then SIGTERM: the server must exit 0."""
        errors = []
        if self.alive() and self.cri:
            errors = remove_all_pods(self.cri)
        if self.cri:
            self.cri.close()
            self.cri = None
        stop_process(self.proc, "crio-server")
        self.proc = None
        if errors:
            raise BenchError("crio: removing the pods failed: %s" % "; ".join(errors[:5]))

    def force_cleanup(self):
        """After stop() or a failure: nothing of this server is left running or mounted."""
        self.force_stop("crio-server", 20)
        kill_pids(pids_of(self.monitor, self.dir))
        remove_leftovers(self.runc_root, self.dir, self.cgroup_parent)
        if not mounts_under(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def crio_bench(build, timeout, what, prog, tmp_prefix, pods):
    """What list_scale.py and pod_rss.py run in: a CrioServer, started and
    with busybox:1 imported, within a Deadline of `timeout` s for `what`.
    On leaving, the `pods` pods are torn down (timed); on a failure the
    server's log tail goes to stderr (as bench/PROG); whatever happens,
    nothing of the server is left behind."""
    cleanup_on_signals()
    become_subreaper()
    img = busybox_image(build)
    tmp = tempfile.mkdtemp(prefix=tmp_prefix, dir=os.environ.get("TMPDIR", "/tmp"))
    srv = CrioServer(build)
    try:
        with Deadline(timeout, what):
            srv.start()
            srv.import_image(img["layout"])
            yield srv
            log("   tearing down %d pods" % pods)
            t0 = time.monotonic()
            srv.stop()
            log("   removed in %.1f s" % (time.monotonic() - t0))
    except (BenchError, grpc.RpcError):
        tail = srv.log_tail()
        if tail.strip():
            sys.stderr.write("bench/%s: crio-server log (tail):\n%s\n" % (prog, tail))
        raise
    finally:
        try:
            srv.force_cleanup()
        finally:
            reap_orphans()
            umount_under(tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def run_main(main, prog):
    """benchlib.run_main, a crio call's failure reported as a BenchError."""
    def crio_main():
        try:
            return main()
        except grpc.RpcError as e:
            raise BenchError("crio: %s" % rpc_error_text(e))
    benchlib.run_main(crio_main, prog)


# ---------------------------------------------------------------- the start sequence, timed

def cri_start_pod(cri, pc, cc):
    """RunPodSandbox + CreateContainer + StartContainer: (total, run, create, start) seconds, pod id, ctr id."""
    t0 = time.perf_counter()
    pod = cri("RunPodSandbox", api.RunPodSandboxRequest(config=pc)).pod_sandbox_id
    t1 = time.perf_counter()
    try:
        ctr = cri("CreateContainer", api.CreateContainerRequest(pod_sandbox_id=pod, config=cc,
                                                                sandbox_config=pc)).container_id
        t2 = time.perf_counter()
        cri("StartContainer", api.StartContainerRequest(container_id=ctr))
        t3 = time.perf_counter()
    except BaseException:
        cri_remove_pod(cri, pod, check=False)
        raise
    return (t3 - t0, t1 - t0, t2 - t1, t3 - t2), pod, ctr


def cri_check_running(cri, ctr, who):
    st = cri("ContainerStatus", api.ContainerStatusRequest(container_id=ctr)).status
    if st.state != api.CONTAINER_RUNNING:
        raise BenchError("%s: container %s is %s after StartContainer (exit code %d, reason %r, %r)"
                         % (who, ctr[:12], api.ContainerState.Name(st.state), st.exit_code, st.reason, st.message))


def cri_remove_pod(cri, pod, check=True, ctr=None):
    """Stops (the container first, at once: see remove_all_pods) and removes a pod."""
    try:
        if ctr:
            cri("StopContainer", api.StopContainerRequest(container_id=ctr, timeout=0))
        cri("StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=pod))
        cri("RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=pod))
    except grpc.RpcError:
        if check:
            raise


def make_pods(srv, pods, per_pod, start, prefix, labels=None):
    """Runs `pods` pods of `per_pod` busybox `sleep 3600` containers each on a
    CrioServer (started when `start`); returns [(pod id, [container ids])]."""
    out = []
    t0 = time.monotonic()
    for p in range(pods):
        pc = srv.pod_config("%s-%d" % (prefix, p), labels)
        try:
            pod = srv.cri("RunPodSandbox", api.RunPodSandboxRequest(config=pc)).pod_sandbox_id
            ctrs = []
            out.append((pod, ctrs))
            for c in range(per_pod):
                cc = container_config("c%d" % c, ["sleep", "3600"], labels=labels)
                ctr = srv.cri("CreateContainer", api.CreateContainerRequest(
                    pod_sandbox_id=pod, config=cc, sandbox_config=pc)).container_id
                ctrs.append(ctr)
                if start:
                    srv.cri("StartContainer", api.StartContainerRequest(container_id=ctr))
        except grpc.RpcError as e:
            srv.check_alive("the set-up of pod %d" % (p + 1), grace=2)
            raise BenchError("crio: setting up pod %d of %d failed: %s" % (p + 1, pods, rpc_error_text(e)))
        srv.check_alive("the set-up of pod %d" % (p + 1))
        done = p + 1
        if done % max(1, pods // 5) == 0 or done == pods:
            log("   %d/%d pods, %d containers %s (%.1f s)"
                % (done, pods, done * per_pod, "started" if start else "created", time.monotonic() - t0))
    return out


class CrioTool:
    name = "crio"

    def __init__(self, build, tmp, img):
        self.srv = CrioServer(build)
        self.img = img
        self.n = 0

    def setup(self):
        self.srv.start()
        self.srv.import_image(self.img["layout"])

    def run_once(self):
        self.n += 1
        name = "start-%d" % self.n
        pc = self.srv.pod_config(name)
        cc = container_config("sleep", ["sleep", "3600"])
        try:
            times, pod, ctr = cri_start_pod(self.srv.cri, pc, cc)
            cri_check_running(self.srv.cri, ctr, "crio")
            cri_remove_pod(self.srv.cri, pod, ctr=ctr)
        except grpc.RpcError as e:
            self.srv.check_alive("the pod start", grace=2)
            raise BenchError("crio: %s" % rpc_error_text(e))
        self.srv.check_alive("the pod start")
        return times

    def teardown(self):
        try:
            self.srv.stop()
        finally:
            self.srv.force_cleanup()


class RuncTool:
    """`runc run -d` of an equivalent bundle, on an overlay of the busybox layer."""
    name = "runc"

    def __init__(self, tmp, img):
        self.dir = os.path.join(tmp, "runc-bare")
        self.state = os.path.join(self.dir, "state")
        self.lower = os.path.join(self.dir, "lower")
        self.img = img
        self.cgroup_parent = "/crio-bench-%d-runc" % os.getpid()
        self.n = 0
        self.spec = None

    def setup(self):
        os.makedirs(self.lower)
        os.makedirs(self.state)
        layer = self.img["layers"][0]["digest"].split(":", 1)[1]
        blob = os.path.join(self.img["layout"], "blobs", "sha256", layer)
        r = subprocess.run(["tar", "-xzf", blob, "-C", self.lower, "--numeric-owner"], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError("runc: unpacking the busybox layer failed: %s" % r.stderr.strip())
        specdir = os.path.join(self.dir, "spec")
        os.makedirs(specdir)
        r = subprocess.run([RUNC, "spec"], cwd=specdir, capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError("runc spec failed: %s" % r.stderr.strip())
        with open(os.path.join(specdir, "config.json")) as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = ["sleep", "3600"]
        spec["root"] = {"path": "rootfs", "readonly": False}
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
        self.spec = spec

    def run_once(self):
        self.n += 1
        cid = "bench-%d-%d" % (os.getpid(), self.n)
        d = os.path.join(self.dir, cid)
        rootfs = os.path.join(d, "rootfs")
        for sub in ("upper", "work", "rootfs"):
            os.makedirs(os.path.join(d, sub))
        self.spec["linux"]["cgroupsPath"] = "%s/%s" % (self.cgroup_parent, cid)
        opts = "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (self.lower, d, d)
        errpath = os.path.join(d, "runc.err")
        try:
            with open(errpath, "wb") as err:
                t0 = time.perf_counter()
                if _libc.mount(b"overlay", rootfs.encode(), b"overlay", 0, opts.encode()) != 0:
                    raise BenchError("runc: overlay mount failed: %s" % os.strerror(ctypes.get_errno()))
                with open(os.path.join(d, "config.json"), "w") as f:
                    json.dump(self.spec, f)
                # The container inherits runc's stdio with -d: no pipes (a pipe
                # would stay open as long as the container runs).
                p = subprocess.run([RUNC, "--root", self.state, "run", "-d", "--bundle", d, cid],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=60)
                t1 = time.perf_counter()
            if p.returncode != 0:
                with open(errpath, errors="replace") as f:
                    raise BenchError("runc run -d failed (%d): %s" % (p.returncode, f.read().strip()[-500:]))
            st = subprocess.run([RUNC, "--root", self.state, "state", cid], capture_output=True, text=True, timeout=30)
            status = json.loads(st.stdout).get("status") if st.returncode == 0 else st.stderr.strip()
            if status != "running":
                raise BenchError("runc: container %s is %s after runc run -d" % (cid, status))
        finally:
            self.remove(cid, d)
        return (t1 - t0,)

    def remove(self, cid, d):
        subprocess.run([RUNC, "--root", self.state, "delete", "-f", cid], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        umount_under(d)
        shutil.rmtree(d, ignore_errors=True)
        reap_orphans()

    def teardown(self):
        remove_leftovers(self.state, self.dir, self.cgroup_parent)


PAUSE_C = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void quit(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void)
{
    signal(SIGINT, quit);
    signal(SIGTERM, quit);
    signal(SIGCHLD, reap);
    for (;;)
        pause();
}
"""


class CtrTool(CriProcess):
    """containerd 1.6's CRI plugin, on a private root, state and socket."""
    name = "ctr"

    def __init__(self, tmp, img):
        self.dir = os.path.join(tmp, "containerd")
        self.sock = os.path.join(self.dir, "containerd.sock")
        self.logpath = os.path.join(self.dir, "containerd.log")
        self.runc_root = os.path.join(self.dir, "runc")
        self.log_root = os.path.join(self.dir, "logs")
        self.cgroup_parent = "/crio-bench-%d-ctr" % os.getpid()
        self.img = img
        self.proc = None
        self.cri = None
        self.n = 0
        # The shims put their sockets in /run/containerd/s whatever the config says.
        self.made_run_dir = not os.path.exists("/run/containerd")

    def _run(self, argv, what, timeout=120):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise BenchError("%s failed (%d): %s" % (what, r.returncode, (r.stderr or r.stdout).strip()[-300:]))
        return r

    def _pause_layout(self):
        src = os.path.join(self.dir, "pause.c")
        binp = os.path.join(self.dir, "pause")
        with open(src, "w") as f:
            f.write(PAUSE_C)
        self._run(["gcc", "-static", "-Os", "-s", "-o", binp, src], "gcc -static pause.c")
        layout = images.Layout(os.path.join(self.dir, "pause-oci"))
        desc, diff = layout.add_layer([images.F("pause", None, mode=0o755, src=binp)])
        cfg = images.oci_config([diff], {"Entrypoint": ["/pause"], "Env": [images.PATH_ENV]})
        cdesc = layout.add_json(cfg, images.MT_OCI_CONFIG)
        mdesc = layout.add_json(images.oci_manifest(cdesc, [desc]), images.MT_OCI_MANIFEST)
        layout.tag(mdesc)
        layout.finish()
        return layout.path

    def setup(self):
        for tool in ("containerd", "ctr", "containerd-shim-runc-v2", "skopeo", "gcc"):
            if not shutil.which(tool):
                raise BenchError("%s is not installed" % tool)
        os.makedirs(os.path.join(self.dir, "net.d"))
        os.makedirs(self.log_root)
        archives = []
        for layout, ref in ((self._pause_layout(), PAUSE_IMAGE), (self.img["layout"], IMAGE)):
            tar = os.path.join(self.dir, ref.split("/")[-1].replace(":", "-") + ".tar")
            self._run(["skopeo", "copy", "-q", "oci:%s:1" % layout, "docker-archive:%s:%s" % (tar, ref)],
                      "skopeo copy to docker-archive")
            archives.append(tar)
        d = self.dir
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        conf = os.path.join(d, "config.toml")
        with open(conf, "w") as f:
            f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n'
                    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",'
                    ' "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]\n'
                    '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n'
                    '[debug]\n  address = ""\n[metrics]\n  address = ""\n'
                    '[plugins."io.containerd.internal.v1.opt"]\n  path = "%s/opt"\n'
                    '[%s]\n  sandbox_image = "%s"\n  restrict_oom_score_adj = true\n'
                    '  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n'
                    '  disable_apparmor = true\n  enable_selinux = false\n'
                    '[%s.containerd]\n  snapshotter = "overlayfs"\n  default_runtime_name = "runc"\n'
                    '[%s.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n'
                    '[%s.containerd.runtimes.runc.options]\n  BinaryName = "%s"\n  Root = "%s"\n'
                    '  SystemdCgroup = false\n'
                    '[%s.cni]\n  bin_dir = "/usr/lib/cni"\n  conf_dir = "%s/net.d"\n'
                    % (d, d, self.sock, self.sock, d, cri, PAUSE_IMAGE, cri, cri, cri, RUNC, self.runc_root,
                       cri, d))
        self.proc = spawn(["containerd", "--config", conf], self.logpath)
        wait_socket(self.sock, self.proc, "containerd")
        for tar in archives:
            self._run(["ctr", "-a", self.sock, "-n", "k8s.io", "images", "import", tar], "ctr images import")
        self.cri = Cri(self.sock)
        try:
            v = self.cri("Version", api.VersionRequest(version="v1"), timeout=20)
        except grpc.RpcError as e:
            raise BenchError("its CRI plugin does not answer runtime.v1 Version: %s" % rpc_error_text(e))
        self.version = "%s %s" % (v.runtime_name, v.runtime_version)

        # The CRI plugin learns about imported images from events: wait until it sees both.
        def seen():
            try:
                for ref in (IMAGE, PAUSE_IMAGE):
                    if not self.cri("ImageStatus", api.ImageStatusRequest(image=api.ImageSpec(image=ref)),
                                    timeout=10).image.id:
                        return False
                return True
            except grpc.RpcError:
                return False
        wait_until(seen, 30, "containerd's CRI plugin to list the imported images")

    def run_once(self):
        self.n += 1
        name = "start-%d" % self.n
        d = os.path.join(self.log_root, name)
        os.makedirs(d)
        pc = pod_config(name, "uid-" + name, d, "%s/pod-%s" % (self.cgroup_parent, name))
        cc = container_config("sleep", ["sleep", "3600"])
        try:
            times, pod, ctr = cri_start_pod(self.cri, pc, cc)
            cri_check_running(self.cri, ctr, "ctr")
            cri_remove_pod(self.cri, pod, ctr=ctr)
        except grpc.RpcError as e:
            raise BenchError("containerd: %s" % rpc_error_text(e))
        finally:
            reap_orphans()
        return times

    def teardown(self):
        self.force_stop("containerd", 30)
        # Shims outlive containerd; nothing of ours may.
        kill_pids(pids_of(shutil.which("containerd-shim-runc-v2") or "/usr/bin/containerd-shim-runc-v2", self.sock))
        remove_leftovers(os.path.join(self.runc_root, "k8s.io"), self.dir, self.cgroup_parent)
        if self.made_run_dir:
            for d in ("/run/containerd/s", "/run/containerd"):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("B", "build"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-ctr", action="store_true", help="skip containerd")
    ap.add_argument("--no-runc", action="store_true", help="skip the bare runc baseline")
    ap.add_argument("--no-crio", action="store_true", help="only the baselines (to check them)")
    ap.add_argument("--timeout", type=int, default=1200, help="for the whole benchmark (seconds)")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    build = os.path.abspath(a.build)
    cleanup_on_signals()
    become_subreaper()

    img = busybox_image(build)
    tmp = tempfile.mkdtemp(prefix="crio-bench-podstart.", dir=os.environ.get("TMPDIR", "/tmp"))
    tools = []
    ctr_skip = None
    try:
        with Deadline(a.timeout, "the pod start benchmark"):
            if not a.no_crio:
                crio = CrioTool(build, tmp, img)
                tools.append(crio)
                crio.setup()
            if not a.no_runc:
                rt = RuncTool(tmp, img)
                tools.append(rt)
                rt.setup()
            if a.no_ctr:
                ctr_skip = "--no-ctr"
            else:
                ct = CtrTool(tmp, img)
                tools.append(ct)
                try:
                    ct.setup()
                    ct.run_once()          # can it run a pod here at all?
                except (BenchError, OSError, subprocess.SubprocessError) as e:
                    ctr_skip = str(e).splitlines()[0] if str(e) else type(e).__name__
                    tools.remove(ct)
                    ct.teardown()
            log("== pod start: RunPodSandbox + CreateContainer + StartContainer, busybox sleep 3600,"
                " host network; %d runs each (+%d warm-up), interleaved" % (a.runs, a.warmup))
            if ctr_skip:
                log("   ctr: skipped: %s" % ctr_skip)
            else:
                log("   ctr: %s" % ct.version)
            times = {t.name: [] for t in tools}
            phases = {t.name: [] for t in tools}
            for i in range(a.warmup + a.runs):
                order = tools[i % len(tools):] + tools[:i % len(tools)]
                line = []
                for t in order:
                    r = t.run_once()
                    line.append("%s %6.1f ms" % (t.name, r[0] * 1000))
                    if i >= a.warmup:
                        times[t.name].append(r[0])
                        phases[t.name].append(r)
                label = "warm-up" if i < a.warmup else "run %d" % (i - a.warmup + 1)
                if i < a.warmup or (i - a.warmup) % 10 == 9 or a.runs <= 10:
                    log("   %-8s %s" % (label, "  ".join(sorted(line))))
            for t in list(tools):
                tools.remove(t)
                t.teardown()
    except (BenchError, grpc.RpcError):
        if tools and tools[0].name == "crio":
            tail = tools[0].srv.log_tail()
            if tail.strip():
                sys.stderr.write("bench/pod_start: crio-server log (tail):\n%s\n" % tail)
        raise
    finally:
        for t in tools:
            try:
                t.teardown()
            except Exception as e:
                sys.stderr.write("bench/pod_start: cleanup of %s: %s\n" % (t.name, e))
        reap_orphans()
        umount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)

    ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
    p90 = {k: percentile(v, 90) * 1000 for k, v in times.items()}
    for k in ms:
        extra = ""
        if k in ("crio", "ctr"):
            ph = phases[k]
            extra = " (median RunPodSandbox %.1f, CreateContainer %.1f, StartContainer %.1f ms)" % tuple(
                statistics.median(x[j] for x in ph) * 1000 for j in (1, 2, 3))
        log("   %-5s median %6.1f ms  p90 %6.1f ms%s" % (k, ms[k], p90[k], extra))
    ratio = ms["crio"] / ms["runc"] if "runc" in ms and "crio" in ms else None
    ctr_ratio = ms["crio"] / ms["ctr"] if "ctr" in ms and "crio" in ms else None
    verdicts = []
    if ratio is not None:
        verdicts.append("crio/runc %.2f (target < 2.00: %s)" % (ratio, "PASS" if ratio < 2 else "MISS"))
    if ctr_ratio is not None:
        verdicts.append("crio/ctr %.2f (target < 1.00: %s)" % (ctr_ratio, "PASS" if ctr_ratio < 1 else "MISS"))
    if verdicts:
        log("   " + "; ".join(verdicts))

    def f(v, fmt="%.1f"):
        return fmt % v if v is not None else "-"
    log("podstart-summary crio=%s crio_p90=%s runc=%s runc_p90=%s ctr=%s ctr_p90=%s ratio=%s ctr_ratio=%s runs=%d"
        % (f(ms.get("crio")), f(p90.get("crio")), f(ms.get("runc")), f(p90.get("runc")), f(ms.get("ctr")),
           f(p90.get("ctr")), f(ratio, "%.2f"), f(ctr_ratio, "%.2f"), a.runs))
    if ctr_skip:
        log("podstart-ctr-skipped %s" % ctr_skip)
    return 0


if __name__ == "__main__":
    run_main(main, "pod_start")
