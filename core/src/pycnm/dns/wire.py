"""DNS messages on the wire: a hand-written fast path for the common query, dnspython for the rest.

The fast path (:func:`parse_query`) reads the query nearly every stub resolver sends: a 12-byte
header, one uncompressed question and at most one EDNS OPT record. It allocates only the
lowercased name it returns. Anything else goes to :func:`normalize_slow`, which lets dnspython
decide: a valid but unusual query (a compressed question name, flags a query should not carry,
extra additional records) is re-encoded into the common form so that the rest of the engine has
one shape to deal with; an invalid one gets FORMERR, an unknown opcode NOTIMP, an EDNS version
other than 0 BADVERS, and a message that is not a query (or too short to have an ID) nothing.

The builders here make answers from pre-computed record bytes, and :func:`scan_reply` walks an
upstream's reply once to find its TTLs, so that a cached answer can be aged by patching bytes.
Nothing in this module raises on any input.
"""

from __future__ import annotations

import struct
from typing import cast

import dns.flags
import dns.message

# --- record types, classes and codes used by the engine -----------------------------------------
A = 1
NS = 2
SOA = 6
PTR = 12
MX = 15
AAAA = 28
SRV = 33
OPT = 41
IXFR = 251
AXFR = 252
MAILB = 253
MAILA = 254
ANY = 255
#: types a client may never ask for (RFC 6895 meta types) and the zone transfers we do not serve
META_TYPES = frozenset({OPT, 249, 250})
TRANSFER_TYPES = frozenset({IXFR, AXFR, MAILB, MAILA})
CLASS_IN = 1

NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5

#: the upper bound a UDP answer is cut to unless configured otherwise (DNS flag day 2020)
DEFAULT_UDP_PAYLOAD = 1232
#: the size a client without EDNS may be sent (RFC 1035)
CLASSIC_UDP_PAYLOAD = 512

_EMPTY_COUNTS = b"\x00\x00\x00\x00\x00\x00\x00\x00"
_ONE_QUESTION = b"\x00\x01\x00\x00\x00\x00"
_OPT_HEAD = b"\x00\x00\x29"
_COUNTS = struct.Struct(">HHHH")


def parse_query(data: bytes) -> tuple[bytes, int, int, int, int, int] | None:
    """Read the common query, or say it is not one (None: take the slow path).

    Returns ``(name, qtype, qclass, qend, payload, do)``: the question name in wire form,
    lowercased and ending with the root label; the question's type and class; the offset just
    past the question in ``data``; the EDNS payload size the client advertised (0 without EDNS);
    and its DO bit (0 or 0x80). The caller reads RD (``data[2] & 1``) and CD (``data[3] & 0x10``)
    itself. Only RD may be set in the first flags byte and only AD/CD in the second: anything else
    (a response, another opcode, TC or AA in a query, a nonzero rcode) is for the slow path.
    """
    n = len(data)
    # header (12) + root name (1) + type/class (4)
    if n < 17 or data[2] & 0xFE or data[3] & 0xCF or data[4:10] != _ONE_QUESTION:
        return None
    i = 12
    length = data[12]
    while length:
        # 0x40 and up: a compression pointer or an extended label type
        if length > 63:
            return None
        i += length + 1
        if i >= n:
            return None
        length = data[i]
    if i > 266:  # the name is more than 255 bytes
        return None
    qend = i + 5
    if qend > n:
        return None
    qtype = (data[i + 1] << 8) | data[i + 2]
    qclass = (data[i + 3] << 8) | data[i + 4]
    arcount = data[11] | (data[10] << 8)
    if arcount == 0:
        if qend != n:
            return None
        return data[12 : i + 1].lower(), qtype, qclass, qend, 0, 0
    # exactly one OPT record, owned by the root, EDNS version 0 and no extended rcode
    if arcount != 1 or n < qend + 11 or data[qend : qend + 3] != _OPT_HEAD or data[qend + 5] or data[qend + 6]:
        return None
    if qend + 11 + ((data[qend + 9] << 8) | data[qend + 10]) != n:
        return None
    payload = (data[qend + 3] << 8) | data[qend + 4]
    return data[12 : i + 1].lower(), qtype, qclass, qend, payload or 1, data[qend + 7] & 0x80


def normalize_slow(data: bytes) -> tuple[bytes | None, bytes | None]:
    """Decide what to do with a message the fast path declined, with dnspython.

    Returns ``(query, reply)``: ``query`` is an equivalent common-form query (same ID, RD, CD, the
    question as the client wrote it, an OPT record if it had one) to answer as usual; or
    ``reply`` is the error answer to send at once; or both are None (drop: not a query, or too
    short to carry an ID).
    """
    if len(data) < 12 or data[2] & 0x80:
        return None, None
    if data[2] & 0x78:
        # another opcode (IQUERY, STATUS, NOTIFY, UPDATE...): not parsed at all
        return None, error_reply(data, NOTIMP)
    try:
        msg = dns.message.from_wire(data, ignore_trailing=True, continue_on_error=False)
    except Exception:  # noqa: BLE001 - dnspython raises many types for malformed input: all mean FORMERR
        return None, error_reply(data, FORMERR)
    try:
        if msg.flags & dns.flags.QR:
            return None, None
        if len(msg.question) != 1 or msg.answer or msg.authority:
            return None, error_reply(data, FORMERR)
        if msg.edns > 0:
            return None, _badvers(data)
        rrset = msg.question[0]
        name = cast(bytes, rrset.name.to_wire())  # bytes without a file (dnspython types it bytes | None)
        rd = 1 if msg.flags & dns.flags.RD else 0
        second = 0x10 if msg.flags & dns.flags.CD else 0
        if msg.edns >= 0:
            opt = _OPT_HEAD + struct.pack(
                ">HBBBBH", msg.payload, 0, 0, 0x80 if msg.ednsflags & dns.flags.DO else 0, 0, 0
            )
        else:
            opt = b""
        query = b"".join(
            (
                data[:2],
                bytes((rd, second)),
                _ONE_QUESTION,
                b"\x00\x01" if opt else b"\x00\x00",
                name,
                struct.pack(">HH", rrset.rdtype, rrset.rdclass),
                opt,
            )
        )
        return query, None
    except Exception:  # noqa: BLE001 - as above: whatever dnspython raises, the query is malformed
        return None, error_reply(data, FORMERR)


