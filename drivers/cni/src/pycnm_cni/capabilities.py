"""What an endpoint asks for, as CNI capability arguments (``runtimeConfig``, CONVENTIONS.md).

libcni hands a capability argument only to the plugins whose ``capabilities`` declare it; pycnm
passes three, when the endpoint has them:

=================  ==============================================================================
``portMappings``   the endpoint's published ports (``com.docker.network.portmap``, ``-p``):
                   ``[{"hostPort", "containerPort", "protocol", "hostIP"}]`` (``hostIP`` only when
                   given). For the ``portmap`` plugin. CNI has no "any free host port" and no host
                   port ranges: a port published without a host port, or with a range, is refused.
``mac``            the MAC asked for (``--mac-address``, ``com.docker.network.endpoint.macaddress``).
                   For ``tuning`` (and plugins that take it themselves).
``ips``            the endpoint's addresses from pycnm's IPAM, with their prefix, when the network
                   has a subnet of pycnm's (``--subnet``): for the plugin whose IPAM is
                   ``host-local`` or ``static``, which then hands out exactly these.
=================  ==============================================================================

An endpoint that asks for ports or a MAC on a list where no plugin declares the capability is
refused when it is created: nothing would act on it, and the user would not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pycnm import labels, ports, validate
from pycnm.errors import InvalidParameter
from pycnm.model import EndpointInterface, IPInterface

from .conflist import ConfList

PORT_MAPPINGS, MAC, IPS = "portMappings", "mac", "ips"
#: the capability arguments pycnm passes
PASSED: tuple[str, ...] = (PORT_MAPPINGS, MAC, IPS)

_PLUGINS = {
    PORT_MAPPINGS: '{"type": "portmap", "capabilities": {"portMappings": true}}',
    MAC: '{"type": "tuning", "capabilities": {"mac": true}}',
}


def _port_mappings(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for binding in ports.from_wire(options.get(labels.PORT_MAP)):
        if not binding.host_port:
            raise InvalidParameter(
                f"cannot publish {binding}: CNI's portmap needs a host port;"
                f" give one, as in -p 8080:{binding.container_port}"
            )
        if binding.host_port_end > binding.host_port:
            raise InvalidParameter(
                f"cannot publish {binding}: CNI's portmap takes one host port per mapping, not a range"
            )
        item: dict[str, Any] = {
            "hostPort": binding.host_port,
            "containerPort": binding.container_port,
            "protocol": binding.proto,
        }
        if binding.host_ip:
            item["hostIP"] = binding.host_ip
        out.append(item)
    return out


def arguments(
    interface: EndpointInterface, options: Mapping[str, Any], addresses: tuple[IPInterface, ...] = ()
) -> dict[str, Any]:
    """The capability arguments of an endpoint: its interface (MAC, pycnm's addresses), its options
    (port map, MAC) and ``addresses`` (pycnm's IPAM's, to hand to the plugins as ``ips``)."""
    args: dict[str, Any] = {}
    mappings = _port_mappings(options)
    if mappings:
        args[PORT_MAPPINGS] = mappings
    mac = interface.mac_address or options.get(labels.MAC_ADDRESS)
    if mac:
        args[MAC] = validate.mac(mac)
    if addresses:
        args[IPS] = [str(a) for a in addresses]
    return args


def check_declared(conf: ConfList, args: Mapping[str, Any]) -> None:
    """Refuse ports or a MAC that no plugin of ``conf`` would act on."""
    for cap in (PORT_MAPPINGS, MAC):
        if cap in args and not conf.declared(cap):
            what = "published ports" if cap == PORT_MAPPINGS else "a MAC address"
            raise InvalidParameter(
                f"the endpoint asks for {what}, but no plugin of CNI configuration {conf.source} declares the"
                f" {cap!r} capability: add one, like {_PLUGINS[cap]}, to its plugins"
            )


__all__ = ["IPS", "MAC", "PASSED", "PORT_MAPPINGS", "arguments", "check_declared"]
