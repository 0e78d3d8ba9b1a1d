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
import re

from .. import codec, labels
from .._relay import NetworkRelay
from ..errors import CNMError
from ..records import EndpointRecord, NetworkRecord, Operation, SandboxRecord, State
from ..store import Changes, Delete, keys
from .core import Core, ignore_missing, safely
from .drivers import Drivers
from .endpoints import Endpoints
from .joins import Joins
from .networks import Networks
from .sandboxes import sandbox_dir

#: what follows the prefix in the name of a sandbox namespace pycnm made
_SANDBOX_ID12 = re.compile(r"[0-9a-f]{12}")

#: what recovery does with an endpoint left in a transient state, by the operation it was in:
#: True when the endpoint itself goes (the operation made it, or was deleting it)
_DELETES = {
    Operation.CREATE: True,
    Operation.DELETE: True,
    Operation.CONNECT: True,
    Operation.DISCONNECT: True,
    Operation.JOIN: False,
    Operation.LEAVE: False,
}


_SAYS = {
    Operation.CREATE: "removing",
    Operation.DELETE: "removing",
    Operation.JOIN: "finishing leave of",
    Operation.LEAVE: "finishing leave of",
    Operation.CONNECT: "undoing connect of",
    Operation.DISCONNECT: "finishing disconnect of",
}


