"""Netlink for pycnm: sockets per (thread, namespace) in :mod:`.sockets`, requests laid out by
pyroute2 and sent in batches in :mod:`.requests`.

The module-level functions use :data:`.sockets.default` (drivers, tests, benchmarks); a
Controller's OS layer passes a :class:`~.sockets.SocketCache` of its own.
"""

from __future__ import annotations

from pyroute2 import IPRoute

from .requests import Requests, batch, index
from .sockets import SocketCache, current, default


def host() -> IPRoute:
    """This thread's pyroute2 socket in the namespace the thread is in (pycnm's "host")."""
    return default.pyroute2(current())


def ns(path: str) -> IPRoute:
    """This thread's pyroute2 socket in the namespace at ``path``."""
    return default.pyroute2(path)


def forget(path: str) -> None:
    """Close every thread's sockets for ``path`` in the default cache; call before deleting the
    namespace (an OS layer forgets in its own cache too)."""
    default.forget(path)


def reset() -> None:
    """Close every socket of the default cache (tests, shutdown)."""
    default.close()


__all__ = ["Requests", "SocketCache", "batch", "current", "default", "forget", "host", "index", "ns", "reset"]
