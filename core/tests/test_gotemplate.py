"""Docker-style --format templates (pycnm.cli.gotemplate): Go's text/template semantics on Python
data, docker's functions and its table directive.

The rule tests state one behaviour each. The expected strings in GO_VERIFIED and
GO_VERIFIED_TABLES (at the end) were produced by Go 1.19's text/template with docker/cli's template
functions and formatter flow, and compared with this engine; the tests need no Go.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pycnm.cli import gotemplate
from pycnm.cli.gotemplate import TemplateError, compile, render_each  # noqa: A004 - the module's own name


def run(text: str, data: object, missingkey: str = "default") -> str:
    return compile(text).execute(data, missingkey=missingkey)


def error_of(text: str, data: object = None, missingkey: str = "default") -> str:
    with pytest.raises(TemplateError) as info:
        run(text, data, missingkey)
    return str(info.value)


# What `docker network inspect web-net` prints (one element of its array).
NETWORK = {
    "Name": "web-net",
    "Id": "3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
    "Created": "2024-05-01T12:34:56.789012345Z",
    "Scope": "local",
    "Driver": "bridge",
    "EnableIPv6": False,
    "IPAM": {
        "Driver": "default",
        "Options": {},
        "Config": [{"Subnet": "172.20.0.0/16", "Gateway": "172.20.0.1"}, {"Subnet": "fd00::/64", "Gateway": "fd00::1"}],
    },
    "Internal": False,
    "Attachable": True,
    "Ingress": False,
    "ConfigFrom": {"Network": ""},
    "ConfigOnly": False,
    "Containers": {
        "b7e1": {
            "Name": "web-1",
            "EndpointID": "e1",
            "MacAddress": "02:42:ac:14:00:02",
            "IPv4Address": "172.20.0.2/16",
            "IPv6Address": "",
        },
        "a3f9": {
            "Name": "db",
            "EndpointID": "e2",
            "MacAddress": "02:42:ac:14:00:03",
            "IPv4Address": "172.20.0.3/16",
            "IPv6Address": "",
        },
    },
    "Options": {"com.docker.network.bridge.name": "br-web", "com.docker.network.driver.mtu": "1500"},
    "Labels": {"com.example.team": "infra", "env": "prod"},
}

# The same network with one value of every kind the verified cases probe.
NET = {
    **NETWORK,
    "Num": 42,
    "Neg": -7,
    "Float": 3.5,
    "Whole": 2.0,
    "Big": 1e21,
    "Small": 1e-7,
    "Mid": 1234567.0,
    "Null": None,
    "List": [1, "a", None, 2.5, True, {"k": "v"}],
    "Empty": [],
    "EmptyMap": {},
    "Strs": ["x", "y-z", "w"],
    "Html": '<a href="x">&amp;</a>',
    "Uni": "héllo wörld 日本",
    "Ctl": "tab\there\nnl \u2028 \x01",
    "Quote": 'it\'s "q"',
    "Zero": 0,
    "True": True,
}


class netCtx:  # noqa: N801 - named so that its Go type name is *main.netCtx, as in the Go run
    """A listing context as docker's network ls has one: methods, one of them with an argument."""

    def __init__(self, n: dict) -> None:
        self._n = n

    def __str__(self) -> str:
        return "ctx:" + self.ID()

    def _s(self, key: str) -> str:
        v = self._n.get(key)
        return v if isinstance(v, str) else ""

    def ID(self) -> str:
        return self._s("ID")

    def Name(self) -> str:
        return self._s("Name")

    def Driver(self) -> str:
        return self._s("Driver")

    def Scope(self) -> str:
        return self._s("Scope")

    def Labels(self) -> str:
        labels = self._n.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def Label(self, name: str) -> str:
        v = (self._n.get("Labels") or {}).get(name)
        return v if isinstance(v, str) else ""


netCtx.__module__ = "main"


def contexts(value: object) -> object:
    """Turn {"__ctx__": {...}} (how the Go run was given a context) into a netCtx."""
    if isinstance(value, dict):
        if "__ctx__" in value:
            return netCtx(contexts(value["__ctx__"]))
        return {k: contexts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [contexts(v) for v in value]
    return value


HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Labels": "LABELS"}
DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


# ---------------------------------------------------------------------------------------------
# Data and printing


def test_a_field_of_a_map_is_looked_up_by_key():
    assert run("{{.Name}} {{.IPAM.Driver}} {{.ConfigFrom.Network}}|", NETWORK) == "web-net default |"


def test_a_missing_map_key_prints_no_value():
    assert run("{{.Name}} {{.Foo}} {{.Foo.Bar}}", NETWORK) == "web-net <no value> <no value>"


def test_a_missing_map_key_is_an_error_with_missingkey_error_as_docker_inspect_reports_it():
    assert (
        error_of("{{.Foo}}", NETWORK, "error")
        == 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"'
    )


def test_nil_prints_as_nil_inside_a_container_and_as_no_value_alone():
    data = {"L": ["a", 1, None, True], "M": {"b": 1, "a": {"z": None}}, "N": None}
    assert (
        run("{{.L}} {{.M}} {{.N}} {{printf `%v` .N}}", data)
        == "[a 1 <nil> true] map[a:map[z:<nil>] b:1] <no value> <nil>"
    )


def test_maps_print_as_go_prints_them_sorted_by_key():
    assert run("{{.Labels}} {{.IPAM.Options}}", NETWORK) == "map[com.example.team:infra env:prod] map[]"


def test_slices_print_space_separated_in_brackets():
    assert (
        run("{{.IPAM.Config}} {{split .Name `-`}}", NETWORK)
        == "[map[Gateway:172.20.0.1 Subnet:172.20.0.0/16] map[Gateway:fd00::1 Subnet:fd00::/64]] [web net]"
    )


def test_bools_print_true_and_false():
    assert run("{{.Internal}} {{.Attachable}}", NETWORK) == "false true"


def test_an_int_prints_as_an_int_and_a_float_as_go_s_v_does():
    data = {"V": 3, "W": 3.0, "X": 0.1, "Y": 1e6, "Z": 1e-5, "N": -2.5e-10, "M": 123456.0}
    assert run("{{.V}} {{.W}} {{.X}} {{.Y}} {{.Z}} {{.N}} {{.M}}", data) == "3 3 0.1 1e+06 1e-05 -2.5e-10 123456"


def test_objects_act_as_structs_whose_methods_take_arguments():
    ctx = netCtx({"ID": "0123456789abcdef", "Name": "n1", "Labels": {"com.example": "v"}})
    assert run('{{.ID}} {{.Name}} {{.Label "com.example"}} {{.Label "none"}}|', ctx) == "0123456789abcdef n1 v |"


def test_a_field_an_object_lacks_cannot_be_evaluated():
    assert (
        error_of("{{.Foo}}", netCtx({}))
        == 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *main.netCtx'
    )


def test_a_method_called_with_the_wrong_arguments_says_what_it_wanted():
    assert error_of("{{.Label}}", netCtx({})).endswith("wrong number of args for Label: want 1 got 0")
    assert error_of("{{.Label 3}}", netCtx({})).endswith("expected string; found 3")


def test_a_method_that_raises_is_an_error_calling_it():
    class Broken:
        def Status(self):
            raise RuntimeError("daemon unreachable")

    assert (
        error_of("{{.Status}}", Broken())
        == 'template: :1:2: executing "" at <.Status>: error calling Status: daemon unreachable'
    )


def test_a_field_of_a_string_is_an_error_naming_the_interface_it_came_from():
    assert (
        error_of("{{.Name.Foo}}", NETWORK)
        == 'template: :1:7: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type interface {}'
    )


# ---------------------------------------------------------------------------------------------
# Control structures


def test_range_over_a_map_iterates_in_sorted_key_order():
    assert run("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", NETWORK) == "com.example.team=infra;env=prod;"
    assert run("{{range .Containers}}{{.Name}} {{end}}", NETWORK) == "db web-1 "


def test_range_over_an_empty_list_or_map_runs_else():
    data = {"E": [], "M": {}}
    assert (
        run(
            "{{range .E}}x{{else}}empty{{end}} {{range .M}}x{{else}}empty map{{end}} "
            "{{range .Missing}}x{{else}}none{{end}}",
            data,
        )
        == "empty empty map none"
    )


def test_range_sets_dot_and_the_index_and_element_variables():
    assert (
        run("{{range $i, $c := .IPAM.Config}}{{$i}}:{{$c.Subnet}}/{{.Gateway}} {{end}}", NETWORK)
        == "0:172.20.0.0/16/172.20.0.1 1:fd00::/64/fd00::1 "
    )


def test_break_and_continue_leave_or_skip_an_iteration():
    assert (
        run(
            "{{range $i, $e := .L}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 3}}{{break}}{{end}}{{$e}}{{end}}",
            {"L": ["a", "b", "c", "d"]},
        )
        == "ac"
    )


def test_range_over_a_string_cannot_iterate():
    assert (
        error_of("{{range .Name}}{{end}}", NETWORK)
        == 'template: :1:8: executing "" at <.Name>: range can\'t iterate over web-net'
    )


def test_dollar_is_the_top_level_value():
    assert (
        run("{{range .IPAM.Config}}{{$.Name}}:{{.Subnet}} {{end}}", NETWORK)
        == "web-net:172.20.0.0/16 web-net:fd00::/64 "
    )


def test_variables_are_declared_then_assigned_and_live_until_their_block_ends():
    assert run("{{$n := .Name}}{{$n}}", NETWORK) == "web-net"
    assert run("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", {}) == "2"
    assert error_of("{{if true}}{{$y := 1}}{{end}}{{$y}}", {}) == 'template: :1: undefined variable "$y"'


def test_if_else_and_else_if_pick_the_first_true_branch():
    text = '{{if eq .Driver "bridge"}}b{{else if eq .Driver "overlay"}}o{{else}}?{{end}}'
    assert run(text, {"Driver": "overlay"}) == "o"
    assert run("{{if .Internal}}internal{{else}}external{{end}}", NETWORK) == "external"


def test_with_sets_dot_to_a_non_empty_value_and_else_runs_otherwise():
    assert run("{{with .IPAM}}{{.Driver}}{{end}}", NETWORK) == "default"
    assert run("{{with .ConfigFrom.Network}}from {{.}}{{else}}none{{end}}", NETWORK) == "none"


def test_trim_markers_remove_the_whitespace_next_to_an_action():
    assert run("a  {{- .A -}}  b {{/* c */}} c\n{{- .A}}", {"A": "x"}) == "axb  cx"


def test_comments_print_nothing():
    assert run("a{{/* not printed */}}b", {}) == "ab"


# ---------------------------------------------------------------------------------------------
# Functions


def test_a_pipeline_passes_each_value_as_the_last_argument_of_the_next_command():
    assert run('{{.Name | printf "%s!" | upper}} {{.Name | len}}', NETWORK) == "WEB-NET! 7"


def test_and_and_or_return_the_operand_that_decides():
    assert run('{{or 0 "" .A "b"}} {{and 1 0 .X}} {{and 1 .Missing}}', {"A": "a"}) == "a 0 <no value>"


def test_and_stops_at_the_first_false_operand():
    # the second operand would fail if evaluated
    assert run("{{and .Internal (index .Name 99)}}", NETWORK) == "false"


def test_comparisons_follow_go_s_types():
    assert (
        run(
            '{{eq .Driver "bridge" "overlay"}} {{ne 1 2}} {{lt "a" "b"}} {{le 2 2}} {{gt 1.5 1.25}} '
            '{{ge 1 2}} {{eq .Missing "x"}}',
            NETWORK,
        )
        == "true true true true true false false"
    )
    assert (
        error_of("{{eq .A 1.5}}", {"A": 1})
        == 'template: :1:2: executing "" at <eq .A 1.5>: error calling eq: incompatible types for comparison'
    )


def test_not_negates_go_s_truth():
    assert (
        run("{{not .Internal}} {{not .Name}} {{not .Containers}} {{not .IPAM.Options}}", NETWORK)
        == "true false false true"
    )


def test_json_is_docker_s_compact_sorted_and_leaves_html_characters_alone():
    data = {"b": "<&>", "a": [1, 2.5, 1e21, 1e-7, None, True]}
    assert run("{{json .}}", data) == '{"a":[1,2.5,1e+21,1e-7,null,true],"b":"<&>"}'
    assert (
        run("{{json .IPAM.Config}}", NETWORK)
        == '[{"Gateway":"172.20.0.1","Subnet":"172.20.0.0/16"},{"Gateway":"fd00::1","Subnet":"fd00::/64"}]'
    )


def test_json_escapes_control_characters_as_go_does():
    assert run("{{json .S}}", {"S": '"q"\u2028\t\x01é'}) == '"\\"q\\"\\u2028\\t\\u0001é"'
    # Go 1.22 and later (what docker is built with) write \b and \f short
    assert run("{{json .S}}", {"S": "\b\f"}) == '"\\b\\f"'


def test_printf_knows_go_s_verbs_and_says_what_is_wrong_in_place():
    assert run('{{printf "%s-%d" .Name 3}}', NETWORK) == "web-net-3"
    assert (
        run('{{printf "%5.2f|%-6s|%05d|%q|%x|%v" 3.14159 "ab" 42 "a\\"b" 255 .Labels}}', NETWORK)
        == ' 3.14|ab    |00042|"a\\"b"|ff|map[com.example.team:infra env:prod]'
    )
    assert (
        run('{{printf "%d %s %!" "x"}} {{printf "%d" 1 2}}', {})
        == "%!d(string=x) %!s(MISSING) %!!(MISSING) 1%!(EXTRA int=2)"
    )


def test_print_spaces_operands_unless_one_is_a_string_and_println_always_does():
    assert run('{{print 1 2 "a" "b" 3}}|{{println 1 "a"}}', {}) == "1 2ab3|1 a\n"


def test_index_reaches_into_maps_slices_and_strings():
    data = {"M": {"k": [1, 2]}, "S": ["a", "b"], "Str": "AB"}
    assert run('{{index .M "k" 1}} {{index .S 1}} {{index .Str 0}} {{index .M "none"}}', data) == "2 b 65 <no value>"
    assert run('{{index .Options "com.docker.network.bridge.name"}}', NETWORK) == "br-web"


def test_len_counts_elements_and_the_bytes_of_a_string():
    assert run('{{len .S}} {{len "héllo"}} {{len .M}}', {"S": [1, 2, 3], "M": {"a": 1}}) == "3 6 1"


def test_docker_s_string_functions():
    assert (
        run(
            '{{lower "ABC"}} {{title "web net_x.y"}} {{split "a-b-c" "-"}} '
            '{{join (split "a-b" "-") "+"}} {{pad "x" 2 1}}| {{pad "" 2 1}}| '
            '{{truncate "abcdef" 3}} {{truncate "ab" 3}}',
            {},
        )
        == "abc Web Net_x.Y [a b c] a+b   x | | abc ab"
    )
    assert run("{{truncate .Id 12}} {{upper .Name}}", NETWORK) == "3f1c0a7e9b2d WEB-NET"


def test_join_takes_strings_other_elements_and_map_values():
    assert (
        run(
            '{{join .S ","}} {{join .L "+"}} {{join .M "/"}}|{{join .Missing ","}}|',
            {"S": ["a", "b"], "L": [1, None, "x"], "M": {"b": "2", "a": "1"}},
        )
        == "a,b 1+<nil>+x 1/2||"
    )


def test_a_function_given_the_wrong_type_says_what_it_expected():
    assert (
        error_of("{{upper .N}}", {"N": 3})
        == 'template: :1:8: executing "" at <.N>: wrong type for value; expected string; got int'
    )


# ---------------------------------------------------------------------------------------------
# Errors and compiling


def test_execution_errors_say_where_and_what_with_go_s_line_and_byte_column():
    with pytest.raises(TemplateError) as info:
        run("{{.A}}\n  {{.B.C}}", {"A": 1, "B": "x"})
    assert str(info.value) == 'template: :2:6: executing "" at <.B.C>: can\'t evaluate field C in type interface {}'
    assert (info.value.line, info.value.column) == (2, 6)


def test_a_template_error_is_a_value_error():
    assert issubclass(TemplateError, ValueError)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{{if .A}}", "template: :1: unexpected EOF"),
        ("{{.A | nope}}", 'template: :1: function "nope" not defined'),
        ("x\n{{end}}", "template: :2: unexpected {{end}}"),
        ("{{.A\n", "template: :2: unclosed action started at :1"),
        ("{{.Name", "template: :1: unclosed action"),
        ("{{$x}}", 'template: :1: undefined variable "$x"'),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        ('{{.Name | "x"}}', "template: :1: non executable command in pipeline stage 2"),
    ],
)
def test_parse_errors_are_raised_by_compile(text, message):
    with pytest.raises(TemplateError) as info:
        compile(text)
    assert str(info.value) == message


