"""The bridge driver's calls: networks, endpoints, join and leave."""

from __future__ import annotations

import logging

from attrs import define

from pycnm import hookimpl, labels
from pycnm.errors import Forbidden, NotFound
from pycnm.model import Capabilities, EndpointInterface, InterfaceName, JoinInfo

from . import config as cfg
from . import links

log = logging.getLogger(__name__)


@define
class EndpointState:
    network_id: str
    interface: EndpointInterface
    mac: str
    veth: str
    joined: bool = False


def _mac_for(interface: EndpointInterface) -> str:
    """Docker's rule: 02:42 then the IPv4 address's four bytes; random without an IPv4 address."""
    if interface.address is not None:
        return "02:42:" + ":".join(f"{b:02x}" for b in interface.address.ip.packed)
    return links.random_mac()


class BridgeDriver:
    """Docker's bridge networks: layer-2 connectivity through a Linux bridge holding the gateway."""

    pycnm_contract = (1, 0)

    def __init__(self) -> None:
        self.prefix = ""
        self.instance_id = ""
        self.networks: dict[str, cfg.NetworkConfig] = {}
        self.endpoints: dict[str, EndpointState] = {}

    # ---- set-up ---------------------------------------------------------------------------------

    @hookimpl
    def cnm_config(self, config):
        self.prefix = config.ifname_prefix
        self.instance_id = config.instance_id

    @hookimpl
    def cnm_get_capabilities(self):
        return Capabilities(scope="local", connectivity_scope="local")

    @hookimpl
    def cnm_restore(self, networks):
        for snap in networks:
            net = cfg.parse(snap.network_id, snap.options, snap.ipv4_data, snap.ipv6_data, self.prefix)
            self.networks[net.network_id] = net
            if links.index_of(net.bridge_name) is None:
                log.warning("bridge %s of network %s vanished; re-creating it", net.bridge_name, net.network_id[:12])
                links.create_bridge(net.bridge_name, links.alias(self.instance_id, net.network_id), net.mtu,
                                    net.gateways)
            for ep in snap.endpoints:
                self.endpoints[ep.endpoint_id] = EndpointState(
                    net.network_id, ep.interface, ep.interface.mac_address or _mac_for(ep.interface),
                    cfg.veth_name(self.prefix, ep.endpoint_id), joined=ep.sandbox_key is not None,
                )
        # remove what a crash left: our bridges with no network, ports with no joined endpoint
        for network_id, bridge in links.our_bridges(self.instance_id).items():
            if network_id not in self.networks:
                log.warning("removing bridge %s: network %s is not in the store", bridge, network_id[:12])
                links.delete_link(bridge)
        wanted = {ep.veth for ep in self.endpoints.values() if ep.joined}
        for net in self.networks.values():
            for port in links.ports(net.bridge_name):
                if port not in wanted:
                    log.warning("removing veth %s on %s: no joined endpoint owns it", port, net.bridge_name)
                    links.delete_link(port)

    # ---- networks -------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_network(self, network_id, options, ipv4_data, ipv6_data):
        if network_id in self.networks:
            raise Forbidden(f"network {network_id} already exists")
        net = cfg.parse(network_id, options, ipv4_data, ipv6_data, self.prefix)
        for other in self.networks.values():
            if other.bridge_name == net.bridge_name:
                raise Forbidden(f"bridge name {net.bridge_name} is used by network {other.network_id[:12]}")
            for mine in (*net.ipv4, *net.ipv6_pools):
                for theirs in (*other.ipv4, *other.ipv6_pools):
                    if mine.pool.version == theirs.pool.version and mine.pool.overlaps(theirs.pool):
                        raise Forbidden(f"cannot create network {network_id[:12]} ({net.bridge_name}): subnet"
                                        f" {mine.pool} conflicts with network {other.network_id[:12]}"
                                        f" ({other.bridge_name}) subnet {theirs.pool}")
        links.create_bridge(net.bridge_name, links.alias(self.instance_id, network_id), net.mtu, net.gateways)
        self.networks[network_id] = net

    @hookimpl
    def cnm_delete_network(self, network_id):
        net = self._network(network_id)
        if any(ep.network_id == network_id for ep in self.endpoints.values()):
            raise Forbidden(f"network {network_id[:12]} has active endpoints")
        links.delete_link(net.bridge_name)
        del self.networks[network_id]

    # ---- endpoints ------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_endpoint(self, network_id, endpoint_id, interface, options):
        self._network(network_id)
        if endpoint_id in self.endpoints:
            raise Forbidden(f"endpoint {endpoint_id} already exists")
        mac = interface.mac_address or _mac_for(interface)
        self.endpoints[endpoint_id] = EndpointState(network_id, interface, mac, cfg.veth_name(self.prefix, endpoint_id))
        return None if interface.mac_address else EndpointInterface(mac_address=mac)

    @hookimpl
    def cnm_delete_endpoint(self, network_id, endpoint_id):
        ep = self._endpoint(network_id, endpoint_id)
        if ep.joined:
            raise Forbidden(f"endpoint {endpoint_id[:12]} is still joined; leave first")
        del self.endpoints[endpoint_id]

    @hookimpl
    def cnm_endpoint_oper_info(self, network_id, endpoint_id):
        ep = self._endpoint(network_id, endpoint_id)
        return {labels.MAC_ADDRESS: ep.mac}

    # ---- join and leave -------------------------------------------------------------------------

    @hookimpl
    def cnm_join(self, network_id, endpoint_id, sandbox_key, dst_name):
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        if ep.joined:
            raise Forbidden(f"endpoint {endpoint_id[:12]} is already joined")
        links.create_veth_into(ep.veth, net.bridge_name, sandbox_key, dst_name, ep.mac, net.mtu)
        ep.joined = True
        gw4 = next((d.gateway.ip for d in net.ipv4 if d.gateway is not None and ep.interface.address is not None
                    and ep.interface.address.ip in d.pool), None)
        gw6 = next((d.gateway.ip for d in net.ipv6_pools if d.gateway is not None
                    and ep.interface.address_ipv6 is not None and ep.interface.address_ipv6.ip in d.pool), None)
        return JoinInfo(
            interface_name=InterfaceName(src_name=dst_name, dst_name=dst_name, created_in_sandbox=True),
            gateway=None if net.internal else gw4,
            gateway_ipv6=None if net.internal else gw6,
        )

    @hookimpl
    def cnm_leave(self, network_id, endpoint_id):
        ep = self._endpoint(network_id, endpoint_id)
        if not ep.joined:
            raise NotFound(f"endpoint {endpoint_id[:12]} is not joined", maskable=True)
        links.delete_link(ep.veth)  # its peer in the sandbox goes with it
        ep.joined = False

    # ---- lookups --------------------------------------------------------------------------------

    def _network(self, network_id: str) -> cfg.NetworkConfig:
        try:
            return self.networks[network_id]
        except KeyError:
            raise NotFound(f"bridge network {network_id} not found") from None

    def _endpoint(self, network_id: str, endpoint_id: str) -> EndpointState:
        self._network(network_id)
        ep = self.endpoints.get(endpoint_id)
        if ep is None or ep.network_id != network_id:
            raise NotFound(f"endpoint {endpoint_id} not found in bridge network {network_id[:12]}")
        return ep
