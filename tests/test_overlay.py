"""Overlay networks across hosts: each host a namespace on an underlay bridge with a Controller of
its own (in a thread living in that namespace), etcd in a namespace of its own on the underlay."""

import os
import subprocess

import pytest

from pycnm.errors import Unimplemented
from pycnm.testing import etcd
from pycnm.testing.multihost import HostThread, Underlay

pytestmark = [pytest.mark.privileged,
              pytest.mark.skipif(etcd.available() is not None, reason=str(etcd.available()))]
UNDERLAY = "198.51.100.{}"  # the harness's addresses: host n is .n


def ping(key, address):
    return subprocess.run(["nsenter", f"--net={key}", "ping", "-c", "1", "-W", "2", str(address)],
                          capture_output=True).returncode == 0


@pytest.fixture
def cluster(tmp_path, prefix, no_leaks):
    """Two hosts (.1 and .2) and etcd (.100) on an underlay bridge; a Controller per host."""
    with Underlay(prefix, {"h1": 1, "h2": 2, "etcd": 100}) as underlay:
        etcd_host = HostThread(underlay.paths["etcd"])
        store_cluster = etcd.EtcdCluster(str(tmp_path / "etcd"), host=underlay.address("etcd"))
        os.makedirs(store_cluster.workdir)
        etcd_host.call(store_cluster.start)
        hosts = {}
        try:
            for name in ("h1", "h2"):
                thread = HostThread(underlay.paths[name])

                def make(name=name):
                    from pycnm import Controller

                    return Controller(str(tmp_path / name), netns_prefix=f"{prefix}{name}-", ifname_prefix=prefix,
                                      cluster_store=store_cluster.endpoints, advertise_addr=underlay.address(name),
                                      plugins=[])

                hosts[name] = (thread, thread.call(make))
            yield hosts
        finally:
            for thread, ctl in hosts.values():
                thread.call(lambda ctl=ctl: [sb.delete() for sb in ctl.sandboxes()])
            if "h1" in hosts:
                thread, ctl = hosts["h1"]
                thread.call(lambda: [net.delete() for net in ctl.networks()])
            for thread, ctl in hosts.values():
                thread.call(ctl.close)
                thread.stop()
            etcd_host.call(store_cluster.stop)
            etcd_host.stop()


def test_sandboxes_on_two_hosts_share_an_overlay_network(cluster):
    (t1, c1), (t2, c2) = cluster["h1"], cluster["h2"]
    net = t1.call(lambda: c1.create_network("ov", "overlay", subnet="10.150.0.0/24"))
    a = t1.call(lambda: c1.create_sandbox("a"))
    b = t2.call(lambda: c2.create_sandbox("b"))
    ea = t1.call(lambda: c1.connect("ov", a))
    eb = t2.call(lambda: c2.connect("ov", b))
    assert ea.interface_name == "eth0" and ea.address.ip in net.subnets[0]
    # what the daemon does on each change it sees in the store
    assert t1.call(c1.sync_peers) == 1 and t2.call(c2.sync_peers) == 1
    assert ping(a.key, eb.address.ip) and ping(b.key, ea.address.ip)
    assert "mtu 1450" in subprocess.run(["nsenter", f"--net={a.key}", "ip", "link", "show", "eth0"],
                                        capture_output=True, text=True).stdout
    # b leaves: host 1 forgets it, host 2 holds nothing for the network any more
    t2.call(lambda: c2.disconnect("ov", b))
    assert t1.call(c1.sync_peers) == 1
    assert not ping(a.key, eb.address.ip)
    assert not any(n.startswith(f"{c2.ifname_prefix}ov{c2.instance_id[:6]}-") for n in os.listdir("/run/netns"))
    assert any(n.startswith(f"{c1.ifname_prefix}ov{c1.instance_id[:6]}-") for n in os.listdir("/run/netns"))
    t1.call(lambda: c1.disconnect("ov", a))
    t1.call(lambda: c1.network("ov").delete())


def test_encrypted_overlays_are_refused_for_want_of_esp(cluster):
    t1, c1 = cluster["h1"]
    with pytest.raises(Unimplemented, match="ESP"):
        t1.call(lambda: c1.create_network("sec", "overlay", subnet="10.151.0.0/24", options={"encrypted": "true"}))


def _daemon(thread, ctl, endpoints, address):
    import sys

    env = dict(os.environ, PYCNM_NETNS_PREFIX=ctl.netns_prefix, PYCNM_IFNAME_PREFIX=ctl.ifname_prefix,
               PYCNM_DISABLE_PLUGINS="1")
    argv = [sys.executable, "-m", "pycnm.cli", "--state-dir", ctl.state_dir, "daemon", "--cluster-store", endpoints,
            "--advertise-addr", address, "--lease", "3"]
    return thread.call(lambda: subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))


def _until(check, seconds):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_daemons_program_peers_and_drop_a_dead_host(cluster):
    (t1, c1), (t2, c2) = cluster["h1"], cluster["h2"]
    endpoints = c1.cluster_store  # the EtcdStore: its members' addresses
    spec = "etcd://" + ",".join(f"{c.host}:{c.port}" for c in endpoints.clients)
    d1 = _daemon(t1, c1, spec, UNDERLAY.format(1))
    d2 = _daemon(t2, c2, spec, UNDERLAY.format(2))
    try:
        net = t1.call(lambda: c1.create_network("ovd", "overlay", subnet="10.152.0.0/24"))
        a, b = t1.call(lambda: c1.create_sandbox("a")), t2.call(lambda: c2.create_sandbox("b"))
        ea, eb = t1.call(lambda: c1.connect("ovd", a)), t2.call(lambda: c2.connect("ovd", b))
        assert _until(lambda: ping(a.key, eb.address.ip), 20), "the daemons did not program the peers"
        assert ping(b.key, ea.address.ip)
        plane = f"/run/netns/{c1.ifname_prefix}ov{c1.instance_id[:6]}-{net.id[:10]}"

        def fdb():
            """vxlan0's own entries (MAC -> remote VTEP), not what the bridge learned on the port."""
            out = subprocess.run(["nsenter", f"--net={plane}", "bridge", "fdb", "show", "dev", "vxlan0"],
                                 capture_output=True, text=True).stdout
            return "\n".join(line for line in out.splitlines() if " dst " in line)

        assert eb.mac in fdb()
        d2.kill()  # host 2 dies: its lease runs out, and host 1 forgets its endpoints
        d2.wait()
        assert _until(lambda: eb.mac not in fdb(), 20), "host 1 kept the dead host's endpoint"
        assert not ping(a.key, eb.address.ip)
    finally:
        for proc in (d1, d2):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
