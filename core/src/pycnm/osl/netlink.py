"""pyroute2 sockets, one per (thread, namespace), opened by ``setns`` in the calling thread.

pyroute2's sync ``IPRoute`` is bound to the thread that made it: used from another thread it
silently opens a new socket in *that* thread's namespace. So sockets are cached per thread, and
every socket opened for a namespace is remembered, so :func:`forget` can close them all when the
namespace is deleted (an open socket keeps a namespace, and the interfaces in it, alive).
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import string
import struct
import threading
from collections import defaultdict

from pyroute2 import IPRoute, NetlinkError
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .. import steps
from . import netns

_local = threading.local()
_lock = threading.Lock()
_open: dict[str, list[IPRoute]] = defaultdict(list)
_generation: dict[str, int] = defaultdict(int)


def current() -> str:
    """An identity of the namespace this thread is in now (``host`` sockets are cached by it).

    A hosting application, or a test, may run pycnm in a thread that entered another namespace
    standing in for the host; its "host" objects then live there.
    """
    st = os.stat("/proc/thread-self/ns/net")
    return f"@{st.st_dev}:{st.st_ino}"


def host() -> IPRoute:
    """This thread's socket in the namespace the thread is in (pycnm's "host")."""
    return ns(current())


def ns(path: str) -> IPRoute:
    """This thread's socket in the namespace at ``path`` (an ``@dev:ino`` from :func:`current`
    means the thread's own)."""
    return _cached("sockets", path, IPRoute)


def _cached(kind: str, path: str, make):
    """This thread's object of ``kind`` for ``path``: made in that namespace on first use, made
    again after :func:`forget`, and remembered so that :func:`forget` can close it."""
    cache = getattr(_local, kind, None)
    if cache is None:
        cache = {}
        setattr(_local, kind, cache)
    generation = _generation[path]
    hit = cache.get(path)
    if hit is not None and hit[0] == generation:
        return hit[1]
    if not path.startswith("@"):
        with netns.entered(path):
            made = make()
    else:
        made = make()
    cache[path] = (generation, made)
    with _lock:
        _open[path].append(made)
    return made


def forget(path: str) -> None:
    """Close every thread's socket for ``path``; call before deleting its namespace."""
    with _lock:
        socks = _open.pop(path, [])
        _generation[path] += 1
    for sock in socks:
        try:
            sock.close()
        except Exception:  # closing is best effort; the fd goes with the object
            pass


def reset() -> None:
    """Close every socket of every thread (for tests and shutdown)."""
    with _lock:
        paths = list(_open)
    for path in paths:
        forget(path)


# ---- batches: several requests in one send -------------------------------------------------------

_NLMSG_ERROR = 2
_HEADER = struct.Struct("IHHII")


def _raw(path: str) -> socket.socket:
    """This thread's plain rtnetlink socket in ``path`` (made like :func:`ns`, cached likewise)."""
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        sock.bind((0, 0))
        return sock

    return _cached("raw", path, make)


_seq = iter(range(1, 1 << 31))


def _number(data: bytearray) -> set[int]:
    """Give each request in ``data`` a sequence number of its own; returns them."""
    numbers, offset = set(), 0
    while offset < len(data):
        length = _HEADER.unpack_from(data, offset)[0]
        number = next(_seq)
        struct.pack_into("I", data, offset + 8, number)
        numbers.add(number)
        offset += length
    return numbers


def _offsets(data: bytearray):
    offset = 0
    while offset < len(data):
        yield offset
        offset += _HEADER.unpack_from(data, offset)[0]


def _exchange(path: str, data: bytearray) -> list[tuple[int, bytes]]:
    """Send numbered requests; return (seq, message) for every reply, once each request is acked."""
    pending = _number(data)
    sock = _raw(path or current())
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
                message = chunk[offset:offset + length]
                replies.append((seq, message))
                if kind == _NLMSG_ERROR:
                    pending.discard(seq)
            offset += length
    return replies


NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_REPLACE = 0x1, 0x4, 0x200, 0x400, 0x100
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 17, 18, 20, 24
IFF_UP = 0x1
IFA_F_NODAD = 0x02


