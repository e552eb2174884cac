"""CRI containers against a real crio-server with runc and crio-monitor:
CreateContainer, StartContainer, StopContainer, RemoveContainer,
ContainerStatus, ListContainers, ExecSync, UpdateContainerResources,
ReopenContainerLog, the stats calls, GetContainerEvents; the CRI log file;
exit codes and reasons (Completed, Error, OOMKilled); environment, user,
working directory, mounts, read-only root filesystems; namespaces shared in
a pod (and the PID namespace with the pause process); RemoveImage of an
image in use; bad input; runtime handlers (one that fails, one that wraps
runc).

The fixture image is busybox-static (tests/fixtures/images.py), imported
with libcrio.v1.Images/Import; APP_IMAGE is the same layer with User "app",
extra Env and a WorkingDir.  No fixed sleeps: every wait polls a condition
until a deadline.
"""

import os
import re
import threading
import time
import unittest

import grpc

from helpers import api, call, make_tmp, remove_tmp, wait_for
from podutil import (APP_IMAGE, APP_WORKDIR, CREATED, EXITED, IMAGE, LOOP, NS_POD, RUNC, RUNNING, EventStream,
                     PodTestCase, alive, all_pids, assert_no_leftovers, cgroup_dirs_matching, cmdline,
                     container_config, deep_layout, derived_layout, log_text, ns_inode, parse_log, proc_status_field,
                     rfc3339_ns, sh, unique, wait_log)

import images as fx  # noqa: E402  (tests/fixtures, on sys.path through podutil)

IMAGE_SERVICE = "/runtime.v1.ImageService/"
MiB = 1024 * 1024


def ps_commands(text):
    """The COMMAND column (the last) of busybox ps output."""
    lines = text.splitlines()
    ncols = len(lines[0].split()) if lines else 0
    out = []
    for ln in lines[1:]:
        parts = ln.split(None, ncols - 1)
        if len(parts) == ncols:
            out.append(parts[-1])
    return out


