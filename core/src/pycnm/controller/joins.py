"""Joining endpoints to sandboxes and leaving them, and the default gateway."""

from __future__ import annotations

from typing import Any

from .. import codec
from ..errors import Forbidden, Internal, InvalidParameter, NotFound
from ..osl import interfaces, netns
from ..records import EndpointRecord, SandboxRecord
from ._base import (
    IFNAME_MAX,
    _ignore_missing,
    _safely,
    labels_mod,
)
from .handles import Endpoint, Network, Sandbox


class Joins:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- join and leave -------------------------------------------------------------------------

    def connect(self, network: Network | str, sandbox: Sandbox | str, **endpoint_options: Any) -> Endpoint:
        """Create an endpoint named after the sandbox on ``network`` and join it (``docker network connect``)."""
        net = self.network(network) if not isinstance(network, Network) else network
        sb = self.sandbox(sandbox) if not isinstance(sandbox, Sandbox) else sandbox
        name = endpoint_options.pop("name", None) or sb.name
        ep = net.create_endpoint(name, anonymous=True, **endpoint_options)
        try:
            ep.join(sb)
        except BaseException:
            _safely("delete endpoint after a failed join", ep.delete)
            raise
        return ep

    def disconnect(self, network: Network | str, sandbox: Sandbox | str, force: bool = False) -> None:
        """Leave (and, if ``connect`` made it, delete) the sandbox's endpoint on ``network``."""
        net = self.network(network) if not isinstance(network, Network) else network
        sb = self.sandbox(sandbox) if not isinstance(sandbox, Sandbox) else sandbox
        for ep in self._endpoint_records(net.id):
            if ep.sandbox_id == sb.id:
                self._leave(net.id, ep.id, sb.id)
                if ep.anonymous:
                    self._delete_endpoint(net.id, ep.id)
                return
        if not force:
            raise NotFound(f"sandbox {sb.name} is not connected to network {net.name}")

    def _join(self, network_id: str, endpoint_id: str, sandbox: Sandbox | str) -> None:
        with self._lock:
            sb_handle = self.sandbox(sandbox) if not isinstance(sandbox, Sandbox) else sandbox
            ep, ep_ver = self._load_endpoint(network_id, endpoint_id)
            sb, sb_ver = self._load_sandbox(sb_handle.id)
            net, _ = self._load_network(network_id)
            if ep.sandbox_id is not None:
                raise Forbidden(f"endpoint {ep.name} is already joined to sandbox {self._sandbox_name(ep.sandbox_id)};"
                                " another container is attached to the same network endpoint")
            if ep.state != "ready":
                raise Forbidden(f"endpoint {ep.name} is {ep.state}; try again")
            if sb.state != "ready":
                raise Forbidden(f"sandbox {sb.name} is {sb.state}; try again")
            peers = [self._get(f"endpoints/{network_id}/{e}", EndpointRecord)[0] for e in sb.endpoints]
            if any(p is not None for p in peers):
                raise Forbidden(f"sandbox {sb.name} is already connected to network {net.name}")
            if (net.driver == "host") != sb.host_namespace:
                raise Forbidden(
                    f"sandbox {sb.name} cannot join network {net.name}: only sandboxes created with"
                    " host_namespace=True join the host network, and they join nothing else"
                )
            relay = self.network_driver(net.driver)
            prefix = str(net.options.get(labels_mod.GENERIC, {}).get(labels_mod.CONTAINER_IFACE_PREFIX) or "eth")
            dst_name = self._next_ifname(sb, prefix)
            ep.state, ep.sandbox_id, ep.dst_name = "joining", sb.id, dst_name
            sb.endpoints.append(ep.id)
            ep_key, sb_key = f"endpoints/{network_id}/{endpoint_id}", f"sandboxes/{sb.id}"
            self._commit([self._put(ep_key, ep, ep_ver), self._put(sb_key, sb, sb_ver)])
            joined = attached = False
            try:
                info = relay.join(network_id, endpoint_id, sb.key, ep.options, dst_name)
                joined = True
                iface = info.interface_name
                if iface is not None:
                    ep.dst_name = iface.dst_name or dst_name
                    if iface.created_in_sandbox and iface.src_name != ep.dst_name:
                        raise Internal(f"driver {net.driver} created {iface.src_name} in sandbox {sb.name},"
                                       f" but the name handed to it was {ep.dst_name}")
                    ep.src_name, ep.created_in_sandbox = iface.src_name, iface.created_in_sandbox
                    addrs = [a for a in (ep.address, ep.address_ipv6) if a is not None]
                    interfaces.attach(sb.key, src_name=iface.src_name, dst_name=ep.dst_name,
                                      created_in_sandbox=iface.created_in_sandbox, addresses=addrs, mac=ep.mac)
                    attached = True
                    if info.static_routes:
                        interfaces.add_routes(sb.key, ep.dst_name, info.static_routes)
                else:
                    ep.dst_name = None
                ep.gateway, ep.gateway_ipv6 = info.gateway, info.gateway_ipv6
                ep.static_routes = list(info.static_routes)
                ep.state = "joined"
                self.store.put(ep_key, codec.dumps(ep))
                self._update_gateway(sb.id)
                self._refresh_dns(sb.id)
            except BaseException:
                if attached:
                    _safely("detach interface", interfaces.detach, sb.key, dst_name=ep.dst_name,
                            src_name=ep.src_name, created_in_sandbox=ep.created_in_sandbox)
                if joined:
                    _safely("leave in driver", relay.leave, network_id, endpoint_id)
                self._undo_join(network_id, endpoint_id, sb.id)
                raise
        self._events.emit("endpoint.join", endpoint_id, ep.name, network_id=network_id, sandbox_id=sb.id)

    def _next_ifname(self, sb: SandboxRecord, prefix: str) -> str:
        taken = set()
        for net in self._network_records():
            for eid in sb.endpoints:
                rec, _ = self._get(f"endpoints/{net.id}/{eid}", EndpointRecord)
                if rec is not None and rec.dst_name:
                    taken.add(rec.dst_name)
        n = 0
        while f"{prefix}{n}" in taken:
            n += 1
        name = f"{prefix}{n}"
        if len(name.encode()) > IFNAME_MAX:
            raise InvalidParameter(f"interface name {name!r} is longer than {IFNAME_MAX} bytes; use a shorter"
                                   " container_iface_prefix")
        return name

    def _undo_join(self, network_id: str, endpoint_id: str, sandbox_id: str) -> None:
        ep, ep_ver = self._load_endpoint(network_id, endpoint_id)
        sb, sb_ver = self._get(f"sandboxes/{sandbox_id}", SandboxRecord)
        ep.state, ep.sandbox_id, ep.dst_name, ep.src_name = "ready", None, None, None
        ep.created_in_sandbox, ep.gateway, ep.gateway_ipv6, ep.static_routes = False, None, None, []
        ops = [self._put(f"endpoints/{network_id}/{endpoint_id}", ep, ep_ver)]
        if sb is not None and endpoint_id in sb.endpoints:
            sb.endpoints.remove(endpoint_id)
            if sb.gateway_endpoint == endpoint_id:
                sb.gateway_endpoint = None
            ops.append(self._put(f"sandboxes/{sandbox_id}", sb, sb_ver))
        self.store.commit(ops)

    def _leave(self, network_id: str, endpoint_id: str, sandbox: Sandbox | str | None) -> None:
        with self._lock:
            ep, ep_ver = self._load_endpoint(network_id, endpoint_id)
            if ep.sandbox_id is None:
                raise Forbidden(f"endpoint {ep.name} is not joined to any sandbox")
            if sandbox is not None:
                want = sandbox.id if isinstance(sandbox, Sandbox) else self.sandbox(sandbox).id
                if want != ep.sandbox_id:
                    raise Forbidden(f"endpoint {ep.name} is joined to sandbox {self._sandbox_name(ep.sandbox_id)},"
                                    f" not to {self._sandbox_name(want)}")
            net, _ = self._load_network(network_id)
            relay = self.network_driver(net.driver)
            sb, _ = self._get(f"sandboxes/{ep.sandbox_id}", SandboxRecord)
            ep.state = "leaving"
            self._commit([self._put(f"endpoints/{network_id}/{endpoint_id}", ep, ep_ver)])
            if sb is not None and sb.gateway_endpoint == endpoint_id:
                _safely("revoke external connectivity", relay.revoke_external_connectivity, network_id, endpoint_id)
                self._clear_gateway(sb, ep)
            if sb is not None and ep.dst_name and netns.is_namespace(sb.key):
                _safely("detach interface", interfaces.detach, sb.key, dst_name=ep.dst_name,
                        src_name=ep.src_name, created_in_sandbox=ep.created_in_sandbox)
            _ignore_missing(relay.leave, network_id, endpoint_id)
            sandbox_id = ep.sandbox_id
            self._undo_join(network_id, endpoint_id, sandbox_id)
            if sb is not None:
                self._update_gateway(sandbox_id)
                self._refresh_dns(sandbox_id)
        self._events.emit("endpoint.leave", endpoint_id, ep.name, network_id=network_id, sandbox_id=sandbox_id)

    def _refresh_dns(self, sandbox_id: str) -> None:
        sb, _ = self._load_sandbox(sandbox_id)
        eps = [e.record for e in self._sandbox_endpoints(sandbox_id)]
        self._write_dns_files(sb, eps)

    def _update_gateway(self, sandbox_id: str) -> None:
        """Give the default route to the first joined endpoint (join order) that has a gateway.

        libnetwork's rule: internal networks never provide it. The endpoint that gets it also gets
        the driver's external connectivity; the one that loses it has it revoked.
        """
        sb, sb_ver = self._load_sandbox(sandbox_id)
        if sb.host_namespace:
            return
        eps = [e.record for e in self._sandbox_endpoints(sandbox_id) if e.record.state == "joined"]
        owner = None
        for ep in eps:
            net, _ = self._load_network(ep.network_id)
            if not net.internal and (ep.gateway or ep.gateway_ipv6) and ep.dst_name:
                owner = ep
                break
        current = sb.gateway_endpoint
        if owner is not None and owner.id == current:
            return
        if current is not None:
            old = next((e for e in eps if e.id == current), None)
            if old is not None:
                old_net, _ = self._load_network(old.network_id)
                _safely("revoke external connectivity",
                        self.network_driver(old_net.driver).revoke_external_connectivity, old.network_id, old.id)
                self._clear_gateway(sb, old)
        sb.gateway_endpoint = None
        if owner is not None:
            net, _ = self._load_network(owner.network_id)
            for gw in (owner.gateway, owner.gateway_ipv6):
                if gw is not None:
                    interfaces.set_default_gateway(sb.key, owner.dst_name, gw)
            self.network_driver(net.driver).program_external_connectivity(owner.network_id, owner.id, owner.options)
            sb.gateway_endpoint = owner.id
        self._commit([self._put(f"sandboxes/{sandbox_id}", sb, sb_ver)])

    def _clear_gateway(self, sb: SandboxRecord, ep: EndpointRecord) -> None:
        if not netns.is_namespace(sb.key):
            return
        for gw in (ep.gateway, ep.gateway_ipv6):
            if gw is not None:
                _safely("remove default route", interfaces.clear_default_gateway, sb.key, gw.version)

