"""The bridge driver's firewall, proved with packets in the lab (a stand-in host and an outside)."""

import pytest

from pycnm.errors import Forbidden, InvalidParameter
from pycnm.osl import nft, sysctl

from .helpers import ping
from .netlab import HOST_IP, OUTSIDE_IP, Server, connect

pytestmark = pytest.mark.privileged


def test_masquerade_rewrites_the_source_of_traffic_leaving_the_subnet(lab, lab_controller):
    net = lab_controller.create_network("nat", "bridge", subnet="10.101.0.0/24")
    sb = lab_controller.create_sandbox("s")
    lab_controller.connect(net, sb)
    assert sysctl.read("net.ipv4.ip_forward") == "1"
    with Server(lab.outside, OUTSIDE_IP, 9000):
        # the outside has no route to 10.101.0.0/24: only masquerading gets the answer back
        assert connect(sb.key, OUTSIDE_IP, 9000) == f"hello from {HOST_IP}"
    assert ping(sb.key, OUTSIDE_IP)


def test_without_masquerade_the_outside_sees_the_sandbox_address(lab, lab_controller):
    net = lab_controller.create_network(
        "nonat", "bridge", subnet="10.102.0.0/24", options={"com.docker.network.bridge.enable_ip_masquerade": "false"}
    )
    sb = lab_controller.create_sandbox("s")
    lab_controller.connect(net, sb)
    lab.route_outside("10.102.0.0/24")
    with Server(lab.outside, OUTSIDE_IP, 9001):
        assert connect(sb.key, OUTSIDE_IP, 9001) == "hello from 10.102.0.2"


def test_icc_off_blocks_sandbox_to_sandbox_but_not_the_gateway_or_the_world(lab, lab_controller):
    net = lab_controller.create_network("noicc", "bridge", subnet="10.103.0.0/24", options={"icc": "false"})
    a, b = lab_controller.create_sandbox("a"), lab_controller.create_sandbox("b")
    ea, eb = lab_controller.connect(net, a), lab_controller.connect(net, b)
    assert not ping(a.key, eb.address.ip, timeout=1)
    assert not ping(b.key, ea.address.ip, timeout=1)
    assert ping(a.key, "10.103.0.1") and ping(a.key, OUTSIDE_IP)

    icc = lab_controller.create_network("icc", "bridge", subnet="10.104.0.0/24")
    c, d = lab_controller.create_sandbox("c"), lab_controller.create_sandbox("d")
    lab_controller.connect(icc, c)
    ed = lab_controller.connect(icc, d)
    assert ping(c.key, ed.address.ip)


def test_two_bridge_networks_are_isolated_unless_a_sandbox_joins_both(lab, lab_controller):
    n1 = lab_controller.create_network("iso1", "bridge", subnet="10.105.1.0/24")
    n2 = lab_controller.create_network("iso2", "bridge", subnet="10.105.2.0/24")
    a, b, both = (lab_controller.create_sandbox(n) for n in ("a", "b", "both"))
    ea, eb = lab_controller.connect(n1, a), lab_controller.connect(n2, b)
    assert not ping(a.key, eb.address.ip, timeout=1)
    assert not ping(b.key, ea.address.ip, timeout=1)
    lab_controller.connect(n1, both)
    lab_controller.connect(n2, both)
    assert ping(both.key, ea.address.ip) and ping(both.key, eb.address.ip)


def test_an_internal_network_reaches_nothing_beyond_its_subnet(lab, lab_controller):
    net = lab_controller.create_network("int", "bridge", subnet="10.106.0.0/24", internal=True)
    a, b = lab_controller.create_sandbox("a"), lab_controller.create_sandbox("b")
    lab_controller.connect(net, a)
    eb = lab_controller.connect(net, b)
    assert ping(a.key, eb.address.ip)
    lab.route_outside("10.106.0.0/24")
    with Server(lab.outside, OUTSIDE_IP, 9002):
        assert connect(a.key, OUTSIDE_IP, 9002) is None
    with Server(b.key, "0.0.0.0", 80):
        assert connect(lab.outside, str(eb.address.ip), 80) is None
        assert (
            connect(a.key, str(eb.address.ip), 80)
            == f"hello from {lab_controller.sandbox('a').endpoints()[0].address.ip}"
        )
    with pytest.raises(Forbidden, match="internal network"):
        lab_controller.connect(net, lab_controller.create_sandbox("c"), publish=["8080:80"])


