"""``pycnm graph``: the networks, sandboxes and endpoints of a state directory, as a picture.

Two halves, so that the picture is the same through the daemon and in-process:

- :func:`topology` (run by the engine: ``GET /pycnm/v1/graph``) reads the Controller's public
  API and answers JSON::

      {"Instance": "<this host's instance>", "Hosts": {"<instance>": "<advertise address>"},
       "Networks": [{"Id", "Name", "Driver", "Scope", "Internal", "EnableIPv6",
                     "Subnets": [{"Subnet", "Gateway"}], "Bridge", "VNI",
                     "Endpoints": [{"Id", "Name", "Sandbox", "SandboxName", "Interface",
                                    "MacAddress", "IPv4Address", "IPv6Address", "Host", "Local",
                                    "Ports": [{"Proto", "HostIP", "HostPort", "Port"}]}]}],
       "Sandboxes": [{"Id", "Name", "Key", "HostNamespace"}]}

  ``Bridge`` is a bridge network's Linux bridge, ``VNI`` an overlay network's VXLAN id (both ""
  for other drivers); ``Host`` is the instance an endpoint belongs to (other hosts' endpoints of
  global networks are listed too), ``Hosts`` their underlay addresses from the cluster store.
- :func:`to_dot` (run by the CLI) draws it in Graphviz's DOT language: a node per network
  (driver, subnets, bridge or VNI) and per sandbox, an edge per endpoint (interface, addresses,
  published ports), and, when endpoints of other hosts are there, a box per host around what
  is on it. :func:`write` saves DOT, or runs ``dot`` for SVG or PNG.

Imports nothing at load time: the CLI imports it on its client path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Debian's package for ``dot``
GRAPHVIZ_PACKAGE = "graphviz"
FORMATS = {".dot": "", ".gv": "", ".svg": "svg", ".png": "png", ".pdf": "pdf"}


# ---- the topology (engine side) -------------------------------------------------------------


def topology(controller: Any) -> dict[str, Any]:
    """What :func:`to_dot` draws, from ``controller``'s public API (see the module's docstring)."""
    from .errors import CNMError

    instance = controller.instance_id
    hosts: dict[str, str] = {}
    store = controller.cluster_store
    if store is not None:
        try:
            hosts = {e.key.split("/", 1)[1]: e.value.decode() for e in store.list("hosts/")}
        except CNMError:
            hosts = {}  # the cluster store is away: the picture shows what the local records say
    if controller.advertise_addr:
        hosts.setdefault(instance, controller.advertise_addr)
    sandboxes = []
    names: dict[str, str] = {}
    for sb in controller.sandboxes():
        doc = sb.inspect()
        names[sb.id] = sb.name
        sandboxes.append(
            {"Id": sb.id, "Name": sb.name, "Key": doc.get("Key") or "", "HostNamespace": bool(doc.get("HostNamespace"))}
        )
    sandboxes.sort(key=lambda s: (s["Name"], s["Id"]))
    networks = []
    for net in controller.networks():
        doc = net.inspect()
        containers = doc.get("Containers") or {}
        endpoints = []
        for ep in net.endpoints():
            record = ep.record
            owner = getattr(record, "owner", "") or instance
            sandbox = ep.sandbox_id or ""
            endpoints.append(
                {
                    "Id": ep.id,
                    "Name": ep.name,
                    "Sandbox": sandbox,
                    "SandboxName": names.get(sandbox) or (containers.get(sandbox) or {}).get("Name") or "",
                    "Interface": ep.interface_name or "",
                    "MacAddress": ep.mac or "",
                    "IPv4Address": str(ep.address) if ep.address else "",
                    "IPv6Address": str(ep.address_ipv6) if ep.address_ipv6 else "",
                    "Host": owner,
                    "Local": owner == instance,
                    "Ports": _ports(ep) if owner == instance and sandbox else [],
                }
            )
        endpoints.sort(key=lambda e: (e["SandboxName"], e["Name"], e["Id"]))
        options = doc.get("Options") or {}
        networks.append(
            {
                "Id": net.id,
                "Name": net.name,
                "Driver": net.driver,
                "Scope": net.scope,
                "Internal": bool(doc.get("Internal")),
                "EnableIPv6": bool(doc.get("EnableIPv6")),
                "Subnets": [
                    {"Subnet": c.get("Subnet", ""), "Gateway": c.get("Gateway", "")}
                    for c in (doc.get("IPAM") or {}).get("Config") or ()
                ],
                "Bridge": _bridge_name(controller, net, options),
                "VNI": str(options.get("com.docker.network.driver.overlay.vxlanid_list") or "")
                if net.driver == "overlay"
                else "",
                "Endpoints": endpoints,
            }
        )
    networks.sort(key=lambda n: (n["Name"], n["Id"]))
    return {"Instance": instance, "Hosts": dict(sorted(hosts.items())), "Networks": networks, "Sandboxes": sandboxes}


def _ports(endpoint: Any) -> list[dict[str, Any]]:
    from . import labels
    from .errors import CNMError
    from .ports import NUMBERS

    try:
        info = endpoint.oper_info() or {}
    except CNMError:
        return []
    out = []
    for p in info.get(labels.PORT_MAP) or ():
        proto = p.get("Proto")
        out.append(
            {
                "Proto": NUMBERS.get(proto, str(proto)) if isinstance(proto, int) else str(proto or "tcp"),
                "HostIP": str(p.get("HostIP") or ""),
                "HostPort": p.get("HostPort") or 0,
                "Port": p.get("Port") or 0,
            }
        )
    out.sort(key=lambda p: (p["Proto"], p["HostPort"], p["Port"], p["HostIP"]))
    return out


def _bridge_name(controller: Any, net: Any, options: dict[str, Any]) -> str:
    """A bridge network's Linux bridge: the name given, else the driver's default."""
    if net.driver != "bridge":
        return ""
    try:
        from pycnm_bridge.config import ALIASES, BRIDGE_NAME, default_bridge_name
    except ImportError:  # the bridge driver is not installed: name what it would say
        return str(options.get("com.docker.network.bridge.name") or "")
    from . import labels

    given = labels.normalize(options, ALIASES).get(BRIDGE_NAME)
    return str(given or default_bridge_name(controller.ifname_prefix, net.id))


# ---- DOT (CLI side) -------------------------------------------------------------------------


def _q(text: str) -> str:
    """A DOT quoted string; a newline in ``text`` is DOT's ``\\n`` (a centred line break)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**values: Any) -> str:
    return "[" + ", ".join(f"{k}={_q(v)}" for k, v in values.items()) + "]"


