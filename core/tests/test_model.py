"""Values at the driver boundary fail when built, naming the field and the value."""

import ipaddress

import pytest

from pycnm import codec
from pycnm.errors import InvalidParameter
from pycnm.ipam import request
from pycnm.model import EndpointInterface, IPAMData, JoinInfo, StaticRoute
from pycnm.records import EndpointRecord, NetworkRecord, PoolRecord


def test_bad_cidr_names_the_field():
    with pytest.raises(InvalidParameter, match="invalid pool 'nope'"):
        IPAMData("LocalDefault", "nope")
    with pytest.raises(InvalidParameter, match=r"it should be 10\.0\.0\.0/24"):
        IPAMData("LocalDefault", "10.0.0.9/24")
    with pytest.raises(InvalidParameter, match="invalid gateway"):
        IPAMData("LocalDefault", "10.0.0.0/24", gateway="10.0.0.999/24")


def test_mac_addresses_are_checked_and_normalised():
    assert EndpointInterface(mac_address="02-AA-bb-cc-dd-ee").mac_address == "02:aa:bb:cc:dd:ee"
    with pytest.raises(InvalidParameter, match="invalid MAC address 'zz'"):
        EndpointInterface(mac_address="zz")


def test_join_info_parses_gateways_and_routes():
    info = JoinInfo(gateway="10.0.0.1", static_routes=[StaticRoute("10.9.0.0/16", 0, "10.0.0.254")])
    assert info.gateway == ipaddress.ip_address("10.0.0.1")
    assert info.static_routes[0].next_hop == ipaddress.ip_address("10.0.0.254")


def test_records_round_trip_through_the_store_codec():
    net = NetworkRecord(
        id="a" * 64,
        name="n",
        driver="bridge",
        scope="local",
        ipam_driver="default",
        created="t",
        ipv4_pools=[
            PoolRecord(
                "LocalDefault/10.0.0.0/24",
                ipaddress.ip_network("10.0.0.0/24"),
                "LocalDefault",
                gateway=ipaddress.ip_interface("10.0.0.1/24"),
                aux_addresses={"x": ipaddress.ip_interface("10.0.0.5/24")},
            )
        ],
        options={"com.docker.network.generic": {"mtu": "1400"}},
    )
    assert codec.loads(codec.dumps(net), NetworkRecord) == net
    ep = EndpointRecord(
        id="b" * 64,
        name="e",
        network_id="a" * 64,
        address=ipaddress.ip_interface("10.0.0.2/24"),
        gateway=ipaddress.ip_address("10.0.0.1"),
        static_routes=[StaticRoute("10.9.0.0/16", 1)],
    )
    assert codec.loads(codec.dumps(ep), EndpointRecord) == ep


def test_pool_requests_follow_docker_s_cli_rules():
    reqs = request.build(
        ["10.1.0.0/16", "fd00::/64"], ["10.1.2.0/24"], ["10.1.0.254", "fd00::1"], {"router": "10.1.0.253"}
    )
    assert [str(r.subnet) for r in reqs] == ["10.1.0.0/16", "fd00::/64"]
    assert str(reqs[0].ip_range) == "10.1.2.0/24" and str(reqs[1].gateway) == "fd00::1"
    assert str(reqs[0].aux_addresses["router"]) == "10.1.0.253"
    with pytest.raises(InvalidParameter, match="more than one gateway"):
        request.build(["10.1.0.0/16"], None, ["10.1.0.1", "10.1.0.2"])
    with pytest.raises(InvalidParameter, match="needs a --subnet"):
        request.build(None, None, ["10.1.0.1"])
    with pytest.raises(InvalidParameter, match="network or broadcast"):
        request.build(["10.1.0.0/24"], None, ["10.1.0.255"])


def test_the_default_state_directory_keeps_the_plain_namespace_prefix_and_others_get_their_own():
    from pycnm.controller import DEFAULT_STATE_DIR, default_netns_prefix

    assert default_netns_prefix(DEFAULT_STATE_DIR) == "pycnm-"
    a, b = default_netns_prefix("/tmp/a/state"), default_netns_prefix("/tmp/b/state")
    assert a != b and a.startswith("pycnm-") and len(a) == len("pycnm-") + 7 and a.endswith("-")
    assert default_netns_prefix("/tmp/a/state/") == a  # the path, not its spelling