@pytest.mark.parametrize("text", ['{{define "x"}}y{{end}}', '{{template "x"}}', '{{block "x" .}}y{{end}}', "{{1i}}"])
def test_what_pycnm_does_not_implement_is_refused_at_compile_time(text):
    with pytest.raises(TemplateError, match="not supported by pycnm"):
        compile(text)


def test_compile_caches_a_template():
    assert compile("{{.Name}} cached") is compile("{{.Name}} cached")


def test_an_unknown_missingkey_option_is_refused():
    with pytest.raises(ValueError, match="missingkey"):
        run("{{.A}}", {}, "loud")


# ---------------------------------------------------------------------------------------------
# Listings: render_each and docker's table directive


def test_without_table_each_item_is_followed_by_a_newline():
    items = [netCtx({"ID": "a1", "Name": "web"}), netCtx({"ID": "b2", "Name": "db"})]
    assert render_each("{{.ID}}: {{.Name}}", items) == "a1: web\nb2: db\n"
    assert render_each("{{.ID}}", []) == ""


def test_table_prints_a_header_row_then_columns_aligned_as_docker_s_tabwriter():
    items = [
        netCtx({"ID": "3f1c0a7e9b2d", "Name": "web-net", "Driver": "bridge", "Scope": "local"}),
        netCtx({"ID": "77aa", "Name": "a-rather-long-network", "Driver": "null", "Scope": "local"}),
    ]
    assert render_each("table {{.ID}}\t{{.Name}}\t{{.Driver}}", items, HEADERS) == (
        "NETWORK ID     NAME                    DRIVER\n"
        "3f1c0a7e9b2d   web-net                 bridge\n"
        "77aa           a-rather-long-network   null\n"
    )


def test_table_columns_are_at_least_ten_wide_with_three_spaces_of_padding():
    assert (
        render_each("table {{.ID}}\t{{.Name}}", [netCtx({"ID": "a", "Name": "b"})], HEADERS)
        == "NETWORK ID   NAME\na            b\n"
    )


def test_table_alone_means_the_default_columns_the_caller_passes():
    items = [netCtx({"ID": "3f1c0a7e9b2d", "Name": "web", "Driver": "bridge", "Scope": "local"})]
    assert render_each("table", items, HEADERS, DEFAULT_TABLE) == (
        "NETWORK ID     NAME      DRIVER    SCOPE\n3f1c0a7e9b2d   web       bridge    local\n"
    )
    with pytest.raises(ValueError):
        render_each("table", items, HEADERS)


def test_a_table_with_no_items_still_prints_its_header():
    assert render_each(DEFAULT_TABLE, [], HEADERS) == "NETWORK ID   NAME      DRIVER    SCOPE\n"


def test_backslash_t_and_backslash_n_in_a_format_are_a_tab_and_a_newline():
    items = [netCtx({"Name": "web", "Driver": "bridge"})]
    assert render_each("table {{.Name}}\\t{{.Driver}}", items, HEADERS) == "NAME      DRIVER\nweb       bridge\n"
    assert render_each("{{.Name}}\\n", items) == "web\n\n"


def test_json_alone_prints_each_item_as_json():
    assert render_each("json", [{"Name": "web"}, {"Name": "db"}]) == '{"Name":"web"}\n{"Name":"db"}\n'


def test_json_of_a_listing_context_marshals_its_methods_without_arguments():
    assert (
        render_each("json", [netCtx({"ID": "a", "Name": "web"})])
        == '{"Driver":"","ID":"a","Labels":"","Name":"web","Scope":""}\n'
    )


def test_a_table_header_names_a_label_column_after_the_label_s_last_part():
    items = [netCtx({"Name": "web", "Labels": {"com.example.team-name": "infra"}})]
    assert (
        render_each('table {{.Name}}\t{{.Label "com.example.team-name"}}', items, HEADERS)
        == "NAME      team name\nweb       infra\n"
    )


def test_a_table_header_is_not_upper_cased_truncated_or_quoted_by_the_column_s_functions():
    items = [netCtx({"ID": "3f1c0a7e9b2d4c6e", "Name": "web"})]
    assert (
        render_each("table {{truncate .ID 4}}\t{{lower .Name}}\t{{json .Name}}\t{{pad .Name 1 1}}", items, HEADERS)
        == 'NETWORK ID   NAME      NAME       NAME \n3f1c         web       "web"      web \n'
    )


def test_a_header_column_without_a_name_prints_no_value():
    assert (
        render_each("table {{.Name}}\t{{.ID}}", [netCtx({"Name": "web", "ID": "a1"})], {})
        == "<no value>   <no value>\nweb          a1\n"
    )


def test_a_header_that_fails_keeps_what_it_printed_before_the_failure_as_docker_does():
    # len of a column name that is missing fails; docker ignores the header's error
    assert (
        render_each("table {{.Name}}\t{{len .Name}}", [netCtx({"Name": "web"})], {})
        == "<no value>   \nweb          3\n"
    )


def test_a_listing_in_which_one_item_fails_prints_nothing_and_raises():
    with pytest.raises(TemplateError, match="can't evaluate field Nope"):
        render_each("table {{.Name}}\t{{.Nope}}", [netCtx({"Name": "web"})], HEADERS)


def test_table_alignment_counts_wide_characters_as_two_terminal_columns():
    items = [netCtx({"Name": "日本語", "Driver": "bridge"}), netCtx({"Name": "e\u0301cole", "Driver": "null"})]
    assert (
        render_each("table {{.Name}}\t{{.Driver}}", items, HEADERS)
        == "NAME      DRIVER\n日本語    bridge\ne\u0301cole     null\n"
    )


# ---------------------------------------------------------------------------------------------
# Docker-CLI-typical templates on `docker network inspect` output


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "{{.Name}} {{json .IPAM.Config}}",
            'web-net [{"Gateway":"172.20.0.1","Subnet":"172.20.0.0/16"},{"Gateway":"fd00::1","Subnet":"fd00::/64"}]',
        ),
        ("{{range .IPAM.Config}}{{.Subnet}}{{end}}", "172.20.0.0/16fd00::/64"),
        ("{{(index .IPAM.Config 0).Gateway}}", "172.20.0.1"),
        (
            "{{range $id, $c := .Containers}}{{$c.Name}} {{$c.IPv4Address}} {{truncate $id 2}}\n{{end}}",
            "db 172.20.0.3/16 a3\nweb-1 172.20.0.2/16 b7\n",
        ),
        ("{{range .Containers}}{{.Name}}={{.MacAddress}} {{end}}", "db=02:42:ac:14:00:03 web-1=02:42:ac:14:00:02 "),
        ('{{index .Options "com.docker.network.bridge.name"}}', "br-web"),
        ('{{index .Labels "com.example.team"}}', "infra"),
        ("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "com.example.team=infra;env=prod;"),
        ("{{if .Internal}}internal{{else}}external{{end}}", "external"),
        (
            "{{.Driver}}/{{.Scope}} ipv6={{.EnableIPv6}} attachable={{.Attachable}}",
            "bridge/local ipv6=false attachable=true",
        ),
        ("{{len .Containers}} endpoints", "2 endpoints"),
        ("{{truncate .Id 12}}", "3f1c0a7e9b2d"),
        ("{{json .Options}}", '{"com.docker.network.bridge.name":"br-web","com.docker.network.driver.mtu":"1500"}'),
        ("{{.IPAM.Options}} {{json .IPAM.Options}}", "map[] {}"),
        ("{{with .ConfigFrom.Network}}{{.}}{{else}}-{{end}}", "-"),
        ("{{- range .IPAM.Config }}\n{{ .Subnet }}\n{{- end }}", "\n172.20.0.0/16\nfd00::/64"),
        ('{{printf "%-10s|%s" .Name .Created}}', "web-net   |2024-05-01T12:34:56.789012345Z"),
        ("{{upper .Driver}} {{title .Scope}}", "BRIDGE Local"),
        ("{{.Labels}}", "map[com.example.team:infra env:prod]"),
        ("{{.Foo}}", "<no value>"),
    ],
)
def test_typical_inspect_templates(text, expected):
    assert run(text, NETWORK) == expected


def test_json_of_the_whole_network_is_what_docker_prints_for_json_dot():
    assert json.loads(run("{{json .}}", NETWORK)) == NETWORK
    assert run("{{json .}}", NETWORK).startswith('{"Attachable":true,"ConfigFrom":{"Network":""},')


# ---------------------------------------------------------------------------------------------
# Cost: the client path imports this module on every command


