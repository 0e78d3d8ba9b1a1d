"""Forwarding what is not local: upstream sockets, health, hedging, coalescing and TCP fallback.

Everything here runs in the resolver's thread, driven by its :class:`~pycnm.dns.loop.Loop`.

- **Sockets**: each upstream (address, port, socket factory) has a small pool of connected UDP
  sockets made by its factory, so the kernel only hands us datagrams from that address. Each
  socket is retired after a number of queries or seconds, so source ports keep changing as with a
  socket per query; every query gets a random 16-bit ID (from ``os.urandom``) that is not in use
  on its socket, and a reply is taken only if its ID is outstanding *and* its question is the one
  asked. A spoofer must guess port, ID and question within a socket's short life.
- **Hedging**: a query goes to the first upstream that is not known dead; if no reply has come
  after a delay adapted to that upstream's smoothed round-trip time (RFC 6298's SRTT and RTTVAR,
  bounded; right after an unanswered attempt, the lower bound), it also goes to the next one. A
  SERVFAIL or REFUSED, an ICMP "unreachable" or a failed send moves on at once. The first usable
  reply wins, whatever its rcode (NXDOMAIN included); when nobody is left to ask, the last
  SERVFAIL/REFUSED is passed on, and when the budget (``answer_within``) runs out without any
  reply the client gets SERVFAIL, so glibc never waits out its 5 s timeout.
- **Health**: an attempt unanswered for at least half the budget is a failure; after
  ``fail_threshold`` failures in a row an upstream is down and skipped, and one live query is also
  sent to it now and then (every ``probe_interval``, doubling to ``probe_max``) to see if it is
  back. Any reply makes it up again.
- **Coalescing**: identical questions (same upstreams, name, type, class, EDNS, DO and CD) in
  flight at once make one upstream query; every waiting client gets the answer with its own ID.
- **TCP**: a truncated upstream reply is fetched again over TCP for clients that asked over TCP;
  clients that asked over UDP get the truncated reply and ask again over TCP themselves.
- **Batching**: with batched I/O, queries are queued per socket and sent by one sendmmsg at the
  end of each loop turn, and replies read by recvmmsg. A question's timers name it by number,
  and it is dropped the moment it is answered with no attempt outstanding, so finished questions
  cost the garbage collector nothing.
"""

from __future__ import annotations

import errno
import os
import select
import socket
from collections.abc import Callable
from typing import Any

from pycnm.dns import udpio, wire
from pycnm.dns.cache import AnswerCache
from pycnm.dns.counters import Counters
from pycnm.dns.loop import Loop
from pycnm.dns.names import Forwarding, Upstream

#: respond(waiter, reply or None for SERVFAIL, offset just past the reply's question)
Respond = Callable[[tuple, "bytes | None", int], None]


class _RandomIds:
    """16-bit IDs from the kernel's CSPRNG, read 8 KiB (4096 IDs) at a time."""

    __slots__ = ("_pool",)

    def __init__(self) -> None:
        self._pool: list[int] = []

    def __call__(self) -> int:
        pool = self._pool
        if not pool:
            pool.extend(memoryview(os.urandom(8192)).cast("H"))
        return pool.pop()


