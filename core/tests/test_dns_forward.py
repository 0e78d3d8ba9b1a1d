"""Forwarding names that are not local, against upstream stubs the tests run on 127.0.0.1.

Stubs: one that answers, one that is slow, one that never answers, a closed port, one that
returns NXDOMAIN/SERVFAIL/REFUSED, one with TTL 0. The only timings asserted are the bounds
the resolver promises: an answer or a SERVFAIL within 2.5 s of the query, measured by the client
(the design answers SERVFAIL at 1.8 s and fails over after 0.25 s at most).
"""

from __future__ import annotations

import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from pycnm.dns import AnswerCache, Forwarding, Names, Resolver, Upstream
from pycnm.dns.stub import LoopbackClient, StubUpstream

BOUND = 2.5


@pytest.fixture
def names() -> Names:
    names = Names(local_ttl=60)
    names.set_network("n1", "front")
    names.set_network("int", "private", internal=True)
    names.set_endpoint("n1", "e1", names=["web"], ipv4="10.1.0.2")
    return names


@pytest.fixture
def make_resolver(names):
    made = []

    def make(**options) -> Resolver:
        resolver = Resolver(names, **options)
        resolver.start()
        made.append(resolver)
        return resolver

    yield make
    for resolver in made:
        resolver.stop()


@pytest.fixture
def stubs():
    made = []

    def make(**options) -> StubUpstream:
        stub = StubUpstream(**options).__enter__()
        made.append(stub)
        return stub

    yield make
    for stub in made:
        stub.close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def via(*ports: int, **options) -> Forwarding:
    return Forwarding(upstreams=[Upstream("127.0.0.1", port) for port in ports], **options)


def values(message) -> list[str]:
    return [rr.to_text() for rrset in message.answer for rr in rrset]


def timed(client: LoopbackClient, name: str, rdtype: str = "A"):
    start = time.monotonic()
    answer = client.query(name, rdtype, timeout=5)
    return answer, time.monotonic() - start


def test_a_name_that_is_not_local_is_forwarded_and_answered(names, make_resolver, stubs):
    stub = stubs(ttl=120)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    answer = LoopbackClient(make_resolver(), "c1").query("example.com")
    assert values(answer) == ["192.0.2.1"] and answer.answer[0].ttl == 120
    assert stub.questions == [("example.com.", "A", "udp")]


def test_local_names_win_over_forwarding(names, make_resolver, stubs):
    stub = stubs()
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    assert values(LoopbackClient(make_resolver(), "c1").query("web")) == ["10.1.0.2"]
    assert stub.queries == 0


def test_nxdomain_from_upstream_is_passed_through(names, make_resolver, stubs):
    stub = stubs(mode="rcode", rcode=dns.rcode.NXDOMAIN)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    assert LoopbackClient(make_resolver(), "c1").query("nope.example").rcode() == dns.rcode.NXDOMAIN


def test_servfail_from_the_first_upstream_asks_the_next_at_once(names, make_resolver, stubs):
    failing, good = stubs(mode="rcode", rcode=dns.rcode.SERVFAIL), stubs(records=2)
    names.set_client("c1", networks=["n1"], forwarding=via(failing.port, good.port))
    answer = LoopbackClient(make_resolver(), "c1").query("example.com")
    assert len(values(answer)) == 2 and failing.queries == 1 and good.queries == 1


def test_when_every_upstream_fails_their_last_rcode_is_passed_on(names, make_resolver, stubs):
    first, second = stubs(mode="rcode", rcode=dns.rcode.SERVFAIL), stubs(mode="rcode", rcode=dns.rcode.REFUSED)
    names.set_client("c1", networks=["n1"], forwarding=via(first.port, second.port))
    answer, elapsed = timed(LoopbackClient(make_resolver(), "c1"), "example.com")
    assert answer.rcode() == dns.rcode.REFUSED and elapsed < BOUND


def test_a_slow_first_upstream_is_hedged_to_the_next(names, make_resolver, stubs):
    slow, fast = stubs(delay=1.2), stubs(records=2)
    names.set_client("c1", networks=["n1"], forwarding=via(slow.port, fast.port))
    answer = LoopbackClient(make_resolver(), "c1").query("example.com")
    assert len(values(answer)) == 2  # the fast one's answer, while the slow one still thinks
    assert slow.queries == 1 and fast.queries == 1


def test_a_dead_first_upstream_still_gives_an_answer_well_inside_2_5_s(names, make_resolver, stubs):
    dead, good = stubs(mode="silent"), stubs()
    names.set_client("c1", networks=["n1"], forwarding=via(dead.port, good.port))
    answer, elapsed = timed(LoopbackClient(make_resolver(), "c1"), "example.com")
    assert values(answer) == ["192.0.2.1"]
    assert elapsed < BOUND / 2


