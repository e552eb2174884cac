"""crioctl against a real crio-server (skipped when build/crioctl is absent).

crioctl is young: the tests read its --help and skip what it does not list
yet, rather than fail on a command that is not there."""

import json
import os
import re
import time
import unittest

from helpers import CRIOCTL, CrioTestCase, make_tmp, remove_tmp, run_tool, version_h

CONFLIST = '{"cniVersion": "1.0.0", "name": "test", "plugins": [{"type": "loopback"}]}'


class CrioctlTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CRIOCTL, os.X_OK):
            raise unittest.SkipTest("crioctl not built")
        r = run_tool([CRIOCTL, "--help"])
        if r.returncode != 0:
            raise AssertionError("crioctl --help exited %d:\n%s" % (r.returncode, r.stderr))
        cls.help = r.stdout
        m = re.search(r"^Commands:\n((?:  .*\n)+)", cls.help, re.M)
        cls.commands = set(re.findall(r"^  ([a-z][a-z-]*)", m.group(1), re.M)) if m else set()
        cls.netdir = make_tmp("crio-it-net-")
        cls.addClassCleanup(remove_tmp, cls.netdir)
        with open(os.path.join(cls.netdir, "10-test.conflist"), "w") as f:
            f.write(CONFLIST)
        cls.srv = cls.class_server(config='[crio.runtime.runtimes.runc]\nruntime_path = "/bin/true"\n'
                                          '[crio.network]\nnetwork_dir = "%s"\n' % cls.netdir)
        cls.endpoint = "unix://" + cls.srv.sock

    def need(self, *commands):
        for c in commands:
            if c not in self.commands:
                self.skipTest("crioctl has no '%s' command yet (--help lists: %s)"
                              % (c, ", ".join(sorted(self.commands))))

    def ctl(self, *args, endpoint=True, env=None, ok=True, timeout=20):
        argv = [CRIOCTL] + (["-r", self.endpoint] if endpoint else []) + list(args)
        full_env = dict(os.environ)
        full_env.pop("CONTAINER_RUNTIME_ENDPOINT", None)
        full_env.pop("IMAGE_SERVICE_ENDPOINT", None)
        full_env.update(env or {})
        r = run_tool(argv, env=full_env, timeout=timeout)
        if ok:
            self.assertEqual(r.returncode, 0, "%s\nstdout:\n%s\nstderr:\n%s" % (argv, r.stdout, r.stderr))
        return r

    def parse_json(self, text):
        try:
            return json.loads(text)
        except ValueError as e:
            self.fail("not JSON (%s):\n%s" % (e, text))

    def test_help_lists_commands(self):
        self.assertIn("Usage:", self.help)
        self.assertIn("version", self.commands)

    def test_crioctl_version_flag(self):
        r = self.ctl("--version", endpoint=False)
        self.assertIn(version_h(), r.stdout)

    def test_version(self):
        self.need("version")
        r = self.ctl("version")
        fields = dict(re.findall(r"^(\w+):\s+(.*?)\s*$", r.stdout, re.M))
        self.assertEqual(fields.get("RuntimeName"), "libcrio", r.stdout)
        self.assertEqual(fields.get("RuntimeVersion"), version_h(), r.stdout)
        self.assertEqual(fields.get("RuntimeApiVersion"), "v1", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_version_json(self):
        self.need("version")
        for args in (("-o", "json", "version"), ("version", "-o", "json")):
            with self.subTest(args=args):
                doc = self.parse_json(self.ctl(*args).stdout)
                self.assertEqual(doc["runtimeName"], "libcrio")
                self.assertEqual(doc["runtimeVersion"], version_h())
                self.assertEqual(doc["runtimeApiVersion"], "v1")

    def test_info(self):
        self.need("info")
        doc = self.parse_json(self.ctl("info").stdout)
        conds = {c["type"]: c for c in doc["status"]["conditions"]}
        self.assertIn("RuntimeReady", conds)
        self.assertIn("NetworkReady", conds)
        self.assertIs(conds["RuntimeReady"]["status"], True)
        self.assertIs(conds["NetworkReady"]["status"], True)
        # Verbose by default, as crictl: the runtime's own info is there.
        self.assertIn("config", doc)
        self.assertIn(self.srv.sock, doc["config"])
        self.assertEqual(doc.get("root"), self.srv.root)

    def test_runtime_config(self):
        self.need("runtime-config")
        r = self.ctl("runtime-config")
        self.assertRegex(r.stdout, r"(?i)cgroup driver:\s+CGROUPFS")
        doc = self.parse_json(self.ctl("-o", "json", "runtime-config").stdout)
        self.assertEqual(doc["linux"]["cgroupDriver"], "CGROUPFS")

    def test_missing_socket(self):
        self.need("version")
        t0 = time.monotonic()
        r = self.ctl("-r", "unix:///nonexistent.sock", "version", endpoint=False, ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("UNAVAILABLE", r.stderr)
        self.assertIn("/nonexistent.sock", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertLess(time.monotonic() - t0, 10, "a missing socket should fail fast")

    def test_endpoint_from_environment(self):
        self.need("version")
        r = self.ctl("version", endpoint=False, env={"CONTAINER_RUNTIME_ENDPOINT": self.endpoint})
        self.assertRegex(r.stdout, r"(?m)^RuntimeName:\s+libcrio$")

    def test_flag_overrides_environment(self):
        self.need("version")
        r = self.ctl("version", env={"CONTAINER_RUNTIME_ENDPOINT": "unix:///nonexistent.sock"})
        self.assertRegex(r.stdout, r"(?m)^RuntimeName:\s+libcrio$")

    def test_unknown_command(self):
        r = self.ctl("no-such-command", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no-such-command", r.stderr)

    def test_server_error_is_reported(self):
        # A stopped server: the same endpoint now fails, non-zero, no output.
        self.need("version")
        srv = self.server()
        ep = "unix://" + srv.sock
        self.assertEqual(self.ctl("-r", ep, "version", endpoint=False).returncode, 0)
        srv.stop()
        r = self.ctl("-r", ep, "version", endpoint=False, ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("UNAVAILABLE", r.stderr)


if __name__ == "__main__":
    unittest.main()
