"""CNI ADD and DEL exec'd as a runtime execs them: pycnm-cni (through ``pycnm daemon``, on a pycnm
bridge network) against Debian's Go ``bridge`` + ``host-local`` on the same kind of network, taking
turns in one run; then 50 ADDs at once for each; then, where podman is installed, ``podman run
--rm`` on a pycnm network against podman's own CNI bridge network.

Everything runs inside a throwaway namespace standing in for the host (the daemon too), and the
"containers" are namespaces made for each attachment, outside the timing.

    python bench/cni.py [-n 100] [--podman 10] [--write docs/benchmarks.md]     # as root
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _report import write_section
from pycnm import Controller
from pycnm.cni import spec
from pycnm.osl import netns
from pycnm.testing.hostns import StandInHost

PREFIX = "bq"
GO_BIN = "/usr/lib/cni"
PATH_ENV = "/usr/sbin:/usr/bin:/sbin:/bin"


class Side:
    """One plugin set-up: its executable, its config, the environment it runs with."""

    def __init__(self, label: str, executable: str, config: dict, cni_path: str) -> None:
        self.label, self.executable, self.cni_path = label, executable, cni_path
        self.stdin = json.dumps(config).encode()

    def run(self, command: str, cid: str, netns_path: str) -> float:
        env = {
            "PATH": PATH_ENV,
            "CNI_PATH": self.cni_path,
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": cid,
            "CNI_NETNS": netns_path,
            "CNI_IFNAME": "eth0",
        }
        started = time.perf_counter()
        out = subprocess.run(
            [self.executable], input=self.stdin, env=env, capture_output=True, timeout=120, check=False
        )
        took = time.perf_counter() - started
        if out.returncode != 0:
            raise SystemExit(f"{self.label} {command} failed: {out.stdout.decode()} {out.stderr.decode()}")
        return took


def namespaces(tag: str, n: int) -> list[str]:
    paths = [f"/run/netns/{PREFIX}{tag}{i}" for i in range(n)]
    for path in paths:
        netns.create(path)
    return paths


def drop(paths: list[str]) -> None:
    for path in paths:
        netns.delete(path)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def serial(sides: list[Side], n: int) -> dict[str, dict[str, list[float]]]:
    """n ADDs then DELs of each side, one attachment at a time, the sides taking turns."""
    times = {s.label: {"ADD": [], "DEL": []} for s in sides}
    for i in range(n):
        for k, side in enumerate(sides):
            path = f"/run/netns/{PREFIX}s{k}x{i}"
            netns.create(path)
            try:
                times[side.label]["ADD"].append(side.run("ADD", f"serial{k}x{i}", path))
                times[side.label]["DEL"].append(side.run("DEL", f"serial{k}x{i}", path))
            finally:
                netns.delete(path)
    return times


def parallel(side: Side, tag: str, n: int = 50) -> float:
    """n ADDs at once (then their DELs, untimed); ADDs per second."""
    paths = namespaces(tag, n)
    try:
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda i: side.run("ADD", f"{tag}{i}", paths[i]), range(n)))
        took = time.perf_counter() - started
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda i: side.run("DEL", f"{tag}{i}", paths[i]), range(n)))
    finally:
        drop(paths)
    return n / took


def podman_runs(work: str, bindir: str, state: str, sock: str, host: str, n: int) -> dict[str, list[float]]:
    """``podman run --rm`` on the pycnm network, on a network podman made itself, and on none."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from tests.cniclients import PodmanEnv, busybox_rootfs

    conf = os.path.join(work, "net.d")
    os.makedirs(conf)
    with open(os.path.join(conf, "bench.conflist"), "w") as fh:
        json.dump(spec.conflist("bench", socket=sock, state_dir=state), fh)
    rootfs = busybox_rootfs(os.path.join(work, "rootfs"))
    for name in ("bridge", "host-local", "portmap", "firewall", "tuning"):
        os.symlink(os.path.join(GO_BIN, name), os.path.join(bindir, name))
    out: dict[str, list[float]] = {"pycnm": [], "podman": [], "none": []}
    with PodmanEnv(work, bindir, conf, netns=host, name=f"{PREFIX}pm") as pm:
        pm.run("network", "create", "--subnet", "10.218.0.0/24", "own", check=True)
        for i in range(n + 1):
            for key, network in (("pycnm", "bench"), ("podman", "own"), ("none", "none")):
                started = time.perf_counter()
                pm.run("run", "--rm", "--network", network, "--rootfs", rootfs, "/bin/true", check=True)
                if i:  # the first round warms the page cache and podman's storage
                    out[key].append(time.perf_counter() - started)
    return out


