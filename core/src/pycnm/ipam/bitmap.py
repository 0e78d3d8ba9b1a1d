"""Bits in a chunk of an address bitmap: ordinal ``n`` is bit ``n % 8`` of byte ``n // 8``.

A pool's bitmap is cut into chunks of :data:`CHUNK_BITS` addresses; a chunk nobody has touched is
all zeros and is not stored at all, so a /64 costs nothing until used. Searching a chunk for a
free bit skips full bytes with ``bytes.lstrip`` (C speed), so the cost of a request does not
grow with the number of addresses already handed out.
"""

from __future__ import annotations

CHUNK_BYTES = 2048
CHUNK_BITS = CHUNK_BYTES * 8
EMPTY = bytes(CHUNK_BYTES)
_FULL_BYTE = b"\xff"


def find_zero(chunk: bytes, start: int, end: int) -> int | None:
    """The lowest clear bit in ``[start, end)`` of ``chunk``, or None."""
    pos = start
    while pos < end:
        index = pos >> 3
        byte = chunk[index] | ((1 << (pos & 7)) - 1)  # bits below ``pos`` count as taken
        if byte != 0xFF:
            found = (index << 3) + ((~byte & (byte + 1)).bit_length() - 1)
            return found if found < end else None
        rest = chunk[index + 1 : (end + 7) >> 3]
        pos = (index + 1 + len(rest) - len(rest.lstrip(_FULL_BYTE))) << 3
    return None


def is_set(chunk: bytes, bit: int) -> bool:
    return bool(chunk[bit >> 3] & (1 << (bit & 7)))


def set_bit(chunk: bytes, bit: int) -> bytes:
    out = bytearray(chunk)
    out[bit >> 3] |= 1 << (bit & 7)
    return bytes(out)


def clear_bit(chunk: bytes, bit: int) -> bytes:
    out = bytearray(chunk)
    out[bit >> 3] &= ~(1 << (bit & 7)) & 0xFF
    return bytes(out)


def count(chunk: bytes) -> int:
    return int.from_bytes(chunk, "little").bit_count()