def test_a_closed_upstream_port_fails_over_without_waiting(names, make_resolver, stubs):
    good = stubs()
    names.set_client("c1", networks=["n1"], forwarding=via(closed_port(), good.port))
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    for i in range(3):
        answer, elapsed = timed(client, f"n{i}.example.com")
        assert values(answer) == ["192.0.2.1"] and elapsed < BOUND / 2
    closed = resolver.status()["upstreams"][0]
    assert closed["errors"] >= 1


def test_when_every_upstream_is_dead_the_client_gets_servfail_inside_2_5_s(names, make_resolver, stubs):
    dead = [stubs(mode="silent") for _ in range(3)]
    names.set_client("c1", networks=["n1"], forwarding=via(*(s.port for s in dead)))
    resolver = make_resolver()
    answer, elapsed = timed(LoopbackClient(resolver, "c1"), "example.com")
    assert answer.rcode() == dns.rcode.SERVFAIL
    assert elapsed < BOUND
    assert all(s.queries == 1 for s in dead)  # each was asked in turn, none twice
    assert resolver.status()["servfail"] == 1


def test_a_dead_upstream_is_remembered_skipped_then_probed_again(names, make_resolver, stubs):
    dead, good = stubs(mode="silent"), stubs()
    names.set_client("c1", networks=["n1"], forwarding=via(dead.port, good.port))
    resolver = make_resolver(forward_options={"probe_interval": 0.6})
    client = LoopbackClient(resolver, "c1")
    for i in range(3):  # three unanswered attempts in a row
        assert values(client.query(f"a{i}.example")) == ["192.0.2.1"]
    deadline = time.monotonic() + 4
    while resolver.status()["upstreams"][0]["state"] != "down" and time.monotonic() < deadline:
        time.sleep(0.05)
    health = {u["port"]: u for u in resolver.status()["upstreams"]}
    assert health[dead.port]["state"] == "down" and health[dead.port]["timeouts"] == 3
    assert health[good.port]["state"] == "up" and health[good.port]["rtt_ms"] is not None
    asked = dead.queries
    client.query("skipped.example")
    assert dead.queries == asked  # down: not asked, not waited for
    time.sleep(0.7)
    client.query("probe.example")
    assert dead.queries == asked + 1  # its probe, beside the live query


def test_ten_identical_queries_in_flight_make_one_upstream_query_and_each_client_gets_its_own_id(
    names, make_resolver, stubs
):
    slow = stubs(delay=0.3)
    names.set_client("c1", networks=["n1"], forwarding=via(slow.port))
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    socks, queries = [], []
    for _ in range(10):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(3)
        query = dns.message.make_query("same.example", "A")
        sock.sendto(query.to_wire(), ("127.0.0.1", client.udp_port))
        socks.append(sock)
        queries.append(query)
    for sock, query in zip(socks, queries, strict=True):
        reply = dns.message.from_wire(sock.recv(4096))
        assert reply.id == query.id and query.is_response(reply)
        assert values(reply) == ["192.0.2.1"]
        sock.close()
    assert slow.queries == 1
    assert resolver.status()["coalesced"] == 9


def test_forwarded_answers_are_cached_until_their_ttl_expires_and_age_meanwhile(names, make_resolver, stubs):
    stub = stubs(ttl=2)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    first = client.query("cached.example")
    second = client.query("CACHED.example")
    assert stub.queries == 1 and values(second) == values(first)
    assert second.question[0].name.to_text() == "CACHED.example."
    time.sleep(1.05)
    assert client.query("cached.example").answer[0].ttl == 1  # aged by the whole second held
    time.sleep(1.1)
    client.query("cached.example")
    assert stub.queries == 2
    assert resolver.status()["answered_cache"] == 2


def test_ttl_zero_answers_are_not_cached(names, make_resolver, stubs):
    stub = stubs(ttl=0)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    client = LoopbackClient(make_resolver(), "c1")
    client.query("zero.example")
    client.query("zero.example")
    assert stub.queries == 2


def test_negative_answers_are_cached_no_longer_than_the_negative_cap(names, make_resolver, stubs):
    stub = stubs(mode="rcode", rcode=dns.rcode.NXDOMAIN, soa_ttl=3600)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    client = LoopbackClient(make_resolver(cache=AnswerCache(negative_ttl=1)), "c1")
    assert client.query("gone.example").rcode() == dns.rcode.NXDOMAIN
    assert client.query("gone.example").rcode() == dns.rcode.NXDOMAIN
    assert stub.queries == 1
    time.sleep(1.1)
    client.query("gone.example")
    assert stub.queries == 2


