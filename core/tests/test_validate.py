"""Values at the API boundary: each kind has its rule, and nothing accepted can break a file line.

The examples say one rule each; the properties say, for arbitrary text and arbitrary objects,
that every check answers a value or an InvalidParameter, that what it accepts it accepts again
unchanged, that no accepted value holds whitespace or a control character, and that the hosts and
resolv.conf files written from accepted values have exactly the lines asked for.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycnm import model, validate
from pycnm.errors import InvalidParameter
from pycnm.osl import dnsfiles

#: examples per property: the file runs in about 4 s (6 s on a loaded host)
BUDGET = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def refused(fn, *args, match: str | None = None) -> str:
    with pytest.raises(InvalidParameter, match=match) as info:
        fn(*args)
    return str(info.value)


# ---- names ---------------------------------------------------------------------------------------


def test_a_name_of_letters_digits_and_separators_is_accepted():
    assert validate.name("network", "my-net_1.prod") == "my-net_1.prod"


def test_a_name_with_a_trailing_newline_is_refused():
    # the controller's NAME_RE.match lets "net\n" through ("$" matches before a final newline)
    refused(validate.name, "sandbox", "net\n", match=r"newline \(U\+000A\) at position 3")


def test_a_name_starting_with_a_separator_is_refused():
    refused(validate.name, "endpoint", ".hidden", match="start it with a letter or digit")


def test_a_name_longer_than_the_limit_is_refused():
    assert validate.name("network", "n" * validate.NAME_MAX) == "n" * validate.NAME_MAX
    message = refused(validate.name, "network", "n" * 300, match="at most 128")
    assert "(300 characters)" in message and len(message) < 300  # the value is shown, cut short


def test_an_empty_or_missing_name_is_refused():
    refused(validate.name, "network", "", match="it is empty")
    refused(validate.name, "network", None, match="is required")


def test_a_name_that_is_not_text_is_refused_saying_what_it_is():
    refused(validate.name, "network", b"net", match="bytes, not text; decode it first")
    refused(validate.name, "network", 7, match="an int, not a string")


def test_a_message_names_the_field_shows_the_value_says_the_rule_and_what_to_do():
    message = refused(validate.hostname, "h\n6.6.6.6 evil.example")
    assert message.startswith("invalid hostname 'h\\n6.6.6.6 evil.example': it contains a newline")
    assert "letters, digits and '-'" in message and "remove that character" in message


# ---- hostname and domainname ---------------------------------------------------------------------


def test_a_hostname_with_a_newline_is_refused():
    refused(validate.hostname, "h\n6.6.6.6 evil.example", match="newline")


def test_a_hostname_with_a_space_is_refused():
    refused(validate.hostname, "web 1", match="space")


def test_a_hostname_keeps_its_case_and_may_be_all_digits():
    assert validate.hostname("Web-01.Example") == "Web-01.Example"
    assert validate.hostname("123456789012") == "123456789012"  # a short container ID can be


def test_a_hostname_longer_than_the_kernel_s_limit_is_refused():
    assert validate.hostname("a" * 63) == "a" * 63
    refused(validate.hostname, "a.b" * 22, match="at most 64")


def test_a_hostname_label_longer_than_63_is_refused():
    refused(validate.domainname, "a" * 64 + ".org", match="a label is at most 63")


def test_a_hostname_label_may_not_start_or_end_with_a_hyphen():
    refused(validate.hostname, "-web", match="starts or ends with '-'")
    refused(validate.hostname, "web-.example", match="starts or ends with '-'")


def test_a_hostname_with_an_empty_label_is_refused():
    refused(validate.hostname, "web..example", match="empty label")
    refused(validate.hostname, "web.", match="empty label")


def test_a_hostname_with_an_underscore_is_refused():
    refused(validate.hostname, "my_host", match="'_'")


def test_a_hostname_that_is_an_ipv4_address_is_refused():
    refused(validate.hostname, "10.0.0.1", match="is an IPv4 address")


def test_a_domainname_of_253_characters_is_accepted_and_254_refused():
    name = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(name) == 253 and validate.domainname(name) == name
    refused(validate.domainname, name + "b", match="at most 253")


# ---- DNS servers, search domains and options -----------------------------------------------------


def test_a_dns_server_is_returned_in_canonical_form():
    assert validate.dns_server("2001:DB8::0:1") == "2001:db8::1"
    assert validate.dns_server(" 1.1.1.1 ") == "1.1.1.1"  # moby trims, and so does pycnm
    assert validate.dns_server(ipaddress.ip_address("9.9.9.9")) == "9.9.9.9"


def test_a_dns_server_with_a_second_address_is_refused():
    refused(validate.dns_server, "1.1.1.1\nnameserver 6.6.6.6", match="newline")
    refused(validate.dns_server, "1.1.1.1 6.6.6.6", match="space")


def test_a_dns_server_that_is_not_an_address_is_refused():
    refused(validate.dns_server, "dns.google", match="not an IPv4 or IPv6 address")


def test_a_link_local_dns_server_may_name_its_zone():
    assert validate.dns_server("fe80::1%eth0") == "fe80::1%eth0"
    refused(validate.dns_server, "2001:db8::1%eth0", match="only a link-local")
    refused(validate.dns_server, "fe80::1%a/b", match="not an interface name")
    refused(validate.dns_server, "fe80::1%" + "e" * 16, match="not an interface name")


def test_a_dns_search_domain_with_a_nameserver_in_it_is_refused():
    refused(validate.dns_search, "x\nnameserver 6.6.6.6", match="newline")


def test_a_dns_search_domain_of_a_dot_means_none_and_is_kept():
    assert validate.dns_search(".") == "."
    assert validate.dns_search(" . ") == "."


def test_a_dns_search_domain_loses_its_trailing_dot():
    assert validate.dns_search("corp.example.") == "corp.example"


def test_a_dns_search_domain_without_a_letter_is_refused():
    refused(validate.dns_search, "10.0.0.1", match="no letter")


def test_a_dns_search_domain_longer_than_253_is_refused():
    refused(validate.dns_search, ".".join(["a" * 60] * 5), match="at most 253")


def test_a_dns_option_with_a_nameserver_in_it_is_refused():
    refused(validate.dns_option, "ndots:1\nnameserver 6.6.6.6", match="newline")


def test_the_dns_options_glibc_and_musl_know_are_accepted():
    for option in ("rotate", "edns0", "trust-ad", "single-request-reopen", "no-aaaa", "use-vc", "no-tld-query"):
        assert validate.dns_option(option) == option
    assert validate.dns_option("ndots:02") == "ndots:2"
    assert validate.dns_option("attempts:5") == "attempts:5"


def test_a_numeric_dns_option_out_of_its_range_is_refused():
    refused(validate.dns_option, "ndots:16", match="0 to 15")
    refused(validate.dns_option, "timeout:0", match="1 to 30")
    refused(validate.dns_option, "attempts:9", match="1 to 5")
    refused(validate.dns_option, "ndots:x", match="takes a number")
    refused(validate.dns_option, "ndots:-1", match="takes a number")


def test_a_dns_flag_given_a_value_is_refused():
    refused(validate.dns_option, "rotate:1", match="takes no value")


def test_an_unknown_dns_option_is_refused_with_the_list_of_known_ones():
    message = refused(validate.dns_option, "NDOTS:2", match="not a resolv.conf option")
    assert "ndots:N" in message and "single-request" in message


# ---- extra hosts and aliases ---------------------------------------------------------------------


def test_an_extra_host_with_a_second_line_in_its_name_is_refused():
    refused(validate.extra_host, "a\n7.7.7.7 b", "1.2.3.4", match="extra host name .*newline")


def test_an_extra_host_with_a_second_line_in_its_address_is_refused():
    refused(validate.extra_host, "db", "1.2.3.4\n7.7.7.7 evil", match="extra host address .*newline")


def test_an_extra_host_is_one_name_and_one_address():
    assert validate.extra_host("db.local", "10.0.0.9") == ("db.local", "10.0.0.9")
    refused(validate.extra_host, "db db2", "10.0.0.9", match="space")


def test_an_extra_host_s_ipv6_address_may_be_bracketed_but_not_zoned():
    assert validate.extra_host("db", "[2001:DB8::1]") == ("db", "2001:db8::1")
    refused(validate.extra_host, "db", "fe80::1%eth0", match="hosts file cannot hold")


def test_an_extra_host_of_host_gateway_is_refused_saying_why():
    refused(validate.extra_host, "host.docker.internal", "host-gateway", match="pycnm does not fill in")


def test_an_alias_may_hold_an_underscore_but_no_whitespace():
    assert validate.alias("my_service.project") == "my_service.project"
    refused(validate.alias, "db\tdb2", match="tab")
    refused(validate.alias, "a" * 254, match="at most 253")


# ---- MAC addresses -------------------------------------------------------------------------------


def test_a_mac_is_returned_lowercase_with_colons():
    assert validate.mac("02-42-AC-11-00-02") == "02:42:ac:11:00:02"
    assert validate.mac("0242.ac11.0002") == "02:42:ac:11:00:02"


def test_a_multicast_or_zero_mac_is_refused():
    refused(validate.mac, "01:00:5e:00:00:01", match="multicast")
    refused(validate.mac, "ff:ff:ff:ff:ff:ff", match="multicast")
    refused(validate.mac, "00:00:00:00:00:00", match="all zeros")


def test_a_mac_of_another_length_or_mixed_separators_is_refused():
    refused(validate.mac, "02:42:ac:11:00:02:03:04", match="48 bits")
    refused(validate.mac, "02:42-ac:11:00:02", match="six hex pairs")
    refused(validate.mac, "02:42:ac:11:00:02\n", match="six hex pairs")


def test_the_model_s_mac_delegates_and_keeps_none_for_none():
    assert model.mac(None) is None and model.mac("") is None
    assert model.mac("02-AA-bb-cc-dd-ee") == "02:aa:bb:cc:dd:ee"
    with pytest.raises(InvalidParameter, match="multicast"):
        model.EndpointInterface(mac_address="01:00:5e:00:00:01")


# ---- labels and driver options -------------------------------------------------------------------


def test_a_label_value_may_be_any_text_without_nul():
    assert validate.label("com.example.note", "two\nlines, ünïcode") == ("com.example.note", "two\nlines, ünïcode")
    refused(validate.label, "k", "a\x00b", match="NUL")
    refused(validate.label, "k", "\ud800", match="lone surrogate")
    refused(validate.label, "k", "x" * (validate.VALUE_MAX + 1), match="at most 4096")


def test_a_label_key_with_whitespace_control_or_equals_is_refused():
    refused(validate.label, "team name", "x", match="space")
    refused(validate.label, "team\u200bname", "x", match="U\\+200B")
    refused(validate.label, "a=b", "x", match="contains '='")
    refused(validate.label, "", "x", match="empty")
    refused(validate.label, "k" * (validate.KEY_MAX + 1), "x", match="at most 256")


def test_labels_come_from_a_mapping_or_key_value_strings():
    assert validate.labels({"a": "1"}) == {"a": "1"}
    assert validate.labels(["a=1", "b"]) == {"a": "1", "b": ""}
    assert validate.labels(None) == {}
    refused(validate.labels, "a=1", match="a list of key=value")
    refused(validate.labels, {"a": 1}, match="an int, not a string")


def test_a_driver_option_value_has_no_control_character():
    assert validate.driver_options({"com.docker.network.driver.mtu": "1400", "icc": True}) == {
        "com.docker.network.driver.mtu": "1400",
        "icc": True,
    }
    refused(validate.driver_option_value, "br0\nx", match="newline")
    refused(validate.driver_option_key, "mtu\r", match="carriage return")


def test_a_driver_option_may_nest_a_map_but_not_endlessly():
    generic = {"com.docker.network.generic": {"mtu": "1400"}}
    assert validate.driver_options(generic) == generic
    deep: dict = {"v": "x"}
    for _ in range(validate.OPTION_DEPTH_MAX + 1):
        deep = {"k": deep}
    refused(validate.driver_options, deep, match="nests more than 4")


def test_a_driver_option_value_is_text_a_bool_or_a_64_bit_integer():
    assert validate.driver_option_value(1 << 40) == 1 << 40
    refused(validate.driver_option_value, 1 << 70, match="64 bits")
    refused(validate.driver_option_value, 1.5, match="a float")
    refused(validate.driver_option_value, None, match="a NoneType")


# ---- properties ----------------------------------------------------------------------------------

#: characters near the rules (and across them): what finds the edges
_EDGE = "aZ09-._ :%[]/=\n\r\t\x00\x0b\u00a0\u2028\u200b\ufeff\ud800\u0661\uff11é" + "fe80"
edge_text = st.text(alphabet=_EDGE, max_size=24)
any_text = st.text(st.characters(exclude_categories=()), max_size=40) | edge_text
anything = (
    any_text
    | st.none()
    | st.integers()
    | st.binary(max_size=8)
    | st.floats()
    | st.booleans()
    | st.lists(st.text(max_size=3), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.text(max_size=3))
)

_label_text = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
dns_names = st.lists(_label_text, min_size=1, max_size=4).map(".".join)
ip_texts = st.ip_addresses().map(str) | st.sampled_from(
    ["fe80::1%eth0", "fe80::1%1", "[::1]", " 10.0.0.1 ", "::ffff:1.2.3.4", "2001:DB8::1"]
)
options = st.sampled_from(sorted(validate.DNS_FLAG_OPTIONS)) | st.builds(
    "{}:{}".format, st.sampled_from(sorted(validate.DNS_NUMERIC_OPTIONS)), st.integers(-2, 40)
)
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))

#: every check of one value, with input that is mostly near-valid and sometimes anything
ONE_VALUE = {
    "name": (lambda v: validate.name("network", v), dns_names | anything),
    "hostname": (validate.hostname, dns_names | anything),
    "domainname": (validate.domainname, dns_names | anything),
    "alias": (validate.alias, dns_names | anything),
    "dns_server": (validate.dns_server, ip_texts | anything),
    "dns_search": (validate.dns_search, dns_names | st.just(".") | anything),
    "dns_option": (validate.dns_option, options | anything),
    "mac": (validate.mac, macs | anything),
    "driver_option_key": (validate.driver_option_key, dns_names | anything),
}
#: the checks whose values end up on a line of hosts or resolv.conf
IN_FILES = {"name", "hostname", "domainname", "alias", "dns_server", "dns_search", "dns_option", "mac"}


def answer(fn, *args):
    """The check's value, or None when it refused; anything but InvalidParameter fails the test."""
    try:
        return fn(*args)
    except InvalidParameter:
        return None


