"""The Engine API in-process (no HTTP): every route, filter, error status and message, the JSON
shapes (keys in dockerd's order, types, zero values), version prefixes and events.

The Controller runs on the ``null`` and ``host`` drivers in a temporary state directory, with its
namespace directory there too: nothing here touches the kernel. Sandboxes are host-namespace
ones (they make no namespace), which is what lets connect, disconnect and the container routes
be checked without privileges. Expected messages are dockerd 20.10's (see
/work/research/engine-api-network.md) wherever pycnm has the same situation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import pytest

from pycnm import Controller
from pycnm.api import gojson, gotime
from pycnm.api.engine import API_VERSION, PYCNM_VERSION, ROUTES, Engine, Response
from pycnm.api.events import BUFFER, EventBus
from pycnm.api.filters import Filters

# ---- fixtures -----------------------------------------------------------------------------------


class Api:
    """Calls the engine as an HTTP client would: JSON bodies with their Content-Type."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict | None = None,
        headers: dict | None = None,
        raw: bytes | None = None,
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        sent = {"Content-Type": "application/json"} if body is not None or raw is not None else {}
        sent.update(headers or {})
        q = {k: [v] if isinstance(v, str) else list(v) for k, v in (query or {}).items()}
        return self.engine.handle(method, path, q, sent, data)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any) -> Any:
        r = self(method, path, body, **kw)
        assert r.status == status, (r.status, r.body)
        return r.json()

    def create(self, name: str, driver: str = "null", **fields: Any) -> str:
        return self.ok("POST", "/v1.41/networks/create", {"Name": name, "Driver": driver, **fields}, 201)["Id"]

    def sandbox(self, name: str) -> str:
        return self.ok("POST", "/pycnm/v1/sandboxes/create", {"Name": name, "HostNamespace": True}, 201)["Id"]


def message(r: Response) -> str:
    assert r.header("Content-Type") == "application/json", r.headers
    assert r.body.endswith(b"\n")
    doc = json.loads(r.body)
    assert list(doc) == ["message"]
    return doc["message"]


@pytest.fixture
def engine(tmp_path, prefix, monkeypatch):
    monkeypatch.setenv("PYCNM_DISABLE_PLUGINS", "1")
    bus = EventBus()
    ctl = Controller(
        str(tmp_path / "state"),
        netns_dir=str(tmp_path / "netns"),
        netns_prefix=f"{prefix}-",
        ifname_prefix=prefix,
        plugins=[bus.observer()],
    )
    yield Engine(ctl, bus)
    ctl.delete_sandboxes(ctl.sandboxes())
    for net in ctl.networks():
        for ep in net.endpoints():
            ep.delete(force=True)
        net.delete()
    ctl.close()


@pytest.fixture
def api(engine) -> Api:
    return Api(engine)


@pytest.fixture
def hostnet(api) -> str:
    """A host-driver network with a host-namespace sandbox "s1" connected: no kernel object."""
    net = api.create("hostnet", "host")
    api.sandbox("s1")
    api.ok("POST", "/networks/hostnet/connect", {"Container": "s1"})
    return net


NETWORK_KEYS = [
    "Name",
    "Id",
    "Created",
    "Scope",
    "Driver",
    "EnableIPv6",
    "IPAM",
    "Internal",
    "Attachable",
    "Ingress",
    "ConfigFrom",
    "ConfigOnly",
    "Containers",
    "Options",
    "Labels",
]
RFC3339NANO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z")


# ---- routing, versions, headers -----------------------------------------------------------------


def test_every_route_of_the_table_has_its_handler(engine):
    for _method, _pattern, _op, handler in ROUTES:
        assert callable(getattr(engine, f"_{handler}"))


@pytest.mark.parametrize("prefix_", ["", "/v1.24", "/v1.28", "/v1.41"])
def test_every_route_answers_with_and_without_a_supported_version(api, prefix_):
    r = api("GET", f"{prefix_}/networks")
    assert r.status == 200 and r.json() == []
    assert r.header("Api-Version") == "1.41" and r.header("Ostype") == "linux"
    assert r.header("Docker-Experimental") == "false"
    assert r.header("Server") == f"pycnm/{PYCNM_VERSION} (linux)"


def test_a_newer_api_version_is_refused_with_dockerds_words(api):
    r = api("GET", "/v1.50/networks")
    assert r.status == 400
    assert message(r) == "client version 1.50 is too new. Maximum supported API version is 1.41"
    assert r.header("Api-Version") == "1.41"  # dockerd's middleware sets it on this error too


def test_an_older_api_version_is_refused_with_dockerds_words(api):
    r = api("GET", "/v1.23/networks")
    assert r.status == 400
    assert message(r) == (
        "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade"
        " your client to a newer version"
    )


def test_an_unknown_path_or_method_is_page_not_found_without_the_version_header(api):
    for method, path in (("GET", "/nope"), ("PUT", "/networks"), ("GET", "/v1.41/x"), ("POST", "/networks")):
        r = api(method, path)
        assert r.status == 404 and message(r) == "page not found"
        assert r.header("Api-Version") is None


def test_options_on_any_path_is_200_with_no_body(api):
    r = api("OPTIONS", "/anything")
    assert r.status == 200 and r.body == b""


def test_ping_answers_ok_with_dockerds_headers_and_head_has_no_body(api):
    for path in ("/_ping", "/v1.41/_ping"):
        r = api("GET", path)
        assert (r.status, r.body) == (200, b"OK")
        assert r.header("Cache-Control") == "no-cache, no-store, must-revalidate"
        assert r.header("Pragma") == "no-cache"
        assert r.header("Content-Type") == "text/plain; charset=utf-8"
        head = api("HEAD", path)
        assert (head.status, head.body, head.header("Api-Version")) == (200, b"", "1.41")


def test_version_says_pycnm_with_the_api_versions_docker_py_needs(api):
    doc = api.ok("GET", "/version")
    assert doc["ApiVersion"] == "1.41" and doc["MinAPIVersion"] == "1.24"
    assert doc["Version"] == PYCNM_VERSION and doc["Platform"] == {"Name": "pycnm"}
    engine = doc["Components"][0]
    assert engine["Name"] == "Engine" and engine["Details"]["ApiVersion"] == "1.41"
    assert engine["Details"]["MinAPIVersion"] == "1.24" and doc["Os"] == "linux"
    assert "GoVersion" not in doc and "GitCommit" not in doc  # nothing untrue


