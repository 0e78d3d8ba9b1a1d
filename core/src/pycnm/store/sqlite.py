"""The embedded local store: one SQLite file in WAL mode, synchronous=FULL.

Each commit runs in ``BEGIN IMMEDIATE``, which takes SQLite's write lock first, so guards are
checked and writes applied with no other writer in between, across threads and processes. A
commit is on disk (fsync'd) before :meth:`commit` returns, except inside :meth:`until_reboot`:
there SQLite's synchronous=NORMAL applies, and the write-ahead log is fsync'd by the next
durable commit (or a checkpoint), which carries every earlier commit to the disk with it.

Checkpoints (copying the log into the database file, with an fsync) run in a thread of the
store's own, every :data:`CHECKPOINT_EVERY` commits, not inside whichever commit happens to fill
the log: that left one attach in seventy waiting about 8 ms.

Every process on the file can ask what changed since a revision (:meth:`changes`): a key's
``version`` is the revision of its last change (indexed), and a deleted key leaves a tombstone
with the revision of its deletion. Tombstones older than :data:`TOMBSTONES_KEPT` revisions are
dropped at checkpoints; ``meta.tombstones_since`` says from which revision on they are complete.
The file is made 0600: it holds every network's configuration and labels.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence

from .. import steps
from ..errors import Internal, StaleVersion
from .base import Changes, Delete, Entry, Put, Store

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
CREATE INDEX IF NOT EXISTS kv_version ON kv (version);
CREATE TABLE IF NOT EXISTS tombstones (key TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tombstones_version ON tombstones (version);
INSERT OR IGNORE INTO meta (name, value) SELECT 'tombstones_since', value FROM meta WHERE name = 'revision';
"""


#: commits between two checkpoints (SQLite's own default is about 1000 pages of log; a connect
#: writes some 14)
CHECKPOINT_EVERY = 64
#: revisions of deletions kept for :meth:`SQLiteStore.changes` (a process that fell further behind
#: reads afresh)
TOMBSTONES_KEPT = 100_000


class SQLiteStore(Store):
    scope = "local"

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # made private before SQLite opens it; its -wal and -shm files take the same mode
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._commits = 0
        self._wake = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._closing = False
        self.checkpoints = 0
        conn = self._conn()
        conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def get(self, key: str) -> Entry | None:
        row = self._conn().execute("SELECT value, version FROM kv WHERE key = ?", (key,)).fetchone()
        return Entry(key, bytes(row[0]), row[1]) if row else None

    def list(self, prefix: str) -> list[Entry]:
        rows = (
            self._conn()
            .execute(
                "SELECT key, value, version FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                (prefix, prefix + "\U0010ffff"),
            )
            .fetchall()
        )
        return [Entry(k, bytes(v), ver) for k, v, ver in rows]

    def revision(self) -> int:
        return self._conn().execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()[0]

    def changes(self, since: int) -> Changes | None:
        conn = self._conn()
        own = getattr(self._local, "depth", 0) == 0
        if own:
            conn.execute("BEGIN")  # one snapshot for the three reads
        try:
            rows = dict(conn.execute("SELECT name, value FROM meta WHERE name IN ('revision', 'tombstones_since')"))
            if since < rows.get("tombstones_since", 0):
                return None
            written = [
                Entry(k, bytes(v), ver)
                for k, v, ver in conn.execute(
                    "SELECT key, value, version FROM kv WHERE version > ? ORDER BY version", (since,)
                )
            ]
            deleted = [
                k for (k,) in conn.execute("SELECT key FROM tombstones WHERE version > ? ORDER BY version", (since,))
            ]
        finally:
            if own:
                conn.execute("COMMIT")
        return Changes(written, deleted, rows["revision"])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self._conn()
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._begin(conn)
        self._local.depth = depth + 1
        try:
            yield
        except BaseException:
            self._local.depth = depth
            if depth == 0:
                conn.execute("ROLLBACK")
            raise
        self._local.depth = depth
        if depth == 0:
            try:
                steps.step("store", f"commit to {self.path}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._committed()

    @contextlib.contextmanager
    def until_reboot(self) -> Iterator[None]:
        depth = getattr(self._local, "volatile", 0)
        self._local.volatile = depth + 1
        try:
            yield
        finally:
            self._local.volatile = depth

    def _begin(self, conn: sqlite3.Connection) -> None:
        sync = "NORMAL" if getattr(self._local, "volatile", 0) else "FULL"
        if getattr(self._local, "sync", "FULL") != sync:  # set outside a transaction, as SQLite wants
            conn.execute(f"PRAGMA synchronous={sync}")
            self._local.sync = sync
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise Internal(f"store {self.path}: cannot start a transaction: {exc}") from exc

    def commit(self, ops: Sequence[Put | Delete]) -> int:
        conn = self._conn()
        nested = getattr(self._local, "depth", 0) > 0
        if not nested:
            self._begin(conn)
        try:
            for op in ops:
                if op.expect is None:
                    continue
                row = conn.execute("SELECT version FROM kv WHERE key = ?", (op.key,)).fetchone()
                have = row[0] if row else 0
                if have != op.expect:
                    raise StaleVersion(f"store key {op.key!r} changed under us (version {have}, expected {op.expect})")
            rev = conn.execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()[0] + 1
            for op in ops:
                if isinstance(op, Put):
                    conn.execute(
                        "INSERT INTO kv (key, value, version) VALUES (?, ?, ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version",
                        (op.key, op.value, rev),
                    )
                elif conn.execute("DELETE FROM kv WHERE key = ?", (op.key,)).rowcount:
                    conn.execute("INSERT OR REPLACE INTO tombstones (key, version) VALUES (?, ?)", (op.key, rev))
            conn.execute("UPDATE meta SET value = ? WHERE name = 'revision'", (rev,))
            if not nested:
                steps.step("store", f"commit to {self.path}")
                conn.execute("COMMIT")
                self._committed()
            return rev
        except BaseException:
            if not nested:
                conn.execute("ROLLBACK")
            raise

    # ---- checkpoints ---------------------------------------------------------------------------

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY:
            return
        with self._lock:
            if self._checkpointer is None and not self._closing:
                self._checkpointer = threading.Thread(
                    target=self._checkpoint_loop, name="pycnm-sqlite-checkpoint", daemon=True
                )
                self._checkpointer.start()
        self._wake.set()

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closing:
                    return
                try:  # PASSIVE: copies what no reader still needs, never blocks a writer
                    self._drop_old_tombstones(conn)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # the log only grows until the next one
                    log.warning("store %s: checkpoint failed: %s", self.path, exc)
        finally:
            conn.close()

    @staticmethod
    def _drop_old_tombstones(conn: sqlite3.Connection) -> None:
        revision = conn.execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()[0]
        floor = revision - TOMBSTONES_KEPT
        since = conn.execute("SELECT value FROM meta WHERE name = 'tombstones_since'").fetchone()
        if floor <= (since[0] if since else 0):
            return
        conn.execute("BEGIN IMMEDIATE")  # one short write transaction (the busy timeout waits for a writer)
        try:
            conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('tombstones_since', ?)", (floor,))
            conn.execute("DELETE FROM tombstones WHERE version <= ?", (floor,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            thread, self._checkpointer = self._checkpointer, None
            self._closing = thread is not None
        if thread is not None:
            self._wake.set()
            thread.join(timeout=60)
        self._closing = False
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
