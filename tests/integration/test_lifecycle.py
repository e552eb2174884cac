"""Signals and restarts: graceful stop, configuration reload, kill -9."""

import os
import re
import signal
import threading
import time
import unittest

import grpc

from helpers import CrioTestCase, api, call, socket_accepts, version, wait_for

VERSION_LINE = r'level=debug msg="/runtime\.v1\.RuntimeService/Version: OK in \d+ us"'


def effective_config(srv):
    r = call(srv.channel(), "Status", api.StatusRequest(verbose=True))
    return r.info["config"]


class StopTest(CrioTestCase):
    def test_sigterm(self):
        srv = self.server()
        self.assertEqual(version(srv.channel()).runtime_name, "libcrio")
        srv.stop()  # asserts exit status 0 and the socket removed
        self.assertRegex(srv.log(), r'msg="received Terminated: shutting down after 0 in-flight calls"')
        self.assertRegex(srv.log(), r'msg="stopped"\n$')
        # The root is free again: another server takes it at once.
        again = self.new_server(tmp=srv.tmp)
        again.start()
        again.stop()

    def test_sigint(self):
        srv = self.server()
        srv.signal(signal.SIGINT)
        self.assertEqual(srv.wait_exit(), 0, srv.log_dump())
        self.assertFalse(os.path.lexists(srv.sock))
        self.assertIn("received Interrupt", srv.log())

    def test_sigterm_with_open_connections_and_a_stalled_call(self):
        # Idle connections and a request whose body never ends do not hold
        # the shutdown: the server exits 0 promptly.
        srv = self.server()
        channels = [srv.channel() for _ in range(3)]
        for ch in channels:
            version(ch)
        release = threading.Event()
        self.addCleanup(release.set)

        def stalled():
            yield api.VersionRequest().SerializeToString()
            release.wait(30)
        fut = channels[0].stream_unary("/runtime.v1.RuntimeService/Version").future(stalled(), timeout=30)
        version(channels[0])  # the stalled call's headers are at the server
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.wait_exit(), 0, srv.log_dump())
        self.assertLess(time.monotonic() - t0, 5)
        self.assertFalse(os.path.lexists(srv.sock))
        err = fut.exception(timeout=10)
        self.assertIsNotNone(err)
        self.assertIn(err.code(), (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED,
                                   grpc.StatusCode.INTERNAL))

    def test_second_sigterm_is_harmless(self):
        # A second SIGTERM (an impatient operator, a supervisor's repeated
        # stop) during a graceful shutdown must not turn a clean exit into
        # death by signal.  Sent once the first one is being handled, so it
        # lands while the server is stopping, not coalesced with the first.
        srv = self.server()
        version(srv.channel())
        srv.signal(signal.SIGTERM)
        wait_for(lambda: "received Terminated" in srv.log() or not srv.running(), 5,
                 "the first SIGTERM to be handled", interval=0.0005)
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait_exit(), 0, "exit status %s after two SIGTERMs (-15: killed by the second)\n%s"
                         % (srv.returncode, srv.log_dump()))
        self.assertFalse(os.path.lexists(srv.sock))

    def test_sighup_while_stopping_is_harmless(self):
        srv = self.server()
        version(srv.channel())
        srv.signal(signal.SIGTERM)
        wait_for(lambda: "received Terminated" in srv.log() or not srv.running(), 5,
                 "the SIGTERM to be handled", interval=0.0005)
        srv.signal(signal.SIGHUP)
        self.assertEqual(srv.wait_exit(), 0, "exit status %s after SIGTERM + SIGHUP (-1: killed by SIGHUP)\n%s"
                         % (srv.returncode, srv.log_dump()))

    def test_no_connections_after_stop(self):
        srv = self.server()
        srv.stop()
        self.assertFalse(socket_accepts(srv.sock))
        ch = srv.channel()
        self.assertRpcError(lambda: version(ch, timeout=2), grpc.StatusCode.UNAVAILABLE)


