"""Sandboxes: their namespaces and their hosts and resolv.conf files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import validate
from ..errors import Forbidden, InvalidParameter, NotFound, StaleVersion
from ..osl import dnsfiles
from ..records import EndpointRecord, SandboxRecord, State
from ..store import Delete, Put, keys
from .core import Core, ignore_missing, new_id, now, safely

if TYPE_CHECKING:
    from .joins import Joins


def sandbox_dir(core: Core, sandbox_id: str) -> str:
    return os.path.join(core.state_dir, "sandboxes", sandbox_id)


#: where sandboxes reach the embedded DNS (inside each namespace, over its loopback)
EMBEDDED_DNS = "127.0.0.11"


def write_files(core: Core, sb: SandboxRecord, endpoints: list[EndpointRecord], dns: bool = False) -> None:
    """The sandbox's hosts and resolv.conf for these endpoints (join order), through the OS layer
    (which writes each only when its content changes). ``dns``: one of them is on a network with
    DNS; its resolv.conf then names the embedded DNS, while the daemon serves it."""
    addresses = [str(a.ip) for ep in endpoints for a in (ep.address, ep.address_ipv6) if a is not None]
    hosts = dnsfiles.hosts(sb.hostname, sb.domainname, addresses, sb.extra_hosts)
    host_text = core.osl.host_resolv_conf()
    if sb.host_namespace:
        resolv = host_text
    else:
        ipv6 = any(ep.address_ipv6 is not None for ep in endpoints)
        embedded = EMBEDDED_DNS if dns and core.embedded_dns() else None
        resolv = dnsfiles.resolv_conf(
            host_text, dns=sb.dns, dns_search=sb.dns_search, dns_options=sb.dns_options, ipv6=ipv6, embedded=embedded
        )
    core.osl.write_sandbox_files(sandbox_dir(core, sb.id), hosts, resolv)


class Sandboxes:
    def __init__(self, core: Core, joins: Joins) -> None:
        self.core = core
        self.joins = joins  # a sandbox's endpoints leave when it goes

    def create(
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
        key: str | None = None,
    ) -> SandboxRecord:
        """Create a sandbox: a new network namespace (or the host's, with ``host_namespace``; or
        the existing one at ``key``, which stays its maker's: a container runtime's, via CNI)."""
        core = self.core
        # everything that reaches the sandbox's hosts and resolv.conf is checked first: one line
        # of text each, nothing written from a refused value
        validate.name("sandbox", name)
        hostname = validate.hostname(hostname) if hostname is not None else _default_hostname(name)
        domainname = validate.domainname(domainname) if domainname else None
        servers = [validate.dns_server(server) for server in _items("dns", dns)]
        search = [validate.dns_search(domain) for domain in _items("dns_search", dns_search)]
        resolver_options = [validate.dns_option(option) for option in _items("dns_options", dns_options)]
        listed = list(extra_hosts.items()) if isinstance(extra_hosts, Mapping) else _items("extra_hosts", extra_hosts)
        extra = [validate.extra_host(*_pair(item)) for item in listed]
        sid = new_id()
        external = key is not None
        identity = None
        if key is not None:
            if host_namespace:
                raise InvalidParameter("a sandbox is either the host's namespace or one at a given key, not both")
            if isinstance(key, str) and os.path.isabs(key):
                identity = core.osl.namespace_identity(key)
            if identity is None:
                raise NotFound(
                    f"network namespace {key!r} does not exist (the key of an external sandbox is"
                    " the path of a namespace its maker keeps)"
                )
        else:
            key = (
                core.osl.host_key()
                if host_namespace
                else os.path.join(core.netns_dir, f"{core.netns_prefix}{sid[:12]}")
            )
        rec = SandboxRecord(
            id=sid,
            name=name,
            key=key,
            created=now(),
            hostname=hostname or sid[:12],
            domainname=domainname,
            dns=servers,
            dns_search=search,
            dns_options=resolver_options,
            extra_hosts=extra,
            host_namespace=host_namespace,
            external=external,
            key_identity=identity,
        )
        rkey, name_key = keys.sandbox(sid), keys.sandbox_name(name)
        with core.lock, core.boot_scoped(host_namespace):
            try:
                core.store.commit([Put(name_key, sid.encode(), 0), core.put(rkey, rec, 0)])
            except StaleVersion:
                raise Forbidden(f"sandbox with name {name} already exists") from None
            made = False
            try:
                if not host_namespace and not external:
                    core.osl.create_namespace(key)
                    made = True
                core.osl.make_sandbox_dir(sandbox_dir(core, sid))
                write_files(core, rec, [])
                rec.state = State.READY
                core.write(rkey, rec)
            except BaseException:
                if made:
                    safely("delete namespace", core.osl.delete_namespace, key)
                core.osl.remove_sandbox_dir(sandbox_dir(core, sid))
                core.store.commit([Delete(rkey), Delete(name_key)])
                raise
        core.events.emit("sandbox.create", sid, name, key=key)
        return rec

    def _leaves_in_namespace(self, network_id: str) -> bool:
        net = self.core.network_view(network_id)
        return bool(self.joins.drivers.network(net.driver).capabilities.leave_in_namespace)

    def delete(self, sandbox_ids: Sequence[str]) -> None:
        """Delete sandboxes; their endpoints leave, and those ``connect`` made are deleted.

        The namespaces go first, all of them: the kernel then destroys every interface in them in
        one batch (one RCU grace period for all), so the drivers' leaves find their veths gone
        instead of waiting for each deletion.
        """
        core = self.core
        with core.lock, contextlib.ExitStack() as scope:
            records = [core.sandbox(sid) for sid in sandbox_ids]
            scope.enter_context(core.boot_scoped(any(rec.host_namespace for rec, _ in records)))
            with core.store.transaction():
                for rec, version in records:
                    rec.state = State.DELETING
                    core.commit([core.put(keys.sandbox(rec.id), rec, version)])
            # endpoints whose driver needs the namespace to leave (a CNI plugin's DEL) leave first
            with core.store.transaction():
                for rec, _ in records:
                    for endpoint_ref in reversed(rec.endpoints):
                        network_id, endpoint_id = keys.split_endpoint(endpoint_ref)
                        if self._leaves_in_namespace(network_id):
                            ep, _ = core.endpoint(network_id, endpoint_id)
                            self.joins.leave(network_id, endpoint_id, rec.id, then_delete=ep.anonymous)
            records = [core.sandbox(rec.id) for rec, _ in records]
            for rec, _ in records:
                if not rec.host_namespace:
                    # a service's sockets in the namespace (the embedded DNS's) would keep it, and
                    # the veths in it, alive after its deletion: each leave would wait for one
                    for release in list(core.releasing):
                        safely("release the namespace", release, rec.id, rec.key)
                if not rec.host_namespace and not rec.external:
                    ignore_missing(core.osl.delete_namespace, rec.key)
            # one transaction for the rest: the sandboxes are durably "deleting" already, so a
            # crash in here rolls back to a state that recovery finishes
            with core.store.transaction():
                for rec, _ in records:
                    for endpoint_ref in reversed(rec.endpoints):
                        network_id, endpoint_id = keys.split_endpoint(endpoint_ref)
                        ep, _ = core.endpoint(network_id, endpoint_id)
                        self.joins.leave(network_id, endpoint_id, rec.id, then_delete=ep.anonymous)
                    core.store.commit([Delete(keys.sandbox(rec.id)), Delete(keys.sandbox_name(rec.name))])
            for rec, _ in records:
                if rec.external:  # its runtime deletes it: no socket of ours may keep it alive
                    core.osl.forget(rec.key)
                core.osl.remove_sandbox_dir(sandbox_dir(core, rec.id))
                core.events.emit("sandbox.delete", rec.id, rec.name)


def _default_hostname(name: str) -> str | None:
    """The sandbox's name when it is a valid hostname; else None (the short ID, as Docker's default)."""
    try:
        return validate.hostname(name)
    except InvalidParameter:
        return None


def _items(field: str, values: Any) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        raise InvalidParameter(f"invalid {field} {values!r}: expected a list, not one string")
    try:
        return list(values)
    except TypeError:
        raise InvalidParameter(f"invalid {field} {values!r}: expected a list") from None


def _pair(item: Any) -> tuple[Any, Any]:
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
        raise InvalidParameter(f"invalid extra host {item!r}: expected a (name, address) pair")
    return item[0], item[1]
