"""Container DNS side by side: pycnm's embedded DNS (served by ``pycnm daemon``), dockerd 20.10's
embedded DNS and aardvark-dns 1.4.0 (podman's), each asked by dnsperf from inside a container's
network namespace, as a container asks it.

    python bench/dns_resolvers.py [--rounds 3] [--seconds 5] [--write docs/benchmarks.md]   # as root
    python bench/dns_resolvers.py --quick                                                   # smoke run

Measured for each resolver (dnsperf: 8 clients, 100 outstanding, ``--seconds`` a run):

- *local*: the A record of another container on the same network (``web``), top rate;
- *forwarded*: 50,000 distinct names no resolver knows, answered by a stub upstream (the
  template server of bench/dns_engine.py, TTL 0, so that no cache hides the forwarding) running
  in a third container on the same network; the stub's UDP datagrams in, per answered query, say
  whether the resolver cached or coalesced anyway;
- latency at a steady 2,000 q/s (``-Q 2000``), local name, p50 and p99;
- the resolver process's CPU time during each top-rate run (pycnm daemon, dockerd, aardvark-dns).

The rounds take turns (each round asks every resolver once) and the median of the rounds is
shown: on a shared machine the ratios of one run are what count.

The set-ups, all inside throwaway namespaces (nothing of the machine's own network is touched):

- pycnm: a ``pycnm daemon`` in a namespace standing in for the host; a bridge network with the
  sandboxes ``client`` (``--dns`` the stub's address), ``web`` and ``stub``; dnsperf in
  ``client``'s namespace asks 127.0.0.11;
- dockerd: a private dockerd 20.10 (own data root, iptables on) in a stand-in host of its own; a
  user-defined bridge network with busybox containers (an image of ``docker import``, never
  pulled) ``client`` (``--dns`` the stub container's address), ``web`` and ``stub``; dnsperf in
  ``client``'s namespace asks 127.0.0.11;
- aardvark-dns: run as podman runs it, in the (stand-in) host's namespace, listening on the
  gateway address of a bridge there, with a config naming ``client``, ``web`` and ``stub`` and a
  resolv.conf of its own (bind-mounted in a mount namespace of its own) naming the stub; dnsperf
  in the client's namespace, a veth on that bridge, asks the gateway.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.query

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # the workspace: tests.dockerlab
import dns_engine
from _report import write_section
from cli import PYCNM, PycnmDaemon, dockerd_class
from pycnm.osl import netns
from pycnm.testing.hostns import StandInHost

PREFIX = "bdns"
AARDVARK = "/usr/lib/podman/aardvark-dns"
IMAGE = f"{PREFIX}/busybox"
NET = f"{PREFIX}-net"
SUBNETS = {"pycnm": "10.247.1", "dockerd": "10.247.2", "aardvark": "10.247.3"}  # .1 gateway
CLIENT, STUB, WEB = 2, 3, 5  # the last byte of each one's address
FORWARDED_NAMES = 50000
NAMES = ("pycnm daemon", "dockerd 20.10", "aardvark-dns 1.4.0")


@dataclass
class Resolver:
    """One resolver under test: where dnsperf runs and what it asks, and the processes to watch."""

    label: str
    client_ns: str = ""  # the path of the client's network namespace
    server: str = "127.0.0.11"
    pid: int = 0  # the resolver's process
    stub_pid: int = 0  # the stub upstream's process (its namespace's UDP counters)
    why_not: str = ""  # set when it could not be set up
    runs: dict[str, list[dict[str, float]]] = field(default_factory=lambda: {"local": [], "forwarded": []})
    #: each round's latencies at 2,000 q/s, in ms, sorted
    latencies: list[list[float]] = field(default_factory=list)
    forwarded_latencies: list[list[float]] = field(default_factory=list)
    rss_kib: int = 0  # the resolver process's resident memory after the runs (largest seen)
    failures: list[str] = field(default_factory=list)


def sh(*argv: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr.decode(errors='replace')[-800:]}")
    return out.stdout.decode()


# ---- the stub upstream ---------------------------------------------------------------------------


def serve_stub(port: int) -> None:
    """bench/dns_engine.py's template server (TTL 0), on every address of its namespace (the
    resolvers dial its address on the bridge)."""
    dns_engine.serve_template(port, dns_engine.A_RECORD_TTL0, address="0.0.0.0")


def start_stub(ns: str, procs: list[subprocess.Popen]) -> subprocess.Popen:
    argv = ["nsenter", f"--net={ns}", sys.executable, os.path.abspath(__file__), "--serve-stub", "53"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the stub upstream in {ns} did not start")
    return proc


def udp_in(pid: int) -> int:
    """UDP datagrams received so far in the network namespace of ``pid``."""
    with open(f"/proc/{pid}/net/snmp") as fh:
        rows = [line.split() for line in fh if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("InDatagrams")])


def ask(ns: str, server: str, name: str) -> list[str]:
    """The A records ``server`` answers for ``name``, asked from the namespace ``ns``."""
    try:
        with netns.entered(ns):
            answer = dns.query.udp(dns.message.make_query(name, "A"), server, port=53, timeout=1)
    except (dns.exception.DNSException, OSError):
        return []
    return [rdata.to_text() for rrset in answer.answer for rdata in rrset]


def wait_answers(r: Resolver, web_ip: str) -> None:
    """Until the resolver answers both kinds of name as it should (a set-up is asynchronous)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if web_ip in ask(r.client_ns, r.server, "web") and "192.0.2.1" in ask(r.client_ns, r.server, "x.example.com"):
            return
        time.sleep(0.2)
    local, forwarded = ask(r.client_ns, r.server, "web"), ask(r.client_ns, r.server, "x.example.com")
    raise RuntimeError(f"no right answers from {r.server}: web -> {local}, x.example.com -> {forwarded}")