def test_info_lists_the_installed_network_drivers_and_counts_sandboxes_as_containers(api):
    api.sandbox("s1")
    doc = api.ok("GET", "/info")
    assert {"null", "host"} <= set(doc["Plugins"]["Network"])
    assert doc["Containers"] == doc["ContainersRunning"] == 1 and doc["Images"] == 0
    assert doc["Swarm"]["LocalNodeState"] == "inactive" and doc["OSType"] == "linux"
    assert doc["ServerVersion"] == PYCNM_VERSION and doc["Warnings"] is None


# ---- POST /networks/create ----------------------------------------------------------------------


def test_create_answers_201_with_id_and_an_empty_warning(api):
    r = api("POST", "/v1.41/networks/create", {"Name": "n1", "Driver": "null"})
    assert r.status == 201 and r.header("Content-Type") == "application/json"
    doc = r.json()
    assert list(doc) == ["Id", "Warning"] and re.fullmatch(r"[0-9a-f]{64}", doc["Id"]) and doc["Warning"] == ""


def test_create_takes_the_docker_cli_body_with_every_field(api):
    body = {
        "CheckDuplicate": True,
        "Driver": "null",
        "Scope": "local",
        "EnableIPv6": True,
        "IPAM": {
            "Driver": "default",
            "Options": {"foo": "bar"},
            "Config": [
                {
                    "Subnet": "10.5.0.0/16",
                    "IPRange": "10.5.1.0/24",
                    "Gateway": "10.5.0.1",
                    "AuxiliaryAddresses": {"host1": "10.5.0.5", "host2": "10.5.0.6"},
                },
                {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"},
            ],
        },
        "Internal": True,
        "Attachable": True,
        "Ingress": False,
        "ConfigOnly": False,
        "ConfigFrom": None,
        "Options": {},
        "Labels": {"a": "b", "c": ""},
        "Name": "c1",
    }
    api.ok("POST", "/networks/create", body, 201)
    doc = api.ok("GET", "/networks/c1")
    assert doc["EnableIPv6"] is True and doc["Internal"] is True and doc["Attachable"] is True
    assert doc["Labels"] == {"a": "b", "c": ""}
    assert doc["IPAM"] == {
        "Driver": "default",
        "Options": {"foo": "bar"},
        "Config": [
            {
                "Subnet": "10.5.0.0/16",
                "IPRange": "10.5.1.0/24",
                "Gateway": "10.5.0.1",
                "AuxiliaryAddresses": {"host1": "10.5.0.5", "host2": "10.5.0.6"},
            },
            {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"},
        ],
    }


def test_create_matches_keys_case_insensitively_and_ignores_unknown_ones(api):
    # docker 28's CLI sends EnableIPv4 and GwPriority even at API 1.41
    api.ok(
        "POST",
        "/networks/create",
        {"name": "n1", "DRIVER": "null", "labels": {"k": "v"}, "EnableIPv4": True, "GwPriority": 0, "Whatever": [1, 2]},
        201,
    )
    doc = api.ok("GET", "/networks/n1")
    assert doc["Driver"] == "null" and doc["Labels"] == {"k": "v"}


def test_create_with_a_taken_name_is_409_whatever_check_duplicate_says(api):
    api.create("n1")
    for check in (True, False, None):
        body = {"Name": "n1", "Driver": "null"}
        if check is not None:
            body["CheckDuplicate"] = check
        r = api("POST", "/networks/create", body)
        assert r.status == 409 and message(r) == "network with name n1 already exists"
    assert len(api.ok("GET", "/networks")) == 1


@pytest.mark.parametrize("name", ["bridge", "host", "none", "default"])
def test_create_with_a_predefined_name_is_403_with_dockerds_trailing_space(api, name):
    r = api("POST", "/networks/create", {"Name": name, "Driver": "null"})
    assert r.status == 403 and message(r) == f"operation is not permitted on predefined {name} network "


@pytest.mark.parametrize("field, text", [("Ingress", "ingress"), ("ConfigOnly", "configuration-only")])
def test_create_refuses_what_pycnm_does_not_support(api, field, text):
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", field: True})
    assert r.status == 403 and "pycnm does not support" in message(r) and text in message(r)
    assert api.ok("GET", "/networks") == []


def test_create_refuses_config_from(api):
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", "ConfigFrom": {"Network": "c4"}})
    assert r.status == 403 and "pycnm does not support" in message(r) and "--config-from" in message(r)
    # the empty reference docker sends is no request for it
    api.ok("POST", "/networks/create", {"Name": "n2", "Driver": "null", "ConfigFrom": {"Network": ""}}, 201)


@pytest.mark.parametrize(
    "content_type, text",
    [
        ("text/plain", "Content-Type specified (text/plain) must be 'application/json'"),
        ("", "Content-Type specified () must be 'application/json'"),
    ],
)
def test_create_checks_the_content_type(api, content_type, text):
    r = api("POST", "/networks/create", raw=b'{"Name":"n1"}', headers={"Content-Type": content_type})
    assert r.status == 400 and message(r) == text


def test_create_accepts_json_with_parameters_in_the_content_type(api):
    r = api(
        "POST",
        "/networks/create",
        raw=b'{"Name":"n1","Driver":"null"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status == 201


@pytest.mark.parametrize(
    "raw, text",
    [
        (b"", "got EOF while reading request body"),
        (b"   \n", "got EOF while reading request body"),
        (b"x", "invalid character 'x' looking for beginning of value"),
        (b'{"Name": "n1",', "unexpected EOF"),
        (b'{"Name" "n1"}', "invalid character '\"' after object key"),
        (b'{"Name": "n1" "Driver": "null"}', "invalid character '\"' after object key:value pair"),
        (b"[]", "json: cannot unmarshal array into Go value of type types.NetworkCreateRequest"),
        (
            b'{"Internal": "yes"}',
            "json: cannot unmarshal string into Go struct field NetworkCreateRequest.Internal of type bool",
        ),
        (
            b'{"Labels": []}',
            "json: cannot unmarshal array into Go struct field NetworkCreateRequest.Labels of type map[string]string",
        ),
        (
            b'{"Labels": {"a": 1}}',
            "json: cannot unmarshal number into Go struct field NetworkCreateRequest.Labels of type string",
        ),
        (
            b'{"IPAM": {"Config": [{"Subnet": 1}]}}',
            "json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type string",
        ),
        (
            b'{"IPAM": "x"}',
            "json: cannot unmarshal string into Go struct field NetworkCreateRequest.IPAM of type network.IPAM",
        ),
    ],
)
def test_a_body_go_would_not_decode_is_400_in_gos_words(api, raw, text):
    r = api("POST", "/networks/create", raw=raw)
    assert r.status == 400 and message(r) == text
    assert api.ok("GET", "/networks") == []


def test_what_follows_the_body_s_json_value_is_not_read_as_in_go(api):
    r = api("POST", "/networks/create", raw=b'{"Name":"n1","Driver":"null"} trailing')
    assert r.status == 201


def test_null_is_accepted_for_every_field(api):
    api.ok(
        "POST",
        "/networks/create",
        {
            "Name": "n1",
            "Driver": "null",
            "IPAM": None,
            "Labels": None,
            "Options": None,
            "Internal": None,
            "ConfigFrom": None,
        },
        201,
    )


def test_create_checks_the_scope_against_the_driver_as_dockerd(api):
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", "Scope": "swarm"})
    assert r.status == 403 and message(r) == "cannot create a swarm scoped network when swarm is not active"
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", "Scope": "global"})
    assert r.status == 403 and "makes local-scope networks" in message(r)
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", "Scope": "galaxy"})
    assert r.status == 400 and "invalid scope" in message(r)
    api.ok("POST", "/networks/create", {"Name": "n1", "Driver": "null", "Scope": "local"}, 201)


def test_create_with_an_unknown_driver_is_404_plugin_not_found(api):
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "nope"})
    assert r.status == 404 and message(r) == 'plugin "nope" not found'
    r = api(
        "POST",
        "/networks/create",
        {"Name": "n1", "Driver": "null", "IPAM": {"Driver": "nope", "Config": [{"Subnet": "10.6.0.0/24"}]}},
    )
    assert r.status == 404 and message(r) == 'plugin "nope" not found'


@pytest.mark.parametrize(
    "config, status, text",
    [
        ({"Subnet": "notacidr"}, 500, "Invalid subnet notacidr : invalid CIDR address: notacidr"),
        ({"Subnet": "10.6.0.0"}, 500, "Invalid subnet 10.6.0.0 : invalid CIDR address: 10.6.0.0"),
        ({"Subnet": "", "Gateway": "10.6.0.1"}, 500, "Invalid subnet  : invalid CIDR address: "),
        ({"Subnet": "10.6.0.0/24", "Gateway": "10.x"}, 500, "invalid gateway address 10.x in Ipam configuration"),
        (
            {"Subnet": "10.6.0.0/24", "Gateway": "10.9.0.1"},
            500,
            "failed to allocate gateway (10.9.0.1): Requested address is out of range",
        ),
        (
            {"Subnet": "10.6.0.0/24", "AuxiliaryAddresses": {"h1": "1.2.3.4"}},
            403,
            "auxiliary address: (h1:1.2.3.4) must belong to the master pool: 10.6.0.0/24",
        ),
        (
            {"Subnet": "10.6.0.0/24", "AuxiliaryAddresses": {"h1": "x"}},
            500,
            "non parsable secondary ip address (h1:x) passed for network n1",
        ),
    ],
)
def test_create_checks_ipam_configs_with_dockerds_statuses_and_words(api, config, status, text):
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", "IPAM": {"Config": [config]}})
    assert r.status == status and message(r) == text
    assert api.ok("GET", "/networks") == []


def test_an_overlapping_subnet_is_403_pool_overlaps(api):
    api.create("n1", IPAM={"Config": [{"Subnet": "10.7.0.0/24"}]})
    for configs in ([{"Subnet": "10.7.0.0/25"}], [{"Subnet": "10.8.0.0/24"}, {"Subnet": "10.8.0.0/25"}]):
        r = api("POST", "/networks/create", {"Name": "n2", "Driver": "null", "IPAM": {"Config": configs}})
        assert r.status == 403 and message(r) == "Pool overlaps with other one on this address space"


def test_pycnm_s_own_checks_keep_pycnm_s_words(api):
    # an option the driver does not know: dockerd ignores it, pycnm refuses it (a typo shows)
    r = api("POST", "/networks/create", {"Name": "n1", "Driver": "null", "Options": {"foo": "1"}})
    assert r.status == 400 and "unknown option foo for driver null" in message(r)
    r = api("POST", "/networks/create", {"Name": "bad name", "Driver": "null"})
    assert r.status == 400 and "invalid network name" in message(r)


# ---- GET /networks ------------------------------------------------------------------------------


def test_list_has_dockerds_keys_in_order_types_and_zero_values(api):
    api.create("n1")
    [doc] = api.ok("GET", "/networks")
    assert list(doc) == NETWORK_KEYS
    assert RFC3339NANO_Z.fullmatch(doc["Created"]), doc["Created"]
    assert doc["Scope"] == "local" and doc["Driver"] == "null"
    assert doc["IPAM"] == {"Driver": "null", "Options": {}, "Config": []}
    assert doc["ConfigFrom"] == {"Network": ""} and doc["Containers"] == {}
    assert doc["Options"] == {} and doc["Labels"] == {}
    for key in ("EnableIPv6", "Internal", "Attachable", "Ingress", "ConfigOnly"):
        assert doc[key] is False


def test_list_leaves_containers_empty_and_inspect_fills_them(api, hostnet):
    [listed] = api.ok("GET", "/networks")
    assert listed["Containers"] == {}
    inspected = api.ok("GET", "/networks/hostnet")
    [(key, ep)] = inspected["Containers"].items()
    assert key == api.ok("GET", "/pycnm/v1/sandboxes/s1")["Id"]
    assert list(ep) == ["Name", "EndpointID", "MacAddress", "IPv4Address", "IPv6Address"]
    assert ep["Name"] == "s1" and all(isinstance(v, str) for v in ep.values())


def test_list_before_api_1_28_carries_containers(api, hostnet):
    [listed] = api.ok("GET", "/v1.27/networks")
    assert len(listed["Containers"]) == 1


def test_a_list_of_many_networks_gives_each_its_own_containers(api, hostnet):
    # the listing reads every endpoint once and sorts them to their networks
    api.create("empty")
    api.sandbox("s2")
    api.ok("POST", "/networks/hostnet/connect", {"Container": "s2"})
    listed = {net["Name"]: net for net in api.ok("GET", "/v1.27/networks")}
    assert sorted(ep["Name"] for ep in listed["hostnet"]["Containers"].values()) == ["s1", "s2"]
    assert listed["empty"]["Containers"] == {}
    inspected = api.ok("GET", "/networks/hostnet")
    assert listed["hostnet"]["Containers"] == inspected["Containers"]


def names(api: Api, filters: Any) -> list[str]:
    text = filters if isinstance(filters, str) else json.dumps(filters)
    return sorted(n["Name"] for n in api.ok("GET", "/networks", query={"filters": text}))


@pytest.fixture
def three(api):
    api.create("n1", Labels={"a": "b", "c": ""})
    api.create("n10", Labels={"a": "x"})
    api.create("xn1y")
    return api


def test_the_name_filter_is_an_unanchored_regexp_in_both_encodings(three):
    assert names(three, {"name": {"n1": True}}) == ["n1", "n10", "xn1y"]
    assert names(three, {"name": ["n1"]}) == ["n1", "n10", "xn1y"]
    assert names(three, {"name": ["^n1$"]}) == ["n1"]
    assert names(three, {"name": ["n10", "xn"]}) == ["n10", "xn1y"]  # values are ORed
    assert names(three, {"name": ["(a+)+$"]}) == []  # a pattern that could backtrack for ever is skipped
    assert names(three, {"name": ["["]}) == []  # an invalid pattern matches by equality only


def test_the_id_filter_is_a_substring_not_a_prefix(three):
    net = three.ok("GET", "/networks/n10")
    assert names(three, {"id": [net["Id"][5:20]]}) == ["n10"]


def test_the_label_filter_ands_its_values(three):
    assert names(three, {"label": ["a"]}) == ["n1", "n10"]
    assert names(three, {"label": ["a=b"]}) == ["n1"]
    assert names(three, {"label": ["a", "c"]}) == ["n1"]
    assert names(three, {"label": ["a=x", "c"]}) == []


def test_driver_scope_and_type_filters(three):
    three.create("h", "host")
    assert names(three, {"driver": ["host"]}) == ["h"]
    assert names(three, {"driver": ["null", "host"]}) == ["h", "n1", "n10", "xn1y"]
    assert names(three, {"scope": ["local"]}) == ["h", "n1", "n10", "xn1y"]
    assert names(three, {"scope": ["global"]}) == []
    assert names(three, {"type": ["custom"]}) == ["h", "n1", "n10", "xn1y"]
    assert names(three, {"type": ["builtin"]}) == []
    assert names(three, {"name": ["n1"], "driver": ["null"], "label": ["a"]}) == ["n1", "n10"]  # keys ANDed


def test_the_dangling_filter_keeps_networks_without_endpoints(api, hostnet):
    api.create("empty")
    assert names(api, {"dangling": ["true"]}) == ["empty"]
    assert names(api, {"dangling": ["1"]}) == ["empty"]
    assert names(api, {"dangling": ["false"]}) == ["hostnet"]


@pytest.mark.parametrize(
    "filters, status, text",
    [
        ({"foo": ["x"]}, 400, "Invalid filter 'foo'"),
        ({"label!": ["x"]}, 400, "Invalid filter 'label!'"),
        ({"type": ["foo"]}, 500, "invalid filter: 'type'='foo'"),
        ({"dangling": ["true", "false"]}, 400, 'got more than one value for filter key "dangling"'),
        (
            {"dangling": ["yes"]},
            400,
            'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")',
        ),
        ("x", 500, "invalid character 'x' looking for beginning of value"),
        ('{"name":', 500, "unexpected end of JSON input"),
        ('{"name": "x"}', 500, "json: cannot unmarshal string into Go value of type map[string]bool"),
    ],
)
def test_list_filter_errors_are_dockerds(api, filters, status, text):
    api.create("n1")
    r = api("GET", "/networks", query={"filters": filters if isinstance(filters, str) else json.dumps(filters)})
    assert r.status == status and message(r) == text


def test_empty_filters_filter_nothing(three):
    assert len(names(three, {})) == 3 and len(names(three, "")) == 3
    assert len(names(three, {"name": None})) == 3


# ---- GET /networks/{id} -------------------------------------------------------------------------


def test_inspect_finds_by_name_full_id_and_unique_prefix(api):
    net_id = api.create("n1")
    for ref in ("n1", net_id, net_id[:12], net_id[:1]):
        doc = api.ok("GET", f"/networks/{ref}")
        assert doc["Id"] == net_id and list(doc) == NETWORK_KEYS


def ambiguous_prefix(api: Api) -> tuple[str, int]:
    """Make networks until two share a first ID character; returns it and how many have it."""
    seen: dict[str, int] = {}
    i = 0
    while True:
        net_id = api.create(f"a{i}")
        i += 1
        seen[net_id[0]] = seen.get(net_id[0], 0) + 1
        if seen[net_id[0]] == 2:
            return net_id[0], 2


def test_an_ambiguous_prefix_is_400_in_each_route_s_wording(api):
    ref, count = ambiguous_prefix(api)
    r = api("GET", f"/networks/{ref}")
    assert r.status == 400 and message(r) == f"{count} matches found based on ID prefix: network {ref} is ambiguous"
    r = api("DELETE", f"/networks/{ref}")
    assert r.status == 400 and message(r) == f"network {ref} is ambiguous ({count} matches found based on ID prefix)"
    api.sandbox("s1")
    r = api("POST", f"/networks/{ref}/connect", {"Container": "s1"})
    assert r.status == 400 and message(r) == f"network {ref} is ambiguous ({count} matches found based on ID prefix)"


def test_a_name_wins_over_an_id_prefix(api):
    ref, _ = ambiguous_prefix(api)
    api.create(ref)  # a network named like the ambiguous prefix
    assert api.ok("GET", f"/networks/{ref}")["Name"] == ref


def test_inspect_of_a_missing_network_is_404_network_not_found(api):
    r = api("GET", "/networks/nope")
    assert r.status == 404 and message(r) == "network nope not found"
    r = api("GET", "/networks/create")  # GET of the create path is a network named "create"
    assert r.status == 404 and message(r) == "network create not found"


def test_inspect_takes_verbose_as_go_parses_a_bool_and_scope_as_a_filter(api):
    api.create("n1")
    for value in ("true", "True", "1", "false", "0", "T"):
        api.ok("GET", "/networks/n1", query={"verbose": value})
    r = api("GET", "/networks/n1", query={"verbose": "x"})
    assert r.status == 400
    assert message(r) == 'invalid value for verbose: x: strconv.ParseBool: parsing "x": invalid syntax'
    api.ok("GET", "/networks/n1", query={"scope": "local"})
    r = api("GET", "/networks/n1", query={"scope": "swarm"})
    assert r.status == 404 and message(r) == "network n1 not found"


def test_created_is_rfc3339_with_a_zone_and_gos_fraction_trimming():
    assert gotime.rfc3339nano("2024-05-01T10:11:12.123450+00:00") == "2024-05-01T10:11:12.12345Z"
    assert gotime.rfc3339nano("2024-05-01T10:11:12+00:00") == "2024-05-01T10:11:12Z"
    assert gotime.rfc3339nano("2024-05-01T11:11:12.5+01:00") == "2024-05-01T10:11:12.5Z"
    assert gotime.rfc3339nano("2024-05-01T10:11:12.000100") == "2024-05-01T10:11:12.0001Z"  # naive: UTC
    assert gotime.rfc3339nano("garbage") == "0001-01-01T00:00:00Z"


# ---- DELETE /networks/{id} ----------------------------------------------------------------------


def test_delete_answers_204_and_the_network_is_gone(api):
    api.create("n1")
    r = api("DELETE", "/v1.41/networks/n1")
    assert (r.status, r.body, r.header("Content-Type")) == (204, b"", None)
    assert api("GET", "/networks/n1").status == 404


def test_delete_of_a_missing_network_is_404(api):
    r = api("DELETE", "/networks/nope")
    assert r.status == 404 and message(r) == "network nope not found"


def test_delete_of_a_network_with_endpoints_is_403_in_dockerds_words(api, engine):
    net_id = api.create("n1")
    engine.controller.network("n1").create_endpoint("e1")
    r = api("DELETE", "/networks/n1")
    assert r.status == 403
    assert message(r) == f"error while removing network: network n1 id {net_id} has active endpoints"


# ---- POST /networks/prune -----------------------------------------------------------------------


def test_prune_deletes_unused_networks_and_answers_their_names(api, hostnet):
    api.create("a")
    api.create("b")
    doc = api.ok("POST", "/networks/prune")
    assert sorted(doc["NetworksDeleted"]) == ["a", "b"]
    assert [n["Name"] for n in api.ok("GET", "/networks")] == ["hostnet"]  # in use: kept


def test_prune_with_nothing_to_delete_answers_null(api):
    assert api.ok("POST", "/networks/prune") == {"NetworksDeleted": None}


def test_prune_filters_label_and_label_not(api):
    api.create("a", Labels={"x": "1"})
    api.create("b", Labels={"x": "2", "y": ""})
    api.create("c")
    assert api.ok("POST", "/networks/prune", query={"filters": json.dumps({"label!": ["x=2"], "label": ["x"]})}) == {
        "NetworksDeleted": ["a"]
    }
    assert api.ok("POST", "/networks/prune", query={"filters": json.dumps({"label": {"y": True}})}) == {
        "NetworksDeleted": ["b"]
    }


def test_prune_until_keeps_networks_made_after_it(api):
    api.create("a")
    for until in ("1h", "2000-01-01", "2000-01-01T00:00:00Z", "946684800"):
        assert api.ok("POST", "/networks/prune", query={"filters": json.dumps({"until": [until]})}) == {
            "NetworksDeleted": None
        }, until
    later = str(int(time.time()) + 3600)
    assert api.ok("POST", "/networks/prune", query={"filters": json.dumps({"until": [later]})}) == {
        "NetworksDeleted": ["a"]
    }


@pytest.mark.parametrize(
    "filters, status, text",
    [
        ({"name": ["x"]}, 400, "Invalid filter 'name'"),
        ({"until": ["1h", "2h"]}, 500, "more than one until filter specified"),
        ({"until": ["soon"]}, 500, 'failed to parse value as time or duration: "soon"'),
    ],
)
def test_prune_filter_errors_are_dockerds(api, filters, status, text):
    r = api("POST", "/networks/prune", query={"filters": json.dumps(filters)})
    assert r.status == status and message(r) == text


def test_a_second_prune_while_one_runs_is_409(api, engine):
    assert engine._prune_lock.acquire()
    try:
        r = api("POST", "/networks/prune")
        assert r.status == 409 and message(r) == "a prune operation is already running"
    finally:
        engine._prune_lock.release()


# ---- connect, disconnect ------------------------------------------------------------------------


def test_connect_answers_200_with_an_empty_body_and_inspect_shows_the_container(api):
    api.create("hostnet", "host")
    sid = api.sandbox("s1")
    r = api("POST", "/v1.41/networks/hostnet/connect", {"Container": "s1", "EndpointConfig": {}})
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"", None)
    assert list(api.ok("GET", "/networks/hostnet")["Containers"]) == [sid]


