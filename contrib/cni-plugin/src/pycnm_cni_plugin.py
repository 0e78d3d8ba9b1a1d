#!/usr/bin/env python3
"""pycnm-cni: pycnm's CNI plugin, a thin client of ``pycnm daemon``.

A runtime (podman, ``ctr run --cni``) execs this once per ADD, DEL, CHECK, GC, STATUS or
VERSION. It answers VERSION itself; everything else it checks as libcni's skel does (so that a
bad request gets the spec's error even with no daemon), then POSTs the ``CNI_*`` variables and
the raw stdin to the daemon over its unix socket and prints the answer: the daemon does the work.

The wire (one request per connection)::

    POST /pycnm/v1/cni HTTP/1.1
    Host: pycnm
    Content-Type: application/json
    Content-Length: <n>
    Connection: close

    {"env": {"CNI_COMMAND": "ADD", ...every CNI_* variable as given}, "stdin": "<stdin text>"}

answered ``200`` with ``{"ok": true, "result": {...} | null}`` or
``{"ok": false, "error": {"code": N, "msg": "...", "details": "..."}}``.

With the daemon down, ADD and CHECK answer code 11 (try again later), STATUS code 50, and DEL
and GC never fail: the request is written to ``<stateDir>/cni/queue/`` for the daemon to replay.

Start-up is most of what this costs (a runtime execs it per container), so it imports only
what the interpreter has loaded or built in: the C halves of :mod:`os`, :mod:`json` and
:mod:`socket` (``posix``, ``_json``, ``_socket``). The public modules pull in ``collections.abc``,
``re``, ``enum`` and ``selectors``: 10 ms here, more than the interpreter's own start. It imports
no pycnm module, and :func:`install` writes it as a self-contained executable run by
``python -IS`` (no site-packages).
"""

import posix  # os without os.py: its import (collections.abc) costs 1.5 ms
import sys
import time

try:  # the C scanner and string encoder behind json; None: the pure-Python json is used instead
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]  # mypy types the name as the module: each use checks for None
try:  # the C socket type behind socket.socket, with the same methods
    import _socket as _net
except ImportError:  # pragma: no cover
    import socket as _net  # type: ignore[no-redef]  # the other module of the same socket type

# typing's import costs what collections.abc's does: annotations name what it would export
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

__version__ = "0.1.0"

#: the spec versions pycnm speaks; VERSION answers them
SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
LATEST_VERSION = "1.1.0"
DEFAULT_SOCKET = "/run/pycnm/pycnm.sock"
DEFAULT_STATE_DIR = "/var/lib/pycnm"
WIRE_PATH = "/pycnm/v1/cni"
#: seconds for the whole exchange with the daemon (the config's pycnm.timeout overrides it); an
#: ADD that takes longer fails with code 11 and the runtime's DEL cleans up after it
DEFAULT_TIMEOUT = 60.0
#: an answer larger than this is not the daemon's
MAX_ANSWER = 16 << 20
_MAX_HEAD_LINE = 64 << 10

#: the variables each command requires, non-empty (CNI spec 1.x)
REQUIRED_ENV = {
    "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
    "DEL": ("CNI_CONTAINERID", "CNI_IFNAME"),
    "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
    "GC": (),
    "STATUS": (),
    "VERSION": (),
}
#: the first spec version a later command exists in
_COMMAND_SINCE = {"CHECK": "0.4.0", "GC": "1.1.0", "STATUS": "1.1.0"}
_ATTACHMENT_COMMANDS = ("ADD", "DEL", "CHECK")

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("_.-")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_IFNAME_MAX_BYTES = 15


class PluginError(Exception):
    """A CNI error result: ``code`` is the spec's, ``msg`` short, ``details`` the long story."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details
        self.cni_version: str | None = None  # the daemon's, when it named one

    def to_json(self, cni_version: str) -> dict:
        out = {"cniVersion": self.cni_version or cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class _Unreachable(Exception):
    """The daemon is down or did not answer in time: nothing it said can be trusted or used."""


class _BadAnswer(Exception):
    """Something answered on the socket, but not in the daemon's protocol."""


# ---- JSON ----------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> object:
    # Python's json reads NaN and Infinity; JSON (and libcni's decoder) does not
    raise ValueError(f"{name} is not JSON")


