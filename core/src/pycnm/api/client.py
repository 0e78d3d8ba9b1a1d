"""A client of ``pycnm daemon``'s socket with the Engine's own call: ``handle(method, path,
query, headers, body) -> Response``. A caller (the pycnm CLI) holds either this or an in-process
:class:`~pycnm.api.engine.Engine` and gets the same :class:`~pycnm.api.messages.Response`
from both, so its output cannot depend on whether a daemon runs.

Standard library only (``http.client`` over a unix socket, one kept-alive connection): a
command that talks to the daemon pays for no kernel layer, no aiohttp, no Controller.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .messages import Response


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("pycnm", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Client:
    """The daemon at ``path``. Raises ``OSError`` (``ConnectionRefusedError``,
    ``FileNotFoundError``) when no daemon answers there: the caller may then work in-process."""

    def __init__(self, path: str, timeout: float | None = 120.0) -> None:
        self.path = path
        self.timeout = timeout
        self._conn: _UnixConnection | None = None

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        target = path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        sent = dict(headers or {})
        if method.upper() == "GET" and path.rstrip("/").endswith("/events"):
            return self._events(target, sent)
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, target, body=body or None, headers=sent)
                answer = conn.getresponse()
                data = answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2 or method.upper() not in ("GET", "HEAD"):
                    raise  # a change is never sent twice: it may have been done
                continue
            if answer.will_close:
                self.close()
            return Response(answer.status, list(answer.getheaders()), data)
        raise AssertionError("unreachable")

    def _connection(self) -> _UnixConnection:
        if self._conn is None:
            self._conn = _UnixConnection(self.path, self.timeout)
        return self._conn

    def _events(self, target: str, headers: dict[str, str]) -> Response:
        conn = _UnixConnection(self.path, None)  # a stream of its own, with no read timeout
        conn.request("GET", target, headers=headers)
        answer = conn.getresponse()
        if answer.status != 200:
            data = answer.read()
            conn.close()
            return Response(answer.status, list(answer.getheaders()), data)
        return Response(answer.status, list(answer.getheaders()), b"", _Stream(conn, answer))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Stream:
    """``/events`` from the daemon: one JSON object per line, until the daemon ends it.
    :meth:`close` may come from another thread: it wakes the reader, which then lets go."""

    def __init__(self, conn: _UnixConnection, answer: http.client.HTTPResponse) -> None:
        self._conn, self._answer = conn, answer
        self._reading = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self._reading = True
        try:
            while True:
                line = self._answer.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        except (OSError, ValueError, http.client.HTTPException):
            return  # the daemon went away, or the stream was closed
        finally:
            self._reading = False
            self._conn.close()

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # a reader blocked in another thread sees the end
            except OSError:
                pass
        if not self._reading:
            self._conn.close()
