"""The address bitmap: finding free bits, against a plain Python reference."""

from hypothesis import given
from hypothesis import strategies as st

from pycnm.ipam import bitmap


def test_empty_chunk_gives_the_start():
    assert bitmap.find_zero(bitmap.EMPTY, 0, bitmap.CHUNK_BITS) == 0
    assert bitmap.find_zero(bitmap.EMPTY, 77, 100) == 77


def test_full_chunk_gives_none():
    full = b"\xff" * bitmap.CHUNK_BYTES
    assert bitmap.find_zero(full, 0, bitmap.CHUNK_BITS) is None


def test_end_is_exclusive():
    chunk = bitmap.EMPTY
    for bit in range(10):
        chunk = bitmap.set_bit(chunk, bit)
    assert bitmap.find_zero(chunk, 0, 10) is None
    assert bitmap.find_zero(chunk, 0, 11) == 10


def test_set_and_clear_round_trip():
    chunk = bitmap.set_bit(bitmap.EMPTY, 12345)
    assert bitmap.is_set(chunk, 12345) and bitmap.count(chunk) == 1
    assert bitmap.clear_bit(chunk, 12345) == bitmap.EMPTY


@given(
    taken=st.sets(st.integers(0, 4095), max_size=600),
    start=st.integers(0, 4095),
    length=st.integers(0, 4096),
)
def test_find_zero_matches_a_linear_scan(taken, start, length):
    chunk = bitmap.EMPTY
    for bit in taken:
        chunk = bitmap.set_bit(chunk, bit)
    end = min(start + length, 4096)
    expected = next((b for b in range(start, end) if b not in taken), None)
    assert bitmap.find_zero(chunk, start, end) == expected
