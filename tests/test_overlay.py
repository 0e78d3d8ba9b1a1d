"""Overlay networks across hosts: each host a namespace on an underlay bridge with a Controller of
its own (in a thread living in that namespace), etcd in a namespace of its own on the underlay."""

import ipaddress
import os
import queue
import subprocess
import threading

import pytest

from pycnm.errors import Unimplemented
from pycnm.osl import netlink, netns, nft
from pycnm.testing import etcd

pytestmark = [pytest.mark.privileged,
              pytest.mark.skipif(etcd.available() is not None, reason=str(etcd.available()))]
UNDERLAY = "198.51.100.{}"


class HostThread:
    """Runs calls in a thread that lives in a host's namespace (pycnm's "host" is the thread's)."""

    def __init__(self, path):
        self.path = path
        self.calls = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        with open(self.path) as fh:
            netns.setns(fh.fileno())
        while True:
            fn, reply = self.calls.get()
            if fn is None:
                netlink.reset()
                nft.reset()
                reply.put((None, None))
                return
            try:
                reply.put((fn(), None))
            except BaseException as exc:  # handed back to the caller
                reply.put((None, exc))

    def call(self, fn):
        reply = queue.Queue()
        self.calls.put((fn, reply))
        result, error = reply.get(timeout=120)
        if error is not None:
            raise error
        return result

    def stop(self):
        self.calls.put((None, queue.Queue()))
        self.thread.join(timeout=30)


def ping(key, address):
    return subprocess.run(["nsenter", f"--net={key}", "ping", "-c", "1", "-W", "2", str(address)],
                          capture_output=True).returncode == 0


@pytest.fixture
def cluster(tmp_path, prefix, no_leaks):
    """Two hosts (.1 and .2) and etcd (.100) on an underlay bridge; a Controller per host."""
    underlay = f"/run/netns/{prefix}ul"
    names = {"h1": 1, "h2": 2, "etcd": 100}
    paths = {n: f"/run/netns/{prefix}{n}" for n in names}
    for path in [underlay, *paths.values()]:
        netns.create(path)
        netlink.batch(path, lambda b: b.link_set(1, up=True))
    ul = netlink.ns(underlay)
    ul.link("add", ifname="ulbr", kind="bridge")
    br = ul.link_lookup(ifname="ulbr")[0]
    ul.link("set", index=br, state="up")
    for name, last in names.items():
        fd = os.open(paths[name], os.O_RDONLY)
        ul.link("add", ifname=f"p{last}", kind="veth", master=br, state="up", peer={"ifname": "eth0", "net_ns_fd": fd})
        os.close(fd)
        index = netlink.index(paths[name], "eth0")
        netlink.batch(paths[name], lambda b, i=index, a=last: b.addr_add(i, ipaddress.ip_address(UNDERLAY.format(a)),
                                                                         24).link_set(i, up=True))
    etcd_host = HostThread(paths["etcd"])
    store_cluster = etcd.EtcdCluster(str(tmp_path / "etcd"), host=UNDERLAY.format(100))
    os.makedirs(store_cluster.workdir)
    etcd_host.call(store_cluster.start)
    hosts = {}
    try:
        for name in ("h1", "h2"):
            thread = HostThread(paths[name])

            def make(name=name):
                from pycnm import Controller

                return Controller(str(tmp_path / name), netns_prefix=f"{prefix}{name}-", ifname_prefix=f"{prefix}",
                                  cluster_store=store_cluster.endpoints, advertise_addr=UNDERLAY.format(names[name]),
                                  plugins=[])

            hosts[name] = (thread, thread.call(make))
        yield hosts
    finally:
        for thread, ctl in hosts.values():
            thread.call(lambda ctl=ctl: [sb.delete() for sb in ctl.sandboxes()])
        if "h1" in hosts:
            thread, ctl = hosts["h1"]
            thread.call(lambda: [net.delete() for net in ctl.networks()])
        for thread, ctl in hosts.values():
            thread.call(ctl.close)
            thread.stop()
        etcd_host.call(store_cluster.stop)
        etcd_host.stop()
        for path in [*paths.values(), underlay]:
            netlink.forget(path)
            netns.delete(path)


def test_sandboxes_on_two_hosts_share_an_overlay_network(cluster):
    (t1, c1), (t2, c2) = cluster["h1"], cluster["h2"]
    net = t1.call(lambda: c1.create_network("ov", "overlay", subnet="10.150.0.0/24"))
    a = t1.call(lambda: c1.create_sandbox("a"))
    b = t2.call(lambda: c2.create_sandbox("b"))
    ea = t1.call(lambda: c1.connect("ov", a))
    eb = t2.call(lambda: c2.connect("ov", b))
    assert ea.interface_name == "eth0" and ea.address.ip in net.subnets[0]
    # what the daemon does on each change it sees in the store
    assert t1.call(c1.sync_peers) == 1 and t2.call(c2.sync_peers) == 1
    assert ping(a.key, eb.address.ip) and ping(b.key, ea.address.ip)
    assert "mtu 1450" in subprocess.run(["nsenter", f"--net={a.key}", "ip", "link", "show", "eth0"],
                                        capture_output=True, text=True).stdout
    # b leaves: host 1 forgets it, host 2 holds nothing for the network any more
    t2.call(lambda: c2.disconnect("ov", b))
    assert t1.call(c1.sync_peers) == 1
    assert not ping(a.key, eb.address.ip)
    assert not any(n.startswith(f"{c2.ifname_prefix}ov{c2.instance_id[:6]}-") for n in os.listdir("/run/netns"))
    assert any(n.startswith(f"{c1.ifname_prefix}ov{c1.instance_id[:6]}-") for n in os.listdir("/run/netns"))
    t1.call(lambda: c1.disconnect("ov", a))
    t1.call(lambda: c1.network("ov").delete())


def test_encrypted_overlays_are_refused_for_want_of_esp(cluster):
    t1, c1 = cluster["h1"]
    with pytest.raises(Unimplemented, match="ESP"):
        t1.call(lambda: c1.create_network("sec", "overlay", subnet="10.151.0.0/24", options={"encrypted": "true"}))
