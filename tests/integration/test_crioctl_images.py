"""crioctl's image commands against a real crio-server and real local
registries (tests/fixtures): pull (with per-layer progress bars on a
terminal), images, inspecti, rmi, imagefsinfo, image import; and the
libcrio.v1.Images service they use, called directly with grpc."""

import base64
import importlib
import json
import os
import pty
import re
import select
import subprocess
import sys
import unittest

import grpc

from helpers import (BUILD, CRIOCTL, REPO, CrioTestCase, api, call, make_tmp, remove_tmp, run_tool,
                     wait_for)

sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import images as fixture_images  # noqa: E402
import registry as fixture_registry  # noqa: E402

PULL_TIMEOUT = 120   # seconds for a crioctl command that pulls
FIXTURES = os.path.join(BUILD, "fixture-images")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _load_libcrio_pb2():
    """The libcrio.v1 message classes: run.py generates them; a lone run of
    this file generates them here."""
    try:
        return importlib.import_module("libcrio_pb2")
    except ImportError:
        pass
    gen = make_tmp("crio-it-libcrio-proto-")
    r = subprocess.run(["protoc", "--python_out=" + gen, "-Iproto", "proto/libcrio.proto"], cwd=REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("protoc failed (%d): %s" % (r.returncode, r.stderr))
    sys.path.insert(0, gen)
    return importlib.import_module("libcrio_pb2")


libcrio = _load_libcrio_pb2()


def registries_conf(*hosts):
    return "".join('[[registry]]\nlocation = "%s"\ninsecure = true\n\n' % h for h in hosts)


def run_in_pty(argv, timeout, cwd=None):
    """Runs argv with stdout on a pseudo-terminal (stderr piped); returns
    (returncode, terminal output, stderr)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, cwd=cwd,
                             close_fds=True)
    finally:
        os.close(slave)
    out = b""
    try:
        while True:
            r, _, _ = select.select([master], [], [], timeout)
            if not r:
                p.kill()
                raise AssertionError("%s: no output for %ss (so far: %r)" % (argv, timeout, out))
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            out += chunk
        err = p.stderr.read()
        p.wait(timeout)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class CrioctlImagesTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CRIOCTL, os.X_OK):
            raise unittest.SkipTest("crioctl not built")
        if not os.access(fixture_registry.REGISTRY_BIN, os.X_OK):
            raise unittest.SkipTest("docker-registry is not installed")
        cls.imgs = fixture_images.build(FIXTURES, names=["busybox", "multilayer"])
        cls.reg = fixture_registry.Registry(auth="none")
        cls.addClassCleanup(cls.reg.stop)
        cls.reg.start()
        cls.reg.push_images(cls.imgs)
        cls.basic = fixture_registry.Registry(auth="basic")
        cls.addClassCleanup(cls.basic.stop)
        cls.basic.start()
        cls.basic.push_image(cls.imgs["busybox:1"])
        cls.confdir = make_tmp("crio-it-regs-")
        cls.addClassCleanup(remove_tmp, cls.confdir)
        cls.regs_conf = os.path.join(cls.confdir, "registries.conf")
        with open(cls.regs_conf, "w") as f:
            f.write(registries_conf(cls.reg.host, cls.basic.host))
        cls.srv = cls.class_server(config=cls.server_config())
        cls.endpoint = "unix://" + cls.srv.sock

    @classmethod
    def server_config(cls):
        return '[crio.image]\nregistries_conf = "%s"\n' % cls.regs_conf

    def fresh_server(self):
        """A server of its own (an empty image store), for what needs one."""
        srv = self.server(config=self.server_config())
        return srv, "unix://" + srv.sock

    # -- helpers

    def ctl(self, *args, endpoint=None, ok=True, timeout=30, cwd=None, input=None):
        argv = [CRIOCTL, "-r", endpoint or self.endpoint] + list(args)
        env = dict(os.environ)
        env.pop("CONTAINER_RUNTIME_ENDPOINT", None)
        env.pop("IMAGE_SERVICE_ENDPOINT", None)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL if input is None else None, input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, env=env,
                           cwd=cwd)
        if ok:
            self.assertEqual(r.returncode, 0, "%s\nstdout:\n%s\nstderr:\n%s" % (argv, r.stdout, r.stderr))
        return r

    def ctl_fails(self, *args, **kw):
        r = self.ctl(*args, ok=False, **kw)
        self.assertNotEqual(r.returncode, 0, "%s succeeded:\n%s" % (args, r.stdout))
        return r

    def parse_json(self, text):
        try:
            return json.loads(text)
        except ValueError as e:
            self.fail("not JSON (%s):\n%s" % (e, text))

    def info(self, name):
        return self.imgs[name + ":1"]

    def image_id(self, name):
        return self.info(name)["config_digest"].split(":", 1)[1]

    def pinned_ref(self, reg, name):
        return "%s/%s@%s" % (reg.host, name, self.info(name)["manifest_digest"])

    def pull(self, name, reg=None, endpoint=None):
        reg = reg or self.reg
        return self.ctl("pull", reg.ref(name), endpoint=endpoint, timeout=PULL_TIMEOUT)

    def list_ids(self, srv):
        ch = srv.channel()
        resp = call(ch, "ListImages", api.ListImagesRequest(), service="ImageService")
        return sorted(i.id for i in resp.images)

    # -- pull

    def test_pull_not_a_terminal(self):
        r = self.pull("busybox")
        self.assertEqual(r.stdout, "Image is up to date for %s\n" % self.pinned_ref(self.reg, "busybox"))
        self.assertNotIn("\x1b", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_pull_terminal_progress_bars(self):
        srv, ep = self.fresh_server()     # no layer present yet: each one is downloaded
        argv = [CRIOCTL, "-r", ep, "pull", self.reg.ref("multilayer")]
        rc, out, err = run_in_pty(argv, PULL_TIMEOUT)
        self.assertEqual(rc, 0, "stdout:\n%r\nstderr:\n%s" % (out, err))
        layers = self.info("multilayer")["layers"]
        self.assertGreater(len(layers), 1)
        for layer in layers:
            algo, hexd = layer["digest"].split(":", 1)
            prefix = "%s:%s" % (algo, hexd[:12])
            self.assertIn(prefix, out, "no bar for layer %s in %r" % (layer["digest"], out))
            # The layer's last line: a full bar and its size.
            lines = [ln for ln in ANSI.sub("", out).replace("\r", "\n").split("\n") if prefix in ln]
            self.assertRegex(lines[-1], r"\[=+\] \S+/\S+$", lines)
        self.assertRegex(out, r"\[[=> ]+\]")
        self.assertIn("\x1b[", out, "no cursor movement: bars are not redrawn in place")
        self.assertTrue(out.replace("\r\n", "\n").endswith(
            "Image is up to date for %s\n" % self.pinned_ref(self.reg, "multilayer")), repr(out[-300:]))
        self.assertEqual(self.list_ids(srv), [self.image_id("multilayer")])

    def test_pull_missing_image(self):
        r = self.ctl_fails("pull", self.reg.ref("no-such-image"), timeout=PULL_TIMEOUT)
        self.assertIn("NOT_FOUND", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_pull_missing_tag(self):
        r = self.ctl_fails("pull", self.reg.ref("busybox", "no-such-tag"), timeout=PULL_TIMEOUT)
        self.assertIn("NOT_FOUND", r.stderr)

    def test_pull_wrong_credentials(self):
        r = self.ctl_fails("pull", "--creds", "%s:wrong" % self.basic.username, self.basic.ref("busybox"),
                           timeout=PULL_TIMEOUT)
        self.assertIn("UNAUTHENTICATED", r.stderr)
        self.assertEqual(r.stdout, "")
        r = self.ctl_fails("pull", self.basic.ref("busybox"), timeout=PULL_TIMEOUT)
        self.assertIn("UNAUTHENTICATED", r.stderr)

    def test_pull_credentials(self):
        r = self.ctl("pull", "--creds", self.basic.creds, self.basic.ref("busybox"), timeout=PULL_TIMEOUT)
        self.assertEqual(r.stdout, "Image is up to date for %s\n" % self.pinned_ref(self.basic, "busybox"))
        auth = base64.b64encode(self.basic.creds.encode()).decode()
        r = self.ctl("pull", "--auth", auth, self.basic.ref("busybox"), timeout=PULL_TIMEOUT)
        self.assertIn("Image is up to date for", r.stdout)
        # --username: the password comes from the terminal (here, stdin).
        r = self.ctl("pull", "-u", self.basic.username, self.basic.ref("busybox"), timeout=PULL_TIMEOUT,
                     input=self.basic.password + "\n")
        self.assertEqual(r.stdout, "Image is up to date for %s\n" % self.pinned_ref(self.basic, "busybox"))
        self.assertIn("Password:", r.stderr)
        r = self.ctl_fails("pull", "-u", self.basic.username, self.basic.ref("busybox"), timeout=PULL_TIMEOUT,
                           input="wrong\n")
        self.assertIn("UNAUTHENTICATED", r.stderr)

    def test_pull_usage_errors(self):
        r = self.ctl_fails("pull")
        self.assertIn("image name cannot be empty", r.stderr)
        r = self.ctl_fails("pull", "--creds", "a:b", "--auth", "eDp5", "busybox")
        self.assertIn("both --creds and --auth", r.stderr)
        r = self.ctl_fails("pull", "--creds", ":pass", "busybox")
        self.assertIn("username can't be empty", r.stderr)

    def test_pull_stream_grpc(self):
        srv, _ = self.fresh_server()
        ch = srv.channel()
        stub = ch.unary_stream("/libcrio.v1.Images/Pull",
                               request_serializer=libcrio.PullRequest.SerializeToString,
                               response_deserializer=libcrio.PullEvent.FromString)
        events = list(stub(libcrio.PullRequest(image=self.reg.ref("multilayer")), timeout=PULL_TIMEOUT))
        self.assertGreaterEqual(len(events), 2, events)
        final = events[-1]
        self.assertEqual(final.image_ref, self.pinned_ref(self.reg, "multilayer"))
        self.assertEqual(final.image_id, self.image_id("multilayer"))
        self.assertEqual(final.digest, "")
        progress = events[:-1]
        self.assertTrue(all(e.digest and not e.image_ref for e in progress), progress)
        self.assertTrue(any(e.total > 0 for e in progress), progress)
        layers = {l["digest"]: l["size"] for l in self.info("multilayer")["layers"]}
        for e in progress:
            self.assertIn(e.digest, layers)
            self.assertLessEqual(e.done, e.total)
            self.assertEqual(e.total, layers[e.digest])
        # Each layer's last event says it is complete.
        last = {}
        for e in progress:
            last[e.digest] = e
        self.assertEqual(set(last), set(layers))
        for d, e in last.items():
            self.assertEqual(e.done, layers[d])

    def test_pull_stream_grpc_errors(self):
        ch = self.srv.channel()
        stub = ch.unary_stream("/libcrio.v1.Images/Pull",
                               request_serializer=libcrio.PullRequest.SerializeToString,
                               response_deserializer=libcrio.PullEvent.FromString)
        with self.assertRaises(grpc.RpcError) as cm:
            list(stub(libcrio.PullRequest(image=self.reg.ref("no-such-image")), timeout=PULL_TIMEOUT))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND, cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            list(stub(libcrio.PullRequest(image=""), timeout=PULL_TIMEOUT))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as cm:
            list(stub(libcrio.PullRequest(image=self.basic.ref("busybox"), username="testuser",
                                          password="wrong"), timeout=PULL_TIMEOUT))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_pull_client_goes_away(self):
        # A client that cancels after the first event: the pull still completes
        # on the server, which keeps serving.
        srv, ep = self.fresh_server()
        ch = srv.channel()
        stub = ch.unary_stream("/libcrio.v1.Images/Pull",
                               request_serializer=libcrio.PullRequest.SerializeToString,
                               response_deserializer=libcrio.PullEvent.FromString)
        it = stub(libcrio.PullRequest(image=self.reg.ref("multilayer")), timeout=PULL_TIMEOUT)
        next(it)
        it.cancel()
        wait_for(lambda: self.list_ids(srv) == [self.image_id("multilayer")], 60, "the pull to complete")
        r = self.ctl("images", "-q", endpoint=ep)
        self.assertEqual(r.stdout.split(), [self.image_id("multilayer")])

    # -- images

    def test_images(self):
        self.pull("busybox")
        self.pull("multilayer")
        ids = self.list_ids(self.srv)
        r = self.ctl("images", "-q")
        self.assertEqual(sorted(r.stdout.split()), ids)
        self.assertIn(self.image_id("busybox"), ids)

        r = self.ctl("images")
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$")
        rows = [ln.split() for ln in lines[1:]]
        want = [self.reg.host + "/busybox", "1", self.image_id("busybox")[:13]]
        row = next((x for x in rows if x[:3] == want), None)
        self.assertIsNotNone(row, r.stdout)
        self.assertRegex(row[3], r"^\d+(\.\d+)?(B|kB|MB|GB)$")
        # Columns line up: each header starts where its values start.
        col = lines[0].index("IMAGE ID")
        for ln in lines[1:]:
            self.assertRegex(ln[col:], r"^[0-9a-f]{13}\s")

        r = self.ctl("images", "--digests")
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^IMAGE\s+TAG\s+DIGEST\s+IMAGE ID\s+SIZE$")
        digest = self.info("busybox")["manifest_digest"].split(":", 1)[1]
        self.assertTrue(any(ln.split()[:4] == want[:2] + [digest[:13], want[2]] for ln in lines[1:]), r.stdout)
        r = self.ctl("images", "--digests", "--no-trunc")
        self.assertIn(self.info("busybox")["manifest_digest"], r.stdout)
        self.assertIn(self.image_id("busybox"), r.stdout)

        doc = self.parse_json(self.ctl("images", "-o", "json").stdout)
        self.assertEqual(sorted(i["id"] for i in doc["images"]), ids)
        img = next(i for i in doc["images"] if i["id"] == self.image_id("busybox"))
        self.assertIn(self.reg.ref("busybox"), img["repoTags"])
        self.assertIn(self.pinned_ref(self.reg, "busybox"), img["repoDigests"])
        self.assertGreater(int(img["size"]), 0)
        self.assertIn("pinned", img)
        doc2 = self.parse_json(self.ctl("-o", "json", "images").stdout)
        self.assertEqual(doc2, doc)

        # A filter: only that image; "image" (without import) lists too; -v.
        r = self.ctl("images", "-q", self.reg.ref("multilayer"))
        self.assertEqual(r.stdout.split(), [self.image_id("multilayer")])
        r = self.ctl("image", "-q", self.reg.ref("busybox"))
        self.assertEqual(r.stdout.split(), [self.image_id("busybox")])
        r = self.ctl("img", "-q", "example.com/nothing/here:1")
        self.assertEqual(r.stdout, "")
        r = self.ctl("images", "-v", self.reg.ref("multilayer"))
        self.assertIn("ID: %s\n" % self.image_id("multilayer"), r.stdout)
        self.assertIn("RepoTags: %s\n" % self.reg.ref("multilayer"), r.stdout)
        self.assertIn("Uid: value:1000\n", r.stdout)

    # -- inspecti

    def test_inspecti(self):
        self.pull("multilayer")
        doc = self.parse_json(self.ctl("inspecti", self.reg.ref("multilayer")).stdout)
        self.assertEqual(doc["status"]["id"], self.image_id("multilayer"))
        self.assertIn(self.reg.ref("multilayer"), doc["status"]["repoTags"])
        self.assertEqual(doc["status"]["uid"], {"value": "1000"})
        want_user = self.info("multilayer")["config"]["User"]
        self.assertEqual(want_user, "1000:1000")
        self.assertEqual(doc["info"]["imageSpec"]["config"]["User"], want_user)
        # By id; several images give an array; -q leaves the info out.
        self.pull("busybox")
        docs = self.parse_json(self.ctl("inspecti", self.image_id("multilayer"), self.reg.ref("busybox")).stdout)
        self.assertEqual([d["status"]["id"] for d in docs], [self.image_id("multilayer"), self.image_id("busybox")])
        doc = self.parse_json(self.ctl("inspecti", "-q", self.image_id("busybox")).stdout)
        self.assertEqual(list(doc), ["status"])
        r = self.ctl("inspecti", "-o", "table", self.reg.ref("busybox"))
        self.assertIn("ID: %s\n" % self.image_id("busybox"), r.stdout)
        self.assertIn("Tag: %s\n" % self.reg.ref("busybox"), r.stdout)
        self.assertRegex(r.stdout, r"(?m)^Size: \d+(\.\d+)?(B|kB|MB)$")

    def test_inspecti_absent(self):
        r = self.ctl_fails("inspecti", "example.com/no/such:image")
        self.assertIn('no such image "example.com/no/such:image" present', r.stderr)
        self.assertEqual(r.stdout, "")

    # -- rmi

    def test_rmi(self):
        name = "example.com/rmi/busybox:gone"
        self.ctl("image", "import", "--name", name, self.info("busybox")["layout"])
        self.assertEqual(self.ctl("images", "-q", name).stdout.split(), [self.image_id("busybox")])
        r = self.ctl("rmi", name)
        self.assertEqual(r.stdout, "Deleted: %s\n" % name)
        self.assertEqual(self.ctl("images", "-q", name).stdout, "")
        r = self.ctl_fails("inspecti", name)
        self.assertIn("no such image", r.stderr)
        r = self.ctl_fails("rmi", name)
        self.assertIn("no such image %s" % name, r.stderr)

    def test_rmi_all(self):
        srv, ep = self.fresh_server()
        self.pull("busybox", endpoint=ep)
        self.ctl("image", "import", "--name", "example.com/all/multilayer:1", self.info("multilayer")["layout"],
                 endpoint=ep)
        self.assertEqual(len(self.list_ids(srv)), 2)
        r = self.ctl("rmi", "--all", endpoint=ep)
        self.assertEqual(sorted(r.stdout.splitlines()),
                         sorted(["Deleted: " + self.reg.ref("busybox"), "Deleted: example.com/all/multilayer:1"]))
        self.assertEqual(self.list_ids(srv), [])
        r = self.ctl("rmi", "-a", endpoint=ep)
        self.assertEqual(r.stdout, "")
        self.assertIn("No images to remove", r.stderr)
        r = self.ctl_fails("rmi", endpoint=ep)
        self.assertIn("no image given", r.stderr)

    # -- imagefsinfo

    def test_imagefsinfo(self):
        self.pull("busybox")
        doc = self.parse_json(self.ctl("imagefsinfo").stdout)
        fss = doc["status"]["imageFilesystems"]
        self.assertEqual(len(fss), 1)
        self.assertTrue(fss[0]["fsId"]["mountpoint"].startswith("/"), fss[0])
        self.assertGreater(int(fss[0]["usedBytes"]["value"]), 0)
        self.assertGreater(int(fss[0]["inodesUsed"]["value"]), 0)
        self.assertGreater(int(fss[0]["timestamp"]), 0)
        self.assertEqual(doc["status"]["containerFilesystems"], [])
        r = self.ctl("imagefsinfo", "-o", "table")
        self.assertIn("Image Filesystem", r.stdout)
        self.assertRegex(r.stdout, r"(?m)^Mountpoint\[0\]: /")

    # -- image import

    def test_image_import(self):
        srv, ep = self.fresh_server()
        name = "example.com/imported/busybox:test"
        layout = self.info("busybox")["layout"]
        r = self.ctl("image", "import", layout, "--name", name, endpoint=ep)
        self.assertEqual(r.stdout, self.image_id("busybox") + "\n")
        self.assertEqual(r.stderr, "")
        r = self.ctl("images", endpoint=ep)
        self.assertRegex(r.stdout, r"(?m)^example\.com/imported/busybox\s+test\s+%s\s"
                         % self.image_id("busybox")[:13])
        # Nothing was pulled: the image's only name is the imported one.
        doc = self.parse_json(self.ctl("images", "-o", "json", endpoint=ep).stdout)
        self.assertEqual([i["repoTags"] for i in doc["images"]], [[name]])
        # A relative path is taken from crioctl's working directory.
        r = self.ctl("image", "import", "--name", "example.com/imported/multilayer:rel", "multilayer",
                     endpoint=ep, cwd=FIXTURES)
        self.assertEqual(r.stdout, self.image_id("multilayer") + "\n")
        doc = self.parse_json(self.ctl("image", "import", "-o", "json", "--name", name, layout,
                                       endpoint=ep).stdout)
        self.assertEqual(doc["imageId"], self.image_id("busybox"))
        self.assertEqual(doc["repoTags"], [name])

    def test_image_import_missing_path(self):
        missing = os.path.join(self.confdir, "no-such-layout")
        r = self.ctl_fails("image", "import", missing)
        self.assertIn(missing, r.stderr)
        self.assertRegex(r.stderr, r"crioctl: image import: [A-Z_]+: ")
        self.assertEqual(r.stdout, "")
        r = self.ctl_fails("image", "import")
        self.assertIn("no path given", r.stderr)

    def test_image_import_grpc_relative_path(self):
        ch = self.srv.channel()
        with self.assertRaises(grpc.RpcError) as cm:
            call(ch, "/libcrio.v1.Images/Import", libcrio.ImportRequest(path="relative/dir"),
                 response=libcrio.ImportResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_help_lists_image_commands(self):
        r = run_tool([CRIOCTL, "--help"])
        for c in ("pull", "images", "image", "inspecti", "rmi", "imagefsinfo"):
            self.assertRegex(r.stdout, r"(?m)^  %s\b" % c)


if __name__ == "__main__":
    unittest.main()
