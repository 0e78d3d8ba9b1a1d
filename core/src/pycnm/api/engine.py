"""The Engine API 1.41, network part, over pycnm's Controller; no HTTP in here.

``Engine(controller, events).handle(method, path, query, headers, body)`` answers one request
with a :class:`Response` (status, headers, body; for ``/events`` a subscription to stream).
The daemon's HTTP server (:mod:`pycnm.api.server`) calls it for every request; a process with
no daemon calls it in-process, so that both give the same answers byte for byte.

The routes are :data:`ROUTES`, one table as moby's router declares them; each handler decodes
(query, JSON body as Go would, :mod:`.gojson`), calls the Controller's public API, and encodes
(:mod:`.shapes`). Failures of every handler become answers in one place (:mod:`.status`).

Every route is also served under ``/v{version}``: 1.24 to 1.41; a newer or older version is
refused with dockerd's words. An unversioned request is 1.41.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CNMError, InvalidParameter, NotFound
from . import gojson, shapes
from .events import EventBus
from .filters import Filters, parse_bool
from .gotime import parse_unix, rfc3339nano, timestamp, unix_seconds
from .messages import JSON_TYPE, Response, encode
from .status import ApiError, error_body, error_status

if TYPE_CHECKING:
    from ..controller import Controller, Network, Sandbox

API_VERSION = "1.41"
MIN_API_VERSION = "1.24"
_API = (1, 41)
_MIN_API = (1, 24)

#: (method, path pattern, operation, handler). ``{id}`` matches anything, slashes too (moby's
#: ``{id:.+}``); the first route whose pattern and method match wins, so fixed paths
#: (``/networks/create``) come before patterns. The operation names the request in counters
#: and in :data:`pycnm.api.status.DOCKERD_WORDING`.
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    # ---- system -----------------------------------------------------------------------------
    ("GET", "/_ping", "system.ping", "ping"),
    ("HEAD", "/_ping", "system.ping", "ping"),
    ("GET", "/version", "system.version", "version"),
    ("GET", "/info", "system.info", "info"),
    ("GET", "/events", "system.events", "events"),
    # ---- networks ---------------------------------------------------------------------------
    ("GET", "/networks", "network.list", "network_list"),
    ("GET", "/networks/", "network.list", "network_list"),
    ("POST", "/networks/create", "network.create", "network_create"),
    ("POST", "/networks/prune", "network.prune", "network_prune"),
    ("GET", "/networks/{id}", "network.inspect", "network_inspect"),
    ("DELETE", "/networks/{id}", "network.delete", "network_delete"),
    ("POST", "/networks/{id}/connect", "network.connect", "network_connect"),
    ("POST", "/networks/{id}/disconnect", "network.disconnect", "network_disconnect"),
    # ---- containers: pycnm's sandboxes, what docker-py's Network.containers reads ----------
    ("GET", "/containers/json", "container.list", "container_list"),
    ("GET", "/containers/{id}/json", "container.inspect", "container_inspect"),
    # ---- pycnm's own ------------------------------------------------------------------------
    ("GET", "/pycnm/v1/status", "pycnm.status", "status"),
    ("GET", "/pycnm/v1/drivers", "pycnm.drivers", "drivers"),
    ("GET", "/pycnm/v1/graph", "pycnm.graph", "graph"),
    ("GET", "/pycnm/v1/sandboxes", "pycnm.sandbox.list", "sandbox_list"),
    ("POST", "/pycnm/v1/sandboxes/create", "pycnm.sandbox.create", "sandbox_create"),
    ("POST", "/pycnm/v1/sandboxes/delete", "pycnm.sandbox.delete", "sandbox_delete_many"),
    ("GET", "/pycnm/v1/sandboxes/{id}", "pycnm.sandbox.inspect", "sandbox_inspect"),
    ("DELETE", "/pycnm/v1/sandboxes/{id}", "pycnm.sandbox.delete", "sandbox_delete"),
)

# ---- request bodies, as Go types (their names appear in dockerd's decoding errors) -------------

_S, _B, _I = gojson.String, gojson.Bool, gojson.Int
_STRINGS = gojson.Map(_S)
_IPAM_CONFIG = gojson.Struct(
    "network.IPAMConfig", {"Subnet": _S, "IPRange": _S, "Gateway": _S, "AuxiliaryAddresses": _STRINGS}
)
_IPAM = gojson.Struct("network.IPAM", {"Driver": _S, "Options": _STRINGS, "Config": gojson.List(_IPAM_CONFIG)})
NETWORK_CREATE = gojson.Struct(
    "types.NetworkCreateRequest",
    {
        "CheckDuplicate": _B,
        "Driver": _S,
        "Scope": _S,
        "EnableIPv6": _B,
        "IPAM": gojson.Ptr(_IPAM),
        "Internal": _B,
        "Attachable": _B,
        "Ingress": _B,
        "ConfigOnly": _B,
        "ConfigFrom": gojson.Ptr(gojson.Struct("network.ConfigReference", {"Network": _S})),
        "Options": _STRINGS,
        "Labels": _STRINGS,
        "Name": _S,
    },
)
_ENDPOINT_IPAM = gojson.Struct(
    "network.EndpointIPAMConfig", {"IPv4Address": _S, "IPv6Address": _S, "LinkLocalIPs": gojson.List(_S)}
)
_ENDPOINT_SETTINGS = gojson.Struct(
    "network.EndpointSettings",
    {
        "IPAMConfig": gojson.Ptr(_ENDPOINT_IPAM),
        "Links": gojson.List(_S),
        "Aliases": gojson.List(_S),
        "NetworkID": _S,
        "EndpointID": _S,
        "Gateway": _S,
        "IPAddress": _S,
        "IPPrefixLen": _I,
        "IPv6Gateway": _S,
        "GlobalIPv6Address": _S,
        "GlobalIPv6PrefixLen": _I,
        "MacAddress": _S,
        "DriverOpts": _STRINGS,
    },
)
#: ``Publish`` is pycnm's: ``docker run -p``'s syntax, the ports to publish for this endpoint
NETWORK_CONNECT = gojson.Struct(
    "types.NetworkConnect",
    {"Container": _S, "EndpointConfig": gojson.Ptr(_ENDPOINT_SETTINGS), "Publish": gojson.List(_S)},
)
NETWORK_DISCONNECT = gojson.Struct("types.NetworkDisconnect", {"Container": _S, "Force": _B})
SANDBOX_CREATE = gojson.Struct(
    "pycnm.SandboxCreateRequest",
    {
        "Name": _S,
        "Hostname": _S,
        "Domainname": _S,
        "Dns": gojson.List(_S),
        "DnsSearch": gojson.List(_S),
        "DnsOptions": gojson.List(_S),
        "ExtraHosts": gojson.List(_S),
        "HostNamespace": _B,
    },
)
SANDBOX_DELETE = gojson.Struct("pycnm.SandboxDeleteRequest", {"Names": gojson.List(_S), "Force": _B})

_NETWORK_LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
_PRUNE_FILTERS = ("label", "label!", "until")
_CONTAINER_FILTERS = ("id", "name", "network")
_AMBIGUOUS = {
    "inspect": "{count} matches found based on ID prefix: network {ref} is ambiguous",
    "other": "network {ref} is ambiguous ({count} matches found based on ID prefix)",
}
_VERSIONED = re.compile(r"/v(?P<version>[0-9.]+)(?P<rest>/.*)")
_FULL_ID = re.compile(r"[0-9a-f]{64}")


def _version_text() -> str:
    try:
        from importlib.metadata import version

        return version("pycnm")
    except Exception:  # noqa: BLE001 - not installed as a distribution (a source tree)
        return "0+unknown"


PYCNM_VERSION = _version_text()
SERVER = f"pycnm/{PYCNM_VERSION} (linux)"
#: on every answer, as dockerd's middleware sets them (clients read the API version from here)
COMMON_HEADERS: tuple[tuple[str, str], ...] = (
    ("Api-Version", API_VERSION),
    ("Docker-Experimental", "false"),
    ("Ostype", "linux"),
    ("Server", SERVER),
)


@dataclass
class Request:
    """One request as a handler sees it."""

    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, Sequence[str]]
    headers: Mapping[str, str]  # keys lower-case
    body: bytes
    version: tuple[int, ...] = _API
    #: what the error mapper may quote (network_name, container_id, ...)
    context: dict[str, Any] = field(default_factory=dict)

    def arg(self, name: str, default: str = "") -> str:
        """The first value of a query parameter, as Go's ``Form.Get``."""
        values = self.query.get(name)
        return values[0] if values else default


