"""Creating, listing and deleting bridge networks as their number grows to N (default 1000).

Runs inside a throwaway namespace standing in for the host, on the embedded SQLite store, through
the public Controller API: each create makes a bridge, its addresses, its IPAM pool and its
elements in pycnm's nftables table. BENCHMARKS.md's goals: create <= 10 ms, and <= 1.2x with 1000
networks there; delete <= 10 ms, flat; list at 1000 <= 10 ms. Beside it, the kernel's own cost
of deleting a bridge that has an address (raw netlink), with few links and with N networks there.

    python bench/networks.py [-n 1000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _report import write_section
from pycnm import Controller
from pycnm.osl import netlink
from pycnm.testing.hostns import StandInHost

PREFIX = "bw"


def ms(seconds: float) -> float:
    return seconds * 1000.0


def subnet(i: int) -> str:
    return f"10.{100 + i // 256}.{i % 256}.0/24"


def kernel_delete(count: int = 10) -> float:
    """Median time the kernel takes to delete a bridge with an address and up (one RTM_DELLINK)."""
    times = []
    for i in range(count):
        name = f"{PREFIX}k{i}"
        netlink.batch("", lambda b, name=name: b.link_add(name, "bridge", address="02:42:00:00:00:01", mtu=1500))
        index = netlink.index("", name)
        netlink.batch(
            "",
            lambda b, index=index, i=i: b.addr_add(index, ipaddress.ip_address(f"10.99.{i}.1"), 24).link_set(
                index, up=True
            ),
        )
        t = time.perf_counter()
        netlink.batch("", lambda b, name=name: b.link_del(name))
        times.append(ms(time.perf_counter() - t))
    return statistics.median(times)


def run(n: int, state: str) -> dict[str, float]:
    creates, deletes, lists = [], [], []
    floor_few = kernel_delete()
    with Controller(state, netns_prefix=f"{PREFIX}p-", ifname_prefix=PREFIX, plugins=[]) as ctl:
        nets = []
        for i in range(n):
            t = time.perf_counter()
            nets.append(ctl.create_network(f"n{i}", "bridge", subnet=subnet(i)))
            creates.append(ms(time.perf_counter() - t))
            if i in (0, n - 1):
                for _ in range(5):
                    t = time.perf_counter()
                    listed = ctl.networks()
                    lists.append((i + 1, ms(time.perf_counter() - t)))
                assert len(listed) == i + 1
        floor_many = kernel_delete()
        for net in reversed(nets):  # the last made goes first: the first delete sees all n
            t = time.perf_counter()
            net.delete()
            deletes.append(ms(time.perf_counter() - t))
    head, tail = slice(0, 10), slice(-10, None)
    deletes.reverse()  # deletes[i]: with i + 1 networks there
    return {
        "create_first": statistics.median(creates[head]),
        "create_last": statistics.median(creates[tail]),
        "create_median": statistics.median(creates),
        "delete_first": statistics.median(deletes[head]),
        "delete_last": statistics.median(deletes[tail]),
        "floor_few": floor_few,
        "floor_many": floor_many,
        "list_1": statistics.median(v for k, v in lists if k == 1),
        "list_n": statistics.median(v for k, v in lists if k == n),
    }


def table(n: int, r: dict[str, float]) -> str:
    return "\n".join(
        [
            f"Bridge networks made one by one up to {n}, then deleted one by one (last made first).",
            "",
            f"| operation | with 1-10 networks there | with {n - 9}-{n} there | ratio | goal |",
            "|---|---|---|---|---|",
            (
                f"| create (median) | {r['create_first']:.2f} ms | {r['create_last']:.2f} ms |"
                f" {r['create_last'] / r['create_first']:.2f}× | ≤ 10 ms, ≤ 1.2× at 1000 |"
            ),
            (
                f"| delete (median) | {r['delete_first']:.2f} ms | {r['delete_last']:.2f} ms |"
                f" {r['delete_last'] / r['delete_first']:.2f}× | ≤ 10 ms, flat |"
            ),
            (
                f"| kernel: delete a bridge with an address (median of 10) | {r['floor_few']:.2f} ms |"
                f" {r['floor_many']:.2f} ms | {r['floor_many'] / r['floor_few']:.2f}× | |"
            ),
            f"| list all (median of 5) | {r['list_1']:.2f} ms (1) | {r['list_n']:.2f} ms ({n}) | | ≤ 10 ms at 1000 |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--write", help="update this markdown file's section")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, StandInHost(f"/run/netns/{PREFIX}-host"):
        result = run(args.n, os.path.join(work, "state"))
    text = table(args.n, result)
    print(text)
    if args.write:
        write_section(args.write, "networks", f"Networks: create, delete and list up to {args.n}", text)


if __name__ == "__main__":
    main()
