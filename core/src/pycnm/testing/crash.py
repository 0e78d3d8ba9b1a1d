"""The crash-point matrix: every step of an operation is a place to die; each is recovered and checked.

An operation's steps are not listed by hand: :mod:`pycnm.steps` announces each change pycnm makes
(a store commit, a namespace, a netlink request, an nftables transaction, a sysctl, a file, a
remote-plugin call, an etcd write), and pyroute2's requests are counted here too (a third-party
driver may call pyroute2 itself). A run of the operation records its steps; then, for each step
``i``, a fresh process sets up the same state, runs the operation and is killed with SIGKILL
right before step ``i`` (and once after the last). A new Controller then starts on the state
directory, and the invariants are checked:

- no record is left in a transient state, and the operation is wholly done or wholly undone
  (the store reads as it did before the operation or as it did after it);
- no kernel object without its record and no record without its object: namespaces, the
  interfaces (and addresses) in each sandbox, each sandbox's hosts file, plus what a scenario's
  own checks say of its driver's objects (bridges, veths, nftables elements...);
- no address lost or handed out twice: the IPAM's bits are exactly the addresses the records hold;
- after everything is torn down nothing is left, the subnet hands out every address again, and
  the operation, done again, succeeds.

The processes are forked from a *zygote*, a process that imported pycnm and the drivers and
opened nothing: a point costs a fork, not an interpreter start. Run it in the namespace that
stands in for the host (``nsenter --net=...``); it reads requests as JSON lines on stdin::

    python -m pycnm.testing.crash MODULE

where ``MODULE`` defines ``MATRIX``, a :class:`Matrix` of scenarios.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from attrs import field, frozen

from .. import steps

#: settled states; any other is an intention a crash left
SETTLED = ("ready", "joined")


@frozen
class Scenario:
    """One operation, and the state it starts from.

    ``setup`` and ``operation`` take a Controller. ``subnet`` (optional) is a small subnet the
    scenario uses: after teardown it must hand out every address again.
    """

    name: str
    setup: Callable[[Any], None]
    operation: Callable[[Any], None]
    subnet: str | None = None


@frozen
class Matrix:
    """The scenarios, how to open a Controller from a run's configuration, and the checks of the
    drivers' own kernel objects (each returns a list of problems, empty when all is well).
    ``prepare`` runs before each run's set-up: it puts back what an earlier run changed once and
    for all (a sysctl set only when it is not set yet), so every run takes the same steps."""

    scenarios: Sequence[Scenario]
    controller: Callable[[dict], Any]
    prepare: Callable[[dict], None] | None = None
    kernel_checks: Sequence[Callable[[Any, dict], list[str]]] = field(factory=tuple)
    leftover_checks: Sequence[Callable[[Any, dict], list[str]]] = field(factory=tuple)

    def scenario(self, name: str) -> Scenario:
        return next(s for s in self.scenarios if s.name == name)


# ---- what the store says ----------------------------------------------------------------------------


def view(ctl) -> dict[str, list]:
    """The store's logical content, without IDs: what "before" and "after" are compared by."""
    names = {sb.id: sb.name for sb in ctl.sandboxes()}
    nets, eps, sbs = [], [], []
    for net in ctl.networks():
        rec = net.record
        pools = rec.ipv4_pools + rec.ipv6_pools
        nets.append([net.name, net.driver, [str(p.pool) for p in pools], [str(p.gateway) for p in pools if p.gateway]])
        for ep in net.endpoints():
            r = ep.record
            eps.append([net.name, ep.name, names.get(r.sandbox_id), str(r.address) if r.address else None, r.anonymous])
    for sb in ctl.sandboxes():
        joined = sb.endpoints()
        gateway = next((e.name for e in joined if e.id == sb.record.gateway_endpoint), None)
        sbs.append([sb.name, [e.name for e in joined], gateway])
    return json.loads(
        json.dumps({"networks": sorted(nets), "endpoints": sorted(eps, key=str), "sandboxes": sorted(sbs)})
    )


