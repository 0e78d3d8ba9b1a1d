"""The controller's lifecycle on the null driver, across a restart from the same state dir."""

import os

import pytest

from pycnm.errors import Forbidden, InvalidParameter, NotFound

pytestmark = pytest.mark.privileged


def test_everything_survives_a_restart_and_is_deleted_without_trace(controller_factory, tmp_path, prefix):
    first = controller_factory()
    net = first.create_network("nn", "null")
    a, b = first.create_sandbox("a"), first.create_sandbox("b")
    ep_a = first.connect(net, a)
    ep_b = net.create_endpoint("b-ep")
    ep_b.join(b)
    first.close()

    again = controller_factory()
    assert again.reconciled == []
    assert [n.name for n in again.networks()] == ["nn"]
    assert {s.name for s in again.sandboxes()} == {"a", "b"}
    net2 = again.network("nn")
    assert {e.name for e in net2.endpoints()} == {"a", "b-ep"}
    assert net2.endpoint("a").sandbox_id == a.id
    assert os.path.exists(again.sandbox("a").key)
    # the null driver rebuilt its state: deleting works without NotFound from the driver
    again.disconnect("nn", "a")
    net2.endpoint(ep_b.id).leave()
    net2.endpoint(ep_b.id).delete()
    for sb in again.sandboxes():
        sb.delete()
    net2.delete()
    assert again.networks() == [] and again.sandboxes() == []
    assert [e.key for e in again.store.list("")] == ["meta/instance"]
    assert not [n for n in os.listdir(again.netns_dir) if n.startswith(f"{prefix}-")]
    del ep_a


def test_names_are_unique_per_kind(controller):
    net = controller.create_network("dup", "null")
    with pytest.raises(Forbidden, match="network with name dup already exists"):
        controller.create_network("dup", "null")
    first = net.create_endpoint("e")
    with pytest.raises(Forbidden, match="endpoint with name e already exists in network dup"):
        net.create_endpoint("e")
    # the refused one took nothing with it: the name is still the first's, and still taken
    assert net.endpoint("e").id == first.id
    with pytest.raises(Forbidden, match="endpoint with name e already exists in network dup"):
        net.create_endpoint("e")
    assert [e.name for e in net.endpoints()] == ["e"]
    controller.create_sandbox("s")
    with pytest.raises(Forbidden, match="sandbox with name s already exists"):
        controller.create_sandbox("s")


def test_lookup_by_name_id_and_prefix(controller):
    net = controller.create_network("look", "null")
    assert controller.network("look") == net
    assert controller.network(net.id) == net
    assert controller.network(net.id[:12]) == net
    with pytest.raises(NotFound, match="network nope not found"):
        controller.network("nope")


def test_bad_names_and_drivers_are_refused(controller):
    with pytest.raises(InvalidParameter, match="name is required"):
        controller.create_network(" ", "null")
    with pytest.raises(InvalidParameter, match="invalid network name"):
        controller.create_network("a/b", "null")
    with pytest.raises(NotFound, match="unknown network driver 'nosuch'"):
        controller.create_network("x", "nosuch")
    assert controller.networks() == []


def test_a_network_with_endpoints_cannot_be_deleted(controller):
    net = controller.create_network("busy", "null")
    net.create_endpoint("e1")
    with pytest.raises(Forbidden, match="has active endpoints"):
        net.delete()


def test_an_endpoint_joins_one_sandbox_once(controller):
    net = controller.create_network("j", "null")
    a, b = controller.create_sandbox("a"), controller.create_sandbox("b")
    ep = net.create_endpoint("e")
    ep.join(a)
    with pytest.raises(Forbidden, match="already joined"):
        ep.join(b)
    with pytest.raises(Forbidden, match="has active containers"):
        ep.delete()
    with pytest.raises(Forbidden, match="already connected to network j"):
        net.create_endpoint("e2").join(a)


def test_deleting_a_sandbox_leaves_its_endpoints_and_removes_anonymous_ones(controller):
    net = controller.create_network("n", "null")
    sb = controller.create_sandbox("s")
    controller.connect(net, sb)
    named = net.create_endpoint("kept")
    other = controller.create_sandbox("t")
    named.join(other)
    sb.delete()
    other.delete()
    assert [e.name for e in net.endpoints()] == ["kept"]
    assert net.endpoint("kept").sandbox_id is None


