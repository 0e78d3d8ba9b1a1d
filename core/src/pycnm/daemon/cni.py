"""The CNI service of ``pycnm daemon``: what ``pycnm-cni`` (the plugin a runtime execs) asks for.

``POST /pycnm/v1/cni`` carries one invocation, ``{"env": {CNI_*...}, "stdin": "<config>"}``, and
is answered 200 with ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``
(:mod:`pycnm.cni.spec` reads the one and writes the other). The work is the Controller's:

=========  ===================================================================================
ADD        the container's namespace (``CNI_NETNS``) becomes an *external* sandbox named after
           the container ID (pycnm neither made it nor deletes it), and joins the network the
           config names as ``CNI_IFNAME``: pycnm's IPAM, firewall and published ports, with
           the ``ips``, ``mac``, ``portMappings``, ``aliases``, ``dns`` and ``bandwidth``
           capabilities mapped to pycnm's own options. A failure leaves nothing behind.
DEL        the attachment leaves and its endpoint goes; the sandbox goes with its last one.
           Never fails for what is already gone (no sandbox, no network, no namespace).
CHECK      the attachment is there, in the same namespace, with the addresses and MAC the
           kernel shows, and ``prevResult`` agrees with them.
GC         attachments of the network that are not in ``cni.dev/valid-attachments`` are DELeted.
STATUS     the network exists and its driver is loaded.
=========  ===================================================================================

Each attachment is a record ``cni/attachments/<network>/<container>/<ifname>`` in the local
store, written before the join (so GC and a DEL after a crash see a half-made one) and holding
the result once the ADD is done. DELs and GCs that ``pycnm-cni`` queued while the daemon was down
(``<state>/cni/queue/``) are carried out when the service starts, and again before each request
while any wait.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from typing import Any

from attrs import frozen

from .. import ports, validate
from ..api.engine import json_response
from ..api.server import PEER_PID_HEADER
from ..cni import spec
from ..cni.spec import CNIError, CNIRequest, Command, ErrorCode
from ..errors import CNMError, Forbidden, InvalidParameter, NotFound
from ..osl import netns, tc
from ..records import SandboxRecord, State
from ..store import keys
from ..store.base import Delete, Put

log = logging.getLogger("pycnm.daemon.cni")

#: the sandbox of a container is named after its ID; pycnm names are at most this long
_NAME_MAX = validate.NAME_MAX
#: the embedded DNS's address, named in results when the daemon serves it (pycnm.daemon.dns)
EMBEDDED_DNS = "127.0.0.11"


#: under the state directory: pins of runtimes' namespaces the daemon sees at no path of its own
PIN_DIR = "cni/netns"


@frozen
class _Netns:
    """A runtime's namespace: a path the daemon can open it at, its identity, and whether the
    daemon must pin it (the path is ``/proc/PID/root/...`` of the plugin's process, valid only
    while that process waits for the answer)."""

    path: str
    identity: str
    pin: bool = False


def sandbox_name(container_id: str) -> str:
    """The sandbox name of a CNI container: its ID, or a digest-suffixed cut of a longer one."""
    if len(container_id) <= _NAME_MAX:
        return container_id
    digest = hashlib.sha256(container_id.encode()).hexdigest()[:16]
    return f"{container_id[: _NAME_MAX - 17]}-{digest}"


class CNIService:
    """Serves ``POST /pycnm/v1/cni`` for ``pycnm daemon`` (a service of :class:`~pycnm.daemon.Daemon`)."""

    name = "CNI"

    def __init__(self, controller: Any, engine: Any = None) -> None:
        self.ctl = controller
        self.queue_dir = os.path.join(controller.state_dir, spec.QUEUE_DIR)
        #: where namespaces the daemon cannot see at the runtime's path are bind-mounted
        self.pin_dir = os.path.join(controller.state_dir, PIN_DIR)
        self.requests: dict[str, int] = {}
        self.errors = 0
        self.replayed = 0
        self.replay_failures = 0
        self._queue_lock = threading.Lock()

    # ---- the service ----------------------------------------------------------------------------

    def start(self) -> None:
        self.replay_queue()

    def stop(self) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {
            "Requests": dict(self.requests),
            "Errors": self.errors,
            "Queued": len(self._queued()),
            "Replayed": self.replayed,
            "ReplayFailures": self.replay_failures,
            "Attachments": len(self.ctl.store.list(keys.CNI_ATTACHMENTS)),
        }

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [("POST", spec.WIRE_PATH, "pycnm.cni", self._route)]

    def _route(self, request: Any) -> Any:
        if self._queued():
            self.replay_queue()
        pid = request.headers.get(PEER_PID_HEADER.lower(), "")
        return json_response(200, self.answer(request.body, peer_pid=int(pid) if pid.isdigit() else None))

    def answer(self, body: bytes | str | dict, peer_pid: int | None = None) -> dict[str, Any]:
        """The wire answer to one request body (never raises). ``peer_pid``: the plugin's process,
        whose mount namespace ``CNI_NETNS`` is a path in (the runtime's, which may not be ours)."""
        version = spec.LATEST_VERSION
        try:
            req = spec.request_from_wire(body)
            version = req.cni_version
            self.requests[req.command.value] = self.requests.get(req.command.value, 0) + 1
            return spec.ok_response(self.serve(req, peer_pid))
        except CNIError as exc:
            error = exc
        except Exception as exc:
            error = as_cni_error(exc)
            if error.code == ErrorCode.INTERNAL:
                log.exception("CNI request failed")
        self.errors += 1
        out = spec.error_response(error)
        out["error"]["cniVersion"] = version
        return out

    def serve(self, req: CNIRequest, peer_pid: int | None = None) -> dict[str, Any] | None:
        """Carry out one checked request; the result to print (None: print nothing)."""
        if req.command is Command.ADD:
            return self.add(req, peer_pid)
        if req.command is Command.DEL:
            self.delete(req)
        elif req.command is Command.CHECK:
            self.check(req, peer_pid)
        elif req.command is Command.GC:
            self.gc(req)
        elif req.command is Command.STATUS:
            self.status_of(req)
        else:  # VERSION: the plugin answers it itself, but a daemon asked answers the same
            return spec.version_result(req.cni_version)
        return None

    # ---- ADD ------------------------------------------------------------------------------------

    def add(self, req: CNIRequest, peer_pid: int | None = None) -> dict[str, Any]:
        assert req.container_id and req.ifname and req.netns
        net = self._network(req)
        ctl, store = self.ctl, self.ctl.store
        key = keys.cni_attachment(net.id, req.container_id, req.ifname)
        options = self._endpoint_options(req)
        bandwidth = self._bandwidth(req)
        with ctl.lock:
            if store.get(key) is not None:
                raise CNIError(
                    ErrorCode.INTERNAL,
                    f"container {req.container_id} already has interface {req.ifname} on network {net.name}",
                    "a runtime DELs an attachment before it ADDs it again",
                )
            where = self._runtime_netns(req.netns, peer_pid)
            if req.ifname in ctl.osl.interfaces(where.path):
                raise CNIError(
                    ErrorCode.INTERNAL,
                    f"interface {req.ifname} already exists in {req.netns}",
                    "ADD makes CNI_IFNAME: choose a name the container does not have",
                )
            sb, made = self._sandbox_for(req, where)
            record = {
                "container": req.container_id,
                "ifname": req.ifname,
                "netns": req.netns,
                "sandbox": sb.id,
                "network": net.name,
                "state": "adding",
                "created": time.time(),
            }
            store.commit([Put(key, _dump(record), 0)])
            endpoint = None
            try:
                endpoint = ctl.connect(net, sb, ifname=req.ifname, name=self._endpoint_name(req, net, sb), **options)
                host = ctl.osl.host_peer(sb.key, req.ifname)
                if bandwidth is not None:
                    self._limit(endpoint.id, host, bandwidth)
                result = self._result(req, net, ctl.sandbox(sb.id), endpoint, host)
                rendered = spec.render_result(result, spec.LATEST_VERSION)
                record.update(
                    state="ready",
                    endpoint=endpoint.id,
                    result=rendered,
                    version=req.cni_version,
                    bandwidth=bandwidth is not None,
                )
                store.put(key, _dump(record))
            except BaseException:
                self._undo_add(key, net, sb, made, endpoint)
                raise
        if req.prev_result is not None:  # chained after another plugin: its result comes first
            result = _merged(req.prev_result, result)
        return req.render(result)

    def _undo_add(self, key: str, net: Any, sb: Any, made: bool, endpoint: Any) -> None:
        ctl = self.ctl
        try:
            if endpoint is not None:
                _quietly(tc.unlimit_by_name, self._ifb_name(endpoint.id))
                ctl.disconnect(net, sb, force=True)
            if made and not ctl.sandbox(sb.id).record.endpoints:
                self._delete_sandbox(sb)
            ctl.store.delete(key)
        except Exception as exc:  # noqa: BLE001 - the ADD's own error is the one to report
            log.warning("could not undo a failed ADD of %s: %s", key, exc)

    def _runtime_netns(self, path: str, peer_pid: int | None) -> _Netns:
        """The namespace at ``path`` as the runtime means it: the path as the plugin's process
        sees it (through ``/proc/PID/root``: the runtime may run in a mount namespace of its own,
        as podman's private ``/run/netns`` is), and whether the daemon sees the same at that path."""
        osl = self.ctl.osl
        here = osl.namespace_identity(path)
        theirs = osl.namespace_identity(f"/proc/{peer_pid}/root{path}") if peer_pid else None
        if theirs is None or theirs == here:
            if here is None:
                raise CNIError(
                    ErrorCode.UNKNOWN_CONTAINER,
                    f"network namespace {path} does not exist",
                    "CNI_NETNS names the container's network namespace, which must be there for ADD",
                )
            return _Netns(path, here)
        return _Netns(f"/proc/{peer_pid}/root{path}", theirs, pin=True)

    def _sandbox_for(self, req: CNIRequest, where: _Netns) -> tuple[Any, bool]:
        """The container's sandbox (one per container, whatever its number of networks), made if
        new; ``(sandbox, made)``. A namespace the daemon cannot see at the runtime's path is
        pinned under the state directory (``cni/netns/``) until its last DEL."""
        ctl = self.ctl
        assert req.container_id and req.netns
        name = sandbox_name(req.container_id)
        found = ctl.store.get(keys.sandbox_name(name))
        if found is not None:
            sb = ctl.sandbox(found.value.decode())
            rec: SandboxRecord = sb.record
            if not rec.external:
                raise CNIError(
                    ErrorCode.INTERNAL,
                    f"sandbox {name} exists and is not a CNI container's",
                    "rename or delete the pycnm sandbox of that name",
                )
            if rec.key_identity == where.identity and ctl.osl.namespace_identity(rec.key) == rec.key_identity:
                return sb, False
            if rec.endpoints:
                raise CNIError(
                    ErrorCode.INTERNAL,
                    f"container {req.container_id} is attached in namespace {rec.key}, not {req.netns}",
                    "DEL its attachments before ADDing in another one",
                )
            self._delete_sandbox(sb)  # a namespace that went without a DEL: nothing in it now
        dns = req.runtime_config.dns if req.capabilities.get("dns") else None
        key = where.path
        if where.pin:
            key = os.path.join(self.pin_dir, hashlib.sha256(req.container_id.encode()).hexdigest()[:24])
            netns.pin(where.path, key)
        try:
            sb = ctl.create_sandbox(
                name,
                key=key,
                hostname=_hostname(req),
                dns=dns.servers if dns else (),
                dns_search=dns.searches if dns else (),
                dns_options=dns.options if dns else (),
            )
        except BaseException:
            if where.pin:
                _quietly(netns.delete, key)
            raise
        return sb, True

    def _delete_sandbox(self, sb: Any) -> None:
        """Delete a CNI container's sandbox, and the pin of its namespace if the daemon made one."""
        key = sb.key
        self.ctl.delete_sandboxes([sb.id])
        if os.path.dirname(key) == self.pin_dir:
            _quietly(netns.delete, key)

    def _endpoint_name(self, req: CNIRequest, net: Any, sb: Any) -> str:
        """The container's name when the runtime gives one (``K8S_POD_NAME``: podman's container
        name, kubelet's pod name) and the network has no endpoint of that name; else the
        sandbox's. The embedded DNS answers to it."""
        name = req.args.get("K8S_POD_NAME", "")
        try:
            validate.name("endpoint", name)
        except InvalidParameter:
            return str(sb.name)
        taken = self.ctl.store.get(keys.endpoint_name(net.id, name)) is not None
        return str(sb.name) if taken else name

    def _endpoint_options(self, req: CNIRequest) -> dict[str, Any]:
        caps = req.capabilities
        rc = req.runtime_config
        options: dict[str, Any] = {}
        wanted = rc.ips if caps.get("ips") else ()
        for requested in wanted or req.config_ips or req.requested_ips:
            field = "ip" if requested.address.version == 4 else "ip6"
            if field in options:
                raise CNIError(
                    ErrorCode.INVALID_NETWORK_CONFIG,
                    f"more than one IPv{requested.address.version} address asked for",
                    "a pycnm endpoint has one address of each family",
                )
            options[field] = str(requested.address)
        mac = rc.mac if caps.get("mac") else None
        if mac or req.requested_mac:
            options["mac"] = mac or req.requested_mac
        if caps.get("portMappings") and rc.port_mappings:
            options["publish"] = [
                str(ports.PortBinding(m.protocol, m.container_port, str(m.host_ip) if m.host_ip else "", m.host_port))
                for m in rc.port_mappings
            ]
        if caps.get("aliases") and rc.aliases:
            options["aliases"] = list(rc.aliases)
        return options

    def _bandwidth(self, req: CNIRequest) -> spec.Bandwidth | None:
        bw = req.runtime_config.bandwidth if req.capabilities.get("bandwidth") else None
        if bw is None or bw.is_zero:
            return None
        try:
            tc.check(bw.ingress_rate, bw.ingress_burst, "ingress")
            tc.check(bw.egress_rate, bw.egress_burst, "egress")
        except InvalidParameter as exc:
            raise CNIError(
                ErrorCode.INVALID_NETWORK_CONFIG, "invalid network config: runtimeConfig.bandwidth", exc.message
            ) from None
        return bw

    def _limit(self, endpoint_id: str, host: tuple[str, str | None] | None, bw: spec.Bandwidth) -> None:
        if host is None:
            raise CNIError(
                ErrorCode.INVALID_NETWORK_CONFIG,
                "the bandwidth capability needs a host-side interface",
                "this network's driver gives the container no veth whose other end is on the host",
            )
        tc.limit_by_name(
            host[0],
            self._ifb_name(endpoint_id),
            ingress_rate=bw.ingress_rate,
            ingress_burst=bw.ingress_burst,
            egress_rate=bw.egress_rate,
            egress_burst=bw.egress_burst,
        )

    def _ifb_name(self, endpoint_id: str) -> str:
        return f"{self.ctl.ifname_prefix}b{endpoint_id[:7]}"[: validate.IFNAME_MAX]

    def _result(self, req: CNIRequest, net: Any, sb: Any, ep: Any, host: tuple[str, str | None] | None) -> spec.Result:
        assert req.ifname and req.netns
        interfaces = []
        if host is not None:
            interfaces.append(spec.Interface(name=host[0], mac=host[1]))
        mac = self.ctl.osl.hardware_address(sb.key, req.ifname) or ep.mac
        interfaces.append(spec.Interface(name=req.ifname, mac=mac, sandbox=req.netns))
        index = len(interfaces) - 1
        ips, routes = [], []
        rec = ep.record
        default = sb.record.gateway_endpoint == ep.id
        for address, gateway, everything in (
            (rec.address, rec.gateway, "0.0.0.0/0"),
            (rec.address_ipv6, rec.gateway_ipv6, "::/0"),
        ):
            if address is None:
                continue
            ips.append(spec.IPConfig(address=address, gateway=gateway, interface=index))
            if default and gateway is not None:
                routes.append(spec.Route(dst=everything, gw=gateway))
        for route in rec.static_routes:
            routes.append(spec.Route(dst=route.destination, gw=route.next_hop))
        return spec.Result(interfaces=interfaces, ips=ips, routes=routes, dns=self._dns(req, net))

    def _dns(self, req: CNIRequest, net: Any) -> spec.DNS:
        asked = req.runtime_config.dns if req.capabilities.get("dns") else None
        searches, options = (asked.searches, asked.options) if asked else ((), ())
        served = self.ctl.network_driver(net.driver).capabilities.dns and self.ctl.embedded_dns()
        if served:  # the daemon's resolver answers in the namespace: names of the network, then the rest
            return spec.DNS(nameservers=(EMBEDDED_DNS,), search=searches, options=options)
        if asked:
            return spec.DNS(nameservers=asked.servers, search=searches, options=options)
        return spec.DNS()

    # ---- DEL ------------------------------------------------------------------------------------

    def delete(self, req: CNIRequest) -> None:
        assert req.container_id and req.ifname
        ctl = self.ctl
        with ctl.lock:
            net = self._network_or_none(req.network_name)
            self._detach(net, req.container_id, req.ifname)

    def _detach(self, net: Any, container_id: str, ifname: str) -> None:
        """DEL one attachment: whatever of it is left goes; nothing left is no error."""
        ctl, store = self.ctl, self.ctl.store
        key = keys.cni_attachment(net.id, container_id, ifname) if net is not None else None
        record = store.get(key) if key else None
        found = store.get(keys.sandbox_name(sandbox_name(container_id)))
        sb = None
        if found is not None:
            try:
                sb = ctl.sandbox(found.value.decode())
            except NotFound:
                sb = None
        if sb is not None and sb.record.external:
            joined = [
                ep
                for ep in ctl.sandbox_endpoints(sb)
                if ep.interface_name == ifname and (net is None or ep.network_id == net.id)
            ]
            for ep in joined:
                _quietly(tc.unlimit_by_name, self._ifb_name(ep.id))
            others = [ep for ep in ctl.sandbox_endpoints(sb) if ep not in joined]
            if not others:
                self._delete_sandbox(sb)  # the last attachment: the sandbox goes too (the namespace stays)
            else:
                for ep in joined:
                    ctl.disconnect(ep.network_id, sb, force=True)
        if key is not None and record is not None:  # a record is read only at a key
            store.commit([Delete(key, record.version)])

    # ---- CHECK ----------------------------------------------------------------------------------

    def check(self, req: CNIRequest, peer_pid: int | None = None) -> None:
        assert req.container_id and req.ifname and req.netns
        ctl = self.ctl
        net = self._network(req)
        cid, ifname = req.container_id, req.ifname
        found = ctl.store.get(keys.cni_attachment(net.id, cid, ifname))
        if found is None:
            raise CNIError(
                ErrorCode.INTERNAL,
                f"container {cid} has no interface {ifname} on network {net.name}",
                "no ADD made it, or a DEL removed it",
            )
        record = json.loads(found.value)
        if record.get("state") != "ready":
            raise CNIError(ErrorCode.TRY_AGAIN_LATER, f"the ADD of {cid}/{ifname} has not finished")
        if record.get("netns") != req.netns:
            raise CNIError(ErrorCode.INTERNAL, f"the attachment is in {record.get('netns')}, not {req.netns}")
        try:
            sb = ctl.sandbox(record["sandbox"])
            ep = ctl.endpoint(net, record["endpoint"])
        except NotFound as exc:
            raise CNIError(
                ErrorCode.INTERNAL, f"the attachment {cid}/{ifname} is broken: {exc.message}", "DEL it and ADD it again"
            ) from None
        try:
            where = self._runtime_netns(req.netns, peer_pid)
        except CNIError:
            where = None
        if where is None or where.identity != sb.record.key_identity or not ctl.osl.namespace_identity(sb.key):
            raise CNIError(
                ErrorCode.INTERNAL,
                f"network namespace {req.netns} is not the one {cid} joined with",
                "the namespace went (or another took its path) after the ADD",
            )
        have = ctl.osl.interfaces(sb.key)
        if ifname not in have:
            raise CNIError(ErrorCode.INTERNAL, f"interface {ifname} is missing from {req.netns}")
        want = {str(a) for a in (ep.record.address, ep.record.address_ipv6) if a is not None}
        missing = want - have[ifname]
        if missing:
            raise CNIError(
                ErrorCode.INTERNAL,
                f"interface {ifname} lacks {', '.join(sorted(missing))}",
                f"it has {', '.join(sorted(have[ifname])) or 'no address'}",
            )
        mac = ctl.osl.hardware_address(sb.key, ifname)
        recorded_mac = next((i.get("mac") for i in record["result"]["interfaces"] if i.get("sandbox")), None)
        if recorded_mac and mac != recorded_mac:
            raise CNIError(ErrorCode.INTERNAL, f"interface {ifname} has MAC {mac}, not {recorded_mac}")
        if req.prev_result is not None:
            _check_prev(req, want, mac)

    # ---- GC and STATUS --------------------------------------------------------------------------

    def gc(self, req: CNIRequest) -> None:
        net = self._network_or_none(req.network_name)
        if net is None or req.gc_attachments is None:
            return  # no network: nothing of it to collect; no list: nothing known to be stale
        valid = {(a.container_id, a.ifname) for a in req.gc_attachments}
        prefix = keys.cni_attachments(net.id)
        with self.ctl.lock:
            for entry in self.ctl.store.list(prefix):
                container_id, _, ifname = entry.key[len(prefix) :].partition("/")
                if (container_id, ifname) not in valid:
                    log.info("GC: %s/%s on %s is no longer valid", container_id, ifname, net.name)
                    self._detach(net, container_id, ifname)

    def status_of(self, req: CNIRequest) -> None:
        try:
            net = self.ctl.network(req.network_name)
        except NotFound:
            raise CNIError(
                ErrorCode.PLUGIN_NOT_AVAILABLE,
                f"network {req.network_name} does not exist",
                "create it with `pycnm network create`",
            ) from None
        if net.record.state != State.READY:
            raise CNIError(ErrorCode.PLUGIN_NOT_AVAILABLE, f"network {net.name} is {net.record.state.value}")
        try:
            self.ctl.network_driver(net.driver)
        except CNMError as exc:
            raise CNIError(
                ErrorCode.PLUGIN_NOT_AVAILABLE, f"driver {net.driver} is not available", exc.message
            ) from None

    # ---- the queue ------------------------------------------------------------------------------

    def _queued(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.queue_dir) if n.endswith(".json"))
        except OSError:
            return []

    def replay_queue(self) -> int:
        """Carry out the DELs and GCs ``pycnm-cni`` queued while the daemon was down, oldest
        first; returns how many were done. One that fails for a reason that may pass stays."""
        done = 0
        with self._queue_lock:
            for name in self._queued():
                path = os.path.join(self.queue_dir, name)
                try:
                    with open(path, "rb") as fh:
                        body = fh.read()
                except FileNotFoundError:
                    continue
                try:
                    req = spec.request_from_wire(body)
                    if req.command not in (Command.DEL, Command.GC):
                        raise CNIError(ErrorCode.INVALID_ENVIRONMENT, f"{req.command.value} is not queued")
                    self.serve(req)
                except CNIError as exc:  # the request itself is wrong: it never will be right
                    log.warning("dropped queued CNI request %s: %s", name, exc)
                except Exception as exc:  # noqa: BLE001 - kept for the next try
                    self.replay_failures += 1
                    log.warning("queued CNI request %s failed, kept for later: %s", name, exc)
                    continue
                else:
                    log.info("carried out queued CNI %s", name)
                    done += 1
                os.unlink(path)
        self.replayed += done
        return done

    # ---- helpers --------------------------------------------------------------------------------

    def _network(self, req: CNIRequest) -> Any:
        try:
            return self.ctl.network(req.network_name)
        except NotFound:
            raise CNIError(
                ErrorCode.INVALID_NETWORK_CONFIG,
                f"network {req.network_name} does not exist",
                "the config's name is a pycnm network: create it with `pycnm network create`",
            ) from None

    def _network_or_none(self, name: str | None) -> Any:
        try:
            return self.ctl.network(name)
        except (NotFound, InvalidParameter):
            return None