@pytest.mark.parametrize("ref", ["s1", "/s1", "ID", "ID12"])
def test_connect_finds_the_container_by_name_id_and_prefix(api, ref):
    api.create("hostnet", "host")
    sid = api.sandbox("s1")
    ref = {"ID": sid, "ID12": sid[:12]}.get(ref, ref)
    api.ok("POST", "/networks/hostnet/connect", {"Container": ref})


@pytest.mark.parametrize(
    "body, status, text",
    [
        ({"Container": ""}, 400, 'invalid name or ID supplied: ""'),
        ({"Container": "cnope"}, 404, "No such container: cnope"),
        ({"Container": "s1", "EndpointConfig": {"Links": ["other:alias1"]}}, 400, "links (--link)"),
        (
            {"Container": "s1", "EndpointConfig": {"IPAMConfig": {"LinkLocalIPs": ["169.254.1.1"]}}},
            400,
            "link-local addresses",
        ),
        (
            {"Container": 5},
            400,
            "json: cannot unmarshal number into Go struct field NetworkConnect.Container of type string",
        ),
        (
            {"Container": "s1", "EndpointConfig": {"Aliases": "web"}},
            400,
            (
                "json: cannot unmarshal string into Go struct field EndpointSettings.EndpointConfig.Aliases"
                " of type []string"
            ),
        ),
    ],
)
def test_connect_errors(api, body, status, text):
    api.create("hostnet", "host")
    api.sandbox("s1")
    r = api("POST", "/networks/hostnet/connect", body)
    assert r.status == status and text in message(r), message(r)
    assert api.ok("GET", "/networks/hostnet")["Containers"] == {}


