"""The bridge driver's kernel objects, over netlink (pyroute2), in the host namespace.

Bridges carry the interface alias ``pycnm:<instance>:<network ID>``, so that a restarted driver
can tell its own bridges from anybody else's (Docker's ``br-<id>``, another pycnm's) before
removing orphans.
"""

from __future__ import annotations

import errno
import os
import random

from pyroute2 import NetlinkError

from pycnm.errors import Forbidden, Internal, NotFound
from pycnm.osl import netlink

ALIAS_PREFIX = "pycnm:"


def random_mac() -> str:
    octets = [0x02, 0x42] + [random.randint(0, 255) for _ in range(4)]
    return ":".join(f"{o:02x}" for o in octets)


def index_of(name: str) -> int | None:
    """The link's index in this thread's namespace: one RTM_GETLINK by name (pyroute2's
    ``link_lookup`` dumps every link, and a host with 1000 networks has 1000 bridges)."""
    return netlink.index("", name)


def alias(instance_id: str, network_id: str) -> str:
    return f"{ALIAS_PREFIX}{instance_id}:{network_id}"


def create_bridge(name: str, alias_text: str, mtu: int, addresses) -> int:
    """The bridge, down, with its alias in one send; then its addresses and up in another."""
    if index_of(name) is not None:
        raise Forbidden(f"bridge name {name} is taken by another link; choose another com.docker.network.bridge.name")
    try:
        netlink.batch(
            "", lambda b: b.link_add(name, "bridge", address=random_mac(), mtu=mtu).link_set_alias(name, alias_text)
        )
    except NetlinkError as exc:
        if exc.code == errno.EEXIST:
            raise Forbidden(
                f"bridge name {name} is taken by another link; choose another com.docker.network.bridge.name"
            ) from None
        delete_link(name)  # made, but its alias was refused
        raise Internal(f"cannot create bridge {name}: {os.strerror(exc.code)}") from None
    index = index_of(name)
    if index is None:  # made just now, in this thread's namespace
        raise Internal(f"bridge {name} was created but is not there")

    def configure(batch: netlink.Requests) -> None:
        for addr in addresses:
            batch.addr_add(index, addr.ip, addr.network.prefixlen)
        batch.link_set(index, up=True)

    try:
        netlink.batch("", configure)
    except NetlinkError as exc:
        delete_link(name)
        raise Internal(f"cannot configure bridge {name}: {os.strerror(exc.code)}") from None
    return index


def delete_link(name: str) -> bool:
    """Delete the link ``name``; False when there was none."""
    try:
        netlink.batch("", lambda batch: batch.link_del(name))
        return True
    except NetlinkError as exc:
        if exc.code in (errno.ENODEV, errno.ENOENT, errno.EINVAL):
            return False
        raise Internal(f"cannot delete link {name}: {os.strerror(exc.code)}") from None


def create_veth_into(
    host_name: str,
    master: int,
    sandbox_key: str,
    dst_name: str,
    mac: str,
    mtu: int,
    isolated: bool = False,
    ipv6: bool = True,
) -> None:
    """One batch: a veth whose peer is born inside the sandbox as ``dst_name``, on the bridge whose
    index is ``master``, its host end without IPv6 link-local unless ``ipv6``.

    Creating the peer in place avoids moving it later (about 18 ms of kernel waiting here).
    With ``isolated`` the host end becomes an isolated bridge port (ICC off) before it is up.
    """
    try:
        fd = os.open(sandbox_key, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"sandbox namespace {sandbox_key} does not exist") from None
    try:

        def requests(batch: netlink.Requests) -> None:
            # created down; IPv6 link-local off (unless the network has IPv6); then up
            batch.veth_add(
                host_name, master=master, mtu=mtu, up=False, peer_name=dst_name, peer_netns_fd=fd, peer_address=mac
            )
            if not ipv6:
                batch.link_ipv6_off(host_name)
            if not isolated:
                batch.link_set_by_name(host_name, up=True)

        netlink.batch("", requests)
        if isolated:
            ipr = netlink.host()
            index = index_of(host_name)
            ipr.brport("set", index=index, isolated=1)
            ipr.link("set", index=index, state="up")
    except NetlinkError as exc:
        if exc.code == errno.EEXIST:
            raise Forbidden(f"cannot create veth {host_name} -> {dst_name}: a link with that name exists") from None
        if exc.code in (errno.ENODEV, errno.EINVAL):
            raise NotFound(f"cannot create veth {host_name}: bridge index {master} is gone") from None
        raise Internal(f"cannot create veth {host_name} -> {dst_name}: {os.strerror(exc.code)}") from None
    finally:
        os.close(fd)


def set_hairpin(name: str) -> None:
    """Let frames leave a bridge port by the port they came in (a sandbox reaching its own
    published port, where br_netfilter bridges the DNAT'ed packet)."""
    index = index_of(name)
    if index is not None:
        netlink.host().brport("set", index=index, mode=1)  # IFLA_BRPORT_MODE: hairpin


def our_bridges(instance_id: str) -> dict[str, str]:
    """Network ID -> bridge name, for every bridge carrying this pycnm instance's alias."""
    mark = alias(instance_id, "")
    found = {}
    for link in netlink.host().link("dump"):
        text = link.get_attr("IFLA_IFALIAS") or ""
        if text.startswith(mark):
            found[text[len(mark) :]] = link.get_attr("IFLA_IFNAME")
    return found


def ports(bridge: str) -> list[str]:
    master = index_of(bridge)
    if master is None:
        return []
    return [link.get_attr("IFLA_IFNAME") for link in netlink.host().link("dump", master=master)]
