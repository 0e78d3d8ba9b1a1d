"""Docker's remote plugin protocol on the wire: the JSON names, in one place.

The model's classes carry pycnm's names (``network_id``); Docker's (``NetworkID``, ``IPv4Data``,
``MacAddress``) cannot be derived from them, so this module keeps the rename table and a
cattrs converter that applies it, both ways. Value formats follow what dockerd really sends
(shared/reference/remote-protocol-observed.md): gateways and aux addresses as CIDR strings in
IPAMData, empty strings for absent addresses, MAC strings, route types as numbers.

Used by pycnm-remote (pycnm as the client of a Docker plugin) and pycnm-docker-plugin (pycnm
serving its drivers to dockerd).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import InvalidParameter
from .model import (
    AddressAllocation,
    AddressSpaces,
    Capabilities,
    EndpointInterface,
    InterfaceName,
    IPAMCapabilities,
    IPAMData,
    JoinInfo,
    PoolAllocation,
    Scope,
    StaticRoute,
)

ACCEPT = "application/vnd.docker.plugins.v1.2+json"

#: pycnm name -> Docker name, per class
RENAMES: dict[type, dict[str, str]] = {
    Capabilities: {"scope": "Scope", "connectivity_scope": "ConnectivityScope"},
    IPAMData: {"address_space": "AddressSpace", "pool": "Pool", "gateway": "Gateway", "aux_addresses": "AuxAddresses"},
    EndpointInterface: {"address": "Address", "address_ipv6": "AddressIPv6", "mac_address": "MacAddress"},
    InterfaceName: {"src_name": "SrcName", "dst_prefix": "DstPrefix", "dst_name": "DstName"},
    StaticRoute: {"destination": "Destination", "route_type": "RouteType", "next_hop": "NextHop"},
    JoinInfo: {
        "interface_name": "InterfaceName",
        "gateway": "Gateway",
        "gateway_ipv6": "GatewayIPv6",
        "static_routes": "StaticRoutes",
        "disable_gateway_service": "DisableGatewayService",
    },
    IPAMCapabilities: {
        "requires_mac_address": "RequiresMACAddress",
        "requires_request_replay": "RequiresRequestReplay",
    },
    AddressSpaces: {"local_default": "LocalDefaultAddressSpace", "global_default": "GlobalDefaultAddressSpace"},
    PoolAllocation: {"pool_id": "PoolID", "pool": "Pool", "data": "Data"},
    AddressAllocation: {"address": "Address", "data": "Data"},
}
#: fields Docker never sends, or that are pycnm's own
OMIT: dict[type, tuple[str, ...]] = {
    InterfaceName: ("created_in_sandbox",),
    JoinInfo: ("configured_addresses",),
    IPAMCapabilities: ("state_in_store", "keeps_owners"),
    Capabilities: ("network_options", "option_aliases", "addresses", "host_namespace", "dns", "leave_in_namespace"),
}

converter = cattrs.Converter()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_IP = (
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
)


def _is_ip(tp) -> bool:
    import typing

    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    return all(a in _IP for a in args) and bool(args)


converter.register_unstructure_hook_func(_is_ip, _text)
# Docker leaves absent strings empty ("" for ConnectivityScope, DstName, ...)
converter.register_structure_hook(Scope | None, lambda v, _t: None if v in (None, "") else Scope(v))
converter.register_unstructure_hook(str | None, lambda v: "" if v is None else v)
converter.register_unstructure_hook(Scope, lambda v: v.value)


def _strict(kind: type):
    def structure(value, _type):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


# a plugin that answers a number where Docker has a string is wrong, not to be coerced
for _kind in (str, bool, int):
    converter.register_structure_hook(_kind, _strict(_kind))
converter.register_structure_hook_func(
    lambda tp: tp == tuple[StaticRoute, ...],
    lambda v, _t: tuple(converter.structure(r, StaticRoute) for r in (v or ())),
)
converter.register_structure_hook_func(_is_ip, lambda v, tp: v)  # the model's converters parse them

for _cls, _names in RENAMES.items():
    # Any: mypy cannot tell these keys (field names) from the functions' own keyword parameters
    _over: dict[str, Any] = {name: override(rename=docker) for name, docker in _names.items()}
    _over.update({name: override(omit=True) for name in OMIT.get(_cls, ())})
    converter.register_unstructure_hook(_cls, make_dict_unstructure_fn(_cls, converter, **_over))
    converter.register_structure_hook(_cls, make_dict_structure_fn(_cls, converter, **_over))


def dump(obj: Any) -> dict[str, Any]:
    """A model object as Docker's JSON (a dict)."""
    data = converter.unstructure(obj)
    if isinstance(obj, Capabilities):
        data["ConnectivityScope"] = data["ConnectivityScope"] or ""
    if isinstance(obj, JoinInfo):
        data["StaticRoutes"] = data["StaticRoutes"] or None
    return data


def load(data: Any, cls: type) -> Any:
    """Docker's JSON (a dict) as a model object; wrong names or types raise InvalidParameter."""
    try:
        return converter.structure(data if data is not None else {}, cls)
    except InvalidParameter:
        raise
    except Exception as exc:  # noqa: BLE001 - cattrs' ClassValidationError and friends, all re-raised
        detail = "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else str(exc)
        raise InvalidParameter(f"malformed {cls.__name__}: {detail}") from None


def ipam_data(items: Any) -> list[IPAMData]:
    """IPv4Data/IPv6Data: a JSON list of IPAMData objects (null or absent is none)."""
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        raise InvalidParameter(f"malformed IPAMData list: expected a list, not {type(items).__name__} {items!r:.80}")
    return [load(item, IPAMData) for item in items]
