"""The embedded DNS of ``pycnm daemon``, asked by real clients from inside sandboxes: glibc's
resolver (getent, with the sandbox's resolv.conf as /etc/resolv.conf), busybox's nslookup and
dig; forwarding to an upstream the test runs on the lab's outside (the host's server, as its
resolv.conf names it), a dead upstream, an internal network."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from pycnm.dns.stub import StubUpstream
from pycnm.osl import netns

from .netlab import OUTSIDE_IP

pytestmark = pytest.mark.privileged

FORWARDED = "www.example.test."
FORWARDED_IP = "192.0.2.80"


def _reply(wire: bytes) -> bytes:
    """The outside's server: one name it knows, NXDOMAIN for the rest, TTL 0."""
    query = dns.message.from_wire(wire)
    reply = dns.message.make_response(query)
    question = query.question[0]
    if question.name.to_text().lower() == FORWARDED and question.rdtype == dns.rdatatype.A:
        reply.answer.append(dns.rrset.from_text(question.name, 0, "IN", "A", FORWARDED_IP))
    else:
        reply.set_rcode(dns.rcode.NXDOMAIN)
    return reply.to_wire()


@pytest.fixture
def upstream(lab):
    with netns.entered(lab.outside):  # its sockets live in the outside's namespace
        stub = StubUpstream(address=OUTSIDE_IP, port=53, reply=_reply)
    with stub:
        yield stub


@pytest.fixture
def dns_daemon(lab, tmp_path, prefix, upstream, controller_factory):
    """A daemon serving the embedded DNS on the state directory the test's Controller uses; the
    host's resolv.conf names the outside's server. ``ctl.restart()`` stops it and starts another."""
    ctl = controller_factory()
    resolv = tmp_path / "host-resolv.conf"
    resolv.write_text(f"nameserver {OUTSIDE_IP}\nsearch example.test\n")
    env = dict(
        os.environ,
        PYCNM_STATE_DIR=ctl.state_dir,
        PYCNM_NETNS_PREFIX=f"{prefix}-",
        PYCNM_IFNAME_PREFIX=prefix,
        PYCNM_DISABLE_PLUGINS="1",
        PYCNM_RESOLV_CONF=str(resolv),
    )
    os.environ["PYCNM_RESOLV_CONF"] = str(resolv)  # the test's Controller writes the same files
    sock = tmp_path / "daemon.sock"

    def start() -> subprocess.Popen:
        argv = ["nsenter", f"--net={lab.host}", sys.executable, "-m", "pycnm.cli", "daemon", "-H", f"unix://{sock}"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not _answers(sock):  # the socket is claimed before the services start: ask it
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)
        return proc

    def restart() -> None:
        ctl.daemon.send_signal(signal.SIGTERM)
        ctl.daemon.wait(timeout=30)
        ctl.daemon = start()

    ctl.daemon = start()  # the test may stop it
    ctl.restart = restart
    yield ctl
    ctl.daemon.send_signal(signal.SIGTERM)
    try:
        ctl.daemon.wait(timeout=30)
    finally:
        os.environ.pop("PYCNM_RESOLV_CONF", None)
        if ctl.daemon.poll() is None:
            ctl.daemon.kill()


def _answers(sock) -> bool:
    import socket

    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: pycnm\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def run(key: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["nsenter", f"--net={key}", *argv], check=False, capture_output=True, text=True, timeout=timeout
    )


def glibc(sb, *argv: str) -> subprocess.CompletedProcess:
    """``getent`` in the sandbox, with its resolv.conf as /etc/resolv.conf (a mount namespace of its own)."""
    script = f"mount --bind {sb.resolv_conf_path} /etc/resolv.conf && exec getent {' '.join(argv)}"
    return run(sb.key, "unshare", "-m", "sh", "-c", script)


