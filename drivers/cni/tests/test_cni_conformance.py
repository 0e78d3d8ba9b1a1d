"""Debian's CNI plugins (containernetworking-plugins, /usr/lib/cni) as pycnm networks, held to
pycnm's conformance kit: one test class per configuration list.

Needs root: the kit makes a throwaway namespace standing in for the host (with an uplink for
macvlan and ipvlan), real sandboxes, and pings. The plugins run inside that stand-in host: they
are executed from the thread the kit moved into it, and a child process inherits its thread's
namespace. Written for the engineer who runs the privileged suite; not run while pycnm-cni was
written (another engineer's leak checks run then).

How the kit meets CNI:

- The kit gives every network a subnet of pycnm's IPAM. Each network here gets a list of its own,
  written by :meth:`CNIConformance.cnm_before_driver`, whose host-local range is that subnet (and
  its gateway the subnet's first address, as given to pycnm too), with ``"capabilities": {"ips":
  true}`` so host-local hands out exactly the address pycnm's IPAM chose (the driver passes it as
  ``runtimeConfig.ips``). host-local's and tuning's state go to the test's directory, not to
  /var/lib/cni and /run/cni.
- ``static_mac`` is claimed through ``tuning`` with the ``mac`` capability, chained after the
  main plugin; ``mtu`` is not claimed (CNI has no capability for it: a list sets its plugin's
  ``mtu`` itself).
- CNI's bridge plugin never deletes its bridge, not even at GC: the test removes the bridges it
  made (``kit.cleanups``) before the kit looks for leftovers. No list here masquerades or maps
  ports: iptables would leave tables the kit counts.
- host-device moves an existing device: each network gets a veth pair made for it, of which one
  end is handed to the sandbox; so one sandbox at a time per network (no ``connectivity`` claim).
- ipvlan, vlan and vrf need kernel modules this kernel (6.18, Firecracker) is built without, and
  Debian 12's plugins 1.1.1 have no ``dummy`` plugin (it came with 1.2), nor does the kernel have
  the dummy driver: those classes skip, saying so, wherever that is still true.
"""

from __future__ import annotations

import gzip
import ipaddress
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pycnm.testing.suite import ConformanceSuite, Kit

pytestmark = pytest.mark.privileged

PLUGIN_DIR = "/usr/lib/cni"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _kernel_config() -> dict[str, str] | None:
    try:
        with gzip.open("/proc/config.gz", "rt") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    return dict(line.split("=", 1) for line in lines if line.startswith("CONFIG_") and "=" in line)


def kernel_lacks(option: str, module: str) -> str | None:
    """Why the kernel cannot make this kind of link (None when it can, or cannot tell)."""
    config = _kernel_config()
    if config is not None:
        if config.get(option) in ("y", "m"):
            return None
        return f"{option} is not set in this kernel ({os.uname().release}): no {module} links can be made"
    if os.path.isdir(f"/sys/module/{module}"):
        return None
    return None  # cannot tell (no /proc/config.gz): let the plugin say


def plugins_missing(*names: str) -> str | None:
    missing = [n for n in names if not os.access(os.path.join(PLUGIN_DIR, n), os.X_OK)]
    if missing:
        return f"no {', '.join(missing)} plugin in {PLUGIN_DIR}"
    return None


def _delete_links(prefixes: Sequence[str]) -> None:
    """Delete the links of the stand-in host whose names start with one of ``prefixes``."""
    from pyroute2 import IPRoute, NetlinkError

    with IPRoute() as ipr:  # the calling thread's namespace: the kit's stand-in host
        for link in ipr.get_links():
            name = link.get_attr("IFLA_IFNAME")
            if any(name.startswith(p) for p in prefixes):
                try:
                    ipr.link("del", index=link["index"])
                except NetlinkError:
                    pass  # gone with its peer already


class CNIConformance(ConformanceSuite):
    """The kit against one kind of list; a subclass says which (:meth:`plugins`) and claims."""

    cnm_driver_name = "cni"
    #: the plugins the list uses (the class skips when one is not installed)
    needs: ClassVar[tuple[str, ...]] = ()

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        """The list's plugins for the kit's ``n``-th network; ``ipam`` is its host-local section."""
        raise NotImplementedError

    def link_prefixes(self, kit: Kit) -> list[str]:
        """Names of links the plugins leave in the stand-in host, removed after each test."""
        return []

    def cnm_before_driver(self, kit: Kit) -> None:
        missing = plugins_missing(*self.needs, "host-local", "tuning")
        if missing:
            pytest.skip(missing)
        work = Path(kit.state_dir).parent / "cni"
        work.mkdir(parents=True, exist_ok=True)
        original = kit.network
        count = itertools.count(1)

        def network(label: str = "net", **kwargs: Any) -> Any:
            n = next(count)
            given = kwargs.pop("subnet", None) or f"10.251.{n}.0/24"
            subnets = [ipaddress.ip_network(s) for s in ([given] if isinstance(given, str) else given)]
            gateways = [str(s.network_address + 1) for s in subnets]
            ipam = {
                "type": "host-local",
                "dataDir": str(work / "host-local"),
                "ranges": [[{"subnet": str(s), "gateway": gw}] for s, gw in zip(subnets, gateways, strict=True)],
                "routes": [{"dst": "0.0.0.0/0" if s.version == 4 else "::/0"} for s in subnets],
            }
            plugins = self.plugins(kit, n, ipam, work)
            plugins.append({"type": "tuning", "capabilities": {"mac": True}, "dataDir": str(work / "tuning")})
            conf = {"cniVersion": "1.0.0", "name": f"{kit.prefix}-{n}", "plugins": plugins}
            path = work / f"{n}.conflist"
            path.write_text(json.dumps(conf, indent=2))
            options = {"conflist": str(path), **kwargs.pop("options", {})}
            return original(label, subnet=[str(s) for s in subnets], gateway=gateways, options=options, **kwargs)

        kit.network = network  # type: ignore[method-assign]
        prefixes = self.link_prefixes(kit)
        if prefixes:
            kit.cleanups.append(lambda: _delete_links(prefixes))


