"""Sandboxes: their namespaces and their hosts and resolv.conf files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .. import codec
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
        _check_name("sandbox", name)
        for server in dns:
            if not _valid_ip(server):
                raise InvalidParameter(f"invalid DNS server {server!r}: not an IP address")
        extra = list(extra_hosts.items()) if isinstance(extra_hosts, Mapping) else [tuple(x) for x in extra_hosts]
        for host, ip in extra:
            if not _valid_ip(ip):
                raise InvalidParameter(f"invalid extra host {host}:{ip}: {ip!r} is not an IP address")
        sid = _new_id()
        key = netns.host_key() if host_namespace else os.path.join(self.netns_dir, f"{self.netns_prefix}{sid[:12]}")
        rec = SandboxRecord(id=sid, name=name, key=key, created=_now(), hostname=hostname or name[:63],
                            domainname=domainname, dns=list(dns), dns_search=list(dns_search),
                            dns_options=list(dns_options), extra_hosts=extra, host_namespace=host_namespace)
        rkey, name_key = f"sandboxes/{sid}", f"names/sandboxes/{name}"
        with self._lock:
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
        directory = self._sandbox_dir(sb.id)
        addresses = [str(a.ip) for ep in endpoints for a in (ep.address, ep.address_ipv6) if a is not None]
        dnsfiles.write(os.path.join(directory, "hosts"),
                       dnsfiles.hosts(sb.hostname, sb.domainname, addresses, sb.extra_hosts))
        try:
            with open("/etc/resolv.conf") as fh:
                host_text = fh.read()
        except OSError:
            host_text = ""
        ipv6 = any(ep.address_ipv6 is not None for ep in endpoints)
        if sb.host_namespace:
            text = host_text
        else:
            text = dnsfiles.resolv_conf(host_text, dns=sb.dns, dns_search=sb.dns_search,
                                        dns_options=sb.dns_options, ipv6=ipv6)
        dnsfiles.write_resolv_conf(os.path.join(directory, "resolv.conf"), text)

    def delete_sandboxes(self, sandboxes: Sequence[Sandbox | str]) -> None:
        """Delete many sandboxes (their endpoints leave first)."""
        for sb in sandboxes:
            handle = sb if isinstance(sb, Sandbox) else self.sandbox(sb)
            self._delete_sandbox(handle.id)

    def _delete_sandbox(self, sandbox_id: str) -> None:
        with self._lock:
            rec, _ = self._load_sandbox(sandbox_id)
            for ep in reversed(self._sandbox_endpoints(sandbox_id)):
                self._leave(ep.network_id, ep.id, sandbox_id)
                if ep.record.anonymous:
                    self._delete_endpoint(ep.network_id, ep.id)
            rec, version = self._load_sandbox(sandbox_id)
            rec.state = "deleting"
            self._commit([self._put(f"sandboxes/{sandbox_id}", rec, version)])
            if not rec.host_namespace:
                netlink.forget(rec.key)
                _ignore_missing(netns.delete, rec.key)
            _remove_tree(self._sandbox_dir(sandbox_id))
            self.store.commit([Delete(f"sandboxes/{sandbox_id}"), Delete(f"names/sandboxes/{rec.name}")])
        self._events.emit("sandbox.delete", sandbox_id, rec.name)

