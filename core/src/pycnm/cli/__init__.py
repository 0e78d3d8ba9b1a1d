"""The ``pycnm`` command, with ``docker network``'s habits.

Plain tab-aligned tables by default, ``--format json`` for machines, ``inspect`` prints a JSON
array indented by 4. Errors go to stderr with exit code 1.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from .. import discovery
from ..errors import CNMError, InvalidParameter


class AliasedGroup(click.Group):
    """``ls`` answers to ``list`` and ``rm`` to ``remove``, as in docker."""

    ALIASES = {"list": "ls", "remove": "rm"}

    def get_command(self, ctx: click.Context, cmd_name: str):
        return super().get_command(ctx, self.ALIASES.get(cmd_name, cmd_name))


def _controller(ctx: click.Context):
    from ..controller import Controller

    obj = ctx.find_root().obj
    if obj.get("controller") is None:
        obj["controller"] = Controller(obj.get("state_dir"))
        ctx.find_root().call_on_close(obj["controller"].close)
    return obj["controller"]


def _kv(values: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise InvalidParameter(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def _natural(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(map(str, r)) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for line in [list(headers)] + rows:
        click.echo("   ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def _emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=4))


def _remove_each(ctx: click.Context, names: Sequence[str], force: bool, remove: Callable[[str], None]) -> None:
    """docker's ``rm`` habit: print each name removed, report each failure, go on, exit 1 if any
    failed; with ``force`` a name that does not exist is no failure."""
    from ..errors import NotFound

    failed = False
    for name in names:
        try:
            remove(name)
            click.echo(name)
        except NotFound as exc:
            if not force:
                click.echo(f"Error: {exc}", err=True)
                failed = True
        except CNMError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
    if failed:
        ctx.exit(1)


def _check_format(fmt: str | None) -> str:
    if fmt in (None, "", "table"):
        return "table"
    if fmt == "json":
        return "json"
    raise InvalidParameter(f"unsupported --format {fmt!r}: use 'table' or 'json' (Go templates are not supported)")


@click.group(cls=AliasedGroup)
@click.option("--state-dir", envvar="PYCNM_STATE_DIR", default=None,
              help="State directory (default $PYCNM_STATE_DIR or /var/lib/pycnm).")
@click.option("--debug", is_flag=True, help="Log what pycnm does.")
@click.pass_context
def cli(ctx: click.Context, state_dir: str | None, debug: bool) -> None:
    """pycnm: Docker's Container Network Model, in Python."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"state_dir": state_dir}


# ---- network -------------------------------------------------------------------------------------


@cli.group(cls=AliasedGroup)
def network() -> None:
    """Manage networks."""


