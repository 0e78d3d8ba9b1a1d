"""The drivers a Controller uses: loaded on first use, configured, restored from the store, and
told what other processes changed (``cnm_refresh``)."""

from __future__ import annotations

import os
from typing import Any

from .. import discovery
from .._relay import IPAMRelay, NetworkRelay
from ..errors import Forbidden, NotFound
from ..model import DriverConfig, EndpointInterface, EndpointSnapshot, IPAMData, NetworkSnapshot, Scope
from ..records import NetworkRecord, PoolRecord, SandboxRecord, State
from ..store import keys
from ..store.prefixed import PrefixedStore
from ..store.scoped import ScopedStore
from .core import Core

_MAYBE_JOINED = (State.JOINED, State.JOINING, State.LEAVING)


def ipam_data(pools: list[PoolRecord]) -> list[IPAMData]:
    return [IPAMData(p.address_space, p.pool, p.gateway, p.aux_addresses) for p in pools]


class Drivers:
    """Network and IPAM drivers by name, each behind its relay; which network each knows."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.network_relays: dict[str, NetworkRelay] = {}
        self.ipam_relays: dict[str, IPAMRelay] = {}
        #: network -> the name of the driver of this host that knows it
        self.in_driver: dict[str, str] = {}

    # ---- loading ---------------------------------------------------------------------------------

    def network(self, name: str) -> NetworkRelay:
        """The relay to network driver ``name``, loaded, configured and restored on first use."""
        with self.core.lock:
            relay = self.network_relays.get(name)
            if relay is None:
                driver, entry = self._load(discovery.NETWORK_DRIVERS, name, "network")
                relay = self._start(name, driver, entry)
            return relay

    def register(self, name: str, driver: Any) -> NetworkRelay:
        """Use ``driver`` (an object with ``@hookimpl`` methods) as network driver ``name``."""
        with self.core.lock:
            if name in self.network_relays:
                raise Forbidden(f"network driver {name!r} is already loaded")
            entry = discovery.DriverEntry(
                name,
                discovery.NETWORK_DRIVERS,
                f"{type(driver).__module__}:{type(driver).__qualname__}",
                "<in-process>",
                "-",
            )
            discovery.check_contract(driver, entry)
            return self._start(name, driver, entry)

    def _start(self, name: str, driver: Any, entry: discovery.DriverEntry) -> NetworkRelay:
        relay = NetworkRelay(driver, entry, self.core.plugins)
        relay.config(self._config(name, relay.capabilities.scope))
        snapshots = self.snapshots(name)
        relay.restore(snapshots)
        for snap in snapshots:
            self.in_driver[snap.network_id] = name
        self.network_relays[name] = relay
        return relay

    def ipam(self, name: str) -> IPAMRelay:
        with self.core.lock:
            relay = self.ipam_relays.get(name)
            if relay is None:
                driver, entry = self._load(discovery.IPAM_DRIVERS, name, "ipam")
                relay = IPAMRelay(driver, entry, self.core.plugins)
                relay.config(self._config(name, Scope.LOCAL, kind="ipam"), self.core.store)
                self.ipam_relays[name] = relay
            return relay

    def _load(self, group: str, name: str, kind: str) -> tuple[Any, discovery.DriverEntry]:
        """An entry point's driver, or else one a plugin's source provides (a Docker plugin)."""
        try:
            return discovery.load(group, name)
        except NotFound:
            driver = self.core.events.driver_for(name, kind)
            if driver is None:
                raise
            source = getattr(driver, "pycnm_source", None) or {}
            entry = discovery.DriverEntry(
                name, group, source.get("address", "?"), source.get("distribution", "?"), source.get("version", "-")
            )
            discovery.check_contract(driver, entry)
            return driver, entry

    def _config(self, name: str, scope: Scope, kind: str = "network") -> DriverConfig:
        core = self.core
        state = os.path.join(core.state_dir, "drivers", kind, name)
        if scope == Scope.GLOBAL and core.cluster_store is not None:
            corner = PrefixedStore(core.cluster_store, keys.driver_corner(kind, name))
        else:
            local = core.store.local if isinstance(core.store, ScopedStore) else core.store
            corner = PrefixedStore(local, keys.driver_corner(kind, name))
        return DriverConfig(
            state_dir=state,
            ifname_prefix=core.ifname_prefix,
            instance_id=core.instance_id,
            scope=scope,
            extra={"advertise_addr": core.advertise_addr or ""},
            store=corner,
            osl=core.osl,
        )

    def forget_all(self) -> None:
        """Drop every loaded network driver: each loads afresh (and restores) when next used. An
        in-process one (:meth:`register`) cannot be loaded afresh: it is restored again instead."""
        for name, relay in list(self.network_relays.items()):
            del self.network_relays[name]
            if relay.entry.distribution == "<in-process>":
                self._start(name, relay.driver, relay.entry)

    def load_used(self) -> list[tuple[str, Exception]]:
        """Load the drivers of every network in the store; returns the ones that failed."""
        failed: list[tuple[str, Exception]] = []
        for driver in sorted({n.driver for n in self.core.network_records()}):
            try:
                self.network(driver)
            except Exception as exc:  # noqa: BLE001 - reported by the caller
                failed.append((driver, exc))
        return failed

    # ---- what the store holds, as a driver is told it --------------------------------------------

    def snapshots(self, driver: str) -> list[NetworkSnapshot]:
        return [
            self.snapshot(net)
            for net in self.core.network_records()
            if net.driver == driver and net.state in (State.READY, State.DELETING)
        ]

    def snapshot(self, net: NetworkRecord) -> NetworkSnapshot:
        """What the store holds of one network (restore, refresh)."""
        core = self.core
        eps = []
        # every endpoint the driver may have heard of. One a crash left midway through a join or
        # a leave counts as joined: the driver may have made its interface, and the core's
        # recovery then asks it to leave, which takes away whatever it made
        for ep in core.endpoint_records(net.id):
            if ep.owner not in ("", core.instance_id):
                continue  # another host's endpoint of a global network: a peer, not ours to restore
            sb = (
                core.get(keys.sandbox(ep.sandbox_id), SandboxRecord)[0]
                if ep.sandbox_id and ep.state in _MAYBE_JOINED
                else None
            )
            eps.append(
                EndpointSnapshot(
                    ep.id,
                    EndpointInterface(ep.address, ep.address_ipv6, ep.mac),
                    ep.options,
                    sandbox_key=sb.key if sb else None,
                    dst_name=ep.dst_name if sb else None,
                    external_connectivity=sb is not None and sb.gateway_endpoint == ep.id,
                )
            )
        return NetworkSnapshot(net.id, net.options, ipam_data(net.ipv4_pools), ipam_data(net.ipv6_pools), eps)

    def ensure_knows(self, net: NetworkRecord, relay: NetworkRelay) -> None:
        """A global network made on another host comes to this host's driver when first needed."""
        if net.id in self.in_driver:
            return
        relay.create_network(net.id, net.options, ipam_data(net.ipv4_pools), ipam_data(net.ipv6_pools))
        self.in_driver[net.id] = net.driver

    def refresh(self, network_ids: set[str], removed: set[str]) -> None:
        """Tell the loaded drivers of networks another process changed (``cnm_refresh``); a driver
        that cannot be told is dropped, to load afresh."""
        core = self.core
        by_driver: dict[str, tuple[list[NetworkSnapshot], list[str]]] = {}
        for nid in removed:
            driver = self.in_driver.pop(nid, None)
            core.forget_network_view(nid)
            if driver in self.network_relays:
                by_driver.setdefault(driver, ([], []))[1].append(nid)
        for nid in network_ids:
            rec, _ = core.get(keys.network(nid), NetworkRecord)
            if rec is None or rec.driver not in self.network_relays:
                continue  # gone again, or its driver is not loaded here (it restores on loading)
            by_driver.setdefault(rec.driver, ([], []))[0].append(self.snapshot(rec))
            self.in_driver[nid] = rec.driver
        for driver, (snaps, gone) in sorted(by_driver.items()):
            relay = self.network_relays[driver]
            if relay.implements("cnm_refresh"):
                relay.refresh(snaps, gone)
            else:
                del self.network_relays[driver]
