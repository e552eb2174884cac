"""CNI networking of pods against a real crio-server with runc and Debian's
real CNI plugins (/usr/lib/cni: bridge, host-local, portmap, bandwidth,
loopback), plus a fake recording/failing/hanging plugin
(tests/fixtures/cni/crio-it-fake) for what only the plugin can see.

Covered: pod IPs on a bridge network and TCP between pods, the IP in
PodSandboxStatus against the one inside the pod, hostPort mappings from the
host (gateway address and 127.0.0.1), bandwidth annotations (tbf qdiscs),
runtimeConfig capabilities (portMappings, bandwidth, dns, ipRanges from
UpdateRuntimeConfig's pod_cidr), CNI_ARGS, the plugins' clean environment
and fds, dual-stack results, verbose CNI info (network, add_ms, CHECK),
host-network pods, NetworkReady following the config directory (inotify),
default network selection, invalid files, restart after kill -9 (DEL from
the CNI record kept in the pod's state), plugin faults (missing, error JSON, hang past
plugin_timeout) with rollback, and teardown of 50 pods leaving no netns
mount, veth, IP allocation or iptables rule behind.

Every test class owns its bridge name, /24 subnet and host-local dataDir
(in a temporary directory) and deletes the bridge afterwards.  No fixed
sleeps: every wait polls a condition until a deadline.

Run alone: make B=... then
    B=... /usr/bin/python3 tests/integration/run.py -k test_network.
"""

import hashlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc

from helpers import REPO, api, call, conditions, make_tmp, remove_tmp, wait_for
from podutil import (LOOP, NS_NODE, READY, PodTestCase, alive, mounts_under, ns_inode, sh, unique)

CNI_DIR = "/usr/lib/cni"
FAKE_SRC = os.path.join(REPO, "tests", "fixtures", "cni", "crio-it-fake")
FAKE = "crio-it-fake"
IP = ["/usr/sbin/ip"] if os.path.exists("/usr/sbin/ip") else ["ip"]
BB = "/bin/busybox"          # nc and ip are not linked applets in the fixture image
PORT = 8080                  # where servers in pods listen
READY_TIMEOUT = 15.0         # NetworkReady to follow a change of the config dir


# ---------------------------------------------------------------- host side

_fake_bin = []
_fake_lock = threading.Lock()


def fake_bin_dir():
    """A plugin dir holding the fake plugin (copied, so its mode is ours)."""
    with _fake_lock:
        if not _fake_bin:
            d = make_tmp("cni-bin-")
            shutil.copy(FAKE_SRC, os.path.join(d, FAKE))
            os.chmod(os.path.join(d, FAKE), 0o755)
            _fake_bin.append(d)
        return _fake_bin[0]


def run_cmd(argv, check=True, timeout=30):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr))
    return r


def host_links():
    return set(os.listdir("/sys/class/net"))


def ifindex_to_name(idx):
    for n in os.listdir("/sys/class/net"):
        try:
            with open("/sys/class/net/%s/ifindex" % n) as f:
                if int(f.read()) == idx:
                    return n
        except OSError:
            pass
    return None


IPT_STATIC = re.compile(
    r"^(:CNI-HOSTPORT-(DNAT|MASQ|SETMARK) |"
    r"-A (PREROUTING|OUTPUT) -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT$|"
    r"-A POSTROUTING -m comment --comment \"CNI portfwd requiring masquerade\" -j CNI-HOSTPORT-MASQ$|"
    r"-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE$|"
    r"-A CNI-HOSTPORT-SETMARK -m comment --comment \"CNI portfwd masquerade mark\" -j MARK --set-xmark 0x2000/0x2000$)")


def iptables_rules():
    """iptables-save as a set of "table|line" (chains and rules, no counters or comments)."""
    r = run_cmd(["iptables-save"])
    out, table = set(), ""
    for ln in r.stdout.splitlines():
        if ln.startswith("*"):
            table = ln[1:]
        elif ln.startswith(":"):
            out.add("%s|%s" % (table, re.sub(r" \[\d+:\d+\]$", "", ln)))
        elif ln.startswith("-A"):
            out.add("%s|%s" % (table, ln))
    return out


def new_iptables(before, tokens):
    """Rules and chains added since `before` that belong to us: those mentioning one
    of `tokens` (pod ids, our subnet, network name), plus the chains they jump to or
    live in and everything in those chains.  Other tests on the host (the unit tests
    use the real plugins too) add rules of their own at the same time.  portmap's
    shared top-level CNI-HOSTPORT-* chains and fixed rules never count: the plugin
    never removes them."""
    new = [x for x in iptables_rules() - before if not IPT_STATIC.match(x.split("|", 1)[1])]
    ours = {x for x in new if any(t in x for t in tokens)}
    chains = set()
    while True:
        for x in ours:
            line = x.split("|", 1)[1]
            chains |= set(re.findall(r"(?:^-A |^:| -[jg] )(CNI-[\w-]+)", line))
        chains = {c for c in chains if not c.startswith("CNI-HOSTPORT-")}   # shared by all pods
        more = {x for x in new if x not in ours and _chain_of(x) in chains}
        if not more:
            return sorted(ours)
        ours |= more


def _chain_of(item):
    m = re.match(r"^(?:-A |:)(\S+)", item.split("|", 1)[1])
    return m.group(1) if m else None


def bwp_name(network, pod_id):
    """The ifb device the bandwidth plugin makes for egress shaping of a pod."""
    return ("bwp" + hashlib.sha512((network + pod_id).encode()).hexdigest())[:15]


def remove_iptables(items):
    """Best effort: deletes rules, then flushes and deletes chains, listed by new_iptables()."""
    for it in items:
        table, line = it.split("|", 1)
        if line.startswith("-A "):
            subprocess.run(["iptables", "-t", table, "-D"] + shlex.split(line)[1:], capture_output=True)
    for it in items:
        table, line = it.split("|", 1)
        if line.startswith(":"):
            chain = line[1:].split()[0]
            subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
            subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)


_used_subnets = set()


