"""The ``pycnm`` command, run as a user runs it (a subprocess), both ways: in-process (no daemon)
and through ``pycnm daemon`` (a subprocess on the same state directory, found at its socket).

The unprivileged tests use ``null`` and ``host`` networks and host-namespace sandboxes: no
namespace, link or firewall rule is made, and even the namespace directory is the test's own.
The tests marked privileged make bridges and sandboxes (network namespaces) in the lab's
stand-in host.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

WAYS = ["in-process", "daemon"]
#: what the client path must never import (a command against a daemon costs a small process)
FORBIDDEN = (
    "pyroute2",
    "pycnm.controller",
    "click",
    "http.client",
    "attr",
    "attrs",
    "cattrs",
    "pluggy",
    "stevedore",
    "aiohttp",
    "pycnm.api",
    "pycnm.osl",
    "pycnm.store",
)
ID = re.compile(r"[0-9a-f]{64}")


# ---- running the command ------------------------------------------------------------------------


def _unix_get(path: str, target: str, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("localhost", timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        conn.sock = sock
        conn.request("GET", target)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


class CLI:
    """``pycnm`` on a state directory of its own, in-process or through a daemon it started.

    The directory is short (``/tmp/pycnm-cli-...``): the daemon's socket goes inside it, and a
    unix socket's path has at most 107 bytes."""

    def __init__(self, prefix: str, way: str, private_netns: bool = True) -> None:
        self.way = way
        self.root = Path(tempfile.mkdtemp(prefix="pycnm-cli-", dir="/tmp"))
        self.state = str(self.root / "state")
        self.env = dict(
            os.environ,
            PYCNM_STATE_DIR=self.state,
            PYCNM_NETNS_PREFIX=f"{prefix}-",
            PYCNM_IFNAME_PREFIX=prefix,
            PYCNM_DISABLE_PLUGINS="1",
        )
        for name in ("PYCNM_HOST", "PYCNM_CLUSTER_STORE", "PYCNM_ADVERTISE_ADDR"):
            self.env.pop(name, None)
        if private_netns:
            self.env["PYCNM_NETNS_DIR"] = str(self.root / "netns")
        self.daemon: subprocess.Popen | None = None
        self.socket = os.path.join(self.state, "pycnm.sock")  # the state directory's own
        self.log = self.root / "daemon.log"

    def __call__(
        self,
        *argv: str,
        ok: bool = True,
        stdin: str | None = None,
        env: dict | None = None,
    ) -> subprocess.CompletedProcess:
        out = subprocess.run(
            [sys.executable, "-m", "pycnm.cli", *argv],
            capture_output=True,
            text=True,
            env=env or self.env,
            timeout=120,
            check=False,
            input=stdin,
        )
        if ok:
            assert out.returncode == 0, f"pycnm {' '.join(argv)}: {out.stderr}"
        return out

    def start_daemon(self, *extra: str, socket_path: str | None = None) -> CLI:
        if socket_path:
            self.socket = socket_path
            extra = ("-H", f"unix://{socket_path}", *extra)
        argv = [sys.executable, "-m", "pycnm.cli", "--state-dir", self.state, "daemon", *extra]
        with open(self.log, "ab") as log:
            self.daemon = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise AssertionError(f"the daemon exited ({self.daemon.returncode}): {self.log.read_text()[-2000:]}")
            try:
                if _unix_get(self.socket, "/_ping")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the daemon did not answer in 60 s: {self.log.read_text()[-2000:]}")

    def status(self) -> dict:
        code, body = _unix_get(self.socket, "/pycnm/v1/status")
        assert code == 200
        return json.loads(body)

    def stop_daemon(self) -> None:
        """Stop the daemon by its pid; it must have served requests and still be alive."""
        if self.daemon is None:
            return
        proc, self.daemon = self.daemon, None
        assert proc.poll() is None, f"the daemon died during the test: {self.log.read_text()[-2000:]}"
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("the daemon did not stop on SIGTERM in 30 s") from None

    def clear(self) -> None:
        """Whatever a test left: removed through the CLI itself."""
        for sb in self("sandbox", "ls", "-q", "--no-trunc", ok=False).stdout.split():
            self("sandbox", "rm", sb, ok=False)
        for net in self("network", "ls", "-q", "--no-trunc", ok=False).stdout.split():
            for ep in json.loads(self("network", "inspect", net, ok=False).stdout or "[]"):
                for sid in ep.get("Containers") or {}:
                    self("network", "disconnect", "-f", net, sid, ok=False)
            self("network", "rm", net, ok=False)

    def close(self) -> None:
        try:
            self.clear()
        finally:
            try:
                self.stop_daemon()
            finally:
                shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def _cli(prefix: str, way: str, private_netns: bool = True) -> Iterator[CLI]:
    cli = CLI(prefix, way, private_netns)
    try:
        if way == "daemon":
            cli.start_daemon()
        yield cli
        if way == "daemon":
            done = cli.status()["Requests"]["ByOperation"]
            assert set(done) - {"system.ping", "pycnm.status"}, "the commands did not reach the daemon"
    finally:
        cli.close()


@pytest.fixture(params=WAYS)
def way(request) -> str:
    return request.param


@pytest.fixture
def pycnm(way, prefix):
    """The CLI on null and host networks and host-namespace sandboxes: no kernel objects."""
    with _cli(prefix, way) as cli:
        yield cli


@pytest.fixture
def kernel_pycnm(way, lab, prefix, no_leaks):
    """The CLI with bridges and real sandboxes, in the lab's stand-in host (the daemon too: it is
    started from the test's thread, which is in the stand-in host's namespace)."""
    with _cli(prefix, way, private_netns=False) as cli:
        yield cli


def host_sandbox(pycnm: CLI, name: str) -> str:
    return pycnm("sandbox", "create", "--host-namespace", name).stdout.strip()


def lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


# ---- unprivileged, both ways --------------------------------------------------------------------


def test_null_networks_with_every_flag_that_applies_listed_inspected_and_removed(pycnm):
    net_id = pycnm(
        "network",
        "create",
        "-d",
        "null",
        "--subnet",
        "10.5.0.0/16",
        "--ip-range",
        "10.5.1.0/24",
        "--gateway",
        "10.5.0.1",
        "--aux-address",
        "host1=10.5.0.5",
        "--ipam-opt",
        "foo=bar",
        "--label",
        "a=b",
        "--label",
        "c",
        "--internal",
        "n1",
    ).stdout.strip()
    assert ID.fullmatch(net_id)
    n10 = pycnm("network", "create", "-d", "null", "n10").stdout.strip()
    other = pycnm("network", "create", "-d", "null", "--label", "tier=db", "other").stdout.strip()
    table = pycnm("network", "ls").stdout
    # docker's table: each column its widest cell plus 3, at least 10; the last one unpadded
    assert table == (
        "NETWORK ID     NAME      DRIVER    SCOPE\n"
        f"{net_id[:12]}   n1        null      local\n"
        f"{n10[:12]}   n10       null      local\n"
        f"{other[:12]}   other     null      local\n"
    )
    assert pycnm("network", "ls", "--format", "table").stdout == table
    assert pycnm("network", "list", "-q").stdout.split() == [net_id[:12], n10[:12], other[:12]]
    assert [r[0] for r in lines(pycnm("network", "ls", "--no-trunc").stdout)[1:]] == [net_id, n10, other]
    assert pycnm("network", "ls", "-f", "name=n1", "-q").stdout.split() == [net_id[:12], n10[:12]]
    assert pycnm("network", "ls", "--filter", "label=tier=db", "-q").stdout.split() == [other[:12]]
    assert pycnm("network", "ls", "-f", "driver=null", "-f", "label=a", "-q").stdout.split() == [net_id[:12]]

    [doc] = json.loads(pycnm("network", "inspect", "n1").stdout)
    assert list(doc) == [
        "Name",
        "Id",
        "Created",
        "Scope",
        "Driver",
        "EnableIPv6",
        "IPAM",
        "Internal",
        "Attachable",
        "Ingress",
        "ConfigFrom",
        "ConfigOnly",
        "Containers",
        "Options",
        "Labels",
    ]
    assert doc["Id"] == net_id and doc["Internal"] is True and doc["Labels"] == {"a": "b", "c": ""}
    assert doc["IPAM"] == {
        "Driver": "default",
        "Options": {"foo": "bar"},
        "Config": [
            {
                "Subnet": "10.5.0.0/16",
                "IPRange": "10.5.1.0/24",
                "Gateway": "10.5.0.1",
                "AuxiliaryAddresses": {"host1": "10.5.0.5"},
            }
        ],
    }
    text = pycnm("network", "inspect", "n1", "n10").stdout
    assert text == json.dumps(json.loads(text), indent=4) + "\n"  # json's own layout, byte for byte
    assert [d["Name"] for d in json.loads(text)] == ["n1", "n10"]

    missing = pycnm("network", "inspect", "n10", "nope", ok=False)
    assert missing.returncode == 1 and missing.stderr == "Error: network nope not found\n"
    assert [d["Name"] for d in json.loads(missing.stdout)] == ["n10"]  # docker's: what was found
    none = pycnm("network", "inspect", "nope", ok=False)
    assert none.returncode == 1 and none.stdout == "[]\n"

    out = pycnm("network", "rm", "n10", "nope", "other", ok=False)
    assert out.returncode == 1 and out.stdout == "n10\nother\n" and "network nope not found" in out.stderr
    assert pycnm("network", "rm", "-f", "nope", "n1").stdout == "n1\n"
    assert pycnm("network", "ls", "-q").stdout == ""


