"""The ``pycnm`` command, with ``docker network``'s habits: a client of ``pycnm daemon``.

Every command is one or a few Engine API requests (:mod:`pycnm.api`). They go to the daemon's
socket when a daemon answers there, and to an in-process engine on the same state directory
when none does (``pycnm.api.engine.in_process``): the same requests and the same answers, so
what a command prints does not depend on whether a daemon runs. Which daemon: ``-H
unix:///PATH``, else ``$PYCNM_HOST``, else the state directory's socket
(``/run/pycnm/pycnm.sock`` for ``/var/lib/pycnm``, ``<state dir>/pycnm.sock`` for any other). A
daemon serving another state directory than the one asked for (``--state-dir``,
``$PYCNM_STATE_DIR``) refuses the request, and the command says so; with ``-H`` and no state
directory, the command works on the daemon's, and fails when none answers.

Tables as docker prints them by default, ``--format json`` for machines, ``--format`` Go
templates (:mod:`.gotemplate`) on ``ls`` and ``inspect``; ``inspect`` prints a JSON array
indented by 4. Errors go to stderr with exit code 1; usage errors with exit code 2.

The client path is the point of this module: ``pycnm network ls`` against a daemon imports this
module and :mod:`._wire` (HTTP and JSON on the interpreter's C modules) and nothing else of
pycnm, no click, no ``http.client``, no ``json``: about 1 ms on top of the interpreter's start.
The option parser is hand-written for the same reason (``argparse`` costs 10 ms with its ``re``
and ``gettext``). What only some commands need loads when they run: :mod:`.formatter` and
:mod:`.gotemplate` for templates, :mod:`._local` (the Controller, pyroute2) when no daemon
answers, :mod:`pycnm.daemon` for ``pycnm daemon``, :mod:`pycnm.graph` for ``pycnm graph``.
"""

import os
import sys

from . import _wire

# typing's import would cost every command (the point of this module is a fast client path): the
# annotations name what only the type checker imports
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from ._local import Local

#: where the daemon listens when the state directory is the default one (as pycnm.api says:
#: importing pycnm.api would cost ``typing`` on every command)
DEFAULT_SOCKET = "/run/pycnm/pycnm.sock"
DEFAULT_STATE_DIR = "/var/lib/pycnm"
STATE_DIR_SOCKET = "pycnm.sock"

PROG = "pycnm"
FLAG, VALUE, MULTI = 0, 1, 2


class Failed(Exception):
    """A command failed: ``Error: <message>`` on stderr, exit code 1."""


class Usage(Exception):
    """The command line is wrong: usage, a hint and ``Error: <message>``, exit code 2."""

    def __init__(self, message: str, command=None) -> None:
        super().__init__(message)
        self.command = command


# ---- the command line -----------------------------------------------------------------------


class Opt:
    """One option: its names (``-d``, ``--driver``), where its value goes, FLAG/VALUE/MULTI."""

    __slots__ = ("const", "convert", "default", "dest", "doc", "env", "kind", "metavar", "names")

    def __init__(
        self,
        *names: str,
        dest: str = "",
        kind: int = FLAG,
        doc: str = "",
        default=None,
        metavar: str = "TEXT",
        env: str = "",
        const=True,
        convert=None,
    ) -> None:
        self.names = names
        self.dest = dest or names[-1].lstrip("-").replace("-", "_")
        self.kind = kind
        self.doc = doc
        self.default = [] if kind == MULTI else (False if kind == FLAG and default is None else default)
        self.metavar = metavar
        self.env = env
        self.const = const
        self.convert = convert


class Command:
    """One command: its words (``network create``), help, arguments and options, and what runs.

    ``args``: ``(NAME, many)``; ``many`` takes one or more (``NAMES...``)."""

    __slots__ = ("args", "doc", "opts", "run", "words")

    def __init__(self, words: str, run, doc: str, args=(), opts=()) -> None:
        self.words = words
        self.run = run
        self.doc = doc
        self.args = args
        self.opts = opts


class Namespace:
    """Parsed values, as attributes."""

    # What the options and arguments of COMMANDS and GLOBAL_OPTS parse to, for the type checker:
    # each command's namespace holds its own only. A FLAG is a bool, a VALUE a str (None when not
    # given and without a default; an int with convert=int), a MULTI a list of str, an argument a
    # str (a list of str with ``many``). Annotations alone: nothing is set on the class.
    add_host: list[str]
    advertise_addr: str | None
    alias: list[str]
    aux_address: list[str]
    capability: list[str]
    chain: list[str]
    cluster_store: str | None
    cni_version: str
    debug: bool
    directory: str
    dns: list[str]
    dns_option: list[str]
    dns_search: list[str]
    dns_ttl: int
    domainname: str | None
    driver: str
    driver_opt: list[str]
    filters: list[str]
    fmt: str | None
    force: bool
    gateway: list[str]
    host: str | None
    host_namespace: bool
    hostname: str | None
    internal: bool
    ip: str | None
    ip6: str | None
    ip_range: list[str]
    ipam_driver: str | None
    ipam_opt: list[str]
    ipv6: bool
    label: list[str]
    lease_ttl: int
    mac_address: str | None
    name: str
    names: list[str]
    network: str
    no_cni: bool
    no_dns: bool
    no_trunc: bool
    opts: list[str]
    output: str | None
    publish: list[str]
    python: str | None
    quiet: bool
    sandbox: str | None  # an argument of network connect and disconnect, an option of dns query
    scope: bool
    single_file: bool
    state_dir: str | None
    subnet: list[str]
    type: str

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


def _usage_line(cmd) -> str:
    if cmd is None:
        return f"Usage: {PROG} [OPTIONS] COMMAND [ARGS]..."
    if isinstance(cmd, str):  # a group
        return f"Usage: {PROG} {cmd} [OPTIONS] COMMAND [ARGS]..."
    args = "".join(f" {name}..." if many else f" {name}" for name, many in cmd.args)
    return f"Usage: {PROG} {cmd.words} [OPTIONS]{args}"


