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
from .netlink import SocketCache
from .netlink import default as _default


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


def loopback_up(sandbox_key: str, sockets: SocketCache = _default) -> None:
    """Set the sandbox's loopback up (it is always index 1 in a new namespace). This also opens
    the socket later joins into the sandbox will use."""
    netlink.batch(sandbox_key, lambda batch: batch.link_set(1, up=True), sockets)


def attach(
    sandbox_key: str,
    *,
    src_name: str,
    dst_name: str,
    created_in_sandbox: bool,
    addresses: Sequence[IPInterface],
    mac: str | None = None,
    gateways: Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address] = (),
    sockets: SocketCache = _default,
    ipv6: bool | None = None,
) -> int:
    """Bring the interface into the sandbox as ``dst_name``, address it, set it up and, given
    ``gateways``, point the default routes at them. Without an IPv6 address it gets no IPv6
    link-local address either.

    Where the driver made it in the host namespace it is moved and renamed in one netlink message.
    The rest goes to the kernel as one batch. Returns its index in the sandbox.
    """
    if not created_in_sandbox:
        host = sockets.pyroute2(netlink.current())
        host_index = _index(host, src_name, "the host namespace")
        fd = os.open(sandbox_key, os.O_RDONLY | os.O_CLOEXEC)
        try:
            host.link("set", index=host_index, net_ns_fd=fd, ifname=dst_name)
        except NetlinkError as exc:
            raise _fail(f"moving {src_name} into sandbox {sandbox_key} as {dst_name}", exc) from None
        finally:
            os.close(fd)
    index = netlink.index(sandbox_key, dst_name, sockets)
    if index is None:
        raise NotFound(f"interface {dst_name} not found in sandbox {sandbox_key}")

    def requests(batch: netlink.Requests) -> None:
        if mac and not created_in_sandbox:
            batch.link_set(index, address=mac)
        if not (ipv6 if ipv6 is not None else any(addr.version == 6 for addr in addresses)):
            # an IPv4-only endpoint gets no IPv6 link-local address (as current Docker): its
            # multicast would otherwise reach every port of the network, at a cost growing with them
            batch.link_ipv6_off(dst_name)
        for addr in addresses:
            batch.addr_add(index, addr.ip, addr.network.prefixlen)
        batch.link_set(index, up=True)
        for gw in gateways:
            batch.default_route(index, gw)

    try:
        netlink.batch(sandbox_key, requests, sockets)
    except NetlinkError as exc:
        raise _fail(f"configuring {dst_name} in sandbox {sandbox_key}", exc) from None
    return index


def detach(
    sandbox_key: str, *, dst_name: str, src_name: str, created_in_sandbox: bool, sockets: SocketCache = _default
) -> None:
    """Undo :func:`attach`: a moved interface goes back to the host under its own name.

    An interface the driver created in the sandbox is the driver's to remove (its Leave).
    """
    if created_in_sandbox:
        return
    sock = sockets.pyroute2(sandbox_key)
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


def remove(sandbox_key: str, name: str, sockets: SocketCache = _default) -> bool:
    """Delete the link ``name`` in the sandbox if it is there; False when it is not. For what an
    interrupted join left: the core chose the name, free in the sandbox, for that join alone."""
    try:
        netlink.batch(sandbox_key, lambda batch: batch.link_del(name), sockets)
        return True
    except NetlinkError as exc:
        if exc.code in (errno.ENODEV, errno.ENOENT, errno.EINVAL):
            return False
        raise _fail(f"removing {name} from sandbox {sandbox_key}", exc) from None


def add_routes(
    sandbox_key: str,
    dst_name: str,
    routes: Sequence[StaticRoute],
    index: int | None = None,
    sockets: SocketCache = _default,
) -> None:
    sock = sockets.pyroute2(sandbox_key)
    index = index or _index(sock, dst_name, f"sandbox {sandbox_key}")
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


def set_default_gateway(
    sandbox_key: str,
    dst_name: str,
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address,
    index: int | None = None,
    sockets: SocketCache = _default,
) -> None:
    """Point the sandbox's default route of ``gateway``'s family at ``gateway`` via ``dst_name``."""
    index = index or netlink.index(sandbox_key, dst_name, sockets)
    if index is None:
        raise NotFound(f"interface {dst_name} not found in sandbox {sandbox_key}")
    try:
        netlink.batch(sandbox_key, lambda batch: batch.default_route(index, gateway), sockets)
    except NetlinkError as exc:
        raise _fail(f"setting default gateway {gateway} in sandbox {sandbox_key}", exc) from None


def clear_default_gateway(sandbox_key: str, version: int, sockets: SocketCache = _default) -> None:
    sock = sockets.pyroute2(sandbox_key)
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    dst = "0.0.0.0/0" if version == 4 else "::/0"
    try:
        sock.route("del", dst=dst, family=family)
    except NetlinkError as exc:
        if exc.code not in (errno.ESRCH, errno.ENOENT):
            raise _fail(f"removing default route in sandbox {sandbox_key}", exc) from None
