"""The cluster store on a real etcd: shared IPAM, a lost member, watches."""

import threading

import pytest

from pycnm.ipam.default import DefaultIPAM
from pycnm.testing import etcd

pytestmark = pytest.mark.skipif(etcd.available() is not None, reason=str(etcd.available()))


def _store(cluster, tag):
    from pycnm.store.etcd import EtcdStore

    return EtcdStore(cluster.endpoints, prefix=f"/t/{tag}/")


def _ipam(store):
    ipam = DefaultIPAM()
    ipam.ipam_config(config=None, store=store)
    ipam.host_networks = list
    return ipam


def test_two_hosts_sharing_the_global_address_space_never_share_an_address(tmp_path):
    with etcd.EtcdCluster(str(tmp_path / "etcd")) as cluster:
        a, b = _ipam(_store(cluster, "ipam")), _ipam(_store(cluster, "ipam"))
        pool = a.ipam_request_pool(address_space="GlobalDefault", pool="", sub_pool="", options={}, v6=False)
        assert str(pool.pool) == "10.0.0.0/24"
        other = b.ipam_request_pool(address_space="GlobalDefault", pool="", sub_pool="", options={}, v6=False)
        assert str(other.pool) == "10.0.1.0/24"  # b sees a's pool
        got, errors = [], []

        def grab(ipam):
            try:
                for _ in range(40):
                    got.append(ipam.ipam_request_address(pool_id=pool.pool_id, address="", options={}).address)
            except Exception as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=grab, args=(ipam,)) for ipam in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(got) == 80 and len(set(got)) == 80


def test_the_store_keeps_working_when_one_member_of_three_dies(tmp_path):
    with etcd.EtcdCluster(str(tmp_path / "etcd3"), members=3) as cluster:
        store = _store(cluster, "ha")
        store.put("before", b"1")
        cluster.kill(0)  # the member the client used first
        store.put("after", b"2", expect=0)
        assert [e.key for e in store.list("")] == ["after", "before"]


def test_a_watch_sees_puts_and_deletes_from_a_revision(tmp_path):
    with etcd.EtcdCluster(str(tmp_path / "etcdw")) as cluster:
        store = _store(cluster, "w")
        store.put("peers/h0", b"before")
        entries, revision = store.list_at("peers/")
        assert [e.key for e in entries] == ["peers/h0"]
        store.put("peers/h1", b"10.0.0.1")  # after the listing, before the watch: not missed
        events, cancel = store.watch("peers/", start_revision=revision + 1)
        store.delete("peers/h1")
        store.put("other", b"x")  # outside the prefix
        seen = [(e["type"], e["key"], e["value"]) for _, e in zip(range(2), events, strict=False)]
        assert seen == [("PUT", "peers/h1", b"10.0.0.1"), ("DELETE", "peers/h1", b"")]
        cancel()
        assert list(events) == []  # cancelled: the iterator ends


def test_a_cancelled_watch_ends_a_blocked_reader(tmp_path):
    with etcd.EtcdCluster(str(tmp_path / "etcdc")) as cluster:
        store = _store(cluster, "c")
        events, cancel = store.watch("nothing/")
        reader = threading.Thread(target=lambda: list(events))
        reader.start()
        reader.join(timeout=0.5)
        assert reader.is_alive()  # blocked, waiting for an event
        cancel()
        reader.join(timeout=10)
        assert not reader.is_alive()


def test_a_watch_ends_when_its_member_dies(tmp_path):
    with etcd.EtcdCluster(str(tmp_path / "etcdd"), members=3) as cluster:
        store = _store(cluster, "d")
        events, cancel = store.watch("k/")
        store.put("k/1", b"1")
        assert next(events)["key"] == "k/1"
        serving = store._current
        cluster.kill(serving)
        ended = threading.Event()
        reader = threading.Thread(target=lambda: (list(events), ended.set()))
        reader.start()
        reader.join(timeout=20)
        assert ended.is_set(), "the watch kept waiting on a dead member"
        events, cancel = store.watch("k/")  # the next watch goes to a live member
        assert store._current != serving
        cancel()
