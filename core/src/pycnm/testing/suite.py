"""The conformance suite: the driver contract, checked against one driver through the real core.

Use it through the plugin (``pytest -p pycnm.testing.plugin --pycnm-driver NAME``), or subclass
:class:`ConformanceSuite` in a driver's own tests::

    from pycnm.testing.suite import ConformanceSuite

    class TestMyDriver(ConformanceSuite):
        cnm_driver_name = "mydriver"

Each test runs against a throwaway namespace standing in for the host (the machine's own links,
firewall and sysctls are never touched), with an uplink interface for drivers that need a parent.
After each test the kit fails the test if the driver left a link, a namespace or an nftables
table behind. Failure messages say which call of the contract misbehaved and what it should do.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import secrets
import socket
import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from ..errors import CNMError, Forbidden, NotFound
from ..model import EndpointInterface
from ..osl import netlink, netns, nft
from .hostns import StandInHost
from .requirements import UPLINK, Claims

KIT_SUBNETS = "10.250.{n}.0/24"


class Kit:
    """One test's world: a stand-in host with an uplink, a Controller, the driver under test."""

    def __init__(self, name: str, obj: str | None, state_dir: str, before=None, claims=None) -> None:
        self.name = name
        self.prefix = "k" + secrets.token_hex(2)[:3]
        self.host = StandInHost(f"/run/netns/{self.prefix}kithost")
        self.peer = f"/run/netns/{self.prefix}kitpeer"
        self.uplink = f"{self.prefix}up"
        self._count = 0
        self.host.__enter__()
        try:
            self._make_uplink()
            self._before = self._kernel()
            self.state_dir, self.obj = state_dir, obj
            self.cleanups: list = []
            if before is not None:
                before(self)
            self._start()
            self.claims = Claims(**claims) if claims is not None else Claims.of(self.relay.driver)
        except BaseException:
            self._teardown_host()
            raise

    def _start(self) -> None:
        from ..controller import Controller

        self.ctl = Controller(
            self.state_dir,
            netns_prefix=f"{self.prefix}-",
            ifname_prefix=self.prefix,
            plugins=getattr(self, "extra_plugins", []),
        )
        if self.obj:
            module, _, attr = self.obj.partition(":")
            self.ctl.register_driver(self.name, getattr(importlib.import_module(module), attr)())
        self.relay = self.ctl.network_driver(self.name)

    def restart(self) -> None:
        """Close the core and start a new one on the same state: the driver is made anew and
        rebuilds its state from ``cnm_restore``."""
        self.ctl.close()
        self._start()

    def _make_uplink(self) -> None:
        netns.create(self.peer)
        fd = os.open(self.peer, os.O_RDONLY)
        try:
            netlink.batch(
                "", lambda b: b.veth_add(self.uplink, master=0, mtu=1500, up=True, peer_name="eth0", peer_netns_fd=fd)
            )
        finally:
            os.close(fd)
        netlink.batch(self.peer, lambda b: b.link_set(1, up=True))
        index = netlink.index(self.peer, "eth0")
        if index is None:
            raise NotFound(f"eth0 not found in {self.peer}")
        netlink.batch(
            self.peer, lambda b: b.addr_add(index, ipaddress.ip_address("10.250.255.254"), 16).link_set(index, up=True)
        )

    def _kernel(self) -> tuple[set, set, set]:
        links = {link.get_attr("IFLA_IFNAME") for link in netlink.host().link("dump")}
        spaces = {n for n in os.listdir("/run/netns") if n.startswith(f"{self.prefix}-")}
        tables = {f"{t['table']['family']} {t['table']['name']}" for t in nft.query("list tables") if "table" in t}
        return links, spaces, tables

    # ---- helpers for tests --------------------------------------------------------------------

    def network(self, label: str = "net", **kwargs):
        """A network of the driver under test, with a subnet of its own and the driver's options."""
        self._count += 1
        options = {k: v.replace(UPLINK, self.uplink) for k, v in self.claims.network_options.items()}
        options.update(kwargs.pop("options", {}))
        kwargs.setdefault("subnet", KIT_SUBNETS.format(n=self._count))
        return self.ctl.create_network(f"kit-{label}-{self._count}", self.name, options=options, **kwargs)

    def sandbox(self, label: str = "sb"):
        self._count += 1
        return self.ctl.create_sandbox(f"kit-{label}-{self._count}")

    def fresh_relay_state(self):
        """The driver's relay with a network it does not know (for error semantics)."""
        return self.relay, secrets.token_hex(32)

    def links_in(self, key: str) -> dict[str, dict]:
        out = {}
        for link in netlink.ns(key).link("dump"):
            out[link.get_attr("IFLA_IFNAME")] = {
                "index": link["index"],
                "mtu": link.get_attr("IFLA_MTU"),
                "mac": link.get_attr("IFLA_ADDRESS"),
            }
        return out

    def addresses_in(self, key: str, ifname: str) -> set[str]:
        index = self.links_in(key).get(ifname, {}).get("index")
        if index is None:
            return set()
        return {f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}" for a in netlink.ns(key).addr("dump", index=index)}

    def default_gateway(self, key: str, family: int = socket.AF_INET) -> str | None:
        for route in netlink.ns(key).route("dump", family=family, table=254):
            if route["dst_len"] == 0:
                return route.get_attr("RTA_GATEWAY")
        return None

    def ping(self, key: str, address) -> bool:
        six = ":" in str(address)
        out = subprocess.run(
            ["nsenter", f"--net={key}", "ping", "-6" if six else "-4", "-c", "1", "-W", "2", str(address)],
            capture_output=True,
            timeout=20,
            check=False,
        )
        return out.returncode == 0

    # ---- teardown -----------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Delete everything through the core, then say what the driver left in the kernel."""
        problems = []
        try:
            for sb in self.ctl.sandboxes():
                sb.delete()
            for net in self.ctl.networks():
                for ep in net.endpoints():
                    ep.delete(force=True)
                net.delete()
        except CNMError as exc:
            problems.append(f"clean-up through the core failed: {exc}")
        self.ctl.close()
        for cleanup in reversed(self.cleanups):
            cleanup()
        links, spaces, tables = self._kernel()
        links -= self._before[0]
        tables -= self._before[2]
        if links:
            problems.append(
                f"links left in the host: {sorted(links)} (a driver removes what it made in"
                " cnm_leave, cnm_delete_endpoint and cnm_delete_network)"
            )
        if spaces:
            problems.append(f"namespaces left: {sorted(spaces)}")
        if tables:
            problems.append(f"nftables tables left: {sorted(tables)} (remove them with the last network)")
        self._teardown_host()
        return problems

    def _teardown_host(self) -> None:
        self.host.__exit__(None, None, None)
        netlink.forget(self.peer)
        if os.path.exists(self.peer):
            netns.delete(self.peer)


