"""The built-in ``default`` IPAM driver.

State lives in the store, so that every process using one state directory (or, for the global
address space, every host using one cluster store) sees the same allocations:

``ipam/space/<space>``
    the pools reserved in an address space; a pool request rewrites it under a version guard,
    so two requests can never take overlapping pools.
``ipam/pools/<space>/<pool>``
    one pool's own record (its sub-pool), read by every address request: its cost does not
    grow with the number of pools.
``ipam/bits/<space>/<pool>/<chunk>``
    one chunk of the pool's address bitmap (:mod:`.bitmap`); absent means all free.
``ipam/meta/<space>/<pool>``
    where the next search starts: the lowest ordinal that may be free (everything below it is
    taken), and the cursor of serial allocation. A first-free request starts its search there,
    so it never rescans what is known to be full.
``ipam/owners/<space>/<pool>/<ordinal>``
    who an address was requested for, when the request named an owner (``pycnm.ipam.owner``,
    which the core gives on global networks only); written in the address's own commit. A pool's
    owner sits in its ``ipam/space`` entry. :meth:`DefaultIPAM.ipam_owned` lists them.

An address request reads one chunk, sets one bit and writes it back under the chunk's version:
a concurrent writer makes the commit fail and the request retries, so no address is handed out
twice. Memory and store size are one bit per address of the chunks in use, and no Python object
exists per address.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
from collections.abc import Callable, Iterable, Mapping

from .. import hookimpl, labels
from ..errors import Forbidden, Internal, InvalidParameter, NotFound, StaleVersion, Unavailable
from ..model import (
    AddressAllocation,
    AddressSpaces,
    DriverConfig,
    IPAMCapabilities,
    IPNetwork,
    PoolAllocation,
    network,
    subnet_of,
)
from ..store import Delete, Put, Store
from . import bitmap, pools

log = logging.getLogger(__name__)

_RETRIES = 64


def _json(data: bytes | None, default):
    return json.loads(data) if data else default


def _bounds(pool: IPNetwork) -> tuple[int, int]:
    """The ordinals that may be handed out: not the network address, nor the IPv4 broadcast."""
    size = pool.num_addresses
    if pool.version == 4:
        return (1, size - 2) if pool.prefixlen <= 30 else (0, size - 1)
    return (1, size - 1) if pool.prefixlen < 128 else (0, 0)


class DefaultIPAM:
    """Docker's default IPAM: default pools, explicit pools and ranges, first-free or serial."""

    def __init__(self) -> None:
        self.store: Store | None = None
        #: networks the host already routes; auto-chosen local pools avoid them (overridable)
        self.host_networks: Callable[[], Iterable[IPNetwork]] = _host_networks
        #: address space key -> (version, value, its pools indexed): parsed once per version
        self._spaces: dict[str, tuple[int, bytes, pools.Intervals]] = {}

    @property
    def _store(self) -> Store:
        if self.store is None:
            raise Internal("the default IPAM driver is used before ipam_config gave it its store")
        return self.store

    # ---- set-up ---------------------------------------------------------------------------------

    @hookimpl
    def ipam_config(self, config: DriverConfig, store: Store) -> None:
        self.store = store

    @hookimpl
    def ipam_get_capabilities(self) -> IPAMCapabilities:
        return IPAMCapabilities(state_in_store=True, keeps_owners=True)

    @hookimpl
    def ipam_get_default_address_spaces(self) -> AddressSpaces:
        return AddressSpaces(pools.LOCAL_DEFAULT, pools.GLOBAL_DEFAULT)

    # ---- pools ----------------------------------------------------------------------------------

    @hookimpl
    def ipam_request_pool(
        self, address_space: str, pool: str, sub_pool: str, options: Mapping[str, str], v6: bool
    ) -> PoolAllocation:
        if address_space not in (pools.LOCAL_DEFAULT, pools.GLOBAL_DEFAULT):
            raise NotFound(
                f"unknown address space {address_space!r}: the default IPAM has"
                f" {pools.LOCAL_DEFAULT} and {pools.GLOBAL_DEFAULT}"
            )
        if sub_pool and not pool:
            raise InvalidParameter(f"invalid ip-range {sub_pool!r}: an ip-range needs a subnet")
        want = network(pool, name="subnet") if pool else None
        sub = network(sub_pool, name="ip-range") if sub_pool else None
        if want is not None and want.version != (6 if v6 else 4):
            raise InvalidParameter(f"invalid subnet {pool!r}: expected an IPv{6 if v6 else 4} subnet")
        if sub is not None and want is not None and not subnet_of(sub, want):  # (an ip-range needs a subnet)
            raise InvalidParameter(f"invalid ip-range {sub_pool!r}: it is not inside subnet {pool}")
        key = f"ipam/space/{address_space}"
        for _ in range(_RETRIES):
            entry = self._store.get(key)
            space = _json(entry.value if entry else None, {"pools": {}})
            taken = self._taken(key, entry, space)
            if want is not None:
                other = taken.overlapping(want)
                if other is not None:
                    raise Forbidden(
                        f"subnet {want} overlaps with subnet {other} already in use in address space {address_space}"
                    )
                chosen = want
            else:
                chosen = self._choose(address_space, v6, taken)
            held = {"sub": str(sub) if sub else None, "v6": v6}
            if options.get(labels.IPAM_OWNER):
                held["owner"] = str(options[labels.IPAM_OWNER])
            space["pools"][str(chosen)] = held
            value = json.dumps(space, sort_keys=True).encode()
            try:
                version = self._store.commit(
                    [
                        Put(key, value, expect=entry.version if entry else 0),
                        Put(f"ipam/pools/{address_space}/{chosen}", json.dumps(held).encode()),
                    ]
                )
            except StaleVersion:
                continue
            taken.add(chosen)
            self._spaces[key] = (version, value, taken)
            data: dict[str, str] = {}
            return PoolAllocation(pools.pool_id(address_space, chosen, sub), chosen, data)
        raise Unavailable(f"address space {address_space} is too busy: gave up after {_RETRIES} attempts")

    def _taken(self, key: str, entry, space: dict) -> pools.Intervals:
        """The address space's pools, indexed; a copy the caller may add to."""
        cached = self._spaces.get(key)
        if entry is not None and cached is not None and cached[0] == entry.version and cached[1] == entry.value:
            return cached[2].copy()
        return pools.Intervals(ipaddress.ip_network(p) for p in space["pools"])

    def _choose(self, address_space: str, v6: bool, taken: pools.Intervals) -> IPNetwork:
        host = []
        if address_space == pools.LOCAL_DEFAULT and not v6:
            host = [n for n in self.host_networks() if n.prefixlen > 0]
        for candidate in pools.defaults(address_space, v6):
            if taken.overlapping(candidate) is None and not any(
                o.version == candidate.version and o.overlaps(candidate) for o in host
            ):
                return candidate
        family = "IPv6" if v6 else "IPv4"
        raise Unavailable(
            f"could not find an available, non-overlapping {family} address pool among the"
            " defaults to assign to the network; remove unused networks or give --subnet"
        )

    @hookimpl
    def ipam_release_pool(self, pool_id: str) -> None:
        space_name, pool, _sub = pools.parse_pool_id(pool_id)
        key = f"ipam/space/{space_name}"
        for _ in range(_RETRIES):
            entry = self._store.get(key)
            space = _json(entry.value if entry else None, {"pools": {}})
            if entry is None or str(pool) not in space["pools"]:
                raise NotFound(f"pool {pool_id} not found", maskable=True)
            del space["pools"][str(pool)]
            ops: list[Put | Delete] = [Put(key, json.dumps(space, sort_keys=True).encode(), expect=entry.version)]
            base = f"ipam/bits/{space_name}/{pool}/"
            ops += [Delete(e.key) for e in self._store.list(base)]
            ops += [Delete(e.key) for e in self._store.list(_owners_prefix(space_name, pool))]
            ops.append(Delete(_meta_key(space_name, pool)))
            ops.append(Delete(f"ipam/pools/{space_name}/{pool}"))
            try:
                self._store.commit(ops)
                return
            except StaleVersion:
                continue
        raise Unavailable(f"pool {pool_id}: gave up releasing after {_RETRIES} attempts")

    # ---- addresses ------------------------------------------------------------------------------

    def _pool(self, pool_id: str) -> tuple[str, IPNetwork, IPNetwork | None]:
        space_name, pool, sub = pools.parse_pool_id(pool_id)
        entry = self._store.get(f"ipam/pools/{space_name}/{pool}")
        held = _json(entry.value if entry else None, None)
        if held is None or held["sub"] != (str(sub) if sub else None):
            raise NotFound(f"pool {pool_id} not found: request the pool first")
        return space_name, pool, sub

    @hookimpl
    def ipam_request_address(self, pool_id: str, address: str, options: Mapping[str, str]) -> AddressAllocation:
        space_name, pool, sub = self._pool(pool_id)
        lo, hi = _bounds(pool)
        base = int(pool.network_address)
        if address:
            wanted = ipaddress.ip_address(str(address).split("/")[0])
            ordinal = int(wanted) - base if wanted.version == pool.version else -1
            if not lo <= ordinal <= hi:
                raise InvalidParameter(f"requested address {address} is out of range of pool {pool}")
            self._take(space_name, pool, ordinal, _owner(options))
            return AddressAllocation(ipaddress.ip_interface(f"{wanted}/{pool.prefixlen}"))
        if sub is not None:
            lo = max(lo, int(sub.network_address) - base)
            hi = min(hi, int(sub.broadcast_address) - base)
        serial = labels.as_bool(options.get(labels.IPAM_SERIAL, False), field=labels.IPAM_SERIAL)
        ordinal = self._take_any(space_name, pool, lo, hi, serial, whole_pool=sub is None, owner=_owner(options))
        iface = ipaddress.IPv4Interface if pool.version == 4 else ipaddress.IPv6Interface
        return AddressAllocation(iface((base + ordinal, pool.prefixlen)))

    @hookimpl
    def ipam_release_address(self, pool_id: str, address: str) -> None:
        space_name, pool, _sub = self._pool(pool_id)
        addr = ipaddress.ip_address(str(address).split("/")[0])
        ordinal = int(addr) - int(pool.network_address)
        if addr.version != pool.version or not 0 <= ordinal < pool.num_addresses:
            raise InvalidParameter(f"address {address} is not in pool {pool}")
        chunk_index, bit = divmod(ordinal, bitmap.CHUNK_BITS)
        key = self._bits_key(space_name, pool, chunk_index)
        meta_key = _meta_key(space_name, pool)
        for _ in range(_RETRIES):
            entry = self._store.get(key)
            if entry is None or not bitmap.is_set(entry.value, bit):
                raise NotFound(f"address {addr} is not allocated in pool {pool}", maskable=True)
            ops: list[Put | Delete] = [
                Put(key, bitmap.clear_bit(entry.value, bit), expect=entry.version),
                Delete(_owner_key(space_name, pool, ordinal)),
            ]
            meta_entry = self._store.get(meta_key)
            meta = _json(meta_entry.value if meta_entry else None, {"next": 0, "cursor": 0})
            if ordinal < meta["next"]:
                meta["next"] = ordinal
                ops.append(Put(meta_key, json.dumps(meta).encode(), expect=meta_entry.version if meta_entry else 0))
            try:
                self._store.commit(ops)
                return
            except StaleVersion:
                continue
        raise Unavailable(f"pool {pool}: gave up releasing {addr} after {_RETRIES} attempts")

    @hookimpl
    def ipam_owned(self, owner_prefix: str) -> list[tuple[str, str, str]]:
        out = []
        for space_name in (pools.LOCAL_DEFAULT, pools.GLOBAL_DEFAULT):
            entry = self._store.get(f"ipam/space/{space_name}")
            held = _json(entry.value if entry else None, {"pools": {}})["pools"]
            subs = {}
            for cidr, info in held.items():
                pool = ipaddress.ip_network(cidr)
                sub = ipaddress.ip_network(info["sub"]) if info.get("sub") else None
                subs[cidr] = pools.pool_id(space_name, pool, sub)
                if str(info.get("owner", "")).startswith(owner_prefix):
                    out.append((subs[cidr], "", info["owner"]))
            base = f"ipam/owners/{space_name}/"
            for item in self._store.list(base):
                owner = item.value.decode()
                cidr, ordinal = item.key[len(base) :].rsplit("/", 1)  # a CIDR has a "/" of its own
                if owner.startswith(owner_prefix) and cidr in subs:
                    pool = ipaddress.ip_network(cidr)
                    out.append((subs[cidr], str(pool.network_address + int(ordinal, 16)), owner))
        return out

    # ---- bitmap work ----------------------------------------------------------------------------

    @staticmethod
    def _bits_key(space_name: str, pool: IPNetwork, chunk_index: int) -> str:
        return f"{_bits_prefix(space_name, pool)}{chunk_index:013x}"

    def _take(self, space_name: str, pool: IPNetwork, ordinal: int, owner: str | None = None) -> None:
        chunk_index, bit = divmod(ordinal, bitmap.CHUNK_BITS)
        key = self._bits_key(space_name, pool, chunk_index)
        for _ in range(_RETRIES):
            entry = self._store.get(key)
            chunk = entry.value if entry else bitmap.EMPTY
            if bitmap.is_set(chunk, bit):
                addr = ipaddress.ip_address(int(pool.network_address) + ordinal)
                raise Forbidden(f"address {addr} is already in use in pool {pool}")
            ops = [Put(key, bitmap.set_bit(chunk, bit), expect=entry.version if entry else 0)]
            if owner:
                ops.append(Put(_owner_key(space_name, pool, ordinal), owner.encode()))
            try:
                self._store.commit(ops)
                return
            except StaleVersion:
                continue
        raise Unavailable(f"pool {pool} is too busy: gave up after {_RETRIES} attempts")

    def _take_any(
        self,
        space_name: str,
        pool: IPNetwork,
        lo: int,
        hi: int,
        serial: bool,
        whole_pool: bool,
        owner: str | None = None,
    ) -> int:
        meta_key = _meta_key(space_name, pool)
        for _ in range(_RETRIES):
            meta_entry = self._store.get(meta_key)
            meta = _json(meta_entry.value if meta_entry else None, {"next": 0, "cursor": 0})
            if serial:
                start = meta["cursor"] if lo <= meta["cursor"] <= hi else lo
                segments = [(start, hi), (lo, start - 1)]
            else:
                start = max(lo, meta["next"]) if whole_pool else lo
                segments = [(start, hi)]
            found = None
            for seg_lo, seg_hi in segments:
                found = self._search(space_name, pool, seg_lo, seg_hi)
                if found is not None:
                    break
            if found is None:
                raise Unavailable(
                    f"no available addresses in pool {pool}"
                    + (
                        ""
                        if whole_pool
                        else f" range {ipaddress.ip_address(int(pool.network_address) + lo)}-"
                        f"{ipaddress.ip_address(int(pool.network_address) + hi)}"
                    )
                )
            ordinal, entry, chunk = found
            chunk_index, bit = divmod(ordinal, bitmap.CHUNK_BITS)
            new_chunk = bitmap.set_bit(chunk, bit)
            ops = [Put(self._bits_key(space_name, pool, chunk_index), new_chunk, expect=entry.version if entry else 0)]
            new_meta = dict(meta)
            if serial:
                new_meta["cursor"] = ordinal + 1
            elif whole_pool:
                new_meta["next"] = ordinal + 1  # the lowest free was taken: all below is taken
            if new_meta != meta:
                ops.append(Put(meta_key, json.dumps(new_meta).encode(), expect=meta_entry.version if meta_entry else 0))
            if owner:
                ops.append(Put(_owner_key(space_name, pool, ordinal), owner.encode()))
            try:
                self._store.commit(ops)
                return ordinal
            except StaleVersion:
                continue
        raise Unavailable(f"pool {pool} is too busy: gave up after {_RETRIES} attempts")

    def _search(self, space_name: str, pool: IPNetwork, lo: int, hi: int):
        """The lowest free ordinal in [lo, hi], with the chunk's entry and bytes it was found in."""
        if lo > hi:
            return None
        first, last = lo // bitmap.CHUNK_BITS, hi // bitmap.CHUNK_BITS
        for chunk_index in range(first, last + 1):
            entry = self._store.get(self._bits_key(space_name, pool, chunk_index))
            chunk = entry.value if entry else bitmap.EMPTY
            offset = chunk_index * bitmap.CHUNK_BITS
            start = max(lo - offset, 0)
            end = min(hi - offset + 1, bitmap.CHUNK_BITS)
            bit = bitmap.find_zero(chunk, start, end)
            if bit is not None:
                return offset + bit, entry, chunk
        return None


@functools.lru_cache(maxsize=4096)
def _bits_prefix(space_name: str, pool: IPNetwork) -> str:
    return f"ipam/bits/{space_name}/{pool}/"


@functools.lru_cache(maxsize=4096)
def _meta_key(space_name: str, pool: IPNetwork) -> str:
    return f"ipam/meta/{space_name}/{pool}"


def _owners_prefix(space_name: str, pool: IPNetwork) -> str:
    return f"ipam/owners/{space_name}/{pool}/"


def _owner_key(space_name: str, pool: IPNetwork, ordinal: int) -> str:
    return f"{_owners_prefix(space_name, pool)}{ordinal:032x}"


def _owner(options: Mapping) -> str | None:
    owner = (options or {}).get(labels.IPAM_OWNER)
    return str(owner) if owner else None


def _host_networks() -> list[IPNetwork]:
    """Networks routed by the host, and its resolvers' addresses (libnetwork avoids both)."""
    from ..osl import routes

    nets = list(routes.host_networks())
    try:
        with open("/etc/resolv.conf") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    try:
                        nets.append(ipaddress.ip_network(parts[1].split("%")[0]))
                    except ValueError:
                        pass
    except OSError:
        pass
    return nets