def test_connect_to_a_missing_network_is_404(api):
    api.sandbox("s1")
    r = api("POST", "/networks/nope/connect", {"Container": "s1"})
    assert r.status == 404 and message(r) == "network nope not found"


def test_connecting_twice_is_403_endpoint_exists(api, hostnet):
    r = api("POST", "/networks/hostnet/connect", {"Container": "s1"})
    assert r.status == 403 and message(r) == "endpoint with name s1 already exists in network hostnet"


def test_a_host_mode_sandbox_joins_nothing_but_the_host_network_in_dockerds_words(api):
    api.create("hostnet", "host")
    api.create("nn", "null")
    api.sandbox("s1")
    api.ok("POST", "/networks/hostnet/connect", {"Container": "s1"})
    r = api("POST", "/networks/nn/connect", {"Container": "s1"})  # a host-mode sandbox joins nothing else
    assert r.status == 400
    assert message(r) == "container cannot be disconnected from host network or connected to host network"


def test_disconnect_answers_200_and_the_container_is_gone_from_the_network(api, hostnet):
    r = api("POST", "/networks/hostnet/disconnect", {"Container": "s1", "Force": False})
    assert (r.status, r.body) == (200, b"")
    assert api.ok("GET", "/networks/hostnet")["Containers"] == {}


