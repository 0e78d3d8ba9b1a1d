"""Joining endpoints to sandboxes and leaving them, and the default gateway.

A join writes its intention ("joining") in one commit, asks the driver and the OS layer, and
writes the result with the sandbox's new gateway in a second: two fsyncs. ``connect`` creates
the endpoint and joins it under one lock with three in all; ``disconnect`` leaves and deletes
with three.
"""

from __future__ import annotations

import contextlib
from typing import Any

import attrs

from .. import labels, validate
from ..errors import Forbidden, Internal, InvalidParameter, NotFound
from ..records import EndpointRecord, Operation, SandboxRecord, State
from ..store import keys
from .core import IFNAME_MAX, Core, ignore_missing, safely
from .drivers import Drivers
from .endpoints import Endpoints
from .sandboxes import write_files

#: what :meth:`Joins.update_gateway` read: the sandbox's record and its joined endpoints'
Seen = tuple[SandboxRecord, list[EndpointRecord]]


class Joins:
    def __init__(self, core: Core, drivers: Drivers, endpoints: Endpoints) -> None:
        self.core = core
        self.drivers = drivers
        self.endpoints = endpoints

    # ---- the shortcuts ----------------------------------------------------------------------------

    def connect(self, network_id: str, sandbox_id: str, **endpoint_options: Any) -> EndpointRecord:
        """Create an endpoint named after the sandbox on the network and join it (``docker network
        connect``); an endpoint option ``name`` names it otherwise, ``ifname`` its interface in
        the sandbox (else the next free ``eth<N>``)."""
        core = self.core
        with core.lock:
            sb, _ = core.sandbox(sandbox_id)
            name = endpoint_options.pop("name", None) or sb.name
            ifname = endpoint_options.pop("ifname", None)
            with core.boot_scoped(sb.host_namespace), core.one_read():
                rec, version = self.endpoints.create(
                    network_id, name, anonymous=True, defer_ready=True, operation=Operation.CONNECT, **endpoint_options
                )
                try:
                    return self.join(network_id, rec.id, sandbox_id, pending=(rec, version), ifname=ifname)
                except BaseException:
                    safely("delete endpoint after a failed join", self.endpoints.delete, network_id, rec.id)
                    raise

    def disconnect(self, network_id: str, sandbox_id: str, force: bool = False) -> None:
        """Leave (and, if ``connect`` made it, delete) the sandbox's endpoint on the network."""
        core = self.core
        with core.lock:
            sb, _ = core.sandbox(sandbox_id)
            for endpoint_ref in sb.endpoints:
                nid, endpoint_id = keys.split_endpoint(endpoint_ref)
                if nid == network_id:
                    ep, _ = core.endpoint(nid, endpoint_id)
                    self.leave(nid, endpoint_id, sandbox_id, then_delete=ep.anonymous)
                    return
            if not force:
                raise NotFound(f"sandbox {sb.name} is not connected to network {core.network_view(network_id).name}")

    # ---- join -----------------------------------------------------------------------------------

    def join(
        self,
        network_id: str,
        endpoint_id: str,
        sandbox_id: str,
        pending: tuple[EndpointRecord, int] | None = None,
        ifname: str | None = None,
    ) -> EndpointRecord:
        """Join; ``pending`` is the record ``connect`` just made (still "creating", not re-read).
        Returns the endpoint's record as stored."""
        core, osl = self.core, self.core.osl
        from_creating = pending is not None
        with core.lock, core.one_read(), contextlib.ExitStack() as scope:
            ep, ep_ver = pending or core.endpoint(network_id, endpoint_id)
            sb, sb_ver = core.sandbox(sandbox_id)
            scope.enter_context(core.boot_scoped(sb.host_namespace))
            net = core.network_view(network_id)
            if ep.sandbox_id is not None:
                raise Forbidden(
                    f"endpoint {ep.name} is already joined to sandbox {core.sandbox_name(ep.sandbox_id)};"
                    " another container is attached to the same network endpoint"
                )
            if not (ep.state == State.READY or (from_creating and ep.state == State.CREATING)):
                raise Forbidden(f"endpoint {ep.name} is {State(ep.state).value}; try again")
            if sb.state != State.READY:
                raise Forbidden(f"sandbox {sb.name} is {State(sb.state).value}; try again")
            if sb.external and not core.namespace_live(sb):
                raise NotFound(f"the network namespace of sandbox {sb.name} ({sb.key}) is gone")
            if any(r.startswith(f"{network_id}/") for r in sb.endpoints):
                raise Forbidden(f"sandbox {sb.name} is already connected to network {net.name}")
            relay = self.drivers.network(net.driver)
            if relay.capabilities.host_namespace != sb.host_namespace:
                raise Forbidden(
                    f"sandbox {sb.name} cannot join network {net.name}: only sandboxes created with"
                    f" host_namespace=True join a {net.driver} network, and they join nothing else"
                )
            prefix = str(net.options.get(labels.GENERIC, {}).get(labels.CONTAINER_IFACE_PREFIX) or "eth")
            dst_name = self._chosen_ifname(sb, ifname) if ifname else self._next_ifname(sb, prefix)
            ep.state, ep.sandbox_id, ep.dst_name = State.JOINING, sb.id, dst_name
            ep.operation = Operation.CONNECT if from_creating else Operation.JOIN
            sb.endpoints.append(keys.endpoint_ref(network_id, endpoint_id))
            ep_key, sb_key = keys.endpoint(network_id, endpoint_id), keys.sandbox(sb.id)
            core.commit([core.put(ep_key, ep, ep_ver), core.put(sb_key, sb, sb_ver)])
            joined = attached = False
            try:
                info = relay.join(network_id, endpoint_id, sb.key, ep.options, dst_name)
                joined = True
                iface = info.interface_name
                index, gateways = None, []
                if iface is not None:
                    ep.dst_name = iface.dst_name or dst_name
                    if iface.created_in_sandbox and iface.src_name != ep.dst_name:
                        raise Internal(
                            f"driver {net.driver} created {iface.src_name} in sandbox {sb.name},"
                            f" but the name handed to it was {ep.dst_name}"
                        )
                    ep.src_name, ep.created_in_sandbox = iface.src_name, iface.created_in_sandbox
                    addrs = [a for a in (ep.address, ep.address_ipv6) if a is not None]
                    ipv6 = any(a.version == 6 for a in (*addrs, *info.configured_addresses))
                    if info.configured_addresses:  # the driver's own (a CNI plugin's IPAM): recorded, not added
                        for given in info.configured_addresses:
                            if given.version == 4 and ep.address is None:
                                ep.address, ep.join_addresses = given, True
                            elif given.version == 6 and ep.address_ipv6 is None:
                                ep.address_ipv6, ep.join_addresses = given, True
                        addrs = []
                    # the sandbox's first gateway: its default route goes in with the addresses
                    routed = sb.gateway_endpoint is None and not net.internal and not sb.host_namespace
                    gateways = [g for g in (info.gateway, info.gateway_ipv6) if g is not None] if routed else []
                    index = osl.attach(
                        sb.key,
                        src_name=iface.src_name,
                        dst_name=ep.dst_name,
                        created_in_sandbox=iface.created_in_sandbox,
                        addresses=addrs,
                        mac=ep.mac,
                        gateways=gateways,
                        ipv6=ipv6,
                    )
                    attached = True
                    if info.static_routes:
                        osl.add_routes(sb.key, ep.dst_name, info.static_routes, index=index)
                else:
                    ep.dst_name = None
                ep.gateway, ep.gateway_ipv6 = info.gateway, info.gateway_ipv6
                ep.static_routes = list(info.static_routes)
                ep.state, ep.operation = State.JOINED, Operation.NONE
                with core.store.transaction():
                    seen = self.update_gateway(
                        sb.id, routed=ep.id if index is not None and gateways else None, fresh=ep
                    )
                    # the files before the record that settles the join (on the cluster store it is
                    # settled as soon as it is put): a crash in between leaves "joining", which
                    # recovery undoes, rewriting the files
                    self.refresh_files(sb.id, seen)
                    core.write(ep_key, ep)
            except BaseException:
                if attached and not ep.created_in_sandbox and ep.dst_name and ep.src_name:
                    safely("detach interface", osl.detach, sb.key, dst_name=ep.dst_name, src_name=ep.src_name)
                if joined:
                    safely("leave in driver", relay.leave, network_id, endpoint_id)
                self.undo_join(
                    network_id,
                    endpoint_id,
                    sb.id,
                    state=State.CREATING if from_creating else State.READY,
                    operation=Operation.CONNECT if from_creating else Operation.NONE,
                )
                raise
        core.events.emit(
            "endpoint.join",
            endpoint_id,
            ep.name,
            network_id=network_id,
            sandbox_id=sb.id,
            network_name=net.name,
            driver=net.driver,
        )
        return ep

    def joined_records(self, sb: SandboxRecord, fresh: EndpointRecord | None = None) -> list[EndpointRecord]:
        """The records of the sandbox's endpoints, in join order; ``fresh``: one just written."""
        out = []
        for endpoint_ref in sb.endpoints:
            network_id, endpoint_id = keys.split_endpoint(endpoint_ref)
            if fresh is not None and endpoint_id == fresh.id:
                out.append(fresh)
                continue
            rec, _ = self.core.get(keys.endpoint(network_id, endpoint_id), EndpointRecord)
            if rec is not None:
                out.append(rec)
        return out

    def _chosen_ifname(self, sb: SandboxRecord, ifname: str) -> str:
        name = validate.ifname(ifname)
        if any(rec.dst_name == name for rec in self.joined_records(sb)):
            raise Forbidden(f"sandbox {sb.name} has an interface {name} already")
        return name

    def _next_ifname(self, sb: SandboxRecord, prefix: str) -> str:
        taken = {rec.dst_name for rec in self.joined_records(sb) if rec.dst_name}
        n = 0
        while f"{prefix}{n}" in taken:
            n += 1
        name = f"{prefix}{n}"
        if len(name.encode()) > IFNAME_MAX:
            raise InvalidParameter(
                f"interface name {name!r} is longer than {IFNAME_MAX} bytes; use a shorter container_iface_prefix"
            )
        return name

    def undo_join(
        self,
        network_id: str,
        endpoint_id: str,
        sandbox_id: str,
        state: State = State.READY,
        operation: Operation = Operation.NONE,
    ) -> None:
        """Forget a join in the store: the endpoint goes back to ``state`` (within ``operation``),
        the sandbox lets it go."""
        core = self.core
        ep, ep_ver = core.endpoint(network_id, endpoint_id)
        sb, sb_ver = core.get(keys.sandbox(sandbox_id), SandboxRecord)
        ep.state, ep.operation, ep.sandbox_id, ep.dst_name, ep.src_name = state, operation, None, None, None
        ep.created_in_sandbox, ep.gateway, ep.gateway_ipv6, ep.static_routes = False, None, None, []
        if ep.join_addresses:  # the driver gave them at the join: they go with it
            ep.address = ep.address_ipv6 = None
            ep.join_addresses = False
        ops = [core.put(keys.endpoint(network_id, endpoint_id), ep, ep_ver)]
        endpoint_ref = keys.endpoint_ref(network_id, endpoint_id)
        if sb is not None and endpoint_ref in sb.endpoints:
            sb.endpoints.remove(endpoint_ref)
            if sb.gateway_endpoint == endpoint_id:
                sb.gateway_endpoint = None
            ops.append(core.put(keys.sandbox(sandbox_id), sb, sb_ver))
        core.store.commit(ops)

    # ---- leave ----------------------------------------------------------------------------------

    def leave(self, network_id: str, endpoint_id: str, sandbox_id: str | None, then_delete: bool = False) -> None:
        """Take the endpoint out of its sandbox (``sandbox_id``, when given, must be the one);
        ``then_delete``: and delete it, as one operation (a ``disconnect``)."""
        core, osl = self.core, self.core.osl
        with core.lock, core.one_read(), contextlib.ExitStack() as scope:
            ep, ep_ver = core.endpoint(network_id, endpoint_id)
            if ep.sandbox_id is None:
                raise Forbidden(f"endpoint {ep.name} is not joined to any sandbox")
            if sandbox_id is not None and sandbox_id != ep.sandbox_id:
                raise Forbidden(
                    f"endpoint {ep.name} is joined to sandbox {core.sandbox_name(ep.sandbox_id)},"
                    f" not to {core.sandbox_name(sandbox_id)}"
                )
            net = core.network_view(network_id)
            relay = self.drivers.network(net.driver)
            sb, _ = core.get(keys.sandbox(ep.sandbox_id), SandboxRecord)
            # a leave need not reach the disk at once, unless a named endpoint is deleted with it
            durable = (sb is not None and sb.host_namespace) or (then_delete and not ep.anonymous)
            scope.enter_context(core.boot_scoped(durable))
            ep.state = State.LEAVING
            ep.operation = Operation.DISCONNECT if then_delete else Operation.LEAVE
            core.commit([core.put(keys.endpoint(network_id, endpoint_id), ep, ep_ver)])
            if sb is not None and sb.gateway_endpoint == endpoint_id:
                safely("revoke external connectivity", relay.revoke_external_connectivity, network_id, endpoint_id)
            # a sandbox being deleted loses its namespace, and the interfaces in it, at once; an
            # external one keeps its namespace (its runtime's), so the interface must come out
            in_sandbox = (
                sb.key
                if sb is not None and not sb.host_namespace and (sb.state == State.READY or sb.external)
                else None
            )
            if (
                sb is not None
                and in_sandbox
                and ep.dst_name
                and ep.src_name
                and not ep.created_in_sandbox
                and core.namespace_live(sb)
            ):
                safely("detach interface", osl.detach, in_sandbox, dst_name=ep.dst_name, src_name=ep.src_name)
            ignore_missing(relay.leave, network_id, endpoint_id)
            left_from = ep.sandbox_id
            with core.store.transaction():
                if sb is not None and sb.state == State.READY:
                    # the files without it first, as in a join: the records that settle the leave
                    # come after (on the cluster store the endpoint's is settled at once)
                    gone = keys.endpoint_ref(network_id, endpoint_id)
                    staying = [r for r in self.joined_records(sb) if r.id != endpoint_id]
                    write_files(
                        core,
                        attrs.evolve(sb, endpoints=[r for r in sb.endpoints if r != gone]),
                        staying,
                        dns=self._with_dns(staying),
                    )
                self.undo_join(
                    network_id,
                    endpoint_id,
                    left_from,
                    state=State.DELETING if then_delete else State.READY,
                    operation=Operation.DISCONNECT if then_delete else Operation.NONE,
                )
                if sb is not None:
                    self.update_gateway(left_from)
            core.events.emit(
                "endpoint.leave",
                endpoint_id,
                ep.name,
                network_id=network_id,
                sandbox_id=left_from,
                network_name=net.name,
                driver=net.driver,
            )
            if then_delete:
                self.endpoints.finish_delete(net, network_id, endpoint_id)

    def refresh_files(self, sandbox_id: str, seen: Seen | None = None) -> None:
        """Rewrite the sandbox's hosts and resolv.conf; ``seen``: its record and joined endpoints'
        as :meth:`update_gateway` just read them."""
        if seen is None:
            sb, _ = self.core.sandbox(sandbox_id)
            seen = sb, self.joined_records(sb)
        write_files(self.core, *seen, dns=self._with_dns(seen[1]))

    def _with_dns(self, endpoints: list[EndpointRecord]) -> bool:
        """Whether one of the endpoints is on a network whose driver gives the embedded DNS."""
        for ep in endpoints:
            net = self.core.network_view(ep.network_id)
            if self.drivers.network(net.driver).capabilities.dns:
                return True
        return False

    # ---- the default gateway --------------------------------------------------------------------

    def update_gateway(
        self, sandbox_id: str, routed: str | None = None, fresh: EndpointRecord | None = None
    ) -> Seen | None:
        """Give the default route to the first joined endpoint (join order) that has a gateway.

        libnetwork's rule: internal networks never provide it. The endpoint that gets it also gets
        the driver's external connectivity; the one that loses it has it revoked. A sandbox being
        deleted only has connectivity revoked: its namespace is gone. ``routed`` names an endpoint
        whose default routes the join already set; ``fresh`` one whose record was just written
        (it is not read again). Returns the sandbox's record and its joined endpoints' as read
        (None for a host-namespace sandbox).
        """
        core = self.core
        sb, sb_ver = core.sandbox(sandbox_id)
        if sb.host_namespace:
            return None
        records = self.joined_records(sb, fresh)
        eps = [e for e in records if e.state == State.JOINED]
        owner = None
        if sb.state == State.READY:
            for ep in eps:
                net = core.network_view(ep.network_id)
                if not net.internal and (ep.gateway or ep.gateway_ipv6) and ep.dst_name:
                    owner = ep
                    break
        current = sb.gateway_endpoint
        if owner is not None and owner.id == current:
            return sb, records
        if current is not None:
            old = next((e for e in eps if e.id == current), None)
            if old is not None:
                old_net = core.network_view(old.network_id)
                safely(
                    "revoke external connectivity",
                    self.drivers.network(old_net.driver).revoke_external_connectivity,
                    old.network_id,
                    old.id,
                )
                self._clear_gateway(sb, old)
        sb.gateway_endpoint = None
        if owner is not None and owner.dst_name:
            net = core.network_view(owner.network_id)
            if owner.id != routed:  # ``routed``: its default routes went in with its addresses
                for gw in (owner.gateway, owner.gateway_ipv6):
                    if gw is not None:
                        core.osl.set_default_gateway(sb.key, owner.dst_name, gw)
            self.drivers.network(net.driver).program_external_connectivity(owner.network_id, owner.id, owner.options)
            sb.gateway_endpoint = owner.id
        if sb.gateway_endpoint != current:
            core.commit([core.put(keys.sandbox(sandbox_id), sb, sb_ver)])
        return sb, records

    def _clear_gateway(self, sb: SandboxRecord, ep: EndpointRecord) -> None:
        if sb.state != State.READY or not self.core.namespace_live(sb):
            return
        for gw in (ep.gateway, ep.gateway_ipv6):
            if gw is not None:
                safely("remove default route", self.core.osl.clear_default_gateway, sb.key, gw.version)
