"""Creating, listing and deleting networks, and their IPAM pools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import codec
from .._relay import IPAMRelay
from ..errors import CNMError, Forbidden, InvalidParameter, StaleVersion
from ..ipam import request as ipam_request
from ..model import (
    IPAMData,
    Scope,
)
from ..records import NetworkRecord, PoolRecord, State
from ..store import Delete, Put
from ._base import (
    _check_name,
    _ignore_missing,
    _label_map,
    _new_id,
    _now,
    _safely,
    labels_mod,
    log,
)
from .handles import Network


class Networks:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- networks -------------------------------------------------------------------------------

    def create_network(
        self,
        name: str,
        driver: str = "bridge",
        *,
        subnet: str | Sequence[str] | None = None,
        gateway: str | Sequence[str] | None = None,
        ip_range: str | Sequence[str] | None = None,
        aux_addresses: Mapping[str, str] | None = None,
        ipam_driver: str | None = None,
        ipam_options: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        internal: bool = False,
        ipv6: bool = False,
        attachable: bool = False,
    ) -> Network:
        """Create a network; returns it. Fails with no trace in the store or the kernel.

        ``attachable`` is Docker's flag, kept and shown (every pycnm network takes any sandbox)."""
        _check_name("network", name)
        requests = ipam_request.build(subnet, ip_range, gateway, aux_addresses)
        if not ipv6 and any(r.version == 6 for r in requests):
            raise InvalidParameter("an IPv6 subnet was given but IPv6 is not enabled (ipv6=True, --ipv6)")
        relay = self.network_driver(driver)
        if ipam_driver is None:
            ipam_driver = "null" if driver in ("null", "host") and not requests else "default"
        ipam = self.ipam_driver(ipam_driver)
        generic = labels_mod.normalize(_label_map(options, "option"))
        _check_known(driver, relay.capabilities.network_options, generic)
        driver_options = {labels_mod.GENERIC: generic, labels_mod.ENABLE_IPV6: bool(ipv6)}
        if internal:
            driver_options[labels_mod.INTERNAL] = True
        if relay.capabilities.scope == Scope.GLOBAL and self.cluster_store is None:
            raise Forbidden(f"driver {driver} makes global-scope networks, which live in a cluster store;"
                            " give one (Controller(cluster_store=...), PYCNM_CLUSTER_STORE=etcd://HOST:PORT)")
        record = NetworkRecord(
            id=_new_id(), name=name, driver=driver, scope=relay.capabilities.scope.value, owner=self.instance_id,
            ipam_driver=ipam_driver, created=_now(), options=driver_options,
            ipam_options=dict(ipam_options or {}), labels=_label_map(labels, "label"),
            internal=bool(internal), ipv6=bool(ipv6), attachable=bool(attachable),
            requested=[{"Subnet": str(r.subnet), "IPRange": str(r.ip_range) if r.ip_range else None,
                        "Gateway": str(r.gateway) if r.gateway else None,
                        "AuxiliaryAddresses": {k: str(v) for k, v in r.aux_addresses.items()}} for r in requests],
        )
        key = f"networks/{record.id}"
        if record.scope == Scope.GLOBAL.value:
            self.store.mark_global(record.id)
        with self._lock:
            try:
                self.store.commit([Put(f"names/networks/{name}", record.id.encode(), 0),
                                   self._put(key, record, 0)])
            except StaleVersion:
                raise Forbidden(f"network with name {name} already exists") from None
            created_in_driver = allocated = pooled = False
            try:
                # the pools and the record that names them in one local transaction: a crash leaves
                # both or neither (the cluster's IPAM, for global networks, commits each at once;
                # there the pools carry the network as owner, which recovery looks for)
                with self.store.transaction():
                    self._allocate_pools(record, ipam, requests)
                    self.store.put(key, codec.dumps(record))
                pooled = True
                v4, v6 = self._ipam_data(record.ipv4_pools), self._ipam_data(record.ipv6_pools)
                allocated = relay.implements("cnm_network_allocate")
                reserved = relay.network_allocate(record.id, record.options, v4, v6)
                if reserved:  # e.g. the overlay's VNI: every host's driver is created with it
                    record.options = {**record.options,
                                      labels_mod.GENERIC: {**record.options[labels_mod.GENERIC], **reserved}}
                self.store.put(key, codec.dumps(record))
                relay.create_network(record.id, record.options, v4, v6)
                created_in_driver = True
                self._in_driver[record.id] = driver
                record.state = State.READY
                self.store.put(key, codec.dumps(record))
            except BaseException:
                if created_in_driver:
                    _safely("delete network in driver", relay.delete_network, record.id)
                    self._in_driver.pop(record.id, None)
                if allocated:
                    _safely("free network in driver", _ignore_missing, relay.network_free, record.id)
                if pooled or not self._rolled_back_with_store(record, ipam):
                    self._release_pools(record, ipam)
                self.store.commit([Delete(f"names/networks/{name}"), Delete(key)])
                raise
        self._events.emit("network.create", record.id, name, driver=driver)
        return Network(self, record)

    def _allocate_pools(self, record: NetworkRecord, ipam: IPAMRelay, requests) -> None:
        spaces = ipam.default_address_spaces()
        space = spaces.global_default if record.scope == Scope.GLOBAL.value else spaces.local_default
        v4 = [r for r in requests if r.version == 4] or [ipam_request.PoolRequest()]
        v6 = [r for r in requests if r.version == 6] or ([ipam_request.PoolRequest()] if record.ipv6 else [])
        for family_requests, target, is_v6 in ((v4, record.ipv4_pools, False), (v6, record.ipv6_pools, True)):
            for req in family_requests:
                alloc = ipam.request_pool(space, str(req.subnet or ""), str(req.ip_range or ""),
                                          self._owned(record.ipam_options, ipam, record.scope, record.id), is_v6)
                pool = PoolRecord(alloc.pool_id, alloc.pool, space, sub_pool=req.ip_range)
                target.append(pool)
                gw_opts = self._owned({labels_mod.REQUEST_ADDRESS_TYPE: labels_mod.GATEWAY_REQUEST}, ipam,
                                      record.scope, record.id)
                if labels_mod.GATEWAY_REQUEST in alloc.data:
                    pool.gateway = ipam_request.with_prefix(alloc.data[labels_mod.GATEWAY_REQUEST].split("/")[0],
                                                            alloc.pool)
                else:
                    got = ipam.request_address(alloc.pool_id, str(req.gateway or ""), gw_opts)
                    pool.gateway = got.address if got is not None else None
                for aux_name, aux_ip in req.aux_addresses.items():
                    got = ipam.request_address(alloc.pool_id, str(aux_ip),
                                               self._owned({}, ipam, record.scope, record.id))
                    if got is not None:
                        pool.aux_addresses[aux_name] = got.address

    def _release_pools(self, record: NetworkRecord, ipam: IPAMRelay) -> None:
        for pool in record.ipv4_pools + record.ipv6_pools:
            for addr in [pool.gateway, *pool.aux_addresses.values()]:
                if addr is not None:
                    _safely("release address", _ignore_missing, ipam.release_address, pool.pool_id, str(addr.ip))
            _safely("release pool", _ignore_missing, ipam.release_pool, pool.pool_id)
        record.ipv4_pools, record.ipv6_pools = [], []

    def _owned(self, options, ipam: IPAMRelay, scope: str, object_id: str) -> dict:
        """``options`` with this instance and the object as the owner of what is requested, for an
        IPAM driver that keeps owners, on a global network: the cluster's IPAM commits at once,
        so a crash before the record names a pool or address would lose it; recovery finds it by
        its owner (:meth:`Recovery._reclaim_owned`)."""
        out = dict(options or {})
        if scope == Scope.GLOBAL.value and ipam.capabilities.keeps_owners:
            out[labels_mod.IPAM_OWNER] = f"{self.instance_id}/{object_id}"
        return out

    def _rolled_back_with_store(self, record: NetworkRecord, ipam: IPAMRelay) -> bool:
        """Whether a rolled-back local transaction undid what ``ipam`` did for this network: its
        state is the local store's (the built-in IPAM on a local network); anything else (a remote
        IPAM, the cluster's address space) must be released by hand."""
        return record.scope == Scope.LOCAL.value and ipam.capabilities.state_in_store

    @staticmethod
    def _ipam_data(pools: list[PoolRecord]) -> list[IPAMData]:
        return [IPAMData(p.address_space, p.pool, p.gateway, p.aux_addresses) for p in pools]

    def _delete_network(self, network_id: str) -> None:
        with self._lock:
            record, version = self._load_network(network_id)
            endpoints = self._endpoint_records(network_id)
            if endpoints:
                raise Forbidden(f"network {record.name} id {record.id} has active endpoints"
                                f" ({', '.join(e.name for e in endpoints)}); disconnect them first")
            relay = self.network_driver(record.driver)
            record.state = State.DELETING
            self._commit([self._put(f"networks/{network_id}", record, version)])
            self._in_driver.pop(network_id, None)
            self._net_views.pop(network_id, None)
            # IPAM first, as libnetwork: a remote IPAM plugin hears ReleaseAddress(gateway) and
            # ReleasePool before the network driver hears DeleteNetwork
            self._release_pools(record, self.ipam_driver(record.ipam_driver))
            _ignore_missing(relay.delete_network, network_id)
            _ignore_missing(relay.network_free, network_id)
            self.store.commit([Delete(f"networks/{network_id}"), Delete(f"names/networks/{record.name}")])
        self._events.emit("network.delete", network_id, record.name)

    def prune(self) -> list[str]:
        """Delete every network with no endpoints; returns their names."""
        removed = []
        for net in self.networks():
            if not self._endpoint_records(net.id):
                try:
                    net.delete()
                    removed.append(net.name)
                except CNMError as exc:
                    log.warning("prune: keeping network %s: %s", net.name, exc)
        return removed



#: generic options the core itself reads, for any driver
CORE_OPTIONS = (labels_mod.CONTAINER_IFACE_PREFIX,)


def _check_known(driver: str, known, generic: Mapping[str, Any]) -> None:
    """Refuse an option the driver does not understand (Docker would ignore it silently, and a
    typo would go unnoticed), naming the ones it does, with pycnm's short names."""
    if known is None:
        return  # the driver takes any (a remote plugin)
    unknown = sorted(set(generic) - set(known) - set(CORE_OPTIONS))
    if not unknown:
        return
    short = {key: name for name, key in labels_mod.ALIASES.items() if len(name) > 4 or name == "mtu"}
    listed = ", ".join(f"{key} ({short[key]})" if key in short else key for key in sorted({*known, *CORE_OPTIONS}))
    raise InvalidParameter(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for driver {driver};"
                           f" it knows: {listed or 'none'}")
