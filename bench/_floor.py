"""The kernel floor: one hand-packed RTM_NEWLINK makes a veth whose peer is born in the namespace,
enslaved to the bridge and up; one RTM_DELLINK removes it. No library in the timed path."""

from __future__ import annotations

import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_DELLINK = 16, 17
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFF_UP = 1


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _ifinfo(flags: int = 0, change: int = 0, index: int = 0) -> bytes:
    return struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, flags, change)


def _message(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    return struct.pack("IHHII", 16 + len(body), kind, flags, seq, 0) + body


class Floor:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def _call(self, data: bytes) -> None:
        self.sock.send(data)
        reply = self.sock.recv(65536)
        error = struct.unpack_from("i", reply, 16)[0]
        if error:
            raise OSError(-error, os.strerror(-error))

    def add_veth(self, name: str, peer: str, netns_fd: int, master: int) -> None:
        self.seq += 1
        peer_info = (
            _ifinfo() + _attr(IFLA_IFNAME, peer.encode() + b"\0") + _attr(IFLA_NET_NS_FD, struct.pack("i", netns_fd))
        )
        linkinfo = _attr(IFLA_INFO_KIND, b"veth\0") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_info))
        body = (
            _ifinfo(IFF_UP, IFF_UP)
            + _attr(IFLA_IFNAME, name.encode() + b"\0")
            + _attr(IFLA_MASTER, struct.pack("I", master))
            + _attr(IFLA_LINKINFO, linkinfo)
        )
        self._call(_message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, self.seq, body))

    def delete(self, name: str) -> None:
        self.seq += 1
        body = _ifinfo() + _attr(IFLA_IFNAME, name.encode() + b"\0")
        self._call(_message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, self.seq, body))

    def close(self) -> None:
        self.sock.close()


RTM_NEWADDR, RTM_NEWROUTE = 20, 24
NLM_F_REPLACE = 0x100
IFA_LOCAL, IFA_ADDRESS = 2, 1
RTA_GATEWAY, RTA_OIF = 5, 4


def _ifaddr(index: int, prefixlen: int) -> bytes:
    return struct.pack("BBBBI", socket.AF_INET, prefixlen, 0, 0, index)


def _rtmsg() -> bytes:
    # family, dst_len, src_len, tos, table main, proto static, scope universe, type unicast, flags
    return struct.pack("BBBBBBBBI", socket.AF_INET, 0, 0, 0, 254, 4, 0, 1, 0)


class ConfiguredFloor(Floor):
    """The floor for a working endpoint: the veth as above (its peer born as index 2), then, in one
    send from a socket in the namespace, its address, link up and the default route."""

    def add_configured(
        self, name: str, netns_fd: int, master: int, ns_sock: socket.socket, address: str, prefixlen: int, gateway: str
    ) -> None:
        self.seq += 1
        peer_info = (
            struct.pack("BxHiII", socket.AF_UNSPEC, 0, 2, 0, 0)
            + _attr(IFLA_IFNAME, b"eth0\0")
            + _attr(IFLA_NET_NS_FD, struct.pack("i", netns_fd))
        )
        linkinfo = _attr(IFLA_INFO_KIND, b"veth\0") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_info))
        body = (
            _ifinfo(IFF_UP, IFF_UP)
            + _attr(IFLA_IFNAME, name.encode() + b"\0")
            + _attr(IFLA_MASTER, struct.pack("I", master))
            + _attr(IFLA_LINKINFO, linkinfo)
        )
        self._call(_message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, self.seq, body))
        packed = socket.inet_aton(address)
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
        batch = (
            _message(
                RTM_NEWADDR,
                flags | NLM_F_EXCL,
                1,
                _ifaddr(2, prefixlen) + _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed),
            )
            + _message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 2, _ifinfo(IFF_UP, IFF_UP, 2))
            + _message(
                RTM_NEWROUTE,
                flags | NLM_F_REPLACE,
                3,
                _rtmsg() + _attr(RTA_GATEWAY, socket.inet_aton(gateway)) + _attr(RTA_OIF, struct.pack("i", 2)),
            )
        )
        ns_sock.send(batch)
        acks = 0
        while acks < 3:
            reply = ns_sock.recv(65536)
            offset = 0
            while offset < len(reply):
                length, kind = struct.unpack_from("IH", reply, offset)
                if kind == 2:
                    error = struct.unpack_from("i", reply, offset + 16)[0]
                    if error:
                        raise OSError(-error, os.strerror(-error))
                    acks += 1
                offset += length
