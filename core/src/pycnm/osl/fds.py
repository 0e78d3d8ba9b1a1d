"""Descriptors that a long-lived process keeps by the thousand stay out of the low range.

libnftables waits for its netlink answers with ``select(2)``, and glibc (built with
``_FORTIFY_SOURCE``) aborts the whole process when a descriptor of 1024 (``FD_SETSIZE``) or more is
put in an ``fd_set``: ``*** bit out of range 0 - FD_SETSIZE on fd_set ***``. A daemon holding a
few sockets per sandbox (its resolver's UDP and TCP sockets, a netlink socket in the sandbox's
namespace) passes 1024 at about 340 sandboxes; the next nftables change then opens its socket on
a descriptor above 1024 and the daemon dies. So the sockets kept per sandbox move to descriptors
from :data:`FLOOR` up, and the ones below stay free for libraries that use ``select``.
"""

from __future__ import annotations

import fcntl
import os
import resource
import socket

#: the first descriptor a kept socket moves to (FD_SETSIZE)
FLOOR = 1024


def high(sock: socket.socket) -> socket.socket:
    """``sock`` itself on a descriptor of :data:`FLOOR` or more (close-on-exec), the original
    closed; ``sock`` unchanged where the descriptor limit is :data:`FLOOR` or less. Call it before
    setting a timeout or non-blocking mode: the new object starts blocking, as a new socket does."""
    try:
        fd = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, FLOOR)
    except OSError:  # EINVAL: the limit is at or below the floor; EMFILE: none free above it
        return sock
    try:
        moved = socket.socket(sock.family, sock.type, sock.proto, fileno=fd)
    except BaseException:
        os.close(fd)
        raise
    sock.close()
    return moved


def raise_limit() -> tuple[int, int]:
    """Raise this process's soft limit of open descriptors to its hard limit (a service's
    default soft limit is often 1024, which :func:`high` needs above it); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard_value = 1 << 20
    else:
        hard_value = hard
    if soft != resource.RLIM_INFINITY and soft < hard_value:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard_value, hard))
            soft = hard_value
        except (ValueError, OSError):
            pass
    return soft, hard