def _must_raise(error: type[CNMError], call: str, hint: str, fn, *args) -> None:
    """Fail with a message an author can act on unless ``fn(*args)`` raises ``error``."""
    try:
        result = fn(*args)
    except error:
        return
    except CNMError as exc:
        pytest.fail(
            f"{call} raised {type(exc).__name__} ({exc}); it must raise pycnm.errors.{error.__name__} {hint}",
            pytrace=False,
        )
    pytest.fail(f"{call} returned {result!r}; it must raise pycnm.errors.{error.__name__} {hint}", pytrace=False)


def _claim(kit: Kit, name: str) -> None:
    if not getattr(kit.claims, name):
        pytest.skip(f"the driver does not claim {name!r} (pycnm_conformance); not checked")


class DriverFixtures:
    """The fixtures; set ``cnm_driver_name`` (or ``cnm_driver_object``) in a subclass."""

    cnm_driver_name: str | None = None
    cnm_driver_object: str | None = None
    #: claims to hold the driver to, for drivers that cannot declare them (a remote plugin)
    cnm_claims: ClassVar[Mapping[str, Any] | None] = None

    def cnm_before_driver(self, kit: Kit) -> None:
        """Called in the stand-in host before the driver loads (start what serves it, say);
        append undo steps to ``kit.cleanups``."""

    @pytest.fixture
    def kit(self, request: pytest.FixtureRequest, tmp_path):
        if os.geteuid() != 0:
            pytest.skip("the pycnm conformance kit needs root: it creates network namespaces and links")
        if self.cnm_driver_name:
            spec = (self.cnm_driver_name, self.cnm_driver_object)
        elif self.cnm_driver_object:
            spec = (self.cnm_driver_object.rpartition(":")[2].lower(), self.cnm_driver_object)
        else:
            try:
                spec = request.getfixturevalue("cnm_driver_spec")
            except pytest.FixtureLookupError:
                pytest.skip(
                    "no driver under test: set cnm_driver_name, or run with -p pycnm.testing.plugin --pycnm-driver NAME"
                )
        kit = Kit(spec[0], spec[1], str(tmp_path / "state"), before=self.cnm_before_driver, claims=self.cnm_claims)
        yield kit
        problems = kit.close()
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