def dig(sb, *argv: str) -> str:
    out = run(sb.key, "dig", "@127.0.0.11", "+time=4", "+tries=1", *argv)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def answers(sb, name: str, kind: str = "A", tcp: bool = False) -> list[str]:
    return dig(sb, "+short", *(["+tcp"] if tcp else []), name, kind).split()


def status(sb, name: str) -> str:
    text = dig(sb, name)
    return text.split("status: ", 1)[1].split(",", 1)[0]


def eventually(check, timeout: float = 5.0):
    """``check()`` until it is true (the daemon follows the store within a poll interval)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def served(sb) -> bool:
    with open(sb.resolv_conf_path) as fh:
        if "nameserver 127.0.0.11" not in fh.read():
            return False
    return run(sb.key, "dig", "@127.0.0.11", "+time=1", "+tries=1", "+short", sb.name).returncode == 0


@pytest.fixture
def two(dns_daemon):
    ctl = dns_daemon
    net = ctl.create_network("n1", "bridge", subnet="10.213.0.0/24")
    a, b = ctl.create_sandbox("a"), ctl.create_sandbox("b", hostname="bee")
    ctl.connect(net, a)
    ep_b = ctl.connect(net, b, aliases=["web"])
    if not eventually(lambda: served(a) and served(b)):
        ctl.daemon.send_signal(signal.SIGTERM)
        _, err = ctl.daemon.communicate(timeout=30)
        with open(a.resolv_conf_path) as fh:
            raise AssertionError(f"the sandboxes got no embedded DNS: {fh.read()!r} {err[-3000:]}")
    return ctl, a, b, str(ep_b.address.ip)


def test_a_sandbox_finds_another_by_name_alias_hostname_short_id_and_name_dot_network(two):
    _ctl, a, b, ip = two
    assert glibc(a, "hosts", "b").stdout.split()[0] == ip  # glibc's resolver
    assert ip in run(a.key, "busybox", "nslookup", "web", "127.0.0.11").stdout  # busybox's
    for name in ("b", "web", "bee", b.id[:12], "b.n1"):  # dig
        assert answers(a, name) == [ip], name
    assert dig(a, "+short", "-x", ip).split() == ["b.n1."]  # PTR: the sandbox's name on the network
    assert answers(a, "b", tcp=True) == [ip]  # TCP too
    assert answers(a, "b", "AAAA") == [] and status(a, "b") == "NOERROR"  # known name, no IPv6
    with open(a.resolv_conf_path) as fh:
        assert fh.read().splitlines()[0] == "nameserver 127.0.0.11"


def test_getent_ahosts_gets_every_answer_over_one_connection_and_udp(two):
    _ctl, a, _b, ip = two
    out = glibc(a, "ahosts", "web")
    assert out.returncode == 0 and ip in out.stdout


def test_names_follow_connects_and_disconnects(two):
    ctl, a, _b, _ip = two
    c = ctl.create_sandbox("c")
    ep = ctl.connect("n1", c)
    assert eventually(lambda: answers(a, "c") == [str(ep.address.ip)])
    ctl.disconnect("n1", c)
    assert eventually(lambda: status(a, "c") == "NXDOMAIN")  # gone here, and unknown upstream


def test_a_name_that_is_not_local_is_forwarded_to_the_host_s_server(two, upstream):
    _ctl, a, _b, _ip = two
    assert answers(a, FORWARDED) == [FORWARDED_IP]
    assert status(a, "nowhere.example.test") == "NXDOMAIN"  # passed through
    assert any(q[0].lower() == FORWARDED for q in upstream.questions)


def test_a_sandbox_s_own_dead_server_gives_servfail_in_time(dns_daemon):
    ctl = dns_daemon
    net = ctl.create_network("n2", "bridge", subnet="10.213.1.0/24")
    sb = ctl.create_sandbox("lonely", dns=["203.0.113.99"])  # nobody answers there
    ctl.connect(net, sb)
    assert eventually(lambda: served(sb))
    started = time.monotonic()
    assert status(sb, "anything.example.test") == "SERVFAIL"  # dig waits 4 s: the answer came first
    print(f"SERVFAIL after {time.monotonic() - started:.2f} s")


def test_an_internal_network_never_forwards_through_the_host(dns_daemon, upstream):
    ctl = dns_daemon
    net = ctl.create_network("inside", "bridge", subnet="10.213.2.0/24", internal=True)
    x, y = ctl.create_sandbox("x"), ctl.create_sandbox("y")
    ctl.connect(net, x)
    ep_y = ctl.connect(net, y)
    assert eventually(lambda: served(x))
    assert answers(x, "y") == [str(ep_y.address.ip)]  # its own names still answer
    before = upstream.queries
    assert status(x, FORWARDED) == "SERVFAIL"
    assert upstream.queries == before


def test_port_53_stays_free_for_the_sandbox_s_own_server(two):
    _ctl, a, _b, _ip = two
    code = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 53)); print('ok')"
    out = run(a.key, sys.executable, "-c", code)
    assert out.stdout.strip() == "ok", out.stderr


def test_a_sandbox_s_own_stateful_firewall_lets_the_resolver_s_replies_in(two):
    """The resolver's ports are rewritten statelessly; where the sandbox tracks connections, a
    query and its reply must still be one connection (replies are let in as established)."""
    _ctl, a, _b, ip = two
    rules = (
        "table ip userfw {\n chain input {\n type filter hook input priority 0; policy drop;\n"
        " ct state established,related accept\n ip daddr 127.0.0.11 accept\n }\n}\n"
    )
    subprocess.run(["nsenter", f"--net={a.key}", "nft", "-f", "-"], input=rules, text=True, check=True)
    try:
        assert answers(a, "b") == [ip]
        assert answers(a, "b", tcp=True) == [ip]
    finally:
        subprocess.run(["nsenter", f"--net={a.key}", "nft", "delete", "table", "ip", "userfw"], check=True)
    assert answers(a, "b") == [ip]


def test_the_pycnm_cli_asks_a_sandbox_s_resolver_from_the_host(two, tmp_path):
    ctl, _a, _b, ip = two
    sock = tmp_path / "daemon.sock"
    out = subprocess.run(  # noqa: PLW1510 - the exit code is the assertion
        [
            sys.executable,
            "-m",
            "pycnm.cli",
            "-H",
            f"unix://{sock}",
            "--state-dir",
            ctl.state_dir,
            "dns",
            "query",
            "web",
            "--sandbox",
            "a",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert ip in out.stdout


def served_sandbox(ctl, n: int, name: str):
    """A sandbox on a new bridge network ``n<n>``, once the daemon serves it; and the network."""
    net = ctl.create_network(f"n{n}", "bridge", subnet=f"10.213.{n}.0/24")
    sb = ctl.create_sandbox(name)
    ctl.connect(net, sb)
    assert eventually(lambda: served(sb))
    return sb, net


def test_a_stopped_daemon_gives_the_sandboxes_the_host_s_servers_back(dns_daemon):
    ctl = dns_daemon
    sb, net = served_sandbox(ctl, 3, "s")
    ctl.daemon.send_signal(signal.SIGTERM)
    ctl.daemon.wait(timeout=30)
    with open(sb.resolv_conf_path) as fh:
        text = fh.read()
    assert f"nameserver {OUTSIDE_IP}" in text and "127.0.0.11" not in text
    sb2 = ctl.create_sandbox("later")
    ctl.connect(net, sb2)  # no daemon: the host's servers, as without the embedded DNS
    with open(sb2.resolv_conf_path) as fh:
        assert "127.0.0.11" not in fh.read()


def test_a_restarted_daemon_serves_the_sandboxes_again_over_the_table_it_finds(dns_daemon):
    from pycnm.daemon.dns import _table_ports

    ctl = dns_daemon
    sb, net = served_sandbox(ctl, 5, "r")
    address = str(ctl.connect(net, ctl.create_sandbox("other")).address.ip)
    assert eventually(lambda: answers(sb, "other") == [address])
    with netns.entered(sb.key):
        ports = _table_ports()
    assert ports is not None
    ctl.restart()  # its first pass binds the ports the table names, and leaves the table alone
    assert eventually(lambda: served(sb)) and answers(sb, "other") == [address]
    with netns.entered(sb.key):
        assert _table_ports() == ports
    out = run(sb.key, "dig", "@127.0.0.11", "+tcp", "+time=4", "+tries=1", "+short", "other")
    assert out.stdout.split() == answers(sb, "other")


def test_a_killed_daemon_s_sandboxes_are_refused_at_once_not_left_waiting(dns_daemon):
    ctl = dns_daemon
    sb, _ = served_sandbox(ctl, 4, "k")
    ctl.daemon.kill()  # (the pid this test started) no clean-up: the table and resolv.conf stay
    ctl.daemon.wait(timeout=30)
    with open(sb.resolv_conf_path) as fh:
        assert "nameserver 127.0.0.11" in fh.read()
    out = run(sb.key, "dig", "@127.0.0.11", "+time=4", "+tries=1", "example.com")
    # not ";; connection timed out": the ICMP error names port 53, which dig's socket knows
    assert "connection refused" in out.stdout, out.stdout + out.stderr
    out = run(sb.key, "dig", "@127.0.0.11", "+tcp", "+time=4", "+tries=1", "example.com")
    assert "connection refused" in out.stdout, out.stdout + out.stderr


def test_the_sandbox_table_is_rewritten_in_place_by_a_restarted_daemon(prefix, no_leaks):
    """Each table written replaces the last one's ports (over an earlier version's NAT table
    too); what 127.0.0.11:53 reaches is the last one's socket."""
    import socket

    from pycnm.daemon.dns import _nat, _table_ports
    from pycnm.osl import nft

    path = f"/run/netns/{prefix}-tbl"
    netns.create(path)
    try:
        with netns.entered(path):
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            assert _table_ports() is None
            # the table as pycnm 0.x wrote it (DNAT), then two daemon starts
            nft.run_once(
                "add table ip pycnm-dns\n"
                "add chain ip pycnm-dns output { type nat hook output priority -100; policy accept; }\n"
                "add rule ip pycnm-dns output ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:9"
            )
            assert _table_ports() is None  # (not this version's chains: they are added)
            socks = []
            for _ in range(2):
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                udp.bind(("127.0.0.11", 0))
                udp.settimeout(2)
                socks.append(udp)
                nft.run_once(_nat(udp.getsockname()[1], 9))
            asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            asker.settimeout(2)
            asker.connect(("127.0.0.11", 53))
            asker.send(b"query")
            data, source = socks[1].recvfrom(64)
            assert data == b"query"
            socks[1].sendto(b"reply", source)
            assert asker.recv(64) == b"reply"  # from 127.0.0.11:53, or a connected socket drops it
            socks[0].setblocking(False)
            with pytest.raises(BlockingIOError):
                socks[0].recv(64)
            listed = subprocess.run(
                ["nft", "list", "table", "ip", "pycnm-dns"], check=True, capture_output=True, text=True
            ).stdout
            assert listed.count(" set ") == 5 and "dnat" not in listed, listed
            # what a restart finds: this version's table and the ports it names
            assert _table_ports() == (socks[1].getsockname()[1], 9)
            for sock in (*socks, asker):
                sock.close()
    finally:
        netns.delete(path)