class _ScannerContext:
    """The attributes _json's C scanner reads from its decoder (json.decoder.JSONDecoder's)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_refuse_constant)


# typeshed types the context as a make_scanner itself (its TODO: any object with these attributes)
_scan = _json.make_scanner(_ScannerContext()) if _json is not None else None  # type: ignore[arg-type]
_WHITESPACE = " \t\n\r"


def _loads(text: str) -> object:
    """json.loads, through the C scanner alone when the text is valid; ValueError when not."""
    if _scan is not None:
        start, end = 0, len(text)
        while start < end and text[start] in _WHITESPACE:
            start += 1
        try:
            value, stop = _scan(text, start)
        except ValueError:
            raise
        except Exception:  # noqa: BLE001 - whatever it raises, json below says what is wrong
            # the C scanner reports most syntax errors through json.decoder, which is not
            # imported here (it surfaces as SystemError or StopIteration): json says what is wrong
            pass
        else:
            while stop < end and text[stop] in _WHITESPACE:
                stop += 1
            if stop == end:
                return value
    import json

    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _dumps(value: object) -> str:
    """Compact JSON, ASCII only (as json.dumps(separators=(",", ":")) writes it)."""
    if _json is None:
        import json

        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_json.encode_basestring_ascii(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN, without importing math
            raise ValueError(f"{value!r} is not JSON")
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON keys are strings, not {type(key).__name__}")
            if i:
                out.append(",")
            out.append(_json.encode_basestring_ascii(key))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON")


def _show(value: object) -> str:
    """A value for a message, cut short (the same text pycnm.cni.spec writes)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        text = _dumps(value)
    else:
        text = repr(value)
    return text if len(text) <= 80 else f"{text[:64]}..."


# ---- the checks skel makes (the daemon makes them again, and more) --------------------------------


def _invalid_env(variables: str, problem: str, details: str = "") -> PluginError:
    return PluginError(4, f"invalid environment variables: {variables} {problem}", details)


def check_command(env: dict[str, str]) -> str:
    """``CNI_COMMAND``, known; else code 4."""
    command = env.get("CNI_COMMAND", "")
    if not command:
        raise _invalid_env("CNI_COMMAND", "is missing", "set CNI_COMMAND to ADD, DEL, CHECK, GC, STATUS or VERSION")
    if command not in REQUIRED_ENV:
        raise _invalid_env(
            "CNI_COMMAND", f"is unknown: {_show(command)}", "CNI_COMMAND is one of ADD, DEL, CHECK, GC, STATUS, VERSION"
        )
    return command


def check_required(env: dict[str, str], command: str) -> None:
    """The command's required variables, non-empty; code 4 naming every missing one."""
    missing = [name for name in REQUIRED_ENV[command] if not env.get(name)]
    if missing:
        raise _invalid_env(
            ", ".join(missing),
            "missing" if len(missing) > 1 else "is missing",
            f"{command} needs {', '.join(REQUIRED_ENV[command])} set and non-empty",
        )


def decode_config(data: bytes) -> tuple[str, dict]:
    """stdin as a JSON object; code 6 if it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PluginError(6, "failed to decode content: stdin is not UTF-8 text", str(exc)) from None
    try:
        config = _loads(text)
    except ValueError as exc:
        raise PluginError(
            6,
            "failed to decode content: the network configuration on stdin is not JSON",
            str(exc) or type(exc).__name__,
        ) from None
    if not isinstance(config, dict):
        kind = type(config).__name__ if config is not None else "null"
        raise PluginError(
            6, "failed to decode content: the network configuration is not a JSON object", f"stdin holds {kind}"
        )
    return text, config


def _is_name(value: str) -> bool:
    return bool(value) and value[0] in _ALNUM and all(ch in _NAME_CHARS for ch in value)


def check_network_name(value: object) -> None:
    """The config's ``name``: code 6 if not a string, 7 if missing or not the spec's form."""
    if value is None or value == "":
        raise PluginError(
            7, "invalid network config: name: missing network name", "the network configuration needs a name"
        )
    if not isinstance(value, str):
        raise PluginError(6, "failed to decode content: name is not a string", f"name is {_show(value)}")
    if not _is_name(value):
        raise PluginError(
            7,
            f"invalid network config: name: invalid characters in network name {_show(value)}",
            "a network name starts with a letter or digit, followed by letters, digits, '_', '.' or '-'",
        )


def check_container_id(value: str) -> None:
    """``CNI_CONTAINERID`` by the spec's rule (ASCII letters and digits, then also ``_.-``)."""
    if not _is_name(value):
        raise _invalid_env(
            "CNI_CONTAINERID",
            f"has invalid characters: {_show(value)}",
            "a container ID starts with a letter or digit, followed by letters, digits, '_', '.' or '-'",
        )


