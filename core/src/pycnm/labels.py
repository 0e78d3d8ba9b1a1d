"""Option and label keys the core knows, Docker's names first (libnetwork's netlabel), with pycnm's
short aliases.

A hosting application may pass either form; :func:`normalize` turns both into the Docker key, so
drivers and the remote protocol only ever see Docker's keys. A driver's own options (the bridge's
``com.docker.network.bridge.*``) are the driver's: it names them, and their short forms, in its
capabilities (``network_options``, ``option_aliases``).
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

# IPAM
REQUEST_ADDRESS_TYPE = "RequestAddressType"
GATEWAY_REQUEST = f"{PREFIX}.gateway"
IPAM_SERIAL = f"{PREFIX}.ipam.serial"
#: pycnm's: who a pool or address is requested for (``<instance>/<network or endpoint ID>``), kept by
#: IPAM drivers that claim ``keeps_owners``
IPAM_OWNER = "pycnm.ipam.owner"

#: pycnm's short names for the options any driver may take (``-o mtu=1400``), mapped to Docker's keys
ALIASES: dict[str, str] = {
    "mtu": MTU,
    "container_iface_prefix": CONTAINER_IFACE_PREFIX,
}


def normalize(options: Mapping[str, Any] | None, aliases: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``options`` with short keys (the core's, and a driver's ``aliases``) replaced by Docker's keys."""
    names = {**ALIASES, **(aliases or {})}
    if options is not None and not isinstance(options, Mapping):
        from .errors import InvalidParameter

        raise InvalidParameter(f"invalid options {options!r}: expected a mapping of option keys to values")
    out: dict[str, Any] = {}
    for key, value in (options or {}).items():
        out[names.get(key, key)] = value
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
