"""Keeping a process in step with the store: other processes' changes, and a dead one's leftovers.

Both run under the state directory's lock (:mod:`.lock`), which every operation holds from its
first intention to its last commit. So, when a process takes the lock:

- a record in a transient state was left by a process that died midway (no live process is
  midway through anything): :meth:`Recovery._recover` finishes or undoes its operation *whole*
  (a ``connect`` undone takes the endpoint it made with it; a ``disconnect`` finished deletes
  it), and matches the kernel to the store;
- anything else that changed since this process last held the lock was done by a live process:
  the drivers are told (``cnm_refresh``), and nothing in the kernel is touched.

A Controller recovers when it starts; a long-running one (``pycnm daemon``) also when it finds a
dead process's leftovers among the changes.
"""

from __future__ import annotations

import os
from typing import Any

from .. import codec
from .._relay import NetworkRelay
from ..errors import CNMError
from ..osl import interfaces, netlink, netns
from ..records import EndpointRecord, NetworkRecord, Operation, SandboxRecord, State
from ..store import Changes, Delete
from ._base import (
    _ignore_missing,
    _remove_tree,
    _safely,
    labels_mod,
    log,
)

#: what recovery does with an endpoint left in a transient state, by the operation it was in:
#: True when the endpoint itself goes (the operation made it, or was deleting it)
_DELETES = {Operation.CREATE: True, Operation.DELETE: True, Operation.CONNECT: True,
            Operation.DISCONNECT: True, Operation.JOIN: False, Operation.LEAVE: False}


_SAYS = {Operation.CREATE: "removing", Operation.DELETE: "removing", Operation.JOIN: "finishing leave of",
         Operation.LEAVE: "finishing leave of", Operation.CONNECT: "undoing connect of",
         Operation.DISCONNECT: "finishing disconnect of"}


