#!/usr/bin/python3
"""Pull benchmark (run by bench/run.sh): crio-server's CRI PullImage against
`skopeo copy` (and containerd's `ctr images pull` when containerd is
installed), side by side in one run, from one local registry.

    /usr/bin/python3 bench/pull.py [--build B] [--runs N] [--images DIR]
                                   [--concurrency N] [--no-ctr] [--keep-going]

The image is tests/fixtures' big:1 (5 layers x 50 MiB of random data, gzip),
built once into B/bench-images and pushed to Debian's docker-registry on
127.0.0.1 (tests/fixtures/registry.py).  Each tool pulls it N times (default
3) after one untimed warm-up pull each (this VM's first touch of fresh memory
is slow and would land on whichever tool runs first); the order alternates
from run to run, and `sync` runs (untimed) before every pull so that nobody
pays for the previous tool's dirty pages.

- crio: a fresh crio-server per run (fresh --root and --runroot: nothing
  cached), with a registries.conf marking the registry insecure; the time is
  bench/grpc_pull's, from writing the PullImage request to the end of the
  reply.  It downloads, verifies (sha256 of each blob and of each
  uncompressed layer against the config's diff_ids), UNPACKS every layer and
  syncs it to disk before it answers.  The unpacked files are checked.
- skopeo: `skopeo copy --src-tls-verify=false docker://H/big:1 oci:DIR:1`
  into a fresh directory, timed from fork to exit.  It only copies the
  blobs (verified, written and fsynced), it does not unpack.
- ctr: a containerd daemon per run with a fresh root, state and socket
  (its own config; the CRI plugin off), then `ctr images pull --plain-http`,
  timed from fork to exit.  It downloads and then unpacks into its default
  snapshotter, as crio does.

Prints every run (wall time, and the CPU seconds of the puller and of the
registry during it), then one line for bench/run.sh:

    pull-summary crio=S skopeo=S ctr=S|- ratio=R ctr_ratio=R|- runs=N

(medians in seconds; ratio = crio / skopeo).  Exit status 1 when a pull
fails, the server crashes or does not exit 0 on SIGTERM, or the pulled
image is wrong; a missed target is not a failure.
"""

import argparse
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import images    # noqa: E402
import registry  # noqa: E402

sys.path.insert(0, HERE)
from benchlib import BenchError, log, run_main, stop_process  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime + stime of a live process (all its threads, dead ones too), seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def run_timed(argv, timeout=300, env=None):
    """Runs argv; returns (seconds, cpu seconds of the child, returncode, stderr tail)."""
    errf = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf, env=env)
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.002)
    t = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    errf.seek(0)
    err = errf.read().decode(errors="replace")[-2000:]
    errf.close()
    return t, ru.ru_utime + ru.ru_stime, p.returncode, err


def sync():
    os.sync()


