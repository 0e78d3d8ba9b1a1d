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
    ipam.host_networks = lambda: []
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
            except Exception as exc:  # surfaced below
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


def test_a_watch_sees_puts_and_deletes(tmp_path):
    with etcd.EtcdCluster(str(tmp_path / "etcdw")) as cluster:
        store = _store(cluster, "w")
        events, cancel = store.watch("peers/")
        seen = []

        def follow():
            for event in events:
                seen.append((event["type"], event["key"], event["value"]))
                if len(seen) == 2:
                    break

        reader = threading.Thread(target=follow)
        reader.start()
        import time

        time.sleep(0.5)  # let the watch start
        store.put("peers/h1", b"10.0.0.1")
        store.delete("peers/h1")
        reader.join(timeout=10)
        cancel()
        assert seen == [("PUT", "peers/h1", b"10.0.0.1"), ("DELETE", "peers/h1", b"")]
