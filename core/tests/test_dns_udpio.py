"""Batched UDP sends (pycnm.dns.udpio.Sender), segmented (UDP GSO) or not, on 127.0.0.1: every
datagram arrives whole, once, at its own address, whatever the grouping did."""

from __future__ import annotations

import socket
import struct

import pytest

from pycnm.dns import udpio

pytestmark = pytest.mark.skipif(not udpio.available(), reason="recvmmsg/sendmmsg are not usable here")


@pytest.fixture
def sockets():
    made: list[socket.socket] = []

    def make(connect_to: socket.socket | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        made.append(sock)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        if connect_to is not None:
            sock.connect(connect_to.getsockname())
        return sock

    yield make
    for sock in made:
        sock.close()


def raw_name(sock: socket.socket) -> bytes:
    """``sock``'s address as the kernel writes a sockaddr_in (what Batch.raw_address gives)."""
    host, port = sock.getsockname()
    return struct.pack("=H", socket.AF_INET) + struct.pack(">H", port) + socket.inet_aton(host) + bytes(8)


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(65535))
        except BlockingIOError:
            return got


def messages(count: int, sizes: tuple[int, ...]) -> list[bytes]:
    """``count`` distinct datagrams, their sizes taken in turn from ``sizes``."""
    return [struct.pack(">H", i) + bytes([i % 251]) * (sizes[i % len(sizes)] - 2) for i in range(count)]


def test_datagrams_of_one_length_to_the_connected_peer_go_out_segmented_and_arrive_one_by_one(sockets):
    peer = sockets()
    sock = sockets(connect_to=peer)
    sender = udpio.Sender(named=False)
    # 70 of 40 bytes, 70 of 41: two segmented sends each (64 + 6); one of 30 alone; two of 600
    # bytes, more than segmentation is used for: sent singly
    out = [*messages(140, (40, 41)), b"x" * 30, b"\x01" * 600, b"\x02" * 600]
    assert sender.send(sock.fileno(), out, gso=True) == (len(out), 0, True)
    got = drain(peer)
    assert sorted(got) == sorted(out)
    for size in (40, 41):  # within a length, in the order given
        assert [m for m in got if len(m) == size] == [m for m in out if len(m) == size]
    assert (sender.gso_sends, sender.gso_datagrams) == (4, 140)


def test_answers_are_grouped_by_address_as_well_as_length(sockets):
    first, second = sockets(), sockets()
    sock = sockets()
    sender = udpio.Sender(named=True)
    out = messages(90, (50, 50, 52))
    to = [raw_name(first) if i % 3 else raw_name(second) for i in range(len(out))]
    assert sender.send(sock.fileno(), out, to, gso=True) == (90, 0, True)
    assert sorted(drain(first)) == sorted(m for m, name in zip(out, to, strict=True) if name == raw_name(first))
    assert sorted(drain(second)) == sorted(m for m, name in zip(out, to, strict=True) if name == raw_name(second))
    # i % 3 picks both: second gets 30 of 50 bytes, first 30 of 50 and 30 of 52: three groups
    assert (sender.gso_sends, sender.gso_datagrams) == (3, 90)


def test_without_gso_every_datagram_is_its_own_send(sockets):
    peer = sockets()
    sock = sockets(connect_to=peer)
    sender = udpio.Sender(named=False)
    out = messages(100, (40,))
    assert sender.send(sock.fileno(), out) == (100, 0, False)
    assert drain(peer) == out
    assert sender.gso_sends == 0


def test_a_socket_the_kernel_will_not_segment_for_gets_every_datagram_singly_and_says_so(sockets):
    peer = sockets()
    sock = sockets(connect_to=peer)
    # no UDP checksum on this socket: the kernel refuses UDP_SEGMENT with EINVAL
    sock.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK
    sender = udpio.Sender(named=False)
    out = [b"\x09" * 20, *messages(100, (40, 44))]
    assert sender.send(sock.fileno(), out, gso=True) == (101, 0, False)
    assert sorted(drain(peer)) == sorted(out)
    assert sender.gso_sends == 0
    # and the sender's vectors are as before: a plain send after the fallback is right too
    assert sender.send(sock.fileno(), [b"after"]) == (1, 0, False)
    assert drain(peer) == [b"after"]


def test_a_segmented_send_leaves_the_vectors_right_for_the_next_plain_one(sockets):
    peer = sockets()
    sock = sockets(connect_to=peer)
    sender = udpio.Sender(named=False)
    # two groups: the second header's buffer and segment size move
    sender.send(sock.fileno(), messages(20, (40, 41)), gso=True)
    drain(peer)
    # longer than the segment sizes left behind: a stale control message would cut them up
    out = messages(5, (100, 120, 140))
    assert sender.send(sock.fileno(), out) == (5, 0, False)
    assert drain(peer) == out


def test_ipv6_answers_are_grouped_and_arrive_whole():
    try:
        receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        receiver.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with receiver, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        receiver.setblocking(False)
        port = receiver.getsockname()[1]
        # a sockaddr_in6: family, port, flow info, address, scope
        name = (
            struct.pack("=H", socket.AF_INET6) + struct.pack(">HI", port, 0) + socket.inet_pton(socket.AF_INET6, "::1")
        )
        name += bytes(4)
        sender = udpio.Sender(named=True)
        out = messages(40, (60,))
        assert sender.send(sock.fileno(), out, [name] * 40, gso=True) == (40, 0, True)
        assert drain(receiver) == out
        assert (sender.gso_sends, sender.gso_datagrams) == (1, 40)