class UpstreamState:
    """One upstream's health and sockets, shared by every client that forwards to it."""

    __slots__ = (
        "config",
        "dest",
        "family",
        "srtt",
        "rttvar",
        "failures",
        "down",
        "next_probe",
        "backoff",
        "pool",
        "queries",
        "answers",
        "timeouts",
        "errors",
        "users",
    )

    def __init__(self, config: Upstream, probe_interval: float) -> None:
        self.config = config
        self.family = config.family
        self.dest: tuple = (config.address, config.port)
        self.srtt = -1.0  # no sample yet
        self.rttvar = 0.0
        self.failures = 0
        self.down = False
        self.next_probe = 0.0
        self.backoff = probe_interval
        self.pool: list[_UpstreamSocket] = []
        self.queries = self.answers = self.timeouts = self.errors = 0
        self.users = 0

    def sample(self, rtt: float) -> None:
        """Fold one round-trip time into SRTT/RTTVAR (RFC 6298)."""
        if self.srtt < 0:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    def status(self) -> dict[str, Any]:
        """Health as ``Resolver.status()`` reports it."""
        state = "down" if self.down else ("up" if self.srtt >= 0 else "unknown")
        return {
            "address": self.config.address,
            "port": self.config.port,
            "state": state,
            "rtt_ms": round(self.srtt * 1000, 3) if self.srtt >= 0 else None,
            "failures": self.failures,
            "queries": self.queries,
            "answers": self.answers,
            "timeouts": self.timeouts,
            "errors": self.errors,
            "sockets": len(self.pool),
        }


class _UpstreamSocket:
    __slots__ = ("sock", "fd", "upstream", "inflight", "uses", "born", "retired", "closed", "out", "gso")

    def __init__(self, sock: socket.socket, upstream: UpstreamState, now: float) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.upstream = upstream
        self.inflight: dict[int, tuple] = {}
        self.uses = 0
        self.born = now
        self.retired = False
        self.closed = False
        #: queries waiting for the end-of-iteration flush (batched I/O)
        self.out: list[bytes] = []
        #: whether queries of one length go out as one segmented send (until the kernel refuses)
        self.gso = True


#: one query sent upstream: (pending, upstream, socket, ID, sent at). It is outstanding while its
#: socket's ``inflight`` maps its ID to it (a tuple: no __init__ to run per query)
_Attempt = tuple


class Route:
    """The upstreams of one forwarding configuration, in order (clients with equal ones share)."""

    __slots__ = ("key", "prefix", "upstreams", "users")

    def __init__(self, key: tuple, number: int, upstreams: list[UpstreamState]) -> None:
        self.key = key
        #: cache and in-flight keys start with it: equal questions on other routes differ
        self.prefix = number.to_bytes(4, "big")
        self.upstreams = upstreams
        self.users = 0


class Pending:
    """A question in flight upstream and the clients waiting for its answer."""

    __slots__ = (
        "id",
        "key",
        "route",
        "question",
        "qend",
        "qbody",
        "waiters",
        "order",
        "next",
        "outstanding",
        "attempts",
        "done",
        "bad",
        "want_tcp",
        "tcp",
    )

    def __init__(
        self, number: int, key: bytes, route: Route, question: bytes, qbody: bytes, waiter: tuple, want_tcp: bool
    ) -> None:
        #: timers name it by this number, so that they keep no reference to it
        self.id = number
        self.key = key
        self.route = route
        #: name (lowercase), type and class, to check replies against
        self.question = question
        self.qend = 12 + len(question)
        #: the upstream query after its ID
        self.qbody = qbody
        self.waiters = [waiter]
        self.order: list[UpstreamState] | tuple = ()
        self.next = 0
        self.outstanding = 0
        self.attempts: list[tuple] = []
        self.done = False
        #: the last SERVFAIL/REFUSED reply, passed on if nothing better comes
        self.bad: bytes | None = None
        self.want_tcp = want_tcp
        self.tcp: _TcpExchange | None = None


