"""The embedded resolver: one thread, one epoll, every sandbox's UDP and TCP sockets.

The daemon makes each sandbox's sockets inside its namespace and hands them over with
:meth:`Resolver.add_client`; the resolver owns them from then on. A UDP query goes
recvmmsg -> one dict lookup (``memo``: the exact query bytes after the ID -> the answer bytes
after the ID, filled on first sight of a local question, emptied whenever the names change) ->
sendmmsg. Everything else takes :meth:`Resolver._query`: the fast parser (or dnspython for the
unusual), local names (:mod:`pycnm.dns.names`), then the cache and the forwarder
(:mod:`pycnm.dns.forward`).

Limits, all answered at once rather than by silence: a client past its in-flight limit, or the
resolver past its total, gets REFUSED; UDP answers are cut to the client's EDNS size (at most
``udp_payload``) or 512 bytes, with TC set. TCP connections carry any number of queries,
pipelined and answered as each completes; framing survives partial reads; a connection idle,
stuck in the middle of a message, or not reading its answers for ``tcp_idle_timeout`` is closed;
connections are capped per source address (per client) and in total; a client with too many
queries in progress on a connection is not read until some complete.
"""

from __future__ import annotations

import collections
import itertools
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

from pycnm.dns import udpio, wire
from pycnm.dns.cache import AnswerCache
from pycnm.dns.counters import Counters
from pycnm.dns.forward import Forwarder, Route
from pycnm.dns.loop import Loop
from pycnm.dns.names import Forwarding, Names, NetIndex, lookup
from pycnm.errors import InvalidParameter, Timeout

log = logging.getLogger("pycnm.dns")

_FLAG_BYTES = [bytes((i,)) for i in range(8)]
_MEMO_MAX = 1024
#: names held by more endpoints than this rotate without the memo (each answer built when asked)
_MEMO_ROTATIONS = 16
_SLOT = udpio.SLOT_SIZE
_TCP_WRITE_MAX = 256 * 1024
_NO_FORWARDING = Forwarding(enabled=False)


class _Client:
    """A sandbox's sockets and what the resolver thread caches about it."""

    __slots__ = (
        "id",
        "sock",
        "fd",
        "family",
        "listener",
        "lfd",
        "memo",
        "generation",
        "nets",
        "forwarding",
        "forwards",
        "single_label",
        "route",
        "inflight",
        "turn",
        "conns",
        "closed",
        "out",
        "out_names",
        "gso",
    )

    def __init__(self, client_id: str, sock: socket.socket, listener: socket.socket | None) -> None:
        self.id = client_id
        self.sock = sock
        self.fd = sock.fileno()
        self.family = sock.family
        self.listener = listener
        self.lfd = listener.fileno() if listener is not None else -1
        self.memo: dict[bytes, Any] = {}
        self.generation = -1
        self.nets: tuple[NetIndex, ...] = ()
        self.forwarding: Forwarding = _NO_FORWARDING
        self.forwards = False
        self.single_label = True
        self.route: Route | None = None
        self.inflight = 0
        self.turn = 0
        self.conns: set[_TcpConn] = set()
        self.closed = False
        #: forwarded answers waiting for the end-of-iteration flush, and where they go
        self.out: list[bytes] = []
        self.out_names: list[bytes] = []
        #: whether answers of one length to one address go out as one segmented send
        self.gso = True


