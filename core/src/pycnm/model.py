"""The values that cross the driver contract, as frozen attrs classes.

Field names follow the remote protocol's (``NetworkID`` -> ``network_id``); the JSON names live in
:mod:`pycnm.wire`, not here. Addresses are :mod:`ipaddress` objects: a bad CIDR fails when the value
is built, with a message naming the field.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Union

from attrs import field, frozen

from .errors import InvalidParameter

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

ID_RE = re.compile(r"^[0-9a-f]{64}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Scope(str, enum.Enum):
    """Where a driver's networks live: on one host, or in the cluster store."""

    LOCAL = "local"
    GLOBAL = "global"


class RouteType(enum.IntEnum):
    """libnetwork's route types: NEXTHOP needs a next hop, CONNECTED is on-link."""

    NEXTHOP = 0
    CONNECTED = 1


# ---- converters that name the field on failure -------------------------------------------------


def _named(name: str, parse):
    def convert(value):
        if value is None or value == "":
            return None
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None

    return convert


def network(value: Any, *, name: str = "subnet") -> IPNetwork:
    """Parse a masked CIDR (``10.0.0.0/24``); an unmasked one names the masked form to use."""
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        try:
            masked = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None
        raise InvalidParameter(
            f"invalid {name} {value!r}: it has host bits set; it should be {masked}"
        ) from None


def interface(value: Any, *, name: str = "address") -> IPInterface:
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return value
    try:
        return ipaddress.ip_interface(str(value))
    except ValueError as exc:
        raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None


def address(value: Any, *, name: str = "address") -> IPAddress:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    try:
        return ipaddress.ip_address(str(value).split("/")[0])
    except ValueError as exc:
        raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None


def mac(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).lower().replace("-", ":")
    if not MAC_RE.match(text):
        raise InvalidParameter(f"invalid MAC address {value!r}: expected six hex pairs like 02:42:ac:11:00:02")
    return text


def _opt(conv):
    return lambda v: None if v is None or v == "" else conv(v)


def _frozen_map(value: Mapping | None) -> dict:
    return dict(value or {})


# ---- driver contract values --------------------------------------------------------------------


@frozen
class Capabilities:
    """What a network driver answers to GetCapabilities.

    ``scope`` says where its networks are stored (local store or the cluster store);
    ``connectivity_scope`` where they reach (defaults to ``scope``).
    """

    scope: Scope = field(converter=Scope)
    connectivity_scope: Scope | None = field(default=None, converter=_opt(Scope))

    @property
    def effective_connectivity_scope(self) -> Scope:
        return self.connectivity_scope or self.scope


@frozen
class IPAMData:
    """One pool a network got from IPAM, as the driver sees it (CreateNetwork's IPv4Data items).

    ``gateway`` and the aux addresses carry the pool's prefix length (``172.18.0.1/16``).
    """

    address_space: str
    pool: IPNetwork = field(converter=lambda v: network(v, name="pool"))
    gateway: IPInterface | None = field(default=None, converter=_opt(lambda v: interface(v, name="gateway")))
    aux_addresses: dict[str, IPInterface] = field(
        factory=dict, converter=lambda m: {k: interface(v, name=f"aux address {k}") for k, v in (m or {}).items()}
    )


@frozen
class EndpointInterface:
    """The interface of an endpoint (CreateEndpoint's ``Interface``): addresses with prefix, and MAC."""

    address: ipaddress.IPv4Interface | None = field(default=None, converter=_opt(interface))
    address_ipv6: ipaddress.IPv6Interface | None = field(default=None, converter=_opt(interface))
    mac_address: str | None = field(default=None, converter=mac)


@frozen
class InterfaceName:
    """Which interface a driver made for a join, and how it is named inside the sandbox.

    ``src_name`` is its name where the driver made it. Where ``created_in_sandbox`` is false it is in
    the host's namespace, and the OS layer moves it into the sandbox and renames it to the next free
    ``dst_prefix``N (or ``dst_name`` when given). Where it is true, the driver created it directly in
    the sandbox under the ``dst_name`` the core handed to ``cnm_join``, which saves the kernel's
    namespace-move cost (about 18 ms per veth on this kernel).
    """

    src_name: str
    dst_prefix: str = "eth"
    dst_name: str | None = None
    created_in_sandbox: bool = False


