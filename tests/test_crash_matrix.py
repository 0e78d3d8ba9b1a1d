"""The crash-point matrix: each operation, killed (SIGKILL) right before each of its steps and
right after the last, then recovered by a new Controller and checked (pycnm.testing.crash)."""

from __future__ import annotations

import json
import os

import pytest

from pycnm.testing import etcd as etcd_testing
from pycnm.testing.crash import Zygote

from . import crash_scenarios
from .netlab import HOST_IP

pytestmark = pytest.mark.privileged

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _check_point(result: dict, first: dict, where: str) -> None:
    verify = result["verify"]
    assert verify is not None, f"{where}: the recovering process died (exit {result['verify_exit']})"
    assert verify["problems"] == [], f"{where}: {verify['problems']} (recovery said: {verify['reconciled']})"
    assert verify["view"] in (first["before"], first["after"]), (
        f"{where}: neither done nor undone: {verify['view']} (recovery said: {verify['reconciled']})"
    )
    assert verify["leftovers"] == [], f"{where}: left after teardown: {verify['leftovers']}"
    assert verify["again"] == "ok", f"{where}: done again: {verify['again']}"
    assert verify["leftovers_again"] == [], f"{where}: left after the second teardown: {verify['leftovers_again']}"


def _matrix(zygote: Zygote, scenario, config: dict, tmp_path) -> list:
    first = zygote.point(scenario.name, dict(config, state=str(tmp_path / "record")), None)
    assert first["run"] == 0, "the operation failed without a crash"
    _check_point(first, first, f"{scenario.name}, not killed")
    if scenario.subnet:
        assert first["verify"]["capacity"] == 13  # a /28: every address but the gateway's
    points = first["steps"]
    assert points, f"{scenario.name} announced no step"
    for number, kind, what in points:
        where = f"{scenario.name}, killed before step {number} ({kind}: {what})"
        result = zygote.point(scenario.name, dict(config, state=str(tmp_path / f"p{number}")), number)
        assert result["run"] == -9, f"{where}: the process was not killed there (exit {result['run']})"
        _check_point(result, first, where)
        if scenario.subnet:
            assert result["verify"]["capacity"] == 13, f"{where}: an address was lost"
    _report(scenario.name, points)
    return points


def _report(name: str, points: list) -> None:
    """The matrix's size, for whoever asks (PYCNM_CRASH_REPORT=FILE)."""
    path = os.environ.get("PYCNM_CRASH_REPORT")
    if path:
        with open(path, "a") as fh:
            fh.write(
                json.dumps(
                    {"operation": name, "points": len(points) + 1, "kinds": sorted({kind for _, kind, _ in points})}
                )
                + "\n"
            )


@pytest.mark.parametrize("name", [s.name for s in crash_scenarios.SCENARIOS])
def test_every_crash_point_is_recovered(name, lab, prefix, tmp_path, no_leaks):
    scenario = next(s for s in crash_scenarios.SCENARIOS if s.name == name)
    zygote = Zygote("tests.crash_scenarios", netns=lab.host, cwd=ROOT)
    try:
        _matrix(zygote, scenario, {"prefix": prefix, "ignore_links": [f"{prefix}up"]}, tmp_path)
    finally:
        zygote.close()


def test_every_crash_point_through_a_remote_plugin_is_recovered(lab, prefix, tmp_path, no_leaks):
    """Steps that are calls to a Docker plugin (pycnm-docker-plugin serving the bridge driver: it
    makes the veth in the host namespace and the core moves it into the sandbox)."""
    import threading

    from pycnm_docker_plugin.server import PluginServer
    from pycnm_docker_plugin.service import PluginService

    sockets = tmp_path / "plugins"
    sockets.mkdir()
    service = PluginService("bridge", str(tmp_path / "plugin-state"), ifname_prefix=f"{prefix}p")
    server = PluginServer(str(sockets / f"{crash_scenarios.REMOTE}.sock"), service)
    threading.Thread(target=server.serve_forever, daemon=True).start()  # in the lab's host, as this thread
    env = dict(
        os.environ,
        PYCNM_PLUGIN_SOCKET_DIRS=str(sockets),
        PYCNM_PLUGIN_SPEC_DIRS=str(tmp_path / "specs"),
        PYCNM_REMOTE_RETRY="2",
    )
    zygote = Zygote("tests.crash_scenarios", netns=lab.host, cwd=ROOT, env=env)
    try:
        config = {
            "prefix": prefix,
            "ignore_links": [f"{prefix}up"],
            "remote": crash_scenarios.REMOTE,
            "remote_prefix": f"{prefix}p",
        }
        for scenario in crash_scenarios.REMOTE_SCENARIOS:
            _matrix(zygote, scenario, dict(config), tmp_path / scenario.name.replace(" ", "-"))
    finally:
        zygote.close()
        server.shutdown()
        server.server_close()
        service.close()


@pytest.mark.skipif(etcd_testing.available() is not None, reason=str(etcd_testing.available()))
def test_every_crash_point_of_an_overlay_operation_is_recovered(lab, prefix, tmp_path, no_leaks):
    # the test's thread is in the lab's stand-in host: so is etcd, on its loopback
    with etcd_testing.EtcdCluster(str(tmp_path / "etcd")) as cluster:
        zygote = Zygote("tests.crash_scenarios", netns=lab.host, cwd=ROOT)
        try:
            config = {
                "prefix": prefix,
                "ignore_links": [f"{prefix}up"],
                "cluster": cluster.endpoints,
                "advertise": HOST_IP,
            }
            for scenario in crash_scenarios.OVERLAY_SCENARIOS:
                _matrix(zygote, scenario, dict(config), tmp_path / scenario.name.replace(" ", "-"))
        finally:
            zygote.close()
