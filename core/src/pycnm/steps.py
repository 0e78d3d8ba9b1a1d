"""Every change pycnm makes to the world is announced here first, one call per step.

A *step* is one thing that outlives the process once done: a store commit, a namespace made or
removed, a netlink request (or one batch of them, which the kernel applies in one system call),
an nftables transaction, a sysctl, a file written, a call to a remote plugin, an etcd write. The
primitives that do them (the stores, :mod:`pycnm.osl`, the remote client) call :func:`step` just
before they act, so code that strings primitives together into an operation is covered without
saying so.

Nothing listens in production (a None check). The crash-point matrix
(:mod:`pycnm.testing.crash`) listens, to enumerate an operation's steps and to kill the process
right before any one of them.
"""

from __future__ import annotations

from collections.abc import Callable

#: the kinds of step, for the reader (and the matrix's report)
KINDS = ("store", "etcd", "netns", "netlink", "nft", "sysctl", "file", "remote")

_listener: Callable[[str, str], None] | None = None


def step(kind: str, what: str = "") -> None:
    """Announce a change of ``kind`` (one of :data:`KINDS`) about to be made; ``what`` says which."""
    listener = _listener
    if listener is not None:
        listener(kind, what)


def listen(listener: Callable[[str, str], None] | None) -> Callable[[str, str], None] | None:
    """Install ``listener`` (None: nobody); returns the one it replaces."""
    global _listener
    previous, _listener = _listener, listener
    return previous
