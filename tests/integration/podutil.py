"""Shared machinery for the pod and container integration tests
(test_pods.py, test_containers.py, test_recovery.py).

- `PodEnv`: one crio-server on its own temporary directory, configured for
  pods (log_dir, a runc root of its own, extra runtime handlers), with the
  busybox fixture image (and images derived from it) imported through
  libcrio.v1.Images/Import, and CRI helpers: run_pod, create, start,
  run_to_exit, exec, status, ... .  `close()` removes what the tests left and,
  should the implementation have leaked anything, kills and unmounts it so
  that one broken run does not poison the host for the next.
- Config builders: `pod_config()`, `container_config()`.
- Waits: `PodEnv.wait_state()`, `wait_log()`; everything polls with a deadline.
- Leak checks: `leftovers()` (what still carries a pod or container id) and
  `Snapshot` (what is new since a point in time, for failures whose id the
  test never learns).
- CRI log parsing: `parse_log()`, `log_text()`.
"""

import glob
import importlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import grpc

from helpers import BUILD, REPO, Server, api, call, make_tmp, remove_tmp, wait_for

sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import images as fx  # noqa: E402

FIXTURES = os.path.join(BUILD, "fixture-images")
RUNC = shutil.which("runc") or "/usr/sbin/runc"

IMAGE = "example.com/crio-it/busybox:1"           # the busybox fixture
APP_IMAGE = "example.com/crio-it/app:1"           # busybox with User app, Env, WorkingDir
APP_ENV = ["IMG_VAR=from-image", "SHARED=image"]
APP_WORKDIR = "/home/app"

CREATE_TIMEOUT = 60.0     # a CreateContainer / RunPodSandbox call
EXIT_TIMEOUT = 30.0       # a short container to exit
STOP_CALL_TIMEOUT = 60.0

# A long-running command that stops at once on SIGTERM (exit 0), also as PID 1:
# `wait` is interrupted by the trapped signal.
LOOP = 'trap "exit 0" TERM; while :; do sleep 1 & wait $!; done'

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) (.*)$")

CREATED, RUNNING, EXITED, UNKNOWN = (api.CONTAINER_CREATED, api.CONTAINER_RUNNING, api.CONTAINER_EXITED,
                                     api.CONTAINER_UNKNOWN)
READY, NOTREADY = api.SANDBOX_READY, api.SANDBOX_NOTREADY
NS_POD, NS_CONTAINER, NS_NODE, NS_TARGET = api.POD, api.CONTAINER, api.NODE, api.TARGET

CNI_PLUGIN_DIR = "/usr/lib/cni"     # Debian's containernetworking-plugins
# The network a pod gets when the test does not care: an isolated netns with lo up.
LOOPBACK_NETWORK = {"cniVersion": "1.0.0", "name": "crio-it-lo", "plugins": [{"type": "loopback"}]}

STATE_NAMES = {CREATED: "CREATED", RUNNING: "RUNNING", EXITED: "EXITED", UNKNOWN: "UNKNOWN"}


# ---------------------------------------------------------------- libcrio.v1 messages

