"""``daemon.lock``: one daemon per state directory, for the daemon's whole life.

The Controller's own ``controller.lock`` lets many processes take turns on a state directory
(the CLI beside a hosting application); a daemon is different: it holds the API socket, the
overlay peers' lease and, later, the sandboxes' DNS. Two of them would fight over all three.
The lock file holds the pid of its holder, so that the one refused can say who holds it.
"""

from __future__ import annotations

import fcntl
import os

from ..errors import Forbidden

LOCK_NAME = "daemon.lock"


class DaemonLock:
    """``flock`` on ``<state dir>/daemon.lock``, taken without waiting; :class:`Forbidden`,
    naming the holder's pid, when another daemon has it."""

    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise Forbidden(
                f"another pycnm daemon{who} runs on state directory {os.path.dirname(self.path)};"
                " stop it first (one daemon per state directory)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # releases the flock
            self._fd = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
