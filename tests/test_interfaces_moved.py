"""Drivers that make their interface in the host namespace: the core moves, renames and returns it."""

import pytest
from pyroute2 import IPRoute

from pycnm import hookimpl
from pycnm.model import Capabilities, InterfaceName, JoinInfo, StaticRoute

from .helpers import in_ns, link, ping, routes

pytestmark = pytest.mark.privileged


@pytest.fixture(autouse=True)
def _in_lab(lab):
    """The bridge driver changes sysctls and nftables: do it in the lab's stand-in host."""
    return lab


class HostSideVeth:
    """A driver of the classic kind: a veth pair in the host, one end for the sandbox.

    The host end gets an address of its own, so that the sandbox can reach it.
    """

    def __init__(self, prefix):
        self.prefix = prefix
        self.made = {}

    @hookimpl
    def cnm_get_capabilities(self):
        return Capabilities(scope="local")

    @hookimpl
    def cnm_create_network(self, network_id):
        pass

    @hookimpl
    def cnm_delete_network(self, network_id):
        pass

    @hookimpl
    def cnm_create_endpoint(self, network_id, endpoint_id, interface):
        self.made[endpoint_id] = interface

    @hookimpl
    def cnm_delete_endpoint(self, network_id, endpoint_id):
        self.made.pop(endpoint_id)

    @hookimpl
    def cnm_join(self, network_id, endpoint_id):
        host, peer = f"{self.prefix}h{endpoint_id[:6]}", f"{self.prefix}p{endpoint_id[:6]}"
        with IPRoute() as ipr:
            ipr.link("add", ifname=host, kind="veth", peer=peer)
            index = ipr.link_lookup(ifname=host)[0]
            ipr.addr("add", index=index, address="10.81.0.1", prefixlen=24)
            ipr.link("set", index=index, state="up")
        return JoinInfo(
            interface_name=InterfaceName(src_name=peer, dst_prefix="eth"),
            gateway="10.81.0.1",
            static_routes=[StaticRoute("10.82.0.0/16", 0, "10.81.0.1")],
        )

    @hookimpl
    def cnm_leave(self, network_id, endpoint_id):
        with IPRoute() as ipr:
            ipr.link("del", ifname=f"{self.prefix}h{endpoint_id[:6]}")


def test_a_host_made_interface_is_moved_renamed_addressed_and_given_back(controller, prefix):
    controller.register_driver("hostveth", HostSideVeth(prefix))
    net = controller.create_network("hv", "hostveth", subnet="10.81.0.0/24", gateway="10.81.0.1")
    sb = controller.create_sandbox("s")
    ep = controller.connect(net, sb, mac="02:00:00:00:81:02")
    assert ep.interface_name == "eth0"
    assert "02:00:00:00:81:02" in link(sb.key, "eth0")
    assert f"{prefix}p" not in in_ns(sb.key, "ip", "-o", "link").stdout
    assert "10.82.0.0/16 via 10.81.0.1 dev eth0" in routes(sb.key)
    assert "default via 10.81.0.1 dev eth0" in routes(sb.key)
    assert ping(sb.key, "10.81.0.1")
    controller.disconnect(net, sb)
    # the core moved the interface back before the driver's Leave deleted the pair
    with IPRoute() as ipr:
        assert not [x for x in ipr.link("dump") if x.get_attr("IFLA_IFNAME").startswith(f"{prefix}p")]


def test_an_in_process_driver_goes_through_the_relay_checks(controller):
    class Broken:
        @hookimpl
        def cnm_get_capabilities(self):
            return Capabilities(scope="local")

    from pycnm.errors import DriverLoadError

    with pytest.raises(DriverLoadError, match="required call"):
        controller.register_driver("broken", Broken())


def test_ipv6_dual_stack_on_the_bridge(controller):
    net = controller.create_network("v6", "bridge", subnet=["10.83.0.0/24", "fd83::/64"], ipv6=True)
    a, b = controller.create_sandbox("a"), controller.create_sandbox("b")
    ea, eb = controller.connect(net, a), controller.connect(net, b)
    assert str(ea.address_ipv6) == "fd83::2/64" and str(eb.address_ipv6) == "fd83::3/64"
    assert ping(a.key, eb.address_ipv6.ip, timeout=3)
    assert ping(a.key, "fd83::1", timeout=3)
    assert "default via fd83::1 dev eth0" in routes(a.key, six=True)
    assert ping(b.key, ea.address.ip)


def test_plugins_observe_every_change(controller_factory):
    from pycnm import Controller

    seen = []

    class Observer:
        @hookimpl
        def cnm_event(self, kind, name):
            seen.append((kind, name))

    first = controller_factory()
    with Controller(
        first.state_dir, netns_prefix=first.netns_prefix, ifname_prefix=first.ifname_prefix, plugins=[Observer()]
    ) as ctl:
        net = ctl.create_network("obs", "null")
        sb = ctl.create_sandbox("s")
        ctl.connect(net, sb)
        ctl.disconnect(net, sb)
        sb.delete()
        net.delete()
    assert [k for k, _ in seen] == [
        "network.create",
        "sandbox.create",
        "endpoint.create",
        "endpoint.join",
        "endpoint.leave",
        "endpoint.delete",
        "sandbox.delete",
        "network.delete",
    ]
