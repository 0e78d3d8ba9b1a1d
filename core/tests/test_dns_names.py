"""Local names, asked through real UDP/TCP sockets on 127.0.0.1 with dnspython as the client.

What a sandbox sees: names, aliases, short IDs and hostnames of endpoints on the networks it
shares, ``name.<network>``, PTR for their addresses, SRV for their exposed ports; several holders
rotate; a known name without the asked family or type answers an empty NOERROR; every change is
visible to the next query.
"""

from __future__ import annotations

import socket

import dns.flags
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest

from pycnm.dns import Names, Resolver
from pycnm.dns.stub import LoopbackClient
from pycnm.errors import InvalidParameter


@pytest.fixture
def names() -> Names:
    names = Names(local_ttl=42)
    names.set_network("n1", "front")
    names.set_network("n2", "back")
    names.set_endpoint(
        "n1", "e1", names=["web", "www", "0123456789ab", "webhost"], ipv4="10.1.0.2", ports=[("tcp", 80), ("udp", 5353)]
    )
    names.set_endpoint("n1", "e2", names=["db"], ipv4="10.1.0.3", ipv6="fd00:1::3")
    names.set_endpoint("n2", "e3", names=["cache"], ipv4="10.2.0.4")
    names.set_endpoint("n2", "e4", names=["db"], ipv4="10.2.0.9")
    names.set_client("c1", networks=["n1"])
    names.set_client("c2", networks=["n2", "n1"])
    return names


@pytest.fixture
def resolver(names: Names):
    resolver = Resolver(names)
    resolver.start()
    yield resolver
    resolver.stop()


def addresses(message) -> list[str]:
    return [rr.to_text() for rrset in message.answer for rr in rrset]


def test_a_container_name_answers_its_ipv4_address_with_the_configured_ttl(resolver):
    answer = LoopbackClient(resolver, "c1").query("web")
    assert answer.rcode() == dns.rcode.NOERROR
    assert addresses(answer) == ["10.1.0.2"]
    assert answer.answer[0].ttl == 42
    assert answer.flags & dns.flags.AA and answer.flags & dns.flags.RA


def test_aaaa_answers_the_ipv6_address(resolver):
    assert addresses(LoopbackClient(resolver, "c1").query("db", "AAAA")) == ["fd00:1::3"]


def test_a_known_name_without_an_ipv6_address_answers_empty_noerror(resolver):
    answer = LoopbackClient(resolver, "c1").query("web", "AAAA")
    assert answer.rcode() == dns.rcode.NOERROR and answer.answer == []


def test_other_types_for_a_known_name_answer_empty_noerror_instead_of_leaving_the_sandbox(resolver):
    client = LoopbackClient(resolver, "c1")
    for rdtype in ("MX", "TXT", "HTTPS"):
        answer = client.query("web", rdtype)
        assert answer.rcode() == dns.rcode.NOERROR and answer.answer == []


def test_aliases_the_short_id_and_the_hostname_answer_like_the_name(resolver):
    client = LoopbackClient(resolver, "c1")
    for name in ("www", "0123456789ab", "webhost"):
        assert addresses(client.query(name)) == ["10.1.0.2"]


def test_name_dot_network_answers_only_on_a_network_the_client_is_on(resolver, names):
    client = LoopbackClient(resolver, "c1")
    assert addresses(client.query("web.front")) == ["10.1.0.2"]
    # c1 is not on "back": cache.back is not local for it (and it has no upstream)
    assert client.query("cache.back").rcode() == dns.rcode.SERVFAIL


def test_a_client_sees_only_names_on_networks_it_shares(resolver):
    c1 = LoopbackClient(resolver, "c1")
    assert c1.query("cache").rcode() == dns.rcode.SERVFAIL
    assert addresses(LoopbackClient(resolver, "c2").query("cache")) == ["10.2.0.4"]


