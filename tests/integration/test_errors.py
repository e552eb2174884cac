"""Error statuses: unimplemented methods, malformed bodies, size limits, deadlines."""

import re
import threading
import time
import unittest

import grpc

from helpers import CrioTestCase, api, call, raw_call, version, version_h, wait_for

MiB = 1024 * 1024


class UnimplementedTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def test_exec_not_yet(self):
        # Streaming exec is a later issue: its URL endpoint is not served yet.
        ch = self.srv.channel()
        self.assertRpcError(lambda: call(ch, "Exec", api.ExecRequest(container_id="x", cmd=["sh"])),
                            grpc.StatusCode.UNIMPLEMENTED, r"runtime\.v1\.RuntimeService/Exec")

    def test_checkpoint_container(self):
        ch = self.srv.channel()
        req = api.CheckpointContainerRequest(container_id="x")
        err = self.assertRpcError(lambda: call(ch, "CheckpointContainer", req),
                                  grpc.StatusCode.UNIMPLEMENTED, r"runtime\.v1\.RuntimeService/CheckpointContainer")
        self.assertIn(version_h(), err.details())

    def test_streaming_method_unimplemented(self):
        # A server-streaming method of the CRI, called as unary.
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/runtime.v1.RuntimeService/StreamPodSandboxes", b""),
                            grpc.StatusCode.UNIMPLEMENTED, r"StreamPodSandboxes")

    def test_every_cri_method_answers(self):
        # Every method of both services answers: OK (or INVALID_ARGUMENT for
        # an empty request that must name something) for the implemented
        # ones, UNIMPLEMENTED naming the method otherwise -- never UNKNOWN
        # or a dropped connection.
        implemented = {"Version", "Status", "RuntimeConfig", "UpdateRuntimeConfig", "ListImages", "ImageFsInfo", "ListPodSandbox",
                       "ListContainers", "ListContainerStats", "ListPodSandboxStats"}
        need_a_name = {"PullImage", "ImageStatus", "RemoveImage"}
        # Pod and container calls with an empty request: they must name a pod or container.
        need_an_id = {"RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus", "CreateContainer",
                      "StartContainer", "StopContainer", "RemoveContainer", "ContainerStatus",
                      "UpdateContainerResources", "ReopenContainerLog", "ExecSync", "ContainerStats",
                      "PodSandboxStats"}
        streams = {"GetContainerEvents"}  # answers with a stream that lasts until the client leaves
        ch = self.srv.channel()
        n = 0
        for svc in api.DESCRIPTOR.services_by_name.values():
            for m in svc.methods:
                path = "/%s/%s" % (svc.full_name, m.name)
                with self.subTest(path=path):
                    n += 1
                    if m.name in implemented:
                        raw_call(ch, path, b"")
                    elif m.name in streams:
                        self.assertRpcError(lambda: raw_call(ch, path, b"", timeout=0.3),
                                            grpc.StatusCode.DEADLINE_EXCEEDED)
                    elif m.name in need_an_id:
                        try:
                            raw_call(ch, path, b"")
                            self.fail("%s with an empty request succeeded" % path)
                        except grpc.RpcError as e:
                            self.assertIn(e.code(), (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND),
                                          "%s: %s" % (e.code(), e.details()))
                    elif m.name in need_a_name:
                        self.assertRpcError(lambda: raw_call(ch, path, b""), grpc.StatusCode.INVALID_ARGUMENT,
                                            "no image given")
                    else:
                        self.assertRpcError(lambda: raw_call(ch, path, b""), grpc.StatusCode.UNIMPLEMENTED,
                                            "^" + path[1:].replace(".", r"\.") + " ")
        self.assertGreater(n, 30)

    def test_unknown_method_of_known_service(self):
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/runtime.v1.RuntimeService/Nope", b""),
                            grpc.StatusCode.UNIMPLEMENTED, r"/runtime\.v1\.RuntimeService/Nope")

    def test_unknown_service(self):
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/foo.Bar/Baz", b""), grpc.StatusCode.UNIMPLEMENTED,
                            r"/foo\.Bar/Baz")

    def test_v1alpha2_is_not_served(self):
        # Only runtime.v1: a kubelet speaking the old API gets UNIMPLEMENTED
        # (and falls back or reports it), not a misparsed message.
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/runtime.v1alpha2.RuntimeService/Version", b""),
                            grpc.StatusCode.UNIMPLEMENTED)


class MalformedTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def test_garbage_body(self):
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/runtime.v1.RuntimeService/Version", b"\xff\xff\xff"),
                            grpc.StatusCode.INVALID_ARGUMENT, r"VersionRequest")
        # The connection is still good.
        self.assertEqual(version(ch).runtime_name, "libcrio")

    def test_garbage_status_request(self):
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/runtime.v1.RuntimeService/Status", b"\x0a\x05ab"),
                            grpc.StatusCode.INVALID_ARGUMENT, r"StatusRequest")

    def test_wrong_wire_type(self):
        # Field 1 (version, a string) sent as a varint: a protobuf-c decoder
        # rejects it.
        ch = self.srv.channel()
        self.assertRpcError(lambda: raw_call(ch, "/runtime.v1.RuntimeService/Version", b"\x08\x01"),
                            grpc.StatusCode.INVALID_ARGUMENT, r"VersionRequest")


class SizeLimitTest(CrioTestCase):
    def test_oversized_request_default_limit(self):
        srv = self.server()
        ch = srv.channel()
        big = api.VersionRequest(version="x" * (17 * MiB))
        self.assertRpcError(lambda: call(ch, "Version", big, timeout=30), grpc.StatusCode.RESOURCE_EXHAUSTED,
                            r"larger than max")
        # The same channel still works after the refused call.
        self.assertEqual(version(ch).runtime_name, "libcrio")
        self.assertEqual(call(ch, "Status", api.StatusRequest()).status.conditions[0].type, "RuntimeReady")

    def test_large_request_under_default_limit(self):
        srv = self.server()
        ch = srv.channel()
        r = call(ch, "Version", api.VersionRequest(version="x" * (2 * MiB)), timeout=30)
        self.assertEqual(r.runtime_name, "libcrio")

    def test_configured_limit(self):
        srv = self.server(config="[crio.api]\ngrpc_max_recv_msg_size = 4096\n")
        ch = srv.channel()
        small = api.VersionRequest(version="y" * 98)
        self.assertEqual(len(small.SerializeToString()), 100)
        self.assertEqual(call(ch, "Version", small).runtime_name, "libcrio")

        big = api.VersionRequest(version="y" * 4997)
        self.assertEqual(len(big.SerializeToString()), 5000)
        self.assertRpcError(lambda: call(ch, "Version", big), grpc.StatusCode.RESOURCE_EXHAUSTED,
                            r"5000 vs\. 4096")
        self.assertEqual(version(ch).runtime_name, "libcrio")

    def test_configured_limit_boundary(self):
        srv = self.server(config="[crio.api]\ngrpc_max_recv_msg_size = 4096\n")
        ch = srv.channel()
        at = api.VersionRequest(version="z" * 4093)
        over = api.VersionRequest(version="z" * 4094)
        self.assertEqual(len(at.SerializeToString()), 4096)
        self.assertEqual(len(over.SerializeToString()), 4097)
        self.assertEqual(call(ch, "Version", at).runtime_name, "libcrio")
        self.assertRpcError(lambda: call(ch, "Version", over), grpc.StatusCode.RESOURCE_EXHAUSTED)
        # Many refused calls in a row do not wear the connection out.
        for _ in range(20):
            self.assertRpcError(lambda: call(ch, "Version", over), grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertEqual(call(ch, "Version", at).runtime_name, "libcrio")

    def test_limit_in_dropin(self):
        srv = self.server(dropins={"10-api.conf": "[crio.api]\ngrpc_max_recv_msg_size = 4096\n"})
        ch = srv.channel()
        self.assertRpcError(lambda: call(ch, "Version", api.VersionRequest(version="q" * 5000)),
                            grpc.StatusCode.RESOURCE_EXHAUSTED)


class DeadlineTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def fresh_channel(self):
        # Its own connection: grpc-core otherwise shares one between channels.
        ch = grpc.insecure_channel("unix://" + self.srv.sock, options=[("grpc.use_local_subchannel_pool", 1)])
        self.addCleanup(ch.close)
        return ch

    def test_normal_call_with_timeout(self):
        ch = self.srv.channel()
        self.assertEqual(version(ch, timeout=5).runtime_name, "libcrio")

    def test_tiny_timeout(self):
        # A 1 us deadline.  grpc-core rounds deadlines up to its millisecond
        # timer, and a local Version takes ~0.1 ms, so a call can still
        # succeed (measured: ~1 in 4): try until one expires; any outcome
        # but DEADLINE_EXCEEDED or OK is a failure.
        codes = []
        for _ in range(100):
            try:
                version(self.fresh_channel(), timeout=0.000001)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as e:
                codes.append(e.code())
                self.assertEqual(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED, e.details())
                break
        self.assertIn(grpc.StatusCode.DEADLINE_EXCEEDED, codes)
        # The server stays healthy.
        self.assertEqual(version(self.fresh_channel(), timeout=5).runtime_name, "libcrio")
        self.assertEqual(version(self.srv.channel(), timeout=5).runtime_name, "libcrio")
        self.assertTrue(self.srv.running())

    def stalled_request(self):
        """A request iterator that sends one message but never ends the
        stream: the server has the headers (and the grpc-timeout) but never
        END_STREAM, so the call can only end by its deadline or a cancel."""
        release = threading.Event()
        self.addCleanup(release.set)

        def gen():
            yield api.VersionRequest(version="v1").SerializeToString()
            release.wait(30)
        return gen()

    def call_end_lines(self, start):
        return re.findall(r'msg="/runtime\.v1\.RuntimeService/Version: ([A-Z_]+) in (\d+) us"',
                          self.srv.log()[start:])

    def test_deadline_of_stalled_request(self):
        ch = self.fresh_channel()
        version(ch)
        start = self.srv.log_size()
        stub = ch.stream_unary("/runtime.v1.RuntimeService/Version")
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as cm:
            stub(self.stalled_request(), timeout=0.2)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)
        # The server ended the call too: by its own timer (DEADLINE_EXCEEDED)
        # or by the client's reset (CANCELLED), whichever came first; never OK.
        wait_for(lambda: self.call_end_lines(start), 5, "the stalled call's log line")
        (code, usec), = self.call_end_lines(start)
        self.assertIn(code, ("DEADLINE_EXCEEDED", "CANCELLED"))
        self.assertGreaterEqual(int(usec), 150000)
        self.assertEqual(version(ch, timeout=5).runtime_name, "libcrio")

    def test_cancel_of_stalled_request(self):
        ch = self.fresh_channel()
        version(ch)
        start = self.srv.log_size()
        stub = ch.stream_unary("/runtime.v1.RuntimeService/Version")
        fut = stub.future(self.stalled_request(), timeout=30)
        # Cancel once the server has seen the call: it logs nothing until the
        # end, so wait for the request to reach it by a second call ordered after it.
        version(ch)
        self.assertTrue(fut.cancel())
        wait_for(lambda: [c for c, _ in self.call_end_lines(start) if c != "OK"], 5,
                 "the cancelled call's log line")
        self.assertEqual([c for c, _ in self.call_end_lines(start) if c != "OK"], ["CANCELLED"])
        self.assertEqual(version(ch, timeout=5).runtime_name, "libcrio")


if __name__ == "__main__":
    unittest.main()