def test_the_outside_cannot_reach_a_sandbox_directly(lab, lab_controller):
    net = lab_controller.create_network("closed", "bridge", subnet="10.107.0.0/24")
    sb = lab_controller.create_sandbox("s")
    ep = lab_controller.connect(net, sb)
    lab.route_outside("10.107.0.0/24")
    with Server(sb.key, "0.0.0.0", 80):
        assert connect(lab.outside, str(ep.address.ip), 80) is None


def test_a_published_port_answers_from_outside_the_host_and_by_hairpin(lab, lab_controller):
    net = lab_controller.create_network("pub", "bridge", subnet="10.108.0.0/24")
    web, peer = lab_controller.create_sandbox("web"), lab_controller.create_sandbox("peer")
    ep = lab_controller.connect(net, web, publish=["8080:80"])
    ep_peer = lab_controller.connect(net, peer)
    with Server(web.key, "0.0.0.0", 80):
        # from another namespace, through the host's address: the sandbox sees the real client
        assert connect(lab.outside, HOST_IP, 8080) == f"hello from {OUTSIDE_IP}"
        # from the host itself
        assert connect(lab.host, "127.0.0.1", 8080).startswith("hello from ")
        assert connect(lab.host, HOST_IP, 8080).startswith("hello from ")
        # hairpin: from a sandbox on the same bridge, and from the sandbox itself, through the
        # host's address (masqueraded to the gateway, with or without br_netfilter)
        assert connect(peer.key, HOST_IP, 8080) == "hello from 10.108.0.1"
        assert connect(web.key, HOST_IP, 8080) == "hello from 10.108.0.1"
        del ep_peer
    info = ep.oper_info()
    assert info["com.docker.network.portmap"] == [
        {"Proto": 6, "IP": "10.108.0.2", "Port": 80, "HostIP": "0.0.0.0", "HostPort": 8080, "HostPortEnd": 8080}
    ]
    assert info["com.docker.network.endpoint.macaddress"] == ep.mac
    bridge = f"{lab_controller.ifname_prefix}br-{net.id}"[:15]
    assert sysctl.read(f"net/ipv4/conf/{bridge}/route_localnet") == "1"


def test_a_conflicting_host_port_is_refused_and_the_first_keeps_working(lab, lab_controller):
    net = lab_controller.create_network("conf", "bridge", subnet="10.109.0.0/24")
    first, second = lab_controller.create_sandbox("first"), lab_controller.create_sandbox("second")
    lab_controller.connect(net, first, publish=["8081:80"])
    with pytest.raises(Forbidden, match=r"Bind for 0.0.0.0:8081 failed: port is already allocated"):
        lab_controller.connect(net, second, publish=["8081:81"])
    assert second.endpoints() == [] and [e.name for e in net.endpoints()] == ["first"]
    with Server(first.key, "0.0.0.0", 80):
        assert connect(lab.outside, HOST_IP, 8081) == f"hello from {OUTSIDE_IP}"


def test_a_port_a_host_process_listens_on_is_refused(lab, lab_controller):
    net = lab_controller.create_network("busy", "bridge", subnet="10.110.0.0/24")
    sb = lab_controller.create_sandbox("s")
    with (
        Server(lab.host, "0.0.0.0", 8082),
        pytest.raises(Forbidden, match="8082 failed: port is already allocated"),
    ):
        lab_controller.connect(net, sb, publish=["8082:80"])


def test_ranges_ephemeral_ports_and_a_host_ip(lab, lab_controller):
    net = lab_controller.create_network("rng", "bridge", subnet="10.111.0.0/24")
    a, b = lab_controller.create_sandbox("a"), lab_controller.create_sandbox("b")
    ea = lab_controller.connect(net, a, publish=["9100-9101:80-81", f"{HOST_IP}:9200:82", "83"])
    ports = {(p["Port"], p["HostIP"], p["HostPort"]) for p in ea.oper_info()["com.docker.network.portmap"]}
    assert {(80, "0.0.0.0", 9100), (81, "0.0.0.0", 9101), (82, HOST_IP, 9200)} <= ports
    ephemeral = next(p for p in ports if p[0] == 83)[2]
    low, high = (int(x) for x in sysctl.read("net.ipv4.ip_local_port_range").split())
    assert low <= ephemeral <= high
    eb = lab_controller.connect(net, b, publish=["9100-9102:80"])  # the first free port of the range
    assert eb.oper_info()["com.docker.network.portmap"][0]["HostPort"] == 9102
    with Server(a.key, "0.0.0.0", 82):
        assert connect(lab.outside, HOST_IP, 9200) == f"hello from {OUTSIDE_IP}"


