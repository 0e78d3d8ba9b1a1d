"""An operator's path: pip install pycnm and a third-party driver into a fresh venv; it is found
and carries traffic, with no change to the core."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from .netlab import OUTSIDE_IP

pytestmark = pytest.mark.privileged
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

USE = textwrap.dedent("""
    import subprocess, sys
    from pycnm import Controller
    state, prefix, parent, outside = sys.argv[1:5]
    with Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[]) as ctl:
        net = ctl.create_network("lan", "macvlan", subnet="203.0.113.0/24", gateway=outside,
                                 options={"parent": parent})
        a, b = ctl.create_sandbox("a"), ctl.create_sandbox("b")
        ctl.connect(net, a, ip="203.0.113.10")
        ctl.connect(net, b, ip="203.0.113.11")
        ping = lambda key, ip: subprocess.run(["nsenter", f"--net={key}", "ping", "-c1", "-W2", ip]).returncode
        results = [ping(a.key, outside), ping(a.key, "203.0.113.11")]
        a.delete(); b.delete(); net.delete()
    sys.exit(max(results))
""")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    path = tmp_path_factory.mktemp("operator") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
    out = subprocess.run(
        [*pip, os.path.join(ROOT, "core"), os.path.join(ROOT, "contrib", "macvlan")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return path


def test_the_fresh_venv_holds_only_pycnm_and_the_driver(venv):
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {p["name"] for p in json.loads(out.stdout)}
    assert {"pycnm", "pycnm-macvlan"} <= names
    assert not names & {"pycnm-bridge", "pycnm-null"}


def test_driver_ls_lists_the_third_party_driver(venv):
    out = subprocess.run(
        [str(venv / "bin" / "pycnm"), "driver", "ls", "--format", "json"], capture_output=True, text=True, check=True
    )
    rows = {r["Name"]: r for r in map(json.loads, out.stdout.splitlines()) if r["Kind"] == "network"}
    assert rows["macvlan"]["Distribution"] == "pycnm-macvlan" and rows["macvlan"]["Scope"] == "local"


def test_a_macvlan_network_carries_traffic(venv, lab, tmp_path, prefix, no_leaks):
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", USE, str(tmp_path / "state"), prefix, f"{prefix}up", OUTSIDE_IP],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
