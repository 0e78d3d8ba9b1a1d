"""HTTP to a Docker plugin, as libnetwork's plugin client does it (pkg/plugins/client.go).

- ``POST /<Method>`` with ``Accept: application/vnd.docker.plugins.v1.2+json``, no Content-Type,
  an empty Host; the body is JSON with a trailing newline, empty for calls without arguments.
- Connection errors are retried with backoff 1, 2, 4, 8 s ... until the next wait would pass the
  total (30 s by default, like Docker); answers are never retried. A per-call timeout bounds a
  plugin that hangs. The connection is kept alive between calls.
- HTTP 404 means "not implemented"; other errors carry ``Err`` (network calls) or ``Error``
  (IPAM calls), with HTTP 200 or not. They become pycnm's typed errors (see :func:`typed`), each
  naming the plugin and the call.

Transport: the standard library's ``http.client``, with a unix-socket connection class.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from pycnm import steps
from pycnm.errors import CNMError, Forbidden, Internal, InvalidParameter, NotFound, Timeout, Unavailable, Unimplemented
from pycnm.wire import ACCEPT

#: calls that change nothing in the plugin (every other call is a step of an operation)
_READ_ONLY = ("Plugin.Activate", ".GetCapabilities", ".EndpointOperInfo", ".GetDefaultAddressSpaces")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


#: words in a plugin's error text, and the pycnm error they mean (the protocol has only text)
_KINDS: list[tuple[tuple[str, ...], type[CNMError]]] = [
    (("not found", "no such", "does not exist", "unknown", "not joined"), NotFound),
    (
        (
            "already exists",
            "in use",
            "conflict",
            "active endpoints",
            "already joined",
            "is still joined",
            "overlaps",
            "already allocated",
            "forbidden",
        ),
        Forbidden,
    ),
    (("invalid", "bad request", "malformed", "must be"), InvalidParameter),
    (("not implemented", "not supported"), Unimplemented),
    (("no available", "exhausted", "unavailable"), Unavailable),
]


def typed(message: str, prefix: str) -> CNMError:
    """A pycnm error for a plugin's error text: the family its words say, else Internal."""
    text = message.lower()
    for words, kind in _KINDS:
        if any(w in text for w in words):
            return kind(f"{prefix}: {message}")
    return Internal(f"{prefix}: {message}")


class PluginClient:
    """Calls to one plugin at ``address`` (``unix:///path``, ``tcp://host:port``, ``http(s)://``)."""

    def __init__(
        self,
        name: str,
        address: str,
        *,
        tls: dict | None = None,
        timeout: float = 30.0,
        retry_total: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.address = address
        self.tls = tls or {}
        self.timeout = timeout
        self.retry_total = retry_total
        self._sleep = sleep
        self._conn: http.client.HTTPConnection | None = None

    def _host(self, url: urllib.parse.SplitResult) -> str:
        if not url.hostname:
            raise InvalidParameter(f"plugin {self.name}: no host in address {self.address!r}")
        return url.hostname

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None:
            return self._conn
        url = urllib.parse.urlsplit(self.address)
        if url.scheme == "unix":
            self._conn = UnixHTTPConnection(url.path, self.timeout)
        elif url.scheme in ("tcp", "http"):
            self._conn = http.client.HTTPConnection(self._host(url), url.port or 80, timeout=self.timeout)
        elif url.scheme == "https" or self.tls:
            ctx = ssl.create_default_context(cafile=self.tls.get("CAFile") or None)
            if not self.tls.get("CAFile") or self.tls.get("InsecureSkipVerify"):
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # Docker: no CA means insecure
            if self.tls.get("CertFile"):
                ctx.load_cert_chain(self.tls["CertFile"], self.tls.get("KeyFile"))
            self._conn = http.client.HTTPSConnection(
                self._host(url), url.port or 443, timeout=self.timeout, context=ctx
            )
        else:
            raise InvalidParameter(f"plugin {self.name}: unknown protocol in address {self.address!r}")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send(self, method: str, body: bytes) -> tuple[int, bytes]:
        conn = self._connection()
        conn.putrequest("POST", f"/{method}", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "")
        conn.putheader("Accept", ACCEPT)
        conn.putheader("User-Agent", "pycnm-remote")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        if response.will_close:
            self.close()
        return response.status, data

    def call(self, method: str, payload: dict | None = None, *, error_field: str = "Err") -> dict[str, Any]:
        """POST ``payload`` to ``/method``; the answer's JSON object, or a typed error."""
        prefix = f"remote plugin {self.name}: {method}"
        body = b"" if payload is None else json.dumps(payload).encode() + b"\n"
        if not method.endswith(_READ_ONLY):
            steps.step("remote", f"{self.name} {method}")
        started, backoff = time.monotonic(), 1.0
        while True:
            try:
                try:
                    status, data = self._send(method, body)
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    self.close()  # a kept-alive connection the plugin closed: once more, on a new one
                    status, data = self._send(method, body)
                break
            except TimeoutError:
                self.close()
                raise Timeout(f"{prefix}: no answer within {self.timeout:g} s") from None
            except (
                ConnectionRefusedError,
                FileNotFoundError,
                ConnectionResetError,
                BrokenPipeError,
                http.client.RemoteDisconnected,
                OSError,
            ) as exc:
                self.close()
                if time.monotonic() - started + backoff >= self.retry_total:
                    raise Unavailable(f"{prefix}: cannot reach the plugin at {self.address}: {exc}") from None
                self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
        if status == 404:
            raise Unimplemented(f"{prefix}: not implemented by the plugin")
        try:
            answer = json.loads(data) if data.strip() else {}
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise Internal(f"{prefix}: the answer is not JSON: {data[:200]!r}") from None
        if not isinstance(answer, dict):
            raise Internal(f"{prefix}: the answer is not a JSON object: {data[:200]!r}")
        message = answer.get(error_field) or answer.get("Err") or answer.get("Error")
        if message:
            raise typed(str(message), prefix)
        if status != 200:
            raise Internal(f"{prefix}: HTTP {status}: {data[:200]!r}")
        return answer
