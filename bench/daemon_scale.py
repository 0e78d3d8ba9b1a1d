"""Does a connect through ``pycnm daemon`` cost more as sandboxes pile up? With and without the
embedded DNS, side by side in one run.

    python bench/daemon_scale.py [--sandboxes 1000] [--write docs/benchmarks.md]   # as root

For each side (``pycnm daemon`` with its embedded DNS, and with ``--no-dns``): a daemon on a
state directory of its own, in a throwaway namespace standing in for the host; a bridge
network; then ``--sandboxes`` times a sandbox created and connected through the Engine API (one
keep-alive client, as docker-py is), timed by hundreds; the daemon's RSS with all of them
attached; the time a restarted daemon takes to answer; and the time to delete them all in one
request. The sides take turns by hundreds,
so that the machine's noise falls on both alike.

What it answers: whether a create+connect costs the same at the 1000th sandbox as at the first
(it cost 38 ms per create+connect for the first hundred and 112 ms for the fourth, with the
DNS, before the DNS service read only what changed), and what the DNS costs per sandbox.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _report import write_section
from cli import PycnmDaemon, api, rss_mib
from pycnm.testing.hostns import StandInHost

PREFIX = "bscl"
SIDES = ("with the embedded DNS", "--no-dns")


class Side:
    def __init__(self, label: str, work: str, index: int) -> None:
        self.label = label
        env = dict(
            os.environ,
            PYCNM_DISABLE_PLUGINS="1",
            PYCNM_NETNS_PREFIX=f"{PREFIX}{index}-",
            PYCNM_IFNAME_PREFIX=f"{PREFIX}{index}",
            PYCNM_RESOLV_CONF=os.path.join(work, "no-servers.conf"),  # nothing is forwarded here
        )
        for name in ("PYCNM_HOST", "PYCNM_STATE_DIR", "PYCNM_CLUSTER_STORE"):
            env.pop(name, None)
        self.daemon = PycnmDaemon(os.path.join(work, f"side{index}"), env, () if index == 0 else ("--no-dns",))
        self.subnet = f"10.24{index}.0.0/16"
        self.names: list[str] = []
        self.hundreds: list[float] = []  # ms per create+connect, by hundred
        self.rss = 0.0
        self.delete_s = 0.0
        self.restart_s = 0.0

    def start(self) -> None:
        self.daemon.start()
        self.call = api(self.daemon.socket)
        self.call("POST", "/networks/create", {"Name": f"{PREFIX}-net", "IPAM": {"Config": [{"Subnet": self.subnet}]}})

    def hundred(self) -> None:
        start = len(self.names)
        began = time.perf_counter()
        for i in range(start, start + 100):
            name = f"{PREFIX}-s{i}"
            self.call("POST", "/pycnm/v1/sandboxes/create", {"Name": name})
            self.call("POST", f"/networks/{PREFIX}-net/connect", {"Container": name})
            self.names.append(name)
        self.hundreds.append((time.perf_counter() - began) / 100 * 1000)

    def finish(self) -> None:
        assert self.daemon.proc is not None
        self.rss = rss_mib(self.daemon.proc.pid)
        # a restart over them all: until the new daemon answers (its services, the DNS's first
        # pass over every sandbox among them, start before it serves)
        self.daemon.stop()
        self.restart_s = self.daemon.start()
        self.call = api(self.daemon.socket)
        began = time.perf_counter()
        self.call("POST", "/pycnm/v1/sandboxes/delete", {"Names": self.names, "Force": True})
        self.delete_s = time.perf_counter() - began
        self.names = []
        self.call("DELETE", f"/networks/{PREFIX}-net")

    def stop(self) -> None:
        if self.names:
            try:
                self.call("POST", "/pycnm/v1/sandboxes/delete", {"Names": self.names, "Force": True})
                self.call("DELETE", f"/networks/{PREFIX}-net")
            except Exception as exc:  # noqa: BLE001 - the daemon's own stop removes the rest
                print(f"clean-up of {self.label}: {exc}", file=sys.stderr)
        self.daemon.stop()


def report(sides: list[Side], count: int) -> str:
    lines = [
        (
            "| pycnm daemon | create+connect, first 100 | median of the hundreds | last 100 |"
            f" RSS with {count} attached | restart with {count} | delete all {count} |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for side in sides:
        h = side.hundreds
        lines.append(
            f"| {side.label} | {h[0]:.1f} ms | {statistics.median(h):.1f} ms | {h[-1]:.1f} ms |"
            f" {side.rss:.0f} MiB | {side.restart_s:.1f} s | {side.delete_s:.1f} s |"
        )
    dns, plain = sides
    lines += [
        "",
        "By hundred (ms per create+connect): "
        + "; ".join(f"{s.label}: {', '.join(f'{v:.1f}' for v in s.hundreds)}" for s in sides)
        + ".",
        "",
        (
            f"The embedded DNS costs {statistics.median(dns.hundreds) - statistics.median(plain.hundreds):.1f} ms"
            " per create+connect (its sockets and table in the sandbox, the resolv.conf, a pass over what"
            f" changed) and {(dns.rss - plain.rss) / count * 1024:.0f} KiB per sandbox. One keep-alive Engine"
            " API client, the sides in turn by hundreds, each daemon in a stand-in host namespace of its own."
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandboxes", type=int, default=1000, help="a multiple of 100")
    parser.add_argument("--write", help="update this markdown file's section")
    args = parser.parse_args()
    count = max(100, args.sandboxes // 100 * 100)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-", dir="/tmp") as work:
        with open(os.path.join(work, "no-servers.conf"), "w"):
            pass
        with StandInHost(f"/run/netns/{PREFIX}-host"):
            sides = [Side(label, work, i) for i, label in enumerate(SIDES)]
            try:
                for side in sides:
                    side.start()
                for _ in range(count // 100):
                    for side in sides:
                        side.hundred()
                for side in sides:
                    side.finish()
            finally:
                for side in sides:
                    side.stop()
    text = report(sides, count)
    print(text)
    if args.write:
        write_section(args.write, "daemon-scale", f"pycnm daemon with {count} sandboxes, DNS on and off", text)


if __name__ == "__main__":
    main()