@frozen
class StaticRoute:
    """A route the driver wants in the sandbox (Join's StaticRoutes)."""

    destination: IPNetwork = field(converter=lambda v: network(v, name="route destination"))
    route_type: RouteType = field(default=RouteType.NEXTHOP, converter=RouteType)
    next_hop: IPAddress | None = field(default=None, converter=_opt(lambda v: address(v, name="next hop")))


@frozen
class JoinInfo:
    """What a driver answers to Join: the interface, gateways and routes for the sandbox."""

    interface_name: InterfaceName | None = None
    gateway: ipaddress.IPv4Address | None = field(default=None, converter=_opt(lambda v: address(v, name="gateway")))
    gateway_ipv6: ipaddress.IPv6Address | None = field(
        default=None, converter=_opt(lambda v: address(v, name="gateway")),
    )
    static_routes: tuple[StaticRoute, ...] = field(factory=tuple, converter=tuple)
    disable_gateway_service: bool = False


@frozen
class EndpointSnapshot:
    """What the core knows of one endpoint, handed to a driver on restore."""

    endpoint_id: str
    interface: EndpointInterface
    options: dict[str, Any] = field(factory=dict, converter=_frozen_map)
    sandbox_key: str | None = None
    dst_name: str | None = None
    #: whether the endpoint holds its sandbox's external connectivity (the gateway endpoint)
    external_connectivity: bool = False


@frozen
class NetworkSnapshot:
    """What the core knows of one network and its endpoints, handed to a driver on restore."""

    network_id: str
    options: dict[str, Any] = field(factory=dict, converter=_frozen_map)
    ipv4_data: tuple[IPAMData, ...] = field(factory=tuple, converter=tuple)
    ipv6_data: tuple[IPAMData, ...] = field(factory=tuple, converter=tuple)
    endpoints: tuple[EndpointSnapshot, ...] = field(factory=tuple, converter=tuple)


@frozen
class DriverConfig:
    """What the core tells every driver once, after loading it (``cnm_config``).

    ``ifname_prefix`` is prepended to every kernel object name a driver makes, so that tests and
    labs can own their objects; ``state_dir`` is where the driver may keep files;
    ``instance_id`` names this pycnm (one state directory): a driver that marks its kernel objects
    with it can tell them from those of another pycnm on the same host. ``store`` is the driver's
    own corner of the store (a :class:`~pycnm.store.Store`, keys relative to it): for a
    global-scope driver it is in the cluster store, seen by every host (libnetwork hands its
    drivers the global and local stores alike); None where the host has none to give.
    """

    state_dir: str
    ifname_prefix: str = ""
    instance_id: str = ""
    scope: Scope = Scope.LOCAL
    extra: dict[str, Any] = field(factory=dict, converter=_frozen_map)
    store: Any = field(default=None, eq=False, repr=False)


# ---- IPAM contract values ----------------------------------------------------------------------


@frozen
class IPAMCapabilities:
    requires_mac_address: bool = False
    requires_request_replay: bool = False


@frozen
class AddressSpaces:
    local_default: str = "LocalDefault"
    global_default: str = "GlobalDefault"


@frozen
class PoolAllocation:
    """RequestPool's answer: the pool's ID (opaque to the core), the pool, and driver data."""

    pool_id: str
    pool: IPNetwork = field(converter=lambda v: network(v, name="pool"))
    data: dict[str, str] = field(factory=dict, converter=_frozen_map)


@frozen
class AddressAllocation:
    """RequestAddress's answer: the address with the pool's prefix length, and driver data."""

    address: IPInterface = field(converter=interface)
    data: dict[str, str] = field(factory=dict, converter=_frozen_map)


def check_id(value: str, *, kind: str) -> str:
    if not ID_RE.match(value or ""):
        raise InvalidParameter(f"invalid {kind} ID {value!r}: expected 64 lowercase hex characters")
    return value
