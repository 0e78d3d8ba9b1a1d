"""Overlay convergence and scale: how soon a join on one host is reachable from another, and what
a cluster of 5 hosts x 50 endpoints costs.

The cluster is pycnm.testing.multihost.Cluster: hosts as namespaces on one underlay bridge, an
etcd member per namespace, a Controller and a ``pycnm daemon`` per host. Nothing leaves these
namespaces.

- convergence: every host has a probe sandbox on the network; then N sandboxes join one by one,
  round robin over the hosts. For each, the clock starts when ``connect`` returns on host A and
  stops at the first echo reply the probe of host B (the next host) gets from it; the probe sends
  an echo request every 0.5 ms. Its ARP retransmit time is 10 ms (the kernel's default, 1 s,
  would measure ARP's retries instead of pycnm: a probe's first ARP goes unanswered when it
  comes before B's daemon has programmed the peer);
- scale: H hosts x E endpoints on one network, joined host by host in parallel; converged when
  every host's overlay namespace holds an FDB entry for every remote endpoint; then a full-mesh
  check (every sandbox pings every other, ICMP from raw sockets, with the sandboxes' neighbour
  entries written beforehand: all hosts share this kernel's ARP table, capped at 1024 learnt
  entries machine-wide) and each daemon's RSS.

    python bench/overlay.py [--converge 100] [--hosts 5 --endpoints 50] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from _report import write_section
from pycnm.osl import netlink, netns
from pycnm.testing.multihost import Cluster

PREFIX = "bov"
SOL_RAW, ICMP_FILTER, SO_RCVBUFFORCE = 255, 1, 33


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header), ident, seq)


class Prober:
    """Raw ICMP sockets opened inside sandboxes (a socket stays in the namespace it was made in)."""

    def __init__(self, key: str, fast_arp: bool = True) -> None:
        with netns.entered(key):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            # echo replies only (the kernel answers the requests; a raw socket would queue them
            # too, and a full mesh's worth overflows its buffer), and room for a mesh's replies
            self.sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~1 & 0xFFFFFFFF))
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
            if fast_arp:
                with open("/proc/sys/net/ipv4/neigh/eth0/retrans_time_ms", "w") as fh:
                    fh.write("10")
        self.sock.setblocking(False)
        self.ident = id(self) & 0xFFFF

    def send(self, address: str, seq: int = 1) -> None:
        try:
            self.sock.sendto(echo_request(self.ident, seq), (address, 0))
        except OSError:
            pass  # no neighbour yet (EHOSTUNREACH): the next one

    def replies(self) -> set[str]:
        """Sources of the echo replies waiting on the socket."""
        got = set()
        while True:
            try:
                data, (source, _) = self.sock.recvfrom(2048)
            except BlockingIOError:
                return got
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, ident, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if kind == 0 and ident == self.ident:
                got.add(source)

    def close(self) -> None:
        self.sock.close()


def first_reply(prober: Prober, address: str, timeout: float = 10.0) -> float | None:
    """Seconds until ``address`` answers, probing every 0.5 ms."""
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < timeout:
        seq += 1
        prober.send(address, seq & 0xFFFF)
        select.select([prober.sock], [], [], 0.0005)
        if address in prober.replies():
            return time.perf_counter() - start
    return None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_convergence(n: int, workdir: str) -> dict:
    with Cluster(PREFIX, workdir, hosts=3, etcd_members=3, lease=10) as cluster:
        hosts = list(cluster.hosts.values())
        hosts[0].call(lambda: hosts[0].ctl.create_network("conv", "overlay", subnet="10.160.0.0/22"))
        probes = []
        for host in hosts:
            sb = host.call(lambda h=host: h.ctl.create_sandbox(f"probe-{h.name}"))
            host.call(lambda h=host, s=sb: h.ctl.connect("conv", s))
            probes.append((sb, Prober(sb.key)))
        # the probes see each other before the clock runs (the daemons have started)
        for i, (_, prober) in enumerate(probes):
            other = hosts[(i + 1) % 3].call(lambda h=hosts[(i + 1) % 3]: h.ctl.sandboxes()[0])
            address = str(other.endpoints()[0].address.ip) if other.endpoints() else None
            if address is None or first_reply(prober, address, 30) is None:
                raise SystemExit("the probes never reached each other: the daemons are not working")
        joins, converge, total, missed = [], [], [], 0
        for i in range(n):
            a = hosts[i % 3]  # B, the probe that measures, is the next host
            sb = a.call(lambda a=a, i=i: a.ctl.create_sandbox(f"s{i}"))
            start = time.perf_counter()
            ep = a.call(lambda a=a, s=sb: a.ctl.connect("conv", s))
            joins.append(time.perf_counter() - start)
            took = first_reply(probes[(i + 1) % 3][1], str(ep.address.ip))
            if took is None:
                missed += 1
            else:
                converge.append(took)
                total.append(joins[-1] + took)
        rss = {h.name: h.memory_kib() for h in hosts}
        for _, prober in probes:
            prober.close()
    return {"n": n, "joins": joins, "converge": converge, "total": total, "missed": missed, "rss": rss}


def remote_fdb_count(path: str) -> int:
    sock = netlink.ns(path)
    vx = sock.link_lookup(ifname="vxlan0")
    if not vx:
        return 0
    return sum(1 for e in sock.fdb("dump", ifindex=vx[0]) if e.get_attr("NDA_DST") and e["ifindex"] == vx[0])


def bench_scale(host_count: int, per_host: int, workdir: str) -> dict:
    with Cluster(PREFIX, workdir, hosts=host_count, etcd_members=3, lease=10) as cluster:
        hosts = list(cluster.hosts.values())
        net = hosts[0].call(lambda: hosts[0].ctl.create_network("scale", "overlay", subnet="10.170.0.0/20"))
        sandboxes: dict[str, list] = {h.name: [] for h in hosts}

        def populate(host):
            for j in range(per_host):
                sb = host.call(lambda h=host, j=j: h.ctl.create_sandbox(f"{h.name}-{j}"))
                ep = host.call(lambda h=host, s=sb: h.ctl.connect("scale", s))
                sandboxes[host.name].append((sb, ep))

        start = time.perf_counter()
        threads = [threading.Thread(target=populate, args=(h,)) for h in hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        joined = time.perf_counter()
        remote = per_host * (host_count - 1)
        planes = {h.name: f"/run/netns/{h.ctl.ifname_prefix}ov{h.ctl.instance_id[:6]}-{net.id[:10]}" for h in hosts}
        deadline = joined + 120
        while time.perf_counter() < deadline:
            if all(h.call(lambda p=planes[h.name]: remote_fdb_count(p)) == remote for h in hosts):
                break
            time.sleep(0.01)
        converged = time.perf_counter()
        # full mesh: every sandbox pings every other. The sandboxes get permanent neighbour
        # entries for the others first: the five "hosts" share this machine's kernel, whose ARP
        # table holds at most gc_thresh3 (1024) learnt entries across all namespaces, and a mesh
        # of 250 needs 62,250 (on real hosts each kernel has its own table)
        everyone = [(sb, str(ep.address.ip)) for pairs in sandboxes.values() for sb, ep in pairs]
        macs = {str(ep.address.ip): ep.mac for pairs in sandboxes.values() for _, ep in pairs}
        for sb, mine in everyone:
            lines = "".join(
                f"neigh replace {ip} lladdr {mac} dev eth0 nud permanent\n" for ip, mac in macs.items() if ip != mine
            )
            subprocess.run(["nsenter", f"--net={sb.key}", "ip", "-batch", "-"], input=lines, text=True, check=True)
        probers = [(Prober(sb.key, fast_arp=True), address) for sb, address in everyone]
        pending = {(i, dst) for i, (_, mine) in enumerate(probers) for _, dst in everyone if dst != mine}
        mesh_start = time.perf_counter()
        rounds = 0
        while pending and time.perf_counter() - mesh_start < 60:
            rounds += 1
            for i, dst in pending:
                probers[i][0].send(dst, rounds)
            time.sleep(0.2)
            for i, (prober, _) in enumerate(probers):
                for source in prober.replies():
                    pending.discard((i, source))
        mesh = time.perf_counter() - mesh_start
        for prober, _ in probers:
            prober.close()
        rss = {h.name: h.memory_kib() for h in hosts}
    return {
        "hosts": host_count,
        "per_host": per_host,
        "join_all": joined - start,
        "converge": converged - joined,
        "converged": converged < deadline,
        "pairs": len(everyone) * (len(everyone) - 1),
        "unreached": len(pending),
        "mesh_seconds": mesh,
        "mesh_rounds": rounds,
        "rss": rss,
    }


def report(conv: dict | None, scale: dict | None) -> str:
    lines = []
    if conv:
        c = [x * 1000 for x in conv["converge"]]
        j = [x * 1000 for x in conv["joins"]]
        t = [x * 1000 for x in conv["total"]]
        lines += [
            f"### Convergence: {conv['n']} joins, 3 hosts (etcd of 3 members)",
            "",
            "| measure | p50 | p95 | p99 | max | goal |",
            "|---|---|---|---|---|---|",
            (
                f"| join on A returns -> first echo reply from B's probe (ms) | {statistics.median(c):.1f} |"
                f" {pct(c, 0.95):.1f} | {pct(c, 0.99):.1f} | {max(c):.1f} | p50 <= 50, p99 <= 200 |"
            ),
            (
                f"| `connect` on A (sandbox join, ms) | {statistics.median(j):.1f} | {pct(j, 0.95):.1f} |"
                f" {pct(j, 0.99):.1f} | {max(j):.1f} | |"
            ),
            (
                f"| `connect` on A starts -> first echo reply from B's probe (ms) | {statistics.median(t):.1f} |"
                f" {pct(t, 0.95):.1f} | {pct(t, 0.99):.1f} | {max(t):.1f} | |"
            ),
            "",
            f"Unreached within 10 s: {conv['missed']}. Daemon RSS after: "
            + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in conv["rss"].items())
            + ".",
            "",
        ]
    if scale:
        rss = list(scale["rss"].values())
        lines += [
            f"### Scale: {scale['hosts']} hosts x {scale['per_host']} endpoints on one network",
            "",
            "| measure | value |",
            "|---|---|",
            f"| all {scale['hosts'] * scale['per_host']} joins (hosts in parallel) | {scale['join_all']:.2f} s |",
            (
                f"| last join -> every host programmed every remote endpoint | {scale['converge'] * 1000:.0f} ms"
                f"{'' if scale['converged'] else ' (did not converge in 120 s)'} |"
            ),
            (
                f"| full mesh: pairs checked / unreached | {scale['pairs']} / {scale['unreached']}"
                f" ({scale['mesh_rounds']} round(s), {scale['mesh_seconds']:.1f} s) |"
            ),
            f"| daemon RSS (min / max) | {min(rss) / 1024:.1f} / {max(rss) / 1024:.1f} MiB |",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--converge", type=int, default=100, help="joins to time (0: skip)")
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--endpoints", type=int, default=50, help="per host, for the scale run (0: skip)")
    parser.add_argument("--write", help="update this markdown file's section")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bov") as tmp:
        conv = bench_convergence(args.converge, os.path.join(tmp, "c")) if args.converge else None
        scale = bench_scale(args.hosts, args.endpoints, os.path.join(tmp, "s")) if args.endpoints else None
    text = report(conv, scale)
    print(text)
    if args.write:
        write_section(args.write, "overlay", "Overlay: convergence and scale", text)


if __name__ == "__main__":
    main()
