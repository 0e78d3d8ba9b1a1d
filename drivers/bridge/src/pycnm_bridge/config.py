"""A bridge network's configuration, parsed once from CreateNetwork's options."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from pycnm import labels
from pycnm.errors import InvalidParameter
from pycnm.model import IPAMData

IFNAME_MAX = 15
_IFNAME_RE = re.compile(r"^[^/\s:]+$")
MTU_MIN, MTU_MAX = 68, 65535

# Docker's bridge driver options (libnetwork's drivers/bridge/labels.go)
BRIDGE_NAME = f"{labels.PREFIX}.bridge.name"
BRIDGE_ENABLE_ICC = f"{labels.PREFIX}.bridge.enable_icc"
BRIDGE_ENABLE_IP_MASQUERADE = f"{labels.PREFIX}.bridge.enable_ip_masquerade"
BRIDGE_HOST_BINDING_IPV4 = f"{labels.PREFIX}.bridge.host_binding_ipv4"
#: the generic options (-o) a bridge network takes
OPTIONS = (BRIDGE_NAME, BRIDGE_ENABLE_ICC, BRIDGE_ENABLE_IP_MASQUERADE, BRIDGE_HOST_BINDING_IPV4, labels.MTU)
#: their short names (``-o icc=false``)
ALIASES = {
    "bridge_name": BRIDGE_NAME,
    "name": BRIDGE_NAME,
    "enable_icc": BRIDGE_ENABLE_ICC,
    "icc": BRIDGE_ENABLE_ICC,
    "enable_ip_masquerade": BRIDGE_ENABLE_IP_MASQUERADE,
    "masquerade": BRIDGE_ENABLE_IP_MASQUERADE,
    "host_binding_ipv4": BRIDGE_HOST_BINDING_IPV4,
}


@frozen
class NetworkConfig:
    network_id: str
    bridge_name: str
    mtu: int
    internal: bool
    ipv6: bool
    enable_icc: bool
    enable_ip_masquerade: bool
    #: the host address published ports bind to when a port gives none ("" for every address)
    host_binding_ipv4: str
    ipv4: tuple[IPAMData, ...]
    ipv6_pools: tuple[IPAMData, ...]

    @property
    def gateways(self) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
        return [d.gateway for d in (*self.ipv4, *self.ipv6_pools) if d.gateway is not None]


def check_ifname(name: str, what: str) -> str:
    if not name or len(name.encode()) > IFNAME_MAX or not _IFNAME_RE.match(name) or name in (".", ".."):
        raise InvalidParameter(
            f"invalid {what} {name!r}: an interface name has 1 to {IFNAME_MAX} bytes and no '/', ':' or spaces"
        )
    return name


def default_bridge_name(prefix: str, network_id: str) -> str:
    return (f"{prefix}br-{network_id}")[:IFNAME_MAX]


def veth_name(prefix: str, endpoint_id: str) -> str:
    return (f"{prefix}veth{endpoint_id}")[:IFNAME_MAX]


def parse(
    network_id: str,
    options: Mapping[str, Any],
    ipv4_data: Sequence[IPAMData],
    ipv6_data: Sequence[IPAMData],
    prefix: str,
) -> NetworkConfig:
    generic = labels.normalize(options.get(labels.GENERIC) or {}, ALIASES)
    name = str(generic.get(BRIDGE_NAME) or default_bridge_name(prefix, network_id))
    check_ifname(name, "bridge name")
    try:
        mtu = int(generic.get(labels.MTU) or 1500)
    except (TypeError, ValueError):
        raise InvalidParameter(f"invalid mtu {generic.get(labels.MTU)!r}: expected a whole number") from None
    if not MTU_MIN <= mtu <= MTU_MAX:
        raise InvalidParameter(f"invalid mtu {mtu}: it must be between {MTU_MIN} and {MTU_MAX}")
    binding = str(generic.get(BRIDGE_HOST_BINDING_IPV4) or "")
    if binding:
        try:
            address = ipaddress.ip_address(binding)
        except ValueError:
            raise InvalidParameter(f"invalid host_binding_ipv4 {binding!r}: expected an IPv4 address") from None
        if address.version != 4:
            raise InvalidParameter(f"invalid host_binding_ipv4 {binding!r}: expected an IPv4 address")
        binding = "" if address.is_unspecified else str(address)
    return NetworkConfig(
        network_id=network_id,
        bridge_name=name,
        mtu=mtu,
        internal=labels.as_bool(options.get(labels.INTERNAL, False), field=labels.INTERNAL),
        ipv6=labels.as_bool(options.get(labels.ENABLE_IPV6, False), field=labels.ENABLE_IPV6),
        enable_icc=labels.as_bool(generic.get(BRIDGE_ENABLE_ICC, True), field=BRIDGE_ENABLE_ICC),
        enable_ip_masquerade=labels.as_bool(
            generic.get(BRIDGE_ENABLE_IP_MASQUERADE, True), field=BRIDGE_ENABLE_IP_MASQUERADE
        ),
        host_binding_ipv4=binding,
        ipv4=tuple(d for d in ipv4_data if d.pool.prefixlen > 0),
        ipv6_pools=tuple(ipv6_data),
    )
