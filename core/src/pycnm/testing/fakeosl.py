"""An OS layer without a kernel, and a driver that makes its interfaces through it: the Controller's
orchestration (join, leave, the default gateway's hand-over, recovery) tested as a normal user.

:class:`FakeOSLayer` keeps namespaces, their interfaces (name, addresses, MAC, up), default
routes and the sandboxes' files in memory; given a path, it keeps them in a JSON file as well,
rewritten at every change, so that what a killed process did survives it (as the kernel's state
does) and the crash-point matrix runs on it too. Every call is recorded in :attr:`FakeOSLayer.calls`,
and each change is announced as a step (:mod:`pycnm.steps`). ``fail`` makes one call raise.

:class:`VethDriver` is a network driver whose interfaces are links in the fake: made in the
host's namespace and moved in by the core, or born in the sandbox; it keeps what it published
(external connectivity) in the fake too, so a test sees which endpoint holds the gateway.

    osl = FakeOSLayer()
    ctl = Controller(tmp, netns_dir=f"{tmp}/netns", osl=osl, plugins=[])
    ctl.register_driver("veth", VethDriver())
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .. import hookimpl, steps
from ..errors import Forbidden, NotFound
from ..model import Capabilities, EndpointInterface, InterfaceName, IPInterface, JoinInfo, StaticRoute
from ..osl.layer import Address, OSLayer

HOST = "fake:host"


class FakeOSLayer(OSLayer):
    """Namespaces, interfaces, routes and files in memory (and in ``path``, when given)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.calls: list[tuple[Any, ...]] = []
        #: a call name -> the exception the next such call raises (then forgotten)
        self.fail: dict[str, BaseException] = {}
        self.state: dict[str, Any] = {"namespaces": {HOST: _namespace()}, "files": {}, "published": {}}
        if path and os.path.exists(path):
            with open(path) as fh:
                self.state = json.load(fh)

    # ---- bookkeeping -----------------------------------------------------------------------------

    def _call(self, name: str, *args: Any, change: str | None = None) -> None:
        self.calls.append((name, *args))
        failure = self.fail.pop(name, None)
        if failure is not None:
            raise failure
        if change is not None:
            steps.step(change, f"fake {name} {' '.join(map(str, args))}")

    def _save(self) -> None:
        if self.path:
            tmp = f"{self.path}.tmp"
            with open(tmp, "w") as fh:
                json.dump(self.state, fh)
            os.replace(tmp, self.path)

    def _ns(self, key: str) -> dict[str, Any]:
        try:
            return self.state["namespaces"][key]
        except KeyError:
            raise NotFound(f"network namespace {key} does not exist") from None

    def links(self, key: str) -> dict[str, dict[str, Any]]:
        """The interfaces in ``key`` (``HOST`` for the host's), as dicts."""
        return self._ns(key)["links"]

    def routes(self, key: str) -> dict[str, list[str]]:
        """Default routes of ``key``: IP version -> [interface, gateway]."""
        return self._ns(key)["routes"]

    # ---- for drivers -----------------------------------------------------------------------------

    def add_link(self, key: str, name: str, *, mac: str | None = None) -> None:
        self._call("add_link", key, name, change="netlink")
        links = self.links(key)
        if name in links:
            raise Forbidden(f"a link named {name} exists in {key}")
        links[name] = _link(mac or _new_mac())  # the kernel gives every veth one
        self._save()

    def delete_link(self, key: str, name: str) -> bool:
        self._call("delete_link", key, name, change="netlink")
        gone = self.links(key).pop(name, None) is not None
        self._save()
        return gone

    def publish(self, endpoint_id: str, ports: Sequence[str]) -> None:
        self._call("publish", endpoint_id, change="nft")
        self.state["published"][endpoint_id] = list(ports)
        self._save()

    def unpublish(self, endpoint_id: str) -> None:
        self._call("unpublish", endpoint_id, change="nft")
        self.state["published"].pop(endpoint_id, None)
        self._save()

    @property
    def published(self) -> dict[str, list[str]]:
        return self.state["published"]

    # ---- the OS layer ----------------------------------------------------------------------------

    def host_key(self) -> str:
        return HOST

    def is_namespace(self, key: str) -> bool:
        return key in self.state["namespaces"]

    def namespace_identity(self, key: str) -> str | None:
        ns = self.state["namespaces"].get(key)
        return None if ns is None else str(ns.setdefault("identity", uuid.uuid4().hex))

    def create_namespace(self, key: str) -> None:
        self._call("create_namespace", key, change="netns")
        if key in self.state["namespaces"]:
            raise Forbidden(f"network namespace {key} already exists")
        self.state["namespaces"][key] = _namespace()
        self._save()

    def delete_namespace(self, key: str) -> None:
        self._call("delete_namespace", key, change="netns")
        if self.state["namespaces"].pop(key, None) is None:
            raise NotFound(f"network namespace {key} does not exist", maskable=True)
        self._save()

    def namespaces(self, directory: str, prefix: str) -> list[str]:
        start = os.path.join(directory, prefix)
        return sorted(k for k in self.state["namespaces"] if prefix and k.startswith(start))

    def attach(
        self,
        key: str,
        *,
        src_name: str,
        dst_name: str,
        created_in_sandbox: bool,
        addresses: Sequence[IPInterface],
        mac: str | None = None,
        gateways: Sequence[Address] = (),
        ipv6: bool | None = None,
    ) -> int:
        self._call("attach", key, src_name, dst_name, change="netlink")
        links = self.links(key)
        if created_in_sandbox:
            if dst_name not in links:
                raise NotFound(f"interface {dst_name} not found in sandbox {key}")
        else:
            host = self.links(HOST)
            if src_name not in host:
                raise NotFound(f"interface {src_name} not found in the host namespace")
            if dst_name in links:
                raise Forbidden(f"moving {src_name} into sandbox {key} as {dst_name}: already exists")
            links[dst_name] = host.pop(src_name)
            links[dst_name]["moved_from"] = src_name
        link = links[dst_name]
        if mac and not created_in_sandbox:
            link["mac"] = mac
        link["addresses"] = sorted({*link["addresses"], *(str(a) for a in addresses)})
        link["up"] = True
        for gw in gateways:
            self.routes(key)[str(gw.version)] = [dst_name, str(gw)]
        self._save()
        return list(links).index(dst_name) + 1

    def detach(self, key: str, *, dst_name: str, src_name: str) -> None:
        self._call("detach", key, dst_name, src_name, change="netlink")
        links = self.links(key)
        if dst_name not in links:
            return
        link = links.pop(dst_name)
        link.update(up=False, addresses=[])
        link.pop("moved_from", None)
        self.links(HOST)[src_name] = link
        self._drop_routes(key, dst_name)
        self._save()

    def remove_interface(self, key: str, name: str) -> bool:
        self._call("remove_interface", key, name, change="netlink")
        gone = self.links(key).pop(name, None) is not None
        self._drop_routes(key, name)
        self._save()
        return gone

    def _drop_routes(self, key: str, name: str) -> None:
        routes = self.routes(key)
        for version in [v for v, (via, _gw) in routes.items() if via == name]:
            del routes[version]

    def add_routes(self, key: str, dst_name: str, routes: Sequence[StaticRoute], index: int | None = None) -> None:
        self._call("add_routes", key, dst_name, change="netlink")
        link = self.links(key).get(dst_name)
        if link is None:
            raise NotFound(f"interface {dst_name} not found in sandbox {key}")
        link.setdefault("static", []).extend(str(r.destination) for r in routes)
        self._save()

    def set_default_gateway(self, key: str, dst_name: str, gateway: Address, index: int | None = None) -> None:
        self._call("set_default_gateway", key, dst_name, str(gateway), change="netlink")
        if dst_name not in self.links(key):
            raise NotFound(f"interface {dst_name} not found in sandbox {key}")
        self.routes(key)[str(gateway.version)] = [dst_name, str(gateway)]
        self._save()

    def clear_default_gateway(self, key: str, version: int) -> None:
        self._call("clear_default_gateway", key, version, change="netlink")
        self.routes(key).pop(str(version), None)
        self._save()

    def interfaces(self, key: str) -> dict[str, set[str]]:
        return {name: set(link["addresses"]) for name, link in self.links(key).items() if name != "lo"}

    def hardware_address(self, key: str, name: str) -> str | None:
        link = self.links(key).get(name) if key in self.state["namespaces"] else None
        return None if link is None else link.get("mac")

    def host_peer(self, key: str, name: str) -> tuple[str, str | None] | None:
        return None  # the fake's links have no peers

    def make_sandbox_dir(self, directory: str) -> None:
        self._call("make_sandbox_dir", directory, change="file")

    def write_sandbox_files(self, directory: str, hosts: str, resolv_conf: str) -> None:
        files = self.state["files"]
        for name, text in (("hosts", hosts), ("resolv.conf", resolv_conf)):
            path = os.path.join(directory, name)
            if files.get(path) != text:
                self._call("write_file", path, change="file")
                files[path] = text
        self._save()

    def remove_sandbox_dir(self, directory: str) -> None:
        files = self.state["files"]
        gone = [p for p in files if p.startswith(directory + os.sep)]
        if gone:
            self._call("remove_sandbox_dir", directory, change="file")
            for path in gone:
                del files[path]
            self._save()

    def host_resolv_conf(self) -> str:
        return "nameserver 192.0.2.53\nsearch example.test\n"

    def read_file(self, path: str) -> str:
        try:
            return self.state["files"][path]
        except KeyError:
            raise FileNotFoundError(path) from None


