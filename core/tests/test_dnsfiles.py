"""hosts and resolv.conf, as libnetwork writes them."""

import pathlib

from pycnm.osl import dnsfiles

HOST = """# comment
nameserver 127.0.0.53
nameserver 10.0.0.2
nameserver fd00::53
search corp.example
options edns0
"""


def test_hosts_has_docker_s_default_records_then_the_sandbox():
    text = dnsfiles.hosts("web", "example.org", ["10.0.0.5"], [("db", "10.0.0.9")])
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert lines[1] == "::1\tlocalhost ip6-localhost ip6-loopback"
    assert "10.0.0.5\tweb.example.org web" in lines and lines[-1] == "10.0.0.9\tdb"


def test_resolv_conf_drops_loopback_and_ipv6_servers_without_ipv6():
    text = dnsfiles.resolv_conf(HOST)
    assert text == "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"
    assert "nameserver fd00::53" in dnsfiles.resolv_conf(HOST, ipv6=True)


def test_resolv_conf_falls_back_to_public_resolvers():
    assert dnsfiles.resolv_conf("nameserver 127.0.0.1\n").startswith("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")


def test_user_servers_search_and_options_win():
    text = dnsfiles.resolv_conf(HOST, dns=["1.1.1.1"], dns_search=["a.b"], dns_options=["ndots:2"])
    assert text == "nameserver 1.1.1.1\nsearch a.b\noptions ndots:2\n"


def test_a_user_edit_is_kept(tmp_path):
    path = str(tmp_path / "resolv.conf")
    assert dnsfiles.write_resolv_conf(path, "nameserver 1.1.1.1\n")
    with open(path, "a") as fh:
        fh.write("nameserver 9.9.9.9\n")
    assert not dnsfiles.write_resolv_conf(path, "nameserver 2.2.2.2\n")
    assert "9.9.9.9" in pathlib.Path(path).read_text()
