"""The store's compare-and-swap commits, on SQLite and in memory."""

import multiprocessing
import os
import shutil
import signal
import sqlite3
import time

import pytest

from pycnm.errors import StaleVersion
from pycnm.store import Delete, MemoryStore, Put, SQLiteStore


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    from pycnm.testing import etcd

    why = etcd.available()
    if why:
        pytest.skip(why)
    with etcd.EtcdCluster(str(tmp_path_factory.mktemp("etcd"))) as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "memory", "etcd"])
def store(request, tmp_path):
    if request.param == "etcd":
        from pycnm.store.etcd import EtcdStore

        cluster = request.getfixturevalue("etcd")
        s = EtcdStore(cluster.endpoints, prefix=f"/t/{tmp_path.name}/")
    else:
        s = SQLiteStore(str(tmp_path / "s.db")) if request.param == "sqlite" else MemoryStore()
    yield s
    s.close()


def test_put_get_list_delete(store):
    store.put("a/1", b"one")
    store.put("a/2", b"two")
    store.put("b/1", b"other")
    assert store.get("a/1").value == b"one"
    assert [e.key for e in store.list("a/")] == ["a/1", "a/2"]
    store.delete("a/1")
    assert store.get("a/1") is None


def test_expect_zero_means_must_not_exist(store):
    store.put("k", b"v", expect=0)
    with pytest.raises(StaleVersion, match="'k' changed under us"):
        store.put("k", b"w", expect=0)


def test_a_stale_version_changes_nothing(store):
    v1 = store.put("x", b"1")
    store.put("x", b"2")
    with pytest.raises(StaleVersion):
        store.commit([Put("y", b"new"), Put("x", b"3", expect=v1)])
    assert store.get("y") is None and store.get("x").value == b"2"


def test_versions_grow_and_guard_deletes(store):
    v1 = store.put("x", b"1")
    v2 = store.put("x", b"2")
    assert v2 > v1 and store.get("x").version == v2
    with pytest.raises(StaleVersion):
        store.commit([Delete("x", expect=v1)])
    store.commit([Delete("x", expect=v2)])
    assert store.get("x") is None


def test_sqlite_is_durable_across_reopen(tmp_path):
    path = str(tmp_path / "d.db")
    s = SQLiteStore(path)
    s.put("k", b"kept")
    s.close()
    assert SQLiteStore(path).get("k").value == b"kept"


def _commit_then_die(path):
    store = SQLiteStore(path)
    with store.until_reboot():
        store.put("k", b"until reboot")
    os.kill(os.getpid(), signal.SIGKILL)


def _synchronous(store) -> int:
    return store._conn().execute("PRAGMA synchronous").fetchone()[0]


def test_sqlite_until_reboot_skips_the_fsync_only_inside(tmp_path):
    """Inside ``until_reboot`` commits run with synchronous=NORMAL (no fsync of the log per
    commit); outside, FULL again: the next durable commit carries the earlier ones to disk."""
    store = SQLiteStore(str(tmp_path / "v.db"))
    store.put("before", b"1")
    assert _synchronous(store) == 2
    with store.until_reboot():
        with store.transaction():
            store.put("a", b"1")
            store.put("b", b"2")
        assert _synchronous(store) == 1
        with store.until_reboot():  # nesting keeps it
            store.put("c", b"3")
        store.put("d", b"4")
        assert _synchronous(store) == 1
    store.put("after", b"1")
    assert _synchronous(store) == 2
    assert [e.key for e in store.list("")] == ["a", "after", "b", "before", "c", "d"]


def test_sqlite_until_reboot_commits_survive_a_killed_process(tmp_path):
    path = str(tmp_path / "k.db")
    SQLiteStore(path)
    proc = multiprocessing.get_context("spawn").Process(target=_commit_then_die, args=(path,))
    proc.start()
    proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL
    assert SQLiteStore(path).get("k").value == b"until reboot"


def test_sqlite_checkpoints_in_its_own_thread(tmp_path):
    """No commit copies the log into the database (autocheckpoint is off); the store's thread
    does, every CHECKPOINT_EVERY commits: the database file alone then holds the data."""
    from pycnm.store import sqlite as sqlite_store

    path = str(tmp_path / "w.db")
    store = SQLiteStore(path)
    assert store._conn().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    with store.until_reboot():
        for i in range(sqlite_store.CHECKPOINT_EVERY):
            store.put(f"k{i}", b"x" * 4096)
    for _ in range(600):
        if store.checkpoints:
            break
        time.sleep(0.05)
    assert store.checkpoints >= 1
    copy = str(tmp_path / "alone.db")
    shutil.copyfile(path, copy)  # the database file without its log
    alone = sqlite3.connect(copy)
    assert alone.execute("SELECT count(*) FROM kv WHERE key LIKE 'k%'").fetchone()[0] == sqlite_store.CHECKPOINT_EVERY
    alone.close()
    store.close()
    assert store._checkpointer is None


def _increment(path, n):
    store = SQLiteStore(path)
    for _ in range(n):
        while True:
            entry = store.get("counter")
            try:
                store.put("counter", str(int(entry.value) + 1).encode(), expect=entry.version)
                break
            except StaleVersion:
                continue


def test_sqlite_compare_and_swap_holds_across_processes(tmp_path):
    path = str(tmp_path / "c.db")
    SQLiteStore(path).put("counter", b"0")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(path, 50)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert SQLiteStore(path).get("counter").value == b"150"


def test_a_transaction_commits_everything_at_once(store):
    if store.scope == "global":
        pytest.skip("etcd commits each change on its own: a transaction groups nothing there")
    with store.transaction():
        store.put("t/1", b"a")
        store.put("t/2", b"b")
        assert store.get("t/1").value == b"a"  # read your own writes
    assert [e.key for e in store.list("t/")] == ["t/1", "t/2"]


def test_a_failed_transaction_changes_nothing(store):
    if store.scope == "global":
        pytest.skip("etcd commits each change on its own: a transaction groups nothing there")
    store.put("keep", b"1")
    with pytest.raises(RuntimeError), store.transaction():
        store.put("keep", b"2")
        store.put("new", b"x")
        raise RuntimeError("boom")
    assert store.get("keep").value == b"1" and store.get("new") is None


def test_guards_still_hold_inside_a_transaction(store):
    store.put("g", b"1", expect=0)
    with store.transaction():
        with pytest.raises(StaleVersion):
            store.put("g", b"2", expect=0)
        store.put("h", b"3")
    assert store.get("g").value == b"1" and store.get("h").value == b"3"
