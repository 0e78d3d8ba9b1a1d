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
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, field

from pycnm import hookimpl, labels
from pycnm.errors import Forbidden, InvalidParameter, NotFound, StaleVersion, Unimplemented
from pycnm.model import (
    Capabilities,
    DriverConfig,
    EndpointInterface,
    InterfaceName,
    IPAddress,
    IPAMData,
    JoinInfo,
    NetworkSnapshot,
)
from pycnm.osl import netlink, netns
from pycnm.store import Delete, Put

from .dataplane import OverlayNamespace, Peer, overlay_mtu, remove_temporaries

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


def _listed_vni(generic) -> int | None:
    listed = str(generic.get(VXLANID_LIST) or "").split(",")[0].strip()
    if not listed:
        return None
    try:
        vni = int(listed)
    except ValueError:
        raise InvalidParameter(f"invalid {VXLANID_LIST} {listed!r}: expected a number") from None
    if not 1 <= vni < 1 << 24:
        raise InvalidParameter(f"invalid VNI {vni}: it must be between 1 and {(1 << 24) - 1}")
    return vni


def _refuse_encryption(generic) -> None:
    if labels.as_bool(generic.get("encrypted", False), field="encrypted"):
        raise Unimplemented(
            "encrypted overlay networks need ESP (xfrm) or WireGuard in the kernel; this"
            " kernel has neither, so -o encrypted is refused"
        )


class VNIs:
    """The cluster's VNIs, in the driver's corner of the cluster store: ``vni/<n>`` names the
    network holding VNI n and ``net/<network>`` the VNI, both written in one compare-and-swap
    commit, so two hosts creating networks at once never get the same one."""

    def __init__(self, store) -> None:
        self.store = store

    def reserve(self, network_id: str, wanted: int | None) -> int:
        if self.store is None:
            raise Forbidden("the overlay driver needs the cluster store to reserve VNIs")
        if wanted is not None:
            if not self._claim(wanted, network_id):
                holder = self.store.get(f"vni/{wanted:08d}")
                raise Forbidden(f"VNI {wanted} is in use by network {holder.value.decode()[:12] if holder else '?'}")
            return wanted
        span = (1 << 24) - VNI_FIRST
        start = int(network_id[:12], 16) % span  # spreads first choices, so hosts rarely race for one
        taken = {int(e.key.split("/")[1]) for e in self.store.list("vni/")}
        for i in range(span):
            vni = VNI_FIRST + (start + i) % span
            if vni in taken:
                continue
            if self._claim(vni, network_id):
                return vni
            # lost it to another host's network (or this network holds one already): go on
            held = self.store.get(f"net/{network_id}")
            if held is not None:
                return int(held.value)
        raise Forbidden("no VNI is free: every one from 4096 up is in use")

    def _claim(self, vni: int, network_id: str) -> bool:
        try:
            self.store.commit(
                [Put(f"vni/{vni:08d}", network_id.encode(), 0), Put(f"net/{network_id}", str(vni).encode(), 0)]
            )
            return True
        except StaleVersion:
            return False

    def release(self, network_id: str) -> None:
        if self.store is None:
            return
        entry = self.store.get(f"net/{network_id}")
        if entry is None:
            raise NotFound(f"overlay network {network_id[:12]} holds no VNI")
        self.store.commit([Delete(f"vni/{int(entry.value):08d}"), Delete(f"net/{network_id}")])