def test_bad_publish_requests_are_refused_and_leave_nothing(lab, lab_controller):
    net = lab_controller.create_network("bad", "bridge", subnet="10.112.0.0/24")
    sb = lab_controller.create_sandbox("s")
    with pytest.raises(InvalidParameter, match="not an address of this host"):
        lab_controller.connect(net, sb, publish=["192.0.2.99:8080:80"])
    with pytest.raises(InvalidParameter, match="end is below the start"):
        lab_controller.connect(net, sb, publish=["9-8:80"])
    assert net.endpoints() == [] and sb.endpoints() == []
    assert lab_controller.store.list(f"endpoints/{net.id}/") == []


def test_removed_endpoints_leave_no_rule_and_the_last_network_takes_the_table(lab, lab_controller):
    table = f"{lab_controller.ifname_prefix}pycnm"
    net = lab_controller.create_network("gone", "bridge", subnet="10.113.0.0/24")
    sb = lab_controller.create_sandbox("s")
    lab_controller.connect(net, sb, publish=["8083:80"])
    text = nft.run(f"list map inet {table} pub4")
    assert "8083" in text
    lab_controller.disconnect(net, sb)
    assert "8083" not in nft.run(f"list map inet {table} pub4")
    net.delete()
    assert not nft.table_exists("inet", table)


def test_a_network_made_after_the_table_was_flushed_brings_the_base_back(lab, lab_controller):
    """The base (sets, maps, hooks) is written with a process's first network only; a table
    deleted behind pycnm's back is made whole again by the next network, and a network whose
    rules went with it can still be deleted."""
    table = f"{lab_controller.ifname_prefix}pycnm"
    before = lab_controller.create_network("before", "bridge", subnet="10.115.1.0/24")
    nft.run(f"delete table inet {table}")  # someone flushed the firewall
    net = lab_controller.create_network("after", "bridge", subnet="10.115.2.0/24")
    a, b = lab_controller.create_sandbox("a"), lab_controller.create_sandbox("b")
    lab_controller.connect(net, a)
    eb = lab_controller.connect(net, b)
    assert nft.table_exists("inet", table)
    assert ping(a.key, eb.address.ip) and ping(a.key, OUTSIDE_IP)  # masquerade is back too
    before.delete()
    assert [n.name for n in lab_controller.networks()] == ["after"]


def test_published_ports_and_rules_survive_a_restart(lab, controller_factory):
    first = controller_factory()
    net = first.create_network("keep", "bridge", subnet="10.114.0.0/24")
    sb = first.create_sandbox("s")
    first.connect(net, sb, publish=["8084:80"])
    first.close()
    nft.run(f"delete table inet {first.ifname_prefix}pycnm")  # someone flushed the firewall
    again = controller_factory()
    again.network("keep")  # loads the driver: it rebuilds its table
    with Server(sb.key, "0.0.0.0", 80):
        assert connect(lab.outside, HOST_IP, 8084) == f"hello from {OUTSIDE_IP}"
    assert ping(sb.key, OUTSIDE_IP)


def test_ipv6_dual_stack_gets_forwarding_and_a_default_route(lab, lab_controller):
    net = lab_controller.create_network("six", "bridge", subnet=["10.115.0.0/24", "fd15::/64"], ipv6=True)
    a, b = lab_controller.create_sandbox("a"), lab_controller.create_sandbox("b")
    lab_controller.connect(net, a)
    eb = lab_controller.connect(net, b)
    assert ping(a.key, eb.address_ipv6.ip, timeout=3)
    assert sysctl.read("net.ipv6.conf.all.forwarding") == "1"


def test_host_binding_ipv4_is_the_default_address_of_published_ports(lab, lab_controller):
    net = lab_controller.create_network(
        "hb", "bridge", subnet="10.116.0.0/24", options={"com.docker.network.bridge.host_binding_ipv4": HOST_IP}
    )
    sb = lab_controller.create_sandbox("s")
    ep = lab_controller.connect(net, sb, publish=["8085:80"])
    assert ep.oper_info()["com.docker.network.portmap"][0]["HostIP"] == HOST_IP
    with Server(sb.key, "0.0.0.0", 80):
        assert connect(lab.outside, HOST_IP, 8085) == f"hello from {OUTSIDE_IP}"
        assert connect(lab.host, "127.0.0.1", 8085) is None  # bound to one address only
    with pytest.raises(InvalidParameter, match="host_binding_ipv4"):
        lab_controller.create_network("hb2", "bridge", options={"host_binding_ipv4": "nope"})
