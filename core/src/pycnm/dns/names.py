"""The local names the resolver answers, kept up to date by the daemon.

Three kinds of things, as the daemon knows them:

- **networks**: id, name, and whether they are internal (no way out: their clients never forward);
- **endpoints** of a network: the names they answer to (the sandbox name first, then aliases, the
  12-hex short ID, the hostname; the daemon decides the list), one IPv4 and one IPv6 address at
  most, and the ports they expose (for SRV);
- **clients**: the sandboxes asking, with the networks they are on (in order: the first network
  that knows a name answers for it) and how they forward what is not local (:class:`Forwarding`).

What a client sees: the names of endpoints on the networks it is on, each also as
``name.<network name>``; PTR records (``in-addr.arpa`` and ``ip6.arpa``) for their addresses,
answering ``name.<network name>``; SRV records ``_<port>._<proto>.<name>`` for exposed ports and,
when the host's services database names the port, ``_<service>._<proto>.<name>`` too
(``_http._tcp.web``). A name held by several endpoints of a network answers all their addresses,
in an order that rotates from one answer to the next. A known name without an address of the
asked family, or asked for another type, answers NOERROR with no records.

Threading: one writer (the daemon's thread, though writers are serialised by a lock) and any
number of readers. A change builds new immutable dictionaries for the network it touches and
publishes a new :class:`Snapshot` with one reference assignment, so the resolver thread reads
without locks and sees every change at its next query. Group many changes with :meth:`Names.batch`
to publish them once.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar, cast

import dns.exception
import dns.name
import dns.reversename
from attrs import field, frozen

from pycnm.dns import wire
from pycnm.errors import InvalidParameter

#: makes the socket an upstream is dialled through: ``factory(family, type)``, e.g.
#: ``(socket.AF_INET, socket.SOCK_DGRAM)``; called in the resolver thread, must not block
SocketFactory = Callable[[int, int], socket.socket]

#: at most this many upstreams per client, as in resolv.conf and Docker
MAX_UPSTREAMS = 3
PROTOCOLS = ("tcp", "udp", "sctp")


def default_socket_factory(family: int, kind: int) -> socket.socket:
    """A socket in the calling process's own network namespace."""
    return socket.socket(family, kind)


def _canonical_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise InvalidParameter(f"upstream address {value!r} is not an IP address: give one like 10.0.0.2") from exc


def _upstream_tuple(value: Iterable[Upstream]) -> tuple[Upstream, ...]:
    result = tuple(value)
    if len(result) > MAX_UPSTREAMS:
        raise InvalidParameter(f"{len(result)} upstreams given, at most {MAX_UPSTREAMS} are used: drop the others")
    return result


@frozen
class Upstream:
    """A DNS server names that are not local are forwarded to."""

    address: str = field(converter=_canonical_address)
    port: int = 53
    #: how a socket to it is made: in the host's namespace (an upstream like 127.0.0.53) or in
    #: the sandbox's; compared by identity, so pass the same callable for the same namespace
    factory: SocketFactory = field(default=default_socket_factory, eq=False, hash=False, repr=False)

    @property
    def family(self) -> int:
        """The address family of :attr:`address`."""
        return socket.AF_INET6 if ":" in self.address else socket.AF_INET


@frozen
class Forwarding:
    """How a client forwards names that are not local."""

    upstreams: tuple[Upstream, ...] = field(default=(), converter=_upstream_tuple)
    #: forward single-label names ("db", "printer") too; False answers A/AAAA for them with an
    #: empty NOERROR, as Docker does when ndots is set, so that the client tries its search list
    forward_single_label: bool = True
    #: False: nothing is forwarded, every name that is not local gets SERVFAIL
    enabled: bool = True


# --- what the resolver reads ----------------------------------------------------------------------


class Holders:
    """The address records of one name on one network, ready to send (owner: the question)."""

    __slots__ = ("a", "aaaa")

    def __init__(self, a: tuple[bytes, ...], aaaa: tuple[bytes, ...]) -> None:
        self.a = a
        self.aaaa = aaaa


_V = TypeVar("_V")


