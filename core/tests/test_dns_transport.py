"""UDP sizes and TCP behaviour: truncation and retry, pipelining, framing, idle and abusive clients.

Every test goes through real sockets on 127.0.0.1 (and ::1 where the host has it).
"""

from __future__ import annotations

import os
import socket
import struct
import time

import dns.flags
import dns.message
import dns.query
import pytest

from pycnm.dns import Forwarding, Names, Resolver, Upstream
from pycnm.dns.stub import LoopbackClient, StubUpstream


@pytest.fixture
def names() -> Names:
    names = Names(local_ttl=60)
    names.set_network("n1", "front")
    names.set_endpoint("n1", "e1", names=["web"], ipv4="10.1.0.2")
    for i in range(100):
        names.set_endpoint("n1", f"m{i}", names=[f"m{i}", "many"], ipv4=f"10.1.1.{i + 1}")
    names.set_client("c1", networks=["n1"])
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


def frame(message: dns.message.Message) -> bytes:
    wire = message.to_wire()
    return struct.pack(">H", len(wire)) + wire


def read_frames(sock: socket.socket, count: int, timeout: float = 3.0) -> list[dns.message.Message]:
    sock.settimeout(timeout)
    buf, out = b"", []
    while len(out) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            size = struct.unpack(">H", buf[:2])[0]
            out.append(dns.message.from_wire(buf[2 : 2 + size]))
            buf = buf[2 + size :]
    return out


def connect(client: LoopbackClient) -> socket.socket:
    return socket.create_connection((client.address, client.tcp_port), timeout=3)


