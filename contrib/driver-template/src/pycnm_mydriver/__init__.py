"""A pycnm network driver: fill in each hook, then claim what it does (``pycnm_conformance``).

The skeleton already keeps the bookkeeping every driver owes the contract (which networks and
endpoints exist, which are joined, NotFound for the rest), so it passes the conformance kit as it
stands, claiming nothing. Make it real hook by hook; after each step, claim what now works and run
``pytest``: the kit checks the claim with real namespaces.

Rules of the contract (pycnm/hookspecs.py has them all):
- Keyword arguments: take only the ones a hook needs; they are matched by name.
- Errors: raise pycnm.errors types (NotFound, Forbidden, InvalidParameter...); anything else is
  reported as Internal, naming your driver and the hook.
- Kernel objects: name them with ``config.ifname_prefix`` first, and remove what you made.
- State: keep it in memory and rebuild it in cnm_restore; the core stores the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pycnm import hookimpl
from pycnm.errors import Forbidden, NotFound
from pycnm.model import Capabilities, DriverConfig, EndpointInterface, IPAMData, JoinInfo, NetworkSnapshot


class MyDriver:
    #: the driver contract this driver was written for (major, minor)
    pycnm_contract = (1, 0)
    #: what the conformance kit holds it to; add "interface", "gateway", "connectivity",
    #: "static_mac", "mtu", "ipv6" as they start to work, and "network_options" if networks need any
    pycnm_conformance: ClassVar[Mapping[str, Any]] = {}

    def __init__(self) -> None:
        self.prefix = ""
        self.networks: dict[str, dict[str, Any]] = {}  # network ID -> what create_network was given
        self.endpoints: dict[str, dict[str, Any]] = {}  # endpoint ID -> {"network_id", "interface", "joined"}

    @hookimpl
    def cnm_config(self, config: DriverConfig) -> None:
        """Called once after loading. Keep ``config.ifname_prefix`` for the names of your links."""
        self.prefix = config.ifname_prefix

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        """Say where networks live: "local" (one host) or "global" (the cluster store)."""
        return Capabilities(scope="local")

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        """The core restarted: rebuild ``self.networks``/``self.endpoints`` from the snapshots.
        TODO: re-create kernel objects that vanished; remove yours that no snapshot names."""
        for net in networks:
            self.networks[net.network_id] = {"options": net.options, "ipv4_data": net.ipv4_data}
            for ep in net.endpoints:
                self.endpoints[ep.endpoint_id] = {
                    "network_id": net.network_id,
                    "interface": ep.interface,
                    "joined": ep.sandbox_key is not None,
                }

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        """Another pycnm process on this state directory changed these networks (the CLI beside a
        daemon, say): replace what you hold of each with its snapshot, forget the removed ones.
        Memory only: that process already changed the kernel."""
        changed = set(removed) | {net.network_id for net in networks}
        for network_id in removed:
            self.networks.pop(network_id, None)
        self.endpoints = {k: v for k, v in self.endpoints.items() if v["network_id"] not in changed}
        self.cnm_restore(networks)

    @hookimpl
    def cnm_create_network(
        self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData], ipv6_data: Sequence[IPAMData]
    ) -> None:
        """Make the network. ``options["com.docker.network.generic"]`` holds the user's -o options;
        ``ipv4_data`` the pools and gateways. TODO: create the kernel objects (a bridge, a parent
        check...); raise InvalidParameter for a bad option, leaving nothing behind."""
        self.networks[network_id] = {"options": options, "ipv4_data": ipv4_data}

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        """Remove the network (it has no endpoints left). TODO: delete its kernel objects."""
        self._network(network_id)
        del self.networks[network_id]

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface, options: Mapping[str, Any]
    ) -> EndpointInterface | None:
        """Prepare an endpoint: ``interface`` has its addresses (and a MAC, if the user gave one).
        Return ``EndpointInterface(mac_address=...)`` to hand back a MAC you chose, else None."""
        self._network(network_id)
        self.endpoints[endpoint_id] = {"network_id": network_id, "interface": interface, "joined": False}
        return None

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        """Forget an endpoint that is not joined."""
        self._endpoint(network_id, endpoint_id)
        del self.endpoints[endpoint_id]

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, dst_name: str) -> JoinInfo:
        """Give the sandbox (a namespace at ``sandbox_key``) its interface. TODO: create it - best
        directly in the sandbox, named ``dst_name`` - and answer
        ``JoinInfo(interface_name=InterfaceName(dst_name, dst_name=dst_name, created_in_sandbox=True),
        gateway=...)``; the core adds the addresses and routes. Then claim "interface"."""
        ep = self._endpoint(network_id, endpoint_id)
        if ep["joined"]:
            raise Forbidden(f"endpoint {endpoint_id} is already joined")
        ep["joined"] = True
        return JoinInfo()

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        """Take back what the join made. TODO: delete the interface."""
        ep = self._endpoint(network_id, endpoint_id)
        if not ep["joined"]:
            raise NotFound(f"endpoint {endpoint_id} is not joined")
        ep["joined"] = False

    def _network(self, network_id: str) -> dict[str, Any]:
        if network_id not in self.networks:
            raise NotFound(f"network {network_id} not found")
        return self.networks[network_id]

    def _endpoint(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        self._network(network_id)
        ep = self.endpoints.get(endpoint_id)
        if ep is None or ep["network_id"] != network_id:
            raise NotFound(f"endpoint {endpoint_id} not found in network {network_id}")
        return ep
