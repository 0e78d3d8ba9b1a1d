"""pyroute2 sockets, one per (thread, namespace), opened by ``setns`` in the calling thread.

pyroute2's sync ``IPRoute`` is bound to the thread that made it: used from another thread it
silently opens a new socket in *that* thread's namespace. So sockets are cached per thread, and
every socket opened for a namespace is remembered, so :func:`forget` can close them all when the
namespace is deleted (an open socket keeps a namespace, and the interfaces in it, alive).
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict

from pyroute2 import IPRoute

from . import netns

_local = threading.local()
_lock = threading.Lock()
_open: dict[str, list[IPRoute]] = defaultdict(list)
_generation: dict[str, int] = defaultdict(int)


def current() -> str:
    """An identity of the namespace this thread is in now (``host`` sockets are cached by it).

    A hosting application, or a test, may run pycnm in a thread that entered another namespace
    standing in for the host; its "host" objects then live there.
    """
    st = os.stat("/proc/thread-self/ns/net")
    return f"@{st.st_dev}:{st.st_ino}"


def host() -> IPRoute:
    """This thread's socket in the namespace the thread is in (pycnm's "host")."""
    return ns(current())


def ns(path: str) -> IPRoute:
    """This thread's socket in the namespace at ``path`` (an ``@dev:ino`` from :func:`current`
    means the thread's own)."""
    cache = getattr(_local, "sockets", None)
    if cache is None:
        cache = _local.sockets = {}
    generation = _generation[path]
    hit = cache.get(path)
    if hit is not None and hit[0] == generation:
        return hit[1]
    if not path.startswith("@"):
        with netns.entered(path):
            sock = IPRoute()
    else:
        sock = IPRoute()
    cache[path] = (generation, sock)
    with _lock:
        _open[path].append(sock)
    return sock


def forget(path: str) -> None:
    """Close every thread's socket for ``path``; call before deleting its namespace."""
    with _lock:
        socks = _open.pop(path, [])
        _generation[path] += 1
    for sock in socks:
        try:
            sock.close()
        except Exception:  # closing is best effort; the fd goes with the object
            pass


def reset() -> None:
    """Close every socket of every thread (for tests and shutdown)."""
    with _lock:
        paths = list(_open)
    for path in paths:
        forget(path)