def check_ifname(value: str) -> None:
    """``CNI_IFNAME`` by the kernel's rules: at most 15 bytes, not . or .., no / : or whitespace."""
    size = len(value.encode("utf-8", "surrogateescape"))
    if size > _IFNAME_MAX_BYTES:
        raise _invalid_env(
            "CNI_IFNAME",
            f"is too long: {_show(value)} is {size} bytes",
            f"an interface name is at most {_IFNAME_MAX_BYTES} bytes",
        )
    if value in (".", ".."):
        raise _invalid_env("CNI_IFNAME", f"is {_show(value)}", "an interface name cannot be '.' or '..'")
    for ch in value:
        if ch in "/:" or ch.isspace():
            raise _invalid_env(
                "CNI_IFNAME", f"contains {ch!r}: {_show(value)}", "an interface name holds no '/', ':' or whitespace"
            )


def check_version(config: dict, command: str) -> str:
    """The config's ``cniVersion``: supported (code 1) and new enough for the command (code 1)."""
    version = config.get("cniVersion")
    if version is None or version == "":
        version = "0.1.0"  # libcni: a config that names no version is 0.1.0
    if not isinstance(version, str):
        raise PluginError(6, "failed to decode content: cniVersion is not a string", f"cniVersion is {_show(version)}")
    if version not in SUPPORTED_VERSIONS:
        raise PluginError(
            1,
            "incompatible CNI versions",
            f"config is {_show(version)}, pycnm supports {', '.join(SUPPORTED_VERSIONS)}",
        )
    since = _COMMAND_SINCE.get(command)
    if since and SUPPORTED_VERSIONS.index(version) < SUPPORTED_VERSIONS.index(since):
        raise PluginError(
            1, f"config version does not allow {command}", f"{command} exists from CNI {since}; the config is {version}"
        )
    return version


# ---- where the daemon and its queue are ----------------------------------------------------------


def _section(config: object) -> dict:
    section = config.get("pycnm") if isinstance(config, dict) else None
    return section if isinstance(section, dict) else {}


def socket_path(config: dict, env: dict[str, str]) -> str:
    """The daemon's socket: the config's ``pycnm.socket``, else ``$PYCNM_HOST`` (``unix:///path``),
    else :data:`DEFAULT_SOCKET`. A PYCNM_HOST of another scheme is not this client's to use."""
    configured = _section(config).get("socket")
    if isinstance(configured, str) and configured.startswith("unix://"):
        configured = configured[len("unix://") :]
    if isinstance(configured, str) and configured.startswith("/"):  # else the daemon says what is wrong
        return configured
    host = env.get("PYCNM_HOST", "")
    if host.startswith("unix://") and len(host) > len("unix://"):
        return host[len("unix://") :]
    if host.startswith("/"):
        return host
    return DEFAULT_SOCKET


def state_dir(config: dict, env: dict[str, str]) -> str:
    """The state directory: the config's ``pycnm.stateDir``, else ``$PYCNM_STATE_DIR``, else
    :data:`DEFAULT_STATE_DIR`."""
    configured = _section(config).get("stateDir")
    if isinstance(configured, str) and configured.startswith("/"):
        return configured
    return env.get("PYCNM_STATE_DIR") or DEFAULT_STATE_DIR


def queue_dir(config: dict, env: dict[str, str]) -> str:
    """Where DEL and GC wait while the daemon is down."""
    return _join(state_dir(config, env), "cni", "queue")


def _timeout(config: dict) -> float:
    value = _section(config).get("timeout")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 3600:
        return float(value)
    return DEFAULT_TIMEOUT


# ---- HTTP/1.1 over the unix socket ---------------------------------------------------------------


def _why(exc: OSError) -> str:
    """A connection failure in words a person reading podman's log acts on."""
    if isinstance(exc, FileNotFoundError):
        return "there is no socket at that path"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on the socket)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, TimeoutError):
        return "it did not answer in time"
    return exc.strerror or str(exc) or type(exc).__name__