@network.command("create")
@click.argument("name")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Network driver.")
@click.option("-o", "--opt", "opts", multiple=True, help="Driver option KEY=VALUE (repeatable).")
@click.option("--label", "label_list", multiple=True, help="Label KEY=VALUE (repeatable).")
@click.option("--subnet", multiple=True, help="Subnet in CIDR form (repeatable).")
@click.option("--ip-range", multiple=True, help="Allocate addresses from this sub-range (repeatable).")
@click.option("--gateway", multiple=True, help="Gateway of a subnet (repeatable).")
@click.option("--aux-address", multiple=True, help="NAME=IP reserved for the network (repeatable).")
@click.option("--ipam-driver", default=None, help="IPAM driver (default: default; null for -d null/host).")
@click.option("--ipam-opt", multiple=True, help="IPAM option KEY=VALUE (repeatable).")
@click.option("--internal", is_flag=True, help="Restrict external access to the network.")
@click.option("--ipv6", is_flag=True, help="Enable IPv6.")
@click.pass_context
def network_create(ctx, name, driver, opts, label_list, subnet, ip_range, gateway, aux_address, ipam_driver,
                   ipam_opt, internal, ipv6) -> None:
    """Create a network; prints its ID."""
    net = _controller(ctx).create_network(
        name, driver, subnet=list(subnet), ip_range=list(ip_range), gateway=list(gateway),
        aux_addresses=_kv(aux_address, "aux-address"), ipam_driver=ipam_driver,
        ipam_options=_kv(ipam_opt, "ipam-opt"), options=_kv(opts, "option"),
        labels=_kv(label_list, "label"), internal=internal, ipv6=ipv6,
    )
    click.echo(net.id)


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate IDs.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter: driver=, id=, name=, scope=, label=.")
@click.option("--format", "fmt", default=None, help="table or json.")
@click.pass_context
def network_ls(ctx, quiet, no_trunc, filters, fmt) -> None:
    """List networks."""
    fmt = _check_format(fmt)
    nets = _controller(ctx).networks()
    for item in filters:
        key, _, value = item.partition("=")
        tests: dict[str, Callable] = {
            "driver": lambda n: n.driver == value,
            "id": lambda n: n.id.startswith(value),
            "name": lambda n: value in n.name,
            "scope": lambda n: n.scope == value,
            "label": lambda n: _label_match(n.record.labels, value),
        }
        if key not in tests:
            raise InvalidParameter(f"invalid filter {key!r}: use driver, id, name, scope or label")
        nets = [n for n in nets if tests[key](n)]
    nets.sort(key=lambda n: _natural(n.name))
    ident = (lambda n: n.id) if no_trunc else (lambda n: n.id[:12])
    if quiet:
        for n in nets:
            click.echo(ident(n))
    elif fmt == "json":
        for n in nets:
            click.echo(json.dumps({"ID": ident(n), "Name": n.name, "Driver": n.driver, "Scope": n.scope,
                                   "IPv6": str(n.record.ipv6).lower(), "Internal": str(n.internal).lower(),
                                   "Labels": ",".join(f"{k}={v}" for k, v in n.record.labels.items()),
                                   "CreatedAt": n.record.created}))
    else:
        _table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"], [(ident(n), n.name, n.driver, n.scope) for n in nets])


def _label_match(labels: dict[str, str], want: str) -> bool:
    key, sep, value = want.partition("=")
    return key in labels and (not sep or labels[key] == value)


@network.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default=None, help="json (the default).")
@click.pass_context
def network_inspect(ctx, names, fmt) -> None:
    """Show networks as a JSON array, with Docker's keys."""
    if fmt not in (None, "", "json"):
        raise InvalidParameter(f"unsupported --format {fmt!r}: inspect prints JSON")
    ctrl = _controller(ctx)
    _emit_json([ctrl.network(n).inspect() for n in names])


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist.")
@click.pass_context
def network_rm(ctx, names, force) -> None:
    """Remove networks; prints each removed name."""
    ctrl = _controller(ctx)
    _remove_each(ctx, names, force, lambda name: ctrl.network(name).delete())


@network.command("connect")
@click.argument("network_name")
@click.argument("sandbox")
@click.option("--ip", default=None, help="IPv4 address.")
@click.option("--ip6", default=None, help="IPv6 address.")
@click.option("--alias", multiple=True, help="Network-scoped alias (repeatable).")
@click.option("--mac-address", default=None, help="MAC address of the interface.")
@click.option("--driver-opt", multiple=True, help="Driver option KEY=VALUE (repeatable).")
@click.option("-p", "--publish", multiple=True,
              help="Publish a port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], ranges allowed (repeatable).")
@click.pass_context
def network_connect(ctx, network_name, sandbox, ip, ip6, alias, mac_address, driver_opt, publish) -> None:
    """Connect a sandbox (name, ID or namespace path) to a network."""
    ctrl = _controller(ctx)
    ctrl.connect(network_name, _sandbox_ref(ctrl, sandbox), ip=ip, ip6=ip6, aliases=list(alias), mac=mac_address,
                 options=_kv(driver_opt, "driver-opt"), publish=list(publish))


