"""pycnm-remote against a real plugin server (pycnm-docker-plugin), which records every call and
can be told to fail one: hang, answer 500, bad JSON, wrong types, or die mid-call."""

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from pycnm.errors import CNMError, Internal, NotFound, Timeout, Unavailable
from pycnm.testing.suite import ConformanceSuite
from pycnm_docker_plugin.server import Handler, PluginServer
from pycnm_docker_plugin.service import PluginService
from pycnm_remote import discovery

from .helpers import ping

pytestmark = pytest.mark.privileged


class RecordingHandler(Handler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        server = self.server
        method = self.path.lstrip("/")
        server.calls.append(method)
        server.headers.append(dict(self.headers))
        fault = server.faults.pop(method, None)
        if fault is None:
            return super().do_POST()
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if fault == "hang":
            time.sleep(3)
            self.close_connection = True
            return None
        if fault == "crash":  # the plugin dies mid-call: no answer, no socket
            server.crashed = True
            os.unlink(server.server_address)  # first: a retry must find nobody, not this server closing
            self.connection.shutdown(socket.SHUT_RDWR)
            threading.Thread(target=lambda: (server.shutdown(), server.server_close())).start()
            return None
        body = {
            "500": b'{"Err": "boom"}',
            "badjson": b"{this is not json",
            "wrongtypes": json.dumps({"InterfaceName": {"SrcName": 5, "DstPrefix": "eth"}}).encode(),
        }[fault]
        self.send_response(500 if fault == "500" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None


class Plugin:
    """A pycnm-docker-plugin serving ``driver`` on ``<dir>/<name>.sock``, in this thread's namespace."""

    def __init__(self, directory, name, driver, prefix):
        self.args = (directory, name, driver, prefix)
        self.path = os.path.join(directory, f"{name}.sock")
        self.service = PluginService(driver, os.path.join(directory, f"{name}-state"), ifname_prefix=prefix)
        self.server = PluginServer(self.path, self.service)
        self.server.RequestHandlerClass = RecordingHandler
        self.server.calls, self.server.headers, self.server.faults, self.server.crashed = [], [], {}, False
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def calls(self):
        return self.server.calls

    def restart(self):
        self.close()
        again = Plugin(*self.args)
        self.server, self.service = again.server, again.service
        return self

    def close(self):
        if not self.server.crashed:
            self.server.shutdown()
            self.server.server_close()
        self.service.close()


@pytest.fixture
def plugins(tmp_path, monkeypatch, prefix, lab):
    directory = str(tmp_path / "plugins")
    os.makedirs(directory)
    monkeypatch.setenv("PYCNM_PLUGIN_SOCKET_DIRS", directory)
    monkeypatch.setenv("PYCNM_PLUGIN_SPEC_DIRS", str(tmp_path / "specs"))
    monkeypatch.setenv("PYCNM_REMOTE_TIMEOUT", "1")
    monkeypatch.setenv("PYCNM_REMOTE_RETRY", "2")
    made = []

    def start(name, driver="bridge"):
        plugin = Plugin(directory, name, driver, f"{prefix}p")
        made.append(plugin)
        return plugin

    yield start
    for plugin in made:
        plugin.close()


@pytest.fixture
def remote_controller(plugins, controller_factory):
    from pycnm_remote import RemotePlugins

    return controller_factory(plugins=[RemotePlugins()])


def test_docker_s_discovery_rules(tmp_path, monkeypatch):
    socks, specs = tmp_path / "socks", tmp_path / "specs"
    (socks / "nested").mkdir(parents=True)
    specs.mkdir()
    monkeypatch.setenv("PYCNM_PLUGIN_SOCKET_DIRS", str(socks))
    monkeypatch.setenv("PYCNM_PLUGIN_SPEC_DIRS", str(specs))
    listeners = []
    for path in (socks / "flat.sock", socks / "nested" / "nested.sock"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        listeners.append(s)
    (specs / "bytcp.spec").write_text("tcp://127.0.0.1:9999\n")
    (specs / "byjson.json").write_text(
        json.dumps({"Name": "byjson", "Addr": "tcp://127.0.0.1:9998", "TLSConfig": {"InsecureSkipVerify": True}})
    )
    (specs / "bad.spec").write_text("ftp://x\n")
    assert discovery.find("flat").address == f"unix://{socks}/flat.sock"
    assert discovery.find("nested").address == f"unix://{socks}/nested/nested.sock"
    assert discovery.find("bytcp").address == "tcp://127.0.0.1:9999"
    found = discovery.find("byjson")
    assert found.address == "https://127.0.0.1:9998" and found.tls == {"InsecureSkipVerify": True}
    assert discovery.find("nothing") is None
    with pytest.raises(CNMError, match="Unknown protocol"):
        discovery.find("bad")
    assert {p.name for p in discovery.all_plugins()} == {"flat", "nested", "bytcp", "byjson"}
    for s in listeners:
        s.close()


def test_a_plugin_network_works_end_to_end_with_docker_s_calls(plugins, remote_controller):
    plugin = plugins("tp-bridge")
    ctl = remote_controller
    net = ctl.create_network("rnet", "tp-bridge", subnet="10.121.0.0/24")
    assert net.scope == "local"
    a, b = ctl.create_sandbox("a"), ctl.create_sandbox("b")
    ea, eb = ctl.connect(net, a), ctl.connect(net, b)
    assert ea.interface_name == "eth0"
    assert ping(a.key, eb.address.ip)
    assert ea.oper_info()["com.docker.network.endpoint.macaddress"] == ea.mac
    ctl.disconnect(net, a)
    ctl.disconnect(net, b)
    net.delete()
    assert plugin.calls == [
        "Plugin.Activate",
        "NetworkDriver.GetCapabilities",
        "NetworkDriver.CreateNetwork",
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.Join",
        "NetworkDriver.ProgramExternalConnectivity",
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.Join",
        "NetworkDriver.ProgramExternalConnectivity",
        "NetworkDriver.EndpointOperInfo",
        "NetworkDriver.RevokeExternalConnectivity",
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
        "NetworkDriver.RevokeExternalConnectivity",
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
        "NetworkDriver.DeleteNetwork",
    ]
    headers = plugin.server.headers[0]
    assert headers["Accept"] == "application/vnd.docker.plugins.v1.2+json" and "Content-Type" not in headers


def test_a_plugin_ipam_hands_out_pools_and_addresses(plugins, remote_controller):
    plugin = plugins("tp-ipam")
    ctl = remote_controller
    net = ctl.create_network("ripam", "tp-ipam", ipam_driver="tp-ipam", subnet="10.122.0.0/24")
    ep = net.create_endpoint("e1")
    assert str(ep.address) == "10.122.0.2/24" and str(net.gateways[0]) == "10.122.0.1"
    ep.delete()
    net.delete()
    ipam_calls = [c for c in plugin.calls if c.startswith("IpamDriver.")]
    assert ipam_calls == [
        "IpamDriver.GetCapabilities",
        "IpamDriver.GetDefaultAddressSpaces",
        "IpamDriver.RequestPool",
        "IpamDriver.RequestAddress",
        "IpamDriver.RequestAddress",
        "IpamDriver.ReleaseAddress",
        "IpamDriver.ReleaseAddress",
        "IpamDriver.ReleasePool",
    ]


def test_driver_ls_shows_discovered_plugins(plugins, remote_controller):
    from click.testing import CliRunner

    from pycnm.cli import cli

    plugins("tp-listed")
    out = CliRunner().invoke(cli, ["driver", "ls", "--format", "json", "--no-scope"])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert any(
        r["Name"] == "tp-listed" and r["Kind"] == "remote" and r["Distribution"].startswith("unix://") for r in rows
    )


@pytest.mark.parametrize(
    "fault,error,words",
    [
        ("hang", Timeout, "no answer within 1 s"),
        ("500", Internal, "boom"),
        ("badjson", Internal, "not JSON"),
        ("wrongtypes", Internal, "malformed JoinInfo"),
        ("crash", Unavailable, "cannot reach the plugin"),
    ],
)
def test_a_failing_plugin_gives_a_typed_error_and_pycnm_rolls_back(
    plugins, remote_controller, controller_factory, fault, error, words
):
    from pycnm_remote import RemotePlugins

    plugin = plugins("tp-faulty")
    ctl = remote_controller
    net = ctl.create_network("faulty", "tp-faulty", subnet="10.123.0.0/24")
    sb = ctl.create_sandbox("s")
    plugin.server.faults["NetworkDriver.Join"] = fault
    with pytest.raises(error, match=f"remote plugin tp-faulty: NetworkDriver.Join: .*{words}"):
        ctl.connect(net, sb)
    assert sb.endpoints() == []
    if fault == "crash":
        # the plugin is gone: its endpoint cannot be deleted in it yet, so pycnm keeps it as
        # "deleting" (out of the sandbox, not usable) until the plugin is back
        assert [e.record.state for e in net.endpoints()] == ["deleting"]
        plugin.restart()
        ctl.close()
        ctl = controller_factory(plugins=[RemotePlugins()])  # a restart finishes the delete
        assert any("removing endpoint s on faulty (left deleting)" in line for line in ctl.reconciled)
    else:
        # the endpoint the failed join left in the plugin was deleted again
        assert plugin.calls[-1] == "NetworkDriver.DeleteEndpoint"
    assert ctl.network("faulty").endpoints() == []
    assert ctl.store.list(f"endpoints/{net.id}/") == []
    ctl.network("faulty").delete()


def test_remote_networks_survive_a_restart_without_driver_calls(plugins, controller_factory):
    from pycnm_remote import RemotePlugins

    plugin = plugins("tp-keep")
    first = controller_factory(plugins=[RemotePlugins()])
    net = first.create_network("kept", "tp-keep", subnet="10.124.0.0/24")
    first.close()
    before = len(plugin.calls)
    again = controller_factory(plugins=[RemotePlugins()])
    assert again.network("kept").driver == "tp-keep"
    # loading the driver again activates it, and creates nothing
    assert plugin.calls[before:] == ["Plugin.Activate", "NetworkDriver.GetCapabilities"]
    sb = again.create_sandbox("s")
    again.connect("kept", sb)
    assert ping(sb.key, "10.124.0.1")
    del net


def test_an_unknown_plugin_is_an_unknown_driver(remote_controller):
    with pytest.raises(NotFound, match="unknown network driver 'no-such-plugin'"):
        remote_controller.create_network("x", "no-such-plugin")


def _serve_for_kit(kit, name, driver):
    """Run a plugin for the kit's driver inside the kit's stand-in host."""
    import tempfile

    from pycnm_remote import RemotePlugins

    directory = tempfile.mkdtemp()
    old = os.environ.get("PYCNM_PLUGIN_SOCKET_DIRS")
    os.environ["PYCNM_PLUGIN_SOCKET_DIRS"] = directory
    plugin = Plugin(directory, name, driver, f"{kit.prefix}p")
    kit.extra_plugins = [RemotePlugins()]

    def stop():
        plugin.close()
        shutil.rmtree(directory, ignore_errors=True)
        if old is None:
            os.environ.pop("PYCNM_PLUGIN_SOCKET_DIRS", None)
        else:
            os.environ["PYCNM_PLUGIN_SOCKET_DIRS"] = old

    kit.cleanups.append(stop)


class TestRemoteBridgeConformance(ConformanceSuite):
    """pycnm-remote driving pycnm-docker-plugin serving the bridge driver: the bridge's checks."""

    cnm_driver_name = "kit-remote-bridge"
    cnm_claims: ClassVar[Mapping[str, Any]] = {
        "interface": True,
        "gateway": True,
        "connectivity": True,
        "static_mac": True,
        "mtu": True,
        "ipv6": True,
    }

    def cnm_before_driver(self, kit):
        _serve_for_kit(kit, self.cnm_driver_name, "bridge")


class TestRemoteNullConformance(ConformanceSuite):
    """The same for the null driver: the null driver's checks."""

    cnm_driver_name = "kit-remote-null"

    def cnm_before_driver(self, kit):
        _serve_for_kit(kit, self.cnm_driver_name, "null")


def test_ipam_capabilities_mac_address_and_request_replay(plugins, controller_factory):
    from pycnm_remote import RemotePlugins

    plugin = plugins("tp-caps")
    seen = []
    real = plugin.service.handle

    def handle(method, payload):
        seen.append((method, payload or {}))
        return real(method, payload)

    plugin.service.handle = handle
    plugin.service.methods["IpamDriver.GetCapabilities"] = lambda p: {
        "RequiresMACAddress": True,
        "RequiresRequestReplay": True,
    }
    ctl = controller_factory(plugins=[RemotePlugins()])
    net = ctl.create_network("caps", "tp-caps", ipam_driver="tp-caps", subnet="10.125.0.0/24")
    ep = net.create_endpoint("e1")
    asked = [p for m, p in seen if m == "IpamDriver.RequestAddress" and "RequestAddressType" not in p["Options"]]
    assert ep.mac and asked[-1]["Options"]["com.docker.network.endpoint.macaddress"] == ep.mac
    ctl.close()
    seen.clear()
    again = controller_factory(plugins=[RemotePlugins()])
    replayed = [(m, p.get("Pool") or p.get("Address")) for m, p in seen if m.startswith("IpamDriver.Request")]
    # every start re-sends the pool and its gateway (this plugin keeps state, so it says the pool is taken)
    assert replayed in (
        [("IpamDriver.RequestPool", "10.125.0.0/24"), ("IpamDriver.RequestAddress", "10.125.0.1")],
        [("IpamDriver.RequestPool", "10.125.0.0/24")],
    )
    assert again.network("caps").endpoints()[0].mac == ep.mac


def test_node_discovery_reaches_the_plugin(plugins, remote_controller):
    plugin = plugins("tp-disco", driver="null")
    relay = remote_controller.network_driver("tp-disco")
    data = {"Address": "192.0.2.10", "BindAddress": "192.0.2.10", "Self": False}
    relay.discover_new(1, data)
    relay.discover_delete(1, data)
    assert plugin.calls[-2:] == ["NetworkDriver.DiscoverNew", "NetworkDriver.DiscoverDelete"]
