"""What the host already routes, read over netlink."""

from __future__ import annotations

import ipaddress
import socket

from . import netlink


def host_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Destinations of the host's routes in the main table (default routes included as /0)."""
    nets = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for route in netlink.host().route("dump", family=family, table=254):
            dst = route.get("RTA_DST") or route.get("dst")
            plen = route["dst_len"]
            if dst is None:
                dst = "0.0.0.0" if family == socket.AF_INET else "::"
            try:
                nets.append(ipaddress.ip_network(f"{dst}/{plen}", strict=False))
            except ValueError:
                continue
    return nets