@network.command("disconnect")
@click.argument("network_name")
@click.argument("sandbox")
@click.option("-f", "--force", is_flag=True, help="No error if it is not connected.")
@click.pass_context
def network_disconnect(ctx, network_name, sandbox, force) -> None:
    """Disconnect a sandbox from a network."""
    ctrl = _controller(ctx)
    ctrl.disconnect(network_name, _sandbox_ref(ctrl, sandbox), force=force)


def _sandbox_ref(ctrl, text: str):
    if "/" in text:
        for sb in ctrl.sandboxes():
            if sb.key == text:
                return sb
    return ctrl.sandbox(text)


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def network_prune(ctx, force) -> None:
    """Remove every network with no endpoints."""
    if not force and not click.confirm(
        "WARNING! This will remove all custom networks not used by at least one container.\n"
        "Are you sure you want to continue?", default=False):
        return
    removed = _controller(ctx).prune()
    if removed:
        click.echo("Deleted Networks:")
        for name in removed:
            click.echo(name)


# ---- sandbox -------------------------------------------------------------------------------------


@cli.group(cls=AliasedGroup)
def sandbox() -> None:
    """Manage sandboxes (network namespaces of containers)."""


@sandbox.command("create")
@click.argument("name")
@click.option("--hostname", default=None)
@click.option("--domainname", default=None)
@click.option("--dns", multiple=True, help="DNS server (repeatable).")
@click.option("--dns-search", multiple=True, help="DNS search domain (repeatable).")
@click.option("--dns-option", multiple=True, help="resolv.conf option (repeatable).")
@click.option("--add-host", multiple=True, help="HOST:IP for the hosts file (repeatable).")
@click.option("--host-namespace", is_flag=True, help="Use the host's network namespace (for -d host).")
@click.pass_context
def sandbox_create(ctx, name, hostname, domainname, dns, dns_search, dns_option, add_host, host_namespace) -> None:
    """Create a sandbox; prints its ID."""
    hosts = []
    for item in add_host:
        host, sep, ip = item.partition(":")
        if not sep:
            raise InvalidParameter(f"invalid --add-host {item!r}: expected HOST:IP")
        hosts.append((host, ip))
    sb = _controller(ctx).create_sandbox(name, hostname=hostname, domainname=domainname, dns=list(dns),
                                         dns_search=list(dns_search), dns_options=list(dns_option),
                                         extra_hosts=hosts, host_namespace=host_namespace)
    click.echo(sb.id)


@sandbox.command("ls")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt", default=None, help="table or json.")
@click.pass_context
def sandbox_ls(ctx, quiet, no_trunc, fmt) -> None:
    """List sandboxes."""
    fmt = _check_format(fmt)
    sbs = sorted(_controller(ctx).sandboxes(), key=lambda s: _natural(s.name))
    ident = (lambda s: s.id) if no_trunc else (lambda s: s.id[:12])
    if quiet:
        for sb in sbs:
            click.echo(ident(sb))
    elif fmt == "json":
        for sb in sbs:
            click.echo(json.dumps({"ID": ident(sb), "Name": sb.name, "Key": sb.key,
                                   "Endpoints": len(sb.record.endpoints)}))
    else:
        _table(["SANDBOX ID", "NAME", "KEY", "ENDPOINTS"],
               [(ident(s), s.name, s.key, len(s.record.endpoints)) for s in sbs])


@sandbox.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def sandbox_inspect(ctx, names) -> None:
    """Show sandboxes as a JSON array: Id, Name, Key and endpoints."""
    ctrl = _controller(ctx)
    _emit_json([ctrl.sandbox(n).inspect() for n in names])


@sandbox.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Do not error if the sandbox does not exist.")
@click.pass_context
def sandbox_rm(ctx, names, force) -> None:
    """Remove sandboxes (their endpoints leave first)."""
    ctrl = _controller(ctx)
    _remove_each(ctx, names, force, lambda name: ctrl.sandbox(name).delete())


