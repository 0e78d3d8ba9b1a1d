"""Kernel settings under /proc/sys. Network ones belong to the namespace of the calling thread."""

from __future__ import annotations

import logging

from .. import steps
from ..errors import Internal

log = logging.getLogger(__name__)


def _path(name: str) -> str:
    """``net.ipv4.ip_forward`` or, where a part may hold dots (an interface name),
    ``net/ipv4/conf/br-x.1/route_localnet``."""
    if name.startswith("/"):
        return name
    return "/proc/sys/" + (name if "/" in name else name.replace(".", "/"))


def read(name: str) -> str:
    with open(_path(name)) as fh:
        return fh.read().strip()


def ensure(name: str, value: str) -> bool:
    """Set ``name`` to ``value`` unless it already is; True when it changed (and logged)."""
    try:
        if read(name) == value:
            return False
        steps.step("sysctl", f"{name}={value}")
        with open(_path(name), "w") as fh:
            fh.write(value)
    except OSError as exc:
        raise Internal(f"cannot set {name}={value}: {exc}") from None
    log.info("set %s=%s", name, value)
    return True