class NetIndex:
    """One network's names, published whole: never changed once a snapshot holds it."""

    __slots__ = ("id", "name", "internal", "addr", "ptr", "srv")

    def __init__(
        self,
        network_id: str,
        name: str,
        internal: bool,
        addr: dict[bytes, Holders],
        ptr: dict[bytes, bytes],
        srv: dict[bytes, tuple[tuple[bytes, tuple[bytes, ...]], ...]],
    ) -> None:
        self.id = network_id
        self.name = name
        self.internal = internal
        #: wire name (lowercase) -> its A/AAAA records
        self.addr = addr
        #: reverse wire name -> its PTR record
        self.ptr = ptr
        #: SRV wire name -> ((SRV record, glue records), ...) one per endpoint
        self.srv = srv


class ClientInfo:
    """A client as the resolver sees it: its networks in order and its forwarding."""

    __slots__ = ("id", "networks", "forwarding")

    def __init__(self, client_id: str, networks: tuple[str, ...], forwarding: Forwarding) -> None:
        self.id = client_id
        self.networks = networks
        self.forwarding = forwarding


class Snapshot:
    """Everything at one moment; ``generation`` grows with every published change."""

    __slots__ = ("generation", "networks", "clients")

    def __init__(self, generation: int, networks: dict[str, NetIndex], clients: dict[str, ClientInfo]) -> None:
        self.generation = generation
        self.networks = networks
        self.clients = clients


Variant = tuple[tuple[bytes, ...], tuple[bytes, ...]]


def lookup(nets: Sequence[NetIndex], name: bytes, qtype: int) -> list[Variant] | None:
    """Answer ``name`` (lowercase wire form) of ``qtype`` from a client's networks, or None.

    None means "not a local name": forward it. Otherwise a list of ``(answers, additional)``
    record tuples: one entry, or one per rotation when several endpoints hold the name; an entry
    with no answers is the empty NOERROR of a known name without records of that type.
    """
    if qtype == wire.PTR:
        for net in nets:
            rr = net.ptr.get(name)
            if rr is not None:
                return [((rr,), ())]
    elif qtype == wire.SRV:
        for net in nets:
            targets = net.srv.get(name)
            if targets is not None:
                return [(tuple(t[0] for t in rot), tuple(g for t in rot for g in t[1])) for rot in _rotations(targets)]
    for net in nets:
        holders = net.addr.get(name)
        if holders is not None:
            break
    else:
        return None
    if qtype == wire.A:
        records = holders.a
    elif qtype == wire.AAAA:
        records = holders.aaaa
    elif qtype == wire.ANY:
        return [(a + b, ()) for a, b in zip(_rotations(holders.a), _rotations(holders.aaaa), strict=False)]
    else:
        records = ()
    return [(rot, ()) for rot in _rotations(records)]


def _rotations(items: tuple) -> list[tuple]:
    if len(items) < 2:
        return [items]
    return [items[k:] + items[:k] for k in range(len(items))]


# --- what the writer keeps --------------------------------------------------------------------------


def _wire_name(text: str, what: str) -> bytes:
    try:
        name = dns.name.from_text(text.rstrip(".") + ".")
        return cast(bytes, name.canonicalize().to_wire())  # bytes without a file (typed bytes | None)
    except (dns.exception.DNSException, ValueError) as exc:
        raise InvalidParameter(
            f"{what} {text!r} is not a DNS name ({exc}): use labels of at most 63 characters"
        ) from exc


def _join(name: bytes, suffix: bytes) -> bytes | None:
    """``name.suffix`` in wire form, or None when it would be longer than a DNS name may be."""
    joined = name[:-1] + suffix
    return joined if len(joined) <= 255 else None


@functools.lru_cache(maxsize=4096)
def service_name(port: int, proto: str) -> str | None:
    """The host's services-database name of ``port``/``proto`` (``80``/``tcp`` -> ``http``), if any."""
    try:
        name = socket.getservbyport(port, proto)
    except (OSError, OverflowError):
        return None
    # a name that cannot be a DNS label is not offered
    return name.lower() if name and len(name) < 63 and name.replace("-", "").isalnum() else None


