"""Attach and detach N sandboxes to one bridge network: pycnm against the kernel floor and peers.

Everything runs in one process, side by side, inside a throwaway namespace standing in for the
host (nothing on the machine itself changes):

- kernel floor: one hand-packed netlink message makes the veth with its peer born in the
  namespace, enslaved and up; one deletes it (bench/_floor.py), as BENCHMARKS.md defines it;
- kernel floor, configured: the same, then the peer's address, link up and default route in one
  send: what a working endpoint needs at the least (its deletion costs more: the peer is up);
- pycnm: ``Controller.connect`` / ``disconnect`` through the public API (endpoint, IPAM, store,
  veth, addresses, routes, hosts and resolv.conf), on the embedded SQLite store;
- CNI 1.1 bridge plugin (host-local IPAM, no NAT) and netavark, where installed.

    python bench/attach.py [-n 100] [--write docs/benchmarks.md] [--plot docs/attach.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _floor import ConfiguredFloor, Floor
from _report import write_section
from pycnm import Controller
from pycnm.osl import netlink, netns
from pycnm.testing.hostns import StandInHost

PREFIX = "bn"
CNI_BIN = "/usr/lib/cni"
NETAVARK = "/usr/lib/podman/netavark"


def ms(seconds: float) -> float:
    return seconds * 1000.0


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
        "first": values[0],
        "last": values[-1],
        "tail_ratio": statistics.median(values[-10:]) / statistics.median(values[:10]),
    }


def make_namespaces(n: int, tag: str) -> list[str]:
    paths = [f"/run/netns/{PREFIX}{tag}-{i}" for i in range(n)]
    for path in paths:
        netns.create(path)
    return paths


def drop_namespaces(paths: list[str]) -> None:
    for path in paths:
        netlink.forget(path)
        netns.delete(path)


def bench_floor(n: int) -> tuple[list[float], list[float]]:
    ipr = netlink.host()
    ipr.link("add", ifname=f"{PREFIX}fbr", kind="bridge")
    master = ipr.link_lookup(ifname=f"{PREFIX}fbr")[0]
    ipr.link("set", index=master, state="up")
    paths = make_namespaces(n, "f")
    floor = Floor()
    attach, detach = [], []
    try:
        for i, path in enumerate(paths):
            fd = os.open(path, os.O_RDONLY)
            t = time.perf_counter()
            floor.add_veth(f"{PREFIX}fv{i}", "eth0", fd, master)
            attach.append(ms(time.perf_counter() - t))
            os.close(fd)
        for i in range(n):
            t = time.perf_counter()
            floor.delete(f"{PREFIX}fv{i}")
            detach.append(ms(time.perf_counter() - t))
    finally:
        floor.close()
        ipr.link("del", index=master)
        drop_namespaces(paths)
    return attach, detach


def bench_configured_floor(n: int) -> tuple[list[float], list[float]]:
    ipr = netlink.host()
    ipr.link("add", ifname=f"{PREFIX}gbr", kind="bridge")
    master = ipr.link_lookup(ifname=f"{PREFIX}gbr")[0]
    ipr.addr("add", index=master, address="10.203.0.1", prefixlen=16)
    ipr.link("set", index=master, state="up")
    paths = make_namespaces(n, "g")
    sockets = []
    for path in paths:  # a socket in each namespace, made before timing (pycnm makes it at sandbox creation)
        with netns.entered(path):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        sock.bind((0, 0))
        sockets.append(sock)
    floor = ConfiguredFloor()
    attach, detach = [], []
    try:
        for i, (path, sock) in enumerate(zip(paths, sockets, strict=True)):
            fd = os.open(path, os.O_RDONLY)
            t = time.perf_counter()
            floor.add_configured(
                f"{PREFIX}gv{i}", fd, master, sock, f"10.203.{i // 250}.{i % 250 + 2}", 16, "10.203.0.1"
            )
            attach.append(ms(time.perf_counter() - t))
            os.close(fd)
        for i in range(n):
            t = time.perf_counter()
            floor.delete(f"{PREFIX}gv{i}")
            detach.append(ms(time.perf_counter() - t))
    finally:
        floor.close()
        for sock in sockets:
            sock.close()
        ipr.link("del", index=master)
        drop_namespaces(paths)
    return attach, detach


def bench_pycnm(n: int, state: str) -> tuple[list[float], list[float], float]:
    attach, detach = [], []
    with Controller(state, netns_prefix=f"{PREFIX}p-", ifname_prefix=PREFIX, plugins=[]) as ctl:
        net = ctl.create_network("bench", "bridge", subnet="10.200.0.0/16")
        sandboxes = [ctl.create_sandbox(f"s{i}") for i in range(n)]
        for sb in sandboxes:
            t = time.perf_counter()
            ctl.connect(net, sb)
            attach.append(ms(time.perf_counter() - t))
        for sb in sandboxes:
            t = time.perf_counter()
            ctl.disconnect(net, sb)
            detach.append(ms(time.perf_counter() - t))
        for sb in sandboxes:
            ctl.connect(net, sb)
        t = time.perf_counter()
        ctl.delete_sandboxes(sandboxes)
        batch = ms(time.perf_counter() - t) / n
        net.delete()
    return attach, detach, batch


def bench_cni(n: int, workdir: str) -> tuple[list[float], list[float]] | None:
    plugin = os.path.join(CNI_BIN, "bridge")
    if not os.access(plugin, os.X_OK):
        return None
    conf = json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "bench",
            "type": "bridge",
            "bridge": f"{PREFIX}cbr",
            "isGateway": True,
            "ipMasq": False,
            "ipam": {"type": "host-local", "subnet": "10.201.0.0/16", "dataDir": os.path.join(workdir, "cni")},
        }
    )
    paths = make_namespaces(n, "c")
    attach, detach = [], []

    def call(command: str, i: int, path: str) -> None:
        env = dict(
            os.environ,
            CNI_COMMAND=command,
            CNI_CONTAINERID=f"bench{i}",
            CNI_NETNS=path,
            CNI_IFNAME="eth0",
            CNI_PATH=CNI_BIN,
        )
        out = subprocess.run([plugin], input=conf, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"CNI {command}: {out.stdout} {out.stderr}")

    try:
        for i, path in enumerate(paths):
            t = time.perf_counter()
            call("ADD", i, path)
            attach.append(ms(time.perf_counter() - t))
        for i, path in enumerate(paths):
            t = time.perf_counter()
            call("DEL", i, path)
            detach.append(ms(time.perf_counter() - t))
    finally:
        drop_namespaces(paths)
        if netlink.host().link_lookup(ifname=f"{PREFIX}cbr"):
            netlink.host().link("del", ifname=f"{PREFIX}cbr")
    return attach, detach


def bench_netavark(n: int, workdir: str) -> tuple[list[float], list[float]] | None:
    if not os.access(NETAVARK, os.X_OK) or shutil.which("iptables") is None:
        return None
    paths = make_namespaces(n, "n")
    config = os.path.join(workdir, "netavark")
    os.makedirs(config, exist_ok=True)
    attach, detach = [], []

    def options(i: int) -> str:
        return json.dumps(
            {
                "container_id": f"{i:064x}",
                "container_name": f"bench{i}",
                "networks": {"bench": {"static_ips": [f"10.202.{i // 250}.{i % 250 + 2}"], "interface_name": "eth0"}},
                "network_info": {
                    "bench": {
                        "name": "bench",
                        "id": "f" * 64,
                        "driver": "bridge",
                        "network_interface": f"{PREFIX}nbr",
                        "subnets": [{"subnet": "10.202.0.0/16", "gateway": "10.202.0.1"}],
                        "ipv6_enabled": False,
                        "internal": False,
                        "dns_enabled": False,
                        "ipam_options": {"driver": "host-local"},
                    }
                },
            }
        )

    def call(command: str, i: int, path: str) -> None:
        out = subprocess.run(
            [NETAVARK, "--config", config, command, path], input=options(i), capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"netavark {command}: {out.stdout} {out.stderr}")

    try:
        for i, path in enumerate(paths):
            t = time.perf_counter()
            call("setup", i, path)
            attach.append(ms(time.perf_counter() - t))
        for i, path in enumerate(paths):
            t = time.perf_counter()
            call("teardown", i, path)
            detach.append(ms(time.perf_counter() - t))
    finally:
        drop_namespaces(paths)
        if netlink.host().link_lookup(ifname=f"{PREFIX}nbr"):
            netlink.host().link("del", ifname=f"{PREFIX}nbr")
    return attach, detach


def table(n: int, results: dict) -> str:
    floors = [k for k in ("kernel floor", "kernel floor, configured") if k in results]
    heads = " | ".join(f"attach × {k.replace('kernel ', '')}" for k in floors)
    dheads = " | ".join(f"detach × {k.replace('kernel ', '')}" for k in floors)
    lines = [
        f"Attaching then detaching {n} namespaces one by one to one bridge, in one run.",
        "",
        f"| who | attach median | p95 | {heads} | last 10 / first 10 | detach median | p95 | {dheads} |",
        "|---|---|---|" + "---|" * len(floors) + "---|---|---|" + "---|" * len(floors),
    ]
    for who, (att, det, *_rest) in results.items():
        a, d = stats(att), stats(det)
        ratios = " | ".join(f"{a['median'] / stats(results[k][0])['median']:.1f}×" for k in floors)
        dratios = " | ".join(f"{d['median'] / stats(results[k][1])['median']:.2f}×" for k in floors)
        lines.append(
            f"| {who} | {a['median']:.2f} ms | {a['p95']:.2f} ms | {ratios} | {a['tail_ratio']:.2f}× |"
            f" {d['median']:.2f} ms | {d['p95']:.2f} ms | {dratios} |"
        )
    if "pycnm" in results and len(results["pycnm"]) > 2:
        lines += [
            "",
            f"pycnm batched teardown (deleting {n} sandboxes in one call): {results['pycnm'][2]:.2f} ms per endpoint.",
        ]
    return "\n".join(lines)


def plot(path: str, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    for who, (att, *_rest) in results.items():
        ax.plot(range(1, len(att) + 1), att, label=who, linewidth=1)
    ax.set_xlabel("ports on the bridge")
    ax.set_ylabel("attach latency (ms)")
    ax.set_yscale("log")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--only", default="floor,pycnm,cni,netavark")
    parser.add_argument("--write", help="update this markdown file's section")
    parser.add_argument("--plot", help="write a PNG of attach latency against port count")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results: dict = {}
    with tempfile.TemporaryDirectory() as work, StandInHost(f"/run/netns/{PREFIX}-host"):
        if "floor" in only:
            results["kernel floor"] = bench_floor(args.n)
            results["kernel floor, configured"] = bench_configured_floor(args.n)
        if "pycnm" in only:
            results["pycnm"] = bench_pycnm(args.n, os.path.join(work, "state"))
        if "cni" in only:
            got = bench_cni(args.n, work)
            if got:
                results["CNI 1.1 bridge"] = got
        if "netavark" in only:
            got = bench_netavark(args.n, work)
            if got:
                results["netavark 1.4"] = got
    text = table(args.n, results)
    print(text)
    if args.write:
        write_section(args.write, f"attach-{args.n}", f"Attach and detach, {args.n} sandboxes", text)
    if args.plot:
        plot(args.plot, results)


if __name__ == "__main__":
    main()
