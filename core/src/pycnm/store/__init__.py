"""Persistence behind one small interface with compare-and-swap.

Keys are ``/``-separated strings, values bytes. Every key carries a version (the store's revision
at its last change, as etcd's ``mod_revision``). A :meth:`Store.commit` applies puts and deletes
atomically, each guarded by the version its writer read: ``0`` means "must not exist yet",
``None`` means "whatever is there". A guard that fails raises :class:`~pycnm.errors.StaleVersion`
and changes nothing, so callers re-read and retry. This is all the controller and the default
IPAM need, and it maps 1:1 onto etcd's transactions for the cluster store.
"""

from .base import ANY, Changes, Delete, Entry, Put, Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["ANY", "Changes", "Delete", "Entry", "MemoryStore", "Put", "SQLiteStore", "Store"]