class _Endpoint:
    __slots__ = ("id", "names", "wires", "ipv4", "ipv6", "rev4", "rev6", "ports")

    def __init__(
        self,
        endpoint_id: str,
        names: Sequence[str],
        ipv4: str | None,
        ipv6: str | None,
        ports: Iterable[tuple[str, int]],
    ) -> None:
        self.id = endpoint_id
        self.names = tuple(names)
        wires: list[bytes] = []
        for text in self.names:
            if not text:
                continue
            w = _wire_name(text, "endpoint name")
            if w not in wires:
                wires.append(w)
        self.wires = tuple(wires)
        self.ipv4 = self.ipv6 = self.rev4 = self.rev6 = None
        if ipv4:
            try:
                address = ipaddress.IPv4Address(ipv4.split("/")[0])
            except ValueError as exc:
                raise InvalidParameter(f"endpoint {endpoint_id}: {ipv4!r} is not an IPv4 address") from exc
            self.ipv4 = address.packed
            self.rev4 = dns.reversename.from_address(str(address)).canonicalize().to_wire()
        if ipv6:
            try:
                address6 = ipaddress.IPv6Address(ipv6.split("/")[0])
            except ValueError as exc:
                raise InvalidParameter(f"endpoint {endpoint_id}: {ipv6!r} is not an IPv6 address") from exc
            self.ipv6 = address6.packed
            self.rev6 = dns.reversename.from_address(str(address6)).canonicalize().to_wire()
        checked = []
        for given, port in ports:
            proto = str(given).lower()
            if proto not in PROTOCOLS or not 0 < int(port) < 65536:
                raise InvalidParameter(f"endpoint {endpoint_id}: port {port}/{proto} is not a port of {PROTOCOLS}")
            if (proto, int(port)) not in checked:
                checked.append((proto, int(port)))
        self.ports = tuple(checked)


class _Net:
    """A network as the writer keeps it: endpoints and, per key, which endpoints hold it."""

    __slots__ = ("id", "name", "wire", "internal", "endpoints", "addr_keys", "ptr_keys", "srv_keys", "index")

    def __init__(self, network_id: str, name: str, internal: bool) -> None:
        self.id = network_id
        self.name = name
        self.wire = _wire_name(name, "network name")
        self.internal = internal
        self.endpoints: dict[str, _Endpoint] = {}
        self.addr_keys: dict[bytes, list[str]] = {}
        self.ptr_keys: dict[bytes, list[str]] = {}
        self.srv_keys: dict[bytes, list[str]] = {}
        self.index = NetIndex(network_id, name, internal, {}, {}, {})


