"""The wire module: the fast parser agrees with dnspython on what it accepts, declines the rest
to the slow path, and the slow path answers FORMERR, NOTIMP or BADVERS, or re-encodes an unusual
valid query into the common form. Also through a live resolver: the answers a client sees.

Property budget: ``BUDGET`` examples per property (about 1 s for the file).
"""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycnm.dns import Names, Resolver, wire
from pycnm.dns.stub import LoopbackClient

BUDGET = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=20)
names_text = st.lists(labels, min_size=0, max_size=6).map(lambda parts: ".".join(parts) + ".")
rdtypes = st.sampled_from([1, 28, 12, 33, 15, 16, 65, 255, 2, 6])


def raw_query(
    name: bytes, qtype: int = 1, flags: int = 0x0100, arcount: int = 0, extra: bytes = b"", qdcount: int = 1
) -> bytes:
    return struct.pack(">HHHHHH", 0xBEEF, flags, qdcount, 0, 0, arcount) + name + struct.pack(">HH", qtype, 1) + extra


def test_the_common_query_gives_a_lowercase_key_type_class_and_no_edns():
    data = raw_query(b"\x03WeB\x05Front\x00", qtype=28)
    assert wire.parse_query(data) == (b"\x03web\x05front\x00", 28, 1, len(data), 0, 0)


def test_an_edns_query_gives_its_payload_size_and_do_bit_even_with_options():
    cookie = b"\x00\x0a\x00\x08" + b"12345678"
    opt = b"\x00\x00\x29\x10\x00\x00\x00\x80\x00" + struct.pack(">H", len(cookie)) + cookie
    data = raw_query(b"\x03web\x00", arcount=1, extra=opt)
    _name, _qtype, _qclass, qend, payload, do = wire.parse_query(data)
    assert (payload, do, qend) == (4096, 0x80, len(data) - len(opt))


@pytest.mark.parametrize(
    "data",
    [
        raw_query(b"\x03web\x00")[:14],  # cut in the name
        raw_query(b"\x03web\x00") + b"junk",  # trailing bytes
        raw_query(b"\xc0\x0c"),  # a compression pointer
        raw_query(b"\x03web\x00", qdcount=2),  # two questions
        raw_query(b"\x03web\x00", flags=0x2800),  # opcode UPDATE
        raw_query(b"\x03web\x00", flags=0x8100),  # a response
        raw_query(b"\x03web\x00", arcount=1, extra=b"\x00\x00\x29\x10\x00\x00\x01\x00\x00\x00\x00"),  # EDNS v1
        raw_query(b"\x03web\x00", arcount=2, extra=b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00" * 2),
        raw_query(b"\x3fweb\x00"),  # a label longer than the data
    ],
)
def test_anything_but_the_common_query_goes_to_the_slow_path(data):
    assert wire.parse_query(data) is None


def test_the_slow_path_rewrites_a_compressed_question_into_the_common_form():
    # the only earlier bytes a question can point to are the header's: ID 0x0007 starts with
    # a zero byte, which reads as the root label, so "web" + pointer-to-0 is "web."
    data = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03WEB\xc0\x00\x00\x01\x00\x01"
    query, reply = wire.normalize_slow(data)
    assert reply is None and wire.parse_query(query)[0] == b"\x03web\x00" and b"WEB" in query
    # a pointer forward, into its own type and class, is nonsense: FORMERR with the ID
    bad = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03web\xc0\x11\x00\x00\x01\x00\x01"
    query, reply = wire.normalize_slow(bad)
    assert query is None and reply[3] & 0x0F == wire.FORMERR and reply[:2] == bad[:2]


@pytest.mark.parametrize(
    "opcode,expected",
    [(dns.opcode.UPDATE, wire.NOTIMP), (dns.opcode.NOTIFY, wire.NOTIMP), (dns.opcode.STATUS, wire.NOTIMP)],
)
def test_the_slow_path_answers_notimp_to_other_opcodes(opcode, expected):
    message = dns.message.make_query("web.", "A")
    message.set_opcode(opcode)
    query, reply = wire.normalize_slow(message.to_wire())
    assert query is None and dns.message.from_wire(reply).rcode() == expected


def test_the_slow_path_answers_formerr_to_junk_and_two_questions_and_drops_what_is_not_a_query():
    assert (
        dns.message.from_wire(wire.normalize_slow(b"\x12\x34\x01\x00" + b"\xff" * 20)[1]).rcode() == dns.rcode.FORMERR
    )
    assert wire.normalize_slow(raw_query(b"\x03web\x00", qdcount=2))[1][3] & 0x0F == wire.FORMERR
    response = dns.message.make_response(dns.message.make_query("web.", "A")).to_wire()
    assert wire.normalize_slow(response) == (None, None)
    assert wire.normalize_slow(b"\x01\x02\x03") == (None, None)


def test_the_slow_path_answers_badvers_to_an_unknown_edns_version():
    query = dns.message.make_query("web.", "A", use_edns=1)
    _, reply = wire.normalize_slow(query.to_wire())
    parsed = dns.message.from_wire(reply)
    assert parsed.rcode() == dns.rcode.BADVERS and parsed.id == query.id


def test_the_slow_path_keeps_id_rd_cd_question_case_and_edns_of_an_unusual_valid_query():
    message = dns.message.make_query("MiXeD.example.", "AAAA", use_edns=0, payload=1400, want_dnssec=True)
    message.flags |= dns.flags.CD | dns.flags.AA  # AA in a query sends it to the slow path
    query, reply = wire.normalize_slow(message.to_wire())
    assert reply is None
    name, qtype, _qclass, _qend, payload, do = wire.parse_query(query)
    assert query[:2] == message.to_wire()[:2] and query[2] & 1 and query[3] & 0x10
    assert (name, qtype, payload, do) == (b"\x05mixed\x07example\x00", 28, 1400, 0x80)
    assert b"MiXeD" in query


def test_scan_reply_finds_every_ttl_skips_the_opt_record_and_reads_the_soa_minimum():
    query = dns.message.make_query("x.example.", "A", use_edns=0)
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("x.example.", 300, "IN", "A", "192.0.2.1", "192.0.2.2"))
    response.authority.append(dns.rrset.from_text("example.", 900, "IN", "SOA", "ns. host. 1 2 3 4 60"))
    data = response.to_wire()
    qend = 12 + len(b"\x01x\x07example\x00") + 4
    ttl, negative, offsets = wire.scan_reply(data, qend)
    assert (ttl, negative, len(offsets)) == (300, 60, 3)
    assert [int.from_bytes(data[o : o + 4], "big") for o in offsets] == [300, 300, 900]