def start_daemon(state: str, sock: str, host: str, log: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        PYCNM_STATE_DIR=state,
        PYCNM_NETNS_PREFIX=f"{PREFIX}-",
        PYCNM_IFNAME_PREFIX=PREFIX,
        PYCNM_DISABLE_PLUGINS="1",
    )
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                "nsenter",
                f"--net={host}",
                sys.executable,
                "-m",
                "pycnm.cli",
                "daemon",
                "--no-dns",
                "-H",
                f"unix://{sock}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while not os.path.exists(sock) or not _pings(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            with open(log) as fh:
                raise SystemExit(f"the daemon did not start: {fh.read()[-2000:]}")
        time.sleep(0.05)
    return proc


def _pings(sock: str) -> bool:
    import socket

    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(sock)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: pycnm\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="serial ADD+DEL pairs per side")
    parser.add_argument("--podman", type=int, default=10, help="podman run --rm per network (0: none)")
    parser.add_argument("--write", help="update this markdown file's section")
    args = parser.parse_args()
    import pycnm_cni_plugin

    host = f"/run/netns/{PREFIX}host"  # not "<prefix>-": the Controller reaps those
    with tempfile.TemporaryDirectory() as work, StandInHost(host):
        state, sock = os.path.join(work, "state"), os.path.join(work, "d.sock")
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        plugin = pycnm_cni_plugin.install(bindir, python="/usr/bin/python3", compiled=True)
        with Controller(state, netns_prefix=f"{PREFIX}-", ifname_prefix=PREFIX, plugins=[]) as ctl:
            ctl.create_network(
                "bench", "bridge", subnet="10.216.0.0/16", options={"com.docker.network.bridge.name": f"{PREFIX}br0"}
            )
        daemon = start_daemon(state, sock, host, os.path.join(work, "daemon.log"))
        try:
            conf = spec.conflist("bench", socket=sock, state_dir=state)["plugins"][0]
            ours = Side(
                "pycnm-cni (compiled) → pycnm daemon",
                plugin,
                dict(conf, name="bench", cniVersion="1.0.0"),
                f"{bindir}:{GO_BIN}",
            )
            go = Side(
                "Debian Go bridge + host-local",
                os.path.join(GO_BIN, "bridge"),
                {
                    "cniVersion": "1.0.0",
                    "name": "gobench",
                    "type": "bridge",
                    "bridge": f"{PREFIX}br1",
                    "isGateway": True,
                    "ipMasq": True,
                    "ipam": {
                        "type": "host-local",
                        "subnet": "10.217.0.0/16",
                        "dataDir": os.path.join(work, "host-local"),
                    },
                },
                GO_BIN,
            )
            for side in (ours, go):  # warm: the first exec pays the page cache, the bridge is made
                serial([side], 2)
            times = serial([ours, go], args.n)
            rates = {ours.label: parallel(ours, "po"), go.label: parallel(go, "pg")}
            runs = podman_runs(work, bindir, state, sock, host, args.podman) if args.podman else {}
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            with Controller(state, netns_prefix=f"{PREFIX}-", ifname_prefix=PREFIX, plugins=[]) as ctl:
                for net in ctl.networks():
                    net.delete()
    lines = [
        "| CNI plugin, exec'd | ADD (median) | DEL (median) | ADD + DEL | × Go | 50 ADDs at once |",
        "|---|---|---|---|---|---|",
    ]
    go_pair = median_ms(times[go.label]["ADD"]) + median_ms(times[go.label]["DEL"])
    for side in (ours, go):
        add, rm = median_ms(times[side.label]["ADD"]), median_ms(times[side.label]["DEL"])
        lines.append(
            f"| {side.label} | {add:.1f} ms | {rm:.1f} ms | {add + rm:.1f} ms | {(add + rm) / go_pair:.2f}"
            f" | {rates[side.label]:.0f} ADD/s |"
        )
    lines.append("")
    lines.append(
        f"{args.n} ADD+DEL pairs per side, taking turns; each attachment in a namespace made for it"
        " (untimed); both networks are bridges with a gateway and masquerading to the outside (pycnm's"
        " by a rule per network, the Go plugin's by iptables chains per container)."
    )
    if runs:
        lines += [
            "",
            "| `podman run --rm ... /bin/true` (podman 4.3.1, CNI backend) | median | × podman's own |",
            "|---|---|---|",
        ]
        own = statistics.median(runs["podman"])
        for key, label in (
            ("pycnm", "on a pycnm bridge network (pycnm-cni)"),
            ("podman", "on podman's own CNI bridge network (`podman network create`)"),
            ("none", "with `--network none` (the floor)"),
        ):
            lines.append(
                f"| {label} | {statistics.median(runs[key]) * 1e3:.0f} ms | {statistics.median(runs[key]) / own:.2f} |"
            )
        lines.append("")
        lines.append(f"{args.podman} runs each, taking turns.")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(
            args.write, "cni", "CNI: pycnm-cni against Debian's bridge plugin, exec'd as a runtime does", text
        )


if __name__ == "__main__":
    main()