def json_response(status: int, value: Any) -> Response:
    return Response(status, [("Content-Type", JSON_TYPE)], encode(value))


def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", pattern)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+)" for i, p in enumerate(parts))
    return re.compile(regex)


def _version_tuple(text: str) -> tuple[int, ...]:
    # Go's versions.compare: dot-separated integers, a part that is not one counts as 0
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))


class Engine:
    """Answers Engine API requests from a Controller.

    :param controller: the :class:`~pycnm.controller.Controller` to serve.
    :param events: the bus the Controller's observer feeds (:meth:`EventBus.observer`); a new
        one when not given (then only what this engine does itself shows up in ``/events``).
    :param extra_routes: more ``(method, pattern, operation, callable(request) -> Response)``
        for services of the daemon (the CNI service), after :data:`ROUTES`.
    """

    def __init__(
        self,
        controller: Controller,
        events: EventBus | None = None,
        extra_routes: Iterable[tuple[str, str, str, Callable[[Request], Response]]] = (),
    ) -> None:
        self.controller = controller
        self.events = events or EventBus()
        self.events.attach(controller.network)
        self.started = time.time()
        self._routes: list[tuple[str, re.Pattern[str], str, Callable[[Request], Response]]] = [
            (method, _compile(pattern), op, getattr(self, f"_{handler}")) for method, pattern, op, handler in ROUTES
        ]
        self.add_routes(extra_routes)
        self._stats_lock = threading.Lock()
        self._prune_lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.by_status: dict[int, int] = {}
        self.by_operation: dict[str, int] = {}
        #: sections of ``GET /pycnm/v1/status`` other services add: name -> callable giving a dict
        self.status_sections: dict[str, Callable[[], Any]] = {}

    def add_routes(self, routes: Iterable[tuple[str, str, str, Callable[[Request], Response]]]) -> None:
        """Serve a service's routes too (after :data:`ROUTES`, which win): before serving starts."""
        self._routes += [(method, _compile(pattern), op, fn) for method, pattern, op, fn in routes]

    # ---- dispatch -------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """Answer one request. Never raises: every failure is an answer."""
        method = method.upper()
        with self._stats_lock:
            self.in_flight += 1
        op, response = "unrouted", Response(500)
        try:
            op, response = self._dispatch(method, path, query or {}, headers or {}, body)
        except Exception as exc:  # noqa: BLE001 - a bug in the dispatch itself; still an answer
            response = self._finish(exc, op)
        finally:
            with self._stats_lock:
                self.in_flight -= 1
                self.requests += 1
                self.by_status[response.status] = self.by_status.get(response.status, 0) + 1
                self.by_operation[op] = self.by_operation.get(op, 0) + 1
        if method == "HEAD":
            response.body = b""
        return response

    def count(self, status: int, op: str = "refused") -> None:
        """Count an answer the HTTP layer gave without the engine (a body too large)."""
        with self._stats_lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.by_operation[op] = self.by_operation.get(op, 0) + 1

    def _dispatch(
        self, method: str, path: str, query: Mapping[str, Sequence[str]], headers: Mapping[str, str], body: bytes
    ) -> tuple[str, Response]:
        version: tuple[int, ...] = _API
        versioned = _VERSIONED.fullmatch(path)
        if versioned is not None:
            text = versioned["version"]
            version = _version_tuple(text)
            path = versioned["rest"]
            if version > _API:
                return "system.version_check", self._finish(
                    ApiError(400, f"client version {text} is too new. Maximum supported API version is {API_VERSION}"),
                    "",
                )
            if version < _MIN_API:
                return "system.version_check", self._finish(
                    ApiError(
                        400,
                        f"client version {text} is too old. Minimum supported API version is {MIN_API_VERSION},"
                        " please upgrade your client to a newer version",
                    ),
                    "",
                )
        for route_method, pattern, op, handler in self._routes:
            if route_method != method:
                continue
            found = pattern.fullmatch(path)
            if found is None:
                continue
            req = Request(
                method, path, found.groupdict(), query, {k.lower(): v for k, v in headers.items()}, body, version
            )
            try:
                response = handler(req)
            except Exception as exc:  # noqa: BLE001 - every failure becomes an answer (status.py)
                response = self._finish(exc, op, req.context)
            else:
                response.headers[:0] = COMMON_HEADERS
            return op, response
        if method == "OPTIONS":
            return "system.options", Response(200, list(COMMON_HEADERS))
        # dockerd's not-found handler runs outside its middleware: no Api-Version on it (the Server
        # header stays: without it aiohttp would name itself)
        return "unrouted", Response(
            404, [("Server", SERVER), ("Content-Type", JSON_TYPE)], error_body("page not found")
        )

    def _finish(self, exc: BaseException, op: str, context: Mapping[str, Any] | None = None) -> Response:
        status, message = error_status(exc, op, context)
        return Response(status, [*COMMON_HEADERS, ("Content-Type", JSON_TYPE)], error_body(message))

    # ---- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _body(req: Request, typ: gojson.GoType) -> dict[str, Any]:
        """The JSON body decoded into ``typ``, with dockerd's checks and words."""
        content_type = req.headers.get("content-type", "")
        if content_type or req.body:
            media = content_type.split(";", 1)[0].strip().lower()
            if media != "application/json":
                raise ApiError(400, f"Content-Type specified ({content_type}) must be 'application/json'")
        try:
            decoded = gojson.decode(typ, req.body, stream=True)
        except gojson.GoEOFError:
            raise ApiError(400, "got EOF while reading request body") from None
        except gojson.GoJSONError as exc:
            raise ApiError(400, str(exc)) from None
        return decoded if decoded is not None else typ.zero()

    def _network(self, ref: str, how: str = "other") -> Network:
        """dockerd's resolution: a full ID, else an exact name, else a unique ID prefix."""
        ctl = self.controller
        try:
            net = ctl.network(ref)
        except NotFound:
            raise ApiError(404, f"network {ref} not found") from None
        except InvalidParameter:
            count = sum(1 for n in ctl.networks() if n.id.startswith(ref))
            if count < 2:
                raise
            raise ApiError(400, _AMBIGUOUS[how].format(ref=ref, count=count)) from None
        if net.id != ref and _FULL_ID.fullmatch(ref):
            # the Controller looks names up first; dockerd a full ID (a name can look like one)
            for other in ctl.networks():
                if other.id == ref:
                    return other
        return net

    def _sandbox(self, ref: str) -> Sandbox:
        """A sandbox by container reference: name (``/name`` too), ID, unique ID prefix, or the
        path of its namespace; dockerd's words when there is none or several."""
        ctl = self.controller
        if ref == "":
            raise ApiError(400, 'invalid name or ID supplied: ""')
        name = ref[1:] if ref.startswith("/") and "/" not in ref[1:] else ref
        if "/" in name:
            for sb in ctl.sandboxes():
                if sb.key == name:
                    return sb
            raise ApiError(404, f"No such container: {ref}")
        try:
            return ctl.sandbox(name)
        except NotFound:
            raise ApiError(404, f"No such container: {ref}") from None
        except InvalidParameter:
            raise ApiError(500, f"Multiple IDs found with provided prefix: {ref}") from None

    def _name_taken(self, name: str) -> bool:
        try:
            return self.controller.network(name).name == name
        except CNMError:
            return False

    # ---- system ---------------------------------------------------------------------------------

    def _ping(self, req: Request) -> Response:
        return Response(
            200,
            [
                ("Cache-Control", "no-cache, no-store, must-revalidate"),
                ("Pragma", "no-cache"),
                ("Content-Type", "text/plain; charset=utf-8"),
            ],
            b"OK",
        )

    def _version(self, req: Request) -> Response:
        return json_response(200, shapes.version_doc(PYCNM_VERSION, API_VERSION, MIN_API_VERSION))

    def _info(self, req: Request) -> Response:
        from .drivers import network_driver_names

        return json_response(
            200,
            shapes.info_doc(
                instance_id=self.controller.instance_id,
                version=PYCNM_VERSION,
                sandboxes=len(self.controller.sandboxes()),
                network_drivers=network_driver_names(),
                state_dir=self.controller.state_dir,
                listeners=self.events.listeners,
            ),
        )

    def _events(self, req: Request) -> Response:
        since_text, until_text = req.arg("since"), req.arg("until")
        try:
            since = parse_unix(since_text) if since_text else None
            until = parse_unix(until_text) if until_text else None
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        since_ns = since[0] * 1_000_000_000 + since[1] if since else None
        until_ns = until[0] * 1_000_000_000 + until[1] if until else None
        if since_ns is not None and until_ns is not None and since_ns > until_ns:
            raise ApiError(400, f"`since` time ({since_text}) cannot be after `until` time ({until_text})")
        filters = Filters.parse(req.arg("filters"))  # keys are not checked, as in dockerd
        return Response(200, [("Content-Type", JSON_TYPE)], stream=self.events.subscribe(filters, since_ns, until_ns))

    # ---- networks -------------------------------------------------------------------------------

    def _network_list(self, req: Request) -> Response:
        filters = Filters.parse(req.arg("filters"))
        filters.validate(_NETWORK_LIST_FILTERS)
        kinds = filters.get("type")
        for kind in kinds:
            if kind not in ("custom", "builtin"):
                raise ApiError(500, f"invalid filter: 'type'='{kind}'")
        dangling = filters.get("dangling")
        if len(dangling) > 1:
            raise ApiError(400, 'got more than one value for filter key "dangling"')
        if dangling and dangling[0] not in ("0", "false", "1", "true"):
            raise ApiError(400, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")')
        detailed = req.version < (1, 28)  # before 1.28 the list carried Containers
        chosen = []
        for net in self.controller.networks():
            if not (
                filters.exact("driver", net.driver)
                and filters.match("name", net.name)
                and filters.match("id", net.id)
                and filters.exact("scope", net.scope)
                and filters.match_kv("label", net.record.labels)
            ):
                continue
            if kinds and ("builtin" if net.name in shapes.PREDEFINED_NETWORKS else "custom") not in kinds:
                continue
            if dangling and (dangling[0] in ("1", "true")) != (not net.endpoints()):
                continue  # dangling: no endpoints (dockerd 20.10 tests this before it knows them)
            chosen.append(net)
        docs = self.controller.inspect_networks(chosen, containers=detailed)
        return json_response(200, [shapes.network_resource(doc, containers=detailed) for doc in docs])

    def _network_inspect(self, req: Request) -> Response:
        verbose = req.arg("verbose")
        if verbose:
            parse_bool("verbose", verbose)  # local networks show nothing more with it, as in dockerd
        ref = req.params["id"]
        net = self._network(ref, "inspect")
        scope = req.arg("scope")
        if scope and net.scope != scope:
            raise ApiError(404, f"network {ref} not found")
        return json_response(200, shapes.network_resource(net.inspect(), containers=True))

    def _network_create(self, req: Request) -> Response:
        body = self._body(req, NETWORK_CREATE)
        name = body["Name"]
        if name in shapes.PREDEFINED_NETWORKS:
            # dockerd's own networks; pycnm has none, but a docker user's "bridge" must not
            # silently become some other network here (the trailing space is dockerd's)
            raise ApiError(403, f"operation is not permitted on predefined {name} network ")
        if name and self._name_taken(name):
            # always, whatever CheckDuplicate says: pycnm keeps names unique (dockerd makes a
            # second network of the same name when CheckDuplicate is false or absent)
            raise ApiError(409, f"network with name {name} already exists")
        ipam = body["IPAM"] or {}
        requests = _ipam_requests(ipam.get("Config") or [], name)
        if body["Ingress"]:
            raise ApiError(
                403,
                "pycnm does not support ingress networks (swarm's routing mesh); create the network without --ingress",
            )
        if body["ConfigOnly"]:
            raise ApiError(
                403,
                "pycnm does not support configuration-only networks (--config-only);"
                " give the configuration to the network itself",
            )
        if (body["ConfigFrom"] or {}).get("Network"):
            raise ApiError(
                403,
                "pycnm does not support networks that take their configuration from another"
                " (--config-from); give the configuration to the network itself",
            )
        driver = body["Driver"] or "bridge"  # dockerd's default driver
        self._check_scope(body["Scope"], driver)
        ipam_driver = ipam.get("Driver") or ""
        net = self.controller.create_network(
            name,
            driver,
            subnet=requests["subnet"],
            ip_range=requests["ip_range"],
            gateway=requests["gateway"],
            aux_addresses=requests["aux"],
            ipam_driver=None if ipam_driver in ("", "default") else ipam_driver,
            ipam_options=ipam.get("Options") or {},
            options=body["Options"] or {},
            labels=body["Labels"] or {},
            internal=body["Internal"],
            ipv6=body["EnableIPv6"],
            attachable=body["Attachable"],
        )
        return json_response(201, {"Id": net.id, "Warning": ""})

    def _check_scope(self, requested: str, driver: str) -> None:
        if requested == "swarm":
            raise ApiError(403, "cannot create a swarm scoped network when swarm is not active")
        if requested not in ("", "local", "global"):
            raise ApiError(400, f"invalid scope {requested!r}: use local or global, or leave it to the driver")
        try:
            scope = self.controller.network_driver(driver).capabilities.scope.value
        except NotFound:
            raise ApiError(404, f'plugin "{driver}" not found') from None
        if requested == "local" and scope == "global":
            raise ApiError(403, f"cannot downgrade network scope for {driver} networks")
        if requested == "global" and scope == "local":
            raise ApiError(
                403,
                f"driver {driver} makes local-scope networks: pycnm cannot make one global;"
                " use a global-scope driver (overlay) or leave the scope out",
            )

    def _network_delete(self, req: Request) -> Response:
        net = self._network(req.params["id"])
        self.events.remember(net)  # its destroy event names the driver
        net.delete()
        return Response(204)

    def _network_connect(self, req: Request) -> Response:
        body = self._body(req, NETWORK_CONNECT)
        settings = body["EndpointConfig"] or {}
        addresses = settings.get("IPAMConfig") or {}
        if addresses.get("LinkLocalIPs"):
            raise ApiError(400, "pycnm does not support link-local addresses (--link-local-ip)")
        if settings.get("Links"):
            raise ApiError(400, "pycnm does not support links (--link); use network-scoped aliases (--alias)")
        sandbox = self._sandbox(body["Container"])
        net = self._network(req.params["id"])
        req.context.update(
            network_name=net.name, network_id=net.id, container_name=sandbox.name, container_id=sandbox.id
        )
        self.controller.connect(
            net,
            sandbox,
            ip=addresses.get("IPv4Address") or None,
            ip6=addresses.get("IPv6Address") or None,
            aliases=settings.get("Aliases") or [],
            mac=settings.get("MacAddress") or None,
            options=settings.get("DriverOpts") or {},
            publish=body["Publish"] or [],
        )
        return Response(200)

    def _network_disconnect(self, req: Request) -> Response:
        body = self._body(req, NETWORK_DISCONNECT)
        container = body["Container"]
        try:
            sandbox = self._sandbox(container)
        except ApiError as exc:
            if exc.status != 404 or not body["Force"]:
                raise
            # dockerd: a forced disconnect of a container it does not know removes the network's
            # endpoint of that name (what a crashed container may have left)
            net = self._network(req.params["id"])
            try:
                endpoint = net.endpoint(container)
            except NotFound:
                raise ApiError(404, f"endpoint {container} not found") from None
            endpoint.delete(force=True)
            return Response(200)
        net = self._network(req.params["id"])
        req.context.update(
            network_name=net.name, network_id=net.id, container_name=sandbox.name, container_id=sandbox.id
        )
        # Force does not excuse a container that is not connected, in dockerd either
        self.controller.disconnect(net, sandbox)
        return Response(200)

    def _network_prune(self, req: Request) -> Response:
        filters = Filters.parse(req.arg("filters"))
        filters.validate(_PRUNE_FILTERS)
        until = None
        if "until" in filters:
            values = filters.get("until")
            if len(values) > 1:
                raise ApiError(500, "more than one until filter specified")
            if values:
                try:
                    until = timestamp(values[0], time.time())
                except ValueError as exc:
                    raise ApiError(500, str(exc)) from None
        if not self._prune_lock.acquire(blocking=False):
            raise ApiError(409, "a prune operation is already running")
        try:
            networks = self.controller.networks()
            for net in networks:
                self.events.remember(net)
            if not filters:
                deleted = self.controller.prune()
            else:
                deleted = self._prune_matching(networks, filters, until)
        finally:
            self._prune_lock.release()
        self.events.publish("network", "prune", "", {"reclaimed": "0"})
        return json_response(200, {"NetworksDeleted": deleted or None})

    @staticmethod
    def _prune_matching(networks: Sequence[Network], filters: Filters, until: float | None) -> list[str]:
        deleted = []
        for net in networks:
            doc = net.inspect()
            labels = doc.get("Labels") or {}
            if until is not None and unix_seconds(doc.get("Created")) > until:
                continue  # made after ``until``: kept
            if not filters.match_kv("label", labels):
                continue
            if "label!" in filters and filters.match_kv("label!", labels):
                continue
            if net.endpoints():
                continue
            try:
                net.delete()
            except CNMError:
                continue  # in use meanwhile: kept, as Controller.prune keeps it
            deleted.append(net.name)
        return deleted

    # ---- containers -----------------------------------------------------------------------------

    def _container_docs(self, sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
        return sandbox.inspect(), {ep.id: ep for ep in sandbox.endpoints()}

    def _container_list(self, req: Request) -> Response:
        filters = Filters.parse(req.arg("filters"))
        filters.validate(_CONTAINER_FILTERS)
        out, now = [], time.time()
        for sandbox in self.controller.sandboxes():
            if not (filters.match("id", sandbox.id) and filters.match("name", "/" + sandbox.name)):
                continue
            doc, handles = self._container_docs(sandbox)
            if "network" in filters and not any(
                filters.exact("network", ep["NetworkID"]) or filters.exact("network", ep["Network"])
                for ep in doc.get("Endpoints") or ()
            ):
                continue
            out.append(shapes.container_summary(doc, handles, now))
        return json_response(200, out)

    def _container_inspect(self, req: Request) -> Response:
        sandbox = self._sandbox(req.params["id"])
        doc, handles = self._container_docs(sandbox)
        domain = getattr(sandbox.record, "domainname", None) or ""
        return json_response(200, shapes.container_json(doc, handles, domain))

    # ---- pycnm's own routes ---------------------------------------------------------------------

    def _status(self, req: Request) -> Response:
        networks = self.controller.networks()
        with self._stats_lock:
            requests = {
                "Total": self.requests,
                "InFlight": self.in_flight,
                "ByStatus": {str(k): v for k, v in sorted(self.by_status.items())},
                "ByOperation": dict(sorted(self.by_operation.items())),
            }
        doc: dict[str, Any] = {
            "Pid": os.getpid(),
            "StateDir": self.controller.state_dir,
            "Started": rfc3339nano(datetime.datetime.fromtimestamp(self.started, datetime.UTC)),
            "Version": PYCNM_VERSION,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "Counts": {
                "Networks": len(networks),
                "Sandboxes": len(self.controller.sandboxes()),
                "Endpoints": sum(len(net.endpoints()) for net in networks),
            },
            "Requests": requests,
            "Events": {
                "Published": self.events.published,
                "Buffered": self.events.buffered,
                "Listeners": self.events.listeners,
            },
        }
        for name, section in list(self.status_sections.items()):
            try:
                doc[name] = section()
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the rest
                doc[name] = {"Error": f"{type(exc).__name__}: {exc}"}
        return json_response(200, doc)

    def _drivers(self, req: Request) -> Response:
        from .drivers import installed_drivers

        scope = req.arg("scope")
        return json_response(200, installed_drivers(scope=parse_bool("scope", scope) if scope else True))

    def _graph(self, req: Request) -> Response:
        from ..graph import topology  # what ``pycnm graph`` draws (networks, sandboxes, endpoints)

        return json_response(200, topology(self.controller))

    def _sandbox_list(self, req: Request) -> Response:
        return json_response(200, [sb.inspect() for sb in self.controller.sandboxes()])

    def _sandbox_create(self, req: Request) -> Response:
        body = self._body(req, SANDBOX_CREATE)
        hosts = []
        for item in body["ExtraHosts"] or ():
            host, sep, address = item.partition(":")
            if not sep:
                raise ApiError(400, f"invalid extra host {item!r}: expected HOST:IP")
            hosts.append((host, address))
        sandbox = self.controller.create_sandbox(
            body["Name"],
            hostname=body["Hostname"] or None,
            domainname=body["Domainname"] or None,
            dns=body["Dns"] or [],
            dns_search=body["DnsSearch"] or [],
            dns_options=body["DnsOptions"] or [],
            extra_hosts=hosts,
            host_namespace=body["HostNamespace"],
        )
        return json_response(201, {"Id": sandbox.id})

    def _sandbox_inspect(self, req: Request) -> Response:
        return json_response(200, self.controller.sandbox(req.params["id"]).inspect())

    def _sandbox_delete(self, req: Request) -> Response:
        self.controller.delete_sandboxes([self.controller.sandbox(req.params["id"])])
        return Response(204)

    def _sandbox_delete_many(self, req: Request) -> Response:
        body = self._body(req, SANDBOX_DELETE)
        found, missing = [], []
        for ref in body["Names"] or ():
            try:
                found.append((ref, self.controller.sandbox(ref)))
            except NotFound:
                if not body["Force"]:
                    raise
                missing.append(ref)
        if found:
            self.controller.delete_sandboxes([sb for _, sb in found])
        return json_response(200, {"Deleted": [ref for ref, _ in found], "NotFound": missing})


@contextlib.contextmanager
def in_process(state_dir: str | None = None, **controller_options: Any) -> Iterator[Engine]:
    """An Engine on a Controller of this process, for a caller with no daemon to ask (the CLI):
    wired as the daemon wires its own (the Controller's events feed the engine's bus), closed
    on the way out. ``plugins`` default to the installed ``pycnm.plugins``."""
    from .. import discovery
    from ..controller import Controller

    bus = EventBus()
    plugins = controller_options.pop("plugins", None)
    plugins = list(discovery.load_plugins() if plugins is None else plugins)
    controller = Controller(state_dir, plugins=[bus.observer(), *plugins], **controller_options)
    try:
        yield Engine(controller, bus)
    finally:
        controller.close()


def _ipam_requests(configs: Sequence[Mapping[str, Any]], network: str) -> dict[str, Any]:
    """IPAM.Config entries, checked as dockerd checks them (its statuses and words), then
    flattened into the Controller's lists (it matches each range, gateway and aux address to
    its subnet again)."""
    parsed = []
    for cfg in configs:
        subnet = cfg.get("Subnet") or ""
        try:
            if not re.fullmatch(r"[^/\s]+/[0-9]{1,3}", subnet):
                raise ValueError(subnet)
            parsed.append(ipaddress.ip_network(subnet, strict=False))
        except ValueError:
            raise ApiError(500, f"Invalid subnet {subnet} : invalid CIDR address: {subnet}") from None
    out: dict[str, Any] = {"subnet": [], "ip_range": [], "gateway": [], "aux": {}}
    for cfg, pool in zip(configs, parsed, strict=True):
        out["subnet"].append(cfg["Subnet"])
        if cfg.get("IPRange"):
            out["ip_range"].append(cfg["IPRange"])
        gateway = cfg.get("Gateway") or ""
        if gateway:
            try:
                address = ipaddress.ip_address(gateway)
            except ValueError:
                raise ApiError(500, f"invalid gateway address {gateway} in Ipam configuration") from None
            if address.version != pool.version or address not in pool:
                raise ApiError(500, f"failed to allocate gateway ({gateway}): Requested address is out of range")
            out["gateway"].append(gateway)
        for key, value in (cfg.get("AuxiliaryAddresses") or {}).items():
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                raise ApiError(
                    500, f"non parsable secondary ip address ({key}:{value}) passed for network {network}"
                ) from None
            if address.version != pool.version or address not in pool:
                raise ApiError(403, f"auxiliary address: ({key}:{value}) must belong to the master pool: {pool}")
            if key in out["aux"]:
                raise ApiError(
                    400,
                    f"auxiliary address name {key!r} is given in two IPAM configs; pycnm needs"
                    " the names of a network's aux addresses unique",
                )
            out["aux"][key] = value
    return out