def test_a_pass_of_the_dns_service_reads_only_what_changed(lab_controller, tmp_path, monkeypatch):
    """A connect costs the service the records it changed, however many sandboxes there are
    (every pass used to decode every record: 167 s for 1000 create+connects through the daemon)."""
    from pycnm import codec
    from pycnm.daemon import dns as service
    from pycnm.dns import wire
    from pycnm.dns.names import lookup

    ctl = lab_controller
    net = ctl.create_network("n1", "bridge", subnet="10.214.0.0/24")
    for i in range(30):
        ctl.connect(net, ctl.create_sandbox(f"s{i}"))
    resolv = tmp_path / "no-servers.conf"
    resolv.write_text("")
    svc = service.DNSService(ctl, engine=None, resolv_conf=str(resolv))
    decoded: list[type] = []

    class Counting:
        @staticmethod
        def loads(value, cls):
            decoded.append(cls)
            return codec.loads(value, cls)

    monkeypatch.setattr(service, "codec", Counting)

    def one_pass() -> int:
        decoded.clear()
        with ctl.lock:
            svc._sync()
        return len(decoded)

    try:
        assert one_pass() >= 61 and len(svc._clients) == 30  # the first: everything
        assert one_pass() == 0  # nothing changed: nothing read
        late = ctl.create_sandbox("late")
        ep = ctl.connect(net, late)
        assert one_pass() <= 4  # its sandbox and its endpoint record, whatever came before
        assert late.id in svc._clients
        found = lookup([svc.names.snapshot.networks[net.id]], b"\x04late\x00", wire.A)
        assert found is not None and found[0][0][0].endswith(ep.address.ip.packed)
        ctl.disconnect(net, late)
        assert one_pass() <= 4 and late.id not in svc._clients
        assert lookup([svc.names.snapshot.networks[net.id]], b"\x04late\x00", wire.A) is None
        decoded.clear()
        with ctl.lock:
            svc._sync(full=True)  # the periodic full pass finds the same, decoding nothing it has
        assert len(svc._clients) == 30 and decoded == []
    finally:
        for sid in list(svc._clients):
            svc._client_down(sid)
        svc.resolver.stop()