def _main(plugin: dict[str, Any], ipam: dict[str, Any]) -> dict[str, Any]:
    return {**plugin, "capabilities": {"ips": True}, "ipam": ipam}


class TestBridgeHostLocal(CNIConformance):
    needs = ("bridge",)
    cnm_claims: ClassVar[dict[str, Any]] = {
        "interface": True,
        "gateway": True,
        "connectivity": True,
        "static_mac": True,
        "ipv6": True,
    }

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        bridge = {"type": "bridge", "bridge": f"{kit.prefix}br{n}", "isGateway": True, "ipMasq": False}
        return [_main(bridge, ipam)]

    def link_prefixes(self, kit: Kit) -> list[str]:
        return [f"{kit.prefix}br"]


class TestMacvlanHostLocal(CNIConformance):
    needs = ("macvlan",)
    cnm_claims: ClassVar[dict[str, Any]] = {
        "interface": True,
        "gateway": True,
        "connectivity": True,
        "static_mac": True,
        "ipv6": True,
    }

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        return [_main({"type": "macvlan", "master": kit.uplink, "mode": "bridge"}, ipam)]


class TestPtpHostLocal(CNIConformance):
    needs = ("ptp",)
    cnm_claims: ClassVar[dict[str, Any]] = {
        "interface": True,
        "gateway": True,
        "connectivity": True,
        "static_mac": True,
    }

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        return [_main({"type": "ptp", "ipMasq": False}, ipam)]


class TestHostDevice(CNIConformance):
    needs = ("host-device",)
    # one device per network: one sandbox at a time, so no ping between two
    cnm_claims: ClassVar[dict[str, Any]] = {"interface": True, "gateway": True, "static_mac": True}

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        from pyroute2 import IPRoute

        device = f"{kit.prefix}hd{n}"
        with IPRoute() as ipr:  # in the stand-in host: the device host-device hands to the sandbox
            ipr.link("add", ifname=device, kind="veth", peer=f"{kit.prefix}hp{n}")
        return [_main({"type": "host-device", "device": device}, ipam)]

    def link_prefixes(self, kit: Kit) -> list[str]:
        return [f"{kit.prefix}hd", f"{kit.prefix}hp"]


@pytest.mark.skipif(bool(kernel_lacks("CONFIG_IPVLAN", "ipvlan")), reason=str(kernel_lacks("CONFIG_IPVLAN", "ipvlan")))
class TestIpvlanHostLocal(CNIConformance):
    needs = ("ipvlan",)
    # ipvlan interfaces share their master's MAC: no static_mac
    cnm_claims: ClassVar[dict[str, Any]] = {"interface": True, "gateway": True, "connectivity": True}

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        return [_main({"type": "ipvlan", "master": kit.uplink, "mode": "l2"}, ipam)]


@pytest.mark.skipif(
    bool(kernel_lacks("CONFIG_VLAN_8021Q", "8021q")), reason=str(kernel_lacks("CONFIG_VLAN_8021Q", "8021q"))
)
class TestVlanHostLocal(CNIConformance):
    needs = ("vlan",)
    # one VLAN ID per master: one sandbox at a time per network
    cnm_claims: ClassVar[dict[str, Any]] = {"interface": True, "gateway": True, "static_mac": True}

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        return [_main({"type": "vlan", "master": kit.uplink, "vlanId": 100 + n}, ipam)]


@pytest.mark.skipif(bool(kernel_lacks("CONFIG_NET_VRF", "vrf")), reason=str(kernel_lacks("CONFIG_NET_VRF", "vrf")))
class TestPtpInAVrf(CNIConformance):
    needs = ("ptp", "vrf")
    # the routes go to the VRF's table, not the main one the kit reads: the interface only
    cnm_claims: ClassVar[dict[str, Any]] = {"interface": True}

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        return [_main({"type": "ptp", "ipMasq": False}, ipam), {"type": "vrf", "vrfname": f"vrf{n}"}]


_NO_DUMMY = kernel_lacks("CONFIG_DUMMY", "dummy") or (
    plugins_missing("dummy") and f"{plugins_missing('dummy')}: the dummy plugin came with the plugins' 1.2.0"
)


@pytest.mark.skipif(bool(_NO_DUMMY), reason=str(_NO_DUMMY))
class TestDummyHostLocal(CNIConformance):
    needs = ("dummy",)
    cnm_claims: ClassVar[dict[str, Any]] = {"interface": True, "gateway": True}

    def plugins(self, kit: Kit, n: int, ipam: dict[str, Any], work: Path) -> list[dict[str, Any]]:
        return [_main({"type": "dummy"}, ipam)]
