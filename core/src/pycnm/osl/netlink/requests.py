"""rtnetlink requests laid out by pyroute2, sent several at a time.

pyroute2's ``IPRoute``/``IPBatch`` calls cost 0.2-0.5 ms each in Python before the kernel sees
anything, so the join path builds its requests here and sends them together in one ``send``.
Encoding alone costs 25-250 µs a message (a veth with its peer is the dearest), more than the
kernel takes to make the veth. So each message is encoded by pyroute2 once per *shape*, and only
its fixed-width values (names, indices, MACs, addresses) are written into a copy each time
(:func:`encoded`). ``PYCNM_NETLINK_TEMPLATES=0`` encodes every message through pyroute2 instead
(to bisect a kernel-facing bug: the bytes must be the same).

The numbers are pyroute2's own (``pyroute2.netlink``, ``pyroute2.netlink.rtnl``).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
import socket
import string
import struct
from collections.abc import Callable
from typing import Any

from attrs import frozen
from pyroute2 import NetlinkError
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, rt_proto, rt_scope
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD, ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from ... import steps
from .sockets import SocketCache, default

_HEADER = struct.Struct("IHHII")
RT_TABLE_MAIN, RTN_UNICAST = 254, 1
#: 0 turns templates off: every message is encoded by pyroute2
TEMPLATES = os.environ.get("PYCNM_NETLINK_TEMPLATES", "1") != "0"


@frozen
class Shape:
    """One kind of request: ``build(*args)`` returns (pyroute2 message, type, extra flags);
    ``slots`` says, per argument, how it lands in the message when its width is fixed: ``name``
    (its bytes, 4 or more), ``u32``, ``mac`` (6 bytes), ``ip`` (packed); None for an argument that
    shapes the message."""

    name: str
    build: Callable[..., tuple[Any, int, int]]
    slots: tuple[str | None, ...]


class Requests:
    """Requests for one batch (see the module's docstring)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def _add(self, shape: Shape, *args: Any) -> Requests:
        self.data += encoded(shape, args)
        return self

    def link_get(self, ifname: str) -> Requests:
        return self._add(LINK_GET, ifname)

    def link_del(self, name: str) -> Requests:
        return self._add(LINK_DEL, name)

    def link_set(self, index: int, *, up: bool | None = None, address: str | None = None) -> Requests:
        return self._add(LINK_SET, index, up, address)

    def link_add(self, name: str, kind: str, *, address: str, mtu: int) -> Requests:
        """A link of ``kind`` (e.g. ``bridge``) with a MAC and MTU, down."""
        return self._add(LINK_ADD, name, kind, address, mtu)

    def link_set_alias(self, name: str, alias: str) -> Requests:
        """Set the interface alias (``ip link set NAME alias ALIAS``)."""
        return self._add(LINK_SET_ALIAS, name, alias)

    def link_ipv6_off(self, name: str) -> Requests:
        """No IPv6 link-local address on ``name`` (addrgenmode none), set by name, before it is up.

        Host-side ports of networks without IPv6 need none, and each one costs multicast
        listener work that grows with the number of ports (BENCHMARKS.md). The kernel takes this
        only on an existing link, so it follows the creation in the same batch.
        """
        return self._add(LINK_IPV6_OFF, name)

    def link_set_by_name(self, name: str, *, up: bool) -> Requests:
        return self._add(LINK_SET_BY_NAME, name, up)

    def veth_add(
        self,
        name: str,
        *,
        master: int,
        mtu: int,
        up: bool,
        peer_name: str,
        peer_netns_fd: int,
        peer_address: str | None = None,
    ) -> Requests:
        """A veth pair whose peer is born in the namespace ``peer_netns_fd``."""
        return self._add(VETH_ADD, name, master, mtu, up, peer_name, peer_netns_fd, peer_address)

    def addr_add(self, index: int, address: ipaddress.IPv4Address | ipaddress.IPv6Address, prefixlen: int) -> Requests:
        """Add an address; IPv6 ones skip duplicate address detection (IPAM made them unique)."""
        return self._add(ADDR_ADD, index, address, prefixlen)

    def default_route(self, index: int, gateway: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Requests:
        """Create or replace the default route of ``gateway``'s family, via ``gateway`` on ``index``."""
        return self._add(DEFAULT_ROUTE, index, gateway)


# ---- encoding ------------------------------------------------------------------------------------

#: a shape's encoding and where its values go in it: ((argument index, [offsets]), ...)
Template = tuple[bytes, tuple[tuple[int, list[int]], ...]]
#: shape and argument widths -> Template, or NO_TEMPLATE (encoded by pyroute2 every time)
templates: dict[tuple, Template] = {}
NO_TEMPLATE: Template = (b"", ())


def encoded(shape: Shape, args: tuple) -> bytes:
    """The request ``shape.build(*args)`` describes, as pyroute2 encodes it (sequence number 0).

    Arguments of one shape share a template that pyroute2 encoded; the values are written where
    pyroute2 put them.
    """
    if not TEMPLATES:
        return pyroute2_encoded(shape, args)
    slots = shape.slots
    key = (
        shape.name,
        *((kind, _width(kind, arg)) if _slotted(kind, arg) else arg for kind, arg in zip(slots, args, strict=False)),
    )
    template = templates.get(key)
    if template is None:
        template = templates[key] = _template(shape, args)
    if template is NO_TEMPLATE:
        return pyroute2_encoded(shape, args)
    data, places = template
    out = bytearray(data)
    for index, where in places:
        value = _value(slots[index], args[index])
        for offset in where:
            out[offset : offset + len(value)] = value
    return bytes(out)


def pyroute2_encoded(shape: Shape, args: tuple) -> bytes:
    msg, kind, flags = shape.build(*args)
    msg["header"]["type"] = kind
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
    msg.encode()
    return bytes(msg.data)


def _slotted(kind: str | None, value: Any) -> bool:
    """Whether the value goes in by substitution: names shorter than 4 bytes shape the message
    instead (a short stand-in could be found by chance elsewhere in it)."""
    return kind is not None and value is not None and not (kind == "name" and len(value.encode()) < 4)


def _width(kind: str | None, value: Any) -> int:
    return len(value.encode()) if kind == "name" else value.version if kind == "ip" else 0


def _value(kind: str | None, value: Any) -> bytes:
    if kind == "name":
        return value.encode()
    if kind == "u32":
        return struct.pack("=I", value)
    if kind == "mac":
        return bytes.fromhex(value.replace(":", ""))
    return value.packed


def stand_in(kind: str | None, value: Any, rng: random.Random) -> Any:
    """A random value of ``value``'s kind and width (as pyroute2 takes it)."""
    if kind == "name":
        return "".join(rng.choice(string.ascii_letters) for _ in range(len(value.encode())))
    if kind == "u32":
        return rng.randrange(1 << 28, 1 << 31)
    if kind == "mac":
        return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
    return ipaddress.ip_address(rng.getrandbits(32 if value.version == 4 else 128))


def _template(shape: Shape, args: tuple) -> Template:
    """Encode the shape twice with random values; where the first's values lie must be where the
    second's do, and writing the second's values into the first must give pyroute2's encoding of
    the second. Otherwise (a value it does not carry as is) the shape is encoded every time."""
    slots = shape.slots
    rng = random.Random(hash(args))
    variable = [i for i, (kind, arg) in enumerate(zip(slots, args, strict=False)) if _slotted(kind, arg)]
    first, second = list(args), list(args)
    for i in variable:
        first[i], second[i] = stand_in(slots[i], args[i], rng), stand_in(slots[i], args[i], rng)
    data = pyroute2_encoded(shape, tuple(first))
    places: list[tuple[int, list[int]]] = []
    for i in variable:
        value = _value(slots[i], first[i])
        where = [at for at in range(len(data) - len(value) + 1) if data.startswith(value, at)]
        if not where:
            return NO_TEMPLATE
        places.append((i, where))
    spans = sorted((at, at + len(_value(slots[i], first[i]))) for i, where in places for at in where)
    if any(a_end > b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans)):
        return NO_TEMPLATE  # two values found in one place: one of them was found by chance
    made = bytearray(data)
    for i, where in places:
        for offset in where:
            made[offset : offset + len(_value(slots[i], second[i]))] = _value(slots[i], second[i])
    if bytes(made) != pyroute2_encoded(shape, tuple(second)):
        return NO_TEMPLATE
    return data, tuple(places)


# ---- the shapes ----------------------------------------------------------------------------------


def _link_get(ifname: str) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", ifname)]
    return msg, RTM_GETLINK, 0


def _link_del(name: str) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name)]
    return msg, RTM_DELLINK, 0