def _load_libcrio_pb2():
    try:
        return importlib.import_module("libcrio_pb2")
    except ImportError:
        pass
    gen = make_tmp("crio-it-libcrio-proto-")
    r = subprocess.run(["protoc", "--python_out=" + gen, "-Iproto", "proto/libcrio.proto"], cwd=REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("protoc failed (%d): %s" % (r.returncode, r.stderr))
    sys.path.insert(0, gen)
    return importlib.import_module("libcrio_pb2")


libcrio = _load_libcrio_pb2()


# ---------------------------------------------------------------- images

_layouts = {}
_layouts_lock = threading.Lock()


def busybox_layout():
    return fx.build(FIXTURES, names=["busybox"])["busybox:1"]["layout"]


def derived_layout(key, config_update):
    """An OCI layout of the busybox fixture with its image config's `config`
    object updated from `config_update` (same layer: a new config and
    manifest), written once per process into a temporary directory."""
    with _layouts_lock:
        if key in _layouts:
            return _layouts[key]
        base = busybox_layout()
        with open(os.path.join(base, "index.json")) as f:
            index = json.load(f)
        mdesc = index["manifests"][0]

        def blob(d):
            return os.path.join(base, "blobs", "sha256", d["digest"].split(":", 1)[1])
        with open(blob(mdesc), "rb") as f:
            manifest = json.load(f)
        with open(blob(manifest["config"]), "rb") as f:
            config = json.load(f)
        config["config"].update(config_update)
        out = os.path.join(make_tmp("crio-it-image-"), key)
        layout = fx.Layout(out)
        for ld in manifest["layers"]:
            shutil.copyfile(blob(ld), layout.blob_path(ld["digest"]))
        cdesc = layout.add_json(config, manifest["config"]["mediaType"])
        man = dict(manifest)
        man["config"] = cdesc
        layout.tag(layout.add_json(man, manifest.get("mediaType", fx.MT_OCI_MANIFEST)))
        layout.finish()
        _layouts[key] = out
        return out


def deep_layout(n):
    """The busybox fixture with `n` more layers on top, layer i adding /deep/i
    and replacing /deep/top (more than one page of overlay mount options)."""
    key = "deep%d" % n
    with _layouts_lock:
        if key in _layouts:
            return _layouts[key]
        out = os.path.join(make_tmp("crio-it-image-"), key)
        layout = fx.Layout(out)
        layers = [fx.base_entries()] + [[fx.D("deep"), fx.F("deep/%d" % i, b"%d\n" % i), fx.F("deep/top", b"%d\n" % i)]
                                        for i in range(n)]
        descs, diff_ids = zip(*(layout.add_layer(ents, "none") for ents in layers))
        cdesc = layout.add_json(fx.oci_config(diff_ids, {"Env": [fx.PATH_ENV], "Cmd": ["sh"]}), fx.MT_OCI_CONFIG)
        layout.tag(layout.add_json(fx.oci_manifest(cdesc, list(descs)), fx.MT_OCI_MANIFEST))
        layout.finish()
        _layouts[key] = out
        return out


def app_layout():
    return derived_layout("app", {"User": "app", "Env": [fx.PATH_ENV] + APP_ENV, "WorkingDir": APP_WORKDIR})


# ---------------------------------------------------------------- config builders

def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def pod_config(name=None, uid=None, namespace="crio-it", attempt=0, hostname="", log_directory="",
               labels=None, annotations=None, dns=None, network=NS_POD, pid=NS_CONTAINER, ipc=NS_POD,
               cgroup_parent=""):
    """A PodSandboxConfig as the kubelet sends it (PID mode CONTAINER unless
    the pod shares its process namespace)."""
    cfg = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name or unique("pod"), uid=uid or uuid.uuid4().hex,
                                        namespace=namespace, attempt=attempt),
        hostname=hostname, log_directory=log_directory, labels=labels or {}, annotations=annotations or {})
    if dns is not None:
        cfg.dns_config.CopyFrom(api.DNSConfig(servers=dns.get("servers", []), searches=dns.get("searches", []),
                                              options=dns.get("options", [])))
    cfg.linux.cgroup_parent = cgroup_parent
    ns = cfg.linux.security_context.namespace_options
    ns.network, ns.pid, ns.ipc = network, pid, ipc
    return cfg