def test_disconnect_of_a_container_not_connected_is_500_in_dockerds_words_even_with_force(api, hostnet):
    sid = api.ok("GET", "/pycnm/v1/sandboxes/s1")["Id"]
    api.ok("POST", "/networks/hostnet/disconnect", {"Container": "s1"})
    for force in (False, True):
        r = api("POST", "/networks/hostnet/disconnect", {"Container": "s1", "Force": force})
        assert r.status == 500 and message(r) == f"container {sid} is not connected to network hostnet"


def test_disconnect_of_an_unknown_container_is_404_unless_forced_on_an_endpoint_of_that_name(api, engine):
    api.create("n1")
    r = api("POST", "/networks/n1/disconnect", {"Container": "ghost"})
    assert r.status == 404 and message(r) == "No such container: ghost"
    r = api("POST", "/networks/n1/disconnect", {"Container": "ghost", "Force": True})
    assert r.status == 404 and message(r) == "endpoint ghost not found"
    engine.controller.network("n1").create_endpoint("ghost")  # what a crashed container left
    api.ok("POST", "/networks/n1/disconnect", {"Container": "ghost", "Force": True})
    assert engine.controller.network("n1").endpoints() == []


# ---- containers ---------------------------------------------------------------------------------


def test_container_inspect_shows_a_sandbox_as_docker_py_reads_it(api, hostnet):
    sid = api.ok("GET", "/pycnm/v1/sandboxes/s1")["Id"]
    net_id = api.ok("GET", "/networks/hostnet")["Id"]
    for ref in (sid, sid[:12], "s1", "/s1"):
        doc = api.ok("GET", f"/containers/{ref}/json")
        assert doc["Id"] == sid and doc["Name"] == "/s1"
    assert RFC3339NANO_Z.fullmatch(doc["Created"])
    assert doc["State"]["Status"] == "running" and doc["State"]["Pid"] == 0
    assert doc["HostConfig"] == {"NetworkMode": "host"}
    settings = doc["NetworkSettings"]
    assert settings["SandboxID"] == sid and settings["Ports"] == {}
    ep = settings["Networks"]["hostnet"]
    assert list(ep) == [
        "IPAMConfig",
        "Links",
        "Aliases",
        "NetworkID",
        "EndpointID",
        "Gateway",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "MacAddress",
        "DriverOpts",
    ]
    assert ep["NetworkID"] == net_id and re.fullmatch(r"[0-9a-f]{64}", ep["EndpointID"])
    assert ep["IPAddress"] == "" and ep["IPPrefixLen"] == 0