def free_subnet():
    """A 10.24x.y.0/24 no route of the host touches and this process has not used."""
    routes = run_cmd(IP + ["-o", "-4", "route", "show", "table", "all"], check=False).stdout
    addrs = run_cmd(IP + ["-o", "-4", "addr"], check=False).stdout
    nets = []
    for m in re.finditer(r"(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", routes + addrs):
        try:
            nets.append(ipaddress.ip_network(m.group(1), strict=False))
        except ValueError:
            pass
    seed = int(uuid.uuid4().hex[:8], 16)
    for k in range(2000):
        n = (seed + k) % (10 * 256)
        cand = ipaddress.ip_network("10.%d.%d.0/24" % (240 + n // 256, n % 256))
        if cand in _used_subnets:
            continue
        if any(cand.overlaps(x) and x.prefixlen > 0 for x in nets):
            continue
        _used_subnets.add(cand)
        return cand
    raise AssertionError("no free 10.24x.y.0/24 subnet")


class BridgeNet:
    """A bridge network of one test class: its own bridge, subnet and host-local dataDir."""

    _n = [0]

    def __init__(self, name=None):
        BridgeNet._n[0] += 1
        self.tmp = make_tmp("cni-br-")
        self.bridge = "cit%d%d" % (os.getpid() % 10000, BridgeNet._n[0])
        assert len(self.bridge) <= 15
        self.subnet = free_subnet()
        self.gateway = str(self.subnet.network_address + 1)
        self.data_dir = os.path.join(self.tmp, "ipam")
        self.name = name or "crio-it-" + self.bridge
        self.iptables_before = iptables_rules()
        self.envs = []

    def bridge_plugin(self, ipam_ranges=True, ip_masq=False, **extra):
        ipam = {"type": "host-local", "dataDir": self.data_dir}
        if ipam_ranges:
            ipam["ranges"] = [[{"subnet": str(self.subnet), "gateway": self.gateway}]]
        p = {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": ip_masq, "ipam": ipam}
        p.update(extra)
        return p

    def conflist(self, *more, version="1.0.0", name=None, **bridge_kw):
        return {"cniVersion": version, "name": name or self.name, "plugins": [self.bridge_plugin(**bridge_kw)] + list(more)}

    def allocated(self):
        """The IPs host-local holds in the dataDir (any network name)."""
        out = set()
        if not os.path.isdir(self.data_dir):
            return out
        for net in os.listdir(self.data_dir):
            d = os.path.join(self.data_dir, net)
            if os.path.isdir(d):
                for f in os.listdir(d):
                    try:
                        out.add(str(ipaddress.ip_address(f)))
                    except ValueError:
                        pass
        return out

    def veths(self):
        try:
            return set(os.listdir("/sys/class/net/%s/brif" % self.bridge))
        except FileNotFoundError:
            return set()

    def pod_ids(self):
        """Every pod id the servers on this network have dealt with (from their logs)."""
        ids = set()
        for env in self.envs:
            ids |= set(re.findall(r"\b[0-9a-f]{64}\b", env.srv.log()))
        return ids

    def tokens(self, ids=()):
        """What marks an iptables rule as ours."""
        prefix = str(self.subnet.network_address).rsplit(".", 1)[0] + "."
        return [prefix, '%s\\"' % self.name] + sorted(set(ids) | self.pod_ids())

    def bwp_links(self):
        """ifb devices of the bandwidth plugin for pods on this network."""
        return {bwp_name(self.name, i) for i in self.pod_ids()} & host_links()

    def cleanup(self):
        left = new_iptables(self.iptables_before, self.tokens())
        if left:
            sys.stderr.write("\n[test_network] removing iptables rules left for %s:\n  %s\n"
                             % (self.bridge, "\n  ".join(left)))
            remove_iptables(left)
        for n in self.bwp_links():
            subprocess.run(IP + ["link", "del", n], capture_output=True)
        if os.path.exists("/sys/class/net/" + self.bridge):
            for v in self.veths():
                subprocess.run(IP + ["link", "del", v], capture_output=True)
            subprocess.run(IP + ["link", "del", self.bridge], capture_output=True)
        remove_tmp(self.tmp)


def fake(tag, record_dir, **kw):
    p = {"type": FAKE, "tag": tag, "recordDir": record_dir}
    p.update(kw)
    return p


def records(record_dir, tag=None, command=None, cid=None):
    """The fake plugin's call records, oldest first."""
    out = []
    for f in os.listdir(record_dir):
        if not f.endswith(".json"):
            continue
        with open(os.path.join(record_dir, f)) as fh:
            r = json.load(fh)
        if tag and r["tag"] != tag or command and r["command"] != command:
            continue
        if cid and r["env"].get("CNI_CONTAINERID") != cid:
            continue
        r["conf"] = json.loads(r["stdin"])
        out.append(r)
    return sorted(out, key=lambda r: r["time_ns"])


def cni_args(s):
    return dict(kv.split("=", 1) for kv in s.split(";") if kv)


def parse_inet(text):
    """IPv4 addresses (without prefix) in `ip -o addr` output."""
    return re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/\d+", text)


def tcp_read(host, port, timeout=2.0):
    """Connects and reads until EOF; returns the bytes, or None when it cannot connect."""
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None
    try:
        s.settimeout(timeout)
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                return data
            data += b
    except OSError:
        return data or None
    finally:
        s.close()


def server_cmd(marker):
    """A persistent TCP server on PORT answering `marker` to every connection."""
    return sh("exec %s nc -ll -p %d -e /bin/echo %s" % (BB, PORT, marker))


# ---------------------------------------------------------------- base class

class NetTestCase(PodTestCase):
    """PodTestCase whose servers read a network dir of the test's own, with
    the fake plugin's dir ahead of /usr/lib/cni."""

    @staticmethod
    def net_config(netdir, plugin_timeout=None, default_network=None):
        text = '[crio.network]\nnetwork_dir = "%s"\nplugin_dirs = ["%s", "%s"]\n' % (netdir, fake_bin_dir(), CNI_DIR)
        if plugin_timeout is not None:
            text += "plugin_timeout = %d\n" % plugin_timeout
        if default_network is not None:
            text += 'cni_default_network = "%s"\n' % default_network
        return text

    @staticmethod
    def write_net(netdir, fname, conf):
        """Written to a temporary name outside the patterns and renamed, as an operator should."""
        tmp = os.path.join(netdir, "." + fname + ".tmp")
        with open(tmp, "w") as f:
            f.write(conf if isinstance(conf, str) else json.dumps(conf))
        os.rename(tmp, os.path.join(netdir, fname))

    @classmethod
    def make_netdir(cls, networks, owner):
        d = make_tmp("cni-netd-")
        owner(remove_tmp, d)
        for fname, conf in (networks or {}).items():
            cls.write_net(d, fname, conf)
        return d

    @classmethod
    def class_net_env(cls, networks, net=None, **kw):
        netdir = cls.make_netdir(networks, cls.addClassCleanup)
        env = cls.class_env(extra_config=cls.net_config(netdir, **kw))
        env.cni_netdir = netdir
        if net is not None:
            net.envs.append(env)
        return env

    def net_env(self, networks, start=True, net=None, **kw):
        netdir = self.make_netdir(networks, self.addCleanup)
        env = self.new_env(start=start, extra_config=self.net_config(netdir, **kw))
        env.cni_netdir = netdir
        if net is not None:
            net.envs.append(env)
        return env

    @classmethod
    def class_bridge(cls, **kw):
        net = BridgeNet(**kw)
        cls.addClassCleanup(net.cleanup)
        return net

    def record_dir(self):
        d = make_tmp("cni-rec-")
        self.addCleanup(remove_tmp, d)
        return d

    # -- CRI helpers

    def runtime_status(self, env):
        return conditions(call(env.ch, "Status", api.StatusRequest()))

    def wait_network_ready(self, env, want, timeout=READY_TIMEOUT):
        last = [None]

        def ok():
            c = self.runtime_status(env).get("NetworkReady")
            last[0] = c
            return c is not None and c.status == want
        try:
            wait_for(ok, timeout, "NetworkReady to be %s" % want, interval=0.02)
        except AssertionError as e:
            raise AssertionError("%s; last condition: %s" % (e, last[0])) from None
        return last[0]

    def pod_ip(self, env, pod_id):
        return env.pod_status(pod_id).status.network.ip

    def cni_record(self, env, pod_id):
        """What the pod's DEL needs, as kept on disk in its state.json ("cni"), or None."""
        try:
            with open(os.path.join(env.root, "pods", pod_id, "state.json")) as f:
                return json.load(f).get("cni")
        except FileNotFoundError:
            return None

    def cache_entries(self, env):
        """The pods whose state still holds a CNI record."""
        try:
            pods = os.listdir(os.path.join(env.root, "pods"))
        except FileNotFoundError:
            return set()
        return {p for p in pods if self.cni_record(env, p) is not None}

    def netns_mounts(self, env):
        return mounts_under(env.runroot)

    def inside_eth0(self, env, cid):
        return parse_inet(env.exec_ok(cid, [BB, "ip", "-o", "addr", "show", "eth0"]))

    def host_veth_of(self, env, cid):
        """The host end of the pod's eth0 (by the peer ifindex seen inside)."""
        idx = int(env.exec_ok(cid, ["cat", "/sys/class/net/eth0/iflink"]).strip())
        return ifindex_to_name(idx)

    def net_state(self, env, net=None):
        """What a pod's network leaves on the host, for before/after comparisons."""
        st = {"cache": self.cache_entries(env), "netns mounts": set(self.netns_mounts(env))}
        if net is not None:
            st.update({"ips": net.allocated(), "veths": net.veths(), "bwp links": net.bwp_links()})
        return st

    def assert_net_state(self, env, before, net=None, timeout=5.0):
        last = [None]

        def same():
            now = self.net_state(env, net)
            last[0] = {k: (sorted(now[k] - before[k]), sorted(before[k] - now[k])) for k in now
                       if now[k] != before[k]}
            return not last[0]
        try:
            wait_for(same, timeout, "the network state to be as before", interval=0.05)
        except AssertionError:
            raise AssertionError("network state changed (new, gone): %r" % last[0]) from None


# ---------------------------------------------------------------- bridge network

class BridgeNetworkTest(NetTestCase):
    """Pods on a real bridge + host-local network, with portmap and bandwidth in the chain."""

    @classmethod
    def setUpClass(cls):
        cls.net = cls.class_bridge()
        cls.conf = cls.net.conflist({"type": "portmap", "capabilities": {"portMappings": True}},
                                    {"type": "bandwidth", "capabilities": {"bandwidth": True}})
        cls.env = cls.class_net_env({"10-bridge.conflist": cls.conf}, net=cls.net)

    def serve(self, pid, cfg, marker):
        cid, _ = self.env.run(pid, cfg, command=server_cmd(marker))
        return cid

    def test_network_ready_at_start(self):
        c = self.runtime_status(self.env)
        self.assertTrue(c["RuntimeReady"].status)
        self.assertTrue(c["NetworkReady"].status, c["NetworkReady"])

    def test_two_pods_distinct_ips_reach_each_other_over_tcp(self):
        env, net = self.env, self.net
        a, acfg = self.pod()
        b, bcfg = self.pod()
        ipa, ipb = self.pod_ip(env, a), self.pod_ip(env, b)
        for ip in (ipa, ipb):
            self.assertIn(ipaddress.ip_address(ip), net.subnet, "pod IP %r not in %s" % (ip, net.subnet))
            self.assertNotEqual(ip, net.gateway)
        self.assertNotEqual(ipa, ipb)
        self.assertEqual(list(env.pod_status(a).status.network.additional_ips), [])
        self.assertTrue({ipa, ipb} <= net.allocated(), (ipa, ipb, net.allocated()))

        marker = unique("hello-from-a")
        srv = self.serve(a, acfg, marker)
        cli, _ = env.run(b, bcfg, command=sh(LOOP))
        # The IP in PodSandboxStatus is the address on eth0 inside the pod.
        self.assertEqual(self.inside_eth0(env, srv), [ipa])
        self.assertEqual(self.inside_eth0(env, cli), [ipb])

        def reached():
            r = env.exec(cli, sh("%s nc -w 3 %s %d </dev/null" % (BB, ipa, PORT)), timeout=10)
            return r.exit_code == 0 and marker.encode() in r.stdout
        wait_for(reached, 20, "pod b to read from pod a's server at %s:%d" % (ipa, PORT), interval=0.1)
        # And the host reaches pods directly over the bridge.
        wait_for(lambda: (tcp_read(ipa, PORT) or b"").strip() == marker.encode(), 10,
                 "the host to read from %s:%d" % (ipa, PORT), interval=0.1)

    def test_host_port_reachable_from_host(self):
        env, net = self.env, self.net
        host_port = 20000 + (os.getpid() * 7 + 13) % 20000
        cfg = env.pod_config()
        cfg.port_mappings.add(protocol=api.TCP, container_port=PORT, host_port=host_port)
        cfg.port_mappings.add(protocol=api.TCP, container_port=9999, host_port=0)   # not mapped
        pid, _ = self.pod(cfg=cfg)
        marker = unique("hostport")
        self.serve(pid, cfg, marker)
        ip = self.pod_ip(env, pid)
        want = marker.encode()
        wait_for(lambda: (tcp_read(net.gateway, host_port) or b"").strip() == want, 20,
                 "%s:%d (the bridge's gateway address) to forward to the pod" % (net.gateway, host_port),
                 interval=0.1)
        # portmap turns on route_localnet for its SNAT so that 127.0.0.1 works too.
        wait_for(lambda: (tcp_read("127.0.0.1", host_port) or b"").strip() == want, 10,
                 "127.0.0.1:%d to forward to the pod" % host_port, interval=0.1)
        nat = [r for r in iptables_rules() if "--dport %d " % host_port in r and ip in r]
        self.assertTrue(nat, "no DNAT rule for port %d to %s" % (host_port, ip))
        # Only host_port > 0 is mapped.
        self.assertFalse([r for r in iptables_rules() if re.search(r"--(?:dports?|to-destination) \S*\b9999\b", r)])
        env.stop_pod(pid)
        self.assertEqual([r for r in iptables_rules() if "--dport %d " % host_port in r], [])
        self.assertIsNone(tcp_read(net.gateway, host_port, timeout=1.0) or None)

    def test_verbose_status_reports_cni_network_add_time_and_check(self):
        env = self.env
        # With bandwidth annotations: Debian's bandwidth plugin (1.1.1) panics in CHECK
        # when the pod has no bandwidth runtimeConfig (checked by hand: a plugin bug).
        pid, _ = self.pod(annotations={"kubernetes.io/ingress-bandwidth": "10M",
                                       "kubernetes.io/egress-bandwidth": "10M"})
        info = env.pod_info(pid)
        self.assertIn("cni", info, info)
        cni = info["cni"]
        self.assertEqual(cni.get("network"), self.net.name, cni)
        self.assertIsInstance(cni.get("add_ms"), (int, float), cni)
        self.assertGreaterEqual(cni["add_ms"], 0)
        self.assertLess(cni["add_ms"], 60000)
        self.assertEqual(cni.get("check"), "ok", cni)

    def test_pod_stats_count_the_pods_traffic(self):
        env = self.env
        pid, cfg = self.pod()
        host_net, _ = self.pod(network=NS_NODE)
        marker = unique("stats")
        self.serve(pid, cfg, marker)
        ip = self.pod_ip(env, pid)

        def usage(pod):
            return call(env.ch, "PodSandboxStats", api.PodSandboxStatsRequest(pod_sandbox_id=pod)).stats.linux.network

        before = usage(pid)
        self.assertEqual(before.default_interface.name, "eth0")
        self.assertEqual([i.name for i in before.interfaces], ["eth0"])   # lo is not the pod's traffic
        self.assertGreater(before.timestamp, 0)
        # The host reads the server's reply across the bridge: the pod receives and sends.
        wait_for(lambda: (tcp_read(ip, PORT) or b"").strip() == marker.encode(), 10,
                 "the host to read from %s:%d" % (ip, PORT), interval=0.1)
        after = usage(pid)
        self.assertGreater(after.default_interface.rx_bytes.value, before.default_interface.rx_bytes.value)
        self.assertGreater(after.default_interface.tx_bytes.value,
                           before.default_interface.tx_bytes.value + len(marker))
        self.assertEqual(after.default_interface.rx_errors.value, 0)
        # A host-network pod has no network of its own to report.
        self.assertFalse(call(env.ch, "PodSandboxStats", api.PodSandboxStatsRequest(pod_sandbox_id=host_net))
                         .stats.linux.HasField("network"))
        env.stop_pod(pid)
        self.assertFalse(usage(pid).HasField("default_interface"))

    def test_host_network_pod_gets_no_ip_and_no_veth(self):
        env, net = self.env, self.net
        before = net.veths(), net.allocated()
        pid, _ = self.pod(network=NS_NODE)
        st = env.pod_status(pid).status
        self.assertEqual(st.network.ip, "")
        self.assertEqual(list(st.network.additional_ips), [])
        self.assertEqual((net.veths(), net.allocated()), before)
        self.assertTrue(os.path.isfile(os.path.join(env.root, "pods", pid, "state.json")))
        self.assertIsNone(self.cni_record(env, pid))

    def test_bandwidth_annotations_apply_tbf(self):
        env, net = self.env, self.net
        pid, cfg = self.pod(annotations={"kubernetes.io/ingress-bandwidth": "10M",
                                         "kubernetes.io/egress-bandwidth": "20M"})
        plain, pcfg = self.pod()
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        pcid, _ = env.run(plain, pcfg, command=sh(LOOP))
        veth = self.host_veth_of(env, cid)
        self.assertIn(veth, net.veths())
        q = run_cmd(["tc", "qdisc", "show", "dev", veth]).stdout
        # Ingress (towards the pod) is shaped on the host end of the veth.
        self.assertRegex(q, r"qdisc tbf .*rate 10Mbit", q)
        # Egress goes through an ifb device of the bandwidth plugin.
        ifb = bwp_name(net.name, pid)
        self.assertIn(ifb, host_links())
        self.assertNotIn(bwp_name(net.name, plain), host_links())
        q2 = run_cmd(["tc", "qdisc", "show", "dev", ifb]).stdout
        self.assertRegex(q2, r"qdisc tbf .*rate 20Mbit", q2)
        # A pod without the annotations is not shaped.
        pq = run_cmd(["tc", "qdisc", "show", "dev", self.host_veth_of(env, pcid)]).stdout
        self.assertNotIn("tbf", pq)
        env.stop_pod(pid)
        self.assertNotIn(ifb, host_links())
        self.assertNotIn(veth, net.veths())

    def test_stop_releases_ip_veth_and_cni_record(self):
        env, net = self.env, self.net
        before = self.net_state(env, net)
        pid, cfg = self.pod()
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        ip = self.pod_ip(env, pid)
        veth = self.host_veth_of(env, cid)
        self.assertIn(ip, net.allocated())
        self.assertIn(veth, net.veths())
        rec = self.cni_record(env, pid)
        self.assertIsNotNone(rec, "no CNI record in the pod's state")
        self.assertEqual(rec["network"], net.name)
        self.assertIn(ip, json.dumps(rec["result"]))
        self.assertEqual([p["type"] for p in rec["config"]["plugins"]], ["bridge", "portmap", "bandwidth"])
        self.assertTrue([m for m in self.netns_mounts(env) if pid in m], "no netns pin for the pod")
        env.stop_pod(pid)
        self.assertNotIn(ip, net.allocated())
        self.assertNotIn(veth, net.veths())
        self.assertNotIn(veth, host_links())
        self.assertEqual([m for m in self.netns_mounts(env) if pid in m], [])
        self.assertIsNone(self.cni_record(env, pid), "the record outlived DEL")
        env.stop_pod(pid)      # DEL is idempotent
        env.remove_pod(pid)
        self.assertFalse(os.path.exists(os.path.join(env.root, "pods", pid)))
        self.assert_net_state(env, before, net)

    def test_remove_without_stop_runs_del(self):
        env, net = self.env, self.net
        before = self.net_state(env, net)
        pid, _ = self.pod()
        ip = self.pod_ip(env, pid)
        self.assertIn(ip, net.allocated())
        env.remove_pod(pid)
        self.assertNotIn(ip, net.allocated())
        self.assert_net_state(env, before, net)


# ---------------------------------------------------------------- what a plugin sees

# Only the non-loopback IPs on eth0 (in the sandbox) are the pod's: not lo's, not
# those of a host-side interface (no "sandbox"), whatever their order.
FAKE_RESULT = {
    "interfaces": [{"name": "eth0", "mac": "02:00:00:00:00:05", "sandbox": "x"},
                   {"name": "lo", "sandbox": "x"},
                   {"name": "crio-it-hostbr", "mac": "02:00:00:00:00:01"}],
    "ips": [{"address": "127.0.0.1/8", "interface": 1},
            {"address": "10.99.0.1/24", "interface": 2},
            {"address": "10.99.0.5/24", "interface": 0, "gateway": "10.99.0.1"},
            {"address": "::1/128", "interface": 1},
            {"address": "fd00:99::5/64", "interface": 0}],
    "dns": {},
}


class PluginContractTest(NetTestCase):
    """A chain of two recording fake plugins: what crio hands a plugin."""

    @classmethod
    def setUpClass(cls):
        cls.rec = make_tmp("cni-rec-")
        cls.addClassCleanup(remove_tmp, cls.rec)
        cls.conf = {"cniVersion": "1.0.0", "name": "crio-it-fake-net", "plugins": [
            fake("a", cls.rec, fakeResult=FAKE_RESULT, capabilities={"dns": True, "portMappings": True}),
            fake("b", cls.rec, capabilities={"bandwidth": True, "ipRanges": True},
                 failOn={"CHECK": {"code": 11, "msg": "check refused by b", "details": "b-check-details"}}),
        ]}
        cls.env = cls.class_net_env({"10-fake.conflist": cls.conf})

    def test_add_gets_cni_args_clean_env_fds_netns_and_runtime_config(self):
        env = self.env
        cfg = env.pod_config(name=unique("contract"), namespace="crio-it-ns", uid="uid-" + uuid.uuid4().hex[:8],
                             annotations={"kubernetes.io/ingress-bandwidth": "10M",
                                          "kubernetes.io/egress-bandwidth": "2M"},
                             dns={"servers": ["10.9.8.7"], "searches": ["svc.example"], "options": ["ndots:3"]})
        cfg.port_mappings.add(protocol=api.TCP, container_port=80, host_port=18080)
        cfg.port_mappings.add(protocol=api.UDP, container_port=53, host_port=18053, host_ip="127.0.0.1")
        cfg.port_mappings.add(protocol=api.TCP, container_port=9090, host_port=0)
        pid, _ = self.pod(cfg=cfg)
        adds = records(self.rec, command="ADD", cid=pid)
        self.assertEqual([r["tag"] for r in adds], ["a", "b"], "ADD runs the chain in order")
        ra, rb = adds
        for r in adds:
            e = r["env"]
            self.assertEqual(e.get("CNI_COMMAND"), "ADD")
            self.assertEqual(e.get("CNI_CONTAINERID"), pid)
            self.assertEqual(e.get("CNI_IFNAME"), "eth0")
            self.assertEqual(e.get("CNI_PATH", "").split(":"), [fake_bin_dir(), CNI_DIR], e)
            self.assertTrue(e.get("CNI_NETNS", "").startswith(env.runroot + "/"), e)
            self.assertEqual(cni_args(e.get("CNI_ARGS", "")), {
                "IgnoreUnknown": "1", "K8S_POD_NAMESPACE": "crio-it-ns", "K8S_POD_NAME": cfg.metadata.name,
                "K8S_POD_INFRA_CONTAINER_ID": pid, "K8S_POD_UID": cfg.metadata.uid})
            self.assertEqual(set(e) - {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH",
                                        "CNI_ARGS", "PATH"}, set(),
                             "the plugin's environment is not clean: %r" % e)
            self.assertEqual([fd for fd, _ in r["fds"]], [0, 1, 2], "inherited fds: %r" % r["fds"])
            self.assertEqual(r["conf"]["name"], "crio-it-fake-net")
            self.assertEqual(r["conf"]["cniVersion"], "1.0.0")
        # Only the declared capabilities reach a plugin, each from the pod's config.
        rca = ra["conf"].get("runtimeConfig", {})
        self.assertEqual(sorted(rca), ["dns", "portMappings"], rca)
        self.assertEqual(rca["dns"].get("servers"), ["10.9.8.7"])
        self.assertEqual(rca["dns"].get("searches"), ["svc.example"])
        self.assertEqual(rca["dns"].get("options"), ["ndots:3"])
        pm = sorted(rca["portMappings"], key=lambda p: p["hostPort"])
        self.assertEqual([(p["hostPort"], p["containerPort"], p["protocol"].lower()) for p in pm],
                         [(18053, 53, "udp"), (18080, 80, "tcp")])
        self.assertEqual(pm[0].get("hostIP"), "127.0.0.1")
        self.assertIn(pm[1].get("hostIP", ""), ("", None))
        rcb = rb["conf"].get("runtimeConfig", {})
        self.assertNotIn("dns", rcb)
        self.assertNotIn("portMappings", rcb)
        self.assertEqual(rcb.get("bandwidth", {}).get("ingressRate"), 10 * 1000 * 1000, rcb)
        self.assertEqual(rcb.get("bandwidth", {}).get("egressRate"), 2 * 1000 * 1000, rcb)
        self.assertGreater(rcb["bandwidth"].get("ingressBurst", 0), 0, "the bandwidth plugin needs a burst")
        self.assertGreater(rcb["bandwidth"].get("egressBurst", 0), 0, "the bandwidth plugin needs a burst")
        # b is chained after a.
        self.assertNotIn("prevResult", ra["conf"])
        self.assertEqual([i["address"] for i in rb["conf"]["prevResult"]["ips"]],
                         [i["address"] for i in FAKE_RESULT["ips"]])
        # CNI_NETNS is the pod's network namespace.
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        self.assertEqual(ra["netns_ino"], ns_inode(env.pid(cid), "net"))

        # DEL: reverse order, same identity, prevResult from the cached result.
        env.stop_pod(pid)
        dels = records(self.rec, command="DEL", cid=pid)
        self.assertGreaterEqual(len(dels), 2)
        self.assertEqual([r["tag"] for r in dels[:2]], ["b", "a"], "DEL runs the chain in reverse")
        for r in dels[:2]:
            e = r["env"]
            self.assertEqual(cni_args(e.get("CNI_ARGS", "")).get("K8S_POD_INFRA_CONTAINER_ID"), pid)
            self.assertEqual(e.get("CNI_IFNAME"), "eth0")
            self.assertEqual([fd for fd, _ in r["fds"]], [0, 1, 2])
            self.assertEqual([i["address"] for i in r["conf"].get("prevResult", {}).get("ips", [])],
                             [i["address"] for i in FAKE_RESULT["ips"]], "DEL gets the ADD result as prevResult")

    def test_dual_stack_result_gives_ip_and_additional_ips(self):
        env = self.env
        pid, _ = self.pod()
        net = env.pod_status(pid).status.network
        self.assertEqual(net.ip, "10.99.0.5")
        self.assertEqual([x.ip for x in net.additional_ips], ["fd00:99::5"])

    def test_check_failure_is_reported_in_verbose_info(self):
        env = self.env
        pid, _ = self.pod()
        cni = env.pod_info(pid).get("cni", {})
        self.assertEqual(cni.get("network"), "crio-it-fake-net", cni)
        self.assertIsInstance(cni.get("check"), str, cni)
        self.assertIn("check refused by b", cni["check"])
        checks = records(self.rec, command="CHECK", cid=pid)
        self.assertTrue(checks, "no CHECK reached the plugins")

    def test_host_network_pod_skips_cni(self):
        env = self.env
        pid, _ = self.pod(network=NS_NODE)
        self.assertEqual(records(self.rec, cid=pid), [])
        st = env.pod_status(pid).status
        self.assertEqual((st.network.ip, list(st.network.additional_ips)), ("", []))
        env.stop_pod(pid)
        env.remove_pod(pid)
        self.assertEqual(records(self.rec, cid=pid), [])

    def test_pod_without_dns_or_ports_passes_no_such_runtime_config(self):
        pid, _ = self.pod()
        ra = records(self.rec, tag="a", command="ADD", cid=pid)[0]
        rc = ra["conf"].get("runtimeConfig", {})
        self.assertFalse(rc.get("portMappings"), rc)
        self.assertFalse(rc.get("dns"), rc)
        rb = records(self.rec, tag="b", command="ADD", cid=pid)[0]
        self.assertFalse(rb["conf"].get("runtimeConfig", {}).get("bandwidth"), rb["conf"])


class CheckVersionTest(NetTestCase):

    def test_check_is_unsupported_before_cni_0_4_0(self):
        rec = self.record_dir()
        env = self.net_env({"10-old.conflist": {"cniVersion": "0.3.1", "name": "crio-it-old", "plugins": [
            fake("o", rec, fakeResult={"interfaces": [{"name": "eth0", "sandbox": "x"}],
                                       "ips": [{"version": "4", "address": "10.98.0.7/24", "interface": 0}]})]}})
        pid, _ = self.pod(env)
        self.assertEqual(env.pod_status(pid).status.network.ip, "10.98.0.7")
        cni = env.pod_info(pid).get("cni", {})
        self.assertEqual((cni.get("network"), cni.get("check")), ("crio-it-old", "unsupported"), cni)
        self.assertEqual(records(rec, command="CHECK", cid=pid), [], "CHECK run for a 0.3.1 network")


class PodCidrFakeTest(NetTestCase):
    """UpdateRuntimeConfig's pod_cidr reaches plugins declaring ipRanges."""

    def test_update_runtime_config_pod_cidr_gives_ip_ranges(self):
        rec = self.record_dir()
        env = self.net_env({"10-fake.conflist": {"cniVersion": "1.0.0", "name": "crio-it-ipr", "plugins": [
            fake("r", rec, capabilities={"ipRanges": True}), fake("n", rec)]}})
        call(env.ch, "UpdateRuntimeConfig", api.UpdateRuntimeConfigRequest(
            runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr="10.77.0.0/16"))))
        pid, _ = self.pod(env)
        r = records(rec, tag="r", command="ADD", cid=pid)[0]["conf"]
        ranges = r.get("runtimeConfig", {}).get("ipRanges")
        self.assertIsInstance(ranges, list, r)
        self.assertEqual([[x.get("subnet") for x in rs] for rs in ranges], [["10.77.0.0/16"]], r)
        n = records(rec, tag="n", command="ADD", cid=pid)[0]["conf"]
        self.assertNotIn("ipRanges", n.get("runtimeConfig", {}))


class IpRangesBridgeTest(NetTestCase):
    """host-local with no ranges of its own allocates from UpdateRuntimeConfig's pod_cidr."""

    @classmethod
    def setUpClass(cls):
        cls.net = cls.class_bridge()
        cls.conf = cls.net.conflist(ipam_ranges=False, capabilities={"ipRanges": True})
        cls.env = cls.class_net_env({"10-bridge.conflist": cls.conf}, net=cls.net)

    def test_pod_ip_from_pod_cidr(self):
        env, net = self.env, self.net
        before = self.net_state(env, net)
        r = call(env.ch, "UpdateRuntimeConfig", api.UpdateRuntimeConfigRequest(
            runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr=str(net.subnet)))))
        self.assertIsInstance(r, api.UpdateRuntimeConfigResponse)
        pid, pcfg = self.pod()
        ip = self.pod_ip(env, pid)
        self.assertIn(ipaddress.ip_address(ip), net.subnet)
        self.assertIn(ip, net.allocated())
        cid, _ = env.run(pid, pcfg, command=sh(LOOP))
        self.assertEqual(self.inside_eth0(env, cid), [ip])
        env.remove_pod(pid)
        self.assertNotIn(ip, net.allocated())
        self.assert_net_state(env, before, net)


