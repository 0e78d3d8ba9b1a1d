"""Finding and loading drivers: entry points listed without importing, one loaded by name.

Listing reads the installed distributions' metadata (``importlib.metadata``), so ``pycnm driver ls``
imports no driver and a broken one cannot break the listing. Loading goes through stevedore's
``DriverManager`` (exactly one entry point, load failures re-raised), after a conflict check that
names every distribution claiming the name: stevedore's own conflict error names only the classes.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
from typing import Any

from attrs import frozen
from stevedore import DriverManager, ExtensionManager

from .errors import DriverLoadError, NotFound
from .hookspecs import CONTRACT_VERSION

log = logging.getLogger(__name__)

NETWORK_DRIVERS = "pycnm.network_drivers"
IPAM_DRIVERS = "pycnm.ipam_drivers"
PLUGINS = "pycnm.plugins"

_KIND = {NETWORK_DRIVERS: "network driver", IPAM_DRIVERS: "IPAM driver", PLUGINS: "plugin"}


@frozen
class DriverEntry:
    """One installed entry point: the name users type, and the distribution that ships it."""

    name: str
    group: str
    value: str
    distribution: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.distribution} {self.version}"


def installed(group: str) -> list[DriverEntry]:
    """Every entry point in ``group``, sorted by name, without importing any of them."""
    seen: set[tuple[str, str, str]] = set()
    entries: list[DriverEntry] = []
    for dist in md.distributions():
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group != group:
                continue
            key = (ep.name, dist_name, ep.value)
            if key in seen:  # the same distribution reached twice through sys.path
                continue
            seen.add(key)
            entries.append(DriverEntry(ep.name, group, ep.value, dist_name, dist.version or "?"))
    return sorted(entries, key=lambda e: (e.name, e.distribution))


def find(group: str, name: str) -> DriverEntry:
    """The single entry point ``name`` in ``group``; NotFound or DriverLoadError otherwise."""
    matches = [e for e in installed(group) if e.name == name]
    if not matches:
        names = sorted({e.name for e in installed(group)})
        raise NotFound(
            f"unknown {_KIND[group]} {name!r}: installed are {', '.join(names) or 'none'};"
            f" install the distribution that provides it (e.g. pip install pycnm-{name})"
        )
    dists = sorted({e.label for e in matches})
    if len(dists) > 1:
        raise DriverLoadError(
            f"{_KIND[group]} name {name!r} is claimed by more than one distribution: {', '.join(dists)};"
            " uninstall all but one"
        )
    return matches[0]


def load(group: str, name: str) -> tuple[Any, DriverEntry]:
    """Import and instantiate the driver ``name``; returns the instance and its entry."""
    entry = find(group, name)
    try:
        manager: DriverManager[Any] = DriverManager(group, name, invoke_on_load=True)
        driver = manager.driver
    except Exception as exc:  # an import error, a constructor that raised, ...
        raise DriverLoadError(
            f"{_KIND[group]} {name!r} from distribution {entry.label} failed to load"
            f" ({entry.value}): {type(exc).__name__}: {exc}"
        ) from exc
    check_contract(driver, entry)
    return driver, entry


def check_contract(driver: Any, entry: DriverEntry) -> None:
    """Refuse a driver built for a contract major version the core does not speak."""
    declared = getattr(driver, "pycnm_contract", None)
    if declared is None:
        return
    try:
        major, minor = int(declared[0]), int(declared[1])
    except (TypeError, ValueError, IndexError):
        raise DriverLoadError(
            f"{_KIND[entry.group]} {entry.name!r} ({entry.label}) declares pycnm_contract={declared!r};"
            " expected a (major, minor) tuple"
        ) from None
    if major != CONTRACT_VERSION[0] or minor > CONTRACT_VERSION[1]:
        have = ".".join(map(str, CONTRACT_VERSION))
        raise DriverLoadError(
            f"{_KIND[entry.group]} {entry.name!r} ({entry.label}) was built for driver contract"
            f" {major}.{minor}, but this pycnm speaks {have}; install a matching version of either"
        )


def load_plugins() -> list[Any]:
    """Instances of every ``pycnm.plugins`` entry point (skipped with PYCNM_DISABLE_PLUGINS=1)."""
    if os.environ.get("PYCNM_DISABLE_PLUGINS") == "1":
        return []
    entries = {e.name: e for e in installed(PLUGINS)}

    def failed(_manager, ep, err):
        entry = entries.get(ep.name)
        where = entry.label if entry else ep.value
        raise DriverLoadError(f"plugin {ep.name!r} from distribution {where} failed to load: {err}") from err

    manager = ExtensionManager(PLUGINS, invoke_on_load=True, on_load_failure_callback=failed)
    return [ext.obj for ext in manager]
