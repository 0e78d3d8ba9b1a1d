"""dockerd itself as the client of pycnm-docker-plugin: networks, containers, pings, connect and
disconnect, a dockerd restart, and pycnm's IPAM behind --ipam-driver.

Everything runs in the lab's stand-in host: dockerd, its containers and the plugin; the machine's
own network, firewall and Docker (if any) are not touched. Skipped, saying why, only where
dockerd cannot run.
"""

import json
import os
import tempfile
import threading

import pytest

from pycnm.store import SQLiteStore
from pycnm_docker_plugin.server import PluginServer
from pycnm_docker_plugin.service import PluginService

from .dockerlab import DockerD, available
from .netlab import OUTSIDE_IP

pytestmark = pytest.mark.privileged
IMAGE = "pycnm-test/busybox"
PLUGIN_DIR = "/run/docker/plugins"  # where dockerd looks, always


@pytest.fixture
def engine(lab, no_leaks, tmp_path, prefix):
    why = available()
    if why:
        pytest.skip(why)
    name = f"{prefix}pycnm"
    made_dir = not os.path.isdir(PLUGIN_DIR)
    service = PluginService("bridge", str(tmp_path / "plugin"), ifname_prefix=f"{prefix}d")
    server = PluginServer(os.path.join(PLUGIN_DIR, f"{name}.sock"), service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # short: containerd's socket goes below it, and unix socket paths stop at 108 bytes
    dockerd = DockerD(tempfile.mkdtemp(prefix=f"{prefix}d", dir="/tmp"), dns=OUTSIDE_IP)
    try:
        dockerd.start()
        dockerd.import_busybox(IMAGE)
        yield dockerd, name, service
    finally:
        dockerd.cleanup()
        server.shutdown()
        server.server_close()
        service.close()
        if made_dir and not os.listdir(PLUGIN_DIR):
            os.rmdir(PLUGIN_DIR)


def address(dockerd, container, network):
    return dockerd.inspect(container)[0]["NetworkSettings"]["Networks"][network]["IPAddress"]


def can_ping(dockerd, container, target):
    return dockerd.docker("exec", container, "ping", "-c", "1", "-W", "2", target, check=False).returncode == 0


def run(dockerd, container, network):
    dockerd.docker("run", "-d", "--net", network, "--name", container, IMAGE, "sleep", "600")


def plugin_networks(state_dir):
    store = SQLiteStore(os.path.join(state_dir, "plugin.db"))
    try:
        return [e.key for e in store.list("plugin/networks/")]
    finally:
        store.close()


def test_dockerd_runs_containers_on_a_pycnm_bridge_network(engine, tmp_path):
    dockerd, name, _service = engine
    dockerd.docker("network", "create", "-d", name, "--subnet", "10.131.0.0/24", "tnet")
    run(dockerd, "c1", "tnet")
    run(dockerd, "c2", "tnet")
    c2 = address(dockerd, "c2", "tnet")
    assert c2.startswith("10.131.0.")
    assert can_ping(dockerd, "c1", c2)
    assert can_ping(dockerd, "c1", "10.131.0.1")  # the gateway, on pycnm's bridge

    dockerd.docker("network", "create", "-d", name, "--subnet", "10.132.0.0/24", "tnet2")
    dockerd.docker("network", "connect", "tnet2", "c1")
    assert "10.132.0." in dockerd.docker("exec", "c1", "ip", "addr", "show", "eth1").stdout
    run(dockerd, "c3", "tnet2")
    assert can_ping(dockerd, "c1", address(dockerd, "c3", "tnet2"))
    assert not can_ping(dockerd, "c2", address(dockerd, "c3", "tnet2"))  # two networks, isolated
    dockerd.docker("network", "disconnect", "tnet2", "c1")
    assert dockerd.docker("exec", "c1", "ip", "addr", "show", "eth1", check=False).returncode != 0

    dockerd.restart()  # dockerd restores its networks with no call to the plugin
    dockerd.docker("start", "c1", "c2")
    assert can_ping(dockerd, "c1", address(dockerd, "c2", "tnet"))

    dockerd.docker("rm", "-f", "c1", "c2", "c3")
    dockerd.docker("network", "rm", "tnet", "tnet2")
    assert plugin_networks(str(tmp_path / "plugin")) == []


def test_dockerd_uses_pycnm_ipam_through_ipam_driver(engine, tmp_path):
    dockerd, name, _service = engine
    dockerd.docker("network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.133.0.0/24", "inet")
    info = json.loads(dockerd.docker("network", "inspect", "inet").stdout)[0]
    assert info["IPAM"]["Driver"] == name
    run(dockerd, "i1", "inet")
    run(dockerd, "i2", "inet")
    assert address(dockerd, "i1", "inet") == "10.133.0.2" and address(dockerd, "i2", "inet") == "10.133.0.3"
    assert can_ping(dockerd, "i1", "10.133.0.3")
    dockerd.docker("rm", "-f", "i1", "i2")
    dockerd.docker("network", "rm", "inet")
    store = SQLiteStore(str(tmp_path / "plugin" / "plugin.db"))
    try:
        assert store.list("ipam/bits/") == [] and plugin_networks(str(tmp_path / "plugin")) == []
    finally:
        store.close()