def test_formats_json_and_go_templates(pycnm):
    pycnm("network", "create", "-d", "null", "--label", "tier=web", "--subnet", "10.6.0.0/24", "web")
    pycnm("network", "create", "-d", "host", "hostnet")
    sid = host_sandbox(pycnm, "s1")
    pycnm("network", "connect", "hostnet", "s1")

    rows = [json.loads(line) for line in pycnm("network", "ls", "--format", "json").stdout.splitlines()]
    assert [list(r) for r in rows] == [["ID", "Name", "Driver", "Scope", "IPv6", "Internal", "Labels", "CreatedAt"]] * 2
    assert [(r["Name"], r["Labels"], r["IPv6"]) for r in rows] == [
        ("hostnet", "", "false"),
        ("web", "tier=web", "false"),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC", rows[1]["CreatedAt"])

    out = pycnm("network", "ls", "--format", 'table {{.Name}}\\t{{.Label "tier"}}\\t{{.Internal}}').stdout
    assert out == "NAME      tier      INTERNAL\nhostnet             false\nweb       web       false\n"
    assert pycnm("network", "ls", "--format", "{{.Name}}:{{.Driver}}").stdout == "hostnet:host\nweb:null\n"
    assert json.loads(pycnm("network", "ls", "-f", "name=web", "--format", "{{json .}}").stdout)["Labels"] == "tier=web"
    bad = pycnm("network", "ls", "--format", "{{.Nope}}", ok=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == (
        'Error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.networkContext\n'
    )
    unclosed = pycnm("network", "ls", "--format", "{{.Name", ok=False)
    assert unclosed.returncode == 1 and "template: :1: unclosed action" in unclosed.stderr

    assert (
        pycnm("network", "inspect", "-f", "{{.Name}} {{json .IPAM.Config}}", "web").stdout
        == 'web [{"Gateway":"10.6.0.1","Subnet":"10.6.0.0/24"}]\n'
    )
    assert pycnm("network", "inspect", "--format", "{{range .Containers}}{{.Name}}{{end}}", "hostnet").stdout == "s1\n"
    nokey = pycnm("network", "inspect", "-f", "{{.Nope}}", "web", ok=False)
    assert nokey.returncode == 1 and 'map has no entry for key "Nope"' in nokey.stderr

    table = pycnm("sandbox", "ls").stdout.splitlines()
    assert table[0].split() == ["SANDBOX", "ID", "NAME", "KEY", "ENDPOINTS"] and table[1].split()[:2] == [
        sid[:12],
        "s1",
    ]
    assert table[1].split()[-1] == "1"
    assert json.loads(pycnm("sandbox", "ls", "--format", "json").stdout) == {
        "ID": sid[:12],
        "Name": "s1",
        "Key": json.loads(pycnm("sandbox", "inspect", "s1").stdout)[0]["Key"],
        "Endpoints": 1,
    }
    assert pycnm("sandbox", "ls", "--format", "{{.Name}} {{.Networks}} {{.Endpoints}}").stdout == "s1 hostnet 1\n"
    assert (
        pycnm("sandbox", "inspect", "-f", "{{.Name}} {{len .Endpoints}} {{.HostNamespace}}", "s1").stdout
        == "s1 1 true\n"
    )
    drivers = pycnm("driver", "ls", "--no-scope", "--format", "{{.Name}}={{.Kind}}").stdout.split()
    assert {"null=network", "host=network", "default=ipam"} <= set(drivers)
    pycnm("network", "disconnect", "hostnet", "s1")


def test_a_host_namespace_sandbox_connects_and_disconnects(pycnm):
    pycnm("network", "create", "-d", "host", "hostnet")
    sid = host_sandbox(pycnm, "s1")
    assert ID.fullmatch(sid)
    assert pycnm("network", "connect", "hostnet", "s1").stdout == ""
    [doc] = json.loads(pycnm("network", "inspect", "hostnet").stdout)
    assert list(doc["Containers"]) == [sid] and doc["Containers"][sid]["Name"] == "s1"
    [sb] = json.loads(pycnm("sandbox", "inspect", sid[:12]).stdout)
    assert sb["Name"] == "s1" and [e["Network"] for e in sb["Endpoints"]] == ["hostnet"]
    twice = pycnm("network", "connect", "hostnet", "s1", ok=False)
    assert twice.returncode == 1 and "endpoint with name s1 already exists in network hostnet" in twice.stderr
    busy = pycnm("network", "rm", "hostnet", ok=False)
    assert busy.returncode == 1 and "has active endpoints" in busy.stderr
    pycnm("network", "disconnect", "hostnet", "s1")
    again = pycnm("network", "disconnect", "hostnet", "s1", ok=False)
    assert again.returncode == 1 and f"container {sid} is not connected to network hostnet" in again.stderr
    assert pycnm("network", "disconnect", "-f", "hostnet", "s1").returncode == 0  # -f: no error
    missing = pycnm("network", "connect", "hostnet", "nope", ok=False)
    assert missing.returncode == 1 and "No such container: nope" in missing.stderr
    out = pycnm("sandbox", "rm", "s1", "nope", ok=False)
    assert out.returncode == 1 and out.stdout == "s1\n" and out.stderr == "Error: sandbox nope not found\n"
    assert pycnm("sandbox", "rm", "-f", "nope").stdout == ""
    assert pycnm("sandbox", "ls", "-q").stdout == ""


def test_prune_removes_networks_without_endpoints_and_asks_first(pycnm):
    pycnm("network", "create", "-d", "null", "idle")
    pycnm("network", "create", "-d", "host", "used")
    host_sandbox(pycnm, "s")
    pycnm("network", "connect", "used", "s")
    no = pycnm("network", "prune", stdin="n\n")
    assert "Are you sure you want to continue? [y/N]" in no.stdout and "Deleted" not in no.stdout
    eof = pycnm("network", "prune", stdin="", ok=False)
    assert eof.returncode == 1 and "Aborted." in eof.stderr
    assert pycnm("network", "ls", "-q").stdout.count("\n") == 2
    assert pycnm("network", "prune", "-f").stdout.splitlines() == ["Deleted Networks:", "idle"]
    assert pycnm("network", "ls", "--format", "json").stdout.count("\n") == 1
    pycnm("network", "disconnect", "used", "s")


def test_errors_go_to_stderr_with_exit_code_1_and_usage_errors_with_2(pycnm):
    bad = pycnm("network", "create", "-d", "null", "--subnet", "10.32.0.1/24", "x", ok=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert "Error: invalid subnet '10.32.0.1/24'" in bad.stderr and "should be 10.32.0.0/24" in bad.stderr
    unknown = pycnm("network", "create", "-d", "nosuch", "y", ok=False)
    assert unknown.returncode == 1 and unknown.stderr == 'Error: plugin "nosuch" not found\n'
    gateway = pycnm(
        "network", "create", "-d", "null", "--subnet", "10.9.0.0/24", "--gateway", "10.8.0.1", "z", ok=False
    )
    assert gateway.returncode == 1 and gateway.stderr == "Error: no matching subnet for gateway 10.8.0.1\n"
    lonely = pycnm("network", "create", "-d", "null", "--ip-range", "10.9.0.0/25", "z", ok=False)
    assert lonely.stderr == "Error: every ip-range or gateway must have a corresponding subnet\n"
    kv = pycnm("network", "create", "-d", "null", "-o", "novalue", "z", ok=False)
    assert kv.returncode == 1 and "invalid option 'novalue': expected KEY=VALUE" in kv.stderr
    filt = pycnm("network", "ls", "-f", "nope=1", ok=False)
    assert filt.returncode == 1 and "Invalid filter 'nope'" in filt.stderr
    assert pycnm("network", "ls", "-q").stdout == ""  # nothing was made by any of these

    for argv, words in (
        (["network", "create"], "Missing argument 'NAME'."),
        (["network", "ls", "--bogus"], "No such option: --bogus"),
        (["network", "frob"], "No such command 'frob'."),
        (["network", "rm"], "Missing argument 'NAMES...'."),
        (["network", "ls", "--format"], "Option '--format' requires an argument."),
        (["network", "ls", "extra"], "Got unexpected extra argument (extra)"),
    ):
        out = pycnm(*argv, ok=False)
        assert out.returncode == 2 and out.stderr.endswith(f"Error: {words}\n"), (argv, out.stderr)
        assert out.stderr.startswith("Usage: pycnm ")
    helped = pycnm("network", "create", "--help")
    assert helped.stdout.startswith("Usage: pycnm network create [OPTIONS] NAME") and "--subnet TEXT" in helped.stdout
    assert "network  Manage networks" in pycnm("--help").stdout


def test_driver_ls_lists_entry_point_drivers_without_loading_them(pycnm):
    rows = [json.loads(line) for line in pycnm("driver", "ls", "--no-scope", "--format", "json").stdout.splitlines()]
    network = {r["Name"]: r for r in rows if r["Kind"] == "network"}
    assert network["null"]["Distribution"] == "pycnm-null" and network["host"]["Distribution"] == "pycnm"
    assert network["bridge"]["Distribution"] == "pycnm-bridge" and network["null"]["Scope"] == ""
    assert {r["Name"] for r in rows if r["Kind"] == "ipam"} >= {"default", "null"}
    table = pycnm("driver", "ls", "--no-scope").stdout.splitlines()
    assert table[0].split() == ["NAME", "KIND", "DISTRIBUTION", "VERSION", "SCOPE"]


def test_graph_prints_dot_and_writes_it(pycnm, tmp_path):
    net = pycnm("network", "create", "-d", "null", "--subnet", "10.7.0.0/24", "--gateway", "10.7.0.1", "n1").stdout
    host = pycnm("network", "create", "-d", "host", "hostnet").stdout.strip()
    sid = host_sandbox(pycnm, "s1")
    pycnm("network", "connect", "hostnet", "s1")
    dot = pycnm("graph").stdout
    assert dot.startswith("graph pycnm {\n") and dot.endswith("}\n")
    assert 'label="pycnm: 2 networks, 1 sandbox, 1 endpoint"' in dot
    assert (
        f'"network:{net.strip()}" [shape="ellipse", style="filled", fillcolor="#fff2cc",'
        ' label="n1\\nnull\\n10.7.0.0/24  gateway 10.7.0.1"];' in dot
    )
    assert (
        f'"sandbox:{sid}" [shape="box", style="rounded,filled", fillcolor="#e8f0fe",'
        f' label="s1\\n{sid[:12]}\\nhost namespace"];' in dot
    )
    assert f'"sandbox:{sid}" -- "network:{host}" [label=' in dot
    out = tmp_path / "topology.dot"
    assert pycnm("graph", "-o", str(out)).stdout == ""
    assert out.read_text() == dot
    wrong = pycnm("graph", "-o", str(tmp_path / "topology.txt"), ok=False)
    assert wrong.returncode == 1 and "name it .dot, .svg or .png" in wrong.stderr
    svg = tmp_path / "topology.svg"
    drawn = pycnm("graph", "-o", str(svg), ok=False)
    if shutil.which("dot"):
        assert drawn.returncode == 0 and "<svg" in svg.read_text()
    else:
        assert drawn.returncode == 1 and "Debian package graphviz" in drawn.stderr
    pycnm("network", "disconnect", "hostnet", "s1")


def test_daemon_options_are_checked_before_it_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYCNM_")}
    for argv, words in (
        (["--cluster-store", "etcd://127.0.0.1:2379"], "--cluster-store needs --advertise-addr"),
        (["-H", "tcp://127.0.0.1:2375"], "Invalid value for '-H': invalid daemon address"),
        (["--lease", "soon"], "Invalid value for '--lease': 'soon' is not a valid integer."),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "pycnm.cli", "--state-dir", str(tmp_path / "state"), "daemon", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 2 and words in out.stderr, (argv, out.stderr)
    assert not (tmp_path / "state").exists()  # refused before anything was made


# ---- the same output both ways, byte for byte ---------------------------------------------------

SCRIPT = [
    ("network", "create", "-d", "null", "--label", "tier=web", "--label", "team=a", "web"),
    (
        "network",
        "create",
        "-d",
        "null",
        "--subnet",
        "10.40.0.0/24",
        "--gateway",
        "10.40.0.1",
        "--ip-range",
        "10.40.0.128/25",
        "db",
    ),
    ("network", "create", "-d", "host", "hostnet"),
    ("network", "create", "-d", "null", "net2"),
    ("network", "create", "-d", "null", "net10"),
    ("sandbox", "create", "--host-namespace", "--hostname", "alpha", "alpha"),
    ("sandbox", "create", "--host-namespace", "beta"),
    ("network", "connect", "--alias", "a1", "hostnet", "alpha"),
    (
        "network",
        "ls",
    ),
    ("network", "ls", "--no-trunc"),
    ("network", "ls", "-q"),
    ("network", "ls", "--format", "json"),
    ("network", "ls", "--format", 'table {{.ID}}\\t{{.Name}}\\t{{.Labels}}\\t{{.Label "tier"}}\\t{{.CreatedAt}}'),
    ("network", "ls", "--format", "{{json .}}"),
    ("network", "ls", "-f", "name=net", "--format", "table"),
    ("network", "inspect", "web", "db", "hostnet"),
    ("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{json .IPAM}} {{len .Containers}}", "db", "hostnet"),
    ("network", "inspect", "web", "nope"),
    ("sandbox", "ls", "--format", "{{.ID}} {{.Name}} {{.Key}} {{.Endpoints}} {{.Networks}}"),
    ("sandbox", "ls", "--format", "json"),
    ("sandbox", "ls", "-q", "--no-trunc"),
    ("sandbox", "inspect", "alpha", "beta"),
    ("sandbox", "inspect", "-f", "{{.Name}} {{.Hostname}} {{range .Endpoints}}{{.Network}}{{end}}", "alpha"),
    ("driver", "ls", "--no-scope"),
    ("driver", "ls", "--no-scope", "--format", "json"),
    ("graph",),
    ("network", "rm", "hostnet"),
    ("network", "disconnect", "hostnet", "alpha"),
    ("network", "prune", "-f"),
    ("sandbox", "rm", "alpha", "beta", "nope"),
    (
        "network",
        "ls",
    ),
]
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z| \+0000 UTC|[+-]\d\d:\d\d)?")
HOST_KEY = re.compile(r"/proc/\d+/ns/net")


def _normalized(outputs: list[tuple[int, str, str]], state: str) -> list[tuple[int, str, str]]:
    ids: dict[str, str] = {}
    for _, out, err in outputs:
        for found in ID.findall(out + err):
            ids.setdefault(found, f"<id{len(ids):02d}>")

    def fix(text: str) -> str:
        for full, name in ids.items():
            text = text.replace(full, name).replace(full[:12], name[:-1] + "s>")
        return HOST_KEY.sub("<host>", TIME.sub("<time>", text.replace(state, "<state>")))

    return [(rc, fix(out), fix(err)) for rc, out, err in outputs]


def test_the_output_is_the_same_byte_for_byte_in_process_and_through_the_daemon(prefix):
    results = {}
    for way in WAYS:
        with _cli(prefix, way) as cli:
            runs = [cli(*argv, ok=False) for argv in SCRIPT]
            results[way] = _normalized([(r.returncode, r.stdout, r.stderr) for r in runs], cli.state)
    for argv, mine, theirs in zip(SCRIPT, results["in-process"], results["daemon"], strict=True):
        assert mine == theirs, argv
    outputs = dict(zip(SCRIPT, results["daemon"], strict=True))
    assert outputs[("network", "inspect", "web", "nope")][0] == 1
    assert outputs[("network", "rm", "hostnet")][0] == 1 and outputs[("sandbox", "rm", "alpha", "beta", "nope")][0] == 1
    assert [rc for rc, _, _ in results["daemon"]].count(0) == len(SCRIPT) - 3
    assert outputs[("network", "ls", "-f", "name=net", "--format", "table")][1].splitlines()[1:] == [
        "<id02s>   hostnet   host      local",
        "<id03s>   net2      null      local",
        "<id04s>   net10     null      local",
    ]


# ---- which daemon: -H, PYCNM_HOST, the state directory's socket ---------------------------------


@pytest.fixture
def served(prefix):
    """A daemon on a socket of its own (not in its state directory), stopped by its pid."""
    cli = CLI(prefix, "daemon")
    try:
        cli.start_daemon(socket_path=str(cli.root / "d.sock"))
        yield cli
    finally:
        cli.close()


def test_minus_h_and_pycnm_host_name_the_daemon(served, tmp_path):
    sock = f"unix://{served.socket}"
    net = served("-H", sock, "network", "create", "-d", "null", "n1").stdout.strip()
    code, body = _unix_get(served.socket, "/networks")
    assert code == 200 and [n["Id"] for n in json.loads(body)] == [net]  # the daemon made it
    env = {k: v for k, v in served.env.items() if k != "PYCNM_STATE_DIR"}
    assert served("network", "ls", "-q", env={**env, "PYCNM_HOST": sock}).stdout.split() == [net[:12]]
    assert served("--host", served.socket, "network", "ls", "-q", env=env).stdout.split() == [net[:12]]
    assert served(f"-H{sock}", "network", "ls", "-q", env=env).stdout.split() == [net[:12]]
    assert served("-H", sock, "network", "ls", "-q").stdout.split() == [net[:12]]  # and its state directory
    # -H without a state directory and no daemon there: an error, never the default state directory
    gone = served("-H", f"unix://{tmp_path}/none.sock", "network", "ls", env=env, ok=False)
    assert gone.returncode == 1 and f"no pycnm daemon answers on unix://{tmp_path}/none.sock" in gone.stderr
    # with a state directory, no daemon means in-process on that one
    other = str(tmp_path / "other")
    alone = served(
        "-H", f"unix://{tmp_path}/none.sock", "--state-dir", other, "network", "create", "-d", "null", "mine", env=env
    ).stdout.strip()
    assert served("--state-dir", other, "network", "ls", "-q", env=env).stdout.split() == [alone[:12]]
    tcp = served("-H", "tcp://127.0.0.1:2375", "network", "ls", ok=False)
    assert tcp.returncode == 1 and "pycnm serves unix sockets only" in tcp.stderr


def test_a_daemon_serving_another_state_directory_is_refused_naming_both(served, tmp_path):
    sock = f"unix://{served.socket}"
    other = str(tmp_path / "other")
    for argv in (("network", "create", "-d", "null", "x"), ("network", "ls"), ("sandbox", "rm", "a")):
        out = served("-H", sock, "--state-dir", other, *argv, ok=False)
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr == (
            f"Error: the pycnm daemon on {sock} serves the state directory {served.state}, not"
            f" {other}: stop it, or give the socket of the daemon that serves {other} with -H\n"
        )
    assert json.loads(_unix_get(served.socket, "/networks")[1]) == []  # nothing was done there
    assert not os.path.exists(os.path.join(other, "local.db"))  # nor in-process


def test_the_state_directory_s_socket_is_found_and_checked(prefix, tmp_path):
    """A daemon on another state directory listening where this one's socket belongs (as one
    on /srv/x could take /run/pycnm/pycnm.sock): the CLI looking for that state's daemon refuses."""
    asked = CLI(prefix, "daemon")
    squatter = CLI(prefix, "daemon")
    try:
        os.makedirs(asked.state)
        squatter.start_daemon(socket_path=os.path.join(asked.state, "pycnm.sock"))
        out = asked("network", "ls", ok=False)
        assert out.returncode == 1 and f"serves the state directory {squatter.state}, not {asked.state}" in out.stderr
        squatter.stop_daemon()
        asked.start_daemon()  # its own, on its socket: found without -H
        net = asked("network", "create", "-d", "null", "n").stdout.strip()
        assert [n["Id"] for n in json.loads(_unix_get(asked.socket, "/networks")[1])] == [net]
    finally:
        squatter.close()
        asked.close()


# ---- the client path imports nothing heavy ------------------------------------------------------


def _script() -> list[str]:
    script = Path(sys.executable).with_name("pycnm")
    if script.exists():
        return [str(script)]  # the console script itself, as a user runs it
    return ["-c", "import sys; from pycnm.cli import main; sys.argv[0] = 'pycnm'; main()"]


@pytest.mark.parametrize(
    "argv",
    [
        ("network", "ls"),
        ("network", "ls", "--format", "table {{.Name}}\\t{{.CreatedAt}}"),
        ("network", "inspect", "n1"),
        ("network", "create", "-d", "null", "--subnet", "10.44.0.0/24", "--gateway", "10.44.0.1", "n2"),
        ("network", "connect", "hostnet", "s1"),
        ("sandbox", "ls"),
        ("sandbox", "inspect", "s1"),
        ("driver", "ls", "--no-scope"),
        ("graph",),
    ],
    ids=lambda argv: "-".join(a for a in argv if a.isalnum())[:40],
)
def test_the_client_path_imports_no_kernel_code_no_click_no_http_client(prefix, argv):
    with _cli(prefix, "daemon") as cli:
        cli("network", "create", "-d", "null", "n1")
        cli("network", "create", "-d", "host", "hostnet")
        host_sandbox(cli, "s1")
        out = subprocess.run(
            [sys.executable, "-X", "importtime", *_script(), *argv],
            capture_output=True,
            text=True,
            env=cli.env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        imported = [
            line.rsplit("|", 1)[1].strip()
            for line in out.stderr.splitlines()
            if line.startswith("import time:") and "|" in line
        ]
        assert "pycnm.cli" in imported and "pycnm.cli._wire" in imported
        heavy = sorted({name for name in imported for bad in FORBIDDEN if name == bad or name.startswith(bad + ".")})
        assert heavy == [], f"pycnm {' '.join(argv)} imported {heavy}"
        assert not {"json", "socket", "re", "typing"} & set(imported)  # their C cores only
        if argv[:2] == ("network", "connect"):
            cli("network", "disconnect", "hostnet", "s1")


def test_the_daemon_keeps_what_start_up_made_out_of_the_collectors_scans(prefix):
    # a full collection over every start-up object stopped the resolver's thread for 50-60 ms
    with _cli(prefix, "daemon") as cli:
        cli("network", "create", "-d", "null", "n1")
        gc = cli.status()["Daemon"]["GC"]
        assert gc["Frozen"] > 10000, gc
        assert len(gc["Collections"]) == 3


def test_in_process_imports_the_controller_only_when_no_daemon_answers(prefix):
    with _cli(prefix, "in-process") as cli:
        out = subprocess.run(
            [sys.executable, "-X", "importtime", *_script(), "network", "ls"],
            capture_output=True,
            text=True,
            env=cli.env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0 and "pycnm.controller" in out.stderr and "pycnm.cli._local" in out.stderr


# ---- the pieces, without a process --------------------------------------------------------------


def test_the_socket_is_the_one_pycnm_api_names():
    from pycnm import api, cli

    cases = [
        (None, None),
        (None, "/var/lib/pycnm"),
        (None, "/srv/lab"),
        (None, "relative/dir"),
        ("unix:///tmp/x.sock", None),
        ("/tmp/y.sock", "/srv/lab"),
    ]
    for host, state in cases:
        assert cli.socket_path(host, state) == api.socket_path(host, state or api.DEFAULT_STATE_DIR), (host, state)
    assert (cli.DEFAULT_SOCKET, cli.DEFAULT_STATE_DIR, cli.STATE_DIR_SOCKET) == (
        api.DEFAULT_SOCKET,
        api.DEFAULT_STATE_DIR,
        api.STATE_DIR_SOCKET,
    )


def test_json_is_the_standard_library_s_byte_for_byte():
    from pycnm.cli import _wire

    values = [
        {},
        [],
        {"a": []},
        {"b": {}},
        'ß\u20ac\U0001f600\n\t"\\',
        0,
        -7,
        2**70,
        1.5,
        1e-7,
        1e22,
        True,
        None,
        {"Name": "n1", "Config": [{"Subnet": "10.0.0.0/24", "Aux": {"h": "10.0.0.5"}}], "Flags": [True, False, None]},
        [[[]], [{}], [1, [2, [3]]]],
        {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},
    ]
    for value in values:
        assert _wire.dumps(value) == json.dumps(value)
        assert _wire.dumps(value, compact=True) == json.dumps(value, separators=(",", ":"))
        assert _wire.dumps_pretty(value) == json.dumps(value, indent=4)
        text = json.dumps(value)
        assert json.dumps(_wire.loads(text)) == text and json.dumps(_wire.loads(text.encode())) == text
    assert _wire.dumps_pretty({1: "a", 2.5: "b", None: "c", False: "d"}) == json.dumps(
        {1: "a", 2.5: "b", None: "c", False: "d"}, indent=4
    )
    for broken in ("", "{", '{"a": }', "[1,]", "1 2", "nope"):
        with pytest.raises(ValueError):
            _wire.loads(broken)
    assert (
        _wire.target("/networks/a b", {"filters": ['{"name":{"x":true}}'], "k": ["1", "2"]})
        == "/networks/a%20b?filters=%7B%22name%22%3A%7B%22x%22%3Atrue%7D%7D&k=1&k=2"
    )


def test_the_http_client_reads_lengths_chunks_and_closes(tmp_path):
    from pycnm.cli import _wire

    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n[1]",
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n[2\r\n1;ext=1\r\n]\r\n0\r\nTrailer: x\r\n\r\n"
        ),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 22\r\nConnection: close\r\n\r\n" + b'{"message":"not here"}',
    ]
    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    seen: list[bytes] = []

    def serve() -> None:
        queue = list(answers)
        while queue:
            conn, _ = server.accept()
            with conn:
                while queue:
                    request = conn.recv(65536)
                    if not request:
                        break
                    seen.append(request)
                    answer = queue.pop(0)
                    conn.sendall(answer)
                    if answer.startswith(b"HTTP/1.0") or b"Connection: close" in answer:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    conn = _wire.Connection(path, timeout=10)
    try:
        first = conn.request("GET", "/a")
        assert (first.status, first.body, first.header("content-type")) == (200, b"[1]", "application/json")
        second = conn.request("POST", "/b", b'{"x":1}', [("Content-Type", "application/json")])
        assert (second.status, second.body) == (201, b"[2]")
        assert conn.request("DELETE", "/c").status == 204
        assert conn.request("GET", "/d").body == b"until the end"  # then the server closed: a new one
        last = conn.request("GET", "/e")
        assert last.status == 404 and _wire.loads(last.body) == {"message": "not here"}
    finally:
        conn.close()
        server.close()
        thread.join(10)
    assert seen[1].startswith(b"POST /b HTTP/1.1\r\n") and seen[1].endswith(b'Content-Length: 7\r\n\r\n{"x":1}')
    with pytest.raises(_wire.NoDaemon):
        _wire.Connection(str(tmp_path / "none.sock")).request("GET", "/_ping")


def test_ipam_configs_are_consolidated_as_docker_does():
    from pycnm.cli import Failed, ipam_configs

    assert ipam_configs(
        ["10.1.0.0/16", "fd00::/64"], ["10.1.2.0/24"], ["fd00::1", "10.1.0.1"], {"h": "10.1.0.5", "g": "fd00::5"}
    ) == [
        {
            "Subnet": "10.1.0.0/16",
            "IPRange": "10.1.2.0/24",
            "Gateway": "10.1.0.1",
            "AuxiliaryAddresses": {"h": "10.1.0.5"},
        },
        {"Subnet": "fd00::/64", "Gateway": "fd00::1", "AuxiliaryAddresses": {"g": "fd00::5"}},
    ]
    for args, words in (
        ((["10.1.0.0/16", "10.1.2.0/24"], [], [], {"h": "10.1.0.5"}), "multiple overlapping subnet configuration"),
        (
            (["10.1.0.0/16", "10.2.0.0/16"], ["10.1.1.0/24", "10.1.2.0/24"], [], {}),
            "cannot configure multiple ranges (10.1.2.0/24, 10.1.1.0/24) on the same subnet (10.1.0.0/16)",
        ),
        ((["10.1.0.0/16"], [], ["10.2.0.1"], {}), "no matching subnet for gateway 10.2.0.1"),
        ((["10.1.0.0/16"], [], [], {"x": "10.2.0.5"}), "no matching subnet for aux-address 10.2.0.5"),
        (([], [], ["10.2.0.1"], {}), "every ip-range or gateway must have a corresponding subnet"),
    ):
        with pytest.raises(Failed, match=re.escape(words)):
            ipam_configs(*args)
    assert ipam_configs(["bogus"], [], ["10.0.0.1"], {}) == [{"Subnet": "bogus"}]  # the engine refuses it


def test_to_dot_draws_bridges_vnis_ports_and_other_hosts():
    from pycnm.graph import to_dot

    topo = {
        "Instance": "aaaa",
        "Hosts": {"aaaa": "192.0.2.11", "bbbb": "192.0.2.12"},
        "Sandboxes": [{"Id": "1" * 64, "Name": "web", "Key": "/run/netns/pycnm-111", "HostNamespace": False}],
        "Networks": [
            {
                "Id": "a" * 64,
                "Name": "front",
                "Driver": "bridge",
                "Scope": "local",
                "Internal": False,
                "EnableIPv6": False,
                "Subnets": [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}],
                "Bridge": "br-aaaaaaaaaaaa",
                "VNI": "",
                "Endpoints": [
                    {
                        "Id": "e" * 64,
                        "Name": "web",
                        "Sandbox": "1" * 64,
                        "SandboxName": "web",
                        "Interface": "eth0",
                        "MacAddress": "",
                        "IPv4Address": "10.1.0.2/24",
                        "IPv6Address": "",
                        "Host": "aaaa",
                        "Local": True,
                        "Ports": [
                            {"Proto": "tcp", "HostIP": "", "HostPort": 8080, "Port": 80},
                            {"Proto": "udp", "HostIP": "127.0.0.1", "HostPort": 5353, "Port": 53},
                        ],
                    }
                ],
            },
            {
                "Id": "b" * 64,
                "Name": "mesh",
                "Driver": "overlay",
                "Scope": "global",
                "Internal": True,
                "EnableIPv6": False,
                "Subnets": [{"Subnet": "10.0.9.0/24", "Gateway": "10.0.9.1"}],
                "Bridge": "",
                "VNI": "4097",
                "Endpoints": [
                    {
                        "Id": "f" * 64,
                        "Name": "db",
                        "Sandbox": "2" * 64,
                        "SandboxName": "db",
                        "Interface": "",
                        "MacAddress": "",
                        "IPv4Address": "10.0.9.3/24",
                        "IPv6Address": "",
                        "Host": "bbbb",
                        "Local": False,
                        "Ports": [],
                    },
                    {
                        "Id": "d" * 64,
                        "Name": "spare",
                        "Sandbox": "",
                        "SandboxName": "",
                        "Interface": "",
                        "MacAddress": "",
                        "IPv4Address": "10.0.9.4/24",
                        "IPv6Address": "",
                        "Host": "aaaa",
                        "Local": True,
                        "Ports": [],
                    },
                ],
            },
        ],
    }
    dot = to_dot(topo)
    assert 'label="front\\nbridge on br-aaaaaaaaaaaa\\n10.1.0.0/24  gateway 10.1.0.1"' in dot
    assert 'label="mesh\\noverlay (global)  VNI 4097\\n10.0.9.0/24  gateway 10.0.9.1\\ninternal"' in dot
    assert (
        f'"sandbox:{"1" * 64}" -- "network:{"a" * 64}" [label="eth0\\n10.1.0.2/24\\n8080->80/tcp\\n'
        '127.0.0.1:5353->53/udp"];' in dot
    )
    assert 'subgraph "cluster_host_aaaa" {\n        graph [label="this host 192.0.2.11"' in dot
    assert 'subgraph "cluster_host_bbbb" {\n        graph [label="host 192.0.2.12"' in dot
    assert f'"remote:{"f" * 64}" -- "network:{"b" * 64}" [label="10.0.9.3/24", style="dashed"];' in dot
    assert f'"endpoint:{"d" * 64}" -- "network:{"b" * 64}" [style="dotted"];' in dot
    assert to_dot(topo) == dot  # the same text for the same topology
    if shutil.which("dot"):
        drawn = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60, check=False)
        assert drawn.returncode == 0 and "<svg" in drawn.stdout, drawn.stderr


# ---- privileged: bridges and sandboxes, in the lab's stand-in host, both ways ------------------


@pytest.mark.privileged
def test_create_connect_ping_and_remove_with_the_cli_alone(kernel_pycnm, prefix):
    from .helpers import ping

    pycnm = kernel_pycnm
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

    [doc] = json.loads(pycnm("network", "inspect", "n1").stdout)
    assert doc["Id"] == net_id and doc["IPAM"]["Config"] == [{"Subnet": "10.31.0.0/24", "Gateway": "10.31.0.1"}]
    assert {c["Name"] for c in doc["Containers"].values()} == {"s1", "s2"}
    table = lines(pycnm("network", "ls").stdout)
    assert table[0] == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"] and table[1] == [
        net_id[:12],
        "n1",
        "bridge",
        "local",
    ]
    assert json.loads(pycnm("network", "list", "--format", "json").stdout)["Name"] == "n1"
    dot = pycnm("graph").stdout
    assert f"bridge on {(prefix + 'br-' + net_id)[:15]}" in dot and "eth0\\n10.31.0." in dot

    busy = pycnm("network", "rm", "n1", ok=False)
    assert busy.returncode == 1 and "has active endpoints" in busy.stderr
    pycnm("network", "disconnect", "n1", "s1")
    pycnm("network", "disconnect", "n1", "s2")
    assert pycnm("network", "rm", "n1").stdout.strip() == "n1"
    assert pycnm("sandbox", "rm", "s1", "s2").stdout == "s1\ns2\n"
    assert pycnm("network", "ls", "-q").stdout == "" and pycnm("sandbox", "ls", "-q").stdout == ""