class Recovery:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- other processes' changes ----------------------------------------------------------------

    def _catch_up(self) -> None:
        """Run when this process takes the lock: bring the drivers in step with what other
        processes did since it last held it."""
        if self._seen_revision is None:
            return  # the Controller is starting: it recovers, and reads everything, anyway
        revision = self.store.revision()
        if revision == self._seen_revision:
            return
        changes = self.store.changes(self._seen_revision)
        if changes is None:  # too far behind for the store's history: read everything again
            self._note("the store changed beyond its history since this process last looked: reloading drivers")
            self._network_relays.clear()
            self._recover()
            return
        self._apply_changes(changes)

    def _settle(self) -> None:
        """Run just before this process gives the lock back: every commit since it took it was its
        own, so the store's revision now is one this process is in step with."""
        self._seen_revision = self.store.revision()

    def _apply_changes(self, changes: Changes) -> None:
        touched: set[str] = set()
        removed: set[str] = set()
        dead = False
        for entry in changes.written:
            parts = entry.key.split("/")
            if parts[0] == "networks" and len(parts) == 2:
                rec = codec.loads(entry.value, NetworkRecord)
                dead |= State(rec.state).transient
                touched.add(rec.id)
            elif parts[0] == "endpoints" and len(parts) == 3:
                rec = codec.loads(entry.value, EndpointRecord)
                dead |= State(rec.state).transient
                touched.add(parts[1])
            elif parts[0] == "sandboxes" and len(parts) == 2:
                dead |= State(codec.loads(entry.value, SandboxRecord).state).transient
        for key in changes.deleted:
            parts = key.split("/")
            if parts[0] == "networks" and len(parts) == 2:
                removed.add(parts[1])
            elif parts[0] == "endpoints" and len(parts) == 3:
                touched.add(parts[1])
        if dead:
            # a process died midway (it does not hold the lock, and no live process is midway):
            # finish or undo its work, and let every driver rebuild from the store and the kernel
            self._network_relays.clear()
            self._recover()
            return
        self._refresh(touched - removed, removed)

    def _refresh(self, network_ids: set[str], removed: set[str]) -> None:
        """Tell the loaded drivers of networks another process changed (``cnm_refresh``)."""
        by_driver: dict[str, tuple[list, list]] = {}
        for nid in removed:
            driver = self._in_driver.pop(nid, None)
            self._net_views.pop(nid, None)
            if driver in self._network_relays:
                by_driver.setdefault(driver, ([], []))[1].append(nid)
        for nid in network_ids:
            rec, _ = self._get(f"networks/{nid}", NetworkRecord)
            if rec is None or rec.driver not in self._network_relays:
                continue  # gone again, or its driver is not loaded here (it restores on loading)
            by_driver.setdefault(rec.driver, ([], []))[0].append(self._snapshot(rec))
            self._in_driver[nid] = rec.driver
        for driver, (snaps, gone) in sorted(by_driver.items()):
            relay = self._network_relays[driver]
            if relay.implements("cnm_refresh"):
                relay.refresh(snaps, gone)
            else:  # it cannot be told: a new instance restores from the store
                del self._network_relays[driver]

    # ---- a dead process's leftovers --------------------------------------------------------------

    def _note(self, message: str, *args: Any) -> None:
        text = message % args if args else message
        self.reconciled.append(text)
        log.warning("reconcile: %s", text)

    def _recover(self) -> None:
        """Finish or undo what a dead process left half-done, and match store to kernel."""
        with self._lock:
            # 1. sandboxes whose namespace vanished, or that were half made or half deleted
            for sb in self._sandbox_records():
                gone = not sb.host_namespace and not netns.is_namespace(sb.key)
                if sb.state != State.READY or gone:
                    why = "its namespace is gone" if gone and sb.state == State.READY else f"it was left {sb.state.value}"
                    self._note("dropping sandbox %s (%s): %s", sb.name, sb.id[:12], why)
                    self._drop_sandbox(sb)
            # 2. endpoints and networks left in a transient state
            mine = ("", self.instance_id)  # another host's half-made changes are its own to finish
            for net in self._network_records():
                for ep in self._endpoint_records(net.id):
                    if ep.owner in mine and State(ep.state).transient:
                        self._recover_endpoint(net, ep)
                if State(net.state).transient and net.owner in mine:
                    self._note("removing network %s (left %s)", net.name, net.state.value)
                    self._force_delete_network(net)
            # what the cluster's IPAM committed before a record named it
            self._reclaim_owned()
            # a sandbox listing an endpoint that is not joined to it: a change spanning both stores
            # (an endpoint of a global network, its sandbox here) was cut between the two commits
            for sb in self._sandbox_records():
                self._recheck_sandbox_endpoints(sb)
            # 3. orphan namespaces of ours with no sandbox record (the directory is read before
            #    the records: a namespace is made after its record and deleted before it)
            entries = sorted(os.listdir(self.netns_dir)) if self.netns_prefix and os.path.isdir(self.netns_dir) else []
            known = {sb.key for sb in self._sandbox_records()}
            for entry in entries:
                path = os.path.join(self.netns_dir, entry)
                if entry.startswith(self.netns_prefix) and path not in known:
                    self._note("removing namespace %s: no sandbox record", path)
                    _safely("delete orphan namespace", _ignore_missing, netns.delete, path)
            # 4. IPAM drivers that keep no state of their own hear every request again (Docker's
            #    RequiresRequestReplay): the pools, then the gateways and aux addresses
            self._replay_ipam()
            # 5. drivers rebuild their state (and repair or remove their kernel objects)
            self._load_drivers()

    def _recover_endpoint(self, net: NetworkRecord, ep: EndpointRecord) -> None:
        operation = Operation(ep.operation)
        if operation == Operation.NONE:  # written before operations were recorded
            operation = {State.CREATING: Operation.CREATE, State.DELETING: Operation.DELETE,
                         State.JOINING: Operation.JOIN}.get(ep.state, Operation.DISCONNECT if ep.anonymous
                                                            else Operation.LEAVE)
        deletes = _DELETES[operation]
        self._note("%s endpoint %s on %s (left %s)", _SAYS[operation], ep.name, net.name, ep.state.value)
        if ep.sandbox_id:
            self._force_leave(net, ep)
        if deletes:
            self._force_delete_endpoint(net, self._load_endpoint(net.id, ep.id)[0])

    def _recheck_sandbox_endpoints(self, sb: SandboxRecord) -> None:
        kept = []
        for endpoint_ref in sb.endpoints:
            network_id, endpoint_id = endpoint_ref.split("/")
            ep, _ = self._get(f"endpoints/{network_id}/{endpoint_id}", EndpointRecord)
            if ep is not None and ep.sandbox_id == sb.id:
                kept.append(endpoint_ref)
            else:
                self._note("sandbox %s no longer lists endpoint %s: it is not joined to it", sb.name,
                           endpoint_id[:12])
        if kept == sb.endpoints:
            return
        rec, version = self._load_sandbox(sb.id)
        rec.endpoints = kept
        if rec.gateway_endpoint and not any(r.endswith(f"/{rec.gateway_endpoint}") for r in kept):
            rec.gateway_endpoint = None
        self.store.commit([self._put(f"sandboxes/{sb.id}", rec, version)])
        _safely("hand the default gateway over", self._update_gateway, sb.id)
        _safely("rewrite hosts and resolv.conf", self._refresh_dns, sb.id)

    def _reclaim_owned(self) -> None:
        """Release pools and addresses this instance requested on global networks (the cluster's
        IPAM commits each at once) that no record names: a crash came between the two commits."""
        if self.cluster_store is None:
            return
        nets = [n for n in self._network_records() if n.scope == "global"]
        live = {n.id for n in nets} | {e.id for n in nets for e in self._endpoint_records(n.id)}
        for name in sorted({n.ipam_driver for n in nets} | {"default"}):
            try:
                ipam = self.ipam_driver(name)
            except CNMError:
                continue
            if not ipam.capabilities.keeps_owners:
                continue
            held = ipam.owned(f"{self.instance_id}/")
            for pool_id, address, owner in sorted(held, key=lambda item: not item[1]):  # addresses first
                if owner.split("/", 1)[-1] in live:
                    continue
                self._note("releasing %s of %s: no record names it", address or f"pool {pool_id}", owner)
                if address:
                    _safely("release address", _ignore_missing, ipam.release_address, pool_id, address)
                else:
                    _safely("release pool", _ignore_missing, ipam.release_pool, pool_id)

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
                    self._force_leave(net, ep, sandbox=sb)
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

    def _force_leave(self, net: NetworkRecord, ep: EndpointRecord, sandbox: SandboxRecord | None = None) -> None:
        """Take the endpoint out of its sandbox whatever state the join got to; a sandbox that
        lives on gets its gateway and its hosts and resolv.conf back in step."""
        relay = self._relay_or_none(net.driver)
        sb = sandbox or (self._get(f"sandboxes/{ep.sandbox_id}", SandboxRecord)[0] if ep.sandbox_id else None)
        live = sb is not None and not sb.host_namespace and netns.is_namespace(sb.key)
        # a join that got no answer recorded (joining) tells nothing of how its interface came:
        # whatever holds its name in the sandbox is its own, and goes after the driver's leave
        settled = ep.state != State.JOINING and not ep.created_in_sandbox
        if live and ep.dst_name and settled:
            _safely("detach interface", interfaces.detach, sb.key, dst_name=ep.dst_name,
                    src_name=ep.src_name or ep.dst_name, created_in_sandbox=False)
        if relay is not None:
            if sb is not None and sb.gateway_endpoint == ep.id:
                _safely("revoke external connectivity", _ignore_missing, relay.revoke_external_connectivity,
                        net.id, ep.id)
            _safely("leave in driver", _ignore_missing, relay.leave, net.id, ep.id)
        if live and ep.dst_name and not settled:
            _safely("remove interface", interfaces.remove, sb.key, ep.dst_name)
        if ep.sandbox_id:
            self._undo_join(net.id, ep.id, ep.sandbox_id)
        else:
            ep.state, ep.operation = State.READY, Operation.NONE
            self.store.put(f"endpoints/{net.id}/{ep.id}", codec.dumps(ep))
        if sb is not None and sb.state == State.READY and sandbox is None:
            _safely("hand the default gateway over", self._update_gateway, sb.id)
            _safely("rewrite hosts and resolv.conf", self._refresh_dns, sb.id)

    def _force_delete_endpoint(self, net: NetworkRecord, ep: EndpointRecord) -> None:
        relay = self._relay_or_none(net.driver)
        if relay is not None:
            _safely("delete endpoint in driver", _ignore_missing, relay.delete_endpoint, net.id, ep.id)
        try:
            self._release_addresses(ep, self.ipam_driver(net.ipam_driver))
        except CNMError as exc:
            self._note("cannot release addresses of endpoint %s: %s", ep.name, exc)
        ops = [Delete(f"endpoints/{net.id}/{ep.id}")]
        named = self.store.get(f"names/endpoints/{net.id}/{ep.name}")
        if named is not None and named.value == ep.id.encode():
            ops.append(Delete(named.key))
        self.store.commit(ops)

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
        ops = [Delete(f"networks/{net.id}")]
        named = self.store.get(f"names/networks/{net.name}")
        if named is not None and named.value == net.id.encode():
            ops.append(Delete(named.key))
        self.store.commit(ops)
