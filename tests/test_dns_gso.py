"""Segmented UDP sends (the resolver's UDP GSO) seen by the kernel: in a throwaway namespace,
datagrams of one length cross the loopback device as one packet, and the receiver still gets
each datagram on its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from pycnm.dns import udpio
from pycnm.osl import netlink, netns

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(not udpio.available(), reason="recvmmsg/sendmmsg are not usable here"),
]


def lo_tx_packets(path: str) -> int:
    argv = ["ip", "-n", os.path.basename(path), "-j", "-s", "link", "show", "lo"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout)[0]["stats64"]["tx"]["packets"])


def test_sixty_four_equal_datagrams_are_one_packet_on_lo_and_sixty_four_datagrams_at_the_receiver(prefix, no_leaks):
    path = f"/run/netns/{prefix}-gso"
    netns.create(path)
    try:
        subprocess.run(["ip", "-n", f"{prefix}-gso", "link", "set", "lo", "up"], check=True)
        with netns.entered(path):
            receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sender_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with receiver, sender_sock:
            receiver.bind(("127.0.0.1", 0))
            receiver.setblocking(False)
            sender_sock.connect(receiver.getsockname())
            sender = udpio.Sender(named=False)
            out = [i.to_bytes(2, "big") + b"q" * 38 for i in range(64)]
            packets = {}
            for gso in (True, False):
                before = lo_tx_packets(path)
                assert sender.send(sender_sock.fileno(), out, gso=gso)[0] == 64
                packets[gso] = lo_tx_packets(path) - before
                got = []
                while True:
                    try:
                        got.append(receiver.recv(4096))
                    except BlockingIOError:
                        break
                assert got == out
        assert packets == {True: 1, False: 64}
    finally:
        netlink.forget(path)
        netns.delete(path)
