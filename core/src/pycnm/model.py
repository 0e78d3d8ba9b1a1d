"""The values that cross the driver contract, as frozen attrs classes.

Field names follow the remote protocol's (``NetworkID`` -> ``network_id``); the JSON names live in
:mod:`pycnm.wire`, not here. Addresses are :mod:`ipaddress` objects: a bad CIDR fails when the value
is built, with a message naming the field.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

from attrs import field, frozen

from . import validate
from .errors import InvalidParameter

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

ID_RE = re.compile(r"^[0-9a-f]{64}$")

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.Enum)
_IP = TypeVar("_IP", bound=IPInterface | IPAddress)


class Scope(str, enum.Enum):
    """Where a driver's networks live: on one host, or in the cluster store."""

    LOCAL = "local"
    GLOBAL = "global"


class RouteType(enum.IntEnum):
    """libnetwork's route types: NEXTHOP needs a next hop, CONNECTED is on-link."""

    NEXTHOP = 0
    CONNECTED = 1


# ---- converters that name the field on failure -------------------------------------------------


def _zoneless(parsed, value: Any, name: str):
    """``parsed``, unless it carries an IPv6 zone (``%eth0``): no address of a network, interface or
    route takes one, and a zone is free text that would reach the hosts file unchecked."""
    probe = parsed.network_address if isinstance(parsed, ipaddress.IPv6Network) else parsed
    if getattr(probe, "scope_id", None) is not None:
        raise InvalidParameter(f"invalid {name} {value!r}: a zone ('%...') has no place here; remove it")
    return parsed


def network(value: Any, *, name: str = "subnet") -> IPNetwork:
    """Parse a masked CIDR (``10.0.0.0/24``); an unmasked one names the masked form to use."""
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return _zoneless(value, value, name)
    try:
        return _zoneless(ipaddress.ip_network(str(value), strict=True), value, name)
    except ValueError as exc:
        try:
            masked = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None
        raise InvalidParameter(f"invalid {name} {value!r}: it has host bits set; it should be {masked}") from None