def test_container_list_shows_every_sandbox_and_filters(api, hostnet):
    api.sandbox("s2")
    listed = api.ok("GET", "/containers/json", query={"all": "1"})
    assert sorted(c["Names"] for c in listed) == [["/s1"], ["/s2"]]
    assert all(c["State"] == "running" and c["Status"].startswith("Up ") for c in listed)
    assert [
        c["Names"] for c in api.ok("GET", "/containers/json", query={"filters": json.dumps({"network": ["hostnet"]})})
    ] == [["/s1"]]
    assert [c["Names"] for c in api.ok("GET", "/containers/json", query={"filters": json.dumps({"name": ["s2"]})})] == [
        ["/s2"]
    ]
    r = api("GET", "/containers/json", query={"filters": json.dumps({"ancestor": ["x"]})})
    assert r.status == 400 and message(r) == "Invalid filter 'ancestor'"


def test_container_inspect_of_a_missing_one_is_404_no_such_container(api):
    r = api("GET", "/containers/nope/json")
    assert r.status == 404 and message(r) == "No such container: nope"


# ---- events -------------------------------------------------------------------------------------


def past(api: Api, **query: str) -> list[dict]:
    """Events of the buffer up to now (``until`` now: the stream ends after them)."""
    query.setdefault("until", f"{time.time_ns() // 1_000_000_000 + 1}")
    query.setdefault("since", "0")
    r = api("GET", "/events", query=query)
    assert r.status == 200 and r.header("Content-Type") == "application/json" and r.stream is not None
    return list(r.stream)


def test_events_have_dockers_shape_for_create_connect_disconnect_destroy(api):
    net_id = api.create("hostnet", "host")
    sid = api.sandbox("s1")
    api.ok("POST", "/networks/hostnet/connect", {"Container": "s1"})
    api.ok("POST", "/networks/hostnet/disconnect", {"Container": "s1"})
    api("DELETE", "/networks/hostnet")
    events = past(api, filters=json.dumps({"type": ["network"]}))
    assert [e["Action"] for e in events] == ["create", "connect", "disconnect", "destroy"]
    for e in events:
        assert list(e) == ["Type", "Action", "Actor", "scope", "time", "timeNano"]
        assert e["Type"] == "network" and e["scope"] == "local" and e["Actor"]["ID"] == net_id
        assert e["time"] == e["timeNano"] // 1_000_000_000
    assert events[0]["Actor"]["Attributes"] == {"name": "hostnet", "type": "host"}
    assert events[1]["Actor"]["Attributes"] == {"container": sid, "name": "hostnet", "type": "host"}
    assert events[3]["Actor"]["Attributes"] == {"name": "hostnet", "type": "host"}


def test_sandboxes_show_as_container_create_and_destroy_events(api):
    sid = api.sandbox("s1")
    api.ok("DELETE", "/pycnm/v1/sandboxes/s1", status=204)
    events = past(api, filters=json.dumps({"type": ["container"]}))
    assert [(e["Action"], e["id"], e["Actor"]["Attributes"]) for e in events] == [
        ("create", sid, {"name": "s1"}),
        ("destroy", sid, {"name": "s1"}),
    ]


def test_event_filters_type_event_network_and_container(api):
    a = api.create("alpha", "host")
    api.create("beta")
    sid = api.sandbox("s1")
    api.ok("POST", "/networks/alpha/connect", {"Container": "s1"})
    assert [e["Action"] for e in past(api, filters=json.dumps({"event": ["create"], "type": ["network"]}))] == [
        "create",
        "create",
    ]
    assert {e["Actor"]["ID"] for e in past(api, filters=json.dumps({"network": ["alp"]}))} == {a}
    assert {e["Actor"]["ID"] for e in past(api, filters=json.dumps({"network": [a[:6]]}))} == {a}
    connects = past(api, filters=json.dumps({"container": [sid[:8]], "type": ["network"]}))
    assert [e["Action"] for e in connects] == ["connect"]
    assert past(api, filters=json.dumps({"type": {"volume": True}})) == []


