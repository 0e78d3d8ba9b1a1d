"""A sandbox's ``hosts`` and ``resolv.conf``, written as libnetwork writes them.

``hosts``: the default records, then one line per address of the sandbox (``IP hostname``), then
the extra hosts. ``resolv.conf``: the host's file with loopback resolvers filtered out (and IPv6
ones when no endpoint has IPv6), or the servers the user gave; Google's public resolvers when
nothing is left. A hash of what pycnm wrote sits beside it: once a user edits the file, pycnm
leaves it alone (libnetwork's ``resolv.conf.hash``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Iterable, Sequence

from .. import steps

DEFAULT_HOSTS = (
    ("127.0.0.1", "localhost"),
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::0", "ip6-localnet"),
    ("ff00::0", "ip6-mcastprefix"),
    ("ff02::1", "ip6-allnodes"),
    ("ff02::2", "ip6-allrouters"),
)
FALLBACK_V4 = ("8.8.8.8", "8.8.4.4")
FALLBACK_V6 = ("2001:4860:4860::8888", "2001:4860:4860::8844")


def hosts(
    hostname: str | None,
    domainname: str | None,
    addresses: Iterable[str],
    extra_hosts: Sequence[tuple[str, str]] = (),
) -> str:
    lines = [f"{ip}\t{names}" for ip, names in DEFAULT_HOSTS]
    if hostname:
        names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
        for ip in addresses:
            lines.append(f"{ip}\t{names}")
    for name, ip in extra_hosts:
        lines.append(f"{ip}\t{name}")
    return "\n".join(lines) + "\n"


def _is_loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server.split("%")[0]).is_loopback
    except ValueError:
        return False


def resolv_conf(
    host_text: str,
    *,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
    ipv6: bool = False,
) -> str:
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in host_text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", ";")):
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            servers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            search = parts[1:]
        elif parts[0] == "options":
            options.extend(parts[1:])
    if dns:
        servers = list(dns)
    else:
        servers = [s for s in servers if not _is_loopback(s) and (ipv6 or ":" not in s)]
        if not servers:
            servers = list(FALLBACK_V4) + (list(FALLBACK_V6) if ipv6 else [])
    if dns_search:
        search = list(dns_search)
    if dns_options:
        options = list(dns_options)
    out = [f"nameserver {s}" for s in servers]
    if search:
        out.append("search " + " ".join(search))
    if options:
        out.append("options " + " ".join(options))
    return "\n".join(out) + "\n"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write(path: str, text: str) -> None:
    steps.step("file", f"write {path}")
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_in_place(path: str, text: str) -> None:
    """Rewrite ``path`` keeping its inode, as libnetwork rewrites ``hosts``: a running container
    that bind-mounted the file sees the change (a renamed-over file would leave it the old one)."""
    steps.step("file", f"rewrite {path}")
    with open(path, "w") as fh:
        fh.write(text)


def write_resolv_conf(path: str, text: str) -> bool:
    """Write ``text`` unless the user changed the file since pycnm last wrote it."""
    hash_path = f"{path}.hash"
    if os.path.exists(path) and os.path.exists(hash_path):
        with open(path) as fh, open(hash_path) as fh_hash:
            if _digest(fh.read()) != fh_hash.read().strip():
                return False
    write(path, text)
    write(hash_path, _digest(text) + "\n")
    return True
