"""The Controller: what a hosting application uses to make networks, endpoints and sandboxes.

Every change follows one pattern: validate, write the intention to the store (a record in a
transient state, guarded by compare-and-swap so two processes cannot both win), do the work in
IPAM, the driver and the OS layer, then write the result. A failure undoes the work in reverse
and removes the intention; a crash leaves the intention in the store, and the next Controller on
the same state directory finishes or undoes it (:meth:`Controller._recover`).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from . import codec, discovery, labels, ports
from ._relay import EventBus, IPAMRelay, NetworkRelay
from .errors import CNMError, Forbidden, Internal, InvalidParameter, NotFound, StaleVersion
from .ipam import request as ipam_request
from .model import (
    DriverConfig,
    EndpointInterface,
    EndpointSnapshot,
    IPAMData,
    NetworkSnapshot,
    Scope,
    mac as parse_mac,
)
from .osl import dnsfiles, interfaces, netlink, netns, nft
from .records import EndpointRecord, NetworkRecord, PoolRecord, SandboxRecord
from .store import Delete, Put, SQLiteStore, Store

# ``labels`` is also a parameter name of create_network (Docker's --label)
labels_mod = labels
log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DEFAULT_STATE_DIR = "/var/lib/pycnm"
DEFAULT_NETNS_DIR = "/run/netns"
DEFAULT_NETNS_PREFIX = "pycnm-"
IFNAME_MAX = 15


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _new_id() -> str:
    return secrets.token_hex(32)


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"invalid {kind} name {name!r}: a name is required")
    if not NAME_RE.match(name):
        raise InvalidParameter(
            f"invalid {kind} name {name!r}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        )
    return name


def _ignore_missing(fn, *args, **kwargs) -> None:
    """Call a teardown step; a NotFound (the thing is gone already) is fine."""
    try:
        fn(*args, **kwargs)
    except NotFound:
        pass


# ---- handles -------------------------------------------------------------------------------------


class _Handle:
    _kind = "object"

    def __init__(self, controller: Controller, record) -> None:
        self._controller = controller
        self._record = record

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def record(self):
        return self._record

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.id[:12]}>"


class Network(_Handle):
    """A network: endpoints that reach each other directly."""

    @property
    def driver(self) -> str:
        return self._record.driver

    @property
    def scope(self) -> str:
        return self._record.scope

    @property
    def internal(self) -> bool:
        return self._record.internal

    @property
    def subnets(self) -> list:
        return [p.pool for p in self._record.ipv4_pools + self._record.ipv6_pools]

    @property
    def gateways(self) -> list:
        return [p.gateway.ip for p in self._record.ipv4_pools + self._record.ipv6_pools if p.gateway is not None]

    def create_endpoint(self, name: str, **options: Any) -> Endpoint:
        return self._controller._create_endpoint(self.id, name, **options)

    def endpoints(self) -> list[Endpoint]:
        return self._controller._endpoints(self.id)

    def endpoint(self, name_or_id: str) -> Endpoint:
        return self._controller._endpoint(self.id, name_or_id)

    def delete(self) -> None:
        self._controller._delete_network(self.id)

    def inspect(self) -> dict[str, Any]:
        return self._controller._inspect_network(self.id)


class Endpoint(_Handle):
    """An endpoint: joins one sandbox to one network."""

    @property
    def network_id(self) -> str:
        return self._record.network_id

    @property
    def address(self):
        return self._record.address

    @property
    def address_ipv6(self):
        return self._record.address_ipv6

    @property
    def mac(self) -> str | None:
        return self._record.mac

    @property
    def sandbox_id(self) -> str | None:
        return self._record.sandbox_id

    @property
    def interface_name(self) -> str | None:
        return self._record.dst_name

    def join(self, sandbox: Sandbox | str) -> None:
        self._controller._join(self.network_id, self.id, sandbox)
        self._record = self._controller._load_endpoint(self.network_id, self.id)[0]

    def leave(self, sandbox: Sandbox | str | None = None) -> None:
        self._controller._leave(self.network_id, self.id, sandbox)
        self._record = self._controller._load_endpoint(self.network_id, self.id)[0]

    def delete(self, force: bool = False) -> None:
        self._controller._delete_endpoint(self.network_id, self.id, force=force)

    def oper_info(self) -> dict[str, Any]:
        return self._controller._oper_info(self.network_id, self.id)


class Sandbox(_Handle):
    """A container's network stack: a network namespace, bind-mounted at :attr:`key`."""

    @property
    def key(self) -> str:
        """The namespace path: ``nsenter --net=KEY`` or ``ip netns exec NAME`` enter it."""
        return self._record.key

    @property
    def netns_name(self) -> str:
        return os.path.basename(self._record.key)

    @property
    def hostname(self) -> str | None:
        return self._record.hostname

    @property
    def hosts_path(self) -> str:
        return os.path.join(self._controller._sandbox_dir(self.id), "hosts")

    @property
    def resolv_conf_path(self) -> str:
        return os.path.join(self._controller._sandbox_dir(self.id), "resolv.conf")

    def endpoints(self) -> list[Endpoint]:
        return self._controller._sandbox_endpoints(self.id)

    def delete(self) -> None:
        self._controller._delete_sandbox(self.id)

    def inspect(self) -> dict[str, Any]:
        return self._controller._inspect_sandbox(self.id)


