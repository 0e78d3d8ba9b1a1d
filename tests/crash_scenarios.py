"""The crash-point matrix's operations (pycnm.testing.crash): every operation of the core, on the
bridge driver (and the null one, and overlay on etcd), each from the state it needs."""

from __future__ import annotations

from pyroute2 import IPRoute

from pycnm import Controller, labels, ports
from pycnm.osl import nft
from pycnm.testing.crash import Matrix, Scenario
from pycnm_bridge import config as bridge_config
from pycnm_bridge.firewall import Firewall

SUBNET, SUBNET2 = "10.211.0.0/28", "10.211.1.0/28"
PUBLISH = ["18080:80", "18081:81/udp"]


def controller(config: dict) -> Controller:
    extra = {}
    if config.get("cluster"):
        extra = {"cluster_store": config["cluster"], "advertise_addr": config["advertise"]}
    plugins = []
    if config.get("remote"):  # Docker plugins found as dockerd finds them (PYCNM_PLUGIN_SOCKET_DIRS)
        from pycnm_remote import RemotePlugins

        plugins = [RemotePlugins()]
    return Controller(
        config["state"], netns_prefix=config["prefix"] + "-", ifname_prefix=config["prefix"], plugins=plugins, **extra
    )


# ---- set-ups -------------------------------------------------------------------------------------


def nothing(ctl):
    pass


def network(ctl):
    ctl.create_network("cn", "bridge", subnet=SUBNET)


def sandbox(ctl):
    network(ctl)
    ctl.create_sandbox("s1")


def connected(ctl, **options):
    sandbox(ctl)
    ctl.connect("cn", "s1", **options)


def endpoint(ctl):
    network(ctl)
    ctl.network("cn").create_endpoint("e1")


def endpoint_and_sandbox(ctl):
    endpoint(ctl)
    ctl.create_sandbox("s1")


def joined(ctl):
    endpoint_and_sandbox(ctl)
    ctl.network("cn").endpoint("e1").join("s1")


def three_connected(ctl):
    network(ctl)
    for name in ("s1", "s2", "s3"):
        ctl.connect("cn", ctl.create_sandbox(name))


def two_networks(ctl):
    """s1 on cn (its gateway, with published ports) and on cn2: leaving cn hands the gateway over."""
    connected(ctl, publish=PUBLISH)
    ctl.create_network("cn2", "bridge", subnet=SUBNET2)
    ctl.connect("cn2", "s1")


def overlay_sandbox(ctl):
    ctl.create_network("ov", "overlay", subnet=SUBNET)
    ctl.create_sandbox("s1")


def overlay_connected(ctl):
    overlay_sandbox(ctl)
    ctl.connect("ov", "s1")


SCENARIOS = [
    Scenario("network create", nothing, lambda c: c.create_network("cn", "bridge", subnet=SUBNET), SUBNET),
    Scenario("network delete", network, lambda c: c.network("cn").delete(), SUBNET),
    Scenario("sandbox create", network, lambda c: c.create_sandbox("s1"), SUBNET),
    Scenario("sandbox delete", lambda c: connected(c), lambda c: c.sandbox("s1").delete(), SUBNET),
    Scenario("batched sandbox delete", three_connected, lambda c: c.delete_sandboxes(["s1", "s2", "s3"]), SUBNET),
    Scenario("endpoint create", network, lambda c: c.network("cn").create_endpoint("e1"), SUBNET),
    Scenario("endpoint delete", endpoint, lambda c: c.network("cn").endpoint("e1").delete(), SUBNET),
    Scenario("join", endpoint_and_sandbox, lambda c: c.network("cn").endpoint("e1").join("s1"), SUBNET),
    Scenario("leave", joined, lambda c: c.network("cn").endpoint("e1").leave(), SUBNET),
    Scenario("connect", sandbox, lambda c: c.connect("cn", "s1"), SUBNET),
    Scenario("disconnect", lambda c: connected(c), lambda c: c.disconnect("cn", "s1"), SUBNET),
    Scenario("connect with published ports", sandbox, lambda c: c.connect("cn", "s1", publish=PUBLISH), SUBNET),
    Scenario(
        "disconnect with published ports",
        lambda c: connected(c, publish=PUBLISH),
        lambda c: c.disconnect("cn", "s1"),
        SUBNET,
    ),
    Scenario("disconnect handing the gateway over", two_networks, lambda c: c.disconnect("cn", "s1"), SUBNET),
]

#: through a Docker plugin (pycnm-docker-plugin serving the bridge driver, in the test's process)
REMOTE = "tpcrash"


def remote_sandbox(ctl):
    ctl.create_network("rn", REMOTE, subnet=SUBNET)
    ctl.create_sandbox("s1")


def remote_connected(ctl):
    remote_sandbox(ctl)
    ctl.connect("rn", "s1")


REMOTE_SCENARIOS = [
    Scenario("remote network create", nothing, lambda c: c.create_network("rn", REMOTE, subnet=SUBNET), SUBNET),
    Scenario("remote connect", remote_sandbox, lambda c: c.connect("rn", "s1"), SUBNET),
    Scenario("remote disconnect", remote_connected, lambda c: c.disconnect("rn", "s1"), SUBNET),
]

OVERLAY_SCENARIOS = [
    Scenario("overlay network create", nothing, lambda c: c.create_network("ov", "overlay", subnet=SUBNET)),
    Scenario("overlay connect", overlay_sandbox, lambda c: c.connect("ov", "s1")),
    Scenario("overlay disconnect", overlay_connected, lambda c: c.disconnect("ov", "s1")),
]


# ---- the bridge driver's own objects ------------------------------------------------------------