def parse(cmd, tokens: list) -> Namespace:
    """``tokens`` for ``cmd``: options anywhere among the arguments (``--`` ends them), ``--opt
    value``, ``--opt=value``, ``-o value``, ``-ovalue`` and clustered flags (``-qf``)."""
    by_name = {name: opt for opt in cmd.opts for name in opt.names}
    values: dict = {}
    given: set = set()
    positionals: list = []
    i, only_args = 0, False
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if only_args or tok == "-" or not tok.startswith("-"):
            positionals.append(tok)
            continue
        if tok == "--":
            only_args = True
            continue
        if tok.startswith("--"):
            name, eq, inline = tok.partition("=")
            opt = by_name.get(name)
            if opt is None:
                raise Usage(f"No such option: {name}", cmd)
            if opt.kind == FLAG:
                if eq:
                    raise Usage(f"Option '{name}' does not take a value.", cmd)
                values[opt.dest] = opt.const
                given.add(opt.dest)
                continue
            if not eq:
                if i >= len(tokens):
                    raise Usage(f"Option '{name}' requires an argument.", cmd)
                inline = tokens[i]
                i += 1
            _store(cmd, opt, name, inline, values)
            given.add(opt.dest)
            continue
        j = 1
        while j < len(tok):
            name = "-" + tok[j]
            opt = by_name.get(name)
            if opt is None:
                raise Usage(f"No such option: {name}", cmd)
            if opt.kind == FLAG:
                values[opt.dest] = opt.const
                given.add(opt.dest)
                j += 1
                continue
            value = tok[j + 1 :]
            if not value:
                if i >= len(tokens):
                    raise Usage(f"Option '{name}' requires an argument.", cmd)
                value = tokens[i]
                i += 1
            _store(cmd, opt, name, value, values)
            given.add(opt.dest)
            break
    for opt in cmd.opts:
        if opt.dest in given or opt.dest in values:
            continue
        env = os.environ.get(opt.env) if opt.env else None
        if env:  # an empty variable is no value, as click has it
            _store(cmd, opt, opt.names[-1], env, values)
        else:
            values[opt.dest] = list(opt.default) if opt.kind == MULTI else opt.default
    for name, many in cmd.args:
        dest = name.lower()
        if many:
            if not positionals:
                raise Usage(f"Missing argument '{name}...'.", cmd)
            values[dest], positionals = positionals, []
        else:
            if not positionals:
                raise Usage(f"Missing argument '{name}'.", cmd)
            values[dest] = positionals.pop(0)
    if positionals:
        extra = " ".join(positionals)
        raise Usage(f"Got unexpected extra argument{'s' if len(positionals) > 1 else ''} ({extra})", cmd)
    return Namespace(values)


def _store(cmd, opt: Opt, name: str, value: str, values: dict) -> None:
    stored: str | int = value
    if opt.convert is int:
        try:
            stored = int(value)
        except ValueError:
            raise Usage(f"Invalid value for '{name}': {value!r} is not a valid integer.", cmd) from None
    if opt.kind == MULTI:
        values.setdefault(opt.dest, []).append(stored)
    else:
        values[opt.dest] = stored


def _help(cmd, group_words: str = "") -> str:
    lines = [_usage_line(cmd if cmd is not None else (group_words or None)), ""]
    if isinstance(cmd, Command):
        lines += ["  " + cmd.doc, "", "Options:"]
        opts = [*cmd.opts, Opt("--help", doc="Show this message and exit.")]
    else:
        lines += ["  " + (GROUP_HELP.get(group_words) or TOP_HELP), "", "Options:"]
        opts = list(GLOBAL_OPTS) if not group_words else []
        opts.append(Opt("--help", doc="Show this message and exit."))
    rows = []
    for opt in opts:
        names = ", ".join(opt.names)
        if opt.kind != FLAG:
            names += f" {opt.metavar}"
        text = opt.doc
        if opt.kind == VALUE and opt.default not in (None, ""):
            text += f"  [default: {opt.default}]"
        rows.append((names, text))
    width = max(len(n) for n, _ in rows) + 2
    lines += [f"  {n.ljust(width)}{t}".rstrip() for n, t in rows]
    if not isinstance(cmd, Command):
        prefix = f"{group_words} " if group_words else ""
        subs: list[tuple[str, Command | None]] = sorted(
            {c.words[len(prefix) :].split(" ")[0]: c for c in COMMANDS.values() if c.words.startswith(prefix)}.items()
        )
        if not group_words:
            subs = sorted(
                [(g, None) for g in GROUP_HELP] + [(c.words, c) for c in COMMANDS.values() if " " not in c.words]
            )
        lines += ["", "Commands:"]
        width = max(len(name) for name, _ in subs) + 2
        for name, sub in subs:
            text = sub.doc if sub is not None else GROUP_HELP[name]
            lines.append(f"  {name.ljust(width)}{text.split('. ')[0].rstrip('.')}")
    return "\n".join(lines) + "\n"


# ---- talking to the engine ------------------------------------------------------------------


def socket_path(host, state_dir) -> str:
    """:func:`pycnm.api.socket_path`, here without importing ``pycnm.api``."""
    if host:
        if host.startswith("unix://"):
            host = host[len("unix://") :]
        if not host.startswith("/"):
            raise Failed(f"invalid daemon address {host!r}: pycnm serves unix sockets only (unix:///PATH or /PATH)")
        return host
    state = os.path.abspath(state_dir or DEFAULT_STATE_DIR)
    if state == DEFAULT_STATE_DIR:
        return DEFAULT_SOCKET
    return os.path.join(state, STATE_DIR_SOCKET)