def test_the_first_network_of_the_client_that_knows_a_name_answers_for_it(resolver):
    # c2 is on back then front: both have a "db", back's answers
    assert addresses(LoopbackClient(resolver, "c2").query("db")) == ["10.2.0.9"]
    assert addresses(LoopbackClient(resolver, "c1").query("db")) == ["10.1.0.3"]
    assert addresses(LoopbackClient(resolver, "c2").query("db.front")) == ["10.1.0.3"]


def test_names_are_case_insensitive_and_the_question_is_echoed_as_asked(resolver):
    answer = LoopbackClient(resolver, "c1").query("WeB.FrOnT")
    assert addresses(answer) == ["10.1.0.2"]
    assert answer.question[0].name.to_text() == "WeB.FrOnT."
    assert answer.answer[0].name.to_text() == "WeB.FrOnT."


def test_several_holders_of_a_name_answer_in_rotating_order(resolver, names):
    names.set_endpoint("n1", "r1", names=["svc"], ipv4="10.1.1.1")
    names.set_endpoint("n1", "r2", names=["svc"], ipv4="10.1.1.2")
    names.set_endpoint("n1", "r3", names=["svc"], ipv4="10.1.1.3")
    client = LoopbackClient(resolver, "c1")
    seen = [tuple(addresses(client.query("svc"))) for _ in range(6)]
    assert all(sorted(order) == ["10.1.1.1", "10.1.1.2", "10.1.1.3"] for order in seen)
    assert len({order[0] for order in seen[:3]}) == 3  # each holder comes first in turn
    assert seen[:3] == seen[3:]
    # over TCP too
    tcp_firsts = {addresses(client.query("svc", tcp=True))[0] for _ in range(3)}
    assert len(tcp_firsts) == 3


def test_ptr_answers_name_dot_network_for_ipv4_and_ipv6_addresses_of_shared_networks(resolver):
    client = LoopbackClient(resolver, "c1")
    answer = client.query(dns.reversename.from_address("10.1.0.2"), "PTR")
    assert addresses(answer) == ["web.front."]
    answer6 = client.query(dns.reversename.from_address("fd00:1::3"), "PTR")
    assert addresses(answer6) == ["db.front."]


def test_ptr_for_an_address_on_another_network_is_not_answered_locally(resolver):
    answer = LoopbackClient(resolver, "c1").query(dns.reversename.from_address("10.2.0.4"), "PTR")
    assert answer.rcode() == dns.rcode.SERVFAIL  # not local, and c1 has nowhere to forward


def test_srv_answers_exposed_ports_by_number_with_the_target_s_address_as_glue(resolver):
    answer = LoopbackClient(resolver, "c1").query("_80._tcp.web", "SRV")
    assert answer.answer[0].rdtype == dns.rdatatype.SRV  # Docker answers the SRV RRset typed PTR
    srv = answer.answer[0][0]
    assert (srv.port, srv.target.to_text()) == (80, "web.front.")
    assert [(rrset.name.to_text(), rr.to_text()) for rrset in answer.additional for rr in rrset] == [
        ("web.front.", "10.1.0.2")
    ]
    udp = LoopbackClient(resolver, "c1").query("_5353._udp.www.front", "SRV")
    assert udp.answer[0][0].port == 5353


def test_srv_answers_the_services_database_name_of_a_well_known_port(resolver):
    if socket.getservbyport(80, "tcp") != "http":
        pytest.skip("this host's services database does not call port 80 http")
    answer = LoopbackClient(resolver, "c1").query("_http._tcp.web", "SRV")
    assert answer.answer[0][0].port == 80


def test_srv_for_a_port_that_is_not_exposed_is_not_local(resolver):
    assert LoopbackClient(resolver, "c1").query("_81._tcp.web", "SRV").rcode() == dns.rcode.SERVFAIL