class NoPodCidrTest(NetTestCase):
    """Without a pod CIDR, host-local (no ranges of its own) fails inside the bridge
    plugin: the ADD fails and is rolled back.  (Its own bridge: after such a failure
    the bridge plugin leaves a port-less bridge whose MAC a later ADD cannot set, a
    quirk of the plugin, checked by hand.)"""

    @classmethod
    def setUpClass(cls):
        cls.net = cls.class_bridge()
        cls.env = cls.class_net_env({"10-bridge.conflist": cls.net.conflist(ipam_ranges=False,
                                                                            capabilities={"ipRanges": True})},
                                    net=cls.net)

    def test_no_pod_cidr_fails_and_leaks_nothing(self):
        env, net = self.env, self.net
        before = self.net_state(env, net)
        snap = env.snapshot()
        cfg = env.pod_config()
        with self.assertRaises(grpc.RpcError) as cm:
            env.run_pod(cfg)
        self.assertIn("no IP ranges", cm.exception.details())
        self.assertNotIn(cfg.metadata.name, [p.metadata.name for p in env.list_pods()])
        self.assert_net_state(env, before, net)
        snap.assert_nothing_new()


# ---------------------------------------------------------------- readiness and config files

class ReadinessTest(NetTestCase):

    def lo_conf(self, name):
        return {"cniVersion": "1.0.0", "name": name, "plugins": [{"type": "loopback"}]}

    def test_network_ready_follows_the_config_dir(self):
        env = self.net_env({})
        netdir = env.cni_netdir
        c = self.wait_network_ready(env, False)
        self.assertTrue(self.runtime_status(env)["RuntimeReady"].status)
        self.assertEqual(c.reason, "NetworkPluginNotReady")
        self.assertIn(netdir.rstrip("/"), c.message)
        snap = env.snapshot()
        cfg = env.pod_config()
        self.assertRpcError(lambda: env.run_pod(cfg), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(env.list_pods(), [])
        snap.assert_nothing_new()

        # A valid file appears: ready without a restart.
        self.write_net(netdir, "10-lo.conflist", self.lo_conf("crio-it-ready"))
        c = self.wait_network_ready(env, True)
        pid, _ = self.pod(env, cfg=cfg)
        self.assertEqual(env.pod_status(pid).status.state, READY)
        self.assertEqual(env.pod_info(pid).get("cni", {}).get("network"), "crio-it-ready")

        # Emptied: not ready again.
        os.remove(os.path.join(netdir, "10-lo.conflist"))
        c = self.wait_network_ready(env, False)
        self.assertEqual(c.reason, "NetworkPluginNotReady")
        self.assertRpcError(lambda: env.run_pod(env.pod_config()), grpc.StatusCode.FAILED_PRECONDITION)
        # The running pod still stops and is removed (its DEL uses the cached config).
        env.stop_pod(pid)
        env.remove_pod(pid)

        # Refilled.
        self.write_net(netdir, "20-lo.conflist", self.lo_conf("crio-it-refilled"))
        self.wait_network_ready(env, True)
        pid2, _ = self.pod(env)
        self.assertEqual(env.pod_info(pid2).get("cni", {}).get("network"), "crio-it-refilled")

    def test_malformed_conflist_alone_is_not_ready(self):
        env = self.net_env({"10-bad.conflist": '{"cniVersion": "1.0.0", "name": "bad", "plugins": [',
                            "11-noplugins.conflist": {"cniVersion": "1.0.0", "name": "noplugins"}})
        c = self.wait_network_ready(env, False, timeout=5)
        self.assertEqual(c.reason, "NetworkPluginNotReady")
        self.assertTrue(c.message)
        snap = env.snapshot()
        self.assertRpcError(lambda: env.run_pod(env.pod_config()), grpc.StatusCode.FAILED_PRECONDITION)
        snap.assert_nothing_new()
        self.assertEqual(self.cache_entries(env), set())
        # A valid file after it: the malformed ones are skipped.
        self.write_net(env.cni_netdir, "20-good.conflist", self.lo_conf("crio-it-good"))
        self.wait_network_ready(env, True)
        pid, _ = self.pod(env)
        self.assertEqual(env.pod_info(pid).get("cni", {}).get("network"), "crio-it-good")

    def test_default_network_by_name_else_first_valid_file(self):
        rec = self.record_dir()
        files = {   # written in reverse lexical order: the directory's order is not the one
            "40-ignored.txt": {"cniVersion": "1.0.0", "name": "net-txt", "plugins": [fake("t", rec)]},
            "30-c.json": dict(fake("c", rec), cniVersion="1.0.0", name="net-c"),
            # A .conf file holds a single plugin's configuration.
            "20-b.conf": dict(fake("b", rec), cniVersion="1.0.0", name="net-b"),
            "10-a.conflist": {"cniVersion": "1.0.0", "name": "net-a", "plugins": [fake("a", rec)]},
            "05-bad.conflist": "not json",
            "00-ignored.conflist.bak": {"cniVersion": "1.0.0", "name": "net-bak", "plugins": [fake("k", rec)]},
        }
        first = self.net_env(files)
        pid, _ = self.pod(first)
        self.assertEqual(first.pod_info(pid).get("cni", {}).get("network"), "net-a")
        self.assertEqual([(r["tag"], r["conf"]["name"]) for r in records(rec, command="ADD", cid=pid)],
                         [("a", "net-a")])
        for want, tag in (("net-b", "b"), ("net-c", "c")):
            env = self.net_env(files, default_network=want)
            pid, _ = self.pod(env)
            self.assertEqual(env.pod_info(pid).get("cni", {}).get("network"), want)
            self.assertEqual([(r["tag"], r["conf"]["name"]) for r in records(rec, command="ADD", cid=pid)],
                             [(tag, want)])

    def test_named_default_network_absent_is_not_ready(self):
        env = self.net_env({"10-lo.conflist": self.lo_conf("crio-it-other")}, default_network="crio-it-wanted")
        c = self.wait_network_ready(env, False, timeout=5)
        self.assertEqual(c.reason, "NetworkPluginNotReady")
        self.assertIn("crio-it-wanted", c.message)
        self.assertRpcError(lambda: env.run_pod(env.pod_config()), grpc.StatusCode.FAILED_PRECONDITION)
        self.write_net(env.cni_netdir, "20-wanted.conflist", self.lo_conf("crio-it-wanted"))
        self.wait_network_ready(env, True)
        pid, _ = self.pod(env)
        self.assertEqual(env.pod_info(pid).get("cni", {}).get("network"), "crio-it-wanted")

    def test_file_replaced_in_place_is_reloaded(self):
        env = self.net_env({"10-lo.conflist": self.lo_conf("crio-it-v1")})
        pid1, _ = self.pod(env)
        self.assertEqual(env.pod_info(pid1).get("cni", {}).get("network"), "crio-it-v1")
        self.write_net(env.cni_netdir, "10-lo.conflist", self.lo_conf("crio-it-v2"))

        def v2():
            pid, _ = self.pod(env)
            return env.pod_info(pid).get("cni", {}).get("network") == "crio-it-v2"
        wait_for(v2, READY_TIMEOUT, "pods to get the rewritten network", interval=0.2)
        # The first pod keeps what it was attached with.
        self.assertEqual(env.pod_info(pid1).get("cni", {}).get("network"), "crio-it-v1")

    def test_update_runtime_config_is_accepted(self):
        env = self.net_env({"10-lo.conflist": self.lo_conf("crio-it-urc")})
        r = call(env.ch, "UpdateRuntimeConfig", api.UpdateRuntimeConfigRequest(
            runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr="10.78.0.0/16"))))
        self.assertIsInstance(r, api.UpdateRuntimeConfigResponse)
        self.assertTrue(self.runtime_status(env)["NetworkReady"].status)
        # Dual stack is one CIDR per family; anything else is refused, naming it.
        call(env.ch, "UpdateRuntimeConfig", api.UpdateRuntimeConfigRequest(
            runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr="10.78.0.0/16,fd00:78::/64"))))
        for bad in ("10.78.0.0", "10.78.0.0/33", "nonsense/8", "10.1.0.0/16,10.2.0.0/16,fd00::/64"):
            with self.subTest(pod_cidr=bad):
                self.assertRpcError(lambda: call(env.ch, "UpdateRuntimeConfig", api.UpdateRuntimeConfigRequest(
                    runtime_config=api.RuntimeConfig(network_config=api.NetworkConfig(pod_cidr=bad)))),
                    grpc.StatusCode.INVALID_ARGUMENT, "pod CIDR")


