"""Drivers are found through entry points of installed distributions: listed, loaded, used.

These tests pip-install throwaway distributions into the running venv and remove them again.
"""

import json
import os
import secrets
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.privileged

DRIVER = textwrap.dedent('''
    from pycnm import hookimpl
    from pycnm.model import Capabilities, JoinInfo

    class Driver:
        """A tiny third-party driver: remembers networks, gives no interface."""
        def __init__(self):
            self.nets = {}

        @hookimpl
        def cnm_get_capabilities(self):
            return Capabilities(scope="local")

        @hookimpl
        def cnm_restore(self, networks):
            self.nets = {n.network_id: {e.endpoint_id for e in n.endpoints} for n in networks}

        @hookimpl
        def cnm_create_network(self, network_id):
            self.nets[network_id] = set()

        @hookimpl
        def cnm_delete_network(self, network_id):
            del self.nets[network_id]

        @hookimpl
        def cnm_create_endpoint(self, network_id, endpoint_id):
            self.nets[network_id].add(endpoint_id)

        @hookimpl
        def cnm_delete_endpoint(self, network_id, endpoint_id):
            self.nets[network_id].discard(endpoint_id)

        @hookimpl
        def cnm_join(self, network_id, endpoint_id):
            return JoinInfo()

        @hookimpl
        def cnm_leave(self, network_id, endpoint_id):
            pass
''')


def make_dist(root, dist, module, entry_name, body):
    folder = root / dist
    (folder / "src" / module).mkdir(parents=True)
    (folder / "src" / module / "__init__.py").write_text(body)
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(f'''
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{dist}"
        version = "0.0.1"
        dependencies = ["pycnm"]

        [project.entry-points."pycnm.network_drivers"]
        {entry_name} = "{module}:Driver"

        [tool.hatch.build.targets.wheel]
        packages = ["src/{module}"]
    ''')
    )
    return folder


def pip(*argv):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "-q", *argv], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Three throwaway distributions: a good driver, two claiming one name, and a broken one."""
    tag = secrets.token_hex(3)
    root = tmp_path_factory.mktemp("dists")
    names = {
        "good": (f"pycnm-tw{tag}", f"pycnm_tw{tag}", f"tw{tag}", DRIVER),
        "twin1": (f"pycnm-twin1-{tag}", f"pycnm_twin1_{tag}", f"twin{tag}", DRIVER),
        "twin2": (f"pycnm-twin2-{tag}", f"pycnm_twin2_{tag}", f"twin{tag}", DRIVER),
        "broken": (
            f"pycnm-broken-{tag}",
            f"pycnm_broken_{tag}",
            f"broken{tag}",
            "import a_module_that_does_not_exist_anywhere\n",
        ),
    }
    folders = [make_dist(root, *spec) for spec in names.values()]
    pip("install", "--no-deps", "--no-build-isolation", *map(str, folders))
    try:
        yield {k: {"dist": v[0], "name": v[2]} for k, v in names.items()}
    finally:
        pip("uninstall", "-y", *(v[0] for v in names.values()))


@pytest.fixture
def cli(tmp_path, prefix, no_leaks):
    env = dict(
        os.environ,
        PYCNM_STATE_DIR=str(tmp_path / "state"),
        PYCNM_NETNS_PREFIX=f"{prefix}-",
        PYCNM_IFNAME_PREFIX=prefix,
        PYCNM_DISABLE_PLUGINS="1",
    )

    def run(*argv):
        return subprocess.run(
            [sys.executable, "-m", "pycnm.cli", *argv], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    return run


def test_an_installed_driver_is_listed_and_used(installed, cli):
    good = installed["good"]
    rows = [json.loads(line) for line in cli("driver", "ls", "--format", "json").stdout.splitlines()]
    row = next(r for r in rows if r["Name"] == good["name"])
    assert (row["Distribution"], row["Version"], row["Scope"]) == (good["dist"], "0.0.1", "local")
    assert cli("network", "create", "-d", good["name"], "third").returncode == 0
    assert cli("sandbox", "create", "s").returncode == 0
    assert cli("network", "connect", "third", "s").returncode == 0
    inspect = json.loads(cli("network", "inspect", "third").stdout)[0]
    assert inspect["Driver"] == good["name"] and len(inspect["Containers"]) == 1
    assert cli("sandbox", "rm", "s").returncode == 0
    assert cli("network", "rm", "third").returncode == 0


def test_two_distributions_claiming_one_name_are_both_named(installed, cli):
    twin = installed["twin1"]["name"]
    out = cli("network", "create", "-d", twin, "x")
    assert out.returncode == 1
    assert installed["twin1"]["dist"] in out.stderr and installed["twin2"]["dist"] in out.stderr
    assert "claimed by more than one distribution" in out.stderr


def test_a_driver_that_fails_to_import_names_its_distribution(installed, cli):
    broken = installed["broken"]
    out = cli("network", "create", "-d", broken["name"], "x")
    assert out.returncode == 1
    assert f"from distribution {broken['dist']} 0.0.1 failed to load" in out.stderr
    assert "a_module_that_does_not_exist_anywhere" in out.stderr
    # the listing still works: it imports nothing
    listing = cli("driver", "ls", "--no-scope")
    assert listing.returncode == 0 and broken["name"] in listing.stdout
