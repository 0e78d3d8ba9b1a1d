"""Option and label keys, Docker's names first (libnetwork's netlabel), with pycnm's short aliases.

A hosting application may pass either form; :func:`normalize` turns both into the Docker key, so
drivers and the remote protocol only ever see Docker's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "com.docker.network"

GENERIC = f"{PREFIX}.generic"
ENABLE_IPV6 = f"{PREFIX}.enable_ipv6"
INTERNAL = f"{PREFIX}.internal"
MTU = f"{PREFIX}.driver.mtu"
MAC_ADDRESS = f"{PREFIX}.endpoint.macaddress"
EXPOSED_PORTS = f"{PREFIX}.endpoint.exposedports"
PORT_MAP = f"{PREFIX}.portmap"
DNS_SERVERS = f"{PREFIX}.endpoint.dnsservers"
CONTAINER_IFACE_PREFIX = f"{PREFIX}.container_iface_prefix"

# Bridge driver (drivers/bridge/labels.go)
BRIDGE_NAME = f"{PREFIX}.bridge.name"
BRIDGE_ENABLE_ICC = f"{PREFIX}.bridge.enable_icc"
BRIDGE_ENABLE_IP_MASQUERADE = f"{PREFIX}.bridge.enable_ip_masquerade"
BRIDGE_HOST_BINDING_IPV4 = f"{PREFIX}.bridge.host_binding_ipv4"

# IPAM
REQUEST_ADDRESS_TYPE = "RequestAddressType"
GATEWAY_REQUEST = f"{PREFIX}.gateway"
IPAM_SERIAL = f"{PREFIX}.ipam.serial"
#: pycnm's: who a pool or address is requested for (``<instance>/<network or endpoint ID>``), kept by
#: IPAM drivers that claim ``keeps_owners``
IPAM_OWNER = "pycnm.ipam.owner"

#: pycnm's short names for driver options (``-o mtu=1400``), mapped to Docker's keys
ALIASES: dict[str, str] = {
    "mtu": MTU,
    "bridge_name": BRIDGE_NAME,
    "name": BRIDGE_NAME,
    "enable_icc": BRIDGE_ENABLE_ICC,
    "icc": BRIDGE_ENABLE_ICC,
    "enable_ip_masquerade": BRIDGE_ENABLE_IP_MASQUERADE,
    "masquerade": BRIDGE_ENABLE_IP_MASQUERADE,
    "host_binding_ipv4": BRIDGE_HOST_BINDING_IPV4,
    "container_iface_prefix": CONTAINER_IFACE_PREFIX,
}


def normalize(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``options`` with pycnm's short keys replaced by Docker's ``com.docker.network.*`` keys."""
    if options is not None and not isinstance(options, Mapping):
        from .errors import InvalidParameter

        raise InvalidParameter(f"invalid options {options!r}: expected a mapping of option keys to values")
    out: dict[str, Any] = {}
    for key, value in (options or {}).items():
        out[ALIASES.get(key, key)] = value
    return out


def as_bool(value: Any, *, field: str) -> bool:
    """Parse a Docker-style boolean option (``true``/``false``, ``1``/``0``) or fail naming the field."""
    from .errors import InvalidParameter

    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidParameter(f"invalid value {value!r} for {field}: expected true or false")
