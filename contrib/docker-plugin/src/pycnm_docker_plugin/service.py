"""Docker's remote protocol calls, mapped onto a pycnm network driver and pycnm's default IPAM.

The plugin keeps its own state (dockerd restores networks at start without calling the plugin):
every network and endpoint it is told of goes to its store, and a restarted plugin hands them to
the driver's ``cnm_restore``.

Interfaces: dockerd moves the interface a Join names from the host into the container itself.
A pycnm driver that would create it directly in the sandbox is handed the host's namespace and a
temporary name instead, and the plugin answers that name as ``SrcName``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from pycnm import discovery, wire
from pycnm._relay import IPAMRelay, NetworkRelay
from pycnm.errors import CNMError, InvalidParameter, NotFound
from pycnm.model import DriverConfig, EndpointInterface, EndpointSnapshot, NetworkSnapshot, Scope, address, check_id
from pycnm.osl import netns
from pycnm.store import SQLiteStore

log = logging.getLogger(__name__)


class Unknown(Exception):
    """No such protocol method: HTTP 404, which dockerd reads as "not implemented"."""


class PluginService:
    """Answers protocol calls; ``handle(method, payload)`` returns the JSON answer."""

    def __init__(self, driver: str, state_dir: str, *, ifname_prefix: str = "", ipam: bool = True) -> None:
        os.makedirs(state_dir, exist_ok=True)
        self.store = SQLiteStore(os.path.join(state_dir, "plugin.db"))
        self.lock = threading.Lock()
        loaded, entry = discovery.load(discovery.NETWORK_DRIVERS, driver)
        self.relay = NetworkRelay(loaded, entry)
        self.relay.config(
            DriverConfig(
                state_dir=os.path.join(state_dir, "driver"),
                ifname_prefix=ifname_prefix,
                instance_id=f"dockerplugin-{driver}",
                scope=self.relay.capabilities.scope,
            )
        )
        self.relay.restore(self._snapshots())
        self.ipam: IPAMRelay | None = None
        if ipam:
            ipam_driver, ipam_entry = discovery.load(discovery.IPAM_DRIVERS, "default")
            self.ipam = IPAMRelay(ipam_driver, ipam_entry)
            self.ipam.config(DriverConfig(state_dir=state_dir, scope=Scope.LOCAL), self.store)
        self.host_key = netns.host_key()
        self.methods: dict[str, Callable[[dict], dict]] = {
            "Plugin.Activate": self.activate,
            "NetworkDriver.GetCapabilities": lambda p: wire.dump(self.relay.capabilities),
            "NetworkDriver.CreateNetwork": self.create_network,
            "NetworkDriver.DeleteNetwork": self.delete_network,
            "NetworkDriver.CreateEndpoint": self.create_endpoint,
            "NetworkDriver.DeleteEndpoint": self.delete_endpoint,
            "NetworkDriver.EndpointOperInfo": self.oper_info,
            "NetworkDriver.Join": self.join,
            "NetworkDriver.Leave": self.leave,
            "NetworkDriver.ProgramExternalConnectivity": self.program,
            "NetworkDriver.RevokeExternalConnectivity": self.revoke,
            "NetworkDriver.DiscoverNew": lambda p: self._discover(p, self.relay.discover_new),
            "NetworkDriver.DiscoverDelete": lambda p: self._discover(p, self.relay.discover_delete),
        }
        if self.ipam is not None:
            ipam_relay = self.ipam
            self.methods.update(
                {
                    "IpamDriver.GetCapabilities": lambda p: {
                        "RequiresMACAddress": False,
                        "RequiresRequestReplay": False,
                    },
                    "IpamDriver.GetDefaultAddressSpaces": lambda p: wire.dump(ipam_relay.default_address_spaces()),
                    "IpamDriver.RequestPool": self.request_pool,
                    "IpamDriver.ReleasePool": self.release_pool,
                    "IpamDriver.RequestAddress": self.request_address,
                    "IpamDriver.ReleaseAddress": self.release_address,
                }
            )

    def close(self) -> None:
        self.store.close()

    # ---- dispatch -------------------------------------------------------------------------------

    def handle(self, method: str, payload: Any) -> dict:
        """The answer to one call; protocol errors come back as ``{"Err": ...}`` (``Error`` for IPAM)."""
        fn = self.methods.get(method)
        if fn is None:
            raise Unknown(method)
        error_field = "Error" if method.startswith("IpamDriver.") else "Err"
        if payload is not None and not isinstance(payload, dict):
            return {error_field: f"{method}: the body must be a JSON object, not {type(payload).__name__}"}
        with self.lock:
            try:
                return fn(payload or {})
            except CNMError as exc:
                log.info("%s: %s: %s", method, type(exc).__name__, exc)
                return {error_field: str(exc)}

    def activate(self, _payload: dict) -> dict:
        implements = ["NetworkDriver"] + (["IpamDriver"] if self.ipam is not None else [])
        return {"Implements": implements}

    # ---- networks -------------------------------------------------------------------------------

    def create_network(self, p: dict) -> dict:
        network_id = _id(p, "NetworkID")
        options = _mapping(p, "Options")
        ipv4, ipv6 = wire.ipam_data(p.get("IPv4Data")), wire.ipam_data(p.get("IPv6Data"))
        self.relay.create_network(network_id, options, ipv4, ipv6)
        self.store.put(
            f"plugin/networks/{network_id}",
            json.dumps({"options": options, "ipv4": p.get("IPv4Data") or [], "ipv6": p.get("IPv6Data") or []}).encode(),
        )
        return {}

    def delete_network(self, p: dict) -> dict:
        network_id = _id(p, "NetworkID")
        self.relay.delete_network(network_id)
        self.store.delete(f"plugin/networks/{network_id}")
        return {}

    # ---- endpoints ------------------------------------------------------------------------------

    def create_endpoint(self, p: dict) -> dict:
        network_id, endpoint_id = _id(p, "NetworkID"), _id(p, "EndpointID")
        interface = wire.load(p.get("Interface") or {}, EndpointInterface)
        options = _mapping(p, "Options")
        answer = self.relay.create_endpoint(network_id, endpoint_id, interface, options)
        dumped = wire.dump(interface)
        if answer is not None:
            dumped.update({k: v for k, v in wire.dump(answer).items() if v})
        record = {"interface": dumped, "options": options, "sandbox_key": None, "src_name": None}
        self.store.put(f"plugin/endpoints/{network_id}/{endpoint_id}", json.dumps(record).encode())
        if answer is None:
            return {}
        # only what the driver filled in; dockerd refuses a change to what it supplied
        given = wire.dump(interface)
        return {"Interface": {k: v for k, v in wire.dump(answer).items() if v and not given.get(k)}}

    def delete_endpoint(self, p: dict) -> dict:
        network_id, endpoint_id = _id(p, "NetworkID"), _id(p, "EndpointID")
        self.relay.delete_endpoint(network_id, endpoint_id)
        self.store.delete(f"plugin/endpoints/{network_id}/{endpoint_id}")
        return {}

    def oper_info(self, p: dict) -> dict:
        return {"Value": self.relay.endpoint_oper_info(_id(p, "NetworkID"), _id(p, "EndpointID"))}

    # ---- join and leave -------------------------------------------------------------------------

    def join(self, p: dict) -> dict:
        network_id, endpoint_id = _id(p, "NetworkID"), _id(p, "EndpointID")
        sandbox_key = _text(p, "SandboxKey")
        key = f"plugin/endpoints/{network_id}/{endpoint_id}"
        entry = self.store.get(key)
        if entry is None:
            raise NotFound(f"endpoint {endpoint_id} not found in network {network_id}")
        record = json.loads(entry.value)
        # dockerd moves the interface into the container: have it made in the host, under a
        # temporary name, and tell dockerd that name
        temporary = f"pcd{endpoint_id[:12]}"
        info = self.relay.join(network_id, endpoint_id, self.host_key, _mapping(p, "Options"), temporary)
        answer = wire.dump(info)
        if info.interface_name is not None:
            answer["InterfaceName"] = {
                "SrcName": info.interface_name.src_name,
                "DstPrefix": info.interface_name.dst_prefix or "eth",
            }
        record.update(sandbox_key=sandbox_key, src_name=temporary)
        self.store.put(key, json.dumps(record).encode())
        return answer

    def leave(self, p: dict) -> dict:
        network_id, endpoint_id = _id(p, "NetworkID"), _id(p, "EndpointID")
        self.relay.leave(network_id, endpoint_id)
        key = f"plugin/endpoints/{network_id}/{endpoint_id}"
        entry = self.store.get(key)
        if entry is not None:
            record = json.loads(entry.value)
            record.update(sandbox_key=None, src_name=None)
            self.store.put(key, json.dumps(record).encode())
        return {}

    def program(self, p: dict) -> dict:
        self.relay.program_external_connectivity(_id(p, "NetworkID"), _id(p, "EndpointID"), _mapping(p, "Options"))
        return {}

    def revoke(self, p: dict) -> dict:
        self.relay.revoke_external_connectivity(_id(p, "NetworkID"), _id(p, "EndpointID"))
        return {}

    def _discover(self, p: dict, fn) -> dict:
        fn(_int(p, "DiscoveryType"), _mapping(p, "DiscoveryData"))
        return {}

    # ---- IPAM -----------------------------------------------------------------------------------

    def _ipam(self) -> IPAMRelay:
        if self.ipam is None:  # (IpamDriver methods are served only with an IPAM driver)
            raise Unknown("IpamDriver")
        return self.ipam

    def request_pool(self, p: dict) -> dict:
        alloc = self._ipam().request_pool(
            _text(p, "AddressSpace"), _text(p, "Pool"), _text(p, "SubPool"), _mapping(p, "Options"), _bool(p, "V6")
        )
        return {"PoolID": alloc.pool_id, "Pool": str(alloc.pool), "Data": dict(alloc.data)}

    def request_address(self, p: dict) -> dict:
        got = self._ipam().request_address(_text(p, "PoolID"), _address(p, "Address"), _mapping(p, "Options"))
        if got is None:
            raise NotFound("no address handed out")
        return {"Address": str(got.address), "Data": dict(got.data)}

    def release_pool(self, p: dict) -> dict:
        self._ipam().release_pool(_text(p, "PoolID"))
        return {}

    def release_address(self, p: dict) -> dict:
        self._ipam().release_address(_text(p, "PoolID"), _address(p, "Address"))
        return {}

    # ---- restart --------------------------------------------------------------------------------

    def _snapshots(self) -> list[NetworkSnapshot]:
        snaps = []
        for entry in self.store.list("plugin/networks/"):
            network_id = entry.key.rsplit("/", 1)[1]
            net = json.loads(entry.value)
            eps = []
            for ep_entry in self.store.list(f"plugin/endpoints/{network_id}/"):
                rec = json.loads(ep_entry.value)
                eps.append(
                    EndpointSnapshot(
                        ep_entry.key.rsplit("/", 1)[1],
                        wire.load(rec["interface"], EndpointInterface),
                        rec["options"],
                        sandbox_key=self.host_key if rec["sandbox_key"] else None,
                        dst_name=rec["src_name"],
                    )
                )
            snaps.append(
                NetworkSnapshot(
                    network_id, net["options"], wire.ipam_data(net["ipv4"]), wire.ipam_data(net["ipv6"]), eps
                )
            )
        return snaps


def _text(payload: dict, field: str) -> str:
    value = payload.get(field, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidParameter(f"{field} must be a string, not {type(value).__name__}")
    return value


def _id(payload: dict, field: str) -> str:
    """A network or endpoint ID: dockerd's 64 hex characters (it becomes part of a store key)."""
    return check_id(_text(payload, field), kind=field.removesuffix("ID").lower())


def _mapping(payload: dict, field: str) -> dict:
    value = payload.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter(f"{field} must be a JSON object, not {type(value).__name__}")
    return value


def _bool(payload: dict, field: str) -> bool:
    value = payload.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidParameter(f"{field} must be true or false, not {type(value).__name__} {value!r}")
    return value


def _int(payload: dict, field: str) -> int:
    value = payload.get(field)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameter(f"{field} must be an integer, not {type(value).__name__} {value!r}")
    return value


def _address(payload: dict, field: str) -> str:
    """An IP address as text, checked here: the IPAM driver is handed nothing it cannot parse."""
    text = _text(payload, field)
    if text:
        address(text, name=field)
    return text


__all__ = ["PluginService", "Unknown"]
