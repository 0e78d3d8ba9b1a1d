"""Turning a user's ``--subnet/--ip-range/--gateway/--aux-address`` into one config per subnet.

Docker's CLI rules: every ip-range, gateway and aux address must lie in exactly one subnet; at
most one ip-range and one gateway per subnet; subnets must not overlap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from attrs import define, field

from ..errors import InvalidParameter
from ..model import IPAddress, IPInterface, IPNetwork, address, network, subnet_of


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
    given = [network(s, name="subnet") for s in _list(subnets, "subnet")]
    for i, a in enumerate(given):
        for b in given[i + 1 :]:
            if a.version == b.version and a.overlaps(b):
                raise InvalidParameter(f"subnets {a} and {b} overlap")
    requests = [(subnet, PoolRequest(subnet=subnet)) for subnet in given]

    def owner(value: IPNetwork | IPAddress, what: str) -> tuple[IPNetwork, PoolRequest]:
        for subnet, req in requests:
            if value.version != subnet.version:
                continue  # subnet_of() raises TypeError across families
            if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                contained = subnet_of(value, subnet)
            else:
                contained = value in subnet
            if contained:
                return subnet, req
        if not requests:
            raise InvalidParameter(f"invalid {what} {value}: a {what} needs a --subnet")
        raise InvalidParameter(
            f"invalid {what} {value}: it is not inside any subnet given ({', '.join(str(s) for s, _ in requests)})"
        )

    for text in _list(ip_ranges, "ip-range"):
        rng = network(text, name="ip-range")
        subnet, req = owner(rng, "ip-range")
        if req.ip_range is not None:
            raise InvalidParameter(f"cannot have more than one ip-range in subnet {subnet}")
        req.ip_range = rng
    for text in _list(gateways, "gateway"):
        gw = address(text, name="gateway")
        subnet, req = owner(gw, "gateway")
        if req.gateway is not None:
            raise InvalidParameter(f"cannot have more than one gateway in subnet {subnet}")
        if gw == subnet.network_address or (
            gw.version == 4 and subnet.prefixlen <= 30 and gw == subnet.broadcast_address
        ):
            raise InvalidParameter(f"invalid gateway {gw}: it is the network or broadcast address of {subnet}")
        req.gateway = gw
    if aux_addresses is not None and not isinstance(aux_addresses, Mapping):
        raise InvalidParameter(f"invalid aux addresses {aux_addresses!r}: expected a mapping of names to addresses")
    for name, text in (aux_addresses or {}).items():
        aux = address(text, name=f"aux address {name}")
        owner(aux, f"aux address {name}")[1].aux_addresses[name] = aux
    return [req for _, req in requests]


def with_prefix(ip, pool: IPNetwork) -> IPInterface:
    return ipaddress.ip_interface(f"{ip}/{pool.prefixlen}")
