"""One store for the controller over two: this host's, and the cluster's for global networks.

Records of global-scope networks (their network and name keys, their endpoints) and the global
address space's IPAM keys live in the cluster store, where every host sees them; everything else
(local networks, sandboxes) stays in the local store. Which key goes where is the schema's
(:func:`pycnm.store.keys.where`); a network's scope is found from its record once and remembered.

A commit that spans both stores is two commits (cluster first); the controller's intention
records make that safe, as they make a crash between kernel and store safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from . import keys
from .base import Changes, Delete, Entry, Put, Store
from .keys import Where


class ScopedStore(Store):
    scope = "local"

    def __init__(self, local: Store, cluster: Store) -> None:
        self.local, self.cluster = local, cluster
        self._global: set[str] = set()
        self._local_ids: set[str] = set()

    def mark_global(self, network_id: str) -> None:
        self._global.add(network_id)

    def _is_global(self, network_id: str) -> bool:
        if network_id in self._global:
            return True
        if network_id in self._local_ids:
            return False
        if self.local.get(keys.network(network_id)) is not None:
            self._local_ids.add(network_id)
            return False
        if self.cluster.get(keys.network(network_id)) is not None:
            self._global.add(network_id)
            return True
        return False

    def _for(self, key: str) -> Store | None:
        """The store a key belongs to; None for a network name (decided by its sibling key)."""
        place, network_id = keys.where(key)
        if place is Where.NETWORK and network_id is not None:  # (a network key always names one)
            return self.cluster if self._is_global(network_id) else self.local
        if place is Where.SIBLING:
            return None
        return self.cluster if place is Where.CLUSTER else self.local

    def get(self, key: str) -> Entry | None:
        store = self._for(key)
        if store is not None:
            return store.get(key)
        return self.local.get(key) or self.cluster.get(key)

    def list(self, prefix: str) -> list[Entry]:
        store = self._for(prefix)
        if store is not None and prefix not in ("", keys.NETWORKS, keys.IPAM, keys.ENDPOINTS):
            return store.list(prefix)
        found = {e.key: e for e in self.local.list(prefix)}
        for entry in self.cluster.list(prefix):
            found.setdefault(entry.key, entry)
            if entry.key.startswith(keys.NETWORKS):
                self._global.add(entry.key.split("/")[1])
        return [found[k] for k in sorted(found)]

    def commit(self, ops: Sequence[Put | Delete]) -> int:
        sibling = next((self._for(op.key) for op in ops if op.key.startswith(keys.NETWORKS)), None)
        groups: dict[int, tuple[Store, list]] = {}
        for op in ops:
            store = self._for(op.key) or sibling or self.local
            groups.setdefault(id(store), (store, []))[1].append(op)
        revision = 0
        for store in (self.cluster, self.local):
            if id(store) in groups:
                revision = store.commit(groups[id(store)][1])
        return revision

    def revision(self) -> int:
        """The local store's: the cluster's changes reach a host through its daemon's watch."""
        return self.local.revision()

    def changes(self, since: int) -> Changes | None:
        return self.local.changes(since)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.local.transaction():
            yield

    @contextlib.contextmanager
    def until_reboot(self) -> Iterator[None]:
        with self.local.until_reboot():
            yield

    def close(self) -> None:
        self.local.close()
        self.cluster.close()