@pytest.mark.privileged
def test_driver_ls_loads_each_driver_for_its_scope(kernel_pycnm):
    rows = [json.loads(line) for line in kernel_pycnm("driver", "ls", "--format", "json").stdout.splitlines()]
    network = {r["Name"]: r for r in rows if r["Kind"] == "network"}
    assert network["bridge"]["Distribution"] == "pycnm-bridge"
    assert {network[n]["Scope"] for n in ("bridge", "null", "host")} == {"local"}
    assert network["overlay"]["Scope"] == "global"


@pytest.mark.privileged
def test_prune_keeps_networks_with_real_sandboxes(kernel_pycnm):
    pycnm = kernel_pycnm
    pycnm("network", "create", "-d", "null", "idle")
    pycnm("network", "create", "-d", "null", "used")
    pycnm("sandbox", "create", "s")
    pycnm("network", "connect", "used", "s")
    assert pycnm("network", "prune", "-f").stdout.splitlines() == ["Deleted Networks:", "idle"]
    assert pycnm("network", "ls", "--format", "json").stdout.count("\n") == 1


@pytest.mark.privileged
def test_connect_publishes_ports_from_the_command_line(kernel_pycnm, prefix):
    from pycnm_bridge.firewall import Firewall, Publication

    pycnm = kernel_pycnm
    pycnm("network", "create", "--subnet", "10.34.0.0/24", "pubnet")
    pycnm("sandbox", "create", "web")
    pycnm("network", "connect", "-p", "8090:80", "-p", "9000-9001:90-91/udp", "pubnet", "web")
    published = set(Firewall(prefix).publications())
    assert {
        Publication("tcp", "", 8090, "10.34.0.2", 80),
        Publication("udp", "", 9000, "10.34.0.2", 90),
        Publication("udp", "", 9001, "10.34.0.2", 91),
    } == published
    assert "8090->80/tcp" in pycnm("graph").stdout
    bad = pycnm("network", "connect", "-p", "70000:80", "pubnet", "web", ok=False)
    assert bad.returncode == 1 and "ports are 1 to 65535" in bad.stderr
    pycnm("network", "disconnect", "pubnet", "web")
    assert Firewall(prefix).publications() == []
