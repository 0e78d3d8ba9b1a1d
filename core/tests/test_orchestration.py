"""The Controller's orchestration on the fake OS layer (pycnm.testing.fakeosl): joins, leaves,
the default gateway's hand-over, failures midway and recovery, as a normal user, no kernel."""

from __future__ import annotations

import pytest

from pycnm import Controller
from pycnm.errors import Internal
from pycnm.testing.fakeosl import HOST, FakeOSLayer, VethDriver


@pytest.fixture
def fake(tmp_path):
    return FakeOSLayer(str(tmp_path / "kernel.json"))


@pytest.fixture
def make(tmp_path, fake):
    made = []

    def controller(in_sandbox: bool = False) -> Controller:
        ctl = Controller(
            str(tmp_path / "state"),
            netns_dir=str(tmp_path / "netns"),
            netns_prefix="o-",
            ifname_prefix="o",
            plugins=[],
            osl=fake,
            drivers={"veth": VethDriver(in_sandbox=in_sandbox)},
        )
        made.append(ctl)
        return ctl

    yield controller
    for ctl in made:
        ctl.close()


def test_a_connect_moves_the_driver_s_interface_in_addresses_it_and_routes_by_it(make, fake):
    ctl = make()
    net = ctl.create_network("n", "veth", subnet="10.9.0.0/24")
    sb = ctl.create_sandbox("s")
    ep = ctl.connect(net, sb)
    links = fake.links(sb.key)
    assert set(links) == {"lo", "eth0"} and links["eth0"]["addresses"] == ["10.9.0.2/24"]
    assert links["eth0"]["moved_from"] == f"ov{ep.id[:10]}" and links["eth0"]["up"]
    assert fake.routes(sb.key) == {"4": ["eth0", "10.9.0.1"]}
    assert fake.published == {ep.id: []}  # the gateway endpoint holds external connectivity
    assert "10.9.0.2\ts" in fake.read_file(sb.hosts_path)
    ctl.disconnect(net, sb)
    assert set(fake.links(sb.key)) == {"lo"} and fake.routes(sb.key) == {}
    assert set(fake.links(HOST)) == {"lo"}  # moved back and deleted by the driver's leave
    assert fake.published == {} and net.endpoints() == []
    assert "10.9.0.2" not in fake.read_file(sb.hosts_path)


def test_an_interface_born_in_the_sandbox_is_found_there(make, fake):
    ctl = make(in_sandbox=True)
    net = ctl.create_network("n", "veth", subnet="10.9.0.0/24")
    sb = ctl.create_sandbox("s")
    ctl.connect(net, sb)
    assert fake.links(sb.key)["eth0"]["addresses"] == ["10.9.0.2/24"]
    assert not [c for c in fake.calls if c[0] == "detach"]
    ctl.disconnect(net, sb)
    assert set(fake.links(sb.key)) == {"lo"}


def test_the_default_gateway_moves_to_the_next_network_when_its_holder_leaves(make, fake):
    ctl = make()
    first = ctl.create_network("first", "veth", subnet="10.9.1.0/24")
    second = ctl.create_network("second", "veth", subnet="10.9.2.0/24")
    sb = ctl.create_sandbox("s")
    a, b = ctl.connect(first, sb), ctl.connect(second, sb)
    assert fake.routes(sb.key) == {"4": ["eth0", "10.9.1.1"]} and set(fake.published) == {a.id}
    ctl.disconnect(first, sb)
    assert fake.routes(sb.key) == {"4": ["eth1", "10.9.2.1"]} and set(fake.published) == {b.id}
    assert ctl.sandbox("s").record.gateway_endpoint == b.id


def test_an_internal_network_never_gives_the_default_gateway(make, fake):
    ctl = make()
    internal = ctl.create_network("inside", "veth", subnet="10.9.3.0/24", internal=True)
    outside = ctl.create_network("outside", "veth", subnet="10.9.4.0/24")
    sb = ctl.create_sandbox("s")
    ctl.connect(internal, sb)
    assert fake.routes(sb.key) == {} and fake.published == {}
    out = ctl.connect(outside, sb)
    assert fake.routes(sb.key) == {"4": ["eth1", "10.9.4.1"]} and set(fake.published) == {out.id}


