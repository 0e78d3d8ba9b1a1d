"""Turning a user's ``--subnet/--ip-range/--gateway/--aux-address`` into one config per subnet.

Docker's CLI rules: every ip-range, gateway and aux address must lie in exactly one subnet; at
most one ip-range and one gateway per subnet; subnets must not overlap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from attrs import define, field

from ..errors import InvalidParameter
from ..model import IPInterface, IPNetwork, address, network


@define
class PoolRequest:
    subnet: IPNetwork | None = None
    ip_range: IPNetwork | None = None
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    aux_addresses: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address] = field(factory=dict)

    @property
    def version(self) -> int | None:
        return self.subnet.version if self.subnet is not None else None


def _list(value: str | Sequence[str] | None, what: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise InvalidParameter(f"invalid {what} {value!r}: expected one value or a list of them")
    return list(value)


def build(
    subnets: str | Sequence[str] | None,
    ip_ranges: str | Sequence[str] | None = None,
    gateways: str | Sequence[str] | None = None,
    aux_addresses: Mapping[str, str] | None = None,
) -> list[PoolRequest]:
    """One request per subnet, with the ip-range, gateway and aux addresses that fall in it."""
    requests = [PoolRequest(subnet=network(s, name="subnet")) for s in _list(subnets, "subnet")]
    for i, a in enumerate(requests):
        for b in requests[i + 1 :]:
            if a.subnet.version == b.subnet.version and a.subnet.overlaps(b.subnet):
                raise InvalidParameter(f"subnets {a.subnet} and {b.subnet} overlap")

    def owner(value, what: str) -> PoolRequest:
        for req in requests:
            if value.version != req.subnet.version:
                continue  # subnet_of() raises TypeError across families
            contained = value.subnet_of(req.subnet) if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)) \
                else value in req.subnet
            if contained:
                return req
        if not requests:
            raise InvalidParameter(f"invalid {what} {value}: a {what} needs a --subnet")
        raise InvalidParameter(f"invalid {what} {value}: it is not inside any subnet given"
                               f" ({', '.join(str(r.subnet) for r in requests)})")

    for text in _list(ip_ranges, "ip-range"):
        rng = network(text, name="ip-range")
        req = owner(rng, "ip-range")
        if req.ip_range is not None:
            raise InvalidParameter(f"cannot have more than one ip-range in subnet {req.subnet}")
        req.ip_range = rng
    for text in _list(gateways, "gateway"):
        gw = address(text, name="gateway")
        req = owner(gw, "gateway")
        if req.gateway is not None:
            raise InvalidParameter(f"cannot have more than one gateway in subnet {req.subnet}")
        if gw == req.subnet.network_address or (gw.version == 4 and req.subnet.prefixlen <= 30
                                                 and gw == req.subnet.broadcast_address):
            raise InvalidParameter(f"invalid gateway {gw}: it is the network or broadcast address of {req.subnet}")
        req.gateway = gw
    if aux_addresses is not None and not isinstance(aux_addresses, Mapping):
        raise InvalidParameter(f"invalid aux addresses {aux_addresses!r}: expected a mapping of names to addresses")
    for name, text in (aux_addresses or {}).items():
        aux = address(text, name=f"aux address {name}")
        owner(aux, f"aux address {name}").aux_addresses[name] = aux
    return requests


def with_prefix(ip, pool: IPNetwork) -> IPInterface:
    return ipaddress.ip_interface(f"{ip}/{pool.prefixlen}")
