"""The ``overlay`` network driver: global networks whose sandboxes on different hosts share one
layer-2 segment over VXLAN (libnetwork's overlay, on pycnm's cluster store).

A host holds nothing for a network until its first local endpoint joins: then the network's
namespace (:mod:`.dataplane`) is made and every known remote endpoint is programmed in it; when
the last local endpoint leaves, the namespace goes. Remote endpoints come from the core
(``cnm_peer_add``/``cnm_peer_delete``, fed from the cluster store by ``Controller.sync_peers``).

Options: ``com.docker.network.driver.overlay.vxlanid_list`` (Docker's: the VNI) and
``com.docker.network.driver.mtu`` (default 1450, the underlay's 1500 less VXLAN's 50).
``encrypted`` is refused: it needs ESP (xfrm) or WireGuard, which this kernel has neither of.
"""

from __future__ import annotations

import ipaddress
import logging
import os

from attrs import define, field

from pycnm import hookimpl, labels
from pycnm.errors import Forbidden, InvalidParameter, NotFound, Unimplemented
from pycnm.model import Capabilities, EndpointInterface, InterfaceName, JoinInfo

from .dataplane import OverlayNamespace, Peer, overlay_mtu

log = logging.getLogger(__name__)
VXLANID_LIST = "com.docker.network.driver.overlay.vxlanid_list"
VNI_FIRST = 4096  # below it: left to other users of VXLAN on the host (Docker's swarm starts here too)


@define
class Network:
    network_id: str
    vni: int
    gateway: ipaddress.IPv4Interface
    mtu: int
    endpoints: dict[str, dict] = field(factory=dict)
    peers: dict[str, Peer] = field(factory=dict)
    plane: OverlayNamespace | None = None


def _vni(network_id: str, generic: dict) -> int:
    listed = str(generic.get(VXLANID_LIST) or "").split(",")[0].strip()
    if listed:
        try:
            vni = int(listed)
        except ValueError:
            raise InvalidParameter(f"invalid {VXLANID_LIST} {listed!r}: expected a number") from None
        if not 1 <= vni < 1 << 24:
            raise InvalidParameter(f"invalid VNI {vni}: it must be between 1 and {(1 << 24) - 1}")
        return vni
    # the same on every host without coordination (a VNI allocator in the cluster store is next)
    return VNI_FIRST + int(network_id[:12], 16) % ((1 << 24) - VNI_FIRST)


