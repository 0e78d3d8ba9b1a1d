"""The Controller: what a hosting application uses to make networks, endpoints and sandboxes.

Every change follows one pattern: validate, write the intention to the store (a record in a
transient state, guarded by compare-and-swap so two processes cannot both win), do the work in
IPAM, the driver and the OS layer, then write the result. A failure undoes the work in reverse
and removes the intention; a crash leaves the intention in the store, and the next Controller on
the same state directory finishes or undoes it (:meth:`Controller._recover`).

The class is put together from one part per concept: :mod:`.networks`, :mod:`.endpoints`,
:mod:`.sandboxes`, :mod:`.joins` (join, leave, the default gateway), :mod:`.inspect` and
:mod:`.recovery`; this module holds construction, drivers, the store and look-ups.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
from collections.abc import Sequence
from typing import Any

from .. import codec, discovery
from .._relay import EventBus, IPAMRelay, NetworkRelay
from ..errors import Forbidden, InvalidParameter, NotFound, StaleVersion
from ..model import DriverConfig, EndpointInterface, EndpointSnapshot, NetworkSnapshot, Scope
from ..osl import netlink, nft
from ..records import EndpointRecord, NetworkRecord, SandboxRecord, State
from ..store import Put, SQLiteStore, Store
from ..store.prefixed import PrefixedStore
from ..store.scoped import ScopedStore
from ._base import DEFAULT_NETNS_DIR, DEFAULT_NETNS_PREFIX, DEFAULT_STATE_DIR, IFNAME_MAX
from .endpoints import Endpoints
from .handles import Endpoint, Network, Sandbox
from .inspect import Inspect
from .joins import Joins
from .lock import StateLock
from .networks import Networks
from .peers import Peers
from .recovery import Recovery
from .sandboxes import Sandboxes


class Controller(Networks, Endpoints, Sandboxes, Joins, Peers, Inspect, Recovery):
    """Owns networks, endpoints, sandboxes and addresses, and drives the drivers.

    :param state_dir: where the embedded store and per-sandbox files live (default
        ``$PYCNM_STATE_DIR`` or ``/var/lib/pycnm``).
    :param netns_dir: where sandbox namespaces are bind-mounted (default ``/run/netns``, so that
        ``ip netns exec`` finds them).
    :param netns_prefix: prefix of sandbox namespace names (default ``pycnm-``).
    :param ifname_prefix: prefix for every kernel interface drivers create (default none); lets
        a test or a lab own and recognise its objects.
    :param store: a :class:`~pycnm.store.Store` to use instead of the SQLite file.
    :param cluster_store: where networks of global-scope drivers live, seen by every host:
        ``etcd://HOST:PORT[,HOST:PORT...]`` or a Store (default ``$PYCNM_CLUSTER_STORE``).
    """

    def __init__(
        self,
        state_dir: str | None = None,
        *,
        netns_dir: str | None = None,
        netns_prefix: str | None = None,
        ifname_prefix: str | None = None,
        store: Store | None = None,
        cluster_store: str | Store | None = None,
        advertise_addr: str | None = None,
        plugins: Sequence[Any] | None = None,
    ) -> None:
        env = os.environ
        self.state_dir = os.path.abspath(state_dir or env.get("PYCNM_STATE_DIR") or DEFAULT_STATE_DIR)
        self.netns_dir = netns_dir or env.get("PYCNM_NETNS_DIR") or DEFAULT_NETNS_DIR
        self.netns_prefix = netns_prefix if netns_prefix is not None else env.get("PYCNM_NETNS_PREFIX", DEFAULT_NETNS_PREFIX)
        self.ifname_prefix = ifname_prefix if ifname_prefix is not None else env.get("PYCNM_IFNAME_PREFIX", "")
        if len(self.ifname_prefix) > 6:
            raise InvalidParameter(
                f"invalid interface name prefix {self.ifname_prefix!r}: at most 6 characters, since"
                f" interface names are limited to {IFNAME_MAX} bytes"
            )
        _private_dir(self.state_dir)
        self.store = store or SQLiteStore(os.path.join(self.state_dir, "local.db"))
        cluster_store = cluster_store or env.get("PYCNM_CLUSTER_STORE")
        self.cluster_store: Store | None = None
        if cluster_store:
            if isinstance(cluster_store, str):
                from ..store.etcd import EtcdStore

                cluster_store = EtcdStore(cluster_store)
            self.cluster_store = cluster_store
            self.store = ScopedStore(self.store, cluster_store)
        self.advertise_addr = advertise_addr or env.get("PYCNM_ADVERTISE_ADDR")
        self._init_peers()
        self._net_views: dict[str, tuple[int, bytes, NetworkRecord]] = {}
        self._operation = threading.local()  # .networks: what one connect has read (see _one_read)
        self._plugins = list(discovery.load_plugins() if plugins is None else plugins)
        self._events = EventBus(self._plugins)
        self._network_relays: dict[str, NetworkRelay] = {}
        self._ipam_relays: dict[str, IPAMRelay] = {}
        #: what the last reconciliation did, one line per action
        self.reconciled: list[str] = []
        self._closed = False
        #: the local store's revision when this process last held the lock (None: not yet)
        self._seen_revision: int | None = None
        self._lock = StateLock(os.path.join(self.state_dir, "controller.lock"), self._catch_up, self._settle)
        with self._lock:
            self.instance_id = self._instance_id()
            if self.cluster_store is not None and self.advertise_addr:
                # where other hosts send this host's overlay traffic
                self.cluster_store.put(f"hosts/{self.instance_id}", self.advertise_addr.encode())
            self._recover()

    # ---- context manager ------------------------------------------------------------------------

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        netlink.reset()
        nft.reset()
        self.store.close()
        self._lock.close()

    # ---- drivers --------------------------------------------------------------------------------

    def network_driver(self, name: str) -> NetworkRelay:
        """The relay to network driver ``name``, loaded, configured and restored on first use."""
        with self._lock:
            relay = self._network_relays.get(name)
            if relay is None:
                driver, entry = self._load_driver(discovery.NETWORK_DRIVERS, name, "network")
                relay = NetworkRelay(driver, entry, self._plugins)
                relay.config(self._driver_config(name, relay.capabilities.scope))
                self._restore(name, relay)
                self._network_relays[name] = relay
            return relay

    def register_driver(self, name: str, driver: Any) -> NetworkRelay:
        """Use ``driver`` (an object with ``@hookimpl`` methods) as network driver ``name``.

        For hosting applications and tests that carry a driver in-process instead of installing
        a distribution; it goes through the same relay checks as an entry-point driver.
        """
        with self._lock:
            if name in self._network_relays:
                raise Forbidden(f"network driver {name!r} is already loaded")
            entry = discovery.DriverEntry(name, discovery.NETWORK_DRIVERS, f"{type(driver).__module__}:"
                                          f"{type(driver).__qualname__}", "<in-process>", "-")
            discovery.check_contract(driver, entry)
            relay = NetworkRelay(driver, entry, self._plugins)
            relay.config(self._driver_config(name, relay.capabilities.scope))
            self._restore(name, relay)
            self._network_relays[name] = relay
            return relay

    def ipam_driver(self, name: str) -> IPAMRelay:
        with self._lock:
            relay = self._ipam_relays.get(name)
            if relay is None:
                driver, entry = self._load_driver(discovery.IPAM_DRIVERS, name, "ipam")
                relay = IPAMRelay(driver, entry, self._plugins)
                relay.config(self._driver_config(name, Scope.LOCAL, kind="ipam"), self.store)
                self._ipam_relays[name] = relay
            return relay

    def _load_driver(self, group: str, name: str, kind: str):
        """An entry point's driver, or else one a plugin's source provides (a Docker plugin)."""
        try:
            return discovery.load(group, name)
        except NotFound:
            driver = self._events.driver_for(name, kind)
            if driver is None:
                raise
            source = getattr(driver, "pycnm_source", None) or {}
            entry = discovery.DriverEntry(name, group, source.get("address", "?"),
                                          source.get("distribution", "?"), source.get("version", "-"))
            discovery.check_contract(driver, entry)
            return driver, entry

    def _driver_config(self, name: str, scope: Scope, kind: str = "network") -> DriverConfig:
        state = os.path.join(self.state_dir, "drivers", kind, name)
        if scope == Scope.GLOBAL and self.cluster_store is not None:
            corner = PrefixedStore(self.cluster_store, f"drivers/{kind}/{name}/")
        else:
            corner = PrefixedStore(self.store.local if isinstance(self.store, ScopedStore) else self.store,
                                   f"drivers/{kind}/{name}/")
        return DriverConfig(state_dir=state, ifname_prefix=self.ifname_prefix, instance_id=self.instance_id,
                            scope=scope, extra={"advertise_addr": self.advertise_addr or ""}, store=corner)

    def _instance_id(self) -> str:
        """This state directory's identity, made once (12 hex characters)."""
        entry = self.store.get("meta/instance")
        if entry is None:
            try:
                self.store.put("meta/instance", secrets.token_hex(6).encode(), expect=0)
            except StaleVersion:
                pass  # another process made it first
            entry = self.store.get("meta/instance")
        return entry.value.decode()

    def _restore(self, name: str, relay: NetworkRelay) -> None:
        snapshots = self._snapshots(name)
        relay.restore(snapshots)
        for snap in snapshots:
            self._in_driver[snap.network_id] = name

    def _snapshots(self, driver: str) -> list[NetworkSnapshot]:
        return [self._snapshot(net) for net in self._network_records()
                if net.driver == driver and net.state in (State.READY, State.DELETING)]

    def _snapshot(self, net: NetworkRecord) -> NetworkSnapshot:
        """What the store holds of one network, as its driver is told it (restore, refresh)."""
        eps = []
        # every endpoint the driver may have heard of; only "joined" ones count as joined, so
        # a driver drops what a crash left half-joined and the core then finishes the leave
        for ep in self._endpoint_records(net.id):
            if ep.owner not in ("", self.instance_id):
                continue  # another host's endpoint of a global network: a peer, not ours to restore
            sb = self._get(f"sandboxes/{ep.sandbox_id}", SandboxRecord)[0] \
                if ep.sandbox_id and ep.state == State.JOINED else None
            eps.append(EndpointSnapshot(
                ep.id, EndpointInterface(ep.address, ep.address_ipv6, ep.mac), ep.options,
                sandbox_key=sb.key if sb else None, dst_name=ep.dst_name if sb else None,
                external_connectivity=sb is not None and sb.gateway_endpoint == ep.id,
            ))
        return NetworkSnapshot(net.id, net.options, self._ipam_data(net.ipv4_pools),
                               self._ipam_data(net.ipv6_pools), eps)

    # ---- store helpers --------------------------------------------------------------------------

    def _get(self, key: str, cls):
        entry = self.store.get(key)
        if entry is None:
            return None, 0
        return codec.loads(entry.value, cls), entry.version

    def _network_records(self) -> list[NetworkRecord]:
        return [codec.loads(e.value, NetworkRecord) for e in self.store.list("networks/")]

    def _network_listing(self) -> list[NetworkRecord]:
        """Every network's record for reading only, each decoded once per version (listing 1000
        networks decoded 1000 records, about 0.1 ms each)."""
        return [self._decoded_network(entry.key.split("/", 1)[1], entry) for entry in self.store.list("networks/")]

    def _decoded_network(self, network_id: str, entry) -> NetworkRecord:
        cached = self._net_views.get(network_id)
        if cached is not None and cached[0] == entry.version and cached[1] == entry.value:
            return cached[2]
        record = codec.loads(entry.value, NetworkRecord)
        self._net_views[network_id] = (entry.version, entry.value, record)
        return record

    def _endpoint_records(self, network_id: str) -> list[EndpointRecord]:
        return [codec.loads(e.value, EndpointRecord) for e in self.store.list(f"endpoints/{network_id}/")]

    def _sandbox_records(self) -> list[SandboxRecord]:
        return [codec.loads(e.value, SandboxRecord) for e in self.store.list("sandboxes/")]

    def _load_network(self, network_id: str) -> tuple[NetworkRecord, int]:
        rec, ver = self._get(f"networks/{network_id}", NetworkRecord)
        if rec is None:
            raise NotFound(f"network {network_id} not found")
        return rec, ver

    def _network_view(self, network_id: str) -> NetworkRecord:
        """The network's record for reading only (never change it): decoded once per version,
        read once per operation (:meth:`_one_read`). Its record (options, pools) is the
        costliest to decode and changes rarely."""
        seen = getattr(self._operation, "networks", None)
        if seen is not None and network_id in seen:
            return seen[network_id]
        entry = self.store.get(f"networks/{network_id}")
        if entry is None:
            raise NotFound(f"network {network_id} not found")
        record = self._decoded_network(network_id, entry)
        if seen is not None:
            seen[network_id] = record
        return record

    @contextlib.contextmanager
    def _one_read(self):
        """Within, each network's record is read from the store once: one operation (a connect,
        a join, a leave) works on one view of it. They never change a network; a network changed
        meanwhile is as changed just after the operation. On the cluster store every read is a
        round trip through etcd's leader (about 2.5 ms here): a connect read its network three
        times."""
        if getattr(self._operation, "networks", None) is not None:
            yield
            return
        self._operation.networks = {}
        try:
            yield
        finally:
            self._operation.networks = None

    def _load_endpoint(self, network_id: str, endpoint_id: str) -> tuple[EndpointRecord, int]:
        rec, ver = self._get(f"endpoints/{network_id}/{endpoint_id}", EndpointRecord)
        if rec is None:
            raise NotFound(f"endpoint {endpoint_id} not found in network {network_id}")
        return rec, ver

    def _load_sandbox(self, sandbox_id: str) -> tuple[SandboxRecord, int]:
        rec, ver = self._get(f"sandboxes/{sandbox_id}", SandboxRecord)
        if rec is None:
            raise NotFound(f"sandbox {sandbox_id} not found")
        return rec, ver

    def _boot_scoped(self, durable: bool = False):
        """Commits inside record state that a reboot ends anyway (a sandbox in its own namespace,
        its joins, the endpoints ``connect`` makes): the store may return before they are on disk
        (:meth:`Store.until_reboot`). With ``durable`` (a host-namespace sandbox outlives a
        reboot; a named endpoint deleted on leave should stay deleted) they are durable as usual."""
        return contextlib.nullcontext() if durable else self.store.until_reboot()

    def _commit(self, ops: list) -> None:
        try:
            self.store.commit(ops)
        except StaleVersion as exc:
            raise Forbidden(f"{exc}: another process changed it at the same time; try again") from None

    @staticmethod
    def _put(key: str, record, expect: int | None) -> Put:
        return Put(key, codec.dumps(record), expect)

    # ---- lookups --------------------------------------------------------------------------------

    def _resolve(self, kind: str, name_or_id: str, names_prefix: str, records, id_key: str) -> str:
        """A name, a full ID or a unique ID prefix, to the ID. Names and full IDs are one read; only
        a prefix lists the records."""
        entry = self.store.get(f"{names_prefix}{name_or_id}")
        if entry is not None:
            return entry.value.decode()
        if not re.fullmatch(r"[0-9a-f]{1,64}", name_or_id or ""):
            raise NotFound(f"{kind} {name_or_id} not found")
        if len(name_or_id) == 64 and self.store.get(id_key.format(name_or_id)) is not None:
            return name_or_id
        ids = [r.id for r in records() if r.id.startswith(name_or_id)]
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise InvalidParameter(f"{kind} {name_or_id!r} is ambiguous: {len(ids)} {kind}s have IDs starting so")
        raise NotFound(f"{kind} {name_or_id} not found")

    def networks(self) -> list[Network]:
        """Every network, by name."""
        return sorted((Network(self, r) for r in self._network_listing()), key=lambda n: n.name)

    def network(self, name_or_id: str) -> Network:
        """A network by name, full ID or unique ID prefix."""
        if isinstance(name_or_id, Network):
            return name_or_id
        nid = self._resolve("network", name_or_id, "names/networks/", self._network_listing, "networks/{}")
        return Network(self, self._network_view(nid))

    def sandboxes(self) -> list[Sandbox]:
        return sorted((Sandbox(self, r) for r in self._sandbox_records()), key=lambda s: s.name)

    def sandbox(self, name_or_id: str) -> Sandbox:
        if isinstance(name_or_id, Sandbox):
            return name_or_id
        sid = self._resolve("sandbox", name_or_id, "names/sandboxes/", self._sandbox_records, "sandboxes/{}")
        return Sandbox(self, self._load_sandbox(sid)[0])

    def _endpoints(self, network_id: str) -> list[Endpoint]:
        return sorted((Endpoint(self, r) for r in self._endpoint_records(network_id)), key=lambda e: e.name)

    def _endpoint(self, network_id: str, name_or_id: str) -> Endpoint:
        eid = self._resolve("endpoint", name_or_id, f"names/endpoints/{network_id}/",
                            lambda: self._endpoint_records(network_id), f"endpoints/{network_id}/{{}}")
        return Endpoint(self, self._load_endpoint(network_id, eid)[0])

    def _sandbox_endpoints(self, sandbox_id: str) -> list[Endpoint]:
        """The sandbox's endpoints, in join order."""
        sb = self._load_sandbox(sandbox_id)[0]
        return [Endpoint(self, rec) for rec in self._joined_records(sb)]

def _private_dir(path: str) -> None:
    """Make the state directory, or tighten it, to 0700: it holds the store (every network's
    configuration and labels) and the sandboxes' files."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o700)


__all__ = ["Controller", "Endpoint", "Network", "Sandbox"]