def test_a_pass_catches_up_with_a_network_whose_driver_gives_dns_late_and_retries_a_failed_resolver(
    lab_controller, tmp_path, monkeypatch
):
    """Nothing in the store changes in either case: the next pass must still do what a full
    pass would (a remote driver that loads late; a resolver whose set-up failed once)."""
    from pycnm.daemon import dns as service

    ctl = lab_controller
    net = ctl.create_network("n1", "bridge", subnet="10.215.0.0/24")
    a, b = ctl.create_sandbox("sa"), ctl.create_sandbox("sb")
    ctl.connect(net, a)
    ctl.connect(net, b)
    resolv = tmp_path / "no-servers.conf"
    resolv.write_text("")
    svc = service.DNSService(ctl, engine=None, resolv_conf=str(resolv))
    loaded = [False]
    real_has_dns = svc._has_dns
    monkeypatch.setattr(svc, "_has_dns", lambda n: loaded[0] and real_has_dns(n))
    real_up = svc._client_up
    failing = {b.id}

    def client_up(sid, key):
        if sid in failing:
            failing.discard(sid)
            raise OSError("no descriptors left (the test's)")
        real_up(sid, key)

    monkeypatch.setattr(svc, "_client_up", client_up)

    def one_pass():
        with ctl.lock:
            svc._sync()

    try:
        one_pass()
        assert svc._clients == {} and net.id not in svc.names.snapshot.networks  # no DNS yet
        loaded[0] = True  # the driver says DNS now; the store says nothing new
        one_pass()
        assert set(svc._clients) == {a.id} and svc.errors == 1  # b's set-up failed once
        assert {b"\x02sa\x00", b"\x02sb\x00"} <= set(svc.names.snapshot.networks[net.id].addr)  # b's name too
        one_pass()  # nothing changed again: b is tried again
        assert set(svc._clients) == {a.id, b.id}
    finally:
        for sid in list(svc._clients):
            svc._client_down(sid)
        svc.resolver.stop()