class Forwarder:
    """Sends questions upstream and answers their waiters through ``respond`` (module doc).

    ``answer_within``: the budget, SERVFAIL after it; ``hedge_min``/``hedge_max``/
    ``hedge_initial``: the bounds of the delay before the next upstream is asked, and the delay
    before any round trip is measured; ``fail_threshold``: failures in a row that make an upstream
    down; ``probe_interval``/``probe_max``: how often a down upstream is tried (doubling);
    ``pool_size``, ``socket_max_uses``, ``socket_max_age``: the UDP sockets per upstream and when
    each is replaced; ``udp_payload``: the EDNS size asked upstream; ``batch_for``: the
    resolver's receive batches (None: plain send/recv).
    """

    def __init__(
        self,
        loop: Loop,
        cache: AnswerCache,
        counters: Counters,
        respond: Respond,
        *,
        answer_within: float = 1.8,
        hedge_min: float = 0.05,
        hedge_max: float = 0.5,
        hedge_initial: float = 0.25,
        fail_threshold: int = 3,
        probe_interval: float = 1.0,
        probe_max: float = 30.0,
        pool_size: int = 2,
        socket_max_uses: int = 256,
        socket_max_age: float = 10.0,
        udp_payload: int = wire.DEFAULT_UDP_PAYLOAD,
        batch_for: Callable[[int], udpio.Batch] | None = None,
    ) -> None:
        self.loop = loop
        self.cache = cache
        self.counters = counters
        self.respond = respond
        self.answer_within = answer_within
        self.hedge_min, self.hedge_max, self.hedge_initial = hedge_min, hedge_max, hedge_initial
        self.fail_threshold = fail_threshold
        self.probe_interval, self.probe_max = probe_interval, probe_max
        self.pool_size = pool_size
        self.socket_max_uses, self.socket_max_age = socket_max_uses, socket_max_age
        self.udp_payload = udp_payload
        #: questions in flight by key, for coalescing
        self.pending: dict[bytes, Pending] = {}
        #: every question not yet released (answered and no attempt outstanding), by number
        self._live: dict[int, Pending] = {}
        self._numbers = 0
        self._upstreams: dict[tuple, UpstreamState] = {}
        self._routes: dict[tuple, Route] = {}
        self._route_numbers = 0
        self._ids = _RandomIds()
        self._deadlines = loop.fixed_delay(answer_within, self._expire)
        self._deadline_entries = self._deadlines.entries
        self._hedge_callback = self._hedge
        # the query's bytes around its question, for each (CD, EDNS, DO): built once
        self._query_parts = []
        for bits in range(8):
            cd, edns, do = bits & 4, bits & 2, 0x80 if bits & 1 else 0
            whole = wire.upstream_query(b"\x00", b"", cd, edns, do, udp_payload)
            self._query_parts.append((whole[:10], whole[11:]))
        # batched I/O: queries go out in one sendmmsg per socket at the end of each loop turn,
        # replies come in by recvmmsg; each upstream send would otherwise wake the upstream
        # and hand it our CPU (measured: 50 us per send() under load on 2 CPUs)
        self._batch_for = batch_for
        self._sender = udpio.Sender(named=False) if batch_for is not None else None
        self._dirty: list[_UpstreamSocket] = []
        if self._sender is not None:
            loop.flushers.append(self.flush)

    # --- routes -------------------------------------------------------------------------------------
    def route(self, forwarding: Forwarding) -> Route:
        """The route of ``forwarding``'s upstreams, held until :meth:`release`."""
        key = tuple((u.address, u.port, u.factory) for u in forwarding.upstreams)
        route = self._routes.get(key)
        if route is None:
            states = []
            for upstream in forwarding.upstreams:
                ukey = (upstream.address, upstream.port, upstream.factory)
                state = self._upstreams.get(ukey)
                if state is None:
                    state = self._upstreams[ukey] = UpstreamState(upstream, self.probe_interval)
                state.users += 1
                states.append(state)
            self._route_numbers += 1
            route = self._routes[key] = Route(key, self._route_numbers, states)
        route.users += 1
        return route

    def release(self, route: Route) -> None:
        """A client no longer uses ``route``: forget it, and its upstreams, once nobody does."""
        route.users -= 1
        if route.users > 0 or self._routes.get(route.key) is not route:
            return
        del self._routes[route.key]
        for state in route.upstreams:
            state.users -= 1
            if state.users <= 0:
                self._upstreams.pop((state.config.address, state.config.port, state.config.factory), None)
                for usock in list(state.pool):
                    self._retire(usock)

    def upstream_status(self) -> list[dict[str, Any]]:
        """Every upstream in use and its health."""
        return [state.status() for state in list(self._upstreams.values())]

    # --- questions ----------------------------------------------------------------------------------
    def resolve(
        self, route: Route, key: bytes, name: bytes, tail: bytes, cd: int, edns: int, do: int, waiter: tuple, tcp: bool
    ) -> None:
        """Answer ``waiter`` with the reply to (``name``, ``tail`` = type and class, flags).

        ``key`` identifies the question on this route (the caller looked it up in the cache
        already); an identical question in flight is joined instead of asked again.
        """
        pending = self.pending.get(key)
        if pending is not None:
            pending.waiters.append(waiter)
            if tcp:
                pending.want_tcp = True
            self.counters.coalesced += 1
            return
        self.counters.forwarded += 1
        self._numbers += 1
        number = self._numbers
        head, opt = self._query_parts[(4 if cd else 0) | (2 if edns else 0) | (1 if do else 0)]
        pending = Pending(number, key, route, name + tail, b"".join((head, name, tail, opt)), waiter, tcp)
        self.pending[key] = pending
        self._live[number] = pending
        now = self.loop.now
        self._deadline_entries.append((now + self.answer_within, number))  # FixedDelay.push, inlined
        upstreams = route.upstreams
        for state in upstreams:
            if state.down:
                break
        else:
            # all up (the usual case): their order as configured, no list to build, and the
            # first asked here (what _advance would do)
            pending.order = upstreams
            pending.next = 1
            if self._send(pending, upstreams[0]):
                if len(upstreams) > 1:
                    self.loop.call_at(now + self._hedge_delay(upstreams[0]), self._hedge_callback, number)
                return
            self._advance(pending)
            return
        order = []
        last_resort = []
        for state in upstreams:
            if not state.down:
                order.append(state)
            elif state.next_probe <= now:
                # a dead upstream's turn to be probed: with this live query, beside the others
                state.next_probe = now + state.backoff
                state.backoff = min(state.backoff * 2, self.probe_max)
                self._send(pending, state)
            else:
                last_resort.append(state)
        pending.order = order + last_resort
        self._advance(pending)

    def _advance(self, pending: Pending) -> None:
        """Ask the next upstream in order; finish when there is nobody left to wait for."""
        order = pending.order
        while pending.next < len(order):
            state = order[pending.next]
            pending.next += 1
            if self._send(pending, state):
                if pending.next < len(order):
                    self.loop.call_at(self.loop.now + self._hedge_delay(state), self._hedge_callback, pending.id)
                return
        if pending.outstanding == 0 and pending.tcp is None and not pending.done:
            self._finish(pending, pending.bad)

    def _hedge_delay(self, state: UpstreamState) -> float:
        if state.failures:
            return self.hedge_min  # it left the last attempt unanswered: do not wait on it long
        if state.srtt < 0:
            return self.hedge_initial
        return min(max(2 * state.srtt + 4 * state.rttvar, self.hedge_min), self.hedge_max)

    def _hedge(self, number: int) -> None:
        pending = self._live.get(number)
        if pending is not None and not pending.done:
            self._advance(pending)

    def _send(self, pending: Pending, state: UpstreamState) -> bool:
        now = self.loop.now
        pool = state.pool
        if len(pool) >= self.pool_size:
            # in turn (which socket does not matter to a spoofer: each has its own port and IDs)
            usock = pool[pending.id % len(pool)]
        else:
            try:
                usock = self._new_socket(state, now)
            except OSError:
                state.errors += 1
                self._failure(state)
                return False
        usock.uses += 1
        if usock.uses >= self.socket_max_uses or now - usock.born > self.socket_max_age:
            # its port has been seen enough: the next query gets a fresh socket and port
            pool.remove(usock)
            usock.retired = True
        inflight = usock.inflight
        qid = self._ids()
        while qid in inflight:
            qid = self._ids()
        message = qid.to_bytes(2, "big") + pending.qbody
        if self._sender is not None:
            if not usock.out:
                self._dirty.append(usock)
            usock.out.append(message)
        else:
            for _ in range(2):
                try:
                    usock.sock.send(message)
                    break
                except ConnectionRefusedError:
                    # an ICMP error left by an earlier datagram: consumed now, send again
                    self._refused(usock)
                except OSError:
                    state.errors += 1
                    self._failure(state)
                    return False
            else:
                return False
        attempt = (pending, state, usock, qid, now)
        inflight[qid] = attempt
        pending.attempts.append(attempt)
        pending.outstanding += 1
        state.queries += 1
        self.counters.upstream_queries += 1
        return True

    # --- upstream sockets ---------------------------------------------------------------------------
    def _new_socket(self, state: UpstreamState, now: float) -> _UpstreamSocket:
        sock = state.config.factory(state.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(state.dest)
        except OSError:
            sock.close()
            raise
        usock = _UpstreamSocket(sock, state, now)
        state.pool.append(usock)
        self.loop.register(usock.fd, select.EPOLLIN, lambda _events: self._readable(usock))
        return usock

    def _retire(self, usock: _UpstreamSocket) -> None:
        if usock in usock.upstream.pool:
            usock.upstream.pool.remove(usock)
        usock.retired = True
        if not usock.inflight:
            self._close_socket(usock)

    def _close_socket(self, usock: _UpstreamSocket) -> None:
        # once only: a second unregister could hit another socket that reuses the number
        if not usock.closed:
            usock.closed = True
            self.loop.unregister(usock.fd)
            usock.sock.close()

    def flush(self) -> None:
        """Send the queries queued this loop turn, one sendmmsg per upstream socket."""
        sender = self._sender
        if sender is None:  # (a flusher with batched I/O only)
            return
        dirty, self._dirty = self._dirty, []
        for usock in dirty:
            out, usock.out = usock.out, []
            if usock.closed:
                continue
            _, error, usock.gso = sender.send(usock.fd, out, gso=usock.gso)
            if error:
                # refused or unreachable: what was sent on this socket will not be answered
                self._refused(usock)

    def _readable(self, usock: _UpstreamSocket) -> None:
        batch_for = self._batch_for
        if batch_for is not None:
            return self._readable_batch(usock, batch_for)
        recv = usock.sock.recv
        for _ in range(64):
            try:
                data = recv(65535)
            except BlockingIOError:
                break
            except ConnectionRefusedError:
                self._refused(usock)
                if usock.closed:
                    break
                continue
            except OSError:
                self._refused(usock)
                break
            self._reply(usock, data)
            if usock.closed:
                break

    def _readable_batch(self, usock: _UpstreamSocket, batch_for: Callable[[int], udpio.Batch]) -> None:
        batch = batch_for(usock.upstream.family)
        view, lengths, stride, slot = batch.view, batch.lengths, batch.len_stride, udpio.SLOT_SIZE
        for _ in range(8):
            n = batch.recv(usock.fd)
            if n < 0:
                # an ICMP error (port or host unreachable) reported on this socket: fail over now
                self._refused(usock)
                if usock.closed:
                    return
                continue
            if n == 0:
                return
            for i, length in enumerate(lengths[0 : n * stride : stride]):
                start = i * slot
                self._reply(usock, view[start : start + length].tobytes())
                if usock.closed:
                    return
            if n < udpio.SLOTS:
                return

    def _refused(self, usock: _UpstreamSocket) -> None:
        """An error came back on ``usock`` (ICMP unreachable): its attempts failed, move them on."""
        state = usock.upstream
        state.errors += 1
        self._failure(state)
        attempts = list(usock.inflight.values())
        usock.inflight.clear()
        for attempt in attempts:
            pending = attempt[0]
            pending.outstanding -= 1
            if not pending.done:
                self._advance(pending)
            elif pending.outstanding == 0:
                self._release(pending)
        if usock.retired:
            self._close_socket(usock)

    def _failure(self, state: UpstreamState) -> None:
        state.failures += 1
        if state.failures >= self.fail_threshold and not state.down:
            state.down = True
            state.next_probe = self.loop.now + state.backoff

    def _reply(self, usock: _UpstreamSocket, data: bytes) -> None:
        if len(data) < 12:
            self.counters.upstream_unmatched += 1
            return
        attempt = usock.inflight.get((data[0] << 8) | data[1])
        if attempt is None:
            self.counters.upstream_unmatched += 1
            return
        pending = attempt[0]
        qend = pending.qend
        # a reply, to one question, to this question: else not ours (a spoof or a broken server)
        if not data[2] & 0x80 or data[4:6] != b"\x00\x01" or data[12:qend].lower() != pending.question:
            self.counters.upstream_unmatched += 1
            return
        del usock.inflight[attempt[3]]
        pending.outstanding -= 1
        state = attempt[1]
        # UpstreamState.sample, inlined (RFC 6298)
        rtt = self.loop.now - attempt[4]
        if state.srtt < 0:
            state.srtt, state.rttvar = rtt, rtt / 2
        else:
            state.rttvar = 0.75 * state.rttvar + 0.25 * abs(state.srtt - rtt)
            state.srtt = 0.875 * state.srtt + 0.125 * rtt
        state.answers += 1
        state.failures = 0
        if state.down:
            state.down = False
        state.backoff = self.probe_interval
        if usock.retired and not usock.inflight:
            self._close_socket(usock)
        if pending.done:
            # a late reply from an upstream another beat: it is alive, nothing more
            if pending.outstanding == 0:
                self._release(pending)
            return
        rcode = data[3] & 0x0F
        if rcode in (wire.SERVFAIL, wire.REFUSED):
            # this upstream cannot answer it now: the next one may
            pending.bad = data
            self._advance(pending)
            return
        if data[2] & 0x02 and pending.want_tcp:
            self._truncated(pending, data, state)
            return
        self._finish(pending, data)

    def _truncated(self, pending: Pending, data: bytes, state: UpstreamState) -> None:
        # UDP clients get the truncated reply now (and come back over TCP); TCP clients wait
        remaining = []
        for waiter in pending.waiters:
            if waiter[1] is None:
                self.respond(waiter, data, pending.qend)
            else:
                remaining.append(waiter)
        pending.waiters = remaining
        pending.want_tcp = False
        try:
            pending.tcp = _TcpExchange(self, pending, state)
            self.counters.upstream_tcp += 1
        except OSError:
            state.errors += 1
            self._finish(pending, None)

    def _finish(self, pending: Pending, data: bytes | None) -> None:
        pending.done = True
        if self.pending.get(pending.key) is pending:
            del self.pending[pending.key]
        if pending.tcp is not None:
            pending.tcp.close()
            pending.tcp = None
        respond, qend = self.respond, pending.qend
        for waiter in pending.waiters:
            respond(waiter, data, qend)
        pending.waiters = []
        if data is not None:
            self.cache.put(pending.key, data, qend, self.loop.now)
        if pending.outstanding == 0:
            self._release(pending)

    def _release(self, pending: Pending) -> None:
        # nothing refers to it any more but this: freed now by reference counting (attempts
        # and their question refer to each other), not left to the garbage collector
        self._live.pop(pending.id, None)
        pending.attempts = []
        pending.order = ()

    def _expire(self, number: int) -> None:
        """The budget is spent: count the silent upstreams and answer whoever still waits."""
        pending = self._live.pop(number, None)
        if pending is None:
            return
        now = self.loop.now
        for attempt in pending.attempts:
            _, state, usock, qid, sent = attempt
            if usock.inflight.get(qid) is not attempt:
                continue  # answered, or failed at once
            del usock.inflight[qid]
            if usock.retired and not usock.inflight:
                self._close_socket(usock)
            if now - sent >= self.answer_within / 2:
                state.timeouts += 1
                self._failure(state)
        pending.outstanding = 0
        if not pending.done:
            self._finish(pending, pending.bad)
        self._release(pending)

    def close(self) -> None:
        """Close every upstream socket and forget every question (their waiters are not answered)."""
        for state in list(self._upstreams.values()):
            for usock in list(state.pool):
                state.pool.remove(usock)
                self._close_socket(usock)
        for pending in list(self._live.values()):
            pending.done = True
            for attempt in pending.attempts:
                usock = attempt[2]
                if usock.retired:
                    usock.inflight.clear()
                    self._close_socket(usock)
            if pending.tcp is not None:
                pending.tcp.close()
            pending.attempts = []
        self.pending.clear()
        self._live.clear()


class _TcpExchange:
    """One query to an upstream over TCP, for clients that asked over TCP (one-shot connection)."""

    __slots__ = ("forwarder", "pending", "state", "sock", "fd", "out", "buf", "qid", "connected", "closed")

    def __init__(self, forwarder: Forwarder, pending: Pending, state: UpstreamState) -> None:
        self.forwarder = forwarder
        self.pending = pending
        self.state = state
        self.sock = state.config.factory(state.family, socket.SOCK_STREAM)
        self.closed = False
        try:
            self.sock.setblocking(False)
            err = self.sock.connect_ex(state.dest)
        except OSError:
            self.sock.close()
            raise
        if err not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(err, os.strerror(err))
        self.fd = self.sock.fileno()
        self.qid = forwarder._ids()
        message = self.qid.to_bytes(2, "big") + pending.qbody
        self.out = len(message).to_bytes(2, "big") + message
        self.buf = bytearray()
        self.connected = False
        forwarder.loop.register(self.fd, select.EPOLLOUT, self._ready)

    def _ready(self, events: int) -> None:
        try:
            if not self.connected:
                if events & (select.EPOLLERR | select.EPOLLHUP) or self.sock.getsockopt(
                    socket.SOL_SOCKET, socket.SO_ERROR
                ):
                    return self._fail()
                self.connected = True
            if self.out:
                sent = self.sock.send(self.out)
                self.out = self.out[sent:]
                if not self.out:
                    self.forwarder.loop.modify(self.fd, select.EPOLLIN)
                return
            if events & select.EPOLLIN:
                chunk = self.sock.recv(65537)
                if not chunk:
                    return self._fail()
                self.buf += chunk
                if len(self.buf) >= 2:
                    size = (self.buf[0] << 8) | self.buf[1]
                    if len(self.buf) >= 2 + size:
                        return self._done(bytes(self.buf[2 : 2 + size]))
            elif events & (select.EPOLLERR | select.EPOLLHUP):
                self._fail()
        except BlockingIOError:
            pass
        except OSError:
            self._fail()

    def _done(self, data: bytes) -> None:
        pending = self.pending
        if (
            len(data) < 12
            or (data[0] << 8 | data[1]) != self.qid
            or not data[2] & 0x80
            or data[12 : pending.qend].lower() != pending.question
        ):
            self.forwarder.counters.upstream_unmatched += 1
            return self._fail()
        self.close()
        pending.tcp = None
        if not pending.done:
            self.forwarder._finish(pending, data)

    def _fail(self) -> None:
        self.state.errors += 1
        self.close()
        pending = self.pending
        pending.tcp = None
        if not pending.done:
            self.forwarder._finish(pending, None)

    def close(self) -> None:
        """Stop the exchange (idempotent)."""
        if not self.closed:
            self.closed = True
            self.forwarder.loop.unregister(self.fd)
            self.sock.close()