def transient(ctl) -> list[str]:
    """Records left in a state that is not settled."""
    out = [f"network {n.name} is {n.record.state}" for n in ctl.networks() if n.record.state not in SETTLED]
    for net in ctl.networks():
        out += [
            f"endpoint {e.name} on {net.name} is {e.record.state}"
            for e in net.endpoints()
            if e.record.state not in SETTLED
        ]
    out += [f"sandbox {s.name} is {s.record.state}" for s in ctl.sandboxes() if s.record.state not in SETTLED]
    return out


# ---- what the kernel and the files say --------------------------------------------------------------


def kernel_problems(ctl) -> list[str]:
    """Namespaces, sandbox interfaces and hosts files against the records (any driver), as the
    Controller's OS layer sees them."""
    from ..osl import dnsfiles

    osl = ctl.osl
    problems = []
    ours = set(osl.namespaces(ctl.netns_dir, ctl.netns_prefix))
    keys = {sb.key for sb in ctl.sandboxes() if not sb.record.host_namespace}
    problems += [f"namespace {k} has no sandbox record" for k in sorted(ours - keys)]
    problems += [f"sandbox namespace {k} is missing" for k in sorted(keys - ours)]
    for sb in ctl.sandboxes():
        joined = sb.endpoints()
        if not sb.record.host_namespace and sb.key in ours:
            links = osl.interfaces(sb.key)
            wanted = {e.interface_name: e for e in joined if e.interface_name}
            for name in sorted(set(links) - set(wanted)):
                problems.append(f"interface {name} in sandbox {sb.name} belongs to no joined endpoint")
            for name, ep in sorted(wanted.items()):
                if name not in links:
                    problems.append(f"endpoint {ep.name} has no interface {name} in sandbox {sb.name}")
                    continue
                for address in (ep.address, ep.address_ipv6):
                    if address is not None and str(address) not in links[name]:
                        problems.append(f"interface {name} in sandbox {sb.name} lacks {address}")
        text = dnsfiles.hosts(
            sb.hostname,
            sb.record.domainname,
            [str(a.ip) for e in joined for a in (e.address, e.address_ipv6) if a is not None],
            sb.record.extra_hosts,
        )
        try:
            if osl.read_file(sb.hosts_path) != text:
                problems.append(f"the hosts file of sandbox {sb.name} is not what its endpoints say")
        except OSError as exc:
            problems.append(f"the hosts file of sandbox {sb.name} is missing: {exc}")
    return problems


def ipam_problems(ctl) -> list[str]:
    """The default IPAM's pools and bits against the records: nothing lost, nothing twice."""
    from ..ipam import bitmap

    problems = []
    want_pools: dict[str, set[str]] = {}
    want_addrs: dict[tuple[str, str], set[str]] = {}
    for net in ctl.networks():
        rec = net.record
        if rec.ipam_driver != "default":
            continue
        for pool in rec.ipv4_pools + rec.ipv6_pools:
            want_pools.setdefault(pool.address_space, set()).add(str(pool.pool))
            held = want_addrs.setdefault((pool.address_space, str(pool.pool)), set())
            held |= {str(a.ip) for a in (pool.gateway, *pool.aux_addresses.values()) if a is not None}
        for ep in net.endpoints():
            for address, pool_id in (
                (ep.record.address, ep.record.address_pool),
                (ep.record.address_ipv6, ep.record.address_ipv6_pool),
            ):
                if address is not None and pool_id:
                    pool = next(p for p in rec.ipv4_pools + rec.ipv6_pools if p.pool_id == pool_id)
                    want_addrs.setdefault((pool.address_space, str(pool.pool)), set()).add(str(address.ip))
    have_addrs: dict[tuple[str, str], set[str]] = {}
    for entry in ctl.store.list("ipam/"):
        parts = entry.key.split("/")
        if parts[1] == "space":
            have = set(json.loads(entry.value)["pools"])
            want = want_pools.get(parts[2], set())
            problems += [f"pool {p} in {parts[2]} belongs to no network" for p in sorted(have - want)]
            problems += [f"pool {p} of a network is not reserved in {parts[2]}" for p in sorted(want - have)]
        elif parts[1] == "bits":
            space, pool, chunk = parts[2], "/".join(parts[3:5]), int(parts[5], 16)
            network = ipaddress.ip_network(pool)
            base = int(network.network_address) + chunk * bitmap.CHUNK_BITS
            bits = [i for i in range(bitmap.CHUNK_BITS) if bitmap.is_set(entry.value, i)]
            have_addrs.setdefault((space, pool), set()).update(str(ipaddress.ip_address(base + i)) for i in bits)
    for key in sorted(set(have_addrs) | set(want_addrs)):
        have, want = have_addrs.get(key, set()), want_addrs.get(key, set())
        problems += [f"address {a} of {key[1]} is allocated but no record holds it" for a in sorted(have - want)]
        problems += [f"address {a} of {key[1]} is held by a record but free in IPAM" for a in sorted(want - have)]
    return problems