class Context:
    """What a command talks to: the daemon, else an in-process engine, chosen at the first
    request. ``state_dir``: the one asked for (``--state-dir``, ``$PYCNM_STATE_DIR``), or None."""

    def __init__(self, state_dir, host, debug: bool) -> None:
        self.state_dir = os.path.abspath(state_dir) if state_dir else None
        self.host = host
        self.debug = debug
        self.socket = socket_path(host, state_dir)
        # what the daemon must serve: the state directory asked for, the default one when
        # neither it nor a daemon was named, and whatever the named daemon serves otherwise
        self.expected = self.state_dir or (None if host else DEFAULT_STATE_DIR)
        self._daemon = _wire.Connection(self.socket)
        self._local: Local | None = None
        self.via = ""  # "daemon" or "in-process", once known

    def call(self, method: str, path: str, query=None, body=None) -> _wire.Answer:
        data = b"" if body is None else _wire.dumps(body, compact=True).encode()
        if self._local is None:
            try:
                answer = self._ask_daemon(method, path, query, data)
                self.via = "daemon"
                return answer
            except _wire.NoDaemon:
                if self.host and not self.state_dir:
                    raise Failed(
                        f"no pycnm daemon answers on unix://{self.socket}; start one, or give"
                        " --state-dir to work in-process on a state directory"
                    ) from None
                from ._local import Local

                self._local = Local(self.state_dir, self.debug)
                self.via = "in-process"
            except OSError as exc:
                raise Failed(f"cannot talk to the pycnm daemon on unix://{self.socket}: {exc}") from None
        return self._local.handle(method, path, query, data)

    def _ask_daemon(self, method: str, path: str, query, data: bytes) -> _wire.Answer:
        headers = []
        if data:
            headers.append(("Content-Type", "application/json"))
        if self.expected:
            headers.append((_wire.STATE_DIR_HEADER, _wire.quote(self.expected, safe="/")))
        if self.debug:
            import time

            start = time.perf_counter()
        answer = self._daemon.request(method, _wire.target(path, query), data, headers)
        if self.debug:
            sys.stderr.write(
                f"DEBUG pycnm.cli: {method} {path} -> {answer.status} from unix://{self.socket}"
                f" ({(time.perf_counter() - start) * 1000:.1f} ms)\n"
            )
        served = answer.header(_wire.STATE_DIR_HEADER)
        if answer.status == 409 and served is not None:
            raise Failed(
                f"the pycnm daemon on unix://{self.socket} serves the state directory {_unquote(served)},"
                f" not {self.expected}: stop it, or give the socket of the daemon that serves"
                f" {self.expected} with -H"
            )
        return answer

    def json(self, method: str, path: str, query=None, body=None, ok=(200, 201)):
        """The decoded answer; :class:`Failed` with the engine's message for an error."""
        answer = self.call(method, path, query, body)
        if answer.status not in ok:
            raise Failed(_message(answer))
        return _wire.loads(answer.body) if answer.body else None

    def close(self) -> None:
        self._daemon.close()
        if self._local is not None:
            self._local.close()


