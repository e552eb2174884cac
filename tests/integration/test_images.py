"""The CRI ImageService against real registries: PullImage, ListImages,
ImageStatus, RemoveImage and ImageFsInfo over gRPC, with the fixture images
of tests/fixtures (docker-registry on 127.0.0.1: anonymous, htpasswd basic,
Bearer token; a static registry for what distribution refuses to serve) and
a small in-test registry (FakeRegistry) whose blob answers a test controls:
cut short, or held at a gate until the test opens it.

Every server points at a registries.conf written for its class
(`[crio.image] registries_conf`), where the local registries are
`insecure = true` (plain HTTP).  The unpacked layers are checked through a
read-only overlayfs mount of the image's layer dirs (the tests run as root).

No fixed sleeps: waits poll a condition until a deadline.
"""

import base64
import contextlib
import hashlib
import http.server
import io
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import types
import unittest
import urllib.parse

import grpc

from helpers import BUILD, REPO, CrioTestCase, api, call, make_tmp, wait_for

sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import images as fx  # noqa: E402
import registry as fxreg  # noqa: E402

IMAGE_SERVICE = "/runtime.v1.ImageService/"
PULL_TIMEOUT = 120.0
FIXTURE_DIR = os.path.join(BUILD, "fixture-images")
MIRROR_NAME = "e2e-test-images/busybox"     # busybox:1 pushed again under this path
MIRROR_TAG = "1.29-4"
PUBLIC = "registry.k8s.io"

# Shared by every class of this module (started in setUpModule, in the main thread).
IMGS = {}
REG = None          # anonymous docker-registry with every fixture image
STATIC = None       # StaticRegistry: unknownmedia:1, bigmanifest:1


def setUpModule():
    global IMGS, REG, STATIC
    fxreg.cleanup_on_signals()
    IMGS = fx.build(FIXTURE_DIR)
    try:
        REG = fxreg.Registry(auth="none").start()
        REG.push_images(IMGS)
        bb = IMGS["busybox:1"]["layout"]
        REG.push_raw(bb, "1", "busybox", dest_tag="2")          # the same image under a second tag
        REG.push_raw(bb, "1", "alias/busybox")                  # ... and under another name
        REG.push_raw(bb, "1", MIRROR_NAME, dest_tag=MIRROR_TAG)  # what a mirror of registry.k8s.io serves
        STATIC = fxreg.StaticRegistry().start()
        STATIC.httpd.handle_error = lambda *a: None    # crio-server hangs up on bigmanifest: no traceback
        for name in ("unknownmedia", "bigmanifest"):
            STATIC.push_layout(IMGS[name + ":1"]["layout"], "1", name)
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    global REG, STATIC
    for r in (REG, STATIC):
        if r is not None:
            r.stop()
    REG = STATIC = None


# ---------------------------------------------------------------- CRI calls

def pull(ch, ref, auth=None, timeout=PULL_TIMEOUT, sandbox_config=None):
    req = api.PullImageRequest(image=api.ImageSpec(image=ref))
    if auth is not None:
        req.auth.CopyFrom(api.AuthConfig(**auth))
    if sandbox_config is not None:
        req.sandbox_config.CopyFrom(sandbox_config)
    return call(ch, IMAGE_SERVICE + "PullImage", req, timeout=timeout).image_ref


def pull_future(ch, ref, timeout=PULL_TIMEOUT):
    stub = ch.unary_unary(IMAGE_SERVICE + "PullImage",
                          request_serializer=api.PullImageRequest.SerializeToString,
                          response_deserializer=api.PullImageResponse.FromString)
    return stub.future(api.PullImageRequest(image=api.ImageSpec(image=ref)), timeout=timeout)


def list_images(ch, filt=None):
    req = api.ListImagesRequest()
    if filt is not None:
        req.filter.image.image = filt
    return list(call(ch, IMAGE_SERVICE + "ListImages", req).images)


def image_status(ch, name, verbose=False):
    return call(ch, IMAGE_SERVICE + "ImageStatus",
                api.ImageStatusRequest(image=api.ImageSpec(image=name), verbose=verbose))


def remove_image(ch, name):
    return call(ch, IMAGE_SERVICE + "RemoveImage", api.RemoveImageRequest(image=api.ImageSpec(image=name)))


def fs_info(ch):
    r = call(ch, IMAGE_SERVICE + "ImageFsInfo", api.ImageFsInfoRequest())
    assert len(r.image_filesystems) == 1, r
    return r.image_filesystems[0]


def images_view(ch):
    """ListImages as comparable data: sorted (id, tags, digests, size, uid, username, pinned)."""
    return sorted((i.id, tuple(sorted(i.repo_tags)), tuple(sorted(i.repo_digests)), i.size,
                   i.uid.value if i.HasField("uid") else None, i.username, i.pinned)
                  for i in list_images(ch))


# ---------------------------------------------------------------- configuration