def wait_socket(path, proc, what, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited during start-up (status %s)" % (what, proc.returncode))
        if os.path.exists(path):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.close()
                return
            except OSError:
                pass
        time.sleep(0.02)
    raise BenchError("%s did not listen on %s within %d s" % (what, path, timeout))


class Crio:
    name = "crio"

    def __init__(self, build, tmp, host, img, concurrency):
        self.server = os.environ.get("BENCH_SERVER") or os.path.join(build, "crio-server")
        self.client = os.path.join(build, "bench", "grpc_pull")
        for f in (self.server, self.client):
            if not os.access(f, os.X_OK):
                raise BenchError("%s is missing (run make bench)" % f)
        self.dir = os.path.join(tmp, "crio")
        os.makedirs(os.path.join(self.dir, "conf.d"))
        self.host, self.img = host, img
        with open(os.path.join(self.dir, "registries.conf"), "w") as f:
            f.write('[[registry]]\nlocation = "%s"\ninsecure = true\n' % host)
        with open(os.path.join(self.dir, "crio.conf"), "w") as f:
            f.write('[crio.image]\nregistries_conf = "%s"\n' % os.path.join(self.dir, "registries.conf"))
            if concurrency:
                f.write("max_concurrent_downloads = %d\n" % concurrency)
        self.run_no = 0

    def pull(self):
        self.run_no += 1
        root = os.path.join(self.dir, "root-%d" % self.run_no)
        runroot = os.path.join(self.dir, "run-%d" % self.run_no)
        sock = os.path.join(self.dir, "crio-%d.sock" % self.run_no)
        logf = open(os.path.join(self.dir, "server-%d.log" % self.run_no), "wb")
        proc = subprocess.Popen([self.server, "--config", os.path.join(self.dir, "crio.conf"),
                                 "--config-dir", os.path.join(self.dir, "conf.d"), "--root", root,
                                 "--runroot", runroot, "--listen", sock, "--log-level", "error"],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        try:
            wait_socket(sock, proc, "crio-server")
            sync()
            cpu0 = proc_cpu(proc.pid)
            r = subprocess.run([self.client, "--socket", sock, "--image", "%s/big:1" % self.host,
                                "--label", "run%d" % self.run_no, "--timeout", "300"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
            cpu1 = proc_cpu(proc.pid)
            if r.returncode != 0:
                raise BenchError("crio PullImage failed: %s" % (r.stderr.strip() or r.stdout.strip()))
            fields = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
            secs = float(fields["seconds"])
            want = "%s/big@%s" % (self.host, self.img["manifest_digest"])
            if fields.get("image_ref") != want:
                raise BenchError("crio PullImage answered image_ref %s, want %s" % (fields.get("image_ref"), want))
            self.check(root)
            stop_process(proc, "crio-server", timeout=15)
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            with open(os.path.join(self.dir, "server-%d.log" % self.run_no), errors="replace") as f:
                tail = f.read()[-2000:]
            if tail.strip():
                sys.stderr.write("bench/pull: crio-server log:\n%s\n" % tail)
            raise
        finally:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(runroot, ignore_errors=True)
        return secs, (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None

    def check(self, root):
        """Every layer file is in the store, unpacked, at its full size."""
        for path, f in self.img["files"].items():
            hits = glob.glob(os.path.join(root, "layers", "*", "diff", path.lstrip("/")))
            if len(hits) != 1 or os.path.getsize(hits[0]) != f["size"]:
                raise BenchError("crio: %s is not unpacked in the store (found %s)" % (path, hits))


class Skopeo:
    name = "skopeo"

    def __init__(self, tmp, host):
        self.dir = os.path.join(tmp, "skopeo")
        os.makedirs(self.dir)
        self.host = host
        self.run_no = 0

    def pull(self):
        self.run_no += 1
        dest = os.path.join(self.dir, "oci-%d" % self.run_no)
        sync()
        try:
            t, cpu, rc, err = run_timed(["skopeo", "copy", "-q", "--src-tls-verify=false",
                                         "docker://%s/big:1" % self.host, "oci:%s:1" % dest])
            if rc != 0:
                raise BenchError("skopeo copy failed (%s): %s" % (rc, err.strip()))
            with open(os.path.join(dest, "index.json")) as f:
                if len(json.load(f)["manifests"]) != 1:
                    raise BenchError("skopeo: the OCI layout has no image")
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        return t, cpu


class Ctr:
    """containerd 1.6 from Debian, run directly (no systemd needed)."""
    name = "ctr"

    def __init__(self, tmp, host):
        self.dir = os.path.join(tmp, "ctr")
        os.makedirs(self.dir)
        self.host = host
        self.run_no = 0

    def pull(self):
        self.run_no += 1
        d = os.path.join(self.dir, str(self.run_no))
        os.makedirs(d)
        sock = os.path.join(d, "containerd.sock")
        conf = os.path.join(d, "config.toml")
        with open(conf, "w") as f:
            f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n'
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n'
                    '[debug]\n  address = ""\n[metrics]\n  address = ""\n' % (d, d, sock, sock))
        logf = open(os.path.join(d, "containerd.log"), "wb")
        proc = subprocess.Popen(["containerd", "--config", conf], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        try:
            wait_socket(sock, proc, "containerd")
            sync()
            cpu0 = proc_cpu(proc.pid)
            t, cpu, rc, err = run_timed(["ctr", "-a", sock, "-n", "bench", "images", "pull", "--plain-http",
                                         "%s/big:1" % self.host])
            cpu1 = proc_cpu(proc.pid)
            if rc != 0:
                raise BenchError("ctr images pull failed (%s): %s" % (rc, err.strip()[-500:]))
            stop_process(proc, "containerd", timeout=15)
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        finally:
            # Snapshots are not mounted once ctr pull returns; unmount anything left anyway.
            with open("/proc/self/mounts") as f:
                for line in reversed(f.read().splitlines()):
                    mp = line.split()[1]
                    if mp.startswith(d + "/"):
                        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
            shutil.rmtree(d, ignore_errors=True)
        if cpu0 is not None and cpu1 is not None:
            cpu += cpu1 - cpu0
        return t, cpu


def ctr_available():
    return shutil.which("ctr") is not None and shutil.which("containerd") is not None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("B", "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--images", help="where big:1 is built (default: BUILD/bench-images)")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="[crio.image] max_concurrent_downloads (default: the server's own)")
    ap.add_argument("--no-ctr", action="store_true", help="skip containerd even when installed")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    registry.cleanup_on_signals()
    build = os.path.abspath(a.build)
    imgdir = os.path.abspath(a.images or os.path.join(build, "bench-images"))
    if not shutil.which("skopeo"):
        raise BenchError("skopeo is not installed (make deps)")

    t0 = time.monotonic()
    img = images.build(imgdir, names=["big"])["big:1"]
    tmp = tempfile.mkdtemp(prefix="crio-bench-pull.", dir=os.environ.get("TMPDIR", "/tmp"))
    try:
        with registry.Registry(auth="none") as reg:
            reg.push_image(img)
            size = sum(layer["size"] for layer in img["layers"])
            log("== pull %s: %d layers, %.1f MiB compressed, from docker-registry at %s (ready in %.1f s)"
                % (img["ref"], len(img["layers"]), size / 1048576, reg.host, time.monotonic() - t0))
            tools = [Crio(build, tmp, reg.host, img, a.concurrency), Skopeo(tmp, reg.host)]
            if a.no_ctr:
                log("   ctr: skipped (--no-ctr)")
            elif ctr_available():
                tools.append(Ctr(tmp, reg.host))
            else:
                log("   ctr: skipped: containerd is not installed (apt-get install containerd to include it)")
            reg_pid = reg.proc.pid if reg.proc else None
            times = {t.name: [] for t in tools}

            def one(tool, label):
                rc0 = proc_cpu(reg_pid) if reg_pid else None
                try:
                    secs, cpu = tool.pull()
                except BenchError as e:
                    if tool.name != "ctr":
                        raise
                    # containerd is only a point of comparison: its failure is not ours.
                    log("   ctr: dropped: %s" % e)
                    tools.remove(tool)
                    times.pop("ctr", None)
                    return None
                rc1 = proc_cpu(reg_pid) if reg_pid else None
                regcpu = "%.2f" % (rc1 - rc0) if rc0 is not None and rc1 is not None else "?"
                log("   %-7s %-7s %6.3f s   cpu %s s (registry %s s)"
                    % (label, tool.name, secs, "%.2f" % cpu if cpu is not None else "?", regcpu))
                return secs

            for tool in list(tools):
                one(tool, "warm-up")
            for i in range(a.runs):
                order = tools if i % 2 == 0 else list(reversed(tools))
                for tool in list(order):
                    secs = one(tool, "run %d" % (i + 1))
                    if secs is not None:
                        times[tool.name].append(secs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["crio"] / med["skopeo"]
    ctr = med.get("ctr")
    log("   median: " + ", ".join("%s %.3f s" % (k, v) for k, v in med.items()) +
        "; crio/skopeo %.2f (target <= 0.70: %s)" % (ratio, "PASS" if ratio <= 0.7 else "MISS") +
        ("; crio/ctr %.2f" % (med["crio"] / ctr) if ctr else ""))
    log("pull-summary crio=%.3f skopeo=%.3f ctr=%s ratio=%.2f ctr_ratio=%s runs=%d"
        % (med["crio"], med["skopeo"], "%.3f" % ctr if ctr else "-", ratio,
           "%.2f" % (med["crio"] / ctr) if ctr else "-", a.runs))
    return 0


if __name__ == "__main__":
    run_main(main, "pull")