# ---- the three set-ups ---------------------------------------------------------------------------


def setup_pycnm(work: str, procs: list[subprocess.Popen], undo: list[Callable[[], object]]) -> Resolver:
    r = Resolver(NAMES[0])
    env = dict(
        os.environ,
        PYCNM_DISABLE_PLUGINS="1",
        # not PREFIX alone: the daemon's recovery deletes namespaces of its prefix that it has no
        # record of (the stand-in hosts' among them), and its driver may do so with links
        PYCNM_NETNS_PREFIX=f"{PREFIX}-p-",
        PYCNM_IFNAME_PREFIX=f"{PREFIX}p",
    )
    for name in ("PYCNM_HOST", "PYCNM_STATE_DIR", "PYCNM_NETNS_DIR", "PYCNM_CLUSTER_STORE", "PYCNM_RESOLV_CONF"):
        env.pop(name, None)
    daemon = PycnmDaemon(os.path.join(work, "pycnm"), env)
    undo.append(daemon.stop)
    daemon.start()
    assert daemon.proc is not None
    r.pid = daemon.proc.pid
    cli = daemon.env
    net = SUBNETS["pycnm"]

    def remove() -> None:
        for name in ("client", "web", "stub"):
            subprocess.run([PYCNM, "sandbox", "rm", "-f", name], env=cli, capture_output=True, check=False)
        subprocess.run([PYCNM, "network", "rm", "-f", NET], env=cli, capture_output=True, check=False)

    undo.append(remove)
    sh(PYCNM, "network", "create", "-d", "bridge", "--subnet", f"{net}.0/24", "-o",
       f"com.docker.network.bridge.name={PREFIX}-pbr", NET, env=cli)  # fmt: skip
    for name, last, extra in (("stub", STUB, []), ("web", WEB, []), ("client", CLIENT, ["--dns", f"{net}.{STUB}"])):
        sh(PYCNM, "sandbox", "create", *extra, name, env=cli)
        sh(PYCNM, "network", "connect", "--ip", f"{net}.{last}", NET, name, env=cli)
    keys = {s["Name"]: s["Key"] for s in json.loads(sh(PYCNM, "sandbox", "inspect", "client", "stub", env=cli))}
    r.client_ns = keys["client"]
    r.stub_pid = start_stub(keys["stub"], procs).pid
    wait_answers(r, f"{net}.{WEB}")
    return r


