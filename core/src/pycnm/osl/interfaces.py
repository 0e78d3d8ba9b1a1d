"""Interfaces inside a sandbox: moved in (or found there), renamed, addressed, routed, removed."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Sequence

from pyroute2 import NetlinkError

from ..errors import Forbidden, Internal, NotFound
from ..model import IPInterface, RouteType, StaticRoute
from . import netlink


def _index(sock, name: str, where: str) -> int:
    found = sock.link_lookup(ifname=name)
    if not found:
        raise NotFound(f"interface {name} not found in {where}")
    return found[0]


def _fail(what: str, exc: NetlinkError):
    if exc.code == errno.EEXIST:
        return Forbidden(f"{what}: already exists")
    if exc.code in (errno.ENODEV, errno.ENOENT):
        return NotFound(f"{what}: no such device")
    return Internal(f"{what}: {os.strerror(exc.code)}")


IFA_F_NODAD = 0x02


def add_address(sock, index: int, addr: IPInterface) -> None:
    """Add ``addr`` to the link; IPv6 addresses skip duplicate address detection, so they are
    usable at once (IPAM already guarantees they are unique), as libnetwork does."""
    if addr.version == 4:
        sock.addr("add", index=index, address=str(addr.ip), prefixlen=addr.network.prefixlen, family=socket.AF_INET)
    else:
        sock.addr("add", index=index, address=str(addr.ip), prefixlen=addr.network.prefixlen,
                  family=socket.AF_INET6, flags=IFA_F_NODAD)


def loopback_up(sandbox_key: str) -> None:
    sock = netlink.ns(sandbox_key)
    sock.link("set", index=_index(sock, "lo", sandbox_key), state="up")


def attach(
    sandbox_key: str,
    *,
    src_name: str,
    dst_name: str,
    created_in_sandbox: bool,
    addresses: Sequence[IPInterface],
    mac: str | None = None,
) -> int:
    """Bring the interface into the sandbox as ``dst_name``, address it and set it up.

    Where the driver made it in the host namespace it is moved and renamed in one netlink message.
    Returns its index in the sandbox.
    """
    sock = netlink.ns(sandbox_key)
    if not created_in_sandbox:
        host = netlink.host()
        index = _index(host, src_name, "the host namespace")
        fd = os.open(sandbox_key, os.O_RDONLY | os.O_CLOEXEC)
        try:
            host.link("set", index=index, net_ns_fd=fd, ifname=dst_name)
        except NetlinkError as exc:
            raise _fail(f"moving {src_name} into sandbox {sandbox_key} as {dst_name}", exc) from None
        finally:
            os.close(fd)
    index = _index(sock, dst_name, f"sandbox {sandbox_key}")
    try:
        if mac and not created_in_sandbox:
            sock.link("set", index=index, address=mac)
        for addr in addresses:
            add_address(sock, index, addr)
        sock.link("set", index=index, state="up")
    except NetlinkError as exc:
        raise _fail(f"configuring {dst_name} in sandbox {sandbox_key}", exc) from None
    return index


def detach(sandbox_key: str, *, dst_name: str, src_name: str, created_in_sandbox: bool) -> None:
    """Undo :func:`attach`: a moved interface goes back to the host under its own name.

    An interface the driver created in the sandbox is the driver's to remove (its Leave).
    """
    if created_in_sandbox:
        return
    sock = netlink.ns(sandbox_key)
    found = sock.link_lookup(ifname=dst_name)
    if not found:
        return
    fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        sock.link("set", index=found[0], state="down")
        sock.link("set", index=found[0], net_ns_fd=fd, ifname=src_name)
    except NetlinkError as exc:
        raise _fail(f"moving {dst_name} out of sandbox {sandbox_key}", exc) from None
    finally:
        os.close(fd)


def names(sandbox_key: str) -> list[str]:
    return [link.get("ifname") for link in netlink.ns(sandbox_key).link("dump")]


def add_routes(sandbox_key: str, dst_name: str, routes: Sequence[StaticRoute]) -> None:
    sock = netlink.ns(sandbox_key)
    index = _index(sock, dst_name, f"sandbox {sandbox_key}")
    for route in routes:
        spec = {"dst": str(route.destination), "oif": index}
        if route.route_type == RouteType.NEXTHOP and route.next_hop is not None:
            spec["gateway"] = str(route.next_hop)
        else:
            spec["scope"] = 253  # link
        try:
            sock.route("replace", **spec)
        except NetlinkError as exc:
            raise _fail(f"adding route {route.destination} in sandbox {sandbox_key}", exc) from None


def set_default_gateway(sandbox_key: str, dst_name: str, gateway: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Point the sandbox's default route of ``gateway``'s family at ``gateway`` via ``dst_name``."""
    sock = netlink.ns(sandbox_key)
    index = _index(sock, dst_name, f"sandbox {sandbox_key}")
    dst = "0.0.0.0/0" if gateway.version == 4 else "::/0"
    family = socket.AF_INET if gateway.version == 4 else socket.AF_INET6
    try:
        sock.route("replace", dst=dst, gateway=str(gateway), oif=index, family=family)
    except NetlinkError as exc:
        raise _fail(f"setting default gateway {gateway} in sandbox {sandbox_key}", exc) from None


def clear_default_gateway(sandbox_key: str, version: int) -> None:
    sock = netlink.ns(sandbox_key)
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    dst = "0.0.0.0/0" if version == 4 else "::/0"
    try:
        sock.route("del", dst=dst, family=family)
    except NetlinkError as exc:
        if exc.code not in (errno.ESRCH, errno.ENOENT):
            raise _fail(f"removing default route in sandbox {sandbox_key}", exc) from None
