"""Bad input at startup: the server must exit non-zero, quickly, with a clear
error on stderr -- and leave other servers alone."""

import os
import re
import unittest

from helpers import CrioTestCase, make_tmp, remove_tmp, socket_accepts, version


class BadConfigTest(CrioTestCase):
    def refused(self, config=None, dropins=None, args=(), **kw):
        """Runs a server that must refuse to start; returns (server, stderr)."""
        srv = self.new_server(config=config or "", dropins=dropins, args=args, **kw)
        rc, out, err = srv.run_to_exit()
        self.assertNotEqual(rc, 0, "the server started; stderr:\n%s" % err)
        self.assertEqual(rc, 1, err)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("crio-server: "), err)
        self.assertEqual(err.count("\n"), 1, "one line of error expected:\n%s" % err)
        self.assertFalse(os.path.lexists(srv.sock), "a refused server left a socket")
        return srv, err

    def test_malformed_file(self):
        srv, err = self.refused(config='# libcrio\n[crio\nroot = "/x"\n')
        self.assertIn("%s:2:6:" % srv.config_file, err)
        self.assertIn("']'", err)

    def test_malformed_value(self):
        srv, err = self.refused(config='[crio]\n\nroot = \n')
        self.assertIn("%s:3:8:" % srv.config_file, err)

    def test_duplicate_key(self):
        srv, err = self.refused(config='[crio]\nroot = "/a"\nroot = "/b"\n')
        self.assertIn("%s:3:1:" % srv.config_file, err)
        self.assertIn('"root"', err)

    def test_unknown_key(self):
        srv, err = self.refused(config='[crio.api]\nbogus = 1\n')
        self.assertIn('"crio.api.bogus"', err)
        self.assertRegex(err, re.escape(srv.config_file) + r":2:\d+: unknown configuration key")

    def test_unknown_table(self):
        srv, err = self.refused(config='[crio.nope]\nx = 1\n')
        self.assertIn('"crio.nope"', err)
        self.assertIn("%s:1:1:" % srv.config_file, err)

    def test_unknown_runtime_handler_key(self):
        srv, err = self.refused(config='[crio.runtime.runtimes.crun]\nbogus = "x"\n')
        self.assertIn('"crio.runtime.runtimes.crun.bogus"', err)

    def test_wrong_type(self):
        srv, err = self.refused(config='[crio.api]\ngrpc_max_recv_msg_size = "big"\n')
        self.assertIn('"crio.api.grpc_max_recv_msg_size" must be an integer, not a string', err)
        self.assertIn("%s:2:" % srv.config_file, err)

    def test_wrong_type_runtime_path(self):
        srv, err = self.refused(config='[crio.runtime.runtimes.runc]\nruntime_path = 5\n')
        self.assertIn('"crio.runtime.runtimes.runc.runtime_path" must be a string, not an integer', err)

    def test_invalid_value(self):
        srv, err = self.refused(config='[crio.runtime]\ncgroup_manager = "upstart"\n')
        self.assertIn("crio.runtime.cgroup_manager", err)
        self.assertIn('"upstart"', err)

    def test_value_out_of_range(self):
        srv, err = self.refused(config='[crio.api]\ngrpc_max_recv_msg_size = 10\n')
        self.assertIn("crio.api.grpc_max_recv_msg_size", err)
        self.assertIn("10 is outside", err)

    def test_relative_runtime_path(self):
        srv, err = self.refused(config='[crio.runtime.runtimes.runc]\nruntime_path = "runc"\n')
        self.assertIn("runtime_path", err)
        self.assertIn("not an absolute path", err)

    def test_default_runtime_without_handler(self):
        srv, err = self.refused(config='[crio.runtime]\ndefault_runtime = "kata"\n')
        self.assertIn('"kata"', err)
        self.assertIn("crio.runtime.default_runtime", err)

    def test_bad_dropin_named(self):
        srv, err = self.refused(dropins={"10-ok.conf": "[crio.api]\nthread_pool_size = 4\n",
                                         "20-bad.conf": "[crio.api]\nbogus = true\n"})
        self.assertIn(os.path.join(srv.config_dir, "20-bad.conf") + ":2:", err)
        self.assertIn('"crio.api.bogus"', err)

    def test_non_conf_files_in_dropin_dir_ignored(self):
        # Only *.conf files are drop-ins: others, even broken, are not read.
        srv = self.new_server(dropins={"README": "not toml [", "10-x.conf.bak": "[crio.api]\nbogus = 1\n"})
        srv.start()
        self.assertEqual(version(srv.channel()).runtime_name, "libcrio")

    def test_missing_config_file(self):
        srv = self.new_server()
        os.unlink(srv.config_file)
        rc, out, err = srv.run_to_exit()
        self.assertEqual(rc, 1, err)
        self.assertIn(srv.config_file, err)
        self.assertIn("No such file or directory", err)

    def test_missing_config_dir(self):
        srv = self.new_server()
        os.rmdir(srv.config_dir)
        rc, out, err = srv.run_to_exit()
        self.assertEqual(rc, 1, err)
        self.assertIn(srv.config_dir, err)

    def test_bad_log_level_flag(self):
        srv, err = self.refused(log_level="loud")
        self.assertIn('"loud"', err)
        self.assertIn("crio.runtime.log_level", err)

    def test_bad_cgroup_manager_flag(self):
        srv, err = self.refused(args=["--cgroup-manager", "upstart"])
        self.assertIn('"upstart"', err)

    def test_relative_root_flag(self):
        srv, err = self.refused(root="relative/root")
        self.assertIn("crio.root", err)
        self.assertIn("not an absolute path", err)