class Recovery:
    """Catching up with other processes, and finishing or undoing a dead one's work."""

    def __init__(self, core: Core, drivers: Drivers, networks: Networks, endpoints: Endpoints, joins: Joins) -> None:
        self.core = core
        self.drivers = drivers
        self.networks = networks
        self.endpoints = endpoints
        self.joins = joins
        #: the local store's revision when this process last held the lock (None: not yet)
        self.seen_revision: int | None = None

    # ---- other processes' changes ----------------------------------------------------------------

    def catch_up(self) -> None:
        """Run when this process takes the lock: bring the drivers in step with what other
        processes did since it last held it."""
        core = self.core
        if self.seen_revision is None:
            return  # the Controller is starting: it recovers, and reads everything, anyway
        revision = core.store.revision()
        if revision == self.seen_revision:
            return
        changes = core.store.changes(self.seen_revision)
        if changes is None:  # too far behind for the store's history: read everything again
            core.note("the store changed beyond its history since this process last looked: reloading drivers")
            self.drivers.forget_all()
            self.recover()
            return
        self._apply_changes(changes)

    def settle(self) -> None:
        """Run just before this process gives the lock back: every commit since it took it was its
        own, so the store's revision now is one this process is in step with."""
        self.seen_revision = self.core.store.revision()

    def _apply_changes(self, changes: Changes) -> None:
        touched: set[str] = set()
        removed: set[str] = set()
        dead = False
        for entry in changes.written:
            parts = entry.key.split("/")
            if parts[0] == "networks" and len(parts) == 2:
                network = codec.loads(entry.value, NetworkRecord)
                dead |= State(network.state).transient
                touched.add(network.id)
            elif parts[0] == "endpoints" and len(parts) == 3:
                dead |= State(codec.loads(entry.value, EndpointRecord).state).transient
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
            self.drivers.forget_all()
            self.recover()
            return
        self.drivers.refresh(touched - removed, removed)

    # ---- a dead process's leftovers --------------------------------------------------------------

    def recover(self) -> None:
        """Finish or undo what a dead process left half-done, and match store to kernel."""
        core = self.core
        with core.lock:
            # 1. sandboxes whose namespace vanished, or that were half made or half deleted
            for sb in core.sandbox_records():
                gone = not sb.host_namespace and not core.namespace_live(sb)
                if sb.state != State.READY or gone:
                    why = (
                        "its namespace is gone" if gone and sb.state == State.READY else f"it was left {sb.state.value}"
                    )
                    self.core.note("dropping sandbox %s (%s): %s", sb.name, sb.id[:12], why)
                    self._drop_sandbox(sb)
            # 2. endpoints and networks left in a transient state
            mine = ("", core.instance_id)  # another host's half-made changes are its own to finish
            for net in core.network_records():
                for ep in core.endpoint_records(net.id):
                    if ep.owner in mine and State(ep.state).transient:
                        self._recover_endpoint(net, ep)
                if State(net.state).transient and net.owner in mine:
                    self.core.note("removing network %s (left %s)", net.name, net.state.value)
                    self._force_delete_network(net)
            # what the cluster's IPAM committed before a record named it
            self._reclaim_owned()
            # a sandbox listing an endpoint that is not joined to it: a change spanning both stores
            # (an endpoint of a global network, its sandbox here) was cut between the two commits
            for sb in core.sandbox_records():
                self._recheck_sandbox_endpoints(sb)
            # 3. orphan namespaces of ours with no sandbox record (the directory is read before
            #    the records: a namespace is made after its record and deleted before it)
            #    Only names pycnm gives (the prefix and 12 hex digits of a sandbox ID): another
            #    tool's namespace that merely starts with the prefix is not ours to remove
            found = core.osl.namespaces(core.netns_dir, core.netns_prefix)
            known = {sb.key for sb in core.sandbox_records()}
            for path in found:
                if path not in known and _SANDBOX_ID12.fullmatch(os.path.basename(path)[len(core.netns_prefix) :]):
                    core.note("removing namespace %s: no sandbox record", path)
                    safely("delete orphan namespace", ignore_missing, core.osl.delete_namespace, path)
            # 4. IPAM drivers that keep no state of their own hear every request again (Docker's
            #    RequiresRequestReplay): the pools, then the gateways and aux addresses
            self._replay_ipam()
            # 5. drivers rebuild their state (and repair or remove their kernel objects)
            for driver, exc in self.drivers.load_used():
                core.note("driver %s of existing networks cannot be loaded: %s", driver, exc)

    def _recover_endpoint(self, net: NetworkRecord, ep: EndpointRecord) -> None:
        operation = Operation(ep.operation)
        if operation == Operation.NONE:  # written before operations were recorded
            operation = {
                State.CREATING: Operation.CREATE,
                State.DELETING: Operation.DELETE,
                State.JOINING: Operation.JOIN,
            }.get(ep.state, Operation.DISCONNECT if ep.anonymous else Operation.LEAVE)
        deletes = _DELETES[operation]
        self.core.note("%s endpoint %s on %s (left %s)", _SAYS[operation], ep.name, net.name, ep.state.value)
        if ep.sandbox_id:
            self._force_leave(net, ep)
        if deletes:
            self._force_delete_endpoint(net, self.core.endpoint(net.id, ep.id)[0])

    def _recheck_sandbox_endpoints(self, sb: SandboxRecord) -> None:
        kept = []
        for endpoint_ref in sb.endpoints:
            network_id, endpoint_id = keys.split_endpoint(endpoint_ref)
            ep, _ = self.core.get(keys.endpoint(network_id, endpoint_id), EndpointRecord)
            if ep is not None and ep.sandbox_id == sb.id:
                kept.append(endpoint_ref)
            else:
                self.core.note(
                    "sandbox %s no longer lists endpoint %s: it is not joined to it", sb.name, endpoint_id[:12]
                )
        if kept == sb.endpoints:
            return
        rec, version = self.core.sandbox(sb.id)
        rec.endpoints = kept
        if rec.gateway_endpoint and not any(r.endswith(f"/{rec.gateway_endpoint}") for r in kept):
            rec.gateway_endpoint = None
        self.core.store.commit([self.core.put(keys.sandbox(sb.id), rec, version)])
        safely("hand the default gateway over", self.joins.update_gateway, sb.id)
        safely("rewrite hosts and resolv.conf", self.joins.refresh_files, sb.id)

    def _reclaim_owned(self) -> None:
        """Release pools and addresses this instance requested on global networks (the cluster's
        IPAM commits each at once) that no record names: a crash came between the two commits."""
        if self.core.cluster_store is None:
            return
        nets = [n for n in self.core.network_records() if n.scope == "global"]
        live = {n.id for n in nets} | {e.id for n in nets for e in self.core.endpoint_records(n.id)}
        for name in sorted({n.ipam_driver for n in nets} | {"default"}):
            try:
                ipam = self.drivers.ipam(name)
            except CNMError:
                continue
            if not ipam.capabilities.keeps_owners:
                continue
            held = ipam.owned(f"{self.core.instance_id}/")
            for pool_id, address, owner in sorted(held, key=lambda item: not item[1]):  # addresses first
                if owner.split("/", 1)[-1] in live:
                    continue
                self.core.note("releasing %s of %s: no record names it", address or f"pool {pool_id}", owner)
                if address:
                    safely("release address", ignore_missing, ipam.release_address, pool_id, address)
                else:
                    safely("release pool", ignore_missing, ipam.release_pool, pool_id)

    def _replay_ipam(self) -> None:
        for net in self.core.network_records():
            if net.ipam_driver in ("default", "null"):
                continue  # the built-in ones keep their state in the store
            try:
                ipam = self.drivers.ipam(net.ipam_driver)
            except CNMError as exc:
                self.core.note("IPAM driver %s of network %s cannot be loaded: %s", net.ipam_driver, net.name, exc)
                continue
            if not ipam.capabilities.requires_request_replay:
                continue
            for pool in net.ipv4_pools + net.ipv6_pools:
                try:
                    ipam.request_pool(
                        pool.address_space,
                        str(pool.pool),
                        str(pool.sub_pool or ""),
                        net.ipam_options,
                        pool.pool.version == 6,
                    )
                    gw_opts = {labels.REQUEST_ADDRESS_TYPE: labels.GATEWAY_REQUEST}
                    for addr, opts in [(pool.gateway, gw_opts)] + [(a, {}) for a in pool.aux_addresses.values()]:
                        if addr is not None:
                            ipam.request_address(pool.pool_id, str(addr.ip), opts)
                except CNMError as exc:
                    self.core.note(
                        "replaying pool %s of network %s to %s failed: %s", pool.pool, net.name, net.ipam_driver, exc
                    )

    def _drop_sandbox(self, sb: SandboxRecord) -> None:
        for net in self.core.network_records():
            for ep in self.core.endpoint_records(net.id):
                if ep.sandbox_id == sb.id:
                    self._force_leave(net, ep, sandbox=sb)
                    if ep.anonymous:
                        self._force_delete_endpoint(net, self.core.endpoint(net.id, ep.id)[0])
        if not sb.host_namespace and not sb.external:
            safely("delete namespace", ignore_missing, self.core.osl.delete_namespace, sb.key)
        elif sb.external:
            self.core.osl.forget(sb.key)
        self.core.osl.remove_sandbox_dir(sandbox_dir(self.core, sb.id))
        self.core.store.commit([Delete(keys.sandbox(sb.id)), Delete(keys.sandbox_name(sb.name))])

    def _relay_or_none(self, driver: str) -> NetworkRelay | None:
        try:
            return self.drivers.network(driver)
        except CNMError as exc:
            self.core.note("driver %s cannot be loaded: %s", driver, exc)
            return None

    def _force_leave(self, net: NetworkRecord, ep: EndpointRecord, sandbox: SandboxRecord | None = None) -> None:
        """Take the endpoint out of its sandbox whatever state the join got to; a sandbox that
        lives on gets its gateway and its hosts and resolv.conf back in step."""
        relay = self._relay_or_none(net.driver)
        sb = sandbox or (self.core.get(keys.sandbox(ep.sandbox_id), SandboxRecord)[0] if ep.sandbox_id else None)
        osl = self.core.osl
        live = sb.key if sb is not None and self.core.namespace_live(sb) else None
        # a join that got no answer recorded (joining) tells nothing of how its interface came:
        # whatever holds its name in the sandbox is its own, and goes after the driver's leave
        settled = ep.state != State.JOINING and not ep.created_in_sandbox
        if live and ep.dst_name and settled:
            safely("detach interface", osl.detach, live, dst_name=ep.dst_name, src_name=ep.src_name or ep.dst_name)
        if relay is not None:
            if sb is not None and sb.gateway_endpoint == ep.id:
                safely(
                    "revoke external connectivity", ignore_missing, relay.revoke_external_connectivity, net.id, ep.id
                )
            safely("leave in driver", ignore_missing, relay.leave, net.id, ep.id)
        if live and ep.dst_name and not settled:
            safely("remove interface", osl.remove_interface, live, ep.dst_name)
        if ep.sandbox_id:
            self.joins.undo_join(net.id, ep.id, ep.sandbox_id)
        else:
            ep.state, ep.operation = State.READY, Operation.NONE
            self.core.write(keys.endpoint(net.id, ep.id), ep)
        if sb is not None and sb.state == State.READY and sandbox is None:
            safely("hand the default gateway over", self.joins.update_gateway, sb.id)
            safely("rewrite hosts and resolv.conf", self.joins.refresh_files, sb.id)

    def _force_delete_endpoint(self, net: NetworkRecord, ep: EndpointRecord) -> None:
        relay = self._relay_or_none(net.driver)
        if relay is not None:
            safely("delete endpoint in driver", ignore_missing, relay.delete_endpoint, net.id, ep.id)
        try:
            self.endpoints.release_addresses(ep, self.drivers.ipam(net.ipam_driver))
        except CNMError as exc:
            self.core.note("cannot release addresses of endpoint %s: %s", ep.name, exc)
        self.core.delete_named(keys.endpoint(net.id, ep.id), keys.endpoint_name(net.id, ep.name), ep.id)

    def _force_delete_network(self, net: NetworkRecord) -> None:
        for ep in self.core.endpoint_records(net.id):
            if ep.sandbox_id:
                self._force_leave(net, ep)
            self._force_delete_endpoint(net, self.core.endpoint(net.id, ep.id)[0])
        relay = self._relay_or_none(net.driver)
        if relay is not None:
            safely("delete network in driver", ignore_missing, relay.delete_network, net.id)
            safely("free network in driver", ignore_missing, relay.network_free, net.id)
        try:
            self.networks.release_pools(net, self.drivers.ipam(net.ipam_driver))
        except CNMError as exc:
            self.core.note("cannot release pools of network %s: %s", net.name, exc)
        self.core.delete_named(keys.network(net.id), keys.network_name(net.name), net.id)
