"""Published ports: Docker's ``-p`` syntax, and the ``com.docker.network.portmap`` wire form.

``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]``, where a port may be a range (``8000-8009``):
equal-length ranges map port to port; a host range with one container port means "any free
host port of the range"; no host port means "any free ephemeral port". IPv6 host addresses go in
brackets: ``[::1]:8080:80``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import frozen

from .errors import InvalidParameter

PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
NUMBERS = {v: k for k, v in PROTOCOLS.items()}
#: ASCII digits only: int() would also take " 80", "+80", "8_0" and other scripts' digits
_NUMBER_RE = re.compile(r"[0-9]{1,5}")


@frozen
class PortBinding:
    """One container port published on the host; ``host_port_end`` > ``host_port`` is a range
    to choose from, 0 for ``host_port`` means "any ephemeral port"."""

    proto: str
    container_port: int
    host_ip: str = ""
    host_port: int = 0
    host_port_end: int = 0

    def __str__(self) -> str:
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        span = f"{self.host_port}" + (f"-{self.host_port_end}" if self.host_port_end > self.host_port else "")
        return f"{host + ':' if host else ''}{span}:{self.container_port}/{self.proto}"


def _port(text: str, spec: str) -> tuple[int, int]:
    lo_text, sep, hi_text = text.partition("-")
    if not _NUMBER_RE.fullmatch(lo_text) or (sep and not _NUMBER_RE.fullmatch(hi_text)):
        raise InvalidParameter(f"invalid port {text!r} in {spec!r}: expected a number or a range like 8000-8009")
    lo = int(lo_text)
    hi = int(hi_text) if sep else lo
    if not (1 <= lo <= 65535 and 1 <= hi <= 65535):
        raise InvalidParameter(f"invalid port {text!r} in {spec!r}: ports are 1 to 65535")
    if hi < lo:
        raise InvalidParameter(f"invalid port range {text!r} in {spec!r}: the end is below the start")
    return lo, hi


def parse(spec: str) -> list[PortBinding]:
    """Parse one ``-p`` value into bindings (a range gives one binding per container port)."""
    text, _, proto = str(spec).partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidParameter(f"invalid protocol {proto!r} in {spec!r}: use tcp, udp or sctp")
    host_ip = ""
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise InvalidParameter(f"invalid port spec {spec!r}: expected [IPv6]:HOST_PORT:CONTAINER_PORT")
        host_ip, text = text[1:close], text[close + 2 :]
    parts = text.split(":")
    if len(parts) == 3 and not host_ip:
        host_ip, parts = parts[0], parts[1:]
    if len(parts) == 1:
        host_text, container_text = "", parts[0]
    elif len(parts) == 2:
        host_text, container_text = parts
    else:
        raise InvalidParameter(f"invalid port spec {spec!r}: expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]")
    if host_ip:
        given = host_ip
        try:
            # no zone: it is free text (spaces, newlines) and a published port binds no link-local
            host_ip = str(ipaddress.ip_address(host_ip)) if "%" not in host_ip else ""
        except ValueError:
            host_ip = ""
        if not host_ip:
            raise InvalidParameter(
                f"invalid host IP {given!r} in {spec!r}: expected an IPv4 or IPv6 address without a zone"
            )
    c_lo, c_hi = _port(container_text, spec)
    if not host_text:
        return [PortBinding(proto, port, host_ip) for port in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _port(host_text, spec)
    if c_lo == c_hi:
        return [PortBinding(proto, c_lo, host_ip, h_lo, h_hi if h_hi > h_lo else 0)]
    if h_hi - h_lo != c_hi - c_lo:
        raise InvalidParameter(f"invalid port spec {spec!r}: the host range and the container range differ in length")
    return [PortBinding(proto, c, host_ip, h_lo + i, 0) for i, c in enumerate(range(c_lo, c_hi + 1))]


def parse_all(specs: Iterable[str] | str | None) -> list[PortBinding]:
    """Parse many ``-p`` values; one string is one spec (not a list of its characters)."""
    if specs is None:
        return []
    if isinstance(specs, str):
        specs = [specs]
    elif not isinstance(specs, Iterable) or isinstance(specs, (bytes, bytearray, Mapping)):
        raise InvalidParameter(f"invalid port specs {specs!r}: expected a list of specs like ['8080:80']")
    out: list[PortBinding] = []
    for spec in specs:
        out.extend(parse(spec))
    return out


def to_wire(bindings: Sequence[PortBinding]) -> list[dict[str, Any]]:
    """Docker's ``com.docker.network.portmap`` items."""
    return [
        {
            "Proto": PROTOCOLS[b.proto],
            "IP": "",
            "Port": b.container_port,
            "HostIP": b.host_ip,
            "HostPort": b.host_port,
            "HostPortEnd": b.host_port_end,
        }
        for b in bindings
    ]


def _wire_port(item: Mapping[str, Any], key: str, low: int) -> int:
    value = item.get(key) or 0
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 65535:
        raise InvalidParameter(
            f"invalid {key} {item.get(key)!r} in port map item {item!r}: expected a port number from {low} to 65535"
        )
    return value


def from_wire(items: Iterable[Mapping[str, Any]] | None) -> list[PortBinding]:
    """Bindings from ``com.docker.network.portmap`` items; a malformed item is an InvalidParameter."""
    if items is None:
        return []
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise InvalidParameter(f"invalid port map {items!r}: expected a list of port bindings")
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidParameter(f"invalid port map item {item!r}: expected an object with Proto, Port, HostIP...")
        number = item.get("Proto", 6)
        proto = NUMBERS.get(number) if isinstance(number, int) and not isinstance(number, bool) else None
        if proto is None:
            raise InvalidParameter(
                f"invalid protocol number {number!r} in port map: use 6 (tcp), 17 (udp) or 132 (sctp)"
            )
        if "Port" not in item:
            raise InvalidParameter(f"invalid port map item {item!r}: it has no Port")
        host_ip = item.get("HostIP") or ""
        if not isinstance(host_ip, str):
            raise InvalidParameter(f"invalid HostIP {host_ip!r} in port map: expected an address as text")
        if host_ip:
            try:
                parsed = ipaddress.ip_address(host_ip) if "%" not in host_ip else None
            except ValueError:
                parsed = None
            if parsed is None:
                raise InvalidParameter(f"invalid HostIP {host_ip!r} in port map: not an IP address without a zone")
            host_ip = str(parsed)
        out.append(
            PortBinding(
                proto,
                _wire_port(item, "Port", 1),
                host_ip,
                _wire_port(item, "HostPort", 0),
                _wire_port(item, "HostPortEnd", 0),
            )
        )
    return out