def _message(answer: _wire.Answer) -> str:
    try:
        message = _wire.loads(answer.body).get("message")
    except (ValueError, AttributeError):
        message = None
    return message or f"the engine answered {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}"


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    raw = text.encode("latin-1")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 3 <= len(raw):
            try:
                out.append(int(raw[i + 1 : i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", "replace")


# ---- output ---------------------------------------------------------------------------------


def table(rows: list) -> str:
    """Rows of cells aligned as docker's tabwriter aligns them (``minwidth`` 10, padding 3, the
    last cell unpadded): what ``--format table`` prints, without loading the template engine.
    Cells here are ASCII (IDs, names, drivers, paths): one character is one column."""
    if not rows:
        return ""
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = "".join(cell + " " * (widths[i] - len(cell)) for i, cell in enumerate(row[:-1]))
        out.append(cells + row[-1] + "\n")
    return "".join(out)


def natural(text: str) -> list:
    """docker's natural order of names: digit runs compare as numbers (``n2`` before ``n10``)."""
    parts: list = []
    run, digits = "", False
    for ch in text:
        is_digit = "0" <= ch <= "9"
        if is_digit != digits:
            parts.append(int(run) if digits else run)
            run, digits = "", is_digit
        run += ch
    parts.append(int(run) if digits else run)
    if digits:
        parts.append("")
    return parts


def _kv(values, what: str, bare: bool = False) -> dict:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not (sep or bare):
            raise Failed(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def _templates():
    from . import formatter, gotemplate

    return formatter, gotemplate


def _render(fmt: str, items, headers: dict, default_table: str) -> str:
    _, gotemplate = _templates()
    try:
        return gotemplate.render_each(fmt, items, headers=headers, default_table=default_table)
    except gotemplate.TemplateError as exc:
        raise Failed(str(exc)) from None


def _compile(fmt: str):
    _, gotemplate = _templates()
    try:
        return gotemplate.compile(fmt)
    except gotemplate.TemplateError as exc:
        raise Failed(f"Template parsing error: {exc}") from None


def _inspect(ctx: Context, out: list, refs, fmt, path: str) -> int:
    """docker's inspect: every ref asked in turn, what was found printed (a JSON array, or the
    template's output per item), then an error line per ref not found; exit 1 if any."""
    template = None if fmt in (None, "", "json") else _compile(fmt)
    docs, errors = [], []
    for ref in refs:
        answer = ctx.call("GET", path + ref)
        if answer.status != 200:
            errors.append(_message(answer))
            continue
        docs.append(_wire.loads(answer.body))
    if template is None:
        out.append(_wire.dumps_pretty(docs) + "\n")
    else:
        _, gotemplate = _templates()
        for doc in docs:
            try:
                # docker runs the template on its typed struct, then on the raw JSON with
                # missingkey=error: a key the document lacks is an error, not "<no value>"
                out.append(template.execute(doc, missingkey="error") + "\n")
            except gotemplate.TemplateError as exc:
                errors.append(f"Template parsing error: {exc}")
    for message in errors:
        _flush(out)
        sys.stderr.write(f"Error: {message}\n")
    return 1 if errors else 0


def _flush(out: list) -> None:
    if out:
        sys.stdout.write("".join(out))
        out.clear()


# ---- network --------------------------------------------------------------------------------


def network_create(ctx: Context, a: Namespace, out: list) -> int:
    body = {
        "Name": a.name,
        "CheckDuplicate": True,
        "Driver": a.driver,
        "Scope": "",
        "EnableIPv6": a.ipv6,
        "IPAM": {
            "Driver": a.ipam_driver or "default",
            "Options": _kv(a.ipam_opt, "ipam-opt"),
            "Config": ipam_configs(a.subnet, a.ip_range, a.gateway, _kv(a.aux_address, "aux-address")),
        },
        "Internal": a.internal,
        "Attachable": False,
        "Ingress": False,
        "ConfigOnly": False,
        "ConfigFrom": None,
        "Options": _kv(a.opts, "option"),
        "Labels": _kv(a.label, "label", bare=True),
    }
    created = ctx.json("POST", "/networks/create", body=body, ok=(201, 200))
    out.append(created["Id"] + "\n")
    if created.get("Warning"):
        sys.stderr.write(created["Warning"] + "\n")
    return 0


def network_ls(ctx: Context, a: Namespace, out: list) -> int:
    filters: dict = {}
    for item in a.filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise Failed(f"bad format of filter {item!r} (expected name=value)")
        filters.setdefault(key.strip().lower(), {})[value.strip()] = True
    query = {"filters": [_wire.dumps(filters, compact=True)]} if filters else None
    nets = ctx.json("GET", "/networks", query) or []
    nets.sort(key=lambda n: natural(n.get("Name") or ""))
    fmt = a.fmt
    ident = (lambda n: n["Id"]) if a.no_trunc else (lambda n: n["Id"][:12])
    if a.quiet and fmt in (None, "", "table"):
        out.extend(ident(n) + "\n" for n in nets)
    elif fmt in (None, ""):
        rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]]
        rows += [[ident(n), n["Name"], n["Driver"], n["Scope"]] for n in nets]
        out.append(table(rows))
    elif fmt == "json":
        formatter, _ = _templates()
        for n in nets:
            c = formatter.networkContext(n, trunc=not a.no_trunc)
            out.append(
                _wire.dumps(
                    {
                        "ID": c.ID(),
                        "Name": c.Name(),
                        "Driver": c.Driver(),
                        "Scope": c.Scope(),
                        "IPv6": c.IPv6(),
                        "Internal": c.Internal(),
                        "Labels": c.Labels(),
                        "CreatedAt": c.CreatedAt(),
                    }
                )
                + "\n"
            )
    else:
        formatter, _ = _templates()
        contexts = [formatter.networkContext(n, trunc=not a.no_trunc) for n in nets]
        out.append(_render(fmt, contexts, formatter.NETWORK_HEADERS, formatter.NETWORK_TABLE))
    return 0


def network_inspect(ctx: Context, a: Namespace, out: list) -> int:
    return _inspect(ctx, out, a.names, a.fmt, "/networks/")


def _remove_each(ctx: Context, out: list, refs, force: bool, path: str) -> int:
    """docker's ``rm``: each name removed is printed, each failure reported, the rest go on; exit
    1 if any failed. With ``force`` a name that does not exist is no failure."""
    failed = False
    for ref in refs:
        answer = ctx.call("DELETE", path + ref)
        if answer.status in (200, 204):
            out.append(ref + "\n")
            continue
        if answer.status == 404 and force:
            continue
        _flush(out)
        sys.stderr.write(f"Error: {_message(answer)}\n")
        failed = True
    return 1 if failed else 0


def network_rm(ctx: Context, a: Namespace, out: list) -> int:
    return _remove_each(ctx, out, a.names, a.force, "/networks/")


def network_connect(ctx: Context, a: Namespace, out: list) -> int:
    settings: dict = {}
    if a.ip or a.ip6:
        settings["IPAMConfig"] = {"IPv4Address": a.ip or "", "IPv6Address": a.ip6 or ""}
    if a.alias:
        settings["Aliases"] = a.alias
    if a.mac_address:
        settings["MacAddress"] = a.mac_address
    if a.driver_opt:
        settings["DriverOpts"] = _kv(a.driver_opt, "driver-opt")
    body: dict = {"Container": a.sandbox, "EndpointConfig": settings or None}
    if a.publish:
        body["Publish"] = a.publish
    ctx.json("POST", f"/networks/{a.network}/connect", body=body, ok=(200, 201, 204))
    return 0


def network_disconnect(ctx: Context, a: Namespace, out: list) -> int:
    answer = ctx.call("POST", f"/networks/{a.network}/disconnect", body={"Container": a.sandbox, "Force": a.force})
    if answer.status in (200, 204):
        return 0
    message = _message(answer)
    if a.force and "is not connected to network" in message:
        return 0  # -f: not being connected is no failure
    raise Failed(message)


def network_prune(ctx: Context, a: Namespace, out: list) -> int:
    if not a.force:
        sys.stdout.write(
            "WARNING! This will remove all custom networks not used by at least one container.\n"
            "Are you sure you want to continue? [y/N]: "
        )
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            sys.stdout.write("\n")
            raise Failed("Aborted.")
        if line.strip().lower() not in ("y", "yes"):
            return 0
    done = ctx.json("POST", "/networks/prune") or {}
    removed = done.get("NetworksDeleted") or []
    if removed:
        out.append("Deleted Networks:\n")
        out.extend(name + "\n" for name in removed)
    return 0


def ipam_configs(subnets, ranges, gateways, aux: dict) -> list:
    """``--subnet``, ``--ip-range``, ``--gateway`` and ``--aux-address`` as docker's CLI
    consolidates them into IPAM.Config entries (one per subnet, each range, gateway and aux
    address in the subnet that holds it), with docker's words for what does not fit."""
    if not (ranges or gateways or aux):
        return [{"Subnet": s} for s in subnets]
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise Failed("every ip-range or gateway must have a corresponding subnet")
    parsed = [_cidr(s) for s in subnets]
    if any(p is None for p in parsed):
        return [{"Subnet": s} for s in subnets]  # the engine says what is wrong with it (dockerd's words)
    for i, mine in enumerate(parsed):
        for other in parsed[:i]:
            if _holds(other, mine[3], mine[0]) or _holds(mine, other[3], other[0]):
                raise Failed("multiple overlapping subnet configuration is not supported")
    configs = [{"Subnet": s} for s in subnets]
    for what, items, key in (("range", ranges, "IPRange"), ("gateway", gateways, "Gateway")):
        for item in items:
            address = _address(item)
            match = False
            for pool, cfg in zip(parsed, configs, strict=True):
                if address is None or not _holds(pool, address[1], address[0]):
                    continue
                if key in cfg:
                    plural = "ranges" if what == "range" else "gateways"
                    on = "on" if what == "range" else "for"
                    raise Failed(
                        f"cannot configure multiple {plural} ({item}, {cfg[key]}) {on} the same subnet"
                        f" ({cfg['Subnet']})"
                    )
                cfg[key] = item
                match = True
            if not match:
                raise Failed(f"no matching subnet for {what} {item}")
    for name, item in aux.items():
        address = _address(item)
        match = False
        for pool, cfg in zip(parsed, configs, strict=True):
            if address is not None and _holds(pool, address[1], address[0]):
                cfg.setdefault("AuxiliaryAddresses", {})[name] = item
                match = True
        if not match:
            raise Failed(f"no matching subnet for aux-address {item}")
    return configs


def _address(text: str):
    """``(family, int)`` of an address or of a CIDR's address part, else None."""
    parsed = _cidr(text)
    return (parsed[0], parsed[3]) if parsed is not None else None


def _cidr(text: str):
    """``(family, network, prefix length, address)`` of ``A.B.C.D/N`` (or an IPv6 one; no
    ``/N`` means a host), else None. ``_socket.inet_pton`` parses: no ``ipaddress`` import."""
    import _socket

    address, sep, length = text.partition("/")
    family, bits = (_socket.AF_INET6, 128) if ":" in address else (_socket.AF_INET, 32)
    try:
        value = int.from_bytes(_socket.inet_pton(family, address), "big")
    except OSError:
        return None
    if sep and not (length.isdigit() and int(length) <= bits):
        return None
    prefix = int(length) if sep else bits
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)
    return family, value & mask, prefix, value


def _holds(pool, address: int, family: int) -> bool:
    pool_family, network, prefix, _ = pool
    bits = 128 if pool_family != 2 else 32  # 2: AF_INET
    if family != pool_family:
        return False
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)
    return address & mask == network


