"""The Controller: what a hosting application uses to make networks, endpoints and sandboxes.

Every change follows one pattern: validate, write the intention to the store (a record in a
transient state, guarded by compare-and-swap so two processes cannot both win), do the work in
IPAM, the driver and the OS layer, then write the result. A failure undoes the work in reverse
and removes the intention; a crash leaves the intention in the store, and the next process to
take the state directory's lock finishes or undoes it (:mod:`.recovery`).

The Controller is a front over parts, each a module and a class that is given what it uses
(:mod:`.core` declares what they share):

- :mod:`.drivers`: loading, configuring, restoring and refreshing drivers;
- :mod:`.networks`: networks and their pools (a network is created in ``Networks.create``);
- :mod:`.endpoints`: endpoints and their addresses (allocated in ``Endpoints._allocate_addresses``);
- :mod:`.sandboxes`: namespaces and their hosts and resolv.conf;
- :mod:`.joins`: join, leave, connect, disconnect and the default gateway;
- :mod:`.peers`: other hosts' endpoints of global networks;
- :mod:`.inspect`: Docker-shaped views; :mod:`.recovery`: other processes' changes, crashes.

The kernel is the OS layer's (:class:`pycnm.osl.layer.OSLayer`, given or made here).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .. import discovery
from .._relay import EventBus, IPAMRelay, NetworkRelay
from ..errors import InvalidParameter, StaleVersion
from ..osl import nft
from ..osl.layer import LinuxOSLayer, OSLayer
from ..records import NetworkRecord, SandboxRecord
from ..store import SQLiteStore, Store, keys
from ..store.scoped import ScopedStore
from .core import IFNAME_MAX, Core
from .drivers import Drivers
from .endpoints import Endpoints
from .handles import Endpoint, Network, Sandbox
from .inspect import Views
from .joins import Joins
from .lock import StateLock
from .networks import Networks
from .peers import Peers
from .recovery import Recovery
from .sandboxes import Sandboxes, sandbox_dir

DEFAULT_STATE_DIR = "/var/lib/pycnm"
DEFAULT_NETNS_DIR = "/run/netns"
DEFAULT_NETNS_PREFIX = "pycnm-"


def default_netns_prefix(state_dir: str) -> str:
    """The namespace prefix of a state directory when none is given: ``pycnm-`` for
    ``/var/lib/pycnm``, else ``pycnm-`` and 6 hex digits of the directory's path. A Controller
    removes the namespaces under its prefix that its store has no record of, so two state
    directories under one prefix (a daemon on the default one, the CLI on ``--state-dir``)
    would each take the other's sandboxes for orphans."""
    path = os.path.abspath(state_dir)
    if path == DEFAULT_STATE_DIR:
        return DEFAULT_NETNS_PREFIX
    return f"{DEFAULT_NETNS_PREFIX}{hashlib.sha256(path.encode()).hexdigest()[:6]}-"


NetworkRef = Network | str
SandboxRef = Sandbox | str