def _namespace() -> dict[str, Any]:
    # a namespace made again at the same path is another one: its identity says so
    return {"links": {"lo": _link(None, up=True)}, "routes": {}, "identity": uuid.uuid4().hex}


def _new_mac() -> str:
    return "02:" + ":".join(f"{b:02x}" for b in os.urandom(5))


def _link(mac: str | None, up: bool = False) -> dict[str, Any]:
    return {"mac": mac, "up": up, "addresses": []}


class VethDriver:
    """A network driver for the fake: an interface per join, made in the host's namespace and
    moved in by the core (``in_sandbox=False``) or born in the sandbox; the gateway is each IPv4
    pool's; published ports are recorded in the fake."""

    pycnm_contract = (1, 0)
    pycnm_conformance: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, in_sandbox: bool = False) -> None:
        self.in_sandbox = in_sandbox
        self.osl: FakeOSLayer | None = None
        self.prefix = ""
        self.networks: dict[str, list[Any]] = {}  # network -> its IPv4 data
        self.endpoints: dict[str, dict[str, Any]] = {}  # endpoint -> network, interface, where it is

    @hookimpl
    def cnm_config(self, config: Any) -> None:
        self.osl = config.osl
        self.prefix = config.ifname_prefix

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        return Capabilities(scope="local", network_options=())

    @hookimpl
    def cnm_restore(self, networks: Sequence[Any]) -> None:
        for net in networks:
            self.networks[net.network_id] = list(net.ipv4_data)
            for ep in net.endpoints:
                self.endpoints[ep.endpoint_id] = {
                    "network_id": net.network_id,
                    "interface": ep.interface,
                    "where": (ep.sandbox_key, ep.dst_name) if ep.sandbox_key else None,
                }

    @hookimpl
    def cnm_refresh(self, networks: Sequence[Any], removed: Sequence[str]) -> None:
        changed = set(removed) | {net.network_id for net in networks}
        for network_id in removed:
            self.networks.pop(network_id, None)
        self.endpoints = {k: v for k, v in self.endpoints.items() if v["network_id"] not in changed}
        self.cnm_restore(networks)

    @hookimpl
    def cnm_create_network(self, network_id: str, ipv4_data: Sequence[Any]) -> None:
        if network_id in self.networks:
            raise Forbidden(f"network {network_id} already exists")
        self.networks[network_id] = list(ipv4_data)

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        self._network(network_id)
        if any(ep["network_id"] == network_id for ep in self.endpoints.values()):
            raise Forbidden(f"network {network_id} has active endpoints")
        del self.networks[network_id]

    @hookimpl
    def cnm_create_endpoint(self, network_id: str, endpoint_id: str, interface: EndpointInterface) -> None:
        self._network(network_id)
        self.endpoints[endpoint_id] = {"network_id": network_id, "interface": interface, "where": None}

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if ep["where"] is not None:
            raise Forbidden(f"endpoint {endpoint_id} is still joined; leave first")
        del self.endpoints[endpoint_id]

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, dst_name: str) -> JoinInfo:
        ep = self._endpoint(network_id, endpoint_id)
        assert self.osl is not None
        if self.in_sandbox:
            self.osl.add_link(sandbox_key, dst_name)
            name = InterfaceName(dst_name, dst_name=dst_name, created_in_sandbox=True)
        else:
            src = f"{self.prefix}v{endpoint_id[:10]}"
            self.osl.add_link(HOST, src)
            name = InterfaceName(src)
        ep["where"] = (sandbox_key, dst_name)
        gateway = next((d.gateway.ip for d in self.networks[network_id] if d.gateway is not None), None)
        return JoinInfo(interface_name=name, gateway=gateway)

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if ep["where"] is None:
            raise NotFound(f"endpoint {endpoint_id} is not joined", maskable=True)
        assert self.osl is not None
        if self.in_sandbox:
            key, dst = ep["where"]
            if self.osl.is_namespace(key):
                self.osl.delete_link(key, dst)
        else:
            self.osl.delete_link(HOST, f"{self.prefix}v{endpoint_id[:10]}")
        if endpoint_id in self.osl.published:
            self.osl.unpublish(endpoint_id)
        ep["where"] = None

    @hookimpl
    def cnm_program_external_connectivity(self, network_id: str, endpoint_id: str, options: Any) -> None:
        self._endpoint(network_id, endpoint_id)
        assert self.osl is not None
        self.osl.publish(endpoint_id, [str(p) for p in (options.get("com.docker.network.portmap") or [])])

    @hookimpl
    def cnm_revoke_external_connectivity(self, network_id: str, endpoint_id: str) -> None:
        self._endpoint(network_id, endpoint_id)
        assert self.osl is not None
        if endpoint_id in self.osl.published:
            self.osl.unpublish(endpoint_id)

    def _network(self, network_id: str) -> list[Any]:
        try:
            return self.networks[network_id]
        except KeyError:
            raise NotFound(f"network {network_id} not found") from None

    def _endpoint(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        self._network(network_id)
        ep = self.endpoints.get(endpoint_id)
        if ep is None or ep["network_id"] != network_id:
            raise NotFound(f"endpoint {endpoint_id} not found in network {network_id}")
        return ep


__all__ = ["HOST", "FakeOSLayer", "VethDriver"]
