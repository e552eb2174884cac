"""CRI pod sandboxes against a real crio-server with runc: RunPodSandbox,
PodSandboxStatus, ListPodSandbox (filters), StopPodSandbox, RemovePodSandbox,
name reservation, namespaces (own network namespace with loopback only,
host network), hostname, /etc/hosts, /etc/resolv.conf, /dev/shm, unknown
runtime handlers, and 20 pods run and torn down in parallel without leaks.

What a container sees is read from inside it (ExecSync, or the CRI log of a
container that ran to its exit); namespaces are compared by the inodes of
/proc/PID/ns/* on the host.  No fixed sleeps: every wait polls a condition
until a deadline.
"""

import os
import socket
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import grpc

from helpers import api
from podutil import (EXITED, LOOP, NOTREADY, NS_CONTAINER, NS_NODE, NS_POD, READY, RUNNING, PodTestCase, alive,
                     assert_no_leftovers, cgroup_dirs_matching, container_config, ns_inode, sh, unique, wait_log)


def ifaces_of(proc_net_dev):
    """Interface names from the text of /proc/net/dev."""
    return sorted(ln.split(":", 1)[0].strip() for ln in proc_net_dev.splitlines()[2:] if ":" in ln)


class PodLifecycleTest(PodTestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = cls.class_env()

    # -- run, status, list, stop, remove

    def test_run_status_list_stop_remove(self):
        env = self.env
        labels = {"app": "web", "suite": unique("s")}
        annotations = {"note": "a value with spaces", "io.example/x": "1"}
        t0 = time.time_ns()
        pid, cfg = self.pod(labels=labels, annotations=annotations, hostname="lifecycle")
        t1 = time.time_ns()
        self.assertRegex(pid, r"^[0-9a-f]{64}$")

        s = env.pod_status(pid).status
        self.assertEqual(s.id, pid)
        self.assertEqual(s.metadata, cfg.metadata)
        self.assertEqual(s.state, READY)
        self.assertTrue(t0 <= s.created_at <= t1, "created_at %d not within [%d, %d]" % (s.created_at, t0, t1))
        self.assertEqual(dict(s.labels), labels)
        self.assertEqual(dict(s.annotations), annotations)
        self.assertIn(s.runtime_handler, ("", "runc"))
        opts = s.linux.namespaces.options
        self.assertEqual((opts.network, opts.pid, opts.ipc), (NS_POD, NS_CONTAINER, NS_POD))
        # Verbose: the library's details as one JSON object.
        self.assertIsInstance(env.pod_info(pid), dict)

        items = env.list_pods(id=pid)
        self.assertEqual([i.id for i in items], [pid])
        it = items[0]
        self.assertEqual((it.metadata, it.state, it.created_at, dict(it.labels), dict(it.annotations)),
                         (cfg.metadata, READY, s.created_at, labels, annotations))
        self.assertIn(pid, [i.id for i in env.list_pods()])

        env.stop_pod(pid)
        self.assertEqual(env.pod_status(pid).status.state, NOTREADY)
        # A stopped pod holds no namespace pin and no shm mount any more.
        self.assertEqual([m for m in env.leftovers([pid]) if m.startswith("mount ")], [])
        env.stop_pod(pid)  # idempotent
        s2 = env.pod_status(pid).status
        self.assertEqual((s2.state, s2.created_at, s2.metadata), (NOTREADY, s.created_at, cfg.metadata))

        env.remove_pod(pid)
        self.assertRpcError(lambda: env.pod_status(pid), grpc.StatusCode.NOT_FOUND)
        self.assertNotIn(pid, [i.id for i in env.list_pods()])
        env.remove_pod(pid)  # idempotent
        env.remove_pod("f" * 64)  # absent: fine
        assert_no_leftovers(env, [pid])

    def test_remove_ready_pod_directly(self):
        # RemovePodSandbox of a pod never stopped stops it first.
        env = self.env
        pid, cfg = self.pod()
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        cpid = env.pid(cid)
        env.remove_pod(pid)
        self.assertRpcError(lambda: env.pod_status(pid), grpc.StatusCode.NOT_FOUND)
        self.assertRpcError(lambda: env.status(cid), grpc.StatusCode.NOT_FOUND)
        assert_no_leftovers(env, [pid, cid], pids=[cpid])

    def test_unknown_pod_ids(self):
        env = self.env
        missing = "0123456789abcdef" * 4
        self.assertRpcError(lambda: env.pod_status(missing), grpc.StatusCode.NOT_FOUND)
        # Stop and remove are idempotent down to a pod that is gone (as CRI-O answers).
        env.stop_pod(missing)
        env.remove_pod(missing)
        self.assertEqual(env.list_pods(id=missing), [])

    def test_list_filters(self):
        env = self.env
        suite = unique("s")
        a, _ = self.pod(labels={"suite": suite, "app": "a", "tier": "front"})
        b, _ = self.pod(labels={"suite": suite, "app": "b", "tier": "front"})
        c, _ = self.pod(labels={"suite": suite, "app": "c", "tier": "back"})
        env.stop_pod(c)

        def ids(**f):
            return sorted(i.id for i in env.list_pods(**f))
        self.assertEqual(ids(labels={"suite": suite}), sorted([a, b, c]))
        # id: the full id or a prefix of it.
        self.assertEqual(ids(id=a), [a])
        self.assertEqual(ids(id=b[:12]), [b])
        self.assertEqual(ids(id="f" * 64), [])
        # state
        self.assertEqual([i for i in ids(state=READY) if i in (a, b, c)], sorted([a, b]))
        self.assertEqual([i for i in ids(state=NOTREADY) if i in (a, b, c)], [c])
        for it in env.list_pods(state=NOTREADY):
            self.assertEqual(it.state, NOTREADY)
        # label selector: every pair must match
        self.assertEqual(ids(labels={"suite": suite, "tier": "front"}), sorted([a, b]))
        self.assertEqual(ids(labels={"suite": suite, "tier": "front", "app": "b"}), [b])
        self.assertEqual(ids(labels={"suite": suite, "app": "nope"}), [])
        self.assertEqual(ids(labels={"suite": suite, "missing-key": ""}), [])
        # combined
        self.assertEqual(ids(labels={"suite": suite}, state=READY, id=a[:20]), [a])
        self.assertEqual(ids(labels={"suite": suite}, state=NOTREADY, id=a), [])
        self.assertEqual(ids(labels={"suite": suite, "tier": "back"}, state=NOTREADY), [c])

    def test_duplicate_name_is_reserved(self):
        env = self.env
        cfg = env.pod_config(name=unique("dup"), uid="uid-1", attempt=1)
        first, _ = env.run_pod(cfg)
        self.addCleanup(env.remove_pod_quietly, first)
        before = sorted(i.id for i in env.list_pods())
        err = self.assertRpcError(lambda: env.run_pod(cfg), grpc.StatusCode.ALREADY_EXISTS, "reserved")
        self.assertIn(first, err.details())
        self.assertEqual(sorted(i.id for i in env.list_pods()), before)
        # Another attempt is another name.
        cfg2 = api.PodSandboxConfig()
        cfg2.CopyFrom(cfg)
        cfg2.metadata.attempt = 2
        second, _ = env.run_pod(cfg2)
        self.addCleanup(env.remove_pod_quietly, second)
        self.assertNotEqual(first, second)
        # A stopped pod keeps its name; a removed one frees it.
        env.stop_pod(first)
        self.assertRpcError(lambda: env.run_pod(cfg), grpc.StatusCode.ALREADY_EXISTS, "reserved")
        env.remove_pod(first)
        third, _ = env.run_pod(cfg)
        self.addCleanup(env.remove_pod_quietly, third)
        self.assertEqual(env.pod_status(third).status.state, READY)

    # -- namespaces

    def test_own_network_namespace_with_loopback_only(self):
        env = self.env
        pid, cfg = self.pod()
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        cpid = env.pid(cid)
        host_net = ns_inode(os.getpid(), "net")
        net1 = ns_inode(cpid, "net")
        self.assertNotEqual(net1, host_net)
        self.assertEqual(ifaces_of(env.exec_ok(cid, ["cat", "/proc/net/dev"])), ["lo"])
        link = env.exec_ok(cid, ["/bin/busybox", "ip", "link"])
        self.assertRegex(link, r"(?m)^1: lo: <LOOPBACK,UP")
        self.assertEqual(len([ln for ln in link.splitlines() if ln[:1].isdigit()]), 1, link)
        # Another pod has a network namespace of its own.
        pid2, cfg2 = self.pod()
        cid2, _ = env.run(pid2, cfg2, command=sh(LOOP))
        self.assertNotIn(ns_inode(env.pid(cid2), "net"), (host_net, net1))
        # The namespace is the pod's, not the container's: a container started
        # after the first one exited joins the same one.
        env.stop_ctr(cid, timeout=5)
        self.assertFalse(alive(cpid))
        cid3, _ = env.run(pid, cfg, command=sh(LOOP))
        self.assertEqual(ns_inode(env.pid(cid3), "net"), net1)

    def test_host_network(self):
        env = self.env
        pid, cfg = self.pod(network=NS_NODE)
        self.assertEqual(env.pod_status(pid).status.linux.namespaces.options.network, NS_NODE)
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        cpid = env.pid(cid)
        self.assertEqual(ns_inode(cpid, "net"), ns_inode(os.getpid(), "net"))
        with open("/proc/net/dev") as f:
            host_ifaces = ifaces_of(f.read())
        self.assertEqual(ifaces_of(env.exec_ok(cid, ["cat", "/proc/net/dev"])), host_ifaces)
        # The host's hostname too.
        self.assertEqual(env.exec_ok(cid, ["hostname"]).strip(), socket.gethostname())

    def test_hostname_hosts_and_resolv_conf_from_dns_config(self):
        env = self.env
        pid, cfg = self.pod(hostname="crio-it-dns",
                            dns={"servers": ["10.9.8.7", "10.9.8.6"], "searches": ["svc.example", "example"],
                                 "options": ["ndots:3", "timeout:2"]})
        st, out, _, _ = env.run_to_exit(pid, cfg, command=sh(
            "hostname; echo ---; cat /etc/hostname; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hosts"))
        self.assertEqual(st.exit_code, 0, out)
        hostname, etc_hostname, resolv, hosts = out.split("---\n")
        self.assertEqual(hostname, "crio-it-dns\n")
        self.assertEqual(etc_hostname, "crio-it-dns\n")
        lines = [ln.split() for ln in resolv.splitlines() if ln.strip() and not ln.startswith("#")]
        self.assertEqual([ln for ln in lines if ln[0] == "nameserver"],
                         [["nameserver", "10.9.8.7"], ["nameserver", "10.9.8.6"]], resolv)
        self.assertEqual([ln for ln in lines if ln[0] == "search"], [["search", "svc.example", "example"]], resolv)
        opts = [o for ln in lines if ln[0] == "options" for o in ln[1:]]
        self.assertEqual(sorted(opts), ["ndots:3", "timeout:2"], resolv)
        hl = [ln.split() for ln in hosts.splitlines() if ln.strip() and not ln.startswith("#")]
        self.assertTrue(any(ln[0] == "127.0.0.1" and "localhost" in ln[1:] for ln in hl), hosts)
        self.assertTrue(any("crio-it-dns" in ln[1:] for ln in hl), hosts)

    def test_resolv_conf_without_dns_config_is_the_hosts(self):
        if not os.path.isfile("/etc/resolv.conf"):
            raise unittest.SkipTest("the host has no /etc/resolv.conf")
        with open("/etc/resolv.conf") as f:
            host = f.read()
        env = self.env
        pid, cfg = self.pod(hostname="nodns")
        st, out, _, _ = env.run_to_exit(pid, cfg, command=["cat", "/etc/resolv.conf"])
        self.assertEqual(st.exit_code, 0)
        self.assertEqual(out, host if host.endswith("\n") or not host else host + "\n")

    def test_shm_is_a_tmpfs_shared_by_the_pod(self):
        env = self.env
        pid, cfg = self.pod()
        a, _ = env.run(pid, cfg, command=sh(LOOP))
        b, _ = env.run(pid, cfg, command=sh(LOOP))
        shm = [ln.split() for ln in env.exec_ok(a, ["cat", "/proc/mounts"]).splitlines()
               if ln.split()[1:2] == ["/dev/shm"]]
        self.assertEqual(len(shm), 1, shm)
        self.assertEqual(shm[0][2], "tmpfs")
        self.assertIn("size=65536k", shm[0][3].split(","))   # shm_size 64m by default
        env.exec_ok(a, sh("echo shared > /dev/shm/x"))
        self.assertEqual(env.exec_ok(b, ["cat", "/dev/shm/x"]), "shared\n")
        # Another pod's /dev/shm is its own.
        pid2, cfg2 = self.pod()
        c, _ = env.run(pid2, cfg2, command=sh(LOOP))
        r = env.exec(c, ["cat", "/dev/shm/x"])
        self.assertNotEqual(r.exit_code, 0, r)
        # And the shared IPC namespace: a and b have the same, c another.
        ia, ib, ic = (ns_inode(env.pid(x), "ipc") for x in (a, b, c))
        self.assertEqual(ia, ib)
        self.assertNotEqual(ia, ic)
        self.assertNotEqual(ia, ns_inode(os.getpid(), "ipc"))

    def test_sysctls(self):
        env = self.env
        cfg = env.pod_config()
        cfg.linux.sysctls["net.ipv4.ip_unprivileged_port_start"] = "80"
        cfg.linux.sysctls["kernel.shm_rmid_forced"] = "1"
        pid, _ = self.pod(cfg=cfg)
        st, out, _, _ = env.run_to_exit(pid, cfg, command=sh(
            "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced"))
        self.assertEqual((st.exit_code, out), (0, "80\n1\n"))
        # Only the pod's namespaces changed, not the host's.
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            self.assertNotEqual(f.read().strip(), "80")

    def test_cgroup_parent(self):
        # The kubelet names the pod's cgroup; the containers' go below it.
        env = self.env
        parent = "/" + unique("crio-it-cg")
        self.addCleanup(remove_cgroup_everywhere, parent)
        pid, cfg = self.pod(cgroup_parent=parent)
        cid, _ = env.run(pid, cfg, command=sh(LOOP), memory_limit=48 * 1024 * 1024)
        cg = cgroups_of(env.pid(cid))
        for ctrl in ("memory", "pids", "cpu"):
            self.assertTrue(cg[ctrl].startswith(parent + "/") and cid in cg[ctrl], (ctrl, cg))
        with open(os.path.join("/sys/fs/cgroup/memory", cg["memory"].lstrip("/"), "memory.limit_in_bytes")) as f:
            self.assertEqual(int(f.read()), 48 * 1024 * 1024)
        env.remove_pod(pid)
        self.assertEqual(cgroup_dirs_matching([cid]), [])

    # -- failures

    def test_unknown_runtime_handler(self):
        env = self.env
        snap = env.snapshot()
        cfg = env.pod_config(name=unique("nohandler"))
        self.assertRpcError(lambda: env.run_pod(cfg, handler="no-such-handler"), grpc.StatusCode.INVALID_ARGUMENT,
                            "no-such-handler")
        self.assertNotIn(cfg.metadata.name, [i.metadata.name for i in env.list_pods()])
        snap.assert_nothing_new()
        # The name was not kept reserved.
        pid, _ = env.run_pod(cfg)
        self.addCleanup(env.remove_pod_quietly, pid)
        self.assertEqual(env.pod_status(pid).status.state, READY)

    def test_stop_pod_stops_its_containers_and_remove_removes_them(self):
        # The CRI wants them forcibly stopped: even a PID 1 that ignores
        # SIGTERM does not hold StopPodSandbox.
        env = self.env
        pid, cfg = self.pod()
        c1, _ = env.run(pid, cfg, command=sh(LOOP))
        c2, _ = env.run(pid, cfg, command=["sleep", "3600"])
        c3 = env.create(pid, env_container(cfg), cfg)   # created, never started
        pids = [env.pid(c1), env.pid(c2)]
        t0 = time.monotonic()
        env.stop_pod(pid)
        self.assertLess(time.monotonic() - t0, 5, "StopPodSandbox waited for a container")
        for cid in (c1, c2):
            st = env.status(cid).status
            self.assertEqual(st.state, EXITED, st)
            self.assertGreater(st.finished_at, 0, st)
        for p in pids:
            self.assertFalse(alive(p), "container process %d survived StopPodSandbox" % p)
        self.assertEqual(env.pod_status(pid).status.state, NOTREADY)
        # No new container in a stopped pod.
        self.assertRpcError(lambda: env.create(pid, env_container(cfg), cfg), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(sorted(c.id for c in env.list_ctrs(pod=pid)), sorted([c1, c2, c3]))
        env.remove_pod(pid)
        for cid in (c1, c2, c3):
            self.assertRpcError(lambda: env.status(cid), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(env.list_ctrs(pod=pid), [])
        assert_no_leftovers(env, [pid, c1, c2, c3], pids=pids)

    def test_stop_pod_honours_the_grace_period_annotation(self):
        # With the kubelet's grace period, containers get their stop signal first.
        env = self.env
        pid, cfg = self.pod(annotations={"io.kubernetes.pod.terminationGracePeriod": "30"})
        cid, ccfg = env.run(pid, cfg, command=sh('trap "exit 0" TERM; echo ready; while :; do sleep 1 & wait $!; done'))
        wait_log(os.path.join(cfg.log_directory, ccfg.log_path), "ready")
        t0 = time.monotonic()
        env.stop_pod(pid)
        self.assertLess(time.monotonic() - t0, 5)
        st = env.status(cid).status
        self.assertEqual((st.state, st.exit_code, st.reason), (EXITED, 0, "Completed"), st)


def cgroups_of(pid):
    """{controller: path} from /proc/PID/cgroup (v1 lines; "unified" for the v2 line)."""
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for ln in f:
            _, ctrls, path = ln.rstrip("\n").split(":", 2)
            for c in (ctrls.split(",") if ctrls else ["unified"]):
                out[c] = path
    return out


def remove_cgroup_everywhere(path):
    for hier in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hier, path.lstrip("/"))
        if os.path.isdir(top):
            for d in sorted((x[0] for x in os.walk(top)), key=lambda c: -c.count("/")):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


def env_container(pod_cfg):
    return container_config(command=sh(LOOP), pod=pod_cfg)


class PodConcurrencyTest(PodTestCase):
    N = 20

    def test_20_pods_in_parallel(self):
        env = self.new_env()
        before = env.snapshot()
        barrier = threading.Barrier(self.N, timeout=30)

        def up(i):
            barrier.wait()
            pid, cfg = env.run_pod(name="par-%02d-%s" % (i, unique("p")), labels={"i": str(i)})
            cid, _ = env.run(pid, cfg, name="c%02d" % i, command=sh(LOOP))
            return pid, cid

        with ThreadPoolExecutor(max_workers=self.N) as pool:
            pairs = list(pool.map(up, range(self.N)))
        pods = [p for p, _ in pairs]
        ctrs = [c for _, c in pairs]
        self.assertEqual(len(set(pods)), self.N)
        self.assertEqual(len(set(ctrs)), self.N)
        self.assertEqual(sorted(i.id for i in env.list_pods()), sorted(pods))
        self.assertEqual(sorted(c.id for c in env.list_ctrs()), sorted(ctrs))
        cpids, nets = [], set()
        for pid, cid in pairs:
            self.assertEqual(env.pod_status(pid).status.state, READY)
            st = env.status(cid).status
            self.assertEqual(st.state, RUNNING, st)
            self.assertEqual([c.id for c in env.list_ctrs(pod=pid)], [cid])
            p = env.pid(cid)
            self.assertTrue(alive(p))
            cpids.append(p)
            nets.add(ns_inode(p, "net"))
        self.assertEqual(len(nets), self.N, "pods share network namespaces")

        barrier2 = threading.Barrier(self.N, timeout=30)

        def down(pair):
            pid, cid = pair
            barrier2.wait()
            env.stop_pod(pid)
            env.remove_pod(pid)

        with ThreadPoolExecutor(max_workers=self.N) as pool:
            list(pool.map(down, pairs))
        self.assertEqual(env.list_pods(), [])
        self.assertEqual(env.list_ctrs(), [])
        assert_no_leftovers(env, pods + ctrs, pids=cpids, timeout=10)
        before.assert_nothing_new()

    def test_8_pid_sharing_pods_in_parallel(self):
        # Each has a pause process (forked while the others are being set up).
        env = self.new_env()
        before = env.snapshot()
        n = 8
        barrier = threading.Barrier(n, timeout=30)

        def up(i):
            barrier.wait()
            pid, cfg = env.run_pod(pid=NS_POD)
            cid, _ = env.run(pid, cfg, command=sh(LOOP))
            return pid, cid

        with ThreadPoolExecutor(max_workers=n) as pool:
            pairs = list(pool.map(up, range(n)))
        cpids = []
        for pid, cid in pairs:
            self.assertEqual(env.status(cid).status.state, RUNNING)
            p = env.pid(cid)
            cpids.append(p)
            # PID 1 of the container's namespace is not its own process: the pod's pause.
            self.assertNotEqual(env.exec_ok(cid, ["cat", "/proc/1/cmdline"]).split("\0")[0], "/bin/sh")
        self.assertEqual(len({ns_inode(p, "pid") for p in cpids}), n)
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(lambda pc: env.remove_pod(pc[0]), pairs))
        self.assertEqual(env.list_pods(), [])
        assert_no_leftovers(env, [x for pc in pairs for x in pc], pids=cpids, timeout=10)
        before.assert_nothing_new()

    def test_10_containers_of_one_pod_in_parallel(self):
        env = self.new_env()
        before = env.snapshot()
        pod, cfg = env.run_pod()
        n = 10
        barrier = threading.Barrier(n, timeout=30)

        def up(i):
            barrier.wait()
            return env.run(pod, cfg, name="c%02d" % i, command=sh(LOOP))[0]

        with ThreadPoolExecutor(max_workers=n) as pool:
            ctrs = list(pool.map(up, range(n)))
        self.assertEqual(sorted(c.id for c in env.list_ctrs(pod=pod)), sorted(ctrs))
        cpids = [env.pid(c) for c in ctrs]
        self.assertEqual(len({ns_inode(p, "net") for p in cpids}), 1)
        for c in ctrs:
            self.assertEqual(env.status(c).status.state, RUNNING)
        barrier2 = threading.Barrier(n, timeout=30)

        def down(c):
            barrier2.wait()
            env.stop_ctr(c, timeout=10)
            env.remove_ctr(c)

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(down, ctrs))
        self.assertEqual(env.list_ctrs(), [])
        assert_no_leftovers(env, ctrs, pids=cpids, timeout=10)
        env.remove_pod(pod)
        assert_no_leftovers(env, [pod])
        before.assert_nothing_new()


if __name__ == "__main__":
    unittest.main()