class Controller:
    """Owns networks, endpoints, sandboxes and addresses, and drives the drivers.

    :param state_dir: where the embedded store and per-sandbox files live (default
        ``$PYCNM_STATE_DIR`` or ``/var/lib/pycnm``).
    :param netns_dir: where sandbox namespaces are bind-mounted (default ``/run/netns``, so that
        ``ip netns exec`` finds them).
    :param netns_prefix: prefix of sandbox namespace names (default ``$PYCNM_NETNS_PREFIX``, else
        :func:`default_netns_prefix`: ``pycnm-`` on the default state directory).
    :param ifname_prefix: prefix for every kernel interface drivers create (default none); lets
        a test or a lab own and recognise its objects.
    :param store: a :class:`~pycnm.store.Store` to use instead of the SQLite file.
    :param cluster_store: where networks of global-scope drivers live, seen by every host:
        ``etcd://HOST:PORT[,HOST:PORT...]`` or a Store (default ``$PYCNM_CLUSTER_STORE``).
    :param advertise_addr: this host's underlay address (default ``$PYCNM_ADVERTISE_ADDR``).
    :param plugins: ``pycnm.plugins`` objects (default: the installed ones).
    :param osl: the OS layer (default: Linux's; ``pycnm.testing.fakeosl`` has one in memory).
    :param drivers: in-process network drivers by name (as :meth:`register_driver`), known
        before the start-up reconciliation, which may need them for networks they made.
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
        osl: OSLayer | None = None,
        drivers: Mapping[str, Any] | None = None,
    ) -> None:
        env = os.environ
        state_dir = os.path.abspath(state_dir or env.get("PYCNM_STATE_DIR") or DEFAULT_STATE_DIR)
        prefix = ifname_prefix if ifname_prefix is not None else env.get("PYCNM_IFNAME_PREFIX", "")
        if len(prefix) > 6:
            raise InvalidParameter(
                f"invalid interface name prefix {prefix!r}: at most 6 characters, since"
                f" interface names are limited to {IFNAME_MAX} bytes"
            )
        _private_dir(state_dir)
        local = store or SQLiteStore(os.path.join(state_dir, "local.db"))
        cluster = cluster_store or env.get("PYCNM_CLUSTER_STORE")
        if isinstance(cluster, str):
            from ..store.etcd import EtcdStore

            cluster = EtcdStore(cluster)
        loaded = list(discovery.load_plugins() if plugins is None else plugins)
        lock = StateLock(
            os.path.join(state_dir, "controller.lock"),
            lambda: self._recovery.catch_up(),
            lambda: self._recovery.settle(),
        )
        self._core = core = Core(
            state_dir=state_dir,
            netns_dir=netns_dir or env.get("PYCNM_NETNS_DIR") or DEFAULT_NETNS_DIR,
            netns_prefix=netns_prefix
            if netns_prefix is not None
            else env.get("PYCNM_NETNS_PREFIX") or default_netns_prefix(state_dir),
            ifname_prefix=prefix,
            store=ScopedStore(local, cluster) if cluster else local,
            cluster_store=cluster or None,
            advertise_addr=advertise_addr or env.get("PYCNM_ADVERTISE_ADDR"),
            osl=osl or LinuxOSLayer(),
            events=EventBus(loaded),
            plugins=loaded,
            lock=lock,
        )
        self._drivers = Drivers(core)
        self._networks = Networks(core, self._drivers)
        self._endpoints = Endpoints(core, self._drivers, self._networks)
        self._joins = Joins(core, self._drivers, self._endpoints)
        self._sandboxes = Sandboxes(core, self._joins)
        self._peers = Peers(core, self._drivers)
        self._views = Views(core, self._joins)
        self._recovery = Recovery(core, self._drivers, self._networks, self._endpoints, self._joins)
        self._closed = False
        with lock:
            core.instance_id = self._instance_id()
            if core.cluster_store is not None and core.advertise_addr:
                # where other hosts send this host's overlay traffic
                core.cluster_store.put(keys.host(core.instance_id), core.advertise_addr.encode())
            for name, driver in (drivers or {}).items():
                self._drivers.register(name, driver)
            self._recovery.recover()

    def _instance_id(self) -> str:
        """This state directory's identity, made once (12 hex characters)."""
        store = self._core.store
        entry = store.get(keys.INSTANCE)
        if entry is None:
            try:
                store.put(keys.INSTANCE, secrets.token_hex(6).encode(), expect=0)
            except StaleVersion:
                pass  # another process made it first
            entry = store.get(keys.INSTANCE)
        assert entry is not None
        return entry.value.decode()

    # ---- what it was made with -------------------------------------------------------------------

    @property
    def state_dir(self) -> str:
        return self._core.state_dir

    @property
    def netns_dir(self) -> str:
        return self._core.netns_dir

    @property
    def netns_prefix(self) -> str:
        return self._core.netns_prefix

    @property
    def ifname_prefix(self) -> str:
        return self._core.ifname_prefix

    @property
    def store(self) -> Store:
        return self._core.store

    @property
    def cluster_store(self) -> Store | None:
        return self._core.cluster_store

    @property
    def advertise_addr(self) -> str | None:
        return self._core.advertise_addr

    @property
    def instance_id(self) -> str:
        return self._core.instance_id

    @property
    def osl(self) -> OSLayer:
        return self._core.osl

    @property
    def lock(self) -> StateLock:
        """The state directory's operation lock (re-entrant): a service of the daemon holds it to
        read and change several records as one step among the other processes' operations."""
        return self._core.lock

    @property
    def reconciled(self) -> list[str]:
        """What reconciliations did (a crash's leftovers finished or undone), one line per action."""
        return self._core.reconciled

    # ---- life ------------------------------------------------------------------------------------

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release this Controller's sockets, store connections and lock (nothing else's)."""
        if self._closed:
            return
        self._closed = True
        self._core.osl.close()
        nft.reset()  # this thread's libnftables contexts
        self._core.store.close()
        self._core.lock.close()

    # ---- drivers ---------------------------------------------------------------------------------

    def network_driver(self, name: str) -> NetworkRelay:
        """The relay to network driver ``name``, loaded, configured and restored on first use."""
        return self._drivers.network(name)

    def ipam_driver(self, name: str) -> IPAMRelay:
        return self._drivers.ipam(name)

    def register_driver(self, name: str, driver: Any) -> NetworkRelay:
        """Use ``driver`` (an object with ``@hookimpl`` methods) as network driver ``name``.

        For hosting applications and tests that carry a driver in-process instead of installing
        a distribution; it goes through the same relay checks as an entry-point driver.
        """
        return self._drivers.register(name, driver)

    # ---- networks --------------------------------------------------------------------------------

    def create_network(
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
    ) -> Network:
        """Create a network; returns it. Fails with no trace in the store or the kernel.

        ``attachable`` is Docker's flag, kept and shown (every pycnm network takes any sandbox)."""
        record = self._networks.create(
            name,
            driver,
            subnet=subnet,
            gateway=gateway,
            ip_range=ip_range,
            aux_addresses=aux_addresses,
            ipam_driver=ipam_driver,
            ipam_options=ipam_options,
            options=options,
            labels=labels,
            internal=internal,
            ipv6=ipv6,
            attachable=attachable,
        )
        return Network(self, record)

    def networks(self) -> list[Network]:
        """Every network, by name."""
        return sorted((Network(self, r) for r in self._core.network_listing()), key=lambda n: n.name)

    def network(self, name_or_id: NetworkRef) -> Network:
        """A network by name, full ID or unique ID prefix."""
        if isinstance(name_or_id, Network):
            return name_or_id
        core = self._core
        nid = core.resolve("network", name_or_id, keys.NETWORK_NAMES, core.network_listing, keys.network)
        return Network(self, core.network_view(nid))

    def delete_network(self, network: NetworkRef) -> None:
        """Delete a network with no endpoints."""
        self._networks.delete(self.network(network).id)

    def prune(self) -> list[str]:
        """Delete every network with no endpoints; returns their names."""
        return self._networks.prune()

    def inspect_network(self, network: NetworkRef) -> dict[str, Any]:
        """The network with Docker's keys (``docker network inspect``)."""
        return self._views.network(self.network(network).id)

    def inspect_networks(self, networks: Iterable[NetworkRef], *, containers: bool = True) -> list[dict[str, Any]]:
        """:meth:`inspect_network` of each, in order, as their handles were read (a listing's:
        1000 networks read the endpoints once, not 1000 times). ``containers=False``: each
        ``Containers`` left empty, and no endpoint read (``GET /networks`` from API 1.28 on)."""
        return self._views.networks([self.network(net).record for net in networks], containers)

    # ---- endpoints -------------------------------------------------------------------------------

    def create_endpoint(self, network: NetworkRef, name: str, **options: Any) -> Endpoint:
        """An endpoint on ``network`` (options: ``ip``, ``ip6``, ``mac``, ``aliases``,
        ``options``, ``publish``)."""
        rec, _ = self._endpoints.create(self.network(network).id, name, **options)
        return Endpoint(self, rec)

    def endpoints(self, network: NetworkRef) -> list[Endpoint]:
        """The network's endpoints, by name."""
        nid = self.network(network).id
        return sorted((Endpoint(self, r) for r in self._core.endpoint_records(nid)), key=lambda e: e.name)

    def endpoint(self, network: NetworkRef, name_or_id: str) -> Endpoint:
        """An endpoint of ``network`` by name, full ID or unique ID prefix."""
        core = self._core
        nid = self.network(network).id
        eid = core.resolve(
            "endpoint",
            name_or_id,
            keys.endpoint_names(nid),
            lambda: core.endpoint_records(nid),
            lambda full: keys.endpoint(nid, full),
        )
        return Endpoint(self, core.endpoint(nid, eid)[0])

    def delete_endpoint(self, endpoint: Endpoint, force: bool = False) -> None:
        """Delete an endpoint; a joined one is refused unless ``force`` (then it leaves first)."""
        rec, _ = self._core.endpoint(endpoint.network_id, endpoint.id)
        if rec.sandbox_id is not None and force:
            self._joins.leave(endpoint.network_id, endpoint.id, None, then_delete=True)
        else:
            self._endpoints.delete(endpoint.network_id, endpoint.id)

    def join(self, endpoint: Endpoint, sandbox: SandboxRef, ifname: str | None = None) -> Endpoint:
        """Join the endpoint to the sandbox (as interface ``ifname``, else the next free
        ``eth<N>``); returns the endpoint as it is now."""
        rec = self._joins.join(endpoint.network_id, endpoint.id, self.sandbox(sandbox).id, ifname=ifname)
        return Endpoint(self, rec)

    def leave(self, endpoint: Endpoint, sandbox: SandboxRef | None = None) -> Endpoint:
        """Take the endpoint out of its sandbox (which must be ``sandbox`` when given)."""
        sid = self.sandbox(sandbox).id if sandbox is not None else None
        self._joins.leave(endpoint.network_id, endpoint.id, sid)
        return self.reload(endpoint)

    def endpoint_oper_info(self, endpoint: Endpoint) -> dict[str, Any]:
        """What the driver says of the endpoint (its MAC, published ports...)."""
        return self._endpoints.oper_info(endpoint.network_id, endpoint.id)

    def reload(self, endpoint: Endpoint) -> Endpoint:
        """The endpoint as the store has it now."""
        return Endpoint(self, self._core.endpoint(endpoint.network_id, endpoint.id)[0])

    # ---- sandboxes -------------------------------------------------------------------------------

    def create_sandbox(
        self,
        name: str,
        *,
        hostname: str | None = None,
        domainname: str | None = None,
        dns: Sequence[str] = (),
        dns_search: Sequence[str] = (),
        dns_options: Sequence[str] = (),
        extra_hosts: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        host_namespace: bool = False,
        key: str | None = None,
    ) -> Sandbox:
        """Create a sandbox: a new network namespace (or the host's, with ``host_namespace``; or
        the existing namespace at ``key``, which stays its maker's: a container runtime's)."""
        rec = self._sandboxes.create(
            name,
            hostname=hostname,
            domainname=domainname,
            dns=dns,
            dns_search=dns_search,
            dns_options=dns_options,
            extra_hosts=extra_hosts,
            host_namespace=host_namespace,
            key=key,
        )
        return Sandbox(self, rec)

    def sandboxes(self) -> list[Sandbox]:
        return sorted((Sandbox(self, r) for r in self._core.sandbox_records()), key=lambda s: s.name)

    def sandbox(self, name_or_id: SandboxRef) -> Sandbox:
        """A sandbox by name, full ID or unique ID prefix."""
        if isinstance(name_or_id, Sandbox):
            return name_or_id
        core = self._core
        sid = core.resolve("sandbox", name_or_id, keys.SANDBOX_NAMES, core.sandbox_records, keys.sandbox)
        return Sandbox(self, core.sandbox(sid)[0])

    def delete_sandboxes(self, sandboxes: Sequence[SandboxRef]) -> None:
        """Delete sandboxes; their endpoints leave, and those ``connect`` made are deleted. The
        namespaces go first, all at once (one RCU grace period for all their interfaces)."""
        with self._core.lock:
            self._sandboxes.delete([self.sandbox(sb).id for sb in sandboxes])

    def on_release(self, callback: Callable[[str, str], None]) -> Callable[[], None]:
        """Have ``callback(sandbox_id, key)`` called just before pycnm is done with a sandbox's
        namespace (it deletes it, or leaves an external one to its runtime). A service holding
        sockets in the namespace closes them then: an open socket keeps a deleted namespace,
        and every interface in it, alive. Returns a function that removes the callback."""
        releasing = self._core.releasing
        releasing.append(callback)
        return lambda: releasing.remove(callback) if callback in releasing else None

    def sandbox_endpoints(self, sandbox: SandboxRef) -> list[Endpoint]:
        """The sandbox's endpoints, in join order."""
        rec, _ = self._core.sandbox(self.sandbox(sandbox).id)
        return [Endpoint(self, ep) for ep in self._joins.joined_records(rec)]

    def refresh_files(self, sandbox: SandboxRef) -> None:
        """Rewrite the sandbox's hosts and resolv.conf from the store (when what they depend on
        changed outside a join or leave: the embedded DNS starting or stopping)."""
        with self._core.lock:
            self._joins.refresh_files(self.sandbox(sandbox).id)

    def embedded_dns(self) -> bool:
        """Whether ``pycnm daemon`` serves the embedded DNS (127.0.0.11 in the sandboxes) now."""
        return self._core.embedded_dns()

    def sandbox_dir(self, sandbox: SandboxRef) -> str:
        """Where the sandbox's hosts and resolv.conf are."""
        return sandbox_dir(self._core, self.sandbox(sandbox).id)

    def inspect_sandbox(self, sandbox: SandboxRef) -> dict[str, Any]:
        """The sandbox: ID, name, key, files and endpoints."""
        return self._views.sandbox(self.sandbox(sandbox).id)

    # ---- the shortcuts ---------------------------------------------------------------------------

    def connect(self, network: NetworkRef, sandbox: SandboxRef, **endpoint_options: Any) -> Endpoint:
        """Create an endpoint named after the sandbox on ``network`` and join it (``docker network connect``)."""
        with self._core.lock:
            rec = self._joins.connect(self.network(network).id, self.sandbox(sandbox).id, **endpoint_options)
        return Endpoint(self, rec)

    def disconnect(self, network: NetworkRef, sandbox: SandboxRef, force: bool = False) -> None:
        """Leave (and, if ``connect`` made it, delete) the sandbox's endpoint on ``network``."""
        with self._core.lock:
            self._joins.disconnect(self.network(network).id, self.sandbox(sandbox).id, force=force)

    # ---- other hosts -----------------------------------------------------------------------------

    def sync_peers(self) -> int:
        """Read the cluster store's hosts, global networks and their endpoints afresh and bring
        this host's drivers in step; returns how many peers were added or removed."""
        return self._peers.sync()

    def apply_event(self, event: dict) -> int:
        """One watch event of the cluster store; returns how many peers changed."""
        return self._peers.apply(event)

    @property
    def peer_revision(self) -> int:
        """The cluster store revision the peers reflect (watch from the next)."""
        return self._peers.peer_revision

    def live_hosts(self) -> frozenset[str]:
        """The instance IDs of the hosts whose cluster store record lives (their lease is kept),
        this one's included, as the last :meth:`sync_peers` and :meth:`apply_event` saw them."""
        return self._peers.live_hosts()


def _private_dir(path: str) -> None:
    """Make the state directory, or tighten it, to 0700: it holds the store (every network's
    configuration and labels) and the sandboxes' files."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o700)


__all__ = ["Controller", "Endpoint", "Network", "NetworkRecord", "Sandbox", "SandboxRecord"]