def subnet_of(inner: IPNetwork, outer: IPNetwork) -> bool:
    """Whether ``inner`` lies inside ``outer``; False across IP families (where ``ipaddress`` raises)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def interface(value: Any, *, name: str = "address") -> IPInterface:
    """Parse an address with its prefix length (``10.0.0.2/24``); no prefix means a host prefix."""
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return _zoneless(value, value, name)
    try:
        return _zoneless(ipaddress.ip_interface(str(value)), value, name)
    except ValueError as exc:
        raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None


def address(value: Any, *, name: str = "address") -> IPAddress:
    """Parse an address; a CIDR (``10.0.0.1/24``) gives its address, once its prefix is valid."""
    # interfaces first: IPv4Interface is a subclass of IPv4Address
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return _zoneless(value.ip, value, name)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return _zoneless(value, value, name)
    text = str(value)
    try:
        # through ip_interface, so that a bad prefix ("10.0.0.1/xyz") is refused, not dropped
        parsed = ipaddress.ip_interface(text).ip if "/" in text else ipaddress.ip_address(text)
    except ValueError as exc:
        raise InvalidParameter(f"invalid {name} {value!r}: {exc}") from None
    if "%" in text:  # ip_interface(...).ip drops a zone: refuse it here, as the other forms are
        raise InvalidParameter(f"invalid {name} {value!r}: a zone ('%...') has no place here; remove it")
    return parsed


def mac(value: Any) -> str | None:
    """A unicast MAC in lowercase colon form (:func:`pycnm.validate.mac`); None or "" is None."""
    if value is None or value == "":
        return None
    return validate.mac(value)


def _absent(value: Any) -> bool:
    """None and "" both mean "not given" (Docker sends empty strings for absent addresses)."""
    return value is None or value == ""


def _frozen_map(value: Mapping | None, *, name: str = "options") -> dict:
    if value is None or (isinstance(value, (list, tuple, str)) and not value):
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameter(f"invalid {name} {value!r}: expected a mapping, not {type(value).__name__}")
    return dict(value)


def _in_family(version: int, parsed: _IP, value: Any, name: str) -> _IP:
    """``parsed``, unless of the other IP family: an IPv6 address in an IPv4 field is a bug upstream."""
    if parsed.version != version:
        raise InvalidParameter(f"invalid {name} {value!r}: expected an IPv{version} address here")
    return parsed


def _as_enum(kind: type[_E], value: Any, name: str) -> _E:
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (ValueError, TypeError):
        choices = ", ".join(repr(m.value) for m in kind)
        raise InvalidParameter(f"invalid {name} {value!r}: expected one of {choices}") from None


def _as_tuple_of(kind: type[_T], value: Any, name: str) -> tuple[_T, ...]:
    """A tuple of ``kind`` items; a string or a mapping is not taken for a list of its parts."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidParameter(f"invalid {name} {value!r}: expected a list of {kind.__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise InvalidParameter(f"invalid {name}: {item!r} is not {kind.__name__}")
    return items


# The fields' converters, one named function each: mypy's attrs plugin reads a named function's
# signature (a converter made by a call, a closure, is one it cannot read).


def _scope(value: Any) -> Scope:
    return _as_enum(Scope, value, "scope")


def _connectivity_scope(value: Any) -> Scope | None:
    return None if _absent(value) else _as_enum(Scope, value, "connectivity scope")


def _option_names(value: Any) -> tuple[str, ...] | None:
    return None if _absent(value) else tuple(value)


def _pool_gateway(value: Any) -> IPInterface | None:
    return None if _absent(value) else interface(value, name="gateway")


def _endpoint_address(value: Any) -> IPInterface | None:
    return None if _absent(value) else _in_family(4, interface(value, name="address"), value, "address")


def _endpoint_address_ipv6(value: Any) -> IPInterface | None:
    if _absent(value):
        return None
    return _in_family(6, interface(value, name="IPv6 address"), value, "IPv6 address")


def _route_type(value: Any) -> RouteType:
    return _as_enum(RouteType, value, "route type")


def _next_hop(value: Any) -> IPAddress | None:
    return None if _absent(value) else address(value, name="next hop")


def _join_gateway(value: Any) -> IPAddress | None:
    return None if _absent(value) else _in_family(4, address(value, name="gateway"), value, "gateway")


def _join_gateway_ipv6(value: Any) -> IPAddress | None:
    return None if _absent(value) else _in_family(6, address(value, name="IPv6 gateway"), value, "IPv6 gateway")


def _static_routes(value: Any) -> tuple[StaticRoute, ...]:
    return _as_tuple_of(StaticRoute, value, "static routes")


def _items(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _pool_data(value: Any) -> dict:
    return _frozen_map(value, name="pool data")


def _address_data(value: Any) -> dict:
    return _frozen_map(value, name="address data")


# ---- driver contract values --------------------------------------------------------------------


@frozen
class Capabilities:
    """What a network driver answers to GetCapabilities.

    ``scope`` says where its networks are stored (local store or the cluster store);
    ``connectivity_scope`` where they reach (defaults to ``scope``). The rest is pycnm's, never on
    the wire:

    - ``network_options`` names the generic options (``-o``) the driver understands, Docker's
      keys; the core refuses any other, listing these. None means "any": a remote plugin's
      options pass through to it. ``option_aliases`` maps short names (``-o mtu=...``) to them.
    - ``addresses``: its networks take addresses (False for ``null`` and ``host``: they get the
      ``null`` IPAM unless a subnet is given).
    - ``host_namespace``: its networks are the host's own stack: only sandboxes created with
      ``host_namespace=True`` join them, and those join nothing else (Docker's ``host``).
    - ``dns``: its sandboxes get the embedded DNS (names of the networks they share); False for
      ``null`` and ``host``.
    - ``leave_in_namespace``: its ``cnm_leave`` needs the sandbox's namespace still there (a CNI
      plugin's DEL acts inside it): a sandbox being deleted leaves it before its namespace goes
      (others' endpoints leave after, when the kernel has removed their interfaces at once).
    """

    scope: Scope = field(converter=_scope)
    connectivity_scope: Scope | None = field(default=None, converter=_connectivity_scope)
    network_options: tuple[str, ...] | None = field(default=None, converter=_option_names)
    option_aliases: dict[str, str] = field(factory=dict, converter=_frozen_map)
    addresses: bool = True
    host_namespace: bool = False
    dns: bool = True
    leave_in_namespace: bool = False


@frozen
class IPAMData:
    """One pool a network got from IPAM, as the driver sees it (CreateNetwork's IPv4Data items).

    ``gateway`` and the aux addresses carry the pool's prefix length (``172.18.0.1/16``).
    """

    address_space: str
    pool: IPNetwork = field(converter=lambda v: network(v, name="pool"))
    gateway: IPInterface | None = field(default=None, converter=_pool_gateway)
    aux_addresses: dict[str, IPInterface] = field(
        factory=dict,
        converter=lambda m: {
            k: interface(v, name=f"aux address {k}") for k, v in _frozen_map(m, name="aux addresses").items()
        },
    )


@frozen
class EndpointInterface:
    """The interface of an endpoint (CreateEndpoint's ``Interface``): addresses with prefix, and MAC."""

    address: ipaddress.IPv4Interface | None = field(default=None, converter=_endpoint_address)
    address_ipv6: ipaddress.IPv6Interface | None = field(default=None, converter=_endpoint_address_ipv6)
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
    route_type: RouteType = field(default=RouteType.NEXTHOP, converter=_route_type)
    next_hop: IPAddress | None = field(default=None, converter=_next_hop)


@frozen
class JoinInfo:
    """What a driver answers to Join: the interface, gateways and routes for the sandbox.

    ``configured_addresses`` (pycnm's, never on the wire): addresses the driver gave the interface
    itself, from an address management of its own (a CNI plugin's IPAM); the core records them as
    the endpoint's and configures no address of its own on it.
    """

    interface_name: InterfaceName | None = None
    gateway: ipaddress.IPv4Address | None = field(default=None, converter=_join_gateway)
    gateway_ipv6: ipaddress.IPv6Address | None = field(
        default=None,
        converter=_join_gateway_ipv6,
    )
    static_routes: tuple[StaticRoute, ...] = field(factory=tuple, converter=_static_routes)
    disable_gateway_service: bool = False
    configured_addresses: tuple[IPInterface, ...] = field(
        factory=tuple, converter=lambda items: tuple(interface(a, name="configured address") for a in items or ())
    )


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
    ipv4_data: tuple[IPAMData, ...] = field(factory=tuple, converter=_items)
    ipv6_data: tuple[IPAMData, ...] = field(factory=tuple, converter=_items)
    endpoints: tuple[EndpointSnapshot, ...] = field(factory=tuple, converter=_items)


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
    #: the Controller's OS layer (:class:`pycnm.osl.layer.OSLayer`): a driver that makes its
    #: interfaces through it shares the Controller's sockets, and runs against the test fake too
    osl: Any = field(default=None, eq=False, repr=False)


# ---- IPAM contract values ----------------------------------------------------------------------


@frozen
class IPAMCapabilities:
    """What an IPAM driver answers to GetCapabilities, and two things only an in-process driver
    can say (never on the wire).

    ``state_in_store``: it keeps its allocations in the store the core hands to ``ipam_config``,
    so a store transaction the core rolls back undoes them too. ``keeps_owners``: it records the
    owner given with a request (option ``pycnm.ipam.owner``) and lists what an owner holds
    (``ipam_owned``), so that what a crash left between the driver's commit and the core's is
    found again.
    """

    requires_mac_address: bool = False
    requires_request_replay: bool = False
    state_in_store: bool = False
    keeps_owners: bool = False


@frozen
class AddressSpaces:
    local_default: str = "LocalDefault"
    global_default: str = "GlobalDefault"


@frozen
class PoolAllocation:
    """RequestPool's answer: the pool's ID (opaque to the core), the pool, and driver data."""

    pool_id: str
    pool: IPNetwork = field(converter=lambda v: network(v, name="pool"))
    data: dict[str, str] = field(factory=dict, converter=_pool_data)


@frozen
class AddressAllocation:
    """RequestAddress's answer: the address with the pool's prefix length, and driver data."""

    address: IPInterface = field(converter=interface)
    data: dict[str, str] = field(factory=dict, converter=_address_data)


def check_id(value: str, *, kind: str) -> str:
    # fullmatch: a "$" match would let a trailing newline through
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise InvalidParameter(f"invalid {kind} ID {value!r}: expected 64 lowercase hex characters")
    return value