# ---- daemon --------------------------------------------------------------------------------------


@cli.command("daemon")
@click.option("-H", "--host", "host", envvar="PYCNM_HOST", default=None, metavar="unix:///PATH",
              help="Socket to serve the Engine API on (default /run/pycnm/pycnm.sock; with another"
                   " --state-dir, <state dir>/pycnm.sock).")
@click.option("--cluster-store", envvar="PYCNM_CLUSTER_STORE", default=None,
              help="etcd://HOST:PORT[,HOST:PORT...]: where global networks live (with --advertise-addr,"
                   " the daemon also syncs overlay peers).")
@click.option("--advertise-addr", envvar="PYCNM_ADVERTISE_ADDR", default=None,
              help="This host's underlay address (the VTEP other hosts send overlay traffic to).")
@click.option("--lease", "lease_ttl", default=10, show_default=True,
              help="Seconds after which other hosts drop this host's endpoints if it stops answering.")
@click.pass_context
def daemon(ctx, host, cluster_store, advertise_addr, lease_ttl) -> None:
    """Serve Docker's Engine API (network part) on a unix socket; with a cluster store, keep this
    host's kernel in step with the cluster too (program the endpoints other hosts join to global
    networks, drop those of hosts that are gone). SIGTERM stops it and leaves the kernel as is."""
    from ..daemon import Daemon, log

    if cluster_store and not advertise_addr:
        raise click.UsageError("--cluster-store needs --advertise-addr (this host's underlay address)")
    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # a daemon says what it programs
    try:
        daemon_ = Daemon(ctx.find_root().obj.get("state_dir"), host=host, cluster_store=cluster_store,
                         advertise_addr=advertise_addr, lease_ttl=lease_ttl)
    except ValueError as exc:  # an -H that is not a unix socket
        raise click.BadParameter(str(exc), param_hint="-H") from None
    daemon_.run()


# ---- driver --------------------------------------------------------------------------------------


@cli.group(cls=AliasedGroup)
def driver() -> None:
    """Installed drivers."""


@driver.command("ls")
@click.option("--format", "fmt", default=None, help="table or json.")
@click.option("--scope/--no-scope", default=True, help="Load each driver to show its scope.")
def driver_ls(fmt, scope) -> None:
    """List installed network and IPAM drivers: name, distribution, version, scope."""
    fmt = _check_format(fmt)
    rows = []
    for group, kind in ((discovery.NETWORK_DRIVERS, "network"), (discovery.IPAM_DRIVERS, "ipam")):
        for entry in discovery.installed(group):
            rows.append({"Name": entry.name, "Kind": kind, "Distribution": entry.distribution,
                         "Version": entry.version, "Scope": _scope_of(entry) if scope and kind == "network" else ""})
    from .._relay import EventBus

    bus = EventBus(discovery.load_plugins())
    for kind in ("network", "ipam"):
        for item in bus.discovered(kind):
            rows.append({"Name": item["name"], "Kind": "remote" if kind == "network" else "remote-ipam",
                         "Distribution": item.get("source", ""), "Version": "", "Scope": ""})
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row))
    else:
        _table(["NAME", "KIND", "DISTRIBUTION", "VERSION", "SCOPE"],
               [(r["Name"], r["Kind"], r["Distribution"], r["Version"], r["Scope"]) for r in rows])


def _scope_of(entry) -> str:
    from .._relay import NetworkRelay

    try:
        driver, found = discovery.load(entry.group, entry.name)
        return NetworkRelay(driver, found).capabilities.scope.value
    except CNMError as exc:
        return f"error: {exc}"


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="pycnm", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CNMError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(rc, int) and rc:
        sys.exit(rc)


if __name__ == "__main__":  # pragma: no cover
    main()
