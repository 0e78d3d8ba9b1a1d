"""What an ADD result tells the core: the sandbox interface, its addresses and its gateways.

The plugins made the interface in the sandbox under the name the core chose (``CNI_IFNAME``),
addressed it and routed it: the driver answers ``created_in_sandbox`` and gives the result's
addresses of that interface as ``JoinInfo.configured_addresses``, which the core records as the
endpoint's and does not configure again.

Decision on gateways: the result's default route (``0.0.0.0/0``, ``::/0``) through that
interface, if any, is answered as the gateway (its ``gw``, else the gateway of the interface's
address of that family, the spec's "default gateway"). The plugin has set that route already;
the core's default route is a netlink *replace* of the same route, so there is one route, not
two, and the core knows which endpoint holds the sandbox's way out (external connectivity, the
hand-over when it leaves). A result with no default route gives no gateway, and the core adds
none. The result's other routes are the plugin's and are not repeated as static routes.

When the network has pycnm's addresses (``--subnet``) and the result gives the interface none
(a list without IPAM of its own), the core configures pycnm's addresses and the pool's gateway,
as for any driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pycnm.cni import spec
from pycnm.model import IPAddress, IPInterface


def parsed(result: Mapping[str, Any]) -> spec.Result:
    """A result as rendered by :func:`pycnm_cni.operations.read_result` (or cached), typed."""
    return spec.parse_result(dict(result), where="result")[1]


def interface_index(result: spec.Result, ifname: str) -> int | None:
    """The index of the sandbox interface ``ifname`` in ``result.interfaces``: the one of that
    name with a ``sandbox``, else the one of that name; None when the result names none."""
    named = [i for i, intf in enumerate(result.interfaces) if intf.name == ifname]
    inside = [i for i in named if result.interfaces[i].sandbox]
    found = inside or named
    return found[0] if found else None


def addresses(result: spec.Result, ifname: str) -> tuple[IPInterface, ...]:
    """The result's addresses of the sandbox interface ``ifname`` (and those that name no
    interface, as an IPAM-style or 0.3.0 result's may)."""
    index = interface_index(result, ifname)
    return tuple(ip.address for ip in result.ips if ip.interface is None or ip.interface == index)


def default_gateways(result: spec.Result, ifname: str) -> dict[int, IPAddress]:
    """IP version -> the gateway of the result's default route of that version, where it has one."""
    index = interface_index(result, ifname)
    mine = [ip for ip in result.ips if ip.interface is None or ip.interface == index]
    out: dict[int, IPAddress] = {}
    for route in result.routes:
        if route.dst.prefixlen != 0 or route.dst.version in out:
            continue
        gw = route.gw or next(
            (ip.gateway for ip in mine if ip.gateway is not None and ip.gateway.version == route.dst.version), None
        )
        if gw is not None:
            out[route.dst.version] = gw
    return out


def mac(result: spec.Result, ifname: str) -> str | None:
    """The MAC the result gives the sandbox interface."""
    index = interface_index(result, ifname)
    return result.interfaces[index].mac if index is not None else None


def mismatch(given: Sequence[IPInterface], wanted: Sequence[IPInterface]) -> str | None:
    """Why the plugins' addresses ``given`` are not pycnm's ``wanted`` (None when they are); of a
    family pycnm's IPAM has no pool of, the plugins' addresses are taken as they are."""
    families = {a.version for a in wanted}
    given = [a for a in given if a.version in families]
    if set(given) == set(wanted):
        return None
    ips = {a.ip for a in wanted}
    if {a.ip for a in given} == ips:
        return (
            f"the plugins gave {', '.join(map(str, given))}, pycnm's subnet says {', '.join(map(str, wanted))}:"
            " make the IPAM range of the CNI configuration the network's subnet"
        )
    return (
        f"the plugins gave {', '.join(map(str, given)) or 'no address'} where pycnm's IPAM chose"
        f' {", ".join(map(str, wanted))}: declare "capabilities": {{"ips": true}} on the plugin whose IPAM'
        " is host-local (or static), with the network's subnet as its range, or create the network without --subnet"
    )


__all__ = ["addresses", "default_gateways", "interface_index", "mac", "mismatch", "parsed"]