class BadSocketTest(CrioTestCase):
    def test_unwritable_socket_path(self):
        srv = self.new_server(sock="/proc/x/crio.sock")
        rc, out, err = srv.run_to_exit()
        self.assertNotEqual(rc, 0, err)
        # (after the debug lines of opening the root)
        self.assertRegex(err, r"(?m)^crio-server: listen /proc/x/crio\.sock: .*/proc/x")
        # The root lock went with the process: a good server starts on the root.
        srv.sock = os.path.join(srv.tmp, "crio.sock")
        srv.start()
        srv.stop()

    def test_socket_path_is_a_regular_file(self):
        srv = self.new_server()
        with open(srv.sock, "w") as f:
            f.write("precious")
        rc, out, err = srv.run_to_exit()
        self.assertEqual(rc, 1, err)
        self.assertIn(srv.sock, err)
        self.assertIn("not a socket", err)
        with open(srv.sock) as f:
            self.assertEqual(f.read(), "precious", "the file was touched")

    def test_socket_path_too_long(self):
        tmp = make_tmp()
        self.addCleanup(remove_tmp, tmp)
        long_sock = os.path.join(tmp, "d" * 60, "e" * 60, "crio.sock")
        srv = self.new_server(sock=long_sock)
        rc, out, err = srv.run_to_exit()
        self.assertEqual(rc, 1, err)
        self.assertIn("longer than", err)

    def test_socket_parent_created(self):
        srv = self.new_server()
        srv.sock = os.path.join(srv.tmp, "a", "b", "crio.sock")
        srv.start()
        self.assertEqual(os.stat(srv.sock).st_mode & 0o777, 0o660)
        self.assertEqual(version(srv.channel()).runtime_name, "libcrio")
        srv.stop()


class SecondServerTest(CrioTestCase):
    def test_same_root_refused(self):
        first = self.server(name="first")
        second = self.new_server(name="second", root=first.root)
        rc, out, err = second.run_to_exit()
        self.assertEqual(rc, 1, err)
        self.assertIn(first.root, err)
        self.assertIn("in use", err)
        self.assertRegex(err, r"\bpid %d\b" % first.pid)
        self.assertFalse(os.path.lexists(second.sock))
        # The first one is untouched.
        self.assertEqual(version(first.channel()).runtime_name, "libcrio")
        with open(os.path.join(first.root, "crio.lock")) as f:
            self.assertIn("pid %d" % first.pid, f.read())
        first.stop()

    def test_same_socket_refused(self):
        first = self.server(name="first")
        second = self.new_server(name="second", sock=first.sock)
        self.assertNotEqual(second.root, first.root)
        rc, out, err = second.run_to_exit()
        self.assertEqual(rc, 1, err)
        self.assertIn(first.sock, err)
        self.assertIn("another server is answering", err)
        # The first one keeps its socket and serves on.
        self.assertTrue(socket_accepts(first.sock))
        self.assertEqual(version(first.channel()).runtime_name, "libcrio")
        first.stop()

    def test_stale_socket_replaced(self):
        first = self.server(name="first")
        self.assertEqual(version(first.channel()).runtime_name, "libcrio")
        first.kill9()
        self.assertTrue(os.path.lexists(first.sock), "kill -9 should leave the socket file")
        self.assertFalse(socket_accepts(first.sock))
        second = self.new_server(name="second", sock=first.sock)
        second.start()
        self.assertIn("removed stale socket", second.log())
        self.assertIn(first.sock, second.log())
        self.assertEqual(version(second.channel()).runtime_name, "libcrio")
        second.stop()


if __name__ == "__main__":
    unittest.main()
