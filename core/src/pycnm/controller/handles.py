"""Handles: what the Controller gives out for networks, endpoints and sandboxes.

Each wraps the record it was read with and calls the Controller's public methods; it never
reaches into the Controller's parts.
"""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..records import EndpointRecord, NetworkRecord, SandboxRecord

if TYPE_CHECKING:
    from . import Controller

R = TypeVar("R", NetworkRecord, EndpointRecord, SandboxRecord)


class _Handle(Generic[R]):
    def __init__(self, controller: Controller, record: R) -> None:
        self._controller = controller
        self._record: R = record

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def record(self) -> R:
        """The record as it was read, for reading only: a network's is shared with other handles
        of the same version."""
        return self._record

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.id[:12]}>"


class Network(_Handle[NetworkRecord]):
    """A network: endpoints that reach each other directly."""

    @property
    def driver(self) -> str:
        return self._record.driver

    @property
    def scope(self) -> str:
        return self._record.scope

    @property
    def internal(self) -> bool:
        return self._record.internal

    @property
    def subnets(self) -> list:
        return [p.pool for p in self._record.ipv4_pools + self._record.ipv6_pools]

    @property
    def gateways(self) -> list:
        return [p.gateway.ip for p in self._record.ipv4_pools + self._record.ipv6_pools if p.gateway is not None]

    def create_endpoint(self, name: str, **options: Any) -> Endpoint:
        return self._controller.create_endpoint(self, name, **options)

    def endpoints(self) -> list[Endpoint]:
        return self._controller.endpoints(self)

    def endpoint(self, name_or_id: str) -> Endpoint:
        return self._controller.endpoint(self, name_or_id)

    def delete(self) -> None:
        self._controller.delete_network(self)

    def inspect(self) -> dict[str, Any]:
        return self._controller.inspect_network(self)


class Endpoint(_Handle[EndpointRecord]):
    """An endpoint: joins one sandbox to one network."""

    @property
    def network_id(self) -> str:
        return self._record.network_id

    @property
    def address(self):
        return self._record.address

    @property
    def address_ipv6(self):
        return self._record.address_ipv6

    @property
    def mac(self) -> str | None:
        return self._record.mac

    @property
    def sandbox_id(self) -> str | None:
        return self._record.sandbox_id

    @property
    def aliases(self) -> list[str]:
        return list(self._record.aliases)

    @property
    def gateway(self) -> ipaddress.IPv4Address | None:
        return self._record.gateway

    @property
    def gateway_ipv6(self) -> ipaddress.IPv6Address | None:
        return self._record.gateway_ipv6

    @property
    def interface_name(self) -> str | None:
        return self._record.dst_name

    def join(self, sandbox: Sandbox | str) -> None:
        self._record = self._controller.join(self, sandbox).record

    def leave(self, sandbox: Sandbox | str | None = None) -> None:
        self._record = self._controller.leave(self, sandbox).record

    def delete(self, force: bool = False) -> None:
        self._controller.delete_endpoint(self, force=force)

    def oper_info(self) -> dict[str, Any]:
        return self._controller.endpoint_oper_info(self)


class Sandbox(_Handle[SandboxRecord]):
    """A container's network stack: a network namespace, bind-mounted at :attr:`key`."""

    @property
    def key(self) -> str:
        """The namespace path: ``nsenter --net=KEY`` or ``ip netns exec NAME`` enter it."""
        return self._record.key

    @property
    def netns_name(self) -> str:
        return os.path.basename(self._record.key)

    @property
    def hostname(self) -> str | None:
        return self._record.hostname

    @property
    def domainname(self) -> str | None:
        return self._record.domainname

    @property
    def external(self) -> bool:
        """Its namespace is its maker's (a container runtime's): pycnm does not delete it."""
        return self._record.external

    @property
    def hosts_path(self) -> str:
        return os.path.join(self._controller.sandbox_dir(self), "hosts")

    @property
    def resolv_conf_path(self) -> str:
        return os.path.join(self._controller.sandbox_dir(self), "resolv.conf")

    def endpoints(self) -> list[Endpoint]:
        return self._controller.sandbox_endpoints(self)

    def delete(self) -> None:
        self._controller.delete_sandboxes([self])

    def inspect(self) -> dict[str, Any]:
        return self._controller.inspect_sandbox(self)
