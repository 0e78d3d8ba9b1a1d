"""The resolver's event loop: one epoll, timers, and a way for other threads to wake it.

Deliberately small: handlers are called with the epoll event mask, timers are either a heap
(any delay) or first-in-first-out queues for one fixed delay (every forwarded query's deadline is
"now + the same budget", so it needs no heap). All of it runs in the resolver's one thread except
:meth:`Loop.wake`, which any thread may call.
"""

from __future__ import annotations

import heapq
import itertools
import os
import select
import time
from collections import deque
from collections.abc import Callable
from typing import Any

Handler = Callable[[int], None]
Timer = Callable[[Any], None]


class FixedDelay:
    """Timers that all call ``fn`` ``delay`` seconds after they are added: a deque, not a heap.

    An entry is ``(when, arg)``; with an int ``arg`` it holds no object the garbage collector
    must visit (a question's deadline entry outlives the question by up to ``delay``).
    """

    __slots__ = ("delay", "fn", "entries")

    def __init__(self, delay: float, fn: Timer) -> None:
        self.delay = delay
        self.fn = fn
        self.entries: deque[tuple[float, Any]] = deque()

    def push(self, now: float, arg: Any) -> None:
        """Call ``fn(arg)`` at ``now + delay``."""
        self.entries.append((now + self.delay, arg))


class Loop:
    """epoll plus timers; ``now`` is the monotonic time read after the last wake-up."""

    def __init__(self) -> None:
        self.epoll = select.epoll()
        self.handlers: dict[int, Handler] = {}
        self.now = time.monotonic()
        self._heap: list[tuple[float, int, Timer, Any]] = []
        self._seq = itertools.count()
        self._fixed: list[FixedDelay] = []
        #: called at the end of every :meth:`run_once`: where queued datagrams are sent in batches
        self.flushers: list[Callable[[], None]] = []
        #: told of any exception a handler or timer let out; the loop goes on
        self.on_error: Callable[[BaseException], None] = lambda exc: None
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.register(self._wake_fd, select.EPOLLIN, self._drain_wake)

    def register(self, fd: int, events: int, handler: Handler) -> None:
        """Call ``handler(events)`` when ``fd`` is ready."""
        self.epoll.register(fd, events)
        self.handlers[fd] = handler

    def modify(self, fd: int, events: int) -> None:
        """Change the events ``fd`` is watched for."""
        self.epoll.modify(fd, events)

    def unregister(self, fd: int) -> None:
        """Stop watching ``fd`` (no error if it was not watched or is closed already)."""
        self.handlers.pop(fd, None)
        try:
            self.epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def call_at(self, when: float, fn: Timer, arg: Any = None) -> None:
        """Call ``fn(arg)`` at monotonic time ``when`` (or soon after)."""
        heapq.heappush(self._heap, (when, next(self._seq), fn, arg))

    def fixed_delay(self, delay: float, fn: Timer) -> FixedDelay:
        """A queue of timers that all call ``fn`` ``delay`` seconds after being pushed."""
        queue = FixedDelay(delay, fn)
        self._fixed.append(queue)
        return queue

    def wake(self) -> None:
        """Make a waiting :meth:`run_once` return early (thread-safe)."""
        try:
            os.eventfd_write(self._wake_fd, 1)
        except OSError:  # closed: the loop is gone
            pass

    def _drain_wake(self, events: int) -> None:
        try:
            os.eventfd_read(self._wake_fd)
        except OSError:
            pass

    def run_once(self, max_wait: float = 1.0) -> None:
        """Wait for events or the next timer (at most ``max_wait`` s), then dispatch both."""
        wait = max_wait
        now = time.monotonic()
        if self._heap:
            wait = min(wait, self._heap[0][0] - now)
        for queue in self._fixed:
            if queue.entries:
                wait = min(wait, queue.entries[0][0] - now)
        events = self.epoll.poll(max(wait, 0.0))
        self.now = time.monotonic()
        handlers = self.handlers
        for fd, mask in events:
            handler = handlers.get(fd)
            if handler is not None:
                try:
                    handler(mask)
                except Exception as exc:  # noqa: BLE001 - a bug must cost one event, never the resolver
                    self.on_error(exc)
        self.run_timers()
        for flush in self.flushers:
            try:
                flush()
            except Exception as exc:  # noqa: BLE001 - as for handlers: reported, the loop goes on
                self.on_error(exc)

    def run_timers(self) -> None:
        """Call every timer that is due."""
        now = self.now = time.monotonic()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, fn, arg = heapq.heappop(heap)
            try:
                fn(arg)
            except Exception as exc:  # noqa: BLE001 - as for handlers: reported, the loop goes on
                self.on_error(exc)
        for queue in self._fixed:
            entries, fn = queue.entries, queue.fn
            while entries and entries[0][0] <= now:
                _, arg = entries.popleft()
                try:
                    fn(arg)
                except Exception as exc:  # noqa: BLE001 - as for handlers: reported, the loop goes on
                    self.on_error(exc)

    def close(self) -> None:
        """Release the epoll and the wake-up descriptor."""
        self.epoll.close()
        os.close(self._wake_fd)
        self.handlers.clear()
        self._heap.clear()
