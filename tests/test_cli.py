"""The ``pycnm`` command, run as a user runs it (a subprocess), on the issue's scenario."""

import json
import os
import subprocess
import sys

import pytest

from .helpers import ping

pytestmark = pytest.mark.privileged


@pytest.fixture(autouse=True)
def _in_lab(lab):
    """The bridge driver changes sysctls and nftables: do it in the lab's stand-in host."""
    return lab


@pytest.fixture
def pycnm(tmp_path, prefix, no_leaks):
    env = dict(os.environ, PYCNM_STATE_DIR=str(tmp_path / "state"), PYCNM_NETNS_PREFIX=f"{prefix}-",
               PYCNM_IFNAME_PREFIX=prefix, PYCNM_DISABLE_PLUGINS="1")

    def run(*argv, ok=True):
        out = subprocess.run([sys.executable, "-m", "pycnm.cli", *argv], capture_output=True, text=True, env=env,
                             timeout=60)
        if ok:
            assert out.returncode == 0, out.stderr
        return out

    yield run
    # whatever a failed test left: remove it through the CLI itself
    for sb in run("sandbox", "ls", "-q", ok=False).stdout.split():
        run("sandbox", "rm", sb, ok=False)
    for net in run("network", "ls", "-q", ok=False).stdout.split():
        run("network", "rm", net, ok=False)


def test_create_connect_ping_and_remove_with_the_cli_alone(pycnm):
    net_id = pycnm("network", "create", "-d", "bridge", "--subnet", "10.31.0.0/24", "n1").stdout.strip()
    assert len(net_id) == 64
    pycnm("sandbox", "create", "s1")
    pycnm("sandbox", "create", "s2")
    pycnm("network", "connect", "n1", "s1")
    pycnm("network", "connect", "n1", "s2")
    s1 = json.loads(pycnm("sandbox", "inspect", "s1").stdout)[0]
    s2 = json.loads(pycnm("sandbox", "inspect", "s2").stdout)[0]
    assert s1["Endpoints"][0]["Interface"] == "eth0"
    target = s2["Endpoints"][0]["IPv4Address"].split("/")[0]
    assert ping(s1["Key"], target)

    inspect = json.loads(pycnm("network", "inspect", "n1").stdout)
    assert isinstance(inspect, list) and len(inspect) == 1
    doc = inspect[0]
    for key in ("Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Containers",
                "Options", "Labels"):
        assert key in doc
    assert doc["Id"] == net_id and doc["IPAM"]["Config"] == [{"Subnet": "10.31.0.0/24", "Gateway": "10.31.0.1"}]
    assert {c["Name"] for c in doc["Containers"].values()} == {"s1", "s2"}

    table = pycnm("network", "ls").stdout.splitlines()
    assert table[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert table[1].split() == [net_id[:12], "n1", "bridge", "local"]
    assert json.loads(pycnm("network", "list", "--format", "json").stdout)["Name"] == "n1"

    busy = pycnm("network", "rm", "n1", ok=False)
    assert busy.returncode == 1 and "has active endpoints" in busy.stderr
    pycnm("network", "disconnect", "n1", "s1")
    pycnm("network", "disconnect", "n1", "s2")
    assert pycnm("network", "rm", "n1").stdout.strip() == "n1"
    pycnm("sandbox", "rm", "s1", "s2")
    assert pycnm("network", "ls", "-q").stdout == "" and pycnm("sandbox", "ls", "-q").stdout == ""


def test_errors_go_to_stderr_with_exit_code_1(pycnm):
    bad = pycnm("network", "create", "--subnet", "10.32.0.1/24", "x", ok=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert "Error: invalid subnet '10.32.0.1/24'" in bad.stderr and "should be 10.32.0.0/24" in bad.stderr
    missing = pycnm("network", "inspect", "nope", ok=False)
    assert missing.returncode == 1 and "network nope not found" in missing.stderr
    assert pycnm("network", "rm", "-f", "nope").returncode == 0
    unknown = pycnm("network", "create", "-d", "nosuch", "y", ok=False)
    assert "unknown network driver 'nosuch'" in unknown.stderr
    fmt = pycnm("network", "ls", "--format", "{{.Name}}", ok=False)
    assert fmt.returncode == 1 and "unsupported --format" in fmt.stderr


def test_driver_ls_lists_entry_point_drivers(pycnm):
    rows = [json.loads(line) for line in pycnm("driver", "ls", "--format", "json").stdout.splitlines()]
    network = {r["Name"]: r for r in rows if r["Kind"] == "network"}
    assert network["bridge"]["Distribution"] == "pycnm-bridge"
    assert network["null"]["Distribution"] == "pycnm-null"
    assert network["host"]["Distribution"] == "pycnm"
    assert {network[n]["Scope"] for n in ("bridge", "null", "host")} == {"local"}
    assert network["overlay"]["Scope"] == "global"
    assert {r["Name"] for r in rows if r["Kind"] == "ipam"} >= {"default", "null"}


def test_prune_removes_networks_without_endpoints(pycnm):
    pycnm("network", "create", "-d", "null", "idle")
    pycnm("network", "create", "-d", "null", "used")
    pycnm("sandbox", "create", "s")
    pycnm("network", "connect", "used", "s")
    out = pycnm("network", "prune", "-f").stdout
    assert out.splitlines() == ["Deleted Networks:", "idle"]
    assert pycnm("network", "ls", "--format", "json").stdout.count("\n") == 1


def test_connect_publishes_ports_from_the_command_line(pycnm, prefix):
    from pycnm_bridge.firewall import Firewall, Publication

    pycnm("network", "create", "--subnet", "10.34.0.0/24", "pubnet")
    pycnm("sandbox", "create", "web")
    pycnm("network", "connect", "-p", "8090:80", "-p", "9000-9001:90-91/udp", "pubnet", "web")
    published = set(Firewall(prefix).publications())
    assert {Publication("tcp", "", 8090, "10.34.0.2", 80), Publication("udp", "", 9000, "10.34.0.2", 90),
            Publication("udp", "", 9001, "10.34.0.2", 91)} == published
    bad = pycnm("network", "connect", "-p", "70000:80", "pubnet", "web", ok=False)
    assert bad.returncode == 1 and "ports are 1 to 65535" in bad.stderr
    pycnm("network", "disconnect", "pubnet", "web")
    assert Firewall(prefix).publications() == []
