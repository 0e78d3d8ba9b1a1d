"""The store interface (see :mod:`pycnm.store`)."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence

from attrs import frozen

#: a version guard that accepts anything
ANY = None


@frozen
class Entry:
    key: str
    value: bytes
    version: int


@frozen
class Changes:
    """The difference between two revisions of a store (:meth:`Store.changes`)."""

    written: list[Entry]
    deleted: list[str]
    revision: int


@frozen
class Put:
    key: str
    value: bytes
    expect: int | None = ANY


@frozen
class Delete:
    key: str
    expect: int | None = ANY


class Store(abc.ABC):
    """A key-value store with versioned compare-and-swap commits."""

    #: "local" for the embedded store, "global" for the cluster store
    scope: str = "local"

    @abc.abstractmethod
    def get(self, key: str) -> Entry | None:
        """The entry at ``key``, or None."""

    @abc.abstractmethod
    def list(self, prefix: str) -> list[Entry]:
        """Every entry whose key starts with ``prefix``, sorted by key."""

    @abc.abstractmethod
    def commit(self, ops: Sequence[Put | Delete]) -> int:
        """Apply ``ops`` atomically and durably; return the new revision.

        :raises StaleVersion: a guard failed; nothing was changed.
        """

    def close(self) -> None:  # noqa: B027 - optional: a store without resources closes nothing
        """Release connections."""

    def revision(self) -> int:
        """The store's current revision (cheap): it changes with every commit, of any process."""
        raise NotImplementedError(f"{type(self).__name__} keeps no revision")

    def changes(self, since: int) -> Changes | None:
        """What changed after revision ``since``: the entries written (as they are now) and the
        keys deleted. None when the store cannot tell (it keeps no history that far back, or none
        at all): the caller must then read what it needs afresh."""
        return None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the commits made inside into one atomic, durable commit (where the store can).

        Guards are still checked by each commit; an exception rolls everything back. Stores that
        cannot group (a remote one) commit each as it comes.
        """
        yield

    @contextlib.contextmanager
    def until_reboot(self) -> Iterator[None]:
        """Commits made inside record state that a reboot ends anyway: a sandbox's namespace lives
        in /run, so its joins (and the endpoints ``connect`` made for them) do not outlive it.

        A store may then return before the commit is on disk. The commit is still atomic, it
        survives a crash of the process, and it reaches the disk no later than the next commit
        made outside (a store's later commits never survive a power loss that its earlier ones do
        not). The default keeps every commit durable.
        """
        yield

    # conveniences ------------------------------------------------------------------------------

    def put(self, key: str, value: bytes, expect: int | None = ANY) -> int:
        return self.commit([Put(key, value, expect)])

    def delete(self, key: str, expect: int | None = ANY) -> int:
        return self.commit([Delete(key, expect)])
