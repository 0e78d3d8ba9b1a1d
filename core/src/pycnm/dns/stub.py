"""Small upstream DNS servers to test and measure the resolver against, on loopback.

:class:`StubUpstream` runs in a thread and does what a test asks: answer (with a TTL, after a
delay, with many records), answer with an rcode (NXDOMAIN, SERVFAIL), answer truncated over UDP
and whole over TCP, never answer, or answer whatever a function makes of the query; it records
the questions, IDs and source ports it gets. :class:`LoopbackClient` is a sandbox's pair of
resolver sockets on loopback, with dnspython to ask them.
"""

from __future__ import annotations

import heapq
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class StubUpstream:
    """A scripted upstream on ``address`` (UDP and TCP, one port); use it as a context manager.

    ``mode``: ``"answer"`` (A/AAAA records for any name: ``address_for(name)``, ``records`` of
    them), ``"silent"`` (reads and never answers) or ``"rcode"`` (an empty answer with ``rcode``).
    ``delay`` postpones every answer; ``truncate_udp`` sends TC over UDP and the answer over TCP.
    """

    def __init__(
        self,
        *,
        mode: str = "answer",
        address: str = "127.0.0.1",
        port: int = 0,
        ttl: int = 300,
        delay: float = 0.0,
        rcode: int = dns.rcode.NOERROR,
        records: int = 1,
        truncate_udp: bool = False,
        soa_ttl: int | None = None,
        reply: Callable[[bytes], bytes | list[bytes] | None] | None = None,
    ) -> None:
        self.mode = mode
        self.ttl = ttl
        self.delay = delay
        self.rcode = rcode
        self.records = records
        self.truncate_udp = truncate_udp
        self.soa_ttl = soa_ttl
        self.custom = reply
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        for _ in range(50):
            # one port number for both transports, as an upstream has: retry if TCP's is taken
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
            self.udp.bind((address, port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((address, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise OSError(f"no port free for both UDP and TCP on {address}")
        self.tcp.listen(16)
        self.address = address
        #: every question received, as (name text, type text, transport)
        self.questions: list[tuple[str, str, str]] = []
        #: the ID and source port of every UDP query
        self.ids: list[int] = []
        self.sources: set[int] = set()
        self._later: list[tuple[float, int, bytes, tuple]] = []
        self._seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dns-stub-{self.port}", daemon=True)

    @property
    def queries(self) -> int:
        """How many queries arrived (UDP and TCP)."""
        return len(self.questions)

    def __enter__(self) -> StubUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and close the sockets."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.udp.close()
        self.tcp.close()

    def answer(self, wire: bytes, transport: str) -> bytes | list[bytes] | None:
        """The reply to one query (None: none; a list: several datagrams)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - a stub upstream ignores what it cannot parse, as a server would
            return None if self.custom is None else self.custom(wire)
        question = query.question[0] if query.question else None
        if question is not None:
            self.questions.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype), transport))
        if self.custom is not None:
            return self.custom(wire)
        if self.mode == "silent" or question is None:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if self.mode == "rcode":
            response.set_rcode(dns.rcode.Rcode.make(self.rcode))
            if self.soa_ttl is not None:
                response.authority.append(
                    dns.rrset.from_text(
                        "example.",
                        self.soa_ttl,
                        "IN",
                        "SOA",
                        f"ns.example. host.example. 1 7200 900 1209600 {self.soa_ttl}",
                    )
                )
        elif question.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            kind = "A" if question.rdtype == dns.rdatatype.A else "AAAA"
            values = [f"192.0.2.{i % 250 + 1}" if kind == "A" else f"2001:db8::{i + 1:x}" for i in range(self.records)]
            response.answer.append(dns.rrset.from_text(question.name, self.ttl, "IN", kind, *values))
        wire_out = response.to_wire()
        if transport == "udp" and self.truncate_udp:
            response.answer = []
            response.flags |= dns.flags.TC
            wire_out = response.to_wire()
        return wire_out

    def _run(self) -> None:
        poller = select.epoll()
        poller.register(self.udp.fileno(), select.EPOLLIN)
        poller.register(self.tcp.fileno(), select.EPOLLIN)
        conns: dict[int, tuple[socket.socket, bytearray]] = {}
        while not self._stop.is_set():
            wait = 0.05
            if self._later:
                wait = max(0.0, min(wait, self._later[0][0] - time.monotonic()))
            for fd, _ in poller.poll(wait):
                if fd == self.udp.fileno():
                    try:
                        data, addr = self.udp.recvfrom(65535)
                    except OSError:
                        continue
                    if len(data) >= 2:
                        self.ids.append((data[0] << 8) | data[1])
                        self.sources.add(addr[1])
                    reply = self.answer(data, "udp")
                    if reply is not None:
                        self._send_later(reply, addr)
                elif fd == self.tcp.fileno():
                    try:
                        conn, _ = self.tcp.accept()
                    except OSError:
                        continue
                    conns[conn.fileno()] = (conn, bytearray())
                    poller.register(conn.fileno(), select.EPOLLIN)
                elif fd in conns:
                    conn, buf = conns[fd]
                    try:
                        chunk = conn.recv(65535)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        poller.unregister(fd)
                        del conns[fd]
                        conn.close()
                        continue
                    buf += chunk
                    while len(buf) >= 2 and len(buf) >= 2 + ((buf[0] << 8) | buf[1]):
                        size = (buf[0] << 8) | buf[1]
                        message = bytes(buf[2 : 2 + size])
                        del buf[: 2 + size]
                        reply = self.answer(message, "tcp")
                        if isinstance(reply, list):
                            reply = reply[-1] if reply else None
                        if reply is not None:
                            if self.delay:
                                time.sleep(self.delay)
                            conn.sendall(len(reply).to_bytes(2, "big") + reply)
            now = time.monotonic()
            while self._later and self._later[0][0] <= now:
                _, _, reply, addr = heapq.heappop(self._later)
                try:
                    self.udp.sendto(reply, addr)
                except OSError:
                    pass
        for conn, _ in conns.values():
            conn.close()
        poller.close()

    def _send_later(self, reply: bytes | list[bytes], addr: tuple) -> None:
        for one in reply if isinstance(reply, list) else [reply]:
            if not self.delay:
                self.udp.sendto(one, addr)
                continue
            self._seq += 1
            heapq.heappush(self._later, (time.monotonic() + self.delay, self._seq, one, addr))


class LoopbackClient:
    """A sandbox's resolver sockets on loopback, added to ``resolver``, and dnspython to ask them.

    What the daemon does inside a namespace, done here: a bound UDP socket and a listening TCP
    socket on ``address`` (port 0: the kernel picks), handed to :meth:`Resolver.add_client`.
    """

    def __init__(self, resolver, client_id: str, address: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # as the daemon's
        udp.bind((address, 0))
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            # the same number as UDP, as behind the daemon's NAT, so clients' fallback finds it
            tcp.bind((address, udp.getsockname()[1]))
        except OSError:
            tcp.bind((address, 0))
        tcp.listen(128)
        self.address = address
        self.udp_port = udp.getsockname()[1]
        self.tcp_port = tcp.getsockname()[1]
        self.client_id = client_id
        resolver.add_client(client_id, udp, tcp)

    def query(
        self, name: str, rdtype: str = "A", *, tcp: bool = False, timeout: float = 3.0, **make_query: Any
    ) -> dns.message.Message:
        """Ask ``name``/``rdtype`` over UDP (or TCP) and return the answer."""
        import dns.query

        message = dns.message.make_query(name, rdtype, **make_query)
        if tcp:
            return dns.query.tcp(message, self.address, port=self.tcp_port, timeout=timeout)
        return dns.query.udp(message, self.address, port=self.udp_port, timeout=timeout)

    def send(self, wire: bytes, timeout: float = 1.0) -> bytes | None:
        """Send raw bytes over UDP; the raw reply, or None if none came within ``timeout``."""
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(wire, (self.address, self.udp_port))
            try:
                return sock.recv(65535)
            except TimeoutError:
                return None