# ---- the contract --------------------------------------------------------------------------------


class NetworkLifecycle(DriverFixtures):
    def test_a_network_is_created_listed_and_deleted(self, kit):
        net = kit.network()
        assert net in kit.ctl.networks()
        net.delete()
        assert net not in kit.ctl.networks()

    def test_two_networks_live_side_by_side(self, kit):
        a, b = kit.network("a"), kit.network("b")
        assert {a, b} <= set(kit.ctl.networks())
        a.delete()
        b.delete()

    def test_capabilities_name_a_scope(self, kit):
        caps = kit.relay.capabilities
        assert caps.scope.value in ("local", "global"), "cnm_get_capabilities must give scope local or global"

    def test_deleting_a_network_the_driver_does_not_know_is_not_found(self, kit):
        relay, unknown = kit.fresh_relay_state()
        _must_raise(NotFound, "cnm_delete_network", "for a network it does not know", relay.delete_network, unknown)


class EndpointLifecycle(DriverFixtures):
    def test_an_endpoint_gets_an_address_from_ipam(self, kit):
        net = kit.network()
        ep = net.create_endpoint("e1")
        assert ep.address is not None and ep.address.ip in net.subnets[0]
        ep.delete()
        assert net.endpoints() == []

    def test_an_endpoint_takes_the_address_asked_for(self, kit):
        net = kit.network()
        wanted = net.subnets[0].network_address + 77
        ep = net.create_endpoint("e1", ip=str(wanted))
        assert ep.address.ip == wanted
        ep.delete()

    def test_creating_an_endpoint_on_an_unknown_network_is_not_found(self, kit):
        relay, unknown = kit.fresh_relay_state()
        _must_raise(
            NotFound,
            "cnm_create_endpoint",
            "on a network it does not know",
            relay.create_endpoint,
            unknown,
            secrets.token_hex(32),
            EndpointInterface(),
            {},
        )

    def test_deleting_an_unknown_endpoint_is_not_found(self, kit):
        net = kit.network()
        _must_raise(
            NotFound,
            "cnm_delete_endpoint",
            "for an endpoint it does not know",
            kit.relay.delete_endpoint,
            net.id,
            secrets.token_hex(32),
        )


