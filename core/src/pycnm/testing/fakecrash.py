"""The crash-point matrix on the fake OS layer: the core's orchestration, killed at each step,
recovered and checked without a kernel (``python -m pycnm.testing.crash pycnm.testing.fakecrash``).

A run's configuration names its state directory (``state``), the fake kernel's file
(``kernel``), the namespace directory (``netns_dir``) and a prefix (``prefix``).
"""

from __future__ import annotations

from typing import Any

from ..controller import Controller
from .crash import Matrix, Scenario
from .fakeosl import HOST, FakeOSLayer, VethDriver

SUBNET, SUBNET2 = "10.212.0.0/28", "10.212.1.0/28"


def controller(config: dict[str, Any]) -> Controller:
    return Controller(
        config["state"],
        netns_dir=config["netns_dir"],
        netns_prefix=config["prefix"] + "-",
        ifname_prefix=config["prefix"],
        plugins=[],
        osl=FakeOSLayer(config["kernel"]),
        drivers={"veth": VethDriver()},
    )


def _network(ctl: Controller) -> None:
    ctl.create_network("cn", "veth", subnet=SUBNET)


def _sandbox(ctl: Controller) -> None:
    _network(ctl)
    ctl.create_sandbox("s1")


def _connected(ctl: Controller) -> None:
    _sandbox(ctl)
    ctl.connect("cn", "s1")


def _two_networks(ctl: Controller) -> None:
    _connected(ctl)
    ctl.create_network("cn2", "veth", subnet=SUBNET2)
    ctl.connect("cn2", "s1")


def _nothing(ctl: Controller) -> None:
    pass


SCENARIOS = [
    Scenario("network create", _nothing, lambda c: _network(c), SUBNET),
    Scenario("sandbox create", _network, lambda c: c.create_sandbox("s1"), SUBNET),
    Scenario("connect", _sandbox, lambda c: c.connect("cn", "s1"), SUBNET),
    Scenario("disconnect", _connected, lambda c: c.disconnect("cn", "s1"), SUBNET),
    Scenario("disconnect handing the gateway over", _two_networks, lambda c: c.disconnect("cn", "s1"), SUBNET),
    Scenario("sandbox delete", _two_networks, lambda c: c.sandbox("s1").delete(), SUBNET),
]


def fake_kernel_problems(ctl: Controller, config: dict[str, Any]) -> list[str]:
    """The fake's host holds no interface (each is in its sandbox or gone); what is published is
    exactly the gateway endpoints'."""
    osl = ctl.osl
    assert isinstance(osl, FakeOSLayer)
    problems = [f"interface {name} is left in the host" for name in osl.links(HOST) if name != "lo"]
    gateways = {sb.record.gateway_endpoint for sb in ctl.sandboxes() if sb.record.gateway_endpoint is not None}
    problems += [f"endpoint {e[:12]} is published but holds no gateway" for e in sorted(set(osl.published) - gateways)]
    problems += [f"gateway endpoint {e[:12]} is not published" for e in sorted(gateways - set(osl.published))]
    return problems


MATRIX = Matrix(SCENARIOS, controller, kernel_checks=[fake_kernel_problems])