def test_a_negative_answer_without_soa_is_not_cached(names, make_resolver, stubs):
    stub = stubs(mode="rcode", rcode=dns.rcode.NXDOMAIN)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    client = LoopbackClient(make_resolver(), "c1")
    client.query("gone.example")
    client.query("gone.example")
    assert stub.queries == 2


def test_a_client_on_internal_networks_only_gets_servfail_and_nothing_leaves(names, make_resolver, stubs):
    stub = stubs()
    names.set_client("c1", networks=["int"], forwarding=via(stub.port))
    names.set_endpoint("int", "e9", names=["secret"], ipv4="10.9.0.9")
    client = LoopbackClient(make_resolver(), "c1")
    assert values(client.query("secret")) == ["10.9.0.9"]  # its own network's names still answer
    answer, elapsed = timed(client, "example.com")
    assert answer.rcode() == dns.rcode.SERVFAIL and elapsed < 0.5 * BOUND
    assert stub.queries == 0
    names.set_client("c1", networks=["int", "n1"], forwarding=via(stub.port))
    assert values(client.query("example.com")) == ["192.0.2.1"]  # a way out: it forwards


def test_single_label_names_are_forwarded_unless_the_client_says_not_to(names, make_resolver, stubs):
    stub = stubs()
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    names.set_client("c2", networks=["n1"], forwarding=via(stub.port, forward_single_label=False))
    resolver = make_resolver()
    assert values(LoopbackClient(resolver, "c1").query("printer")) == ["192.0.2.1"]
    assert stub.queries == 1
    c2 = LoopbackClient(resolver, "c2")
    answer = c2.query("printer")
    assert answer.rcode() == dns.rcode.NOERROR and answer.answer == []
    assert stub.queries == 1
    assert values(c2.query("printer.corp")) == ["192.0.2.1"]


def test_a_reply_with_the_wrong_question_or_id_is_ignored_and_the_real_one_taken(names, make_resolver, stubs):
    def spoof_then_answer(wire: bytes) -> list[bytes]:
        query = dns.message.from_wire(wire)
        forged = dns.message.make_response(dns.message.make_query("other.example", "A"))
        forged.id = query.id
        wrong_id = dns.message.make_response(query)
        wrong_id.id = (query.id + 1) % 65536
        genuine = dns.message.make_response(query)
        genuine.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", "192.0.2.77"))
        return [forged.to_wire(), wrong_id.to_wire(), genuine.to_wire()]

    stub = stubs(reply=spoof_then_answer)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    resolver = make_resolver()
    assert values(LoopbackClient(resolver, "c1").query("target.example")) == ["192.0.2.77"]
    assert resolver.status()["upstream_unmatched"] == 2


def test_upstream_sockets_come_from_the_factory_and_are_reused_with_random_ids(names, make_resolver, stubs):
    stub = stubs(ttl=0)
    made = []
    lock = threading.Lock()

    def factory(family: int, kind: int) -> socket.socket:
        with lock:
            made.append((family, kind))
        return socket.socket(family, kind)

    names.set_client(
        "c1", networks=["n1"], forwarding=Forwarding(upstreams=[Upstream("127.0.0.1", stub.port, factory)])
    )
    client = LoopbackClient(make_resolver(), "c1")
    for i in range(40):
        client.query(f"r{i}.example")
    assert 1 <= len(made) <= 4 and set(made) == {(socket.AF_INET, socket.SOCK_DGRAM)}
    assert len(stub.sources) == len(made)
    assert len(set(stub.ids)) >= 38  # 16-bit random IDs: a repeat in 40 is rare


def test_upstream_sockets_are_retired_after_their_uses_so_source_ports_change(names, make_resolver, stubs):
    stub = stubs(ttl=0)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    client = LoopbackClient(make_resolver(forward_options={"socket_max_uses": 5, "pool_size": 2}), "c1")
    for i in range(30):
        client.query(f"p{i}.example")
    assert len(stub.sources) >= 5


def test_past_the_in_flight_limit_queries_are_refused_at_once(names, make_resolver, stubs):
    slow = stubs(delay=0.5)
    names.set_client("c1", networks=["n1"], forwarding=via(slow.port))
    resolver = make_resolver(max_inflight_per_client=2)
    client = LoopbackClient(resolver, "c1")
    socks = []
    for i in range(4):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(3)
        sock.sendto(dns.message.make_query(f"q{i}.example", "A").to_wire(), ("127.0.0.1", client.udp_port))
        socks.append(sock)
    rcodes = sorted(dns.message.from_wire(s.recv(4096)).rcode() for s in socks)
    assert rcodes == [dns.rcode.NOERROR, dns.rcode.NOERROR, dns.rcode.REFUSED, dns.rcode.REFUSED]
    assert resolver.status()["refused"] == 2
    for sock in socks:
        sock.close()


