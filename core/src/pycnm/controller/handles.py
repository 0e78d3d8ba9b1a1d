"""Handles: what the Controller gives out for networks, endpoints and sandboxes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Controller


class _Handle:
    _kind = "object"

    def __init__(self, controller: Controller, record) -> None:
        self._controller = controller
        self._record = record

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def record(self):
        """The record as it was read, for reading only: a network's is shared with other handles
        of the same version."""
        return self._record

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.id[:12]}>"


class Network(_Handle):
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
        return self._controller._create_endpoint(self.id, name, **options)

    def endpoints(self) -> list[Endpoint]:
        return self._controller._endpoints(self.id)

    def endpoint(self, name_or_id: str) -> Endpoint:
        return self._controller._endpoint(self.id, name_or_id)

    def delete(self) -> None:
        self._controller._delete_network(self.id)

    def inspect(self) -> dict[str, Any]:
        return self._controller._inspect_network(self.id)


class Endpoint(_Handle):
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
    def interface_name(self) -> str | None:
        return self._record.dst_name

    def join(self, sandbox: Sandbox | str) -> None:
        self._controller._join(self.network_id, self.id, sandbox)
        self._record = self._controller._load_endpoint(self.network_id, self.id)[0]

    def leave(self, sandbox: Sandbox | str | None = None) -> None:
        self._controller._leave(self.network_id, self.id, sandbox)
        self._record = self._controller._load_endpoint(self.network_id, self.id)[0]

    def delete(self, force: bool = False) -> None:
        self._controller._delete_endpoint(self.network_id, self.id, force=force)

    def oper_info(self) -> dict[str, Any]:
        return self._controller._oper_info(self.network_id, self.id)


class Sandbox(_Handle):
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
    def hosts_path(self) -> str:
        return os.path.join(self._controller._sandbox_dir(self.id), "hosts")

    @property
    def resolv_conf_path(self) -> str:
        return os.path.join(self._controller._sandbox_dir(self.id), "resolv.conf")

    def endpoints(self) -> list[Endpoint]:
        return self._controller._sandbox_endpoints(self.id)

    def delete(self) -> None:
        self._controller._delete_sandbox(self.id)

    def inspect(self) -> dict[str, Any]:
        return self._controller._inspect_sandbox(self.id)


