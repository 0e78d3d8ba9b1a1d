"""A bounded cache of forwarded answers that honours their TTLs.

An entry is the upstream's reply as received, with where its TTL fields are; a hit returns a copy
whose TTLs are aged by the whole seconds it has been held (rebuilt at most once a second per
entry), so a client never sees an answer live longer than its owner said. Negative answers
(NXDOMAIN, or NOERROR without answers) live as long as their SOA says, capped; one without an
SOA, a truncated one, a SERVFAIL or a TTL of 0 is not kept. The least recently used entry goes
first when the cache is full. Used by the resolver thread only.
"""

from __future__ import annotations

from collections import OrderedDict

from pycnm.dns import wire


class _Entry:
    __slots__ = ("expires", "stored", "original", "offsets", "ttls", "age", "current")

    def __init__(self, expires: float, stored: float, original: bytes, offsets: list[int], ttls: list[int]) -> None:
        self.expires = expires
        self.stored = stored
        self.original = original
        self.offsets = offsets
        self.ttls = ttls
        self.age = 0
        self.current = original


class AnswerCache:
    """Forwarded answers by question, each for as long as its TTL allows (see the module doc).

    ``min_ttl``/``max_ttl`` clamp how long a positive answer is kept; ``negative_ttl`` caps a
    negative one; ``max_entries`` bounds memory (about 0.5 KiB an entry). ``max_entries=0``
    turns the cache off.
    """

    def __init__(
        self, *, max_entries: int = 10000, min_ttl: int = 0, max_ttl: int = 3600, negative_ttl: int = 30
    ) -> None:
        self.max_entries = max_entries
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self.negative_ttl = negative_ttl
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def get(self, key: bytes, now: float) -> bytes | None:
        """The reply cached for ``key`` with its TTLs aged, or None (absent or expired)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now >= entry.expires:
            del self._entries[key]
            return None
        age = int(now - entry.stored)
        if age != entry.age:
            buf = bytearray(entry.original)
            for offset, ttl in zip(entry.offsets, entry.ttls, strict=True):
                buf[offset : offset + 4] = (ttl - age if ttl > age else 0).to_bytes(4, "big")
            entry.current = bytes(buf)
            entry.age = age
        self._entries.move_to_end(key)
        return entry.current

    def put(self, key: bytes, reply: bytes, qend: int, now: float) -> bool:
        """Keep ``reply`` (whose question ends at ``qend``) if it may be cached; say whether it was."""
        if self.max_entries <= 0 or len(reply) < qend + 10 or reply[2] & 0x02:
            return False
        rcode = reply[3] & 0x0F
        if rcode not in (wire.NOERROR, wire.NXDOMAIN):
            return False
        if (
            self.min_ttl <= 0
            and reply[7]
            and reply[qend] >= 0xC0
            and reply[qend + 6 : qend + 10] == b"\x00\x00\x00\x00"
        ):
            return False  # the first answer has TTL 0 (the usual shape: a pointer owner): never kept
        scan = wire.scan_reply(reply, qend)
        if scan is None:
            return False
        smallest, negative, offsets = scan
        answers = (reply[6] << 8) | reply[7]
        if rcode == wire.NXDOMAIN or answers == 0:
            if negative <= 0:
                return False
            ttl = min(negative, self.negative_ttl)
        else:
            if smallest < 0:
                return False
            ttl = min(max(smallest, self.min_ttl), self.max_ttl)
        if ttl <= 0:
            return False
        ttls = [int.from_bytes(reply[o : o + 4], "big") for o in offsets]
        ttls = [t if t <= 0x7FFFFFFF else 0 for t in ttls]
        entries = self._entries
        entries[key] = _Entry(now + ttl, now, reply, offsets, ttls)
        entries.move_to_end(key)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)
        return True