# ---- sandbox --------------------------------------------------------------------------------


def sandbox_create(ctx: Context, a: Namespace, out: list) -> int:
    for item in a.add_host:
        if ":" not in item:
            raise Failed(f"invalid --add-host {item!r}: expected HOST:IP")
    body = {
        "Name": a.name,
        "Hostname": a.hostname or "",
        "Domainname": a.domainname or "",
        "Dns": a.dns,
        "DnsSearch": a.dns_search,
        "DnsOptions": a.dns_option,
        "ExtraHosts": a.add_host,
        "HostNamespace": a.host_namespace,
    }
    created = ctx.json("POST", "/pycnm/v1/sandboxes/create", body=body, ok=(201, 200))
    out.append(created["Id"] + "\n")
    return 0


def sandbox_ls(ctx: Context, a: Namespace, out: list) -> int:
    sbs = ctx.json("GET", "/pycnm/v1/sandboxes") or []
    sbs.sort(key=lambda s: natural(s.get("Name") or ""))
    ident = (lambda s: s["Id"]) if a.no_trunc else (lambda s: s["Id"][:12])
    fmt = a.fmt
    if a.quiet and fmt in (None, "", "table"):
        out.extend(ident(s) + "\n" for s in sbs)
    elif fmt in (None, ""):
        rows = [["SANDBOX ID", "NAME", "KEY", "ENDPOINTS"]]
        rows += [[ident(s), s["Name"], s["Key"], str(len(s.get("Endpoints") or ()))] for s in sbs]
        out.append(table(rows))
    elif fmt == "json":
        for s in sbs:
            out.append(
                _wire.dumps(
                    {"ID": ident(s), "Name": s["Name"], "Key": s["Key"], "Endpoints": len(s.get("Endpoints") or ())}
                )
                + "\n"
            )
    else:
        formatter, _ = _templates()
        contexts = [formatter.sandboxContext(s, trunc=not a.no_trunc) for s in sbs]
        out.append(_render(fmt, contexts, formatter.SANDBOX_HEADERS, formatter.SANDBOX_TABLE))
    return 0


def sandbox_inspect(ctx: Context, a: Namespace, out: list) -> int:
    return _inspect(ctx, out, a.names, a.fmt, "/pycnm/v1/sandboxes/")


def sandbox_rm(ctx: Context, a: Namespace, out: list) -> int:
    """One batched delete (the namespaces go together); names it did not find are reported one
    by one, in the engine's words, unless ``--force``."""
    answer = ctx.call("POST", "/pycnm/v1/sandboxes/delete", body={"Names": a.names, "Force": True})
    if answer.status != 200:  # e.g. an ambiguous prefix: each name on its own, to say which
        return _remove_each(ctx, out, a.names, a.force, "/pycnm/v1/sandboxes/")
    done = _wire.loads(answer.body)
    deleted, missing = set(done.get("Deleted") or ()), set(done.get("NotFound") or ())
    failed = False
    for ref in a.names:
        if ref in deleted:
            out.append(ref + "\n")
        elif ref in missing and not a.force:
            why = ctx.call("GET", "/pycnm/v1/sandboxes/" + ref)
            _flush(out)
            sys.stderr.write(f"Error: {_message(why) if why.status != 200 else f'sandbox {ref} not found'}\n")
            failed = True
    return 1 if failed else 0


# ---- driver, graph, daemon ------------------------------------------------------------------


def driver_ls(ctx: Context, a: Namespace, out: list) -> int:
    rows = ctx.json("GET", "/pycnm/v1/drivers", None if a.scope else {"scope": ["false"]}) or []
    fmt = a.fmt
    if fmt in (None, ""):
        cells = [["NAME", "KIND", "DISTRIBUTION", "VERSION", "SCOPE"]]
        cells += [[r["Name"], r["Kind"], r["Distribution"], r["Version"], r["Scope"]] for r in rows]
        out.append(table(cells))
    elif fmt == "json":
        out.extend(_wire.dumps(r) + "\n" for r in rows)
    else:
        formatter, _ = _templates()
        out.append(
            _render(fmt, [formatter.driverContext(r) for r in rows], formatter.DRIVER_HEADERS, formatter.DRIVER_TABLE)
        )
    return 0


def graph(ctx: Context, a: Namespace, out: list) -> int:
    from .. import graph as topology_graph

    topology = ctx.json("GET", "/pycnm/v1/graph")
    dot = topology_graph.to_dot(topology)
    if not a.output or a.output == "-":
        out.append(dot)
        return 0
    try:
        topology_graph.write(dot, a.output)
    except (OSError, ValueError) as exc:
        raise Failed(str(exc)) from None
    return 0


