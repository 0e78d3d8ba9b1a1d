"""Docker's default address pools, and pool IDs.

Local pools (libnetwork ipamutils): 172.17.0.0/16 .. 172.31.0.0/16, then 192.168.0.0/16 in /20s.
Global pools: 10.0.0.0/8 in /24s, generated on demand rather than held as 65,536 objects.
IPv6 (as current Docker does): a per-host ULA /48, from the machine ID, in /64s.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import ipaddress
import operator
from collections.abc import Iterable, Iterator

from ..errors import InvalidParameter
from ..model import IPNetwork, network

LOCAL_DEFAULT = "LocalDefault"
GLOBAL_DEFAULT = "GlobalDefault"


def _split(base: str, new_prefix: int) -> Iterator[IPNetwork]:
    return ipaddress.ip_network(base).subnets(new_prefix=new_prefix)


def local_v4() -> Iterator[IPNetwork]:
    for second in range(17, 32):
        yield ipaddress.ip_network(f"172.{second}.0.0/16")
    yield from _split("192.168.0.0/16", 20)


def global_v4() -> Iterator[IPNetwork]:
    yield from _split("10.0.0.0/8", 24)


def host_ula() -> IPNetwork:
    """This host's ULA /48: fd + 40 bits of sha256(machine-id)."""
    try:
        with open("/etc/machine-id", "rb") as fh:
            seed = fh.read().strip()
    except OSError:
        seed = b"pycnm"
    digest = hashlib.sha256(seed).digest()
    prefix = bytes([0xFD]) + digest[:5] + bytes(10)
    return ipaddress.IPv6Network((prefix, 48))


def default_v6() -> Iterator[IPNetwork]:
    yield from host_ula().subnets(new_prefix=64)


def defaults(address_space: str, v6: bool) -> Iterator[IPNetwork]:
    if v6:
        return default_v6()
    return global_v4() if address_space == GLOBAL_DEFAULT else local_v4()


def pool_id(address_space: str, pool: IPNetwork, sub_pool: IPNetwork | None) -> str:
    """``<space>/<pool>[/<sub-pool>]``, e.g. ``LocalDefault/172.18.0.0/16``."""
    return f"{address_space}/{pool}" + (f"/{sub_pool}" if sub_pool is not None else "")


@functools.lru_cache(maxsize=4096)
def parse_pool_id(value: str) -> tuple[str, IPNetwork, IPNetwork | None]:
    parts = value.split("/")
    if len(parts) not in (3, 5):
        raise InvalidParameter(f"invalid pool ID {value!r}: expected SPACE/POOL[/SUBPOOL]")
    space = parts[0]
    pool = network("/".join(parts[1:3]), name="pool")
    sub = network("/".join(parts[3:5]), name="sub-pool") if len(parts) == 5 else None
    return space, pool, sub


class Intervals:
    """Networks kept sorted by address, to find one that overlaps a given network by bisection
    rather than by comparing with each (a network made among 1000 compared 1000 pairs).

    Networks may overlap each other; ``ends`` holds the running maximum of their last addresses,
    so that one bisection answers whether any earlier network reaches a candidate.
    """

    def __init__(self, networks: Iterable[IPNetwork] = ()) -> None:
        self._by_version: dict[int, list[tuple[int, int, IPNetwork]]] = {4: [], 6: []}
        self._ends: dict[int, list[int]] = {4: [], 6: []}
        for net in networks:
            self._by_version[net.version].append(_span(net))
        for version in (4, 6):
            self._by_version[version].sort(key=_ORDER)
            self._reindex(version)

    def _reindex(self, version: int) -> None:
        ends, top = [], -1
        for _start, end, _net in self._by_version[version]:
            top = max(top, end)
            ends.append(top)
        self._ends[version] = ends

    def add(self, net: IPNetwork) -> None:
        items = self._by_version[net.version]
        bisect.insort(items, _span(net), key=_ORDER)
        self._reindex(net.version)

    def remove(self, net: IPNetwork) -> None:
        items = self._by_version[net.version]
        span = _span(net)
        for i in range(bisect.bisect_left(items, _ORDER(span), key=_ORDER), len(items)):
            if items[i][2] == net:
                del items[i]
                self._reindex(net.version)
                return

    def overlapping(self, net: IPNetwork) -> IPNetwork | None:
        """A network held that overlaps ``net`` (the one that starts last before ``net`` ends), or None."""
        start, end, _ = _span(net)
        items, ends = self._by_version[net.version], self._ends[net.version]
        i = bisect.bisect_right(items, end, key=_START) - 1
        if i < 0 or ends[i] < start:
            return None
        while items[i][1] < start:  # the running maximum says one at or before i reaches: find it
            i -= 1
        return items[i][2]

    def copy(self) -> Intervals:
        out = Intervals()
        out._by_version = {v: list(items) for v, items in self._by_version.items()}
        out._ends = {v: list(ends) for v, ends in self._ends.items()}
        return out

    def __len__(self) -> int:
        return len(self._by_version[4]) + len(self._by_version[6])


_ORDER = operator.itemgetter(0, 1)  # a span's (first, last) address
_START = operator.itemgetter(0)


def _span(net: IPNetwork) -> tuple[int, int, IPNetwork]:
    start = int(net.network_address)
    return start, start + net.num_addresses - 1, net
