"""Networks of global-scope drivers live in the cluster store: made on one host, seen and joined
on another; addresses come from the global address space, never twice."""

import pytest

from pycnm import Controller
from pycnm.errors import Forbidden
from pycnm.testing import etcd

from .helpers import Everywhere

pytestmark = [pytest.mark.privileged, pytest.mark.skipif(etcd.available() is not None, reason=str(etcd.available()))]


@pytest.fixture
def two_hosts(tmp_path, prefix, no_leaks):
    with etcd.EtcdCluster(str(tmp_path / "etcd")) as cluster:
        from pycnm.store.etcd import EtcdStore

        hosts = []
        for i in (1, 2):
            store = EtcdStore(cluster.endpoints, prefix=f"/{tmp_path.name}/")
            ctl = Controller(
                str(tmp_path / f"host{i}"),
                netns_prefix=f"{prefix}{i}-",
                ifname_prefix=f"{prefix}{i}",
                cluster_store=store,
                plugins=[],
            )
            ctl.register_driver("everywhere", Everywhere())
            hosts.append(ctl)
        yield hosts
        for ctl in hosts:
            for sb in ctl.sandboxes():
                sb.delete()
        for net in hosts[0].networks():
            net.delete()
        for ctl in hosts:
            ctl.close()


def test_a_global_network_made_on_one_host_is_seen_and_joined_on_another(two_hosts):
    one, two = two_hosts
    net = one.create_network("shared", "everywhere")
    assert net.scope == "global" and str(net.subnets[0]) == "10.0.0.0/24"
    seen = two.network("shared")
    assert seen.id == net.id and [n.name for n in two.networks()] == ["shared"]
    a, b = one.create_sandbox("a"), two.create_sandbox("b")
    ea, eb = one.connect(net, a), two.connect(seen, b)
    assert ea.address != eb.address  # one global address space
    assert {e.name for e in one.network("shared").endpoints()} == {"a", "b"}
    with pytest.raises(Forbidden, match="has active endpoints"):
        one.network("shared").delete()
    two.disconnect("shared", b)
    one.disconnect("shared", a)
    one.network("shared").delete()
    assert two.networks() == []


def test_local_networks_stay_on_their_host(two_hosts):
    one, two = two_hosts
    one.create_network("mine", "null")
    assert [n.name for n in one.networks()] == ["mine"] and two.networks() == []
    one.network("mine").delete()


def test_a_global_driver_without_a_cluster_store_is_refused(controller):
    controller.register_driver("everywhere", Everywhere())
    with pytest.raises(Forbidden, match="cluster store"):
        controller.create_network("nope", "everywhere")