def test_a_local_reply_too_big_keeps_whole_records_sets_tc_and_drops_glue_first():
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01"
    question = b"\x03web\x00\x00\x01\x00\x01"
    reply, truncated = wire.local_reply(b"\x00\x01", 1, 0, question, (rr,) * 40, (b"g" * 30,), b"", 512)
    assert truncated and len(reply) <= 512 and (len(reply) - 12 - len(question)) % len(rr) == 0
    assert reply[2] & 0x02
    fits, cut = wire.local_reply(b"\x00\x01", 1, 0, question, (rr,) * 2, (b"g" * 600,), b"", 512)
    assert not cut and len(fits) == 12 + len(question) + 2 * len(rr)


@BUDGET
@given(names_text, rdtypes, st.booleans(), st.integers(min_value=0, max_value=65535), st.booleans())
def test_the_fast_parser_agrees_with_dnspython_on_every_query_it_accepts(text, rdtype, edns, payload, do):
    extra = {"use_edns": 0, "payload": payload, "want_dnssec": do} if edns else {}
    message = dns.message.make_query(text, rdtype, **extra)
    data = message.to_wire()
    parsed = wire.parse_query(data)
    assert parsed is not None
    name, qtype, qclass, _qend, got_payload, got_do = parsed
    assert name == dns.name.from_text(text).canonicalize().to_wire()
    assert (qtype, qclass) == (rdtype, 1)
    assert got_payload == ((payload or 1) if edns else 0)
    assert bool(got_do) == (do and edns)


@BUDGET
@given(st.binary(max_size=600))
def test_no_wire_function_raises_on_any_bytes(data):
    parsed = wire.parse_query(data)
    if parsed is not None:
        assert len(parsed[0]) <= 255
    query, _reply = wire.normalize_slow(data)
    if query is not None:
        assert wire.parse_query(query) is not None
    wire.scan_reply(data, min(len(data), 17))


@BUDGET
@given(st.binary(min_size=1, max_size=40), st.integers(min_value=0, max_value=60))
def test_a_mutated_valid_query_is_parsed_or_declined_never_misread(noise, position):
    data = bytearray(dns.message.make_query("web.front.", "A", use_edns=0).to_wire())
    data[position % len(data) : position % len(data) + len(noise)] = noise
    data = bytes(data)
    parsed = wire.parse_query(data)
    if parsed is not None:
        # whatever it accepted, dnspython reads the same question
        message = dns.message.from_wire(data)
        assert message.question[0].name.canonicalize().to_wire() == parsed[0]
        assert message.question[0].rdtype == parsed[1]


# --- through a resolver -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    names = Names(local_ttl=5)
    names.set_network("n1", "front")
    names.set_endpoint("n1", "e1", names=["web"], ipv4="10.1.0.2")
    names.set_client("c1", networks=["n1"])
    resolver = Resolver(names)
    resolver.start()
    yield LoopbackClient(resolver, "c1")
    resolver.stop()


def test_an_unknown_opcode_gets_notimp_from_the_resolver(client):
    message = dns.message.make_query("web.", "A")
    message.set_opcode(dns.opcode.NOTIFY)
    assert dns.message.from_wire(client.send(message.to_wire())).rcode() == dns.rcode.NOTIMP


def test_a_zone_transfer_gets_notimp_and_a_meta_type_formerr(client):
    assert client.query("web", "AXFR").rcode() == dns.rcode.NOTIMP
    assert client.query("web", "TSIG").rcode() == dns.rcode.FORMERR


def test_an_unusual_valid_query_is_answered_like_the_common_one(client):
    message = dns.message.make_query("WEB.", "A")
    message.flags |= dns.flags.AA
    reply = dns.message.from_wire(client.send(message.to_wire()))
    assert reply.id == message.id and reply.answer[0][0].to_text() == "10.1.0.2"
    assert reply.question[0].name.to_text() == "WEB."


def test_junk_with_a_header_gets_formerr_and_shorter_junk_nothing(client):
    reply = client.send(b"\xab\xcd" + b"\x00" * 3 + b"\x01" + b"\xff" * 12)
    assert reply[:2] == b"\xab\xcd" and reply[3] & 0x0F == wire.FORMERR
    assert client.send(b"\x01\x02", timeout=0.3) is None