class ContainerTest(PodTestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = cls.class_env()

    def setUp(self):
        super().setUp()
        self.pod_id, self.pod_cfg = self.pod()

    def run_ctr(self, **kw):
        return self.env.run(self.pod_id, self.pod_cfg, **kw)

    def run_to_exit(self, timeout=30, **kw):
        return self.env.run_to_exit(self.pod_id, self.pod_cfg, timeout=timeout, **kw)

    # -- output, exit codes, reasons

    def test_hello_log_file_and_completed(self):
        t0 = time.time_ns()
        st, out, path, cid = self.run_to_exit(command=sh("echo hello; echo oops >&2; echo two words"))
        t1 = time.time_ns()
        self.assertEqual((st.state, st.exit_code, st.reason), (EXITED, 0, "Completed"), st)
        self.assertTrue(0 < st.created_at <= st.started_at <= st.finished_at <= t1, st)
        self.assertGreaterEqual(st.created_at, t0)
        with open(path) as f:
            raw = f.read()
        entries = parse_log(path)  # every line: <RFC3339Nano> <stream> <F|P> <text>
        self.assertEqual([(s, tag, text) for _, s, tag, text in entries if s == "stdout"],
                         [("stdout", "F", "hello"), ("stdout", "F", "two words")], raw)
        self.assertEqual([(s, tag, text) for _, s, tag, text in entries if s == "stderr"],
                         [("stderr", "F", "oops")], raw)
        self.assertRegex(raw, r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$")
        for ts, _, _, _ in entries:
            ns = rfc3339_ns(ts)
            self.assertTrue(st.created_at - 10**9 <= ns <= t1 + 10**9, "log time %s outside the run" % ts)
        self.assertEqual(out, "hello\ntwo words\n")
        self.assertIn(st.log_path, (path, os.path.relpath(path, self.pod_cfg.log_directory)))

    def test_partial_last_line(self):
        # Output without a final newline still reaches the log at exit.
        st, _, path, _ = self.run_to_exit(command=sh("printf 'no newline'"))
        self.assertEqual(st.exit_code, 0)
        entries = parse_log(path)
        self.assertEqual([(s, text) for _, s, _, text in entries], [("stdout", "no newline")])

    def test_exit_code_and_reason_error(self):
        st, out, _, _ = self.run_to_exit(command=sh("echo failing; exit 3"))
        self.assertEqual((st.state, st.exit_code, st.reason), (EXITED, 3, "Error"), st)
        self.assertEqual(out, "failing\n")
        st, _, _, _ = self.run_to_exit(command=["false"])
        self.assertEqual((st.exit_code, st.reason), (1, "Error"), st)

    def test_stop_kills_a_pid1_that_ignores_sigterm_at_the_timeout(self):
        # busybox sleep as PID 1 of its own PID namespace has no SIGTERM
        # handler: the kernel drops the signal, SIGKILL comes at the timeout.
        env = self.env
        cid, _ = self.run_ctr(command=["sleep", "3600"])
        pid = env.pid(cid)
        t0 = time.monotonic()
        env.stop_ctr(cid, timeout=2)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 1.8, "stopped before the timeout: SIGKILL sent early?")
        self.assertLess(took, 8)
        st = env.status(cid).status
        self.assertEqual((st.state, st.exit_code, st.reason), (EXITED, 137, "Error"), st)
        self.assertFalse(alive(pid))

    def test_stop_with_a_sigterm_handler_is_quick(self):
        env = self.env
        cid, cfg = self.run_ctr(command=sh('trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'))
        wait_log(os.path.join(self.pod_cfg.log_directory, cfg.log_path), r"ready")
        pid = env.pid(cid)
        t0 = time.monotonic()
        env.stop_ctr(cid, timeout=30)
        self.assertLess(time.monotonic() - t0, 5)
        st = env.status(cid).status
        self.assertEqual((st.state, st.exit_code, st.reason), (EXITED, 0, "Completed"), st)
        self.assertFalse(alive(pid))
        # Stopping a stopped container succeeds and changes nothing.
        env.stop_ctr(cid, timeout=30)
        st2 = env.status(cid).status
        self.assertEqual((st2.state, st2.exit_code, st2.finished_at), (EXITED, 0, st.finished_at))

    def test_stop_timeout_zero_kills_at_once(self):
        env = self.env
        cid, _ = self.run_ctr(command=["sleep", "3600"])
        t0 = time.monotonic()
        env.stop_ctr(cid, timeout=0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(env.status(cid).status.exit_code, 137)

    def test_stop_signal_from_the_image(self):
        # The image's STOPSIGNAL (SIGUSR1) is sent, not SIGTERM: PID 1 has a
        # handler for USR1 only, so SIGTERM would leave it to the SIGKILL.
        env = self.env
        name = "example.com/crio-it/stopsignal:1"
        env.import_image(derived_layout("stopsignal", {"StopSignal": "SIGUSR1"}), name)
        cid, cfg = self.run_ctr(image=name, command=sh('trap "exit 0" USR1; echo ready; while :; do sleep 0.1; done'))
        wait_log(os.path.join(self.pod_cfg.log_directory, cfg.log_path), r"ready")
        t0 = time.monotonic()
        env.stop_ctr(cid, timeout=20)
        self.assertLess(time.monotonic() - t0, 5)
        st = env.status(cid).status
        self.assertEqual((st.exit_code, st.reason), (0, "Completed"), st)

    def test_long_lines_become_partial_entries(self):
        # A line longer than a log entry is split into P entries ended by an F one.
        st, out, path, _ = self.run_to_exit(command=sh("head -c 100000 /dev/zero | tr '\\0' a; echo; echo short"))
        self.assertEqual(st.exit_code, 0)
        self.assertEqual(out, "a" * 100000 + "\nshort\n")
        tags = [tag for _, s, tag, _ in parse_log(path) if s == "stdout"]
        self.assertGreater(len(tags), 2)
        self.assertEqual(tags[-2:], ["F", "F"])
        self.assertIn("P", tags)

    def test_oom_killed(self):
        st, out, _, cid = self.run_to_exit(
            timeout=60, memory_limit=16 * MiB,
            command=sh("echo start; a=aaaaaaaaaaaaaaaa; while :; do a=$a$a; done"))
        self.assertEqual((st.state, st.reason, st.exit_code), (EXITED, "OOMKilled", 137), st)
        self.assertEqual(out, "start\n")

    # -- exec

    def test_exec_sync(self):
        env = self.env
        cid, _ = self.run_ctr(command=sh(LOOP), env=[("FOO", "bar")])
        r = env.exec(cid, sh("echo out; echo err >&2; exit 5"))
        self.assertEqual((r.stdout, r.stderr, r.exit_code), (b"out\n", b"err\n", 5))
        r = env.exec(cid, ["id", "-u"])
        self.assertEqual((r.stdout, r.stderr, r.exit_code), (b"0\n", b"", 0))
        # The container's environment, and a large output in full.
        self.assertEqual(env.exec_ok(cid, sh("echo $FOO")), "bar\n")
        r = env.exec(cid, sh("head -c 1000000 /dev/zero | tr '\\0' x"))
        self.assertEqual((len(r.stdout), set(r.stdout), r.exit_code), (1000000, {ord("x")}, 0))

    def test_exec_sync_timeout(self):
        env = self.env
        cid, _ = self.run_ctr(command=sh(LOOP))
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as cm:
            env.exec(cid, ["sleep", "37"], timeout=1, call_timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED, cm.exception.details())
        self.assertLess(took, 10)
        self.assertGreaterEqual(took, 0.9)
        # The command was killed.
        wait_for(lambda: "sleep 37" not in ps_commands(env.exec_ok(cid, ["ps"])), 10,
                 "the timed-out exec to be killed")
        # The container goes on.
        self.assertEqual(env.status(cid).status.state, RUNNING)

    # -- environment, user, working directory

    def test_env_user_and_workdir_from_the_image(self):
        st, out, _, _ = self.run_to_exit(image=APP_IMAGE, env=[("SHARED", "cri"), ("CRI_VAR", "x y")],
                                         command=sh("id -u; id -g; id -un; pwd; echo ---; env"))
        self.assertEqual(st.exit_code, 0, out)
        head, envtext = out.split("---\n")
        self.assertEqual(head, "1000\n1000\napp\n%s\n" % APP_WORKDIR)
        envs = dict(ln.split("=", 1) for ln in envtext.splitlines() if "=" in ln)
        self.assertEqual(envs.get("IMG_VAR"), "from-image")
        self.assertEqual(envs.get("SHARED"), "cri")      # the CRI's value wins
        self.assertEqual(envs.get("CRI_VAR"), "x y")
        self.assertEqual(envs.get("PATH"), fx.PATH_ENV.split("=", 1)[1])

    def test_user_and_workdir_from_the_cri(self):
        st, out, _, _ = self.run_to_exit(run_as_user=1000, working_dir="/tmp", command=sh("id -u; pwd"))
        self.assertEqual(out, "1000\n/tmp\n")
        st, out, _, _ = self.run_to_exit(run_as_username="app", command=sh("id -u; id -un"))
        self.assertEqual(out, "1000\napp\n")
        # run_as_user overrides the image's user.
        st, out, _, _ = self.run_to_exit(image=APP_IMAGE, run_as_user=0, command=sh("id -u"))
        self.assertEqual(out, "0\n")
        # A working directory that does not exist is created.
        st, out, _, _ = self.run_to_exit(working_dir="/made/for/me", command=["pwd"])
        self.assertEqual((st.exit_code, out), (0, "/made/for/me\n"))

    # -- filesystems

    def test_mounts(self):
        env = self.env
        rw = env.host_dir(unique("rw"))
        ro = env.host_dir(unique("ro"))
        with open(os.path.join(rw, "in.txt"), "w") as f:
            f.write("from host\n")
        with open(os.path.join(ro, "file"), "w") as f:
            f.write("ro\n")
        st, out, _, cid = self.run_to_exit(
            mounts=[(rw, "/data", False), (ro, "/ro", True)],
            command=sh("cat /data/in.txt; echo written > /data/out.txt; cat /ro/file; "
                       "if touch /ro/x 2>/dev/null; then echo RO-WRITABLE; else echo RO-REFUSED; fi"))
        self.assertEqual(out, "from host\nro\nRO-REFUSED\n")
        with open(os.path.join(rw, "out.txt")) as f:
            self.assertEqual(f.read(), "written\n")
        self.assertFalse(os.path.exists(os.path.join(ro, "x")))
        self.assertEqual(sorted((m.container_path, m.host_path, m.readonly) for m in st.mounts),
                         [("/data", rw, False), ("/ro", ro, True)])

    def test_image_with_more_layers_than_one_page_of_mount_options(self):
        # 1 + 90 layers: ~9 KiB of lowerdir paths, more than mount(2) takes in one page.
        deep = "example.com/crio-it/deep:90"
        self.env.import_image(deep_layout(90), deep)
        st, out, _, _ = self.run_to_exit(image=deep, command=sh("ls /deep | wc -l; cat /deep/top /deep/0 /deep/89"))
        self.assertEqual(out.split(), ["91", "89", "0", "89"])

    def test_readonly_rootfs(self):
        script = "if touch /newfile 2>/dev/null; then echo WRITABLE; else echo READONLY; fi"
        st, out, _, _ = self.run_to_exit(readonly_rootfs=True, command=sh(script))
        self.assertEqual(out, "READONLY\n")
        st, out, _, _ = self.run_to_exit(command=sh(script))
        self.assertEqual(out, "WRITABLE\n")

    # -- namespaces

    def test_containers_of_a_pod_share_network_ipc_and_uts(self):
        env = self.env
        a, _ = self.run_ctr(command=sh(LOOP))
        b, _ = self.run_ctr(command=sh(LOOP))
        pa, pb, me = env.pid(a), env.pid(b), os.getpid()
        for kind in ("net", "ipc", "uts"):
            self.assertEqual(ns_inode(pa, kind), ns_inode(pb, kind), kind)
            self.assertNotEqual(ns_inode(pa, kind), ns_inode(me, kind), kind)
        # The pod's PID mode is CONTAINER: each has its own.
        self.assertNotEqual(ns_inode(pa, "pid"), ns_inode(pb, "pid"))
        self.assertNotEqual(ns_inode(pa, "pid"), ns_inode(me, "pid"))
        # Seen from inside too.
        la = env.exec_ok(a, ["readlink", "/proc/self/ns/net"]).strip()
        lb = env.exec_ok(b, ["readlink", "/proc/self/ns/net"]).strip()
        self.assertEqual(la, lb)
        self.assertEqual(la, "net:[%d]" % ns_inode(pa, "net"))
        # Own PID namespace: the container's command is PID 1.
        self.assertEqual(env.exec_ok(a, ["cat", "/proc/1/cmdline"]).split("\0")[:2], ["/bin/sh", "-c"])

    def test_pid_namespace_shared_with_the_pause_process(self):
        env = self.env
        pid, cfg = self.pod(pid=NS_POD)
        self.assertEqual(env.pod_status(pid).status.linux.namespaces.options.pid, NS_POD)
        a, _ = env.run(pid, cfg, command=sh(LOOP))
        b, _ = env.run(pid, cfg, command=["sleep", "3601"])
        pa, pb = env.pid(a), env.pid(b)
        self.assertEqual(ns_inode(pa, "pid"), ns_inode(pb, "pid"))
        self.assertNotEqual(ns_inode(pa, "pid"), ns_inode(os.getpid(), "pid"))
        # PID 1 of the namespace, found on the host: neither container's process.
        pidns = ns_inode(pa, "pid")
        init = [p for p in all_pids() if _pidns(p) == pidns and (proc_status_field(p, "NSpid") or [""])[-1] == "1"]
        self.assertEqual(len(init), 1, init)
        pause = init[0]
        self.assertNotIn(pause, (pa, pb))
        self.assertIn("pause", os.path.basename(cmdline(pause)[0]))
        inside = env.exec_ok(a, ["cat", "/proc/1/cmdline"]).split("\0")
        self.assertEqual([x for x in inside if x], cmdline(pause))
        # a sees b's process.
        self.assertIn("sleep 3601", ps_commands(env.exec_ok(a, ["ps"])))
        # b's sleep is not PID 1: SIGTERM ends it at once (128 + 15).
        t0 = time.monotonic()
        env.stop_ctr(b, timeout=20)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(env.status(b).status.exit_code, 143)
        env.remove_pod(pid)
        assert_no_leftovers(env, [pid, a, b], pids=[pa, pb, pause])

    # -- status and listing

    def test_container_status_fields(self):
        env = self.env
        host = env.host_dir(unique("m"))
        cmd = sh(LOOP)
        cfg = container_config(command=cmd, labels={"l1": "v1", "l2": "v2"}, annotations={"a1": "x y"},
                               mounts=[(host, "/m", True)], pod=self.pod_cfg, attempt=2)
        t0 = time.time_ns()
        cid = env.create(self.pod_id, cfg, self.pod_cfg)
        t1 = time.time_ns()
        self.assertRegex(cid, r"^[0-9a-f]{64}$")
        st = env.status(cid).status
        self.assertEqual(st.id, cid)
        self.assertEqual(st.metadata, cfg.metadata)
        self.assertEqual(st.state, CREATED)
        self.assertTrue(t0 <= st.created_at <= t1, st)
        self.assertEqual((st.started_at, st.finished_at, st.reason), (0, 0, ""))
        self.assertEqual(st.image.image, IMAGE)
        image_id = env.image_ids[IMAGE]
        self.assertEqual(st.image_id, image_id)
        self.assertTrue(st.image_ref == image_id or "@sha256:" in st.image_ref, st.image_ref)
        self.assertEqual(dict(st.labels), {"l1": "v1", "l2": "v2"})
        self.assertEqual(dict(st.annotations), {"a1": "x y"})
        self.assertEqual([(m.container_path, m.host_path, m.readonly) for m in st.mounts], [("/m", host, True)])
        full = os.path.join(self.pod_cfg.log_directory, cfg.log_path)
        self.assertIn(st.log_path, (full, cfg.log_path))
        # ListContainers agrees.
        [c] = env.list_ctrs(id=cid)
        self.assertEqual((c.id, c.pod_sandbox_id, c.metadata, c.image.image, c.image_ref, c.state, c.created_at,
                          dict(c.labels), dict(c.annotations), c.image_id),
                         (cid, self.pod_id, cfg.metadata, IMAGE, st.image_ref, CREATED, st.created_at,
                          dict(st.labels), dict(st.annotations), image_id))

        t2 = time.time_ns()
        env.start_ctr(cid)
        st = env.status(cid).status
        self.assertEqual(st.state, RUNNING)
        self.assertTrue(t2 <= st.started_at <= time.time_ns(), st)
        self.assertEqual(st.finished_at, 0)
        info = env.info(cid)
        spec = info.get("runtimeSpec")
        self.assertIsInstance(spec, dict, info)
        self.assertEqual(spec["process"]["args"], cmd)
        pid = int(info.get("pid", 0))
        self.assertTrue(alive(pid), info)
        self.assertEqual(cmdline(pid), cmd)

        env.stop_ctr(cid, timeout=10)
        st = env.status(cid).status
        self.assertEqual((st.state, st.reason, st.exit_code), (EXITED, "Completed", 0))
        self.assertTrue(st.created_at <= st.started_at <= st.finished_at <= time.time_ns(), st)

    def test_list_filters(self):
        env = self.env
        suite = unique("s")
        p2, p2cfg = self.pod()
        c1, _ = self.run_ctr(command=sh(LOOP), labels={"suite": suite, "k": "1"})
        c2 = env.create(self.pod_id, container_config(command=sh(LOOP), labels={"suite": suite, "k": "2"},
                                                      pod=self.pod_cfg), self.pod_cfg)
        c3, _ = env.run(p2, p2cfg, command=["true"], labels={"suite": suite, "k": "1"})
        env.wait_state(c3, EXITED)

        def ids(**f):
            return sorted(c.id for c in env.list_ctrs(**f))
        self.assertEqual(ids(labels={"suite": suite}), sorted([c1, c2, c3]))
        self.assertEqual(ids(id=c1), [c1])
        self.assertEqual(ids(id=c2[:12]), [c2])
        self.assertEqual(ids(id="f" * 64), [])
        self.assertEqual(ids(labels={"suite": suite}, state=RUNNING), [c1])
        self.assertEqual(ids(labels={"suite": suite}, state=CREATED), [c2])
        self.assertEqual(ids(labels={"suite": suite}, state=EXITED), [c3])
        for c in env.list_ctrs(state=RUNNING):
            self.assertEqual(c.state, RUNNING)
        self.assertEqual(ids(pod=self.pod_id), sorted([c1, c2]))
        self.assertEqual(ids(pod=p2), [c3])
        self.assertEqual(ids(labels={"suite": suite, "k": "1"}), sorted([c1, c3]))
        self.assertEqual(ids(labels={"suite": suite, "k": "1"}, pod=self.pod_id), [c1])
        self.assertEqual(ids(pod=self.pod_id, state=EXITED), [])
        self.assertEqual(ids(labels={"suite": suite, "k": "3"}), [])

    # -- update, logs, stats, events

    def test_update_container_resources(self):
        env = self.env
        cid, _ = self.run_ctr(command=sh(LOOP), memory_limit=64 * MiB)
        limit = ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        self.assertEqual(env.exec_ok(cid, limit).strip(), str(64 * MiB))
        call(env.ch, "UpdateContainerResources", api.UpdateContainerResourcesRequest(
            container_id=cid, linux=api.LinuxContainerResources(memory_limit_in_bytes=96 * MiB)), timeout=30)
        self.assertEqual(env.exec_ok(cid, limit).strip(), str(96 * MiB))
        # The host's cgroup of the container agrees.
        mem = [d for d in cgroup_dirs_matching([cid]) if d.startswith("/sys/fs/cgroup/memory/")]
        self.assertEqual(len(mem), 1, cgroup_dirs_matching([cid]))
        with open(os.path.join(mem[0], "memory.limit_in_bytes")) as f:
            self.assertEqual(f.read().strip(), str(96 * MiB))
        # ContainerStatus reports the resources that apply now (the kubelet's in-place resize reads them).
        st = call(env.ch, "ContainerStatus", api.ContainerStatusRequest(container_id=cid)).status
        self.assertEqual(st.resources.linux.memory_limit_in_bytes, 96 * MiB)
        # Not for a container that is not running; not for an unknown one.
        env.stop_ctr(cid, timeout=10)
        req = api.UpdateContainerResourcesRequest(container_id=cid,
                                                  linux=api.LinuxContainerResources(memory_limit_in_bytes=32 * MiB))
        self.assertRpcError(lambda: call(env.ch, "UpdateContainerResources", req), grpc.StatusCode.FAILED_PRECONDITION)
        req.container_id = "f" * 64
        self.assertRpcError(lambda: call(env.ch, "UpdateContainerResources", req), grpc.StatusCode.NOT_FOUND)

    def test_reopen_container_log(self):
        env = self.env
        cid, cfg = self.run_ctr(command=sh(
            'trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo line$i; sleep 0.05 & wait $!; done'))
        path = os.path.join(self.pod_cfg.log_directory, cfg.log_path)
        wait_log(path, r"line3\n")
        rotated = path + ".1"
        os.rename(path, rotated)
        call(env.ch, "ReopenContainerLog", api.ReopenContainerLogRequest(container_id=cid), timeout=30)

        def numbers(p):
            return [int(m) for m in re.findall(r"(?m)^line(\d+)$", log_text(p))]
        wait_for(lambda: len(numbers(path)) >= 3, 10, "lines in the reopened log")
        old_max = max(numbers(rotated))
        wait_for(lambda: max(numbers(path)) >= old_max + 5, 10, "more lines in the reopened log")
        new = numbers(path)
        self.assertEqual(max(numbers(rotated)), old_max, "the rotated file still grows")
        self.assertGreater(min(new), old_max)
        # Nothing lost, nothing twice.
        every = numbers(rotated) + new
        self.assertEqual(every, list(range(1, len(every) + 1)))
        env.stop_ctr(cid, timeout=10)
        self.assertRpcError(lambda: call(env.ch, "ReopenContainerLog",
                                         api.ReopenContainerLogRequest(container_id=cid)),
                            grpc.StatusCode.FAILED_PRECONDITION)

    def test_stats(self):
        env = self.env
        suite = unique("s")
        pod, pcfg = self.pod(labels={"suite": suite})
        cid, cfg = env.run(pod, pcfg, labels={"suite": suite}, command=sh(
            'trap "exit 0" TERM; head -c 2000000 /dev/zero > /big; i=0; '
            'while [ $i -lt 20000 ]; do i=$((i+1)); done; echo ready; while :; do sleep 1 & wait $!; done'))
        wait_log(os.path.join(pcfg.log_directory, cfg.log_path), r"ready")

        s = call(env.ch, "ContainerStats", api.ContainerStatsRequest(container_id=cid)).stats
        self.assertEqual(s.attributes.id, cid)
        self.assertEqual(s.attributes.metadata, cfg.metadata)
        self.assertEqual(dict(s.attributes.labels), {"suite": suite})
        self.assertGreater(s.cpu.timestamp, 0)
        self.assertGreater(s.cpu.usage_core_nano_seconds.value, 0)
        self.assertGreater(s.memory.working_set_bytes.value, 0)
        self.assertGreaterEqual(s.writable_layer.used_bytes.value, 2000000)
        self.assertGreater(s.writable_layer.inodes_used.value, 0)
        self.assertTrue(s.writable_layer.fs_id.mountpoint.startswith("/"), s.writable_layer)

        def listed(**f):
            req = api.ListContainerStatsRequest()
            req.filter.id = f.get("id", "")
            req.filter.pod_sandbox_id = f.get("pod", "")
            for k, v in f.get("labels", {}).items():
                req.filter.label_selector[k] = v
            return sorted(x.attributes.id for x in call(env.ch, "ListContainerStats", req).stats)
        self.assertEqual(listed(id=cid), [cid])
        self.assertEqual(listed(pod=pod), [cid])
        self.assertEqual(listed(labels={"suite": suite}), [cid])
        self.assertIn(cid, listed())

        ps = call(env.ch, "PodSandboxStats", api.PodSandboxStatsRequest(pod_sandbox_id=pod)).stats
        self.assertEqual(ps.attributes.id, pod)
        self.assertEqual(ps.attributes.metadata, pcfg.metadata)
        self.assertEqual(dict(ps.attributes.labels), {"suite": suite})
        self.assertGreater(ps.linux.cpu.usage_core_nano_seconds.value, 0)
        self.assertGreater(ps.linux.memory.working_set_bytes.value, 0)
        self.assertIn(cid, [c.attributes.id for c in ps.linux.containers])

        def pods_listed(**f):
            req = api.ListPodSandboxStatsRequest()
            req.filter.id = f.get("id", "")
            for k, v in f.get("labels", {}).items():
                req.filter.label_selector[k] = v
            return sorted(x.attributes.id for x in call(env.ch, "ListPodSandboxStats", req).stats)
        self.assertEqual(pods_listed(id=pod), [pod])
        self.assertEqual(pods_listed(labels={"suite": suite}), [pod])

        self.assertRpcError(lambda: call(env.ch, "ContainerStats", api.ContainerStatsRequest(container_id="f" * 64)),
                            grpc.StatusCode.NOT_FOUND)
        self.assertRpcError(lambda: call(env.ch, "PodSandboxStats",
                                         api.PodSandboxStatsRequest(pod_sandbox_id="f" * 64)),
                            grpc.StatusCode.NOT_FOUND)

    def test_container_events(self):
        env = self.env
        stream = EventStream(env.ch)
        self.addCleanup(stream.close)
        pod, pcfg = self.pod_id, self.pod_cfg

        def next_for(cid, timeout=15):
            deadline = time.monotonic() + timeout
            while True:
                ev = stream.next(deadline)
                if ev is None:
                    raise AssertionError("no event for %s within %ss (stream error: %s)"
                                         % (cid, timeout, stream.error))
                if ev.container_id == cid:
                    return ev

        # The stream is subscribed once the event of a probe comes through.
        deadline = time.monotonic() + 30
        while True:
            probe = env.create(pod, container_config(command=["true"], pod=pcfg), pcfg)
            try:
                next_for(probe, timeout=1)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
            finally:
                env.remove_ctr(probe)

        T = api.ContainerEventType
        want_state = {T.Value("CONTAINER_CREATED_EVENT"): CREATED, T.Value("CONTAINER_STARTED_EVENT"): RUNNING,
                      T.Value("CONTAINER_STOPPED_EVENT"): EXITED}

        def check(ev, cid, etype, t_before):
            self.assertEqual(T.Name(ev.container_event_type), etype, ev)
            self.assertTrue(t_before <= ev.created_at <= time.time_ns(), ev)
            self.assertEqual(ev.pod_sandbox_status.id, pod)
            self.assertEqual(ev.pod_sandbox_status.metadata, pcfg.metadata)
            mine = [s for s in ev.containers_statuses if s.id == cid]
            if ev.container_event_type in want_state:
                self.assertEqual([s.state for s in mine], [want_state[ev.container_event_type]], ev)
            else:
                self.assertEqual(mine, [], ev)

        cfg = container_config(command=sh(LOOP), pod=pcfg)
        t = time.time_ns()
        cid = env.create(pod, cfg, pcfg)
        check(next_for(cid), cid, "CONTAINER_CREATED_EVENT", t)
        t = time.time_ns()
        env.start_ctr(cid)
        check(next_for(cid), cid, "CONTAINER_STARTED_EVENT", t)
        t = time.time_ns()
        env.stop_ctr(cid, timeout=10)
        check(next_for(cid), cid, "CONTAINER_STOPPED_EVENT", t)
        t = time.time_ns()
        env.remove_ctr(cid)
        check(next_for(cid), cid, "CONTAINER_DELETED_EVENT", t)

        # A container that exits by itself is reported STOPPED too.
        c2, _ = self.run_ctr(command=sh("exit 4"))
        types = [T.Name(next_for(c2).container_event_type) for _ in range(3)]
        self.assertEqual(types, ["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT"])
        self.assertIsNone(stream.error)

    # -- images in use, removal

    def test_remove_image_in_use(self):
        env = self.env
        name = "example.com/crio-it/inuse:1"
        env.import_image(derived_layout("inuse", {"Env": [fx.PATH_ENV, "INUSE=1"]}), name)
        image_id = env.image_ids[name]
        cid = env.create(self.pod_id, container_config(image=name, command=sh(LOOP), pod=self.pod_cfg),
                         self.pod_cfg)
        rm = api.RemoveImageRequest(image=api.ImageSpec(image=name))
        err = self.assertRpcError(lambda: call(env.ch, IMAGE_SERVICE + "RemoveImage", rm),
                                  grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn(cid, err.details())
        st = call(env.ch, IMAGE_SERVICE + "ImageStatus", api.ImageStatusRequest(image=api.ImageSpec(image=name)))
        self.assertEqual(st.image.id, image_id)
        env.remove_ctr(cid)
        call(env.ch, IMAGE_SERVICE + "RemoveImage", rm)
        st = call(env.ch, IMAGE_SERVICE + "ImageStatus", api.ImageStatusRequest(image=api.ImageSpec(image=name)))
        self.assertFalse(st.HasField("image"), st)

    def test_remove_running_container(self):
        env = self.env
        cid, _ = self.run_ctr(command=["sleep", "3600"])   # ignores SIGTERM: must be killed
        pid = env.pid(cid)
        t0 = time.monotonic()
        env.remove_ctr(cid)
        self.assertLess(time.monotonic() - t0, 8)
        self.assertRpcError(lambda: env.status(cid), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(env.list_ctrs(id=cid), [])
        env.remove_ctr(cid)  # idempotent
        env.remove_ctr("f" * 64)
        assert_no_leftovers(env, [cid], pids=[pid])
        # The pod goes on.
        self.assertEqual(env.pod_status(self.pod_id).status.state, api.SANDBOX_READY)


def _pidns(pid):
    try:
        return ns_inode(pid, "pid")
    except OSError:
        return None


class ContainerErrorsTest(PodTestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = cls.class_env()

    def setUp(self):
        super().setUp()
        self.pod_id, self.pod_cfg = self.pod()

    def cfg(self, **kw):
        kw.setdefault("command", sh(LOOP))
        return container_config(pod=self.pod_cfg, **kw)

    def test_missing_image(self):
        env = self.env
        snap = env.snapshot()
        cfg = self.cfg(image="example.com/crio-it/no-such-image:1")
        self.assertRpcError(lambda: env.create(self.pod_id, cfg, self.pod_cfg), grpc.StatusCode.NOT_FOUND,
                            re.escape("example.com/crio-it/no-such-image"))
        self.assertEqual(env.list_ctrs(pod=self.pod_id), [])
        snap.assert_nothing_new()
        # The name was not kept.
        cfg.image.image = IMAGE
        cid = env.create(self.pod_id, cfg, self.pod_cfg)
        self.assertEqual(env.status(cid).status.state, CREATED)

    def test_unknown_pod(self):
        env = self.env
        self.assertRpcError(lambda: env.create("f" * 64, self.cfg(), self.pod_cfg), grpc.StatusCode.NOT_FOUND)

    def test_duplicate_container_name(self):
        env = self.env
        cfg = self.cfg(name=unique("dup"))
        first = env.create(self.pod_id, cfg, self.pod_cfg)
        err = self.assertRpcError(lambda: env.create(self.pod_id, cfg, self.pod_cfg),
                                  grpc.StatusCode.ALREADY_EXISTS, "reserved")
        self.assertIn(first, err.details())
        self.assertEqual([c.id for c in env.list_ctrs(pod=self.pod_id)], [first])
        # Another attempt is another name; a removed container frees its name.
        cfg2 = api.ContainerConfig()
        cfg2.CopyFrom(cfg)
        cfg2.metadata.attempt = 1
        second = env.create(self.pod_id, cfg2, self.pod_cfg)
        env.remove_ctr(first)
        third = env.create(self.pod_id, cfg, self.pod_cfg)
        self.assertEqual(sorted(c.id for c in env.list_ctrs(pod=self.pod_id)), sorted([second, third]))

    def test_mount_of_a_missing_host_path(self):
        env = self.env
        missing = os.path.join(env.tmp, "no", "such", "dir")
        snap = env.snapshot()
        cfg = self.cfg(mounts=[(missing, "/data", False)])
        self.assertRpcError(lambda: env.create(self.pod_id, cfg, self.pod_cfg), grpc.StatusCode.INVALID_ARGUMENT,
                            re.escape(missing))
        self.assertEqual(env.list_ctrs(pod=self.pod_id), [])
        snap.assert_nothing_new()

    def test_start_twice(self):
        env = self.env
        cid, _ = env.run(self.pod_id, self.pod_cfg, command=sh(LOOP))
        self.assertRpcError(lambda: env.start_ctr(cid), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(env.status(cid).status.state, RUNNING)

    def test_exec_in_an_exited_container(self):
        env = self.env
        cid, _ = env.run(self.pod_id, self.pod_cfg, command=["true"])
        env.wait_state(cid, EXITED)
        self.assertRpcError(lambda: env.exec(cid, ["true"]), grpc.StatusCode.FAILED_PRECONDITION)

    def test_unknown_container(self):
        env = self.env
        missing = "f" * 64
        self.assertRpcError(lambda: env.status(missing), grpc.StatusCode.NOT_FOUND)
        self.assertRpcError(lambda: env.start_ctr(missing), grpc.StatusCode.NOT_FOUND)
        self.assertRpcError(lambda: env.stop_ctr(missing), grpc.StatusCode.NOT_FOUND)
        self.assertRpcError(lambda: env.exec(missing, ["true"]), grpc.StatusCode.NOT_FOUND)
        env.remove_ctr(missing)


class LongPathsTest(PodTestCase):
    def test_long_runroot(self):
        # RUNROOT/containers/<id>/attach is longer than a unix socket path
        # may be (108 bytes): the runtime must still create containers.
        env = self.new_env(runroot_name="a-runroot-whose-name-is-long-enough-to-overflow-sun-path")
        self.assertGreater(len(os.path.join(env.runroot, "containers", "f" * 64, "attach")), 108)
        pod, pcfg = self.pod(env)
        st, out, _, cid = env.run_to_exit(pod, pcfg, command=["echo", "long paths"])
        self.assertEqual((st.exit_code, out), (0, "long paths\n"))
        self.assertEqual(env.exec_ok(env.run(pod, pcfg, command=sh(LOOP))[0], ["echo", "exec"]), "exec\n")
        env.remove_pod(pod)
        assert_no_leftovers(env, [pod, cid])


BROKEN_RUNTIME = """#!/bin/sh
echo "broken runtime: cannot $*" >&2
exit 1
"""

WRAPPED_RUNTIME = """#!/bin/sh
printf '%%s\\n' "$*" >> "%(log)s"
exec "%(runc)s" "$@"
"""

# runc, but `create` announces itself and waits (60 s at most) for a gate file.
GATED_RUNTIME = """#!/bin/sh
case " $* " in
*" create "*)
    : > "%(started)s"
    i=0
    while [ ! -e "%(gate)s" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done ;;
esac
exec "%(runc)s" "$@"
"""


class RuntimeHandlersTest(PodTestCase):
    """[crio.runtime.runtimes.broken] is a script that fails; .wrapped logs
    its arguments and runs runc."""

    @classmethod
    def setUpClass(cls):
        cls.bin = make_tmp("crio-it-runtimes-")
        cls.addClassCleanup(remove_tmp, cls.bin)
        cls.argv_log = os.path.join(cls.bin, "wrapped.argv")
        cls.gate = os.path.join(cls.bin, "gate")
        cls.create_started = os.path.join(cls.bin, "create-started")
        scripts = {"broken": BROKEN_RUNTIME, "wrapped": WRAPPED_RUNTIME % {"log": cls.argv_log, "runc": RUNC},
                   "gated": GATED_RUNTIME % {"started": cls.create_started, "gate": cls.gate, "runc": RUNC}}
        paths = {}
        for name, text in scripts.items():
            p = paths[name] = os.path.join(cls.bin, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)
        cls.env = cls.class_env(runtimes=paths)

    def wrapped_calls(self, cid):
        """The runtime commands the wrapper ran for `cid`: (verb, argv words)."""
        try:
            with open(self.argv_log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        verbs = ("create", "start", "kill", "delete", "state", "exec", "update")
        out = []
        for ln in lines:
            w = ln.split()
            if cid in w:
                out.append(([v for v in w if v in verbs] or ["?"])[0])
        return out

    def test_a_failing_runtime(self):
        env = self.env
        pod, pcfg = self.pod(handler="broken")
        self.assertEqual(env.pod_status(pod).status.runtime_handler, "broken")
        snap = env.snapshot()
        cfg = container_config(command=sh(LOOP), pod=pcfg)
        with self.assertRaises(grpc.RpcError) as cm:
            env.create(pod, cfg, pcfg)
        err = cm.exception
        self.assertIn(err.code(), (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN),
                      err.details())
        self.assertIn("broken runtime", err.details())
        self.assertEqual(env.list_ctrs(pod=pod), [])
        snap.assert_nothing_new()
        # The pod itself can still go cleanly.
        env.remove_pod(pod)
        assert_no_leftovers(env, [pod])

    def test_a_wrapping_runtime(self):
        env = self.env
        pod, pcfg = self.pod(handler="wrapped")
        self.assertEqual(env.pod_status(pod).status.runtime_handler, "wrapped")
        cid, cfg = env.run(pod, pcfg, command=sh("echo via-wrapper; " + LOOP))
        wait_log(os.path.join(pcfg.log_directory, cfg.log_path), r"via-wrapper")
        self.assertEqual(env.status(cid).status.state, RUNNING)
        calls = self.wrapped_calls(cid)
        self.assertIn("create", calls)
        self.assertIn("start", calls)
        self.assertLess(calls.index("create"), calls.index("start"))
        # runc state under the handler's own runtime_root.
        wroot = os.path.join(env.tmp, "runc-wrapped")
        self.assertTrue(os.path.isdir(os.path.join(wroot, cid)), os.listdir(wroot) if os.path.isdir(wroot) else None)
        self.assertFalse(os.path.exists(os.path.join(env.runc_root, cid)))
        pid = env.pid(cid)
        env.stop_ctr(cid, timeout=10)
        self.assertEqual(env.status(cid).status.exit_code, 0)
        env.remove_ctr(cid)
        calls = self.wrapped_calls(cid)
        self.assertIn("kill", calls)
        self.assertIn("delete", calls)
        assert_no_leftovers(env, [cid], pids=[pid])

    def test_image_of_a_container_being_created_cannot_be_removed(self):
        env = self.env
        name = "example.com/crio-it/creating:1"
        env.import_image(derived_layout("creating", {"Env": [fx.PATH_ENV, "CREATING=1"]}), name)
        pod, pcfg = self.pod(handler="gated")
        cfg = container_config(image=name, command=sh(LOOP), pod=pcfg)
        created = {}

        def create():
            try:
                created["id"] = env.create(pod, cfg, pcfg)
            except grpc.RpcError as e:
                created["error"] = e
        t = threading.Thread(target=create)
        t.start()
        try:
            wait_for(lambda: os.path.exists(self.create_started), 30, "the runtime's create to start")
            rm = api.RemoveImageRequest(image=api.ImageSpec(image=name))
            err = self.assertRpcError(lambda: call(env.ch, IMAGE_SERVICE + "RemoveImage", rm),
                                      grpc.StatusCode.FAILED_PRECONDITION, "being created")
            self.assertIn(cfg.metadata.name, err.details())
        finally:
            open(self.gate, "w").close()
            t.join(60)
        self.assertNotIn("error", created, created.get("error"))
        cid = created["id"]
        env.start_ctr(cid)
        self.assertEqual(env.status(cid).status.state, RUNNING)
        # Still in use once made; free to go with the container.
        self.assertRpcError(lambda: call(env.ch, IMAGE_SERVICE + "RemoveImage", rm),
                            grpc.StatusCode.FAILED_PRECONDITION, cid)
        env.remove_ctr(cid)
        call(env.ch, IMAGE_SERVICE + "RemoveImage", rm)


if __name__ == "__main__":
    unittest.main()