def container_config(name=None, image=IMAGE, command=None, args=None, env=None, mounts=(), labels=None,
                     annotations=None, log_path=None, working_dir="", run_as_user=None, run_as_username="",
                     readonly_rootfs=False, memory_limit=0, pod=None, attempt=0):
    """A ContainerConfig; `pod` (a PodSandboxConfig) gives the namespace
    modes as the kubelet copies them; `mounts` are (host, container, ro)."""
    name = name or unique("ctr")
    cfg = api.ContainerConfig(
        metadata=api.ContainerMetadata(name=name, attempt=attempt), image=api.ImageSpec(image=image),
        command=command or [], args=args or [], working_dir=working_dir,
        envs=[api.KeyValue(key=k, value=v) for k, v in (env or [])],
        mounts=[api.Mount(host_path=h, container_path=c, readonly=ro) for h, c, ro in mounts],
        labels=labels or {}, annotations=annotations or {},
        log_path=log_path if log_path is not None else "%s/%d.log" % (name, attempt))
    sc = cfg.linux.security_context
    if run_as_user is not None:
        sc.run_as_user.value = run_as_user
    sc.run_as_username = run_as_username
    sc.readonly_rootfs = readonly_rootfs
    if memory_limit:
        cfg.linux.resources.memory_limit_in_bytes = memory_limit
    if pod is not None:
        pns = pod.linux.security_context.namespace_options
        sc.namespace_options.network = pns.network
        sc.namespace_options.pid = pns.pid
        sc.namespace_options.ipc = pns.ipc
    return cfg


def sh(script):
    """A command running `script` with busybox's sh."""
    return ["/bin/sh", "-c", script]


# ---------------------------------------------------------------- CRI logs

def parse_log(path):
    """The CRI log file as [(timestamp, stream, tag, text)]; raises on a malformed line."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return out
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for ln in lines:
        m = LOG_LINE.match(ln)
        if not m:
            raise AssertionError("malformed CRI log line in %s: %r\nwhole file:\n%s" % (path, ln, data))
        out.append(m.groups())
    return out


def log_text(path, stream=None):
    """The text of the log's entries (P entries joined to the next), of one stream or all."""
    out, cur = [], {"stdout": "", "stderr": ""}
    for _, s, tag, text in parse_log(path):
        cur[s] += text
        if tag == "F":
            if stream is None or s == stream:
                out.append(cur[s] + "\n")
            cur[s] = ""
    return "".join(out)


def rfc3339_ns(ts):
    """An RFC 3339 timestamp with up to 9 fraction digits -> ns since the epoch (UTC 'Z' or offset)."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|([+-])(\d\d):(\d\d))$", ts)
    if not m:
        raise AssertionError("not RFC 3339: %r" % ts)
    import calendar
    secs = calendar.timegm((int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                            int(m.group(5)), int(m.group(6)), 0, 0, 0))
    if m.group(8) != "Z":
        off = (int(m.group(10)) * 60 + int(m.group(11))) * 60
        secs -= off if m.group(9) == "+" else -off
    frac = (m.group(7) or "").ljust(9, "0")
    return secs * 10**9 + int(frac or 0)


def wait_log(path, pattern, timeout=EXIT_TIMEOUT, stream=None):
    """Waits until the log's text matches the regex; returns the match."""
    rx = re.compile(pattern)

    def found():
        return rx.search(log_text(path, stream))
    try:
        return wait_for(found, timeout, "log %s to match /%s/" % (path, pattern), interval=0.01)
    except AssertionError as e:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError as oe:
            text = "(%s)" % oe
        raise AssertionError("%s; log so far:\n%s" % (e, text)) from None


# ---------------------------------------------------------------- host inspection

