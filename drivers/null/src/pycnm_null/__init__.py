"""The ``null`` network driver: networks and endpoints that exist only in the store.

A sandbox joined to a null network gets no interface (Docker's ``--network none``). It is also the
reference driver for authors: every required call of the contract, in the fewest lines, with the
errors the conformance kit expects (NotFound for what it does not know, Forbidden for conflicts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pycnm import hookimpl
from pycnm.errors import Forbidden, NotFound
from pycnm.model import Capabilities, EndpointInterface, JoinInfo, NetworkSnapshot

pycnm_contract = (1, 0)


class NullDriver:
    """Keeps which networks, endpoints and joins exist, and does nothing else."""

    pycnm_contract = pycnm_contract
    #: what the conformance kit may hold it to: nothing beyond the contract's lifecycle and errors
    pycnm_conformance: ClassVar[Mapping[str, Any]] = {}

    def __init__(self) -> None:
        self.networks: dict[str, set[str]] = {}  # network ID -> endpoint IDs
        self.joined: set[str] = set()

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        return Capabilities(scope="local", network_options=(), addresses=False, dns=False)

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        for net in networks:
            self.networks[net.network_id] = {ep.endpoint_id for ep in net.endpoints}
            self.joined |= {ep.endpoint_id for ep in net.endpoints if ep.sandbox_key}

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        for network_id in removed:
            self.joined -= self.networks.pop(network_id, set())
        for net in networks:
            self.joined -= self.networks.get(net.network_id, set())
        self.cnm_restore(networks)

    @hookimpl
    def cnm_create_network(self, network_id: str) -> None:
        if network_id in self.networks:
            raise Forbidden(f"network {network_id} already exists")
        self.networks[network_id] = set()

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        if self._network(network_id):
            raise Forbidden(f"network {network_id} has active endpoints")
        del self.networks[network_id]

    @hookimpl
    def cnm_create_endpoint(self, network_id: str, endpoint_id: str) -> EndpointInterface | None:
        endpoints = self._network(network_id)
        if endpoint_id in endpoints:
            raise Forbidden(f"endpoint {endpoint_id} already exists")
        endpoints.add(endpoint_id)
        return None  # nothing to add to the interface (a driver that picks the MAC returns it here)

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        self._endpoint(network_id, endpoint_id)
        if endpoint_id in self.joined:
            raise Forbidden(f"endpoint {endpoint_id} is still joined; leave first")
        self.networks[network_id].discard(endpoint_id)

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str) -> JoinInfo:
        self._endpoint(network_id, endpoint_id)
        if endpoint_id in self.joined:
            raise Forbidden(f"endpoint {endpoint_id} is already joined")
        self.joined.add(endpoint_id)
        return JoinInfo()  # no interface, no gateway

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        self._endpoint(network_id, endpoint_id)
        if endpoint_id not in self.joined:
            raise NotFound(f"endpoint {endpoint_id} is not joined", maskable=True)
        self.joined.discard(endpoint_id)

    def _network(self, network_id: str) -> set[str]:
        try:
            return self.networks[network_id]
        except KeyError:
            raise NotFound(f"network {network_id} not found") from None

    def _endpoint(self, network_id: str, endpoint_id: str) -> None:
        if endpoint_id not in self._network(network_id):
            raise NotFound(f"endpoint {endpoint_id} not found in network {network_id}")
