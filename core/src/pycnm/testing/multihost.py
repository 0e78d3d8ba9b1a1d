"""Several "hosts" on one machine: network namespaces on an underlay bridge of their own.

    with Underlay("t1", {"h1": 1, "h2": 2, "etcd": 100}) as net:
        h1 = HostThread(net.paths["h1"])      # calls run inside host 1's namespace
        ctl = h1.call(lambda: Controller(...))

Each host gets ``eth0`` with ``198.51.100.<n>/24`` (TEST-NET-2, which exists only inside these
namespaces). pycnm's "host" is the namespace of the calling thread, so a Controller for a host
is made and used in that host's :class:`HostThread`; processes started from it (a daemon, etcd)
run in the host's namespace too.
"""

from __future__ import annotations

import ipaddress
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from ..osl import netlink, netns, nft

SUBNET = "198.51.100.{}"


class Underlay:
    def __init__(self, prefix: str, hosts: dict[str, int]) -> None:
        self.prefix = prefix
        self.hosts = dict(hosts)
        self.path = f"/run/netns/{prefix}ul"
        self.paths = {name: f"/run/netns/{prefix}{name}" for name in hosts}

    def address(self, name: str) -> str:
        return SUBNET.format(self.hosts[name])

    def __enter__(self) -> Underlay:
        made = []
        try:
            for path in [self.path, *self.paths.values()]:
                netns.create(path)
                made.append(path)
                netlink.batch(path, lambda b: b.link_set(1, up=True))
            ul = netlink.ns(self.path)
            ul.link("add", ifname="ulbr", kind="bridge")
            bridge = ul.link_lookup(ifname="ulbr")[0]
            ul.link("set", index=bridge, state="up")
            for name, last in self.hosts.items():
                fd = os.open(self.paths[name], os.O_RDONLY)
                try:
                    ul.link("add", ifname=f"p{last}", kind="veth", master=bridge, state="up",
                            peer={"ifname": "eth0", "net_ns_fd": fd})
                finally:
                    os.close(fd)
                index = netlink.index(self.paths[name], "eth0")
                address = ipaddress.ip_address(SUBNET.format(last))
                netlink.batch(self.paths[name], lambda b, i=index, a=address: b.addr_add(i, a, 24).link_set(i, up=True))
        except BaseException:
            for path in reversed(made):
                netlink.forget(path)
                netns.delete(path)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for path in [*self.paths.values(), self.path]:
            netlink.forget(path)
            if os.path.exists(path):
                netns.delete(path)


class HostThread:
    """A thread living in one host's namespace; :meth:`call` runs a function there."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._calls: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"host:{os.path.basename(path)}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with open(self.path) as fh:
            netns.setns(fh.fileno())
        while True:
            fn, reply = self._calls.get()
            if fn is None:
                netlink.reset()
                nft.reset()
                reply.put((None, None))
                return
            try:
                reply.put((fn(), None))
            except BaseException as exc:  # handed back to the caller
                reply.put((None, exc))

    def call(self, fn: Callable[[], Any], timeout: float = 120) -> Any:
        reply: queue.Queue = queue.Queue()
        self._calls.put((fn, reply))
        result, error = reply.get(timeout=timeout)
        if error is not None:
            raise error
        return result

    def stop(self) -> None:
        """Close this thread's sockets and end it."""
        reply: queue.Queue = queue.Queue()
        self._calls.put((None, reply))
        reply.get(timeout=30)
        self._thread.join(timeout=30)