def test_a_change_is_visible_to_the_next_query(resolver, names):
    client = LoopbackClient(resolver, "c1")
    assert addresses(client.query("web")) == ["10.1.0.2"]
    names.set_endpoint("n1", "e1", names=["web"], ipv4="10.1.0.20")
    assert addresses(client.query("web")) == ["10.1.0.20"]
    names.remove_endpoint("n1", "e1")
    assert client.query("web").rcode() == dns.rcode.SERVFAIL
    names.set_network("n1", "renamed")
    assert addresses(client.query("db.renamed")) == ["10.1.0.3"]
    assert client.query("db.front").rcode() == dns.rcode.SERVFAIL
    names.set_client("c1", networks=["n2"])
    assert addresses(client.query("db")) == ["10.2.0.9"]


def test_a_batch_of_changes_is_published_at_once(names):
    before = names.snapshot.generation
    with names.batch():
        names.set_endpoint("n1", "x1", names=["x1"], ipv4="10.1.9.1")
        names.set_endpoint("n1", "x2", names=["x2"], ipv4="10.1.9.2")
        assert names.snapshot.generation == before
    assert names.snapshot.generation == before + 1


def test_a_published_snapshot_never_changes_under_a_reader(names):
    snapshot = names.snapshot
    index = snapshot.networks["n1"].addr
    keys = set(index)
    names.set_endpoint("n1", "x1", names=["later"], ipv4="10.1.9.1")
    assert set(index) == keys and names.snapshot is not snapshot


def test_a_bad_name_or_address_is_refused_and_leaves_the_model_as_it_was(names):
    generation = names.snapshot.generation
    with pytest.raises(InvalidParameter, match="not an IPv4 address"):
        names.set_endpoint("n1", "bad", names=["ok"], ipv4="10.1.300.1")
    with pytest.raises(InvalidParameter, match="not a DNS name"):
        names.set_endpoint("n1", "bad", names=["x" * 64])
    with pytest.raises(InvalidParameter, match="set_network it first"):
        names.set_endpoint("nope", "bad", names=["ok"])
    assert names.snapshot.generation == generation


def test_a_client_the_names_do_not_know_sees_nothing_and_forwards_nothing(resolver):
    answer = LoopbackClient(resolver, "stranger").query("web")
    assert answer.rcode() == dns.rcode.SERVFAIL


def test_names_change_safely_while_the_resolver_answers_from_another_thread(resolver, names):
    import threading

    client = LoopbackClient(resolver, "c1")
    stop = threading.Event()

    def writer() -> None:
        flip = 0
        while not stop.is_set():
            flip ^= 1
            names.set_endpoint("n1", "e1", names=["web"], ipv4=f"10.1.0.{2 + flip}")
            names.set_endpoint("n1", f"churn{flip}", names=[f"churn{flip}"], ipv4="10.1.7.7")
            names.remove_endpoint("n1", f"churn{1 - flip}")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = {tuple(addresses(client.query("web", timeout=2))) for _ in range(300)}
    finally:
        stop.set()
        thread.join()
    assert seen <= {("10.1.0.2",), ("10.1.0.3",)} and seen
    assert resolver.status()["errors"] == 0


def test_forwarding_takes_at_most_three_upstreams_given_as_ip_addresses():
    from pycnm.dns import Forwarding, Upstream

    with pytest.raises(InvalidParameter, match="at most 3"):
        Forwarding(upstreams=[Upstream(f"10.0.0.{i}") for i in range(1, 5)])
    with pytest.raises(InvalidParameter, match="not an IP address"):
        Upstream("dns.example")
    assert Upstream("fd00::0053").address == "fd00::53" and Upstream("fd00::53").family == socket.AF_INET6


def test_a_name_held_by_many_endpoints_rotates_too(resolver, names):
    with names.batch():
        for i in range(20):
            names.set_endpoint("n1", f"big{i}", names=["big"], ipv4=f"10.1.2.{i + 1}")
    client = LoopbackClient(resolver, "c1")
    firsts = [addresses(client.query("big"))[0] for _ in range(20)]
    assert len(set(firsts)) == 20
