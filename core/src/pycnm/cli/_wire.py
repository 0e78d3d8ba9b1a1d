"""What the CLI's client path needs to talk to ``pycnm daemon``: HTTP/1.1 over a unix socket and
JSON, on the interpreter's C modules alone.

A command against a running daemon should cost what a small process costs. The standard
library's ``socket`` and ``json`` packages cost more to import than the whole request (on this
project's machines ``import json, socket`` is about 10 ms: ``re``, ``enum``, ``functools``),
``http.client`` another 25 ms (its e-mail header parser). Their C cores, ``_socket`` and
``_json``, import in well under a millisecond, so this module uses those:

- :class:`Connection`: one kept-alive connection to the daemon's socket; a request is one
  ``sendall`` and an answer with a ``Content-Length``, a chunked body or a body up to the end
  of the connection (aiohttp sends the first two). No redirects, no proxies, no TLS.
- :func:`loads` and :func:`dumps`, :func:`dumps_pretty`: JSON with the standard library's
  exact output (``json.dumps(value)``, ``json.dumps(value, indent=4)``), so that what the CLI
  prints is what it printed when it used ``json``.

Imports nothing at load time but ``_socket`` and ``_json`` (``json`` where ``_json`` is
missing, as on interpreters other than CPython).
"""

import _socket

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]  # mypy types the name as the module: each use checks for None

#: the request header that names the state directory the CLI means; a daemon serving another
#: one refuses the request (409) with its own in the same header, before it does anything
STATE_DIR_HEADER = "Pycnm-State-Dir"
USER_AGENT = "pycnm-cli"


class NoDaemon(Exception):
    """Nothing answers on the socket (no socket, or a dead daemon's): work in-process."""


