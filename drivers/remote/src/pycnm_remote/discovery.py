"""Finding Docker plugins by name, as dockerd does (pkg/plugins/discovery_unix.go), and offering
each to pycnm as a driver.

1. sockets: ``/run/docker/plugins/NAME.sock``, then ``/run/docker/plugins/NAME/NAME.sock``;
2. then in ``/etc/docker/plugins`` and ``/usr/lib/docker/plugins``: ``NAME.spec``,
   ``NAME/NAME.spec``, ``NAME.json``, ``NAME/NAME.json``. A ``.spec`` holds a URL
   (``unix://``, ``tcp://``, ``http(s)://``); a ``.json`` is ``{"Name", "Addr", "TLSConfig"}``.

``PYCNM_PLUGIN_SOCKET_DIRS`` and ``PYCNM_PLUGIN_SPEC_DIRS`` (``:``-separated) replace the
directories. ``PYCNM_REMOTE_TIMEOUT`` (seconds per call, default 30) and
``PYCNM_REMOTE_RETRY`` (seconds of connection retries, default 30) tune the client.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.parse
from collections.abc import Mapping, Sequence
from importlib.metadata import version

from attrs import field, frozen

from pycnm import hookimpl
from pycnm.errors import InvalidParameter

from .client import PluginClient
from .drivers import RemoteIPAMDriver, RemoteNetworkDriver

SOCKET_DIRS = ("/run/docker/plugins",)
SPEC_DIRS = ("/etc/docker/plugins", "/usr/lib/docker/plugins")
SCHEMES = ("unix", "tcp", "http", "https")


@frozen
class PluginAddress:
    name: str
    address: str
    found_at: str
    tls: dict = field(factory=dict)


def _dirs(env: str, default: tuple[str, ...]) -> list[str]:
    value = os.environ.get(env)
    return [d for d in value.split(os.pathsep) if d] if value else list(default)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _from_spec(name: str, path: str) -> PluginAddress:
    with open(path) as fh:
        url = fh.read().strip()
    if urllib.parse.urlsplit(url).scheme not in SCHEMES:
        raise InvalidParameter(
            f"plugin {name}: {path} holds {url!r}: Unknown protocol (use unix://, tcp://, http:// or https://)"
        )
    return PluginAddress(name, url, path)


def _from_json(name: str, path: str) -> PluginAddress:
    try:
        with open(path) as fh:
            spec = json.load(fh)
        address = spec["Addr"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameter(f"plugin {name}: {path} is not a plugin spec ({exc})") from None
    tls = spec.get("TLSConfig") or {}
    if tls and urllib.parse.urlsplit(address).scheme in ("tcp", "http"):
        address = "https://" + address.split("://", 1)[1]
    return PluginAddress(spec.get("Name") or name, address, path, tls)


def find(name: str) -> PluginAddress | None:
    """Where the plugin ``name`` listens, by Docker's rules; None if nothing names it."""
    for directory in _dirs("PYCNM_PLUGIN_SOCKET_DIRS", SOCKET_DIRS):
        for path in (os.path.join(directory, f"{name}.sock"), os.path.join(directory, name, f"{name}.sock")):
            if _is_socket(path):
                return PluginAddress(name, f"unix://{path}", path)
    for directory in _dirs("PYCNM_PLUGIN_SPEC_DIRS", SPEC_DIRS):
        for suffix, read in ((".spec", _from_spec), (".json", _from_json)):
            for path in (os.path.join(directory, name + suffix), os.path.join(directory, name, name + suffix)):
                if os.path.isfile(path):
                    return read(name, path)
    return None


def all_plugins() -> list[PluginAddress]:
    names: set[str] = set()
    for directory in _dirs("PYCNM_PLUGIN_SOCKET_DIRS", SOCKET_DIRS) + _dirs("PYCNM_PLUGIN_SPEC_DIRS", SPEC_DIRS):
        if not os.path.isdir(directory):
            continue
        for entry in os.listdir(directory):
            base, ext = os.path.splitext(entry)
            if ext in (".sock", ".spec", ".json") or os.path.isdir(os.path.join(directory, entry)):
                names.add(base if ext else entry)
    found = []
    for name in sorted(names):
        try:
            address = find(name)
        except InvalidParameter:
            continue
        if address is not None:
            found.append(address)
    return found


class RemotePlugins:
    """The ``pycnm.plugins`` entry point of pycnm-remote: Docker plugins as drivers."""

    def __init__(self) -> None:
        self._drivers: dict[tuple[str, str], object] = {}

    @hookimpl
    def cnm_discover_drivers(self, kind: str) -> Sequence[Mapping[str, str]]:
        return [{"name": p.name, "source": p.address} for p in all_plugins()]

    @hookimpl
    def cnm_driver_for(self, name: str, kind: str) -> object | None:
        key = (name, kind)
        if key in self._drivers:
            return self._drivers[key]
        address = find(name)
        if address is None:
            return None
        client = PluginClient(
            name,
            address.address,
            tls=address.tls,
            timeout=float(os.environ.get("PYCNM_REMOTE_TIMEOUT", "30")),
            retry_total=float(os.environ.get("PYCNM_REMOTE_RETRY", "30")),
        )
        source = {"address": address.address, "distribution": "pycnm-remote", "version": version("pycnm-remote")}
        driver = (RemoteNetworkDriver if kind == "network" else RemoteIPAMDriver)(client, source)
        self._drivers[key] = driver
        return driver
