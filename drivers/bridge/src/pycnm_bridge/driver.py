"""The bridge driver's calls: networks, endpoints, join and leave, external connectivity."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
from attrs import define, field

from pycnm import hookimpl, labels, ports
from pycnm.errors import Forbidden, NotFound
from pycnm.ipam import pools
from pycnm.model import (
    Capabilities,
    DriverConfig,
    EndpointInterface,
    EndpointSnapshot,
    InterfaceName,
    IPAMData,
    JoinInfo,
    NetworkSnapshot,
)
from pycnm.osl import sysctl

from . import config as cfg
from . import links, portmap
from .firewall import Firewall, Publication

log = logging.getLogger(__name__)


@define
class EndpointState:
    network_id: str
    interface: EndpointInterface
    mac: str
    veth: str
    bindings: list[ports.PortBinding] = field(factory=list)
    joined: bool = False
    published: list[Publication] = field(factory=list)


def _mac_for(interface: EndpointInterface) -> str:
    """Docker's rule: 02:42 then the IPv4 address's four bytes; random without an IPv4 address."""
    if interface.address is not None:
        return "02:42:" + ":".join(f"{b:02x}" for b in interface.address.ip.packed)
    return links.random_mac()


class BridgeDriver:
    """Docker's bridge networks: a Linux bridge holding the gateway, NAT and isolation in nftables."""

    pycnm_contract = (1, 0)
    pycnm_conformance: ClassVar[Mapping[str, Any]] = {
        "interface": True,
        "gateway": True,
        "connectivity": True,
        "static_mac": True,
        "mtu": True,
        "ipv6": True,
    }

    def __init__(self) -> None:
        self.prefix = ""
        self.instance_id = ""
        self.firewall = Firewall()
        self.networks: dict[str, cfg.NetworkConfig] = {}
        self.endpoints: dict[str, EndpointState] = {}
        self.bridge_index: dict[str, int] = {}
        # what a new network must not share, indexed: bridge names, and subnets (by bisection)
        self.by_bridge: dict[str, str] = {}
        self.subnets = pools.Intervals()
        self.subnet_owner: dict = {}

    # ---- set-up ---------------------------------------------------------------------------------

    @hookimpl
    def cnm_config(self, config: DriverConfig) -> None:
        self.prefix = config.ifname_prefix
        self.instance_id = config.instance_id
        self.firewall = Firewall(self.prefix)

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        return Capabilities(
            scope="local", connectivity_scope="local", network_options=cfg.OPTIONS, option_aliases=cfg.ALIASES
        )

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        in_kernel = self.firewall.publications()
        wanted_pubs: list[Publication] = []
        for snap in networks:
            net = cfg.parse(snap.network_id, snap.options, snap.ipv4_data, snap.ipv6_data, self.prefix)
            self._remember(net)
            if links.index_of(net.bridge_name) is None:
                log.warning("bridge %s of network %s vanished; re-creating it", net.bridge_name, net.network_id[:12])
                links.create_bridge(
                    net.bridge_name, links.alias(self.instance_id, net.network_id), net.mtu, net.gateways
                )
            for ep in snap.endpoints:
                state = self._endpoint_state(net, ep)
                if ep.external_connectivity and state.bindings:
                    mine = [p for p in in_kernel if p.container_ip in self._ips(state)]
                    if not mine:  # the table was lost: publish again (ephemeral ports may change)
                        mine = portmap.resolve(state.bindings, *self._ip_strings(state), wanted_pubs)
                        log.warning(
                            "re-publishing ports of endpoint %s: %s",
                            ep.endpoint_id[:12],
                            ", ".join(f"{p.host_port}/{p.proto}" for p in mine),
                        )
                    state.published = mine
                    wanted_pubs += mine
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
        self.firewall.rebuild(self.networks.values(), wanted_pubs)

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        for network_id in removed:
            if network_id in self.networks:
                self._forget(self.networks[network_id])
            self.bridge_index.pop(network_id, None)
            self._drop_endpoints(network_id)
        in_kernel = None
        for snap in networks:
            net = cfg.parse(snap.network_id, snap.options, snap.ipv4_data, snap.ipv6_data, self.prefix)
            if net.network_id in self.networks:
                self._forget(self.networks[net.network_id])
            self._remember(net)
            self.bridge_index.pop(net.network_id, None)  # looked up again: it may have been remade
            self._drop_endpoints(net.network_id)
            for ep in snap.endpoints:
                state = self._endpoint_state(net, ep)
                if ep.external_connectivity and state.bindings:
                    # what the other process published: the kernel's maps say (its ports may be ephemeral)
                    in_kernel = self.firewall.publications() if in_kernel is None else in_kernel
                    state.published = [p for p in in_kernel if p.container_ip in self._ips(state)]

    def _endpoint_state(self, net: cfg.NetworkConfig, ep: EndpointSnapshot) -> EndpointState:
        """What the driver holds of an endpoint the store knows (restore, refresh)."""
        state = EndpointState(
            net.network_id,
            ep.interface,
            ep.interface.mac_address or _mac_for(ep.interface),
            cfg.veth_name(self.prefix, ep.endpoint_id),
            bindings=ports.from_wire(ep.options.get(labels.PORT_MAP)),
            joined=ep.sandbox_key is not None,
        )
        self.endpoints[ep.endpoint_id] = state
        return state

    def _drop_endpoints(self, network_id: str) -> None:
        for endpoint_id in [e for e, state in self.endpoints.items() if state.network_id == network_id]:
            del self.endpoints[endpoint_id]

    # ---- networks -------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_network(
        self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData], ipv6_data: Sequence[IPAMData]
    ) -> None:
        if network_id in self.networks:
            raise Forbidden(f"network {network_id} already exists")
        net = cfg.parse(network_id, options, ipv4_data, ipv6_data, self.prefix)
        if net.bridge_name in self.by_bridge:
            raise Forbidden(f"bridge name {net.bridge_name} is used by network {self.by_bridge[net.bridge_name][:12]}")
        for mine in (*net.ipv4, *net.ipv6_pools):
            theirs = self.subnets.overlapping(mine.pool)
            if theirs is not None:
                other = self.networks[self.subnet_owner[theirs]]
                raise Forbidden(
                    f"cannot create network {network_id[:12]} ({net.bridge_name}): subnet"
                    f" {mine.pool} conflicts with network {other.network_id[:12]}"
                    f" ({other.bridge_name}) subnet {theirs}"
                )
        self.bridge_index[network_id] = links.create_bridge(
            net.bridge_name, links.alias(self.instance_id, network_id), net.mtu, net.gateways
        )
        try:
            sysctl.ensure(f"net/ipv6/conf/{net.bridge_name}/accept_ra", "0")
            if not net.internal:
                sysctl.ensure("net.ipv4.ip_forward", "1")
                if net.ipv6:
                    sysctl.ensure("net.ipv6.conf.all.forwarding", "1")
            self.firewall.add_network(net)
        except BaseException:
            links.delete_link(net.bridge_name)
            raise
        self._remember(net)

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        net = self._network(network_id)
        if any(ep.network_id == network_id for ep in self.endpoints.values()):
            raise Forbidden(f"network {network_id[:12]} has active endpoints")
        self.firewall.remove_network(net, others=len(self.networks) > 1)
        links.delete_link(net.bridge_name)
        self._forget(net)
        self.bridge_index.pop(network_id, None)

    def _remember(self, net: cfg.NetworkConfig) -> None:
        self.networks[net.network_id] = net
        self.by_bridge[net.bridge_name] = net.network_id
        for data in (*net.ipv4, *net.ipv6_pools):
            if data.pool not in self.subnet_owner:
                self.subnets.add(data.pool)
            self.subnet_owner[data.pool] = net.network_id

    def _forget(self, net: cfg.NetworkConfig) -> None:
        del self.networks[net.network_id]
        self.by_bridge.pop(net.bridge_name, None)
        for data in (*net.ipv4, *net.ipv6_pools):
            if self.subnet_owner.get(data.pool) == net.network_id:
                del self.subnet_owner[data.pool]
                self.subnets.remove(data.pool)

    # ---- endpoints ------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface, options: Mapping[str, Any]
    ) -> EndpointInterface | None:
        net = self._network(network_id)
        if endpoint_id in self.endpoints:
            raise Forbidden(f"endpoint {endpoint_id} already exists")
        bindings = ports.from_wire(options.get(labels.PORT_MAP))
        if net.host_binding_ipv4:  # Docker: the network's default host address for ports that name none
            bindings = [attrs.evolve(b, host_ip=b.host_ip or net.host_binding_ipv4) for b in bindings]
        if bindings:
            if net.internal:
                raise Forbidden(
                    f"cannot publish ports on internal network {net.bridge_name}: an internal network"
                    " has no traffic beyond its subnet"
                )
            portmap.check_host_ips(bindings)
        mac = interface.mac_address or _mac_for(interface)
        self.endpoints[endpoint_id] = EndpointState(
            network_id, interface, mac, cfg.veth_name(self.prefix, endpoint_id), bindings=bindings
        )
        return None if interface.mac_address else EndpointInterface(mac_address=mac)

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if ep.joined:
            raise Forbidden(f"endpoint {endpoint_id[:12]} is still joined; leave first")
        del self.endpoints[endpoint_id]

    @hookimpl
    def cnm_endpoint_oper_info(self, network_id: str, endpoint_id: str) -> Mapping[str, Any]:
        ep = self._endpoint(network_id, endpoint_id)
        info: dict[str, Any] = {labels.MAC_ADDRESS: ep.mac}
        if ep.bindings:
            info[labels.EXPOSED_PORTS] = [
                {"Proto": ports.PROTOCOLS[b.proto], "Port": b.container_port} for b in ep.bindings
            ]
            info[labels.PORT_MAP] = [
                {
                    "Proto": ports.PROTOCOLS[p.proto],
                    "IP": p.container_ip,
                    "Port": p.container_port,
                    "HostIP": p.host_ip or ("0.0.0.0" if p.family == 4 else "::"),
                    "HostPort": p.host_port,
                    "HostPortEnd": p.host_port,
                }
                for p in ep.published
            ]
        return info

    # ---- join and leave -------------------------------------------------------------------------

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, dst_name: str) -> JoinInfo:
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        if ep.joined:
            raise Forbidden(f"endpoint {endpoint_id[:12]} is already joined")
        try:
            links.create_veth_into(
                ep.veth,
                self._bridge_index(net),
                sandbox_key,
                dst_name,
                ep.mac,
                net.mtu,
                isolated=not net.enable_icc,
                ipv6=net.ipv6,
            )
        except NotFound:  # the bridge was re-created under another index: look it up once more
            self.bridge_index.pop(network_id, None)
            links.create_veth_into(
                ep.veth,
                self._bridge_index(net),
                sandbox_key,
                dst_name,
                ep.mac,
                net.mtu,
                isolated=not net.enable_icc,
                ipv6=net.ipv6,
            )
        ep.joined = True
        gw4 = next(
            (
                d.gateway.ip
                for d in net.ipv4
                if d.gateway is not None and ep.interface.address is not None and ep.interface.address.ip in d.pool
            ),
            None,
        )
        gw6 = next(
            (
                d.gateway.ip
                for d in net.ipv6_pools
                if d.gateway is not None
                and ep.interface.address_ipv6 is not None
                and ep.interface.address_ipv6.ip in d.pool
            ),
            None,
        )
        return JoinInfo(
            interface_name=InterfaceName(src_name=dst_name, dst_name=dst_name, created_in_sandbox=True),
            gateway=None if net.internal else gw4,
            gateway_ipv6=None if net.internal else gw6,
        )

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if not ep.joined:
            raise NotFound(f"endpoint {endpoint_id[:12]} is not joined", maskable=True)
        if ep.published:
            self._unpublish(ep)
        links.delete_link(ep.veth)  # its peer in the sandbox goes with it
        ep.joined = False

    @hookimpl
    def cnm_program_external_connectivity(self, network_id: str, endpoint_id: str, options: Mapping[str, Any]) -> None:
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        if net.internal or not ep.bindings or ep.published:
            return
        taken = self.firewall.publications()
        pubs = portmap.resolve(ep.bindings, *self._ip_strings(ep), taken)
        if any(p.family == 4 and (not p.host_ip or p.host_ip.startswith("127.")) for p in pubs):
            # the host's own 127.0.0.1 reaches published ports only if the bridge routes loopback sources
            sysctl.ensure(f"net/ipv4/conf/{net.bridge_name}/route_localnet", "1")
        self.firewall.publish(pubs)
        ep.published = pubs
        links.set_hairpin(ep.veth)

    @hookimpl
    def cnm_revoke_external_connectivity(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if ep.published:
            self._unpublish(ep)

    def _unpublish(self, ep: EndpointState) -> None:
        self.firewall.unpublish(ep.published)
        ep.published = []

    # ---- lookups --------------------------------------------------------------------------------

    def _bridge_index(self, net: cfg.NetworkConfig) -> int:
        index = self.bridge_index.get(net.network_id)
        if index is None:
            index = links.index_of(net.bridge_name)
            if index is None:
                raise NotFound(
                    f"bridge {net.bridge_name} is gone; restart pycnm to re-create it, or delete and"
                    " re-create the network"
                )
            self.bridge_index[net.network_id] = index
        return index

    @staticmethod
    def _ip_strings(ep: EndpointState) -> tuple[str | None, str | None]:
        a, b = ep.interface.address, ep.interface.address_ipv6
        return (str(a.ip) if a else None, str(b.ip) if b else None)

    def _ips(self, ep: EndpointState) -> set[str]:
        return {ip for ip in self._ip_strings(ep) if ip}

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
