"""CNI network configuration lists, read and checked as libcni reads them, and the version to run.

A configuration is a ``.conflist`` (``{"name", "cniVersion", "plugins": [...]}``) or a single
plugin's ``.conf`` (``{"name", "cniVersion", "type", ...}``), which libcni's ``ConfListFromConf``
turns into a list of one; pycnm tells them apart by the ``plugins`` key, not by the file's name.

Facts from containernetworking/cni (``libcni/conf.go``, ``libcni/api.go`` and SPEC.md at v1.1.2
and v1.2.0):

- ``name`` is required; ``cniVersion`` may be left out, and is then 0.1.0.
- ``cniVersions`` (spec 1.1, libcni 1.2): more versions the list supports; libcni runs the highest
  of it and ``cniVersion`` that it implements itself (1.1.0), whatever the plugins say. libcni 1.1
  runs ``cniVersion`` as written, and only ``ValidateNetworkList`` asks each plugin's VERSION
  whether it supports that version.
- ``disableCheck`` (and, in libcni 1.3, ``disableGC``) is a boolean, or the strings "true" and
  "false" (libcni 1.2).
- Every plugin object has a ``type`` (the executable's name, no path separator); ``capabilities``
  is an object of booleans.

Decision: pycnm picks the version as spec 1.1 says a runtime MAY: the highest of ``cniVersion`` and
``cniVersions`` that pycnm and every plugin of the list (their VERSION answers) support. With
``cniVersion`` alone that is libcni 1.1's choice, checked up front as ``ValidateNetworkList`` does;
with ``cniVersions`` a list can name 1.1.0 and still run with plugins that stop at 1.0.0. One
version runs the whole list (as in libcni): each plugin's ``prevResult`` is in the version it was
asked in. pycnm runs 0.3.0 to 1.1.0 (the versions with rich results); 0.1.0 and 0.2.0 lists are
refused, saying so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from pycnm.cni import spec
from pycnm.errors import InvalidParameter

#: the versions pycnm can run a list in, oldest first
SUPPORTED_VERSIONS: tuple[str, ...] = spec.SUPPORTED_VERSIONS
#: what a list that names no version is (libcni's rule)
UNVERSIONED = "0.1.0"


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.0.0"`` as ``(1, 0, 0)``, as libcni's ``ParseVersion`` reads it: up to three numeric
    parts ("1.0" is 1.0.0), and "" is 0.1.0. Raises :class:`InvalidParameter` for anything else."""
    if text == "":
        return (0, 1, 0)
    parts = text.split(".")
    if len(parts) > 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise InvalidParameter(f"invalid CNI version {text!r}: expected MAJOR.MINOR.PATCH, like 1.0.0")
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return (numbers[0], numbers[1], numbers[2])


def at_least(version: str, floor: str) -> bool:
    """Whether ``version`` is ``floor`` or newer (libcni's ``GreaterThanOrEqualTo``)."""
    return parse_version(version) >= parse_version(floor)


@frozen
class PluginConf:
    """One plugin object of a list, as written; ``raw`` is passed on to the plugin (libcni keeps
    every key, ``capabilities`` included, and adds its own)."""

    type: str
    raw: Mapping[str, Any] = field(repr=False)
    capabilities: Mapping[str, bool] = field(factory=dict)

    def declares(self, capability: str) -> bool:
        return bool(self.capabilities.get(capability))


@frozen
class ConfList:
    """A network configuration list, checked. ``source`` says where it came from, for messages."""

    name: str
    cni_version: str
    cni_versions: tuple[str, ...]
    disable_check: bool
    disable_gc: bool
    plugins: tuple[PluginConf, ...]
    source: str
    #: the list as JSON text (what the result cache keeps, as libcni keeps ``list.Bytes``)
    text: str = field(repr=False)

    def declared(self, capability: str) -> list[PluginConf]:
        """The plugins whose ``capabilities`` declare ``capability``."""
        return [p for p in self.plugins if p.declares(capability)]

    def config_versions(self) -> list[str]:
        """The versions the list supports (``cniVersion`` and ``cniVersions``), newest first."""
        named = {self.cni_version or UNVERSIONED, *self.cni_versions}
        return sorted(named, key=parse_version, reverse=True)

    def describe(self, plugin: PluginConf) -> str:
        """libcni's ``pluginDescription``: ``type="bridge" name="mynet"``."""
        return f'type="{plugin.type}" name="{self.name}"'