def _bridge_name(net, prefix: str) -> str:
    generic = net.record.options.get(labels.GENERIC) or {}
    return str(generic.get(bridge_config.BRIDGE_NAME) or bridge_config.default_bridge_name(prefix, net.id))


def _host_links(config: dict) -> set[str]:
    prefix = config["prefix"]
    with IPRoute() as ipr:
        names = {link.get_attr("IFLA_IFNAME") for link in ipr.link("dump")}
    return {n for n in names if n.startswith(prefix)} - set(config.get("ignore_links", ()))


def bridge_problems(ctl, config: dict) -> list[str]:
    """Bridges and host-side veths against bridge networks and their joined endpoints; pycnm's
    nftables table against the networks and the gateway endpoints' published ports. Networks of
    the plugin serving the bridge driver likewise, under the plugin's prefix."""
    problems = _bridge_problems(ctl, config, "bridge", config["prefix"], skip=f"{config['prefix']}p")
    if config.get("remote"):
        problems += _bridge_problems(ctl, config, REMOTE, config["remote_prefix"])
    return problems


def _bridge_problems(ctl, config: dict, driver: str, prefix: str, skip: str | None = None) -> list[str]:
    want, bridges, pubs = set(), set(), set()
    sandboxes = {sb.id: sb for sb in ctl.sandboxes()}
    for net in ctl.networks():
        if net.driver != driver:
            continue
        bridges.add(_bridge_name(net, prefix))
        for ep in net.endpoints():
            if ep.sandbox_id is None:
                continue
            want.add(bridge_config.veth_name(prefix, ep.id))
            sb = sandboxes.get(ep.sandbox_id)
            if sb is not None and sb.record.gateway_endpoint == ep.id:
                for b in ports.from_wire(ep.record.options.get(labels.PORT_MAP)):
                    pubs.add((b.proto, b.host_port, str(ep.address.ip), b.container_port))
    want |= bridges
    have = {
        n
        for n in _host_links(config)
        if n.startswith(prefix) and not n.startswith(f"{prefix}ov") and not (skip and n.startswith(skip))
    }
    problems = [f"link {n} belongs to no record" for n in sorted(have - want)]
    problems += [f"link {n} of a record is missing" for n in sorted(want - have)]
    firewall = Firewall(prefix)
    exists = nft.table_exists("inet", firewall.table)
    if bridges and not exists:
        problems.append(f"nftables table {firewall.table} is missing")
    if exists and not bridges:
        problems.append(f"nftables table {firewall.table} is left with no bridge network")
    if exists:
        in_table = set(firewall.bridges())
        problems += [f"nftables bridge element {b} belongs to no network" for b in sorted(in_table - bridges)]
        problems += [f"bridge {b} has no nftables element" for b in sorted(bridges - in_table)]
        published = {(p.proto, p.host_port, p.container_ip, p.container_port) for p in firewall.publications()}
        problems += [f"published port {p} belongs to no gateway endpoint" for p in sorted(published - pubs)]
        problems += [f"port {p} of a gateway endpoint is not published" for p in sorted(pubs - published)]
    nft.reset()
    return problems


def overlay_problems(ctl, config: dict) -> list[str]:
    """Each overlay network's namespace on this host exists while a local endpoint is joined to it,
    with a port on br0 per joined endpoint, and not otherwise."""
    import os

    from pycnm.osl import netlink

    prefix, instance = config["prefix"], ctl.instance_id
    ours = f"{prefix}ov{instance[:6]}-"
    found = {os.path.join("/run/netns", e) for e in os.listdir("/run/netns") if e.startswith(ours)}
    want: dict[str, set[str]] = {}
    for net in ctl.networks():
        if net.driver != "overlay":
            continue
        ports = {f"{prefix}ov{e.id}"[:15] for e in net.endpoints() if e.sandbox_id and e.record.owner == instance}
        if ports:
            want[f"/run/netns/{ours}{net.id[:10]}"] = ports
    problems = [f"overlay namespace {p} is kept for no joined endpoint" for p in sorted(found - set(want))]
    problems += [f"overlay namespace {p} of joined endpoints is missing" for p in sorted(set(want) - found)]
    for path in sorted(set(want) & found):
        links = {link.get_attr("IFLA_IFNAME"): link for link in netlink.ns(path).get_links()}
        bridge = links.get("br0")
        have = {
            name
            for name, link in links.items()
            if bridge is not None and name != "vxlan0" and link.get_attr("IFLA_MASTER") == bridge["index"]
        }
        problems += [f"port {p} in {path} belongs to no joined endpoint" for p in sorted(have - want[path])]
        problems += [f"port {p} of a joined endpoint is missing in {path}" for p in sorted(want[path] - have)]
        netlink.forget(path)
    return problems


def link_leftovers(ctl, config: dict) -> list[str]:
    problems = [f"link {n} is left" for n in sorted(_host_links(config))]
    for prefix in (config["prefix"], config.get("remote_prefix")):
        if prefix and nft.table_exists("inet", Firewall(prefix).table):
            problems.append(f"nftables table {Firewall(prefix).table} is left")
    nft.reset()
    return problems


def prepare(config: dict) -> None:
    """The stand-in host's forwarding off again: the first bridge network sets it, and every run
    must take that step too."""
    with open("/proc/sys/net/ipv4/ip_forward", "w") as fh:
        fh.write("0")


MATRIX = Matrix(
    SCENARIOS + REMOTE_SCENARIOS + OVERLAY_SCENARIOS,
    controller,
    kernel_checks=[bridge_problems, overlay_problems],
    leftover_checks=[link_leftovers],
    prepare=prepare,
)
