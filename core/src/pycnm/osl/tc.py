"""Traffic limits on a container's host-side interface: the CNI ``bandwidth`` capability.

The same shaping as the CNI project's ``bandwidth`` plugin, so that a limit means the same with
either: traffic *into* the container leaves the host through its host-side veth, and a token
bucket (``tbf``) on that veth's egress holds it to ``ingress_rate``; traffic *out of* the
container arrives on the veth, where an ingress qdisc and a u32 match-all filter redirect it
(``mirred``) to an ``ifb`` device whose own ``tbf`` holds it to ``egress_rate``. Rates are bits
per second and bursts bits (CONVENTIONS.md); the queue holds what the rate sends in 25 ms, plus
the burst.

The kernel needs sch_tbf, sch_ingress, cls_u32, act_mirred and ifb (this one has all five; it has
no ``police`` action nor ``matchall`` classifier, which the plugin does not use either).
"""

from __future__ import annotations

import contextlib
import errno
from typing import Any

from pyroute2 import IPRoute, NetlinkError

from ..errors import InvalidParameter, NotFound

#: what the queue may hold, in time at the rate (the bandwidth plugin's latencyInMillis)
LATENCY = "25ms"
#: tbf's rate field is 32 bits of bytes per second (the 64-bit one is not in pyroute2)
MAX_RATE = (2**32 - 1) * 8
#: the handles: tbf as the root qdisc, the ingress qdisc
ROOT, INGRESS = 0x10000, 0xFFFF0000
ETH_P_ALL = 0x0003


def check(rate: int, burst: int, what: str) -> None:
    """Refuse a limit tc cannot hold: a rate without a burst (or the other way), or a rate past
    what tbf's 32-bit field holds."""
    if bool(rate) != bool(burst):
        raise InvalidParameter(f"bandwidth {what}: give both a rate and a burst (bits), or neither")
    if rate > MAX_RATE:
        raise InvalidParameter(f"bandwidth {what}Rate {rate} is above {MAX_RATE} bits/s, the most tbf takes here")
    if burst and burst < 8:
        raise InvalidParameter(f"bandwidth {what}Burst {burst} is below one byte")


def limit(
    ipr: Any, ifname: str, ifb_name: str, *, ingress_rate: int, ingress_burst: int, egress_rate: int, egress_burst: int
) -> None:
    """Hold interface ``ifname`` (the host side of a container's veth, in ``ipr``'s namespace)
    to the rates; the egress limit makes ``ifb_name``. Undone by :func:`unlimit` (and by the
    interface's deletion, save for the ifb)."""
    check(ingress_rate, ingress_burst, "ingress")
    check(egress_rate, egress_burst, "egress")
    index = _index(ipr, ifname)
    if ingress_rate:
        _tbf(ipr, index, ingress_rate, ingress_burst)
    if egress_rate:
        mtu = ipr.get_links(index)[0].get_attr("IFLA_MTU")
        ipr.link("add", ifname=ifb_name, kind="ifb", mtu=mtu)
        try:
            ifb = _index(ipr, ifb_name)
            ipr.link("set", index=ifb, state="up")
            ipr.tc("add", "ingress", index, INGRESS)
            ipr.tc(
                "add-filter",
                "u32",
                index,
                parent=INGRESS,
                protocol=ETH_P_ALL,
                prio=1,
                target=0x1,
                keys=["0x0/0x0+0"],
                action={"kind": "mirred", "direction": "egress", "action": "redirect", "ifindex": ifb},
            )
            _tbf(ipr, ifb, egress_rate, egress_burst)
        except BaseException:
            unlimit(ipr, ifb_name)
            raise


def unlimit(ipr: Any, ifb_name: str) -> bool:
    """Remove what :func:`limit` made that outlives the interface (its ifb); False if none."""
    try:
        ipr.link("del", ifname=ifb_name)
    except NetlinkError as exc:
        if exc.code in (errno.ENODEV, errno.ENOENT):
            return False
        raise
    return True


def limits(ipr: Any, ifname: str) -> dict[str, int]:
    """The tbf rate (bits/s) on ``ifname``'s egress, as the kernel has it ({} when none)."""
    with contextlib.suppress(NotFound):
        for qdisc in ipr.get_qdiscs(_index(ipr, ifname)):
            if qdisc.get_attr("TCA_KIND") == "tbf":
                parms = qdisc.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")
                return {"rate": parms["rate"] * 8}
    return {}


def limit_by_name(ifname: str, ifb_name: str, **rates: int) -> None:
    """:func:`limit` in this thread's namespace (pycnm's "host")."""
    with IPRoute() as ipr:
        limit(ipr, ifname, ifb_name, **rates)


def unlimit_by_name(ifb_name: str) -> bool:
    """:func:`unlimit` in this thread's namespace."""
    with IPRoute() as ipr:
        return unlimit(ipr, ifb_name)


def _tbf(ipr: Any, index: int, rate: int, burst: int) -> None:
    ipr.tc("add", "tbf", index, ROOT, rate=f"{rate}bit", burst=max(burst // 8, 1), latency=LATENCY)


def _index(ipr: Any, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise NotFound(f"interface {ifname} not found")
    return int(found[0])
