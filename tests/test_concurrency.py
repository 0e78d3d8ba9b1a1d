"""Two processes on one state dir: names stay unique and no address is handed out twice."""

import multiprocessing
import subprocess
import sys
import textwrap

import pytest
from pyroute2 import IPRoute

from .helpers import ping

pytestmark = pytest.mark.privileged


def _endpoints(state, prefix, tag, count, queue):
    from pycnm import Controller
    from pycnm.errors import Forbidden

    with Controller(state, netns_prefix=f"{prefix}-", ifname_prefix=prefix, plugins=[]) as ctl:
        net = ctl.network("shared")
        got, clashes = [], 0
        for i in range(count):
            try:
                got.append(str(net.create_endpoint(f"{tag}{i}").address.ip))
            except Forbidden:
                clashes += 1
        # both processes race for the same names too
        for i in range(10):
            try:
                net.create_endpoint(f"same{i}")
            except Forbidden:
                clashes += 1
        queue.put((got, clashes))


def test_two_controllers_never_share_an_address_or_a_name(controller, prefix):
    net = controller.create_network("shared", "null", subnet="10.71.0.0/24")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_endpoints, args=(controller.state_dir, prefix, tag, 40, queue)) for tag in "ab"]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    addresses = results[0][0] + results[1][0]
    assert len(addresses) == 80 and len(set(addresses)) == 80
    assert results[0][1] + results[1][1] == 10  # each "same" name was won by exactly one
    assert len(net.endpoints()) == 90
    same = [e.address for e in net.endpoints()]
    assert len(set(same)) == 90


# ---- processes that share a state directory take turns, and their drivers stay in step ---------

OTHER_PROCESS = textwrap.dedent("""
    import sys
    from pycnm import Controller
    state, prefix = sys.argv[1:3]
    with Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[]) as ctl:
        ctl.create_network("theirs", "bridge", subnet="10.72.1.0/24")
        sb = ctl.create_sandbox("their-sb")
        ctl.connect("mine", sb)
""")


