"""The ``macvlan`` network driver: each sandbox gets a macvlan on a host interface (the parent),
with a MAC of its own, on the parent's layer-2 network (Docker's macvlan driver).

    pycnm network create -d macvlan -o parent=eth0 --subnet 192.0.2.0/24 --gateway 192.0.2.1 lan

Options: ``parent`` (required: an existing interface of the host) and ``macvlan_mode``
(``bridge``, the default, ``private``, ``vepa`` or ``passthru``). Docker's ``parent=eth0.10`` form,
which makes a VLAN sub-interface, needs 802.1Q support in the kernel and is refused where the
kernel has none. Built from pycnm's public contract only, as a third party would.
"""

from __future__ import annotations

import errno
import os
import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pyroute2 import IPRoute, NetlinkError

from pycnm import hookimpl
from pycnm.errors import Forbidden, Internal, InvalidParameter, NotFound
from pycnm.model import Capabilities, EndpointInterface, InterfaceName, IPAMData, JoinInfo, NetworkSnapshot

GENERIC = "com.docker.network.generic"
MTU = "com.docker.network.driver.mtu"
MODES = ("bridge", "private", "vepa", "passthru")


def _mac(interface: EndpointInterface) -> str:
    if interface.address is not None:
        return "02:42:" + ":".join(f"{b:02x}" for b in interface.address.ip.packed)
    return "02:42:" + ":".join(f"{random.randint(0, 255):02x}" for _ in range(4))