def line_safe(text: str) -> bool:
    return text.isascii() and text.isprintable() and not any(c.isspace() for c in text)


@pytest.mark.parametrize("kind", list(ONE_VALUE))
def test_every_check_answers_a_value_or_an_invalid_parameter_and_accepts_its_answer_again(kind):
    check, values = ONE_VALUE[kind]

    @BUDGET
    @given(values)
    def run(value):
        got = answer(check, value)
        if got is None:
            return
        assert check(got) == got  # normalised once, unchanged after
        if kind in IN_FILES:
            assert line_safe(got), got

    run()


@BUDGET
@given(dns_names | anything, ip_texts | anything)
def test_an_extra_host_answers_a_line_safe_pair_or_an_invalid_parameter(host, ip):
    got = answer(validate.extra_host, host, ip)
    if got is not None:
        assert validate.extra_host(*got) == got
        assert all(line_safe(part) for part in got)


@BUDGET
@given(anything | st.text(max_size=20), anything | st.text(max_size=20))
def test_a_label_answers_a_pair_or_an_invalid_parameter(key, value):
    got = answer(validate.label, key, value)
    if got is not None:
        assert validate.label(*got) == got
        assert "\x00" not in got[1] and not any(c.isspace() for c in got[0])
        got[1].encode()  # storable: no lone surrogate


