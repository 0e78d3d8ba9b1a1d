"""The embedded DNS as a service of ``pycnm daemon``: a resolver at 127.0.0.11 in every sandbox
that joins a network with DNS (every driver's whose capabilities say ``dns``: bridge, overlay,
macvlan, remote plugins; not null nor host).

What the service does, for each such sandbox:

- makes a UDP socket and a listening TCP socket bound to 127.0.0.11 on free ports *inside* the
  sandbox's namespace, and hands them to the resolver (:class:`pycnm.dns.Resolver`, one thread
  and one epoll for all sandboxes);
- writes, in the sandbox's namespace, one nftables table of pycnm's (``ip pycnm-dns``) that sends
  127.0.0.11:53 to those ports and makes replies come from :53 (as Docker does with iptables),
  so that port 53 stays free for the sandbox's own processes. The table is replaced whole in one
  transaction (``add``, ``delete``, then the table anew): a restarted or crashed daemon's table
  is simply replaced, never "already exists";
- keeps the resolver's names (:class:`pycnm.dns.Names`) in step with the store: each sandbox sees
  the names of the networks it shares (its name, its endpoints' names and aliases, its short ID,
  its hostname, and ``name.network``), within one poll interval (50 ms) of a change by any
  process, at once for a change this daemon made; on overlay networks also other hosts'
  endpoints (the sandbox's name, the endpoint's aliases, the short ID), as the cluster store
  holds them and as long as their host's lease lives, within a poll interval of the peer watch
  seeing them;
- forwards what is not local: to the sandbox's own servers (``--dns``, dialled from the sandbox's
  namespace) or else to the host's (from ``/etc/resolv.conf``, or ``$PYCNM_RESOLV_CONF``, dialled
  from the host's namespace, so that 127.0.0.53 works), at most three; never for a sandbox whose
  networks are all internal.

The sandboxes' ``resolv.conf`` say ``nameserver 127.0.0.11`` while the daemon serves DNS (the
store's ``meta/dns`` says so to every process on the state directory, and the daemon's lock says
whether it still lives); stopped, the daemon gives them back the host's servers.

IPv6: the resolver is reached over the sandbox's loopback, which always has IPv4 (127.0.0.11, as
Docker does), also in an IPv6-only network; it answers AAAA records.

TTL of local answers: 5 s by default (``--dns-ttl``): Docker's 600 s let a removed container's
name resolve for ten minutes in clients that cache; 0 (aardvark's) makes every lookup of a
busy client a query. Five seconds is what a removed name can live on, at most.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from .. import codec, labels, ports
from ..dns import Forwarding, Names, Resolver, Upstream, default_socket_factory
from ..errors import CNMError, InvalidParameter, NotFound
from ..osl import fds, netns, nft
from ..records import EndpointRecord, NetworkRecord, SandboxRecord, State
from ..store import keys

log = logging.getLogger("pycnm.daemon.dns")

ADDRESS = "127.0.0.11"
TABLE = "pycnm-dns"
#: the store's mark that the embedded DNS is served (and by which daemon)
MARK = "meta/dns"
MAX_UPSTREAMS = 3


class DNSService:
    """The embedded DNS (see the module's docstring). ``start``, ``stop``, ``status``, ``routes``."""

    name = "DNS"

    def __init__(
        self, controller: Any, engine: Any, *, ttl: int = 5, poll: float = 0.05, resolv_conf: str | None = None
    ) -> None:
        self.ctl = controller
        self.engine = engine
        self.poll = poll
        self.resolv_conf = resolv_conf or os.environ.get("PYCNM_RESOLV_CONF") or "/etc/resolv.conf"
        self.names = Names(local_ttl=int(ttl))
        self.resolver = Resolver(self.names)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: tuple[int, int] | None = None
        #: sandbox -> (key, networks in join order, forwarding) of the clients set up
        self._clients: dict[str, tuple[str, tuple[str, ...], Forwarding]] = {}
        self._endpoints: dict[str, set[str]] = {}  # network -> endpoints given to the names
        self._lock = threading.Lock()
        self.errors = 0

    # ---- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        self.resolver.start()
        with self.ctl.lock:  # the mark and the files in one turn of the state lock
            self.ctl.store.put(keys.DNS, f"{os.getpid()}".encode())
            self._sync()
            self._rewrite_files()
        # this daemon's own changes: at once, not at the next poll (the events are not read: a
        # change is read from the store, whoever made it)
        self._events = self.engine.events.subscribe()
        self._events.set_notifier(self._wake.set)
        self._thread = threading.Thread(target=self._watch, name="pycnm-dns-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._events.close()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self.ctl.lock:
            self.ctl.store.delete(keys.DNS)
            self._rewrite_files()  # the host's servers again: nobody answers at 127.0.0.11
            for sid in list(self._clients):
                self._client_down(sid)
        self.resolver.stop()

    def status(self) -> dict[str, Any]:
        return {
            "Address": ADDRESS,
            "Sandboxes": len(self._clients),
            "SyncErrors": self.errors,
            "Resolver": self.resolver.status(),
        }

    def routes(self) -> list[tuple[str, str, str, Callable[[Any], Any]]]:
        return [("GET", "/pycnm/v1/dns/query", "pycnm.dns.query", self._query)]

    # ---- keeping up with the store ---------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._events.take()  # drained: they only woke the loop
            try:
                if self._revision() != self._seen:
                    with self.ctl.lock:
                        self._sync()
            except Exception as exc:  # noqa: BLE001 - the service goes on; the next change tries again
                self.errors += 1
                log.warning("could not bring the DNS names in step: %s", exc)

    def _revision(self) -> tuple[int, int]:
        """Where the stores are: this host's, and the cluster's as the peer watch last saw it
        (other hosts' endpoints on overlay networks, and their hosts' leases)."""
        clustered = self.ctl.cluster_store is not None
        return self.ctl.store.revision(), self.ctl.peer_revision if clustered else 0

    def _sync(self) -> None:
        """Bring names and clients in step with the store (everything it says now)."""
        with self._lock:
            revision = self._revision()
            live = self.ctl.live_hosts() if self.ctl.cluster_store is not None else None
            nets = {n.id: n for n in self._records("networks/", NetworkRecord)}
            sandboxes = {s.id: s for s in self._records("sandboxes/", SandboxRecord)}
            dns_nets = {nid for nid, n in nets.items() if self._has_dns(n)}
            with self.names.batch():
                for nid in list(self._endpoints):
                    if nid not in dns_nets:
                        self.names.remove_network(nid)
                        del self._endpoints[nid]
                for nid in dns_nets:
                    net = nets[nid]
                    self.names.set_network(nid, net.name, internal=net.internal)
                    given = self._endpoints.setdefault(nid, set())
                    seen = set()
                    for ep in self._records(keys.endpoints(nid), EndpointRecord):
                        if (
                            ep.sandbox_id is None
                            or ep.state not in (State.JOINED, State.JOINING)
                            or (not ep.address and not ep.address_ipv6)
                            # another host's, whose lease ran out: gone with its host
                            or (live is not None and ep.owner not in ("", self.ctl.instance_id, *live))
                        ):
                            continue
                        sb = sandboxes.get(ep.sandbox_id)
                        self.names.set_endpoint(
                            nid,
                            ep.id,
                            names=_names(ep, sb),
                            ipv4=str(ep.address.ip) if ep.address else None,
                            ipv6=str(ep.address_ipv6.ip) if ep.address_ipv6 else None,
                            ports=_exposed(ep),
                        )
                        seen.add(ep.id)
                    for eid in given - seen:
                        self.names.remove_endpoint(nid, eid)
                    self._endpoints[nid] = seen
                wanted: dict[str, tuple[str, tuple[str, ...], Forwarding]] = {}
                for sb in sandboxes.values():
                    if sb.host_namespace or sb.state != State.READY:
                        continue
                    if sb.key_identity is not None and self.ctl.osl.namespace_identity(sb.key) != sb.key_identity:
                        continue  # a runtime's namespace that is gone: its path may name another now
                    joined = [keys.split_endpoint(r)[0] for r in sb.endpoints]
                    on = tuple(nid for nid in joined if nid in dns_nets)
                    if on:
                        wanted[sb.id] = (sb.key, on, self._forwarding(sb, [nets[n] for n in on]))
                for sid in [s for s in self._clients if s not in wanted]:
                    self._client_down(sid)
                fresh = []
                for sid, (key, on, forwarding) in wanted.items():
                    if sid not in self._clients:
                        try:
                            self._client_up(sid, key)
                        except (OSError, CNMError) as exc:
                            self.errors += 1
                            log.warning("no DNS for sandbox %s: %s", sid[:12], exc)
                            continue
                        fresh.append(sid)
                    self.names.set_client(sid, networks=on, forwarding=forwarding)
                    self._clients[sid] = (key, on, forwarding)
            for sid in fresh:  # written by a process that may not have known of the DNS yet
                try:
                    self.ctl.refresh_files(sid)
                except CNMError as exc:
                    log.warning("could not rewrite the resolv.conf of sandbox %s: %s", sid[:12], exc)
            self._seen = revision

    def _records(self, prefix: str, cls: type) -> list[Any]:
        return [codec.loads(e.value, cls) for e in self.ctl.store.list(prefix)]

    def _has_dns(self, net: NetworkRecord) -> bool:
        if net.state != State.READY:
            return False
        try:
            return bool(self.ctl.network_driver(net.driver).capabilities.dns)
        except CNMError:
            return False

    def _forwarding(self, sb: SandboxRecord, nets: list[NetworkRecord]) -> Forwarding:
        if all(n.internal for n in nets):
            return Forwarding(enabled=False)  # internal networks never reach out through the host
        ndots = any(option.startswith("ndots:") for option in sb.dns_options)
        if sb.dns:  # the sandbox's own servers: dialled from its namespace
            factory = _in_namespace(sb.key)
            upstreams = [Upstream(server, 53, factory=factory) for server in sb.dns[:MAX_UPSTREAMS]]
        else:  # the host's, dialled from the host's namespace (127.0.0.53 works)
            upstreams = [
                Upstream(server, 53, factory=default_socket_factory) for server in self._host_servers()[:MAX_UPSTREAMS]
            ]
        return Forwarding(upstreams=tuple(upstreams), forward_single_label=not ndots)

    def _host_servers(self) -> list[str]:
        try:
            with open(self.resolv_conf) as fh:
                lines = fh.read().splitlines()
        except OSError:
            return []
        return [
            parts[1].split("%")[0]
            for parts in (line.split() for line in lines)
            if len(parts) > 1 and parts[0] == "nameserver" and parts[1] != ADDRESS
        ]

    def _rewrite_files(self) -> None:
        for sb in self.ctl.sandboxes():
            if not sb.record.host_namespace and sb.record.endpoints:
                try:
                    self.ctl.refresh_files(sb)
                except CNMError as exc:
                    log.warning("could not rewrite the resolv.conf of sandbox %s: %s", sb.name, exc)

    # ---- a sandbox's resolver --------------------------------------------------------------------

    def _client_up(self, sandbox_id: str, key: str) -> None:
        with netns.entered(key):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                udp.bind((ADDRESS, 0))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((ADDRESS, 0))
                tcp.listen(128)
                # two per sandbox, for as long as it lives: above the descriptors libnftables'
                # select() can take (pycnm.osl.fds)
                udp = fds.high(udp)
                tcp = fds.high(tcp)
                udp.setblocking(False)
                tcp.setblocking(False)
                nft.run_once(_nat(udp.getsockname()[1], tcp.getsockname()[1]))
            except BaseException:
                udp.close()
                tcp.close()
                raise
        self.resolver.add_client(sandbox_id, udp, tcp)

    def _client_down(self, sandbox_id: str) -> None:
        self._clients.pop(sandbox_id, None)
        self.names.remove_client(sandbox_id)
        self.resolver.remove_client(sandbox_id)  # closes its sockets: the namespace may go

    # ---- pycnm dns query -------------------------------------------------------------------------

    def _query(self, request: Any) -> Any:
        """Ask a sandbox's resolver, from inside the sandbox, as its processes do."""
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdatatype

        from ..api.engine import json_response

        name = request.arg("name")
        if not name:
            raise InvalidParameter("name= is required: the name to ask for")
        kind = request.arg("type", "A").upper()
        ref = request.arg("sandbox")
        sb = self.ctl.sandbox(ref) if ref else next(iter(self.ctl.sandboxes()), None)
        if sb is None or sb.id not in self._clients:
            raise NotFound(f"no sandbox with the embedded DNS {'named ' + ref if ref else 'is there'}")
        try:
            message = dns.message.make_query(name, dns.rdatatype.from_text(kind))
        except Exception as exc:  # noqa: BLE001 - dnspython's many errors: a bad name or type
            raise InvalidParameter(f"invalid query {name!r} {kind}: {exc}") from None
        with netns.entered(sb.key):
            answer = dns.query.udp(message, ADDRESS, port=53, timeout=3)
        body = {
            "Sandbox": sb.name,
            "Question": f"{name} {kind}",
            "Rcode": dns.rcode.to_text(answer.rcode()),
            "Answers": [line for rrset in answer.answer for line in rrset.to_text().splitlines()],
        }
        return json_response(200, body)


def _names(ep: EndpointRecord, sb: SandboxRecord | None) -> list[str]:
    """What an endpoint answers to: its sandbox's name first (PTR and SRV answer it), the
    endpoint's name and aliases, the sandbox's short ID and hostname."""
    out: list[str] = []
    for name in (
        ([sb.name] if sb else [])
        + [ep.name, *ep.aliases]
        + [(ep.sandbox_id or "")[:12]]
        + ([sb.hostname] if sb and sb.hostname else [])
    ):
        if name and name.lower() not in {n.lower() for n in out}:
            out.append(name)
    return out


def _exposed(ep: EndpointRecord) -> list[tuple[str, int]]:
    try:
        return sorted({(b.proto, b.container_port) for b in ports.from_wire(ep.options.get(labels.PORT_MAP))})
    except CNMError:
        return []


def _nat(udp_port: int, tcp_port: int) -> str:
    t = f"ip {TABLE}"
    return "\n".join(
        [
            f"add table {t}",
            f"delete table {t}",
            f"add table {t}",
            f"add chain {t} output {{ type nat hook output priority -100; policy accept; }}",
            f"add chain {t} postrouting {{ type nat hook postrouting priority 100; policy accept; }}",
            f"add rule {t} output ip daddr {ADDRESS} udp dport 53 dnat to {ADDRESS}:{udp_port}",
            f"add rule {t} output ip daddr {ADDRESS} tcp dport 53 dnat to {ADDRESS}:{tcp_port}",
            f"add rule {t} postrouting ip saddr {ADDRESS} udp sport {udp_port} snat to {ADDRESS}:53",
            f"add rule {t} postrouting ip saddr {ADDRESS} tcp sport {tcp_port} snat to {ADDRESS}:53",
        ]
    )


def _in_namespace(key: str) -> Callable[[int, int], socket.socket]:
    """A socket factory for upstreams dialled from the sandbox's namespace (its ``--dns``)."""

    def make(family: int, kind: int) -> socket.socket:
        with netns.entered(key):
            return socket.socket(family, kind | socket.SOCK_CLOEXEC)

    return make
