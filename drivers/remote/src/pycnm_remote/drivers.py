"""A Docker network plugin, and a Docker IPAM plugin, as pycnm drivers: each hook is one call.

Activation is lazy, as in libnetwork: ``Plugin.Activate`` (its ``Implements`` must name the
kind), then ``GetCapabilities``, when the driver is first used. Restoring after a restart makes
no call (libnetwork makes none either): the plugin keeps its own state. Answers of the wrong shape
are errors naming the plugin and the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pycnm import hookimpl, wire
from pycnm.errors import DriverLoadError, Internal, InvalidParameter, Unimplemented
from pycnm.model import (
    AddressAllocation,
    AddressSpaces,
    Capabilities,
    EndpointInterface,
    IPAMCapabilities,
    IPAMData,
    JoinInfo,
    NetworkSnapshot,
    PoolAllocation,
)

from .client import PluginClient


class _Remote:
    kind = ""

    def __init__(self, client: PluginClient, source: dict[str, str]) -> None:
        self.client = client
        self.pycnm_source = source  # read by the core to name the plugin in its errors
        self._activated = False

    def _activate(self) -> None:
        if self._activated:
            return
        answer = self.client.call("Plugin.Activate")
        implements = answer.get("Implements") or []
        if not isinstance(implements, list) or self.kind not in implements:
            raise DriverLoadError(
                f"remote plugin {self.client.name} at {self.client.address} does not implement"
                f" {self.kind} (it implements {implements})"
            )
        self._activated = True

    def _load(self, method: str, data: Any, cls: type) -> Any:
        try:
            return wire.load(data, cls)
        except InvalidParameter as exc:
            raise Internal(
                f"remote plugin {self.client.name}: {self.kind}.{method}: the answer is wrong: {exc}"
            ) from None


class RemoteNetworkDriver(_Remote):
    kind = "NetworkDriver"

    def __init__(self, client: PluginClient, source: dict[str, str]) -> None:
        super().__init__(client, source)
        self._capabilities: Capabilities | None = None

    def _call(self, method: str, payload: dict | None = None) -> dict:
        self._activate()
        return self.client.call(f"NetworkDriver.{method}", payload)

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        if self._capabilities is None:
            answer = self._call("GetCapabilities")
            scope = answer.get("Scope")
            if scope not in ("local", "global"):
                raise DriverLoadError(
                    f"remote plugin {self.client.name}: GetCapabilities gave scope {scope!r};"
                    " it must be local or global"
                )
            self._capabilities = self._load("GetCapabilities", answer, Capabilities)
        return self._capabilities

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        """Nothing to do: the plugin keeps its own state, and heard every process's calls."""

    @hookimpl
    def cnm_create_network(
        self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData], ipv6_data: Sequence[IPAMData]
    ) -> None:
        self._call(
            "CreateNetwork",
            {
                "NetworkID": network_id,
                "Options": dict(options),
                "IPv4Data": [wire.dump(d) for d in ipv4_data],
                "IPv6Data": [wire.dump(d) for d in ipv6_data],
            },
        )

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        self._call("DeleteNetwork", {"NetworkID": network_id})

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface, options: Mapping[str, Any]
    ) -> EndpointInterface | None:
        answer = self._call(
            "CreateEndpoint",
            {
                "NetworkID": network_id,
                "EndpointID": endpoint_id,
                "Options": dict(options),
                "Interface": wire.dump(interface),
            },
        )
        if not answer.get("Interface"):
            return None
        given = self._load("CreateEndpoint", answer["Interface"], EndpointInterface)
        return given if any((given.address, given.address_ipv6, given.mac_address)) else None

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        self._call("DeleteEndpoint", {"NetworkID": network_id, "EndpointID": endpoint_id})

    @hookimpl
    def cnm_endpoint_oper_info(self, network_id: str, endpoint_id: str) -> Mapping[str, Any]:
        answer = self._call("EndpointOperInfo", {"NetworkID": network_id, "EndpointID": endpoint_id})
        value = answer.get("Value") or {}
        if not isinstance(value, dict):
            raise Internal(f"remote plugin {self.client.name}: EndpointOperInfo answered Value={value!r}")
        return value

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, options: Mapping[str, Any]) -> JoinInfo:
        answer = self._call(
            "Join",
            {"NetworkID": network_id, "EndpointID": endpoint_id, "SandboxKey": sandbox_key, "Options": dict(options)},
        )
        info = self._load("Join", answer, JoinInfo)
        if info.interface_name is not None and not info.interface_name.src_name:
            raise Internal(f"remote plugin {self.client.name}: Join answered an InterfaceName without SrcName")
        return info

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        self._call("Leave", {"NetworkID": network_id, "EndpointID": endpoint_id})

    @hookimpl
    def cnm_program_external_connectivity(self, network_id: str, endpoint_id: str, options: Mapping[str, Any]) -> None:
        try:
            self._call(
                "ProgramExternalConnectivity",
                {"NetworkID": network_id, "EndpointID": endpoint_id, "Options": dict(options)},
            )
        except Unimplemented:
            pass  # libnetwork: a 404 here is success

    @hookimpl
    def cnm_revoke_external_connectivity(self, network_id: str, endpoint_id: str) -> None:
        try:
            self._call("RevokeExternalConnectivity", {"NetworkID": network_id, "EndpointID": endpoint_id})
        except Unimplemented:
            pass

    @hookimpl
    def cnm_discover_new(self, discovery_type: int, discovery_data: Mapping[str, Any]) -> None:
        self._discover("DiscoverNew", discovery_type, discovery_data)

    @hookimpl
    def cnm_discover_delete(self, discovery_type: int, discovery_data: Mapping[str, Any]) -> None:
        self._discover("DiscoverDelete", discovery_type, discovery_data)

    def _discover(self, method: str, discovery_type: int, data) -> None:
        try:
            self._call(method, {"DiscoveryType": discovery_type, "DiscoveryData": dict(data)})
        except Unimplemented:
            pass


