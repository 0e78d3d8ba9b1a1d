"""Endpoints of global networks on other hosts: kept in step with the cluster store.

A host's drivers hear of remote endpoints through ``cnm_peer_add``/``cnm_peer_delete``, and of
global networks made elsewhere through ``cnm_create_network`` (when this host first needs them)
and ``cnm_delete_network`` (when they are gone from the store). What the core holds:

- a cache of the cluster store's ``hosts/``, ``networks/`` and ``endpoints/`` records, each with
  its version, filled by :meth:`sync_peers` (a full read, at one revision) and then kept by
  :meth:`apply_event` from a watch starting at the next revision: one event costs work on one
  endpoint (a host's coming or going, on that host's endpoints), not a re-read of the store;
- what each driver was told (``_peers``), so every change is a difference, never a replay.

Events older than the cached record (a watch restarted from an earlier revision) are skipped.
"""

from __future__ import annotations

import ipaddress

from .. import codec
from ..errors import CNMError
from ..model import IPAddress, Scope
from ..records import EndpointRecord, NetworkRecord, State
from .core import Core, ignore_missing, log, safely
from .drivers import Drivers

#: what a driver is told of a remote endpoint: address, MAC, its host's underlay address
PeerInfo = tuple[ipaddress.IPv4Interface, str, IPAddress]