def _link_set(index: int, up: bool | None, address: str | None) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["index"] = index
    if up is not None:
        msg["flags"], msg["change"] = (IFF_UP if up else 0), IFF_UP
    if address:
        msg["attrs"] = [("IFLA_ADDRESS", address)]
    return msg, RTM_NEWLINK, 0


def _link_add(name: str, kind: str, address: str, mtu: int) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["attrs"] = [
        ("IFLA_IFNAME", name),
        ("IFLA_ADDRESS", address),
        ("IFLA_MTU", mtu),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", kind)]}),
    ]
    return msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL


def _link_set_alias(name: str, alias: str) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_IFALIAS", alias)]
    return msg, RTM_NEWLINK, 0


def _link_ipv6_off(name: str) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["attrs"] = [
        ("IFLA_IFNAME", name),
        ("IFLA_AF_SPEC", {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", 1)]})]}),
    ]
    return msg, RTM_NEWLINK, 0


def _link_set_by_name(name: str, up: bool) -> tuple[Any, int, int]:
    msg = ifinfmsg()
    msg["flags"], msg["change"] = (IFF_UP if up else 0), IFF_UP
    msg["attrs"] = [("IFLA_IFNAME", name)]
    return msg, RTM_NEWLINK, 0


def _veth_add(
    name: str, master: int, mtu: int, up: bool, peer_name: str, peer_netns_fd: int, peer_address: str | None
) -> tuple[Any, int, int]:
    peer: list[tuple[str, Any]] = [("IFLA_IFNAME", peer_name), ("IFLA_NET_NS_FD", peer_netns_fd), ("IFLA_MTU", mtu)]
    if peer_address:
        peer.append(("IFLA_ADDRESS", peer_address))
    msg = ifinfmsg()
    if up:
        msg["flags"], msg["change"] = IFF_UP, IFF_UP
    msg["attrs"] = [
        ("IFLA_IFNAME", name),
        ("IFLA_MASTER", master),
        ("IFLA_MTU", mtu),
        (
            "IFLA_LINKINFO",
            {
                "attrs": [
                    ("IFLA_INFO_KIND", "veth"),
                    ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": peer})]}),
                ]
            },
        ),
    ]
    return msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL


def _addr_add(
    index: int, address: ipaddress.IPv4Address | ipaddress.IPv6Address, prefixlen: int
) -> tuple[Any, int, int]:
    msg = ifaddrmsg()
    msg["index"], msg["prefixlen"] = index, prefixlen
    if address.version == 4:
        msg["family"] = socket.AF_INET
        msg["attrs"] = [("IFA_LOCAL", str(address)), ("IFA_ADDRESS", str(address))]
    else:
        msg["family"], msg["flags"] = socket.AF_INET6, IFA_F_NODAD
        msg["attrs"] = [("IFA_ADDRESS", str(address))]
    return msg, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL


def _default_route(index: int, gateway: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[Any, int, int]:
    msg = rtmsg()
    msg["family"] = socket.AF_INET if gateway.version == 4 else socket.AF_INET6
    msg["table"], msg["proto"] = RT_TABLE_MAIN, rt_proto["static"]
    msg["scope"], msg["type"] = rt_scope["universe"], RTN_UNICAST
    msg["attrs"] = [("RTA_GATEWAY", str(gateway)), ("RTA_OIF", index)]
    return msg, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE


LINK_GET = Shape("link_get", _link_get, ("name",))
LINK_DEL = Shape("link_del", _link_del, ("name",))
LINK_SET = Shape("link_set", _link_set, ("u32", None, "mac"))
LINK_ADD = Shape("link_add", _link_add, ("name", None, "mac", None))
LINK_SET_ALIAS = Shape("link_set_alias", _link_set_alias, ("name", "name"))  # an alias of one width shares one
LINK_IPV6_OFF = Shape("link_ipv6_off", _link_ipv6_off, ("name",))
LINK_SET_BY_NAME = Shape("link_set_by_name", _link_set_by_name, ("name", None))
VETH_ADD = Shape("veth_add", _veth_add, ("name", "u32", None, None, "name", "u32", "mac"))
ADDR_ADD = Shape("addr_add", _addr_add, ("u32", "ip", None))
DEFAULT_ROUTE = Shape("default_route", _default_route, ("u32", "ip"))


# ---- sending -------------------------------------------------------------------------------------

_sequence = iter(range(1, 1 << 31))


def _offsets(data: bytearray):
    offset = 0
    while offset < len(data):
        yield offset
        offset += _HEADER.unpack_from(data, offset)[0]


def _exchange(path: str, data: bytearray, sockets: SocketCache) -> list[tuple[int, bytes]]:
    """Send the requests, each numbered; return (seq, message) for every reply, once each request
    is acknowledged."""
    pending = set()
    for offset in _offsets(data):
        number = next(_sequence)
        struct.pack_into("I", data, offset + 8, number)
        pending.add(number)
    sock = sockets.raw(path)
    if any(_HEADER.unpack_from(data, at)[1] != RTM_GETLINK for at in _offsets(data)):
        steps.step("netlink", f"{len(pending)} request(s) in {path or 'this namespace'}")
    sock.send(bytes(data))
    replies = []
    while pending:
        chunk = sock.recv(65536)
        offset = 0
        while offset < len(chunk):
            length, kind, _flags, seq = _HEADER.unpack_from(chunk, offset)[:4]
            if seq in pending:
                replies.append((seq, chunk[offset : offset + length]))
                if kind == NLMSG_ERROR:
                    pending.discard(seq)
            offset += length
    return replies


def batch(path: str, build: Callable[[Requests], Any], sockets: SocketCache | None = None) -> None:
    """Send the requests ``build`` adds to a :class:`Requests` to the kernel in one ``send``, in the
    namespace ``path`` ("" or an ``@`` identity: this thread's), and wait for every acknowledgement.

    :raises NetlinkError: the first request the kernel refused (those before it were applied).
    """
    requests = Requests()
    build(requests)
    for _seq_no, message in sorted(_exchange(path, requests.data, sockets or default)):
        if _HEADER.unpack_from(message, 0)[1] == NLMSG_ERROR:
            code = -struct.unpack_from("i", message, 16)[0]
            if code:
                raise NetlinkError(code, os.strerror(code))


def index(path: str, ifname: str, sockets: SocketCache | None = None) -> int | None:
    """The index of ``ifname`` in the namespace ``path``, by one RTM_GETLINK (None if absent)."""
    for _seq_no, message in _exchange(path, Requests().link_get(ifname).data, sockets or default):
        if _HEADER.unpack_from(message, 0)[1] != NLMSG_ERROR:
            return struct.unpack_from("i", message, 16 + 4)[0]
    return None
