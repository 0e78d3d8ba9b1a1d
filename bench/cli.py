"""The command line as a person or a script waits for it: whole processes, side by side in one run.

    python bench/cli.py [-n 7] [--sandboxes 1000] [--write docs/benchmarks.md]     # as root
    python bench/cli.py --quick [-n 7]                                             # no root needed

Each figure is the median of N whole-process runs (default 7), the ways interleaved run by run:

- (a) Debian's docker 20.10 CLI (``/usr/bin/docker``) against a real dockerd 20.10 (the tests'
  harness, tests/dockerlab.py: its own data root; iptables on, masquerade off, as BENCHMARKS.md
  measured it), (b) the pycnm CLI against ``pycnm daemon``, (c) the pycnm CLI in-process (no
  daemon), and (d) the docker 20.10 CLI against ``pycnm daemon`` (the Go client's own start-up
  beside Python's, on the same server);
- ``network ls``; ``network connect`` + ``disconnect`` (a bridge network; a pycnm sandbox, a
  running busybox container for dockerd); ``network create`` + ``rm`` (bridge networks);
- the same operations through docker-py (one client, each call timed) against dockerd and pycnm;
- the first command after a cold start: a daemon started, the time until it answers, its first
  ``network ls``;
- the daemon's memory (RSS): idle, and with N sandboxes (default 1000) attached to a network.

BENCHMARKS.md's goals, with ``pycnm daemon`` running: ``network ls`` no slower than docker 20.10's,
``connect`` + ``disconnect`` and ``create`` + ``rm`` at most half of docker's.

The full run makes bridges, namespaces and a dockerd: as root, in a namespace standing in for the
host (nothing of the machine's own network is touched). ``--quick`` makes no kernel object and
needs no root: null networks (create + rm) and a host network with host-namespace sandboxes
(connect + disconnect) on a throwaway state directory, ways (b), (c) and (d), docker-py against
pycnm, and the memory with N host-namespace sandboxes attached.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # the workspace: tests.dockerlab
from _report import write_section
from pycnm.cli import _wire

DOCKER_20 = "/usr/bin/docker"
PYCNM = str(Path(sys.executable).with_name("pycnm"))
PREFIX = "bc"


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median_ms(values: list[float]) -> str:
    return f"{ms(statistics.median(values)):.1f} ms" if values else "-"


def run(argv: list[str], env: dict[str, str]) -> float:
    """One whole process; its wall time. It must succeed."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return took


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


# ---- the daemons --------------------------------------------------------------------------------