class Peers:
    """Other hosts' endpoints of global networks, as this host's drivers were told them."""

    def __init__(self, core: Core, drivers: Drivers) -> None:
        self.core = core
        self.drivers = drivers
        self._peers: dict[str, dict[str, PeerInfo]] = {}  # network -> endpoint -> what the driver was told
        self._hosts: dict[str, str] = {}  # instance -> advertise address
        self._gnets: dict[str, NetworkRecord] = {}
        self._geps: dict[str, dict[str, EndpointRecord]] = {}
        self._versions: dict[str, int] = {}  # cluster key -> version of the cached record
        self.peer_revision = 0  # the cluster store revision the cache reflects (watch from the next)

    # ---- reading the cluster store ------------------------------------------------------------

    def sync(self) -> int:
        """Read the cluster store's hosts, global networks and their endpoints afresh and bring
        this host's drivers in step: what the daemon does when it starts and whenever its watch
        broke. Returns how many peers were added or removed."""
        store = self.core.cluster_store
        if store is None:
            return 0
        if hasattr(store, "list_at"):
            hosts, revision = store.list_at("hosts/")
            nets = store.list_at("networks/", revision=revision)[0]
            eps = store.list_at("endpoints/", revision=revision)[0]
        else:
            hosts, nets, eps, revision = store.list("hosts/"), store.list("networks/"), store.list("endpoints/"), 0
        with self.core.lock:
            self._hosts = {e.key.split("/", 1)[1]: e.value.decode() for e in hosts}
            self._gnets = {}
            self._geps = {}
            self._versions = {e.key: e.version for e in (*hosts, *nets, *eps)}
            for entry in nets:
                net = codec.loads(entry.value, NetworkRecord)
                if net.scope == Scope.GLOBAL.value:
                    self._gnets[net.id] = net
            for entry in eps:
                ep = codec.loads(entry.value, EndpointRecord)
                self._geps.setdefault(ep.network_id, {})[ep.id] = ep
            self.peer_revision = revision
            return sum(self._reconcile(nid) for nid in {*self._gnets, *self._peers})

    def live_hosts(self) -> frozenset[str]:
        """The hosts whose record is in the cluster store now, as the cache holds them."""
        with self.core.lock:
            return frozenset(self._hosts)

    def apply(self, event: dict) -> int:
        """One watch event (``type``, ``key``, ``value``, ``revision``) of the cluster store;
        returns how many peers changed."""
        key, kind, revision = event["key"], event["type"], event.get("revision", 0)
        parts = key.split("/")
        if parts[0] not in ("hosts", "networks", "endpoints") or len(parts) != (3 if parts[0] == "endpoints" else 2):
            return 0
        with self.core.lock:
            if revision and revision <= self._versions.get(key, 0):
                return 0  # the cache holds this change, or a later one, already
            if kind == "DELETE":
                self._versions.pop(key, None)
            else:
                self._versions[key] = revision
            self.peer_revision = max(self.peer_revision, revision)
            if parts[0] == "hosts":
                if kind == "DELETE":
                    self._hosts.pop(parts[1], None)
                else:
                    self._hosts[parts[1]] = event["value"].decode()
                touched = {nid for nid, eps in self._geps.items() if any(e.owner == parts[1] for e in eps.values())}
                return sum(self._reconcile(nid) for nid in touched)
            if parts[0] == "networks":
                if kind == "DELETE":
                    self._gnets.pop(parts[1], None)
                else:
                    net = codec.loads(event["value"], NetworkRecord)
                    if net.scope != Scope.GLOBAL.value:
                        return 0
                    self._gnets[net.id] = net
                return self._reconcile(parts[1])
            nid, eid = parts[1], parts[2]
            eps = self._geps.setdefault(nid, {})
            before = eps.get(eid)
            if kind == "DELETE":
                eps.pop(eid, None)
                return self._reconcile(nid, only=eid)
            ep = eps[eid] = codec.loads(event["value"], EndpointRecord)
            if (
                ep.owner == self.core.instance_id
                and ep.state == State.JOINED
                and (before is None or before.state != State.JOINED)
                and not any(e.owner == ep.owner and e.state == State.JOINED for e in eps.values() if e.id != eid)
            ):
                # this host's first endpoint on the network joined, maybe in another process that
                # made the network's kernel state just now: tell the driver every peer again
                # (peer calls are idempotent)
                return self._reconcile(nid, resend=True)
            return self._reconcile(nid, only=eid)

    # ---- bringing drivers in step -------------------------------------------------------------

    def _wanted(self, nid: str, eid: str) -> PeerInfo | None:
        """What the driver should know of a remote endpoint; None when nothing.

        A "joining" endpoint is a peer already: its address, MAC and host are final once its
        join is written down, before its host makes the interface. So the other hosts program it
        while that host works, and it is reachable about when its connect returns. A join that
        fails writes the endpoint back ("creating" or "ready"), and the peer goes again."""
        ep = self._geps.get(nid, {}).get(eid)
        if (
            ep is None
            or ep.state not in (State.JOINING, State.JOINED)
            or ep.owner in ("", self.core.instance_id)
            or not ep.address
            or not ep.mac  # (no driver can program a peer without one; every overlay endpoint has one)
        ):
            return None
        vtep = self._hosts.get(ep.owner)
        if vtep is None:
            return None  # its host is gone (its lease ran out): the endpoint is unreachable
        return ep.address, ep.mac, ipaddress.ip_address(vtep)

    def _reconcile(self, nid: str, only: str | None = None, resend: bool = False) -> int:
        """Make what network ``nid``'s driver was told match the cache (one endpoint's worth with
        ``only``); returns the number of peer calls made."""
        net = self._gnets.get(nid)
        known = self._peers.get(nid, {})
        if net is None or net.state != State.READY:
            changes = 0
            driver = self.drivers.in_driver.pop(nid, None) if net is None else None
            relay = self.drivers.network_relays.get(driver) if driver else None
            if relay is not None:  # deleted on another host: this host's driver forgets it too
                for eid, peer in known.items():
                    safely("delete peer", relay.peer_delete, nid, eid, *peer)
                    changes += 1
                safely("delete network in driver", ignore_missing, relay.delete_network, nid)
            if net is None:
                self._peers.pop(nid, None)
            return changes
        try:
            relay = self.drivers.network(net.driver)
        except CNMError as exc:
            log.warning("peers of network %s: driver %s cannot be loaded: %s", net.name, net.driver, exc)
            return 0
        if not relay.implements("cnm_peer_add"):
            return 0
        eids = [only] if only is not None else {*known, *self._geps.get(nid, {})}
        wanted = {eid: self._wanted(nid, eid) for eid in eids}
        if not any(wanted.values()) and not known:
            return 0
        self.drivers.ensure_knows(net, relay)
        known = self._peers.setdefault(nid, {})
        changes = 0
        for eid, want in wanted.items():
            old = known.get(eid)
            if old is not None and old != want:
                relay.peer_delete(nid, eid, *old)
                del known[eid]
                changes += 1
            if want is not None and (old != want or resend):
                relay.peer_add(nid, eid, *want)
                known[eid] = want
                changes += 1
        return changes
