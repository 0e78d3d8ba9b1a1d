"""pycnm-cni, the CNI plugin, exec'd as a runtime execs it, against a real ``pycnm daemon``: the
container gets its address on a pycnm bridge network and pings a pycnm sandbox, a mapped port
answers, Debian's plugins chained after it work on its result, bandwidth limits shape real
traffic, a DEL with the daemon down is carried out when it starts, 50 ADDs at once all succeed,
and results have the shape Debian's Go bridge plugin gives for the same input.

Everything runs in the lab: the daemon and the test's thread in a namespace standing in for the
host, the "containers" in namespaces this test makes (``<prefix>rtN``), as a runtime would."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import os
import subprocess
import sys
import time

import pytest

from pycnm.cni import spec

from .cnilab import SUBNET, attachment
from .helpers import in_ns, ping
from .netlab import HOST_IP, OUTSIDE_IP, Server, connect

pytestmark = pytest.mark.privileged

#: a TCP server that reads one connection to its end
SINK = (
    "import socket; s=socket.socket(); s.bind(('0.0.0.0',9000)); s.listen(1);"
    " print('ready', flush=True); c,_=s.accept()\nwhile c.recv(65536): pass"
)
GO_BRIDGE = "/usr/lib/cni/bridge"


def address_of(result: dict) -> str:
    return result["ips"][0]["address"].split("/")[0]


def container_interface(result: dict) -> dict:
    (intf,) = [i for i in result["interfaces"] if i.get("sandbox")]
    return intf


def test_a_container_added_through_the_plugin_pings_a_pycnm_sandbox_and_del_takes_it_all_back(cni):
    ns = cni.netns(1)
    result = cni.add(ns, "ctr1")
    assert result["cniVersion"] == "1.0.0"
    intf = container_interface(result)
    assert intf["name"] == "eth0" and intf["sandbox"] == ns
    assert intf["mac"] in in_ns(ns, "ip", "link", "show", "eth0").stdout  # the kernel's MAC, as podman reads it
    (host,) = [i for i in result["interfaces"] if not i.get("sandbox")]  # the veth's host end, for chained plugins
    assert f"{cni.prefix}br" in in_ns(cni.lab.host, "ip", "link", "show", host["name"]).stdout
    ip = result["ips"][0]
    assert result["interfaces"][ip["interface"]] == intf and ip["gateway"] == "10.214.0.1"
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.214.0.1"}]
    # a pycnm sandbox on the same network, and the container, reach each other
    sb = cni.ctl.create_sandbox(f"{cni.prefix}-peer")
    peer = cni.ctl.connect(cni.network, sb)
    assert ping(ns, peer.address.ip) and ping(sb.key, address_of(result))
    # pycnm sees it as a sandbox of its own kind: external, at the runtime's path
    (ctr,) = [s for s in cni.ctl.sandboxes() if s.name == "ctr1"]
    assert ctr.external and ctr.key == ns
    cni.delete(ns, "ctr1")
    assert [s.name for s in cni.ctl.sandboxes()] == [sb.name]
    assert "eth0" not in in_ns(ns, "ip", "link").stdout and os.path.exists(ns)  # the namespace stays the runtime's
    cni.delete(ns, "ctr1")  # again: fine
    cni.delete(None, "ctr1")  # without a namespace: fine


def test_every_spec_version_gets_its_own_result_shape(cni):
    for n, version in enumerate(spec.SUPPORTED_VERSIONS):
        ns = cni.netns(10 + n)
        result = cni.add(ns, f"v{n}", cni.conf(version))
        assert result["cniVersion"] == version
        assert all(("version" in ip) == version.startswith("0.") for ip in result["ips"])
        cni.delete(ns, f"v{n}", cni.conf(version))


def test_results_have_the_shape_debian_s_go_bridge_plugin_gives(cni, prefix):
    """The same attachment asked of Go's bridge + host-local and of pycnm-cni: the same keys
    everywhere, the container's interface with its sandbox and MAC, ips pointing at it."""
    go_conf = {
        "type": "bridge",
        "bridge": f"{prefix}gb",
        "isGateway": True,
        "ipam": {"type": "host-local", "subnet": "10.215.0.0/24", "dataDir": str(cni.tmp / "host-local")},
    }

    def shape(result: dict) -> dict:
        intf = container_interface(result)
        return {
            "keys": sorted(k for k in result if k != "routes"),  # Go leaves an empty list out
            "ip": sorted(result["ips"][0]),
            "container": sorted(intf),
            "points": result["interfaces"][result["ips"][0]["interface"]] == intf,
        }

    for n, version in enumerate(("0.3.1", "0.4.0", "1.0.0")):
        ns_go, ns_ours = cni.netns(20 + 2 * n), cni.netns(21 + 2 * n)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "CNI_PATH": "/usr/lib/cni",
            **attachment("ADD", f"go{n}", ns_go),
        }
        go_stdin = json.dumps(dict(go_conf, name=f"{prefix}go", cniVersion=version)).encode()
        out = subprocess.run([GO_BRIDGE], input=go_stdin, env=env, capture_output=True, timeout=60, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        theirs = json.loads(out.stdout)
        ours = cni.add(ns_ours, f"ours{n}", cni.conf(version))
        try:
            assert shape(ours) == shape(theirs), (ours, theirs)
        finally:
            env["CNI_COMMAND"] = "DEL"
            subprocess.run([GO_BRIDGE], input=go_stdin, env=env, capture_output=True, timeout=60, check=True)
            cni.delete(ns_ours, f"ours{n}", cni.conf(version))
    subprocess.run(["ip", "link", "del", f"{prefix}gb"], check=False)


def test_a_mapped_port_with_a_host_ip_answers_from_outside(cni):
    ns = cni.netns(2)
    config = cni.conf(
        runtimeConfig={
            "portMappings": [{"hostPort": 18080, "containerPort": 8080, "protocol": "tcp", "hostIP": HOST_IP}]
        }
    )
    result = cni.add(ns, "web", config)
    with Server(ns, "0.0.0.0", 8080):
        answer = connect(cni.lab.outside, HOST_IP, 18080)
        assert answer is not None and answer.startswith("hello from")
    cni.delete(ns, "web", config)
    assert connect(cni.lab.outside, HOST_IP, 18080) is None
    assert address_of(result).startswith("10.214.0.")


def test_a_requested_address_and_mac_are_the_container_s(cni):
    ns = cni.netns(3)
    config = cni.conf(runtimeConfig={"ips": ["10.214.0.77/24"], "mac": "02:42:0a:d6:00:4d"})
    result = cni.add(ns, "fixed", config)
    assert result["ips"][0]["address"] == "10.214.0.77/24"
    assert "02:42:0a:d6:00:4d" in in_ns(ns, "ip", "link", "show", "eth0").stdout
    # taken: the next one asking for it fails, and leaves nothing behind
    ns2 = cni.netns(4)
    rc, err, _ = cni.cni(attachment("ADD", "fixed2", ns2), config)
    assert rc == 1 and err["code"] != 0 and "10.214.0.77" in json.dumps(err)
    assert "eth0" not in in_ns(ns2, "ip", "link").stdout
    assert [s.name for s in cni.ctl.sandboxes()] == ["fixed"]
    cni.delete(ns, "fixed", config)


def test_add_fails_on_an_interface_the_container_has_and_check_follows_the_kernel(cni):
    ns = cni.netns(5)
    in_ns(ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth9", check=True)
    rc, err, _ = cni.cni(attachment("ADD", "dup", ns), cni.conf())
    assert rc == 1 and "eth0 already exists" in err["msg"] and err["cniVersion"] == "1.0.0"
    in_ns(ns, "ip", "link", "del", "eth0", check=True)
    result = cni.add(ns, "dup")
    check = dict(cni.conf(), prevResult=result)
    assert cni.cni(attachment("CHECK", "dup", ns), check)[:2] == (0, None)
    in_ns(ns, "ip", "addr", "flush", "dev", "eth0", check=True)  # something took the address away
    rc, err, _ = cni.cni(attachment("CHECK", "dup", ns), check)
    assert rc == 1 and err["code"] == 999 and "lacks" in err["msg"]
    cni.delete(ns, "dup")


def test_debian_s_plugins_chained_after_pycnm_cni_work_on_its_result(cni, prefix):
    """portmap, tuning, bandwidth and firewall after pycnm-cni, run as libcni runs a list."""
    from pycnm_cni.conflist import parse
    from pycnm_cni.operations import Attachment, Runner

    ns = cni.netns(6)
    raw = spec.conflist(
        cni.network,
        socket=cni.sock,
        state_dir=cni.ctl.state_dir,
        chain=["portmap", {"type": "tuning", "mtu": 1400}, "bandwidth", "firewall"],
    )
    conf = parse(raw, "test")
    runner = Runner((str(cni.bin), "/usr/lib/cni"), timeout=60)
    version = runner.version(conf)
    att = Attachment(
        "chained",
        ns,
        "eth0",
        capability_args={
            "portMappings": [{"hostPort": 18081, "containerPort": 8081, "protocol": "tcp"}],
            "bandwidth": {
                "ingressRate": 8_000_000,
                "ingressBurst": 800_000,
                "egressRate": 8_000_000,
                "egressBurst": 800_000,
            },
        },
    )
    result = runner.add(conf, version, att)
    try:
        host = result["interfaces"][0]["name"]  # pycnm-cni's veth end; bandwidth adds its ifb after
        assert "mtu 1400" in in_ns(ns, "ip", "link", "show", "eth0").stdout  # tuning, in the container
        assert "tbf" in in_ns(cni.lab.host, "tc", "qdisc", "show", "dev", host).stdout  # bandwidth, on the host end
        with Server(ns, "0.0.0.0", 8081):  # portmap's DNAT, from the outside
            assert (connect(cni.lab.outside, HOST_IP, 18081) or "").startswith("hello from")
        # CHECK on the result, less portmap: Debian's 1.1.1 fails its own CHECK on a container with
        # no IPv6 address ("could not check ipv6 dnat: chain CNI-DN-... not found"), pycnm or not
        others = dict(raw, plugins=[p for p in raw["plugins"] if p["type"] != "portmap"])
        runner.check(parse(others, "test"), version, att, result)
    finally:
        runner.delete(conf, version, att, result)
        _drop_iptables_tables(cni.lab.host)
    assert [s.name for s in cni.ctl.sandboxes()] == []


def _drop_iptables_tables(key: str) -> None:
    """portmap and firewall (iptables-nft) leave their empty chains and tables; the lab checks
    that the host holds no table it did not have."""
    for family, table in (
        ("ip", "nat"),
        ("ip", "filter"),
        ("ip", "mangle"),
        ("ip6", "nat"),
        ("ip6", "filter"),
        ("ip6", "mangle"),
    ):
        in_ns(key, "nft", "delete", "table", family, table)


def test_the_bandwidth_capability_shapes_the_container_s_traffic(cni):
    """pycnm's own limit (no chained plugin): a token bucket each way, proven by the kernel's
    counters after more traffic than the bucket holds went through."""
    ns = cni.netns(7)
    limit = {"ingressRate": 4_000_000, "ingressBurst": 64_000, "egressRate": 2_000_000, "egressBurst": 64_000}
    config = cni.conf(caps=("bandwidth",), runtimeConfig={"bandwidth": limit})
    result = cni.add(ns, "slow", config)
    (host,) = [i["name"] for i in result["interfaces"] if not i.get("sandbox")]
    (ifb,) = [
        line.split(": ")[1]
        for line in in_ns(cni.lab.host, "ip", "-o", "link", "show", "type", "ifb").stdout.splitlines()
    ]
    qdiscs = in_ns(cni.lab.host, "tc", "-s", "qdisc", "show").stdout
    assert f"dev {host} root" in qdiscs and "rate 4Mbit" in qdiscs and "rate 2Mbit" in qdiscs
    sb = cni.ctl.create_sandbox(f"{cni.prefix}-sink")
    peer = cni.ctl.connect(cni.network, sb)
    blob = "import socket,sys; c=socket.create_connection((sys.argv[1],9000)); c.sendall(b'x'*600000); c.close()"
    sink = subprocess.Popen(
        ["nsenter", f"--net={sb.key}", sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sink.stdout.readline().strip() == "ready"
        sent = in_ns(ns, sys.executable, "-c", blob, str(peer.address.ip))
        assert sent.returncode == 0, sent.stderr
        sink.wait(timeout=60)
    finally:
        sink.kill()
        sink.wait()
    stats = in_ns(cni.lab.host, "tc", "-s", "qdisc", "show").stdout
    # the egress bucket (on the ifb) carried the 600 kB and held some of it back
    (egress,) = [block for block in stats.split("qdisc ") if block.startswith("tbf") and f"dev {ifb}" in block]
    sent_bytes = int(egress.split("Sent ", 1)[1].split(" bytes", 1)[0])
    overlimits = int(egress.split("overlimits ", 1)[1].split(" ", 1)[0])
    assert sent_bytes > 600_000 and overlimits > 0, egress
    cni.delete(ns, "slow", config)
    assert in_ns(cni.lab.host, "ip", "link", "show", "type", "ifb").stdout == ""  # the ifb went with the DEL


def test_a_del_with_the_daemon_down_is_queued_and_carried_out_when_it_starts(cni):
    ns = cni.netns(8)
    cni.add(ns, "later")
    cni.stop()
    rc, err, _ = cni.cni(attachment("ADD", "other", cni.netns(9)), cni.conf())
    assert rc == 1 and err["code"] == 11 and "pycnm daemon" in err["details"]
    assert cni.cni(attachment("DEL", "later", ns), cni.conf())[:2] == (0, None)  # never fails
    rc, err, _ = cni.cni({"CNI_COMMAND": "STATUS"}, cni.conf("1.1.0"))
    assert rc == 1 and err["code"] == 50 and "1 queued" in err["details"]
    assert len(os.listdir(os.path.join(cni.ctl.state_dir, "cni", "queue"))) == 1
    cni.start()
    assert os.listdir(os.path.join(cni.ctl.state_dir, "cni", "queue")) == []
    assert cni.ctl.sandboxes() == [] and "eth0" not in in_ns(ns, "ip", "link").stdout


def test_fifty_adds_at_once_all_succeed_with_addresses_of_their_own(cni, capsys):
    spaces = [cni.netns(100 + n) for n in range(50)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda n: cni.add(spaces[n], f"p{n}"), range(50)))
    took = time.monotonic() - started
    addresses = {address_of(r) for r in results}
    assert len(addresses) == 50 and all(ipaddress.ip_address(a) in ipaddress.ip_network(SUBNET) for a in addresses)
    assert ping(spaces[0], address_of(results[49]))
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        list(pool.map(lambda n: cni.delete(spaces[n], f"p{n}"), range(50)))
    assert cni.ctl.sandboxes() == []
    with capsys.disabled():
        print(f"\n  50 parallel ADDs through pycnm-cni: {took:.2f} s, {50 / took:.0f} ADD/s")


def test_gc_removes_what_the_runtime_no_longer_lists(cni):
    kept, stale = cni.netns(30), cni.netns(31)
    cni.add(kept, "kept", cni.conf("1.1.0"))
    cni.add(stale, "stale", cni.conf("1.1.0"))
    gc = dict(cni.conf("1.1.0"), **{"cni.dev/valid-attachments": [{"containerID": "kept", "ifname": "eth0"}]})
    assert cni.cni({"CNI_COMMAND": "GC"}, gc)[:2] == (0, None)
    assert [s.name for s in cni.ctl.sandboxes()] == ["kept"]
    assert "eth0" not in in_ns(stale, "ip", "link").stdout
    cni.delete(kept, "kept", cni.conf("1.1.0"))


def test_status_names_a_network_that_is_not_there(cni):
    rc, err, _ = cni.cni({"CNI_COMMAND": "STATUS"}, dict(cni.conf("1.1.0"), name="absent"))
    assert rc == 1 and err["code"] == 50 and "absent" in err["msg"]
    assert OUTSIDE_IP  # the lab's outside is there for the port tests


def test_a_namespace_made_again_at_the_same_path_is_a_new_one_and_none_is_kept_alive(cni):
    """A runtime reuses paths (``/proc/PID/ns/net`` with a reused PID, a name of its own): after a
    DEL the daemon holds nothing open in the namespace (an open netlink socket would keep it, and
    its interfaces, alive after the runtime deletes it), and the next ADD at that path is new."""

    def peers() -> set[str]:  # the namespaces the host's veths have reached, while they live
        return set(in_ns(cni.lab.host, "ip", "netns", "list-id").stdout.split("\n")) - {""}

    ns = cni.netns(40)
    inode = os.stat(ns).st_ino
    peer = cni.ctl.connect(cni.network, cni.ctl.create_sandbox(f"{cni.prefix}-peer"))
    before = peers()
    cni.add(ns, "first")
    assert ping(ns, peer.address.ip)
    (reached,) = peers() - before
    cni.delete(ns, "first")
    name = os.path.basename(ns)
    subprocess.run(["ip", "netns", "del", name], check=True)
    deadline = time.monotonic() + 10
    while reached in peers() and time.monotonic() < deadline:  # the kernel frees it after an RCU grace period
        time.sleep(0.05)
    assert reached not in peers(), "the runtime's deleted namespace is still alive"
    subprocess.run(["ip", "netns", "add", name], check=True)
    assert os.stat(ns).st_ino != inode
    cni.add(ns, "second")
    assert ping(ns, peer.address.ip)
    cni.delete(ns, "second")
