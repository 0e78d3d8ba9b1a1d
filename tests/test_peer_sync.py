"""The core's peer bookkeeping, on a memory cluster store: a full read, then one watched change at
a time, each costing calls for the endpoint it touches only; stale events skipped."""

import ipaddress

import pytest

from pycnm import Controller, codec, hookimpl
from pycnm.records import EndpointRecord
from pycnm.store import MemoryStore

from .helpers import Everywhere


class Recorder(Everywhere):
    """A global driver that writes down what it is told."""

    def __init__(self):
        super().__init__()
        self.calls = []

    @hookimpl
    def cnm_create_network(self, network_id):
        self.calls.append(("create_network", network_id[:4]))

    @hookimpl
    def cnm_delete_network(self, network_id):
        self.calls.append(("delete_network", network_id[:4]))

    @hookimpl
    def cnm_peer_add(self, endpoint_id, address, vtep):
        self.calls.append(("add", endpoint_id, str(address.ip), str(vtep)))

    @hookimpl
    def cnm_peer_delete(self, endpoint_id):
        self.calls.append(("delete", endpoint_id))


@pytest.fixture
def host(tmp_path, prefix):
    cluster = MemoryStore()
    ctl = Controller(str(tmp_path / "h"), netns_prefix=f"{prefix}-", cluster_store=cluster, plugins=[])
    driver = Recorder()
    ctl.register_driver("rec", driver)
    net = ctl.create_network("g", "rec", subnet="10.40.0.0/24")
    yield ctl, cluster, driver, net.id
    ctl.close()


def remote(cluster, net_id, eid, ip, owner="other", state="joined"):
    """Another host's endpoint record, as it would write it; returns the watch event."""
    rec = EndpointRecord(
        id=eid,
        name=eid,
        network_id=net_id,
        state=state,
        owner=owner,
        address=ipaddress.ip_interface(f"{ip}/24"),
        mac="02:42:0a:28:00:09",
    )
    key = f"endpoints/{net_id}/{eid}"
    value = codec.dumps(rec)
    version = cluster.put(key, value)
    return {"type": "PUT", "key": key, "value": value, "revision": version}


def host_up(cluster, name, address):
    key = f"hosts/{name}"
    return {"type": "PUT", "key": key, "value": address.encode(), "revision": cluster.put(key, address.encode())}


def test_a_full_read_then_one_event_per_change(host):
    ctl, cluster, driver, nid = host
    host_up(cluster, "other", "192.0.2.7")
    remote(cluster, nid, "e1", "10.40.0.5")
    assert ctl.sync_peers() == 1
    assert driver.calls[-1] == ("add", "e1", "10.40.0.5", "192.0.2.7")
    driver.calls.clear()
    event = remote(cluster, nid, "e2", "10.40.0.6")
    assert ctl.apply_event(event) == 1 and driver.calls == [("add", "e2", "10.40.0.6", "192.0.2.7")]
    assert ctl.apply_event(event) == 0  # the same event again (a watch restarted earlier): skipped
    assert ctl.sync_peers() == 0  # and a full read finds nothing to do


def test_endpoints_that_are_not_joining_or_are_ours_are_no_peers(host):
    ctl, cluster, driver, nid = host
    host_up(cluster, "other", "192.0.2.7")
    ctl.sync_peers()
    driver.calls.clear()
    assert ctl.apply_event(remote(cluster, nid, "e1", "10.40.0.5", state="ready")) == 0
    assert ctl.apply_event(remote(cluster, nid, "mine", "10.40.0.8", owner=ctl.instance_id)) == 0
    # joining: address, MAC and host are final; the peer is programmed while its host works
    assert ctl.apply_event(remote(cluster, nid, "e1", "10.40.0.5", state="joining")) == 1
    assert ctl.apply_event(remote(cluster, nid, "e1", "10.40.0.5")) == 0  # joined: told already
    assert driver.calls == [("add", "e1", "10.40.0.5", "192.0.2.7")]


def test_a_join_that_fails_on_its_host_takes_the_peer_away(host):
    ctl, cluster, driver, nid = host
    host_up(cluster, "other", "192.0.2.7")
    ctl.sync_peers()
    driver.calls.clear()
    assert ctl.apply_event(remote(cluster, nid, "e1", "10.40.0.5", state="joining")) == 1
    assert ctl.apply_event(remote(cluster, nid, "e1", "10.40.0.5", state="creating")) == 1  # undone
    assert driver.calls == [("add", "e1", "10.40.0.5", "192.0.2.7"), ("delete", "e1")]


def test_a_leave_a_delete_and_a_host_s_death_remove_peers(host):
    ctl, cluster, driver, nid = host
    host_up(cluster, "other", "192.0.2.7")
    host_up(cluster, "third", "192.0.2.8")
    for eid, ip, owner in (("e1", "10.40.0.5", "other"), ("e2", "10.40.0.6", "other"), ("e3", "10.40.0.7", "third")):
        remote(cluster, nid, eid, ip, owner=owner)
    assert ctl.sync_peers() == 3
    driver.calls.clear()
    assert ctl.apply_event(remote(cluster, nid, "e1", "10.40.0.5", state="leaving")) == 1
    version = cluster.delete(f"endpoints/{nid}/e2")
    assert ctl.apply_event({"type": "DELETE", "key": f"endpoints/{nid}/e2", "value": b"", "revision": version}) == 1
    version = cluster.delete("hosts/third")  # its lease ran out
    assert ctl.apply_event({"type": "DELETE", "key": "hosts/third", "value": b"", "revision": version}) == 1
    assert driver.calls == [("delete", "e1"), ("delete", "e2"), ("delete", "e3")]


def test_one_of_ours_joining_sends_every_peer_again(host):
    ctl, cluster, driver, nid = host
    host_up(cluster, "other", "192.0.2.7")
    remote(cluster, nid, "e1", "10.40.0.5")
    ctl.sync_peers()
    driver.calls.clear()
    remote(cluster, nid, "mine", "10.40.0.8", owner=ctl.instance_id, state="joining")
    ctl.sync_peers()
    # joined, maybe by another process that made the network's kernel state just now
    assert ctl.apply_event(remote(cluster, nid, "mine", "10.40.0.8", owner=ctl.instance_id)) == 1
    assert driver.calls == [("add", "e1", "10.40.0.5", "192.0.2.7")]


def test_a_network_made_elsewhere_comes_to_the_driver_and_goes_when_deleted(host):
    ctl, cluster, driver, nid = host
    entry = cluster.get(f"networks/{nid}")
    other = "f" * 64
    value = entry.value.replace(nid.encode(), other.encode())
    host_up(cluster, "other", "192.0.2.7")
    ctl.sync_peers()
    driver.calls.clear()
    event = {
        "type": "PUT",
        "key": f"networks/{other}",
        "value": value,
        "revision": cluster.put(f"networks/{other}", value),
    }
    assert ctl.apply_event(event) == 0 and driver.calls == []  # nothing joined on it: nothing to tell
    assert ctl.apply_event(remote(cluster, other, "e9", "10.40.0.9")) == 1
    assert driver.calls == [("create_network", "ffff"), ("add", "e9", "10.40.0.9", "192.0.2.7")]
    driver.calls.clear()
    cluster.delete(f"endpoints/{other}/e9")
    version = cluster.delete(f"networks/{other}")
    assert ctl.apply_event({"type": "DELETE", "key": f"networks/{other}", "value": b"", "revision": version}) == 1
    assert driver.calls == [("delete", "e9"), ("delete_network", "ffff")]