def dns_query(ctx: Context, a: Namespace, out: list) -> int:
    query = {"name": [a.name], "type": [a.type]}
    if a.sandbox:
        query["sandbox"] = [a.sandbox]
    answer = ctx.call("GET", "/pycnm/v1/dns/query", query)
    if answer.status == 404 and ctx._local is not None:
        raise Failed("the embedded DNS is pycnm daemon's: start it (pycnm daemon), then ask again")
    if answer.status != 200:
        raise Failed(_message(answer))
    body = _wire.loads(answer.body)
    out.extend(line + "\n" for line in body["Answers"])
    if not body["Answers"]:
        out.append(f"{body['Rcode']}: no answer for {body['Question']}\n")
    return 0 if body["Rcode"] == "NOERROR" else 1


def cni_conflist(ctx: Context, a: Namespace, out: list) -> int:
    import json

    from ..cni import spec
    from ..errors import InvalidParameter

    answer = ctx.call("GET", "/networks/" + a.network)
    if answer.status != 200:
        raise Failed(_message(answer))
    name = _wire.loads(answer.body)["Name"]
    # the pycnm section only for what pycnm-cni would not find by itself
    sock = ctx.socket if ctx.socket != DEFAULT_SOCKET else None
    state = ctx.state_dir if ctx.state_dir not in (None, DEFAULT_STATE_DIR) else None
    try:
        made = spec.conflist(
            name,
            cni_version=a.cni_version,
            socket=sock,
            state_dir=state,
            capabilities=a.capability or None,
            chain=a.chain,
        )
        text = json.dumps(made, indent=2) + "\n"
    except InvalidParameter as exc:
        raise Failed(str(exc)) from None
    if not a.output or a.output == "-":
        out.append(text)
        return 0
    path = a.output
    if os.path.isdir(path):  # a runtime's config directory: one file per network, as they load them
        path = os.path.join(path, f"{name}.conflist")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise Failed(f"cannot write {path}: {exc}") from None
    out.append(path + "\n")
    return 0


def cni_install(ctx: Context, a: Namespace, out: list) -> int:
    try:
        import pycnm_cni_plugin
    except ImportError:
        raise Failed("pycnm-cni is not installed here: pip install pycnm-cni-plugin") from None
    python = a.python or "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        raise Failed(f"{python} is not an executable Python: give --python PATH")
    try:
        os.makedirs(a.directory, exist_ok=True)
        path = pycnm_cni_plugin.install(a.directory, python=python, compiled=not a.single_file)
    except Exception as exc:  # noqa: BLE001 - OSError, ValueError, a failed compilation: all said the same way
        raise Failed(f"cannot install pycnm-cni in {a.directory}: {exc}") from None
    out.append(path + "\n")
    return 0


def daemon(ctx: Context, a: Namespace, out: list) -> int:
    raise AssertionError("run() serves the daemon itself")  # it needs no Context


# ---- the table of commands ------------------------------------------------------------------

TOP_HELP = "pycnm: Docker's Container Network Model, in Python."
GROUP_HELP = {
    "network": "Manage networks.",
    "sandbox": "Manage sandboxes (network namespaces of containers).",
    "driver": "Installed drivers.",
    "dns": "Ask the embedded DNS (pycnm daemon's).",
    "cni": "pycnm as a CNI plugin, for podman and containerd.",
}
ALIASES = {"list": "ls", "remove": "rm"}
GLOBAL_OPTS = (
    Opt(
        "--state-dir",
        metavar="DIR",
        kind=VALUE,
        env="PYCNM_STATE_DIR",
        doc="State directory (default $PYCNM_STATE_DIR or /var/lib/pycnm).",
    ),
    Opt(
        "-H",
        "--host",
        metavar="unix:///PATH",
        kind=VALUE,
        env="PYCNM_HOST",
        doc="The daemon to talk to (default $PYCNM_HOST, else the state directory's socket:"
        " /run/pycnm/pycnm.sock, or <state dir>/pycnm.sock).",
    ),
    Opt("--debug", doc="Log what pycnm does."),
)
_FORMAT = "Format: table (docker's columns), json, or a Go template ('table {{.Name}}\\t{{.Driver}}')."

