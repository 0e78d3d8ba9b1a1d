"""Docker's default address pools, and pool IDs.

Local pools (libnetwork ipamutils): 172.17.0.0/16 .. 172.31.0.0/16, then 192.168.0.0/16 in /20s.
Global pools: 10.0.0.0/8 in /24s, generated on demand rather than held as 65,536 objects.
IPv6 (as current Docker does): a per-host ULA /48, from the machine ID, in /64s.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Iterator

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