class PycnmDaemon:
    """``pycnm daemon`` on a state directory of its own, stopped by its pid."""

    def __init__(self, root: str, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        self.args = args  # of ``pycnm daemon``
        self.state = os.path.join(root, "state")
        self.socket = os.path.join(self.state, "pycnm.sock")
        self.env = dict(env, PYCNM_STATE_DIR=self.state)
        self.proc: subprocess.Popen | None = None
        self.log = os.path.join(root, "daemon.log")

    def start(self) -> float:
        """Start it; the seconds until it answers ``/_ping``."""
        os.makedirs(self.state, exist_ok=True)
        started = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [PYCNM, "daemon", *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        while time.perf_counter() - started < 120:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pycnm daemon exited: {Path(self.log).read_text()[-2000:]}")
            try:
                if _wire.Connection(self.socket, timeout=5).request("GET", "/_ping").status == 200:
                    return time.perf_counter() - started
            except (OSError, _wire.NoDaemon):
                pass
            time.sleep(0.002)
        raise RuntimeError("pycnm daemon did not answer in 120 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def api(sock: str) -> Callable[..., Any]:
    """A keep-alive client of a daemon's socket: ``call(method, path, body) -> decoded answer``."""
    conn = _wire.Connection(sock)

    def call(method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        data = _wire.dumps(body, compact=True).encode() if body is not None else b""
        headers = [("Content-Type", "application/json")] if data else []
        answer = conn.request(method, _wire.target(path), data, headers)
        if answer.status not in ok:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.body[:300]!r}")
        return _wire.loads(answer.body) if answer.body else None

    return call


def dockerd_class() -> type:
    from tests.dockerlab import DockerD

    class BenchDockerD(DockerD):
        """The tests' dockerd with iptables on (masquerade off), as BENCHMARKS.md measured it."""

        def start(self) -> None:
            argv = [
                "dockerd",
                "--data-root",
                os.path.join(self.root, "data"),
                "--exec-root",
                os.path.join(self.root, "exec"),
                "-H",
                f"unix://{self.socket}",
                "--pidfile",
                os.path.join(self.root, "dockerd.pid"),
                "--bridge",
                "none",
                "--ip-masq=false",
                "--userland-proxy=false",
                "--dns",
                self.dns,
                "--storage-driver",
                "vfs",
                "--shutdown-timeout",
                "1",
                "--log-level",
                "warn",
            ]
            self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"dockerd exited ({self.proc.returncode}); see {self.log.name}")
                if os.path.exists(self.socket) and self.docker("version", check=False).returncode == 0:
                    return
                time.sleep(0.05)
            raise RuntimeError(f"dockerd did not start in 60 s; see {self.log.name}")

    return BenchDockerD


# ---- the measurements ---------------------------------------------------------------------------


def whole_processes(n: int, ways: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """``ways``: name -> {"cli": argv prefix, "env", "net" (the network to connect to), "sandbox",
    "driver" (for create)}. Interleaved: each run does every way once."""
    out: dict[str, dict[str, list[float]]] = {w: {"ls": [], "connect": [], "create": []} for w in ways}
    for i in range(n):
        for name, way in ways.items():
            cli, env = way["cli"], way["env"]
            out[name]["ls"].append(run([*cli, "network", "ls"], env))
            out[name]["connect"].append(
                run([*cli, "network", "connect", way["net"], way["sandbox"]], env)
                + run([*cli, "network", "disconnect", way["net"], way["sandbox"]], env)
            )
            made = f"{PREFIX}-net-{i}"
            out[name]["create"].append(
                run([*cli, "network", "create", "-d", way["driver"], made], env)
                + run([*cli, "network", "rm", made], env)
            )
    return out


def docker_py(n: int, sock: str, net: str, sandbox: str, driver: str) -> dict[str, list[float]]:
    import docker

    client = docker.DockerClient(base_url=f"unix://{sock}", version="1.41", timeout=120)
    out: dict[str, list[float]] = {"ls": [], "connect": [], "create": []}
    try:
        target = client.networks.get(net)
        for i in range(n):
            start = time.perf_counter()
            client.networks.list()
            out["ls"].append(time.perf_counter() - start)
            start = time.perf_counter()
            target.connect(sandbox)
            target.disconnect(sandbox)
            out["connect"].append(time.perf_counter() - start)
            start = time.perf_counter()
            made = client.networks.create(f"{PREFIX}-py-{i}", driver=driver)
            made.remove()
            out["create"].append(time.perf_counter() - start)
    finally:
        client.close()
    return out


def cold_start(daemon: PycnmDaemon, cli_env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds until a fresh daemon answers, its first ``network ls``, the next one)."""
    daemon.stop()
    ready = daemon.start()
    first = run([PYCNM, "network", "ls"], cli_env)
    second = run([PYCNM, "network", "ls"], cli_env)
    return ready, first, second


def attached_memory(daemon: PycnmDaemon, net: str, count: int, host_namespace: bool) -> float:
    """RSS of the daemon with ``count`` sandboxes connected to ``net``; they are removed after."""
    call = api(daemon.socket)
    names = [f"{PREFIX}-m{i}" for i in range(count)]
    try:
        for name in names:
            call("POST", "/pycnm/v1/sandboxes/create", {"Name": name, "HostNamespace": host_namespace})
            call("POST", f"/networks/{net}/connect", {"Container": name})
        assert daemon.proc is not None
        return rss_mib(daemon.proc.pid)
    finally:
        call("POST", "/pycnm/v1/sandboxes/delete", {"Names": names, "Force": True})


# ---- the runs -----------------------------------------------------------------------------------


def base_env(work: str, private_netns: bool) -> dict[str, str]:
    env = dict(
        os.environ,
        PYCNM_DISABLE_PLUGINS="1",
        PYCNM_NETNS_PREFIX=f"{PREFIX}-",
        PYCNM_IFNAME_PREFIX=PREFIX,
        DOCKER_CONFIG=os.path.join(work, "docker-config"),
    )
    for name in ("PYCNM_HOST", "PYCNM_STATE_DIR", "DOCKER_HOST", "DOCKER_CONTEXT", "PYCNM_CLUSTER_STORE"):
        env.pop(name, None)
    if private_netns:
        env["PYCNM_NETNS_DIR"] = os.path.join(work, "netns")
    return env


@contextlib.contextmanager
def pycnm_sides(work: str, env: dict[str, str], quick: bool) -> Iterator[dict[str, Any]]:
    """The daemon's side and the in-process side, each with its network and sandbox."""
    daemon = PycnmDaemon(os.path.join(work, "d"), env)
    # a namespace prefix of its own: a Controller removes the namespaces under its prefix that its
    # state directory has no record of, and these are two state directories
    local_env = dict(
        env,
        PYCNM_STATE_DIR=os.path.join(work, "local", "state"),
        PYCNM_NETNS_PREFIX=f"{PREFIX}l-",
        PYCNM_IFNAME_PREFIX=f"{PREFIX}l",
    )
    sides = {"daemon": dict(daemon.env), "local": local_env}
    try:
        daemon.start()
        for side_env in sides.values():
            if quick:
                run([PYCNM, "network", "create", "-d", "host", f"{PREFIX}-target"], side_env)
                run([PYCNM, "sandbox", "create", "--host-namespace", f"{PREFIX}-s1"], side_env)
            else:
                subnet = "10.251.0.0/16" if side_env is sides["daemon"] else "10.252.0.0/16"  # room for 1000
                run([PYCNM, "network", "create", "-d", "bridge", "--subnet", subnet, f"{PREFIX}-target"], side_env)
                run([PYCNM, "sandbox", "create", f"{PREFIX}-s1"], side_env)
        yield {"daemon": daemon, "envs": sides}
    finally:
        for side_env in sides.values():
            subprocess.run(
                [PYCNM, "sandbox", "rm", "-f", f"{PREFIX}-s1"], env=side_env, capture_output=True, check=False
            )
            for _ in range(3):
                listed = subprocess.run(
                    [PYCNM, "network", "ls", "-q", "--no-trunc"],
                    env=side_env,
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.split()
                if not listed:
                    break
                subprocess.run([PYCNM, "network", "rm", "-f", *listed], env=side_env, capture_output=True, check=False)
        daemon.stop()


def measure(n: int, sandboxes: int, quick: bool, work: str) -> dict[str, Any]:
    env = base_env(work, private_netns=quick)
    results: dict[str, Any] = {"n": n, "sandboxes": sandboxes, "quick": quick}
    with pycnm_sides(work, env, quick) as pycnm:
        daemon: PycnmDaemon = pycnm["daemon"]
        envs = pycnm["envs"]
        driver = "null" if quick else "bridge"
        ways: dict[str, dict[str, Any]] = {
            "pycnm CLI -> pycnm daemon": {
                "cli": [PYCNM],
                "env": envs["daemon"],
                "net": f"{PREFIX}-target",
                "sandbox": f"{PREFIX}-s1",
                "driver": driver,
            },
            "pycnm CLI in-process": {
                "cli": [PYCNM],
                "env": envs["local"],
                "net": f"{PREFIX}-target",
                "sandbox": f"{PREFIX}-s1",
                "driver": driver,
            },
        }
        if os.access(DOCKER_20, os.X_OK):
            ways["docker 20.10 CLI -> pycnm daemon"] = {
                "cli": [DOCKER_20, "-H", f"unix://{daemon.socket}"],
                "env": env,
                "net": f"{PREFIX}-target",
                "sandbox": f"{PREFIX}-s1",
                "driver": driver,
            }
        dockerd = None
        try:
            if not quick:
                dockerd = start_dockerd(work)
                ways = {
                    "docker 20.10 CLI -> dockerd 20.10": {
                        "cli": [DOCKER_20, "-H", f"unix://{dockerd.socket}"],
                        "env": env,
                        "net": f"{PREFIX}-target",
                        "sandbox": f"{PREFIX}-c1",
                        "driver": "bridge",
                    },
                    **ways,
                }
                results["dockerd idle MiB"] = rss_mib(dockerd.proc.pid)
            run([PYCNM, "network", "ls"], envs["daemon"])  # warm: the page cache, the daemon's first request
            results["processes"] = whole_processes(n, ways)
            with contextlib.suppress(ImportError):
                results["docker-py -> pycnm daemon"] = docker_py(
                    n, daemon.socket, f"{PREFIX}-target", f"{PREFIX}-s1", driver
                )
                if dockerd is not None:
                    results["docker-py -> dockerd 20.10"] = docker_py(
                        n, dockerd.socket, f"{PREFIX}-target", f"{PREFIX}-c1", "bridge"
                    )
            if dockerd is not None:
                dockerd.stop()
                started = time.perf_counter()
                dockerd.start()
                results["dockerd cold"] = (
                    time.perf_counter() - started,
                    run([DOCKER_20, "-H", f"unix://{dockerd.socket}", "network", "ls"], env),
                )
        finally:
            if dockerd is not None:
                dockerd.cleanup()
                shutil.rmtree(dockerd.root, ignore_errors=True)
        results["pycnm idle MiB"] = rss_mib(daemon.proc.pid) if daemon.proc else 0.0
        results["pycnm cold"] = cold_start(daemon, envs["daemon"])
        results["pycnm idle after restart MiB"] = rss_mib(daemon.proc.pid) if daemon.proc else 0.0
        results["pycnm attached MiB"] = attached_memory(daemon, f"{PREFIX}-target", sandboxes, host_namespace=quick)
    return results


def start_dockerd(work: str) -> Any:
    from tests.dockerlab import available

    why = available()
    if why:
        raise SystemExit(f"the full run needs dockerd: {why} (or run --quick)")
    dockerd = dockerd_class()(tempfile.mkdtemp(prefix=f"{PREFIX}d", dir="/tmp"), dns="127.0.0.1")
    dockerd.start()
    dockerd.import_busybox("pycnm-bench/busybox")
    dockerd.docker("network", "create", f"{PREFIX}-home")
    dockerd.docker("network", "create", "--subnet", "10.253.0.0/24", f"{PREFIX}-target")
    dockerd.docker(
        "run", "-d", "--net", f"{PREFIX}-home", "--name", f"{PREFIX}-c1", "pycnm-bench/busybox", "sleep", "86400"
    )
    return dockerd


# ---- the report ---------------------------------------------------------------------------------


def table(r: dict[str, Any]) -> str:
    n, quick = r["n"], r["quick"]
    procs: dict[str, dict[str, list[float]]] = r["processes"]
    names = list(procs)
    docker_real = "docker 20.10 CLI -> dockerd 20.10"
    rows = [
        ("`network ls`", "ls"),
        ("`network connect` + `disconnect`", "connect"),
        ("`network create` + `rm`", "create"),
    ]
    head = f"| command (whole processes, median of {n}) | {' | '.join(names)} |"
    if docker_real in procs:
        head += " pycnm daemon / docker |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label, key in rows:
        cells = [median_ms(procs[w][key]) for w in names]
        line = f"| {label} | {' | '.join(cells)} |"
        if docker_real in procs:
            ratio = statistics.median(procs["pycnm CLI -> pycnm daemon"][key]) / statistics.median(
                procs[docker_real][key]
            )
            line += f" {ratio:.2f}× |"
        lines.append(line)
    ready, first, second = r["pycnm cold"]
    lines += ["", "| first command after a cold start | dockerd 20.10 | pycnm daemon |", "|---|---|---|"]
    docker_cold = r.get("dockerd cold")
    lines.append(
        f"| daemon started until it answers | {f'{ms(docker_cold[0]):.0f} ms' if docker_cold else '-'} |"
        f" {ms(ready):.0f} ms |"
    )
    lines.append(
        f"| its first `network ls` (whole process) | {f'{ms(docker_cold[1]):.1f} ms' if docker_cold else '-'}"
        f" | {ms(first):.1f} ms (the next: {ms(second):.1f} ms) |"
    )
    py_pycnm, py_docker = r.get("docker-py -> pycnm daemon"), r.get("docker-py -> dockerd 20.10")
    if py_pycnm:
        lines += [
            "",
            f"| docker-py 7, one client (median of {n}) | -> dockerd 20.10 | -> pycnm daemon |",
            "|---|---|---|",
        ]
        for label, key in (
            ("`networks.list()`", "ls"),
            ("`connect` + `disconnect`", "connect"),
            ("`networks.create()` + `remove()`", "create"),
        ):
            lines.append(
                f"| {label} | {median_ms(py_docker[key]) if py_docker else '-'} | {median_ms(py_pycnm[key])} |"
            )
    kind = "host-namespace sandboxes on a host network" if quick else "sandboxes on a bridge network"
    docker_idle = f"{r['dockerd idle MiB']:.0f} MiB" if "dockerd idle MiB" in r else "-"
    idle = f"{r['pycnm idle MiB']:.0f} MiB (after a restart: {r['pycnm idle after restart MiB']:.0f} MiB)"
    lines += [
        "",
        "| daemon memory (RSS) | dockerd 20.10 | pycnm daemon |",
        "|---|---|---|",
        f"| idle | {docker_idle} | {idle} |",
        f"| with {r['sandboxes']} {kind} attached | - | {r['pycnm attached MiB']:.0f} MiB |",
    ]
    if quick:
        note = (
            "Quick mode: no kernel objects (create + rm on `null` networks, connect + disconnect of a"
            " host-namespace sandbox on a `host` network) and no dockerd; the docker 20.10 CLI talks to the"
            " pycnm daemon, which shows the Go client's own start-up on this machine beside Python's."
        )
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="whole-process runs per figure (median)")
    parser.add_argument("--sandboxes", type=int, default=1000, help="sandboxes attached for the memory figure")
    parser.add_argument("--quick", action="store_true", help="no root, no kernel objects, no dockerd")
    parser.add_argument("--write", help="update this markdown file's section")
    args = parser.parse_args()
    if not os.access(PYCNM, os.X_OK):
        raise SystemExit(f"{PYCNM} is missing: run make venv")
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-", dir="/tmp") as work:
        if args.quick:
            results = measure(args.n, args.sandboxes, True, work)
        else:
            from pycnm.testing.hostns import StandInHost

            with StandInHost(f"/run/netns/{PREFIX}-host"):
                results = measure(args.n, args.sandboxes, False, work)
    text = table(results)
    print(text)
    if args.write:
        title = "The command line: docker's CLI, pycnm's CLI with and without its daemon"
        write_section(args.write, "cli", title + (" (quick: no kernel objects)" if args.quick else ""), text)


if __name__ == "__main__":
    main()
