"""The options of a ``cni`` network (``pycnm network create -d cni -o KEY=VALUE``).

=================  ==============================================================================
``conflist``       the path of a ``.conflist`` (or of a single plugin's ``.conf``), absolute: the
                   CLI and the daemon run in different directories. Read at every operation that
                   runs the list forward, as a runtime reads it; a DEL runs what its ADD ran.
``config``         the same, inline: the JSON text of a list or of a single plugin's config.
``cni_path``       more directories to find plugins in, ``:``-separated, searched first (then
                   ``$CNI_PATH``, ``/usr/lib/cni``, ``/opt/cni/bin``).
``timeout``        seconds each plugin execution may take before it is killed (default 60).
``disable_check``  never run CHECK (as the list's ``disableCheck``).
``disable_gc``     never run GC, at network deletion or on request (as the list's ``disableGC``
                   of CNI 1.3): for a list another runtime uses too, whose attachments pycnm
                   cannot know.
=================  ==============================================================================

Exactly one of ``conflist`` and ``config`` is required.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from pycnm import labels
from pycnm.errors import InvalidParameter

CONFLIST, CONFIG, CNI_PATH, TIMEOUT, DISABLE_CHECK, DISABLE_GC = (
    "conflist",
    "config",
    "cni_path",
    "timeout",
    "disable_check",
    "disable_gc",
)
#: every option a cni network takes (the driver's ``Capabilities.network_options``)
NAMES: tuple[str, ...] = (CONFLIST, CONFIG, CNI_PATH, TIMEOUT, DISABLE_CHECK, DISABLE_GC)
DEFAULT_TIMEOUT = 60.0
#: the longest timeout taken: a plugin that needs an hour is not waited for
MAX_TIMEOUT = 3600.0

_EXAMPLE = "-o conflist=/etc/cni/net.d/10-bridge.conflist"


@frozen
class NetworkOptions:
    """A cni network's options, checked."""

    conflist: str | None = None
    config: str | None = None
    cni_path: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    disable_check: bool = False
    disable_gc: bool = False

    @property
    def source(self) -> str:
        """Where the list comes from, for messages."""
        return self.conflist or "given in -o config"

    @classmethod
    def parse(cls, generic: Mapping[str, Any]) -> NetworkOptions:
        """The options of ``generic`` (the network's ``com.docker.network.generic``)."""
        conflist, config = generic.get(CONFLIST), generic.get(CONFIG)
        if conflist in (None, "") and config in (None, ""):
            raise InvalidParameter(
                f"a cni network needs its CNI configuration: {_EXAMPLE}, or -o config='{{...}}' (inline JSON)"
            )
        if conflist not in (None, "") and config not in (None, ""):
            raise InvalidParameter("give conflist or config, not both")
        path = None
        if conflist not in (None, ""):
            if not isinstance(conflist, str) or not os.path.isabs(conflist):
                raise InvalidParameter(f"invalid conflist {conflist!r}: give an absolute path, as in {_EXAMPLE}")
            path = os.path.normpath(conflist)
        text = None
        if config not in (None, ""):
            if isinstance(config, Mapping):  # a hosting application may pass the object itself
                text = json.dumps(config)
            elif isinstance(config, str):
                text = config
            else:
                raise InvalidParameter(f"invalid config {config!r}: expected the JSON text of a CNI configuration")
        dirs: tuple[str, ...] = ()
        raw_path = generic.get(CNI_PATH)
        if raw_path not in (None, ""):
            if not isinstance(raw_path, str):
                raise InvalidParameter(f"invalid cni_path {raw_path!r}: expected directories separated by ':'")
            dirs = tuple(d for d in raw_path.split(":") if d)
            relative = [d for d in dirs if not os.path.isabs(d)]
            if relative:
                raise InvalidParameter(f"invalid cni_path: {', '.join(relative)} is not absolute")
        timeout = DEFAULT_TIMEOUT
        raw_timeout = generic.get(TIMEOUT)
        if raw_timeout not in (None, ""):
            try:
                timeout = float(raw_timeout)
            except (TypeError, ValueError):
                timeout = math.nan
            if not 0 < timeout <= MAX_TIMEOUT:  # NaN fails this too
                raise InvalidParameter(
                    f"invalid timeout {raw_timeout!r}: a number of seconds above 0, at most {MAX_TIMEOUT:g}"
                )
        flags = {
            key: labels.as_bool(generic[key], field=key) if generic.get(key) not in (None, "") else False
            for key in (DISABLE_CHECK, DISABLE_GC)
        }
        return cls(path, text, dirs, timeout, flags[DISABLE_CHECK], flags[DISABLE_GC])


__all__ = ["DEFAULT_TIMEOUT", "NAMES", "NetworkOptions"]