def test_host_network_only_for_host_namespace_sandboxes(controller):
    host = controller.create_network("host", "host")
    with pytest.raises(Forbidden, match='only one instance of "host" network'):
        controller.create_network("host2", "host")
    assert controller.networks() == [host]
    plain = controller.create_sandbox("plain")
    with pytest.raises(Forbidden, match="host_namespace=True"):
        controller.connect(host, plain)
    hs = controller.create_sandbox("hs", host_namespace=True)
    assert os.path.samestat(os.stat(hs.key), os.stat("/proc/self/ns/net"))
    controller.connect(host, hs)
    hs.delete()
    assert os.path.exists("/proc/self/ns/net")


def test_only_what_a_reboot_ends_skips_the_fsync(controller, monkeypatch):
    """Sandboxes, joins and the endpoints ``connect`` makes commit without waiting for the disk
    (their namespaces do not outlive a reboot); networks, named endpoints, their deletion and
    host-namespace sandboxes stay durable."""
    from pycnm.store import SQLiteStore

    modes = []
    begin = SQLiteStore._begin

    def spy(self, conn):
        begin(self, conn)
        modes.append(conn.execute("PRAGMA synchronous").fetchone()[0] == 2)

    monkeypatch.setattr(SQLiteStore, "_begin", spy)

    def durable(action) -> set[bool]:
        modes.clear()
        action()
        assert modes
        return set(modes)

    assert durable(lambda: controller.create_network("dur2", "null")) == {True}
    net = controller.network("dur2")
    assert durable(lambda: controller.create_sandbox("vs")) == {False}
    assert durable(lambda: controller.connect(net, "vs")) == {False}
    assert durable(lambda: controller.disconnect(net, "vs")) == {False}
    assert durable(lambda: net.create_endpoint("named")) == {True}
    assert durable(lambda: net.endpoint("named").join("vs")) == {False}
    assert durable(lambda: net.endpoint("named").leave()) == {False}
    net.endpoint("named").join("vs")
    assert durable(lambda: net.endpoint("named").delete(force=True)) == {True}
    assert durable(lambda: controller.sandbox("vs").delete()) == {False}
    assert durable(lambda: net.delete()) == {True}
    assert durable(lambda: controller.create_sandbox("hs", host_namespace=True)) == {True}


def test_a_connect_reads_its_network_once_and_its_endpoint_never(controller, monkeypatch):
    """Every read is a round trip through etcd's leader on the cluster store: a connect reads the
    network's record once, and does not read back the endpoint it writes."""
    from pycnm.store import SQLiteStore

    net = controller.create_network("reads", "null")
    sb = controller.create_sandbox("r")
    reads = []
    get = SQLiteStore.get
    monkeypatch.setattr(SQLiteStore, "get", lambda self, key: reads.append(key) or get(self, key))
    ep = controller.connect(net, sb)
    assert reads.count(f"networks/{net.id}") == 1
    assert not [k for k in reads if k.startswith(f"endpoints/{net.id}/")]
    assert ep.sandbox_id == sb.id


def test_a_service_releases_its_sockets_in_a_sandbox_namespace_before_it_is_deleted(controller):
    """on_release: called with the sandbox's ID and namespace while the namespace still exists,
    once per deleted sandbox (not for one in the host's namespace), until unhooked."""
    import socket

    from pycnm.osl import netns

    net = controller.create_network("nn", "null")
    a, b = controller.create_sandbox("a"), controller.create_sandbox("b")
    controller.create_network("hn", "host")
    h = controller.create_sandbox("h", host_namespace=True)
    controller.connect(net, a)
    held = {}
    for sb in (a, b):
        with netns.entered(sb.key):  # what the embedded DNS keeps in each sandbox
            held[sb.id] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    calls = []

    def release(sandbox_id, key):
        calls.append((sandbox_id, key, netns.is_namespace(key)))
        held.pop(sandbox_id).close()

    unhook = controller.on_release(release)
    controller.delete_sandboxes([a, h])
    assert calls == [(a.id, a.key, True)] and list(held) == [b.id]
    unhook()
    held[b.id].close()
    b.delete()
    assert len(calls) == 1