class MacvlanDriver:
    pycnm_contract = (1, 0)
    pycnm_conformance: ClassVar[Mapping[str, Any]] = {
        "interface": True,
        "gateway": True,
        "connectivity": True,
        "static_mac": True,
        "mtu": True,
        "ipv6": True,
        "network_options": {"parent": "{uplink}"},
    }

    def __init__(self) -> None:
        self.networks: dict[str, dict] = {}
        self.endpoints: dict[str, dict] = {}

    @hookimpl
    def cnm_get_capabilities(self) -> Capabilities:
        return Capabilities(scope="local", network_options=("parent", "macvlan_mode", MTU))

    @hookimpl
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        for net in networks:
            self.networks[net.network_id] = self._parse(net.options, net.ipv4_data, net.ipv6_data)
            for ep in net.endpoints:
                self.endpoints[ep.endpoint_id] = {
                    "network_id": net.network_id,
                    "interface": ep.interface,
                    "mac": ep.interface.mac_address or _mac(ep.interface),
                    "sandbox_key": ep.sandbox_key,
                    "ifname": ep.dst_name,
                }

    @hookimpl
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        # another pycnm process changed these networks: take them as the store has them now
        changed = set(removed) | {net.network_id for net in networks}
        for network_id in removed:
            self.networks.pop(network_id, None)
        self.endpoints = {k: v for k, v in self.endpoints.items() if v["network_id"] not in changed}
        self.cnm_restore(networks)

    # ---- networks -------------------------------------------------------------------------------

    def _parse(self, options, ipv4_data, ipv6_data) -> dict:
        generic = dict(options.get(GENERIC) or {})
        parent = str(generic.get("parent") or "")
        if not parent:
            raise InvalidParameter("a macvlan network needs -o parent=INTERFACE (an interface of the host)")
        mode = str(generic.get("macvlan_mode") or "bridge")
        if mode not in MODES:
            raise InvalidParameter(f"invalid macvlan_mode {mode!r}: use one of {', '.join(MODES)}")
        try:
            mtu = int(generic.get(MTU) or generic.get("mtu") or 0)
        except ValueError:
            raise InvalidParameter(f"invalid mtu {generic.get(MTU)!r}: expected a whole number") from None
        return {"parent": parent, "mode": mode, "mtu": mtu, "ipv4_data": list(ipv4_data), "ipv6_data": list(ipv6_data)}

    @hookimpl
    def cnm_create_network(
        self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData], ipv6_data: Sequence[IPAMData]
    ) -> None:
        net = self._parse(options, ipv4_data, ipv6_data)
        with IPRoute() as ipr:
            if not ipr.link_lookup(ifname=net["parent"]):
                if "." in net["parent"]:
                    raise InvalidParameter(
                        f"parent {net['parent']} does not exist; making VLAN sub-interfaces needs 802.1Q"
                        " support, which this kernel does not have: give an existing interface"
                    )
                raise NotFound(f"parent interface {net['parent']} does not exist on this host")
        if net["mode"] == "passthru" and any(n["parent"] == net["parent"] for n in self.networks.values()):
            raise Forbidden(f"parent {net['parent']} already carries a macvlan network; passthru needs it alone")
        self.networks[network_id] = net

    @hookimpl
    def cnm_delete_network(self, network_id: str) -> None:
        self._network(network_id)
        del self.networks[network_id]

    # ---- endpoints ------------------------------------------------------------------------------

    @hookimpl
    def cnm_create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface
    ) -> EndpointInterface | None:
        self._network(network_id)
        mac = interface.mac_address or _mac(interface)
        self.endpoints[endpoint_id] = {
            "network_id": network_id,
            "interface": interface,
            "mac": mac,
            "sandbox_key": None,
            "ifname": None,
        }
        return None if interface.mac_address else EndpointInterface(mac_address=mac)

    @hookimpl
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if ep["sandbox_key"]:
            raise Forbidden(f"endpoint {endpoint_id} is still joined; leave first")
        del self.endpoints[endpoint_id]

    # ---- join and leave -------------------------------------------------------------------------

    @hookimpl
    def cnm_join(self, network_id: str, endpoint_id: str, sandbox_key: str, dst_name: str) -> JoinInfo:
        net = self._network(network_id)
        ep = self._endpoint(network_id, endpoint_id)
        if ep["sandbox_key"]:
            raise Forbidden(f"endpoint {endpoint_id} is already joined")
        fd = os.open(sandbox_key, os.O_RDONLY)
        try:
            with IPRoute() as ipr:
                parent = ipr.link_lookup(ifname=net["parent"])
                if not parent:
                    raise NotFound(f"parent interface {net['parent']} is gone")
                extra = {"mtu": net["mtu"]} if net["mtu"] else {}
                # born in the sandbox, under the name the core chose: nothing to move
                ipr.link(
                    "add",
                    ifname=dst_name,
                    kind="macvlan",
                    link=parent[0],
                    macvlan_mode=net["mode"],
                    net_ns_fd=fd,
                    address=ep["mac"],
                    **extra,
                )
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                raise Forbidden(f"cannot create macvlan {dst_name}: the name exists in the sandbox") from None
            raise Internal(f"cannot create macvlan {dst_name} on {net['parent']}: {os.strerror(exc.code)}") from None
        finally:
            os.close(fd)
        ep["sandbox_key"], ep["ifname"] = sandbox_key, dst_name
        gw4 = next((d.gateway.ip for d in net["ipv4_data"] if d.gateway is not None), None)
        gw6 = next((d.gateway.ip for d in net["ipv6_data"] if d.gateway is not None), None)
        return JoinInfo(
            interface_name=InterfaceName(dst_name, dst_name=dst_name, created_in_sandbox=True),
            gateway=gw4,
            gateway_ipv6=gw6,
        )

    @hookimpl
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        ep = self._endpoint(network_id, endpoint_id)
        if not ep["sandbox_key"]:
            raise NotFound(f"endpoint {endpoint_id} is not joined")
        if os.path.exists(ep["sandbox_key"]):
            try:
                with IPRoute(netns=ep["sandbox_key"], flags=0) as ipr:
                    ipr.link("del", ifname=ep["ifname"])
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise Internal(f"cannot delete macvlan {ep['ifname']}: {os.strerror(exc.code)}") from None
        ep["sandbox_key"] = ep["ifname"] = None

    def _network(self, network_id):
        if network_id not in self.networks:
            raise NotFound(f"macvlan network {network_id} not found")
        return self.networks[network_id]

    def _endpoint(self, network_id, endpoint_id):
        self._network(network_id)
        ep = self.endpoints.get(endpoint_id)
        if ep is None or ep["network_id"] != network_id:
            raise NotFound(f"endpoint {endpoint_id} not found in macvlan network {network_id}")
        return ep