def test_events_since_and_until_select_from_the_buffer(api):
    api.create("a")
    middle = time.time_ns()
    api.create("b")
    seconds, nanos = divmod(middle, 1_000_000_000)
    after = past(api, since=f"{seconds}.{nanos:09d}", filters=json.dumps({"type": ["network"]}))
    assert [e["Actor"]["Attributes"]["name"] for e in after] == ["b"]
    before = past(api, since="0", until=f"{seconds}.{nanos:09d}")
    assert [e["Actor"]["Attributes"]["name"] for e in before] == ["a"]


def test_events_without_since_or_until_send_only_new_events(api, engine):
    api.create("old")
    r = api("GET", "/events")
    sub = r.stream
    assert sub.take() == []
    api.create("new")
    assert [e["Actor"]["Attributes"]["name"] for e in sub.wait(5)] == ["new"]
    sub.close()
    assert engine.events.listeners == 0


def test_events_since_after_until_is_400_with_dockerds_backticks(api):
    r = api("GET", "/events", query={"since": "20", "until": "10"})
    assert r.status == 400 and message(r) == "`since` time (20) cannot be after `until` time (10)"
    r = api("GET", "/events", query={"since": "soon"})
    assert r.status == 400 and message(r) == 'strconv.ParseInt: parsing "soon": invalid syntax'


def test_prune_logs_destroy_then_prune(api):
    api.create("a")
    api.ok("POST", "/networks/prune")
    events = past(api, filters=json.dumps({"type": ["network"]}))
    assert [e["Action"] for e in events] == ["create", "destroy", "prune"]
    assert events[-1]["Actor"] == {"ID": "", "Attributes": {"reclaimed": "0"}}


def test_the_bus_keeps_the_last_256_events():
    bus = EventBus()
    for i in range(BUFFER + 44):
        bus.publish("network", "create", f"{i}", {"name": f"n{i}"})
    sub = bus.subscribe(since_ns=0)
    kept = sub.take()
    assert len(kept) == BUFFER and kept[0]["Actor"]["ID"] == "44"
    sub.close()


def test_a_subscriber_gets_events_from_other_threads_and_ends_when_the_bus_closes():
    bus = EventBus()
    sub = bus.subscribe(Filters({"type": ["network"]}))
    got: list[dict] = []
    reader = threading.Thread(target=lambda: got.extend(sub))
    reader.start()
    bus.publish("container", "create", "c", {"name": "c"})
    bus.publish("network", "create", "n", {"name": "n"})
    time.sleep(0.2)
    bus.close()
    reader.join(5)
    assert not reader.is_alive() and [e["Actor"]["ID"] for e in got] == ["n"]


# ---- pycnm's own routes -------------------------------------------------------------------------


def test_status_counts_objects_and_requests(api):
    api.create("hostnet", "host")
    api.sandbox("s1")
    api.ok("POST", "/networks/hostnet/connect", {"Container": "s1"})
    api("GET", "/networks/nope")
    doc = api.ok("GET", "/pycnm/v1/status")
    assert doc["Counts"] == {"Networks": 1, "Sandboxes": 1, "Endpoints": 1}
    assert doc["ApiVersion"] == API_VERSION and doc["Version"] == PYCNM_VERSION
    assert doc["Requests"]["ByStatus"]["404"] == 1 and doc["Requests"]["InFlight"] == 1
    assert doc["Requests"]["ByOperation"]["network.connect"] == 1
    assert RFC3339NANO_Z.fullmatch(doc["Started"])


def test_status_takes_sections_from_other_services(api, engine):
    engine.status_sections["DNS"] = lambda: {"Queries": 3}
    engine.status_sections["Broken"] = lambda: 1 / 0
    doc = api.ok("GET", "/pycnm/v1/status")
    assert doc["DNS"] == {"Queries": 3} and doc["Broken"]["Error"].startswith("ZeroDivisionError")


def test_drivers_lists_what_driver_ls_lists(api):
    rows = api.ok("GET", "/pycnm/v1/drivers")
    null = next(r for r in rows if r["Name"] == "null" and r["Kind"] == "network")
    assert null["Scope"] == "local" and null["Distribution"] == "pycnm-null"
    assert {"Name", "Kind", "Distribution", "Version", "Scope"} == set(null)
    assert all(r["Scope"] == "" for r in api.ok("GET", "/pycnm/v1/drivers", query={"scope": "false"}))


def test_sandbox_routes_create_inspect_list_and_delete(api, engine):
    r = api(
        "POST",
        "/pycnm/v1/sandboxes/create",
        {
            "Name": "s1",
            "Hostname": "web",
            "Domainname": "example.org",
            "Dns": ["192.0.2.53"],
            "DnsSearch": ["example.org"],
            "DnsOptions": ["ndots:2"],
            "ExtraHosts": ["db:192.0.2.7"],
            "HostNamespace": True,
        },
    )
    assert r.status == 201 and list(r.json()) == ["Id"]
    sid = r.json()["Id"]
    doc = api.ok("GET", "/pycnm/v1/sandboxes/s1")
    assert doc == engine.controller.sandbox("s1").inspect()  # what `pycnm sandbox inspect` prints
    assert doc["Id"] == sid and doc["Hostname"] == "web" and doc["HostNamespace"] is True
    with open(doc["HostsPath"]) as fh:
        assert "192.0.2.7\tdb" in fh.read()
    assert [s["Id"] for s in api.ok("GET", "/pycnm/v1/sandboxes")] == [sid]
    r = api("POST", "/pycnm/v1/sandboxes/create", {"Name": "s1", "HostNamespace": True})
    assert r.status == 409 and "already exists" in message(r)
    r = api("POST", "/pycnm/v1/sandboxes/create", {"Name": "s2", "ExtraHosts": ["nocolon"]})
    assert r.status == 400 and "HOST:IP" in message(r)
    assert api("DELETE", f"/pycnm/v1/sandboxes/{sid[:10]}").status == 204
    r = api("GET", "/pycnm/v1/sandboxes/s1")
    assert r.status == 404 and message(r) == "sandbox s1 not found"


