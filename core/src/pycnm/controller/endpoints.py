"""Creating and deleting endpoints, and their addresses."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .. import labels, ports, validate
from .._relay import IPAMRelay
from ..errors import CNMError, Forbidden, Internal, InvalidParameter, StaleVersion
from ..model import EndpointInterface, Scope
from ..records import EndpointRecord, NetworkRecord, Operation, State
from ..store import Delete, Put, keys
from .core import Core, ignore_missing, log, new_id, safely
from .drivers import Drivers
from .networks import Networks, rolled_back_with_store


class Endpoints:
    def __init__(self, core: Core, drivers: Drivers, networks: Networks) -> None:
        self.core = core
        self.drivers = drivers
        self.networks = networks  # for the owners of what IPAM hands out on global networks

    def create(
        self,
        network_id: str,
        name: str,
        *,
        ip: str | None = None,
        ip6: str | None = None,
        mac: str | None = None,
        aliases: Sequence[str] | None = (),
        options: Mapping[str, Any] | None = None,
        publish: Sequence[str] = (),
        anonymous: bool = False,
        defer_ready: bool = False,
        operation: Operation = Operation.CREATE,
    ) -> tuple[EndpointRecord, int]:
        """Create an endpoint; returns its record and store version.

        The name, the addresses and the record are written in one transaction before the driver
        is asked (one fsync); the record becomes "ready" after it answers, unless ``defer_ready``
        leaves that to the join that follows (``connect``), which saves a second fsync.
        """
        core = self.core
        validate.name("endpoint", name)
        mac = validate.mac(mac) if mac not in (None, "") else None
        aliases = [validate.alias(a) for a in ([] if aliases is None else _listed("aliases", aliases))]
        bindings = ports.parse_all(publish)
        with core.lock:
            net = core.network_view(network_id)
            if net.state != State.READY:
                raise Forbidden(f"network {net.name} is being {State(net.state).value.rstrip('ing')}ed; try again")
            relay = self.drivers.network(net.driver)
            if net.scope == Scope.GLOBAL.value:
                self.drivers.ensure_knows(net, relay)  # made on another host: new to this one's driver
            ipam = self.drivers.ipam(net.ipam_driver)
            opts = labels.normalize(validate.driver_options(options))
            if mac:
                opts[labels.MAC_ADDRESS] = mac
            if bindings:
                opts[labels.PORT_MAP] = ports.to_wire(bindings)
                opts[labels.EXPOSED_PORTS] = [{"Proto": p["Proto"], "Port": p["Port"]} for p in ports.to_wire(bindings)]
            rec = EndpointRecord(
                id=new_id(),
                name=name,
                network_id=network_id,
                mac=mac,
                aliases=list(aliases),
                options=opts,
                anonymous=anonymous,
                owner=core.instance_id,
                operation=operation,
            )
            key = keys.endpoint(network_id, rec.id)
            name_key = keys.endpoint_name(network_id, name)
            if core.store.get(name_key) is not None:  # before any address is taken for it
                raise Forbidden(f"endpoint with name {name} already exists in network {net.name}")
            try:
                # addresses first, so that the record and its name are one commit (on the cluster
                # store, where a transaction groups nothing, one round trip fewer)
                with core.store.transaction():
                    self._allocate_addresses(net, rec, ipam, ip, ip6)
                    try:
                        version = core.store.commit([Put(name_key, rec.id.encode(), 0), core.put(key, rec, 0)])
                    except StaleVersion:
                        raise Forbidden(f"endpoint with name {name} already exists in network {net.name}") from None
            except BaseException:
                # the local store rolled back (the built-in IPAM's bits with it); an IPAM driver with
                # state of its own, or the cluster store (global networks), did not: undo there
                if not rolled_back_with_store(net.scope, ipam):
                    self.release_addresses(rec, ipam)
                safely("remove endpoint records", core.delete_named, key, name_key, rec.id)
                raise
            in_driver = False
            try:
                given = EndpointInterface(rec.address, rec.address_ipv6, rec.mac)
                answer = relay.create_endpoint(network_id, rec.id, given, opts)
                in_driver = True
                if answer is not None:
                    for fld in ("address", "address_ipv6", "mac_address"):
                        mine, theirs = getattr(given, fld), getattr(answer, fld)
                        if mine is not None and theirs is not None and mine != theirs:
                            raise Internal(
                                f"driver {net.driver} modified interface {fld} of endpoint {name}"
                                f" ({mine} -> {theirs}); rolled back"
                            )
                    rec.address = rec.address or answer.address
                    rec.address_ipv6 = rec.address_ipv6 or answer.address_ipv6
                    rec.mac = rec.mac or answer.mac_address
                if not defer_ready:
                    rec.state, rec.operation = State.READY, Operation.NONE
                    version = core.write(key, rec)
            except BaseException:
                if in_driver:
                    safely("delete endpoint in driver", relay.delete_endpoint, network_id, rec.id)
                with core.store.transaction():
                    self.release_addresses(rec, ipam)
                    core.store.commit([Delete(key), Delete(name_key)])
                raise
        core.events.emit("endpoint.create", rec.id, name, network_id=network_id)
        return rec, version

    def _allocate_addresses(
        self, net: NetworkRecord, rec: EndpointRecord, ipam: IPAMRelay, ip: str | None, ip6: str | None
    ) -> None:
        options: dict[str, Any] = self.networks.owned({}, ipam, net.scope, rec.id)
        if ipam.capabilities.requires_mac_address:
            # the IPAM driver wants the MAC with each request (Docker makes one up first if needed)
            rec.mac = rec.mac or "02:42:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(4))
            options[labels.MAC_ADDRESS] = rec.mac
        for pools, wanted, v6 in ((net.ipv4_pools, ip, False), (net.ipv6_pools, ip6, True)):
            if wanted:
                try:
                    want = ipaddress.ip_address(str(wanted).split("/")[0])
                except ValueError:
                    raise InvalidParameter(f"invalid {'ip6' if v6 else 'ip'} {wanted!r}: not an IP address") from None
                if want.version != (6 if v6 else 4):
                    raise InvalidParameter(
                        f"invalid {'ip6' if v6 else 'ip'} {wanted}: expected an IPv{6 if v6 else 4} address"
                    )
                owner = next((p for p in pools if want in p.pool), None)
                if owner is None:
                    raise InvalidParameter(
                        f"invalid address {want}: it is not in any subnet of network {net.name}"
                        f" ({', '.join(str(p.pool) for p in pools) or 'none'})"
                    )
                got = ipam.request_address(owner.pool_id, str(want), options)
                chosen = owner
            else:
                got, chosen = None, None
                for pool in pools:
                    try:
                        got = ipam.request_address(pool.pool_id, "", options)
                        chosen = pool
                        break
                    except CNMError as exc:
                        if pool is pools[-1]:
                            raise
                        log.debug("pool %s: %s; trying the next", pool.pool_id, exc)
            if got is None or chosen is None:
                continue
            # the pool's family decides the field; IPAM types an address as either (hence the ignores)
            if v6:
                rec.address_ipv6, rec.address_ipv6_pool = got.address, chosen.pool_id  # type: ignore[assignment]
            else:
                rec.address, rec.address_pool = got.address, chosen.pool_id  # type: ignore[assignment]

    @staticmethod
    def release_addresses(rec: EndpointRecord, ipam: IPAMRelay) -> None:
        for address, pool in ((rec.address, rec.address_pool), (rec.address_ipv6, rec.address_ipv6_pool)):
            if address is not None and pool:
                safely("release address", ignore_missing, ipam.release_address, pool, str(address.ip))
        rec.address = rec.address_ipv6 = None

    def delete(self, network_id: str, endpoint_id: str) -> None:
        """Delete an endpoint that is not joined (a joined one leaves first: ``Joins.leave``)."""
        core = self.core
        with core.lock:
            rec, version = core.endpoint(network_id, endpoint_id)
            if rec.sandbox_id is not None:
                raise Forbidden(
                    f"endpoint with name {rec.name} id {rec.id} has active containers"
                    f" (sandbox {core.sandbox_name(rec.sandbox_id)}); leave it first or use force"
                )
            net, _ = core.network(network_id)
            rec.state, rec.operation = State.DELETING, Operation.DELETE
            core.commit([core.put(keys.endpoint(network_id, endpoint_id), rec, version)])
            self.finish_delete(net, network_id, endpoint_id)

    def finish_delete(self, net: NetworkRecord, network_id: str, endpoint_id: str) -> None:
        """The driver forgets the endpoint; then its addresses and records go in one transaction."""
        core = self.core
        rec, _ = core.endpoint(network_id, endpoint_id)
        ignore_missing(self.drivers.network(net.driver).delete_endpoint, network_id, endpoint_id)
        with core.store.transaction():
            self.release_addresses(rec, self.drivers.ipam(net.ipam_driver))
            core.store.commit(
                [Delete(keys.endpoint(network_id, endpoint_id)), Delete(keys.endpoint_name(network_id, rec.name))]
            )
        core.events.emit("endpoint.delete", endpoint_id, rec.name, network_id=network_id)

    def oper_info(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        net, _ = self.core.network(network_id)
        return dict(self.drivers.network(net.driver).endpoint_oper_info(network_id, endpoint_id) or {})


def _listed(field: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise InvalidParameter(f"invalid {field} {values!r}: expected a list of names, not one string")
    return list(values)