# ---------------------------------------------------------------- restart

class RestartTest(NetTestCase):

    @classmethod
    def setUpClass(cls):
        cls.net = cls.class_bridge()

    def test_stop_after_kill9_and_restart_releases_ip_and_veth(self):
        net = self.net
        env = self.net_env({"10-bridge.conflist": net.conflist()}, net=net)
        before = self.net_state(env, net)
        pid, cfg = self.pod(env)
        cid, _ = env.run(pid, cfg, command=sh(LOOP))
        pid2, _ = self.pod(env)           # removed without a stop, after the restart
        ip, ip2 = self.pod_ip(env, pid), self.pod_ip(env, pid2)
        veth = self.host_veth_of(env, cid)
        self.assertTrue({ip, ip2} <= net.allocated())
        self.assertIn(veth, net.veths())
        self.assertEqual(len(net.veths() - before["veths"]), 2)
        env.kill9()
        # The configuration changes while the server is down: DEL must use the
        # cached configuration (this one would release nothing in the dataDir).
        os.remove(os.path.join(env.cni_netdir, "10-bridge.conflist"))
        self.write_net(env.cni_netdir, "20-lo.conflist",
                       {"cniVersion": "1.0.0", "name": "crio-it-other", "plugins": [{"type": "loopback"}]})
        env.restart()
        self.assertEqual(env.pod_status(pid).status.network.ip, ip, "the pod IP survives a restart")
        self.assertTrue({ip, ip2} <= net.allocated())
        env.stop_pod(pid)
        self.assertNotIn(ip, net.allocated(), "StopPodSandbox after restart did not release the IP")
        self.assertNotIn(veth, net.veths())
        self.assertNotIn(veth, host_links())
        env.stop_pod(pid)
        env.remove_pod(pid)
        self.assertIsNone(self.cni_record(env, pid))
        # With no valid network at all, RemovePodSandbox still runs DEL from the pod's record.
        os.remove(os.path.join(env.cni_netdir, "20-lo.conflist"))
        self.wait_network_ready(env, False)
        self.assertIn(ip2, net.allocated())
        env.remove_pod(pid2)
        self.assertNotIn(ip2, net.allocated(), "RemovePodSandbox after restart did not release the IP")
        self.assertIsNone(self.cni_record(env, pid2))
        self.assert_net_state(env, before, net)
        self.assertEqual(env.leftovers([pid, pid2]), [])


