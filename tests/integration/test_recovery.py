"""crio-server restarts with pods and containers: kill -9 while one container
runs and another exits, a clean SIGTERM restart, pods (and their pinned
namespaces and reserved names) surviving a restart.  Each test has its own
server on its own root/runroot, restarted on the same directories and
configuration.  No fixed sleeps: waits poll a condition until a deadline.
"""

import os
import re
import subprocess
import time
import unittest

import grpc

from helpers import wait_for
from podutil import (CREATED, EXITED, LOOP, NOTREADY, NS_NODE, READY, RUNNING, PodTestCase, alive, assert_no_leftovers,
                     container_config, log_text, ns_inode, sh, wait_log)


# Times compared loosely where a test is about something else: exactness
# across a restart is test_times_are_exact_after_a_restart's.
NS_SLACK = 1000


class RecoveryTest(PodTestCase):
    def test_times_are_exact_after_a_restart(self):
        # The CRI times (ns since the epoch, ~1.8e18) must come back from the
        # state files to the nanosecond: not rounded through a double (whose
        # 53-bit mantissa keeps multiples of 256 ns at this magnitude).
        env = self.new_env()
        pod, pcfg = env.run_pod()
        done, _ = env.run(pod, pcfg, command=["true"])
        env.wait_state(done, EXITED)
        running, _ = env.run(pod, pcfg, command=sh(LOOP))
        created = env.create(pod, container_config(command=sh(LOOP), pod=pcfg), pcfg)

        def times():
            out = {"pod": env.pod_status(pod).status.created_at}
            for name, cid in (("done", done), ("running", running), ("created", created)):
                st = env.status(cid).status
                out[name] = (st.created_at, st.started_at, st.finished_at)
            return out
        before = times()
        env.stop_server()
        env.restart()
        self.assertEqual(times(), before)
        env.kill9()
        env.restart()
        self.assertEqual(times(), before)

    def test_kill9_while_one_container_runs_and_another_exits(self):
        env = self.new_env()
        pod, pcfg = env.run_pod()
        a, _ = env.run(pod, pcfg, command=sh(LOOP))
        pa = env.pid(a)
        b, bcfg = env.run(pod, pcfg, command=sh("echo b-started; sleep 2; echo b-done; exit 7"))
        pb = env.pid(b)
        b_started = env.status(b).status.started_at
        self.assertGreater(b_started, 0)

        env.kill9()          # right after b started: b exits while no server runs
        wait_for(lambda: not alive(pb), 30, "container b (pid %d) to exit while the server is down" % pb)
        # Containers outlive the server (their monitors are not its children).
        self.assertTrue(alive(pa))
        t_down = time.time_ns()
        env.restart()

        sa = env.status(a).status
        self.assertEqual(sa.state, RUNNING, sa)
        self.assertEqual(env.pid(a), pa)
        self.assertTrue(alive(pa))
        sb = env.wait_state(b, EXITED, timeout=10)
        self.assertEqual((sb.exit_code, sb.reason), (7, "Error"), sb)
        # The time it really exited, not when the new server noticed.
        self.assertGreaterEqual(sb.finished_at, b_started + int(1.9e9), sb)
        self.assertLessEqual(sb.finished_at, t_down, sb)
        self.assertAlmostEqual(sb.started_at, b_started, delta=NS_SLACK)
        self.assertEqual(log_text(os.path.join(pcfg.log_directory, bcfg.log_path)), "b-started\nb-done\n")
        self.assertEqual(env.pod_status(pod).status.state, READY)
        self.assertEqual(sorted(c.id for c in env.list_ctrs(pod=pod)), sorted([a, b]))

        # The new server controls the old container.
        self.assertEqual(env.exec_ok(a, ["echo", "still here"]), "still here\n")
        env.stop_ctr(a, timeout=10)
        sa = env.status(a).status
        self.assertEqual((sa.state, sa.exit_code, sa.reason), (EXITED, 0, "Completed"), sa)
        self.assertFalse(alive(pa))
        env.remove_pod(pod)
        assert_no_leftovers(env, [pod, a, b], pids=[pa, pb])

    def test_container_exits_after_kill9(self):
        # The exit happens well after the server is gone, and is seen after
        # the restart with its exit code.
        env = self.new_env()
        pod, pcfg = env.run_pod()
        cid, cfg = env.run(pod, pcfg, command=sh('trap "exit 5" TERM; echo up; while :; do sleep 1 & wait $!; done'))
        wait_log(os.path.join(pcfg.log_directory, cfg.log_path), "up")
        pid = env.pid(cid)
        env.kill9()
        os.kill(pid, 15)
        wait_for(lambda: not alive(pid), 10, "the container to exit")
        env.restart()
        st = env.wait_state(cid, EXITED, timeout=10)
        self.assertEqual((st.exit_code, st.reason), (5, "Error"), st)
        env.remove_pod(pod)
        assert_no_leftovers(env, [pod, cid], pids=[pid])

    def test_sigterm_restart_keeps_containers_running(self):
        env = self.new_env()
        pod, pcfg = env.run_pod()
        cid, cfg = env.run(pod, pcfg, command=sh(
            'trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1 & wait $!; done'))
        path = os.path.join(pcfg.log_directory, cfg.log_path)
        wait_log(path, r"tick2\n")
        pid = env.pid(cid)
        before = env.status(cid).status

        env.stop_server()    # asserts a clean exit 0
        self.assertTrue(alive(pid))
        # The monitor keeps logging while no server runs.
        n = max(int(x) for x in re.findall(r"tick(\d+)", log_text(path)))
        wait_log(path, r"tick%d\n" % (n + 3))
        env.restart()

        st = env.status(cid).status
        self.assertEqual((st.state, st.metadata), (RUNNING, before.metadata))
        self.assertAlmostEqual(st.created_at, before.created_at, delta=NS_SLACK)
        self.assertAlmostEqual(st.started_at, before.started_at, delta=NS_SLACK)
        self.assertEqual(env.pid(cid), pid)
        self.assertEqual(env.exec_ok(cid, ["echo", "hi"]), "hi\n")
        n = max(int(x) for x in re.findall(r"tick(\d+)", log_text(path)))
        wait_log(path, r"tick%d\n" % (n + 2))
        env.stop_ctr(cid, timeout=10)
        st = env.status(cid).status
        self.assertEqual((st.state, st.exit_code), (EXITED, 0))
        env.remove_pod(pod)
        assert_no_leftovers(env, [pod, cid], pids=[pid])

    def check_pod_survives(self, how):
        env = self.new_env()
        pod, pcfg = env.run_pod(labels={"keep": "me"}, hostname="survivor")
        a, acfg = env.run(pod, pcfg, command=sh(LOOP))
        pa = env.pid(a)
        net, ipc = ns_inode(pa, "net"), ns_inode(pa, "ipc")
        created = env.create(pod, container_config(command=sh(LOOP), pod=pcfg), pcfg)
        stopped, _ = env.run_pod()
        env.stop_pod(stopped)
        before = env.pod_status(pod).status

        if how == "kill9":
            env.kill9()
        else:
            env.stop_server()
        env.restart()

        s = env.pod_status(pod).status
        self.assertEqual((s.id, s.metadata, s.state, dict(s.labels)), (pod, before.metadata, READY, {"keep": "me"}))
        self.assertAlmostEqual(s.created_at, before.created_at, delta=NS_SLACK)
        self.assertEqual(env.pod_status(stopped).status.state, NOTREADY)
        self.assertEqual(sorted(p.id for p in env.list_pods()), sorted([pod, stopped]))
        self.assertEqual(env.status(a).status.state, RUNNING)
        # A container created before the restart starts after it.
        self.assertEqual(env.status(created).status.state, CREATED)
        env.start_ctr(created)
        self.assertEqual(env.status(created).status.state, RUNNING)
        # New containers join the same pinned namespaces.
        b, _ = env.run(pod, pcfg, command=sh(LOOP))
        pb = env.pid(b)
        self.assertEqual((ns_inode(pb, "net"), ns_inode(pb, "ipc")), (net, ipc))
        self.assertEqual(env.exec_ok(b, ["hostname"]), "survivor\n")
        # Names are still reserved.
        self.assertRpcError(lambda: env.run_pod(pcfg), grpc.StatusCode.ALREADY_EXISTS, "reserved")
        self.assertRpcError(lambda: env.create(pod, acfg, pcfg), grpc.StatusCode.ALREADY_EXISTS, "reserved")

        pids = [pa, pb, env.pid(created)]
        env.remove_pod(pod)
        env.remove_pod(stopped)
        self.assertEqual(env.list_pods(), [])
        assert_no_leftovers(env, [pod, stopped, a, b, created], pids=pids)

    def test_pod_survives_a_sigterm_restart(self):
        self.check_pod_survives("sigterm")

    def test_pod_survives_a_kill9_restart(self):
        self.check_pod_survives("kill9")

    def test_pod_whose_netns_vanished_is_not_ready_after_a_restart(self):
        # As after a reboot: the runroot's pins are gone when the server starts again.
        env = self.new_env()
        pod, _ = env.run_pod()
        host, _ = env.run_pod(network=NS_NODE)
        env.kill9()
        netns = os.path.join(env.runroot, "pods", pod, "net")
        subprocess.run(["umount", netns], check=True)
        env.restart()
        self.assertEqual(env.pod_status(pod).status.state, NOTREADY)
        self.assertEqual(env.pod_status(host).status.state, READY)
        # The kubelet then stops and removes it; nothing is left.
        env.stop_pod(pod)
        env.remove_pod(pod)
        env.remove_pod(host)
        assert_no_leftovers(env, [pod, host])


if __name__ == "__main__":
    unittest.main()
