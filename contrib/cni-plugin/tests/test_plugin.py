"""pycnm-cni as a runtime sees it: exec'd with CNI_* variables and stdin, against a fake daemon.

Every test runs the plugin as podman and containerd do (a new process, its environment, its
stdin) and checks two things: what reached the daemon (the fake one here, on a unix socket in a
temporary directory) and what the runtime got back (stdout, stderr, exit status). No test talks
to a real daemon: each points the plugin at its own socket, and its state directory at a
temporary one.
"""

from __future__ import annotations

import ast
import json
import shutil
import socket
import socketserver
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pycnm_cni_plugin.py"
try:
    import pycnm_cni_plugin as plugin
except ImportError:  # not installed in this environment: the tests exec the source file anyway
    sys.path.insert(0, str(SRC.parent))
    import pycnm_cni_plugin as plugin
#: the runtime execs the standalone form: the module under `python -IS`
PLUGIN = [sys.executable, "-IS", str(SRC)]
GO_BRIDGE = Path("/usr/lib/cni/bridge")
SUPPORTED = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

ADD_RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "eth0", "mac": "02:42:0a:58:00:05", "sandbox": "/run/netns/cni-1"}],
    "ips": [{"address": "10.88.0.5/16", "gateway": "10.88.0.1", "interface": 0}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {},
}


# ---- the fake daemon ---------------------------------------------------------------------------