# ---- the controller ------------------------------------------------------------------------------


class Controller:
    """Owns networks, endpoints, sandboxes and addresses, and drives the drivers.

    :param state_dir: where the embedded store and per-sandbox files live (default
        ``$PYCNM_STATE_DIR`` or ``/var/lib/pycnm``).
    :param netns_dir: where sandbox namespaces are bind-mounted (default ``/run/netns``, so that
        ``ip netns exec`` finds them).
    :param netns_prefix: prefix of sandbox namespace names (default ``pycnm-``).
    :param ifname_prefix: prefix for every kernel interface drivers create (default none); lets
        a test or a lab own and recognise its objects.
    :param store: a :class:`~pycnm.store.Store` to use instead of the SQLite file.
    """

    def __init__(
        self,
        state_dir: str | None = None,
        *,
        netns_dir: str | None = None,
        netns_prefix: str | None = None,
        ifname_prefix: str | None = None,
        store: Store | None = None,
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
        os.makedirs(self.state_dir, exist_ok=True)
        self.store = store or SQLiteStore(os.path.join(self.state_dir, "local.db"))
        self.instance_id = self._instance_id()
        self._lock = threading.RLock()
        self._plugins = list(discovery.load_plugins() if plugins is None else plugins)
        self._events = EventBus(self._plugins)
        self._network_relays: dict[str, NetworkRelay] = {}
        self._ipam_relays: dict[str, IPAMRelay] = {}
        #: what the last start-up reconciliation did, one line per action
        self.reconciled: list[str] = []
        self._closed = False
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

    # ---- drivers --------------------------------------------------------------------------------

    def network_driver(self, name: str) -> NetworkRelay:
        """The relay to network driver ``name``, loaded, configured and restored on first use."""
        with self._lock:
            relay = self._network_relays.get(name)
            if relay is None:
                driver, entry = discovery.load(discovery.NETWORK_DRIVERS, name)
                relay = NetworkRelay(driver, entry, self._plugins)
                relay.config(self._driver_config(name, relay.capabilities.scope))
                relay.restore(self._snapshots(name))
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
            relay.restore(self._snapshots(name))
            self._network_relays[name] = relay
            return relay

    def ipam_driver(self, name: str) -> IPAMRelay:
        with self._lock:
            relay = self._ipam_relays.get(name)
            if relay is None:
                driver, entry = discovery.load(discovery.IPAM_DRIVERS, name)
                relay = IPAMRelay(driver, entry, self._plugins)
                relay.config(self._driver_config(name, Scope.LOCAL, kind="ipam"), self.store)
                self._ipam_relays[name] = relay
            return relay

    def _driver_config(self, name: str, scope: Scope, kind: str = "network") -> DriverConfig:
        state = os.path.join(self.state_dir, "drivers", kind, name)
        return DriverConfig(state_dir=state, ifname_prefix=self.ifname_prefix, instance_id=self.instance_id,
                            scope=scope)

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

    def _snapshots(self, driver: str) -> list[NetworkSnapshot]:
        snaps = []
        for net in self._network_records():
            if net.driver != driver or net.state not in ("ready", "deleting"):
                continue
            eps = []
            # every endpoint the driver may have heard of; only "joined" ones count as joined, so
            # a driver drops what a crash left half-joined and the core then finishes the leave
            for ep in self._endpoint_records(net.id):
                sb = self._load_sandbox(ep.sandbox_id)[0] if ep.sandbox_id and ep.state == "joined" else None
                eps.append(EndpointSnapshot(
                    ep.id, EndpointInterface(ep.address, ep.address_ipv6, ep.mac), ep.options,
                    sandbox_key=sb.key if sb else None, dst_name=ep.dst_name if sb else None,
                    external_connectivity=sb is not None and sb.gateway_endpoint == ep.id,
                ))
            snaps.append(NetworkSnapshot(net.id, net.options, self._ipam_data(net.ipv4_pools),
                                         self._ipam_data(net.ipv6_pools), eps))
        return snaps

    # ---- store helpers --------------------------------------------------------------------------

    def _get(self, key: str, cls):
        entry = self.store.get(key)
        if entry is None:
            return None, 0
        return codec.loads(entry.value, cls), entry.version

    def _network_records(self) -> list[NetworkRecord]:
        return [codec.loads(e.value, NetworkRecord) for e in self.store.list("networks/")]

    def _endpoint_records(self, network_id: str) -> list[EndpointRecord]:
        return [codec.loads(e.value, EndpointRecord) for e in self.store.list(f"endpoints/{network_id}/")]

    def _sandbox_records(self) -> list[SandboxRecord]:
        return [codec.loads(e.value, SandboxRecord) for e in self.store.list("sandboxes/")]

    def _load_network(self, network_id: str) -> tuple[NetworkRecord, int]:
        rec, ver = self._get(f"networks/{network_id}", NetworkRecord)
        if rec is None:
            raise NotFound(f"network {network_id} not found")
        return rec, ver

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

    def _commit(self, ops: list) -> None:
        try:
            self.store.commit(ops)
        except StaleVersion as exc:
            raise Forbidden(f"{exc}: another process changed it at the same time; try again") from None

    @staticmethod
    def _put(key: str, record, expect: int | None) -> Put:
        return Put(key, codec.dumps(record), expect)

    # ---- lookups --------------------------------------------------------------------------------

    def _resolve(self, kind: str, name_or_id: str, names_prefix: str, records) -> str:
        entry = self.store.get(f"{names_prefix}{name_or_id}")
        if entry is not None:
            return entry.value.decode()
        ids = [r.id for r in records() if r.id.startswith(name_or_id)] if len(name_or_id) >= 1 else []
        if re.fullmatch(r"[0-9a-f]{1,64}", name_or_id) and len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise InvalidParameter(f"{kind} {name_or_id!r} is ambiguous: {len(ids)} {kind}s have IDs starting so")
        raise NotFound(f"{kind} {name_or_id} not found")

    def networks(self) -> list[Network]:
        """Every network, by name."""
        return sorted((Network(self, r) for r in self._network_records()), key=lambda n: n.name)

    def network(self, name_or_id: str) -> Network:
        """A network by name, full ID or unique ID prefix."""
        if isinstance(name_or_id, Network):
            return name_or_id
        nid = self._resolve("network", name_or_id, "names/networks/", self._network_records)
        return Network(self, self._load_network(nid)[0])

    def sandboxes(self) -> list[Sandbox]:
        return sorted((Sandbox(self, r) for r in self._sandbox_records()), key=lambda s: s.name)

    def sandbox(self, name_or_id: str) -> Sandbox:
        if isinstance(name_or_id, Sandbox):
            return name_or_id
        sid = self._resolve("sandbox", name_or_id, "names/sandboxes/", self._sandbox_records)
        return Sandbox(self, self._load_sandbox(sid)[0])

    def _endpoints(self, network_id: str) -> list[Endpoint]:
        return sorted((Endpoint(self, r) for r in self._endpoint_records(network_id)), key=lambda e: e.name)

    def _endpoint(self, network_id: str, name_or_id: str) -> Endpoint:
        eid = self._resolve("endpoint", name_or_id, f"names/endpoints/{network_id}/",
                            lambda: self._endpoint_records(network_id))
        return Endpoint(self, self._load_endpoint(network_id, eid)[0])

    def _sandbox_endpoints(self, sandbox_id: str) -> list[Endpoint]:
        sb = self._load_sandbox(sandbox_id)[0]
        out = []
        for eid in sb.endpoints:
            for net in self._network_records():
                rec, _ = self._get(f"endpoints/{net.id}/{eid}", EndpointRecord)
                if rec is not None:
                    out.append(Endpoint(self, rec))
                    break
        return out

    # ---- networks -------------------------------------------------------------------------------

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
    ) -> Network:
        """Create a network; returns it. Fails with no trace in the store or the kernel."""
        _check_name("network", name)
        requests = ipam_request.build(subnet, ip_range, gateway, aux_addresses)
        if not ipv6 and any(r.version == 6 for r in requests):
            raise InvalidParameter("an IPv6 subnet was given but IPv6 is not enabled (ipv6=True, --ipv6)")
        relay = self.network_driver(driver)
        if ipam_driver is None:
            ipam_driver = "null" if driver in ("null", "host") and not requests else "default"
        ipam = self.ipam_driver(ipam_driver)
        generic = _label_map(options, "option")
        driver_options = {labels_mod.GENERIC: labels_mod.normalize(generic), labels_mod.ENABLE_IPV6: bool(ipv6)}
        if internal:
            driver_options[labels_mod.INTERNAL] = True
        record = NetworkRecord(
            id=_new_id(), name=name, driver=driver, scope=relay.capabilities.scope.value,
            ipam_driver=ipam_driver, created=_now(), options=driver_options,
            ipam_options=dict(ipam_options or {}), labels=_label_map(labels, "label"),
            internal=bool(internal), ipv6=bool(ipv6),
            requested=[{"Subnet": str(r.subnet), "IPRange": str(r.ip_range) if r.ip_range else None,
                        "Gateway": str(r.gateway) if r.gateway else None,
                        "AuxiliaryAddresses": {k: str(v) for k, v in r.aux_addresses.items()}} for r in requests],
        )
        key = f"networks/{record.id}"
        with self._lock:
            try:
                self.store.commit([Put(f"names/networks/{name}", record.id.encode(), 0),
                                   self._put(key, record, 0)])
            except StaleVersion:
                raise Forbidden(f"network with name {name} already exists") from None
            created_in_driver = False
            try:
                self._allocate_pools(record, ipam, requests)
                self.store.put(key, codec.dumps(record))
                relay.create_network(record.id, record.options, self._ipam_data(record.ipv4_pools),
                                     self._ipam_data(record.ipv6_pools))
                created_in_driver = True
                record.state = "ready"
                self.store.put(key, codec.dumps(record))
            except BaseException:
                if created_in_driver:
                    _safely("delete network in driver", relay.delete_network, record.id)
                self._release_pools(record, ipam)
                self.store.commit([Delete(f"names/networks/{name}"), Delete(key)])
                raise
        self._events.emit("network.create", record.id, name, driver=driver)
        return Network(self, record)

    def _allocate_pools(self, record: NetworkRecord, ipam: IPAMRelay, requests) -> None:
        spaces = ipam.default_address_spaces()
        space = spaces.global_default if record.scope == Scope.GLOBAL.value else spaces.local_default
        v4 = [r for r in requests if r.version == 4] or [ipam_request.PoolRequest()]
        v6 = [r for r in requests if r.version == 6] or ([ipam_request.PoolRequest()] if record.ipv6 else [])
        for family_requests, target, is_v6 in ((v4, record.ipv4_pools, False), (v6, record.ipv6_pools, True)):
            for req in family_requests:
                alloc = ipam.request_pool(space, str(req.subnet or ""), str(req.ip_range or ""),
                                          record.ipam_options, is_v6)
                pool = PoolRecord(alloc.pool_id, alloc.pool, space, sub_pool=req.ip_range)
                target.append(pool)
                gw_opts = {labels_mod.REQUEST_ADDRESS_TYPE: labels_mod.GATEWAY_REQUEST}
                if labels_mod.GATEWAY_REQUEST in alloc.data:
                    pool.gateway = ipam_request.with_prefix(alloc.data[labels_mod.GATEWAY_REQUEST].split("/")[0],
                                                            alloc.pool)
                else:
                    got = ipam.request_address(alloc.pool_id, str(req.gateway or ""), gw_opts)
                    pool.gateway = got.address if got is not None else None
                for aux_name, aux_ip in req.aux_addresses.items():
                    got = ipam.request_address(alloc.pool_id, str(aux_ip), {})
                    if got is not None:
                        pool.aux_addresses[aux_name] = got.address

    def _release_pools(self, record: NetworkRecord, ipam: IPAMRelay) -> None:
        for pool in record.ipv4_pools + record.ipv6_pools:
            for addr in [pool.gateway, *pool.aux_addresses.values()]:
                if addr is not None:
                    _safely("release address", ipam.release_address, pool.pool_id, str(addr.ip))
            _safely("release pool", ipam.release_pool, pool.pool_id)
        record.ipv4_pools, record.ipv6_pools = [], []

    @staticmethod
    def _ipam_data(pools: list[PoolRecord]) -> list[IPAMData]:
        return [IPAMData(p.address_space, p.pool, p.gateway, p.aux_addresses) for p in pools]

    def _delete_network(self, network_id: str) -> None:
        with self._lock:
            record, version = self._load_network(network_id)
            endpoints = self._endpoint_records(network_id)
            if endpoints:
                raise Forbidden(f"network {record.name} id {record.id} has active endpoints"
                                f" ({', '.join(e.name for e in endpoints)}); disconnect them first")
            relay = self.network_driver(record.driver)
            record.state = "deleting"
            self._commit([self._put(f"networks/{network_id}", record, version)])
            _ignore_missing(relay.delete_network, network_id)
            self._release_pools(record, self.ipam_driver(record.ipam_driver))
            self.store.commit([Delete(f"networks/{network_id}"), Delete(f"names/networks/{record.name}")])
        self._events.emit("network.delete", network_id, record.name)

    def prune(self) -> list[str]:
        """Delete every network with no endpoints; returns their names."""
        removed = []
        for net in self.networks():
            if not self._endpoint_records(net.id):
                try:
                    net.delete()
                    removed.append(net.name)
                except CNMError as exc:
                    log.warning("prune: keeping network %s: %s", net.name, exc)
        return removed

    # ---- endpoints ------------------------------------------------------------------------------

    def _create_endpoint(
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
    ) -> Endpoint:
        _check_name("endpoint", name)
        mac = parse_mac(mac)
        bindings = ports.parse_all(publish)
        with self._lock:
            net, _ = self._load_network(network_id)
            if net.state != "ready":
                raise Forbidden(f"network {net.name} is being {net.state.rstrip('ing')}ed; try again")
            relay = self.network_driver(net.driver)
            ipam = self.ipam_driver(net.ipam_driver)
            opts = labels_mod.normalize(options)
            if mac:
                opts[labels_mod.MAC_ADDRESS] = mac
            if bindings:
                opts[labels_mod.PORT_MAP] = ports.to_wire(bindings)
                opts[labels_mod.EXPOSED_PORTS] = [{"Proto": p["Proto"], "Port": p["Port"]}
                                                  for p in ports.to_wire(bindings)]
            rec = EndpointRecord(id=_new_id(), name=name, network_id=network_id, mac=mac,
                                 aliases=list(aliases), options=opts, anonymous=anonymous)
            key = f"endpoints/{network_id}/{rec.id}"
            name_key = f"names/endpoints/{network_id}/{name}"
            try:
                self.store.commit([Put(name_key, rec.id.encode(), 0), self._put(key, rec, 0)])
            except StaleVersion:
                raise Forbidden(f"endpoint with name {name} already exists in network {net.name}") from None
            in_driver = False
            try:
                self._allocate_addresses(net, rec, ipam, ip, ip6)
                self.store.put(key, codec.dumps(rec))
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
                rec.state = "ready"
                self.store.put(key, codec.dumps(rec))
            except BaseException:
                if in_driver:
                    _safely("delete endpoint in driver", relay.delete_endpoint, network_id, rec.id)
                self._release_addresses(rec, ipam)
                self.store.commit([Delete(key), Delete(name_key)])
                raise
        self._events.emit("endpoint.create", rec.id, name, network_id=network_id)
        return Endpoint(self, rec)

    def _allocate_addresses(self, net: NetworkRecord, rec: EndpointRecord, ipam: IPAMRelay,
                            ip: str | None, ip6: str | None) -> None:
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
                got = ipam.request_address(owner.pool_id, str(want), {})
                chosen = owner
            else:
                got, chosen = None, None
                for pool in pools:
                    try:
                        got = ipam.request_address(pool.pool_id, "", {})
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
        if rec.address is not None and rec.address_pool:
            _safely("release address", ipam.release_address, rec.address_pool, str(rec.address.ip))
        if rec.address_ipv6 is not None and rec.address_ipv6_pool:
            _safely("release address", ipam.release_address, rec.address_ipv6_pool, str(rec.address_ipv6.ip))
        rec.address = rec.address_ipv6 = None

    def _delete_endpoint(self, network_id: str, endpoint_id: str, force: bool = False) -> None:
        with self._lock:
            rec, version = self._load_endpoint(network_id, endpoint_id)
            if rec.sandbox_id is not None:
                if not force:
                    sb_name = self._sandbox_name(rec.sandbox_id)
                    raise Forbidden(f"endpoint with name {rec.name} id {rec.id} has active containers"
                                    f" (sandbox {sb_name}); leave it first or use force")
                self._leave(network_id, endpoint_id, None)
                rec, version = self._load_endpoint(network_id, endpoint_id)
            net, _ = self._load_network(network_id)
            relay = self.network_driver(net.driver)
            rec.state = "deleting"
            self._commit([self._put(f"endpoints/{network_id}/{endpoint_id}", rec, version)])
            _ignore_missing(relay.delete_endpoint, network_id, endpoint_id)
            self._release_addresses(rec, self.ipam_driver(net.ipam_driver))
            self.store.commit([Delete(f"endpoints/{network_id}/{endpoint_id}"),
                               Delete(f"names/endpoints/{network_id}/{rec.name}")])
        self._events.emit("endpoint.delete", endpoint_id, rec.name, network_id=network_id)

    def _oper_info(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        net, _ = self._load_network(network_id)
        return self.network_driver(net.driver).endpoint_oper_info(network_id, endpoint_id)

    def _sandbox_name(self, sandbox_id: str) -> str:
        rec, _ = self._get(f"sandboxes/{sandbox_id}", SandboxRecord)
        return rec.name if rec else sandbox_id[:12]

    # ---- sandboxes ------------------------------------------------------------------------------

    def _sandbox_dir(self, sandbox_id: str) -> str:
        return os.path.join(self.state_dir, "sandboxes", sandbox_id)

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
    ) -> Sandbox:
        """Create a sandbox: a new network namespace (or the host's, with ``host_namespace``)."""
        _check_name("sandbox", name)
        for server in dns:
            if not _valid_ip(server):
                raise InvalidParameter(f"invalid DNS server {server!r}: not an IP address")
        extra = list(extra_hosts.items()) if isinstance(extra_hosts, Mapping) else [tuple(x) for x in extra_hosts]
        for host, ip in extra:
            if not _valid_ip(ip):
                raise InvalidParameter(f"invalid extra host {host}:{ip}: {ip!r} is not an IP address")
        sid = _new_id()
        key = netns.host_key() if host_namespace else os.path.join(self.netns_dir, f"{self.netns_prefix}{sid[:12]}")
        rec = SandboxRecord(id=sid, name=name, key=key, created=_now(), hostname=hostname or name[:63],
                            domainname=domainname, dns=list(dns), dns_search=list(dns_search),
                            dns_options=list(dns_options), extra_hosts=extra, host_namespace=host_namespace)
        rkey, name_key = f"sandboxes/{sid}", f"names/sandboxes/{name}"
        with self._lock:
            try:
                self.store.commit([Put(name_key, sid.encode(), 0), self._put(rkey, rec, 0)])
            except StaleVersion:
                raise Forbidden(f"sandbox with name {name} already exists") from None
            made = False
            try:
                if not host_namespace:
                    netns.create(key)
                    made = True
                    interfaces.loopback_up(key)
                os.makedirs(self._sandbox_dir(sid), exist_ok=True)
                self._write_dns_files(rec, [])
                rec.state = "ready"
                self.store.put(rkey, codec.dumps(rec))
            except BaseException:
                if made:
                    netlink.forget(key)
                    _safely("delete namespace", netns.delete, key)
                _remove_tree(self._sandbox_dir(sid))
                self.store.commit([Delete(rkey), Delete(name_key)])
                raise
        self._events.emit("sandbox.create", sid, name, key=key)
        return Sandbox(self, rec)

    def _write_dns_files(self, sb: SandboxRecord, endpoints: list[EndpointRecord]) -> None:
        directory = self._sandbox_dir(sb.id)
        addresses = [str(a.ip) for ep in endpoints for a in (ep.address, ep.address_ipv6) if a is not None]
        dnsfiles.write(os.path.join(directory, "hosts"),
                       dnsfiles.hosts(sb.hostname, sb.domainname, addresses, sb.extra_hosts))
        try:
            with open("/etc/resolv.conf") as fh:
                host_text = fh.read()
        except OSError:
            host_text = ""
        ipv6 = any(ep.address_ipv6 is not None for ep in endpoints)
        if sb.host_namespace:
            text = host_text
        else:
            text = dnsfiles.resolv_conf(host_text, dns=sb.dns, dns_search=sb.dns_search,
                                        dns_options=sb.dns_options, ipv6=ipv6)
        dnsfiles.write_resolv_conf(os.path.join(directory, "resolv.conf"), text)

    def _delete_sandbox(self, sandbox_id: str) -> None:
        with self._lock:
            rec, _ = self._load_sandbox(sandbox_id)
            for ep in reversed(self._sandbox_endpoints(sandbox_id)):
                self._leave(ep.network_id, ep.id, sandbox_id)
                if ep.record.anonymous:
                    self._delete_endpoint(ep.network_id, ep.id)
            rec, version = self._load_sandbox(sandbox_id)
            rec.state = "deleting"
            self._commit([self._put(f"sandboxes/{sandbox_id}", rec, version)])
            if not rec.host_namespace:
                netlink.forget(rec.key)
                _ignore_missing(netns.delete, rec.key)
            _remove_tree(self._sandbox_dir(sandbox_id))
            self.store.commit([Delete(f"sandboxes/{sandbox_id}"), Delete(f"names/sandboxes/{rec.name}")])
        self._events.emit("sandbox.delete", sandbox_id, rec.name)

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

    # ---- inspect --------------------------------------------------------------------------------

    def _inspect_network(self, network_id: str) -> dict[str, Any]:
        net, _ = self._load_network(network_id)
        containers = {}
        for ep in self._endpoint_records(network_id):
            if ep.sandbox_id is None:
                continue
            containers[ep.sandbox_id] = {
                "Name": self._sandbox_name(ep.sandbox_id),
                "EndpointID": ep.id,
                "MacAddress": ep.mac or "",
                "IPv4Address": str(ep.address) if ep.address else "",
                "IPv6Address": str(ep.address_ipv6) if ep.address_ipv6 else "",
            }
        configs = []
        for pool in net.ipv4_pools + net.ipv6_pools:
            if pool.pool.prefixlen == 0:
                continue
            cfg: dict[str, Any] = {"Subnet": str(pool.pool)}
            if pool.sub_pool is not None:
                cfg["IPRange"] = str(pool.sub_pool)
            if pool.gateway is not None:
                cfg["Gateway"] = str(pool.gateway.ip)
            if pool.aux_addresses:
                cfg["AuxiliaryAddresses"] = {k: str(v.ip) for k, v in pool.aux_addresses.items()}
            configs.append(cfg)
        return {
            "Name": net.name,
            "Id": net.id,
            "Created": net.created,
            "Scope": net.scope,
            "Driver": net.driver,
            "EnableIPv4": True,
            "EnableIPv6": net.ipv6,
            "IPAM": {"Driver": net.ipam_driver, "Options": dict(net.ipam_options), "Config": configs},
            "Internal": net.internal,
            "Attachable": False,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": containers,
            "Options": {str(k): str(v) for k, v in net.options.get(labels_mod.GENERIC, {}).items()},
            "Labels": dict(net.labels),
        }

    def _inspect_sandbox(self, sandbox_id: str) -> dict[str, Any]:
        sb, _ = self._load_sandbox(sandbox_id)
        eps = []
        for ep in self._sandbox_endpoints(sandbox_id):
            rec = ep.record
            net, _ = self._load_network(rec.network_id)
            eps.append({
                "Network": net.name, "NetworkID": net.id, "EndpointID": rec.id, "Name": rec.name,
                "Interface": rec.dst_name or "", "MacAddress": rec.mac or "",
                "IPv4Address": str(rec.address) if rec.address else "",
                "IPv6Address": str(rec.address_ipv6) if rec.address_ipv6 else "",
                "Gateway": str(rec.gateway) if rec.gateway else "",
                "DefaultGateway": sb.gateway_endpoint == rec.id,
            })
        return {
            "Id": sb.id, "Name": sb.name, "Key": sb.key, "Created": sb.created, "Hostname": sb.hostname,
            "HostNamespace": sb.host_namespace,
            "HostsPath": os.path.join(self._sandbox_dir(sb.id), "hosts"),
            "ResolvConfPath": os.path.join(self._sandbox_dir(sb.id), "resolv.conf"),
            "Endpoints": eps,
        }

    # ---- recovery -------------------------------------------------------------------------------

    def _note(self, message: str, *args: Any) -> None:
        text = message % args if args else message
        self.reconciled.append(text)
        log.warning("reconcile: %s", text)

    def _recover(self) -> None:
        """Finish or undo what a crashed controller left half-done, and match store to kernel."""
        with self._lock:
            # 1. sandboxes whose namespace vanished, or that were half made or half deleted
            for sb in self._sandbox_records():
                gone = not sb.host_namespace and not netns.is_namespace(sb.key)
                if sb.state != "ready" or gone:
                    why = "its namespace is gone" if gone and sb.state == "ready" else f"it was left {sb.state}"
                    self._note("dropping sandbox %s (%s): %s", sb.name, sb.id[:12], why)
                    self._drop_sandbox(sb)
            # 2. endpoints and networks left in a transient state
            for net in self._network_records():
                for ep in self._endpoint_records(net.id):
                    if ep.state in ("joining", "leaving"):
                        self._note("finishing leave of endpoint %s on %s (left %s)", ep.name, net.name, ep.state)
                        self._force_leave(net, ep)
                    elif ep.state in ("creating", "deleting"):
                        self._note("removing endpoint %s on %s (left %s)", ep.name, net.name, ep.state)
                        self._force_delete_endpoint(net, ep)
                if net.state in ("creating", "deleting"):
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
            # 4. drivers rebuild their state (and repair or remove their kernel objects)
            for driver in sorted({n.driver for n in self._network_records()}):
                try:
                    self.network_driver(driver)
                except CNMError as exc:
                    self._note("driver %s of existing networks cannot be loaded: %s", driver, exc)

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
        try:
            self._release_pools(net, self.ipam_driver(net.ipam_driver))
        except CNMError as exc:
            self._note("cannot release pools of network %s: %s", net.name, exc)
        self.store.commit([Delete(f"networks/{net.id}"), Delete(f"names/networks/{net.name}")])


# ---- module helpers ------------------------------------------------------------------------------


def _label_map(values: Mapping[str, Any] | Sequence[str] | None, what: str) -> dict[str, Any]:
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return dict(values)
    out = {}
    for item in values:
        key, sep, value = str(item).partition("=")
        if not key:
            raise InvalidParameter(f"invalid {what} {item!r}: expected key=value")
        out[key] = value if sep else ""
    return out


def _valid_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).split("/")[0])
        return True
    except ValueError:
        return False


def _safely(what: str, fn, *args, **kwargs) -> None:
    """Run a clean-up step; log, never raise, so that the first error is the one reported."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - clean-up must go on
        log.warning("while cleaning up, could not %s: %s", what, exc)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


__all__ = ["Controller", "Endpoint", "Network", "Sandbox"]
