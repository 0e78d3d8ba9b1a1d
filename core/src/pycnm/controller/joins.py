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

from .. import codec
from ..errors import Forbidden, Internal, InvalidParameter, NotFound
from ..osl import interfaces, netns
from ..records import EndpointRecord, Operation, SandboxRecord, State
from ._base import IFNAME_MAX, _ignore_missing, _safely, labels_mod
from .handles import Endpoint, Network, Sandbox


def ref(network_id: str, endpoint_id: str) -> str:
    """How a sandbox record names one of its endpoints."""
    return f"{network_id}/{endpoint_id}"


class Joins:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- the shortcuts ----------------------------------------------------------------------------

    def connect(self, network: Network | str, sandbox: Sandbox | str, **endpoint_options: Any) -> Endpoint:
        """Create an endpoint named after the sandbox on ``network`` and join it (``docker network connect``)."""
        net = self.network(network) if not isinstance(network, Network) else network
        sb = self.sandbox(sandbox) if not isinstance(sandbox, Sandbox) else sandbox
        name = endpoint_options.pop("name", None) or sb.name
        with self._lock, self._boot_scoped(sb._record.host_namespace), self._one_read():
            rec, version = self._make_endpoint(net.id, name, anonymous=True, defer_ready=True,
                                               operation=Operation.CONNECT, **endpoint_options)
            try:
                joined = self._join(net.id, rec.id, sb, pending=(rec, version))
            except BaseException:
                _safely("delete endpoint after a failed join", self._delete_endpoint, net.id, rec.id)
                raise
            return Endpoint(self, joined)

    def disconnect(self, network: Network | str, sandbox: Sandbox | str, force: bool = False) -> None:
        """Leave (and, if ``connect`` made it, delete) the sandbox's endpoint on ``network``."""
        with self._lock:
            net = self.network(network) if not isinstance(network, Network) else network
            sb = self.sandbox(sandbox) if not isinstance(sandbox, Sandbox) else sandbox
            for endpoint_ref in self._load_sandbox(sb.id)[0].endpoints:  # the handle may be older
                network_id, endpoint_id = endpoint_ref.split("/")
                if network_id == net.id:
                    ep, _ = self._load_endpoint(network_id, endpoint_id)
                    self._leave(network_id, endpoint_id, sb.id, then_delete=ep.anonymous)
                    return
            if not force:
                raise NotFound(f"sandbox {sb.name} is not connected to network {net.name}")

    # ---- join -----------------------------------------------------------------------------------

    def _join(self, network_id: str, endpoint_id: str, sandbox: Sandbox | str,
              pending: tuple[EndpointRecord, int] | None = None) -> EndpointRecord:
        """Join; ``pending`` is the record ``connect`` just made (still "creating", not re-read).
        Returns the endpoint's record as stored."""
        from_creating = pending is not None
        with self._lock, self._one_read(), contextlib.ExitStack() as scope:
            sb_handle = self.sandbox(sandbox) if not isinstance(sandbox, Sandbox) else sandbox
            ep, ep_ver = pending or self._load_endpoint(network_id, endpoint_id)
            sb, sb_ver = self._load_sandbox(sb_handle.id)
            scope.enter_context(self._boot_scoped(sb.host_namespace))
            net = self._network_view(network_id)
            if ep.sandbox_id is not None:
                raise Forbidden(f"endpoint {ep.name} is already joined to sandbox {self._sandbox_name(ep.sandbox_id)};"
                                " another container is attached to the same network endpoint")
            if not (ep.state == State.READY or (from_creating and ep.state == State.CREATING)):
                raise Forbidden(f"endpoint {ep.name} is {State(ep.state).value}; try again")
            if sb.state != State.READY:
                raise Forbidden(f"sandbox {sb.name} is {State(sb.state).value}; try again")
            if any(r.startswith(f"{network_id}/") for r in sb.endpoints):
                raise Forbidden(f"sandbox {sb.name} is already connected to network {net.name}")
            if (net.driver == "host") != sb.host_namespace:
                raise Forbidden(
                    f"sandbox {sb.name} cannot join network {net.name}: only sandboxes created with"
                    " host_namespace=True join the host network, and they join nothing else"
                )
            relay = self.network_driver(net.driver)
            prefix = str(net.options.get(labels_mod.GENERIC, {}).get(labels_mod.CONTAINER_IFACE_PREFIX) or "eth")
            dst_name = self._next_ifname(sb, prefix)
            ep.state, ep.sandbox_id, ep.dst_name = State.JOINING, sb.id, dst_name
            ep.operation = Operation.CONNECT if from_creating else Operation.JOIN
            sb.endpoints.append(ref(network_id, endpoint_id))
            ep_key, sb_key = f"endpoints/{network_id}/{endpoint_id}", f"sandboxes/{sb.id}"
            self._commit([self._put(ep_key, ep, ep_ver), self._put(sb_key, sb, sb_ver)])
            joined = attached = False
            try:
                info = relay.join(network_id, endpoint_id, sb.key, ep.options, dst_name)
                joined = True
                iface = info.interface_name
                index, gateways = None, []
                if iface is not None:
                    ep.dst_name = iface.dst_name or dst_name
                    if iface.created_in_sandbox and iface.src_name != ep.dst_name:
                        raise Internal(f"driver {net.driver} created {iface.src_name} in sandbox {sb.name},"
                                       f" but the name handed to it was {ep.dst_name}")
                    ep.src_name, ep.created_in_sandbox = iface.src_name, iface.created_in_sandbox
                    addrs = [a for a in (ep.address, ep.address_ipv6) if a is not None]
                    # the sandbox's first gateway: its default route goes in with the addresses
                    routed = sb.gateway_endpoint is None and not net.internal and not sb.host_namespace
                    gateways = [g for g in (info.gateway, info.gateway_ipv6) if g is not None] if routed else []
                    index = interfaces.attach(sb.key, src_name=iface.src_name, dst_name=ep.dst_name,
                                              created_in_sandbox=iface.created_in_sandbox, addresses=addrs, mac=ep.mac,
                                              gateways=gateways)
                    attached = True
                    if info.static_routes:
                        interfaces.add_routes(sb.key, ep.dst_name, info.static_routes, index=index)
                else:
                    ep.dst_name = None
                ep.gateway, ep.gateway_ipv6 = info.gateway, info.gateway_ipv6
                ep.static_routes = list(info.static_routes)
                ep.state, ep.operation = State.JOINED, Operation.NONE
                with self.store.transaction():
                    seen = self._update_gateway(sb.id, routed=ep.id if index is not None and gateways else None,
                                                fresh=ep)
                    # the files before the record that settles the join (on the cluster store it is
                    # settled as soon as it is put): a crash in between leaves "joining", which
                    # recovery undoes, rewriting the files
                    self._refresh_dns(sb.id, seen)
                    self.store.put(ep_key, codec.dumps(ep))
            except BaseException:
                if attached:
                    _safely("detach interface", interfaces.detach, sb.key, dst_name=ep.dst_name,
                            src_name=ep.src_name, created_in_sandbox=ep.created_in_sandbox)
                if joined:
                    _safely("leave in driver", relay.leave, network_id, endpoint_id)
                self._undo_join(network_id, endpoint_id, sb.id,
                                state=State.CREATING if from_creating else State.READY,
                                operation=Operation.CONNECT if from_creating else Operation.NONE)
                raise
        self._events.emit("endpoint.join", endpoint_id, ep.name, network_id=network_id, sandbox_id=sb.id)
        return ep

    def _joined_records(self, sb: SandboxRecord, fresh: EndpointRecord | None = None) -> list[EndpointRecord]:
        """The records of the sandbox's endpoints, in join order; ``fresh``: one just written."""
        out = []
        for endpoint_ref in sb.endpoints:
            network_id, endpoint_id = endpoint_ref.split("/")
            if fresh is not None and endpoint_id == fresh.id:
                out.append(fresh)
                continue
            rec, _ = self._get(f"endpoints/{network_id}/{endpoint_id}", EndpointRecord)
            if rec is not None:
                out.append(rec)
        return out

    def _next_ifname(self, sb: SandboxRecord, prefix: str) -> str:
        taken = {rec.dst_name for rec in self._joined_records(sb) if rec.dst_name}
        n = 0
        while f"{prefix}{n}" in taken:
            n += 1
        name = f"{prefix}{n}"
        if len(name.encode()) > IFNAME_MAX:
            raise InvalidParameter(f"interface name {name!r} is longer than {IFNAME_MAX} bytes; use a shorter"
                                   " container_iface_prefix")
        return name

    def _undo_join(self, network_id: str, endpoint_id: str, sandbox_id: str, state: State = State.READY,
                   operation: Operation = Operation.NONE) -> None:
        """Forget a join in the store: the endpoint goes back to ``state`` (within ``operation``),
        the sandbox lets it go."""
        ep, ep_ver = self._load_endpoint(network_id, endpoint_id)
        sb, sb_ver = self._get(f"sandboxes/{sandbox_id}", SandboxRecord)
        ep.state, ep.operation, ep.sandbox_id, ep.dst_name, ep.src_name = state, operation, None, None, None
        ep.created_in_sandbox, ep.gateway, ep.gateway_ipv6, ep.static_routes = False, None, None, []
        ops = [self._put(f"endpoints/{network_id}/{endpoint_id}", ep, ep_ver)]
        endpoint_ref = ref(network_id, endpoint_id)
        if sb is not None and endpoint_ref in sb.endpoints:
            sb.endpoints.remove(endpoint_ref)
            if sb.gateway_endpoint == endpoint_id:
                sb.gateway_endpoint = None
            ops.append(self._put(f"sandboxes/{sandbox_id}", sb, sb_ver))
        self.store.commit(ops)

    # ---- leave ----------------------------------------------------------------------------------

    def _leave(self, network_id: str, endpoint_id: str, sandbox: Sandbox | str | None,
               then_delete: bool = False) -> None:
        with self._lock, self._one_read(), contextlib.ExitStack() as scope:
            ep, ep_ver = self._load_endpoint(network_id, endpoint_id)
            if ep.sandbox_id is None:
                raise Forbidden(f"endpoint {ep.name} is not joined to any sandbox")
            if sandbox is not None:
                want = sandbox.id if isinstance(sandbox, Sandbox) else self.sandbox(sandbox).id
                if want != ep.sandbox_id:
                    raise Forbidden(f"endpoint {ep.name} is joined to sandbox {self._sandbox_name(ep.sandbox_id)},"
                                    f" not to {self._sandbox_name(want)}")
            net = self._network_view(network_id)
            relay = self.network_driver(net.driver)
            sb, _ = self._get(f"sandboxes/{ep.sandbox_id}", SandboxRecord)
            # a leave need not reach the disk at once, unless a named endpoint is deleted with it
            durable = (sb is not None and sb.host_namespace) or (then_delete and not ep.anonymous)
            scope.enter_context(self._boot_scoped(durable))
            ep.state = State.LEAVING
            ep.operation = Operation.DISCONNECT if then_delete else Operation.LEAVE
            self._commit([self._put(f"endpoints/{network_id}/{endpoint_id}", ep, ep_ver)])
            if sb is not None and sb.gateway_endpoint == endpoint_id:
                _safely("revoke external connectivity", relay.revoke_external_connectivity, network_id, endpoint_id)
            in_sandbox = sb is not None and sb.state == State.READY and not sb.host_namespace
            if in_sandbox and ep.dst_name and not ep.created_in_sandbox and netns.is_namespace(sb.key):
                _safely("detach interface", interfaces.detach, sb.key, dst_name=ep.dst_name,
                        src_name=ep.src_name, created_in_sandbox=ep.created_in_sandbox)
            _ignore_missing(relay.leave, network_id, endpoint_id)
            sandbox_id = ep.sandbox_id
            with self.store.transaction():
                if sb is not None and sb.state == State.READY:
                    # the files without it first, as in a join: the records that settle the leave
                    # come after (on the cluster store the endpoint's is settled at once)
                    gone = ref(network_id, endpoint_id)
                    self._write_dns_files(attrs.evolve(sb, endpoints=[r for r in sb.endpoints if r != gone]),
                                          [r for r in self._joined_records(sb) if r.id != endpoint_id])
                self._undo_join(network_id, endpoint_id, sandbox_id,
                                state=State.DELETING if then_delete else State.READY,
                                operation=Operation.DISCONNECT if then_delete else Operation.NONE)
                if sb is not None:
                    self._update_gateway(sandbox_id)
            if then_delete:
                self._finish_delete_endpoint(net, network_id, endpoint_id)
        self._events.emit("endpoint.leave", endpoint_id, ep.name, network_id=network_id, sandbox_id=sandbox_id)
        if then_delete:
            self._events.emit("endpoint.delete", endpoint_id, ep.name, network_id=network_id)

    def _refresh_dns(self, sandbox_id: str, seen: tuple | None = None) -> None:
        """Rewrite the sandbox's hosts and resolv.conf; ``seen``: its record and joined endpoints'
        as :meth:`_update_gateway` just read them."""
        sb, records = seen or (None, None)
        if sb is None:
            sb, _ = self._load_sandbox(sandbox_id)
            records = self._joined_records(sb)
        self._write_dns_files(sb, records)

    # ---- the default gateway --------------------------------------------------------------------

    def _update_gateway(self, sandbox_id: str, routed: str | None = None,
                        fresh: EndpointRecord | None = None) -> tuple | None:
        """Give the default route to the first joined endpoint (join order) that has a gateway.

        libnetwork's rule: internal networks never provide it. The endpoint that gets it also gets
        the driver's external connectivity; the one that loses it has it revoked. A sandbox being
        deleted only has connectivity revoked: its namespace is gone. ``routed`` names an endpoint
        whose default routes the join already set; ``fresh`` one whose record was just written
        (it is not read again). Returns the sandbox's record and its joined
        endpoints' as read (None for a host-namespace sandbox).
        """
        sb, sb_ver = self._load_sandbox(sandbox_id)
        if sb.host_namespace:
            return None
        records = self._joined_records(sb, fresh)
        eps = [e for e in records if e.state == State.JOINED]
        owner = None
        if sb.state == State.READY:
            for ep in eps:
                net = self._network_view(ep.network_id)
                if not net.internal and (ep.gateway or ep.gateway_ipv6) and ep.dst_name:
                    owner = ep
                    break
        current = sb.gateway_endpoint
        if owner is not None and owner.id == current:
            return sb, records
        if current is not None:
            old = next((e for e in eps if e.id == current), None)
            if old is not None:
                old_net = self._network_view(old.network_id)
                _safely("revoke external connectivity",
                        self.network_driver(old_net.driver).revoke_external_connectivity, old.network_id, old.id)
                self._clear_gateway(sb, old)
        sb.gateway_endpoint = None
        if owner is not None:
            net = self._network_view(owner.network_id)
            if owner.id != routed:  # ``routed``: its default routes went in with its addresses
                for gw in (owner.gateway, owner.gateway_ipv6):
                    if gw is not None:
                        interfaces.set_default_gateway(sb.key, owner.dst_name, gw)
            self.network_driver(net.driver).program_external_connectivity(owner.network_id, owner.id, owner.options)
            sb.gateway_endpoint = owner.id
        if sb.gateway_endpoint != current:
            self._commit([self._put(f"sandboxes/{sandbox_id}", sb, sb_ver)])
        return sb, records

    def _clear_gateway(self, sb: SandboxRecord, ep: EndpointRecord) -> None:
        if sb.state != State.READY or not netns.is_namespace(sb.key):
            return
        for gw in (ep.gateway, ep.gateway_ipv6):
            if gw is not None:
                _safely("remove default route", interfaces.clear_default_gateway, sb.key, gw.version)
