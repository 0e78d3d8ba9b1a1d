"""Run pycnm against a throwaway namespace standing in for the host.

Everything pycnm does to "the host" (bridges, veth host ends, nftables, sysctls) goes to the
namespace of the calling thread; this context manager makes that a fresh namespace, so a test or a
benchmark never touches the machine's own network, firewall or settings::

    with StandInHost("/run/netns/t1-host"):
        with Controller(...) as ctl:
            ...
"""

from __future__ import annotations

import os

from ..osl import netlink, netns, nft


class StandInHost:
    def __init__(self, path: str) -> None:
        self.path = path
        self._own: int | None = None

    def __enter__(self) -> StandInHost:
        netns.create(self.path)
        sock = netlink.ns(self.path)
        sock.link("set", index=sock.link_lookup(ifname="lo")[0], state="up")
        self._own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        with open(self.path) as fh:
            netns.setns(fh.fileno())
        return self

    def leave(self) -> None:
        """Return the thread to its own namespace and close what was opened in this one."""
        if self._own is None:
            return
        here = netlink.current()
        netns.setns(self._own)
        os.close(self._own)
        self._own = None
        netlink.forget(here)
        nft.reset()

    def __exit__(self, *exc) -> None:
        self.leave()
        netlink.forget(self.path)
        netns.delete(self.path)
