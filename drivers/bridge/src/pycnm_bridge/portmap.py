"""Turning requested port bindings into concrete publications, as Docker's port allocator does.

A host IP must be an address of the host; a host port already published (by any pycnm process:
the kernel's maps are the record) or bound by a host process is refused with Docker's message;
no host port, or a range, means the first free one (ephemeral range:
``net.ipv4.ip_local_port_range``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Sequence

from pycnm.errors import Forbidden, InvalidParameter
from pycnm.osl import netlink, sysctl
from pycnm.ports import PortBinding

from .firewall import Publication


def host_addresses() -> set[str]:
    return {a.get_attr("IFA_ADDRESS") for a in netlink.host().addr("dump")}


def check_host_ips(bindings: Sequence[PortBinding]) -> None:
    wanted = {b.host_ip for b in bindings if b.host_ip and not ipaddress.ip_address(b.host_ip).is_unspecified}
    if not wanted:
        return
    have = {str(ipaddress.ip_address(a)) for a in host_addresses() if a}
    for ip in sorted(wanted - have):
        raise InvalidParameter(f"invalid host IP {ip} for a published port: it is not an address of this host")


def _conflicts(pub: Publication, taken: Sequence[Publication]) -> bool:
    for other in taken:
        if other.proto != pub.proto or other.host_port != pub.host_port or other.family != pub.family:
            continue
        if not other.host_ip or not pub.host_ip or other.host_ip == pub.host_ip:
            return True
    return False


def _bindable(proto: str, family: int, host_ip: str, port: int) -> bool:
    if proto == "sctp":
        return True
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(af, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if af == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((host_ip or ("0.0.0.0" if family == 4 else "::"), port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _ephemeral() -> range:
    try:
        lo, hi = (int(x) for x in sysctl.read("net.ipv4.ip_local_port_range").split())
    except (OSError, ValueError):
        lo, hi = 49153, 65535
    return range(lo, hi + 1)


def resolve(
    bindings: Sequence[PortBinding],
    container_v4: str | None,
    container_v6: str | None,
    taken: Sequence[Publication],
) -> list[Publication]:
    chosen: list[Publication] = []
    for b in bindings:
        host_ip = "" if not b.host_ip or ipaddress.ip_address(b.host_ip).is_unspecified else b.host_ip
        families: list[int]
        if b.host_ip:
            families = [ipaddress.ip_address(b.host_ip).version]
        else:
            families = [f for f, ip in ((4, container_v4), (6, container_v6)) if ip]
        if b.host_port == 0:
            candidates = _ephemeral()
        elif b.host_port_end > b.host_port:
            candidates = range(b.host_port, b.host_port_end + 1)
        else:
            candidates = range(b.host_port, b.host_port + 1)
        for family in families:
            target = container_v4 if family == 4 else container_v6
            if target is None:
                raise InvalidParameter(
                    f"cannot publish {b} on an IPv{family} host address: the endpoint has no IPv{family} address"
                )
            for port in candidates:
                pub = Publication(b.proto, host_ip, port, target, b.container_port)
                if not _conflicts(pub, [*taken, *chosen]) and _bindable(b.proto, family, host_ip, port):
                    chosen.append(pub)
                    break
            else:
                where = host_ip or ("0.0.0.0" if family == 4 else "::")
                span = f"{candidates.start}-{candidates.stop - 1}" if len(candidates) > 1 else f"{candidates.start}"
                raise Forbidden(f"Bind for {where}:{span} failed: port is already allocated")
    return chosen