def as_cni_error(exc: BaseException) -> CNIError:
    """A pycnm failure as the spec's error: a bad input is the config's (7), what is not there
    is a missing namespace or network, anything else is libcni's internal error (999)."""
    if isinstance(exc, CNIError):
        return exc
    message = exc.message if isinstance(exc, CNMError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, InvalidParameter):
        return CNIError(ErrorCode.INVALID_NETWORK_CONFIG, "invalid network config", message)
    if isinstance(exc, Forbidden):
        return CNIError(ErrorCode.INTERNAL, message)
    return CNIError(ErrorCode.INTERNAL, message)


def _hostname(req: CNIRequest) -> str | None:
    name = req.args.get("K8S_POD_NAME")
    try:
        return validate.hostname(name) if name else None
    except InvalidParameter:
        return None


def _merged(prev: spec.Result, ours: spec.Result) -> spec.Result:
    shift = len(prev.interfaces)
    ips = [
        *prev.ips,
        *(
            spec.IPConfig(
                address=ip.address, gateway=ip.gateway, interface=None if ip.interface is None else ip.interface + shift
            )
            for ip in ours.ips
        ),
    ]
    return spec.Result(
        interfaces=[*prev.interfaces, *ours.interfaces],
        ips=ips,
        routes=[*prev.routes, *ours.routes],
        dns=ours.dns if not ours.dns.is_empty else prev.dns,
    )


def _check_prev(req: CNIRequest, want: set[str], mac: str | None) -> None:
    prev = req.prev_result
    assert prev is not None
    mine = [i for i, intf in enumerate(prev.interfaces) if intf.name == req.ifname and intf.sandbox == req.netns]
    if not mine:
        raise CNIError(ErrorCode.INTERNAL, f"prevResult has no interface {req.ifname} in {req.netns}")
    listed = {str(ip.address) for ip in prev.ips if ip.interface in mine}
    if listed != want:
        raise CNIError(
            ErrorCode.INTERNAL,
            f"prevResult lists {', '.join(sorted(listed)) or 'no address'} for"
            f" {req.ifname}; it has {', '.join(sorted(want)) or 'none'}",
        )
    given = prev.interfaces[mine[0]].mac
    if given and mac and given.lower() != mac.lower():
        raise CNIError(ErrorCode.INTERNAL, f"prevResult gives {req.ifname} MAC {given}; it has {mac}")


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True).encode()


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - clean-up goes on
        log.warning("%s%r: %s", getattr(fn, "__name__", fn), args, exc)


__all__ = ["CNIService", "as_cni_error", "sandbox_name"]