def _network_label(net: dict[str, Any]) -> str:
    lines = [net["Name"]]
    kind = net["Driver"] + (f" ({net['Scope']})" if net.get("Scope") == "global" else "")
    if net.get("Bridge"):
        kind += f" on {net['Bridge']}"
    if net.get("VNI"):
        kind += f"  VNI {net['VNI']}"
    lines.append(kind)
    for subnet in net.get("Subnets") or ():
        line = subnet["Subnet"]
        if subnet.get("Gateway"):
            line += f"  gateway {subnet['Gateway']}"
        lines.append(line)
    flags = [word for word, on in (("internal", net.get("Internal")), ("IPv6", net.get("EnableIPv6"))) if on]
    if flags:
        lines.append(", ".join(flags))
    return "\n".join(lines)


def _endpoint_label(ep: dict[str, Any], with_name: bool) -> str:
    lines = []
    if with_name:
        lines.append(ep["Name"])
    if ep.get("Interface"):
        lines.append(ep["Interface"])
    for key in ("IPv4Address", "IPv6Address"):
        if ep.get(key):
            lines.append(ep[key])
    for p in ep.get("Ports") or ():
        host = f"{p['HostIP']}:" if p.get("HostIP") not in ("", "0.0.0.0", "::") else ""
        lines.append(f"{host}{p['HostPort']}->{p['Port']}/{p['Proto']}")
    return "\n".join(lines)


def _node(indent: str, name: str, **attrs: Any) -> str:
    return f"{indent}{_q(name)} {_attrs(**attrs)};"


def _edge(a: str, b: str, **attrs: Any) -> str:
    return f"    {_q(a)} -- {_q(b)} {_attrs(**attrs)};"


def _cluster(name: str, label: str, nodes: list[str]) -> list[str]:
    box = _attrs(label=label, style="rounded", color="#888888")
    return [f"    subgraph {_q('cluster_host_' + name)} {{", f"        graph {box};", *nodes, "    }"]


def _plural(count: int, word: str, many: str) -> str:
    return f"{count} {word if count == 1 else many}"


