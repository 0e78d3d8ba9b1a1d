"""pycnm.cni.spec: CNI requests checked as the spec says, results written as each version says.

Sources: containernetworking/cni SPEC.md at spec-v0.3.1, spec-v0.4.0, spec-v1.0.0, spec-v1.1.0,
CONVENTIONS.md, and libcni's pkg/skel, pkg/types and pkg/version for what the Go plugins do.
The last section feeds the same invalid inputs to Debian's Go bridge plugin (when installed) and
checks it answers the same error codes.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycnm.cni import spec
from pycnm.cni.spec import (
    DNS,
    CNIError,
    Command,
    Interface,
    IPConfig,
    Result,
    Route,
    conflist,
    convert_result,
    parse_request,
    parse_result,
    render_result,
    request_from_wire,
)
from pycnm.errors import InvalidParameter

GO_BRIDGE = Path("/usr/lib/cni/bridge")


def env(command: str = "ADD", **overrides: str | None) -> dict[str, str]:
    base = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "c0ffee",
        "CNI_NETNS": "/run/netns/cni-1",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/usr/lib/cni",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def conf(version: str = "1.0.0", **extra: Any) -> str:
    return json.dumps({"cniVersion": version, "name": "podman", "type": "pycnm-cni", **extra})


def fails(code: int, environ: dict[str, str], stdin: str | bytes) -> CNIError:
    with pytest.raises(CNIError) as caught:
        parse_request(environ, stdin)
    assert caught.value.code == code, caught.value
    return caught.value


# ---- versions ------------------------------------------------------------------------------------


def test_pycnm_speaks_the_rich_result_versions_0_3_0_to_1_1_0():
    assert spec.SUPPORTED_VERSIONS == ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
    assert spec.version_result("1.0.0") == {"cniVersion": "1.0.0", "supportedVersions": list(spec.SUPPORTED_VERSIONS)}


def test_a_version_request_takes_the_configs_version_or_the_latest_and_any_stdin():
    assert parse_request({"CNI_COMMAND": "VERSION"}, '{"cniVersion": "0.4.0"}').cni_version == "0.4.0"
    assert parse_request({"CNI_COMMAND": "VERSION"}, "garbage").cni_version == "1.1.0"
    assert parse_request({"CNI_COMMAND": "VERSION"}, b"").cni_version == "1.1.0"


# ---- environment variables -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "add", "NOPE", "ADD "])
def test_a_missing_or_unknown_cni_command_is_code_4_naming_cni_command(value):
    err = fails(4, env(CNI_COMMAND=value), conf())
    assert "CNI_COMMAND" in err.msg


def test_each_command_requires_the_variables_spec_1_1_lists_for_it():
    # spec 1.1, section 2, "Required environment parameters" (CNI_COMMAND aside; GC's CNI_PATH
    # is not required by pycnm, which delegates to no plugin)
    assert dict(spec.REQUIRED_ENV) == {
        Command.ADD: ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
        Command.DEL: ("CNI_CONTAINERID", "CNI_IFNAME"),
        Command.CHECK: ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
        Command.GC: (),
        Command.STATUS: (),
        Command.VERSION: (),
    }


@pytest.mark.parametrize("command,variable", [(c.value, v) for c, vs in spec.REQUIRED_ENV.items() for v in vs])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_a_required_variable_unset_or_empty_is_code_4_naming_it(command, variable, how):
    err = fails(4, env(command, **{variable: None if how == "unset" else ""}), conf())
    assert err.msg == f"invalid environment variables: {variable} is missing"


def test_every_missing_variable_is_named_in_one_error():
    err = fails(4, {"CNI_COMMAND": "CHECK"}, conf())
    assert err.msg == "invalid environment variables: CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME missing"


def test_del_needs_no_netns_and_nothing_needs_cni_path():
    req = parse_request(env("DEL", CNI_NETNS=None, CNI_PATH=None), conf())
    assert req.netns is None and req.path == () and req.attachment == ("c0ffee", "eth0")


def test_gc_and_status_need_no_attachment_variables():
    for command in ("GC", "STATUS"):
        req = parse_request({"CNI_COMMAND": command}, conf("1.1.0"))
        assert req.command == command and req.attachment is None


def test_cni_path_is_split_on_colons():
    assert parse_request(env(CNI_PATH="/usr/lib/cni::/opt/cni/bin"), conf()).path == ("/usr/lib/cni", "/opt/cni/bin")


@pytest.mark.parametrize("netns", ["run/netns/x", "netns-1", "./x"])
def test_a_netns_that_is_not_an_absolute_path_is_code_4(netns):
    assert "CNI_NETNS" in fails(4, env(CNI_NETNS=netns), conf()).msg


# ---- container ID, interface name, network name --------------------------------------------------


@pytest.mark.parametrize(
    "cid",
    ["a", "0", "c0ffee", "A.b_c-d", "x" * 300, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
)
def test_a_container_id_of_letters_digits_and_underscore_dot_hyphen_is_accepted(cid):
    assert parse_request(env(CNI_CONTAINERID=cid), conf()).container_id == cid


@pytest.mark.parametrize(
    "cid", ["-a", "_a", ".a", "a/b", "a b", "a\tb", "caf\u00e9", "\u0661\u0662", "a\n", "a;b", "a:b"]
)
def test_a_container_id_that_does_not_start_alphanumeric_or_holds_other_characters_is_code_4(cid):
    err = fails(4, env(CNI_CONTAINERID=cid), conf())
    assert err.msg.startswith("invalid environment variables: CNI_CONTAINERID has invalid characters")


@pytest.mark.parametrize("ifname", ["eth0", "e", "a" * 15, "\u00e9" * 7, "net1.100", "veth-x_y"])
def test_an_ifname_of_at_most_15_bytes_without_slash_colon_or_space_is_accepted(ifname):
    assert parse_request(env(CNI_IFNAME=ifname), conf()).ifname == ifname


@pytest.mark.parametrize(
    "ifname", ["a" * 16, "\u00e9" * 8, ".", "..", "eth/0", "eth:0", "eth 0", "eth\t0", "eth\n", "eth\u00a00", "\u2003"]
)
def test_an_ifname_too_long_dot_dotdot_or_with_slash_colon_or_whitespace_is_code_4(ifname):
    assert fails(4, env(CNI_IFNAME=ifname), conf()).msg.startswith("invalid environment variables: CNI_IFNAME")


def test_ifname_length_is_counted_in_bytes_as_the_kernel_counts_it():
    with pytest.raises(CNIError, match="16 bytes"):
        spec.validate_ifname("\u00e9" * 8)


def test_a_missing_network_name_is_code_7_and_a_name_that_is_no_string_code_6():
    assert fails(7, env(), '{"cniVersion": "1.0.0"}').msg == "invalid network config: name: missing network name"
    fails(6, env(), '{"cniVersion": "1.0.0", "name": ["x"]}')


@pytest.mark.parametrize("name", ["-n", "a b", "n/1", "\u00e9"])
def test_a_network_name_the_spec_refuses_is_code_7(name):
    assert "name" in fails(7, env(), json.dumps({"cniVersion": "1.0.0", "name": name})).msg


# ---- stdin and cniVersion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stdin",
    [
        "",
        "{",
        "{'a': 1}",
        "[1]",
        '"x"',
        "null",
        '{"a": NaN}',
        '{"a": Infinity}',
        b"\xff\xfe{}",
        "\ufeff{}",
        "[" * 100_000,
        '{"a": 1} trailing',
    ],
)
def test_stdin_that_is_not_a_json_object_is_code_6(stdin):
    assert fails(6, env(), stdin).msg.startswith("failed to decode content")


@pytest.mark.parametrize("version", ["9.9.9", "0.2.0", "0.1.0", "1.0", "v1.0.0", "1.1.0-rc1"])
def test_a_version_pycnm_does_not_speak_is_code_1_listing_those_it_does(version):
    err = fails(1, env(), json.dumps({"cniVersion": version, "name": "n"}))
    assert err.msg == "incompatible CNI versions"
    assert err.details == f'config is "{version}", pycnm supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'


def test_a_config_naming_no_version_is_0_1_0_as_libcni_reads_it():
    assert '"0.1.0"' in fails(1, env(), '{"name": "n"}').details


def test_a_cni_version_that_is_not_a_string_is_code_6():
    fails(6, env(), '{"cniVersion": 1.0, "name": "n"}')


@pytest.mark.parametrize(
    "command,too_old,first", [("CHECK", "0.3.1", "0.4.0"), ("GC", "1.0.0", "1.1.0"), ("STATUS", "0.4.0", "1.1.0")]
)
def test_a_command_newer_than_the_configs_version_is_code_1(command, too_old, first):
    err = fails(1, env(command), conf(too_old))
    assert err.msg == f"config version does not allow {command}"
    assert parse_request(env(command), conf(first)).cni_version == first


@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_every_supported_version_is_accepted_for_add_and_del(version):
    for command in ("ADD", "DEL"):
        assert parse_request(env(command), conf(version)).cni_version == version


@pytest.mark.parametrize(
    "environ,stdin,code",
    [
        (env(CNI_NETNS=None), "{not json", 4),  # variables first
        (env(CNI_CONTAINERID="-x"), "{not json", 6),  # then stdin
        (env(CNI_CONTAINERID="-x"), '{"cniVersion": "9.9.9"}', 7),  # then the name
        (env(CNI_CONTAINERID="-x", CNI_IFNAME="a/b"), conf("9.9.9"), 4),  # then the ID
        (env(CNI_IFNAME="a/b"), conf("9.9.9"), 4),  # then the ifname
        (env(CNI_NETNS="relative"), conf("9.9.9"), 1),  # then the version
    ],
)
def test_checks_run_in_skels_order_so_several_faults_give_the_go_plugins_code(environ, stdin, code):
    fails(code, environ, stdin)


# ---- CNI_ARGS ------------------------------------------------------------------------------------


def test_cni_args_are_key_value_pairs_the_last_of_a_key_winning():
    req = parse_request(env(CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=web;A=x=y;A=2;;"), conf())
    assert req.args == {"IgnoreUnknown": "1", "K8S_POD_NAME": "web", "A": "2"}


@pytest.mark.parametrize("args", ["FOO", "A=1;B", "=x"])
def test_a_cni_args_item_that_is_not_key_value_is_code_4(args):
    assert "CNI_ARGS" in fails(4, env(CNI_ARGS=args), conf()).msg


def test_ip_in_cni_args_takes_addresses_with_or_without_a_prefix():
    req = parse_request(env(CNI_ARGS="IP=10.88.0.5,fd00::5/64"), conf())
    assert [str(ip) for ip in req.requested_ips] == ["10.88.0.5", "fd00::5/64"]
    assert req.requested_ips[0].prefixlen is None
    assert req.requested_ips[1].interface == ipaddress.ip_interface("fd00::5/64")


@pytest.mark.parametrize("ip", ["10.88.0", "10.88.0.5/33", "0.0.0.0", "224.0.0.1", "fe80::1%eth0", "10.0.0.1,"])
def test_a_bad_ip_in_cni_args_is_code_4(ip):
    assert "CNI_ARGS" in fails(4, env(CNI_ARGS=f"IP={ip}"), conf()).msg


def test_mac_in_cni_args_is_normalised_and_must_be_unicast():
    assert parse_request(env(CNI_ARGS="MAC=02-42-AC-11-00-02"), conf()).requested_mac == "02:42:ac:11:00:02"
    for bad in ("01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "02:42:ac:11:00"):
        assert "CNI_ARGS" in fails(4, env(CNI_ARGS=f"MAC={bad}"), conf()).msg


# ---- runtimeConfig (capability arguments) ---------------------------------------------------------


def rc(**runtime_config: Any) -> spec.RuntimeConfig:
    return parse_request(env(), conf(runtimeConfig=runtime_config)).runtime_config


def test_the_ips_capability_takes_addresses_with_or_without_a_prefix():
    got = rc(ips=["10.88.0.5/16", "10.88.0.6", "fd00::6"])
    assert [(str(i.address), i.prefixlen) for i in got.ips] == [
        ("10.88.0.5", 16),
        ("10.88.0.6", None),
        ("fd00::6", None),
    ]


def test_a_bad_ips_entry_is_code_7_naming_its_index():
    err = fails(7, env(), conf(runtimeConfig={"ips": ["10.0.0.1", "nope"]}))
    assert err.msg.startswith("invalid network config: runtimeConfig.ips[1]:")


def test_the_mac_capability_must_be_a_unicast_mac():
    assert rc(mac="C2:11:22:33:44:55").mac == "c2:11:22:33:44:55"
    assert "runtimeConfig.mac" in fails(7, env(), conf(runtimeConfig={"mac": "03:11:22:33:44:55"})).msg


def test_port_mappings_are_typed_with_tcp_as_the_default_protocol():
    got = rc(
        portMappings=[
            {"hostPort": 8080, "containerPort": 80, "protocol": "TCP"},
            {"hostPort": 53, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
            {"hostPort": 9, "containerPort": 9, "hostIP": ""},
            {"hostPort": 38412, "containerPort": 38412, "protocol": "sctp"},
        ]
    )
    assert got.port_mappings == (
        spec.PortMapping(8080, 80, "tcp"),
        spec.PortMapping(53, 53, "udp", ipaddress.ip_address("127.0.0.1")),
        spec.PortMapping(9, 9, "tcp"),
        spec.PortMapping(38412, 38412, "sctp"),
    )


@pytest.mark.parametrize(
    "entry,field",
    [
        ({"hostPort": 0, "containerPort": 80}, "hostPort"),
        ({"hostPort": 65536, "containerPort": 80}, "hostPort"),
        ({"hostPort": "8080", "containerPort": 80}, "hostPort"),
        ({"hostPort": True, "containerPort": 80}, "hostPort"),
        ({"hostPort": 8080.0, "containerPort": 80}, "hostPort"),
        ({"hostPort": 8080}, "containerPort"),
        ({"hostPort": 8080, "containerPort": 80, "protocol": "icmp"}, "protocol"),
        ({"hostPort": 8080, "containerPort": 80, "hostIP": "localhost"}, "hostIP"),
    ],
)
def test_a_port_mapping_with_a_bad_port_protocol_or_host_ip_is_code_7_naming_the_field(entry, field):
    err = fails(7, env(), conf(runtimeConfig={"portMappings": [{"hostPort": 1, "containerPort": 1}, entry]}))
    assert err.msg.startswith(f"invalid network config: runtimeConfig.portMappings[1]: {field}")


def test_the_dns_capability_is_typed_and_checked():
    got = rc(dns={"servers": ["10.0.0.10", "2001:DB8::1"], "searches": ["corp.example."], "options": ["ndots:5"]})
    assert got.dns == spec.DNSRequest(("10.0.0.10", "2001:db8::1"), ("corp.example",), ("ndots:5",))
    assert "runtimeConfig.dns.servers[0]" in fails(7, env(), conf(runtimeConfig={"dns": {"servers": ["x"]}})).msg


def test_aliases_come_as_a_list_or_as_podmans_map_of_network_to_list():
    assert rc(aliases=["web", "db_1"]).aliases == ("web", "db_1")
    assert rc(aliases={"podman": ["web"], "other": ["x"]}).aliases == ("web",)
    assert rc(aliases={"other": ["x"]}).aliases == ()
    err = fails(7, env(), conf(runtimeConfig={"aliases": {"podman": ["a b"]}}))
    assert "runtimeConfig.aliases.podman[0]" in err.msg


def test_bandwidth_rates_and_bursts_are_integers_set_in_pairs():
    got = rc(bandwidth={"ingressRate": 2048, "ingressBurst": 1600, "egressRate": 4096, "egressBurst": 1600})
    assert got.bandwidth == spec.Bandwidth(2048, 1600, 4096, 1600)
    for bad in (
        {"ingressRate": 10},
        {"egressBurst": 10},
        {"ingressRate": "10", "ingressBurst": 1},
        {"ingressRate": -1, "ingressBurst": 1},
        {"ingressRate": 1.5, "ingressBurst": 1},
        {"ingressRate": 1, "ingressBurst": 8 * 2**32},
    ):
        assert "runtimeConfig.bandwidth" in fails(7, env(), conf(runtimeConfig={"bandwidth": bad})).msg


def test_capabilities_pycnm_has_no_type_for_are_kept_as_given():
    assert rc(cgroupPath="/kubepods", ipRanges=[[{"subnet": "10.0.0.0/24"}]]).extra == {
        "cgroupPath": "/kubepods",
        "ipRanges": [[{"subnet": "10.0.0.0/24"}]],
    }


def test_static_ips_prefer_the_capability_then_config_args_then_cni_args():
    ips = ["10.0.0.1"]
    both = parse_request(
        env(CNI_ARGS="IP=10.0.0.3"), conf(runtimeConfig={"ips": ips}, args={"cni": {"ips": ["10.0.0.2"]}})
    )
    assert [str(i) for i in both.static_ips()] == ["10.0.0.1"]
    args = parse_request(env(CNI_ARGS="IP=10.0.0.3"), conf(args={"cni": {"ips": ["10.0.0.2"]}}))
    assert [str(i) for i in args.static_ips()] == ["10.0.0.2"]
    assert [str(i) for i in parse_request(env(CNI_ARGS="IP=10.0.0.3"), conf()).static_ips()] == ["10.0.0.3"]


def test_static_mac_prefers_the_capability_over_cni_args():
    req = parse_request(env(CNI_ARGS="MAC=02:00:00:00:00:02"), conf(runtimeConfig={"mac": "02:00:00:00:00:01"}))
    assert req.static_mac() == "02:00:00:00:00:01"


def test_capabilities_are_a_map_of_booleans():
    assert parse_request(env(), conf(capabilities={"portMappings": True})).capabilities == {"portMappings": True}
    assert "capabilities.ips" in fails(7, env(), conf(capabilities={"ips": "yes"})).msg


@pytest.mark.parametrize("plugin_type", ["", "../bin/sh", 5, "a\\b"])
def test_a_type_that_cannot_name_a_plugin_executable_is_code_7(plugin_type):
    assert "type" in fails(7, env(), json.dumps({"cniVersion": "1.0.0", "name": "n", "type": plugin_type})).msg


# ---- the pycnm section, GC attachments -----------------------------------------------------------


def test_the_pycnm_section_names_the_socket_state_dir_and_timeout():
    req = parse_request(env(), conf(pycnm={"socket": "unix:///run/x.sock", "stateDir": "/var/lib/x", "timeout": 5}))
    assert req.pycnm == spec.PycnmOptions("/run/x.sock", "/var/lib/x", 5.0)


def test_an_unknown_key_in_the_pycnm_section_is_code_2_naming_key_and_value():
    err = fails(2, env(), conf(pycnm={"sockett": "/run/x.sock"}))
    assert err.msg == 'unsupported field in network config: pycnm.sockett="/run/x.sock"'


@pytest.mark.parametrize(
    "section", [{"socket": "relative.sock"}, {"stateDir": 5}, {"timeout": 0}, {"timeout": True}, {"timeout": "5"}]
)
def test_a_bad_value_in_the_pycnm_section_is_code_7(section):
    assert "pycnm." in fails(7, env(), conf(pycnm=section)).msg


@pytest.mark.parametrize("key", ["cni.dev/attachments", "cni.dev/valid-attachments"])
def test_gc_reads_the_valid_attachments_under_the_specs_name_or_libcnis(key):
    req = parse_request({"CNI_COMMAND": "GC"}, conf("1.1.0", **{key: [{"containerID": "c1", "ifname": "eth0"}]}))
    assert req.gc_attachments == (spec.GCAttachment("c1", "eth0"),)


def test_a_gc_without_a_list_of_attachments_is_not_a_gc_of_everything():
    assert parse_request({"CNI_COMMAND": "GC"}, conf("1.1.0")).gc_attachments is None
    assert parse_request({"CNI_COMMAND": "GC"}, conf("1.1.0", **{"cni.dev/attachments": []})).gc_attachments == ()


def test_a_malformed_gc_attachment_is_code_7_naming_it():
    bad = {"cni.dev/attachments": [{"containerID": "-x", "ifname": "e"}]}
    err = fails(7, {"CNI_COMMAND": "GC"}, conf("1.1.0", **bad))
    assert "cni.dev/attachments[0].containerID" in err.msg


# ---- results: the JSON of each version -----------------------------------------------------------

#: each version's fields, from its SPEC.md ("Result" in 0.3.1/0.4.0, section 5 in 1.0.0/1.1.0)
LEGACY_FIELDS = {
    "top": {"cniVersion", "interfaces", "ips", "routes", "dns"},
    "interface": {"name", "mac", "sandbox"},
    "ip": {"version", "address", "gateway", "interface"},
    "route": {"dst", "gw"},
    "dns": {"nameservers", "domain", "search", "options"},
}
SPEC_FIELDS = {
    "0.3.0": LEGACY_FIELDS,
    "0.3.1": LEGACY_FIELDS,
    "0.4.0": LEGACY_FIELDS,
    "1.0.0": {**LEGACY_FIELDS, "ip": {"address", "gateway", "interface"}},
    "1.1.0": {
        **LEGACY_FIELDS,
        "ip": {"address", "gateway", "interface"},
        "interface": {"name", "mac", "mtu", "sandbox", "socketPath", "pciID"},
        "route": {"dst", "gw", "mtu", "advmss", "priority", "table", "scope"},
    },
}
REQUIRED_FIELDS = {"interface": {"name"}, "ip": {"address"}, "route": {"dst"}}

RICH = Result(
    interfaces=[
        Interface("cni0", "00:11:22:33:44:55"),
        Interface("veth3243", "55:44:33:22:11:11", mtu=1500),
        Interface(
            "eth0",
            "99:88:77:66:55:44",
            "/var/run/netns/blue",
            mtu=1500,
            socket_path="/run/vhost.sock",
            pci_id="0000:04:00.5",
        ),
    ],
    ips=[IPConfig("10.1.0.5/16", "10.1.0.1", 2), IPConfig("fd00::5/64", None, 2)],
    routes=[
        Route("0.0.0.0/0", "10.1.0.1", mtu=1400, advmss=1360, priority=100, table=254, scope=0),
        Route("fd00:1::/64"),
    ],
    dns=DNS(["10.1.0.1"], "example.org", ["example.org"], ["ndots:2"]),
)


def check_fields(out: dict[str, Any], version: str) -> None:
    fields = SPEC_FIELDS[version]
    assert set(out) == fields["top"]
    for kind, items in (("interface", out["interfaces"]), ("ip", out["ips"]), ("route", out["routes"])):
        for item in items:
            assert set(item) <= fields[kind], (kind, set(item) - fields[kind])
            assert REQUIRED_FIELDS[kind] <= set(item)
    assert set(out["dns"]) <= fields["dns"]
    if "version" in fields["ip"]:
        assert all("version" in ip for ip in out["ips"])


@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_rendered_result_holds_exactly_the_fields_its_spec_version_lists(version):
    out = render_result(RICH, version)
    check_fields(out, version)
    assert out["cniVersion"] == version


def test_a_0_4_0_result_is_the_0_4_0_spec_shape():
    assert render_result(RICH, "0.4.0") == {
        "cniVersion": "0.4.0",
        "interfaces": [
            {"name": "cni0", "mac": "00:11:22:33:44:55"},
            {"name": "veth3243", "mac": "55:44:33:22:11:11"},
            {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue"},
        ],
        "ips": [
            {"version": "4", "address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2},
            {"version": "6", "address": "fd00::5/64", "interface": 2},
        ],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "fd00:1::/64"}],
        "dns": {
            "nameservers": ["10.1.0.1"],
            "domain": "example.org",
            "search": ["example.org"],
            "options": ["ndots:2"],
        },
    }


def test_a_1_0_0_result_drops_the_ip_version_and_1_1_0_adds_mtus_and_route_attributes():
    v100, v110 = render_result(RICH, "1.0.0"), render_result(RICH, "1.1.0")
    assert v100["ips"][0] == {"address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2}
    assert v100["interfaces"][2] == {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue"}
    assert v110["interfaces"][2] == {
        "name": "eth0",
        "mac": "99:88:77:66:55:44",
        "mtu": 1500,
        "sandbox": "/var/run/netns/blue",
        "socketPath": "/run/vhost.sock",
        "pciID": "0000:04:00.5",
    }
    assert v110["routes"][0] == {
        "dst": "0.0.0.0/0",
        "gw": "10.1.0.1",
        "mtu": 1400,
        "advmss": 1360,
        "priority": 100,
        "table": 254,
        "scope": 0,
    }


def test_an_empty_result_still_has_every_key_the_spec_says_add_must_output():
    assert render_result(Result(), "1.0.0") == {
        "cniVersion": "1.0.0",
        "interfaces": [],
        "ips": [],
        "routes": [],
        "dns": {},
    }


def test_the_spec_1_1_add_example_round_trips():
    example = {
        "cniVersion": "1.1.0",
        "ips": [{"address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 2}],
        "routes": [{"dst": "0.0.0.0/0"}],
        "interfaces": [
            {"name": "cni0", "mac": "00:11:22:33:44:55"},
            {"name": "veth3243", "mac": "55:44:33:22:11:11"},
            {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/var/run/netns/blue"},
        ],
        "dns": {"nameservers": ["10.1.0.1"]},
    }
    version, result = parse_result(example)
    assert version == "1.1.0" and render_result(result, "1.1.0") == example


def test_rendering_in_a_version_pycnm_does_not_speak_is_code_1():
    with pytest.raises(CNIError) as caught:
        render_result(RICH, "0.2.0")
    assert caught.value.code == 1


def test_a_result_is_checked_when_built():
    with pytest.raises(InvalidParameter, match=r"ips\[0\].interface: index 1 is past the 1 interface"):
        Result(interfaces=[Interface("eth0")], ips=[IPConfig("10.0.0.2/24", interface=1)])
    with pytest.raises(InvalidParameter, match="gateway"):
        IPConfig("10.0.0.2/24", "fd00::1")
    with pytest.raises(InvalidParameter, match="gw"):
        Route("10.0.0.0/8", "fd00::1")
    with pytest.raises(InvalidParameter, match="address"):
        IPConfig("10.0.0.2")  # no prefix: not CIDR
    with pytest.raises(InvalidParameter, match="scope"):
        Route("10.0.0.0/8", scope=256)


def test_the_request_renders_results_in_its_own_version():
    req = parse_request(env(), conf("0.3.1"))
    assert req.render(RICH)["cniVersion"] == "0.3.1" and req.render(RICH)["ips"][0]["version"] == "4"


# ---- prevResult and conversion -------------------------------------------------------------------


def test_a_prev_result_without_a_version_is_read_in_the_configs():
    prev = {"ips": [{"version": "4", "address": "10.1.0.5/16", "interface": 0}], "interfaces": [{"name": "eth0"}]}
    req = parse_request(env("CHECK"), conf("0.4.0", prevResult=prev))
    assert req.prev_result_version == "0.4.0"
    assert req.prev_result.ips[0].address == ipaddress.ip_interface("10.1.0.5/16")


def test_a_prev_result_of_another_version_is_converted_to_the_configs():
    prev = render_result(RICH, "0.4.0")
    req = parse_request(env("DEL"), conf("1.1.0", prevResult=prev))
    assert req.prev_result_version == "0.4.0"
    assert req.render(req.prev_result) == convert_result(prev, "1.1.0")
    check_fields(req.render(req.prev_result), "1.1.0")


def test_converting_down_drops_what_the_older_version_lacks_and_adds_ip_versions():
    down = convert_result(render_result(RICH, "1.1.0"), "0.3.0")
    assert down == render_result(RICH, "0.3.0")
    assert "mtu" not in down["interfaces"][1] and down["ips"][1]["version"] == "6"
    assert convert_result(down, "1.1.0")["interfaces"][1] == {"name": "veth3243", "mac": "55:44:33:22:11:11"}


def test_a_0_2_0_result_converts_up_with_its_ip4_ip6_and_their_routes():
    old = {
        "cniVersion": "0.2.0",
        "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1", "routes": [{"dst": "0.0.0.0/0"}]},
        "ip6": {"ip": "fd00::5/64", "routes": [{"dst": "::/0", "gw": "fd00::1"}]},
        "dns": {"nameservers": ["10.1.0.1"]},
    }
    assert convert_result(old, "1.0.0") == {
        "cniVersion": "1.0.0",
        "interfaces": [],
        "ips": [{"address": "10.1.0.5/16", "gateway": "10.1.0.1"}, {"address": "fd00::5/64"}],
        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00::1"}],
        "dns": {"nameservers": ["10.1.0.1"]},
    }


@pytest.mark.parametrize("version", ["0.5.0", "2.0.0", 4, "x"])
def test_a_prev_result_in_a_version_pycnm_cannot_convert_is_code_1(version):
    err = fails(1, env("DEL"), conf(prevResult={"cniVersion": version, "ips": []}))
    assert "prevResult" in err.details


@pytest.mark.parametrize(
    "prev,where",
    [
        ({"ips": [{"address": "10.1.0.5"}]}, "prevResult.ips[0]"),
        ({"ips": [{"address": "10.1.0.5/16", "interface": 3}]}, "prevResult"),
        ({"ips": [{"version": "6", "address": "10.1.0.5/16"}], "cniVersion": "0.4.0"}, "prevResult.ips[0].version"),
        ({"interfaces": [{"mac": "x"}]}, "prevResult.interfaces[0]"),
        ({"routes": [{"dst": "nowhere"}]}, "prevResult.routes[0]"),
        ({"dns": {"nameservers": "10.0.0.1"}}, "prevResult.dns"),
        ({"ips": {}}, "prevResult.ips"),
        ([], "prevResult"),
    ],
)
def test_a_malformed_prev_result_is_code_7_naming_the_field(prev, where):
    assert fails(7, env("DEL"), conf(prevResult=prev)).msg.startswith(f"invalid network config: {where}")


# ---- the conflist pycnm installs -----------------------------------------------------------------


def test_the_conflist_puts_pycnm_cni_first_with_its_capabilities():
    assert conflist("podman") == {
        "cniVersion": "1.0.0",
        "name": "podman",
        "plugins": [
            {"type": "pycnm-cni", "capabilities": {"portMappings": True, "ips": True, "mac": True, "aliases": True}}
        ],
    }


def test_the_conflist_chains_debians_plugins_after_pycnm_cni_and_leaves_them_their_capabilities():
    out = conflist(
        "web",
        chain=["portmap", "tuning", "bandwidth", "firewall"],
        socket="/run/p.sock",
        state_dir="/srv/pycnm",
        cni_version="0.4.0",
    )
    assert [p["type"] for p in out["plugins"]] == ["pycnm-cni", "portmap", "tuning", "bandwidth", "firewall"]
    assert out["plugins"][0] == {
        "type": "pycnm-cni",
        "capabilities": {"ips": True, "mac": True, "aliases": True},
        "pycnm": {"socket": "/run/p.sock", "stateDir": "/srv/pycnm"},
    }
    assert out["plugins"][1]["capabilities"] == {"portMappings": True}
    assert out["cniVersion"] == "0.4.0"


def test_a_capability_both_pycnm_cni_and_a_chained_plugin_declare_is_refused():
    with pytest.raises(InvalidParameter, match=r"portMappings.*both pycnm-cni and portmap"):
        conflist("web", capabilities=["portMappings"], chain=["portmap"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"network_name": "-web"},
        {"cni_version": "0.2.0"},
        {"socket": "rel.sock"},
        {"capabilities": ["flying"]},
        {"chain": ["calico"]},
        {"chain": ["tuning", "tuning"]},
        {"chain": [{"name": "no type"}]},
    ],
)
def test_a_conflist_that_could_not_work_is_refused_saying_what_to_change(kwargs):
    with pytest.raises(InvalidParameter):
        conflist(**{"network_name": "web", **kwargs})


def test_a_custom_chained_plugin_object_is_taken_as_given():
    custom = {"type": "tuning", "sysctl": {"net.core.somaxconn": "500"}}
    assert conflist("web", chain=[custom])["plugins"][1] == custom


def test_the_request_libcni_derives_from_the_conflist_is_accepted():
    out = conflist("web", socket="/run/p.sock", chain=["portmap"])
    # libcni's derivation (spec section 3): cniVersion and name injected, runtimeConfig added
    plugin = {
        **out["plugins"][0],
        "cniVersion": out["cniVersion"],
        "name": out["name"],
        "runtimeConfig": {"ips": ["10.0.0.9"], "aliases": {"web": ["w1"]}},
    }
    req = parse_request(env(), json.dumps(plugin))
    assert req.plugin_type == spec.PLUGIN_TYPE and req.pycnm.socket == "/run/p.sock"
    assert req.runtime_config.aliases == ("w1",) and req.capabilities == {"ips": True, "mac": True, "aliases": True}


# ---- the wire ------------------------------------------------------------------------------------


def test_the_clients_body_and_a_queued_record_parse_alike():
    body = {"env": env("DEL"), "stdin": conf()}
    assert request_from_wire(json.dumps(body)).attachment == ("c0ffee", "eth0")
    queued = {**body, "queued": {"time": 1.0, "reason": "daemon unreachable", "socket": "/run/pycnm/pycnm.sock"}}
    assert request_from_wire(json.dumps(queued).encode()) == request_from_wire(body)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        '{"env": {}}',
        '{"env": {"CNI_COMMAND": 1}, "stdin": ""}',
        '{"env": [], "stdin": ""}',
        '{"stdin": "{}"}',
        b"\xff",
    ],
)
def test_a_body_of_another_shape_is_code_6(body):
    with pytest.raises(CNIError) as caught:
        request_from_wire(body)
    assert caught.value.code == 6


def test_the_daemons_answers_and_the_error_json_have_the_specs_shape():
    err = CNIError(spec.ErrorCode.TRY_AGAIN_LATER, "try again later", "the store is locked")
    assert spec.error_response(err) == {
        "ok": False,
        "error": {"code": 11, "msg": "try again later", "details": "the store is locked"},
    }
    assert err.to_json("1.0.0") == {
        "cniVersion": "1.0.0",
        "code": 11,
        "msg": "try again later",
        "details": "the store is locked",
    }
    assert CNIError(3, "gone").to_json() == {"cniVersion": "1.1.0", "code": 3, "msg": "gone"}
    assert spec.ok_response(render_result(RICH, "1.0.0"))["result"]["cniVersion"] == "1.0.0"
    assert spec.ok_response() == {"ok": True, "result": None}
    assert err.http_status == 503 and CNIError(7, "x").http_status == 400


def test_the_error_codes_are_the_specs():
    assert {c.name: c.value for c in spec.ErrorCode} == {
        "INCOMPATIBLE_VERSION": 1,
        "UNSUPPORTED_FIELD": 2,
        "UNKNOWN_CONTAINER": 3,
        "INVALID_ENVIRONMENT": 4,
        "IO_FAILURE": 5,
        "DECODING_FAILURE": 6,
        "INVALID_NETWORK_CONFIG": 7,
        "TRY_AGAIN_LATER": 11,
        "PLUGIN_NOT_AVAILABLE": 50,
        "LIMITED_CONNECTIVITY": 51,
        "INTERNAL": 999,
    }


# ---- fuzzing: whatever comes in, only CNIError comes out -----------------------------------------
# Budget: 400 examples per property, no deadline (the suite's CI machine is shared); about 10 s.

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_VARS = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
_env_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["ADD", "DEL", "CHECK", "GC", "STATUS", "eth0", "c0ffee", "/run/netns/x", "IP=10.0.0.1;MAC=x", ""]),
)


def _maybe(strategy):
    return st.one_of(strategy, _json_values)


_port_mapping = st.fixed_dictionaries(
    {},
    optional={
        "hostPort": _maybe(st.integers(-1, 70000)),
        "containerPort": _maybe(st.integers(-1, 70000)),
        "protocol": _maybe(st.sampled_from(["tcp", "UDP", "sctp", "icmp"])),
        "hostIP": _maybe(st.sampled_from(["", "::1", "x"])),
    },
)
_ips = st.lists(_maybe(st.sampled_from(["10.0.0.1", "10.0.0.1/24", "fd00::1/64", "0.0.0.0", "300.1.1.1"])), max_size=3)
_prev = st.fixed_dictionaries(
    {},
    optional={
        "cniVersion": _maybe(st.sampled_from([*spec.RESULT_VERSIONS, "9.9.9"])),
        "interfaces": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"name": _maybe(st.just("eth0")), "mtu": _maybe(st.integers(-1, 9000))}
                ),
                max_size=2,
            )
        ),
        "ips": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "address": _maybe(st.sampled_from(["10.0.0.2/24", "fd00::2/64", "10.0.0.2"])),
                        "gateway": _maybe(st.sampled_from(["10.0.0.1", "fd00::1"])),
                        "interface": _maybe(st.integers(-1, 3)),
                        "version": _maybe(st.sampled_from(["4", "6"])),
                    },
                ),
                max_size=2,
            )
        ),
        "routes": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"dst": _maybe(st.just("0.0.0.0/0")), "gw": _maybe(st.just("10.0.0.1"))}
                ),
                max_size=2,
            )
        ),
        "ip4": _maybe(st.fixed_dictionaries({}, optional={"ip": _maybe(st.just("10.0.0.2/24"))})),
        "dns": _maybe(st.fixed_dictionaries({}, optional={"nameservers": _maybe(st.lists(st.just("10.0.0.1")))})),
    },
)
_configs = st.fixed_dictionaries(
    {
        # the first fuzz test and the unit tests cover these two; here they let most draws in
        "cniVersion": st.sampled_from(["1.1.0", "1.1.0", "1.1.0", "1.0.0", "0.4.0", "0.3.1", "0.2.0", ""]),
        "name": st.sampled_from(["podman", "podman", "n-1", "-bad"]),
    },
    optional={
        "type": _maybe(st.just("pycnm-cni")),
        "capabilities": _maybe(st.dictionaries(st.sampled_from(spec.CAPABILITIES), st.booleans())),
        "runtimeConfig": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "ips": _maybe(_ips),
                    "mac": _maybe(st.sampled_from(["02:00:00:00:00:01", "01:00:00:00:00:01"])),
                    "portMappings": _maybe(st.lists(_maybe(_port_mapping), max_size=3)),
                    "dns": _maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "servers": _maybe(_ips),
                                "searches": _maybe(st.lists(st.text(max_size=8))),
                                "options": _maybe(st.lists(st.text(max_size=8))),
                            },
                        )
                    ),
                    "aliases": _maybe(st.lists(_maybe(st.sampled_from(["web", "a b"])))),
                    "bandwidth": _maybe(
                        st.dictionaries(
                            st.sampled_from(["ingressRate", "ingressBurst", "egressRate", "egressBurst"]),
                            _maybe(st.integers(-1, 2**40)),
                        )
                    ),
                },
            )
        ),
        "prevResult": _maybe(_prev),
        "args": _maybe(
            st.fixed_dictionaries(
                {}, optional={"cni": _maybe(st.fixed_dictionaries({}, optional={"ips": _maybe(_ips)}))}
            )
        ),
        "pycnm": _maybe(
            st.dictionaries(
                st.sampled_from(["socket", "stateDir", "timeout", "x"]),
                _maybe(st.sampled_from(["/run/x.sock", "rel", 3])),
            )
        ),
        "cni.dev/attachments": _maybe(
            st.lists(
                _maybe(st.fixed_dictionaries({"containerID": _maybe(st.just("c1")), "ifname": _maybe(st.just("eth0"))}))
            )
        ),
    },
)


def _only_cni_errors(environ: dict[str, str], stdin: str | bytes) -> None:
    try:
        req = parse_request(environ, stdin)
    except CNIError as err:
        assert 1 <= err.code <= 999 and err.msg
        return
    if req.command is not Command.VERSION and req.prev_result is not None:
        check_fields(req.render(req.prev_result), req.cni_version)


@FUZZ
@given(
    st.dictionaries(st.sampled_from(_VARS) | st.text(max_size=8), _env_values, max_size=8),
    st.one_of(st.text(max_size=200), st.binary(max_size=200)),
)
def test_fuzzed_env_and_stdin_raise_nothing_but_cni_errors(environ, stdin):
    _only_cni_errors(environ, stdin)


@FUZZ
@given(
    st.sampled_from(["ADD", "DEL", "CHECK", "GC", "STATUS"]),
    st.fixed_dictionaries({}, optional=dict.fromkeys(_VARS[1:], _env_values)),
    _configs,
)
def test_fuzzed_configs_with_the_known_fields_raise_nothing_but_cni_errors(command, overrides, config):
    # a valid environment with a few variables replaced, most draws none
    environ = {**env(command), **(overrides if len(overrides) < 2 else {})}
    _only_cni_errors(environ, json.dumps(config))


_v4 = st.integers(1, 2**32 - 2).map(ipaddress.IPv4Address)
_results = st.builds(
    lambda names, addrs, routes, mtu: Result(
        interfaces=[Interface(n, mtu=mtu) for n in names],
        ips=[IPConfig(f"{a}/24", interface=(i % len(names)) if names else None) for i, a in enumerate(addrs)],
        routes=[Route(f"{r}/32", gw=None) for r in routes],
    ),
    st.lists(st.sampled_from(["eth0", "veth1", "cni0"]), max_size=3),
    st.lists(_v4, max_size=3),
    st.lists(_v4, max_size=2),
    st.none() | st.integers(68, 9000),
)


@FUZZ
@given(_results, st.sampled_from(spec.SUPPORTED_VERSIONS), st.sampled_from(spec.SUPPORTED_VERSIONS))
def test_converting_a_rendered_result_equals_rendering_it_in_the_target_version(result, source, target):
    rendered = render_result(result, source)
    check_fields(rendered, source)
    converted = convert_result(rendered, target)
    assert converted == render_result(parse_result(rendered)[1], target)
    if spec.version_at_least(source, "1.1.0") or result.interfaces == () or not any(i.mtu for i in result.interfaces):
        assert converted == render_result(result, target)


# ---- the same invalid inputs, to Debian's Go bridge plugin ---------------------------------------

#: each input has one fault; those the Go plugin checks before the version also carry version
#: 9.9.9, so that a fault it missed would stop it at the version check rather than let it make
#: a bridge. None is valid: nothing here reaches the kernel.
SAFE = '{"cniVersion": "9.9.9", "name": "n", "type": "bridge", "bridge": "pycnmtest0"}'
GO_CASES = [
    ("ADD without CNI_NETNS", env(CNI_NETNS=None), SAFE, 4),
    ("ADD without CNI_CONTAINERID", env(CNI_CONTAINERID=None), SAFE, 4),
    ("ADD with an empty CNI_IFNAME", env(CNI_IFNAME=""), SAFE, 4),
    ("DEL without CNI_IFNAME", env("DEL", CNI_IFNAME=None), SAFE, 4),
    ("DEL without anything", {"CNI_COMMAND": "DEL", "CNI_PATH": "/usr/lib/cni"}, SAFE, 4),
    ("CHECK without CNI_NETNS", env("CHECK", CNI_NETNS=None), SAFE, 4),
    ("an unknown CNI_COMMAND", env("FROB"), SAFE, 4),
    ("stdin that is not JSON", env(), '{"cniVersion": "9.9.9", name', 6),
    ("stdin that is a list", env(), "[1, 2]", 6),
    ("empty stdin", env(), "", 6),
    ("a name that is a number", env(), '{"cniVersion": "9.9.9", "name": 5}', 6),
    ("a version that is a number", env(), '{"cniVersion": 1, "name": "n"}', 6),
    ("no network name", env(), '{"cniVersion": "9.9.9"}', 7),
    ("a network name starting with '-'", env(), '{"cniVersion": "9.9.9", "name": "-n"}', 7),
    ("a network name with a space", env(), '{"cniVersion": "9.9.9", "name": "a b"}', 7),
    ("a container ID starting with '-'", env(CNI_CONTAINERID="-c1"), SAFE, 4),
    ("a container ID starting with '_'", env(CNI_CONTAINERID="_c1"), SAFE, 4),
    ("a container ID with '/'", env(CNI_CONTAINERID="a/b"), SAFE, 4),
    ("a container ID with a non-ASCII letter", env(CNI_CONTAINERID="caf\u00e9"), SAFE, 4),
    ("an ifname of 16 bytes", env(CNI_IFNAME="a" * 16), SAFE, 4),
    ("an ifname of 8 two-byte letters", env(CNI_IFNAME="\u00e9" * 8), SAFE, 4),
    ("an ifname '.'", env(CNI_IFNAME="."), SAFE, 4),
    ("an ifname '..'", env(CNI_IFNAME=".."), SAFE, 4),
    ("an ifname with '/'", env(CNI_IFNAME="eth/0"), SAFE, 4),
    ("an ifname with ':'", env(CNI_IFNAME="eth:0"), SAFE, 4),
    ("an ifname with a tab", env(CNI_IFNAME="eth\t0"), SAFE, 4),
    ("ADD in version 9.9.9", env(), SAFE, 1),
    ("DEL in version 9.9.9", env("DEL"), SAFE, 1),
    ("CHECK in version 0.3.1", env("CHECK"), '{"cniVersion": "0.3.1", "name": "n"}', 1),
    ("CHECK with no version (0.1.0)", env("CHECK"), '{"name": "n"}', 1),
]


@pytest.mark.skipif(not GO_BRIDGE.exists(), reason="Debian's containernetworking-plugins is not installed")
@pytest.mark.parametrize("case,environ,stdin,code", GO_CASES, ids=[c[0] for c in GO_CASES])
def test_pycnm_and_debians_go_bridge_plugin_give_the_same_error_code(case, environ, stdin, code):
    done = subprocess.run(
        [str(GO_BRIDGE)], input=stdin.encode(), env=environ, capture_output=True, timeout=30, check=False
    )
    go = json.loads(done.stdout)
    assert done.returncode == 1 and go["code"] == code, (case, go)
    assert fails(code, environ, stdin)