class Requests:
    """rtnetlink requests for one batch, laid out by pyroute2's message classes.

    pyroute2's ``IPRoute``/``IPBatch`` calls cost 0.2-0.5 ms each in Python before the kernel sees
    anything, so the join path builds its requests here and sends them together. Encoding alone
    costs 25-250 µs a message (a veth with its peer is the dearest), more than the kernel takes to
    make the veth. So each message is encoded by pyroute2 once per *shape*, and only its
    fixed-width values (names, indices, MACs, addresses) are written into the copy each time
    (:func:`_encoded`).
    """

    def __init__(self) -> None:
        self.data = bytearray()

    def _add(self, build, *args) -> Requests:
        self.data += _encoded(build, args)
        return self

    def link_get(self, ifname: str) -> Requests:
        return self._add(_link_get, ifname)

    def link_del(self, name: str) -> Requests:
        return self._add(_link_del, name)

    def link_set(self, index: int, *, up: bool | None = None, address: str | None = None) -> Requests:
        return self._add(_link_set, index, up, address)

    def link_add(self, name: str, kind: str, *, address: str, mtu: int) -> Requests:
        """A link of ``kind`` (e.g. ``bridge``) with a MAC and MTU, down."""
        return self._add(_link_add, name, kind, address, mtu)

    def link_set_alias(self, name: str, alias: str) -> Requests:
        """Set the interface alias (``ip link set NAME alias ALIAS``)."""
        return self._add(_link_set_alias, name, alias)

    def link_ipv6_off(self, name: str) -> Requests:
        """No IPv6 link-local address on ``name`` (addrgenmode none), set by name, before it is up.

        Host-side ports of networks without IPv6 need none, and each one costs multicast
        listener work that grows with the number of ports (BENCHMARKS.md). The kernel takes this
        only on an existing link, so it follows the creation in the same batch.
        """
        return self._add(_link_ipv6_off, name)

    def link_set_by_name(self, name: str, *, up: bool) -> Requests:
        return self._add(_link_set_by_name, name, up)

    def veth_add(self, name: str, *, master: int, mtu: int, up: bool, peer_name: str, peer_netns_fd: int,
                 peer_address: str | None = None) -> Requests:
        """A veth pair whose peer is born in the namespace ``peer_netns_fd``."""
        return self._add(_veth_add, name, master, mtu, up, peer_name, peer_netns_fd, peer_address)

    def addr_add(self, index: int, address, prefixlen: int) -> Requests:
        """Add an address; IPv6 ones skip duplicate address detection (IPAM made them unique)."""
        return self._add(_addr_add, index, address, prefixlen)

    def default_route(self, index: int, gateway) -> Requests:
        """Create or replace the default route of ``gateway``'s family, via ``gateway`` on ``index``."""
        return self._add(_default_route, index, gateway)


def _encoded(build, args: tuple) -> bytes:
    """The request ``build(*args)`` describes, as pyroute2 encodes it (sequence number 0).

    ``build.slots`` names, for each argument, how it lands in the message when its width is
    fixed: ``name`` (its bytes, 4 or more), ``u32``, ``mac`` (6 bytes), ``ip`` (packed); None for
    an argument that shapes the message. Arguments of one shape share a template that pyroute2 encoded; the
    values are written where pyroute2 put them.
    """
    slots = build.slots
    shape = (build, *((kind, _width(kind, arg)) if _slotted(kind, arg) else arg for kind, arg in zip(slots, args)))
    template = _templates.get(shape)
    if template is None:
        template = _templates[shape] = _template(build, args, slots)
    if template is _NO_TEMPLATE:
        return _pyroute2_encoded(build, args)
    data, places = template
    out = bytearray(data)
    for index, where in places:
        value = _value(slots[index], args[index])
        for offset in where:
            out[offset:offset + len(value)] = value
    return bytes(out)


_templates: dict[tuple, object] = {}
_NO_TEMPLATE = object()


def _pyroute2_encoded(build, args: tuple) -> bytes:
    msg, kind, flags = build(*args)
    msg["header"]["type"] = kind
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
    msg.encode()
    return bytes(msg.data)


def _slotted(kind: str | None, value) -> bool:
    """Whether the value goes in by substitution: names shorter than 4 bytes shape the message
    instead (a short stand-in could be found by chance elsewhere in it)."""
    return kind is not None and value is not None and not (kind == "name" and len(value.encode()) < 4)


def _width(kind: str, value) -> int:
    return len(value.encode()) if kind == "name" else value.version if kind == "ip" else 0


def _value(kind: str, value) -> bytes:
    if kind == "name":
        return value.encode()
    if kind == "u32":
        return struct.pack("=I", value)
    if kind == "mac":
        return bytes.fromhex(value.replace(":", ""))
    return value.packed


def _stand_in(kind: str, value, rng: random.Random):
    """A random value of ``value``'s kind and width (as pyroute2 takes it)."""
    if kind == "name":
        return "".join(rng.choice(string.ascii_letters) for _ in range(len(value.encode())))
    if kind == "u32":
        return rng.randrange(1 << 28, 1 << 31)
    if kind == "mac":
        return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
    return ipaddress.ip_address(rng.getrandbits(32 if value.version == 4 else 128))


def _template(build, args: tuple, slots: tuple):
    """Encode the shape twice with random values; where the first's values lie must be where the
    second's do, and writing the second's values into the first must give pyroute2's encoding of
    the second. Otherwise (a value it does not carry as is) the shape is encoded every time."""
    rng = random.Random(hash(args))
    variable = [i for i, (kind, arg) in enumerate(zip(slots, args)) if _slotted(kind, arg)]
    first, second = list(args), list(args)
    for i in variable:
        first[i], second[i] = _stand_in(slots[i], args[i], rng), _stand_in(slots[i], args[i], rng)
    data = _pyroute2_encoded(build, tuple(first))
    places = []
    for i in variable:
        value = _value(slots[i], first[i])
        where = [at for at in range(len(data) - len(value) + 1) if data.startswith(value, at)]
        if not where:
            return _NO_TEMPLATE
        places.append((i, where))
    spans = sorted((at, at + len(_value(slots[i], first[i]))) for i, where in places for at in where)
    if any(a_end > b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])):
        return _NO_TEMPLATE  # two values found in one place: one of them was found by chance
    made = bytearray(data)
    for i, where in places:
        for offset in where:
            made[offset:offset + len(_value(slots[i], second[i]))] = _value(slots[i], second[i])
    if bytes(made) != _pyroute2_encoded(build, tuple(second)):
        return _NO_TEMPLATE
    return data, tuple(places)


