"""Requests written from pyroute2-encoded templates are byte for byte what pyroute2 encodes."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from pycnm.osl.netlink import requests as netlink

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=15)
u32 = st.integers(min_value=0, max_value=(1 << 31) - 1)
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))
ips = st.one_of(
    st.integers(0, (1 << 32) - 1).map(ipaddress.IPv4Address), st.integers(0, (1 << 128) - 1).map(ipaddress.IPv6Address)
)


def same(build, *args) -> None:
    assert netlink.encoded(build, args) == netlink.pyroute2_encoded(build, args)


@settings(max_examples=300)
@given(names, u32, st.sampled_from([1280, 1500, 9000]), st.booleans(), names, u32, st.one_of(st.none(), macs))
def test_veth_add(name, master, mtu, up, peer, fd, mac):
    same(netlink.VETH_ADD, name, master, mtu, up, peer, fd, mac)


@settings(max_examples=300)
@given(u32, ips, st.integers(0, 32))
def test_addr_add(index, address, prefixlen):
    same(netlink.ADDR_ADD, index, address, prefixlen if address.version == 4 else prefixlen * 4)


@given(u32, ips)
def test_default_route(index, gateway):
    same(netlink.DEFAULT_ROUTE, index, gateway)


@given(u32, st.one_of(st.none(), st.booleans()), st.one_of(st.none(), macs))
def test_link_set(index, up, mac):
    same(netlink.LINK_SET, index, up, mac)


@given(names, st.sampled_from(["bridge", "veth", "vxlan"]), macs, st.sampled_from([1280, 1500]), names)
def test_link_add_and_alias(name, kind, mac, mtu, alias):
    same(netlink.LINK_ADD, name, kind, mac, mtu)
    same(netlink.LINK_SET_ALIAS, name, alias)


@given(names, st.booleans())
def test_by_name(name, up):
    same(netlink.LINK_IPV6_OFF, name)
    same(netlink.LINK_SET_BY_NAME, name, up)
    same(netlink.LINK_GET, name)
    same(netlink.LINK_DEL, name)


def test_a_value_that_repeats_lands_in_every_place():
    """An IPv4 address goes in twice (IFA_LOCAL and IFA_ADDRESS); both take the new value."""
    a, b = ipaddress.IPv4Address("10.1.2.3"), ipaddress.IPv4Address("10.9.8.7")
    netlink.encoded(netlink.ADDR_ADD, (2, a, 24))
    data = netlink.encoded(netlink.ADDR_ADD, (2, b, 24))
    assert data.count(b.packed) == 2 and a.packed not in data


def test_the_join_path_uses_templates(monkeypatch):
    """Every message a bridge join sends is templated (a shape pyroute2 encodes on each call would
    still be correct, only slow: this catches it)."""
    monkeypatch.setattr(netlink, "templates", {})
    ip, gw = ipaddress.IPv4Address("10.1.2.3"), ipaddress.IPv4Address("10.1.0.1")
    netlink.Requests().veth_add(
        "pfabc", master=4, mtu=1500, up=False, peer_name="eth0", peer_netns_fd=9, peer_address="02:42:0a:01:02:03"
    ).link_ipv6_off("pfabc").link_set_by_name("pfabc", up=True).link_ipv6_off("eth0").addr_add(2, ip, 16).link_set(
        2, up=True
    ).default_route(2, gw)
    used = list(netlink.templates)
    assert len(used) == 7 and all(netlink.templates[shape] is not netlink.NO_TEMPLATE for shape in used)


def test_values_that_could_be_found_by_chance_are_never_substituted(monkeypatch):
    """Two names in one message, one short: a template must not write one into the other (a
    short stand-in found inside another value). Each round builds its templates afresh."""
    import random

    rng = random.Random(7)

    def text(n):
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    for _ in range(600):
        monkeypatch.setattr(netlink, "templates", {})
        name, alias = text(rng.randint(1, 15)), text(rng.randint(1, 15))
        netlink.encoded(netlink.LINK_SET_ALIAS, (name, alias))
        other = (text(len(name)), text(len(alias)))
        same(netlink.LINK_SET_ALIAS, *other)
    same(netlink.LINK_SET_ALIAS, "000000001", "0")


def test_a_stand_in_found_inside_another_value_spoils_the_template(monkeypatch):
    """The worst luck, forced: the alias's stand-ins lie inside the name's, consistently in both
    rounds. The template must be refused, not used to write the alias into the name."""
    scripted = iter(["abcdefghi", "zyxwvutsr", "cdef", "xwvu"])  # name 1st, name 2nd, alias 1st, 2nd
    monkeypatch.setattr(netlink, "stand_in", lambda kind, value, rng: next(scripted))
    monkeypatch.setattr(netlink, "templates", {})
    same(netlink.LINK_SET_ALIAS, "nnnnnnnnn", "aaaa")
