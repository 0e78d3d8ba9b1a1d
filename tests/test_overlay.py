"""Overlay networks across hosts, proven with packets: each host a namespace on an underlay bridge
with a Controller and a ``pycnm daemon`` of its own, etcd in namespaces of its own
(:class:`pycnm.testing.multihost.Cluster`)."""

import os
import subprocess
import time

import pytest

from pycnm.errors import Unimplemented
from pycnm.testing import etcd
from pycnm.testing.multihost import Cluster

from .helpers import ping

pytestmark = [pytest.mark.privileged, pytest.mark.skipif(etcd.available() is not None, reason=str(etcd.available()))]


def until(check, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def plane(host, net):
    ctl = host.ctl
    return f"/run/netns/{ctl.ifname_prefix}ov{ctl.instance_id[:6]}-{net.id[:10]}"


def fdb(path):
    """vxlan0's own entries (MAC -> remote VTEP), not what the bridge learned on its ports."""
    out = subprocess.run(
        ["nsenter", f"--net={path}", "bridge", "fdb", "show", "dev", "vxlan0"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return "\n".join(line for line in out.splitlines() if " dst " in line)


def neighbours(path):
    return subprocess.run(
        ["nsenter", f"--net={path}", "ip", "neigh", "show", "dev", "vxlan0"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def echo_requests_received(key):
    """ICMP echo requests that reached the sandbox (its namespace's Icmp InEchos)."""
    lines = [
        line.split()
        for line in subprocess.run(
            ["nsenter", f"--net={key}", "cat", "/proc/net/snmp"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        if line.startswith("Icmp:")
    ]
    return int(dict(zip(lines[0], lines[1], strict=True))["InEchos"])


def joined(host, network, name):
    """A sandbox ``name`` on ``host`` connected to ``network``: (sandbox, endpoint)."""
    ctl = host.ctl
    sb = host.call(lambda: ctl.create_sandbox(name))
    return sb, host.call(lambda: ctl.connect(network, sb))


def two_joined(cluster, network, subnet):
    """``network`` made on h1, sandbox a on h1 and b on h2 joined and reaching each other:
    (h1, h2, h3, net, (a, ea), (b, eb))."""
    h1, h2, h3 = (cluster.hosts.get(n) for n in ("h1", "h2", "h3"))
    net = h1.call(lambda: h1.ctl.create_network(network, "overlay", subnet=subnet))
    a, ea = joined(h1, network, "a")
    b, eb = joined(h2, network, "b")
    assert until(lambda: ping(a.key, eb.address.ip)), "the daemons did not program the peers"
    return h1, h2, h3, net, (a, ea), (b, eb)


@pytest.fixture
def cluster(tmp_path, prefix, no_leaks):
    """Three hosts with daemons, etcd of three members."""
    with Cluster(prefix, str(tmp_path), hosts=3, etcd_members=3, lease=3) as made:
        yield made


@pytest.fixture
def quiet_cluster(tmp_path, prefix, no_leaks):
    """Two hosts without daemons: the test runs what a daemon would (``sync_peers``)."""
    with Cluster(prefix, str(tmp_path), hosts=2, daemons=False) as made:
        yield made


def test_sync_peers_programs_what_the_store_holds(quiet_cluster):
    h1, h2 = quiet_cluster.hosts["h1"], quiet_cluster.hosts["h2"]
    net = h1.call(lambda: h1.ctl.create_network("ov", "overlay", subnet="10.150.0.0/24"))
    a, ea = joined(h1, "ov", "a")
    b, eb = joined(h2, "ov", "b")
    assert ea.interface_name == "eth0" and ea.address.ip in net.subnets[0]
    assert h1.call(h1.ctl.sync_peers) == 1 and h2.call(h2.ctl.sync_peers) == 1
    assert h1.call(h1.ctl.sync_peers) == 0  # nothing changed: nothing to tell the driver
    assert ping(a.key, eb.address.ip) and ping(b.key, ea.address.ip)
    assert (
        "mtu 1450"
        in subprocess.run(
            ["nsenter", f"--net={a.key}", "ip", "link", "show", "eth0"], capture_output=True, text=True, check=False
        ).stdout
    )
    # b leaves: host 1 forgets it, host 2 holds nothing for the network any more
    h2.call(lambda: h2.ctl.disconnect("ov", b))
    assert h1.call(h1.ctl.sync_peers) == 1
    assert not ping(a.key, eb.address.ip, timeout=1)
    assert not os.path.exists(plane(h2, net)) and os.path.exists(plane(h1, net))


def test_encrypted_overlays_are_refused_for_want_of_esp(quiet_cluster):
    h1 = quiet_cluster.hosts["h1"]
    with pytest.raises(Unimplemented, match="ESP"):
        h1.call(lambda: h1.ctl.create_network("sec", "overlay", subnet="10.151.0.0/24", options={"encrypted": "true"}))
    assert h1.call(h1.ctl.networks) == []


def test_each_network_gets_its_own_vni_and_a_taken_one_is_refused(quiet_cluster):
    from pycnm.errors import Forbidden

    h1, h2 = quiet_cluster.hosts["h1"], quiet_cluster.hosts["h2"]
    vni = "com.docker.network.driver.overlay.vxlanid_list"
    nets = [h.call(lambda h=h, i=i: h.ctl.create_network(f"n{i}", "overlay")) for i, h in enumerate([h1, h2, h1, h2])]
    vnis = {n.inspect()["Options"][vni] for n in nets}
    assert len(vnis) == 4
    taken = nets[0].inspect()["Options"][vni]
    with pytest.raises(Forbidden, match=f"VNI {taken} is in use"):
        h2.call(lambda: h2.ctl.create_network("again", "overlay", options={vni: taken}))
    h1.call(lambda: nets[0].delete())  # its VNI is free again
    again = h2.call(lambda: h2.ctl.create_network("again", "overlay", options={vni: taken}))
    assert again.inspect()["Options"][vni] == taken


def test_three_hosts_ping_over_one_overlay_and_networks_are_isolated(cluster):
    h1, h2, h3 = (cluster.hosts[n] for n in ("h1", "h2", "h3"))
    red = h1.call(lambda: h1.ctl.create_network("red", "overlay", subnet="10.152.0.0/24"))
    h2.call(lambda: h2.ctl.create_network("blue", "overlay", subnet="10.153.0.0/24"))
    a, ea = joined(h1, "red", "a")
    b, eb = joined(h2, "red", "b")
    c, ec = joined(h3, "red", "c")
    d, ed = joined(h2, "blue", "d")
    _e, ee = joined(h3, "blue", "e")
    assert until(lambda: ping(a.key, eb.address.ip) and ping(a.key, ec.address.ip)), "the daemons did not program"
    assert until(lambda: ping(b.key, ec.address.ip) and ping(c.key, ea.address.ip))
    assert until(lambda: ping(d.key, ee.address.ip))
    # isolation at layer 2: a frame for d, forced from a onto red's VXLAN towards d's host, arrives
    # with red's VNI, and host 2 delivers it to red's bridge, never to blue's
    red_on_h1 = plane(h1, red)
    for argv in (
        [a.key, "ip", "neigh", "replace", str(ed.address.ip), "lladdr", ed.mac, "dev", "eth0", "nud", "permanent"],
        [a.key, "ip", "route", "replace", f"{ed.address.ip}/32", "dev", "eth0"],
        [red_on_h1, "bridge", "fdb", "replace", ed.mac, "dev", "vxlan0", "dst", h2.address, "self", "permanent"],
    ):
        subprocess.run(["nsenter", f"--net={argv[0]}", *argv[1:]], check=True)

    before = echo_requests_received(d.key)
    subprocess.run(
        ["nsenter", f"--net={a.key}", "ping", "-c", "3", "-i", "0.2", "-W", "1", str(ed.address.ip)],
        capture_output=True,
        check=False,
    )
    assert echo_requests_received(d.key) == before
    # and the counter can tell: echo requests for b, on red's own VNI, do arrive
    before = echo_requests_received(b.key)
    assert ping(a.key, eb.address.ip)
    assert echo_requests_received(b.key) == before + 1


def test_leaving_or_deleting_an_endpoint_removes_it_from_the_other_hosts(cluster):
    h1, h2, h3 = (cluster.hosts[n] for n in ("h1", "h2", "h3"))
    net = h1.call(lambda: h1.ctl.create_network("ov", "overlay", subnet="10.154.0.0/24"))
    a, _ea = joined(h1, "ov", "a")
    b, eb = joined(h2, "ov", "b")
    c, ec = joined(h3, "ov", "c")
    assert until(lambda: ping(a.key, eb.address.ip) and ping(c.key, eb.address.ip))
    on_h1, on_h3 = plane(h1, net), plane(h3, net)
    for path in (on_h1, on_h3):
        assert eb.mac in fdb(path) and str(eb.address.ip) in neighbours(path)
    h2.call(lambda: h2.ctl.disconnect("ov", b))  # leave (and delete) on host 2
    for path in (on_h1, on_h3):
        assert until(lambda p=path: eb.mac not in fdb(p) and str(eb.address.ip) not in neighbours(p))
    assert ec.mac in fdb(on_h1)
    h3.call(lambda: c.delete())  # the sandbox goes: its endpoint leaves and is deleted
    assert until(lambda: ec.mac not in fdb(on_h1) and str(ec.address.ip) not in neighbours(on_h1))
    assert fdb(on_h1) == ""  # nothing else remote is left on the network


def test_the_cluster_keeps_working_when_an_etcd_member_dies(cluster):
    h1, h2, h3, _, (a, _ea), (_b, eb) = two_joined(cluster, "before", "10.155.0.0/24")
    cluster.kill_etcd_member(0)  # the member every client tries first
    c, ec = joined(h3, "before", "c")  # a new endpoint, seen by daemons that must watch elsewhere now
    assert until(lambda: ping(a.key, ec.address.ip) and ping(c.key, eb.address.ip), 30)
    h2.call(lambda: h2.ctl.create_network("after", "overlay", subnet="10.156.0.0/24"))
    d, _ed = joined(h3, "after", "d")
    _e, ee = joined(h1, "after", "e")
    assert until(lambda: ping(d.key, ee.address.ip), 30)


def test_a_restarted_daemon_keeps_connectivity_and_catches_up(cluster):
    _h1, h2, h3, _, (a, ea), (b, _eb) = two_joined(cluster, "ov", "10.157.0.0/24")
    h2.stop_daemon(kill=True)
    assert ping(b.key, ea.address.ip)  # the kernel holds what the daemon programmed
    _c, ec = joined(h3, "ov", "c")  # while host 2's daemon is down
    assert until(lambda: ping(a.key, ec.address.ip))
    h2.start_daemon()  # it reads the store again and programs what it missed
    assert until(lambda: ping(b.key, ec.address.ip), 30)
    assert ping(b.key, ea.address.ip)


def test_a_dead_host_s_endpoints_disappear_from_the_others_within_the_lease(cluster):
    h1, h2, _, net, (a, _ea), (_b, eb) = two_joined(cluster, "ovd", "10.158.0.0/24")
    assert eb.mac in fdb(plane(h1, net))
    h2.stop_daemon(kill=True)  # host 2 dies: its lease (3 s) runs out, host 1 forgets its endpoints
    assert until(lambda: eb.mac not in fdb(plane(h1, net)), 20), "host 1 kept the dead host's endpoint"
    assert not ping(a.key, eb.address.ip, timeout=1)


@pytest.fixture
def named_cluster(tmp_path, prefix, no_leaks, monkeypatch):
    """Two hosts with daemons serving the embedded DNS; their hosts name no server (an empty
    resolv.conf), so that a name nobody holds gets its SERVFAIL at once, never a query out."""
    resolv = tmp_path / "no-servers.conf"
    resolv.write_text("")
    monkeypatch.setenv("PYCNM_RESOLV_CONF", str(resolv))
    with Cluster(prefix, str(tmp_path), hosts=2, etcd_members=1, lease=3) as made:
        yield made


def test_sandboxes_on_two_hosts_find_each_other_by_name_until_one_leaves_or_its_host_dies(named_cluster):
    from .test_dns import answers, dig, eventually, glibc, served

    h1, h2 = named_cluster.hosts["h1"], named_cluster.hosts["h2"]
    h1.call(lambda: h1.ctl.create_network("names", "overlay", subnet="10.159.0.0/24"))
    a, ea = joined(h1, "names", "front")
    b = h2.call(lambda: h2.ctl.create_sandbox("back"))
    eb = h2.call(lambda: h2.ctl.connect("names", b, aliases=["web"]))
    ip_a, ip_b = str(ea.address.ip), str(eb.address.ip)
    assert until(lambda: ping(a.key, eb.address.ip)), "the daemons did not program the peers"
    assert eventually(lambda: served(a) and served(b), 10), "the sandboxes got no embedded DNS"
    # each host's resolver answers for the other host's sandbox, as the cluster store holds it
    assert eventually(lambda: answers(a, "back") == [ip_b], 5)
    assert answers(a, "web") == [ip_b]
    assert answers(a, "back.names") == [ip_b]
    assert answers(a, b.id[:12]) == [ip_b]
    assert answers(b, "front") == [ip_a]
    assert ip_b in glibc(a, "hosts", "web").stdout  # glibc, with a's resolv.conf
    assert dig(a, "+short", "-x", ip_b).split() == ["back.names."]  # PTR: the sandbox's name on the network
    # b leaves: host 1's resolver forgets it
    h2.call(lambda: h2.ctl.disconnect("names", b))
    assert eventually(lambda: answers(a, "back") == [], 5), "host 1 still answers for a sandbox that left"
    assert answers(a, "web") == []
    # b comes back, then its host dies: gone from host 1's answers once the host's lease runs out
    eb = h2.call(lambda: h2.ctl.connect("names", b))
    assert eventually(lambda: answers(a, "back") == [str(eb.address.ip)], 5)
    h2.stop_daemon(kill=True)
    assert eventually(lambda: answers(a, "back") == [], 20), "host 1 answered for a dead host's sandbox"
    assert answers(a, "front") == [ip_a]  # its own names stay