def registries_conf(text):
    d = make_tmp(prefix="crio-it-regs-")
    path = os.path.join(d, "registries.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def insecure(host):
    return '[[registry]]\nlocation = "%s"\ninsecure = true\n\n' % host


def crio_config(regs_path, downloads=None):
    text = '[crio.image]\nregistries_conf = "%s"\n' % regs_path
    if downloads is not None:
        text += "max_concurrent_downloads = %d\n" % downloads
    return text


def unused_port():
    """A port nothing listens on (bound then released: connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the store on disk

def hexof(digest):
    return digest.split(":", 1)[1]


def chain_ids(diff_ids):
    out = []
    for d in diff_ids:
        out.append(d if not out else "sha256:" + hashlib.sha256(("%s %s" % (out[-1], d)).encode()).hexdigest())
    return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def image_record(root, image_id):
    with open(os.path.join(root, "images", image_id + ".json")) as f:
        return json.load(f)


def layer_dirs(root):
    return sorted(os.listdir(os.path.join(root, "layers")))


def leftovers(root):
    """What an interrupted or failed pull may leave: ROOT/tmp entries and ROOT/layers/.tmp-*."""
    tmp = [os.path.join("tmp", n) for n in os.listdir(os.path.join(root, "tmp"))]
    lt = [os.path.join("layers", n) for n in os.listdir(os.path.join(root, "layers")) if n.startswith(".tmp-")]
    return sorted(tmp + lt)


def snapshot(srv, ch):
    root = srv.root
    return types.SimpleNamespace(images=images_view(ch), layers=layer_dirs(root),
                                 blobs=set(os.listdir(os.path.join(root, "blobs", "sha256"))),
                                 records=sorted(os.listdir(os.path.join(root, "images"))))


def mountpoint_of(path):
    p = os.path.realpath(path)
    while not os.path.ismount(p):
        p = os.path.dirname(p)
    return p


def tree_usage(root):
    """Bytes (allocated) and inodes under ROOT/{blobs,layers,images}, hard links once."""
    seen, nbytes, inodes = set(), 0, 0
    for sub in ("blobs", "layers", "images"):
        top = os.path.join(root, sub)
        for dirpath, dirnames, filenames in os.walk(top):
            for n in dirnames + filenames:
                st = os.lstat(os.path.join(dirpath, n))
                if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                    if st.st_ino in seen:
                        continue
                    seen.add(st.st_ino)
                nbytes += st.st_blocks * 512
                inodes += 1
    return nbytes, inodes


@contextlib.contextmanager
def mounted_rootfs(root, image_id):
    """The image's rootfs as a read-only overlayfs of its layer dirs (top first)."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("mounting overlayfs needs root")
    rec = image_record(root, image_id)
    diffs = [os.path.join(root, "layers", hexof(c), "diff") for c in rec["layers"]]
    mnt = tempfile.mkdtemp(prefix="crio-it-mnt-", dir="/tmp")
    empty = tempfile.mkdtemp(prefix="crio-it-empty-", dir="/tmp")  # overlayfs wants 2 lowers without upper
    try:
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            "ro,lowerdir=" + ":".join(list(reversed(diffs)) + [empty]), mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("mount overlay of %s failed: %s" % (image_id, r.stderr))
        try:
            yield mnt
        finally:
            r = subprocess.run(["umount", mnt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", mnt], timeout=30)
    finally:
        # rmdir, never rmtree: a mount that did not go away must not be emptied.
        for d in (mnt, empty):
            try:
                os.rmdir(d)
            except OSError:
                pass


# ---------------------------------------------------------------- images made in the test

def make_image(layers, cfg=None, user=None, config_mutate=None, manifest_mutate=None):
    """An image in memory.  layers: [(entries | raw tar bytes, "gzip"|"zstd"|"none")].
    Returns a namespace: manifest (bytes), manifest_digest, manifest_type, config,
    config_digest, id, blobs {digest: bytes}, layers (descriptors), diff_ids, chain_ids."""
    blobs, descs, diff_ids = {}, [], []
    for content, comp in layers:
        if isinstance(content, (bytes, bytearray)):
            raw = bytes(content)
        else:
            buf = io.BytesIO()
            fx.write_tar(content, buf)
            raw = buf.getvalue()
        diff_ids.append(fx.sha256_bytes(raw))
        if comp == "gzip":
            blob, mt = fx.gzip_bytes(raw, level=1), fx.MT_OCI_LAYER_GZIP
        elif comp == "zstd":
            blob, mt = fx.zstd_bytes(raw), fx.MT_OCI_LAYER_ZSTD
        else:
            blob, mt = raw, "application/vnd.oci.image.layer.v1.tar"
        d = fx.sha256_bytes(blob)
        blobs[d] = blob
        descs.append({"mediaType": mt, "digest": d, "size": len(blob)})
    c = dict(cfg or {"Env": [fx.PATH_ENV], "Cmd": ["sh"]})
    if user is not None:
        c["User"] = user
    config = fx.oci_config(diff_ids, c)
    if config_mutate:
        config_mutate(config)
    config_bytes = fx.canonical_json(config)
    cdesc = {"mediaType": fx.MT_OCI_CONFIG, "digest": fx.sha256_bytes(config_bytes), "size": len(config_bytes)}
    blobs[cdesc["digest"]] = config_bytes
    man = fx.oci_manifest(cdesc, descs)
    if manifest_mutate:
        manifest_mutate(man)
    mbytes = fx.canonical_json(man)
    return types.SimpleNamespace(manifest=mbytes, manifest_digest=fx.sha256_bytes(mbytes),
                                 manifest_type=fx.MT_OCI_MANIFEST, config=config_bytes,
                                 config_digest=cdesc["digest"], id=hexof(cdesc["digest"]), blobs=blobs,
                                 layers=descs, diff_ids=diff_ids, chain_ids=chain_ids(diff_ids))


def random_file_layer(path, size, seed):
    return [fx.F(path, random.Random(seed).randbytes(size))]


def layer_tar(info, desc):
    """The uncompressed tar of a fixture layer (from its OCI layout)."""
    with open(os.path.join(info["layout"], "blobs", "sha256", hexof(desc["digest"])), "rb") as f:
        blob = f.read()
    if desc["media_type"].endswith("+zstd"):
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=blob, stdout=subprocess.PIPE, check=True).stdout
    if desc["media_type"].endswith("gzip"):
        import gzip
        return gzip.decompress(blob)
    return blob


def implicit_parents(info):
    """Directories that a layer above the first does not declare but has entries
    under, which a lower layer declares: {path: index of the layer}.  How these
    look in the rootfs is the subject of test_implicit_parent_dirs_keep_lower_metadata."""
    declared, out = set(), {}
    for i, desc in enumerate(info["layers"]):
        with tarfile.open(fileobj=io.BytesIO(layer_tar(info, desc))) as tf:
            names = ["/" + m.name.strip("/").lstrip("./") for m in tf.getmembers()]
        here = set(names)
        for n in names:
            d = os.path.dirname(n)
            while d != "/":
                if d not in here and d in declared:
                    out.setdefault(d, i)
                d = os.path.dirname(d)
        declared |= here
    return out


class FakeRegistry:
    """The registry API v2 (anonymous, read-only, plain HTTP on 127.0.0.1) for
    images from make_image(), with per-blob behaviour:
      truncate(digest): Content-Length is the whole blob, half of it is sent,
                        then the connection is closed;
      gate(digest):     half is sent, then the answer waits until the returned
                        threading.Event is set (or the client goes away).
    `requests` logs (method, path); `at_gate` counts answers waiting at a gate."""

    def __init__(self):
        self.manifests = {}
        self.blobs = {}
        self.modes = {}
        self.requests = []
        self.at_gate = {}
        self.cv = threading.Condition()
        self.httpd = None
        self.gates = []

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def ref(self, name, tag="1"):
        return "%s/%s:%s" % (self.host, name, tag)

    def add_image(self, name, tag, img):
        self.blobs.update(img.blobs)
        self.manifests[(name, tag)] = (img.manifest, img.manifest_type)
        self.manifests[(name, img.manifest_digest)] = (img.manifest, img.manifest_type)
        return self.ref(name, tag)

    def truncate(self, digest):
        self.modes[digest] = ("truncate", None)

    def gate(self, digest):
        ev = threading.Event()
        self.gates.append(ev)
        self.modes[digest] = ("gate", ev)
        return ev

    def count(self, suffix, method="GET"):
        with self.cv:
            return sum(1 for m, p in self.requests if m == method and p.endswith(suffix))

    def start(self):
        reg = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _head(self, status, ctype, length, extra=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(length))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()

            def _serve(self, head):
                with reg.cv:
                    reg.requests.append((self.command, self.path))
                    reg.cv.notify_all()
                path = urllib.parse.urlsplit(self.path).path
                if path in ("/v2", "/v2/"):
                    self._head(200, "application/json", 2)
                    return None if head else self.wfile.write(b"{}")
                parts = path[len("/v2/"):].split("/") if path.startswith("/v2/") else []
                if len(parts) >= 3 and parts[-2] == "manifests" and ("/".join(parts[:-2]), parts[-1]) in reg.manifests:
                    body, ct = reg.manifests[("/".join(parts[:-2]), parts[-1])]
                    self._head(200, ct, len(body), {"Docker-Content-Digest": fx.sha256_bytes(body)})
                    return None if head else self.wfile.write(body)
                if len(parts) >= 3 and parts[-2] == "blobs" and parts[-1] in reg.blobs:
                    d = parts[-1]
                    body = reg.blobs[d]
                    self._head(200, "application/octet-stream", len(body), {"Docker-Content-Digest": d})
                    if head:
                        return None
                    mode, ev = reg.modes.get(d, (None, None))
                    if mode is None:
                        return self.wfile.write(body)
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    if mode == "truncate":
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return None
                    with reg.cv:
                        reg.at_gate[d] = reg.at_gate.get(d, 0) + 1
                        reg.cv.notify_all()
                    try:
                        ev.wait(PULL_TIMEOUT)
                        self.wfile.write(body[len(body) // 2:])
                    finally:
                        with reg.cv:
                            reg.at_gate[d] -= 1
                            reg.cv.notify_all()
                    return None
                err = json.dumps({"errors": [{"code": "NOT_FOUND", "message": "not here"}]}).encode()
                self._head(404, "application/json", len(err))
                return None if head else self.wfile.write(err)

            def do_GET(self):
                self._serve(False)

            def do_HEAD(self):
                self._serve(True)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # clients that go away (a killed crio-server) are expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="fake-registry", daemon=True).start()
        return self

    def stop(self):
        for ev in self.gates:
            ev.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


# ---------------------------------------------------------------- test case base

class ImageTestCase(CrioTestCase):
    """Assertions shared by the image tests.  Servers are stopped with SIGTERM at
    the end and must exit with status 0 (a sanitizer build exits non-zero when
    LeakSanitizer finds a leak)."""

    @classmethod
    def class_server(cls, **kw):
        s = super().class_server(**kw)
        cls.addClassCleanup(cls._checked_stop, s)    # runs before the close() registered above
        return s

    def server(self, **kw):
        s = super().server(**kw)
        self.addCleanup(self._checked_stop, s)
        return s

    @staticmethod
    def _checked_stop(s):
        if s.running():
            s.stop()

    @classmethod
    def regs_conf(cls, extra=""):
        return registries_conf(insecure(REG.host) + insecure(STATIC.host) + extra)

    def assertStoreClean(self, srv):
        self.assertEqual(leftovers(srv.root), [], "temporaries left in the store")

    def assertStoreUnchanged(self, before, srv, ch, allowed_blobs=()):
        """ListImages, layer dirs and records are as before, no temporaries; the
        only new blobs are complete ones from `allowed_blobs` (a failed pull may
        keep the verified config it fetched: see the report), none went away."""
        after = snapshot(srv, ch)
        self.assertEqual(after.images, before.images, "ListImages changed")
        self.assertEqual(after.records, before.records, "image records changed")
        self.assertEqual(after.layers, before.layers, "layer dirs changed")
        self.assertStoreClean(srv)
        self.assertEqual(before.blobs - after.blobs, set(), "blobs went away")
        new = after.blobs - before.blobs
        self.assertLessEqual(new, {hexof(d) for d in allowed_blobs}, "unexpected new blobs")
        for h in new:
            self.assertEqual(sha256_file(os.path.join(srv.root, "blobs", "sha256", h)), h, "partial blob %s" % h)

    def assertPullFails(self, ch, ref, code, pattern=None, auth=None, timeout=PULL_TIMEOUT):
        return self.assertRpcError(lambda: pull(ch, ref, auth=auth, timeout=timeout), code, pattern)

    def check_rootfs(self, mnt, files, absent, skip_metadata=()):
        hashes = {}
        for path, f in sorted(files.items()):
            with self.subTest(path=path):
                p = mnt + path
                self.assertTrue(os.path.lexists(p), "%s is missing" % path)
                st = os.lstat(p)
                kind = f["type"]
                if kind == "dir":
                    self.assertTrue(stat.S_ISDIR(st.st_mode), "%s is not a directory" % path)
                elif kind == "symlink":
                    self.assertTrue(stat.S_ISLNK(st.st_mode), "%s is not a symlink" % path)
                    self.assertEqual(os.readlink(p), f["target"])
                else:
                    self.assertTrue(stat.S_ISREG(st.st_mode), "%s is not a regular file" % path)
                    self.assertEqual(st.st_size, f["size"])
                    if st.st_ino not in hashes:
                        hashes[st.st_ino] = sha256_file(p)
                    self.assertEqual(hashes[st.st_ino], f["sha256"])
                    self.assertEqual(st.st_mtime, fx.MTIME, "%s: mtime" % path)
                if "content" in f:
                    with open(p, "rb") as fh:
                        self.assertEqual(fh.read(), f["content"].encode())
                if path in skip_metadata:
                    continue
                if kind != "symlink":
                    self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(f["mode"]), "%s: mode" % path)
                self.assertEqual((st.st_uid, st.st_gid), (f["uid"], f["gid"]), "%s: owner" % path)
                if kind == "hardlink":
                    tst = os.lstat(mnt + f["target"])
                    self.assertEqual(st.st_ino, tst.st_ino, "%s is not a hard link of %s" % (path, f["target"]))
                    self.assertGreater(st.st_nlink, 1)
        for path in absent:
            self.assertFalse(os.path.lexists(mnt + path), "%s should be hidden" % path)


# ---------------------------------------------------------------- 1. pull each fixture image

PULLED = ("busybox:1", "multilayer:1", "multiarch:1", "docker2:1")


class PullFixturesTest(ImageTestCase):
    """Each fixture image pulled once (class setup); the tests check what was stored."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(config=crio_config(cls.regs_conf()))
        cls.ch = cls.srv.channel()
        cls.refs = {}
        for name in PULLED:
            cls.refs[name] = pull(cls.ch, REG.ref(name.split(":")[0]))

    def info(self, name):
        return IMGS[name]

    def expected_digest(self, name):
        i = self.info(name)
        return i["index_digest"] if i["kind"] == "index" else i["manifest_digest"]

    def test_image_ref_is_the_manifest_digest(self):
        for name in PULLED:
            with self.subTest(image=name):
                # For an index, the index digest: what the registry serves for the tag,
                # the same on every platform (stable for the kubelet).
                self.assertEqual(self.refs[name], "%s/%s@%s" % (REG.host, name.split(":")[0],
                                                               self.expected_digest(name)))

    def test_list_images(self):
        imgs = {i.id: i for i in list_images(self.ch)}
        self.assertEqual(sorted(imgs), sorted(hexof(self.info(n)["config_digest"]) for n in PULLED))
        for name in PULLED:
            with self.subTest(image=name):
                short = name.split(":")[0]
                img = imgs[hexof(self.info(name)["config_digest"])]
                self.assertEqual(list(img.repo_tags), ["%s/%s:1" % (REG.host, short)])
                self.assertEqual(list(img.repo_digests), ["%s/%s@%s" % (REG.host, short, self.expected_digest(name))])
                self.assertGreater(img.size, sum(l["size"] for l in self.info(name)["layers"]) // 2)
                self.assertFalse(img.pinned)
                self.assertTrue(img.HasField("uid"))
                self.assertEqual(img.uid.value, 1000 if name == "multilayer:1" else 0)
                self.assertEqual(img.username, "")

    def test_list_images_filter(self):
        got = list_images(self.ch, REG.ref("multilayer"))
        self.assertEqual([i.id for i in got], [hexof(self.info("multilayer:1")["config_digest"])])
        self.assertEqual(list_images(self.ch, REG.ref("nosuchimage")), [])

    def test_image_status_by_every_name(self):
        for name in PULLED:
            short = name.split(":")[0]
            want = hexof(self.info(name)["config_digest"])
            for key in (REG.ref(short), want, want[:12], "sha256:" + want, self.refs[name]):
                with self.subTest(image=name, key=key):
                    r = image_status(self.ch, key)
                    self.assertTrue(r.HasField("image"))
                    self.assertEqual(r.image.id, want)
                    self.assertEqual(len(r.info), 0)

    def test_image_status_uid_and_verbose_config(self):
        for name in PULLED:
            with self.subTest(image=name):
                r = image_status(self.ch, REG.ref(name.split(":")[0]), verbose=True)
                self.assertEqual(r.image.uid.value, 1000 if name == "multilayer:1" else 0)
                self.assertEqual(r.image.username, "")
                spec = json.loads(r.info["info"])["imageSpec"]
                self.assertEqual(spec["config"], self.info(name)["config"])
                self.assertEqual(spec["rootfs"]["diff_ids"], self.info(name)["diff_ids"])
                self.assertEqual((spec["os"], spec["architecture"]), ("linux", "amd64"))

    def test_layer_store(self):
        root = self.srv.root
        want_dirs = set()
        for name in PULLED:
            with self.subTest(image=name):
                info = self.info(name)
                rec = image_record(root, hexof(info["config_digest"]))
                chains = chain_ids(info["diff_ids"])
                self.assertEqual(rec["layers"], chains)
                for i, c in enumerate(chains):
                    want_dirs.add(hexof(c))
                    with open(os.path.join(root, "layers", hexof(c), "layer.json")) as f:
                        meta = json.load(f)
                    self.assertEqual(meta["diff_id"], info["diff_ids"][i])
                    self.assertEqual(meta["parent"], chains[i - 1] if i else "")
        # busybox, multiarch and docker2 share the busybox layer: one dir for it.
        self.assertEqual(layer_dirs(root), sorted(want_dirs))
        self.assertStoreClean(self.srv)

    def test_no_whiteout_files_left_in_layers(self):
        for dirpath, dirnames, filenames in os.walk(os.path.join(self.srv.root, "layers")):
            for n in dirnames + filenames:
                self.assertFalse(n.startswith(".wh."), os.path.join(dirpath, n))

    def check_image_rootfs(self, name, files=None):
        info = self.info(name)
        with mounted_rootfs(self.srv.root, hexof(info["config_digest"])) as mnt:
            self.check_rootfs(mnt, files or info["files"], info["absent"], implicit_parents(info))

    def test_rootfs_busybox(self):
        self.check_image_rootfs("busybox:1")

    def test_rootfs_multilayer(self):
        info = self.info("multilayer:1")
        self.assertIn("/opt/removed.txt", info["absent"])
        self.assertIn("/opt/data/a.txt", info["absent"])
        self.check_image_rootfs("multilayer:1")

    def test_rootfs_multiarch_amd64(self):
        info = self.info("multiarch:1")
        self.assertEqual(info["files"]["/arch"]["content"], "linux/amd64\n")
        self.check_image_rootfs("multiarch:1", info["platforms"]["linux/amd64"]["files"])

    def test_rootfs_docker2(self):
        self.check_image_rootfs("docker2:1")

    def test_multilayer_overlay_whiteouts_on_disk(self):
        """Layer 2 as unpacked: whiteouts are 0/0 char devices, the opaque dir has trusted.overlay.opaque."""
        info = self.info("multilayer:1")
        l2 = os.path.join(self.srv.root, "layers", hexof(chain_ids(info["diff_ids"])[1]), "diff")
        for wh in ("opt/removed.txt", "opt/gone"):
            st = os.lstat(os.path.join(l2, wh))
            self.assertTrue(stat.S_ISCHR(st.st_mode), wh)
            self.assertEqual(st.st_rdev, 0, wh)
        self.assertEqual(os.getxattr(os.path.join(l2, "opt/data"), "trusted.overlay.opaque", follow_symlinks=False),
                         b"y")
        self.assertTrue(os.path.isfile(os.path.join(l2, "opt/data/new.txt")))


# ---------------------------------------------------------------- 2. digests, tags, removal

class TagsAndRemoveTest(ImageTestCase):
    """Each test has its own server and store."""

    @classmethod
    def setUpClass(cls):
        cls.conf = crio_config(cls.regs_conf())

    def setUp(self):
        super().setUp()
        self.srv = self.server(config=self.conf)
        self.ch = self.srv.channel()

    def test_pull_by_digest(self):
        info = IMGS["busybox:1"]
        ref = "%s/busybox@%s" % (REG.host, info["manifest_digest"])
        self.assertEqual(pull(self.ch, ref), ref)
        [img] = list_images(self.ch)
        self.assertEqual(img.id, hexof(info["config_digest"]))
        self.assertEqual(list(img.repo_tags), [])          # pulled by digest: no tag
        self.assertEqual(list(img.repo_digests), [ref])
        self.assertEqual(image_status(self.ch, ref).image.id, img.id)
        self.assertFalse(image_status(self.ch, REG.ref("busybox")).HasField("image"))
        # Then by tag: the same image gains the tag.
        self.assertEqual(pull(self.ch, REG.ref("busybox")), ref)
        [img] = list_images(self.ch)
        self.assertEqual(list(img.repo_tags), [REG.ref("busybox")])
        self.assertEqual(list(img.repo_digests), [ref])

    def test_pull_by_wrong_digest_is_not_found(self):
        ref = "%s/busybox@sha256:%s" % (REG.host, "0" * 64)
        before = snapshot(self.srv, self.ch)
        self.assertPullFails(self.ch, ref, grpc.StatusCode.NOT_FOUND)
        self.assertStoreUnchanged(before, self.srv, self.ch)

    def test_multiarch_by_platform_digest(self):
        info = IMGS["multiarch:1"]
        ref = "%s/multiarch@%s" % (REG.host, info["host_manifest_digest"])
        self.assertEqual(pull(self.ch, ref), ref)
        self.assertEqual(pull(self.ch, REG.ref("multiarch")), "%s/multiarch@%s" % (REG.host, info["index_digest"]))
        [img] = list_images(self.ch)
        self.assertEqual(img.id, hexof(info["config_digest"]))
        self.assertEqual(sorted(img.repo_digests),
                         sorted([ref, "%s/multiarch@%s" % (REG.host, info["index_digest"])]))
        for key in (ref, "%s/multiarch@%s" % (REG.host, info["index_digest"]), REG.ref("multiarch")):
            self.assertEqual(image_status(self.ch, key).image.id, img.id, key)

    def test_repull_reuses_layers(self):
        info = IMGS["multilayer:1"]
        ref = pull(self.ch, REG.ref("multilayer"))
        chains = chain_ids(info["diff_ids"])

        def stats():
            out = {}
            for c in chains:
                d = os.path.join(self.srv.root, "layers", hexof(c))
                out[c] = [(s.st_ino, s.st_mtime_ns, s.st_ctime_ns) for s in
                          (os.stat(d), os.stat(os.path.join(d, "diff")), os.stat(os.path.join(d, "layer.json")))]
            return out
        before = stats()
        record_before = image_record(self.srv.root, hexof(info["config_digest"]))
        self.assertEqual(pull(self.ch, REG.ref("multilayer")), ref)
        self.assertEqual(stats(), before, "layers were unpacked again")
        self.assertEqual(image_record(self.srv.root, hexof(info["config_digest"])), record_before)
        self.assertEqual(len(list_images(self.ch)), 1)
        self.assertStoreClean(self.srv)

    def test_two_tags_then_remove(self):
        bb, d2 = IMGS["busybox:1"], IMGS["docker2:1"]
        bb_id, d2_id = hexof(bb["config_digest"]), hexof(d2["config_digest"])
        tag1, tag2, alias = REG.ref("busybox"), REG.ref("busybox", "2"), REG.ref("alias/busybox")
        for ref in (tag1, tag2, alias):
            pull(self.ch, ref)
        pull(self.ch, REG.ref("docker2"))
        imgs = {i.id: i for i in list_images(self.ch)}
        self.assertEqual(sorted(imgs), sorted([bb_id, d2_id]))
        self.assertEqual(sorted(imgs[bb_id].repo_tags), sorted([tag1, tag2, alias]))
        self.assertEqual(sorted(imgs[bb_id].repo_digests),
                         sorted("%s/%s@%s" % (REG.host, n, bb["manifest_digest"]) for n in ("busybox", "alias/busybox")))
        shared = hexof(chain_ids(bb["diff_ids"])[0])
        d2_top = hexof(chain_ids(d2["diff_ids"])[1])
        self.assertEqual(layer_dirs(self.srv.root), sorted([shared, d2_top]))
        layers_before = layer_dirs(self.srv.root)

        # A tag of an image with other tags: only that tag goes.
        remove_image(self.ch, tag2)
        self.assertEqual(sorted(image_status(self.ch, bb_id).image.repo_tags), sorted([tag1, alias]))
        self.assertFalse(image_status(self.ch, tag2).HasField("image"))
        self.assertEqual(layer_dirs(self.srv.root), layers_before)
        remove_image(self.ch, alias)
        self.assertEqual(list(image_status(self.ch, bb_id).image.repo_tags), [tag1])

        # By id: the image goes; its layer stays while docker2 uses it; its blobs go.
        remove_image(self.ch, bb_id)
        self.assertEqual([i.id for i in list_images(self.ch)], [d2_id])
        self.assertFalse(image_status(self.ch, tag1).HasField("image"))
        self.assertFalse(image_status(self.ch, bb_id).HasField("image"))
        self.assertEqual(layer_dirs(self.srv.root), sorted([shared, d2_top]))
        blobs = set(os.listdir(os.path.join(self.srv.root, "blobs", "sha256")))
        self.assertNotIn(hexof(bb["config_digest"]), blobs)
        self.assertNotIn(hexof(bb["manifest_digest"]), blobs)
        self.assertIn(hexof(d2["config_digest"]), blobs)

        # docker2's only tag: the image and every layer go.
        remove_image(self.ch, REG.ref("docker2"))
        self.assertEqual(list_images(self.ch), [])
        self.assertEqual(layer_dirs(self.srv.root), [])
        self.assertEqual(os.listdir(os.path.join(self.srv.root, "blobs", "sha256")), [])
        self.assertStoreClean(self.srv)

    def test_remove_by_digest_and_id_prefix(self):
        bb, ml = IMGS["busybox:1"], IMGS["multilayer:1"]
        pull(self.ch, REG.ref("busybox"))
        pull(self.ch, REG.ref("multilayer"))
        remove_image(self.ch, "%s/busybox@%s" % (REG.host, bb["manifest_digest"]))
        self.assertEqual([i.id for i in list_images(self.ch)], [hexof(ml["config_digest"])])
        self.assertEqual(layer_dirs(self.srv.root), sorted(hexof(c) for c in chain_ids(ml["diff_ids"])))
        remove_image(self.ch, hexof(ml["config_digest"])[:16])
        self.assertEqual(list_images(self.ch), [])
        self.assertEqual(layer_dirs(self.srv.root), [])

    def test_absent_image(self):
        pull(self.ch, REG.ref("busybox"))
        before = snapshot(self.srv, self.ch)
        for name in (REG.ref("nosuchimage"), "docker.io/library/nosuch:latest", "f" * 64, "busybox:1"):
            with self.subTest(name=name):
                r = image_status(self.ch, name)
                self.assertFalse(r.HasField("image"))
                self.assertEqual(len(r.info), 0)
                remove_image(self.ch, name)     # succeeds: absent is not an error for the CRI
        self.assertStoreUnchanged(before, self.srv, self.ch)

    def test_pull_with_sandbox_config(self):
        sb = api.PodSandboxConfig(metadata=api.PodSandboxMetadata(name="p", uid="u", namespace="n"))
        self.assertEqual(pull(self.ch, REG.ref("busybox"), sandbox_config=sb),
                         "%s/busybox@%s" % (REG.host, IMGS["busybox:1"]["manifest_digest"]))


# ---------------------------------------------------------------- 3. concurrent pulls

class ConcurrentPullTest(ImageTestCase):

    def test_same_image_and_shared_layers_at_once(self):
        srv = self.server(config=crio_config(self.regs_conf()))
        chs = [srv.channel() for _ in range(3)]
        refs = [REG.ref("busybox")] * 4 + [REG.ref("docker2"), REG.ref("multiarch")]
        barrier = threading.Barrier(len(refs), timeout=30)
        results, errors = [None] * len(refs), []

        def one(i):
            try:
                barrier.wait()
                results[i] = pull(chs[i % 3], refs[i])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((refs[i], e))
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(refs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(PULL_TIMEOUT)
        self.assertEqual(errors, [])
        want = {}
        for name in ("busybox:1", "docker2:1", "multiarch:1"):
            i = IMGS[name]
            want[REG.ref(name.split(":")[0])] = "%s/%s@%s" % (REG.host, name.split(":")[0], i.get("index_digest") or i["manifest_digest"])
        self.assertEqual(results, [want[r] for r in refs])
        ch = chs[0]
        imgs = list_images(ch)
        self.assertEqual(sorted(i.id for i in imgs),
                         sorted(hexof(IMGS[n]["config_digest"]) for n in ("busybox:1", "docker2:1", "multiarch:1")))
        # One dir per chain id, each complete; every record's layers there.
        chains = set()
        for i in imgs:
            rec = image_record(srv.root, i.id)
            chains.update(hexof(c) for c in rec["layers"])
        self.assertEqual(layer_dirs(srv.root), sorted(chains))
        self.assertEqual(len(chains), 3)
        for c in chains:
            self.assertTrue(os.path.isfile(os.path.join(srv.root, "layers", c, "layer.json")))
        self.assertStoreClean(srv)
        for name in ("busybox:1", "docker2:1"):
            with mounted_rootfs(srv.root, hexof(IMGS[name]["config_digest"])) as mnt:
                self.check_rootfs(mnt, IMGS[name]["files"], IMGS[name]["absent"], implicit_parents(IMGS[name]))

    def test_remove_during_pull_keeps_the_pulls_layers(self):
        """RemoveImage runs the layer/blob gc while another pull is in flight (the
        kubelet's image GC does this while pods pull): the pull's config blob and
        finished layers are pinned until its record names them, so it completes
        with every layer in place."""
        fake = FakeRegistry().start()
        self.addCleanup(fake.stop)
        img = make_image([([fx.F("a/x", "x\n")], "gzip"), (random_file_layer("b/y", 1 << 20, "race"), "gzip")])
        ref = fake.add_image("racy", "1", img)
        gate = fake.gate(img.layers[1]["digest"])
        srv = self.server(config=crio_config(registries_conf(insecure(fake.host) + insecure(REG.host))))
        ch = srv.channel()
        pull(ch, REG.ref("busybox"))
        fut = pull_future(ch, ref)
        first = os.path.join(srv.root, "layers", hexof(img.chain_ids[0]), "layer.json")
        wait_for(lambda: fake.at_gate.get(img.layers[1]["digest"]) and os.path.exists(first), 30,
                 "layer 1 published and layer 2 at the gate")
        remove_image(ch, hexof(IMGS["busybox:1"]["config_digest"]))
        gate.set()
        self.assertEqual(fut.result(PULL_TIMEOUT).image_ref, "%s/racy@%s" % (fake.host, img.manifest_digest))
        self.assertEqual(layer_dirs(srv.root), sorted(hexof(c) for c in img.chain_ids))
        spec = json.loads(image_status(ch, ref, verbose=True).info["info"])["imageSpec"]
        self.assertEqual(spec["rootfs"]["diff_ids"], img.diff_ids)

    def test_concurrent_pulls_share_one_download(self):
        """4 pulls of one image while its layer is held at a gate: the layer is fetched once."""
        fake = FakeRegistry().start()
        self.addCleanup(fake.stop)
        img = make_image([(random_file_layer("data/blob.bin", 1 << 20, "share"), "gzip")])
        ref = fake.add_image("shared", "1", img)
        gate = fake.gate(img.layers[0]["digest"])
        srv = self.server(config=crio_config(registries_conf(insecure(fake.host))))
        chs = [srv.channel() for _ in range(4)]
        futs = [pull_future(ch, ref) for ch in chs]
        blob = "/blobs/" + img.layers[0]["digest"]
        wait_for(lambda: fake.count("/manifests/1") >= 4 and fake.at_gate.get(img.layers[0]["digest"]), 30,
                 "4 manifest requests and a layer download at the gate")
        self.assertEqual(fake.count(blob), 1)
        gate.set()
        for f in futs:
            self.assertEqual(f.result(PULL_TIMEOUT).image_ref, "%s/shared@%s" % (fake.host, img.manifest_digest))
        self.assertEqual(fake.count(blob), 1, "the layer was downloaded more than once")
        self.assertEqual([i.id for i in list_images(chs[0])], [img.id])
        self.assertEqual(layer_dirs(srv.root), [hexof(img.chain_ids[0])])
        self.assertStoreClean(srv)


# ---------------------------------------------------------------- 4. authentication

class AuthTest(ImageTestCase):

    @classmethod
    def setUpClass(cls):
        cls.basic = fxreg.Registry(auth="basic").start()
        cls.addClassCleanup(cls.basic.stop)
        cls.token = fxreg.Registry(auth="token").start()
        cls.addClassCleanup(cls.token.stop)
        for r in (cls.basic, cls.token):
            r.push_image(IMGS["busybox:1"])
        cls.conf = crio_config(registries_conf(insecure(cls.basic.host) + insecure(cls.token.host)))
        cls.ref_digest = IMGS["busybox:1"]["manifest_digest"]

    def setUp(self):
        super().setUp()
        self.srv = self.server(config=self.conf)
        self.ch = self.srv.channel()

    def pulled(self, reg, auth):
        self.assertEqual(pull(self.ch, reg.ref("busybox"), auth=auth), "%s/busybox@%s" % (reg.host, self.ref_digest))
        self.assertEqual([i.id for i in list_images(self.ch)], [hexof(IMGS["busybox:1"]["config_digest"])])
        self.assertStoreClean(self.srv)

    def refused(self, reg, auth, pattern):
        before = snapshot(self.srv, self.ch)
        err = self.assertPullFails(self.ch, reg.ref("busybox"), grpc.StatusCode.UNAUTHENTICATED, pattern, auth=auth)
        self.assertStoreUnchanged(before, self.srv, self.ch)
        self.assertNotIn(reg.password, err.details())
        return err

    def test_basic_username_password(self):
        self.pulled(self.basic, {"username": self.basic.username, "password": self.basic.password})

    def test_basic_auth_field(self):
        auth = base64.b64encode(("%s:%s" % (self.basic.username, self.basic.password)).encode()).decode()
        self.pulled(self.basic, {"auth": auth})

    def test_basic_wrong_password(self):
        self.refused(self.basic, {"username": self.basic.username, "password": "wrong"}, r"401.*(UNAUTHORIZED|auth)")

    def test_basic_wrong_auth_field(self):
        self.refused(self.basic, {"auth": base64.b64encode(b"testuser:nope").decode()}, r"401")

    def test_basic_no_credentials(self):
        self.refused(self.basic, None, r"credentials|401")

    def test_token_username_password(self):
        n = len(self.token.token_server.requests)
        self.pulled(self.token, {"username": self.token.username, "password": self.token.password})
        reqs = self.token.token_server.requests[n:]
        self.assertTrue(any(r["user"] == self.token.username and r["status"] == 200 and
                            "repository:busybox:pull" in r["scopes"] for r in reqs), reqs)
        # One token for the whole pull (manifest, config, layer), for this repository, to pull only.
        self.assertEqual([(r["scopes"], r["status"]) for r in reqs], [(["repository:busybox:pull"], 200)])

    def test_token_wrong_password(self):
        self.refused(self.token, {"username": self.token.username, "password": "wrong"}, r"refused|401")

    def test_token_no_credentials(self):
        self.refused(self.token, None, r"401|UNAUTHORIZED")

    def test_token_registry_token(self):
        tok = self.token.token_server.make_token(
            self.token.username, [{"type": "repository", "name": "busybox", "actions": ["pull"]}])
        self.pulled(self.token, {"registry_token": tok})

    def test_token_registry_token_for_another_repository(self):
        tok = self.token.token_server.make_token(
            self.token.username, [{"type": "repository", "name": "other", "actions": ["pull"]}])
        self.refused(self.token, {"registry_token": tok}, r"401|UNAUTHORIZED")

    def test_token_identity_token(self):
        """An OAuth2 refresh token (docker login's identity token) is exchanged at the realm."""
        ts = self.token.token_server
        st, _, body = fxreg.http_request(ts.realm, method="POST", data=urllib.parse.urlencode({
            "grant_type": "password", "username": self.token.username, "password": self.token.password,
            "service": ts.service, "scope": "repository:busybox:pull", "client_id": "test"}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)
        rt = json.loads(body)["refresh_token"]
        n = len(ts.requests)
        self.pulled(self.token, {"identity_token": rt})
        self.assertTrue(any(r["method"] == "POST" and r["user"] == self.token.username and r["status"] == 200
                            for r in ts.requests[n:]), ts.requests[n:])


# ---------------------------------------------------------------- 5. registries.conf

class RegistriesConfTest(ImageTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dead = "127.0.0.1:%d" % unused_port()
        conf = (
            'unqualified-search-registries = ["%s", "%s"]\n\n' % (STATIC.host, REG.host) +
            insecure(REG.host) + insecure(STATIC.host) +
            '[[registry]]\nprefix = "%s"\nlocation = "%s"\n\n' % (PUBLIC, PUBLIC) +
            '[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n\n' % REG.host +
            # A mirror that is down, then one that works.
            '[[registry]]\nprefix = "mirrored.example.com"\nlocation = "mirrored.example.com"\n\n'
            '[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n\n' % cls.dead +
            '[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n\n' % REG.host +
            '[[registry]]\nlocation = "blocked.example.com"\nblocked = true\n\n'
            # A path of the local registry, blocked while the rest of it is not.
            '[[registry]]\nprefix = "%s/forbidden"\nlocation = "%s/forbidden"\nblocked = true\n' % (REG.host, REG.host))
        cls.srv = cls.class_server(config=crio_config(registries_conf(conf)))
        cls.ch = cls.srv.channel()
        cls.bb = IMGS["busybox:1"]

    def test_public_name_through_mirror(self):
        ref = "%s/%s:%s" % (PUBLIC, MIRROR_NAME, MIRROR_TAG)
        self.assertEqual(pull(self.ch, ref), "%s/%s@%s" % (PUBLIC, MIRROR_NAME, self.bb["manifest_digest"]))
        r = image_status(self.ch, ref)
        self.assertEqual(r.image.id, hexof(self.bb["config_digest"]))
        self.assertIn(ref, r.image.repo_tags)                   # the public name, not the mirror's
        self.assertFalse(any(t.startswith(REG.host) for t in r.image.repo_tags), r.image.repo_tags)
        self.assertIn("%s/%s@%s" % (PUBLIC, MIRROR_NAME, self.bb["manifest_digest"]), r.image.repo_digests)
        # And by digest through the mirror.
        dref = "%s/%s@%s" % (PUBLIC, MIRROR_NAME, self.bb["manifest_digest"])
        self.assertEqual(pull(self.ch, dref), dref)

    def test_mirror_down_then_working_mirror(self):
        ref = "mirrored.example.com/busybox:1"
        self.assertEqual(pull(self.ch, ref), "mirrored.example.com/busybox@%s" % self.bb["manifest_digest"])
        self.assertIn(ref, image_status(self.ch, ref).image.repo_tags)
        self.srv.wait_message("info", r"mirror %s/busybox.*trying the next source" % self.dead)

    def test_blocked_registry(self):
        before = snapshot(self.srv, self.ch)
        self.assertPullFails(self.ch, "blocked.example.com/busybox:1", grpc.StatusCode.PERMISSION_DENIED,
                             r"blocked\.example\.com.*blocked")
        self.assertPullFails(self.ch, REG.ref("forbidden/busybox"), grpc.StatusCode.PERMISSION_DENIED,
                             r"%s/forbidden.*blocked" % REG.host)
        self.assertStoreUnchanged(before, self.srv, self.ch)

    def test_unqualified_name_through_search_list(self):
        # The static registry (first) does not have busybox: the next one does.
        self.assertEqual(pull(self.ch, "busybox:1"), "%s/busybox@%s" % (REG.host, self.bb["manifest_digest"]))
        self.assertIn(REG.ref("busybox"), image_status(self.ch, REG.ref("busybox")).image.repo_tags)
        self.assertEqual(image_status(self.ch, "busybox:1").image.id, hexof(self.bb["config_digest"]))

    def test_unqualified_name_not_anywhere(self):
        self.assertPullFails(self.ch, "nosuchimage:1", grpc.StatusCode.NOT_FOUND)

    def test_sighup_reloads_registries_conf(self):
        path = registries_conf('[[registry]]\nlocation = "reload.example.com"\nblocked = true\n')
        srv = self.server(config=crio_config(path))
        ch = srv.channel()
        self.assertPullFails(ch, "reload.example.com/busybox:1", grpc.StatusCode.PERMISSION_DENIED, "reload")
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write('[[registry]]\nprefix = "reload.example.com"\nlocation = "%s"\ninsecure = true\n' % REG.host)
        os.rename(tmp, path)
        start = srv.log_size()
        srv.signal(signal.SIGHUP)
        srv.wait_message("info", "configuration reloaded", start=start)
        self.assertEqual(pull(ch, "reload.example.com/busybox:1"),
                         "reload.example.com/busybox@%s" % self.bb["manifest_digest"])

    def test_registry_not_marked_insecure_gets_no_plain_http(self):
        """localhost:PORT is the same registry under a name with no insecure entry: TLS only, which fails."""
        ref = "localhost:%d/busybox:1" % REG.port
        before = snapshot(self.srv, self.ch)
        self.assertPullFails(self.ch, ref, grpc.StatusCode.UNAVAILABLE, r"https://localhost")
        self.assertStoreUnchanged(before, self.srv, self.ch)


# ---------------------------------------------------------------- 6. bad input

class BadInputTest(ImageTestCase):
    """Each bad image gives its status and leaves the store as it was (busybox pulled before)."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeRegistry().start()
        cls.addClassCleanup(cls.fake.stop)
        cls.srv = cls.class_server(config=crio_config(cls.regs_conf(insecure(cls.fake.host))))
        cls.ch = cls.srv.channel()
        pull(cls.ch, REG.ref("busybox"))

    def bad_pull(self, ref, code, pattern, allowed_blobs=()):
        before = snapshot(self.srv, self.ch)
        err = self.assertPullFails(self.ch, ref, code, pattern)
        self.assertStoreUnchanged(before, self.srv, self.ch, allowed_blobs)
        self.assertIn(ref, err.details())
        return err

    def test_corrupt_blob_is_data_loss(self):
        info = IMGS["corrupt:1"]
        self.bad_pull(REG.ref("corrupt"), grpc.StatusCode.DATA_LOSS,
                      r"%s.*digest mismatch" % info["corrupt_blob"], [info["config_digest"]])

    def test_dotdot_entries_are_refused(self):
        info = IMGS["evil-dotdot:1"]
        self.bad_pull(REG.ref("evil-dotdot"), grpc.StatusCode.INVALID_ARGUMENT, r'\.\./\.\./evil',
                      [info["config_digest"]])
        for base in (self.srv.root, os.path.join(self.srv.root, "layers"), self.srv.tmp, REPO, os.getcwd(), "/tmp", "/"):
            for esc in info["escapes"] + ["evil", "evil2"]:
                self.assertFalse(os.path.lexists(os.path.normpath(os.path.join(base, esc))), (base, esc))
        for dirpath, dirnames, filenames in os.walk(self.srv.tmp):
            self.assertFalse({"evil", "evil2"} & set(dirnames + filenames), dirpath)

    def test_escaping_symlinks_write_nothing_outside(self):
        info = IMGS["evil-symlink:1"]
        target = info["symlink_target"]
        created = not os.path.isdir(target)
        os.makedirs(target, exist_ok=True)
        if created:
            self.addCleanup(shutil.rmtree, target, True)
        for esc in info["escapes"]:
            if os.path.lexists(esc):
                os.unlink(esc)              # a leftover of an earlier run: start clean
        before = snapshot(self.srv, self.ch)
        try:
            ref = pull(self.ch, REG.ref("evil-symlink"))
        except grpc.RpcError as e:
            ref = None
            # Refused: as a hostile layer.
            self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT, e.details())
            self.assertRegex(e.details(), r"link/pwned|rel/crio-fixture-evil-rel-pwned")
            self.assertStoreUnchanged(before, self.srv, self.ch, [info["config_digest"]])
        for esc in info["escapes"]:
            self.assertFalse(os.path.lexists(esc), "written through a symlink: %s" % esc)
        self.assertEqual(os.listdir(target), [])
        if ref is not None:
            # Contained: the links are in the layer, the files under them are not outside.
            with mounted_rootfs(self.srv.root, hexof(info["config_digest"])) as mnt:
                self.assertEqual(os.readlink(mnt + "/link"), target)
            remove_image(self.ch, ref)

    def test_unknown_manifest_media_type(self):
        self.bad_pull(STATIC.ref("unknownmedia"), grpc.StatusCode.INVALID_ARGUMENT,
                      re_escape(fx.MT_UNKNOWN_MANIFEST))

    def test_unknown_layer_media_type(self):
        info = IMGS["unknownlayer:1"]
        self.bad_pull(REG.ref("unknownlayer"), grpc.StatusCode.INVALID_ARGUMENT, re_escape(fx.MT_UNKNOWN_LAYER),
                      [info["config_digest"]])

    def test_manifest_over_4_mib(self):
        self.assertGreater(IMGS["bigmanifest:1"]["manifest_size"], 4 << 20)
        self.bad_pull(STATIC.ref("bigmanifest"), grpc.StatusCode.INVALID_ARGUMENT, r"larger than 4194304|4 ?MiB")

    def test_malformed_references(self):
        before = snapshot(self.srv, self.ch)
        for ref in ("Busybox:UPPER!", "busybox@sha256:123", "a//b:1", "%s/busybox:" % REG.host, " busybox"):
            with self.subTest(ref=ref):
                self.assertPullFails(self.ch, ref, grpc.StatusCode.INVALID_ARGUMENT, r"invalid|reference")
        self.assertStoreUnchanged(before, self.srv, self.ch)

    def test_missing_image(self):
        self.bad_pull(REG.ref("nosuchimage"), grpc.StatusCode.NOT_FOUND, r"not found|MANIFEST_UNKNOWN")
        self.bad_pull(REG.ref("busybox", "nosuchtag"), grpc.StatusCode.NOT_FOUND, r"not found|MANIFEST_UNKNOWN")

    def test_registry_down(self):
        host = "127.0.0.1:%d" % unused_port()
        self.bad_pull("%s/busybox:1" % host, grpc.StatusCode.UNAVAILABLE, re_escape(host))

    def test_truncated_blob(self):
        """A blob whose body stops short of its Content-Length, then the connection closes.

        DATA_LOSS: libcurl reports the short body (CURLE_PARTIAL_FILE); the client
        retries it (bounded), then reports the transfer as incomplete data, not
        as an unreachable registry (the registry answered)."""
        img = make_image([(random_file_layer("data/t.bin", 256 << 10, "trunc"), "gzip")])
        ref = self.fake.add_image("truncated", "1", img)
        self.fake.truncate(img.layers[0]["digest"])
        self.bad_pull(ref, grpc.StatusCode.DATA_LOSS, r"%s" % img.layers[0]["digest"], [img.config_digest])
        n = self.fake.count("/blobs/" + img.layers[0]["digest"])
        self.assertTrue(1 <= n <= 5, "%d attempts: retries must be bounded" % n)

    def test_failed_pull_keeps_none_of_its_layers(self):
        """Layer 1 unpacks and is published, layer 2 is cut short: the pull fails
        with DATA_LOSS and removes what it stored that no image names (layer 1)."""
        img = make_image([([fx.F("etc/one", "1\n")], "gzip"),
                          (random_file_layer("data/two.bin", 128 << 10, "partial"), "gzip")])
        ref = self.fake.add_image("partial", "1", img)
        self.fake.truncate(img.layers[1]["digest"])
        self.bad_pull(ref, grpc.StatusCode.DATA_LOSS, img.layers[1]["digest"], [img.config_digest])

    def test_blob_larger_than_its_descriptor(self):
        def smaller(m):
            m["layers"][0]["size"] -= 100
        img = make_image([(random_file_layer("data/s.bin", 64 << 10, "size"), "gzip")], manifest_mutate=smaller)
        ref = self.fake.add_image("oversize", "1", img)
        self.bad_pull(ref, grpc.StatusCode.DATA_LOSS, r"bytes", [img.config_digest])

    def test_diff_id_mismatch(self):
        def wrong(c):
            c["rootfs"]["diff_ids"][0] = "sha256:" + "1" * 64
        img = make_image([([fx.F("etc/x", "x\n")], "gzip")], config_mutate=wrong)
        ref = self.fake.add_image("badiff", "1", img)
        self.bad_pull(ref, grpc.StatusCode.DATA_LOSS, r"uncompressed|diff", [img.config_digest])

    def test_manifest_digest_mismatch(self):
        """Pulled by digest, the registry serves other bytes."""
        good = make_image([([fx.F("etc/a", "a\n")], "gzip")])
        other = make_image([([fx.F("etc/b", "b\n")], "gzip")])
        self.fake.blobs.update(other.blobs)
        self.fake.manifests[("mismatch", good.manifest_digest)] = (other.manifest, other.manifest_type)
        self.bad_pull("%s/mismatch@%s" % (self.fake.host, good.manifest_digest), grpc.StatusCode.DATA_LOSS,
                      re_escape(other.manifest_digest))


def re_escape(s):
    import re
    return re.escape(s)


# ---------------------------------------------------------------- 7. crash safety

class CrashSafetyTest(ImageTestCase):

    def test_kill9_during_pull_then_restart(self):
        """kill -9 while a layer is unpacked, then while one downloads: after each restart
        the image list is as before and no temporaries remain; then the pull succeeds."""
        mib = 1 << 20
        many = [fx.D("many")] + [fx.F("many/f%04d" % i, "file %d\n" % i) for i in range(3000)]
        img = make_image([(random_file_layer("big/l0.bin", 20 * mib, "crash-0"), "gzip"),
                          (many, "none"),
                          (random_file_layer("big/l2.bin", 20 * mib, "crash-2"), "none")])
        fake = FakeRegistry().start()
        self.addCleanup(fake.stop)
        ref = fake.add_image("crash", "1", img)
        gate = fake.gate(img.layers[2]["digest"])
        srv = self.server(config=crio_config(registries_conf(insecure(fake.host) + insecure(REG.host)), downloads=1))
        ch = srv.channel()
        pull(ch, REG.ref("busybox"))
        before = images_view(ch)
        layers_before = layer_dirs(srv.root)
        root = srv.root

        def unpacking():
            return [n for n in os.listdir(os.path.join(root, "layers")) if n.startswith(".tmp-")]

        def downloading():
            tmp = os.path.join(root, "tmp")
            return [n for n in os.listdir(tmp) if os.lstat(os.path.join(tmp, n)).st_size > 0]

        def restart_and_check(phase):
            srv.start()
            ch2 = srv.channel()
            self.assertEqual(images_view(ch2), before, "ListImages after kill -9 %s" % phase)
            self.assertEqual(leftovers(root), [], "temporaries after restart (%s)" % phase)
            self.assertIn("leftovers of interrupted work", srv.log())
            # Exactly the layers before the pull: what the interrupted pull published but
            # no image names was removed at the start.
            self.assertEqual(sorted(layer_dirs(root)), sorted(layers_before))
            return ch2

        # 1: while a layer is being unpacked (layers/.tmp-*).  Polled tightly: unpacking
        # 20 MiB or 3000 files takes long enough; layer 3 at the gate bounds the wait.
        fut = pull_future(ch, ref)
        deadline = time.monotonic() + 60
        caught = None
        while time.monotonic() < deadline:
            caught = unpacking()
            if caught or fake.at_gate.get(img.layers[2]["digest"]):
                break
            time.sleep(0.001)
        self.assertTrue(caught, "never saw a layer being unpacked (layers: %s)" % layer_dirs(root))
        srv.kill9()
        fut.exception(30)
        self.assertTrue(unpacking(), "the kill left no unpacking dir to clean")
        ch = restart_and_check("while unpacking")

        # 2: while layer 3 downloads (half of it sent, the rest held at the gate).
        l3 = img.layers[2]["digest"]
        gated = fake.at_gate.get(l3, 0)
        fut = pull_future(ch, ref)
        wait_for(lambda: fake.at_gate.get(l3, 0) > gated and downloading(), 60, "layer 3 to be downloading")
        srv.kill9()
        fut.exception(30)
        self.assertTrue(downloading())
        ch = restart_and_check("while downloading")

        # 3: the gate open, the pull completes from scratch (every layer fetched once more).
        gate.set()
        counts = [fake.count("/blobs/" + l["digest"]) for l in img.layers]
        self.assertEqual(pull(ch, ref), "%s/crash@%s" % (fake.host, img.manifest_digest))
        self.assertEqual([fake.count("/blobs/" + l["digest"]) for l in img.layers], [n + 1 for n in counts])
        self.assertEqual(sorted(i.id for i in list_images(ch)),
                         sorted([hexof(IMGS["busybox:1"]["config_digest"]), img.id]))
        with mounted_rootfs(root, img.id) as mnt:
            self.assertEqual(sha256_file(mnt + "/big/l0.bin"),
                             hashlib.sha256(random.Random("crash-0").randbytes(20 * mib)).hexdigest())
            self.assertEqual(os.path.getsize(mnt + "/big/l2.bin"), 20 * mib)
            self.assertEqual(len(os.listdir(mnt + "/many")), 3000)
        self.assertStoreClean(srv)
        srv.stop()


# ---------------------------------------------------------------- 8. ImageFsInfo

class ImageFsInfoTest(ImageTestCase):

    def test_usage_grows_and_shrinks(self):
        srv = self.server(config=crio_config(self.regs_conf()))
        ch = srv.channel()
        empty = fs_info(ch)
        self.assertEqual(empty.fs_id.mountpoint, mountpoint_of(srv.root))
        self.assertGreater(empty.timestamp, (time.time() - 60) * 1e9)
        pull(ch, REG.ref("busybox"))
        pull(ch, REG.ref("multilayer"))
        full = fs_info(ch)
        self.assertGreater(full.used_bytes.value, empty.used_bytes.value + 2 * 1982256 // 2)
        self.assertGreater(full.inodes_used.value, empty.inodes_used.value + 20)
        self.assertEqual((full.used_bytes.value, full.inodes_used.value), tree_usage(srv.root))
        self.assertGreaterEqual(full.timestamp, empty.timestamp)
        remove_image(ch, REG.ref("multilayer"))
        half = fs_info(ch)
        self.assertLess(half.used_bytes.value, full.used_bytes.value)
        self.assertLess(half.inodes_used.value, full.inodes_used.value)
        remove_image(ch, REG.ref("busybox"))
        gone = fs_info(ch)
        self.assertLess(gone.used_bytes.value, half.used_bytes.value)
        self.assertEqual(gone.inodes_used.value, empty.inodes_used.value)
        self.assertEqual(gone.fs_id.mountpoint, empty.fs_id.mountpoint)


if __name__ == "__main__":
    unittest.main()