# ---------------------------------------------------------------- faults

class FaultTest(NetTestCase):
    """A failed ADD is rolled back: nothing of the pod is left on the host."""

    @classmethod
    def setUpClass(cls):
        cls.net = cls.class_bridge()

    def failing_env(self, second, **kw):
        env = self.net_env({"10-bridge.conflist": self.net.conflist(second)}, net=self.net, **kw)
        self.wait_network_ready(env, True, timeout=5)
        return env

    def run_failing(self, env, code, pattern=None, max_seconds=None):
        """RunPodSandbox that must fail with `code`; asserts nothing leaked. Returns the error."""
        net = self.net
        before = self.net_state(env, net)
        snap = env.snapshot()
        cfg = env.pod_config()
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as cm:
            env.run_pod(cfg)
        err = cm.exception
        took = time.monotonic() - t0
        if code is not None:
            self.assertEqual(err.code(), code, "details: %r" % err.details())
        if pattern is not None:
            self.assertRegex(err.details() or "", pattern)
        if max_seconds is not None:
            self.assertLess(took, max_seconds, "RunPodSandbox took %.1fs" % took)
        self.assertNotIn(cfg.metadata.name, [p.metadata.name for p in env.list_pods()])
        self.assert_net_state(env, before, net)
        snap.assert_nothing_new()
        # The name is not kept reserved by the failed attempt (a good pod would fail the
        # same way, so only check the error is the same and not ALREADY_EXISTS).
        with self.assertRaises(grpc.RpcError) as cm2:
            env.run_pod(cfg)
        self.assertEqual(cm2.exception.code(), err.code(), "details: %r" % cm2.exception.details())
        self.assert_net_state(env, before, net)
        return err, took

    def assert_bridge_ip_released(self, adds):
        """The bridge plugin had allocated an IP (the fake plugin's prevResult) that is free again."""
        self.assertTrue(adds)
        for a in adds:
            ips = [i["address"].split("/")[0] for i in a["conf"].get("prevResult", {}).get("ips", [])]
            self.assertEqual(len(ips), 1, a["conf"])
            self.assertIn(ipaddress.ip_address(ips[0]), self.net.subnet)
            self.assertNotIn(ips[0], self.net.allocated())

    def test_missing_plugin_is_unavailable(self):
        env = self.failing_env({"type": "crio-it-no-such-plugin"})
        err, _ = self.run_failing(env, grpc.StatusCode.UNAVAILABLE, "crio-it-no-such-plugin")

    def test_plugin_error_json(self):
        rec = self.record_dir()
        env = self.failing_env(fake("f", rec, failOn={"ADD": {"code": 7, "msg": "fake refused the pod",
                                                              "details": "quota exceeded for tenant-42"}}))
        # The contract names no code for a plugin's own error: any error carrying its msg and details.
        err, _ = self.run_failing(env, None)
        self.assertIn("fake refused the pod", err.details())
        self.assertIn("quota exceeded for tenant-42", err.details())
        # The rollback ran DEL for the failed plugin too.
        adds = records(rec, command="ADD")
        self.assertTrue(adds)
        self.assert_bridge_ip_released(adds)
        for a in adds:
            cid = a["env"]["CNI_CONTAINERID"]
            self.assertTrue(records(rec, command="DEL", cid=cid), "no DEL after the failed ADD of %s" % cid)

    def test_plugin_hang_times_out(self):
        rec = self.record_dir()
        env = self.failing_env(fake("h", rec, hangOn=["ADD"]), plugin_timeout=2)
        err, took = self.run_failing(env, grpc.StatusCode.DEADLINE_EXCEEDED, max_seconds=30)
        self.assertGreaterEqual(took, 1.5, "the plugin was not given its timeout")
        self.assert_bridge_ip_released(records(rec, command="ADD"))
        pidfiles = [f for f in os.listdir(rec) if f.endswith(".pid")]
        self.assertTrue(pidfiles)
        for f in pidfiles:
            with open(os.path.join(rec, f)) as fh:
                p = int(fh.read())
            wait_for(lambda: not alive(p), 5, "the hung plugin %d to be killed" % p)

    def test_del_hanging_past_the_timeout(self):
        # DEL of the fake plugin (last in the chain, so DEL runs it first) hangs once:
        # StopPodSandbox fails with DEADLINE_EXCEEDED, kills it, and still runs the
        # bridge plugin's DEL; the retry (as the kubelet does) succeeds.
        rec = self.record_dir()
        net = self.net
        env = self.failing_env(fake("d", rec, hangOnceOn=["DEL"]), plugin_timeout=2)
        before = self.net_state(env, net)
        pid, _ = self.pod(env)
        ip = self.pod_ip(env, pid)
        self.assertIn(ip, net.allocated())
        t0 = time.monotonic()
        err = self.assertRpcError(lambda: env.stop_pod(pid), grpc.StatusCode.DEADLINE_EXCEEDED)
        took = time.monotonic() - t0
        self.assertLess(took, 30, "StopPodSandbox took %.1fs: %s" % (took, err.details()))
        with open(os.path.join(rec, "d-hang-%s.pid" % pid)) as f:
            p = int(f.read())
        wait_for(lambda: not alive(p), 5, "the hung plugin %d to be killed" % p)
        env.stop_pod(pid)
        self.assertNotIn(ip, net.allocated())
        env.remove_pod(pid)
        self.assert_net_state(env, before, net)

    def test_failure_in_first_plugin_too(self):
        # Nothing was added at all: the rollback has nothing to undo and must not fail.
        rec = self.record_dir()
        conf = {"cniVersion": "1.0.0", "name": "crio-it-first-fails", "plugins": [
            fake("f", rec, failOn={"ADD": {"code": 4, "msg": "first plugin says no", "details": "d1"}})]}
        env = self.net_env({"10-fail.conflist": conf})
        err, _ = self.run_failing(env, None, "first plugin says no")