COMMANDS = {
    c.words: c
    for c in (
        Command(
            "network create",
            network_create,
            "Create a network; prints its ID.",
            [("NAME", False)],
            [
                Opt("-d", "--driver", kind=VALUE, default="bridge", doc="Network driver."),
                Opt("-o", "--opt", dest="opts", kind=MULTI, doc="Driver option KEY=VALUE (repeatable)."),
                Opt("--label", kind=MULTI, doc="Label KEY=VALUE (repeatable)."),
                Opt("--subnet", kind=MULTI, doc="Subnet in CIDR form (repeatable)."),
                Opt("--ip-range", kind=MULTI, doc="Allocate addresses from this sub-range (repeatable)."),
                Opt("--gateway", kind=MULTI, doc="Gateway of a subnet (repeatable)."),
                Opt("--aux-address", kind=MULTI, doc="NAME=IP reserved for the network (repeatable)."),
                Opt("--ipam-driver", kind=VALUE, doc="IPAM driver (default: default; null for -d null/host)."),
                Opt("--ipam-opt", kind=MULTI, doc="IPAM option KEY=VALUE (repeatable)."),
                Opt("--internal", doc="Restrict external access to the network."),
                Opt("--ipv6", doc="Enable IPv6."),
            ],
        ),
        Command(
            "network ls",
            network_ls,
            "List networks.",
            (),
            [
                Opt("-q", "--quiet", doc="Only display network IDs."),
                Opt("--no-trunc", doc="Do not truncate IDs."),
                Opt(
                    "-f",
                    "--filter",
                    dest="filters",
                    kind=MULTI,
                    doc="Filter: driver=, id=, name=, label=, scope=, type=, dangling= (repeatable).",
                ),
                Opt("--format", dest="fmt", kind=VALUE, doc=_FORMAT),
            ],
        ),
        Command(
            "network inspect",
            network_inspect,
            "Show networks as a JSON array, with Docker's keys.",
            [("NAMES", True)],
            [
                Opt(
                    "-f",
                    "--format",
                    dest="fmt",
                    kind=VALUE,
                    doc="A Go template per network (default: the JSON array).",
                ),
            ],
        ),
        Command(
            "network rm",
            network_rm,
            "Remove networks; prints each removed name.",
            [("NAMES", True)],
            [
                Opt("-f", "--force", doc="Do not error if the network does not exist."),
            ],
        ),
        Command(
            "network connect",
            network_connect,
            "Connect a sandbox (name, ID or namespace path) to a network.",
            [("NETWORK", False), ("SANDBOX", False)],
            [
                Opt("--ip", kind=VALUE, doc="IPv4 address."),
                Opt("--ip6", kind=VALUE, doc="IPv6 address."),
                Opt("--alias", kind=MULTI, doc="Network-scoped alias (repeatable)."),
                Opt("--mac-address", kind=VALUE, doc="MAC address of the interface."),
                Opt("--driver-opt", kind=MULTI, doc="Driver option KEY=VALUE (repeatable)."),
                Opt(
                    "-p",
                    "--publish",
                    kind=MULTI,
                    doc="Publish a port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], ranges allowed"
                    " (repeatable).",
                ),
            ],
        ),
        Command(
            "network disconnect",
            network_disconnect,
            "Disconnect a sandbox from a network.",
            [("NETWORK", False), ("SANDBOX", False)],
            [
                Opt("-f", "--force", doc="No error if it is not connected."),
            ],
        ),
        Command(
            "network prune",
            network_prune,
            "Remove every network with no endpoints.",
            (),
            [
                Opt("-f", "--force", doc="Do not prompt for confirmation."),
            ],
        ),
        Command(
            "sandbox create",
            sandbox_create,
            "Create a sandbox; prints its ID.",
            [("NAME", False)],
            [
                Opt("--hostname", kind=VALUE),
                Opt("--domainname", kind=VALUE),
                Opt("--dns", kind=MULTI, doc="DNS server (repeatable)."),
                Opt("--dns-search", kind=MULTI, doc="DNS search domain (repeatable)."),
                Opt("--dns-option", kind=MULTI, doc="resolv.conf option (repeatable)."),
                Opt("--add-host", kind=MULTI, doc="HOST:IP for the hosts file (repeatable)."),
                Opt("--host-namespace", doc="Use the host's network namespace (for -d host)."),
            ],
        ),
        Command(
            "sandbox ls",
            sandbox_ls,
            "List sandboxes.",
            (),
            [
                Opt("-q", "--quiet", doc="Only display sandbox IDs."),
                Opt("--no-trunc", doc="Do not truncate IDs."),
                Opt("--format", dest="fmt", kind=VALUE, doc=_FORMAT),
            ],
        ),
        Command(
            "sandbox inspect",
            sandbox_inspect,
            "Show sandboxes as a JSON array: Id, Name, Key and endpoints.",
            [("NAMES", True)],
            [
                Opt(
                    "-f",
                    "--format",
                    dest="fmt",
                    kind=VALUE,
                    doc="A Go template per sandbox (default: the JSON array).",
                ),
            ],
        ),
        Command(
            "sandbox rm",
            sandbox_rm,
            "Remove sandboxes (their endpoints leave first).",
            [("NAMES", True)],
            [
                Opt("-f", "--force", doc="Do not error if the sandbox does not exist."),
            ],
        ),
        Command(
            "driver ls",
            driver_ls,
            "List installed network and IPAM drivers: name, distribution, version, scope.",
            (),
            [
                Opt("--format", dest="fmt", kind=VALUE, doc=_FORMAT),
                Opt("--scope", doc="Load each driver to show its scope (the default).", default=True),
                Opt("--no-scope", dest="scope", const=False, doc="Do not load the drivers."),
            ],
        ),
        Command(
            "dns query",
            dns_query,
            "Ask a sandbox's embedded DNS (at 127.0.0.11 in its namespace) for NAME, from the host.",
            [("NAME", False)],
            [
                Opt("-s", "--sandbox", kind=VALUE, metavar="SANDBOX", doc="The sandbox whose resolver to ask."),
                Opt("-t", "--type", kind=VALUE, default="A", metavar="TYPE", doc="A, AAAA, PTR, SRV... (default A)."),
            ],
        ),
        Command(
            "cni conflist",
            cni_conflist,
            "The CNI network configuration list of pycnm network NETWORK, for a runtime's config directory.",
            [("NETWORK", False)],
            [
                Opt("-o", "--output", kind=VALUE, metavar="PATH", doc="Write it there (a directory: NAME.conflist)."),
                Opt(
                    "--cni-version",
                    kind=VALUE,
                    default="1.0.0",
                    metavar="VERSION",
                    doc="The list's cniVersion (default 1.0.0, what Debian 12's libcni speaks).",
                ),
                Opt(
                    "--chain",
                    kind=MULTI,
                    metavar="PLUGIN",
                    doc="A plugin to run after pycnm-cni: portmap, tuning, bandwidth or firewall.",
                ),
                Opt(
                    "--capability",
                    kind=MULTI,
                    metavar="NAME",
                    doc="A capability pycnm-cni declares (default: portMappings, ips, mac, aliases).",
                ),
            ],
        ),
        Command(
            "cni install",
            cni_install,
            "Install the pycnm-cni plugin executable in DIRECTORY (a runtime's CNI plugin directory).",
            [("DIRECTORY", False)],
            [
                Opt(
                    "--python",
                    kind=VALUE,
                    metavar="PATH",
                    doc="The interpreter it runs with (default /usr/bin/python3; it needs no packages).",
                ),
                Opt("--single-file", doc="One self-contained file (slower start: it is compiled on every run)."),
            ],
        ),
        Command(
            "graph",
            graph,
            "Draw the networks, sandboxes and endpoints (Graphviz): DOT on stdout, or -o FILE.",
            (),
            [
                Opt(
                    "-o",
                    "--output",
                    metavar="FILE",
                    kind=VALUE,
                    doc="Write FILE: .dot (the DOT text), .svg or .png (drawn by Graphviz's dot).",
                ),
            ],
        ),
        Command(
            "daemon",
            daemon,
            "Serve Docker's Engine API (network part) on a unix socket; with a cluster store,"
            " keep this host's kernel in step with the cluster too. SIGTERM stops it and leaves the kernel as is.",
            (),
            [
                Opt(
                    "-H",
                    "--host",
                    dest="host",
                    kind=VALUE,
                    metavar="unix:///PATH",
                    env="PYCNM_HOST",
                    doc="Socket to serve the Engine API on (default /run/pycnm/pycnm.sock; with another --state-dir,"
                    " <state dir>/pycnm.sock).",
                ),
                Opt(
                    "--cluster-store",
                    kind=VALUE,
                    env="PYCNM_CLUSTER_STORE",
                    doc="etcd://HOST:PORT[,HOST:PORT...]: where global networks live (with --advertise-addr, the daemon"
                    " also syncs overlay peers).",
                ),
                Opt(
                    "--advertise-addr",
                    kind=VALUE,
                    env="PYCNM_ADVERTISE_ADDR",
                    doc="This host's underlay address (the VTEP other hosts send overlay traffic to).",
                ),
                Opt(
                    "--lease",
                    dest="lease_ttl",
                    kind=VALUE,
                    convert=int,
                    default=10,
                    metavar="INTEGER",
                    doc="Seconds after which other hosts drop this host's endpoints if it stops answering.",
                ),
                Opt("--no-dns", dest="no_dns", doc="Do not serve the embedded DNS at 127.0.0.11 in the sandboxes."),
                Opt("--no-cni", dest="no_cni", doc="Do not serve pycnm-cni, the CNI plugin (POST /pycnm/v1/cni)."),
                Opt(
                    "--dns-ttl",
                    dest="dns_ttl",
                    kind=VALUE,
                    convert=int,
                    default=5,
                    metavar="SECONDS",
                    doc="TTL of the embedded DNS's answers for sandbox names (default 5).",
                ),
            ],
        ),
    )
}