class ReloadTest(CrioTestCase):
    def start(self, level="debug", **kw):
        # No --log-level flag: a flag would override the file at reload too.
        return self.server(config='[crio.runtime]\nlog_level = "%s"\n' % level, log_level=None, **kw)

    def test_sighup_applies_new_log_level(self):
        srv = self.start("debug")
        ch = srv.channel()
        mark = srv.log_size()
        version(ch)
        self.assertRegex(srv.log()[mark:], VERSION_LINE)
        self.assertIn('log_level = "debug"', effective_config(srv))

        srv.write_config('[crio.runtime]\nlog_level = "error"\n')
        mark = srv.log_size()
        srv.signal(signal.SIGHUP)
        srv.wait_log(r'level=info msg="configuration reloaded"', start=mark)
        self.assertTrue(srv.running())
        self.assertIn('log_level = "error"', effective_config(srv))
        # At level error the calls are no longer logged.
        mark = srv.log_size()
        self.assertEqual(version(ch).runtime_name, "libcrio")
        self.assertEqual(srv.log()[mark:], "")
        srv.stop()

    def test_sighup_reads_new_dropin(self):
        srv = self.start("error")
        with open(os.path.join(srv.config_dir, "50-debug.conf"), "w") as f:
            f.write('[crio.runtime]\nlog_level = "debug"\n')
        srv.signal(signal.SIGHUP)
        wait_for(lambda: 'log_level = "debug"' in effective_config(srv), 5, "the drop-in to apply")
        mark = srv.log_size()
        version(srv.channel())
        self.assertRegex(srv.log()[mark:], VERSION_LINE)

    def test_sighup_with_broken_config_keeps_old(self):
        srv = self.start("debug")
        ch = srv.channel()
        srv.write_config('[crio.runtime]\nlog_level = "error"\nbroken =\n')
        mark = srv.log_size()
        srv.signal(signal.SIGHUP)
        m = srv.wait_message("error", r"^reload configuration: (.*)", start=mark)
        self.assertIn("%s:3:" % srv.config_file, m.group(1))
        self.assertRegex(m.group(1), re.escape(srv.config_file) + r":3:\d+: ")
        self.assertIn("keeping the old one", m.group(1))
        self.assertNotIn("configuration reloaded", srv.log()[mark:])
        # Still serving, with the old configuration (debug: calls are logged).
        self.assertTrue(srv.running())
        self.assertIn('log_level = "debug"', effective_config(srv))
        mark = srv.log_size()
        self.assertEqual(version(ch).runtime_name, "libcrio")
        self.assertRegex(srv.log()[mark:], VERSION_LINE)
        # A fixed file is picked up by the next SIGHUP.
        srv.write_config('[crio.runtime]\nlog_level = "info"\n')
        srv.signal(signal.SIGHUP)
        srv.wait_log(r'msg="configuration reloaded"', start=mark)
        self.assertIn('log_level = "info"', effective_config(srv))
        srv.stop()

    def test_sighup_with_invalid_value_keeps_old(self):
        srv = self.start("debug")
        srv.write_config('[crio.runtime]\nlog_level = "loud"\n')
        mark = srv.log_size()
        srv.signal(signal.SIGHUP)
        m = srv.wait_message("error", r"^reload configuration: (.*)", start=mark)
        self.assertIn('"loud"', m.group(1))
        self.assertIn('log_level = "debug"', effective_config(srv))

    def test_sighup_cannot_move_root(self):
        srv = self.new_server(root_flags=False, log_level=None)
        conf = '[crio]\nroot = "%s"\nrunroot = "%s"\n[crio.runtime]\nlog_level = "debug"\n'
        srv.write_config(conf % (srv.root, srv.runroot))
        srv.start()
        elsewhere = os.path.join(srv.tmp, "elsewhere")
        srv.write_config(conf % (elsewhere, srv.runroot))
        mark = srv.log_size()
        srv.signal(signal.SIGHUP)
        m = srv.wait_message("error", r"^reload configuration: (.*)", start=mark)
        self.assertIn("crio.root", m.group(1))
        self.assertIn(elsewhere, m.group(1))
        info = call(srv.channel(), "Status", api.StatusRequest(verbose=True)).info
        self.assertEqual(info["root"], srv.root)
        self.assertIn('root = "%s"' % srv.root, info["config"])
        self.assertFalse(os.path.exists(elsewhere))
        srv.stop()


class KillTest(CrioTestCase):
    def test_kill9_then_restart_on_same_root(self):
        srv = self.server()
        self.assertEqual(version(srv.channel()).runtime_name, "libcrio")
        old_pid = srv.pid
        self.assertEqual(srv.kill9(), -signal.SIGKILL)
        # The socket file stays behind; the kernel released the root's lock.
        self.assertTrue(os.path.lexists(srv.sock))
        srv.start()
        self.assertNotEqual(srv.pid, old_pid)
        self.assertIn("removed stale socket", srv.log())
        self.assertEqual(version(srv.channel()).runtime_name, "libcrio")
        with open(os.path.join(srv.root, "crio.lock")) as f:
            self.assertIn("pid %d" % srv.pid, f.read())
        srv.stop()

    def test_kill9_during_calls(self):
        srv = self.server()
        ch = srv.channel()
        futs = [ch.unary_unary("/runtime.v1.RuntimeService/Status",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=api.StatusResponse.FromString)
                .future(api.StatusRequest(verbose=True), timeout=10) for _ in range(20)]
        srv.kill9()
        for f in futs:
            # Each call either finished or failed cleanly; none hangs.
            f.exception(timeout=10)
        srv.start()
        self.assertEqual(version(srv.channel()).runtime_name, "libcrio")
        srv.stop()


if __name__ == "__main__":
    unittest.main()