def leftovers(ctl) -> list[str]:
    """After everything was deleted: what is still there (namespaces, store keys)."""
    problems = [f"namespace {path} is left" for path in ctl.osl.namespaces(ctl.netns_dir, ctl.netns_prefix)]
    for entry in ctl.store.list(""):
        parts = entry.key.split("/")
        if entry.key == "meta/instance" or parts[0] in ("hosts", "drivers"):
            continue
        if parts[:2] == ["ipam", "space"] and not json.loads(entry.value)["pools"]:
            continue
        problems.append(f"store key {entry.key} is left")
    return problems


def teardown(ctl) -> None:
    """Delete every sandbox, endpoint and network."""
    ctl.delete_sandboxes(ctl.sandboxes())
    for net in ctl.networks():
        for ep in net.endpoints():
            ep.delete(force=True)
        net.delete()


def capacity(ctl, subnet: str) -> int:
    """How many endpoints a network on ``subnet`` takes now (every address but the gateway's)."""
    from ..errors import Unavailable

    net = ctl.create_network("crash-capacity", "null", subnet=subnet)
    count = 0
    try:
        while True:
            net.create_endpoint(f"c{count}")
            count += 1
    except Unavailable:
        pass
    for ep in net.endpoints():
        ep.delete()
    net.delete()
    return count


# ---- the zygote ----------------------------------------------------------------------------------------


def _count_pyroute2() -> None:
    """Announce pyroute2's changing requests as steps (drivers may call pyroute2 themselves)."""
    from pyroute2 import IPRoute

    original = IPRoute._run_generic_rtnl

    def counted(self, func, *argv, **kwarg):
        if argv and argv[0] not in ("dump", "show", "get"):
            steps.step("netlink", f"pyroute2 {getattr(func, '__name__', '?')} {argv[0]}")
        return original(self, func, *argv, **kwarg)

    IPRoute._run_generic_rtnl = counted


