"""The store's schema: every key the core writes, and which store it lives in.

The Controller's store is the local one, or a :class:`~pycnm.store.scoped.ScopedStore` over the
local one and the cluster's. Where a key belongs (:func:`where`):

==============================================  ==============================================
key                                             store
==============================================  ==============================================
``networks/<id>``                               the network's scope (global: the cluster)
``endpoints/<network>/<id>``                    the network's
``names/networks/<name>``                       with the ``networks/`` key committed beside it
``names/endpoints/<network>/<name>``            the network's
``sandboxes/<id>``, ``names/sandboxes/<name>``  local (a sandbox is this host's)
``meta/instance``                               local (this state directory's identity)
``hosts/<instance>``                            the cluster (each host's advertise address)
``drivers/<kind>/<name>/...``                   a driver's corner (its scope's store)
``ipam/<kind>/<space>/...``                     the cluster for a global address space
``cni/attachments/<network>/<container>/<if>``  local (pycnm daemon's CNI service)
==============================================  ==============================================

The built-in IPAM's own layout below ``ipam/`` is its module's (:mod:`pycnm.ipam.default`).
"""

from __future__ import annotations

import enum

from ..ipam.pools import GLOBAL_DEFAULT

NETWORKS = "networks/"
ENDPOINTS = "endpoints/"
SANDBOXES = "sandboxes/"
NETWORK_NAMES = "names/networks/"
SANDBOX_NAMES = "names/sandboxes/"
HOSTS = "hosts/"
IPAM = "ipam/"
INSTANCE = "meta/instance"
#: set while ``pycnm daemon`` serves the embedded DNS (its pid); sandboxes' resolv.conf then name it
DNS = "meta/dns"
#: the CNI service's attachments (a runtime's container ID and interface on a network)
CNI_ATTACHMENTS = "cni/attachments/"
#: address spaces whose IPAM keys live in the cluster store
GLOBAL_SPACES = frozenset({GLOBAL_DEFAULT})


def network(network_id: str) -> str:
    return f"{NETWORKS}{network_id}"


def network_name(name: str) -> str:
    return f"{NETWORK_NAMES}{name}"


def endpoints(network_id: str) -> str:
    """The prefix of a network's endpoints."""
    return f"{ENDPOINTS}{network_id}/"


def endpoint(network_id: str, endpoint_id: str) -> str:
    return f"{ENDPOINTS}{network_id}/{endpoint_id}"


def endpoint_names(network_id: str) -> str:
    """The prefix of a network's endpoint names."""
    return f"names/endpoints/{network_id}/"


def endpoint_name(network_id: str, name: str) -> str:
    return f"names/endpoints/{network_id}/{name}"


def sandbox(sandbox_id: str) -> str:
    return f"{SANDBOXES}{sandbox_id}"


def sandbox_name(name: str) -> str:
    return f"{SANDBOX_NAMES}{name}"


def cni_attachments(network_id: str) -> str:
    """The prefix of a network's CNI attachments."""
    return f"{CNI_ATTACHMENTS}{network_id}/"


def cni_attachment(network_id: str, container_id: str, ifname: str) -> str:
    return f"{CNI_ATTACHMENTS}{network_id}/{container_id}/{ifname}"


def host(instance_id: str) -> str:
    return f"{HOSTS}{instance_id}"


def driver_corner(kind: str, name: str) -> str:
    """The prefix of a driver's own keys (``DriverConfig.store``)."""
    return f"drivers/{kind}/{name}/"


class Where(enum.Enum):
    LOCAL = "local"
    CLUSTER = "cluster"
    NETWORK = "network"  #: where the network named by :func:`where`'s second value lives
    SIBLING = "sibling"  #: with the ``networks/`` key committed beside it (a network's name)


def where(key: str) -> tuple[Where, str | None]:
    """Which store ``key`` (or a prefix) belongs to; for :data:`Where.NETWORK`, the network's ID."""
    parts = key.split("/")
    if parts[0] == "ipam":
        return (Where.CLUSTER if GLOBAL_SPACES.intersection(parts[1:3]) else Where.LOCAL), None
    if parts[0] in ("networks", "endpoints") and len(parts) > 1 and parts[1]:
        return Where.NETWORK, parts[1]
    if parts[:2] == ["names", "endpoints"] and len(parts) > 2 and parts[2]:
        return Where.NETWORK, parts[2]
    if parts[:2] == ["names", "networks"]:
        return Where.SIBLING, None
    if parts[0] == "hosts":
        return Where.CLUSTER, None
    return Where.LOCAL, None


def split_endpoint(key_or_ref: str) -> tuple[str, str]:
    """``(network ID, endpoint ID)`` of an endpoint key or a sandbox's endpoint reference."""
    parts = key_or_ref.split("/")
    return parts[-2], parts[-1]


def endpoint_ref(network_id: str, endpoint_id: str) -> str:
    """How a sandbox record names one of its endpoints."""
    return f"{network_id}/{endpoint_id}"