@dataclass
class Received:
    """One request as it reached the daemon, byte for byte."""

    request_line: str
    header_lines: list[str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def http_answer(obj: Any, *, status: str = "200 OK", framing: str = "length") -> bytes:
    """An HTTP/1.1 answer carrying ``obj`` as JSON, framed by Content-Length, chunked encoding
    (in uneven chunks, with an extension and a trailer) or the end of the connection."""
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nServer: fake-pycnm\r\n"
    if framing == "length":
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    if framing == "chunked":
        chunks, rest = [], body
        for size in (1, 7, 64):
            chunks.append(rest[:size])
            rest = rest[size:]
        chunks.append(rest)
        out = f"{head}Transfer-Encoding: chunked\r\n\r\n".encode()
        for i, chunk in enumerate(c for c in chunks if c):
            ext = ";note=x" if i == 1 else ""
            out += f"{len(chunk):x}{ext}\r\n".encode() + chunk + b"\r\n"
        return out + b"0\r\nX-Trailer: done\r\n\r\n"
    if framing == "eof":
        return f"{head}Connection: close\r\n\r\n".encode() + body
    raise ValueError(framing)


def ok(result: Any = None, **kwargs: Any) -> Callable[[Received], bytes]:
    return lambda _req: http_answer({"ok": True, "result": result}, **kwargs)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        fake: FakeDaemon = self.server.fake  # type: ignore[attr-defined]
        sock = self.request
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        while len(body) < int(headers.get("content-length", "0")):
            body += sock.recv(65536)
        received = Received(lines[0], lines[1:], headers, body)
        fake.received.append(received)
        answer = fake.reply(received)
        if answer:
            sock.sendall(answer)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeDaemon:
    """pycnm daemon's CNI route, faked: records each request, answers with ``reply(request)``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.received: list[Received] = []
        self.reply: Callable[[Received], bytes] = ok(ADD_RESULT)
        self.release = threading.Event()  # a reply that stalls waits on this
        self._server = _Server(path, _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # a unix socket path is at most 107 bytes: pytest's tmp_path can be longer
    path = Path(tempfile.mkdtemp(prefix="pycnm-cni-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon(sockdir: Path) -> Iterator[FakeDaemon]:
    fake = FakeDaemon(str(sockdir / "d.sock"))
    yield fake
    fake.close()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


# ---- running the plugin ------------------------------------------------------------------------


@dataclass
class Ran:
    status: int
    stdout: str
    stderr: str
    answer: Any = field(default=None)


def run(env: dict[str, str], stdin: str | bytes = b"", *, command: list[str] | None = None) -> Ran:
    """Exec the plugin as a runtime does: the given environment only, stdin, stdout captured."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run(command or PLUGIN, input=data, env=env, capture_output=True, timeout=30, check=False)
    out = done.stdout.decode()
    answer = json.loads(out) if out.strip() else None
    return Ran(done.returncode, out, done.stderr.decode(), answer)


def config(version: str = "1.0.0", name: str = "podman", **extra: Any) -> str:
    return json.dumps({"cniVersion": version, "name": name, "type": "pycnm-cni", **extra})


def add_env(**overrides: str) -> dict[str, str]:
    env = {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "c0ffee",
        "CNI_NETNS": "/run/netns/cni-1",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/usr/lib/cni",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def at(fake: FakeDaemon | str, state: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` pointed at the fake daemon (or a socket path) and the temporary state directory."""
    path = fake.path if isinstance(fake, FakeDaemon) else fake
    return {**env, "PYCNM_HOST": f"unix://{path}", "PYCNM_STATE_DIR": str(state)}


def queue_files(state: Path) -> list[Path]:
    directory = state / "cni" / "queue"
    return sorted(directory.iterdir()) if directory.exists() else []


# ---- VERSION -----------------------------------------------------------------------------------


def test_version_is_answered_without_a_daemon_in_the_configs_version():
    got = run({"CNI_COMMAND": "VERSION", "PYCNM_HOST": "unix:///nonexistent/d.sock"}, '{"cniVersion":"1.0.0"}')
    assert got.status == 0 and got.stderr == ""
    assert got.answer == {"cniVersion": "1.0.0", "supportedVersions": SUPPORTED}


def test_version_without_a_config_answers_the_latest_version():
    got = run({"CNI_COMMAND": "VERSION"})
    assert got.answer == {"cniVersion": "1.1.0", "supportedVersions": SUPPORTED}


def test_version_ignores_a_stdin_that_is_not_json_as_skel_does():
    got = run({"CNI_COMMAND": "VERSION"}, "not json")
    assert got.status == 0 and got.answer["cniVersion"] == "1.1.0"


# ---- forwarding to the daemon ------------------------------------------------------------------


def test_add_reaches_the_daemon_as_one_post_with_every_cni_variable_and_the_raw_stdin(daemon, state):
    stdin = '{"cniVersion": "1.0.0",\n  "name": "podman", "type": "pycnm-cni", "x": "\\u00e9\u00e8"}\n\n'
    env = at(
        daemon,
        state,
        add_env(CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=web", CNI_NETNS_OVERRIDE="1", HOME="/root", UNRELATED="x"),
    )
    got = run(env, stdin)

    assert got.status == 0, got
    assert got.answer == ADD_RESULT and got.stderr == ""
    [req] = daemon.received
    assert req.request_line == "POST /pycnm/v1/cni HTTP/1.1"
    assert req.header_lines == [
        "Host: pycnm",
        "Content-Type: application/json",
        f"Content-Length: {len(req.body)}",
        "Connection: close",
    ]
    assert req.json == {
        "env": {k: v for k, v in env.items() if k.startswith("CNI_")},
        "stdin": stdin,  # the text as given: whitespace, escapes and all
    }


def test_the_daemons_error_reaches_the_runtime_with_the_configs_cni_version(daemon, state):
    daemon.reply = lambda _r: http_answer(
        {"ok": False, "error": {"code": 7, "msg": "invalid network config: x", "details": "what to do"}}
    )
    got = run(at(daemon, state, add_env()), config("0.4.0"))
    assert got.status == 1
    assert got.answer == {"cniVersion": "0.4.0", "code": 7, "msg": "invalid network config: x", "details": "what to do"}


def test_a_cni_version_the_daemon_names_in_its_error_is_kept(daemon, state):
    daemon.reply = lambda _r: http_answer({"ok": False, "error": {"cniVersion": "1.0.0", "code": 3, "msg": "gone"}})
    got = run(at(daemon, state, add_env()), config("1.0.0"))
    assert got.answer == {"cniVersion": "1.0.0", "code": 3, "msg": "gone"}


@pytest.mark.parametrize(
    "command,env",
    [
        ("DEL", {"CNI_CONTAINERID": "c0ffee", "CNI_IFNAME": "eth0"}),
        ("CHECK", {"CNI_CONTAINERID": "c0ffee", "CNI_NETNS": "/run/netns/cni-1", "CNI_IFNAME": "eth0"}),
        ("GC", {}),
        ("STATUS", {}),
    ],
)
def test_verbs_without_a_result_print_nothing_and_succeed(daemon, state, command, env):
    daemon.reply = ok(None)
    got = run(at(daemon, state, {"CNI_COMMAND": command, **env}), config("1.1.0"))
    assert (got.status, got.stdout, got.stderr) == (0, "", "")
    assert daemon.received[0].json["env"]["CNI_COMMAND"] == command


@pytest.mark.parametrize("framing", ["length", "chunked", "eof"])
def test_an_answer_framed_by_length_chunks_or_end_of_connection_is_read_whole(daemon, state, framing):
    daemon.reply = ok(ADD_RESULT, framing=framing)
    got = run(at(daemon, state, add_env()), config())
    assert got.status == 0 and got.answer == ADD_RESULT


def test_an_interim_100_continue_answer_is_skipped(daemon, state):
    daemon.reply = lambda _r: b"HTTP/1.1 100 Continue\r\n\r\n" + http_answer({"ok": True, "result": ADD_RESULT})
    assert run(at(daemon, state, add_env()), config()).answer == ADD_RESULT


def test_the_configs_socket_wins_over_pycnm_host(daemon, state, sockdir):
    env = at(str(sockdir / "elsewhere.sock"), state, add_env())
    got = run(env, config(pycnm={"socket": daemon.path}))
    assert got.status == 0 and len(daemon.received) == 1


def test_the_socket_is_the_configs_then_pycnm_hosts_then_the_default():
    assert plugin.socket_path({"pycnm": {"socket": "/a.sock"}}, {"PYCNM_HOST": "unix:///b.sock"}) == "/a.sock"
    assert plugin.socket_path({"pycnm": {"socket": "unix:///a.sock"}}, {}) == "/a.sock"
    assert plugin.socket_path({}, {"PYCNM_HOST": "unix:///b.sock"}) == "/b.sock"
    assert plugin.socket_path({}, {}) == "/run/pycnm/pycnm.sock"
    # a relative path would mean the runtime's working directory: not taken (the daemon refuses it)
    assert plugin.socket_path({"pycnm": {"socket": "d.sock"}}, {}) == "/run/pycnm/pycnm.sock"
    # the CLI's PYCNM_HOST may name a TCP endpoint: the CNI client has no use for it
    assert plugin.socket_path({}, {"PYCNM_HOST": "tcp://127.0.0.1:2375"}) == "/run/pycnm/pycnm.sock"


def test_the_queue_is_under_the_configs_state_dir_then_pycnm_state_dirs_then_the_default():
    assert plugin.queue_dir({"pycnm": {"stateDir": "/s"}}, {"PYCNM_STATE_DIR": "/t"}) == "/s/cni/queue"
    assert plugin.queue_dir({}, {"PYCNM_STATE_DIR": "/t/"}) == "/t/cni/queue"
    assert plugin.queue_dir({}, {}) == "/var/lib/pycnm/cni/queue"


# ---- the daemon down ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ADD", "CHECK"])
def test_add_and_check_with_no_socket_answer_try_again_later_naming_it(state, sockdir, command):
    path = str(sockdir / "absent.sock")
    got = run(at(path, state, add_env(CNI_COMMAND=command)), config())
    assert got.status == 1 and got.stderr == ""
    assert got.answer["code"] == 11 and got.answer["cniVersion"] == "1.0.0"
    assert path in got.answer["details"] and "pycnm daemon" in got.answer["details"]
    assert queue_files(state) == []


def test_add_answers_try_again_later_when_the_connection_is_refused(state, sockdir):
    path = str(sockdir / "refusing.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)  # bound, never listening: connect() is refused
    try:
        got = run(at(path, state, add_env()), config())
    finally:
        listener.close()
    assert got.answer["code"] == 11 and "refused" in got.answer["details"]


def test_add_answers_try_again_later_when_the_daemon_does_not_answer_in_time(daemon, state):
    daemon.reply = lambda _r: (daemon.release.wait(10), b"")[1]
    started = time.monotonic()
    got = run(at(daemon, state, add_env()), config(pycnm={"timeout": 0.5}))
    assert got.answer["code"] == 11 and "in time" in got.answer["details"]
    assert time.monotonic() - started < 5


def test_a_del_with_the_daemon_down_succeeds_silently_and_queues_the_request(state, sockdir):
    path = str(sockdir / "absent.sock")
    stdin = config()
    env = at(path, state, {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c0ffee", "CNI_IFNAME": "eth0"})
    got = run(env, stdin)

    assert (got.status, got.stdout, got.stderr) == (0, "", "")
    [entry] = queue_files(state)
    assert entry.name.endswith("-DEL-c0ffee-eth0.json") and entry.name[:20].isdigit()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    record = json.loads(entry.read_text())
    assert record["env"] == {k: v for k, v in env.items() if k.startswith("CNI_")}
    assert record["stdin"] == stdin
    assert record["queued"]["socket"] == path and "no socket" in record["queued"]["reason"]
    assert abs(record["queued"]["time"] - time.time()) < 60


def test_queued_requests_sort_in_arrival_order_and_leave_no_temporary_file(state, sockdir):
    env = at(str(sockdir / "absent.sock"), state, {"CNI_COMMAND": "DEL", "CNI_IFNAME": "eth0"})
    for cid in ("first", "second", "third"):
        assert run({**env, "CNI_CONTAINERID": cid}, config()).status == 0
    names = [p.name for p in queue_files(state)]
    assert [n.split("-DEL-")[1] for n in names] == ["first-eth0.json", "second-eth0.json", "third-eth0.json"]


def test_a_del_is_queued_when_the_connection_breaks_in_the_middle_of_the_answer(daemon, state):
    daemon.reply = lambda _r: b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"ok": tr'
    got = run(at(daemon, state, {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"}), config())
    assert got.status == 0 and len(queue_files(state)) == 1 and len(daemon.received) == 1


def test_a_gc_with_the_daemon_down_is_queued(state, sockdir):
    got = run(
        at(str(sockdir / "absent.sock"), state, {"CNI_COMMAND": "GC", "CNI_PATH": "/usr/lib/cni"}),
        config("1.1.0", **{"cni.dev/attachments": []}),
    )
    assert (got.status, got.stdout) == (0, "")
    [entry] = queue_files(state)
    assert entry.name.endswith("-GC-podman.json")


def test_status_with_the_daemon_down_is_plugin_not_available_and_counts_the_queue(state, sockdir):
    path = str(sockdir / "absent.sock")
    for cid in ("a", "b"):
        run(at(path, state, {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": cid, "CNI_IFNAME": "eth0"}), config())
    got = run(at(path, state, {"CNI_COMMAND": "STATUS"}), config("1.1.0"))
    assert got.status == 1 and got.answer["code"] == 50
    assert "2 queued request(s)" in got.answer["details"] and path in got.answer["details"]


def test_a_del_that_can_be_neither_done_nor_queued_fails_with_an_io_error(tmp_path, sockdir):
    blocker = tmp_path / "file"
    blocker.write_text("")  # the state dir is under a file: the queue cannot be made
    env = {
        "CNI_COMMAND": "DEL",
        "CNI_CONTAINERID": "c1",
        "CNI_IFNAME": "eth0",
        "PYCNM_HOST": f"unix://{sockdir}/absent.sock",
        "PYCNM_STATE_DIR": str(blocker / "state"),
    }
    got = run(env, config())
    assert got.status == 1 and got.answer["code"] == 5 and str(blocker) in got.answer["details"]


def test_http_503_from_the_daemon_is_try_again_later(daemon, state):
    daemon.reply = lambda _r: http_answer(b"starting up", status="503 Service Unavailable")
    assert run(at(daemon, state, add_env()), config()).answer["code"] == 11


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
        b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{"ok": 1}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_an_answer_not_in_the_protocol_is_an_internal_error_for_add_and_queues_a_del(daemon, state, garbage):
    daemon.reply = lambda _r: garbage
    got = run(at(daemon, state, add_env()), config())
    assert got.status == 1 and got.answer["code"] == 999
    got = run(at(daemon, state, {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0"}), config())
    assert got.status == 0 and len(queue_files(state)) == 1


def test_an_add_answered_without_a_result_is_an_internal_error(daemon, state):
    daemon.reply = ok(None)
    assert run(at(daemon, state, add_env()), config()).answer["code"] == 999


# ---- what the client itself refuses (before any daemon call) -----------------------------------


@pytest.mark.parametrize(
    "stdin", [b"{not json", b"[1, 2]", b'"text"', b"", b'{"cniVersion": NaN}', b'{"name": "\xff"}', b"[" * 100_000]
)
def test_stdin_that_is_not_a_json_object_is_code_6_and_never_reaches_the_daemon(daemon, state, stdin):
    got = run(at(daemon, state, add_env()), stdin)
    assert got.status == 1 and got.answer["code"] == 6 and got.answer["msg"].startswith("failed to decode content")
    assert daemon.received == []


REQUIRED = {
    "ADD": ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
    "DEL": ["CNI_CONTAINERID", "CNI_IFNAME"],
    "CHECK": ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
}


@pytest.mark.parametrize("command,variable", [(c, v) for c, vs in REQUIRED.items() for v in vs])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_each_verb_refuses_a_missing_or_empty_required_variable_naming_it(daemon, state, command, variable, how):
    env = add_env(CNI_COMMAND=command)
    if how == "unset":
        del env[variable]
    else:
        env[variable] = ""
    got = run(at(daemon, state, env), config())
    assert got.status == 1 and got.answer["code"] == 4 and variable in got.answer["msg"]
    assert daemon.received == []


def test_every_missing_variable_is_named_at_once(daemon, state):
    got = run(at(daemon, state, {"CNI_COMMAND": "ADD"}), config())
    assert got.answer["msg"] == "invalid environment variables: CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME missing"


def test_del_needs_no_netns_and_gc_status_need_no_attachment_at_all(daemon, state):
    daemon.reply = ok(None)
    delete = {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "e"}
    assert run(at(daemon, state, delete), config()).status == 0
    assert run(at(daemon, state, {"CNI_COMMAND": "GC"}), config("1.1.0")).status == 0
    assert run(at(daemon, state, {"CNI_COMMAND": "STATUS"}), config("1.1.0")).status == 0
    assert len(daemon.received) == 3


@pytest.mark.parametrize(
    "value,msg",
    [
        (None, "invalid environment variables: CNI_COMMAND is missing"),
        ("", "invalid environment variables: CNI_COMMAND is missing"),
        ("add", 'invalid environment variables: CNI_COMMAND is unknown: "add"'),
        ("FROB", 'invalid environment variables: CNI_COMMAND is unknown: "FROB"'),
    ],
)
def test_a_missing_or_unknown_cni_command_is_code_4(daemon, state, value, msg):
    env = add_env(CNI_COMMAND=value)
    got = run(at(daemon, state, env), config())
    assert (got.status, got.answer["code"], got.answer["msg"]) == (1, 4, msg)


@pytest.mark.parametrize("version", ["9.9.9", "0.2.0", "0.1.0", "1.0", None])
def test_a_cni_version_pycnm_does_not_speak_is_code_1_listing_the_ones_it_does(daemon, state, version):
    stdin = json.dumps({"name": "n"} if version is None else {"cniVersion": version, "name": "n"})
    got = run(at(daemon, state, add_env()), stdin)
    assert got.answer["code"] == 1 and got.answer["msg"] == "incompatible CNI versions"
    assert "0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0" in got.answer["details"]
    assert daemon.received == []


@pytest.mark.parametrize("command,version", [("CHECK", "0.3.1"), ("GC", "1.0.0"), ("STATUS", "0.4.0")])
def test_a_verb_newer_than_the_configs_version_is_code_1(daemon, state, command, version):
    got = run(at(daemon, state, add_env(CNI_COMMAND=command)), config(version))
    assert got.answer["code"] == 1 and got.answer["msg"] == f"config version does not allow {command}"


@pytest.mark.parametrize(
    "variable,value",
    [
        ("CNI_CONTAINERID", "-c0ffee"),
        ("CNI_CONTAINERID", "../../etc"),
        ("CNI_CONTAINERID", "a b"),
        ("CNI_CONTAINERID", "caf\u00e9"),
        ("CNI_IFNAME", "a" * 16),
        ("CNI_IFNAME", "."),
        ("CNI_IFNAME", ".."),
        ("CNI_IFNAME", "eth/0"),
        ("CNI_IFNAME", "eth:0"),
        ("CNI_IFNAME", "eth\t0"),
        ("CNI_IFNAME", "\u00e9" * 8),
    ],
)
def test_a_container_id_or_ifname_the_spec_refuses_is_code_4_naming_it(daemon, state, variable, value):
    for command in ("ADD", "DEL"):
        got = run(at(daemon, state, add_env(CNI_COMMAND=command, **{variable: value})), config())
        assert got.answer["code"] == 4 and variable in got.answer["msg"], got
    assert daemon.received == [] and queue_files(state) == []


@pytest.mark.parametrize(
    "stdin,code",
    [
        ('{"cniVersion": "1.0.0"}', 7),
        ('{"cniVersion": "1.0.0", "name": "-n"}', 7),
        ('{"cniVersion": "1.0.0", "name": 5}', 6),
        ('{"cniVersion": 1, "name": "n"}', 6),
    ],
)
def test_a_missing_or_malformed_network_name_or_version_field_is_refused(daemon, state, stdin, code):
    assert run(at(daemon, state, add_env()), stdin).answer["code"] == code


def test_stdout_holds_one_json_object_and_stderr_nothing_unless_debugging(daemon, state, sockdir):
    for env in (
        at(daemon, state, add_env()),
        at(str(sockdir / "absent.sock"), state, add_env()),
        at(daemon, state, add_env(CNI_IFNAME="")),
        {"CNI_COMMAND": "VERSION"},
    ):
        got = run(env, config())
        assert got.stderr == ""
        assert got.stdout.endswith("\n") and got.stdout.count("\n") == 1
        json.loads(got.stdout)


def test_pycnm_cni_debug_writes_diagnostics_to_stderr_only(daemon, state):
    got = run({**at(daemon, state, add_env()), "PYCNM_CNI_DEBUG": "1"}, config())
    assert got.answer == ADD_RESULT
    assert f"ADD c0ffee eth0 -> unix:{daemon.path}" in got.stderr and "HTTP 200" in got.stderr


# ---- the client and the daemon's spec module agree -----------------------------------------------

BAD_INPUTS = [
    ({"CNI_COMMAND": "ADD"}, config()),
    (add_env(CNI_COMMAND="FROB"), config()),
    (add_env(CNI_IFNAME=None), config()),
    (add_env(), "{not json"),
    (add_env(), "[]"),
    (add_env(), '{"cniVersion": "1.0.0"}'),
    (add_env(), '{"cniVersion": "1.0.0", "name": "a b"}'),
    (add_env(), '{"cniVersion": "1.0.0", "name": 5}'),
    (add_env(CNI_CONTAINERID="-x"), config()),
    (add_env(CNI_IFNAME="x" * 16), config()),
    (add_env(CNI_IFNAME="e:0"), config()),
    (add_env(), config("9.9.9")),
    (add_env(), '{"name": "n"}'),
    (add_env(CNI_COMMAND="CHECK"), config("0.3.1")),
    (add_env(CNI_COMMAND="GC"), config("1.0.0")),
]


@pytest.mark.parametrize("env,stdin", BAD_INPUTS)
def test_the_client_and_the_daemons_spec_module_give_the_same_error(daemon, state, env, stdin):
    spec = pytest.importorskip("pycnm.cni.spec")
    with pytest.raises(spec.CNIError) as caught:
        spec.parse_request(env, stdin)
    got = run(at(daemon, state, env), stdin)
    assert (got.answer["code"], got.answer["msg"]) == (caught.value.code, caught.value.msg)


# ---- the same invalid inputs, to Debian's Go bridge plugin ---------------------------------------

#: each input has one fault; those the Go plugin checks before the version also carry version
#: 9.9.9, so that a fault it missed would stop it at the version check rather than let it make
#: a bridge. None is valid: this never reaches the kernel.
SAFE = '{"cniVersion": "9.9.9", "name": "n", "type": "bridge", "bridge": "pycnmtest0"}'
GO_CASES = [
    ("ADD without CNI_NETNS", add_env(CNI_NETNS=None), SAFE, 4),
    ("ADD without CNI_CONTAINERID", add_env(CNI_CONTAINERID=None), SAFE, 4),
    ("ADD with an empty CNI_IFNAME", add_env(CNI_IFNAME=""), SAFE, 4),
    ("DEL without CNI_IFNAME", add_env(CNI_COMMAND="DEL", CNI_IFNAME=None), SAFE, 4),
    ("CHECK without CNI_NETNS", add_env(CNI_COMMAND="CHECK", CNI_NETNS=None), SAFE, 4),
    ("an unknown CNI_COMMAND", add_env(CNI_COMMAND="FROB"), SAFE, 4),
    ("stdin that is not JSON", add_env(), '{"cniVersion": "9.9.9", name', 6),
    ("stdin that is a list", add_env(), "[1, 2]", 6),
    ("a name that is a number", add_env(), '{"cniVersion": "9.9.9", "name": 5}', 6),
    ("a version that is a number", add_env(), '{"cniVersion": 1, "name": "n"}', 6),
    ("no network name", add_env(), '{"cniVersion": "9.9.9"}', 7),
    ("a network name starting with '-'", add_env(), '{"cniVersion": "9.9.9", "name": "-n"}', 7),
    ("a container ID starting with '-'", add_env(CNI_CONTAINERID="-c1"), SAFE, 4),
    ("a container ID with '/'", add_env(CNI_CONTAINERID="a/b"), SAFE, 4),
    ("an ifname of 16 bytes", add_env(CNI_IFNAME="a" * 16), SAFE, 4),
    ("an ifname '..'", add_env(CNI_IFNAME=".."), SAFE, 4),
    ("an ifname with ':'", add_env(CNI_IFNAME="eth:0"), SAFE, 4),
    ("an ifname with a space", add_env(CNI_IFNAME="eth 0"), SAFE, 4),
    ("ADD in version 9.9.9", add_env(), SAFE, 1),
    ("DEL in version 9.9.9", add_env(CNI_COMMAND="DEL"), SAFE, 1),
    ("CHECK in version 0.3.1", add_env(CNI_COMMAND="CHECK"), '{"cniVersion": "0.3.1", "name": "n"}', 1),
    ("CHECK with no version (0.1.0)", add_env(CNI_COMMAND="CHECK"), '{"name": "n"}', 1),
]


@pytest.mark.skipif(not GO_BRIDGE.exists(), reason="Debian's containernetworking-plugins is not installed")
@pytest.mark.parametrize("case,env,stdin,code", GO_CASES, ids=[c[0] for c in GO_CASES])
def test_pycnm_cni_and_debians_go_bridge_plugin_give_the_same_error_code(daemon, state, case, env, stdin, code):
    go = run(env, stdin, command=[str(GO_BRIDGE)])
    ours = run(at(daemon, state, env), stdin)
    assert go.status == 1 and go.answer["code"] == code, (case, go)
    assert ours.status == 1 and ours.answer["code"] == code, (case, ours)
    assert daemon.received == []


# ---- packaging: what it imports, how it is installed ---------------------------------------------


def test_the_module_imports_no_pycnm_module_and_only_builtins_at_start():
    tree = ast.parse(SRC.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any(name.split(".")[0].startswith("pycnm") for name in imported)
    top = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top |= {
        alias.name
        for node in tree.body
        if isinstance(node, ast.Try)
        for sub in node.body
        if isinstance(sub, ast.Import)
        for alias in sub.names
    }
    assert top == {"posix", "sys", "time", "_json", "_socket"}


def test_a_run_loads_no_module_beyond_the_interpreters_own(daemon, state):
    # -X importtime lists every module imported after start-up: the slow ones must not be there
    for env, stdin in (({"CNI_COMMAND": "VERSION"}, config()), (at(daemon, state, add_env()), config())):
        done = subprocess.run(
            [sys.executable, "-IS", "-X", "importtime", str(SRC)],
            input=stdin.encode(),
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0
        names = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
        assert not names & {"os", "json", "socket", "re", "enum", "collections", "selectors", "typing"}, names


def test_install_writes_one_self_contained_executable_run_by_python_isolated_without_site(tmp_path, daemon, state):
    target = Path(plugin.install(str(tmp_path), python=sys.executable))
    assert target == tmp_path / "pycnm-cni" and list(tmp_path.iterdir()) == [target]
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    first, rest = target.read_bytes().split(b"\n", 1)
    assert first == f"#!{sys.executable} -IS".encode()
    assert rest == SRC.read_bytes().split(b"\n", 1)[1]
    assert run({"CNI_COMMAND": "VERSION"}, command=[str(target)]).answer["supportedVersions"] == SUPPORTED
    assert run(at(daemon, state, add_env()), config(), command=[str(target)]).answer == ADD_RESULT


def test_install_compiled_writes_a_stub_and_the_module_with_its_bytecode(tmp_path, daemon, state):
    target = Path(plugin.install(str(tmp_path), python=sys.executable, compiled=True))
    library = tmp_path / "pycnm-cni.d"
    assert (library / "pycnm_cni_plugin.py").read_bytes() == SRC.read_bytes().split(b"\n", 1)[1]
    assert list((library / "__pycache__").glob("pycnm_cni_plugin.*.pyc"))
    assert target.read_text().startswith(f"#!{sys.executable} -IS\n")
    assert run(at(daemon, state, add_env()), config(), command=[str(target)]).answer == ADD_RESULT
    # installing again replaces both, atomically
    plugin.install(str(tmp_path), python=sys.executable, compiled=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pycnm-cni", "pycnm-cni.d"]


@pytest.mark.parametrize("python", ["python3", "/opt/my python/bin/python3", "/" + "p" * 300, ""])
def test_install_refuses_an_interpreter_a_shebang_line_cannot_name(tmp_path, python):
    with pytest.raises(ValueError):
        plugin.install(str(tmp_path), python=python)
    assert list(tmp_path.iterdir()) == []


def test_the_console_script_answers_version():
    script = Path(sys.executable).parent / "pycnm-cni"
    if not script.exists():
        pytest.skip("pycnm-cni-plugin is not installed in this environment")
    assert run({"CNI_COMMAND": "VERSION"}, command=[str(script)]).answer["supportedVersions"] == SUPPORTED


# ---- the HTTP reader, in-process ---------------------------------------------------------------


class _FakeSocket:
    """Hands out the answer a few bytes at a time, as a slow daemon's socket would."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def settimeout(self, _t: float) -> None:
        pass

    def recv(self, _n: int) -> bytes:
        out, self.data = self.data[: self.step], self.data[self.step :]
        return out


@pytest.mark.parametrize("framing", ["length", "chunked", "eof"])
@pytest.mark.parametrize("step", [1, 3, 4096])
def test_the_answer_is_read_whatever_the_size_of_the_reads(framing, step):
    answer = http_answer({"ok": True, "result": ADD_RESULT}, framing=framing)
    reader = plugin._Reader(_FakeSocket(answer, step), time.monotonic() + 10)
    status, headers, body = plugin.read_answer(reader)
    assert status == 200 and headers["server"] == "fake-pycnm"
    assert json.loads(body) == {"ok": True, "result": ADD_RESULT}


def test_the_fast_json_path_reads_and_writes_what_the_json_module_does():
    samples = ['{"a": [1, 2.5, -3e-7, true, false, null, "\\u00e9\\ud83d\\ude00", {}]}', " [ ] ", '"x"', "0"]
    for text in samples:
        assert plugin._loads(text) == json.loads(text)
        assert plugin._dumps(json.loads(text)) == json.dumps(json.loads(text), separators=(",", ":"))
    for bad in ["{", "[1,]", "{'a': 1}", "1 2", "NaN", "", "[" * 50_000]:
        with pytest.raises(ValueError):
            plugin._loads(bad)


# ---- start-up time (reported, not asserted) ------------------------------------------------------


def _medians_ms(rows: list[tuple[str, list[str], dict[str, str], bytes]], n: int = 40) -> list[float]:
    """Each row's median wall time of one exec; the rows take turns, so that a burst of load on
    the machine falls on all of them alike rather than on one."""
    times: list[list[float]] = [[] for _ in rows]
    for _ in range(n):
        for i, (_label, command, env, stdin) in enumerate(rows):
            started = time.perf_counter()
            subprocess.run(
                command, input=stdin, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
            times[i].append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times]


def test_startup_time_is_reported(tmp_path, daemon, state, capsys):
    """Median wall time of one exec, 40 runs each: VERSION (no daemon) and ADD (through the fake
    daemon, whose own work is nil), against the interpreter's floor and Debian's Go plugin."""
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    (tmp_path / "single").mkdir()
    (tmp_path / "compiled").mkdir()
    single = plugin.install(str(tmp_path / "single"), python=python)
    compiled = plugin.install(str(tmp_path / "compiled"), python=python, compiled=True)
    version_in = b'{"cniVersion": "1.0.0"}'
    rows = [(f"{python} -IS -c pass (the floor)", [python, "-IS", "-c", "pass"], {}, b"")]
    if GO_BRIDGE.exists():
        rows.append(("Debian's Go bridge plugin, VERSION", [str(GO_BRIDGE)], {"CNI_COMMAND": "VERSION"}, version_in))
    rows += [
        ("pycnm-cni single file, VERSION", [single], {"CNI_COMMAND": "VERSION"}, version_in),
        ("pycnm-cni compiled, VERSION", [compiled], {"CNI_COMMAND": "VERSION"}, version_in),
        ("pycnm-cni single file, ADD via fake daemon", [single], at(daemon, state, add_env()), config().encode()),
        ("pycnm-cni compiled, ADD via fake daemon", [compiled], at(daemon, state, add_env()), config().encode()),
    ]
    script = Path(sys.executable).parent / "pycnm-cni"
    if script.exists():
        rows.append(
            ("pycnm-cni console script (venv, site), VERSION", [str(script)], {"CNI_COMMAND": "VERSION"}, version_in)
        )
    medians = _medians_ms(rows)
    with capsys.disabled():
        print("\n  start-up, median of 40 execs each, taking turns:")
        for (label, *_), ms in zip(rows, medians, strict=True):
            print(f"    {ms:7.2f} ms  {label}")
