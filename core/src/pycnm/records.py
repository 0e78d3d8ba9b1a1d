"""What the controller stores about networks, endpoints and sandboxes.

Each record has a ``state``: a change is written as an intention ("creating", "joining", ...)
before the kernel is touched and as a fact ("ready", "joined") after, so that a controller
started after a crash knows exactly what to finish or undo.
"""

from __future__ import annotations

import enum
import ipaddress
from typing import Any

from attrs import define, field

from .model import IPInterface, IPNetwork, StaticRoute


class State(str, enum.Enum):
    """Where a record is in its life. The transient states are intentions: a change is written as
    one before the kernel is touched and as a settled state after."""

    CREATING = "creating"
    READY = "ready"
    JOINING = "joining"
    JOINED = "joined"
    LEAVING = "leaving"
    DELETING = "deleting"

    @property
    def transient(self) -> bool:
        return self in TRANSIENT


TRANSIENT = frozenset({State.CREATING, State.JOINING, State.LEAVING, State.DELETING})


class Operation(str, enum.Enum):
    """The whole operation an endpoint's transient state belongs to: what recovery finishes or
    undoes *whole* after a crash (a ``connect`` is undone with the endpoint it made; a
    ``disconnect`` is finished with the endpoint's deletion)."""

    NONE = ""
    CREATE = "create"
    DELETE = "delete"
    JOIN = "join"
    LEAVE = "leave"
    CONNECT = "connect"
    DISCONNECT = "disconnect"


@define
class PoolRecord:
    """One pool a network holds, and the addresses it requested for the gateway and aux names."""

    pool_id: str
    pool: IPNetwork
    address_space: str
    sub_pool: IPNetwork | None = None
    gateway: IPInterface | None = None
    aux_addresses: dict[str, IPInterface] = field(factory=dict)


@define
class NetworkRecord:
    id: str
    name: str
    driver: str
    scope: str
    ipam_driver: str
    created: str
    state: State = State.CREATING
    options: dict[str, Any] = field(factory=dict)
    ipam_options: dict[str, str] = field(factory=dict)
    labels: dict[str, str] = field(factory=dict)
    internal: bool = False
    ipv6: bool = False
    attachable: bool = False
    ipv4_pools: list[PoolRecord] = field(factory=list)
    ipv6_pools: list[PoolRecord] = field(factory=list)
    #: the IPAM configuration the user asked for (for inspect)
    requested: list[dict[str, Any]] = field(factory=list)
    #: the pycnm instance (state directory) that made it: only it finishes a half-made change
    owner: str = ""


@define
class EndpointRecord:
    id: str
    name: str
    network_id: str
    state: State = State.CREATING
    address: ipaddress.IPv4Interface | None = None
    address_ipv6: ipaddress.IPv6Interface | None = None
    #: pools the addresses came from (released on delete)
    address_pool: str | None = None
    address_ipv6_pool: str | None = None
    mac: str | None = None
    aliases: list[str] = field(factory=list)
    options: dict[str, Any] = field(factory=dict)
    #: made by ``connect()``: deleted again by ``disconnect()`` and with its sandbox
    anonymous: bool = False
    sandbox_id: str | None = None
    dst_name: str | None = None
    src_name: str | None = None
    created_in_sandbox: bool = False
    gateway: ipaddress.IPv4Address | None = None
    gateway_ipv6: ipaddress.IPv6Address | None = None
    static_routes: list[StaticRoute] = field(factory=list)
    #: the pycnm instance that made it (endpoints of global networks are seen by every host)
    owner: str = ""
    #: the operation its transient state belongs to (NONE when settled)
    operation: Operation = Operation.NONE
    #: its addresses came from the driver's join (a CNI plugin's IPAM), not from a pool of ours
    join_addresses: bool = False


@define
class SandboxRecord:
    id: str
    name: str
    key: str
    created: str
    state: State = State.CREATING
    hostname: str | None = None
    domainname: str | None = None
    dns: list[str] = field(factory=list)
    dns_search: list[str] = field(factory=list)
    dns_options: list[str] = field(factory=list)
    extra_hosts: list[tuple[str, str]] = field(factory=list)
    host_namespace: bool = False
    #: its namespace is the caller's (a container runtime's, through CNI): pycnm neither made it
    #: nor deletes it
    external: bool = False
    #: an external sandbox's namespace as it was when it joined (OSLayer.namespace_identity): its
    #: path may come to name another namespace (``/proc/PID/ns/net`` once PID is reused)
    key_identity: str | None = None
    #: endpoint IDs in join order
    endpoints: list[str] = field(factory=list)
    gateway_endpoint: str | None = None