def to_dot(topo: dict[str, Any]) -> str:
    """The topology (:func:`topology`'s answer) as a DOT ``graph``, the same text for the same
    topology (everything in name order)."""
    instance = topo.get("Instance") or ""
    hosts = topo.get("Hosts") or {}
    networks = topo.get("Networks") or []
    sandboxes = topo.get("Sandboxes") or []
    count = sum(len(n.get("Endpoints") or ()) for n in networks)
    remote = sorted({ep["Host"] for n in networks for ep in n.get("Endpoints") or () if not ep.get("Local", True)})
    title = (
        f"pycnm: {_plural(len(networks), 'network', 'networks')}, {_plural(len(sandboxes), 'sandbox', 'sandboxes')},"
        f" {_plural(count, 'endpoint', 'endpoints')}"
    )
    graph = _attrs(
        label=title, labelloc="t", fontname="Helvetica", fontsize="12", rankdir="LR", nodesep="0.5", ranksep="1.4"
    )
    out = [
        "graph pycnm {",
        f"    graph {graph};",
        f"    node {_attrs(fontname='Helvetica', fontsize='10')};",
        f"    edge {_attrs(fontname='Helvetica', fontsize='9', color='#555555')};",
    ]
    known = {sb["Id"] for sb in sandboxes}

    def sandbox_node(sb: dict[str, Any], indent: str) -> str:
        where = "host namespace" if sb.get("HostNamespace") else sb.get("Key") or ""
        label = "\n".join(x for x in (sb["Name"], sb["Id"][:12], where) if x)
        return _node(
            indent, "sandbox:" + sb["Id"], shape="box", style="rounded,filled", fillcolor="#e8f0fe", label=label
        )

    if remote:  # endpoints of other hosts: each host in a box of its own
        here = f"this host {hosts.get(instance, '')}".strip()
        out += _cluster(instance, here, [sandbox_node(sb, "        ") for sb in sandboxes])
        for host in remote:
            nodes = []
            for net in networks:
                for ep in net.get("Endpoints") or ():
                    if ep["Host"] == host:
                        label = "\n".join(
                            x for x in (ep.get("SandboxName") or ep["Name"], ep.get("Sandbox", "")[:12]) if x
                        )
                        nodes.append(
                            _node("        ", "remote:" + ep["Id"], shape="box", style="rounded,dashed", label=label)
                        )
            out += _cluster(host, f"host {hosts.get(host) or host[:12]}", nodes)
    else:
        out += [sandbox_node(sb, "    ") for sb in sandboxes]
    for net in networks:
        out.append(
            _node(
                "    ",
                "network:" + net["Id"],
                shape="ellipse",
                style="filled",
                fillcolor="#fff2cc",
                label=_network_label(net),
            )
        )
    for net in networks:
        target = "network:" + net["Id"]
        for ep in net.get("Endpoints") or ():
            if not ep.get("Local", True):
                out.append(_edge("remote:" + ep["Id"], target, label=_endpoint_label(ep, False), style="dashed"))
            elif ep.get("Sandbox") in known:
                out.append(_edge("sandbox:" + ep["Sandbox"], target, label=_endpoint_label(ep, False)))
            else:  # an endpoint that joins no sandbox (yet)
                out.append(_node("    ", "endpoint:" + ep["Id"], shape="plaintext", label=_endpoint_label(ep, True)))
                out.append(_edge("endpoint:" + ep["Id"], target, style="dotted"))
    out.append("}")
    return "\n".join(out) + "\n"


def write(dot: str, path: str) -> None:
    """Save ``dot`` at ``path``: as it is for ``.dot``/``.gv``, drawn by Graphviz's ``dot`` for
    ``.svg``, ``.png`` and ``.pdf``. Raises ValueError (an unknown suffix, no ``dot``) or OSError."""
    import os

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell what to write to {path}: name it .dot, .svg or .png")
    kind = FORMATS[suffix]
    if not kind:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dot)
        return
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        raise ValueError(
            f"drawing {path} needs Graphviz's dot (Debian package {GRAPHVIZ_PACKAGE});"
            " without it, write the DOT text: -o FILE.dot"
        )
    done = subprocess.run(
        [program, f"-T{kind}", "-o", path], input=dot.encode("utf-8"), capture_output=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise ValueError(f"dot failed ({done.returncode}): {done.stderr.decode('utf-8', 'replace').strip()}")
