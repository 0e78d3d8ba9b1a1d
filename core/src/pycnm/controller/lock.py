"""The state directory's operation lock: one change at a time, across every process that uses it.

Every Controller on a state directory (the CLI, a hosting application, ``pycnm daemon``) holds
``controller.lock`` exclusively (``flock``) for the whole of each operation that changes
something, from its first intention to its last commit. Two consequences carry the design:

- **Liveness without bookkeeping.** Whoever holds the lock knows no other process is midway
  through anything: a record found in a transient state was left by a process that died. So
  reconciliation may run at any time under the lock, not only when a Controller starts alone,
  and never touches live work.
- **Coherent drivers.** A driver keeps what it was told in memory. When the lock is taken and
  the store has changed since this process last held it, the Controller first tells its drivers
  what the other processes did (:meth:`Controller._catch_up`).

The cost is small: two ``flock`` calls and one read of the store's revision per operation (about
15 µs). Operations of different processes run one after another, as they did inside one process
already; SQLite serialises their commits anyway.

The lock is re-entrant within a process (a ``connect`` is an endpoint creation and a join) and
serialises the process's threads too.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable


class StateLock:
    """Re-entrant, process-wide and cross-process exclusive lock on a state directory.

    ``acquired`` runs each time the lock is taken from free (by this process), ``releasing`` just
    before it is given back: the Controller catches up with other processes in the first and
    notes the store's revision in the second.
    """

    def __init__(
        self, path: str, acquired: Callable[[], None] | None = None, releasing: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._threads = threading.RLock()
        self._depth = 0
        self.acquired, self.releasing = acquired, releasing

    @property
    def held(self) -> bool:
        """Whether this process holds it (in some thread)."""
        return self._depth > 0

    def __enter__(self) -> StateLock:
        self._threads.acquire()
        if self._depth == 0:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1
        if self._depth == 1 and self.acquired is not None:
            try:
                self.acquired()
            except BaseException:
                self._release()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._depth == 1 and self.releasing is not None:
            try:
                self.releasing()
            finally:
                self._release()
        else:
            self._release()

    def _release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd >= 0:
                os.close(self._fd)  # releases the flock with it
                self._fd = -1