class OverlayDriver:
    pycnm_contract = (1, 0)

    def __init__(self) -> None:
        self.prefix = ""
        self.instance = ""
        self.vtep: IPAddress | None = None
        self.networks: dict[str, Network] = {}
        self.vnis = VNIs(None)

    @hookimpl
    def cnm_config(self, config: DriverConfig) -> None:
        self.vnis = VNIs(config.store)
        self.prefix = config.ifname_prefix
        self.instance = config.instance_id
        address = config.extra.get("advertise_addr") or ""
        self.vtep = ipaddress.ip_address(address) if address else None

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        return Capabilities(
            scope="global", connectivity_scope="global", network_options=(VXLANID_LIST, labels.MTU, "encrypted")
        )

    # ---- networks -------------------------------------------------------------------------------

    @hookimpl
    def cnm_network_allocate(self, network_id: str, options: Mapping[str, Any]) -> Mapping[str, str] | None:
        generic = labels.normalize(options.get(labels.GENERIC) or {})
        _refuse_encryption(generic)
        return {VXLANID_LIST: str(self.vnis.reserve(network_id, _listed_vni(generic)))}

    @hookimpl
    def cnm_network_free(self, network_id: str) -> None:
        self.vnis.release(network_id)

    def _parse(self, network_id, options, ipv4_data) -> Network:
        generic = labels.normalize(options.get(labels.GENERIC) or {})
        _refuse_encryption(generic)
        vni = _listed_vni(generic)
        if vni is None:
            raise InvalidParameter(
                f"overlay network {network_id[:12]} has no VNI ({VXLANID_LIST}); it is"
                " reserved by cnm_network_allocate when the network is made"
            )
        gateway = next((d.gateway for d in ipv4_data if d.gateway is not None), None)
        if gateway is None:
            raise InvalidParameter("an overlay network needs an IPv4 subnet with a gateway address")
        try:
            mtu = int(generic.get(labels.MTU) or overlay_mtu())
        except ValueError:
            raise InvalidParameter(f"invalid mtu {generic.get(labels.MTU)!r}") from None
        return Network(network_id, vni, gateway, mtu)

    def _path(self, network_id: str) -> str:
        # the instance too: two pycnm hosts may share a machine's /run/netns (labs, tests)
        return f"/run/netns/{self.prefix}ov{self.instance[:6]}-{network_id[:10]}"

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        for snap in networks:
            net = self._parse(snap.network_id, snap.options, snap.ipv4_data)
            self.networks[net.network_id] = net
            for ep in snap.endpoints:
                net.endpoints[ep.endpoint_id] = {
                    "interface": ep.interface,
                    "mac": ep.interface.mac_address,
                    "joined": ep.sandbox_key is not None,
                }
        self._repair()

    def _repair(self) -> None:
        """What a crash left in the kernel: a VXLAN device not yet moved into its namespace; a
        network namespace half made, or kept for no joined endpoint, or of a network that is gone;
        ports of endpoints that are not joined. (Run on a restore, which the core does under the
        state directory's lock: no other process is midway through anything.)"""
        for name in remove_temporaries(self.prefix):
            log.warning("removed VXLAN device %s an interrupted network creation left", name)
        ours = f"{self.prefix}ov{self.instance[:6]}-"
        known = {self._path(nid): net for nid, net in self.networks.items()}
        found = (
            sorted(os.path.join("/run/netns", e) for e in os.listdir("/run/netns"))
            if os.path.isdir("/run/netns")
            else []
        )
        for path in (p for p in found if os.path.basename(p).startswith(ours)):
            net = known.get(path)
            plane = self._live(net) if net is not None else None
            joined = {self._port(eid) for eid, ep in net.endpoints.items() if ep["joined"]} if net else set()
            if plane is None or not joined or not plane.complete():
                log.warning("removing overlay namespace %s: no joined endpoint of a network here needs it", path)
                netlink.forget(path)
                netns.delete(path)
                if net is not None:
                    net.plane = None
                continue
            for port in plane.ports() - joined:
                log.warning("removing port %s of %s: no joined endpoint owns it", port, path)
                plane.detach(port)
        for net in self.networks.values():
            self._live(net)

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        for network_id in removed:
            net = self.networks.pop(network_id, None)
            if net is not None and net.plane is not None:
                net.plane.forget()  # sockets only: the namespace is the kernel's (and the other process's)
        for snap in networks:
            old = self.networks.get(snap.network_id)
            net = self._parse(snap.network_id, snap.options, snap.ipv4_data)
            if old is not None:
                net.peers, net.plane = old.peers, old.plane
            self.networks[net.network_id] = net
            for ep in snap.endpoints:
                net.endpoints[ep.endpoint_id] = {
                    "interface": ep.interface,
                    "mac": ep.interface.mac_address,
                    "joined": ep.sandbox_key is not None,
                }

    def _plane(self, net: Network) -> OverlayNamespace:
        return OverlayNamespace(
            self._path(net.network_id),
            vni=net.vni,
            gateway=net.gateway,
            vtep=self.vtep,
            mtu=net.mtu,
            ifname_prefix=self.prefix,
        )

    def _live(self, net: Network) -> OverlayNamespace | None:
        """The network's namespace as the kernel has it now. Another process of this host (the
        CLI or a library beside the daemon) may have made, removed or remade it: a namespace
        found anew is adopted and given every peer this driver knows."""
        path = self._path(net.network_id)
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            inode = None
        if net.plane is not None and net.plane.inode == inode:
            return net.plane
        if net.plane is not None:
            net.plane.forget()  # sockets into a namespace that is gone
            net.plane = None
        if inode is None:
            return None
        plane = self._plane(net)
        plane.adopt()
        if plane.inode != inode:
            return None  # not a namespace (yet): mid-creation in another process
        net.plane = plane
        for peer in net.peers.values():
            plane.add_peer(peer)
        return plane

    @hookimpl
    def cnm_create_network(self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData]) -> None:
        self.networks[network_id] = self._parse(network_id, options, ipv4_data)

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        net = self._network(network_id)
        plane = self._live(net)
        if plane is not None:
            plane.delete()
        del self.networks[network_id]

    # ---- endpoints ------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface
    ) -> EndpointInterface | None:
        net = self._network(network_id)
        if interface.mac_address:
            mac = interface.mac_address
        elif interface.address is not None:
            mac = "02:42:" + ":".join(f"{b:02x}" for b in interface.address.ip.packed)
        else:
            raise InvalidParameter("an overlay endpoint needs an IPv4 address (its MAC is made from it) or a MAC")
        net.endpoints[endpoint_id] = {"interface": interface, "mac": mac, "joined": False}
        return None if interface.mac_address else EndpointInterface(mac_address=mac)

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        net = self._network(network_id)
        if net.endpoints.pop(endpoint_id, None) is None:
            raise NotFound(f"endpoint {endpoint_id} not found in overlay network {network_id[:12]}")

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, dst_name: str) -> JoinInfo:
        net = self._network(network_id)
        ep = self._endpoint(net, endpoint_id)
        if self.vtep is None:
            raise Forbidden(
                "an overlay network needs this host's underlay address: give --advertise-addr"
                " (Controller(advertise_addr=...), PYCNM_ADVERTISE_ADDR)"
            )
        plane = self._live(net)
        if plane is None:  # the first local endpoint: the network comes to this host
            plane = self._plane(net)
            plane.create()
            net.plane = plane
            for peer in net.peers.values():
                plane.add_peer(peer)
        plane.attach(sandbox_key, dst_name, ep["mac"], self._port(endpoint_id))
        ep["joined"] = True
        return JoinInfo(interface_name=InterfaceName(dst_name, dst_name=dst_name, created_in_sandbox=True))

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        net = self._network(network_id)
        ep = self._endpoint(net, endpoint_id)
        if not ep["joined"]:
            raise NotFound(f"endpoint {endpoint_id} is not joined")
        ep["joined"] = False
        plane = self._live(net)
        if plane is not None:
            plane.detach(self._port(endpoint_id))
            if not plane.attached():  # the kernel's word: another process may have joined one too
                plane.delete()  # a host with no endpoints on a network holds nothing for it
                net.plane = None

    def _port(self, endpoint_id: str) -> str:
        return f"{self.prefix}ov{endpoint_id}"[:15]

    # ---- peers ----------------------------------------------------------------------------------

    @hookimpl
    def cnm_peer_add(
        self, network_id: str, endpoint_id: str, address: ipaddress.IPv4Interface, mac: str, vtep: IPAddress
    ) -> None:
        net = self._network(network_id)
        peer = Peer(ipaddress.ip_interface(address).ip, mac, ipaddress.ip_address(vtep))
        net.peers[endpoint_id] = peer
        plane = self._live(net)
        if plane is not None:
            plane.add_peer(peer)

    @hookimpl
    def cnm_peer_delete(
        self, network_id: str, endpoint_id: str, address: ipaddress.IPv4Interface, mac: str, vtep: IPAddress
    ) -> None:
        net = self._network(network_id)
        peer = net.peers.pop(endpoint_id, None)
        plane = self._live(net)
        if peer is not None and plane is not None:
            plane.remove_peer(peer)

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