class OverlayDriver:
    pycnm_contract = (1, 0)

    def __init__(self) -> None:
        self.prefix = ""
        self.instance = ""
        self.vtep: ipaddress.IPv4Address | None = None
        self.networks: dict[str, Network] = {}

    @hookimpl
    def cnm_config(self, config):
        self.prefix = config.ifname_prefix
        self.instance = config.instance_id
        address = config.extra.get("advertise_addr") or ""
        self.vtep = ipaddress.ip_address(address) if address else None

    @hookimpl
    def cnm_get_capabilities(self):
        return Capabilities(scope="global", connectivity_scope="global")

    # ---- networks -------------------------------------------------------------------------------

    def _parse(self, network_id, options, ipv4_data) -> Network:
        generic = labels.normalize(options.get(labels.GENERIC) or {})
        if labels.as_bool(generic.get("encrypted", False), field="encrypted"):
            raise Unimplemented("encrypted overlay networks need ESP (xfrm) or WireGuard in the kernel; this"
                                " kernel has neither, so -o encrypted is refused")
        gateway = next((d.gateway for d in ipv4_data if d.gateway is not None), None)
        if gateway is None:
            raise InvalidParameter("an overlay network needs an IPv4 subnet with a gateway address")
        try:
            mtu = int(generic.get(labels.MTU) or overlay_mtu())
        except ValueError:
            raise InvalidParameter(f"invalid mtu {generic.get(labels.MTU)!r}") from None
        return Network(network_id, _vni(network_id, generic), gateway, mtu)

    def _path(self, network_id: str) -> str:
        # the instance too: two pycnm hosts may share a machine's /run/netns (labs, tests)
        return f"/run/netns/{self.prefix}ov{self.instance[:6]}-{network_id[:10]}"

    @hookimpl
    def cnm_restore(self, networks):
        for snap in networks:
            net = self._parse(snap.network_id, snap.options, snap.ipv4_data)
            self.networks[net.network_id] = net
            for ep in snap.endpoints:
                net.endpoints[ep.endpoint_id] = {"interface": ep.interface, "mac": ep.interface.mac_address,
                                                 "joined": ep.sandbox_key is not None}
            if os.path.exists(self._path(net.network_id)):
                net.plane = self._plane(net)

    def _plane(self, net: Network) -> OverlayNamespace:
        return OverlayNamespace(self._path(net.network_id), vni=net.vni, gateway=net.gateway, vtep=self.vtep,
                                mtu=net.mtu, ifname_prefix=self.prefix)

    @hookimpl
    def cnm_create_network(self, network_id, options, ipv4_data):
        self.networks[network_id] = self._parse(network_id, options, ipv4_data)

    @hookimpl
    def cnm_delete_network(self, network_id):
        net = self._network(network_id)
        if net.plane is not None:
            net.plane.delete()
        del self.networks[network_id]

    # ---- endpoints ------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_endpoint(self, network_id, endpoint_id, interface):
        net = self._network(network_id)
        mac = interface.mac_address or "02:42:" + ":".join(f"{b:02x}" for b in interface.address.ip.packed)
        net.endpoints[endpoint_id] = {"interface": interface, "mac": mac, "joined": False}
        return None if interface.mac_address else EndpointInterface(mac_address=mac)

    @hookimpl
    def cnm_delete_endpoint(self, network_id, endpoint_id):
        net = self._network(network_id)
        if net.endpoints.pop(endpoint_id, None) is None:
            raise NotFound(f"endpoint {endpoint_id} not found in overlay network {network_id[:12]}")

    @hookimpl
    def cnm_join(self, network_id, endpoint_id, sandbox_key, dst_name):
        net = self._network(network_id)
        ep = self._endpoint(net, endpoint_id)
        if self.vtep is None:
            raise Forbidden("an overlay network needs this host's underlay address: give --advertise-addr"
                            " (Controller(advertise_addr=...), PYCNM_ADVERTISE_ADDR)")
        if net.plane is None:  # the first local endpoint: the network comes to this host
            plane = self._plane(net)
            plane.create()
            net.plane = plane
            for peer in net.peers.values():
                plane.add_peer(peer)
        net.plane.attach(sandbox_key, dst_name, ep["mac"], self._port(endpoint_id))
        ep["joined"] = True
        return JoinInfo(interface_name=InterfaceName(dst_name, dst_name=dst_name, created_in_sandbox=True))

    @hookimpl
    def cnm_leave(self, network_id, endpoint_id):
        net = self._network(network_id)
        ep = self._endpoint(net, endpoint_id)
        if not ep["joined"]:
            raise NotFound(f"endpoint {endpoint_id} is not joined")
        ep["joined"] = False
        if net.plane is not None:
            net.plane.detach(self._port(endpoint_id))
            if not any(e["joined"] for e in net.endpoints.values()):
                net.plane.delete()  # a host with no endpoints on a network holds nothing for it
                net.plane = None

    def _port(self, endpoint_id: str) -> str:
        return f"{self.prefix}ov{endpoint_id}"[:15]

    # ---- peers ----------------------------------------------------------------------------------

    @hookimpl
    def cnm_peer_add(self, network_id, endpoint_id, address, mac, vtep):
        net = self._network(network_id)
        peer = Peer(ipaddress.ip_interface(address).ip, mac, ipaddress.ip_address(vtep))
        net.peers[endpoint_id] = peer
        if net.plane is not None:
            net.plane.add_peer(peer)

    @hookimpl
    def cnm_peer_delete(self, network_id, endpoint_id, address, mac, vtep):
        net = self._network(network_id)
        peer = net.peers.pop(endpoint_id, None)
        if peer is not None and net.plane is not None:
            net.plane.remove_peer(peer)

    def _network(self, network_id: str) -> Network:
        try:
            return self.networks[network_id]
        except KeyError:
            raise NotFound(f"overlay network {network_id} not found") from None

    def _endpoint(self, net: Network, endpoint_id: str) -> dict:
        try:
            return net.endpoints[endpoint_id]
        except KeyError:
            raise NotFound(f"endpoint {endpoint_id} not found in overlay network {net.network_id[:12]}") from None
