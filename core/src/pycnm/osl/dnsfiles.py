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
        return ipaddress.ip_address(server.split("%", maxsplit=1)[0]).is_loopback
    except ValueError:
        return False


def resolv_conf(
    host_text: str,
    *,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
    ipv6: bool = False,
    embedded: str | None = None,
) -> str:
    """The sandbox's resolv.conf: the host's servers (or ``dns``), search list and options, as
    libnetwork writes them; with ``embedded`` (the embedded DNS's address), that one server, and
    ``ndots:0`` unless an ``ndots`` is set (Docker's rule: a single-label name is asked as it is
    first, so a sandbox's name is found before the search list is tried)."""
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
    if embedded:
        servers = [embedded]
        if not any(option.startswith("ndots:") for option in options):
            options.append("ndots:0")
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


class SandboxFiles:
    """A sandbox's ``hosts`` and ``resolv.conf`` in its directory, each written only when its
    content changes. What was written last is remembered with the file's identity (inode, size,
    mtime): while they hold, the file is not read again (an attach used to read both back)."""

    def __init__(self) -> None:
        #: path -> (identity, text) of the files this object wrote
        self._written: dict[str, tuple[tuple[int, int, int], str]] = {}
        self._host_resolv: dict[str, tuple[float, str]] = {}

    def write(self, directory: str, hosts_text: str, resolv_text: str) -> None:
        self._if_changed(os.path.join(directory, "hosts"), hosts_text, write_in_place)
        self._if_changed(os.path.join(directory, "resolv.conf"), resolv_text, write_resolv_conf)

    def forget(self, directory: str) -> None:
        for name in ("hosts", "resolv.conf"):
            self._written.pop(os.path.join(directory, name), None)

    def host_resolv_conf(self, path: str | None = None) -> str:
        """The host's resolv.conf (``$PYCNM_RESOLV_CONF`` or ``/etc/resolv.conf``), re-read only
        when it changes."""
        path = path or os.environ.get("PYCNM_RESOLV_CONF") or "/etc/resolv.conf"
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return ""
        hit = self._host_resolv.get(path)
        if hit is None or hit[0] != mtime:
            with open(path) as fh:
                hit = self._host_resolv[path] = (mtime, fh.read())
        return hit[1]

    def _if_changed(self, path: str, text: str, write) -> None:
        try:
            st = os.stat(path)
        except OSError:
            st = None
        seen = (st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else None
        hit = self._written.get(path)
        if seen is not None:
            if hit is not None and hit[0] == seen:
                if hit[1] == text:
                    return
            else:
                with open(path) as fh:
                    if fh.read() == text:
                        return
        if write(path, text) is False:  # left alone (a user edited it)
            self._written.pop(path, None)
            return
        try:
            st = os.stat(path)
            self._written[path] = ((st.st_ino, st.st_size, st.st_mtime_ns), text)
        except OSError:
            self._written.pop(path, None)