def closed_by_peer(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def thread_cpu(resolver: Resolver) -> float:
    with open(f"/proc/self/task/{resolver._thread.native_id}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_udp_answers_too_big_for_512_bytes_are_truncated_with_tc_and_tcp_gives_them_whole(make_resolver):
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    query = dns.message.make_query("many", "A")
    wire = client.send(query.to_wire())
    assert len(wire) <= 512
    cut = dns.message.from_wire(wire)
    assert cut.flags & dns.flags.TC and 0 < len(cut.answer[0]) < 100  # whole records, as many as fit
    assert client.tcp_port == client.udp_port
    answer, used_tcp = dns.query.udp_with_fallback(query, "127.0.0.1", port=client.udp_port, timeout=3)
    assert used_tcp and len(answer.answer[0]) == 100
    assert resolver.status()["truncated"] >= 2


def test_udp_answers_fit_the_advertised_edns_size_capped_at_1232(make_resolver):
    client = LoopbackClient(make_resolver(), "c1")
    for advertised, limit in ((4096, 1232), (1000, 1000), (200, 512)):
        query = dns.message.make_query("many", "A", use_edns=0, payload=advertised)
        wire = client.send(query.to_wire())
        reply = dns.message.from_wire(wire)
        assert len(wire) <= limit and len(wire) > limit - 17, (advertised, len(wire))
        assert reply.flags & dns.flags.TC and reply.edns == 0 and reply.payload == 1232


def test_a_small_answer_to_an_edns_query_carries_an_opt_record_and_echoes_do(make_resolver):
    client = LoopbackClient(make_resolver(), "c1")
    reply = client.query("web", use_edns=0, want_dnssec=True)
    assert reply.edns == 0 and reply.ednsflags & dns.flags.DO and not reply.flags & dns.flags.TC
    assert client.query("web").edns == -1  # no OPT to a client that sent none


def test_several_pipelined_tcp_queries_are_answered_as_they_complete(names, make_resolver):
    with StubUpstream(delay=0.3) as slow:
        names.set_client("c1", networks=["n1"], forwarding=Forwarding(upstreams=[Upstream("127.0.0.1", slow.port)]))
        client = LoopbackClient(make_resolver(), "c1")
        with connect(client) as sock:
            queries = [
                dns.message.make_query("far.example", "A"),
                dns.message.make_query("web", "A"),
                dns.message.make_query("web", "AAAA"),
            ]
            sock.sendall(b"".join(frame(q) for q in queries))
            replies = read_frames(sock, 3)
    assert [r.id for r in replies] == [queries[1].id, queries[2].id, queries[0].id]
    assert all(q.is_response(r) for q, r in zip([queries[1], queries[2], queries[0]], replies, strict=True))


def test_a_and_aaaa_on_one_connection_both_answer_as_glibc_asks_them(make_resolver):
    client = LoopbackClient(make_resolver(), "c1")
    with connect(client) as sock:
        a, aaaa = dns.message.make_query("web", "A"), dns.message.make_query("web", "AAAA")
        sock.sendall(frame(a))
        first = read_frames(sock, 1)
        sock.sendall(frame(aaaa))
        second = read_frames(sock, 1)
    assert a.is_response(first[0]) and aaaa.is_response(second[0])


def test_a_tcp_message_written_byte_by_byte_is_answered(make_resolver):
    client = LoopbackClient(make_resolver(), "c1")
    query = dns.message.make_query("web", "A")
    with connect(client) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in frame(query):
            sock.send(bytes((byte,)))
            time.sleep(0.001)
        (reply,) = read_frames(sock, 1)
    assert query.is_response(reply) and reply.answer[0][0].to_text() == "10.1.0.2"


def test_a_slow_tcp_client_does_not_block_udp_or_other_tcp_answers(make_resolver):
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    stuck = connect(client)
    stuck.sendall(b"\x00")  # half a length prefix, then nothing
    halfway = connect(client)
    halfway.sendall(frame(dns.message.make_query("web", "A"))[:10])
    try:
        for _ in range(20):
            assert client.query("web", timeout=1).answer
        assert client.query("web", tcp=True, timeout=1).answer
    finally:
        stuck.close()
        halfway.close()


def test_an_idle_tcp_connection_is_closed_after_the_timeout(make_resolver):
    resolver = make_resolver(tcp_idle_timeout=0.4)
    client = LoopbackClient(resolver, "c1")
    with connect(client) as sock:
        sock.sendall(frame(dns.message.make_query("web", "A")))
        assert read_frames(sock, 1)
        assert closed_by_peer(sock, within=2.5)
    assert resolver.status()["tcp_closed_idle"] == 1


def test_a_message_trickled_forever_is_cut_off_after_the_timeout(make_resolver):
    resolver = make_resolver(tcp_idle_timeout=0.4)
    client = LoopbackClient(resolver, "c1")
    with connect(client) as sock:
        sock.sendall(b"\x00\x40")
        closed = False
        for _ in range(15):
            try:
                sock.send(b"x")
            except OSError:
                closed = True
                break
            if closed_by_peer(sock, within=0.15):
                closed = True
                break
        assert closed


def test_a_truncated_tcp_message_then_a_reset_neither_loops_nor_stalls_the_resolver(make_resolver):
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    for _ in range(5):
        sock = connect(client)
        sock.sendall(b"\x00\x40" + b"\x12\x34\x01\x00")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
    time.sleep(0.1)
    before = thread_cpu(resolver)
    time.sleep(0.5)
    assert thread_cpu(resolver) - before < 0.2  # idle, not spinning on a dead stream
    assert resolver.status()["tcp_connections"] == 0  # every reset stream was let go
    assert client.query("web").answer and client.query("web", tcp=True).answer
    assert resolver.status()["errors"] == 0


def test_a_length_prefix_too_short_for_a_header_closes_the_connection(make_resolver):
    client = LoopbackClient(make_resolver(), "c1")
    with connect(client) as sock:
        sock.sendall(b"\x00\x05hello")
        assert closed_by_peer(sock, within=2)


def test_tcp_connections_per_source_address_are_capped(make_resolver):
    resolver = make_resolver(tcp_max_per_source=3)
    client = LoopbackClient(resolver, "c1")
    socks = [connect(client) for _ in range(5)]
    try:
        time.sleep(0.2)
        closed = [closed_by_peer(s, within=0.2) for s in socks]
        assert closed.count(True) == 2 and resolver.status()["tcp_rejected"] == 2
    finally:
        for sock in socks:
            sock.close()


def test_the_total_number_of_tcp_connections_is_capped(make_resolver, names):
    names.set_client("c2", networks=["n1"])
    resolver = make_resolver(tcp_max_connections=2)
    first, second = LoopbackClient(resolver, "c1"), LoopbackClient(resolver, "c2")
    socks = [connect(first), connect(second), connect(second)]
    try:
        time.sleep(0.2)
        assert [closed_by_peer(s, within=0.2) for s in socks] == [False, False, True]
    finally:
        for sock in socks:
            sock.close()


def test_a_tcp_client_that_never_reads_its_answers_is_cut_off(make_resolver):
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", client.tcp_port))
    sock.settimeout(0.5)
    burst = frame(dns.message.make_query("many", "A")) * 200
    try:
        for _ in range(100):
            sock.sendall(burst)
    except OSError:
        pass  # reset or stuck: cut off
    deadline = time.monotonic() + 3
    while resolver.status()["tcp_connections"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert resolver.status()["tcp_connections"] == 0
    assert client.query("web").answer
    sock.close()


def test_a_message_that_is_a_response_gets_no_answer(make_resolver):
    client = LoopbackClient(make_resolver(), "c1")
    response = dns.message.make_response(dns.message.make_query("web", "A"))
    assert client.send(response.to_wire(), timeout=0.3) is None


def test_remove_client_stops_answering_and_closes_its_sockets(make_resolver):
    resolver = make_resolver()
    client = LoopbackClient(resolver, "c1")
    assert client.query("web").answer
    resolver.remove_client("c1")
    with pytest.raises(OSError):
        socket.create_connection((client.address, client.tcp_port), timeout=1)
    # the port is free again: bindable by anyone
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", client.udp_port))
    assert resolver.status()["clients"] == 0


def test_the_plain_socket_path_answers_like_the_batched_one(names, make_resolver):
    with StubUpstream() as stub:
        names.set_client("c1", networks=["n1"], forwarding=Forwarding(upstreams=[Upstream("127.0.0.1", stub.port)]))
        resolver = make_resolver(batch_io=False)
        client = LoopbackClient(resolver, "c1")
        assert client.query("web").answer[0][0].to_text() == "10.1.0.2"
        assert client.query("web").answer[0][0].to_text() == "10.1.0.2"  # from the memo
        assert client.query("far.example").answer[0][0].to_text() == "192.0.2.1"
        assert dns.message.from_wire(client.send(dns.message.make_query("many", "A").to_wire())).flags & dns.flags.TC
    assert not resolver.batch_io


def test_clients_on_ipv6_loopback_are_served(names, make_resolver):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 here")
    with StubUpstream(address="::1") as stub:
        names.set_client("c6", networks=["n1"], forwarding=Forwarding(upstreams=[Upstream("::1", stub.port)]))
        client = LoopbackClient(make_resolver(), "c6", address="::1")
        assert client.query("web").answer[0][0].to_text() == "10.1.0.2"
        assert client.query("v6.example").answer[0][0].to_text() == "192.0.2.1"
        assert client.query("web", tcp=True).answer


def test_stop_closes_every_socket_and_is_final(names):
    resolver = Resolver(names)
    client = LoopbackClient(resolver, "c1")  # added before start: applied at once
    resolver.start()
    assert client.query("web").answer
    resolver.stop()
    with pytest.raises(OSError):
        socket.create_connection((client.address, client.tcp_port), timeout=1)
    with pytest.raises(Exception, match="stopped"):
        resolver.add_client("c9", socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