def ns_inode(pid, kind):
    return os.stat("/proc/%d/ns/%s" % (pid, kind)).st_ino


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def proc_status_field(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith(field + ":"):
                    return ln.split(":", 1)[1].split()
    except OSError:
        return None
    return None


def _unescape_mount(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mounts():
    """(mount point, fs type, source) of every mount in our mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            a = ln.split()
            sep = a.index("-")
            out.append((_unescape_mount(a[4]), a[sep + 1], _unescape_mount(a[sep + 2])))
    return out


def mounts_under(prefix):
    prefix = prefix.rstrip("/") + "/"
    return sorted({mp for mp, _, _ in mounts() if (mp + "/").startswith(prefix)})


CGROUP_ROOT = "/sys/fs/cgroup"


def cgroup_dirs_matching(words):
    """Cgroup directories (in any hierarchy) whose name contains one of `words`."""
    out = []
    if not words:
        return out
    for hier in sorted(os.listdir(CGROUP_ROOT)):
        top = os.path.join(CGROUP_ROOT, hier)
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        for dirpath, dirnames, _ in os.walk(top):
            for d in dirnames:
                if any(w in d for w in words):
                    out.append(os.path.join(dirpath, d))
    return sorted(out)


def procs_mentioning(words, exclude=()):
    """(pid, argv) of live processes whose command line contains one of `words`."""
    me = os.getpid()
    out = []
    for pid in all_pids():
        if pid == me or pid in exclude:
            continue
        argv = cmdline(pid)
        if argv and alive(pid):
            line = " ".join(argv)
            if any(w in line for w in words):
                out.append((pid, argv))
    return out


# ---------------------------------------------------------------- the environment

class PodEnv:
    """A crio-server on a temporary directory, ready for pods and containers.

    tmp/root, tmp/rr (the server's runroot, `runroot_name`), tmp/runc (runc's --root),
    tmp/logs (pods' log directories), tmp/host (host paths for mounts).
    `runtimes` adds [crio.runtime.runtimes.NAME] tables: {name: runtime_path}.
    """

    def __init__(self, runtimes=None, extra_config="", name="server", runroot_name="rr", networks=None):
        # Short paths: RUNROOT/containers/<64-hex id>/attach is a unix socket (108 bytes at most).
        self.tmp = make_tmp("ci")
        self.logs = os.path.join(self.tmp, "logs")
        self.host = os.path.join(self.tmp, "host")
        self.runc_root = os.path.join(self.tmp, "runc")
        self.netdir = os.path.join(self.tmp, "net.d")
        os.makedirs(self.logs)
        os.makedirs(self.host)
        os.makedirs(self.netdir)
        # Pods need a CNI network: loopback-only unless the test brings its own
        # ({file name: conflist dict or text}).
        for fname, conf in (networks or {"00-loopback.conflist": LOOPBACK_NETWORK}).items():
            with open(os.path.join(self.netdir, fname), "w") as f:
                f.write(conf if isinstance(conf, str) else json.dumps(conf))
        self.runtime_roots = [self.runc_root]
        text = '[crio]\nlog_dir = "%s"\n\n' % os.path.join(self.tmp, "podlogs")
        if "[crio.network]" not in extra_config:
            text += '[crio.network]\nnetwork_dir = "%s"\nplugin_dirs = ["%s"]\n\n' % (self.netdir, CNI_PLUGIN_DIR)
        text += '[crio.runtime.runtimes.runc]\nruntime_path = "%s"\nruntime_root = "%s"\n\n' % (RUNC, self.runc_root)
        for hname, path in (runtimes or {}).items():
            root = os.path.join(self.tmp, "runc-" + hname)
            self.runtime_roots.append(root)
            text += '[crio.runtime.runtimes.%s]\nruntime_path = "%s"\nruntime_root = "%s"\n\n' % (hname, path, root)
        self.config = text + extra_config
        self.srv = Server(config=self.config, tmp=self.tmp, name=name)
        self.srv.runroot = os.path.join(self.tmp, runroot_name)
        self.ch = None
        self.image_ids = {}
        self.closed = False

    # -- lifecycle of the server --

    def start(self, import_images=True):
        self.srv.start()
        self.ch = self.srv.channel()
        if import_images:
            self.import_image(busybox_layout(), IMAGE)
            self.import_image(app_layout(), APP_IMAGE)
        return self

    def restart(self):
        self.srv.start()
        self.ch = self.srv.channel()
        return self

    def stop_server(self):
        self.srv.stop()
        self.ch = None

    def kill9(self):
        self.srv.kill9()
        self.ch = None

    def import_image(self, layout, name):
        r = call(self.ch, "/libcrio.v1.Images/Import", libcrio.ImportRequest(path=layout, name=name),
                 response=libcrio.ImportResponse, timeout=120)
        self.image_ids[name] = r.image_id
        return r

    def close(self):
        """Removes every pod through the server (if it runs), stops it, then
        forcibly cleans up whatever is left on the host."""
        if self.closed:
            return
        self.closed = True
        if self.srv.running():
            try:
                ch = self.ch or self.srv.channel()
                for c in call(ch, "ListContainers", api.ListContainersRequest(), timeout=10).containers:
                    try:
                        call(ch, "RemoveContainer", api.RemoveContainerRequest(container_id=c.id), timeout=30)
                    except grpc.RpcError:
                        pass
                for p in call(ch, "ListPodSandbox", api.ListPodSandboxRequest(), timeout=10).items:
                    try:
                        call(ch, "RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=p.id), timeout=60)
                    except grpc.RpcError:
                        pass
            except grpc.RpcError:
                pass
        self.srv.close()
        found = force_cleanup(self.tmp, self.runtime_roots)
        if found:
            sys.stderr.write("\n[podutil] cleanup of %s had to remove what the server left:\n  %s\n"
                             % (self.tmp, "\n  ".join(found)))
        remove_tmp(self.tmp)

    # -- paths --

    @property
    def root(self):
        return self.srv.root

    @property
    def runroot(self):
        return self.srv.runroot

    def log_dir(self, pod_name):
        return os.path.join(self.logs, pod_name)

    def host_dir(self, name):
        d = os.path.join(self.host, name)
        os.makedirs(d, exist_ok=True)
        return d

    # -- pods --

    def pod_config(self, **kw):
        cfg = pod_config(**kw)
        if not cfg.log_directory:
            cfg.log_directory = self.log_dir(cfg.metadata.name)
        return cfg

    def run_pod(self, cfg=None, handler="", **kw):
        """Runs a pod; returns (id, config)."""
        cfg = cfg or self.pod_config(**kw)
        r = call(self.ch, "RunPodSandbox", api.RunPodSandboxRequest(config=cfg, runtime_handler=handler),
                 timeout=CREATE_TIMEOUT)
        return r.pod_sandbox_id, cfg

    def pod_status(self, pod_id, verbose=False):
        return call(self.ch, "PodSandboxStatus", api.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose))

    def pod_info(self, pod_id):
        r = self.pod_status(pod_id, verbose=True)
        return json.loads(r.info["info"]) if "info" in r.info else {}

    def list_pods(self, **filt):
        req = api.ListPodSandboxRequest()
        if filt:
            f = req.filter
            if "id" in filt:
                f.id = filt["id"]
            if "state" in filt:
                f.state.state = filt["state"]
            for k, v in filt.get("labels", {}).items():
                f.label_selector[k] = v
        return list(call(self.ch, "ListPodSandbox", req).items)

    def stop_pod(self, pod_id):
        return call(self.ch, "StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=pod_id),
                    timeout=STOP_CALL_TIMEOUT)

    def remove_pod(self, pod_id):
        return call(self.ch, "RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=pod_id),
                    timeout=STOP_CALL_TIMEOUT)

    def remove_pod_quietly(self, pod_id):
        """For cleanups: removes the pod if the server can."""
        if self.ch is None or not self.srv.running():
            return
        try:
            self.remove_pod(pod_id)
        except grpc.RpcError:
            pass

    # -- containers --

    def create(self, pod_id, cfg, pod_cfg=None):
        req = api.CreateContainerRequest(pod_sandbox_id=pod_id, config=cfg)
        if pod_cfg is not None:
            req.sandbox_config.CopyFrom(pod_cfg)
        return call(self.ch, "CreateContainer", req, timeout=CREATE_TIMEOUT).container_id

    def start_ctr(self, cid):
        return call(self.ch, "StartContainer", api.StartContainerRequest(container_id=cid), timeout=CREATE_TIMEOUT)

    def run(self, pod_id, pod_cfg, **kw):
        """Creates and starts a container (container_config(**kw)); returns (id, config)."""
        kw.setdefault("pod", pod_cfg)
        cfg = container_config(**kw)
        cid = self.create(pod_id, cfg, pod_cfg)
        self.start_ctr(cid)
        return cid, cfg

    def stop_ctr(self, cid, timeout=10):
        return call(self.ch, "StopContainer", api.StopContainerRequest(container_id=cid, timeout=timeout),
                    timeout=timeout + STOP_CALL_TIMEOUT)

    def remove_ctr(self, cid):
        return call(self.ch, "RemoveContainer", api.RemoveContainerRequest(container_id=cid),
                    timeout=STOP_CALL_TIMEOUT)

    def status(self, cid, verbose=False):
        return call(self.ch, "ContainerStatus", api.ContainerStatusRequest(container_id=cid, verbose=verbose))

    def info(self, cid):
        """The verbose status's info JSON object."""
        r = self.status(cid, verbose=True)
        if "info" not in r.info:
            raise AssertionError("ContainerStatus verbose of %s has no info[\"info\"]: %r" % (cid, dict(r.info)))
        return json.loads(r.info["info"])

    def pid(self, cid):
        p = int(self.info(cid).get("pid", 0))
        if p <= 0:
            raise AssertionError("container %s: verbose info has no pid: %r" % (cid, self.info(cid)))
        return p

    def list_ctrs(self, **filt):
        req = api.ListContainersRequest()
        if filt:
            f = req.filter
            if "id" in filt:
                f.id = filt["id"]
            if "state" in filt:
                f.state.state = filt["state"]
            if "pod" in filt:
                f.pod_sandbox_id = filt["pod"]
            for k, v in filt.get("labels", {}).items():
                f.label_selector[k] = v
        return list(call(self.ch, "ListContainers", req).containers)

    def wait_state(self, cid, state, timeout=EXIT_TIMEOUT):
        last = [None]

        def reached():
            st = self.status(cid).status
            last[0] = st
            return st if st.state == state else None
        try:
            return wait_for(reached, timeout, "container %s to be %s" % (cid, STATE_NAMES[state]), interval=0.01)
        except AssertionError as e:
            raise AssertionError("%s; last status: %s" % (e, last[0])) from None

    def exec(self, cid, cmd, timeout=10, call_timeout=None):
        return call(self.ch, "ExecSync", api.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                    timeout=call_timeout or timeout + 30)

    def exec_ok(self, cid, cmd, timeout=10):
        """ExecSync that must exit 0; returns stdout as text."""
        r = self.exec(cid, cmd, timeout)
        if r.exit_code != 0:
            raise AssertionError("exec %s in %s: exit %d, stdout %r, stderr %r"
                                 % (cmd, cid, r.exit_code, r.stdout, r.stderr))
        return r.stdout.decode()

    def run_to_exit(self, pod_id, pod_cfg, timeout=EXIT_TIMEOUT, **kw):
        """Runs a container to its exit; returns (status, stdout text, log path)."""
        cid, cfg = self.run(pod_id, pod_cfg, **kw)
        st = self.wait_state(cid, EXITED, timeout)
        path = os.path.join(pod_cfg.log_directory, cfg.log_path)
        return st, log_text(path, "stdout"), path, cid

    # -- leaks --

    def leftovers(self, ids, pids=()):
        return leftovers(self, ids, pids)

    def snapshot(self):
        return Snapshot(self)


# ---------------------------------------------------------------- leak checks

def _entries(d):
    try:
        return set(os.listdir(d))
    except FileNotFoundError:
        return set()


def state_dirs(env):
    """The directories holding one entry per pod or container."""
    return [os.path.join(env.root, "pods"), os.path.join(env.root, "containers"),
            os.path.join(env.runroot, "pods"), os.path.join(env.runroot, "containers"),
            os.path.join(env.runroot, "exits")] + list(env.runtime_roots)


def leftovers(env, ids, pids=()):
    """Everything on the host that still belongs to one of `ids` (pod or
    container ids): mounts, state directories, cgroups, processes naming
    the id (crio-monitor), and the given pids (containers, pause) alive."""
    ids = [i for i in ids if i]
    found = []
    for mp, fstype, src in mounts():
        if any(i in mp or i in src for i in ids):
            found.append("mount %s (%s from %s)" % (mp, fstype, src))
    for d in state_dirs(env):
        for n in _entries(d):
            if any(n.startswith(i) for i in ids):
                found.append("file %s" % os.path.join(d, n))
    for cg in cgroup_dirs_matching(ids):
        found.append("cgroup %s" % cg)
    for pid, argv in procs_mentioning(ids, exclude=(env.srv.pid,) if env.srv.proc else ()):
        found.append("process %d: %s" % (pid, " ".join(argv)))
    for pid in pids:
        if pid and alive(pid):
            found.append("process %d still alive: %s" % (pid, " ".join(cmdline(pid) or [])))
    return found


def assert_no_leftovers(env, ids, pids=(), timeout=5.0):
    """Polls (briefly: processes may take a moment to be reaped) until nothing of `ids` is left."""
    last = [None]

    def clean():
        last[0] = leftovers(env, ids, pids)
        return not last[0]
    try:
        wait_for(clean, timeout, "nothing of %s to be left" % ", ".join(i[:12] for i in ids), interval=0.05)
    except AssertionError:
        raise AssertionError("left behind for %s:\n  %s" % (", ".join(ids), "\n  ".join(last[0]))) from None


class Snapshot:
    """What exists for a server at a point in time: mounts under its
    directory, entries of its state directories, processes naming its
    directory, and cgroups named after an id the server has dealt with (in
    its state directories or its log), so that other servers on the host
    do not count."""

    def __init__(self, env):
        self.env = env
        self.data = self.take()

    def known_ids(self):
        env = self.env
        ids = set()
        for sd in state_dirs(env):
            ids |= {n for n in _entries(sd) if re.match(r"^[0-9a-f]{64}$", n)}
        ids |= set(re.findall(r"\b[0-9a-f]{64}\b", env.srv.log()))
        return ids

    def take(self):
        env = self.env
        d = {"mounts": set(mounts_under(env.tmp))}
        for sd in state_dirs(env):
            d["dir " + sd] = _entries(sd)
        server = (env.srv.pid,) if env.srv.proc else ()
        d["procs"] = {"%d %s" % (p, " ".join(a)) for p, a in procs_mentioning([env.tmp], exclude=server)}
        d["cgroups"] = set(cgroup_dirs_matching(sorted(self.known_ids())))
        return d

    def new(self):
        """What appeared since the snapshot: ["kind: item"]."""
        now = self.take()
        out = []
        for k, v in now.items():
            for item in sorted(v - self.data.get(k, set())):
                out.append("%s: %s" % (k, item))
        return out

    def assert_nothing_new(self, timeout=5.0):
        last = [None]

        def clean():
            last[0] = self.new()
            return not last[0]
        try:
            wait_for(clean, timeout, "nothing new on the host", interval=0.05)
        except AssertionError:
            raise AssertionError("left behind:\n  %s" % "\n  ".join(last[0])) from None


# ---------------------------------------------------------------- forced cleanup

def force_cleanup(tmp, runtime_roots):
    """Kills, deletes and unmounts what a (buggy) server left for `tmp`.
    Returns descriptions of what it found."""
    found = []
    # Containers still known to runc.
    for root in runtime_roots:
        if not os.path.isdir(root):
            continue
        r = subprocess.run([RUNC, "--root", root, "list", "-q"], capture_output=True, text=True, timeout=30)
        for cid in r.stdout.split():
            found.append("runc container %s (root %s)" % (cid, root))
            subprocess.run([RUNC, "--root", root, "kill", "--all", cid, "KILL"], capture_output=True, timeout=30)
            subprocess.run([RUNC, "--root", root, "delete", "--force", cid], capture_output=True, timeout=30)
    # Monitors, wrapped runtimes, pause processes.
    ids = set()
    for sub in ("root/pods", "root/containers", "*/pods", "*/containers"):
        for d in glob.glob(os.path.join(tmp, sub)):
            ids |= {n for n in _entries(d) if re.match(r"^[0-9a-f]{64}$", n)}
    for pidfile in glob.glob(os.path.join(tmp, "*", "pods", "*", "pause.pid")):
        try:
            with open(pidfile) as f:
                p = int(f.read().strip() or 0)
        except (OSError, ValueError):
            continue
        argv = cmdline(p) if p > 1 else None
        if argv and "pause" in os.path.basename(argv[0]) and alive(p):
            found.append("pause process %d" % p)
            _kill(p)
    for p, argv in procs_mentioning([tmp] + sorted(ids)):
        found.append("process %d: %s" % (p, " ".join(argv)))
        _kill(p)
    # Mounts, deepest first.
    for mp in sorted(mounts_under(tmp), key=lambda m: -m.count("/")):
        found.append("mount %s" % mp)
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)
    # Cgroups named after a pod or container of this server.
    for cg in sorted(cgroup_dirs_matching(sorted(ids)), key=lambda c: -c.count("/")):
        found.append("cgroup %s" % cg)
        for d in sorted([x[0] for x in os.walk(cg)], key=lambda c: -c.count("/")):
            try:
                os.rmdir(d)
            except OSError:
                pass
    return found


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


# ---------------------------------------------------------------- events

class EventStream:
    """GetContainerEvents read by a thread into a queue; `close()` cancels it."""

    def __init__(self, ch, timeout=300):
        stub = ch.unary_stream("/runtime.v1.RuntimeService/GetContainerEvents",
                               request_serializer=api.GetEventsRequest.SerializeToString,
                               response_deserializer=api.ContainerEventResponse.FromString)
        self.call = stub(api.GetEventsRequest(), timeout=timeout)
        self.q = queue.Queue()
        self.error = None
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        try:
            for ev in self.call:
                self.q.put(ev)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.error = e
        self.q.put(None)

    def next(self, deadline):
        """The next event before `deadline` (time.monotonic()), or None at the deadline or the stream's end."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return self.q.get(timeout=left)
        except queue.Empty:
            return None

    def close(self):
        self.call.cancel()
        self.t.join(10)


# ---------------------------------------------------------------- test cases

from helpers import CrioTestCase  # noqa: E402


class PodTestCase(CrioTestCase):
    """CrioTestCase with PodEnv servers: their logs are dumped when a test fails."""

    @classmethod
    def class_env(cls, **kw):
        env = PodEnv(**kw)
        if not cls.__dict__.get("class_servers"):
            cls.class_servers = []
        cls.class_servers.append(env.srv)
        cls.addClassCleanup(env.close)
        env.start()
        return env

    def new_env(self, start=True, **kw):
        env = PodEnv(**kw)
        self._test_servers.append(env.srv)
        self.addCleanup(env.close)
        if start:
            env.start()
        return env

    def pod(self, env=None, handler="", **kw):
        """Runs a pod removed at cleanup; returns (id, config)."""
        env = env or self.env
        pid, cfg = env.run_pod(handler=handler, **kw)
        self.addCleanup(env.remove_pod_quietly, pid)
        return pid, cfg
