"""Sandboxes: their namespaces and their hosts and resolv.conf files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence

from .. import codec, validate
from ..errors import Forbidden, InvalidParameter, StaleVersion
from ..osl import dnsfiles, interfaces, netlink, netns
from ..records import EndpointRecord, SandboxRecord
from ..store import Delete, Put
from ._base import (
    _check_name,
    _ignore_missing,
    _new_id,
    _now,
    _remove_tree,
    _safely,
    _valid_ip,
)
from .handles import Sandbox


class Sandboxes:
    """Part of :class:`~pycnm.controller.Controller`."""

    # ---- sandboxes ------------------------------------------------------------------------------

    def _sandbox_dir(self, sandbox_id: str) -> str:
        return os.path.join(self.state_dir, "sandboxes", sandbox_id)

    def create_sandbox(
        self,
        name: str,
        *,
        hostname: str | None = None,
        domainname: str | None = None,
        dns: Sequence[str] = (),
        dns_search: Sequence[str] = (),
        dns_options: Sequence[str] = (),
        extra_hosts: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        host_namespace: bool = False,
    ) -> Sandbox:
        """Create a sandbox: a new network namespace (or the host's, with ``host_namespace``)."""
        # everything that reaches the sandbox's hosts and resolv.conf is checked first: one line
        # of text each, nothing written from a refused value
        _check_name("sandbox", name)
        hostname = validate.hostname(hostname) if hostname is not None else _default_hostname(name)
        domainname = validate.domainname(domainname) if domainname else None
        dns = [validate.dns_server(server) for server in _items("dns", dns)]
        dns_search = [validate.dns_search(domain) for domain in _items("dns_search", dns_search)]
        dns_options = [validate.dns_option(option) for option in _items("dns_options", dns_options)]
        extra = list(extra_hosts.items()) if isinstance(extra_hosts, Mapping) else list(_items("extra_hosts", extra_hosts))
        extra = [validate.extra_host(*_pair(item)) for item in extra]
        sid = _new_id()
        key = netns.host_key() if host_namespace else os.path.join(self.netns_dir, f"{self.netns_prefix}{sid[:12]}")
        rec = SandboxRecord(id=sid, name=name, key=key, created=_now(), hostname=hostname or sid[:12],
                            domainname=domainname, dns=list(dns), dns_search=list(dns_search),
                            dns_options=list(dns_options), extra_hosts=extra, host_namespace=host_namespace)
        rkey, name_key = f"sandboxes/{sid}", f"names/sandboxes/{name}"
        with self._lock, self._boot_scoped(host_namespace):
            try:
                self.store.commit([Put(name_key, sid.encode(), 0), self._put(rkey, rec, 0)])
            except StaleVersion:
                raise Forbidden(f"sandbox with name {name} already exists") from None
            made = False
            try:
                if not host_namespace:
                    netns.create(key)
                    made = True
                    interfaces.loopback_up(key)
                os.makedirs(self._sandbox_dir(sid), exist_ok=True)
                self._write_dns_files(rec, [])
                rec.state = "ready"
                self.store.put(rkey, codec.dumps(rec))
            except BaseException:
                if made:
                    netlink.forget(key)
                    _safely("delete namespace", netns.delete, key)
                _remove_tree(self._sandbox_dir(sid))
                self.store.commit([Delete(rkey), Delete(name_key)])
                raise
        self._events.emit("sandbox.create", sid, name, key=key)
        return Sandbox(self, rec)

    def _write_dns_files(self, sb: SandboxRecord, endpoints: list[EndpointRecord]) -> None:
        """Write the sandbox's hosts and resolv.conf, each only when its content changes."""
        directory = self._sandbox_dir(sb.id)
        addresses = [str(a.ip) for ep in endpoints for a in (ep.address, ep.address_ipv6) if a is not None]
        _write_if_changed(os.path.join(directory, "hosts"),
                          dnsfiles.hosts(sb.hostname, sb.domainname, addresses, sb.extra_hosts),
                          dnsfiles.write_in_place)
        host_text = _host_resolv_conf()
        ipv6 = any(ep.address_ipv6 is not None for ep in endpoints)
        if sb.host_namespace:
            text = host_text
        else:
            text = dnsfiles.resolv_conf(host_text, dns=sb.dns, dns_search=sb.dns_search,
                                        dns_options=sb.dns_options, ipv6=ipv6)
        _write_if_changed(os.path.join(directory, "resolv.conf"), text, dnsfiles.write_resolv_conf)

    def delete_sandboxes(self, sandboxes: Sequence[Sandbox | str]) -> None:
        """Delete sandboxes; their endpoints leave, and those ``connect`` made are deleted.

        The namespaces go first, all of them: the kernel then destroys every interface in them in
        one batch (one RCU grace period for all), so the drivers' leaves find their veths gone
        instead of waiting for each deletion.
        """
        with self._lock, contextlib.ExitStack() as scope:
            records = [self._load_sandbox((sb if isinstance(sb, Sandbox) else self.sandbox(sb)).id)
                       for sb in sandboxes]
            scope.enter_context(self._boot_scoped(any(rec.host_namespace for rec, _ in records)))
            with self.store.transaction():
                for rec, version in records:
                    rec.state = "deleting"
                    self._commit([self._put(f"sandboxes/{rec.id}", rec, version)])
            for rec, _ in records:
                if not rec.host_namespace:
                    netlink.forget(rec.key)
                    _ignore_missing(netns.delete, rec.key)
            # one transaction for the rest: the sandboxes are durably "deleting" already, so a
            # crash in here rolls back to a state that recovery finishes
            with self.store.transaction():
                for rec, _ in records:
                    for endpoint_ref in reversed(rec.endpoints):
                        network_id, endpoint_id = endpoint_ref.split("/")
                        ep, _ = self._load_endpoint(network_id, endpoint_id)
                        self._leave(network_id, endpoint_id, rec.id, then_delete=ep.anonymous)
                    self.store.commit([Delete(f"sandboxes/{rec.id}"), Delete(f"names/sandboxes/{rec.name}")])
            for rec, _ in records:
                _forget_written(self._sandbox_dir(rec.id))
                _remove_tree(self._sandbox_dir(rec.id))
                self._events.emit("sandbox.delete", rec.id, rec.name)

    def _delete_sandbox(self, sandbox_id: str) -> None:
        self.delete_sandboxes([sandbox_id])


def _default_hostname(name: str) -> str | None:
    """The sandbox's name when it is a valid hostname; else None (the short ID, as Docker's default)."""
    try:
        return validate.hostname(name)
    except InvalidParameter:
        return None


def _items(field: str, values) -> list:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        raise InvalidParameter(f"invalid {field} {values!r}: expected a list, not one string")
    try:
        return list(values)
    except TypeError:
        raise InvalidParameter(f"invalid {field} {values!r}: expected a list") from None


def _pair(item) -> tuple:
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
        raise InvalidParameter(f"invalid extra host {item!r}: expected a (name, address) pair")
    return tuple(item)


def _write_if_changed(path: str, text: str, write) -> None:
    """Write ``text`` unless the file holds it. What this process wrote last is remembered with
    the file's identity (inode, size, mtime): while they hold, the file is not read again."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    seen = (st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else None
    hit = _written.get(path)
    if seen is not None:
        if hit is not None and hit[0] == seen:
            if hit[1] == text:
                return
        else:
            with open(path) as fh:
                if fh.read() == text:
                    return
    if write(path, text) is False:  # left alone (a user edited it)
        _written.pop(path, None)
        return
    try:
        st = os.stat(path)
        _written[path] = ((st.st_ino, st.st_size, st.st_mtime_ns), text)
    except OSError:
        _written.pop(path, None)


#: path -> (identity, text) of the hosts and resolv.conf files this process wrote
_written: dict[str, tuple[tuple[int, int, int], str]] = {}


def _forget_written(directory: str) -> None:
    for name in ("hosts", "resolv.conf"):
        _written.pop(os.path.join(directory, name), None)


_resolv_cache: dict[str, tuple[float, str]] = {}


def _host_resolv_conf(path: str = "/etc/resolv.conf") -> str:
    """The host's resolv.conf, re-read only when it changes."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return ""
    hit = _resolv_cache.get(path)
    if hit is None or hit[0] != mtime:
        with open(path) as fh:
            hit = _resolv_cache[path] = (mtime, fh.read())
    return hit[1]