class Names:
    """The local-name model: the daemon writes it, the resolver reads :attr:`snapshot`.

    ``local_ttl`` is the TTL of every local answer. Methods raise
    :class:`~pycnm.errors.InvalidParameter` for a name or address that cannot be used, and leave
    the model as it was.
    """

    def __init__(self, *, local_ttl: int = 600) -> None:
        if not 0 <= local_ttl <= 0x7FFFFFFF:
            raise InvalidParameter(f"local_ttl {local_ttl} is not a DNS TTL: give 0 to 2147483647 seconds")
        self.local_ttl = local_ttl
        self._ttl = struct.pack(">I", local_ttl)
        self._lock = threading.RLock()
        self._depth = 0
        self._dirty = False
        self._nets: dict[str, _Net] = {}
        self._clients: dict[str, ClientInfo] = {}
        self._fresh: set[str] = set()  # networks whose index dicts are private copies in this batch
        self._snapshot = Snapshot(0, {}, {})

    @property
    def snapshot(self) -> Snapshot:
        """The current published state (read it once per use: it is replaced, never changed)."""
        return self._snapshot

    @contextmanager
    def batch(self) -> Iterator[Names]:
        """Group changes: they are published together when the outermost ``batch`` ends."""
        with self._lock:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._publish()

    # --- networks ---
    def set_network(self, network_id: str, name: str, *, internal: bool = False) -> None:
        """Add a network, or change its name or internal flag (its endpoints stay)."""
        with self.batch():
            old = self._nets.get(network_id)
            if old is not None and old.name == name and old.internal == internal:
                return
            # a new name changes every name.<network> key: rebuild the network's index whole
            fresh = _Net(network_id, name, internal)
            self._nets[network_id] = fresh
            self._fresh.add(network_id)
            if old is not None:
                for endpoint in old.endpoints.values():
                    self._attach(fresh, endpoint)
            self._dirty = True

    def remove_network(self, network_id: str) -> None:
        """Forget a network and its endpoints (nothing happens if it is unknown)."""
        with self.batch():
            if self._nets.pop(network_id, None) is not None:
                self._dirty = True

    # --- endpoints ---
    def set_endpoint(
        self,
        network_id: str,
        endpoint_id: str,
        *,
        names: Sequence[str],
        ipv4: str | None = None,
        ipv6: str | None = None,
        ports: Iterable[tuple[str, int]] = (),
    ) -> None:
        """Add an endpoint to a known network, or replace what is known of it.

        ``names``: the sandbox name first (PTR and SRV answer it), then aliases, the short ID, the
        hostname. ``ports``: ``(proto, port)`` pairs, proto one of tcp, udp, sctp.
        """
        endpoint = _Endpoint(endpoint_id, names, ipv4, ipv6, ports)
        with self.batch():
            net = self._network(network_id)
            self._writable(net)
            old = net.endpoints.get(endpoint_id)
            if old is not None:
                self._detach(net, old)
            self._attach(net, endpoint)
            self._dirty = True

    def remove_endpoint(self, network_id: str, endpoint_id: str) -> None:
        """Forget an endpoint (nothing happens if it or its network is unknown)."""
        with self.batch():
            net = self._nets.get(network_id)
            if net is None or endpoint_id not in net.endpoints:
                return
            self._writable(net)
            self._detach(net, net.endpoints[endpoint_id])
            self._dirty = True

    # --- clients ---
    def set_client(self, client_id: str, *, networks: Sequence[str], forwarding: Forwarding | None = None) -> None:
        """Say which networks a client is on (in the order names are looked up) and how it forwards.

        A network id not (yet) known counts as internal: a client forwards only when one of its
        known networks is not internal.
        """
        with self.batch():
            self._clients[client_id] = ClientInfo(client_id, tuple(networks), forwarding or Forwarding())
            self._dirty = True

    def remove_client(self, client_id: str) -> None:
        """Forget a client (nothing happens if it is unknown)."""
        with self.batch():
            if self._clients.pop(client_id, None) is not None:
                self._dirty = True

    # --- internals ---
    def _network(self, network_id: str) -> _Net:
        net = self._nets.get(network_id)
        if net is None:
            raise InvalidParameter(f"network {network_id} is not known to the resolver: set_network it first")
        return net

    def _writable(self, net: _Net) -> None:
        # copy-on-write: the published dicts are never touched, a batch works on one private copy
        if net.id not in self._fresh:
            index = net.index
            net.index = NetIndex(net.id, net.name, net.internal, dict(index.addr), dict(index.ptr), dict(index.srv))
            self._fresh.add(net.id)

    def _keys(self, net: _Net, endpoint: _Endpoint) -> tuple[list[bytes], list[bytes], list[bytes]]:
        if not endpoint.wires:
            return [], [], []  # nameless: nothing to answer, not even PTR (there is no name to give)
        addr: list[bytes] = []
        for w in endpoint.wires:
            addr.append(w)
            joined = _join(w, net.wire)
            if joined is not None and joined not in addr:
                addr.append(joined)
        ptr = [r for r in (endpoint.rev4, endpoint.rev6) if r is not None]
        srv: list[bytes] = []
        for proto, port in endpoint.ports:
            prefixes = [str(port)]
            known = service_name(port, proto)
            if known:
                prefixes.append(known)
            tail = bytes((len(proto) + 1,)) + b"_" + proto.encode()
            for prefix in prefixes:
                label = bytes((len(prefix) + 1,)) + b"_" + prefix.encode() + tail
                for w in addr:
                    if len(label) + len(w) <= 255:
                        srv.append(label + w)
        return addr, ptr, srv

    def _attach(self, net: _Net, endpoint: _Endpoint) -> None:
        net.endpoints[endpoint.id] = endpoint
        self._update(net, endpoint, +1)

    def _detach(self, net: _Net, endpoint: _Endpoint) -> None:
        del net.endpoints[endpoint.id]
        self._update(net, endpoint, -1)

    def _update(self, net: _Net, endpoint: _Endpoint, sign: int) -> None:
        addr, ptr, srv = self._keys(net, endpoint)
        self._update_keys(net, endpoint, sign, addr, net.addr_keys, self._addr_value, net.index.addr)
        self._update_keys(net, endpoint, sign, ptr, net.ptr_keys, self._ptr_value, net.index.ptr)
        self._update_keys(net, endpoint, sign, srv, net.srv_keys, self._srv_value, net.index.srv)

    @staticmethod
    def _update_keys(
        net: _Net,
        endpoint: _Endpoint,
        sign: int,
        keys: list[bytes],
        holders: dict[bytes, list[str]],
        build: Callable[[_Net, list[_Endpoint], bytes], _V],
        target: dict[bytes, _V],
    ) -> None:
        """One kind of key (address, PTR or SRV): who holds each, and the value served for it."""
        for key in keys:
            ids = holders.setdefault(key, [])
            if sign > 0:
                if endpoint.id not in ids:
                    ids.append(endpoint.id)
            elif endpoint.id in ids:
                ids.remove(endpoint.id)
            if not ids:
                del holders[key]
                target.pop(key, None)
            else:
                target[key] = build(net, [net.endpoints[i] for i in ids], key)

    def _addr_value(self, net: _Net, endpoints: list[_Endpoint], key: bytes) -> Holders:
        a: list[bytes] = []
        aaaa: list[bytes] = []
        for e in endpoints:
            if e.ipv4 is not None:
                rr = b"\xc0\x0c\x00\x01\x00\x01" + self._ttl + b"\x00\x04" + e.ipv4
                if rr not in a:
                    a.append(rr)
            if e.ipv6 is not None:
                rr = b"\xc0\x0c\x00\x1c\x00\x01" + self._ttl + b"\x00\x10" + e.ipv6
                if rr not in aaaa:
                    aaaa.append(rr)
        return Holders(tuple(a), tuple(aaaa))

    def _target(self, net: _Net, endpoint: _Endpoint) -> bytes:
        # name.<network>: unique on the network, and answered by this resolver
        return _join(endpoint.wires[0], net.wire) or endpoint.wires[0]

    def _ptr_value(self, net: _Net, endpoints: list[_Endpoint], key: bytes) -> bytes:
        target = self._target(net, endpoints[0])
        return b"\xc0\x0c\x00\x0c\x00\x01" + self._ttl + struct.pack(">H", len(target)) + target

    def _srv_value(self, net: _Net, endpoints: list[_Endpoint], key: bytes) -> tuple:
        # the key's labels say which port: _<port or service>._<proto>.name
        first = key[1 : 1 + key[0]].decode()[1:]
        second = key[2 + key[0] : 2 + key[0] + key[1 + key[0]]].decode()[1:]
        result = []
        for e in endpoints:
            port = next(
                (p for proto, p in e.ports if proto == second and (str(p) == first or service_name(p, proto) == first)),
                None,
            )
            if port is None:
                continue
            target = self._target(net, e)
            rdata = struct.pack(">HHH", 0, 0, port) + target
            srv = b"\xc0\x0c\x00\x21\x00\x01" + self._ttl + struct.pack(">H", len(rdata)) + rdata
            glue = []
            if e.ipv4 is not None:
                glue.append(target + b"\x00\x01\x00\x01" + self._ttl + b"\x00\x04" + e.ipv4)
            if e.ipv6 is not None:
                glue.append(target + b"\x00\x1c\x00\x01" + self._ttl + b"\x00\x10" + e.ipv6)
            result.append((srv, tuple(glue)))
        return tuple(result)

    def _publish(self) -> None:
        if not self._dirty:
            return
        previous = self._snapshot
        networks = {nid: net.index for nid, net in self._nets.items()}
        self._snapshot = Snapshot(previous.generation + 1, networks, dict(self._clients))
        self._fresh.clear()
        self._dirty = False
