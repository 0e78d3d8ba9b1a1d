"""JSON for the store: attrs records to bytes and back, with ipaddress values as strings."""

from __future__ import annotations

import ipaddress
import json
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import cattrs

T = TypeVar("T")

converter = cattrs.Converter()

_NETWORKS: tuple[type, ...] = (ipaddress.IPv4Network, ipaddress.IPv6Network)
_INTERFACES: tuple[type, ...] = (ipaddress.IPv4Interface, ipaddress.IPv6Interface)
_ADDRESSES: tuple[type, ...] = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_IP_TYPES = _NETWORKS + _INTERFACES + _ADDRESSES


def _ip_members(tp: Any) -> tuple[type, ...] | None:
    """The ipaddress classes of ``tp`` when it is one, or a union of them (None allowed)."""
    if tp in _IP_TYPES:
        return (tp,)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if args and all(a in _IP_TYPES for a in args):
            return tuple(args)
    return None


def _ip_structure_factory(tp: Any) -> Callable[[Any, Any], Any]:
    members = _ip_members(tp)
    if members is None:  # registered for the types _ip_members accepts only
        raise TypeError(f"{tp!r} is not an ipaddress type")
    optional = type(None) in typing.get_args(tp)
    parse: Callable[[Any], Any]
    if members[0] in _NETWORKS:
        parse = ipaddress.ip_network
    elif members[0] in _INTERFACES:
        parse = ipaddress.ip_interface
    else:
        parse = ipaddress.ip_address

    def structure(value: Any, _type: Any) -> Any:
        if value is None and optional:
            return None
        return parse(value)

    return structure


converter.register_structure_hook_factory(lambda tp: _ip_members(tp) is not None, _ip_structure_factory)
converter.register_unstructure_hook_func(
    lambda tp: _ip_members(tp) is not None, lambda v: None if v is None else str(v)
)
for _cls in _IP_TYPES:
    converter.register_unstructure_hook(_cls, str)


def dumps(obj: Any) -> bytes:
    return json.dumps(converter.unstructure(obj), sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes, cls: type[T]) -> T:
    return converter.structure(json.loads(data), cls)