def _badvers(data: bytes) -> bytes:
    # BADVERS (16) is an extended rcode: 0 in the header, 1 in the OPT record's upper rcode bits
    head = error_reply(data, NOERROR)
    return head[:10] + b"\x00\x01" + _OPT_HEAD + struct.pack(">HBBHH", DEFAULT_UDP_PAYLOAD, 1, 0, 0, 0)


def error_reply(data: bytes, rcode: int) -> bytes:
    """A header-only answer with ``rcode``, for a message whose header is all that can be trusted."""
    return data[:2] + bytes((0x80 | (data[2] & 0x79), 0x80 | rcode)) + _EMPTY_COUNTS


def opt_record(payload: int, do: int) -> bytes:
    """The OPT record the engine puts in answers to EDNS queries (no options; DO echoed)."""
    return _OPT_HEAD + struct.pack(">HBBBBH", payload, 0, 0, do, 0, 0)


def local_reply(
    head: bytes,
    rd: int,
    rcode: int,
    question: bytes,
    answers: tuple[bytes, ...],
    additional: tuple[bytes, ...],
    opt: bytes,
    limit: int,
) -> tuple[bytes, bool]:
    """An authoritative answer built from record bytes whose owner is a pointer to the question.

    ``head`` is the 2-byte ID. Answers that do not fit ``limit`` are left out with TC set;
    additional records (SRV glue) are only sent when every answer fits. Returns the message and
    whether it was truncated.
    """
    base = 12 + len(question) + len(opt)
    size = base + sum(map(len, answers))
    extra = sum(map(len, additional))
    truncated = False
    if size + extra > limit:
        additional = ()
        if size > limit:
            kept, size = [], base
            for rr in answers:
                if size + len(rr) > limit:
                    break
                kept.append(rr)
                size += len(rr)
            answers, truncated = tuple(kept), True
    flags = bytes((0x84 | rd | (0x02 if truncated else 0), 0x80 | rcode))
    counts = _COUNTS.pack(1, len(answers), 0, len(additional) + (1 if opt else 0))
    return b"".join((head, flags, counts, question, *answers, *additional, opt)), truncated


def truncated_reply(head: bytes, flags: bytes, question: bytes, opt: bytes) -> bytes:
    """A reply cut to its header and question, with TC set: the client asks again over TCP.

    ``flags`` are the reply's two flag bytes (TC is added); ``opt`` is sent if not empty.
    """
    return b"".join((head, bytes((flags[0] | 0x02, flags[1])), _COUNTS.pack(1, 0, 0, 1 if opt else 0), question, opt))


def upstream_query(name: bytes, tail: bytes, cd: int, edns: int, do: int, payload: int) -> bytes:
    """The query sent upstream, without its 2-byte ID: RD set, CD and DO as the client asked."""
    head = bytes((0x01, 0x10 if cd else 0)) + _ONE_QUESTION + (b"\x00\x01" if edns else b"\x00\x00")
    return b"".join((head, name, tail, opt_record(payload, do) if edns else b""))


def scan_reply(msg: bytes, qend: int) -> tuple[int, int, list[int]] | None:
    """Walk the records after the question (which ends at ``qend``) of an upstream reply.

    Returns ``(ttl, negative_ttl, offsets)``: the smallest TTL of any record but OPT (-1 if there
    is none), the TTL RFC 2308 gives a negative answer from the authority section's SOA (-1
    without one), and where each TTL field is, to age a cached copy. None if the records do not
    parse (the reply is then neither cached nor trusted).
    """
    n = len(msg)
    if n < 12:
        return None
    ancount = (msg[6] << 8) | msg[7]
    nscount = (msg[8] << 8) | msg[9]
    total = ancount + nscount + ((msg[10] << 8) | msg[11])
    i = qend
    ttl = -1
    negative = -1
    offsets: list[int] = []
    for index in range(total):
        # the owner name: labels ending in the root label or in a 2-byte pointer
        while True:
            if i >= n:
                return None
            length = msg[i]
            if length == 0:
                i += 1
                break
            if length >= 0xC0:
                i += 2
                break
            if length > 63:
                return None
            i += length + 1
        if i + 10 > n:
            return None
        rtype = (msg[i] << 8) | msg[i + 1]
        rdlen = (msg[i + 8] << 8) | msg[i + 9]
        end = i + 10 + rdlen
        if end > n:
            return None
        if rtype != OPT:
            value = int.from_bytes(msg[i + 4 : i + 8], "big")
            if value > 0x7FFFFFFF:  # RFC 2181: a TTL with the top bit set means zero
                value = 0
            offsets.append(i + 4)
            if ttl < 0 or value < ttl:
                ttl = value
            if rtype == SOA and ancount <= index < ancount + nscount and rdlen >= 22:
                minimum = int.from_bytes(msg[end - 4 : end], "big")
                negative = min(value, minimum)
        i = end
    return ttl, negative, offsets