def _boolean(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidParameter(f"{where}: {key} must be true or false, not {value!r}")


def _plugin(raw: Any, where: str) -> PluginConf:
    if not isinstance(raw, Mapping):
        raise InvalidParameter(f"{where}: expected a plugin object, not {raw!r}")
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidParameter(f"{where}: missing 'type' (the plugin executable's name, like bridge)")
    if "/" in kind or "\\" in kind:
        raise InvalidParameter(f"{where}: type {kind!r} names a path; give the plugin's name (cni_path says where)")
    caps = raw.get("capabilities")
    if caps is None:
        caps = {}
    if not isinstance(caps, Mapping) or not all(isinstance(v, bool) for v in caps.values()):
        raise InvalidParameter(f"{where}: capabilities must be an object of true/false values, not {caps!r}")
    return PluginConf(kind, dict(raw), dict(caps))


def parse(raw: Any, source: str) -> ConfList:
    """Check a decoded configuration (list or single plugin) as libcni does; ``source`` names it
    in errors. Raises :class:`InvalidParameter` saying what to change."""
    where = f"CNI configuration {source}"
    if not isinstance(raw, Mapping):
        raise InvalidParameter(f"{where}: expected a JSON object, not {type(raw).__name__}")
    try:
        name = spec.validate_network_name(raw.get("name"))
    except spec.CNIError as exc:
        raise InvalidParameter(f"{where}: {exc.msg}" + (f" ({exc.details})" if exc.details else "")) from None
    version = raw.get("cniVersion", "")
    if not isinstance(version, str):
        raise InvalidParameter(f'{where}: cniVersion must be a string like "1.0.0", not {version!r}')
    if version:
        parse_version(version)
    versions = raw.get("cniVersions", [])
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise InvalidParameter(f"{where}: cniVersions must be a list of version strings, not {versions!r}")
    for v in versions:
        if len(v.split(".")) != 3:  # libcni 1.2 reads cniVersions as semantic versions
            raise InvalidParameter(f"{where}: invalid cniVersions entry {v!r}: expected MAJOR.MINOR.PATCH")
        parse_version(v)
    if "plugins" in raw:
        listed = raw["plugins"]
        if not isinstance(listed, list) or not listed:
            raise InvalidParameter(f"{where}: plugins must be a non-empty list of plugin objects")
        plugins = tuple(_plugin(p, f"{where}, plugins[{i}]") for i, p in enumerate(listed))
        disable_check = _boolean(raw, "disableCheck", where)
        disable_gc = _boolean(raw, "disableGC", where)
        text = json.dumps(raw, sort_keys=True)
    else:
        # a single plugin's .conf: libcni's ConfListFromConf makes it a list of one
        plugins = (_plugin(raw, where),)
        disable_check = disable_gc = False
        text = json.dumps({"cniVersion": version, "name": name, "plugins": [dict(raw)]}, sort_keys=True)
    return ConfList(name, version, tuple(versions), disable_check, disable_gc, plugins, source, text)


def parse_text(text: str | bytes, source: str) -> ConfList:
    """:func:`parse` of JSON text."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidParameter(f"CNI configuration {source} is not JSON: {exc}") from None
    return parse(raw, source)


class Loader:
    """Reads configuration files, again only when they changed (a runtime reads its configuration
    at each operation; so does pycnm, at the cost of one ``stat`` when nothing changed)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[tuple[int, int, int], ConfList]] = {}

    def load(self, path: str) -> ConfList:
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            seen = self._seen.get(path)
            if seen is not None and seen[0] == stamp:
                return seen[1]
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise InvalidParameter(f"cannot read CNI configuration {path}: {exc.strerror}") from None
        conf = parse_text(data, path)
        self._seen[path] = (stamp, conf)
        return conf


def select_version(conf: ConfList, plugin_versions: Sequence[tuple[PluginConf, str, Sequence[str]]]) -> str:
    """The version to run ``conf`` in: the newest of its versions that pycnm and every plugin
    support. ``plugin_versions`` holds, for each plugin, its path and its VERSION answer.
    Raises :class:`InvalidParameter` naming what stands in the way."""
    ours = [v for v in conf.config_versions() if v in SUPPORTED_VERSIONS]
    if not ours:
        named = ", ".join(conf.config_versions())
        raise InvalidParameter(
            f"CNI configuration {conf.source} is for CNI {named}; pycnm runs {', '.join(SUPPORTED_VERSIONS)}:"
            " set cniVersion (or cniVersions) to one of those the plugins support"
        )
    for version in ours:
        if all(version in supported for _plugin, _path, supported in plugin_versions):
            return version
    best = ours[0]
    lacking = [
        f"{plugin.type} ({path}) supports {', '.join(supported) or 'nothing'}"
        for plugin, path, supported in plugin_versions
        if best not in supported
    ]
    raise InvalidParameter(
        f"no CNI version of {', '.join(ours)} (CNI configuration {conf.source}) is supported by every plugin:"
        f" {'; '.join(lacking)}. Set cniVersion, or list cniVersions, to a version all of them support"
    )


__all__ = [
    "SUPPORTED_VERSIONS",
    "ConfList",
    "Loader",
    "PluginConf",
    "at_least",
    "parse",
    "parse_text",
    "parse_version",
    "select_version",
]