def test_batched_sandbox_delete_is_one_call_and_force_skips_missing_names(api, engine, monkeypatch):
    a, b = api.sandbox("a"), api.sandbox("b")
    calls = []
    real = engine.controller.delete_sandboxes
    monkeypatch.setattr(engine.controller, "delete_sandboxes", lambda sbs: (calls.append(len(sbs)), real(sbs)))
    r = api("POST", "/pycnm/v1/sandboxes/delete", {"Names": ["a", "nope"]})
    assert r.status == 404 and calls == []  # nothing deleted when a name is wrong
    doc = api.ok("POST", "/pycnm/v1/sandboxes/delete", {"Names": ["a", "nope", b], "Force": True})
    assert doc == {"Deleted": ["a", b], "NotFound": ["nope"]} and calls == [2]
    assert api.ok("GET", "/pycnm/v1/sandboxes") == []
    del a


# ---- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, stream, expected",
    [
        ("{", True, "unexpected EOF"),
        ("{", False, "unexpected end of JSON input"),
        ('{"a":1}x', False, "invalid character 'x' after top-level value"),
        ("[1 2]", False, "invalid character '2' after array element"),
        ("tru", False, "unexpected end of JSON input"),
        ("trux", False, "invalid character 'x' in literal true (expecting 'e')"),
        ('"a\\q"', False, "invalid character 'q' in string escape code"),
        ('"a\nb"', False, "invalid character '\\n' in string literal"),
        ("-x", False, "invalid character 'x' in numeric literal"),
        ("NaN", False, "invalid character 'N' looking for beginning of value"),
        ("'", False, "invalid character '\\'' looking for beginning of value"),
    ],
)
def test_syntax_errors_are_in_gos_words(text, stream, expected):
    with pytest.raises(gojson.GoJSONError) as err:
        gojson.parse(text, stream=stream)
    assert str(err.value) == expected


def test_lone_surrogates_become_the_replacement_character_as_in_go():
    out = gojson.decode(gojson.Struct("x.T", {"Name": gojson.String}), b'{"Name": "a\\ud800b"}')
    assert out == {"Name": "a\ufffdb"}


def test_a_deeply_nested_body_is_refused_not_a_crash(api):
    r = api("POST", "/networks/create", raw=b"[" * 100_000)
    assert r.status == 400 and message(r) in ("unexpected EOF", "exceeded max depth")


def test_go_durations_and_times_for_until():
    assert gotime.parse_duration("1h30m") == 5400 and gotime.parse_duration(".5s") == 0.5
    assert gotime.parse_duration("1") is None and gotime.parse_duration("") is None
    assert gotime.timestamp("2024-01-01T10:11:12.5Z", 0) == 1704103872.5
    assert gotime.timestamp("1700000000.25", 0) == 1700000000.25
    assert gotime.timestamp("10m", 1000.0) == 400.0


# ---- the daemon's pieces ------------------------------------------------------------------------


def test_the_socket_is_the_default_one_for_the_default_state_dir_else_in_the_state_dir(monkeypatch):
    from pycnm.api import socket_path

    monkeypatch.delenv("PYCNM_HOST", raising=False)
    monkeypatch.delenv("PYCNM_STATE_DIR", raising=False)
    assert socket_path() == "/run/pycnm/pycnm.sock"
    assert socket_path(state_dir="/var/lib/pycnm") == "/run/pycnm/pycnm.sock"
    assert socket_path(state_dir="/tmp/lab/h1") == "/tmp/lab/h1/pycnm.sock"
    assert socket_path("unix:///tmp/x.sock", "/tmp/lab/h1") == "/tmp/x.sock"
    monkeypatch.setenv("PYCNM_HOST", "unix:///tmp/env.sock")
    assert socket_path(state_dir="/tmp/lab/h1") == "/tmp/env.sock"
    with pytest.raises(ValueError, match="unix sockets only"):
        socket_path("tcp://127.0.0.1:2375")


class _FakeClusterStore:
    """What the peer sync uses of the cluster store: a lease and a watch fed by the test."""

    def __init__(self) -> None:
        import queue

        self.events: queue.Queue = queue.Queue()
        self.leased: list[tuple[str, bytes, int]] = []

    def put_leased(self, key: str, value: bytes, ttl: int) -> int:
        self.leased.append((key, value, ttl))
        return 1

    def keep_alive(self, lease: int) -> bool:
        return True

    def watch(self, prefix: str, start_revision: int):
        def events():
            while (event := self.events.get()) is not None:
                yield event

        return events(), lambda: self.events.put(None)


class _FakePeerController:
    instance_id, advertise_addr, peer_revision = "abc123", "192.0.2.1", 7

    def __init__(self) -> None:
        self.cluster_store = _FakeClusterStore()
        self.synced, self.applied = 0, []

    def sync_peers(self) -> int:
        self.synced += 1
        return 2

    def apply_event(self, event: dict) -> int:
        self.applied.append(event)
        return 1


def test_the_peer_sync_leases_reads_then_follows_the_watch_and_stops_promptly(capsys):
    from pycnm.daemon.peers import PeerSync

    ctl = _FakePeerController()
    sync = PeerSync(ctl, lease_ttl=3)
    sync.start()
    assert ctl.cluster_store.leased == [("hosts/abc123", b"192.0.2.1", 3)]
    ctl.cluster_store.events.put({"type": "PUT", "key": "endpoints/n/e", "revision": 8})
    deadline = time.monotonic() + 5
    while not ctl.applied and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ctl.synced == 1 and [e["key"] for e in ctl.applied] == ["endpoints/n/e"]
    started = time.monotonic()
    sync.stop()
    assert time.monotonic() - started < 2 and not any(t.is_alive() for t in sync._threads)
    assert sync.status() == {
        "Host": "abc123",
        "AdvertiseAddr": "192.0.2.1",
        "Revision": 7,
        "Changes": 3,
        "LastError": "",
    }
    assert "watching the cluster store" in capsys.readouterr().out


def test_a_service_adds_its_routes_and_its_failures_are_answered_like_any(api, engine):
    from pycnm.errors import Unavailable

    def cni(req):
        if req.body == b"down":
            raise Unavailable("the CNI service is not ready")
        return Response(200, [("Content-Type", "application/json")], b'{"ok":true}\n')

    engine.add_routes([("POST", "/pycnm/v1/cni", "pycnm.cni", cni)])
    assert api.ok("POST", "/v1.41/pycnm/v1/cni", {}) == {"ok": True}
    r = api("POST", "/pycnm/v1/cni", raw=b"down")
    assert r.status == 503 and message(r) == "the CNI service is not ready" and r.header("Api-Version") == "1.41"
    assert engine.by_operation["pycnm.cni"] == 2
