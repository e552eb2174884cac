"""Status and RuntimeConfig: readiness conditions, verbose info, cgroup driver."""

import json
import os
import unittest

from helpers import CrioTestCase, api, call, conditions, make_tmp, remove_tmp


def config(runtime_path, network_dir, extra=""):
    return ('[crio.runtime.runtimes.runc]\nruntime_path = "%s"\n\n[crio.network]\nnetwork_dir = "%s"\n%s'
            % (runtime_path, network_dir, extra))


CONFLIST = json.dumps({
    "cniVersion": "1.0.0",
    "name": "test",
    "plugins": [{"type": "loopback"}],
})


class StatusTest(CrioTestCase):
    def setUp(self):
        super().setUp()
        self.netdir = make_tmp("crio-it-net-")
        self.addCleanup(remove_tmp, self.netdir)

    def status(self, srv, verbose=False):
        return call(srv.channel(), "Status", api.StatusRequest(verbose=verbose))

    def test_conditions_present(self):
        srv = self.server(config=config("/bin/true", self.netdir))
        r = self.status(srv)
        types = [c.type for c in r.status.conditions]
        self.assertEqual(sorted(types), ["NetworkReady", "RuntimeReady"])
        self.assertEqual(len(types), len(set(types)), "duplicate conditions: %s" % types)
        # Not verbose: no info.
        self.assertEqual(dict(r.info), {})
        self.assertIn("runc", [h.name for h in r.runtime_handlers])

    def test_runtime_ready_with_existing_runtime(self):
        srv = self.server(config=config("/bin/true", self.netdir))
        c = conditions(self.status(srv))["RuntimeReady"]
        self.assertTrue(c.status, "RuntimeReady false: %s: %s" % (c.reason, c.message))
        self.assertEqual(c.reason, "")

    def test_runtime_not_ready_with_missing_runtime(self):
        missing = os.path.join(self.netdir, "no-such-runc")
        # The configuration accepts a non-existent absolute path: the server starts.
        srv = self.server(config=config(missing, self.netdir))
        c = conditions(self.status(srv))["RuntimeReady"]
        self.assertFalse(c.status)
        self.assertEqual(c.reason, "RuntimeNotFound")
        self.assertIn(missing, c.message)
        self.assertIn("runc", c.message)
        # Still serving everything else.
        self.assertEqual(call(srv.channel(), "Version", api.VersionRequest()).runtime_name, "libcrio")

    def test_runtime_becomes_ready_when_installed(self):
        # Readiness is checked at each Status: installing the runtime later is seen.
        rt = os.path.join(self.netdir, "runc")
        srv = self.server(config=config(rt, self.netdir))
        self.assertFalse(conditions(self.status(srv))["RuntimeReady"].status)
        with open(rt, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(rt, 0o755)
        self.assertTrue(conditions(self.status(srv))["RuntimeReady"].status)

    def test_network_not_ready_without_cni_config(self):
        srv = self.server(config=config("/bin/true", self.netdir))
        c = conditions(self.status(srv))["NetworkReady"]
        self.assertFalse(c.status)
        self.assertEqual(c.reason, "NetworkPluginNotReady")
        self.assertIn(self.netdir, c.message)

    def test_network_ready_with_conflist(self):
        with open(os.path.join(self.netdir, "10-test.conflist"), "w") as f:
            f.write(CONFLIST)
        srv = self.server(config=config("/bin/true", self.netdir))
        c = conditions(self.status(srv))["NetworkReady"]
        self.assertTrue(c.status, "NetworkReady false: %s: %s" % (c.reason, c.message))

    def test_network_becomes_ready_when_conflist_appears(self):
        srv = self.server(config=config("/bin/true", self.netdir))
        self.assertFalse(conditions(self.status(srv))["NetworkReady"].status)
        # Files that are not CNI configurations do not count.
        for name in ("README", ".10-hidden.conflist"):
            with open(os.path.join(self.netdir, name), "w") as f:
                f.write(CONFLIST)
        self.assertFalse(conditions(self.status(srv))["NetworkReady"].status)
        with open(os.path.join(self.netdir, "10-test.conflist"), "w") as f:
            f.write(CONFLIST)
        self.assertTrue(conditions(self.status(srv))["NetworkReady"].status)
        os.unlink(os.path.join(self.netdir, "10-test.conflist"))
        self.assertFalse(conditions(self.status(srv))["NetworkReady"].status)

    def test_verbose_info(self):
        srv = self.server(config=config("/bin/true", self.netdir))
        r = self.status(srv, verbose=True)
        info = dict(r.info)
        for key in ("config", "version", "root", "runroot"):
            self.assertIn(key, info)
        self.assertIn(srv.sock, info["config"])
        self.assertIn('listen = "%s"' % srv.sock, info["config"])
        self.assertIn('network_dir = "%s"' % self.netdir, info["config"])
        self.assertEqual(info["root"], srv.root)
        self.assertEqual(info["runroot"], srv.runroot)
        self.assertEqual(info["version"], call(srv.channel(), "Version", api.VersionRequest()).runtime_version)
        # Conditions are still there in verbose mode.
        self.assertEqual(sorted(conditions(r)), ["NetworkReady", "RuntimeReady"])


class RuntimeConfigTest(CrioTestCase):
    def runtime_config(self, srv):
        return call(srv.channel(), "RuntimeConfig", api.RuntimeConfigRequest())

    def test_cgroupfs_by_default(self):
        srv = self.server()
        r = self.runtime_config(srv)
        self.assertTrue(r.HasField("linux"))
        self.assertEqual(r.linux.cgroup_driver, api.CGROUPFS)

    def test_systemd_by_flag(self):
        srv = self.server(args=["--cgroup-manager", "systemd"])
        self.assertEqual(self.runtime_config(srv).linux.cgroup_driver, api.SYSTEMD)

    def test_systemd_by_config_file(self):
        srv = self.server(config='[crio.runtime]\ncgroup_manager = "systemd"\n')
        self.assertEqual(self.runtime_config(srv).linux.cgroup_driver, api.SYSTEMD)

    def test_flag_overrides_file(self):
        srv = self.server(config='[crio.runtime]\ncgroup_manager = "systemd"\n',
                          args=["--cgroup-manager", "cgroupfs"])
        self.assertEqual(self.runtime_config(srv).linux.cgroup_driver, api.CGROUPFS)

    def test_dropin_overrides_file(self):
        srv = self.server(config='[crio.runtime]\ncgroup_manager = "cgroupfs"\n',
                          dropins={"50-cgroup.conf": '[crio.runtime]\ncgroup_manager = "systemd"\n'})
        self.assertEqual(self.runtime_config(srv).linux.cgroup_driver, api.SYSTEMD)


if __name__ == "__main__":
    unittest.main()
