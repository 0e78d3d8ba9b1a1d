"""The bridge driver's layer-2 connectivity, proved with pings across real namespaces."""

import pytest
from pyroute2 import IPRoute

from pycnm.errors import Forbidden, InvalidParameter

from .helpers import in_ns, link, ping, routes

pytestmark = pytest.mark.privileged


@pytest.fixture(autouse=True)
def _in_lab(lab):
    """The bridge driver changes sysctls and nftables: do it in the lab's stand-in host."""
    return lab


def test_two_sandboxes_ping_across_a_bridge(controller):
    net = controller.create_network("br1", "bridge", subnet="10.41.0.0/24")
    a, b = controller.create_sandbox("a"), controller.create_sandbox("b")
    ep_a, ep_b = controller.connect(net, a), controller.connect(net, b)
    assert str(ep_a.address) == "10.41.0.2/24" and str(ep_b.address) == "10.41.0.3/24"
    assert ep_a.interface_name == "eth0"
    assert ping(a.key, ep_b.address.ip) and ping(b.key, ep_a.address.ip)
    assert ping(a.key, "10.41.0.1")  # the gateway on the bridge
    assert "default via 10.41.0.1 dev eth0" in routes(a.key)


def test_static_ip_mac_and_mtu(controller):
    net = controller.create_network(
        "br2", "bridge", subnet="10.42.0.0/24", gateway="10.42.0.254", options={"mtu": "1400"}
    )
    sb = controller.create_sandbox("s")
    ep = controller.connect(net, sb, ip="10.42.0.77", mac="02:aa:bb:cc:dd:ee")
    shown = link(sb.key, "eth0")
    assert "02:aa:bb:cc:dd:ee" in shown and "mtu 1400" in shown
    assert "10.42.0.77/24" in in_ns(sb.key, "ip", "-4", "addr", "show", "eth0").stdout
    assert "default via 10.42.0.254" in routes(sb.key)
    assert ping(sb.key, "10.42.0.254")
    assert ep.oper_info() == {"com.docker.network.endpoint.macaddress": "02:aa:bb:cc:dd:ee"}


def test_mac_defaults_to_docker_s_02_42_plus_ipv4(controller):
    net = controller.create_network("br3", "bridge", subnet="10.43.0.0/24")
    ep = controller.connect(net, controller.create_sandbox("s"))
    assert ep.mac == "02:42:0a:2b:00:02"


def test_interfaces_are_named_in_join_order_and_the_first_gateway_wins(controller):
    n1 = controller.create_network("first", "bridge", subnet="10.44.1.0/24")
    n2 = controller.create_network("second", "bridge", subnet="10.44.2.0/24")
    sb = controller.create_sandbox("multi")
    e1 = controller.connect(n1, sb)
    e2 = controller.connect(n2, sb)
    assert (e1.interface_name, e2.interface_name) == ("eth0", "eth1")
    assert "default via 10.44.1.1 dev eth0" in routes(sb.key)
    controller.disconnect(n1, sb)
    assert "default via 10.44.2.1 dev eth1" in routes(sb.key)
    e3 = controller.connect(n1, sb)
    assert e3.interface_name == "eth0"  # the lowest free name
    assert "default via 10.44.2.1 dev eth1" in routes(sb.key)  # the gateway stays where it is


def test_an_internal_network_never_provides_the_default_route(controller):
    net = controller.create_network("inside", "bridge", subnet="10.45.0.0/24", internal=True)
    sb = controller.create_sandbox("s")
    controller.connect(net, sb)
    assert "default" not in routes(sb.key)
    assert ping(sb.key, "10.45.0.1")


def test_hosts_file_lists_the_sandbox_address(controller):
    net = controller.create_network("hn", "bridge", subnet="10.46.0.0/24")
    sb = controller.create_sandbox("web", hostname="web1", extra_hosts={"db": "10.46.0.99"})
    with open(sb.hosts_path) as mounted:  # as a container that bind-mounted it holds it: one inode
        controller.connect(net, sb)
        text = mounted.read()
        assert "10.46.0.2\tweb1" in text and "10.46.0.99\tdb" in text
        controller.disconnect(net, sb)
        mounted.seek(0)
        assert "10.46.0.2" not in mounted.read() and "10.46.0.99\tdb" in text


def test_bad_bridge_options_leave_nothing_behind(controller, prefix):
    with pytest.raises(InvalidParameter, match="mtu"):
        controller.create_network("m", "bridge", subnet="10.47.0.0/24", options={"mtu": "20"})
    with pytest.raises(InvalidParameter, match="bridge name"):
        controller.create_network("m", "bridge", options={"bridge_name": "x" * 16})
    with IPRoute() as ipr:
        ipr.link("add", ifname=f"{prefix}taken", kind="bridge")
    try:
        with pytest.raises(Forbidden, match="taken by another link"):
            controller.create_network("m", "bridge", options={"com.docker.network.bridge.name": f"{prefix}taken"})
    finally:
        with IPRoute() as ipr:
            ipr.link("del", ifname=f"{prefix}taken")
    assert controller.networks() == []
    assert controller.store.list("ipam/bits/") == []
    # the subnet was released: it can be taken again
    controller.create_network("m", "bridge", subnet="10.47.0.0/24")


def test_overlapping_and_bad_subnets_are_refused(controller):
    controller.create_network("a", "bridge", subnet="10.48.0.0/16")
    with pytest.raises(Forbidden, match="overlaps"):
        controller.create_network("b", "bridge", subnet="10.48.1.0/24")
    with pytest.raises(InvalidParameter, match=r"should be 10\.49\.0\.0/24"):
        controller.create_network("c", "bridge", subnet="10.49.0.1/24")
    with pytest.raises(InvalidParameter, match="not inside any subnet"):
        controller.create_network("c", "bridge", subnet="10.49.0.0/24", gateway="10.50.0.1")
    with pytest.raises(InvalidParameter, match="overlap"):
        controller.create_network("c", "bridge", subnet=["10.51.0.0/16", "10.51.3.0/24"])
    assert [n.name for n in controller.networks()] == ["a"]


def test_automatic_subnet_avoids_what_the_host_routes(controller, tmp_path, prefix):
    from pycnm import Controller

    net = controller.create_network("auto", "bridge")
    subnet = net.subnets[0]
    assert subnet.prefixlen in (16, 20)
    # a second pycnm with its own store sees the first one's bridge route and picks another pool
    with Controller(
        str(tmp_path / "other"), netns_prefix=f"{prefix}o-", ifname_prefix=f"{prefix}o", plugins=[]
    ) as other:
        net2 = other.create_network("auto2", "bridge")
        try:
            assert not net2.subnets[0].overlaps(subnet)
        finally:
            net2.delete()


def test_failed_join_rolls_back_the_endpoint(controller, prefix):
    net = controller.create_network("rb", "bridge", subnet="10.52.0.0/24")
    sb = controller.create_sandbox("s")
    # a link already named like the endpoint's veth makes the driver's join fail
    ep = net.create_endpoint("e")
    veth = f"{prefix}veth{ep.id}"[:15]
    with IPRoute() as ipr:
        ipr.link("add", ifname=veth, kind="bridge")
    try:
        with pytest.raises(Forbidden, match="exists"):
            ep.join(sb)
    finally:
        with IPRoute() as ipr:
            ipr.link("del", ifname=veth)
    assert net.endpoint("e").sandbox_id is None
    assert sb.endpoints() == []
    ep.join(sb)
    assert ping(sb.key, "10.52.0.1")