def setup_dockerd(work: str, procs: list[subprocess.Popen], undo: list[Callable[[], object]]) -> Resolver:
    from tests.dockerlab import available

    r = Resolver(NAMES[1])
    why = available()
    if why:
        raise RuntimeError(why)
    host = f"/run/netns/{PREFIX}-dock"  # a stand-in host of its own: dockerd's iptables stay there
    netns.create(host)
    undo.append(lambda: netns.delete(host))
    with netns.entered(host):
        sh("ip", "link", "set", "lo", "up")
        dockerd = dockerd_class()(tempfile.mkdtemp(prefix=f"{PREFIX}-d", dir=work), dns="127.0.0.1")
        undo.append(dockerd.cleanup)
        dockerd.start()  # its process is made in this thread's namespace: the stand-in
    assert dockerd.proc is not None
    r.pid = dockerd.proc.pid
    dockerd.import_busybox(IMAGE)
    net = SUBNETS["dockerd"]
    dockerd.docker("network", "create", "--subnet", f"{net}.0/24", "-o",
                   f"com.docker.network.bridge.name={PREFIX}-dbr", NET)  # fmt: skip
    pids = {}
    for name, last, extra in (("stub", STUB, []), ("web", WEB, []), ("client", CLIENT, ["--dns", f"{net}.{STUB}"])):
        dockerd.docker("run", "-d", "--net", NET, "--ip", f"{net}.{last}", *extra, "--name", name, IMAGE,
                       "sleep", "86400")  # fmt: skip
        pids[name] = int(dockerd.docker("inspect", "-f", "{{.State.Pid}}", name).stdout)
    r.client_ns = f"/proc/{pids['client']}/ns/net"
    r.stub_pid = start_stub(f"/proc/{pids['stub']}/ns/net", procs).pid
    wait_answers(r, f"{net}.{WEB}")
    return r