@BUDGET
@given(st.recursive(anything, lambda inner: st.dictionaries(any_text, inner, max_size=3), max_leaves=8))
def test_driver_options_answer_a_dict_or_an_invalid_parameter(value):
    got = answer(validate.driver_options, value)
    if got is not None:
        assert validate.driver_options(got) == got


@BUDGET
@given(st.sampled_from("\n\r\t\x00 \x0b\x0c\u2028\u0085"), dns_names, st.data())
def test_a_line_breaking_character_anywhere_is_refused_by_every_file_check(char, name, data):
    at = data.draw(st.integers(0, len(name)))
    broken = name[:at] + char + name[at:]
    for kind in ("name", "hostname", "domainname", "alias", "dns_search"):
        check = ONE_VALUE[kind][0]
        got = answer(check, broken)
        # moby trims surrounding spaces of a search domain: what comes back is then line-safe
        assert got is None or (kind == "dns_search" and char == " " and line_safe(got)), (kind, broken, got)
    assert answer(validate.dns_option, "ndots:1" + char) is None
    assert answer(validate.extra_host, broken, "10.0.0.1") is None


def _accepted(check, values):
    return [v for v in (answer(check, x) for x in values) if v is not None]


@BUDGET
@given(
    dns_names | anything,
    dns_names | anything,
    st.lists(st.ip_addresses(), max_size=3),
    st.lists(st.tuples(dns_names | any_text, ip_texts | any_text), max_size=3),
)
def test_a_hosts_file_from_accepted_values_has_exactly_the_lines_given(hostname, domainname, addresses, extra):
    host = answer(validate.hostname, hostname)
    domain = answer(validate.domainname, domainname)
    extras = [e for e in (answer(validate.extra_host, n, ip) for n, ip in extra) if e is not None]
    text = dnsfiles.hosts(host, domain, [str(a) for a in addresses], extras)
    lines = text.splitlines()
    own = len(addresses) if host else 0
    assert text.endswith("\n") and text.count("\n") == len(lines)
    assert len(lines) == len(dnsfiles.DEFAULT_HOSTS) + own + len(extras)
    names = [f"{host}.{domain}", host] if domain else [host]
    for line, address in zip(
        lines[len(dnsfiles.DEFAULT_HOSTS) : len(dnsfiles.DEFAULT_HOSTS) + own], addresses, strict=False
    ):
        assert line.split() == [str(address), *names]
    for line, (name, ip) in zip(lines[len(dnsfiles.DEFAULT_HOSTS) + own :], extras, strict=True):
        assert line.split() == [ip, name]


@BUDGET
@given(
    st.lists(ip_texts | any_text, min_size=1, max_size=4),
    st.lists(dns_names | st.just(".") | any_text, max_size=4),
    st.lists(options | any_text, max_size=4),
)
def test_a_resolv_conf_from_accepted_values_has_exactly_the_lines_given(servers, search, opts):
    servers = _accepted(validate.dns_server, servers)
    search = _accepted(validate.dns_search, search)
    opts = _accepted(validate.dns_option, opts)
    text = dnsfiles.resolv_conf("nameserver 10.0.0.2\n", dns=servers, dns_search=search, dns_options=opts)
    lines = text.splitlines()
    expected = [["nameserver", s] for s in (servers or ["10.0.0.2"])]
    if search:
        expected.append(["search", *search])
    if opts:
        expected.append(["options", *opts])
    assert text.count("\n") == len(lines) == len(expected)
    assert [line.split() for line in lines] == expected