def test_a_long_running_controller_sees_what_another_process_did(lab, controller, prefix):
    """A daemon or a hosting application beside the CLI: its bridge driver learns the network
    and the join another process made, so it can use the one and undo the other, leaving nothing."""
    controller.create_network("mine", "bridge", subnet="10.72.0.0/24")  # loads the bridge driver here
    out = subprocess.run(
        ["nsenter", f"--net={lab.host}", sys.executable, "-c", OTHER_PROCESS, controller.state_dir, prefix],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    sb = controller.create_sandbox("my-sb")
    controller.connect("theirs", sb)  # a network this process's driver had not heard of
    assert ping(sb.key, "10.72.1.1")
    veth = controller.network("mine").endpoint("their-sb").id
    controller.disconnect("mine", "their-sb")  # a join this process's driver had not heard of
    assert not [n for n in links_named(prefix) if veth[:8] in n], "the other process's veth was left behind"
    controller.delete_sandboxes(["my-sb", "their-sb"])
    assert sorted(links_named(prefix)) == sorted(
        [f"{prefix}up", *(f"{prefix}br-{n.id}"[:15] for n in controller.networks())]
    )


def links_named(prefix):
    with IPRoute() as ipr:
        return [
            link.get_attr("IFLA_IFNAME") for link in ipr.link("dump") if link.get_attr("IFLA_IFNAME").startswith(prefix)
        ]


# ---- many processes at once, and Controllers starting among them --------------------------------


def _connects(state, prefix, tag, count, fresh, queue):
    """``count`` sandboxes connected, each with a Controller of its own if ``fresh`` (as the CLI
    does: one process per command), else all with one (a daemon, a hosting application)."""
    import contextlib

    from pycnm import Controller

    def controller():
        return Controller(state, netns_prefix=f"{prefix}-", ifname_prefix=prefix, plugins=[])

    done, errors = [], []
    with contextlib.ExitStack() as scope:
        shared = None if fresh else scope.enter_context(controller())
        for i in range(count):
            try:
                with contextlib.nullcontext(shared) if shared else controller() as ctl:
                    sb = ctl.create_sandbox(f"{tag}s{i}")
                    ep = ctl.connect("busy", sb)
                    done.append((sb.name, ep.id, str(ep.address.ip)))
            except Exception as exc:  # noqa: BLE001 - every error is a finding here
                errors.append(f"{type(exc).__name__}: {exc}")
    queue.put((done, errors))


def _starters(state, prefix, stop, queue):
    """Controllers starting (and reconciling) every few milliseconds while the others work."""
    import time

    from pycnm import Controller

    started, notes = 0, []
    while not stop.is_set():
        with Controller(state, netns_prefix=f"{prefix}-", ifname_prefix=prefix, plugins=[]) as ctl:
            notes += ctl.reconciled
        started += 1
        time.sleep(0.003)
    queue.put((started, notes))


def test_sixteen_processes_connecting_while_controllers_start_lose_and_double_nothing(controller, prefix):
    controller.create_network("busy", "null", subnet="10.73.0.0/20")
    # sandboxes already there make every Controller's start-up reconciliation take a while: the
    # window in which, before the state lock, it dropped another process's sandbox as "left creating"
    idle = [controller.create_sandbox(f"idle{i}") for i in range(60)]
    ctx = multiprocessing.get_context("spawn")
    workers, per_worker, rounds = 16, 12, 2
    for round_no in range(rounds):
        queue, stop = ctx.Queue(), ctx.Event()
        starters = [ctx.Process(target=_starters, args=(controller.state_dir, prefix, stop, queue)) for _ in range(2)]
        procs = [
            ctx.Process(
                target=_connects,
                args=(controller.state_dir, prefix, f"r{round_no}w{w}", per_worker, round_no == 0 or w % 2 == 0, queue),
            )
            for w in range(workers)
        ]
        for p in starters + procs:
            p.start()
        results = [queue.get(timeout=300) for _ in procs]
        stop.set()
        started = [queue.get(timeout=60) for _ in starters]
        for p in starters + procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        errors = [e for _, errs in results for e in errs]
        done = [d for ok, _ in results for d in ok]
        notes = [n for _, ns in started for n in ns]
        assert errors == [] and notes == [], (errors, notes)
        assert sum(count for count, _ in started) > 0
        listed = {e.id: e for e in controller.network("busy").endpoints()}
        assert len(done) == workers * per_worker
        assert {eid for _, eid, _ in done} == set(listed), "an endpoint a connect returned is missing, or one more"
        addresses = [ip for _, _, ip in done]
        assert len(set(addresses)) == len(addresses), "an address was handed out twice"
        controller.delete_sandboxes([name for name, _, _ in done])
        assert controller.network("busy").endpoints() == []
    controller.delete_sandboxes(idle)


STARTING = textwrap.dedent("""
    # A: a Controller starting while another process is midway through a connect; it pauses at its
    # first step of reconciliation until that connect is in flight
    import os, sys, time
    from pycnm import Controller, steps
    state, prefix, flags = sys.argv[1:4]
    def pause(kind, what):
        if not os.path.exists(f"{flags}/a-paused"):
            open(f"{flags}/a-paused", "w").close()
            deadline = time.monotonic() + 4
            while not os.path.exists(f"{flags}/b-joining") and time.monotonic() < deadline:
                time.sleep(0.01)
    steps.listen(pause)
    with Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[]) as ctl:
        print("\\n".join(ctl.reconciled))
""")

CONNECTING = textwrap.dedent("""
    # B: connects once A is reconciling, with a join that takes a while
    import os, sys, time
    import pycnm
    from pycnm import Controller
    state, prefix, flags = sys.argv[1:4]
    class SlowJoin:
        @pycnm.hookimpl(wrapper=True)
        def cnm_join(self):
            open(f"{flags}/b-joining", "w").close()
            time.sleep(1.5)
            return (yield)
    while not os.path.exists(f"{flags}/a-paused"):
        time.sleep(0.01)
    with Controller(state, netns_prefix=prefix + "-", ifname_prefix=prefix, plugins=[SlowJoin()]) as ctl:
        ep = ctl.connect("n", ctl.create_sandbox("live"))
        print(ep.id)
""")


def test_a_controller_starting_never_touches_another_process_s_work_in_progress(controller_factory, prefix, tmp_path):
    from pycnm.osl import netns
    from pycnm.records import SandboxRecord

    ctl = controller_factory()
    ctl.create_network("n", "null")
    # what a crash left: a sandbox half made, which the next Controller to start removes
    key = f"{ctl.netns_dir}/{prefix}-0dead0000000"
    netns.create(key)
    from pycnm import codec

    ctl.store.put(
        "sandboxes/" + "0" * 63 + "d",
        codec.dumps(SandboxRecord(id="0" * 63 + "d", name="dead", key=key, created="2026-12-01T00:00:00+00:00")),
    )
    ctl.close()
    flags = tmp_path / "flags"
    flags.mkdir()
    args = [ctl.state_dir, prefix, str(flags)]
    a = subprocess.Popen(
        [sys.executable, "-c", STARTING, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    b = subprocess.Popen(
        [sys.executable, "-c", CONNECTING, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    a_out, a_err = a.communicate(timeout=120)
    b_out, b_err = b.communicate(timeout=120)
    assert a.returncode == 0, a_err
    assert "dropping sandbox dead" in a_out
    assert "live" not in a_out, "the starting Controller touched the connect in flight"
    assert b.returncode == 0, b_err
    again = controller_factory()
    assert [e.id for e in again.network("n").endpoints()] == [b_out.strip()]
    assert again.sandbox("live").endpoints()[0].id == b_out.strip()


# ---- the library, the CLI and pycnm daemon on one state directory at once ---------------------


def _cli_connects(state, prefix, tag, count, queue):
    """``count`` sandboxes made and connected by the pycnm CLI, one process per command, working
    in-process (the daemon of this test listens elsewhere, not on the state directory's socket)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYCNM_STATE_DIR=state, PYCNM_NETNS_PREFIX=f"{prefix}-", PYCNM_IFNAME_PREFIX=prefix)
    env["PYCNM_DISABLE_PLUGINS"] = "1"
    env.pop("PYCNM_HOST", None)
    done, errors = [], []
    for i in range(count):
        name = f"{tag}s{i}"
        for argv in (["sandbox", "create", name], ["network", "connect", "busy", name]):
            out = subprocess.run(
                [sys.executable, "-m", "pycnm.cli", *argv], env=env, capture_output=True, text=True, check=False
            )
            if out.returncode:
                errors.append(f"pycnm {' '.join(argv)}: {out.stderr.strip()}")
                break
        else:
            done.append(name)
    queue.put((done, errors))


def _api(sock_path: str, method: str, target: str, body: object = None) -> tuple[int, object]:
    import http.client
    import json
    import socket

    conn = http.client.HTTPConnection("localhost", timeout=60)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(60)
    sock.connect(sock_path)
    conn.sock = sock
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, target, body=data, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        raw = answer.read()
        if "json" not in (answer.getheader("Content-Type") or "") or not raw.strip():
            return answer.status, raw
        return answer.status, json.loads(raw)
    finally:
        conn.close()


def _daemon_connects(sock_path, tag, count, results):
    """``count`` sandboxes made and connected through pycnm daemon's API (a thread of the test)."""
    done, errors = [], []
    for i in range(count):
        name = f"{tag}s{i}"
        status, body = _api(sock_path, "POST", "/pycnm/v1/sandboxes/create", {"Name": name})
        if status != 201:
            errors.append(f"sandbox create {name}: {status} {body}")
            continue
        status, body = _api(sock_path, "POST", "/v1.41/networks/busy/connect", {"Container": name})
        if status != 200:
            errors.append(f"connect {name}: {status} {body}")
            continue
        done.append(name)
    results.append((done, errors))


def test_the_library_the_cli_and_the_daemon_on_one_state_directory_lose_and_double_nothing(
    controller, prefix, tmp_path
):
    import os
    import signal
    import threading
    import time

    controller.create_network("busy", "null", subnet="10.74.0.0/22")
    state = controller.state_dir
    sock_path = str(tmp_path / "d.sock")
    env = dict(os.environ, PYCNM_NETNS_PREFIX=f"{prefix}-", PYCNM_IFNAME_PREFIX=prefix, PYCNM_DISABLE_PLUGINS="1")
    log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115 - closed at the end
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pycnm.cli", "--state-dir", state, "daemon", "-H", f"unix://{sock_path}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    names: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
            try:
                if _api(sock_path, "GET", "/_ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the daemon did not answer in 60 s"
            time.sleep(0.05)
        ctx = multiprocessing.get_context("spawn")
        queue, stop = ctx.Queue(), ctx.Event()
        per = 8
        starters = [ctx.Process(target=_starters, args=(state, prefix, stop, queue)) for _ in range(2)]
        library = [
            ctx.Process(target=_connects, args=(state, prefix, f"lib{w}", per, w % 2 == 0, queue)) for w in range(4)
        ]
        cli = [ctx.Process(target=_cli_connects, args=(state, prefix, f"cli{w}", per, queue)) for w in range(4)]
        threads_out: list = []
        threads = [
            threading.Thread(target=_daemon_connects, args=(sock_path, f"api{w}", per, threads_out)) for w in range(4)
        ]
        for p in starters + library + cli:
            p.start()
        for t in threads:
            t.start()
        results = [queue.get(timeout=300) for _ in library + cli]
        for t in threads:
            t.join(timeout=300)
        stop.set()
        started = [queue.get(timeout=60) for _ in starters]
        for p in starters + library + cli:
            p.join(timeout=60)
            assert p.exitcode == 0
        errors = [e for _, errs in results + threads_out for e in errs]
        notes = [n for _, ns in started for n in ns]
        assert errors == [] and notes == [], (errors, notes)
        for ok, _ in results + threads_out:
            names += [d[0] if isinstance(d, tuple) else d for d in ok]
        assert len(names) == len(set(names)) == 12 * per
        endpoints = controller.network("busy").endpoints()
        by_sandbox = [controller.sandbox(ep.sandbox_id).name for ep in endpoints]
        assert sorted(by_sandbox) == sorted(names), "a connect that returned is missing, or one more"
        addresses = [str(ep.address.ip) for ep in endpoints]
        assert len(set(addresses)) == len(addresses), "an address was handed out twice"
        # the daemon, a Controller that lived through all of it, sees the same
        status, listed = _api(sock_path, "GET", "/v1.27/networks/busy")
        assert status == 200 and len(listed["Containers"]) == len(names)
        assert daemon.poll() is None, "the daemon died"
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        log.close()
        controller.delete_sandboxes([n for n in names if n])
