"""The bridge driver's firewall: one nftables table of its own, changed in atomic transactions.

``table inet pycnm`` (prefixed by the controller's interface prefix) holds everything; pycnm
never touches another table, and deletes its own when its last network goes. The rule count is
constant: networks and published ports are elements of sets and maps, so a change is one small
transaction whatever the number of networks (Docker's iptables rules grow with each network).

- ``forward``: ``iifname vmap @fwd_in`` and ``oifname vmap @fwd_out`` send a packet to its
  network's chains. ``in-<id>`` (leaving a bridge): internal networks drop; published-port
  traffic passes; traffic to another pycnm bridge is dropped (isolation). ``out-<id>`` (entering
  a bridge from elsewhere): replies and published-port traffic pass, the rest is dropped.
- ``prerouting``/``output`` (nat): traffic to a local address is DNAT'ed through the ``pub4``/
  ``pub6`` maps (any host address) and ``pub4_ip``/``pub6_ip`` (one host address).
- ``postrouting`` (nat): masquerade what leaves a bridge with masquerading on, and published-port
  traffic from a pycnm subnet (hairpin) or from the host's 127.0.0.1. Hairpin matches source
  subnets, not the input interface: where ``br_netfilter`` is loaded, same-bridge traffic is
  bridged and has no input interface at postrouting.

ICC off is not a rule at all: the bridge ports of such a network are isolated by the kernel
(``bridge_slave isolated on``), which stops sandbox-to-sandbox frames but not routed traffic.

Your own rules go in a table of your own: a base chain on the same hook with a lower priority
(e.g. ``type filter hook forward priority -10``) sees packets first, and its ``drop`` is final
(an ``accept`` in one table does not stop another table from dropping).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from attrs import frozen

from pycnm.errors import Internal
from pycnm.osl import nft

from .config import NetworkConfig

PUB_MAPS = {
    "pub4": "type inet_proto . inet_service : ipv4_addr . inet_service",
    "pub4_ip": "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service",
    "pub6": "type inet_proto . inet_service : ipv6_addr . inet_service",
    "pub6_ip": "type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service",
}


@frozen
class Publication:
    """One published port, resolved: the host side is concrete."""

    proto: str
    host_ip: str  # "" for every host address of the family
    host_port: int
    container_ip: str
    container_port: int

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.container_ip).version

    @property
    def map_name(self) -> str:
        return f"pub{self.family}" + ("_ip" if self.host_ip else "")

    @property
    def key(self) -> str:
        return (f"{self.host_ip} . " if self.host_ip else "") + f"{self.proto} . {self.host_port}"

    @property
    def element(self) -> str:
        return f"{self.key} : {self.container_ip} . {self.container_port}"


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


class Firewall:
    def __init__(self, prefix: str = "") -> None:
        self.table = f"{prefix}pycnm"
        self._based = False  # this process has asserted the base (sets, maps, base chains, rules)

    # ---- scripts --------------------------------------------------------------------------------

    def _base(self) -> list[str]:
        t = f"inet {self.table}"
        cmds = [
            f"add table {t}",
            f"add set {t} bridges {{ type ifname; }}",
            f"add set {t} masq {{ type ifname; }}",
            f"add set {t} subnets4 {{ type ipv4_addr; flags interval; }}",
            f"add set {t} subnets6 {{ type ipv6_addr; flags interval; }}",
            f"add map {t} fwd_in {{ type ifname : verdict; }}",
            f"add map {t} fwd_out {{ type ifname : verdict; }}",
        ]
        cmds += [f"add map {t} {name} {{ {spec}; }}" for name, spec in PUB_MAPS.items()]
        cmds += [
            f"add chain {t} publish",
            f"add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}",
            f"add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
            f"add chain {t} output {{ type nat hook output priority -100; policy accept; }}",  # dstnat
            f"add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}",
            # the base rules are re-asserted whole in every transaction: idempotent, never doubled
            f"flush chain {t} publish",
            f"add rule {t} publish dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip",
            f"add rule {t} publish dnat ip to meta l4proto . th dport map @pub4",
            f"add rule {t} publish dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_ip",
            f"add rule {t} publish dnat ip6 to meta l4proto . th dport map @pub6",
            f"flush chain {t} forward",
            f"add rule {t} forward iifname vmap @fwd_in",
            f"add rule {t} forward oifname vmap @fwd_out",
            f"flush chain {t} prerouting",
            f"add rule {t} prerouting fib daddr type local jump publish",
            f"flush chain {t} output",
            f"add rule {t} output fib daddr type local jump publish",
            f"flush chain {t} postrouting",
            f"add rule {t} postrouting ct status dnat oifname @bridges ip saddr @subnets4 masquerade",
            f"add rule {t} postrouting ct status dnat oifname @bridges ip6 saddr @subnets6 masquerade",
            f"add rule {t} postrouting ct status dnat ip saddr 127.0.0.0/8 masquerade",
            f"add rule {t} postrouting iifname @masq oifname != @bridges masquerade",
        ]
        return cmds

    def _network(self, net: NetworkConfig) -> list[str]:
        t, br, short = f"inet {self.table}", _q(net.bridge_name), net.network_id[:12]
        into, out = f"in-{short}", f"out-{short}"
        cmds = [f"add chain {t} {into}", f"flush chain {t} {into}", f"add chain {t} {out}", f"flush chain {t} {out}"]
        # same-bridge traffic only reaches this hook where br_netfilter is loaded
        cmds.append(f"add rule {t} {into} oifname {br} {'accept' if net.enable_icc else 'drop'}")
        if net.internal:
            cmds += [f"add rule {t} {into} drop", f"add rule {t} {out} drop"]
        else:
            cmds += [
                f"add rule {t} {into} ct status dnat accept",
                f"add rule {t} {into} oifname @bridges drop",
                f"add rule {t} {out} ct state established,related accept",
                f"add rule {t} {out} ct status dnat accept",
                f"add rule {t} {out} drop",
            ]
        cmds += [
            f"add element {t} bridges {{ {br} }}",
            f"add element {t} fwd_in {{ {br} : jump {into} }}",
            f"add element {t} fwd_out {{ {br} : jump {out} }}",
        ]
        if net.enable_ip_masquerade and not net.internal:
            cmds.append(f"add element {t} masq {{ {br} }}")
        cmds += [f"add element {t} {name} {{ {pool} }}" for name, pool in self._subnets(net)]
        return cmds

    @staticmethod
    def _subnets(net: NetworkConfig) -> list[tuple[str, str]]:
        return [(f"subnets{d.pool.version}", str(d.pool)) for d in (*net.ipv4, *net.ipv6_pools)]

    def _unnetwork(self, net: NetworkConfig) -> list[str]:
        t, br, short = f"inet {self.table}", _q(net.bridge_name), net.network_id[:12]
        cmds = [
            f"delete element {t} fwd_in {{ {br} }}",
            f"delete element {t} fwd_out {{ {br} }}",
            f"delete element {t} bridges {{ {br} }}",
        ]
        if net.enable_ip_masquerade and not net.internal:
            cmds.append(f"delete element {t} masq {{ {br} }}")
        cmds += [f"delete element {t} {name} {{ {pool} }}" for name, pool in self._subnets(net)]
        cmds += [f"delete chain {t} in-{short}", f"delete chain {t} out-{short}"]
        return cmds

    # ---- changes --------------------------------------------------------------------------------

    def add_network(self, net: NetworkConfig) -> None:
        """The network's chains and elements, in one transaction. The base goes with them the
        first time in a process (or when the table is gone): re-asserting its rules each time
        made nftables read the sets they name, elements and all, and the cost grew with every
        network."""
        if self._based:
            try:
                nft.run("\n".join(self._network(net)))
                return
            except Internal:
                pass  # the table (or part of its base) is gone: assert it again, with the network
        nft.run("\n".join(self._base() + self._network(net)))
        self._based = True

    def _gone(self) -> bool:
        """After a refused change: was it refused because the table is gone? (Asked only then:
        libnftables reads the whole ruleset to list tables, 44 ms with 1000 networks here.)"""
        if nft.table_exists("inet", self.table):
            return False
        self._based = False
        return True

    def remove_network(self, net: NetworkConfig, others: bool = False) -> None:
        """Remove the network's chains and elements; the table too when no bridge is left in it.
        ``others``: the caller knows other networks remain (the kernel's set is not read then)."""
        try:
            nft.run("\n".join(self._unnetwork(net)))
        except Internal:
            if self._gone():
                return
            # part of it is gone (someone flushed the table since): remove what is left, one by one
            for cmd in self._unnetwork(net):
                try:
                    nft.run(cmd)
                except Internal:
                    pass
        if not others and not self.bridges():
            nft.run(f"delete table inet {self.table}")
            self._based = False

    def publish(self, pubs: Sequence[Publication]) -> None:
        if pubs:
            # ``create`` fails on a key that exists: a second process cannot take the same port
            nft.run("\n".join(f"create element inet {self.table} {p.map_name} {{ {p.element} }}" for p in pubs))

    def unpublish(self, pubs: Sequence[Publication]) -> None:
        if not pubs:
            return
        try:
            nft.run("\n".join(f"delete element inet {self.table} {p.map_name} {{ {p.key} }}" for p in pubs))
        except Internal:
            if not self._gone():
                raise

    def rebuild(self, nets: Iterable[NetworkConfig], pubs: Iterable[Publication]) -> None:
        """Replace the whole table at once with what the driver knows (after a restart)."""
        nets, pubs = list(nets), list(pubs)
        if not nets:
            if nft.table_exists("inet", self.table):
                nft.run(f"delete table inet {self.table}")
            self._based = False
            return
        cmds = [f"add table inet {self.table}", f"delete table inet {self.table}", *self._base()]
        for net in nets:
            cmds += self._network(net)
        cmds += [f"add element inet {self.table} {p.map_name} {{ {p.element} }}" for p in pubs]
        nft.run("\n".join(cmds))
        self._based = True

    # ---- reading back ---------------------------------------------------------------------------

    def bridges(self) -> list[str]:
        items = nft.query(f"list set inet {self.table} bridges")
        for item in items:
            if "set" in item:
                return [e if isinstance(e, str) else str(e) for e in item["set"].get("elem", [])]
        return []

    def publications(self) -> list[Publication]:
        """Every published port in the kernel's maps."""
        out = []
        for name in PUB_MAPS:
            try:
                listed = nft.query(f"list map inet {self.table} {name}")
            except Internal:
                if self._gone():
                    return []
                raise
            for item in listed:
                for key, value in item.get("map", {}).get("elem", []):
                    k = key["concat"]
                    v = value["concat"]
                    host_ip = str(k[0]) if name.endswith("_ip") else ""
                    proto, port = (k[1], k[2]) if name.endswith("_ip") else (k[0], k[1])
                    out.append(Publication(str(proto), host_ip, int(port), str(v[0]), int(v[1])))
        return out
