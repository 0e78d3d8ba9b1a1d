"""Creating, listing and deleting networks, and their IPAM pools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import labels as netlabel  # ``labels`` is also create()'s parameter (Docker's --label)
from .. import validate
from .._relay import IPAMRelay
from ..errors import CNMError, Forbidden, InvalidParameter, StaleVersion
from ..ipam import request as ipam_request
from ..model import Scope
from ..records import NetworkRecord, PoolRecord, State
from ..store import Delete, Put, keys
from ..store.scoped import ScopedStore
from .core import Core, ignore_missing, log, new_id, now, safely
from .drivers import Drivers, ipam_data

#: generic options the core itself reads, for any driver
CORE_OPTIONS = (netlabel.CONTAINER_IFACE_PREFIX,)


class Networks:
    def __init__(self, core: Core, drivers: Drivers) -> None:
        self.core = core
        self.drivers = drivers

    def create(
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
    ) -> NetworkRecord:
        """Create a network; returns its record. Fails with no trace in the store or the kernel.

        The name and the record ("creating") are committed first; the pools and the record that
        names them in one more commit; then the driver; then "ready".
        """
        core = self.core
        validate.name("network", name)
        requests = ipam_request.build(subnet, ip_range, gateway, aux_addresses)
        if not ipv6 and any(r.version == 6 for r in requests):
            raise InvalidParameter("an IPv6 subnet was given but IPv6 is not enabled (ipv6=True, --ipv6)")
        relay = self.drivers.network(driver)
        caps = relay.capabilities
        if ipam_driver is None:
            ipam_driver = "null" if not caps.addresses and not requests else "default"
        ipam = self.drivers.ipam(ipam_driver)
        generic = netlabel.normalize(validate.driver_options(options), caps.option_aliases)
        _check_known(driver, caps.network_options, generic, caps.option_aliases)
        driver_options: dict[str, Any] = {netlabel.GENERIC: generic, netlabel.ENABLE_IPV6: bool(ipv6)}
        if internal:
            driver_options[netlabel.INTERNAL] = True
        if caps.scope == Scope.GLOBAL and core.cluster_store is None:
            raise Forbidden(
                f"driver {driver} makes global-scope networks, which live in a cluster store;"
                " give one (Controller(cluster_store=...), PYCNM_CLUSTER_STORE=etcd://HOST:PORT)"
            )
        record = NetworkRecord(
            id=new_id(),
            name=name,
            driver=driver,
            scope=caps.scope.value,
            owner=core.instance_id,
            ipam_driver=ipam_driver,
            created=now(),
            options=driver_options,
            ipam_options=validate.driver_options(ipam_options),
            labels=validate.labels(labels),
            internal=bool(internal),
            ipv6=bool(ipv6),
            attachable=bool(attachable),
            requested=[
                {
                    "Subnet": str(r.subnet),
                    "IPRange": str(r.ip_range) if r.ip_range else None,
                    "Gateway": str(r.gateway) if r.gateway else None,
                    "AuxiliaryAddresses": {k: str(v) for k, v in r.aux_addresses.items()},
                }
                for r in requests
            ],
        )
        key = keys.network(record.id)
        if record.scope == Scope.GLOBAL.value and isinstance(core.store, ScopedStore):
            core.store.mark_global(record.id)  # (a global network means a cluster store: the store is a ScopedStore)
        with core.lock:
            try:
                core.store.commit([Put(keys.network_name(name), record.id.encode(), 0), core.put(key, record, 0)])
            except StaleVersion:
                raise Forbidden(f"network with name {name} already exists") from None
            created_in_driver = allocated = pooled = False
            try:
                # the pools and the record that names them in one local transaction: a crash leaves
                # both or neither (the cluster's IPAM, for global networks, commits each at once;
                # there the pools carry the network as owner, which recovery looks for)
                with core.store.transaction():
                    self._allocate_pools(record, ipam, requests)
                    core.write(key, record)
                pooled = True
                v4, v6 = ipam_data(record.ipv4_pools), ipam_data(record.ipv6_pools)
                allocated = relay.implements("cnm_network_allocate")
                reserved = relay.network_allocate(record.id, record.options, v4, v6)
                if reserved:  # e.g. the overlay's VNI: every host's driver is created with it
                    record.options = {
                        **record.options,
                        netlabel.GENERIC: {**record.options[netlabel.GENERIC], **reserved},
                    }
                core.write(key, record)
                relay.create_network(record.id, record.options, v4, v6)
                created_in_driver = True
                self.drivers.in_driver[record.id] = driver
                record.state = State.READY
                core.write(key, record)
            except BaseException:
                if created_in_driver:
                    safely("delete network in driver", relay.delete_network, record.id)
                    self.drivers.in_driver.pop(record.id, None)
                if allocated:
                    safely("free network in driver", ignore_missing, relay.network_free, record.id)
                if pooled or not rolled_back_with_store(record.scope, ipam):
                    self.release_pools(record, ipam)
                core.store.commit([Delete(keys.network_name(name)), Delete(key)])
                raise
        core.events.emit("network.create", record.id, name, driver=driver)
        return record

    def _allocate_pools(self, record: NetworkRecord, ipam: IPAMRelay, requests: list[ipam_request.PoolRequest]) -> None:
        spaces = ipam.default_address_spaces()
        space = spaces.global_default if record.scope == Scope.GLOBAL.value else spaces.local_default
        v4 = [r for r in requests if r.version == 4] or [ipam_request.PoolRequest()]
        v6 = [r for r in requests if r.version == 6] or ([ipam_request.PoolRequest()] if record.ipv6 else [])
        for family_requests, target, is_v6 in ((v4, record.ipv4_pools, False), (v6, record.ipv6_pools, True)):
            for req in family_requests:
                alloc = ipam.request_pool(
                    space,
                    str(req.subnet or ""),
                    str(req.ip_range or ""),
                    self.owned(record.ipam_options, ipam, record.scope, record.id),
                    is_v6,
                )
                pool = PoolRecord(alloc.pool_id, alloc.pool, space, sub_pool=req.ip_range)
                target.append(pool)
                gw_opts = self.owned(
                    {netlabel.REQUEST_ADDRESS_TYPE: netlabel.GATEWAY_REQUEST}, ipam, record.scope, record.id
                )
                if netlabel.GATEWAY_REQUEST in alloc.data:
                    pool.gateway = ipam_request.with_prefix(
                        alloc.data[netlabel.GATEWAY_REQUEST].split("/")[0], alloc.pool
                    )
                else:
                    got = ipam.request_address(alloc.pool_id, str(req.gateway or ""), gw_opts)
                    pool.gateway = got.address if got is not None else None
                for aux_name, aux_ip in req.aux_addresses.items():
                    got = ipam.request_address(
                        alloc.pool_id, str(aux_ip), self.owned({}, ipam, record.scope, record.id)
                    )
                    if got is not None:
                        pool.aux_addresses[aux_name] = got.address

    @staticmethod
    def release_pools(record: NetworkRecord, ipam: IPAMRelay) -> None:
        for pool in record.ipv4_pools + record.ipv6_pools:
            for addr in [pool.gateway, *pool.aux_addresses.values()]:
                if addr is not None:
                    safely("release address", ignore_missing, ipam.release_address, pool.pool_id, str(addr.ip))
            safely("release pool", ignore_missing, ipam.release_pool, pool.pool_id)
        record.ipv4_pools, record.ipv6_pools = [], []

    def owned(self, options: Mapping[str, Any] | None, ipam: IPAMRelay, scope: str, object_id: str) -> dict[str, Any]:
        """``options`` with this instance and the object as the owner of what is requested, for an
        IPAM driver that keeps owners, on a global network: the cluster's IPAM commits at once,
        so a crash before the record names a pool or address would lose it; recovery finds it by
        its owner (:meth:`Recovery.reclaim_owned`)."""
        out = dict(options or {})
        if scope == Scope.GLOBAL.value and ipam.capabilities.keeps_owners:
            out[netlabel.IPAM_OWNER] = f"{self.core.instance_id}/{object_id}"
        return out

    def delete(self, network_id: str) -> None:
        core = self.core
        with core.lock:
            record, version = core.network(network_id)
            endpoints = core.endpoint_records(network_id)
            if endpoints:
                raise Forbidden(
                    f"network {record.name} id {record.id} has active endpoints"
                    f" ({', '.join(e.name for e in endpoints)}); disconnect them first"
                )
            relay = self.drivers.network(record.driver)
            record.state = State.DELETING
            core.commit([core.put(keys.network(network_id), record, version)])
            self.drivers.in_driver.pop(network_id, None)
            core.forget_network_view(network_id)
            # IPAM first, as libnetwork: a remote IPAM plugin hears ReleaseAddress(gateway) and
            # ReleasePool before the network driver hears DeleteNetwork
            self.release_pools(record, self.drivers.ipam(record.ipam_driver))
            ignore_missing(relay.delete_network, network_id)
            ignore_missing(relay.network_free, network_id)
            core.store.commit([Delete(keys.network(network_id)), Delete(keys.network_name(record.name))])
        core.events.emit("network.delete", network_id, record.name, driver=record.driver)

    def prune(self) -> list[str]:
        """Delete every network with no endpoints; returns their names."""
        removed = []
        for net in sorted(self.core.network_listing(), key=lambda n: n.name):
            if not self.core.endpoint_records(net.id):
                try:
                    self.delete(net.id)
                    removed.append(net.name)
                except CNMError as exc:
                    log.warning("prune: keeping network %s: %s", net.name, exc)
        return removed


def rolled_back_with_store(scope: str, ipam: IPAMRelay) -> bool:
    """Whether a rolled-back local transaction undid what ``ipam`` did on a network of ``scope``:
    its state is the local store's (the built-in IPAM on a local network); anything else (a remote
    IPAM, the cluster's address space) must be released by hand."""
    return scope == Scope.LOCAL.value and ipam.capabilities.state_in_store


def _check_known(
    driver: str, known: Sequence[str] | None, generic: Mapping[str, Any], aliases: Mapping[str, str]
) -> None:
    """Refuse an option the driver does not understand (Docker would ignore it silently, and a
    typo would go unnoticed), naming the ones it does, with their short names."""
    if known is None:
        return  # the driver takes any (a remote plugin)
    unknown = sorted(set(generic) - set(known) - set(CORE_OPTIONS))
    if not unknown:
        return
    short: dict[str, list[str]] = {}
    for alias, key in {**netlabel.ALIASES, **aliases}.items():
        short.setdefault(key, []).append(alias)
    listed = ", ".join(
        f"{key} ({', '.join(sorted(short[key]))})" if key in short else key for key in sorted({*known, *CORE_OPTIONS})
    )
    raise InvalidParameter(
        f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for driver {driver};"
        f" it knows: {listed or 'none'}"
    )
