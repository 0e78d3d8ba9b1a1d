"""An in-memory store with the same compare-and-swap semantics (tests, benchmarks, embedding)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

from .. import steps
from ..errors import StaleVersion
from .base import Changes, Delete, Entry, Put, Store


class MemoryStore(Store):
    scope = "local"

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, int]] = {}
        self._tombstones: dict[str, int] = {}  # deleted key -> the revision of its deletion
        self._revision = 0
        self._lock = threading.RLock()
        self._depth = 0

    def get(self, key: str) -> Entry | None:
        hit = self._data.get(key)
        return Entry(key, hit[0], hit[1]) if hit else None

    def list(self, prefix: str) -> list[Entry]:
        with self._lock:
            items = [(k, v) for k, v in self._data.items() if k.startswith(prefix)]
        return [Entry(k, v[0], v[1]) for k, v in sorted(items)]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            saved = (dict(self._data), dict(self._tombstones), self._revision) if self._depth == 0 else None
            self._depth += 1
            try:
                yield
                if saved is not None:
                    steps.step("store", "commit to memory")
            except BaseException:
                if saved is not None:
                    self._data, self._tombstones, self._revision = saved
                raise
            finally:
                self._depth -= 1

    def revision(self) -> int:
        return self._revision

    def changes(self, since: int) -> Changes:
        with self._lock:
            written = [Entry(k, v, ver) for k, (v, ver) in self._data.items() if ver > since]
            deleted = [k for k, ver in self._tombstones.items() if ver > since]
            return Changes(sorted(written, key=lambda e: e.version), deleted, self._revision)

    def commit(self, ops: Sequence[Put | Delete]) -> int:
        with self._lock:
            for op in ops:
                if op.expect is None:
                    continue
                hit = self._data.get(op.key)
                have = hit[1] if hit else 0
                if have != op.expect:
                    raise StaleVersion(f"store key {op.key!r} changed under us (version {have}, expected {op.expect})")
            if self._depth == 0:
                steps.step("store", "commit to memory")
            self._revision += 1
            for op in ops:
                if isinstance(op, Put):
                    self._data[op.key] = (op.value, self._revision)
                    self._tombstones.pop(op.key, None)
                elif self._data.pop(op.key, None) is not None:
                    self._tombstones[op.key] = self._revision
            return self._revision