class _Reader:
    """Buffered reads from the socket, every one bounded by the exchange's deadline."""

    def __init__(self, sock: "_net.socket", deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buf = b""
        self.total = 0

    def _more(self) -> bool:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Unreachable("it did not answer in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except OSError as exc:
            raise _Unreachable(f"the connection broke: {_why(exc)}") from None
        if not chunk:
            return False
        self.total += len(chunk)
        if self.total > MAX_ANSWER:
            raise _BadAnswer(f"the answer is larger than {MAX_ANSWER >> 20} MiB")
        self.buf += chunk
        return True

    def line(self) -> bytes:
        """One line, without its CRLF (a bare LF is taken too, as most HTTP parsers do)."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line, self.buf = self.buf[:end], self.buf[end + 1 :]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > _MAX_HEAD_LINE:
                raise _BadAnswer("a header line is longer than 64 KiB")
            if not self._more():
                raise _Unreachable("it closed the connection in the middle of its answer")

    def exactly(self, size: int) -> bytes:
        while len(self.buf) < size:
            if not self._more():
                raise _Unreachable("it closed the connection in the middle of its answer")
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def rest(self) -> bytes:
        while self._more():
            pass
        data, self.buf = self.buf, b""
        return data


def _read_chunked(reader: _Reader) -> bytes:
    parts = []
    while True:
        size_text = reader.line().split(b";", 1)[0].strip()
        if not size_text or not all(c in _HEX for c in size_text):
            raise _BadAnswer(f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        parts.append(reader.exactly(size))
        if reader.line() != b"":
            raise _BadAnswer("a chunk is not followed by CRLF")
    while reader.line():  # trailer fields, up to the empty line
        pass
    return b"".join(parts)


def read_answer(reader: _Reader) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of one HTTP/1.x answer: interim 1xx answers skipped, the body
    by chunked encoding, Content-Length, or up to the end of the connection."""
    while True:
        status_line = reader.line()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise _BadAnswer(f"not an HTTP answer: {status_line[:60]!r}")
        status = int(parts[1])
        headers = {}
        while True:
            line = reader.line()
            if not line:
                break
            name, sep, value = line.partition(b":")
            if not sep or not name.strip():
                raise _BadAnswer(f"bad header line {line[:60]!r}")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if not 100 <= status < 200:
            break
    if status in (204, 304):
        return status, headers, b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, headers, _read_chunked(reader)
    if "content-length" in headers:
        length = headers["content-length"]
        if not length.isdigit() or int(length) > MAX_ANSWER:
            raise _BadAnswer(f"bad Content-Length {length[:20]!r}")
        return status, headers, reader.exactly(int(length))
    return status, headers, reader.rest()


def post(path: str, payload: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """POST ``payload`` (JSON bytes) to the daemon at unix socket ``path``: ``(status, headers,
    body)``. Raises _Unreachable when it cannot be reached or does not answer within ``timeout``."""
    deadline = time.monotonic() + timeout
    sock = _net.socket(_net.AF_UNIX, _net.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            raise _Unreachable(_why(exc)) from None
        head = (
            f"POST {WIRE_PATH} HTTP/1.1\r\nHost: pycnm\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        try:
            sock.sendall(head + payload)
        except OSError as exc:
            raise _Unreachable(f"the connection broke: {_why(exc)}") from None
        return read_answer(_Reader(sock, deadline))
    finally:
        sock.close()


def _answer(status: int, body: bytes) -> dict:
    """The daemon's answer object; raises _BadAnswer (or _Unreachable for 503) if it is not one."""
    try:
        answer = _loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        answer = None
    if isinstance(answer, dict):
        if answer.get("ok") is False and isinstance(answer.get("error"), dict):
            return answer
        if status == 200 and answer.get("ok") is True:
            return answer
    snippet = body[:200].decode("utf-8", "replace")
    if status == 503:  # starting up or shutting down: a transient condition
        raise _Unreachable(f"it answered HTTP 503: {snippet}")
    raise _BadAnswer(f"it answered HTTP {status}: {snippet}")


def _daemon_error(error: dict) -> PluginError:
    code, msg, details = error.get("code"), error.get("msg"), error.get("details", "")
    if isinstance(code, bool) or not isinstance(code, int) or not isinstance(msg, str) or not isinstance(details, str):
        raise _BadAnswer(f"its error is not a CNI error: {_show(error)}")
    err = PluginError(code, msg, details)
    if isinstance(error.get("cniVersion"), str) and error["cniVersion"]:
        err.cni_version = error["cniVersion"]
    return err


# ---- files (posix calls: see the import) ----------------------------------------------------------


def read_environ() -> dict[str, str]:
    """The process environment as text, decoded as os.environ decodes it."""
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {k.decode(encoding, errors): v.decode(encoding, errors) for k, v in posix.environ.items()}


def _join(base: str, *names: str) -> str:
    return "/".join([base.rstrip("/") or "", *names])


def _makedirs(path: str, mode: int) -> None:
    """mkdir -p, tolerating a concurrent creator (another DEL queued at the same moment)."""
    try:
        posix.mkdir(path, mode)
    except FileExistsError:
        return
    except FileNotFoundError:
        parent = path.rstrip("/").rpartition("/")[0]
        if not parent or parent == path:
            raise
        _makedirs(parent, mode)
        try:
            posix.mkdir(path, mode)
        except FileExistsError:
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view) :]


def _unlink_quietly(path: str) -> None:
    try:
        posix.unlink(path)
    except OSError:
        pass


def write_atomically(path: str, data: bytes, mode: int) -> None:
    """``data`` into ``path`` through a temporary file and a rename: a reader (a replaying daemon,
    a runtime exec'ing the plugin) sees the old file or the whole new one, never a part."""
    directory, _, name = path.rpartition("/")
    tmp = f"{directory}/.{name}.{posix.getpid()}.tmp"  # not *.json: a replaying daemon skips it
    fd = posix.open(tmp, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_CLOEXEC, mode)
    try:
        try:
            _write_all(fd, data)
            posix.fchmod(fd, mode)  # exactly mode, whatever the umask
            posix.fsync(fd)
        finally:
            posix.close(fd)
        posix.rename(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    try:  # the rename itself must survive a crash, or the DEL is lost after all
        dir_fd = posix.open(directory or ".", posix.O_RDONLY | posix.O_DIRECTORY | posix.O_CLOEXEC)
        try:
            posix.fsync(dir_fd)
        finally:
            posix.close(dir_fd)
    except OSError:
        pass


def _safe(text: str, limit: int) -> str:
    # container IDs and network names are already checked; an ifname may hold anything but / :
    return "".join(ch if ch in _NAME_CHARS else "_" for ch in text[:limit])


def enqueue(directory: str, record: dict, tag: str) -> str:
    """Write ``record`` (JSON) into ``directory`` as one file of mode 0600, atomically. The name
    sorts in arrival order: ``<ns timestamp>-<pid>-<tag>.json``. Returns the file's path."""
    _makedirs(directory, 0o700)
    final = _join(directory, f"{time.time_ns():020d}-{posix.getpid()}-{tag}.json")
    write_atomically(final, _dumps(record).encode("utf-8") + b"\n", 0o600)
    return final


def queued_count(directory: str) -> int | None:
    """How many requests wait in the queue; None if it cannot be read."""
    try:
        return sum(1 for n in posix.listdir(directory) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return 0
    except OSError:
        return None


# ---- one invocation ------------------------------------------------------------------------------


class Invocation:
    """One run of the plugin: the checks, the exchange with the daemon, and what is printed."""

    def __init__(self, env: dict[str, str], read_stdin: "Callable[[], bytes]", debug: bool = False) -> None:
        self.environ = env
        self.read_stdin = read_stdin
        self.debug = debug
        self.cni_version = LATEST_VERSION  # errors name the config's once it is read
        self.config: dict = {}

    def say(self, message: str) -> None:
        if self.debug:
            sys.stderr.write(f"pycnm-cni[{posix.getpid()}]: {message}\n")
            sys.stderr.flush()

    def run(self) -> dict | None:
        """The object to print (None: print nothing); raises PluginError for an error result."""
        command = check_command(self.environ)
        if command == "VERSION":
            return self.version()
        check_required(self.environ, command)
        text, config = decode_config(self._stdin())
        self.config = config
        if isinstance(config.get("cniVersion"), str) and config["cniVersion"]:
            self.cni_version = config["cniVersion"]
        check_network_name(config.get("name"))
        if command in _ATTACHMENT_COMMANDS:
            check_container_id(self.environ["CNI_CONTAINERID"])
            check_ifname(self.environ["CNI_IFNAME"])
        check_version(config, command)
        env = {k: v for k, v in self.environ.items() if k.startswith("CNI_")}
        return self.forward(command, {"env": env, "stdin": text})

    def _stdin(self) -> bytes:
        try:
            return self.read_stdin()
        except (OSError, ValueError) as exc:
            raise PluginError(5, "I/O failure: cannot read the network configuration from stdin", str(exc)) from None

    def version(self) -> dict:
        # skel reads no stdin for VERSION; libcni sends {"cniVersion": ...}, which is echoed
        version = LATEST_VERSION
        try:
            _text, config = decode_config(self._stdin())
        except PluginError:
            config = {}
        if isinstance(config.get("cniVersion"), str) and config["cniVersion"]:
            version = config["cniVersion"]
        return {"cniVersion": version, "supportedVersions": list(SUPPORTED_VERSIONS)}

    def forward(self, command: str, body: dict) -> dict | None:
        path = socket_path(self.config, self.environ)
        timeout = _timeout(self.config)
        started = time.monotonic()
        self.say(
            f"{command} {self.environ.get('CNI_CONTAINERID', '')} {self.environ.get('CNI_IFNAME', '')} -> unix:{path}"
        )
        try:
            status, _headers, raw = post(path, _dumps(body).encode("utf-8"), timeout)
            answer = _answer(status, raw)
            self.say(f"HTTP {status} in {(time.monotonic() - started) * 1000:.1f} ms")
            if answer["ok"] is False:
                raise _daemon_error(answer["error"])
            result = answer.get("result")
            if result is not None and not isinstance(result, dict):
                raise _BadAnswer(f"its result is not an object: {_show(result)}")
            if command == "ADD" and not result:
                raise _BadAnswer("it answered ADD without a result")
        except _Unreachable as exc:
            self.say(f"daemon unreachable: {exc}")
            self.daemon_down(command, path, str(exc), body)  # raises, or queues a DEL or GC
            return None
        except _BadAnswer as exc:
            self.say(f"daemon answer not understood: {exc}")
            self.bad_answer(command, path, str(exc), body)  # as daemon_down
            return None
        return result or None

    def daemon_down(self, command: str, path: str, reason: str, body: dict) -> None:
        if command in ("DEL", "GC"):
            self.queue(command, path, f"daemon unreachable: {reason}", body)
            return
        where = f"the pycnm daemon at {path}: {reason}"
        if command == "STATUS":
            directory = queue_dir(self.config, self.environ)
            count = queued_count(directory)
            waiting = "an unknown number of" if count is None else str(count)
            raise PluginError(
                50,
                "plugin not available: the pycnm daemon is not running",
                f"cannot reach {where}; {waiting} queued request(s) in {directory} wait for it;"
                " start it with `pycnm daemon`",
            )
        raise PluginError(
            11,
            "try again later: the pycnm daemon is not reachable",
            f"cannot reach {where}; start it with `pycnm daemon` (or point the config's"
            " pycnm.socket or PYCNM_HOST at its socket)",
        )

    def bad_answer(self, command: str, path: str, reason: str, body: dict) -> None:
        if command in ("DEL", "GC"):
            self.queue(command, path, f"daemon answer not understood: {reason}", body)
            return
        if command == "STATUS":
            raise PluginError(
                50,
                "plugin not available: the pycnm daemon's answer is not understood",
                f"the pycnm daemon at {path}: {reason}",
            )
        raise PluginError(
            999,
            "internal error: the pycnm daemon's answer is not understood",
            f"the pycnm daemon at {path}: {reason}; are pycnm-cni and the daemon the same version?",
        )

    def queue(self, command: str, path: str, reason: str, body: dict) -> None:
        directory = queue_dir(self.config, self.environ)
        if command == "DEL":
            tag = f"DEL-{_safe(self.environ['CNI_CONTAINERID'], 128)}-{_safe(self.environ['CNI_IFNAME'], 15)}"
        else:
            tag = f"GC-{_safe(str(self.config.get('name', '')), 128)}"
        record = dict(body, queued={"time": time.time(), "reason": reason, "socket": path})
        try:
            written = enqueue(directory, record, tag)
        except OSError as exc:
            # a DEL that can be neither done nor queued is lost: that the runtime must hear
            raise PluginError(
                5,
                f"I/O failure: the pycnm daemon is down and the {command} could not be queued",
                f"{reason}; writing to {directory}: {_why(exc)}",
            ) from None
        self.say(f"queued {command} as {written}")


def _read_all_stdin() -> bytes:
    stream = sys.stdin
    if stream is None:
        return b""
    return stream.buffer.read()


def _read_stdin_unless_tty() -> bytes:
    # VERSION run by hand at a terminal must not wait for input
    if sys.stdin is None or posix.isatty(sys.stdin.fileno()):
        return b""
    return sys.stdin.buffer.read()


def main() -> int:
    """The ``pycnm-cni`` executable: JSON on stdout (result or error), exit status 0 or 1."""
    env = read_environ()
    debug = bool(env.get("PYCNM_CNI_DEBUG"))
    reader = _read_stdin_unless_tty if env.get("CNI_COMMAND") == "VERSION" else _read_all_stdin
    call = Invocation(env, reader, debug)
    status = 0
    try:
        output = call.run()
    except PluginError as err:
        output, status = err.to_json(call.cni_version), 1
    except Exception as exc:  # noqa: BLE001 - a bug here must still reach the runtime as a CNI error on stdout
        call.say(f"internal error: {exc!r}")
        output, status = (
            {
                "cniVersion": call.cni_version,
                "code": 999,
                "msg": "internal error in pycnm-cni",
                "details": f"{type(exc).__name__}: {exc}",
            },
            1,
        )
    if output is not None:
        try:
            sys.stdout.write(_dumps(output) + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            return 1
    return status


def install(directory: str, python: str = sys.executable, *, compiled: bool = False) -> str:
    """Install ``pycnm-cni`` into ``directory`` (a runtime's CNI plugin directory), self-contained:
    it runs with ``python`` and the standard library alone, whatever environment installed it.

    By default the executable is this module's source itself with the shebang ``#!<python> -IS``:
    isolated mode and no site (no site-packages, no .pth hooks, no PYTHON* variables). ``-I -S``
    cannot be written as two words: Linux hands everything after the interpreter to it as one
    argument, and Python refuses ``"-I -S"``.

    A script is compiled on every run (Python caches bytecode for imported modules only), and
    this one's compilation costs about as much as the interpreter's start. ``compiled=True``
    trades the single file for speed: the executable is then a five-line stub that imports this
    module from ``pycnm-cni.d/`` beside it, where its bytecode is precompiled by ``python``.

    Returns the executable's path.
    """
    import os
    import subprocess

    if not python or not os.path.isabs(python) or any(ch.isspace() for ch in python):
        raise ValueError(f"python must be an absolute path without whitespace (a shebang's limit), not {python!r}")
    shebang = f"#!{python} -IS\n".encode()
    if len(shebang) > 255:  # the kernel reads at most 256 bytes of a shebang line
        raise ValueError(f"the interpreter path is too long for a shebang line: {python!r}")
    directory = os.path.abspath(directory)
    with open(__file__, "rb") as source_file:
        source = source_file.read()
    if source.startswith(b"#!"):
        source = source.split(b"\n", 1)[1]
    target = os.path.join(directory, "pycnm-cni")
    if not compiled:
        write_atomically(target, shebang + source, 0o755)
        return target
    library = os.path.join(directory, "pycnm-cni.d")
    os.makedirs(library, mode=0o755, exist_ok=True)
    module = os.path.join(library, "pycnm_cni_plugin.py")
    write_atomically(module, source, 0o644)
    # compiled by the interpreter that will run it: bytecode is specific to its version
    subprocess.run(
        [python, "-IS", "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)", module],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stub = (
        f"# pycnm-cni {__version__}, written by pycnm_cni_plugin.install(compiled=True)\n"
        f"import sys\nsys.path.insert(0, {library!r})\n"
        "from pycnm_cni_plugin import main\nsys.exit(main())\n"
    ).encode()
    write_atomically(target, shebang + stub, 0o755)
    return target


if __name__ == "__main__":
    sys.exit(main())
