"""One overlay network on one host, in the kernel (libnetwork's overlay data plane).

A network namespace per network holds a bridge (``br0``, with the subnet's gateway address) and a
VXLAN device (``vxlan0``: the network's VNI, UDP 4789, learning off, ARP proxy on: it answers
ARP from the neighbour entries, so no broadcast crosses the underlay) enslaved to it. The VXLAN
device is created in the host namespace and then moved in, so its UDP socket stays on the host's
underlay. Sandboxes attach by a veth whose bridge end is born in the overlay namespace and whose
other end is born in the sandbox. Remote endpoints are made known statically, as libnetwork does:
a permanent neighbour entry (IP -> MAC) and an FDB entry (MAC -> the remote host's VTEP) each.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

from attrs import frozen
from pyroute2 import NetlinkError

from pycnm.errors import Forbidden, Internal, NotFound
from pycnm.model import IPAddress
from pycnm.osl import netlink, netns

VXLAN_PORT = 4789
#: what VXLAN adds to each frame: 14 inner Ethernet + 20 outer IP + 8 UDP + 8 VXLAN
OVERHEAD = 50
NUD_PERMANENT = 0x80
NTF_SELF = 0x02  # the entry belongs to vxlan0 itself (with the remote VTEP), not to the bridge


def overlay_mtu(underlay_mtu: int = 1500) -> int:
    return underlay_mtu - OVERHEAD


@frozen
class Peer:
    """A remote endpoint: its address, its MAC, and the underlay address of its host (VTEP)."""

    address: IPAddress
    mac: str
    vtep: IPAddress


def _index(sock, name: str, where: str) -> int:
    found = sock.link_lookup(ifname=name)
    if not found:
        raise NotFound(f"{name} not found in {where}")
    return found[0]


class OverlayNamespace:
    """The overlay network ``vni`` on the host whose namespace is ``host`` ("" for the caller's)."""

    def __init__(
        self,
        path: str,
        *,
        vni: int,
        gateway: ipaddress.IPv4Interface,
        vtep: IPAddress | None,
        host: str = "",
        mtu: int = overlay_mtu(),
        ifname_prefix: str = "",
    ) -> None:
        if not 1 <= vni < 1 << 24:
            raise Forbidden(f"invalid VNI {vni}: it must be between 1 and {(1 << 24) - 1}")
        self.path, self.vni, self.gateway, self.vtep, self.mtu = path, vni, gateway, vtep, mtu
        self.host = host or netlink.current()
        self.vxlan_temp = f"{ifname_prefix}vx{vni:06x}"[:15]
        #: the namespace's inode when made or adopted: tells it from a namespace made later at the same path
        self.inode: int | None = None

    # ---- life ------------------------------------------------------------------------------------

    def create(self) -> None:
        netns.create(self.path)
        try:
            host = netlink.ns(self.host)
            host.link(
                "add",
                ifname=self.vxlan_temp,
                kind="vxlan",
                vxlan_id=self.vni,
                vxlan_port=VXLAN_PORT,
                vxlan_learning=0,
                vxlan_proxy=1,
                vxlan_local=str(self.vtep),
                mtu=self.mtu,
            )
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                host.link("set", index=_index(host, self.vxlan_temp, "the host"), net_ns_fd=fd, ifname="vxlan0")
            finally:
                os.close(fd)
            ns = netlink.ns(self.path)
            ns.link("set", index=1, state="up")
            ns.link("add", ifname="br0", kind="bridge", mtu=self.mtu)
            br0 = _index(ns, "br0", self.path)
            ns.addr("add", index=br0, address=str(self.gateway.ip), prefixlen=self.gateway.network.prefixlen)
            vx = _index(ns, "vxlan0", self.path)
            ns.link("set", index=vx, master=br0, state="up")
            ns.link("set", index=br0, state="up")
            self.adopt()
        except NetlinkError as exc:
            self.delete()
            if exc.code == errno.EEXIST:
                raise Forbidden(f"VNI {self.vni} is already in use on this host") from None
            raise Internal(f"cannot build overlay network {self.vni}: {os.strerror(exc.code)}") from None

    def adopt(self) -> None:
        """Take the namespace at the path as this network's (made by another process)."""
        try:
            self.inode = os.stat(self.path).st_ino if netns.is_namespace(self.path) else None
        except FileNotFoundError:
            self.inode = None

    def forget(self) -> None:
        netlink.forget(self.path)
        self.inode = None

    def delete(self) -> None:
        """Remove the namespace; the bridge, the VXLAN device and the veths go with it.

        The VXLAN device is deleted first: a socket another process (the daemon, a library user)
        holds in the namespace keeps it alive after its file is gone, and the VNI with it, until
        that process next looks; the network could not come back to this host meanwhile."""
        if netns.is_namespace(self.path):
            try:
                netlink.batch(self.path, lambda b: b.link_del("vxlan0"))
            except NetlinkError:
                pass  # (a crash midway through create: no vxlan0 yet)
        self.forget()
        if os.path.exists(self.path):
            netns.delete(self.path)

    # ---- endpoints -------------------------------------------------------------------------------

    def attach(self, sandbox_key: str, dst_name: str, mac: str, port: str) -> None:
        """A veth: ``port`` on br0 in the overlay namespace, ``dst_name`` born in the sandbox."""
        br0 = netlink.index(self.path, "br0")
        if br0 is None:
            raise NotFound(f"br0 not found in {self.path}")
        fd = os.open(sandbox_key, os.O_RDONLY | os.O_CLOEXEC)
        try:
            # the same request as the bridge driver's: the peer born in the sandbox, in one message
            netlink.batch(
                self.path,
                lambda b: b.veth_add(
                    port, master=br0, mtu=self.mtu, up=True, peer_name=dst_name, peer_netns_fd=fd, peer_address=mac
                ),
            )
        except NetlinkError as exc:
            raise Internal(f"cannot attach {dst_name} to overlay {self.vni}: {os.strerror(exc.code)}") from None
        finally:
            os.close(fd)

    def attached(self) -> int:
        """How many sandbox ports br0 has (what the kernel says, whoever joined them)."""
        return len(self.ports())

    def ports(self) -> set[str]:
        """The sandbox ports on br0."""
        ns = netlink.ns(self.path)
        br0 = _index(ns, "br0", self.path)
        return {
            link.get_attr("IFLA_IFNAME")
            for link in ns.get_links()
            if link.get_attr("IFLA_MASTER") == br0 and link.get_attr("IFLA_IFNAME") != "vxlan0"
        }

    def complete(self) -> bool:
        """Whether the namespace holds what :meth:`create` makes (a crash can stop it midway)."""
        names = {link.get_attr("IFLA_IFNAME") for link in netlink.ns(self.path).get_links()}
        return {"br0", "vxlan0"} <= names

    def detach(self, port: str) -> None:
        try:
            netlink.batch(self.path, lambda b: b.link_del(port))
        except NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.EINVAL):
                raise Internal(f"cannot detach {port}: {os.strerror(exc.code)}") from None

    # ---- peers -----------------------------------------------------------------------------------

    def add_peer(self, peer: Peer) -> None:
        ns = netlink.ns(self.path)
        vx = _index(ns, "vxlan0", self.path)
        ns.neigh(
            "replace", dst=str(peer.address), lladdr=peer.mac, ifindex=vx, state=NUD_PERMANENT, family=socket.AF_INET
        )
        ns.fdb("replace", ifindex=vx, lladdr=peer.mac, dst=str(peer.vtep), state=NUD_PERMANENT, flags=NTF_SELF)

    def remove_peer(self, peer: Peer) -> None:
        ns = netlink.ns(self.path)
        vx = _index(ns, "vxlan0", self.path)
        for call in (
            lambda: ns.neigh("del", dst=str(peer.address), lladdr=peer.mac, ifindex=vx, family=socket.AF_INET),
            lambda: ns.fdb("del", ifindex=vx, lladdr=peer.mac, dst=str(peer.vtep), flags=NTF_SELF),
        ):
            try:
                call()
            except NetlinkError as exc:
                if exc.code not in (errno.ENOENT, errno.ESRCH, errno.ENODEV):
                    raise Internal(f"cannot remove peer {peer.address}: {os.strerror(exc.code)}") from None

    def peers(self) -> dict[str, str]:
        """MAC -> VTEP of the FDB entries programmed on vxlan0."""
        ns = netlink.ns(self.path)
        vx = _index(ns, "vxlan0", self.path)
        out = {}
        for entry in ns.fdb("dump", ifindex=vx):
            dst = entry.get_attr("NDA_DST")
            if dst and entry["ifindex"] == vx:
                out[entry.get_attr("NDA_LLADDR")] = dst
        return out


def _delete_link(name: str) -> None:
    netlink.batch("", lambda b: b.link_del(name))


def remove_temporaries(ifname_prefix: str) -> list[str]:
    """Delete VXLAN devices an interrupted :meth:`OverlayNamespace.create` left in this thread's
    namespace (made under their temporary name, not yet moved); returns their names."""
    gone = []
    host = netlink.host()
    for link in host.get_links():
        name = link.get_attr("IFLA_IFNAME") or ""
        info = link.get_attr("IFLA_LINKINFO")
        kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
        if kind == "vxlan" and name.startswith(f"{ifname_prefix}vx"):
            try:
                _delete_link(name)
                gone.append(name)
            except NetlinkError as exc:
                if exc.code not in (errno.ENODEV, errno.EINVAL):
                    raise Internal(f"cannot delete {name}: {os.strerror(exc.code)}") from None
    return gone
