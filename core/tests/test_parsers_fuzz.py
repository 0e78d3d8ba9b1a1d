"""Every parser, fed anything, answers a value or a typed pycnm error (a CNMError), never a
TypeError, KeyError, AttributeError or ValueError from deep inside: a caller can catch one family
and tell a user what was wrong.

Covered: ports (``-p`` specs and the port map on the wire), the model's parsers and the attrs
classes' converters, ``labels``, IPAM requests, the wire decoding of every answer a remote plugin
may give (and the HTTP client's body handling), and the request decoding of pycnm-docker-plugin
(the JSON dockerd sends it, through the HTTP handler and the service). Each property is bounded
by ``BUDGET`` so that the whole file runs in a few seconds.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycnm import labels, model, ports, wire
from pycnm.errors import CNMError, InvalidParameter
from pycnm.ipam import request
from pycnm.model import (
    AddressAllocation,
    AddressSpaces,
    Capabilities,
    EndpointInterface,
    InterfaceName,
    IPAMCapabilities,
    IPAMData,
    JoinInfo,
    PoolAllocation,
    StaticRoute,
)

#: examples per property (the plugin service: 40 per method): the file runs in about 6 s, 10 s on a loaded host
BUDGET = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ---- strategies --------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
#: what a careless caller passes where text is due
anything = json_values | st.binary(max_size=8) | st.sampled_from([object(), 1.5, (), frozenset(), b"10.0.0.1"])

_ADDRESS_PIECES = [
    "10.0.0.0/24",
    "10.0.0.1/24",
    "10.0.0.1",
    "fd00::/64",
    "fd00::1/64",
    "fd00::1",
    "0.0.0.0/0",
    "10.0.0.0/33",
    "10.0.0.1/xyz",
    "300.1.1.1",
    "fe80::1%eth0",
    "::",
    "",
    " ",
    "/",
    "garbage",
    "10.0.0.0/255.255.255.0",
    "1.2.3.4\n",
    "::ffff:1.2.3.4/120",
]
#: addresses and networks, valid and not, with some arbitrary text beside them
ip_texts = st.sampled_from(_ADDRESS_PIECES) | st.text(max_size=20)
ip_values = ip_texts | anything


def typed(fn, *args, **kwargs):
    """Call ``fn``; a CNMError is a fine answer (returned), any other exception fails the test."""
    try:
        return fn(*args, **kwargs)
    except CNMError as exc:
        return exc


# ---- ports -------------------------------------------------------------------------------------

_PORT_PIECES = [
    "80",
    "8080",
    "0",
    "65535",
    "65536",
    "-",
    ":",
    "[",
    "]",
    "::1",
    "/",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "127.0.0.1",
    " ",
    "\n",
    "+8",
    "8_0",
    "\u0668",
    "\uff18",
    "1" * 30,
    "x",
]
port_specs = st.lists(st.sampled_from(_PORT_PIECES), max_size=7).map("".join) | st.text(max_size=20)


@BUDGET
@given(port_specs)
def test_a_port_spec_parses_or_is_an_invalid_parameter(spec):
    got = typed(ports.parse, spec)
    if isinstance(got, CNMError):
        assert isinstance(got, InvalidParameter)
        return
    for binding in got:
        assert 1 <= binding.container_port <= 65535 and 0 <= binding.host_port <= 65535
    # what parsed is plain ASCII without whitespace: no other script's digits, no " 80", no "8_0"
    assert spec.isascii() and not any(c.isspace() for c in spec) and "_" not in spec


@BUDGET
@given(st.one_of(st.lists(port_specs, max_size=3), port_specs, anything))
def test_a_list_of_port_specs_parses_or_is_an_invalid_parameter(specs):
    got = typed(ports.parse_all, specs)
    assert isinstance(got, (list, InvalidParameter))


def test_one_port_spec_given_as_a_string_is_one_spec_not_its_characters():
    assert ports.parse_all("8080:80") == ports.parse("8080:80")
    assert ports.parse_all(None) == []


_port_numbers = st.integers(-5, 70000) | st.sampled_from(["80", "x", "", None, True, 8.5])
port_map_items = st.fixed_dictionaries(
    {},
    optional={
        "Proto": st.sampled_from([6, 17, 132, 1, "6", None, True, 6.0]),
        "Port": _port_numbers,
        "HostPort": _port_numbers,
        "HostPortEnd": _port_numbers,
        "HostIP": ip_values,
        "IP": json_values,
    },
)


@BUDGET
@given(st.one_of(st.lists(port_map_items | json_values, max_size=3), json_values))
def test_a_port_map_from_the_wire_decodes_or_is_an_invalid_parameter(items):
    got = typed(ports.from_wire, items)
    if isinstance(got, CNMError):
        assert isinstance(got, InvalidParameter)
        return
    for binding in got:
        assert 1 <= binding.container_port <= 65535
        assert 0 <= binding.host_port <= 65535 and 0 <= binding.host_port_end <= 65535


@BUDGET
@given(st.lists(port_specs, max_size=3))
def test_parsed_bindings_round_trip_through_the_wire_form(specs):
    bindings = typed(ports.parse_all, specs)
    if not isinstance(bindings, CNMError):
        assert ports.from_wire(json.loads(json.dumps(ports.to_wire(bindings)))) == bindings


# ---- the model's parsers and converters --------------------------------------------------------


@BUDGET
@given(ip_values)
def test_the_model_s_address_parsers_answer_a_value_or_an_invalid_parameter(value):
    for parse in (model.network, model.interface, model.address):
        got = typed(parse, value)
        assert isinstance(got, InvalidParameter) or got.version in (4, 6)
    got = typed(model.address, value)
    if not isinstance(got, CNMError):
        assert typed(model.address, str(got)) == got  # an accepted address parses again to itself


def test_an_address_with_a_bad_prefix_is_refused_not_cut_short():
    with pytest.raises(InvalidParameter, match="gateway"):
        model.address("10.0.0.1/xyz", name="gateway")
    assert model.address("10.0.0.1/24") == ipaddress.ip_address("10.0.0.1")


@BUDGET
@given(anything | st.text(alphabet="0123456789abcdefABCDEF:-.", max_size=20))
def test_a_mac_parses_or_is_an_invalid_parameter(value):
    got = typed(model.mac, value)
    assert got is None or isinstance(got, InvalidParameter) or re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", got)


@BUDGET
@given(anything | st.text(alphabet="0123456789abcdef\n", min_size=63, max_size=66))
def test_an_id_is_checked_or_refused_as_an_invalid_parameter(value):
    got = typed(model.check_id, value, kind="network")
    assert isinstance(got, InvalidParameter) or (isinstance(got, str) and re.fullmatch(r"[0-9a-f]{64}", got))


def test_an_id_with_a_trailing_newline_is_refused():
    with pytest.raises(InvalidParameter, match="64 lowercase hex"):
        model.check_id("a" * 64 + "\n", kind="network")


@BUDGET
@given(json_values | anything, ip_values, ip_values, json_values | st.dictionaries(st.text(max_size=4), ip_values))
def test_ipam_data_is_built_or_refused_as_an_invalid_parameter(space, pool, gateway, aux):
    typed(IPAMData, space, pool, gateway, aux)


@BUDGET
@given(
    ip_values, ip_values, anything | st.sampled_from(["02:42:ac:11:00:02", "02-42-AC-11-00-02", "ff:ff:ff:ff:ff:ff"])
)
def test_an_endpoint_interface_is_built_or_refused_as_an_invalid_parameter(address, address_ipv6, mac):
    got = typed(EndpointInterface, address, address_ipv6, mac)
    if isinstance(got, EndpointInterface):
        assert got.address is None or got.address.version == 4
        assert got.address_ipv6 is None or got.address_ipv6.version == 6


def test_an_ipv6_address_in_the_ipv4_field_is_refused():
    with pytest.raises(InvalidParameter, match="expected an IPv4 address"):
        EndpointInterface(address="fd00::5/64")
    with pytest.raises(InvalidParameter, match="expected an IPv6 address"):
        JoinInfo(gateway_ipv6="10.0.0.1")


_route_types = st.sampled_from([0, 1, 2, -1, "0", None, True, "NEXTHOP"]) | anything


@BUDGET
@given(ip_values, _route_types, ip_values)
def test_a_static_route_is_built_or_refused_as_an_invalid_parameter(destination, route_type, next_hop):
    typed(StaticRoute, destination, route_type, next_hop)


@BUDGET
@given(anything, ip_values, ip_values, st.lists(anything, max_size=2) | anything, anything)
def test_join_info_is_built_or_refused_as_an_invalid_parameter(iface, gateway, gateway6, routes, disable):
    got = typed(JoinInfo, iface, gateway, gateway6, routes, disable)
    if isinstance(got, JoinInfo):
        assert all(isinstance(r, StaticRoute) for r in got.static_routes)


@BUDGET
@given(anything | st.sampled_from(["local", "global", "swarm"]), anything | st.sampled_from(["local", ""]))
def test_capabilities_are_built_or_refused_as_an_invalid_parameter(scope, connectivity):
    typed(Capabilities, scope, connectivity)


@BUDGET
@given(json_values, ip_values, json_values)
def test_allocations_are_built_or_refused_as_an_invalid_parameter(pool_id, value, data):
    typed(PoolAllocation, pool_id, value, data)
    typed(AddressAllocation, value, data)


# ---- labels ------------------------------------------------------------------------------------


@BUDGET
@given(anything | st.sampled_from(["true", "FALSE", " 1 ", "on", "no", "maybe"]))
def test_a_boolean_option_parses_or_is_an_invalid_parameter(value):
    got = typed(labels.as_bool, value, field="com.docker.network.bridge.enable_icc")
    assert isinstance(got, (bool, InvalidParameter))
    if isinstance(got, InvalidParameter):
        assert "com.docker.network.bridge.enable_icc" in str(got)


@BUDGET
@given(anything | st.dictionaries(st.sampled_from(["mtu", "icc", "x"]), json_values))
def test_options_normalise_or_are_refused_as_an_invalid_parameter(options):
    assert isinstance(typed(labels.normalize, options), (dict, InvalidParameter))


# ---- IPAM requests -----------------------------------------------------------------------------

_subnets = st.sampled_from(["10.1.0.0/16", "10.1.0.0/24", "fd00::/64", "10.2.0.0/16", "10.1.2.3/16", "x"])
_inside = st.sampled_from(["10.1.2.0/24", "fd00::/80", "10.1.0.1", "10.1.0.0", "10.1.0.255", "fd00::1", "10.9.0.0/24"])
_many = st.none() | st.lists(_subnets | _inside | ip_texts, max_size=3) | _inside | anything


@BUDGET
@given(_many, _many, _many, st.none() | st.dictionaries(st.text(max_size=4), _inside | ip_texts, max_size=2) | anything)
def test_pool_requests_are_built_or_refused_as_an_invalid_parameter(subnets, ranges, gateways, aux):
    got = typed(request.build, subnets, ranges, gateways, aux)
    assert isinstance(got, (list, InvalidParameter))


def test_an_ip_range_of_the_other_family_is_not_inside_any_subnet():
    with pytest.raises(InvalidParameter, match="not inside any subnet"):
        request.build(["10.0.0.0/24"], ["fd00::/64"])


# ---- wire: what a remote plugin may answer -----------------------------------------------------

#: per class, its Docker field names with plausible values (and arbitrary JSON beside them)
_WIRE_FIELDS = {
    Capabilities: {
        "Scope": st.sampled_from(["local", "global", "x", ""]),
        "ConnectivityScope": st.sampled_from(["local", "", "x"]),
    },
    IPAMData: {
        "AddressSpace": st.text(max_size=5),
        "Pool": ip_texts,
        "Gateway": ip_texts,
        "AuxAddresses": st.dictionaries(st.text(max_size=4), ip_texts, max_size=2),
    },
    EndpointInterface: {
        "Address": ip_texts,
        "AddressIPv6": ip_texts,
        "MacAddress": st.sampled_from(["02:42:ac:11:00:02", "", "zz", "01:00:5e:00:00:01"]),
    },
    InterfaceName: {"SrcName": st.text(max_size=5), "DstPrefix": st.text(max_size=5), "DstName": st.text(max_size=5)},
    StaticRoute: {"Destination": ip_texts, "RouteType": st.sampled_from([0, 1, 7]), "NextHop": ip_texts},
    JoinInfo: {
        "InterfaceName": st.fixed_dictionaries({"SrcName": st.text(max_size=4)}),
        "Gateway": ip_texts,
        "GatewayIPv6": ip_texts,
        "DisableGatewayService": st.booleans(),
        "StaticRoutes": st.lists(
            st.fixed_dictionaries(
                {"Destination": ip_texts}, optional={"RouteType": st.sampled_from([0, 1, 9]), "NextHop": ip_texts}
            ),
            max_size=2,
        ),
    },
    IPAMCapabilities: {"RequiresMACAddress": st.booleans(), "RequiresRequestReplay": st.booleans()},
    AddressSpaces: {"LocalDefaultAddressSpace": st.text(max_size=5), "GlobalDefaultAddressSpace": st.text(max_size=5)},
    PoolAllocation: {
        "PoolID": st.text(max_size=5),
        "Pool": ip_texts,
        "Data": st.dictionaries(st.text(max_size=3), st.text(max_size=3)),
    },
    AddressAllocation: {"Address": ip_texts, "Data": st.dictionaries(st.text(max_size=3), st.text(max_size=3))},
}


def _wire_answers(cls):
    fields = _WIRE_FIELDS[cls]
    return st.one_of(
        st.fixed_dictionaries({}, optional={k: v | json_values for k, v in fields.items()}),
        json_values,
    )


@pytest.mark.parametrize("cls", list(_WIRE_FIELDS), ids=lambda c: c.__name__)
def test_every_wire_answer_decodes_or_is_an_invalid_parameter(cls):
    @BUDGET
    @given(_wire_answers(cls))
    def check(data):
        got = typed(wire.load, data, cls)
        assert isinstance(got, (cls, InvalidParameter))
        if isinstance(got, cls):
            # what decodes re-encodes, and decodes again to the same JSON ("" and None are one on the wire)
            sent = json.loads(json.dumps(wire.dump(got)))
            assert wire.dump(wire.load(sent, cls)) == sent

    check()


@BUDGET
@given(st.lists(_wire_answers(IPAMData), max_size=2) | json_values)
def test_a_list_of_ipam_data_decodes_or_is_an_invalid_parameter(items):
    assert isinstance(typed(wire.ipam_data, items), (list, InvalidParameter))


class _Answers:
    """A PluginClient stand-in: Plugin.Activate says what the driver implements; every other
    call answers what the test draws."""

    name = "fuzz"
    address = "unix:///nowhere"

    def __init__(self, implements: list[str]) -> None:
        self.implements = implements
        self.answer: dict = {}

    def call(self, method, payload=None, *, error_field="Err"):
        if method == "Plugin.Activate":
            return {"Implements": self.implements}
        json.dumps(payload)  # what the driver sends must be JSON
        return self.answer


def _remote_network_calls(driver):
    net, ep = secrets.token_hex(32), secrets.token_hex(32)
    yield lambda: driver.cnm_get_capabilities()
    yield lambda: driver.cnm_create_network(net, {}, [IPAMData("LocalDefault", "10.0.0.0/24", "10.0.0.1/24")], [])
    yield lambda: driver.cnm_create_endpoint(net, ep, EndpointInterface("10.0.0.2/24"), {})
    yield lambda: driver.cnm_endpoint_oper_info(net, ep)
    yield lambda: driver.cnm_join(net, ep, "/run/netns/x", {})
    yield lambda: driver.cnm_program_external_connectivity(net, ep, {})
    yield lambda: driver.cnm_discover_new(1, {"Address": "10.0.0.9"})


_plugin_answers = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "Scope": st.sampled_from(["local", "global", "x"]) | json_values,
            "ConnectivityScope": json_values,
            "Value": json_values,
            "Interface": _wire_answers(EndpointInterface) | json_values,
            "InterfaceName": _wire_answers(InterfaceName),
            "Gateway": ip_texts,
            "StaticRoutes": json_values,
        },
    ),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)


@BUDGET
@given(_plugin_answers, st.sampled_from([["NetworkDriver"], ["IpamDriver"], []]))
def test_a_remote_network_plugin_s_answers_decode_or_are_typed_errors(answer, implements):
    from pycnm_remote.drivers import RemoteNetworkDriver

    client = _Answers(implements)
    client.answer = answer
    driver = RemoteNetworkDriver(client, {})
    for step in _remote_network_calls(driver):
        typed(step)
        driver._capabilities = None  # every call asks again, with this answer


_ipam_answers = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            **{k: v | json_values for k, v in _WIRE_FIELDS[PoolAllocation].items()},
            **{k: v | json_values for k, v in _WIRE_FIELDS[AddressSpaces].items()},
            "Address": ip_texts | json_values,
            "RequiresMACAddress": json_values,
        },
    ),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)


@BUDGET
@given(_ipam_answers)
def test_a_remote_ipam_plugin_s_answers_decode_or_are_typed_errors(answer):
    from pycnm_remote.drivers import RemoteIPAMDriver

    client = _Answers(["IpamDriver"])
    client.answer = answer
    driver = RemoteIPAMDriver(client, {})
    typed(driver.ipam_get_capabilities)
    typed(driver.ipam_get_default_address_spaces)
    typed(driver.ipam_request_pool, "LocalDefault", "", "", {}, False)
    typed(driver.ipam_request_address, "LocalDefault/10.0.0.0/24", "", {})
    typed(driver.ipam_release_pool, "LocalDefault/10.0.0.0/24")


_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=20),
    st.sampled_from(
        [b"", b" \n", b"[" * 5000, b"{" * 100000, b'{"Err": "network not found"}', b'{"Error": {"x": 1}}', b"\xff\xfe"]
    ),
)


@BUDGET
@given(st.sampled_from([200, 404, 500, 302]), _bodies)
def test_the_plugin_client_reads_any_answer_as_a_dict_or_a_typed_error(status, body):
    from pycnm_remote.client import PluginClient

    client = PluginClient("fuzz", "unix:///nowhere", retry_total=0)
    client._send = lambda method, payload: (status, body)
    got = typed(client.call, "NetworkDriver.Join", {"NetworkID": "n"})
    assert isinstance(got, (dict, CNMError))


# ---- pycnm-docker-plugin: what dockerd sends -------------------------------------------------


@pytest.fixture(scope="module")
def plugin_service(tmp_path_factory):
    """The plugin serving the null driver and the default IPAM, from a throwaway state directory:
    no kernel object is made (the null driver makes none, the IPAM sees no host routes)."""
    from pycnm_docker_plugin.service import PluginService

    service = PluginService("null", str(tmp_path_factory.mktemp("plugin")))
    service.ipam.driver.host_networks = list
    yield service
    service.close()


_ids = st.sampled_from([secrets.token_hex(32), secrets.token_hex(32)]) | st.sampled_from(["", "n1", "../x", "A" * 64])
#: how the relay words a driver's exception that was not a typed error ("... failed in cnm_join: KeyError: ...")
_UNTYPED = re.compile(r" failed in (cnm|ipam)_\w+: \w+: ")

_REQUESTS = {
    "NetworkDriver.CreateNetwork": {
        "NetworkID": _ids,
        "Options": json_values,
        "IPv4Data": st.lists(_wire_answers(IPAMData), max_size=2) | json_values,
        "IPv6Data": json_values,
    },
    "NetworkDriver.DeleteNetwork": {"NetworkID": _ids},
    "NetworkDriver.CreateEndpoint": {
        "NetworkID": _ids,
        "EndpointID": _ids,
        "Options": json_values,
        "Interface": _wire_answers(EndpointInterface),
    },
    "NetworkDriver.DeleteEndpoint": {"NetworkID": _ids, "EndpointID": _ids},
    "NetworkDriver.EndpointOperInfo": {"NetworkID": _ids, "EndpointID": _ids},
    "NetworkDriver.Join": {"NetworkID": _ids, "EndpointID": _ids, "SandboxKey": json_values, "Options": json_values},
    "NetworkDriver.Leave": {"NetworkID": _ids, "EndpointID": _ids},
    "NetworkDriver.ProgramExternalConnectivity": {"NetworkID": _ids, "EndpointID": _ids, "Options": json_values},
    "NetworkDriver.RevokeExternalConnectivity": {"NetworkID": _ids, "EndpointID": _ids},
    "NetworkDriver.DiscoverNew": {"DiscoveryType": json_values, "DiscoveryData": json_values},
    "NetworkDriver.DiscoverDelete": {"DiscoveryType": json_values, "DiscoveryData": json_values},
    "NetworkDriver.GetCapabilities": {},
    "Plugin.Activate": {},
    "IpamDriver.GetCapabilities": {},
    "IpamDriver.GetDefaultAddressSpaces": {},
    "IpamDriver.RequestPool": {
        "AddressSpace": st.sampled_from(["LocalDefault", "GlobalDefault", "x"]),
        "Pool": ip_texts,
        "SubPool": ip_texts,
        "Options": json_values,
        "V6": json_values,
    },
    "IpamDriver.ReleasePool": {"PoolID": st.sampled_from(["LocalDefault/10.0.0.0/24", "x/y", "LocalDefault/a/b"])},
    "IpamDriver.RequestAddress": {
        "PoolID": st.sampled_from(["LocalDefault/10.0.0.0/24", "x"]),
        "Address": ip_texts,
        "Options": json_values,
    },
    "IpamDriver.ReleaseAddress": {"PoolID": st.sampled_from(["LocalDefault/10.0.0.0/24", "x"]), "Address": ip_texts},
}


def _payloads(method):
    return st.one_of(
        st.fixed_dictionaries({}, optional={k: v | json_values for k, v in _REQUESTS[method].items()}), json_values
    )


@pytest.mark.parametrize("method", list(_REQUESTS))
def test_the_docker_plugin_answers_any_request_with_json_or_a_typed_error(plugin_service, method):
    @settings(BUDGET, max_examples=40)
    @given(_payloads(method))
    def check(payload):
        answer = plugin_service.handle(method, payload)  # anything raised here is a bug
        json.dumps(answer)
        error = answer.get("Err") or answer.get("Error") if isinstance(answer, dict) else None
        assert not (error and _UNTYPED.search(error)), error

    check()


def test_the_docker_plugin_refuses_an_id_that_is_not_docker_s():
    from pycnm_docker_plugin.service import _id

    with pytest.raises(InvalidParameter, match=r"invalid network ID '\.\./x'"):
        _id({"NetworkID": "../x"}, "NetworkID")


def _post(service, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
    """One request through the plugin's HTTP handler, on in-memory files instead of a socket."""
    from pycnm_docker_plugin.server import Handler

    class Server:
        pass

    server = Server()
    server.service = service
    handler = Handler.__new__(Handler)
    handler.server, handler.path, handler.headers = server, path, headers
    handler.rfile, handler.wfile = io.BytesIO(body), io.BytesIO()
    handler.request_version, handler.requestline, handler.command = "HTTP/1.1", f"POST {path} HTTP/1.1", "POST"
    handler.close_connection = False
    handler.do_POST()
    head, _, data = handler.wfile.getvalue().partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(data)


@BUDGET
@given(
    st.sampled_from(["/NetworkDriver.Join", "/Plugin.Activate", "/Nope", "/IpamDriver.RequestPool"]),
    st.none() | st.sampled_from(["-1", "abc", "99", "", "1e3", "\u0661"]),
    _bodies,
)
def test_the_docker_plugin_s_http_handler_answers_any_body(plugin_service, path, length, body):
    headers = {} if length is None else {"Content-Length": length}
    if length is None and body:
        headers["Content-Length"] = str(len(body))
    status, answer = _post(plugin_service, path, headers, body)
    assert status in (200, 400, 404) and isinstance(answer, dict)
