"""Version over CRI, and `crio-server --version` / `--help`."""

import unittest

from helpers import CRIO_SERVER, CrioTestCase, api, call, run_tool, version, version_h


class VersionTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def test_version(self):
        ch = self.srv.channel()
        r = call(ch, "Version", api.VersionRequest(version="v1"))
        self.assertEqual(r.runtime_name, "libcrio")
        self.assertEqual(r.runtime_version, version_h())
        self.assertEqual(r.runtime_api_version, "v1")
        self.assertRegex(r.version, r"^\d+\.\d+\.\d+$")

    def test_version_empty_request(self):
        # An empty message is zero bytes on the wire: still a valid request.
        ch = self.srv.channel()
        self.assertEqual(len(api.VersionRequest().SerializeToString()), 0)
        r = call(ch, "Version", api.VersionRequest())
        self.assertEqual(r.runtime_name, "libcrio")

    def test_version_unknown_fields_ignored(self):
        # A newer kubelet may send fields this proto does not know: proto3
        # decoders skip them.  Field 99, varint 1.
        ch = self.srv.channel()
        body = api.VersionRequest(version="v1").SerializeToString() + bytes([0x98, 0x06, 0x01])
        raw = ch.unary_unary("/runtime.v1.RuntimeService/Version")(body, timeout=10)
        r = api.VersionResponse.FromString(raw)
        self.assertEqual(r.runtime_name, "libcrio")
        self.assertEqual(r.runtime_version, version_h())

    def test_version_is_logged_at_debug(self):
        ch = self.srv.channel()
        start = self.srv.log_size()
        version(ch)
        # The call's log line is written before the reply is sent.
        self.assertRegex(self.srv.log()[start:],
                         r'level=debug msg="/runtime.v1.RuntimeService/Version: OK in \d+ us"')


class VersionFlagTest(CrioTestCase):
    def test_version_flag(self):
        r = run_tool([CRIO_SERVER, "--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        v = version_h()
        self.assertEqual(r.stdout.strip(), "crio-server version %s (libcrio %s, CRI v1)" % (v, v))
        self.assertEqual(r.stderr, "")

    def test_help(self):
        r = run_tool([CRIO_SERVER, "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for flag in ("--config", "--config-dir", "--listen", "--root", "--runroot", "--log-level",
                     "--cgroup-manager", "--version"):
            self.assertIn(flag, r.stdout)

    def test_bad_flag(self):
        r = run_tool([CRIO_SERVER, "--no-such-flag"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("no-such-flag", r.stderr)
        self.assertIn("Usage:", r.stderr)

    def test_unknown_command(self):
        r = run_tool([CRIO_SERVER, "serve"])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r'unknown command "serve"')


if __name__ == "__main__":
    unittest.main()
