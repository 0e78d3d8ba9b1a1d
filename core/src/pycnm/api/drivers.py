"""The installed drivers, as ``pycnm driver ls --format json`` lists them (``GET /pycnm/v1/drivers``)."""

from __future__ import annotations

from typing import Any

from .. import discovery
from ..errors import CNMError


def installed_drivers(scope: bool = True) -> list[dict[str, str]]:
    """One row per driver: ``Name``, ``Kind`` (network, ipam, remote, remote-ipam),
    ``Distribution``, ``Version`` and ``Scope`` (network drivers, loaded to ask, with ``scope``).

    Entry points are listed without importing them; drivers that plugins bring (Docker plugins
    found by pycnm-remote) come after, with their source as the distribution."""
    rows: list[dict[str, str]] = []
    for group, kind in ((discovery.NETWORK_DRIVERS, "network"), (discovery.IPAM_DRIVERS, "ipam")):
        for entry in discovery.installed(group):
            rows.append(
                {
                    "Name": entry.name,
                    "Kind": kind,
                    "Distribution": entry.distribution,
                    "Version": entry.version,
                    "Scope": _scope_of(entry) if scope and kind == "network" else "",
                }
            )
    from .._relay import EventBus

    sources = EventBus(discovery.load_plugins())
    for kind in ("network", "ipam"):
        for item in sources.discovered(kind):
            rows.append(
                {
                    "Name": item["name"],
                    "Kind": "remote" if kind == "network" else "remote-ipam",
                    "Distribution": item.get("source", ""),
                    "Version": "",
                    "Scope": "",
                }
            )
    return rows


def network_driver_names() -> list[str]:
    """Names of the network drivers installed or discovered, for ``/info``'s Plugins.Network."""
    return sorted({row["Name"] for row in installed_drivers(scope=False) if row["Kind"] in ("network", "remote")})


def _scope_of(entry: Any) -> str:
    from .._relay import NetworkRelay

    try:
        driver, found = discovery.load(entry.group, entry.name)
        return NetworkRelay(driver, found).capabilities.scope.value
    except CNMError as exc:
        return f"error: {exc}"