def _child(body: Callable[[], None]) -> int:
    """Fork, run ``body`` in the child (which ends with os._exit), return the child's wait status."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException:  # noqa: BLE001 - reported to the parent through the exit code
            traceback.print_exc()
            code = 70
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _run(matrix: Matrix, scenario: Scenario, config: dict, kill_at: int | None, work: str) -> None:
    if matrix.prepare is not None:
        matrix.prepare(config)
    ctl = matrix.controller(config)
    scenario.setup(ctl)
    _dump(os.path.join(work, "before.json"), view(ctl))
    count = 0
    log = open(os.path.join(work, "steps.jsonl"), "a", buffering=1)  # noqa: SIM115 - one line a step

    def listener(kind: str, what: str) -> None:
        nonlocal count
        count += 1
        log.write(json.dumps([count, kind, what]) + "\n")
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    steps.listen(listener)
    scenario.operation(ctl)
    steps.listen(None)
    _dump(os.path.join(work, "after.json"), view(ctl))
    # no close: the process ends as one killed after its last step would


def _verify(matrix: Matrix, scenario: Scenario, config: dict, work: str) -> None:
    """Recover, check, tear down, check again, do it again. A phase that raises is a problem of
    its own (reported with its traceback's last line), and the rest is still checked."""
    report: dict[str, Any] = {"problems": [], "leftovers": [], "leftovers_again": [], "again": "not reached"}

    def phase(where: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - a finding, not a failure of the harness
            report["problems"].append(f"{where} raised {type(exc).__name__}: {exc}")
            return None

    try:
        ctl = matrix.controller(config)
        report["reconciled"] = list(ctl.reconciled)
        report["view"] = view(ctl)
        report["problems"] += (
            phase(
                "checking",
                lambda: (
                    transient(ctl)
                    + kernel_problems(ctl)
                    + ipam_problems(ctl)
                    + [p for check in matrix.kernel_checks for p in check(ctl, config)]
                ),
            )
            or []
        )
        if (
            phase("tearing down", lambda: teardown(ctl)) is None
            and report["problems"]
            and report["problems"][-1].startswith("tearing down")
        ):
            raise RuntimeError(report["problems"][-1])
        report["leftovers"] = leftovers(ctl) + [p for check in matrix.leftover_checks for p in check(ctl, config)]
        subnet = scenario.subnet
        if subnet:
            report["capacity"] = phase("counting the subnet's addresses", lambda: capacity(ctl, subnet))
        try:  # done again, it succeeds
            scenario.setup(ctl)
            scenario.operation(ctl)
            report["again"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported
            report["again"] = f"{type(exc).__name__}: {exc}"
        phase("tearing down again", lambda: teardown(ctl))
        report["leftovers_again"] = leftovers(ctl)
        ctl.close()
    except Exception as exc:  # noqa: BLE001 - reported as what it is
        report["problems"].append(f"the recovering process raised {type(exc).__name__}: {exc}")
        report.setdefault("view", None)
    _dump(os.path.join(work, "verify.json"), report)


def _dump(path: str, value: Any) -> None:
    with open(path, "w") as fh:
        json.dump(value, fh)


def _load(path: str) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


def _status(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve(matrix: Matrix, requests, answers) -> None:
    """Answer each request line (``{"scenario", "config", "kill_at"}``) with one JSON line."""
    for line in requests:
        request = json.loads(line)
        scenario = matrix.scenario(request["scenario"])
        with tempfile.TemporaryDirectory(prefix="pycnm-crash-") as work:
            run = _child(functools.partial(_run, matrix, scenario, request["config"], request.get("kill_at"), work))
            verify = _child(functools.partial(_verify, matrix, scenario, request["config"], work))
            with (
                open(os.path.join(work, "steps.jsonl"))
                if os.path.exists(os.path.join(work, "steps.jsonl"))
                else open(os.devnull) as fh
            ):
                taken = [json.loads(row) for row in fh]
            answer = {
                "run": _status(run),
                "verify_exit": _status(verify),
                "steps": taken,
                "before": _load(os.path.join(work, "before.json")),
                "after": _load(os.path.join(work, "after.json")),
                "verify": _load(os.path.join(work, "verify.json")),
            }
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main(argv: list[str] | None = None) -> None:
    import importlib

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m pycnm.testing.crash MODULE (MODULE defines MATRIX)")
    matrix = importlib.import_module(args[0]).MATRIX
    _count_pyroute2()
    serve(matrix, sys.stdin, sys.stdout)


class Zygote:
    """The zygote as the test's side sees it: start it in a namespace, ask it to run points."""

    def __init__(self, module: str, netns: str | None = None, env: dict | None = None, cwd: str | None = None) -> None:
        import subprocess

        argv = [sys.executable, "-m", "pycnm.testing.crash", module]
        if netns:
            argv = ["nsenter", f"--net={netns}", *argv]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
        if self.proc.stdin is None or self.proc.stdout is None:  # (never: both were asked for as pipes)
            raise RuntimeError("the crash zygote has no pipes")
        self.requests, self.answers = self.proc.stdin, self.proc.stdout

    def point(self, scenario: str, config: dict, kill_at: int | None) -> dict:
        self.requests.write(json.dumps({"scenario": scenario, "config": config, "kill_at": kill_at}) + "\n")
        self.requests.flush()
        line = self.answers.readline()
        if not line:
            raise RuntimeError(f"the crash zygote died (exit {self.proc.poll()})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.requests.close()
            try:
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001 - any failure to wait: kill it
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__":  # pragma: no cover
    main()