def setup_aardvark(work: str, procs: list[subprocess.Popen], undo: list[Callable[[], object]]) -> Resolver:
    """In the stand-in host: a bridge with the gateway address, and two namespaces on it."""
    r = Resolver(NAMES[2])
    if not os.access(AARDVARK, os.X_OK):
        raise RuntimeError(f"{AARDVARK} is missing (Debian package aardvark-dns)")
    net = SUBNETS["aardvark"]
    bridge = f"{PREFIX}-abr"
    undo.append(functools.partial(subprocess.run, ["ip", "link", "del", bridge], capture_output=True, check=False))
    sh("ip", "link", "add", bridge, "type", "bridge")
    sh("ip", "addr", "add", f"{net}.1/24", "dev", bridge)
    sh("ip", "link", "set", bridge, "up")
    spaces = {}
    for name, last in (("client", CLIENT), ("stub", STUB)):
        ns = f"{PREFIX}-a{name}"
        undo.append(functools.partial(subprocess.run, ["ip", "netns", "del", ns], capture_output=True, check=False))
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"{PREFIX}-a{name}0", "type", "veth", "peer", "name", f"{PREFIX}-a{name}1")
        sh("ip", "link", "set", f"{PREFIX}-a{name}0", "master", bridge, "up")
        sh("ip", "link", "set", f"{PREFIX}-a{name}1", "netns", ns)
        for cmd in (
            ["link", "set", "lo", "up"],
            ["link", "set", f"{PREFIX}-a{name}1", "name", "eth0"],
            ["addr", "add", f"{net}.{last}/24", "dev", "eth0"],
            ["link", "set", "eth0", "up"],
        ):
            sh("ip", "-n", ns, *cmd)
        spaces[name] = f"/run/netns/{ns}"
    r.client_ns = spaces["client"]
    r.server = f"{net}.1"
    r.stub_pid = start_stub(spaces["stub"], procs).pid
    config = os.path.join(work, "aardvark")
    os.makedirs(config)
    lines = [f"{net}.1"] + [
        f"{os.urandom(32).hex()} {net}.{last}  {name}"
        for name, last in (("client", CLIENT), ("web", WEB), ("stub", STUB))
    ]
    with open(os.path.join(config, NET), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    resolv = os.path.join(work, "aardvark-resolv.conf")
    with open(resolv, "w") as fh:
        fh.write(f"nameserver {net}.{STUB}\n")
    script = f'mount --bind "$1" /etc/resolv.conf && exec {AARDVARK} -c "$2" -p 53 run'
    proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script, "sh", resolv, config])
    procs.append(proc)
    pidfile = os.path.join(config, "aardvark.pid")
    deadline = time.monotonic() + 20
    while not os.path.exists(pidfile) and proc.poll() in (None, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not os.path.exists(pidfile):
        raise RuntimeError(f"aardvark-dns did not start (exit status {proc.poll()})")
    r.pid = int(open(pidfile).read().split()[0])  # it forks: the server is the child  # noqa: SIM115

    def stop() -> None:
        if os.path.exists(f"/proc/{r.pid}") and open(f"/proc/{r.pid}/cmdline", "rb").read().startswith(  # noqa: SIM115
            AARDVARK.encode()
        ):
            os.kill(r.pid, signal.SIGTERM)

    undo.append(stop)
    wait_answers(r, f"{net}.{WEB}")
    return r


# ---- the measurements ----------------------------------------------------------------------------


def perf(r: Resolver, datafile: str, seconds: float, *extra: str) -> str:
    """bench/dns_engine.py's dnsperf (8 clients), from the client's namespace, to the resolver."""
    with netns.entered(r.client_ns):  # dnsperf's process is made in this thread's namespace
        return dns_engine.dnsperf(53, datafile, seconds, "-s", r.server, *extra)


def top_rate(r: Resolver, datafile: str, seconds: float) -> dict[str, float]:
    cpu, upstream = dns_engine._cpu(r.pid), udp_in(r.stub_pid)
    out = perf(r, datafile, seconds, "-q", "100")
    cpu, upstream = dns_engine._cpu(r.pid) - cpu, udp_in(r.stub_pid) - upstream

    def number(label: str) -> float:
        match = re.search(rf"{label}:\s+([\d.]+)", out)
        return float(match.group(1)) if match else 0.0

    done, sent = number("Queries completed"), number("Queries sent")
    noerror = re.search(r"NOERROR (\d+)", out)
    return {
        "qps": number("Queries per second"),
        "cpu": cpu,
        "cpu_us": cpu / max(done, 1) * 1e6,
        "lost": number("Queries lost") / max(sent, 1),
        "noerror": int(noerror.group(1)) / max(done, 1) if noerror else 0.0,
        "upstream": upstream / max(done, 1),
    }


def steady(r: Resolver, datafile: str, seconds: float) -> list[float]:
    """Every query's latency in ms at 2,000 q/s, sorted."""
    return dns_engine.samples(perf(r, datafile, seconds, "-Q", "2000", "-v"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def measure(resolvers: list[Resolver], rounds: int, seconds: float, work: str) -> None:
    local = os.path.join(work, "local.txt")
    with open(local, "w") as fh:
        fh.write("web A\n")
    forwarded = os.path.join(work, "forwarded.txt")
    with open(forwarded, "w") as fh:
        fh.writelines(f"n{i}.example.com A\n" for i in range(FORWARDED_NAMES))
    for _ in range(rounds):
        for r in resolvers:
            if r.why_not:
                continue
            try:
                r.runs["local"].append(top_rate(r, local, seconds))
                r.runs["forwarded"].append(top_rate(r, forwarded, seconds))
                r.latencies.append(steady(r, local, seconds))
                r.forwarded_latencies.append(steady(r, forwarded, seconds))
                r.rss_kib = max(r.rss_kib, rss_kib(r.pid))
            except (subprocess.SubprocessError, OSError) as exc:
                r.failures.append(str(exc)[-300:])


# ---- the report ----------------------------------------------------------------------------------


def median(runs: list[dict[str, float]]) -> dict[str, float] | None:
    return sorted(runs, key=lambda run: run["qps"])[len(runs) // 2] if runs else None


def table(resolvers: list[Resolver], rounds: int, seconds: float, quick: bool) -> str:
    best = {r.label: {kind: median(r.runs[kind]) for kind in ("local", "forwarded")} for r in resolvers}

    def pooled(rounds: list[list[float]]) -> tuple[float, float]:
        # every round's queries together: a p99 of 3 x 10,000 queries, not the median of three
        # p99s (one noisy round on a shared machine moves that a lot)
        return dns_engine.of(sorted(v for values in rounds for v in values))

    lat = {r.label: pooled(r.latencies) for r in resolvers if r.latencies}
    flat = {r.label: pooled(r.forwarded_latencies) for r in resolvers if r.forwarded_latencies}

    def rate(label: str, kind: str) -> str:
        run = best[label][kind]
        if run is None:
            return "not measured"
        cells = [f"{run['qps']:,.0f}"]
        for other in (NAMES[2], NAMES[1]):
            base = best[other][kind]
            if other != label and base is not None and base["qps"] > 0:
                cells.append(f"{run['qps'] / base['qps']:.2f}× {other.split()[0]}")
        return cells[0] + (f" ({', '.join(cells[1:])})" if cells[1:] else "")

    def cpu(label: str, kind: str) -> str:
        run = best[label][kind]
        return "-" if run is None else f"{run['cpu']:.2f} s ({run['cpu_us']:.1f} µs/q)"

    head = (
        "| resolver | local name, q/s | forwarded (TTL 0, 50k names), q/s | local at 2,000 q/s p50 / p99 |"
        " forwarded at 2,000 q/s p50 / p99 | resolver CPU: local / forwarded run |"
        " upstream queries per forwarded answer | resolver RSS |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    notes = []
    for r in resolvers:
        if r.why_not:
            lines.append(f"| {r.label} | not measured: {r.why_not} | - | - | - | - | - | - |")
            continue
        fwd = best[r.label]["forwarded"]

        def pcts(pair: tuple[float, float] | None, rounds: list[list[float]]) -> str:
            if pair is None:
                return "not measured"
            by_round = ", ".join(f"{dns_engine.of(values)[1]:.3f}" for values in rounds)
            by_round = f" (p99 by round: {by_round})" if len(rounds) > 1 else ""
            return f"{pair[0]:.3f} / {pair[1]:.3f} ms{by_round}"

        lines.append(
            f"| {r.label} | {rate(r.label, 'local')} | {rate(r.label, 'forwarded')} |"
            f" {pcts(lat.get(r.label), r.latencies)} | {pcts(flat.get(r.label), r.forwarded_latencies)} |"
            f" {cpu(r.label, 'local')} / {cpu(r.label, 'forwarded')} |"
            f" {'-' if fwd is None else format(fwd['upstream'], '.2f')} |"
            f" {r.rss_kib / 1024:.1f} MiB{' (all of dockerd)' if r.label == NAMES[1] else ''} |"
        )
        for kind in ("local", "forwarded"):
            run = best[r.label][kind]
            if run is not None and (run["lost"] > 0.01 or run["noerror"] < 0.99):
                notes.append(f"{r.label}, {kind}: {run['lost']:.1%} lost, {run['noerror']:.1%} NOERROR.")
        notes += [f"{r.label}: a round failed: {failure}" for failure in r.failures]
    text = "\n".join(lines) + "\n\n"
    text += (
        f"dnsperf 2.10 from inside the client container's namespace: 8 clients, 100 outstanding, {seconds:g} s a"
        f" run, the median of {rounds} rounds taken in turn (latencies: {seconds:g} s at 2,000 q/s each round,"
        " p50 and p99 of every round's queries together)."
        " Local: another container's name on the same bridge network. Forwarded: names no resolver knows,"
        " answered by a stub upstream (a Python template server, TTL 0) in a third container on that network"
        " (the client's `--dns` for pycnm and dockerd, aardvark-dns's own resolv.conf). pycnm and dockerd answer"
        " at 127.0.0.11 (a socket of the daemon's in the container's namespace, reached by a stateless port"
        " rewrite for pycnm and by DNAT for dockerd), aardvark-dns on the"
        " bridge's gateway address in the host's namespace, as podman runs it. Everything runs in throwaway"
        f" namespaces on a {os.cpu_count()}-CPU machine shared with dnsperf and the stub: absolute rates are"
        " this machine's, the ratios of one run are the comparison. Resolver CPU: the whole process (pycnm"
        " daemon, dockerd, aardvark-dns) during the top-rate run. Upstream queries per forwarded answer: UDP"
        " datagrams into the stub's namespace per answered query (1.00: each query forwarded, no cache and no"
        " coalescing helped). RSS: the resolver process after the runs (pycnm daemon: the whole daemon, its"
        " three sandboxes attached)."
    )
    pc, aa = best[NAMES[0]], best[NAMES[2]]
    if pc["local"] and aa["local"] and pc["forwarded"] and aa["forwarded"]:
        others = [lat[n][1] for n in NAMES[1:] if n in lat]
        p99 = lat.get(NAMES[0], (float("nan"), float("nan")))[1]
        verdict = "met" if others and p99 <= min(others) else "not met"
        fothers = [flat[n][1] for n in NAMES[1:] if n in flat]
        fp99 = flat.get(NAMES[0], (float("nan"), float("nan")))[1]
        fverdict = "met" if fothers and fp99 <= min(fothers) else "not met"
        text += (
            f"\n\nAgainst the goals of issue 14: local {pc['local']['qps'] / aa['local']['qps']:.2f}× aardvark-dns"
            f" (goal ≥ 1; 108,700 q/s for aardvark in BENCHMARKS.md), forwarded"
            f" {pc['forwarded']['qps'] / aa['forwarded']['qps']:.2f}× aardvark-dns (goal ≥ 2; 80,400 q/s there),"
            f" p99 at 2,000 q/s {p99:.3f} ms against {' and '.join(f'{v:.3f}' for v in others)} ms ({verdict}),"
            f" forwarded {fp99:.3f} ms against {' and '.join(f'{v:.3f}' for v in fothers)} ms ({fverdict})."
        )
    if notes:
        text += "\n\n" + " ".join(notes)
    if quick:
        text += "\n\nQuick mode: one short round; indicative only."
    return text + "\n"


# ---- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each asking every resolver once (median)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each top-rate dnsperf run")
    parser.add_argument("--quick", action="store_true", help="one round of 1 s runs")
    parser.add_argument("--write", help="update this markdown file's section")
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub is not None:
        serve_stub(args.serve_stub)
        return
    if os.geteuid() != 0:
        sys.exit("run it as root: it makes namespaces, bridges and a dockerd")
    if shutil.which("dnsperf") is None:
        sys.exit("dnsperf is needed: apt-get install -y dnsperf")
    rounds, seconds = (1, 1.0) if args.quick else (max(1, args.rounds), min(args.seconds, 10.0))
    started = time.perf_counter()
    procs: list[subprocess.Popen] = []
    undo: list[Callable[[], object]] = []
    resolvers: list[Resolver] = []
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-", dir="/tmp") as work, StandInHost(f"/run/netns/{PREFIX}-host"):
        try:
            for setup, label in zip((setup_pycnm, setup_dockerd, setup_aardvark), NAMES, strict=True):
                try:
                    resolvers.append(setup(work, procs, undo))
                except (RuntimeError, AssertionError, OSError) as exc:
                    print(f"{label}: not set up: {exc}", file=sys.stderr)
                    resolvers.append(Resolver(label, why_not=str(exc).splitlines()[0][:120]))
            measure(resolvers, rounds, seconds, work)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            for step in reversed(undo):
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - the other steps still run
                    print(f"clean-up step failed: {exc}", file=sys.stderr)
    text = table(resolvers, rounds, seconds, args.quick)
    print(text)
    print(f"wall time {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.write:
        title = "Container DNS side by side: pycnm daemon, dockerd 20.10, aardvark-dns 1.4.0 (dnsperf)"
        write_section(args.write, "dns", title + (" (quick)" if args.quick else ""), text)


if __name__ == "__main__":
    main()
