"""A corner of a store: every key under one prefix (what a driver gets as ``DriverConfig.store``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from .base import Delete, Entry, Put, Store


class PrefixedStore(Store):
    def __init__(self, inner: Store, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError(f"a store prefix ends with '/': {prefix!r}")
        self.inner, self.prefix = inner, prefix
        self.scope = inner.scope

    def _strip(self, entry: Entry) -> Entry:
        return Entry(entry.key[len(self.prefix) :], entry.value, entry.version)

    def get(self, key: str) -> Entry | None:
        entry = self.inner.get(self.prefix + key)
        return None if entry is None else self._strip(entry)

    def list(self, prefix: str) -> list[Entry]:
        return [self._strip(e) for e in self.inner.list(self.prefix + prefix)]

    def commit(self, ops: Sequence[Put | Delete]) -> int:
        return self.inner.commit(
            [
                Put(self.prefix + op.key, op.value, op.expect)
                if isinstance(op, Put)
                else Delete(self.prefix + op.key, op.expect)
                for op in ops
            ]
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.inner.transaction():
            yield

    @contextlib.contextmanager
    def until_reboot(self) -> Iterator[None]:
        with self.inner.until_reboot():
            yield

    def close(self) -> None:
        """The inner store belongs to whoever made it."""