class Resolver:
    """The DNS engine of every sandbox (see the module doc).

    - ``names``: the local-name model the daemon keeps (:class:`~pycnm.dns.names.Names`);
    - ``cache``: forwarded answers (default: :class:`~pycnm.dns.cache.AnswerCache` defaults);
    - ``answer_within``: the budget of a forwarded query, SERVFAIL when it runs out (<= 2.5 s);
    - ``udp_payload``: the most a UDP answer may be, whatever the client advertises;
    - ``max_inflight_per_client`` / ``max_inflight``: forwarded queries waiting, then REFUSED;
    - ``tcp_idle_timeout``, ``tcp_max_connections``, ``tcp_max_per_source``,
      ``tcp_max_pipelined``: the TCP limits of the module doc;
    - ``batch_io``: recvmmsg/sendmmsg where available (False: recvfrom/sendto);
    - ``forward_options``: keyword arguments of :class:`~pycnm.dns.forward.Forwarder` (hedge and
      probe timings, pool size, socket rotation).

    Threading: :meth:`start` runs the loop in one daemon thread. :meth:`add_client`,
    :meth:`remove_client`, :meth:`status` and :meth:`stop` may be called from any thread; the
    first two wait until the loop has applied them. Names change through ``names`` (the daemon
    writes it; every change is seen by the next query).
    """

    def __init__(
        self,
        names: Names,
        *,
        cache: AnswerCache | None = None,
        answer_within: float = 1.8,
        udp_payload: int = wire.DEFAULT_UDP_PAYLOAD,
        max_inflight_per_client: int = 1024,
        max_inflight: int = 16384,
        tcp_idle_timeout: float = 5.0,
        tcp_max_connections: int = 1024,
        tcp_max_per_source: int = 32,
        tcp_max_pipelined: int = 64,
        batch_io: bool = True,
        forward_options: dict[str, Any] | None = None,
    ) -> None:
        if not 512 <= udp_payload <= _SLOT:
            raise InvalidParameter(f"udp_payload {udp_payload} is out of range: give 512 to {_SLOT} bytes")
        if not 0.1 <= answer_within <= 2.5:
            raise InvalidParameter(f"answer_within {answer_within} s must be 0.1 to 2.5 s: clients wait 5 s at most")
        self.names = names
        self.cache = cache if cache is not None else AnswerCache()
        self.counters = Counters()
        self.udp_payload = udp_payload
        self.max_inflight_per_client = max_inflight_per_client
        self.max_inflight = max_inflight
        self.tcp_idle_timeout = tcp_idle_timeout
        self.tcp_max_connections = tcp_max_connections
        self.tcp_max_per_source = tcp_max_per_source
        self.tcp_max_pipelined = tcp_max_pipelined
        self.batch_io = batch_io and udpio.available()
        self.loop = Loop()
        self.loop.on_error = self._on_error
        self._batches: dict[int, udpio.Batch] = {}
        self.forwarder = Forwarder(
            self.loop,
            self.cache,
            self.counters,
            self._respond,
            answer_within=answer_within,
            udp_payload=udp_payload,
            batch_for=self._batch_for if self.batch_io else None,
            **(forward_options or {}),
        )
        self._sender = udpio.Sender(named=True) if self.batch_io else None
        self._dirty: list[_Client] = []
        if self._sender is not None:
            self.loop.flushers.append(self._flush)
        self._opt = {0: wire.opt_record(udp_payload, 0), 0x80: wire.opt_record(udp_payload, 0x80)}
        self._clients: dict[str, _Client] = {}
        self._inflight = 0
        self._tcp_total = 0
        self._per_source: collections.Counter[tuple[str, str]] = collections.Counter()
        self._current: udpio.Batch | None = None
        self._commands: collections.deque[tuple[Callable[..., Any], tuple, threading.Event, list]] = collections.deque()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = False
        self.loop.call_at(self.loop.now + 1.0, self._sweep)

    # --- the public face ------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the loop in its own thread (once)."""
        if self._thread is not None or self._stopped:
            raise InvalidParameter("the resolver was started already: make a new Resolver")
        self._thread = threading.Thread(target=self._run, name="pycnm-dns", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and close every socket it owns (the clients' included). Final."""
        if self._stopped:
            return
        self._stopping = True
        self.loop.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._stopped = True
        self._run_commands()
        for client in list(self._clients.values()):
            self._remove_client(client.id)
        self.forwarder.close()
        self.loop.close()

    def add_client(self, client_id: str, udp_socket: socket.socket, tcp_listener: socket.socket | None = None) -> None:
        """Serve a sandbox: ``udp_socket`` is bound, ``tcp_listener`` bound and listening.

        The resolver owns both from now on (it closes them in :meth:`remove_client` or
        :meth:`stop`). The client's networks and forwarding come from ``names`` under the same
        ``client_id``. Adding an id again replaces its sockets.
        """
        self._call(self._add_client, client_id, udp_socket, tcp_listener)

    def remove_client(self, client_id: str) -> None:
        """Stop serving a sandbox and close its sockets and TCP connections (unknown ids are ignored)."""
        self._call(self._remove_client, client_id)

    def status(self) -> dict[str, Any]:
        """Counters (see :class:`~pycnm.dns.counters.Counters`), gauges and upstream health."""
        result: dict[str, Any] = self.counters.as_dict()
        result.update(
            inflight=self._inflight,
            clients=len(self._clients),
            tcp_connections=self._tcp_total,
            cache_entries=len(self.cache),
            pending=len(self.forwarder.pending),
        )
        for _ in range(3):
            try:
                result["upstreams"] = self.forwarder.upstream_status()
                break
            except RuntimeError:  # changed while read from another thread: read again
                continue
        return result

    # --- the loop thread --------------------------------------------------------------------------------
    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._stopped:
            raise InvalidParameter("the resolver is stopped: make a new Resolver")
        if self._thread is None or self._thread is threading.current_thread():
            fn(*args)
            return
        done = threading.Event()
        box: list[Exception] = []
        self._commands.append((fn, args, done, box))
        self.loop.wake()
        if not done.wait(10):
            raise Timeout("the resolver thread did not take the change within 10 s: it is stuck; see its log")
        if box:
            raise box[0]

    def _run_commands(self) -> None:
        while self._commands:
            fn, args, done, box = self._commands.popleft()
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - handed back to the calling thread, which raises it
                box.append(exc)
            done.set()

    def _run(self) -> None:
        loop = self.loop
        while not self._stopping:
            loop.run_once()
            if self._commands:
                self._run_commands()

    def _on_error(self, exc: BaseException) -> None:
        self.counters.errors += 1
        log.error("resolver: unexpected %s", type(exc).__name__, exc_info=exc)

    def _add_client(self, client_id: str, sock: socket.socket, listener: socket.socket | None) -> None:
        if client_id in self._clients:
            self._remove_client(client_id)
        sock.setblocking(False)
        client = _Client(client_id, sock, listener)
        self._clients[client_id] = client
        if self.batch_io and client.family in (socket.AF_INET, socket.AF_INET6):
            self._batch_for(client.family)
            self.loop.register(client.fd, select.EPOLLIN, lambda _events: self._udp_batch(client))
        else:
            self.loop.register(client.fd, select.EPOLLIN, lambda _events: self._udp_plain(client))
        if listener is not None:
            listener.setblocking(False)
            self.loop.register(client.lfd, select.EPOLLIN, lambda _events: self._accept(client))

    def _batch_for(self, family: int) -> udpio.Batch:
        batch = self._batches.get(family)
        if batch is None:
            batch = self._batches[family] = udpio.Batch(family)
        return batch

    def _flush(self) -> None:
        """Send the forwarded answers queued this loop turn, one sendmmsg per client socket."""
        sender = self._sender
        if sender is None:  # (a flusher with batched I/O only)
            return
        dirty, self._dirty = self._dirty, []
        for client in dirty:
            out, names = client.out, client.out_names
            client.out, client.out_names = [], []
            if client.closed:
                continue
            sent, _, client.gso = sender.send(client.fd, out, names, gso=client.gso)
            if sent < len(out):
                self.counters.dropped += len(out) - sent

    def _remove_client(self, client_id: str) -> None:
        client = self._clients.pop(client_id, None)
        if client is None:
            return
        client.closed = True
        for conn in list(client.conns):
            conn.close()
        self.loop.unregister(client.fd)
        client.sock.close()
        if client.listener is not None:
            self.loop.unregister(client.lfd)
            client.listener.close()
        if client.route is not None:
            self.forwarder.release(client.route)
            client.route = None

    def _refresh(self, client: _Client, snapshot: Any) -> None:
        """The names changed: what this client sees, and how it forwards, from the new snapshot."""
        client.memo.clear()
        client.generation = snapshot.generation
        info = snapshot.clients.get(client.id)
        if info is None:
            client.nets, forwarding = (), _NO_FORWARDING
        else:
            networks = snapshot.networks
            client.nets = tuple(networks[n] for n in info.networks if n in networks)
            forwarding = info.forwarding
        client.forwards = bool(forwarding.enabled and forwarding.upstreams and any(not n.internal for n in client.nets))
        client.single_label = forwarding.forward_single_label
        if forwarding is not client.forwarding:
            client.forwarding = forwarding
            old, client.route = client.route, None
            if client.forwards:
                client.route = self.forwarder.route(forwarding)
            if old is not None:
                self.forwarder.release(old)
        elif client.forwards and client.route is None:
            client.route = self.forwarder.route(forwarding)

    # --- UDP ----------------------------------------------------------------------------------------------
    def _udp_batch(self, client: _Client) -> None:
        snapshot = self.names.snapshot
        if client.generation != snapshot.generation:
            self._refresh(client, snapshot)
        memo = client.memo
        batch = self._batches[client.family]
        fd = client.fd
        view, out, out_lens = batch.view, batch.out, batch._out_lens
        lengths, stride = batch.lengths, batch.len_stride
        hits = 0
        for _ in range(8):  # then let other sockets have a turn
            n = batch.recv(fd)
            if n <= 0:  # none left, or an error (-errno): the socket is level-triggered, it comes back
                break
            self._current = batch
            j = 0
            i = 0
            for length in lengths[0 : n * stride : stride]:
                start = i * _SLOT
                data = view[start : start + length].tobytes()
                reply = memo.get(data[2:])
                if reply is not None:
                    if reply.__class__ is not bytes:
                        reply = next(reply)
                    hits += 1
                    reply = data[:2] + reply
                else:
                    if length == _SLOT and batch.truncated(i):
                        # longer than any query: dropped, not answered from its first 4 KiB
                        self.counters.malformed += 1
                        reply = None
                    else:
                        reply = self._query(client, data, None, i)
                    if reply is None:
                        i += 1
                        continue
                size = len(reply)
                if size > _SLOT:  # cannot happen (answers are cut to udp_payload): never overrun a slot
                    self.counters.dropped += 1
                    i += 1
                    continue
                if j == i:
                    # the common case inlined: slot j answers datagram j
                    start = j * _SLOT
                    out[start : start + size] = reply
                    out_lens[2 * j + 1] = size
                else:
                    batch.put(j, i, reply)
                j += 1
                i += 1
            if j:
                sent = batch.send(fd, j)
                if sent < j:
                    self.counters.dropped += j - sent
            if n < udpio.SLOTS:
                break
        self._current = None
        self.counters.answered_local += hits

    def _udp_plain(self, client: _Client) -> None:
        snapshot = self.names.snapshot
        if client.generation != snapshot.generation:
            self._refresh(client, snapshot)
        memo = client.memo
        recvfrom, sendto = client.sock.recvfrom, client.sock.sendto
        hits = 0
        for _ in range(256):
            try:
                data, addr = recvfrom(_SLOT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            reply = memo.get(data[2:])
            if reply is not None:
                if reply.__class__ is not bytes:
                    reply = next(reply)
                hits += 1
                reply = data[:2] + reply
            else:
                reply = self._query(client, data, None, addr)
                if reply is None:
                    continue
            try:
                sendto(reply, addr)
            except OSError:
                self.counters.dropped += 1
        self.counters.answered_local += hits

    # --- one query, whatever its transport ------------------------------------------------------------
    def _query(self, client: _Client, data: bytes, conn: _TcpConn | None, where: Any) -> bytes | None:
        """The reply to send now, or None: sent later (forwarded) or never (not a query).

        ``where`` is the UDP source: an address, or the index of the datagram in the current batch.
        """
        counters = self.counters
        parsed = wire.parse_query(data)
        plain = parsed is not None
        if parsed is None:
            query, reply = wire.normalize_slow(data)
            if query is None:
                counters.malformed += 1
                return reply
            parsed = wire.parse_query(query)
            if parsed is None:
                counters.malformed += 1
                return wire.error_reply(data, wire.FORMERR)
            data = query
        name, qtype, qclass, qend, payload, do = parsed
        head = data[:2]
        rd = data[2] & 1
        question = data[12:qend]
        opt = self._opt[do] if payload else b""
        if conn is not None:
            limit = 65535
        elif payload:
            limit = min(max(payload, 512), self.udp_payload)
        else:
            limit = 512
        if qtype in wire.META_TYPES or qtype in wire.TRANSFER_TYPES:
            counters.malformed += 1
            rcode = wire.FORMERR if qtype in wire.META_TYPES else wire.NOTIMP
            return wire.local_reply(head, rd, rcode, question, (), (), opt, limit)[0]
        if qclass == wire.CLASS_IN:
            variants = lookup(client.nets, name, qtype)
            if variants is not None:
                counters.answered_local += 1
                return self._local(client, data, variants, head, rd, question, opt, limit, plain and conn is None)
        route = client.route
        if not client.forwards or route is None:  # (a client forwards through its route)
            # internal networks only, forwarding off, or no upstream: what moby answers then
            counters.servfail += 1
            return wire.local_reply(head, rd, wire.SERVFAIL, question, (), (), opt, limit)[0]
        if not client.single_label and qtype in (wire.A, wire.AAAA) and name[0] and len(name) == name[0] + 2:
            counters.answered_local += 1
            return self._local(client, data, [((), ())], head, rd, question, opt, limit, plain and conn is None)
        tail = data[qend - 4 : qend]
        cd = data[3] & 0x10
        key = route.prefix + name + tail + _FLAG_BYTES[(1 if payload else 0) | (2 if do else 0) | (4 if cd else 0)]
        cached = self.cache.get(key, self.loop.now)
        if cached is not None:
            counters.answered_cache += 1
            return self._adapt(cached, head, rd, question, limit, opt)
        if client.inflight >= self.max_inflight_per_client or self._inflight >= self.max_inflight:
            counters.refused += 1
            return wire.local_reply(head, rd, wire.REFUSED, question, (), (), opt, limit)[0]
        current = self._current
        if conn is None and where.__class__ is int and current is not None:  # (the batch being answered)
            where = current.raw_address(where)
        client.inflight += 1
        self._inflight += 1
        if conn is not None:
            conn.pending += 1
        self.forwarder.resolve(
            route,
            key,
            name,
            tail,
            cd,
            payload,
            do,
            (client, conn, where, head, rd, question, limit, opt),
            conn is not None,
        )
        return None

    def _local(
        self,
        client: _Client,
        data: bytes,
        variants: list,
        head: bytes,
        rd: int,
        question: bytes,
        opt: bytes,
        limit: int,
        memoize: bool,
    ) -> bytes:
        turn = client.turn % len(variants)
        client.turn += 1
        answers, additional = variants[turn]
        reply, truncated = wire.local_reply(head, rd, wire.NOERROR, question, answers, additional, opt, limit)
        if truncated:
            # not memoized, so that every truncated answer is counted
            self.counters.truncated += 1
            return reply
        if memoize and len(variants) <= _MEMO_ROTATIONS:
            memo = client.memo
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            if len(variants) == 1:
                memo[data[2:]] = reply[2:]
            else:
                # the rotation goes on from the variant sent now
                order = variants[turn + 1 :] + variants[: turn + 1]
                memo[data[2:]] = itertools.cycle(
                    [wire.local_reply(head, rd, wire.NOERROR, question, a, x, opt, limit)[0][2:] for a, x in order]
                )
        return reply

    def _adapt(self, reply: bytes, head: bytes, rd: int, question: bytes, limit: int, opt: bytes) -> bytes:
        """An upstream ``reply`` made the client's: its ID, its RD, its question as it wrote it."""
        end = 12 + len(question)
        flags = bytes(((reply[2] & 0xFE) | rd, reply[3]))
        out = b"".join((head, flags, reply[4:12], question, reply[end:]))
        if len(out) > limit:
            self.counters.truncated += 1
            return wire.truncated_reply(head, flags, question, opt)
        return out

    def _respond(self, waiter: tuple, reply: bytes | None, qend: int) -> None:
        """The forwarder's answer for one waiting client (None: SERVFAIL)."""
        client, conn, where, head, rd, question, limit, opt = waiter
        client.inflight -= 1
        self._inflight -= 1
        if conn is not None:
            conn.pending -= 1
        if reply is None:
            self.counters.servfail += 1
            out = wire.local_reply(head, rd, wire.SERVFAIL, question, (), (), opt, limit)[0]
        else:
            # _adapt, inlined: the client's ID, RD and question case on the upstream's reply
            out = b"".join((head, bytes(((reply[2] & 0xFE) | rd, reply[3])), reply[4:12], question, reply[qend:]))
            if len(out) > limit:
                out = self._adapt(reply, head, rd, question, limit, opt)
        if client.closed:
            self.counters.dropped += 1
            return
        if conn is None:
            if where.__class__ is bytes:
                # batched: sent with the others at the end of this loop turn
                if not client.out:
                    self._dirty.append(client)
                client.out.append(out)
                client.out_names.append(where)
                return
            try:
                client.sock.sendto(out, where)
            except OSError:
                self.counters.dropped += 1
        else:
            conn.send_frame(out)
            conn.resume()

    # --- TCP ----------------------------------------------------------------------------------------------
    def _accept(self, client: _Client) -> None:
        listener = client.listener
        if listener is None:  # (registered for clients with a listener only)
            return
        for _ in range(32):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # out of descriptors, say: the listener would stay readable, so pause it a moment
                log.warning("resolver: accept failed for %s: %s", client.id, exc)
                self.loop.modify(client.lfd, 0)
                self.loop.call_at(self.loop.now + 0.1, self._resume_accept, client)
                return
            source = (client.id, addr[0])
            if self._tcp_total >= self.tcp_max_connections or self._per_source[source] >= self.tcp_max_per_source:
                self.counters.tcp_rejected += 1
                sock.close()
                continue
            self.counters.tcp_accepted += 1
            _TcpConn(self, client, sock, source)

    def _resume_accept(self, client: _Client) -> None:
        if not client.closed:
            self.loop.modify(client.lfd, select.EPOLLIN)

    def _sweep(self, _: Any = None) -> None:
        """Once a second: close TCP connections idle, stuck mid-message or not reading."""
        now = self.loop.now
        timeout = self.tcp_idle_timeout
        for client in list(self._clients.values()):
            for conn in list(client.conns):
                if (now - conn.last > timeout and (conn.pending == 0 or conn.wbuf)) or (
                    conn.partial_since and now - conn.partial_since > timeout
                ):
                    self.counters.tcp_closed_idle += 1
                    conn.close()
        if not self._stopping:
            self.loop.call_at(now + min(1.0, timeout / 2), self._sweep)


class _TcpConn:
    """One client TCP connection: length-prefixed messages in, answers out as they complete."""

    __slots__ = (
        "resolver",
        "client",
        "sock",
        "fd",
        "source",
        "rbuf",
        "wbuf",
        "last",
        "partial_since",
        "pending",
        "events",
        "closed",
    )

    def __init__(self, resolver: Resolver, client: _Client, sock: socket.socket, source: tuple[str, str]) -> None:
        self.resolver = resolver
        self.client = client
        self.sock = sock
        self.fd = sock.fileno()
        self.source = source
        self.rbuf = bytearray()
        self.wbuf = bytearray()
        self.last = resolver.loop.now
        self.partial_since = 0.0
        self.pending = 0
        self.events = select.EPOLLIN
        self.closed = False
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        client.conns.add(self)
        resolver._tcp_total += 1
        resolver._per_source[source] += 1
        resolver.loop.register(self.fd, select.EPOLLIN, self._events)

    def _events(self, events: int) -> None:
        if events & select.EPOLLOUT:
            self._flush()
        if self.closed:
            return
        if events & select.EPOLLIN:
            self._read()
        elif events & (select.EPOLLHUP | select.EPOLLERR):
            self.close()

    def _read(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self.close()
        if not chunk:
            # the peer is done sending: a message cut short is dropped, never waited for
            return self.close()
        self.last = self.resolver.loop.now
        self.rbuf += chunk
        self._process()

    def _process(self) -> None:
        rbuf = self.rbuf
        resolver = self.resolver
        snapshot = resolver.names.snapshot
        if self.client.generation != snapshot.generation:
            resolver._refresh(self.client, snapshot)
        while len(rbuf) >= 2 and self.pending < resolver.tcp_max_pipelined:
            size = (rbuf[0] << 8) | rbuf[1]
            if size < 12:
                # no header to answer: the stream cannot be trusted past this point
                resolver.counters.malformed += 1
                return self.close()
            if len(rbuf) < 2 + size:
                break
            message = bytes(rbuf[2 : 2 + size])
            del rbuf[: 2 + size]
            reply = resolver._query(self.client, message, self, None)
            if self.closed:
                return
            if reply is not None:
                self.send_frame(reply)
                if self.closed:
                    return
        self.partial_since = (self.partial_since or resolver.loop.now) if rbuf else 0.0
        self._watch()

    def resume(self) -> None:
        """An answer went out: go on with messages that waited for room in the pipeline."""
        if not self.closed and self.rbuf and self.pending < self.resolver.tcp_max_pipelined:
            self._process()
        elif not self.closed:
            self._watch()

    def _watch(self) -> None:
        # read while there is room in the pipeline; wait for writability while answers queue
        events = (select.EPOLLIN if self.pending < self.resolver.tcp_max_pipelined else 0) | (
            select.EPOLLOUT if self.wbuf else 0
        )
        if events != self.events:
            self.resolver.loop.modify(self.fd, events)
            self.events = events

    def send_frame(self, message: bytes) -> None:
        """Queue one answer (length-prefixed) and send what the socket takes now."""
        if self.closed:
            self.resolver.counters.dropped += 1
            return
        self.wbuf += len(message).to_bytes(2, "big") + message
        if len(self.wbuf) > _TCP_WRITE_MAX:
            # the client does not read its answers
            self.resolver.counters.dropped += 1
            return self.close()
        self._flush()

    def _flush(self) -> None:
        if self.closed or not self.wbuf:
            return
        try:
            sent = self.sock.send(self.wbuf)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return self.close()
        if sent:
            del self.wbuf[:sent]
            self.last = self.resolver.loop.now
        self._watch()

    def close(self) -> None:
        """Close the connection (idempotent); answers still in flight for it are dropped."""
        if self.closed:
            return
        self.closed = True
        resolver = self.resolver
        resolver.loop.unregister(self.fd)
        self.sock.close()
        self.client.conns.discard(self)
        resolver._tcp_total -= 1
        resolver._per_source[self.source] -= 1
        if resolver._per_source[self.source] <= 0:
            del resolver._per_source[self.source]
