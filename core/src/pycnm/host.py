"""The ``host`` network driver: a sandbox on it shares the host's own network stack.

There is at most one host network. Only sandboxes created with ``host_namespace=True`` (whose key
is the host's namespace) may join it, and they may join nothing else; the driver makes no kernel
object (libnetwork's drivers/host).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import hookimpl
from .errors import Forbidden, NotFound
from .model import Capabilities, EndpointInterface, JoinInfo, NetworkSnapshot


class HostDriver:
    def __init__(self) -> None:
        self.network_id: str | None = None
        self.endpoints: set[str] = set()

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        return Capabilities(scope="local", network_options=(), addresses=False, host_namespace=True, dns=False)

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        for net in networks:
            self.network_id = net.network_id
            self.endpoints = {ep.endpoint_id for ep in net.endpoints}

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        if self.network_id in removed:
            self.network_id, self.endpoints = None, set()
        self.cnm_restore(networks)

    @hookimpl
    def cnm_create_network(self, network_id: str) -> None:
        if self.network_id is not None:
            raise Forbidden('only one instance of "host" network is allowed')
        self.network_id = network_id

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        self._check(network_id)
        self.network_id = None

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface
    ) -> EndpointInterface | None:
        self._check(network_id)
        if interface.address or interface.address_ipv6 or interface.mac_address:
            raise Forbidden("an endpoint on the host network takes no address or MAC of its own")
        self.endpoints.add(endpoint_id)
        return None

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        self._check(network_id, endpoint_id)
        self.endpoints.discard(endpoint_id)

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str) -> JoinInfo:
        self._check(network_id, endpoint_id)
        return JoinInfo()

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        self._check(network_id, endpoint_id)

    def _check(self, network_id, endpoint_id=None):
        if network_id != self.network_id:
            raise NotFound(f"host network {network_id} not found")
        if endpoint_id is not None and endpoint_id not in self.endpoints:
            raise NotFound(f"endpoint {endpoint_id} not found on the host network")
