"""Netlink sockets, one per (thread, namespace), opened by ``setns`` in the calling thread.

pyroute2's sync ``IPRoute`` is bound to the thread that made it: used from another thread it
silently opens a new socket in *that* thread's namespace. So sockets are cached per thread, and
every socket opened for a namespace is remembered, so :meth:`SocketCache.forget` can close them
all when the namespace is deleted (an open socket keeps a namespace, and the interfaces in it,
alive). Opening a namespace's socket by ``setns`` in the calling thread costs a system call;
pyroute2's own ``IPRoute(netns=...)`` forks a helper process for every socket (about 8.5 ms).

Another process may delete a namespace and make a new one at the same path (an overlay
network's, when its last endpoint on the host leaves and one joins again): a cached socket is
used only while the path still holds the namespace it was opened in (one ``stat``), else every
thread's sockets for the path are closed (as :meth:`SocketCache.forget` does) and one is opened
anew, so that none programs a dead namespace or keeps it alive.

A :class:`SocketCache` belongs to whoever made it: each Controller's OS layer has its own, so
closing one Controller closes its sockets only. Drivers and tests use :data:`default`.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pyroute2 import IPRoute

from .. import fds, netns


def current() -> str:
    """An identity of the namespace this thread is in now (sockets for "the host" are cached by it).

    A hosting application, or a test, may run pycnm in a thread that entered another namespace
    standing in for the host; its "host" objects then live there.
    """
    st = os.stat("/proc/thread-self/ns/net")
    return f"@{st.st_dev}:{st.st_ino}"


def _raw_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    return fds.high(sock)  # one per namespace visited: kept out of select()'s range


class SocketCache:
    """pyroute2 sockets and plain rtnetlink sockets, per (thread, namespace)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[str, list[Any]] = defaultdict(list)
        self._generation: dict[str, int] = defaultdict(int)

    def pyroute2(self, path: str) -> IPRoute:
        """This thread's ``IPRoute`` in the namespace at ``path`` (an ``@dev:ino`` identity from
        :func:`current` means the thread's own)."""
        return self._cached("pyroute2", path, IPRoute)

    def raw(self, path: str) -> socket.socket:
        """This thread's plain rtnetlink socket in ``path`` ("" for the thread's own)."""
        return self._cached("raw", path or current(), _raw_socket)

    def _cached(self, kind: str, path: str, make: Callable[[], Any]) -> Any:
        """Made in that namespace on first use, made again after :meth:`forget`, remembered so
        that :meth:`forget` can close it."""
        cache = getattr(self._local, kind, None)
        if cache is None:
            cache = {}
            setattr(self._local, kind, cache)
        generation = self._generation[path]
        hit = cache.get(path)
        named = not path.startswith("@")
        inode = _inode(path) if named else None
        if hit is not None and hit[0] == generation:
            if hit[2] == inode:
                return hit[1]
            # the namespace at the path is not this socket's any more: another process deleted it
            # (its sockets alone keep it alive) or made a new one there: every thread's go, as in
            # forget(), and this one opens anew
            self.forget(path)
            generation = self._generation[path]
        if named:
            with netns.entered(path):
                made = make()
        else:
            made = make()
        cache[path] = (generation, made, inode)
        with self._lock:
            self._open[path].append(made)
        return made

    def forget(self, path: str) -> None:
        """Close every thread's sockets for ``path``; call before deleting its namespace."""
        with self._lock:
            socks = self._open.pop(path, [])
            self._generation[path] += 1
        for sock in socks:
            _close(sock)

    def close(self) -> None:
        """Close every socket of every thread."""
        with self._lock:
            paths = list(self._open)
        for path in paths:
            self.forget(path)


def _inode(path: str) -> int | None:
    """The namespace at ``path`` (its nsfs inode), or None when there is none."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _close(sock: Any) -> None:
    try:
        sock.close()
    except Exception:  # noqa: BLE001 - closing is best effort; the fd goes with the object
        pass


#: the cache of module-level callers (drivers, tests, benchmarks)
default = SocketCache()