def test_a_join_that_fails_in_the_os_layer_is_undone_whole(make, fake):
    ctl = make()
    net = ctl.create_network("n", "veth", subnet="10.9.5.0/24")
    sb = ctl.create_sandbox("s")
    fake.fail["attach"] = Internal("the kernel said no")
    with pytest.raises(Internal, match="the kernel said no"):
        ctl.connect(net, sb)
    assert net.endpoints() == [] and sb.endpoints() == []
    assert set(fake.links(HOST)) == {"lo"}  # the driver's leave took its interface back
    assert ctl.connect(net, sb).address.ip.exploded == "10.9.5.2"  # the address was released


def test_another_process_s_network_and_join_reach_this_process_s_driver(make, fake, tmp_path):
    """Two Controllers on one state directory (a daemon and the CLI): what one did, the other's
    driver is told before its next operation (cnm_refresh)."""
    long_lived, other = make(), make()
    long_lived.create_network("first", "veth", subnet="10.9.6.0/24")
    net = other.create_network("second", "veth", subnet="10.9.7.0/24")
    sb = other.create_sandbox("s")
    other.connect("first", sb)
    long_lived.connect(net, long_lived.sandbox("s"))  # a network its driver had not heard of
    long_lived.disconnect("first", "s")  # a join its driver had not heard of
    assert set(fake.links(HOST)) == {"lo"}
    assert [e.name for e in long_lived.sandbox("s").endpoints()] == ["s"]
    assert long_lived.sandbox("s").endpoints()[0].network_id == net.id


def test_a_join_stopped_after_its_interface_moved_in_is_undone_and_the_gateway_stays(make, fake, tmp_path):
    """Stopped between the interface's move and the gateway's hand-over (an exception the join
    does not expect): the join is rolled back, the other network keeps the default route."""
    ctl = make()
    keep = ctl.create_network("keep", "veth", subnet="10.9.8.0/24")
    net = ctl.create_network("n", "veth", subnet="10.9.9.0/24")
    sb = ctl.create_sandbox("s")
    kept = ctl.connect(keep, sb)
    # a "crash" right after the interface was configured: the store says joining
    real = ctl._joins.update_gateway

    def die(*args, **kwargs):
        raise SystemExit("killed")

    ctl._joins.update_gateway = die
    with pytest.raises(SystemExit):
        ctl.connect(net, sb)
    ctl._joins.update_gateway = real
    ctl.close()
    again = make()
    assert again.reconciled == []  # rolled back before it stopped: nothing left to recover
    assert [e.id for e in again.sandbox("s").endpoints()] == [kept.id]
    assert fake.routes(sb.key) == {"4": ["eth0", "10.9.8.1"]} and set(fake.published) == {kept.id}
    assert set(fake.links(sb.key)) == {"lo", "eth0"}


def test_every_crash_point_of_the_fake_matrix_is_recovered(tmp_path):
    """The crash-point matrix on the fake OS layer (pycnm.testing.fakecrash): each operation
    killed (SIGKILL) before each of its steps, then recovered and checked, without root."""
    from pycnm.testing.crash import Zygote
    from pycnm.testing.fakecrash import SCENARIOS

    zygote = Zygote("pycnm.testing.fakecrash")
    try:
        for scenario in SCENARIOS:
            base = tmp_path / scenario.name.replace(" ", "-")
            config = {"prefix": "f", "netns_dir": str(base / "netns")}
            first = zygote.point(
                scenario.name, dict(config, state=str(base / "record"), kernel=str(base / "record.json")), None
            )
            assert first["run"] == 0 and first["verify"]["problems"] == [], first["verify"]
            for number, kind, what in first["steps"]:
                where = f"{scenario.name}, killed before step {number} ({kind}: {what})"
                result = zygote.point(
                    scenario.name,
                    dict(config, state=str(base / f"p{number}"), kernel=str(base / f"p{number}.json")),
                    number,
                )
                verify = result["verify"]
                assert result["run"] == -9, where
                assert verify["problems"] == [], (where, verify["problems"], verify["reconciled"])
                assert verify["view"] in (first["before"], first["after"]), (where, verify["reconciled"])
                assert verify["leftovers"] == [] and verify["again"] == "ok", (where, verify)
    finally:
        zygote.close()
