"""Many calls at once: over several connections, and multiplexed on one."""

import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

import grpc

from helpers import CrioTestCase, api, call, conditions, version_h

# Each call is checked against what its own method must answer, so a reply
# delivered to the wrong stream (or a mixed-up body) fails the test.
METHODS = [
    ("Version", lambda i: api.VersionRequest(version="v1-%d" % i)),
    ("Status", lambda i: api.StatusRequest(verbose=bool(i % 2))),
    ("RuntimeConfig", lambda i: api.RuntimeConfigRequest()),
]


class ConcurrencyTest(CrioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(config='[crio.runtime.runtimes.runc]\nruntime_path = "/bin/true"\n')

    def check(self, i, method, r):
        if method == "Version":
            self.assertIsInstance(r, api.VersionResponse)
            self.assertEqual((r.runtime_name, r.runtime_version, r.runtime_api_version),
                             ("libcrio", version_h(), "v1"))
        elif method == "Status":
            self.assertIsInstance(r, api.StatusResponse)
            self.assertTrue(conditions(r)["RuntimeReady"].status)
            self.assertEqual(sorted(conditions(r)), ["NetworkReady", "RuntimeReady"])
            if i % 2:
                self.assertIn(self.srv.sock, r.info["config"])
            else:
                self.assertEqual(len(r.info), 0)
        else:
            self.assertIsInstance(r, api.RuntimeConfigResponse)
            self.assertEqual(r.linux.cgroup_driver, api.CGROUPFS)

    def test_100_calls_over_4_channels(self):
        channels = [grpc.insecure_channel("unix://" + self.srv.sock,
                                          options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(4)]
        for ch in channels:
            self.addCleanup(ch.close)
        n = 100
        barrier = threading.Barrier(20, timeout=10)

        def one(i):
            method, make = METHODS[i % len(METHODS)]
            if i < 20:
                barrier.wait()  # the first 20 start together
            return i, method, call(channels[i % 4], method, make(i), timeout=20)

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(one, range(n)))
        self.assertEqual(len(results), n)
        for i, method, r in results:
            with self.subTest(i=i, method=method):
                self.check(i, method, r)
        self.assertTrue(self.srv.running())

    def test_50_calls_multiplexed_on_one_channel(self):
        ch = self.srv.channel()
        call(ch, "Version", api.VersionRequest())  # connected first
        futures = []
        for i in range(50):
            method, make = METHODS[i % len(METHODS)]
            resp = getattr(api, method + "Response")
            stub = ch.unary_unary("/runtime.v1.RuntimeService/" + method,
                                  request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=resp.FromString)
            # All 50 are sent before any answer is read: concurrent streams
            # on one HTTP/2 connection.
            futures.append((i, method, stub.future(make(i), timeout=20)))
        for i, method, fut in futures:
            with self.subTest(i=i, method=method):
                self.check(i, method, fut.result())

    def test_errors_and_successes_interleaved(self):
        # Failing calls in between do not disturb the good ones on the same connection.
        ch = self.srv.channel()
        futures = []
        for i in range(60):
            if i % 3 == 0:
                stub = ch.unary_unary("/runtime.v1.RuntimeService/CheckpointContainer")
                futures.append((i, "unimplemented", stub.future(b"", timeout=20)))
            elif i % 3 == 1:
                stub = ch.unary_unary("/runtime.v1.RuntimeService/Version")
                futures.append((i, "garbage", stub.future(b"\xff\xff\xff", timeout=20)))
            else:
                stub = ch.unary_unary("/runtime.v1.RuntimeService/Version",
                                      response_deserializer=api.VersionResponse.FromString)
                futures.append((i, "ok", stub.future(b"", timeout=20)))
        want = {"unimplemented": grpc.StatusCode.UNIMPLEMENTED, "garbage": grpc.StatusCode.INVALID_ARGUMENT}
        for i, kind, fut in futures:
            with self.subTest(i=i, kind=kind):
                if kind == "ok":
                    self.assertEqual(fut.result().runtime_name, "libcrio")
                else:
                    self.assertEqual(fut.exception().code(), want[kind])


if __name__ == "__main__":
    unittest.main()
