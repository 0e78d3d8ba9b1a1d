"""Creating and deleting endpoints, and their addresses."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .. import codec, ports, validate
from .._relay import IPAMRelay
from ..errors import CNMError, Forbidden, Internal, InvalidParameter, StaleVersion
from ..model import EndpointInterface, Scope
from ..model import mac as parse_mac
from ..records import EndpointRecord, NetworkRecord, Operation, SandboxRecord, State
from ..store import Delete, Put
from ._base import (
    _check_name,
    _ignore_missing,
    _new_id,
    _safely,
    _valid_ip,
    labels_mod,
    log,
)
from .handles import Endpoint


class Endpoints:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- endpoints ------------------------------------------------------------------------------

    def _create_endpoint(self, network_id: str, name: str, **options: Any) -> Endpoint:
        rec, _version = self._make_endpoint(network_id, name, **options)
        return Endpoint(self, rec)

    def _make_endpoint(
        self,
        network_id: str,
        name: str,
        *,
        ip: str | None = None,
        ip6: str | None = None,
        mac: str | None = None,
        aliases: Sequence[str] = (),
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
        _check_name("endpoint", name)
        mac = parse_mac(mac)
        aliases = [validate.alias(a) for a in ([] if aliases is None else _listed("aliases", aliases))]
        bindings = ports.parse_all(publish)
        with self._lock:
            net = self._network_view(network_id)
            if net.state != State.READY:
                raise Forbidden(f"network {net.name} is being {State(net.state).value.rstrip('ing')}ed; try again")
            relay = self.network_driver(net.driver)
            if net.scope == Scope.GLOBAL.value:
                self._ensure_in_driver(net, relay)  # made on another host: new to this one's driver
            ipam = self.ipam_driver(net.ipam_driver)
            opts = labels_mod.normalize(options)
            if mac:
                opts[labels_mod.MAC_ADDRESS] = mac
            if bindings:
                opts[labels_mod.PORT_MAP] = ports.to_wire(bindings)
                opts[labels_mod.EXPOSED_PORTS] = [{"Proto": p["Proto"], "Port": p["Port"]}
                                                  for p in ports.to_wire(bindings)]
            rec = EndpointRecord(id=_new_id(), name=name, network_id=network_id, mac=mac,
                                 aliases=list(aliases), options=opts, anonymous=anonymous, owner=self.instance_id,
                                 operation=operation)
            key = f"endpoints/{network_id}/{rec.id}"
            name_key = f"names/endpoints/{network_id}/{name}"
            if self.store.get(name_key) is not None:  # before any address is taken for it
                raise Forbidden(f"endpoint with name {name} already exists in network {net.name}")
            try:
                # addresses first, so that the record and its name are one commit (on the cluster
                # store, where a transaction groups nothing, one round trip fewer)
                with self.store.transaction():
                    self._allocate_addresses(net, rec, ipam, ip, ip6)
                    try:
                        version = self.store.commit([Put(name_key, rec.id.encode(), 0), self._put(key, rec, 0)])
                    except StaleVersion:
                        raise Forbidden(f"endpoint with name {name} already exists in network {net.name}") from None
            except BaseException:
                # the local store rolled back (the built-in IPAM's bits with it); an IPAM driver with
                # state of its own, or the cluster store (global networks), did not: undo there
                if not self._rolled_back_with_store(net, ipam):
                    self._release_addresses(rec, ipam)
                _safely("remove endpoint records", self._drop_new_endpoint_records, key, name_key, rec.id)
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
                            raise Internal(f"driver {net.driver} modified interface {fld} of endpoint {name}"
                                           f" ({mine} -> {theirs}); rolled back")
                    rec.address = rec.address or answer.address
                    rec.address_ipv6 = rec.address_ipv6 or answer.address_ipv6
                    rec.mac = rec.mac or answer.mac_address
                if not defer_ready:
                    rec.state, rec.operation = State.READY, Operation.NONE
                    version = self.store.put(key, codec.dumps(rec))
            except BaseException:
                if in_driver:
                    _safely("delete endpoint in driver", relay.delete_endpoint, network_id, rec.id)
                with self.store.transaction():
                    self._release_addresses(rec, ipam)
                    self.store.commit([Delete(key), Delete(name_key)])
                raise
        self._events.emit("endpoint.create", rec.id, name, network_id=network_id)
        return rec, version

    def _drop_new_endpoint_records(self, key: str, name_key: str, endpoint_id: str) -> None:
        """Remove what a failed creation may have committed: its record, and its name only if
        the name is its own (a taken name is another endpoint's)."""
        ops = [Delete(key)]
        named = self.store.get(name_key)
        if named is not None and named.value == endpoint_id.encode():
            ops.append(Delete(name_key, named.version))
        self.store.commit(ops)

    def _allocate_addresses(self, net: NetworkRecord, rec: EndpointRecord, ipam: IPAMRelay,
                            ip: str | None, ip6: str | None) -> None:
        options: dict[str, str] = self._owned({}, ipam, net.scope, rec.id)
        if ipam.capabilities.requires_mac_address:
            # the IPAM driver wants the MAC with each request (Docker makes one up first if needed)
            rec.mac = rec.mac or "02:42:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(4))
            options[labels_mod.MAC_ADDRESS] = rec.mac
        for pools, wanted, v6 in ((net.ipv4_pools, ip, False), (net.ipv6_pools, ip6, True)):
            if wanted:
                want = ipaddress.ip_address(str(wanted).split("/")[0]) if _valid_ip(wanted) else None
                if want is None:
                    raise InvalidParameter(f"invalid {'ip6' if v6 else 'ip'} {wanted!r}: not an IP address")
                if want.version != (6 if v6 else 4):
                    raise InvalidParameter(f"invalid {'ip6' if v6 else 'ip'} {wanted}: expected an IPv{6 if v6 else 4} address")
                owner = next((p for p in pools if want in p.pool), None)
                if owner is None:
                    raise InvalidParameter(f"invalid address {want}: it is not in any subnet of network {net.name}"
                                           f" ({', '.join(str(p.pool) for p in pools) or 'none'})")
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
            if got is None:
                continue
            if v6:
                rec.address_ipv6, rec.address_ipv6_pool = got.address, chosen.pool_id
            else:
                rec.address, rec.address_pool = got.address, chosen.pool_id

    def _release_addresses(self, rec: EndpointRecord, ipam: IPAMRelay) -> None:
        for address, pool in ((rec.address, rec.address_pool), (rec.address_ipv6, rec.address_ipv6_pool)):
            if address is not None and pool:
                _safely("release address", _ignore_missing, ipam.release_address, pool, str(address.ip))
        rec.address = rec.address_ipv6 = None

    def _delete_endpoint(self, network_id: str, endpoint_id: str, force: bool = False) -> None:
        with self._lock:
            rec, version = self._load_endpoint(network_id, endpoint_id)
            if rec.sandbox_id is not None:
                if not force:
                    sb_name = self._sandbox_name(rec.sandbox_id)
                    raise Forbidden(f"endpoint with name {rec.name} id {rec.id} has active containers"
                                    f" (sandbox {sb_name}); leave it first or use force")
                self._leave(network_id, endpoint_id, None, then_delete=True)
                return
            net, _ = self._load_network(network_id)
            rec.state, rec.operation = State.DELETING, Operation.DELETE
            self._commit([self._put(f"endpoints/{network_id}/{endpoint_id}", rec, version)])
            self._finish_delete_endpoint(net, network_id, endpoint_id)
        self._events.emit("endpoint.delete", endpoint_id, rec.name, network_id=network_id)

    def _finish_delete_endpoint(self, net: NetworkRecord, network_id: str, endpoint_id: str) -> None:
        """The driver forgets the endpoint; then its addresses and records go in one transaction."""
        rec, _ = self._load_endpoint(network_id, endpoint_id)
        _ignore_missing(self.network_driver(net.driver).delete_endpoint, network_id, endpoint_id)
        with self.store.transaction():
            self._release_addresses(rec, self.ipam_driver(net.ipam_driver))
            self.store.commit([Delete(f"endpoints/{network_id}/{endpoint_id}"),
                               Delete(f"names/endpoints/{network_id}/{rec.name}")])

    def _oper_info(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        net, _ = self._load_network(network_id)
        return self.network_driver(net.driver).endpoint_oper_info(network_id, endpoint_id)

    def _sandbox_name(self, sandbox_id: str) -> str:
        rec, _ = self._get(f"sandboxes/{sandbox_id}", SandboxRecord)
        return rec.name if rec else sandbox_id[:12]



def _listed(field: str, values) -> list:
    if isinstance(values, (str, bytes)):
        raise InvalidParameter(f"invalid {field} {values!r}: expected a list of names, not one string")
    return list(values)
