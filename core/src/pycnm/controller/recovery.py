"""Reconciling the store and the kernel when a controller starts."""

from __future__ import annotations

import os
from typing import Any

from .. import codec
from .._relay import NetworkRelay
from ..errors import CNMError
from ..osl import interfaces, netlink, netns
from ..records import EndpointRecord, NetworkRecord, SandboxRecord
from ..store import Delete
from ._base import (
    _ignore_missing,
    _remove_tree,
    _safely,
    labels_mod,
    log,
)


class Recovery:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- recovery -------------------------------------------------------------------------------

    def _note(self, message: str, *args: Any) -> None:
        text = message % args if args else message
        self.reconciled.append(text)
        log.warning("reconcile: %s", text)

    def _recover(self, alone: bool = True) -> None:
        """Finish or undo what a crashed controller left half-done, and match store to kernel.

        Only a controller ``alone`` on its state directory does: with another one running, what
        looks half-done may be in progress."""
        with self._lock:
            if not alone:
                log.debug("another controller runs on %s: its work in progress is left alone", self.state_dir)
                self._load_drivers()
                return
            # 1. sandboxes whose namespace vanished, or that were half made or half deleted
            for sb in self._sandbox_records():
                gone = not sb.host_namespace and not netns.is_namespace(sb.key)
                if sb.state != "ready" or gone:
                    why = "its namespace is gone" if gone and sb.state == "ready" else f"it was left {sb.state}"
                    self._note("dropping sandbox %s (%s): %s", sb.name, sb.id[:12], why)
                    self._drop_sandbox(sb)
            # 2. endpoints and networks left in a transient state
            mine = ("", self.instance_id)  # another host's half-made changes are its own to finish
            for net in self._network_records():
                for ep in self._endpoint_records(net.id):
                    if ep.owner not in mine:
                        continue
                    if ep.state in ("joining", "leaving"):
                        self._note("finishing leave of endpoint %s on %s (left %s)", ep.name, net.name, ep.state)
                        self._force_leave(net, ep)
                    elif ep.state in ("creating", "deleting"):
                        self._note("removing endpoint %s on %s (left %s)", ep.name, net.name, ep.state)
                        self._force_delete_endpoint(net, ep)
                if net.state in ("creating", "deleting") and net.owner in mine:
                    self._note("removing network %s (left %s)", net.name, net.state)
                    self._force_delete_network(net)
            # 3. orphan namespaces of ours with no sandbox record
            known = {sb.key for sb in self._sandbox_records()}
            if self.netns_prefix and os.path.isdir(self.netns_dir):
                for entry in sorted(os.listdir(self.netns_dir)):
                    path = os.path.join(self.netns_dir, entry)
                    if entry.startswith(self.netns_prefix) and path not in known:
                        self._note("removing namespace %s: no sandbox record", path)
                        _safely("delete orphan namespace", netns.delete, path)
            # 4. IPAM drivers that keep no state of their own hear every request again (Docker's
            #    RequiresRequestReplay): the pools, then the gateways and aux addresses
            self._replay_ipam()
            # 5. drivers rebuild their state (and repair or remove their kernel objects)
            self._load_drivers()

    def _load_drivers(self) -> None:
        for driver in sorted({n.driver for n in self._network_records()}):
            try:
                self.network_driver(driver)
            except CNMError as exc:
                self._note("driver %s of existing networks cannot be loaded: %s", driver, exc)

    def _replay_ipam(self) -> None:
        for net in self._network_records():
            if net.ipam_driver in ("default", "null"):
                continue  # the built-in ones keep their state in the store
            try:
                ipam = self.ipam_driver(net.ipam_driver)
            except CNMError as exc:
                self._note("IPAM driver %s of network %s cannot be loaded: %s", net.ipam_driver, net.name, exc)
                continue
            if not ipam.capabilities.requires_request_replay:
                continue
            for pool in net.ipv4_pools + net.ipv6_pools:
                try:
                    ipam.request_pool(pool.address_space, str(pool.pool), str(pool.sub_pool or ""), net.ipam_options,
                                      pool.pool.version == 6)
                    gw_opts = {labels_mod.REQUEST_ADDRESS_TYPE: labels_mod.GATEWAY_REQUEST}
                    for addr, opts in [(pool.gateway, gw_opts)] + [(a, {}) for a in pool.aux_addresses.values()]:
                        if addr is not None:
                            ipam.request_address(pool.pool_id, str(addr.ip), opts)
                except CNMError as exc:
                    self._note("replaying pool %s of network %s to %s failed: %s", pool.pool, net.name,
                               net.ipam_driver, exc)

    def _drop_sandbox(self, sb: SandboxRecord) -> None:
        for net in self._network_records():
            for ep in self._endpoint_records(net.id):
                if ep.sandbox_id == sb.id:
                    self._force_leave(net, ep)
                    if ep.anonymous:
                        self._force_delete_endpoint(net, self._load_endpoint(net.id, ep.id)[0])
        if not sb.host_namespace:
            netlink.forget(sb.key)
            _safely("delete namespace", _ignore_missing, netns.delete, sb.key)
        _remove_tree(self._sandbox_dir(sb.id))
        self.store.commit([Delete(f"sandboxes/{sb.id}"), Delete(f"names/sandboxes/{sb.name}")])

    def _relay_or_none(self, driver: str) -> NetworkRelay | None:
        try:
            return self.network_driver(driver)
        except CNMError as exc:
            self._note("driver %s cannot be loaded: %s", driver, exc)
            return None

    def _force_leave(self, net: NetworkRecord, ep: EndpointRecord) -> None:
        relay = self._relay_or_none(net.driver)
        sb, _ = self._get(f"sandboxes/{ep.sandbox_id}", SandboxRecord) if ep.sandbox_id else (None, 0)
        if sb is not None and ep.dst_name and not sb.host_namespace and netns.is_namespace(sb.key):
            _safely("detach interface", interfaces.detach, sb.key, dst_name=ep.dst_name,
                    src_name=ep.src_name or ep.dst_name, created_in_sandbox=ep.created_in_sandbox)
        if relay is not None:
            _safely("leave in driver", _ignore_missing, relay.leave, net.id, ep.id)
        if ep.sandbox_id:
            self._undo_join(net.id, ep.id, ep.sandbox_id)
        else:
            ep.state = "ready"
            self.store.put(f"endpoints/{net.id}/{ep.id}", codec.dumps(ep))

    def _force_delete_endpoint(self, net: NetworkRecord, ep: EndpointRecord) -> None:
        relay = self._relay_or_none(net.driver)
        if relay is not None:
            _safely("delete endpoint in driver", _ignore_missing, relay.delete_endpoint, net.id, ep.id)
        try:
            self._release_addresses(ep, self.ipam_driver(net.ipam_driver))
        except CNMError as exc:
            self._note("cannot release addresses of endpoint %s: %s", ep.name, exc)
        self.store.commit([Delete(f"endpoints/{net.id}/{ep.id}"), Delete(f"names/endpoints/{net.id}/{ep.name}")])

    def _force_delete_network(self, net: NetworkRecord) -> None:
        for ep in self._endpoint_records(net.id):
            if ep.sandbox_id:
                self._force_leave(net, ep)
            self._force_delete_endpoint(net, self._load_endpoint(net.id, ep.id)[0])
        relay = self._relay_or_none(net.driver)
        if relay is not None:
            _safely("delete network in driver", _ignore_missing, relay.delete_network, net.id)
            _safely("free network in driver", _ignore_missing, relay.network_free, net.id)
        try:
            self._release_pools(net, self.ipam_driver(net.ipam_driver))
        except CNMError as exc:
            self._note("cannot release pools of network %s: %s", net.name, exc)
        self.store.commit([Delete(f"networks/{net.id}"), Delete(f"names/networks/{net.name}")])