class Answer:
    """An answer: ``status``, ``headers`` (a list of ``(name, value)``, as sent) and ``body``."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str):
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None


class Connection:
    """HTTP/1.1 to the daemon at the unix socket ``path``, one connection kept alive.

    :meth:`request` raises :class:`NoDaemon` when the first connection cannot be made because
    nothing listens (``FileNotFoundError``, ``ConnectionRefusedError``); any other ``OSError``
    (a permission denied, a daemon that goes away mid-answer) as it is."""

    def __init__(self, path: str, timeout: float = 120.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: _socket.socket | None = None
        self._buffer = b""
        self.used = False  # a connection was made once: a daemon answers there

    def _connect(self) -> _socket.socket:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            if not self.used:
                raise NoDaemon(f"{self.path}: {exc.strerror}") from None
            raise
        except BaseException:
            sock.close()
            raise
        self.used = True
        self._buffer = b""
        return sock

    def request(self, method: str, target: str, body: bytes = b"", headers=()) -> Answer:
        """Send one request and read its answer. ``target`` is the path with its query, already
        encoded (:func:`quote`)."""
        head = [f"{method} {target} HTTP/1.1\r\nHost: pycnm\r\nUser-Agent: {USER_AGENT}\r\n"]
        for name, value in headers:
            head.append(f"{name}: {value}\r\n")
        if body or method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + body
        sock = self._sock
        fresh = sock is None
        if sock is None:
            sock = self._sock = self._connect()
        try:
            sock.sendall(data)
            return self._answer(method)
        except (BrokenPipeError, ConnectionResetError, _Closed):
            self.close()
            if fresh or method not in ("GET", "HEAD"):
                raise OSError(f"the daemon on {self.path} closed the connection without answering") from None
            # a kept-alive connection the daemon had closed meanwhile: a read is safe to send again
            self._sock = self._connect()
            self._sock.sendall(data)
            return self._answer(method)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer = b""

    # ---- reading ----------------------------------------------------------------------------

    def _fill(self) -> bytes:
        assert self._sock is not None  # request() connects before it reads an answer
        chunk = self._sock.recv(65536)
        if not chunk:
            raise _Closed
        self._buffer += chunk
        return chunk

    def _line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                return line
            if len(self._buffer) > 65536:
                raise OSError(f"the daemon on {self.path} sent a header line of more than 64 KiB")
            self._fill()

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _answer(self, method: str) -> Answer:
        while True:
            status_line = self._line()
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise OSError(f"the daemon on {self.path} answered something that is not HTTP: {status_line[:80]!r}")
            status = int(parts[1])
            headers = []
            while True:
                line = self._line()
                if not line:
                    break
                name, _, value = line.partition(b":")
                headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
            if status >= 200 or status == 101:
                break  # 1xx (100 Continue) come before the real answer
        fields = {name.lower(): value for name, value in headers}
        keep = fields.get("connection", "").lower() != "close" and parts[0] != b"HTTP/1.0"
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            body = self._chunked()
        elif "content-length" in fields:
            body = self._exactly(int(fields["content-length"]))
        else:
            body = self._to_the_end()
            keep = False
        if not keep:
            self.close()
        return Answer(status, headers, body)

    def _chunked(self) -> bytes:
        out: list[bytes] = []
        while True:
            size = int(self._line().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self._line():  # trailers, up to the empty line
                    pass
                return b"".join(out)
            out.append(self._exactly(size))
            self._exactly(2)  # the CRLF after each chunk

    def _to_the_end(self) -> bytes:
        try:
            while self._fill():
                pass
        except _Closed:
            pass
        data, self._buffer = self._buffer, b""
        return data


class _Closed(Exception):
    """The daemon closed the connection."""


# ---- URLs -----------------------------------------------------------------------------------

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote(text: str, safe: str = "") -> str:
    """Percent-encoding of ``text`` (UTF-8) as ``urllib.parse.quote(text, safe)`` does it."""
    keep = _SAFE | frozenset(safe.encode())
    out = []
    for byte in text.encode("utf-8"):
        out.append(chr(byte) if byte in keep else f"%{byte:02X}")
    return "".join(out)


def target(path: str, query=None) -> str:
    """The request target: ``path`` (each segment encoded) and ``query`` (a mapping of a name to
    a list of values), as ``urllib.parse.urlencode(query, doseq=True)`` would encode it."""
    encoded = quote(path, safe="/")
    if not query:
        return encoded
    pairs = [f"{quote(key)}={quote(value)}" for key, values in query.items() for value in values]
    return encoded + "?" + "&".join(pairs)


# ---- JSON -----------------------------------------------------------------------------------


def _refuse(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


if _json is not None:

    class _ScannerContext:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__

    # typeshed types the context as a make_scanner itself (its TODO: any object with these attributes)
    _scan = _json.make_scanner(_ScannerContext())  # type: ignore[arg-type]
    _string = _json.encode_basestring_ascii
    # json.dumps(value) and json.dumps(value, separators=(",", ":")): ensure_ascii, no sorting
    _encode = _json.make_encoder(None, _refuse, _string, None, ": ", ", ", False, False, True)
    _encode_compact = _json.make_encoder(None, _refuse, _string, None, ":", ",", False, False, True)

    def loads(data):
        """JSON text (str, or UTF-8 bytes) to Python, as ``json.loads``. Raises ValueError."""
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        start, end = 0, len(text)
        while start < end and text[start] in " \t\n\r":
            start += 1
        try:
            value, stop = _scan(text, start)
        except StopIteration as exc:
            raise ValueError(f"invalid JSON at offset {exc.value}") from None
        while stop < end and text[stop] in " \t\n\r":
            stop += 1
        if stop != end:
            raise ValueError(f"invalid JSON: extra data at offset {stop}")
        return value

    def dumps(value, compact: bool = False) -> str:
        """``json.dumps(value)`` (``compact``: with ``separators=(",", ":")``)."""
        return "".join((_encode_compact if compact else _encode)(value, 0))

else:  # pragma: no cover - interpreters without _json
    import json as _std

    _string = _std.encoder.encode_basestring_ascii

    def loads(data):
        return _std.loads(data)

    def dumps(value, compact: bool = False) -> str:
        return _std.dumps(value, separators=(",", ":") if compact else None)


def _float(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN, without importing math (as gotemplate)
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def dumps_pretty(value, indent: int = 4) -> str:
    """``json.dumps(value, indent=4)``, byte for byte (what ``inspect`` prints)."""
    out: list = []
    _pretty(value, out, "\n", " " * indent)
    return "".join(out)


def _pretty(value, out: list, newline: str, step: str) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        first = True
        for key, item in value.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(_string(_key(key)))
            out.append(": ")
            _pretty(item, out, inner, step)
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        first = True
        for item in value:
            out.append(inner if first else "," + inner)
            first = False
            _pretty(item, out, inner, step)
        out.append(newline + "]")
    else:
        _refuse(value)


def _key(key) -> str:
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