class JoinLeave(DriverFixtures):
    def test_join_and_leave(self, kit):
        net, sb = kit.network(), kit.sandbox()
        ep = net.create_endpoint("e1")
        ep.join(sb)
        assert ep.sandbox_id == sb.id
        ep.leave(sb)
        assert ep.sandbox_id is None
        ep.delete()

    def test_joining_twice_is_refused(self, kit):
        net, a, b = kit.network(), kit.sandbox("a"), kit.sandbox("b")
        ep = net.create_endpoint("e1")
        ep.join(a)
        with pytest.raises(Forbidden):
            ep.join(b)

    def test_leaving_an_endpoint_that_is_not_joined_is_not_found(self, kit):
        net = kit.network()
        ep = net.create_endpoint("e1")
        _must_raise(NotFound, "cnm_leave", "for an endpoint that is not joined", kit.relay.leave, net.id, ep.id)

    def test_the_interface_appears_with_its_address_and_goes_on_leave(self, kit):
        _claim(kit, "interface")
        net, sb = kit.network(), kit.sandbox()
        ep = kit.ctl.connect(net, sb)
        assert ep.interface_name == "eth0"
        links = kit.links_in(sb.key)
        assert "eth0" in links, f"after cnm_join the sandbox has {sorted(links)}, not eth0"
        assert str(ep.address) in kit.addresses_in(sb.key, "eth0")
        kit.ctl.disconnect(net, sb)
        assert "eth0" not in kit.links_in(sb.key), "after cnm_leave the interface must be gone from the sandbox"

    def test_the_mac_asked_for_is_the_interface_s(self, kit):
        _claim(kit, "interface")
        _claim(kit, "static_mac")
        net, sb = kit.network(), kit.sandbox()
        kit.ctl.connect(net, sb, mac="02:00:00:aa:bb:cc")
        assert kit.links_in(sb.key)["eth0"]["mac"] == "02:00:00:aa:bb:cc"

    def test_the_mtu_option_sets_the_interface_mtu(self, kit):
        _claim(kit, "interface")
        _claim(kit, "mtu")
        net, sb = kit.network(options={"com.docker.network.driver.mtu": "1400"}), kit.sandbox()
        kit.ctl.connect(net, sb)
        assert kit.links_in(sb.key)["eth0"]["mtu"] == 1400

    def test_the_default_route_goes_through_the_gateway(self, kit):
        _claim(kit, "gateway")
        net, sb = kit.network(), kit.sandbox()
        kit.ctl.connect(net, sb)
        assert kit.default_gateway(sb.key) == str(net.gateways[0]), (
            "cnm_join should answer JoinInfo(gateway=...) with the network's gateway"
        )

    def test_two_sandboxes_reach_each_other(self, kit):
        _claim(kit, "connectivity")
        net, a, b = kit.network(), kit.sandbox("a"), kit.sandbox("b")
        kit.ctl.connect(net, a)
        eb = kit.ctl.connect(net, b)
        assert kit.ping(a.key, eb.address.ip), "a ping between two sandboxes of one network did not get through"

    def test_ipv6(self, kit):
        _claim(kit, "ipv6")
        net = kit.network(subnet=[KIT_SUBNETS.format(n=200), "fd50::/64"], ipv6=True)
        a, b = kit.sandbox("a"), kit.sandbox("b")
        kit.ctl.connect(net, a)
        eb = kit.ctl.connect(net, b)
        assert eb.address_ipv6 is not None
        if kit.claims.connectivity:
            assert kit.ping(a.key, eb.address_ipv6.ip)


class ErrorSemantics(DriverFixtures):
    def test_a_network_with_endpoints_is_not_deleted(self, kit):
        net = kit.network()
        net.create_endpoint("e1")
        with pytest.raises(Forbidden):
            net.delete()

    def test_a_joined_endpoint_is_not_deleted(self, kit):
        net, sb = kit.network(), kit.sandbox()
        ep = net.create_endpoint("e1")
        ep.join(sb)
        with pytest.raises(Forbidden):
            ep.delete()

    def test_repeated_create_and_delete_leave_nothing(self, kit):
        net = kit.network()
        sb = kit.sandbox()
        for _ in range(3):
            kit.ctl.connect(net, sb)
            kit.ctl.disconnect(net, sb)
        assert net.endpoints() == []

    def test_the_driver_survives_a_restart_of_the_core(self, kit):
        net, sb = kit.network(), kit.sandbox()
        ep = kit.ctl.connect(net, sb)
        kit.restart()
        net, sb = kit.ctl.network(net.id), kit.ctl.sandbox(sb.id)
        assert net.endpoint(ep.id).sandbox_id == sb.id
        # the new driver instance knows the endpoint from cnm_restore: leave and delete work
        kit.ctl.disconnect(net, sb)
        net.delete()


class ConformanceSuite(NetworkLifecycle, EndpointLifecycle, JoinLeave, ErrorSemantics):
    """Every conformance test; subclass it and set ``cnm_driver_name``."""


# collected when the plugin adds this file to a run
class TestConformance(ConformanceSuite):
    pass