# ---- main -----------------------------------------------------------------------------------


def _find(tokens: list):
    """The command and its tokens, after the global options; or raises Usage/prints help."""
    top = Command("", None, TOP_HELP, (), GLOBAL_OPTS)
    by_name = {name: opt for opt in GLOBAL_OPTS for name in opt.names}
    i = 0
    while i < len(tokens) and tokens[i].startswith("-") and tokens[i] != "-":
        tok = tokens[i]
        i += 1
        if tok in ("--help", "-h"):
            raise _Help(_help(None))
        if tok == "--":
            break
        name = tok.partition("=")[0] if tok.startswith("--") else tok[:2]
        opt = by_name.get(name)
        if opt is None:
            raise Usage(f"No such option: {name}")
        if opt.kind != FLAG and tok == name:
            i += 1  # the value is the next word (not --opt=value, -Hvalue)
    globals_ = parse(top, tokens[:i]).__dict__
    rest = tokens[i:]
    if not rest:
        raise _Help(_help(None))
    word = rest[0]
    if word in GROUP_HELP:
        if len(rest) < 2 or rest[1] in ("--help", "-h"):
            raise _Help(_help(None, word))
        sub = ALIASES.get(rest[1], rest[1])
        cmd = COMMANDS.get(f"{word} {sub}")
        if cmd is None:
            raise Usage(f"No such command '{rest[1]}'.", word)
        return globals_, cmd, rest[2:]
    cmd = COMMANDS.get(word)
    if cmd is None:
        raise Usage(f"No such command '{word}'.")
    return globals_, cmd, rest[1:]


class _Help(Exception):
    pass


def run(argv: list) -> int:
    """Run one command line; returns the exit code (what :func:`main` exits with)."""
    ctx = None
    out: list = []
    try:
        globals_, cmd, tokens = _find(argv)
        head = tokens[: tokens.index("--")] if "--" in tokens else tokens
        if "--help" in head or "-h" in head:
            raise _Help(_help(cmd))
        args = parse(cmd, tokens)
        if cmd.run is daemon:
            from ._daemon import run as serve

            return serve(globals_, args)
        ctx = Context(globals_["state_dir"], globals_["host"], bool(globals_["debug"]))
        rc = cmd.run(ctx, args, out)
        _flush(out)
        return rc
    except _Help as shown:
        sys.stdout.write(str(shown))
        return 0
    except Usage as exc:
        _flush(out)
        where = exc.command
        words = where.words if isinstance(where, Command) else (where or "")
        hint = f"{PROG} {words} --help" if words else f"{PROG} --help"
        sys.stderr.write(f"{_usage_line(where)}\nTry '{hint}' for help.\n\nError: {exc}\n")
        return 2
    except Failed as exc:
        _flush(out)
        sys.stderr.write(f"Error: {exc}\n")
        return 1
    finally:
        if ctx is not None:
            ctx.close()


def main(argv=None) -> None:
    """The console script ``pycnm``: runs the command line and ends the process with its exit
    code (``run()`` only returns it)."""
    try:
        rc = run(sys.argv[1:] if argv is None else list(argv))
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # ``pycnm network ls | head -1``: the reader is gone, as docker exits
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        rc = 1
    except KeyboardInterrupt:
        sys.stderr.write("Aborted.\n")
        rc = 130
    if argv is None and not any(name in sys.modules for name in _HEAVY):
        # The client path holds nothing to finalise (its socket closes with the process): skip
        # the interpreter's tear-down, about 2 ms of a 20 ms command. Anything that imported the
        # Controller, the daemon or logging ends the ordinary way, with its atexit handlers.
        os._exit(rc)
    sys.exit(rc)


#: modules after which the process must end the ordinary way (atexit handlers, open stores)
_HEAVY = ("pycnm.cli._local", "pycnm.cli._daemon", "pycnm.controller", "logging", "threading")


def __getattr__(name: str):
    # ``from pycnm.cli import cli``: the click command the CLI used to be, for callers that
    # drive it with click's CliRunner; click is imported only by them
    if name == "cli":
        from ._click import cli

        return cli
    raise AttributeError(f"module 'pycnm.cli' has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover
    main()
