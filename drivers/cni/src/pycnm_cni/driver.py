"""The ``cni`` network driver: a pycnm network whose attachments are a CNI configuration list's.

Each endpoint is one CNI attachment: container ID = the endpoint's ID, ``CNI_IFNAME`` = the name
the core hands to ``cnm_join`` (``eth0``...), ``CNI_NETNS`` = the sandbox's namespace path. The
plugins make the interface in the sandbox and address it; the driver answers
``created_in_sandbox`` with the result's addresses (``JoinInfo.configured_addresses``) and the
gateway of the result's default route (see :mod:`pycnm_cni.results`).

=============================  =================================================================
``cnm_create_network``         reads and checks the list, finds every plugin and asks each its
                               VERSION: the version to run is chosen there
                               (:func:`~pycnm_cni.conflist.select_version`); a list that cannot
                               run is refused before the network exists
``cnm_create_endpoint``        checks that some plugin takes the ports and MAC asked for
``cnm_join``                   ADD, in order (the attachment's cache file is written first)
``cnm_leave``                  DEL, in reverse, with the cached result, of what the ADD ran
``cnm_delete_network``         DELs attachments a crash left, then GC (CNI 1.1.0 lists)
``cnm_restore``                memory from the snapshots; DEL of cached attachments whose
                               endpoint is not joined (a crash's leftovers)
``cnm_refresh``                memory only
=============================  =================================================================

Beyond the contract, :meth:`CNIDriver.check`, :meth:`CNIDriver.gc`, :meth:`CNIDriver.status`
and :meth:`CNIDriver.result` run CHECK, GC and STATUS and give an attachment's cached result.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from attrs import define, field

from pycnm import hookimpl, labels
from pycnm.errors import CNMError, Forbidden, Internal, InvalidParameter, NotFound
from pycnm.model import (
    Capabilities,
    DriverConfig,
    EndpointInterface,
    InterfaceName,
    IPAddress,
    IPAMData,
    IPInterface,
    JoinInfo,
    NetworkSnapshot,
)

from . import capabilities, results
from .cache import Entry, ResultCache
from .conflist import ConfList, Loader, parse_text
from .invoke import PluginMissing, VersionProbe, search_path
from .operations import Attachment, Runner
from .options import NAMES, NetworkOptions

log = logging.getLogger(__name__)


@define
class _Network:
    network_id: str
    #: None when the stored options cannot be read any more (``problem`` says why)
    options: NetworkOptions | None
    ipv4_data: list[IPAMData] = field(factory=list)
    ipv6_data: list[IPAMData] = field(factory=list)
    problem: CNMError | None = None
    #: the inline configuration, read once
    inline: ConfList | None = None

    @property
    def pools(self) -> list[IPAMData]:
        """The pools of pycnm's IPAM, when the network has a subnet (the null IPAM's are not)."""
        return [d for d in (*self.ipv4_data, *self.ipv6_data) if d.address_space != "null"]

    def pool_gateways(self) -> dict[int, IPAddress]:
        out: dict[int, IPAddress] = {}
        for data in self.pools:
            if data.gateway is not None and data.gateway.version not in out:
                out[data.gateway.version] = data.gateway.ip
        return out


@define
class _Endpoint:
    network_id: str
    interface: EndpointInterface
    options: dict[str, Any] = field(factory=dict)
    sandbox_key: str | None = None
    ifname: str | None = None


def _has_ipam(conf: ConfList) -> bool:
    return any(isinstance(p.raw.get("ipam"), Mapping) and p.raw["ipam"].get("type") for p in conf.plugins)


def _one(errors: Sequence[CNMError]) -> CNMError:
    return errors[0] if len(errors) == 1 else Internal("; ".join(str(e) for e in errors))


class CNIDriver:
    """Runs a CNI configuration list per endpoint, as libcni runs one per container attachment.

    ``environ`` is the environment plugins run with (under their ``CNI_*`` variables) and
    where ``$CNI_PATH`` is read; None: this process's.
    """

    pycnm_contract = (1, 0)
    #: what a cni network does depends on its list: the conformance tests claim per list
    pycnm_conformance: ClassVar[dict[str, Any]] = {}

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ
        self.networks: dict[str, _Network] = {}
        self.endpoints: dict[str, _Endpoint] = {}
        self.loader = Loader()
        self.probe = VersionProbe()
        self._cache: ResultCache | None = None

    # ---- set-up -----------------------------------------------------------------------------------

    @hookimpl
    def cnm_config(self, config: DriverConfig) -> None:
        self._cache = ResultCache(os.path.join(config.state_dir, "results"))

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        # addresses=False: a network without --subnet gets the null IPAM; the plugins hand them out
        return Capabilities(scope="local", network_options=NAMES, addresses=False, leave_in_namespace=True)

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        # from scratch: the core restores an in-process driver again after a recovery
        self.networks, self.endpoints = {}, {}
        self._take(networks)
        self._sweep()

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        changed = set(removed) | {snap.network_id for snap in networks}
        for network_id in removed:
            self.networks.pop(network_id, None)
        self.endpoints = {k: v for k, v in self.endpoints.items() if v.network_id not in changed}
        self._take(networks)

    def _take(self, networks: Sequence[NetworkSnapshot]) -> None:
        for snap in networks:
            generic = dict(snap.options.get(labels.GENERIC) or {})
            try:
                net = _Network(
                    snap.network_id, NetworkOptions.parse(generic), list(snap.ipv4_data), list(snap.ipv6_data)
                )
            except InvalidParameter as exc:
                net = _Network(snap.network_id, None, list(snap.ipv4_data), list(snap.ipv6_data), problem=exc)
            self.networks[snap.network_id] = net
            for ep in snap.endpoints:
                self.endpoints[ep.endpoint_id] = _Endpoint(
                    snap.network_id, ep.interface, dict(ep.options), ep.sandbox_key, ep.dst_name
                )

    def _sweep(self) -> None:
        """DEL the cached attachments no joined endpoint has (a process killed midway left them):
        the restore's "remove what has no endpoint here"."""
        joined = {eid for eid, ep in self.endpoints.items() if ep.sandbox_key is not None}
        for entry in self.cache.entries(skip=joined):  # a joined endpoint's file is not even read
            if not entry.network_id or self._joined(entry):
                continue
            try:
                self._delete_entry(entry)
                log.info(
                    "removed CNI attachment %s/%s that no joined endpoint has", entry.network_name, entry.container_id
                )
            except (CNMError, OSError) as exc:
                log.warning(
                    "cannot remove CNI attachment %s of %s left by an earlier process (tried again at the"
                    " next start): %s",
                    entry.container_id,
                    entry.network_name,
                    exc,
                )

    # ---- networks ---------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_network(
        self,
        network_id: str,
        options: Mapping[str, Any],
        ipv4_data: Sequence[IPAMData],
        ipv6_data: Sequence[IPAMData],
    ) -> None:
        if network_id in self.networks:
            raise Forbidden(f"network {network_id} already exists")
        if options.get(labels.INTERNAL):
            raise InvalidParameter(
                "a cni network cannot be internal: its plugins set the routes; leave the default route out of"
                " the CNI configuration's IPAM instead"
            )
        net = _Network(
            network_id, NetworkOptions.parse(dict(options.get(labels.GENERIC) or {})), list(ipv4_data), list(ipv6_data)
        )
        conf = self._conf(net)
        try:
            self._runner(net).version(conf)
        except PluginMissing as exc:
            raise InvalidParameter(str(exc)) from None
        if net.pools and _has_ipam(conf) and not conf.declared(capabilities.IPS):
            raise InvalidParameter(
                f"the network has a subnet of pycnm's, but the IPAM of CNI configuration {conf.source} would hand"
                ' out addresses of its own: declare "capabilities": {"ips": true} on the plugin whose IPAM is'
                " host-local (or static), with the subnet as its range, or create the network without --subnet"
            )
        self.networks[network_id] = net

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        net = self._network(network_id)
        if any(ep.network_id == network_id for ep in self.endpoints.values()):
            raise Forbidden(f"network {network_id} has active endpoints")
        for exc in self._collect(net):
            # the network goes whatever GC says: its attachments are gone already
            log.warning("while deleting cni network %s: %s", network_id, exc)
        del self.networks[network_id]

    # ---- endpoints --------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface, options: Mapping[str, Any]
    ) -> EndpointInterface | None:
        net = self._network(network_id)
        if endpoint_id in self.endpoints:
            raise Forbidden(f"endpoint {endpoint_id} already exists")
        args = capabilities.arguments(interface, options, self._ipam_addresses(net, interface))
        capabilities.check_declared(self._conf(net), args)
        self.endpoints[endpoint_id] = _Endpoint(network_id, interface, dict(options))
        return None  # the MAC is the plugins' to choose, at the join

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if ep.sandbox_key is not None:
            raise Forbidden(f"endpoint {endpoint_id} is still joined; leave first")
        for entry in self.cache.entries(endpoint_id):  # what an undone join could not DEL
            try:
                self._delete_entry(entry)
            except (CNMError, OSError) as exc:
                log.warning(
                    "cannot DEL what is left of endpoint %s's attachment (tried again at the next start): %s",
                    endpoint_id,
                    exc,
                )
        del self.endpoints[endpoint_id]

    @hookimpl
    def cnm_endpoint_oper_info(self, network_id: str, endpoint_id: str) -> Mapping[str, Any]:
        ep = self._endpoint(network_id, endpoint_id)
        cached = self.result(network_id, endpoint_id)
        mac = results.mac(results.parsed(cached), ep.ifname) if cached is not None and ep.ifname else None
        return {labels.MAC_ADDRESS: mac} if mac else {}

    # ---- join and leave ---------------------------------------------------------------------------

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, dst_name: str) -> JoinInfo:
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        if ep.sandbox_key is not None:
            raise Forbidden(f"endpoint {endpoint_id} is already joined")
        conf = self._conf(net)
        runner = self._runner(net)
        version = runner.version(conf)
        wanted = self._ipam_addresses(net, ep.interface)
        args = capabilities.arguments(ep.interface, ep.options, wanted)
        att = Attachment(endpoint_id, sandbox_key, dst_name, args)
        entry = Entry(
            conf.name,
            endpoint_id,
            dst_name,
            conf.text,
            sandbox_key,
            args,
            network_id=network_id,
            cni_version=version,
            cni_path=runner.path,
            timeout=runner.timeout,
        )
        self._write(entry)  # before the first ADD: what a DEL needs survives a crash
        result: dict[str, Any] | None = None
        try:
            result = runner.add(conf, version, att)
            info = self._join_info(net, result, dst_name, wanted)
            self._write(entry.with_result(result))
        except BaseException:
            self._undo_add(runner, conf, version, att, entry, result)
            raise
        ep.sandbox_key, ep.ifname = sandbox_key, dst_name
        return info

    def _join_info(
        self, net: _Network, result: Mapping[str, Any], ifname: str, wanted: tuple[IPInterface, ...]
    ) -> JoinInfo:
        parsed = results.parsed(result)
        given = results.addresses(parsed, ifname)
        gateways = results.default_gateways(parsed, ifname)
        if wanted and given:
            why = results.mismatch(given, wanted)
            if why:
                raise InvalidParameter(f"cannot use what the CNI plugins gave {ifname}: {why}")
        elif wanted:  # a list without IPAM: the core configures pycnm's addresses and gateway
            gateways = net.pool_gateways()
        return JoinInfo(
            interface_name=InterfaceName(ifname, dst_name=ifname, created_in_sandbox=True),
            gateway=gateways.get(4),
            gateway_ipv6=gateways.get(6),
            configured_addresses=given,
        )

    def _undo_add(
        self,
        runner: Runner,
        conf: ConfList,
        version: str,
        att: Attachment,
        entry: Entry,
        result: Mapping[str, Any] | None,
    ) -> None:
        """The spec: a DEL follows an ADD that failed (what the first plugins made goes)."""
        try:
            runner.delete(conf, version, att, result)
        except (CNMError, OSError) as exc:
            log.warning(
                "the DEL after a failed ADD of %s failed too (its cache entry stays, and the DEL is tried"
                " again when the endpoint is deleted or the driver restarts): %s",
                att.container_id,
                exc,
            )
            return
        self.cache.remove(entry)

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        entries = self.cache.entries(endpoint_id)
        if ep.sandbox_key is None and not entries:
            raise NotFound(f"endpoint {endpoint_id} is not joined", maskable=True)
        if entries:
            for entry in entries:
                self._delete_entry(entry, net)
        elif ep.sandbox_key is not None and ep.ifname is not None:
            # joined, but the cache file is gone: DEL what the list is now, without a prevResult
            conf = self._conf(net)
            runner = self._runner(net)
            args = capabilities.arguments(ep.interface, ep.options, self._ipam_addresses(net, ep.interface))
            att = Attachment(endpoint_id, self._live(ep.sandbox_key), ep.ifname, args)
            runner.delete(conf, runner.version(conf), att, None)
        ep.sandbox_key = ep.ifname = None

    def _delete_entry(self, entry: Entry, net: _Network | None = None) -> None:
        """DEL one cached attachment as its ADD ran it (its list, version and arguments), then
        forget it."""
        net = net or self.networks.get(entry.network_id)
        runner = self._runner(net)
        if net is None and entry.cni_path:  # the network is gone: its plugins are where the ADD found them
            runner = Runner(entry.cni_path, entry.timeout or runner.timeout, self.probe, self.environ)
        try:
            conf = parse_text(entry.config, f"cached for endpoint {entry.container_id}")
        except InvalidParameter:
            if net is None:
                raise
            conf = self._conf(net)
        version = entry.cni_version or str((entry.result or {}).get("cniVersion") or "") or runner.version(conf)
        att = Attachment(
            entry.container_id, self._live(entry.netns), entry.ifname, entry.capability_args, entry.cni_args
        )
        runner.delete(conf, version, att, entry.result)
        self.cache.remove(entry)

    @staticmethod
    def _live(netns: str) -> str:
        """``CNI_NETNS`` for a DEL: the path while the namespace is there, else empty (the spec's
        "optional" for DEL: the core deletes a sandbox's namespace before its endpoints leave)."""
        return netns if netns and os.path.exists(netns) else ""

    # ---- beyond the contract ----------------------------------------------------------------------

    def result(self, network_id: str, endpoint_id: str) -> dict[str, Any] | None:
        """The cached ADD result of the endpoint's attachment (in its list's version), or None."""
        self._endpoint(network_id, endpoint_id)
        return next((dict(e.result) for e in self.cache.entries(endpoint_id) if e.result is not None), None)

    def check(self, network_id: str, endpoint_id: str) -> None:
        """CHECK the endpoint's attachment: every plugin in order, with the cached result (CNI
        0.4.0 on). Nothing runs with ``disable_check`` or the list's ``disableCheck``. Raises the
        first plugin's failure as a typed error."""
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        if ep.sandbox_key is None or ep.ifname is None:
            raise NotFound(f"endpoint {endpoint_id} is not joined: there is no attachment to check")
        if net.options is not None and net.options.disable_check:
            return
        entry = next((e for e in self.cache.entries(endpoint_id) if e.result is not None), None)
        if entry is None:
            raise Internal(
                f"the cached result of endpoint {endpoint_id}'s attachment is missing ({self.cache.directory}):"
                " CHECK needs it; leave and join again"
            )
        runner = self._runner(net)
        try:
            conf = parse_text(entry.config, f"cached for endpoint {endpoint_id}")
        except InvalidParameter:
            conf = self._conf(net)
        version = entry.cni_version or runner.version(conf)
        att = Attachment(endpoint_id, ep.sandbox_key, ep.ifname, entry.capability_args, entry.cni_args)
        runner.check(conf, version, att, entry.result)

    def gc(self, network_id: str) -> None:
        """DEL the network's cached attachments no joined endpoint has, then GC every plugin (CNI
        1.1.0 on, unless ``disable_gc`` or the list's ``disableGC``) with the attachments still
        valid: every joined endpoint's of any cni network with the same CNI network name. Raises
        what failed, after trying everything."""
        errors = self._collect(self._network(network_id))
        if errors:
            raise _one(errors)

    def status(self, network_id: str) -> None:
        """STATUS of every plugin (CNI 1.1.0 on; nothing on older lists); raises the first
        failure (code 50/51: :class:`~pycnm.errors.Unavailable`)."""
        net = self._network(network_id)
        conf = self._conf(net)
        runner = self._runner(net)
        runner.status(conf, runner.version(conf))

    def _collect(self, net: _Network) -> list[CNMError]:
        errors: list[CNMError] = []
        for entry in self.cache.entries():
            if entry.network_id == net.network_id and not self._joined(entry):
                try:
                    self._delete_entry(entry, net)
                except CNMError as exc:
                    errors.append(exc)
        if net.options is not None and net.options.disable_gc:
            return errors
        try:
            conf = self._conf(net)
            runner = self._runner(net)
            version = runner.version(conf)
        except CNMError as exc:
            return [*errors, exc]
        if conf.disable_gc:
            return errors
        valid = [
            (e.container_id, e.ifname) for e in self.cache.entries() if e.network_name == conf.name and self._joined(e)
        ]
        return errors + runner.gc(conf, version, valid)

    # ---- helpers ----------------------------------------------------------------------------------

    @property
    def cache(self) -> ResultCache:
        if self._cache is None:
            raise Internal("the cni driver was used before cnm_config gave it its state directory")
        return self._cache

    def _write(self, entry: Entry) -> None:
        try:
            self.cache.write(entry)
        except OSError as exc:
            raise Internal(f"cannot write the CNI result cache in {self.cache.directory}: {exc.strerror}") from None

    def _joined(self, entry: Entry) -> bool:
        ep = self.endpoints.get(entry.container_id)
        return ep is not None and ep.network_id == entry.network_id and ep.sandbox_key is not None

    def _network(self, network_id: str) -> _Network:
        try:
            return self.networks[network_id]
        except KeyError:
            raise NotFound(f"cni network {network_id} not found") from None

    def _endpoint(self, network_id: str, endpoint_id: str) -> _Endpoint:
        self._network(network_id)
        ep = self.endpoints.get(endpoint_id)
        if ep is None or ep.network_id != network_id:
            raise NotFound(f"endpoint {endpoint_id} not found in cni network {network_id}")
        return ep

    def _conf(self, net: _Network) -> ConfList:
        if net.options is None:
            assert net.problem is not None
            raise net.problem
        if net.options.conflist:
            return self.loader.load(net.options.conflist)
        if net.inline is None:
            assert net.options.config is not None
            net.inline = parse_text(net.options.config, net.options.source)
        return net.inline

    def _runner(self, net: _Network | None) -> Runner:
        opts = net.options if net is not None and net.options is not None else NetworkOptions()
        return Runner(search_path(opts.cni_path, self.environ), opts.timeout, self.probe, self.environ)

    @staticmethod
    def _ipam_addresses(net: _Network, interface: EndpointInterface) -> tuple[IPInterface, ...]:
        """The endpoint's addresses from pycnm's IPAM (none on a network without a subnet)."""
        if not net.pools:
            return ()
        return tuple(a for a in (interface.address, interface.address_ipv6) if a is not None)


__all__ = ["CNIDriver"]