def test_loading_the_module_imports_no_other_module():
    path = Path(gotemplate.__file__)
    code = (
        "import sys, importlib.util\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('gotemplate', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "m.compile('{{.Name}}').execute({'Name': 'x'})\n"
        "print(sorted(set(sys.modules) - before - {'gotemplate'}))\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in ("[]", "['__future__']")  # __future__: for the annotations


def test_importing_the_module_needs_no_importlib_tricks():
    spec = importlib.util.find_spec("pycnm.cli.gotemplate")
    assert spec is not None and spec.origin == gotemplate.__file__


# ---------------------------------------------------------------------------------------------
# Cases checked against Go.
#
# Each expected output and error below was produced by Go 1.19's text/template, with docker/cli's
# template functions (json, split, join, title, lower, upper, pad, truncate as docker defines
# them) and, for the tables, docker's formatter flow (header from the column names, tabwriter
# with minwidth 10, tabwidth 1, padding 3); the tables with wide characters were checked against
# docker's own tabwriter (which counts terminal columns). The first ~300 were written by hand (the
# examples of the task and the docs, the corners of printf, numbers, JSON, errors and tables); the
# rest were generated at random and kept one per kind of error, plus a sample of outputs. Run on
# the data `NET`, on the small values shown, or on a listing context {"__ctx__": {...}}.

# the frozen Go runs below stay as generated, one case per pair of lines
# fmt: off
# (template, data, missingkey, output, error)
GO_VERIFIED = [
    ('{{.Name}} {{json .IPAM.Config}}', NET, '',
     'web-net [{"Gateway":"172.20.0.1","Subnet":"172.20.0.0/16"},{"Gateway":"fd00::1","Subnet":"fd00::/64"}]', ''),
    ('{{range .Containers}}{{.Name}} {{end}}', NET, '',
     'db web-1 ', ''),
    ('{{index .Options "com.docker.network.bridge.name"}}', NET, '',
     'br-web', ''),
    ('{{join .Strs ","}}', NET, '',
     'x,y-z,w', ''),
    ('{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', NET, '',
     'com.example.team=infra;env=prod;', ''),
    ('{{if .Internal}}internal{{else}}external{{end}}', NET, '',
     'external', ''),
    ('{{- .Name -}}', NET, '',
     'web-net', ''),
    ('{{println .Name}}', NET, '',
     'web-net\n', ''),
    ('{{printf "%s-%d" .Name 3}}', NET, '',
     'web-net-3', ''),
    ('{{lower .Name}}', NET, '',
     'web-net', ''),
    ('{{upper .Name}}', NET, '',
     'WEB-NET', ''),
    ('{{title .Name}}', NET, '',
     'Web-Net', ''),
    ('{{split .Name "-"}}', NET, '',
     '[web net]', ''),
    ('{{len .Containers}}', NET, '',
     '2', ''),
    ('{{truncate .Id 12}}', NET, '',
     '3f1c0a7e9b2d', ''),
    ('{{pad .Name 1 1}}', NET, '',
     ' web-net ', ''),
    ('{{.Name | upper}}', NET, '',
     'WEB-NET', ''),
    ('{{with .IPAM}}{{.Driver}}{{end}}', NET, '',
     'default', ''),
    ('{{$n := .Name}}{{$n}}', NET, '',
     'web-net', ''),
    ('{{.Foo}}', NET, '',
     '<no value>', ''),
    ('{{.Foo.Bar}}', NET, '',
     '<no value>', ''),
    ('{{json .}}', NET, '',
     '{"Attachable":true,"Big":1e+21,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{"a3f9":{"EndpointID":"e2","IPv4Address":"172.20.0.3/16","IPv6Address":"","MacAddress":"02:42:ac:14:00:03","Name":"db"},"b7e1":{"EndpointID":"e1","IPv4Address":"172.20.0.2/16","IPv6Address":"","MacAddress":"02:42:ac:14:00:02","Name":"web-1"}},"Created":"2024-05-01T12:34:56.789012345Z","Ctl":"tab\\there\\nnl \\u2028 \\u0001","Driver":"bridge","Empty":[],"EmptyMap":{},"EnableIPv6":false,"Float":3.5,"Html":"<a href=\\"x\\">&amp;</a>","IPAM":{"Config":[{"Gateway":"172.20.0.1","Subnet":"172.20.0.0/16"},{"Gateway":"fd00::1","Subnet":"fd00::/64"}],"Driver":"default","Options":{}},"Id":"3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a","Ingress":false,"Internal":false,"Labels":{"com.example.team":"infra","env":"prod"},"List":[1,"a",null,2.5,true,{"k":"v"}],"Mid":1234567,"Name":"web-net","Neg":-7,"Null":null,"Num":42,"Options":{"com.docker.network.bridge.name":"br-web","com.docker.network.driver.mtu":"1500"},"Quote":"it\'s \\"q\\"","Scope":"local","Small":1e-7,"Strs":["x","y-z","w"],"True":true,"Uni":"héllo wörld 日本","Whole":2,"Zero":0}', ''),
    ('{{json .Labels}}', NET, '',
     '{"com.example.team":"infra","env":"prod"}', ''),
    ('{{json .Html}}', NET, '',
     '"<a href=\\"x\\">&amp;</a>"', ''),
    ('{{json .Ctl}}', NET, '',
     '"tab\\there\\nnl \\u2028 \\u0001"', ''),
    ('{{json .Uni}}', NET, '',
     '"héllo wörld 日本"', ''),
    ('{{.Containers}}', NET, '',
     'map[a3f9:map[EndpointID:e2 IPv4Address:172.20.0.3/16 IPv6Address: MacAddress:02:42:ac:14:00:03 Name:db] b7e1:map[EndpointID:e1 IPv4Address:172.20.0.2/16 IPv6Address: MacAddress:02:42:ac:14:00:02 Name:web-1]]', ''),
    ('{{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}}\n{{end}}', NET, '',
     '172.20.0.0/16 via 172.20.0.1\nfd00::/64 via fd00::1\n', ''),
    ('{{range .Empty}}x{{else}}empty{{end}}', NET, '',
     'empty', ''),
    ('{{range .EmptyMap}}x{{else}}empty map{{end}}', NET, '',
     'empty map', ''),
    ('{{range .Missing}}x{{else}}missing{{end}}', NET, '',
     'missing', ''),
    ('{{$}}', NET, '',
     'map[Attachable:true Big:1e+21 ConfigFrom:map[Network:] ConfigOnly:false Containers:map[a3f9:map[EndpointID:e2 IPv4Address:172.20.0.3/16 IPv6Address: MacAddress:02:42:ac:14:00:03 Name:db] b7e1:map[EndpointID:e1 IPv4Address:172.20.0.2/16 IPv6Address: MacAddress:02:42:ac:14:00:02 Name:web-1]] Created:2024-05-01T12:34:56.789012345Z Ctl:tab\there\nnl \u2028 \x01 Driver:bridge Empty:[] EmptyMap:map[] EnableIPv6:false Float:3.5 Html:<a href="x">&amp;</a> IPAM:map[Config:[map[Gateway:172.20.0.1 Subnet:172.20.0.0/16] map[Gateway:fd00::1 Subnet:fd00::/64]] Driver:default Options:map[]] Id:3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a Ingress:false Internal:false Labels:map[com.example.team:infra env:prod] List:[1 a <nil> 2.5 true map[k:v]] Mid:1.234567e+06 Name:web-net Neg:-7 Null:<nil> Num:42 Options:map[com.docker.network.bridge.name:br-web com.docker.network.driver.mtu:1500] Quote:it\'s "q" Scope:local Small:1e-07 Strs:[x y-z w] True:true Uni:héllo wörld 日本 Whole:2 Zero:0]', ''),
    ('{{$.IPAM.Driver}}', NET, '',
     'default', ''),
    ('{{.Null}}', NET, '',
     '<no value>', ''),
    ('{{.List}}', NET, '',
     '[1 a <nil> 2.5 true map[k:v]]', ''),
    ('{{printf "%v" .Null}}', NET, '',
     '<nil>', ''),
    ('{{print .Missing}}', NET, '',
     '<nil>', ''),
    ('{{.Num}} {{.Float}} {{.Whole}} {{.Big}} {{.Small}} {{.Mid}} {{.Neg}}', NET, '',
     '42 3.5 2 1e+21 1e-07 1.234567e+06 -7', ''),
    ('{{json .Big}} {{json .Small}} {{json .Whole}} {{json .Mid}}', NET, '',
     '1e+21 1e-7 2 1234567', ''),
    ('{{eq .Driver "bridge" "overlay"}}', NET, '',
     'true', ''),
    ('{{ne .Num 42}}', NET, '',
     'false', ''),
    ('{{lt .Num 50}}', NET, '',
     'true', ''),
    ('{{le 1 1}}', NET, '',
     'true', ''),
    ('{{gt .Float 3.4}}', NET, '',
     'true', ''),
    ('{{ge "b" "a"}}', NET, '',
     'true', ''),
    ('{{and .Attachable .Name}}', NET, '',
     'web-net', ''),
    ('{{or .Internal .Missing "dflt"}}', NET, '',
     'dflt', ''),
    ('{{not .EnableIPv6}}', NET, '',
     'true', ''),
    ('{{and}}', NET, '',
     '', 'template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0'),
    ('{{eq .Num 42.0}}', NET, '',
     '', 'template: :1:2: executing "" at <eq .Num 42.0>: error calling eq: incompatible types for comparison'),
    ('{{if and .Attachable (not .Internal)}}ok{{end}}', NET, '',
     'ok', ''),
    ('{{len .Uni}}', NET, '',
     '20', ''),
    ('{{index .Uni 1}}', NET, '',
     '195', ''),
    ('{{slice .Uni 0 2}}', NET, '',
     'h�', ''),
    ('{{slice .Strs 1}}', NET, '',
     '[y-z w]', ''),
    ('{{index .List 5}}', NET, '',
     'map[k:v]', ''),
    ('{{index .List 6}}', NET, '',
     '', 'template: :1:2: executing "" at <index .List 6>: error calling index: reflect: slice index out of range'),
    ('{{index .IPAM.Config 0 "Subnet"}}', NET, '',
     '172.20.0.0/16', ''),
    ('{{html .Html}}', NET, '',
     '&lt;a href=&#34;x&#34;&gt;&amp;amp;&lt;/a&gt;', ''),
    ('{{js .Quote}}', NET, '',
     'it\\\'s \\"q\\"', ''),
    ('{{urlquery .Uni " x&y"}}', NET, '',
     'h%C3%A9llo+w%C3%B6rld+%E6%97%A5%E6%9C%AC+x%26y', ''),
    ('{{html .Missing}}', NET, '',
     '&lt;no value&gt;', ''),
    ('{{printf "%q" .Strs}}', NET, '',
     '["x" "y-z" "w"]', ''),
    ('{{printf "%d" .List}}', NET, '',
     '[1 %!d(string=a) <nil> %!d(float64=2.5) %!d(bool=true) map[%!d(string=k):%!d(string=v)]]', ''),
    ('{{printf "%s %s" .Name}}', NET, '',
     'web-net %!s(MISSING)', ''),
    ('{{printf "%s" .Name .Num}}', NET, '',
     'web-net%!(EXTRA int=42)', ''),
    ('{{printf "%[2]s %[1]s" "a" "b"}}', NET, '',
     'b a', ''),
    ('{{printf "%T %T %T %T %T" .Name .Num .Float .List .Labels}}', NET, '',
     'string int float64 []interface {} map[string]interface {}', ''),
    ('{{printf "%T" (split .Name "-")}}', NET, '',
     '[]string', ''),
    ('{{printf "%#v" .Labels}}', NET, '',
     'map[string]interface {}{"com.example.team":"infra", "env":"prod"}', ''),
    ('{{printf "%#v" .List}}', NET, '',
     '[]interface {}{1, "a", interface {}(nil), 2.5, true, map[string]interface {}{"k":"v"}}', ''),
    ('{{printf "%+v" .Labels}}', NET, '',
     'map[com.example.team:infra env:prod]', ''),
    ('{{printf "%x" .Name}}', NET, '',
     '7765622d6e6574', ''),
    ('{{printf "% X" .Name}}', NET, '',
     '77 65 62 2D 6E 65 74', ''),
    ('{{printf "%8.3f|%-8.2e|%+g" .Float .Big .Small}}', NET, '',
     '   3.500|1.00e+21|+1e-07', ''),
    ('{{printf "%v %g %e %f %.3g" 1e21 1e20 123456789.0 0.000001 2.0}}', NET, '',
     '1e+21 1e+20 1.234568e+08 0.000001 2', ''),
    ('{{printf "%05d|%-5d|%+d|% d|%x|%X|%o|%#o|%#x|%b|%c|%q|%U|%#U" 42 42 42 42 255 255 8 8 255 5 65 66 233 233}}', NET, '',
     "00042|42   |+42| 42|ff|FF|10|010|0xff|101|A|'B'|U+00E9|U+00E9 'é'", ''),
    ('{{printf "%5t|%-7v|%q|%#q|%+q" true false "a\\"b" "raw" "é"}}', NET, '',
     ' true|false  |"a\\"b"|`raw`|"\\u00e9"', ''),
    ('{{printf "%.2s|%5.1s|%-6s|%06s" "abcdef" "xyz" "ab" "ab"}}', NET, '',
     'ab|    x|ab    |0000ab', ''),
    ('{{printf "%*d|%-*d|%.*f" 5 42 4 7 2 3.14159}}', NET, '',
     '   42|7   |3.14', ''),
    ('{{printf "%!" 1}}', NET, '',
     '%!!(int=1)', ''),
    ('{{printf "%z" 1}}', NET, '',
     '%!z(int=1)', ''),
    ('{{printf "%d %%"}}', NET, '',
     '%!d(MISSING) %', ''),
    ('{{printf "%v" nil}}', NET, '',
     '<nil>', ''),
    ('{{printf "%d" nil}}', NET, '',
     '%!d(<nil>)', ''),
    ('{{printf "%s" .Missing}}', NET, '',
     '%!s(<nil>)', ''),
    ('{{printf "%.0f %.1f %.2f" 2.5 0.05 1.005}}', NET, '',
     '2 0.1 1.00', ''),
    ('{{printf "%6.2f%%" 99.5}}', NET, '',
     ' 99.50%', ''),
    ('{{printf "%v" 100000.0}} {{printf "%v" 1000000.0}} {{printf "%v" -0.0}}', NET, '',
     '100000 1e+06 -0', ''),
    ('{{printf "%g %G %e %E" 1e-7 1e-7 1e-7 1e-7}}', NET, '',
     '1e-07 1E-07 1.000000e-07 1.000000E-07', ''),
    ('{{printf "%#g %#.3g %#e" 1.0 2.0 3.0}}', NET, '',
     '1.00000 2.00 3.000000e+00', ''),
    ("{{'a'}} {{'\\n'}} {{0x1F}} {{1e3}} {{0o17}} {{0b101}} {{1_000}} {{-0}} {{017}} {{.5}} {{0x1p-2}}", NET, '',
     '97 10 31 1000 15 5 1000 0 15 0.5 0.25', ''),
    ('{{08}}', NET, '',
     '', 'template: :1: integer overflow: "08"'),
    ('{{1.2.3}}', NET, '',
     '', 'template: :1: unexpected ".3" in operand'),
    ('{{99999999999999999999}}', NET, '',
     '', 'template: :1: integer overflow: "99999999999999999999"'),
    ('{{18446744073709551615}}', NET, '',
     '', 'template: :1:2: executing "" at <18446744073709551615>: 18446744073709551615 overflows int'),
    ('{{"a\\x41\\u00e9\\101"}}', NET, '',
     'aAéA', ''),
    ('{{"\\q"}}', NET, '',
     '', 'template: :1: invalid syntax'),
    ('{{`a\\nb`}}', NET, '',
     'a\\nb', ''),
    ('{{true}} {{false}} {{nil}}', NET, '',
     'true false ', 'template: :1:21: executing "" at <nil>: nil is not a command'),
    ('{{.Name.}}', NET, '',
     '', 'template: :1: unexpected <.> in operand'),
    ('{{.Name | "x"}}', NET, '',
     '', 'template: :1: non executable command in pipeline stage 2'),
    ('{{.Name |}}', NET, '',
     'web-net', ''),
    ('{{if .Name}}', NET, '',
     '', 'template: :1: unexpected EOF'),
    ('{{end}}', NET, '',
     '', 'template: :1: unexpected {{end}}'),
    ('{{else}}', NET, '',
     '', 'template: :1: unexpected {{else}}'),
    ('{{range .List}}{{break}}{{end}}x', NET, '',
     'x', ''),
    ('{{break}}', NET, '',
     '', 'template: :1: {{break}} outside {{range}}'),
    ('{{$x}}', NET, '',
     '', 'template: :1: undefined variable "$x"'),
    ('{{$x = 3}}', NET, '',
     '', 'template: :1:7: executing "" at <3>: undefined variable: $x'),
    ('{{$x := 1}}{{$x = 2}}{{$x}}', NET, '',
     '2', ''),
    ('{{range $i, $e := .Strs}}{{$i}}:{{$e}} {{end}}', NET, '',
     '0:x 1:y-z 2:w ', ''),
    ('{{range $e := .Strs}}{{$e}}{{end}}', NET, '',
     'xy-zw', ''),
    ('{{range $a, $b, $c := .Strs}}{{end}}', NET, '',
     '', 'template: :1: too many declarations in range'),
    ('{{range $v := .Empty}}{{else}}{{$v}}{{end}}', NET, '',
     '[]', ''),
    ('{{with $x := .Name}}{{$x}}{{end}}', NET, '',
     'web-net', ''),
    ('{{if eq .Driver "bridge"}}b{{else if eq .Driver "overlay"}}o{{else}}?{{end}}', NET, '',
     'b', ''),
    ('{{/* comment */}}x', NET, '',
     'x', ''),
    ('{{/* unclosed', NET, '',
     '', 'template: :1: unclosed comment'),
    ('{{- /* trim */ -}} x', NET, '',
     'x', ''),
    ('a {{- .Name}} b', NET, '',
     'aweb-net b', ''),
    ('a {{.Name -}} b', NET, '',
     'a web-netb', ''),
    ('{{-3}}', NET, '',
     '-3', ''),
    ('{{- 3}}', NET, '',
     '3', ''),
    ('{{.Name-}}', NET, '',
     '', "template: :1: bad character U+002D '-'"),
    ('{{.Name "arg"}}', NET, '',
     '', 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'),
    ('{{.Missing "arg"}}', NET, '',
     '', 'template: :1:2: executing "" at <.Missing>: Missing is not a method but has arguments'),
    ('{{index .Labels 3}}', NET, '',
     '', 'template: :1:2: executing "" at <index .Labels 3>: error calling index: value has type int; should be string'),
    ('{{index .Labels nil}}', NET, '',
     '', 'template: :1:2: executing "" at <index .Labels nil>: error calling index: value is nil; should be of type string'),
    ('{{index nil 1}}', NET, '',
     '', 'template: :1:2: executing "" at <index nil 1>: error calling index: index of untyped nil'),
    ('{{index .Null 1}}', NET, '',
     '', 'template: :1:2: executing "" at <index .Null 1>: error calling index: index of untyped nil'),
    ('{{index .Labels "nope"}}', NET, '',
     '<no value>', ''),
    ('{{len nil}}', NET, '',
     '', 'template: :1:2: executing "" at <len nil>: error calling len: reflect: call of reflect.Value.Type on zero Value'),
    ('{{len .Null}}', NET, '',
     '', 'template: :1:2: executing "" at <len .Null>: error calling len: len of nil pointer'),
    ('{{len .Missing}}', NET, '',
     '', 'template: :1:2: executing "" at <len .Missing>: error calling len: reflect: call of reflect.Value.Type on zero Value'),
    ('{{len 3}}', NET, '',
     '', 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
    ('{{upper .Missing}}', NET, '',
     '', 'template: :1:8: executing "" at <.Missing>: invalid value; expected string'),
    ('{{upper .Null}}', NET, '',
     '', 'template: :1:8: executing "" at <.Null>: wrong type for value; expected string; got interface {}'),
    ('{{upper nil}}', NET, '',
     '', 'template: :1:8: executing "" at <nil>: cannot assign nil to string'),
    ('{{upper 3}}', NET, '',
     '', 'template: :1:8: executing "" at <3>: expected string; found 3'),
    ('{{truncate .Name "3"}}', NET, '',
     '', 'template: :1:17: executing "" at <"3">: expected integer; found "3"'),
    ('{{truncate .Name 1.0}}', NET, '',
     'w', ''),
    ('{{truncate .Name 1.5}}', NET, '',
     '', 'template: :1:17: executing "" at <1.5>: expected integer; found 1.5'),
    ('{{join .Labels "/"}}', NET, '',
     'infra/prod', ''),
    ('{{join .List "/"}}', NET, '',
     '1/a/<nil>/2.5/true/map[k:v]', ''),
    ('{{join .Missing ","}}', NET, '',
     '', ''),
    ('{{join .Name ","}}', NET, '',
     '', 'template: :1:2: executing "" at <join .Name ",">: error calling join: expected slice, got string'),
    ('{{split "" ""}}', NET, '',
     '[]', ''),
    ('{{split "abc" ""}}', NET, '',
     '[a b c]', ''),
    ('{{title "hello wörld-foo_bar x.y"}}', NET, '',
     'Hello Wörld-Foo_bar X.Y', ''),
    ('{{upper "straße"}}', NET, '',
     'STRAßE', ''),
    ('{{lower "ÀÉÎ"}}', NET, '',
     'àéî', ''),
    ('{{json .Missing}}', NET, '',
     'null', ''),
    ('{{json nil}}', NET, '',
     'null', ''),
    ('{{eq nil nil}}', NET, '',
     'true', ''),
    ('{{eq .Missing .Null}}', NET, '',
     'true', ''),
    ('{{eq .Labels .Labels}}', NET, '',
     '', 'template: :1:2: executing "" at <eq .Labels .Labels>: error calling eq: non-comparable type map[com.example.team:infra env:prod]: map[string]interface {}'),
    ('{{eq .List .Labels}}', NET, '',
     '', 'template: :1:2: executing "" at <eq .List .Labels>: error calling eq: non-comparable types [%!s(int=1) a <nil> %!s(float64=2.5) %!s(bool=true) map[k:v]]: []interface {}, map[string]interface {}: map[com.example.team:infra env:prod]'),
    ('{{eq .Num}}', NET, '',
     '', 'template: :1:2: executing "" at <eq .Num>: error calling eq: missing argument for comparison'),
    ('{{lt true false}}', NET, '',
     '', 'template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison'),
    ('{{lt .Num 1.5}}', NET, '',
     '', 'template: :1:2: executing "" at <lt .Num 1.5>: error calling lt: incompatible types for comparison'),
    ('{{lt .List 1}}', NET, '',
     '', 'template: :1:2: executing "" at <lt .List 1>: error calling lt: invalid type for comparison'),
    ('{{(index .IPAM.Config 0).Subnet}}', NET, '',
     '172.20.0.0/16', ''),
    ('{{(.IPAM).Driver}}', NET, '',
     'default', ''),
    ('{{nil.Foo}}', NET, '',
     '', 'template: :1: unexpected . after term "nil"'),
    ('{{"x".Foo}}', NET, '',
     '', 'template: :1: unexpected . after term "\\"x\\""'),
    ('{{.Name | printf "%s!" | upper}}', NET, '',
     'WEB-NET!', ''),
    ('{{.Num | printf "%d-%s" "x"}}', NET, '',
     '%!d(string=x)-%!s(int=42)', ''),
    ('{{3 | printf "%d"}}', NET, '',
     '3', ''),
    ('{{"a" "b"}}', NET, '',
     '', 'template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"'),
    ('{{.Name .Id}}', NET, '',
     '', 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'),
    ('{{$ := 1}}', NET, '',
     '', ''),
    ('{{(1) 2}}', NET, '',
     '', 'template: :1:2: executing "" at <(1) 2>: can\'t give argument to non-function 1'),
    ('{{.Name | (printf "x")}}', NET, '',
     '', 'template: :1:2: executing "" at <.Name>: can\'t give argument to non-function printf "x"'),
    ('{{call .Name}}', NET, '',
     '', 'template: :1:2: executing "" at <call .Name>: error calling call: non-function of type string'),
    ('{{call nil}}', NET, '',
     '', 'template: :1:2: executing "" at <call nil>: error calling call: call of nil'),
    ('{{with .Missing}}x{{else}}none{{end}}', NET, '',
     'none', ''),
    ('{{with .Containers}}{{range .}}{{.IPv4Address}},{{end}}{{end}}', NET, '',
     '172.20.0.3/16,172.20.0.2/16,', ''),
    ('{{range $id, $c := .Containers}}{{truncate $id 2}}={{$c.Name}} {{end}}', NET, '',
     'a3=db b7=web-1 ', ''),
    ('{{.IPAM.Config}}', NET, '',
     '[map[Gateway:172.20.0.1 Subnet:172.20.0.0/16] map[Gateway:fd00::1 Subnet:fd00::/64]]', ''),
    ('{{printf "%v" .IPAM}}', NET, '',
     'map[Config:[map[Gateway:172.20.0.1 Subnet:172.20.0.0/16] map[Gateway:fd00::1 Subnet:fd00::/64]] Driver:default Options:map[]]', ''),
    ('{{println .Name .Num "x" 1}}', NET, '',
     'web-net 42 x 1\n', ''),
    ('{{print .Name .Num "x" 1 2 .Float}}', NET, '',
     'web-net42x1 2 3.5', ''),
    ('{{print}}', NET, '',
     '', ''),
    ('{{println}}', NET, '',
     '\n', ''),
    ('{{printf}}', NET, '',
     '', 'template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0'),
    ('{{"é" | len}}', NET, '',
     '2', ''),
    ('{{index "é" 0}}', NET, '',
     '195', ''),
    ('{{index "é" 2}}', NET, '',
     '', 'template: :1:2: executing "" at <index "é" 2>: error calling index: reflect: string index out of range'),
    ('{{slice "héllo" 1 3}}', NET, '',
     'é', ''),
    ('{{.Uni | printf "%8s|%-8s|%.3s"}}', NET, '',
     'héllo wörld 日本|%!s(MISSING)|%!s(MISSING)', ''),
    ('{{printf "%5q" "é"}}', NET, '',
     '  "é"', ''),
    ('{{printf "%x" 3.5}}', NET, '',
     '0x1.cp+01', ''),
    ('{{printf "%v" .True}}', NET, '',
     'true', ''),
    ('{{printf "%v|%d" (index .Uni 0) (index .Uni 0)}}', NET, '',
     '104|104', ''),
    ('{{printf "%#v" (index .Uni 0)}}', NET, '',
     '0x68', ''),
    ('{{printf "%s" .List}}', NET, '',
     '[%!s(int=1) a <nil> %!s(float64=2.5) %!s(bool=true) map[k:v]]', ''),
    ('{{printf "%v" .Big}} {{.Big | printf "%.0f"}} {{printf "%d" .Whole}}', NET, '',
     '1e+21 1000000000000000000000 %!d(float64=2)', ''),
    ('{{printf "%.3v" .Name}}', NET, '',
     'web', ''),
    ('{{.Foo}}', NET, 'error',
     '', 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"'),
    ('{{.Foo}}', NET, 'zero',
     '<no value>', ''),
    ('{{.Foo.Bar}}', NET, 'error',
     '', 'template: :1:6: executing "" at <.Foo.Bar>: map has no entry for key "Foo"'),
    ('{{.Foo.Bar}}', NET, 'zero',
     '', 'template: :1:6: executing "" at <.Foo.Bar>: nil pointer evaluating interface {}.Bar'),
    ('{{.Name}}', NET, 'error',
     'web-net', ''),
    ('{{.Name}}', NET, 'zero',
     'web-net', ''),
    ('{{.Labels.nope}}', NET, 'error',
     '', 'template: :1:9: executing "" at <.Labels.nope>: map has no entry for key "nope"'),
    ('{{.Labels.nope}}', NET, 'zero',
     '<no value>', ''),
    ('{{.IPAM.Config.Subnet}}', NET, 'error',
     '', 'template: :1:7: executing "" at <.IPAM.Config.Subnet>: can\'t evaluate field Subnet in type interface {}'),
    ('{{.IPAM.Config.Subnet}}', NET, 'zero',
     '', 'template: :1:7: executing "" at <.IPAM.Config.Subnet>: can\'t evaluate field Subnet in type interface {}'),
    ('{{index .Labels "nope"}}', NET, 'error',
     '<no value>', ''),
    ('{{index .Labels "nope"}}', NET, 'zero',
     '<no value>', ''),
    ('{{.Null.X}}', NET, 'error',
     '', 'template: :1:7: executing "" at <.Null.X>: nil pointer evaluating interface {}.X'),
    ('{{.Null.X}}', NET, 'zero',
     '', 'template: :1:7: executing "" at <.Null.X>: nil pointer evaluating interface {}.X'),
    ('{{.}}', None, '',
     '<no value>', ''),
    ('{{.Foo}}', None, '',
     '<no value>', ''),
    ('{{$}}', None, '',
     '<no value>', ''),
    ('{{json .}}', None, '',
     'null', ''),
    ('{{.ID}} {{.Label "com.example"}}', None, '',
     '<no value> <no value>', ''),
    ('{{.Label}}', None, '',
     '<no value>', ''),
    ('{{.Label 3}}', None, '',
     '<no value>', ''),
    ('{{.Label "a" "b"}}', None, '',
     '<no value>', ''),
    ('{{.ID "x"}}', None, '',
     '<no value>', ''),
    ('{{printf "%v|%s|%d" . . .}}', None, '',
     '<nil>|%!s(<nil>)|%!d(<nil>)', ''),
    ('{{range .}}{{.}}{{end}}', None, '',
     '', ''),
    ('{{len .}}', None, '',
     '', 'template: :1:2: executing "" at <len .>: error calling len: reflect: call of reflect.Value.Type on zero Value'),
    ('{{.Name | upper}}', None, '',
     '', 'template: :1:10: executing "" at <upper>: invalid value; expected string'),
    ('{{with .Name}}{{.}}{{end}}', None, '',
     '', ''),
    ('{{.}}', 5, '',
     '5', ''),
    ('{{.Foo}}', 5, '',
     '', 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type int'),
    ('{{$}}', 5, '',
     '5', ''),
    ('{{json .}}', 5, '',
     '5', ''),
    ('{{.ID}} {{.Label "com.example"}}', 5, '',
     '', 'template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type int'),
    ('{{.Label}}', 5, '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type int'),
    ('{{.Label 3}}', 5, '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type int'),
    ('{{.Label "a" "b"}}', 5, '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type int'),
    ('{{.ID "x"}}', 5, '',
     '', 'template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type int'),
    ('{{printf "%v|%s|%d" . . .}}', 5, '',
     '5|%!s(int=5)|5', ''),
    ('{{range .}}{{.}}{{end}}', 5, '',
     '', 'template: :1:8: executing "" at <.>: range can\'t iterate over 5'),
    ('{{len .}}', 5, '',
     '', 'template: :1:2: executing "" at <len .>: error calling len: len of type int'),
    ('{{.Name | upper}}', 5, '',
     '', 'template: :1:2: executing "" at <.Name>: can\'t evaluate field Name in type int'),
    ('{{with .Name}}{{.}}{{end}}', 5, '',
     '', 'template: :1:7: executing "" at <.Name>: can\'t evaluate field Name in type int'),
    ('{{.}}', 's', '',
     's', ''),
    ('{{.Foo}}', 's', '',
     '', 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type string'),
    ('{{$}}', 's', '',
     's', ''),
    ('{{json .}}', 's', '',
     '"s"', ''),
    ('{{.ID}} {{.Label "com.example"}}', 's', '',
     '', 'template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type string'),
    ('{{.Label}}', 's', '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type string'),
    ('{{.Label 3}}', 's', '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type string'),
    ('{{.Label "a" "b"}}', 's', '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type string'),
    ('{{.ID "x"}}', 's', '',
     '', 'template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type string'),
    ('{{printf "%v|%s|%d" . . .}}', 's', '',
     's|s|%!d(string=s)', ''),
    ('{{range .}}{{.}}{{end}}', 's', '',
     '', 'template: :1:8: executing "" at <.>: range can\'t iterate over s'),
    ('{{len .}}', 's', '',
     '1', ''),
    ('{{.Name | upper}}', 's', '',
     '', 'template: :1:2: executing "" at <.Name>: can\'t evaluate field Name in type string'),
    ('{{with .Name}}{{.}}{{end}}', 's', '',
     '', 'template: :1:7: executing "" at <.Name>: can\'t evaluate field Name in type string'),
    ('{{.}}', [1, 2], '',
     '[1 2]', ''),
    ('{{.Foo}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type []interface {}'),
    ('{{$}}', [1, 2], '',
     '[1 2]', ''),
    ('{{json .}}', [1, 2], '',
     '[1,2]', ''),
    ('{{.ID}} {{.Label "com.example"}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type []interface {}'),
    ('{{.Label}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type []interface {}'),
    ('{{.Label 3}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type []interface {}'),
    ('{{.Label "a" "b"}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.Label>: can\'t evaluate field Label in type []interface {}'),
    ('{{.ID "x"}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type []interface {}'),
    ('{{printf "%v|%s|%d" . . .}}', [1, 2], '',
     '[1 2]|[%!s(int=1) %!s(int=2)]|[1 2]', ''),
    ('{{range .}}{{.}}{{end}}', [1, 2], '',
     '12', ''),
    ('{{len .}}', [1, 2], '',
     '2', ''),
    ('{{.Name | upper}}', [1, 2], '',
     '', 'template: :1:2: executing "" at <.Name>: can\'t evaluate field Name in type []interface {}'),
    ('{{with .Name}}{{.}}{{end}}', [1, 2], '',
     '', 'template: :1:7: executing "" at <.Name>: can\'t evaluate field Name in type []interface {}'),
    ('{{.}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     'ctx:0123456789abcdef', ''),
    ('{{.Foo}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '', 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *main.netCtx'),
    ('{{$}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     'ctx:0123456789abcdef', ''),
    ('{{json .}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '{"Driver":"","ID":"0123456789abcdef","Labels":"com.example=v","Name":"n1","Scope":""}', ''),
    ('{{.ID}} {{.Label "com.example"}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '0123456789abcdef v', ''),
    ('{{.Label}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '', 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0'),
    ('{{.Label 3}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '', 'template: :1:9: executing "" at <3>: expected string; found 3'),
    ('{{.Label "a" "b"}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '', 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 2'),
    ('{{.ID "x"}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '', 'template: :1:2: executing "" at <.ID>: wrong number of args for ID: want 0 got 1'),
    ('{{len .}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     '', 'template: :1:2: executing "" at <len .>: error calling len: len of type main.netCtx'),
    ('{{.Name | upper}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     'N1', ''),
    ('{{with .Name}}{{.}}{{end}}', {'__ctx__': {'ID': '0123456789abcdef', 'Name': 'n1', 'Labels': {'com.example': 'v'}}}, '',
     'n1', ''),
    (' | {{- html slice .Uni 9 0}}{{- slice .List 0 2 1}}{{- truncate .Uni 100}} {{end}}', NET, '',
     '', 'template: :1: unexpected {{end}}'),
    ('{{with truncate .Html .Num}}{{$x := `raw`}}{{$x}} {{$x.Name}}{{end}} {{lt (slice .Missing 1 3 1).X nil  (.Big).Config -}}\n {{.}} ', NET, '',
     'raw ', 'template: :1:54: executing "" at <$x.Name>: can\'t evaluate field Name in type string'),
    (' | {{lt index .IPAM.Config -1 "Gateway" | len .Created -}}{{$x := lower .Html}}{{$x}} {{$x.Name}}', NET, 'zero',
     ' | ', 'template: :1:5: executing "" at <lt>: wrong number of args for lt: want 2 got 4'),
    (' {{html and ne .Options true $.Name}}\n', NET, '',
     ' ', 'template: :1:8: executing "" at <and>: wrong number of args for and: want at least 1 got 0'),
    ('{{- and join (split .Name "-") "," or gt .Neg .Small upper "a-b-c"}} {{if printf "%X" }} {{print  -}}{{end}}x {{slice .Uni }}', NET, 'zero',
     '', 'template: :1:8: executing "" at <join>: wrong number of args for join: want 2 got 0'),
    ('{{if .Name}} | {{upper .Html -}} ', NET, '',
     '', 'template: :1: unexpected EOF'),
    ('{{if gt and .Zero .Labels .Driver | len}}\n{{index .IPAM.Config 0 "Subnet" -}};{{else}} {{json "lit" -}}\n{{end}}', NET, 'error',
     '', 'template: :1:5: executing "" at <gt>: wrong number of args for gt: want 2 got 4'),
    ('x {{not .IPAM.Config.Subnet -}}\n', NET, 'error',
     'x ', 'template: :1:13: executing "" at <.IPAM.Config.Subnet>: can\'t evaluate field Subnet in type interface {}'),
    ('\n{{.Small}}\n{{range $k, $v := .Ctl}}{{$k}}={{$v}}{{range .Num}}[{{- printf "%#x" }}]{{else}}none{{end}}\n{{- .Missing -}} ;{{end}}', NET, 'zero',
     '\n1e-07\n', 'template: :3:18: executing "" at <.Ctl>: range can\'t iterate over tab\there\nnl \u2028 \x01'),
    (' | {{eq 1.5 .Attachable | eq 3}};x {{- lower .Quote}}a {{/* c */}} b {{- /* d */ -}} c', NET, '',
     ' | ', 'template: :1:5: executing "" at <eq 1.5 .Attachable>: error calling eq: incompatible types for comparison'),
    ('x {{lower .Name}}x {{.Num{{end}}}}{{.Zero}};', NET, '',
     '', "template: :1: bad character U+007B '{'"),
    ('\n{{- split .Quote .Num -}}\n', NET, '',
     '', 'template: :2:17: executing "" at <.Num>: wrong type for value; expected string; got int'),
    ('{{with .IPAM}} {{or (.Float).X .Options}};{{if index .IPAM.Config 0 "x"}}A{{else if html .Big}}B{{else}}C{{end}}{{else}}nothing{{end}}', NET, '',
     ' map[];', 'template: :1:47: executing "" at <index .IPAM.Config 0 "x">: error calling index: index of untyped nil'),
    ('{{with .Driver}} | {{.Zero}}\n{{else}}nothing{{end}}', NET, '',
     ' | ', 'template: :1:21: executing "" at <.Zero>: can\'t evaluate field Zero in type string'),
    ('x {{js upper .Quote}}{{with pad .Uni 0 1}} {{slice .Name 3}}{{end}}', NET, '',
     'x ', 'template: :1:7: executing "" at <upper>: wrong number of args for upper: want 1 got 0'),
    ('{{range .IPAM.Driver}}[ | {{.IPAM.Options}} ]{{end}}', NET, 'zero',
     '', 'template: :1:13: executing "" at <.IPAM.Driver>: range can\'t iterate over default'),
    (' | {{- true}}; | {{json js .Attachable -}}\n {{- gt .Zero lower .Name}}', NET, '',
     ' |true; | ', 'template: :1:19: executing "" at <json>: wrong number of args for json: want 1 got 2'),
    ('{{if .Uni}} | {{pad .Name 1 3}}\n{{with println print  | index .Labels .Containers .Scope}}{{.Zero}}\n{{end}}{{end}}', NET, 'error',
     ' |  web-net   \n', 'template: :2:24: executing "" at <index .Labels .Containers .Scope>: error calling index: value has type map[string]interface {}; should be string'),
    (' {{- lower "Hello world foo_bar"}};{{range $v := $}}{{$v}}{{$v.Name}},{{end}}', NET, '',
     'hello world foo_bar;true', 'template: :1:62: executing "" at <$v.Name>: can\'t evaluate field Name in type interface {}'),
    ('{{range .Empty}}[a {{/* c */}} b {{- /* d */ -}} c]{{end}} {{le ne .Quote .Strs js ne .Scope .Attachable}}\n', NET, 'error',
     ' ', 'template: :1:61: executing "" at <le>: wrong number of args for le: want 2 got 7'),
    ('{{if truncate .Uni -1}}a {{/* c */}} b {{- /* d */ -}} c | {{.Scope -}};{{end}}', NET, 'error',
     '', 'template: :1:5: executing "" at <truncate .Uni -1>: error calling truncate: runtime error: slice bounds out of range [:-1]'),
    ('{{index not "lit" 5 -}} {{lower .Float}}\n', 5, '',
     '', 'template: :1:8: executing "" at <not>: wrong number of args for not: want 1 got 0'),
    ('x {{lt js eq .Created .Num .IPAM.Config.Subnet}}{{if 0x1F}}\n{{lt 3 and split .Uni .Num index .IPAM.Config -1 ', NET, '',
     '', 'template: :2: unclosed action'),
    ('{{with pad .Driver 0 3}} | {{title .Id}};{{else}}nothing{{end}}', NET, '',
     ' | ', 'template: :1:35: executing "" at <.Id>: can\'t evaluate field Id in type string'),
    ('x {{1.5 -}};{{with pad "Hello world foo_bar" 1 1}}{{$x := lower .Quote}}{{$x}} {{$x.Name}}{{end}}', NET, '',
     'x 1.5;', 'template: :1:64: executing "" at <.Quote>: can\'t evaluate field Quote in type string'),
    ('{{$x := 1e3}}{{$x}} {{$x.Name}}{{$x := index .Name.Foo 0}}{{$x}} {{$x.Name}}x {{eq .IPAM.Options .IPAM.Config.Subnet -}};', NET, '',
     '1000 ', 'template: :1:24: executing "" at <$x.Name>: can\'t evaluate field Name in type float64'),
    ('{{range $v := $.Name}}{{$v}}{{$v.Name}},{{end}} {{- upper .Uni}}\n', NET, '',
     '', 'template: :1:15: executing "" at <$.Name>: range can\'t iterate over web-net'),
    ('{{$y := 1}}{{$y = le .Ctl 1.5 | json | len}}{{$y}}{{if json truncate .Id "2"}}A{{else if .Neg}}B{{else}}C{{end}}', NET, '',
     '', 'template: :1:18: executing "" at <le .Ctl 1.5>: error calling le: incompatible types for comparison'),
    ('{{range $v := upper "Hello world foo_bar"}}{{$v}}{{$v.Name}},{{end}}\n{{.Null.X}}\n', NET, 'error',
     '', 'template: :1:20: executing "" at <"Hello world foo_bar">: range can\'t iterate over HELLO WORLD FOO_BAR'),
    ('{{range $k, $v := lower json println .Strs}}{{$k}}={{$v}}{{- lt slice .Name 2 .Name}} ;{{end}}', NET, 'zero',
     '', 'template: :1:18: executing "" at <lower>: wrong number of args for lower: want 1 got 3'),
    ('{{$y := 1}}{{$y = len upper .Html}}{{$y}} | {{.IPAM.Config.Subnet}}\n{{$x := .Internal}}{{$x}} {{$x.Name}}', NET, '',
     '', 'template: :1:18: executing "" at <len>: wrong number of args for len: want 1 got 2'),
    ('\n{{\'a\'}}x {{ne slice .Name  len and .Quote -}};{{with or join .Containers "," .EmptyMap}}{{range $v := lower .IPAM}}{{$v}}{{$v.Name}},{{end}}{{end}}', NET, '',
     '\n97x ', 'template: :2:11: executing "" at <ne>: wrong number of args for ne: want 2 got 5'),
    ('{{$y := 1}}{{$y = .Null.X}}{{$y}} {{eq .Id println printf "%x" "lit" .Zero}}', NET, '',
     '', 'template: :1:23: executing "" at <.Null.X>: nil pointer evaluating interface {}.X'),
    ('{{range ne -2 .}}[\n{{$}}]{{else}}none{{end}}{{with json json html "lit"}}x {{slice .List 1}}\n{{end}}', NET, 'zero',
     '', 'template: :1:8: executing "" at <ne -2 .>: error calling ne: incompatible types for comparison'),
    ('{{if `raw`}} | {{pad or lt .Empty .IPAM.Options .Whole -1 1}};{{else}}{{$y := 1}}{{$y = .Labels}}{{$y}}{{end}}', NET, 'zero',
     ' | ', 'template: :1:17: executing "" at <pad>: wrong number of args for pad: want 3 got 7'),
    ('{{range .Uni}}[{{range split "a-b-c" "-"}}[ {{- html js .Num}};{{$y := 1}}{{$y = title "a-b-c"}}{{$y}}]{{else}}none{{end}}]{{else}}none{{end}}', NET, 'zero',
     '', 'template: :1:8: executing "" at <.Uni>: range can\'t iterate over héllo wörld 日本'),
    ('{{if printf "%g" .Empty .IPAM.Options \'a\'}}A{{else if -2}}B{{else}}C{{end}} | {{lt \'a\' .Html}}\n', NET, '',
     'A | ', 'template: :1:80: executing "" at <lt \'a\' .Html>: error calling lt: incompatible types for comparison'),
    ('\n{{join .Labels ","}};{{if .Name.Foo}}A{{else if gt index .IPAM.Config -1 "Gateway" .Options}}B{{else}}C{{end}}', NET, '',
     '\ninfra,prod;', 'template: :2:31: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type interface {}'),
    (' {{- pad "a-b-c" 0 3 -}}\n{{with urlquery .Options}} {{.Missing}};{{else}}nothing{{end}}{{- println upper .Quote}}\n', NET, '',
     'a-b-c    ', 'template: :2:29: executing "" at <.Missing>: can\'t evaluate field Missing in type string'),
    ('{{range 3}}[\n{{pad .Driver -1 1}}; {{- urlquery not nil}};]{{end}}', NET, '',
     '', 'template: :1:8: executing "" at <3>: range can\'t iterate over 3'),
    ('{{$y := 1}}{{$y = .Ctl}}{{$y}}{{with ge .Html printf "%08.3f"  | index .Labels}}{{eq js .Whole lt .Num 3 | len}};{{end}}', NET, 'zero',
     'tab\there\nnl \u2028 \x01', 'template: :1:37: executing "" at <ge>: wrong number of args for ge: want 2 got 3'),
    ("{{'a' -}} {{with slice .Num 2 1}}{{range $v := upper .Id}}{{$v}}{{$v.Name}},{{end}}{{end}}", NET, '',
     '97', 'template: :1:17: executing "" at <slice .Num 2 1>: error calling slice: can\'t slice item of type int'),
    ('{{range $v := `raw`}}{{$v}}{{$v.Name}},{{end}}', NET, 'error',
     '', 'template: :1:14: executing "" at <`raw`>: range can\'t iterate over raw'),
    (' {{1e3}}\n\n{{js slice .Strs 3 3 }}', NET, '',
     ' 1000\n\n', 'template: :3:5: executing "" at <slice>: wrong number of args for slice: want at least 1 got 0'),
    ('a {{/* c */}} b {{- /* d */ -}} c{{$x := pad "Hello world foo_bar" -1 3}}{{$x}} {{$x.Name}}{{$y := 1}}{{$y = .Null}}{{$y}}', NET, '',
     'a  bc', 'template: :1:41: executing "" at <pad "Hello world foo_bar" -1 3>: error calling pad: strings: negative Repeat count'),
    ('{{eq index .IPAM.Config 0 "x" ne .Attachable println .ConfigFrom.Network}}\n', NET, 'error',
     '', 'template: :1:5: executing "" at <index>: wrong number of args for index: want at least 1 got 0'),
    ('{{join .Name " "}}{{if .Internal}}A{{else if len lower .Id}}B{{else}}C{{end}}{{ge .True println (.Quote)}};', NET, 'error',
     '', 'template: :1:2: executing "" at <join .Name " ">: error calling join: expected slice, got string'),
    ('{{if ge .Html .Labels}}x {{true}}\n{{.Big}} {{end}}\n{{- (ge .Small .Float | not) -}} {{not lower "Hello world foo_bar" -}}', NET, 'zero',
     '', 'template: :1:5: executing "" at <ge .Html .Labels>: error calling ge: invalid type for comparison'),
    ('\n{{slice .Strs 3 2}\n', NET, '',
     '', 'template: :2: unexpected "}" in operand'),
    ('{{with pad truncate .Html 12 -1 3}}{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{{{end}}end}}{{$e}}{{end}}{{end}}', NET, 'zero',
     '', 'template: :1: unexpected "{" in command'),
    ('{{range $v := and split .Html " " slice .Strs 9 9 -2}}{{$v}}{{$v.Name}},{{end}} {{upper .Uni}};', NET, '',
     '', 'template: :1:18: executing "" at <split>: wrong number of args for split: want 2 got 0'),
    ('x {{p', NET, '',
     '', 'template: :1: function "p" not defined'),
    ('{{range $k, $v := nil}}{{$k}}={{$v}}{{split .Html "-"}} x {{- ne printf "%05s" (.Quote) json .EnableIPv6 split .Id .Num println }};;{{end}}', NET, 'error',
     '', 'template: :1:18: executing "" at <nil>: nil is not a command'),
    ('x {{- title .Driver | print}} {{$y := 1}}{{$y = json ne 0x1F lt .Whole 0x1F}}{{$y}}x {{upper split .Uni "" -}};', None, 'zero',
     'x', 'template: :1:12: executing "" at <.Driver>: invalid value; expected string'),
    ('{{range .Neg}}[{{range $v := js .EnableIPv6}}{{$v}}{{$v.Name}},{{end}}]{{else}}none{{end}}', NET, 'zero',
     '', 'template: :1:8: executing "" at <.Neg>: range can\'t iterate over -7'),
    ('x {{title .Uni}}{{$y := 1}}{{$y = .Empty}}{{$y}} {{index .IPAM.Config 1 "x" | index .Labels}};', NET, 'zero',
     'x Héllo Wörld 日本[] ', 'template: :1:78: executing "" at <index .Labels>: error calling index: value is nil; should be of type string'),
    ('{{(ne .Created .Uni).Name -}};\n{{- index upper "Hello world foo_bar" "Name"}}  | {{`raw` -}}', NET, '',
     '', 'template: :1:15: executing "" at <.Uni>: can\'t evaluate field Name in type bool'),
    (' {{- index or upper .Quote .Float ne .Options .IPAM.Config.Subnet "env"}};', NET, '',
     '', 'template: :1:11: executing "" at <or>: wrong number of args for or: want at least 1 got 0'),
    ('{{$x := pad .Quote 0 3}}{{$x}} {{$x.Name}}', 5, 'error',
     '', 'template: :1:12: executing "" at <.Quote>: can\'t evaluate field Quote in type int'),
    ('{{with $.Name}}a {{/* c */}} b {{- /* d */ -}} cx {{lower "a-b-c"}};{{end}} | {{slice .Strs 3 0 2}}x {{.Scope}}', NET, '',
     'a  bcx a-b-c; | ', 'template: :1:80: executing "" at <slice .Strs 3 0 2>: error calling slice: invalid slice index: 3 > 0'),
    ('{{if index printf "%z" lower .Driver print .EmptyMap .Num}}\n{{1e3}}\n{{end}}', NET, '',
     '', 'template: :1:11: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0'),
    ('{{range (((.Empty).Name).Config).X}}[{{range .Big}}[x {{upper .Quote -}}\n]{{end}}]{{end}}', NET, '',
     '', 'template: :1:11: executing "" at <.Empty>: can\'t evaluate field Name in type []interface {}'),
    ('{{if lower .Driver}} {{- truncate "Hello world foo_bar" "2"}}{{end}}x {{- lt index .IPAM.Config 0 "Gateway" json js true}}\n', 5, '',
     '', 'template: :1:11: executing "" at <.Driver>: can\'t evaluate field Driver in type int'),
    ('{{$x := lower .Html}}{{$x}} {{$x. nil Name}}', NET, 'error',
     '', 'template: :1: unexpected <.> in operand'),
    ('{{$y := 1}}{{$y = lt (.IPAM).X .Containers}}{{$y}}', NET, '',
     '', 'template: :1:18: executing "" at <lt (.IPAM).X .Containers>: error calling lt: invalid type for comparison'),
    ('{{range println }}[ | {{and html printf "%05d" .Containers (.Neg).Name}} ]{{end}}', NET, '',
     '', 'template: :1:8: executing "" at <println>: range can\'t iterate over \n'),
    ('\n{{.Missing}};\n{{len or not 1.5 0x1F -}} {{urlquery .Num}}\n', [1, 2], '',
     '\n', 'template: :2:2: executing "" at <.Missing>: can\'t evaluate field Missing in type []interface {}'),
    (' | {{.Strs -}} {{range $k, $v := not .Name}}{{$k}}={{$v}}{{range $v := truncate .Uni -1}}{{$v}}{{$v.Name}},{{end}};{{end}}', {'__ctx__': {'ID': 'abc', 'Name': 'n', 'Labels': {'com.example': 'v'}}}, '',
     ' | ', 'template: :1:5: executing "" at <.Strs>: can\'t evaluate field Strs in type *main.netCtx'),
    ('{{$y := 1}}{{$y = .Empty}}{{$y}}{{len .}};{{with 1.5}} | {{true -}};{{else}}nothing{{end}}', None, 'error',
     '', 'template: :1:18: executing "" at <.Empty>: nil data; no entry for key "Empty"'),
    ('x {{- .Whole}};{{$y := 1}}{{$y = .Zero}}{{$y}}{{if slice .Name 0 0 1}}A{{else if lower or 1e3 .Num | printf "%v!"}}B{{else}}C{{end}}', NET, '',
     'x2;0', 'template: :1:51: executing "" at <slice .Name 0 0 1>: error calling slice: cannot 3-index slice a string'),
    (' | {{- $.Name}} {{range $v := lower .Uni | not}}{{$v}}{{$v.Name}},{{end}}{{range `raw`}}[\n{{.Neg -}};]{{else}}none{{end}}', NET, 'error',
     ' |web-net ', 'template: :1:43: executing "" at <not>: range can\'t iterate over false'),
    ('{{join .Missing " " -}} {{slice .List 9 0 2}};', NET, '',
     '', 'template: :1:26: executing "" at <slice .List 9 0 2>: error calling slice: index out of range: 9'),
    ('{{range html .Quote}}[a {{/* c */}} b {{- /* d */ -}} c {{title .Driver}} ]{{end}}{{$x := .ConfigFrom.Network}}{{$x}} {{$x.Name}}', NET, '',
     '', 'template: :1:13: executing "" at <.Quote>: range can\'t iterate over it&#39;s &#34;q&#34;'),
    ('{{gt and split "a-b-c" " " len .List ne ge .Uni .ConfigFrom.Network .Internal}} {{.Mis$sing.Deeper}} ', NET, '',
     '', "template: :1: bad character U+0024 '$'"),
    ('{{- slice .Missing 3}} ', NET, '',
     '', 'template: :1:4: executing "" at <slice .Missing 3>: error calling slice: slice of untyped nil'),
    ('a {{/* c */}} b {{- /* d */ -}} c{{with le .Options .Created}}{{- json ge .Uni .Null.X}}\n {{- .Ctl -}} {{end}}{{$x := .Containers}}{{$x}} {{$x.Name}}', NET, '',
     'a  bc', 'template: :1:40: executing "" at <le .Options .Created>: error calling le: invalid type for comparison'),
    (' | {{- lower "a-b-c" -}}\n{{range title "Hello world foo_bar"}}[{{$x := (.Driver).X}}{{$x}} {{$x.Name}}]{{end}}', NET, '',
     ' |a-b-c', 'template: :2:14: executing "" at <"Hello world foo_bar">: range can\'t iterate over Hello World Foo_bar'),
    ('{{if index .IPAM.Config 2 "x"}}A{{else if split .Uni " "}}B{{else}}C{{end}}{{$x := .True}}{{$x}} {{$x.Name}}', NET, '',
     '', 'template: :1:5: executing "" at <index .IPAM.Config 2 "x">: error calling index: reflect: slice index out of range'),
    ('{{$x := 1.5}}{{$x}} {{$x.Name}} {{ge (index .Containers 1).Config eq .Id | printf "%v!" pad .Driver 2 1 .', NET, '',
     '', 'template: :1: illegal number syntax: "."'),
    ('{{- len .Uni -}} {{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}} | {{upper .Attachable}} ', NET, '',
     '20a | ', 'template: :1:129: executing "" at <.Attachable>: wrong type for value; expected string; got bool'),
    ('{{(.IPAM.Config).X}} {{- println upper .Quote true}};', NET, 'error',
     '', 'template: :1:8: executing "" at <.IPAM.Config>: can\'t evaluate field X in type []interface {}'),
    ('{{range $k, $v := true}}{{$k}}={{$v}}x {{3}}  {{"lit" -}};{{end}}', NET, '',
     '', 'template: :1:18: executing "" at <true>: range can\'t iterate over true'),
    ('{{range $v := index .Num .Num}}{{$v}}{{$v.Name}},{{end}}', NET, '',
     '', 'template: :1:14: executing "" at <index .Num .Num>: error calling index: can\'t index item of type int'),
    ('{{$x := .Zero}}{{$x}} {{$x.Name}}', NET, 'zero',
     '0 ', 'template: :1:26: executing "" at <$x.Name>: can\'t evaluate field Name in type int'),
    ('{{range split "Hello world foo_bar" " " | print}}[{{if `raw`}}\n{{- .Html -}}\n{{if "lit"}}{{json .Driver}}\n{{end}}{{end}} {{lower .Id}}]{{end}}', NET, '',
     '', 'template: :1:42: executing "" at <print>: range can\'t iterate over [Hello world foo_bar]'),
    ('\n{{- (js urlquery .Options).X}}', NET, '',
     '', 'template: :2:17: executing "" at <.Options>: can\'t evaluate field X in type string'),
    ('{{if urlquery truncate .Quote 0}}x {{len .Html}};{{end}}', NET, '',
     '', 'template: :1:14: executing "" at <truncate>: wrong number of args for truncate: want 2 got 0'),
    ('{{- .EmptyMap -}};{{with 3}} {{.Strs -}} {{end}}', NET, '',
     'map[]; ', 'template: :1:31: executing "" at <.Strs>: can\'t evaluate field Strs in type int'),
    ('{{len true -}}\n{{$y := 1}}{{$y = .Whole}}{{$y}}', NET, '',
     '', 'template: :1:2: executing "" at <len true>: error calling len: len of type bool'),
    ('{{ge `raw` true -}} {{.IPAM.Driver}} ', NET, '',
     '', 'template: :1:2: executing "" at <ge `raw` true>: error calling ge: incompatible types for comparison'),
    ('{{range $v := index .IPAM.Config 2 "Gateway"}}{{$v}}{{$v.Name}},{{end}}', [1, 2], '',
     '', 'template: :1:25: executing "" at <.IPAM.Config>: can\'t evaluate field IPAM in type []interface {}'),
    ('{{with len .Null}}{{.Null}}{{range .Empty}}[{{if lower .Id}}A{{else if 1.5}}B{{else}}C{{end}}]{{else}}none{{end}}{{else}}nothing{{end}}', NET, 'error',
     '', 'template: :1:7: executing "" at <len .Null>: error calling len: len of nil pointer'),
    ('{{index .IPAM.Config -1 "x"}}; {{- urlquery "lit"}}\n | {{println le .Uni .Created title .Id 3}}', NET, '',
     '', 'template: :1:2: executing "" at <index .IPAM.Config -1 "x">: error calling index: index out of range: -1'),
    ('{{range $k, $v := .Html}}{{$k}}={{$v}} {{- .Created}} ;{{end}}', NET, 'zero',
     '', 'template: :1:18: executing "" at <.Html>: range can\'t iterate over <a href="x">&amp;</a>'),
    ('{{range upper .Zero}}[{{$x := true}}{{$x}} {{$x.Name}}\n{{lower .Html}}\n]{{end}{{end}}} {{- js index .IPAM.Config 1 "Subnet"}}\n', NET, '',
     '', "template: :3: bad character U+007D '}'"),
    (' {{- .Null}} a {{/* c */}} b {{- /* d / -}} c', NET, '',
     '', 'template: :1: unclosed comment'),
    ('{{.Attachable -}} {{range $k, $v := .Driver}}{{$k}}={{$v}} | {{slice .Name 2 1}}\n\n{{$.Name}} ;{{end}} | {{- split "Hello world foo_bar" .Num | json}}', NET, 'zero',
     'true', 'template: :1:36: executing "" at <.Driver>: range can\'t iterate over bridge'),
    ('{{if print }}A{{else if json .Neg}}B{{else}}C{{end}}{{range $v := 1.5}}{{$v}}{{$v.Name}},{{end}}', NET, '',
     'B', 'template: :1:66: executing "" at <1.5>: range can\'t iterate over 1.5'),
    (' | {{.Html}} {{with .Big}}{{- .Attachable -}} {{end}}', NET, '',
     ' | <a href="x">&amp;</a> ', 'template: :1:30: executing "" at <.Attachable>: can\'t evaluate field Attachable in type float64'),
    ('{{range "lit"}}[{{lt printf "%x" .Quote lower .Uni .Strs true}};{{.Missing.Deeper}} ]{{end}}', NET, '',
     '', 'template: :1:8: executing "" at <"lit">: range can\'t iterate over lit'),
    ('{{with .IPAM.Driver}}{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}{{end}}\n{{print }}\n', NET, 'zero',
     '', 'template: :1:39: executing "" at <.List>: can\'t evaluate field List in type string'),
    ('{{with .Float}} {{- json .Internal}};{{end}}', NET, '',
     '', 'template: :1:25: executing "" at <.Internal>: can\'t evaluate field Internal in type float64'),
    ('{{range title `raw`}}[{{with js -2}} {{truncate .Driver 0}};\n{{.IPAM.Options -}};{{else}}nothing{{end}}]{{else}}none{{end}}', NET, '',
     '', 'template: :1:14: executing "" at <`raw`>: range can\'t iterate over Raw'),
    ('{{range print }}[ | {{.List}}]{{end}}', NET, '',
     '', 'template: :1:8: executing "" at <print>: range can\'t iterate over '),
    ('{{with println .ConfigFrom.Network}} | {{- join .Labels " " -}}{{end}}', NET, '',
     ' |', 'template: :1:48: executing "" at <.Labels>: can\'t evaluate field Labels in type string'),
    ('a {{/* c */}} b {{- /* d */ -}} c{{with js (.IPAM.Options).Config}}\n{{- html not html .Name -}}\n{{end}}{{range .Name}}[ {{.}}]{{end}}', NET, 'error',
     'a  bc', 'template: :1:49: executing "" at <.IPAM.Options>: map has no entry for key "Config"'),
    (' {{index .Small nil}}\n{{index ne ge 3 .True urlquery .Neg 5}}\n {{html .Big}};', NET, 'zero',
     ' ', 'template: :1:3: executing "" at <index .Small nil>: error calling index: can\'t index item of type float64'),
    ('{{- truncate .Quote 1.0}}{{lower .Name}}  | {{gt .Labels .True -}};', NET, '',
     'iweb-net  | ', 'template: :1:46: executing "" at <gt .Labels .True>: error calling gt: invalid type for comparison'),
    ('{{range .Labels}}[{{$x := join .List " "}}{{$x}} {{$x.Name}}{{.Whole -}} ]{{end}}', NET, 'zero',
     '[', 'template: :1:31: executing "" at <.List>: can\'t evaluate field List in type interface {}'),
    ('a {{/* c */}} b {{- /* d */ -}} c{{with $.Name}} {{not .Driver -}} {{end}}', NET, '',
     'a  bc ', 'template: :1:55: executing "" at <.Driver>: can\'t evaluate field Driver in type string'),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, 'error',
     'a  bc', ''),
    ('{{html .True}} {{if (.IPAM).Name}}{{if .Name.Foo}}A{{else if $.Name}}B{{else}}C{{end}}{{if .Null.X}}A{{else if truncate .Driver 3}}B{{else}}C{{end}}{{end}}', NET, 'zero',
     'true ', ''),
    ('a {{/* c /}} b {{- /* d */ -}} c{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, '',
     'a ca', ''),
    ('{{$y := 1}}{{$y = .Labels}}{{$y}} | {{.Neg}}', NET, '',
     'map[com.example.team:infra env:prod] | -7', ''),
    ('{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}x {{(.Missing.Deeper).Config}}\n', NET, '',
     'ax <no value>\n', ''),
    (' {{truncate .Driver .Num}} {{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, '',
     ' bridge a', ''),
    ('{{if title "Hello world foo_bar"}} | {{printf "%.3g" (lower .Name)}}{{end}}', NET, '',
     ' | %!g(string=web)', ''),
    (' | {{- split .Id "" -}};', NET, '',
     ' |[3 f 1 c 0 a 7 e 9 b 2 d 4 c 6 e 8 f 0 a 1 b 2 c 3 d 4 e 5 f 6 0 7 1 8 2 9 3 a 4 b 5 c 6 d 7 e 8 f 9 0 a 1 b 2 c 3 d 4 e 5 f 6 a];', ''),
    ('\n{{- 0x1F}} ', NET, 'zero',
     '31 ', ''),
    ('\n{{- or (lower .Id) (lt (eq .IPAM .True) (lt .Scope .Missing.Deeper)) -}}\na {{/* c */}} b {{- /* d */ -}} c', NET, 'error',
     '3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6aa  bc', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, 'error',
     'a  bc', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, '',
     'a  bc', ''),
    (' {{.Name}}', NET, '',
     ' web-net', ''),
    ('{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, 'zero',
     'a', ''),
    ('x {{.List}}\n', NET, '',
     'x [1 a <nil> 2.5 true map[k:v]]\n', ''),
    ('\n{{.Scope}};{{split .Quote "-"}}\n', NET, 'zero',
     '\nlocal;[it\'s "q"]\n', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c{{range index .IPAM.Config 1 "x"}}[{{with lower .Html}}\n{{- .Missing -}} {{else}}nothing{{end}}]{{end}}', NET, '',
     'a  bc', ''),
    (' | {{.Missing.Deeper}};', NET, '',
     ' | <no value>;', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, '',
     'a  bc', ''),
    ('x {{-2 | printf "%v!"}}\n', NET, '',
     'x -2!\n', ''),
    ("{{if .Float}}{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}{{else}}\n{{and 'a' .Strs}} {{le .Attachable .Whole -}}{{end}}", NET, '',
     'a', ''),
    (' | {{- print (split "Hello world foo_bar" "")}}\n', NET, '',
     ' |[H e l l o   w o r l d   f o o _ b a r]\n', ''),
    (" | {{'a'}}{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}", NET, 'zero',
     ' | 97a', ''),
    ('x {{.Uni -}} {{$y := 1}}{{$y = "lit"}}{{$y}}', NET, 'error',
     'x héllo wörld 日本lit', ''),
    ('\n{{upper .Quote}} ', NET, '',
     '\nIT\'S "Q" ', ''),
    ('x {{lower .Quote -}}\n{{print (lower .Uni) `raw` (urlquery (title .Driver))}}', NET, '',
     'x it\'s "q"héllo wörld 日本rawBridge', ''),
    ('{{or .True .Small}}', NET, '',
     'true', ''),
    ('{{if .Big}}A{{else if not (println (gt .Num .))}}B{{else}}C{{end}}', NET, 'zero',
     'A', ''),
    ('{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, 'error',
     'a', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, 'zero',
     'a  bc', ''),
    ('\n{{pad "Hello world foo_bar" 2 1}}\n', NET, '',
     '\n  Hello world foo_bar \n', ''),
    ('\n{{- .Small -}} ', NET, 'zero',
     '1e-07', ''),
    ('{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, '',
     'a', ''),
    ('{{if print }}A{{else if eq (print ) (urlquery (truncate .Quote 3))}}B{{else}}C{{end}}', NET, '',
     'C', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c | {{- .Options}}\n', NET, '',
     'a  bc |map[com.docker.network.bridge.name:br-web com.docker.network.driver.mtu:1500]\n', ''),
    ('a {{/* c */}} b {{- /* d */ -}} cx {{- print  -}}\n{{.IPAM.Config}};', None, 'zero',
     'a  bcx<no value>;', ''),
    (' {{title .Name}};', NET, 'error',
     ' Web-Net;', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, 'zero',
     'a  bc', ''),
    ('x {{index .IPAM.Config 1 "Subnet"}}a {{/* c */}} b {{- /* d */ -}} c', NET, '',
     'x fd00::/64a  bc', ''),
    (' | {{- 3}}', NET, 'error',
     ' |3', ''),
    (' {{-2}}\n', NET, '',
     ' -2\n', ''),
    ('x {{index .IPAM.Config 0 "Gateway"}}', NET, 'zero',
     'x 172.20.0.1', ''),
    ('{{if .Ctl}}A{{else if index .EmptyMap .Num}}B{{else}}C{{end}}', NET, '',
     'A', ''),
    ('{{print .Id .EmptyMap}} ', NET, '',
     '3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6amap[] ', ''),
    ('{{$y := 1}}{{$y = .Mid}}{{$y}}', NET, '',
     '1.234567e+06', ''),
    ('\n{{.IPAM}}', NET, '',
     '\nmap[Config:[map[Gateway:172.20.0.1 Subnet:172.20.0.0/16] map[Gateway:fd00::1 Subnet:fd00::/64]] Driver:default Options:map[]]', ''),
    ('x {{-2}}\n{{$y := 1}}{{$y = .Scope | len}}{{$y}}', NET, 'error',
     'x -2\n5', ''),
    ('x {{print }}\n {{- title .Driver}}\n', NET, '',
     'x Bridge\n', ''),
    ('x {{.Ctl | print}} ', NET, '',
     'x tab\there\nnl \u2028 \x01 ', ''),
    (' | {{- .Id -}}{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, '',
     ' |3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6aa', ''),
    (' {{- .EnableIPv6 -}}\n', NET, '',
     'false', ''),
    (' {{truncate "Hello world foo_bar" 100 -}};', NET, '',
     ' Hello world foo_bar;', ''),
    ('{{if .Neg}}A{{else if ge (lower .Id) truncate .Uni 0}}B{{else}}C{{end}}', NET, '',
     'A', ''),
    ('\n{{.Uni -}};', NET, 'zero',
     '\nhéllo wörld 日本;', ''),
    (' {{slice .Name  -}};', NET, '',
     ' web-net;', ''),
    ('\n{{.Created -}}', NET, '',
     '\n2024-05-01T12:34:56.789012345Z', ''),
    ('{{if .Scope}}A{{else if join .List " "}}B{{else}}C{{end}}', NET, '',
     'A', ''),
    (' {{json 0x1F}}\n {{(print ) | printf "%v!"}}', NET, '',
     ' 31\n !', ''),
    (' | {{split .Driver " " -}}\n', NET, 'zero',
     ' | [bridge]', ''),
    ('\n{{printf "%#v" }}{{print }}\na {{/* c */}} b {{- /* d */ -}} c', [1, 2], '',
     '\n%!v(MISSING)\na  bc', ''),
    ('{{if `raw`}}A{{else if truncate .Id -1}}B{{else}}C{{end}}', NET, 'zero',
     'A', ''),
    ('{{range index .IPAM.Config 0 "x"}}[{{3}} ]{{end}} | {{true}}\n', NET, 'error',
     ' | true\n', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, '',
     'a  bc', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', NET, '',
     'a  bc', ''),
    (" | {{'a'}} ", NET, 'error',
     ' | 97 ', ''),
    ('\n{{- or (not (js .EmptyMap)) -}}  {{.Html | upper}}\n', NET, '',
     'false<A HREF="X">&AMP;</A>\n', ''),
    ('{{$y := 1}}{{$y = .Labels}}{{$y}}\n{{- .Id}};x {{- lower .Quote -}}\n', NET, '',
     'map[com.example.team:infra env:prod]3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a;xit\'s "q"', ''),
    (' {{- title .Uni}};', NET, '',
     'Héllo Wörld 日本;', ''),
    ('{{- json (upper .Html)}}\n', NET, '',
     '"<A HREF=\\"X\\">&AMP;</A>"\n', ''),
    ('{{$y := 1}}{{$y = split "Hello world foo_bar" ""}}{{$y}}', NET, '',
     '[H e l l o   w o r l d   f o o _ b a r]', ''),
    ('x {{- .IPAM.Options}} a {{/* c */}} b {{- /* d */ -}} c', NET, 'error',
     'xmap[] a  bc', ''),
    ('a {{/* c */}} b {{- /* d */ -}} c', [1, 2], 'zero',
     'a  bc', ''),
    ('\n{{html (or (or .EnableIPv6 .Id) .Null)}}\n | {{- .Zero -}} {{with ((index .EmptyMap "Name")).X}}\n{{print }}\n {{.Nll.X}}\n{{end}}', NET, '',
     '\n3f1c0a7e9b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a\n |0', ''),
    ('{{.Empty}} \n{{.Num}}; {{- title .Name}} ', NET, '',
     '[] \n42;Web-Net ', ''),
    ('{{range $i, $e := .List}}{{if eq $i 2}}{{break}}{{end}}{{if eq $i 0}}{{continue}}{{end}}{{$e}}{{end}}', NET, 'error',
     'a', ''),
    (' | {{println }}{{if json .Name}}A{{else if le truncate .Driver -1 .Name}}B{{else}}C{{end}}{{if $}}A{{else if json print len .Small .Small}}B{{else}}C{{end}}', NET, '',
     ' | \nAA', ''),
    ('{{true}}; {{slice .List }} ', NET, '',
     'true; [1 a <nil> 2.5 true map[k:v]] ', ''),
    (' {{printf "%!" }}\n', NET, 'error',
     ' %!!(MISSING)\n', ''),
    ('{{slice .List 3 -}} | {{js .Options}}', NET, 'error',
     '[2.5 true map[k:v]]| map[com.docker.network.bridge.name:br-web com.docker.network.driver.mtu:1500]', ''),
    ('\n{{- 3 -}};{{if .IPAM.Config}}A{{else if lt .EnableIPv6 .Html}}B{{else}}C{{end}}', NET, '',
     '3;A', ''),
]

# (format, items, output, error), with the column names of HEADERS; a listing with a failing row
# prints nothing
GO_VERIFIED_TABLES = [
    ('table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NETWORK ID                                                         NAME                              DRIVER    SCOPE\n0000000000000000000000000000000000000000000000000000000000000001   web                               bridge    local\n0000000000000000000000000000000000000000000000000000000000001ef0   db-backend-network                bridge    local\n0000000000000000000000000000000000000000000000000000000000003ddf   x                                 bridge    local\n0000000000000000000000000000000000000000000000000000000000005cce   a-very-long-network-name-indeed   bridge    local\n0000000000000000000000000000000000000000000000000000000000007bbd                                     bridge    local\n', ''),
    ('table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NETWORK ID                                                         NAME      DRIVER    SCOPE\n0000000000000000000000000000000000000000000000000000000000000001   web       bridge    local\n', ''),
    ('table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', [],
     'NETWORK ID   NAME      DRIVER    SCOPE\n', ''),
    ('table {{.Name}}\\t{{.Driver}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME                              DRIVER\nweb                               bridge\ndb-backend-network                bridge\nx                                 bridge\na-very-long-network-name-indeed   bridge\n                                  bridge\n', ''),
    ('table {{.Name}}\\t{{.Driver}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME      DRIVER\nweb       bridge\n', ''),
    ('table {{.Name}}\\t{{.Driver}}', [],
     'NAME      DRIVER\n', ''),
    ('table {{.Name}}\t{{.Label "com.example.team"}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME                              team\nweb                               \ndb-backend-network                infra\nx                                 \na-very-long-network-name-indeed   infra\n                                  \n', ''),
    ('table {{.Name}}\t{{.Label "com.example.team"}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME      team\nweb       \n', ''),
    ('table {{.Name}}\t{{.Label "com.example.team"}}', [],
     'NAME      team\n', ''),
    ('table {{.Name}}:{{.Driver}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME:DRIVER\nweb:bridge\ndb-backend-network:bridge\nx:bridge\na-very-long-network-name-indeed:bridge\n:bridge\n', ''),
    ('table {{.Name}}:{{.Driver}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME:DRIVER\nweb:bridge\n', ''),
    ('table {{.Name}}:{{.Driver}}', [],
     'NAME:DRIVER\n', ''),
    ('{{.ID}}: {{.Name}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '0000000000000000000000000000000000000000000000000000000000000001: web\n0000000000000000000000000000000000000000000000000000000000001ef0: db-backend-network\n0000000000000000000000000000000000000000000000000000000000003ddf: x\n0000000000000000000000000000000000000000000000000000000000005cce: a-very-long-network-name-indeed\n0000000000000000000000000000000000000000000000000000000000007bbd: \n', ''),
    ('{{.ID}}: {{.Name}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '0000000000000000000000000000000000000000000000000000000000000001: web\n', ''),
    ('{{.ID}}: {{.Name}}', [],
     '', ''),
    ('table {{.Nope}}\t{{.Name}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '', 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *main.netCtx'),
    ('table {{.Nope}}\t{{.Name}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '', 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *main.netCtx'),
    ('table {{.Nope}}\t{{.Name}}', [],
     '<no value>   NAME\n', ''),
    ('table {{upper .Name}}\t{{json .Name}}\t{{pad .Scope 2 0}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME                              NAME                                  SCOPE\nWEB                               "web"                                 local\nDB-BACKEND-NETWORK                "db-backend-network"                  local\nX                                 "x"                                   local\nA-VERY-LONG-NETWORK-NAME-INDEED   "a-very-long-network-name-indeed"     local\n                                  ""                                    local\n', ''),
    ('table {{upper .Name}}\t{{json .Name}}\t{{pad .Scope 2 0}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME      NAME        SCOPE\nWEB       "web"       local\n', ''),
    ('table {{upper .Name}}\t{{json .Name}}\t{{pad .Scope 2 0}}', [],
     'NAME      NAME        SCOPE\n', ''),
    ('json', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '{"Driver":"bridge","ID":"0000000000000000000000000000000000000000000000000000000000000001","Labels":"","Name":"web","Scope":"local"}\n{"Driver":"bridge","ID":"0000000000000000000000000000000000000000000000000000000000001ef0","Labels":"com.example.team=infra","Name":"db-backend-network","Scope":"local"}\n{"Driver":"bridge","ID":"0000000000000000000000000000000000000000000000000000000000003ddf","Labels":"","Name":"x","Scope":"local"}\n{"Driver":"bridge","ID":"0000000000000000000000000000000000000000000000000000000000005cce","Labels":"com.example.team=infra","Name":"a-very-long-network-name-indeed","Scope":"local"}\n{"Driver":"bridge","ID":"0000000000000000000000000000000000000000000000000000000000007bbd","Labels":"","Name":"","Scope":"local"}\n', ''),
    ('json', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '{"Driver":"bridge","ID":"0000000000000000000000000000000000000000000000000000000000000001","Labels":"","Name":"web","Scope":"local"}\n', ''),
    ('json', [],
     '', ''),
    ('table {{index .Labels "x"}}\t{{.Name}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '', 'template: :1:2: executing "" at <index .Labels "x">: error calling index: cannot index slice/array with type string'),
    ('table {{index .Labels "x"}}\t{{.Name}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     '', 'template: :1:2: executing "" at <index .Labels "x">: error calling index: cannot index slice/array with type string'),
    ('table {{index .Labels "x"}}\t{{.Name}}', [],
     '\n', ''),
    ('  {{.Name}}  ', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'web\ndb-backend-network\nx\na-very-long-network-name-indeed\n\n', ''),
    ('  {{.Name}}  ', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'web\n', ''),
    ('  {{.Name}}  ', [],
     '', ''),
    ('table {{.Name}}\n{{.Driver}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000001ef0', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000003ddf', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000005cce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra'}}}, {'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000007bbd', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME\nDRIVER\nweb\nbridge\ndb-backend-network\nbridge\nx\nbridge\na-very-long-network-name-indeed\nbridge\n\nbridge\n', ''),
    ('table {{.Name}}\n{{.Driver}}', [{'__ctx__': {'ID': '0000000000000000000000000000000000000000000000000000000000000001', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'NAME\nDRIVER\nweb\nbridge\n', ''),
    ('table {{.Name}}\n{{.Driver}}', [],
     'NAME\nDRIVER\n', ''),
    ('{{upper .Name}}\t{{pad .Name 1 1}} ', [{'ID': '6168db136e6ef1f8d846c482f147212e456cb7902c956403e24770e9ab81a37b', 'Name': 'web', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}, {'ID': '24ac2f0ab92e65f2e61fdf1299c3025eb925db73673da80f1b3c7cf2fcf87910', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}, {'__ctx__': {'ID': 'd6f8802c42ec0d4719e5cb04a81c18a2dafe75832a9a155721fab15a72fdc6a3', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'WEB\t web \nA-VERY-LONG-NETWORK-NAME-INDEED\t a-very-long-network-name-indeed \nWEB\t web \n', ''),
    ('table {{.Scope}}', [{'__ctx__': {'ID': 'e29e067cd759d2392d234732fbbafc5bcff02722e0fe5b5f92a5450d4c2ec988', 'Name': '', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': 'b1df8caf3d2d68b34e3b965a10ced261e0355dee04a3615210e2193463c23515', 'Name': 'x', 'Driver': 'null', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '02d281195db1c8df5ec3270a8912ae5eef7bd0df910e26f6550179b31196a77a', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'null', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     'SCOPE\nlocal\nlocal\nlocal\n', ''),
    ('table  {{.Name}} {{.ID}}', [{'__ctx__': {'ID': 'fc24f2b7e0a815c982784a98eba7debc924e4b1a3ad14f3c28c9fc4f6ad6e43a', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'ID': '6a4873e607e087058df2012db08113ad8e13845f57b06724cc1b2435f110d142', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}, {'ID': 'f5b6cc10e987c207b336239f1f94594f82988d6cd4e35d417ba016a5b4d1811d', 'Name': 'db-backend-network', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}],
     'NAME NETWORK ID\nx fc24f2b7e0a815c982784a98eba7debc924e4b1a3ad14f3c28c9fc4f6ad6e43a\na-very-long-network-name-indeed 6a4873e607e087058df2012db08113ad8e13845f57b06724cc1b2435f110d142\ndb-backend-network f5b6cc10e987c207b336239f1f94594f82988d6cd4e35d417ba016a5b4d1811d\n', ''),
    ('table{{upper .Name}}\\t{{.Scope}}\\t{{.Name}}\\t{{.Labels}}', [],
     'NAME      SCOPE     NAME      LABELS\n', ''),
    ('table {{.Labels}} {{.Labels}} {{.Driver}} {{.ID}} ', [{'__ctx__': {'ID': '715002ddf219fbe13f8b3158d4b25539d63057b2bb5d23195a301faf9849b9ca', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '9437e6e1eb8497d2e15d110b50d9b2c36e6f4c626d117e8bf558898a6fa6e358', 'Name': 'web', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}}],
     'LABELS LABELS DRIVER NETWORK ID\ncom.example.team=infra,env=prod com.example.team=infra,env=prod bridge 715002ddf219fbe13f8b3158d4b25539d63057b2bb5d23195a301faf9849b9ca\n  overlay 9437e6e1eb8497d2e15d110b50d9b2c36e6f4c626d117e8bf558898a6fa6e358\n', ''),
    ('table  {{truncate .ID 12}}\\n', [{'__ctx__': {'ID': '68aa3cb85cb3ed5db23cd3b2e6e24e75461d6476dd3b44bf23f59d217ac8e01f', 'Name': 'x', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}}, {'ID': 'f1c42bb54385b4918ffe0cb4607fff9b318f0962d59602cf5309b25e3456c3d0', 'Name': 'x', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'__ctx__': {'ID': '7e7efb5c08687dad26b2f0db16d40117b509c27d527f62e9c0af51604b45865c', 'Name': 'x', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}],
     'NETWORK ID\n\n68aa3cb85cb3\n\nf1c42bb54385\n\n7e7efb5c0868\n\n', ''),
    ('{{pad .Name 1 1}}\t{{join (split .Name "-") "+"}}\t{{.Missing}}', [],
     '', ''),
    ('table  {{json .Name}}\t{{truncate .ID 12}}\t{{.Driver}}\t{{.Name}}', [{'ID': 'd7f77ca3cff7cef0612c38c09967f0de32450dee8c87a6ce252461bf85d95ab7', 'Name': 'x', 'Driver': 'null', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}],
     'NAME      NETWORK ID     DRIVER    NAME\n"x"       d7f77ca3cff7   null      x\n', ''),
    ('table {{join (split .Name "-") "+"}}\t{{join (split .Name "-") "+"}}\t{{.Labels}}\\n', [],
     'NAME      NAME      LABELS\n\n', ''),
    ('table{{join (split .Name "-") "+"}} {{.Label "com.example.team"}} {{.ID}} {{pad .Name 1 1}}\\n', [{'__ctx__': {'ID': '6d8801650d0e8cfc7a566083d18034f5ea6fd83c05d530167c7b3157ce881874', 'Name': 'web', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': 'bbb699aec886b1f368d33dd3a84ba4d302767493dd820a99304a1fc9a48cd44b', 'Name': 'x', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}}, {'__ctx__': {'ID': 'c4d8ab85aa7dbb5801f5386767b0e1d7b8239ac6028b3d0a4550537b0096b953', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}],
     'NAME team NETWORK ID  NAME \n\nweb  6d8801650d0e8cfc7a566083d18034f5ea6fd83c05d530167c7b3157ce881874  web \n\nx  bbb699aec886b1f368d33dd3a84ba4d302767493dd820a99304a1fc9a48cd44b  x \n\na+very+long+network+name+indeed  c4d8ab85aa7dbb5801f5386767b0e1d7b8239ac6028b3d0a4550537b0096b953  a-very-long-network-name-indeed \n\n', ''),
    ('table {{.Driver}}\t{{join (split .Name "-") "+"}}\t{{json .Name}}', [{'__ctx__': {'ID': '300bf7c7242572965451f0dc98780dfbf10bcba2b4e370335c8501047a069d7b', 'Name': 'naïve', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'ID': '425dd90b2ece05e2bf748d528dc474ea91fed5ae5d094a6f01b93f0e7bfa6f5f', 'Name': 'naïve', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}, {'__ctx__': {'ID': '9a08eea995b031d5d882d15bab79949416e003ca73533568abf98ae38fc0b4b5', 'Name': 'naïve', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': 'c390dfb5a9489605387ea7723ab5b6bf4f354751ee568801656d5167e29ea315', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}],
     'DRIVER    NAME                              NAME\nbridge    naïve                             "naïve"\noverlay   naïve                             "naïve"\noverlay   naïve                             "naïve"\noverlay   a+very+long+network+name+indeed   "a-very-long-network-name-indeed"\n', ''),
    ('table{{truncate .ID 12}}', [{'__ctx__': {'ID': 'a881024fb95c1769d41838f2bd59ee49c9c8abf69e4994faf7a5cd70c731a31a', 'Name': 'db-backend-network', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}}],
     'NETWORK ID\na881024fb95c\n', ''),
    ('table  {{len .Name}} {{.ID}} {{truncate .ID 12}} {{join (split .Name "-") "+"}}', [],
     '4 NETWORK ID NETWORK ID NAME\n', ''),
    ('table {{.Name | lower}}', [{'ID': '4b2e06ee581eaf839a538b1856fcdbbab3be7311c0fbbb69b7d1bdfa4e7a7e36', 'Name': '', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}, {'__ctx__': {'ID': 'c6fecdff9956a6f91a4ae508780bf3e3bcac51147b74881fb183ebe8d3c718e4', 'Name': '', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}}, {'ID': '7ed73269200f36599ae593c6a78dee614998c37329700ac12d7eefe75601b4df', 'Name': '', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}, {'__ctx__': {'ID': 'a3adb1fe7e82beb41d9e115560344e7f251c7601171bd1a6ba92474a456e854d', 'Name': 'web', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}}],
     'NAME\n\n\n\nweb\n', ''),
    ('table{{json .Name}}\\t{{truncate .ID 12}}\\t{{.Label "com.example.team"}}\\t{{index .Foo "x"}}\\n', [],
     'NAME      NETWORK ID   team      \n', ''),
    ('table  {{.Labels}} {{.ID}} {{pad .Name 1 1}}', [{'__ctx__': {'ID': '0ed2e2892dd6b895e13670349ba44e289fbbcae33bd51b17a171ec9eac0eb15f', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}}, {'__ctx__': {'ID': 'a5c571d41ac2b4dfc533436f2d182a082755bd809798738735b8f18b33d7ea82', 'Name': 'db-backend-network', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '29a33423126cf1885330edf6700dde4bcd1a86e80173dc0e59d8587f5802260f', 'Name': 'db-backend-network', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}}],
     'LABELS NETWORK ID  NAME \n 0ed2e2892dd6b895e13670349ba44e289fbbcae33bd51b17a171ec9eac0eb15f  a-very-long-network-name-indeed \n a5c571d41ac2b4dfc533436f2d182a082755bd809798738735b8f18b33d7ea82  db-backend-network \n 29a33423126cf1885330edf6700dde4bcd1a86e80173dc0e59d8587f5802260f  db-backend-network \n', ''),
    ('{{join (split .Name "-") "+"}}\\t{{truncate .ID 12}}\\t{{.Name}}', [{'__ctx__': {'ID': 'f8377f9e8f4e7712e6d1611a0e8eb9993c4f75d61c0bb783e31e6f59a659f51e', 'Name': 'x', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '54afe949532a2c1a72de31cdbfd17f5ffbefee12df3754032421ecaffc40668c', 'Name': 'x', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '401c45310a96468b4401bac3d14661c3629f042d271e4be9a1bcad9fe8881947', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     'x\tf8377f9e8f4e\tx\nx\t54afe949532a\tx\na+very+long+network+name+indeed\t401c45310a96\ta-very-long-network-name-indeed\n', ''),
    ('table{{.Labels}}\\n', [{'ID': '041c8b2660bf3a96f1ee5a6a08c025aa4719127dca57bca4ac75553ae8c147ce', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'__ctx__': {'ID': 'e453f27d5f1d4dc6645d950ddc8653f64d1e23096433600f29cee1e00a39c49f', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '3b6bd95fa4cb35a331f136ca78be1f8f0f303c1c56bc192ae00735a1d3112756', 'Name': 'web', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '1a56e65de72db67e89414e0467ddee37a6bd93a59a1dff3168d9a3151e6555ce', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}}],
     'LABELS\n\nmap[com.example.team:infra env:prod]\n\ncom.example.team=infra,env=prod\n\ncom.example.team=infra,env=prod\n\n\n\n', ''),
    ('table {{len .Name}}\\t{{json .Name}}\\t{{.Label "com.example.team"}}', [{'__ctx__': {'ID': 'e1e70b4b497ef0bad9150367e558c3db66c52a79ea05afaadef94fd689a72351', 'Name': 'db-backend-network', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': 'ff8b87a707f98fbd7826e4404ac5c7a28489a04a098813948af59c9e229ab498', 'Name': 'web', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': 'cafc2c7dcefc11b36d45e50ef029974890c71a6f755b9f9296e53db9fb207398', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     '4         NAME                                team\n18        "db-backend-network"                \n3         "web"                               infra\n31        "a-very-long-network-name-indeed"   infra\n', ''),
    ('table {{join (split .Name "-") "+"}}\t{{pad .Name 1 1}}', [{'ID': '28ed55fedab258264c8aca279bd3e81a06fb311209c9116a2372e982264d23f1', 'Name': 'web', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}, {'ID': '260ce618433178877b5c9a972cd67c13506362b756e8682f1ba23545be8d1e40', 'Name': 'web', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}, {'ID': 'd27f74c6824d05be43c41479e40e83474ab36de7b67e40a249db021693d0a5a0', 'Name': 'db-backend-network', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}],
     'NAME                  NAME \nweb                   web \nweb                   web \ndb+backend+network    db-backend-network \n', ''),
    ('table {{json .Name}} ', [{'ID': '88a32f1b7e5f935e10a4cbfd028fe2eee014aa5d46f262184ea497edb4a45aaa', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}, {'__ctx__': {'ID': '520cbe98f864d551200242b147c5134a95c48b206826691993dbc663a6799298', 'Name': '', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '49bf07d7b2af67062465cb41a41c6d2c3c874f79fdac43d888d9f5ce262c0a12', 'Name': 'x', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}],
     'NAME\n"a-very-long-network-name-indeed"\n""\n"x"\n', ''),
    ('table  {{json .Name}}\t{{pad .Name 1 1}}\t{{.Driver}}', [{'__ctx__': {'ID': '573bcf7e005a05fd66766cec30a0b2dafd0fcef986e292b5c1e272807fde9d0b', 'Name': '', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}}, {'__ctx__': {'ID': '4be4d42f98a9c687246004bd14a16213dbb5fce15e49484932968d080cee0023', 'Name': 'web', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     'NAME       NAME     DRIVER\n""                  null\n"web"      web      null\n', ''),
    ('{{.ID}}\t{{upper .Name}}', [{'__ctx__': {'ID': '721990239c42460bb736b4107960b1d245d115b70b7b0238a2c51f2af2f45464', 'Name': '日本語ネット', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     '721990239c42460bb736b4107960b1d245d115b70b7b0238a2c51f2af2f45464\t日本語ネット\n', ''),
    ('table  {{upper .Name}} ', [{'ID': '524878a25d37365b3cf8f80d338ff96ca361094b99680bf55837e8fb0fa907b8', 'Name': 'école', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}, {'ID': '1224667ea114c30ed7969819894ed29d8678517f994560a67537a75e3d21df02', 'Name': 'naïve', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}, {'ID': '6a0a3cc81eab5ee9824f2f8889b58dc07843b2425b071595f537ca865253e1a9', 'Name': '日本語ネット', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'__ctx__': {'ID': '6176df0f3f72c63b9cda0c8e657c8fcf0de7ce4930fdcef578ec2a20df755396', 'Name': '日本語ネット', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}}],
     'NAME\nÉCOLE\nNAÏVE\n日本語ネット\n日本語ネット\n', ''),
    ('table{{.Driver}}\t{{upper .Name}}\t{{.Name | lower}}\t{{.Scope}}', [{'__ctx__': {'ID': '99bcfc6073b6f7bab3d561a837d07c6776c04e7d40fa7da8307fbb4cb2b01429', 'Name': 'x', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': '868cad480c5859ebc0194bfcd8df3df6a8764bd022532631c8ce0418afa4fadb', 'Name': '日本語ネット', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}, {'ID': 'dc4b1cca17ffbb15309e695692ce42e85de8cd7d55d4c3e93415a390f5a402df', 'Name': '', 'Driver': 'null', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'__ctx__': {'ID': '44e1940aaa2b61538244eb9c1fc9fa7c1fa34b60a9e4c4be13df587caa3d2fd2', 'Name': '日本語ネット', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {}}}],
     'DRIVER    NAME           NAME           SCOPE\noverlay   X              x              local\noverlay   日本語ネット   日本語ネット   local\nnull                                    local\nbridge    日本語ネット   日本語ネット   local\n', ''),
    ('table {{upper .Name}} ', [{'ID': 'e31e99ea9e2c5bc84a41b3af00abc4845d305860c449b3647e7599dd79a70141', 'Name': 'web', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}, {'__ctx__': {'ID': 'f5cb84049b412a3061d199841b6c29cb57207980ee143347ff7000849e355084', 'Name': 'ｗｉｄｅ', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     'NAME\nWEB\nＷＩＤＥ\n', ''),
    ('table  {{truncate .ID 12}}\t{{.Labels}}\t{{truncate .ID 12}}', [{'__ctx__': {'ID': '2a26ea62b85a05dcb9f8decfd5882e7062fc896a1ab9af5994188b0f648f9489', 'Name': 'naïve', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}}, {'ID': '2408736b0962318601f942fba5f82fbe3c9ae2b632c1911e9488ab007b3180ff', 'Name': 'web', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'__ctx__': {'ID': '659cddd98a89be71177339c28f62a79b069f112962f1c5dd99a11f416f5a30cb', 'Name': 'naïve', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'ID': '41a4e3eb501c71b3fb411e994ea430326f51bbf8eb16ef0366091bd696b8b3fd', 'Name': 'ｗｉｄｅ', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}],
     'NETWORK ID     LABELS                                 NETWORK ID\n2a26ea62b85a                                          2a26ea62b85a\n2408736b0962   map[com.example.team:infra env:prod]   2408736b0962\n659cddd98a89   com.example.team=infra,env=prod        659cddd98a89\n41a4e3eb501c   map[]                                  41a4e3eb501c\n', ''),
    ('table{{truncate .ID 12}} {{.Labels}}', [{'__ctx__': {'ID': '7e8448350f8553854d9a2be127704ba634d9d09ab50bb0e7e06b493fbbee04fc', 'Name': 'x', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '2ce7dd65dbe64f6b9099f832d2919c49eb3a4e6d9dd3d9e91c6c3b1c87ad82b5', 'Name': 'ｗｉｄｅ', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     'NETWORK ID LABELS\n7e8448350f85 com.example.team=infra,env=prod\n2ce7dd65dbe6 com.example.team=infra,env=prod\n', ''),
    ('table  {{.Label "com.example.team"}}\t{{pad .Name 1 1}}\t{{.Labels}}', [{'__ctx__': {'ID': 'cb99b5276965fccf40e742c39e7677d32201f8cfa008d35707ab289869ae98c1', 'Name': 'ｗｉｄｅ', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': 'c5440fad6fe1817b8179a7b9cf90124ba226a9eb10dfbea158aa91224a5a6169', 'Name': 'naïve', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': 'd5b0e51f5e34f275e96001175b97c9c44a686a758e3849593d7b4adc94fa0ac6', 'Name': 'ｗｉｄｅ', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {}}}],
     'team       NAME        LABELS\n           ｗｉｄｅ    \ninfra      naïve       com.example.team=infra,env=prod\n           ｗｉｄｅ    \n', ''),
    ('{{json .Name}}\\t{{join (split .Name "-") "+"}}\\t{{.Name}}\\t{{len .Name}}', [{'__ctx__': {'ID': '965f3be9578827578d41f33b5fec2c750bf59c735625a99c2104c7ee3b197042', 'Name': 'école', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}}, {'ID': '64faca545adc5a93bbf15f44517bd617ed8b25381056a20886e13aa590a9b7e4', 'Name': 'x', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'ID': 'a89d48b46783b5000a08ab432ea82280ab1de0abfac5af67e1fb004e182560c4', 'Name': '日本語ネット', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}],
     '"école"\técole\técole\t7\n"x"\tx\tx\t1\n"日本語ネット"\t日本語ネット\t日本語ネット\t18\n', ''),
    ('table  {{join (split .Name "-") "+"}} ', [{'ID': '2da56b1f86bede06f43cd00dfe402647f40b60710be12b0df9dbf5db866be5e2', 'Name': '日本語ネット', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}, {'__ctx__': {'ID': '31cf6a6c21475bc8eb3afbf93c09ad0048556bb176a2b98d787552cb02a792d0', 'Name': 'ｗｉｄｅ', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     'NAME\n日本語ネット\nｗｉｄｅ\n', ''),
    ('table  {{json .Name}}\\t{{len .Name}}\\t{{.ID}} ', [{'ID': '2381660d7e08c0abcc4edba5af50c491fb962feeef15e153669a9a90758dd48c', 'Name': 'ｗｉｄｅ', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}, {'__ctx__': {'ID': '0adbd3ef0e1e167f63b0edc978612dada7497218db1a425ffc95e9b4490b091e', 'Name': 'db-backend-network', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {}}}, {'ID': '9f9ab287b972d58e4c2aeb62139550408d2d234f7f7668de6e2ae3433ec00ada', 'Name': 'x', 'Driver': 'null', 'Scope': 'swarm', 'Labels': {}}],
     'NAME                   4         NETWORK ID\n"ｗｉｄｅ"             12        2381660d7e08c0abcc4edba5af50c491fb962feeef15e153669a9a90758dd48c\n"db-backend-network"   18        0adbd3ef0e1e167f63b0edc978612dada7497218db1a425ffc95e9b4490b091e\n"x"                    1         9f9ab287b972d58e4c2aeb62139550408d2d234f7f7668de6e2ae3433ec00ada\n', ''),
    ('{{.Name}}', [{'__ctx__': {'ID': '004e2371165390823dee501257eeb1bfb12d5bdae8394bb1cffc6cf50cb93869', 'Name': '日本語ネット', 'Driver': 'overlay', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '7a513ef32e78bc310039840fc7883706dac81bcb9f973d31003288a4756b9600', 'Name': 'db-backend-network', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {}}}, {'__ctx__': {'ID': 'b3fe93a4449cec2938dbe8674440d4b72d3e208fca65c8b1d860fe277b4df8fe', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'bridge', 'Scope': 'swarm', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}],
     '日本語ネット\ndb-backend-network\na-very-long-network-name-indeed\n', ''),
    ('table  {{.Driver}} {{.Driver}} {{json .Name}} {{upper .Name}}', [{'__ctx__': {'ID': '9179024119ad0a731d040b3788608b44075060cc0a176a971d57e2ebf6c4d211', 'Name': 'ｗｉｄｅ', 'Driver': 'bridge', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': '68552781aab5ae6c57a6ea31bf2f477a20570984f80573776c0b241e336a2c75', 'Name': 'a-very-long-network-name-indeed', 'Driver': 'overlay', 'Scope': 'local', 'Labels': {'com.example.team': 'infra', 'env': 'prod'}}}, {'__ctx__': {'ID': 'd9e6cd5dae58b7de7894e6d454f3f3d87c5043a76d919fcece269a308b1a8e21', 'Name': 'x', 'Driver': 'null', 'Scope': 'local', 'Labels': {}}}],
     'DRIVER DRIVER NAME NAME\nbridge bridge "ｗｉｄｅ" ＷＩＤＥ\noverlay overlay "a-very-long-network-name-indeed" A-VERY-LONG-NETWORK-NAME-INDEED\nnull null "x" X\n', ''),
]
# fmt: on


def execute_as_go_does(text: str, data: object, missingkey: str) -> tuple[str, str]:
    """Output and error as Go's Execute leaves them: what was printed before an error stays."""
    try:
        return compile(text).execute(contexts(data), missingkey=missingkey or "default"), ""
    except TemplateError as exc:
        return exc.partial, str(exc)


@pytest.mark.parametrize(
    "text, data, missingkey, output, error", GO_VERIFIED, ids=[f"go{i}" for i in range(len(GO_VERIFIED))]
)
def test_the_output_and_the_error_are_go_s(text, data, missingkey, output, error):
    assert execute_as_go_does(text, data, missingkey) == (output, error)


@pytest.mark.parametrize(
    "text, items, output, error", GO_VERIFIED_TABLES, ids=[f"table{i}" for i in range(len(GO_VERIFIED_TABLES))]
)
def test_a_listing_is_what_docker_s_formatter_prints(text, items, output, error):
    if error:
        with pytest.raises(TemplateError) as info:
            render_each(text, contexts(items), HEADERS)
        assert str(info.value) == error
    else:
        assert render_each(text, contexts(items), HEADERS) == output


def test_the_verified_cases_ran_on_this_very_data():
    # the expected strings above depend on NET being exactly what the Go run was given
    assert hashlib.sha256(json.dumps(NET, sort_keys=True).encode()).hexdigest()[:16] == "566a2dce2516f94f"