def _link_get(ifname):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", ifname)]
    return msg, RTM_GETLINK, 0


_link_get.slots = ("name",)


def _link_del(name):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name)]
    return msg, RTM_DELLINK, 0


_link_del.slots = ("name",)


def _link_set(index, up, address):
    msg = ifinfmsg()
    msg["index"] = index
    if up is not None:
        msg["flags"], msg["change"] = (IFF_UP if up else 0), IFF_UP
    if address:
        msg["attrs"] = [("IFLA_ADDRESS", address)]
    return msg, RTM_NEWLINK, 0


_link_set.slots = ("u32", None, "mac")


def _link_add(name, kind, address, mtu):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_ADDRESS", address), ("IFLA_MTU", mtu),
                    ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", kind)]})]
    return msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL


_link_add.slots = ("name", None, "mac", None)


def _link_set_alias(name, alias):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_IFALIAS", alias)]
    return msg, RTM_NEWLINK, 0


_link_set_alias.slots = ("name", "name")  # an alias of one width shares a template


def _link_ipv6_off(name):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", name),
                    ("IFLA_AF_SPEC", {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", 1)]})]})]
    return msg, RTM_NEWLINK, 0


_link_ipv6_off.slots = ("name",)


def _link_set_by_name(name, up):
    msg = ifinfmsg()
    msg["flags"], msg["change"] = (IFF_UP if up else 0), IFF_UP
    msg["attrs"] = [("IFLA_IFNAME", name)]
    return msg, RTM_NEWLINK, 0


_link_set_by_name.slots = ("name", None)


def _veth_add(name, master, mtu, up, peer_name, peer_netns_fd, peer_address):
    peer = [("IFLA_IFNAME", peer_name), ("IFLA_NET_NS_FD", peer_netns_fd), ("IFLA_MTU", mtu)]
    if peer_address:
        peer.append(("IFLA_ADDRESS", peer_address))
    msg = ifinfmsg()
    if up:
        msg["flags"], msg["change"] = IFF_UP, IFF_UP
    msg["attrs"] = [
        ("IFLA_IFNAME", name), ("IFLA_MASTER", master), ("IFLA_MTU", mtu),
        ("IFLA_LINKINFO", {"attrs": [
            ("IFLA_INFO_KIND", "veth"),
            ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": peer})]}),
        ]}),
    ]
    return msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL


_veth_add.slots = ("name", "u32", None, None, "name", "u32", "mac")


def _addr_add(index, address, prefixlen):
    msg = ifaddrmsg()
    msg["index"], msg["prefixlen"] = index, prefixlen
    if address.version == 4:
        msg["family"] = socket.AF_INET
        msg["attrs"] = [("IFA_LOCAL", str(address)), ("IFA_ADDRESS", str(address))]
    else:
        msg["family"], msg["flags"] = socket.AF_INET6, IFA_F_NODAD
        msg["attrs"] = [("IFA_ADDRESS", str(address))]
    return msg, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL


_addr_add.slots = ("u32", "ip", None)


def _default_route(index, gateway):
    msg = rtmsg()
    msg["family"] = socket.AF_INET if gateway.version == 4 else socket.AF_INET6
    msg["table"], msg["proto"], msg["scope"], msg["type"] = 254, 4, 0, 1  # main, static, universe, unicast
    msg["attrs"] = [("RTA_GATEWAY", str(gateway)), ("RTA_OIF", index)]
    return msg, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE


_default_route.slots = ("u32", "ip")


def batch(path: str, build) -> None:
    """Send the requests ``build`` adds to a :class:`Requests` to the kernel in one ``send``, in the
    namespace ``path`` ("" or an ``@`` identity: this thread's), and wait for every acknowledgement.

    :raises NetlinkError: the first request the kernel refused (those before it were applied).
    """
    requests = Requests()
    build(requests)
    for _seq_no, message in sorted(_exchange(path, requests.data)):
        if _HEADER.unpack_from(message, 0)[1] == _NLMSG_ERROR:
            code = -struct.unpack_from("i", message, 16)[0]
            if code:
                raise NetlinkError(code, os.strerror(code))


def index(path: str, ifname: str) -> int | None:
    """The index of ``ifname`` in the namespace ``path``, by one RTM_GETLINK (None if absent)."""
    for _seq_no, message in _exchange(path, Requests().link_get(ifname).data):
        if _HEADER.unpack_from(message, 0)[1] != _NLMSG_ERROR:
            return struct.unpack_from("i", message, 16 + 4)[0]
    return None
