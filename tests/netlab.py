"""A lab for firewall tests: a namespace standing in for the host, and one for the outside world.

The test's thread enters the "host" namespace for the test, so everything pycnm does to "the
host" (bridges, nftables, sysctls) happens there and the machine's own rules are never touched.
The host reaches the outside over an uplink (203.0.113.1 <-> 203.0.113.2, TEST-NET-3, which
exists only inside these namespaces). A table of the "user" sits in the host's nftables; it must
be byte-for-byte the same at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from pycnm.osl import netlink, netns, nft
from pycnm.testing.hostns import StandInHost

HOST_IP, OUTSIDE_IP = "203.0.113.1", "203.0.113.2"
USER_TABLE = """table inet userrules {
    chain forward { type filter hook forward priority -5; policy accept; ip saddr 198.51.100.7 drop; }
}"""


class Lab:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        # not "<prefix>-...": that is the controller's namespace prefix, whose orphans it removes
        self.host = f"/run/netns/{prefix}lab-host"
        self.outside = f"/run/netns/{prefix}lab-out"

    def __enter__(self) -> Lab:
        netns.create(self.outside)
        self._host = StandInHost(self.host).__enter__()
        fd = os.open(self.outside, os.O_RDONLY)
        try:
            h = netlink.host()
            h.link("add", ifname=f"{self.prefix}up", kind="veth", peer={"ifname": "eth0", "net_ns_fd": fd})
        finally:
            os.close(fd)
        up = h.link_lookup(ifname=f"{self.prefix}up")[0]
        h.addr("add", index=up, address=HOST_IP, prefixlen=24)
        h.link("set", index=up, state="up")
        o = netlink.ns(self.outside)
        eth = o.link_lookup(ifname="eth0")[0]
        o.addr("add", index=eth, address=OUTSIDE_IP, prefixlen=24)
        o.link("set", index=eth, state="up")
        o.link("set", index=o.link_lookup(ifname="lo")[0], state="up")
        nft.run(USER_TABLE)
        self.user_rules = self.user_table()
        return self

    def route_outside(self, subnet: str) -> None:
        """Let the outside route ``subnet`` through the host (as a router upstream might)."""
        netlink.ns(self.outside).route("add", dst=subnet, gateway=HOST_IP)

    def user_table(self) -> str:
        return json.dumps(nft.query("list table inet userrules"), sort_keys=True)

    def __exit__(self, *exc) -> None:
        try:
            after = self.user_table()
            assert after == self.user_rules, "the user's own nftables table changed"
            tables = [i["table"]["name"] for i in nft.query("list tables") if "table" in i]
            assert tables == ["userrules"], f"nftables tables left in the host: {tables}"
        finally:
            self._host.__exit__(*exc)
            netlink.forget(self.outside)
            netns.delete(self.outside)


def sh(key: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["nsenter", f"--net={key}", *argv], capture_output=True, text=True, timeout=timeout, check=False
    )


SERVER = textwrap.dedent("""
    import socket, sys
    family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(8)
    print("ready", flush=True)
    while True:
        conn, peer = s.accept()
        with conn:
            data = conn.recv(100)
            conn.sendall(data + b" from " + peer[0].encode())
""")

CLIENT = textwrap.dedent("""
    import socket, sys
    family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as c:
        c.sendall(b"hello")
        print(c.recv(200).decode())
""")


class Server:
    """A TCP server in a namespace that answers "<data> from <peer address>"."""

    def __init__(self, key: str, address: str, port: int) -> None:
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={key}", sys.executable, "-c", SERVER, address, str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", self.proc.stderr.read()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.kill()
        self.proc.wait()


def connect(key: str, address: str, port: int) -> str | None:
    """Connect from the namespace ``key``; the server's answer, or None when it did not get through."""
    out = sh(key, sys.executable, "-c", CLIENT, address, str(port))
    return out.stdout.strip() if out.returncode == 0 else None