def test_a_truncated_upstream_reply_is_fetched_over_tcp_for_a_tcp_client(names, make_resolver, stubs):
    stub = stubs(truncate_udp=True, records=3)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    udp = client.query("big.example")
    assert udp.flags & dns.flags.TC and udp.answer == []
    answer = client.query("big.example", tcp=True)
    assert len(values(answer)) == 3 and not answer.flags & dns.flags.TC
    assert [q[2] for q in stub.questions] == ["udp", "udp", "tcp"]
    assert resolver.status()["upstream_tcp"] == 1


def test_the_forwarded_answer_goes_back_over_tcp_to_a_tcp_client(names, make_resolver, stubs):
    stub = stubs(records=2)
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    answer = LoopbackClient(make_resolver(), "c1").query("t.example", tcp=True)
    assert len(values(answer)) == 2


def test_status_reports_counters_and_per_upstream_health(names, make_resolver, stubs):
    stub = stubs()
    names.set_client("c1", networks=["n1"], forwarding=via(stub.port))
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    client.query("web")
    client.query("s.example")
    client.query("s.example")
    status = resolver.status()
    assert (status["answered_local"], status["forwarded"], status["answered_cache"]) == (1, 1, 1)
    assert status["errors"] == 0 and status["clients"] == 1
    (health,) = status["upstreams"]
    assert health["state"] == "up" and health["queries"] == 1 and health["answers"] == 1


def test_the_hedge_delay_follows_the_upstream_s_round_trip_time_within_bounds():
    from pycnm.dns.counters import Counters
    from pycnm.dns.forward import Forwarder, UpstreamState
    from pycnm.dns.loop import Loop

    loop = Loop()
    try:
        forwarder = Forwarder(
            loop, AnswerCache(), Counters(), lambda *a: None, hedge_min=0.05, hedge_max=0.5, hedge_initial=0.25
        )
        state = UpstreamState(Upstream("127.0.0.1", 53), probe_interval=1.0)
        assert forwarder._hedge_delay(state) == 0.25  # nothing measured yet
        for _ in range(20):
            state.sample(0.001)
        assert forwarder._hedge_delay(state) == 0.05  # a fast upstream: the floor
        for _ in range(20):
            state.sample(0.1)
        assert 0.2 < forwarder._hedge_delay(state) < 0.5  # about 2 x SRTT + 4 x RTTVAR
        for _ in range(20):
            state.sample(2.0)
        assert forwarder._hedge_delay(state) == 0.5  # a slow one: the ceiling
        state.failures = 1
        assert forwarder._hedge_delay(state) == 0.05  # it just left a query unanswered
    finally:
        loop.close()


def test_the_cache_keeps_the_most_recently_used_answers_within_its_bound():
    cache = AnswerCache(max_entries=2)
    query = dns.message.make_query("a.example.", "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("a.example.", 60, "IN", "A", "192.0.2.1"))
    wire = response.to_wire()
    qend = 12 + len(b"\x01a\x07example\x00") + 4
    for key in (b"one", b"two"):
        assert cache.put(key, wire, qend, now=0.0)
    assert cache.get(b"one", now=1.0) is not None  # "one" used: "two" is now the oldest
    cache.put(b"three", wire, qend, now=1.0)
    assert cache.get(b"two", now=1.0) is None and cache.get(b"one", now=1.0) is not None
    assert cache.get(b"one", now=60.0) is None  # expired with its TTL
    assert len(cache) == 1


def test_past_the_resolver_wide_in_flight_limit_queries_are_refused_too(names, make_resolver, stubs):
    slow = stubs(delay=0.4)
    names.set_client("c1", networks=["n1"], forwarding=via(slow.port))
    names.set_client("c2", networks=["n1"], forwarding=via(slow.port))
    resolver = make_resolver(max_inflight=1)
    first, second = LoopbackClient(resolver, "c1"), LoopbackClient(resolver, "c2")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(dns.message.make_query("x1.example", "A").to_wire(), ("127.0.0.1", first.udp_port))
        time.sleep(0.05)
        assert second.query("x2.example").rcode() == dns.rcode.REFUSED
        assert dns.message.from_wire(sock.recv(4096)).rcode() == dns.rcode.NOERROR
