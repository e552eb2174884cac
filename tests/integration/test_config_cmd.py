"""`crio-server config`: prints the effective configuration as TOML that
loads back to the same configuration."""

import os
import tomllib
import unittest

from helpers import CRIO_SERVER, CrioTestCase, make_tmp, remove_tmp, run_tool


class ConfigCommandTest(CrioTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = make_tmp()
        self.addCleanup(remove_tmp, self.tmp)
        self.empty = self.write("empty.conf", "")
        self.dir = os.path.join(self.tmp, "d")
        os.mkdir(self.dir)

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def config(self, *args, config=None):
        r = run_tool([CRIO_SERVER, "--config", config or self.empty, "--config-dir", self.dir] + list(args)
                     + ["config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def test_prints_toml(self):
        out = self.config()
        doc = tomllib.loads(out)  # an independent TOML parser accepts it
        crio = doc["crio"]
        self.assertEqual(crio["root"], "/var/lib/crio")
        self.assertEqual(crio["runroot"], "/run/crio")
        self.assertEqual(crio["api"]["listen"], "/run/crio/crio.sock")
        self.assertEqual(crio["api"]["grpc_max_recv_msg_size"], 16 * 1024 * 1024)
        self.assertEqual(crio["runtime"]["cgroup_manager"], "cgroupfs")
        self.assertEqual(crio["runtime"]["default_runtime"], "runc")
        self.assertIn("runc", crio["runtime"]["runtimes"])
        self.assertIsInstance(crio["runtime"]["default_capabilities"], list)
        self.assertIsInstance(crio["runtime"]["selinux"], bool)
        for table in ("api", "runtime", "image", "network"):
            self.assertIn(table, crio)

    def test_round_trip_identical(self):
        first = self.config("--root", "/tmp/crio-it-root", "--listen", "/tmp/crio-it.sock",
                            "--cgroup-manager", "systemd", "--log-level", "debug")
        self.assertIn('root = "/tmp/crio-it-root"', first)
        path = self.write("printed.conf", first)
        second = self.config(config=path)
        self.assertEqual(second, first)
        # And a third time, through a drop-in instead of the main file.
        self.write("d/10-all.conf", first)
        self.assertEqual(self.config(), first)

    def test_round_trip_with_awkward_values(self):
        # Strings needing escapes, a handler name that is not a bare key,
        # lists, booleans and negative numbers survive printing and loading.
        src = self.write("src.conf", "\n".join([
            '[crio]',
            'root = "/tmp/with \\"quotes\\" and \\\\ backslash\\ttab"',
            'storage_option = ["a=1", "b=\\u00e9"]',
            '[crio.runtime]',
            'selinux = true',
            'log_size_max = -1',
            'default_env = []',
            '[crio.runtime.runtimes."my.runtime"]',
            'runtime_path = "/usr/bin/crun"',
            'allowed_annotations = ["io.kubernetes.cri-o.userns-mode"]',
            '',
        ]))
        first = self.config(config=src)
        doc = tomllib.loads(first)
        self.assertEqual(doc["crio"]["root"], '/tmp/with "quotes" and \\ backslash\ttab')
        self.assertEqual(doc["crio"]["storage_option"], ["a=1", "b=\u00e9"])
        self.assertIs(doc["crio"]["runtime"]["selinux"], True)
        self.assertEqual(doc["crio"]["runtime"]["runtimes"]["my.runtime"]["runtime_path"], "/usr/bin/crun")
        again = self.config(config=self.write("again.conf", first))
        self.assertEqual(again, first)

    def test_flags_and_dropins_apply(self):
        self.write("d/10-a.conf", '[crio.api]\nthread_pool_size = 8\n')
        self.write("d/20-b.conf", '[crio.api]\nthread_pool_size = 4\n')
        out = tomllib.loads(self.config("--runroot", "/tmp/crio-it-run"))
        self.assertEqual(out["crio"]["api"]["thread_pool_size"], 4)  # later drop-in wins
        self.assertEqual(out["crio"]["runroot"], "/tmp/crio-it-run")

    def test_config_with_bad_file_fails(self):
        bad = self.write("bad.conf", "[crio\n")
        r = run_tool([CRIO_SERVER, "--config", bad, "--config-dir", self.dir, "config"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn(bad + ":1:", r.stderr)

    def test_config_does_not_touch_root(self):
        root = os.path.join(self.tmp, "never-created")
        self.config("--root", root)
        self.assertFalse(os.path.exists(root))


if __name__ == "__main__":
    unittest.main()