# ---------------------------------------------------------------- teardown at scale

class TeardownTest(NetTestCase):

    N = 50

    @classmethod
    def setUpClass(cls):
        cls.net = cls.class_bridge()
        cls.conf = cls.net.conflist({"type": "portmap", "capabilities": {"portMappings": True}},
                                    {"type": "bandwidth", "capabilities": {"bandwidth": True}}, ip_masq=True)
        cls.env = cls.class_net_env({"10-bridge.conflist": cls.conf}, net=cls.net)

    def test_teardown_of_50_pods_leaves_nothing(self):
        env, net = self.env, self.net
        ipt_before = iptables_rules()
        before = self.net_state(env, net)
        base = 30000 + (os.getpid() % 300) * 100

        def one(i):
            cfg = env.pod_config(name=unique("many%d" % i),
                                 annotations={"kubernetes.io/ingress-bandwidth": "5M"} if i % 5 == 0 else {})
            cfg.port_mappings.add(protocol=api.TCP, container_port=PORT, host_port=base + i)
            return env.run_pod(cfg)[0]
        ids, failed = [], []
        try:
            with ThreadPoolExecutor(10) as ex:
                futs = [ex.submit(one, i) for i in range(self.N)]
                for f in futs:
                    try:
                        ids.append(f.result())
                    except grpc.RpcError as e:
                        failed.append("%s %s" % (e.code(), e.details()))
            self.assertEqual(failed, [], "RunPodSandbox failed")
            ips = {self.pod_ip(env, p) for p in ids}
            self.assertEqual(len(ips), self.N)
            self.assertTrue(all(ipaddress.ip_address(i) in net.subnet for i in ips))
            self.assertTrue(ips <= net.allocated())
            self.assertEqual(len(net.veths() - before["veths"]), self.N)
            self.assertEqual(len(net.bwp_links()), 0)   # only ingress shaping: no ifb
            added = new_iptables(ipt_before, net.tokens(ids))
            for i in range(self.N):
                self.assertTrue([r for r in added if "--dport %d " % (base + i) in r], "no DNAT for %d" % (base + i))
            for ip in ips:   # the bridge plugin's ipMasq
                self.assertTrue([r for r in added if "-s %s/32 " % ip in r], "no masquerade rule for %s" % ip)
            pinned = {p for p in ids if any(p in m for m in self.netns_mounts(env))}
            self.assertEqual(len(pinned), self.N)
        finally:
            def gone(p):
                env.stop_pod(p)
                env.remove_pod(p)
            t0 = time.monotonic()
            with ThreadPoolExecutor(10) as ex:
                errs = [f.exception() for f in [ex.submit(gone, p) for p in ids]]
            took = time.monotonic() - t0
        bad = [(e.code(), e.details()) if isinstance(e, grpc.RpcError) else repr(e) for e in errs if e]
        self.assertEqual(bad, [])
        sys.stderr.write("[teardown of %d pods: %.1fs] " % (len(ids), took))
        self.assert_net_state(env, before, net)
        left = new_iptables(ipt_before, net.tokens(ids))
        self.assertEqual(left, [], "iptables rules left behind")
        mentions = [r for r in iptables_rules() if any(p[:12] in r for p in ids) or any(
            re.search(r"\b%s\b" % re.escape(ip), r) for ip in ips)]
        self.assertEqual(mentions, [])
        self.assertEqual(env.leftovers(ids), [])


if __name__ == "__main__":
    unittest.main()