class RemoteIPAMDriver(_Remote):
    kind = "IpamDriver"

    def _call(self, method: str, payload: dict | None = None) -> dict:
        self._activate()
        return self.client.call(f"IpamDriver.{method}", payload, error_field="Error")

    @hookimpl
    def ipam_get_capabilities(self) -> IPAMCapabilities:
        try:
            return self._load("GetCapabilities", self._call("GetCapabilities"), IPAMCapabilities)
        except Unimplemented:
            return IPAMCapabilities()

    @hookimpl
    def ipam_get_default_address_spaces(self) -> AddressSpaces:
        return self._load("GetDefaultAddressSpaces", self._call("GetDefaultAddressSpaces"), AddressSpaces)

    @hookimpl
    def ipam_request_pool(
        self, address_space: str, pool: str, sub_pool: str, options: Mapping[str, str], v6: bool
    ) -> PoolAllocation:
        answer = self._call(
            "RequestPool",
            {
                "AddressSpace": address_space,
                "Pool": pool,
                "SubPool": sub_pool,
                "Options": dict(options),
                "V6": bool(v6),
            },
        )
        return self._load("RequestPool", answer, PoolAllocation)

    @hookimpl
    def ipam_release_pool(self, pool_id: str) -> None:
        self._call("ReleasePool", {"PoolID": pool_id})

    @hookimpl
    def ipam_request_address(self, pool_id: str, address: str, options: Mapping[str, str]) -> AddressAllocation | None:
        answer = self._call("RequestAddress", {"PoolID": pool_id, "Address": address, "Options": dict(options)})
        if not answer.get("Address"):
            raise Internal(f"remote plugin {self.client.name}: RequestAddress returned no address")
        return self._load("RequestAddress", answer, AddressAllocation)

    @hookimpl
    def ipam_release_address(self, pool_id: str, address: str) -> None:
        self._call("ReleaseAddress", {"PoolID": pool_id, "Address": address})
