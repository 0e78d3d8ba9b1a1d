"""The overlay data plane across two hosts (namespaces on one underlay bridge), proved with pings."""

import ipaddress
import subprocess

import pytest

from pycnm.osl import interfaces, netlink, netns
from pycnm.testing.multihost import Underlay
from pycnm_overlay import OverlayNamespace, Peer

pytestmark = pytest.mark.privileged
UNDERLAY = "198.51.100.{}"


def ping(key, address):
    return (
        subprocess.run(
            ["nsenter", f"--net={key}", "ping", "-c", "1", "-W", "2", str(address)], capture_output=True, check=False
        ).returncode
        == 0
    )


@pytest.fixture
def hosts(prefix, no_leaks):
    """Two hosts, 198.51.100.1 and .2, on an underlay bridge of their own."""
    with Underlay(prefix, {"h1": 1, "h2": 2}) as underlay:
        yield [underlay.paths["h1"], underlay.paths["h2"]]


def sandbox(prefix, name, overlay, address, mac, port):
    key = f"/run/netns/{prefix}{name}"
    netns.create(key)
    overlay.attach(key, "eth0", mac, port)
    interfaces.attach(
        key, src_name="eth0", dst_name="eth0", created_in_sandbox=True, addresses=[ipaddress.ip_interface(address)]
    )
    return key


def test_sandboxes_on_two_hosts_ping_over_vxlan_and_vnis_are_isolated(hosts, prefix):
    h1, h2 = hosts
    vtep1, vtep2 = ipaddress.ip_address(UNDERLAY.format(1)), ipaddress.ip_address(UNDERLAY.format(2))
    gw = ipaddress.ip_interface("10.140.0.1/24")
    red1 = OverlayNamespace(f"/run/netns/{prefix}r1", vni=4242, gateway=gw, vtep=vtep1, host=h1, ifname_prefix=prefix)
    red2 = OverlayNamespace(f"/run/netns/{prefix}r2", vni=4242, gateway=gw, vtep=vtep2, host=h2, ifname_prefix=prefix)
    blue2 = OverlayNamespace(f"/run/netns/{prefix}b2", vni=4243, gateway=gw, vtep=vtep2, host=h2, ifname_prefix=prefix)
    nets = [red1, red2, blue2]
    keys = []
    try:
        for net in nets:
            net.create()
        a = sandbox(prefix, "sa", red1, "10.140.0.2/24", "02:00:0a:8c:00:02", f"{prefix}pa")
        b = sandbox(prefix, "sb", red2, "10.140.0.3/24", "02:00:0a:8c:00:03", f"{prefix}pb")
        d = sandbox(prefix, "sd", blue2, "10.140.0.4/24", "02:00:0a:8c:00:04", f"{prefix}pd")
        keys = [a, b, d]
        assert (
            "mtu 1450"
            in subprocess.run(
                ["nsenter", f"--net={a}", "ip", "link", "show", "eth0"], capture_output=True, text=True, check=False
            ).stdout
        )
        red1.add_peer(Peer(ipaddress.ip_address("10.140.0.3"), "02:00:0a:8c:00:03", vtep2))
        red2.add_peer(Peer(ipaddress.ip_address("10.140.0.2"), "02:00:0a:8c:00:02", vtep1))
        assert red1.peers() == {"02:00:0a:8c:00:03": str(vtep2)}
        assert ping(a, "10.140.0.3") and ping(b, "10.140.0.2")
        # d sits on VNI 4243 on host 2: even told where it is, a's frames (VNI 4242) do not reach it
        red1.add_peer(Peer(ipaddress.ip_address("10.140.0.4"), "02:00:0a:8c:00:04", vtep2))
        assert not ping(a, "10.140.0.4")
        # a peer removed is unreachable again
        red1.remove_peer(Peer(ipaddress.ip_address("10.140.0.3"), "02:00:0a:8c:00:03", vtep2))
        assert not ping(a, "10.140.0.3")
        red1.detach(f"{prefix}pa")
        assert (
            "eth0"
            not in subprocess.run(
                ["nsenter", f"--net={a}", "ip", "-o", "link"], capture_output=True, text=True, check=False
            ).stdout
        )
    finally:
        for key in keys:
            netlink.forget(key)
            netns.delete(key)
        for net in nets:
            net.delete()
