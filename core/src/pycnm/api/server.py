"""The Engine API over HTTP/1.1 on a unix socket: what ``pycnm daemon`` listens with.

Built on aiohttp's low-level server (``aiohttp.web.Server``), for what a Docker endpoint needs
and the standard library's ``http.server`` does not give: asyncio, so that 64 idle keep-alive
connections or ``/events`` streams cost no thread each; HTTP/1.1 keep-alive (Go's client and
docker-py reuse connections); chunked responses flushed per write, which ``/events`` must be
(docker-py reads a close-delimited stream as nothing at all); limits on request lines, headers
and bodies; serving an already-bound unix socket; a graceful shutdown that finishes requests
in flight. It is widely used and maintained, and brings no native code we must build (wheels).

aiohttp's router is not used: every request goes to :meth:`Engine.handle`, whose one table
routes it. Engine calls never run in the event loop's thread (pyroute2's synchronous calls run
an event loop of their own): reads (GET, HEAD) in a small thread pool, beside each other;
changes in one thread of their own. The Controller serialises changes under its state lock
anyway, so one thread costs no concurrency, and it keeps the netlink sockets the Controller
caches per thread and namespace to one per namespace. A request body is read whole (at most
:data:`MAX_BODY`) before the engine sees it, so a client that stops mid-body changes nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import fcntl
import grp
import logging
import os
import socket
import stat
import struct
import time
import urllib.parse
from typing import Any

from aiohttp import web

from ..errors import Forbidden
from .engine import COMMON_HEADERS, Engine
from .messages import JSON_TYPE, Response, encode
from .status import error_body

log = logging.getLogger("pycnm.api.server")
#: aiohttp's own messages: a request that is not HTTP is answered 400 by aiohttp and logged here
#: with its traceback, at debug level only (a client must not be able to fill the daemon's log)
http_log = logging.getLogger("pycnm.api.http")

#: the largest request body accepted (a network create is under 1 KiB)
MAX_BODY = 1 << 20
#: threads for reads (lists, inspects, the event subscriptions); changes have one thread
WORKERS = 8
#: seconds a stopping server gives requests in flight
SHUTDOWN_GRACE = 10.0
#: the group that may use the socket besides root, when it exists (dockerd's is "docker")
SOCKET_GROUP = "pycnm"
#: unix socket paths stop at 108 bytes with the terminating NUL
SUN_PATH_MAX = 107
#: a request may name the state directory it means (the pycnm CLI does, percent-encoded): a
#: daemon serving another one refuses it with 409 before doing anything, naming its own here
STATE_DIR_HEADER = "Pycnm-State-Dir"
#: set by the server, never taken from a client: the pid of the process at the socket's other
#: end (SO_PEERCRED), on the routes that need it (the CNI service opens the runtime's namespace
#: path as that process sees it, in its mount namespace)
PEER_PID_HEADER = "Pycnm-Peer-Pid"
PEER_ROUTES = frozenset({"/pycnm/v1/cni"})


class SocketError(Forbidden):
    """The socket cannot be served: a live daemon's, not a socket, a path too long."""


class _TooLarge(Exception):
    pass


def _peer_pid(request: web.BaseRequest) -> int | None:
    """The pid of the client process (the kernel's word: SO_PEERCRED), or None."""
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is None:
        return None
    try:
        pid, _uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except OSError:
        return None
    return pid or None


class EngineServer:
    """Serve ``engine`` on the unix socket at ``path`` until :meth:`stop`. The engine may be set
    after :meth:`claim` (the daemon claims the path before its Controller starts)."""

    def __init__(
        self,
        engine: Engine | None,
        path: str,
        *,
        max_body: int = MAX_BODY,
        workers: int = WORKERS,
        grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self.engine = engine
        self.path = path
        self.max_body = max_body
        self.grace = grace
        self._readers = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="pycnm-api-read")
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pycnm-api-write")
        self._runner: web.ServerRunner | None = None
        self._lock_fd: int | None = None
        self._inode: int | None = None

    def claim(self) -> None:
        """Take the socket's path: refuse it when a live daemon serves it, clear a dead one's.
        Done first, before the (slower) Controller starts, so that a second daemon fails at once."""
        if self._lock_fd is None:
            self._claim()

    async def start(self) -> None:
        """Bind the socket and serve."""
        self.claim()
        sock = self._bind()
        server = web.Server(
            self._handle,
            handler_cancellation=True,
            access_log=None,
            keepalive_timeout=75.0,
            logger=_QuietLogger(http_log),
        )
        self._runner = web.ServerRunner(server, shutdown_timeout=self.grace)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, shutdown_timeout=self.grace).start()

    async def stop(self) -> None:
        """Stop accepting, end the event streams, finish requests in flight (at most ``grace``
        seconds), then remove the socket."""
        if self.engine is not None:
            self.engine.events.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # Controller calls already running finish: a change is never cut half-way
        loop = asyncio.get_running_loop()
        for pool in (self._readers, self._writer):
            await loop.run_in_executor(None, pool.shutdown, True)
        self._unlink()

    # ---- the socket -----------------------------------------------------------------------------

    def _claim(self) -> None:
        path = self.path
        if len(os.fsencode(path)) > SUN_PATH_MAX:
            raise SocketError(
                f"socket path {path} is {len(os.fsencode(path))} bytes long; unix sockets allow"
                f" {SUN_PATH_MAX}: give a shorter one with -H unix:///PATH"
            )
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, 0o755)  # clients must reach the socket; the socket's mode guards it
        # one daemon per socket path, whatever its state directory: held while serving
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(self._lock_fd)
            os.close(self._lock_fd)
            self._lock_fd = None
            raise SocketError(
                f"another pycnm daemon{f' (pid {holder})' if holder else ''} serves {path};"
                " stop it first, or give this one another socket with -H"
            ) from None
        try:
            os.ftruncate(self._lock_fd, 0)
            os.write(self._lock_fd, f"{os.getpid()}\n".encode())
            if os.path.lexists(path):
                if not stat.S_ISSOCK(os.lstat(path).st_mode):
                    raise SocketError(f"{path} exists and is not a socket; remove it or give another path with -H")
                if _alive(path):
                    raise SocketError(
                        f"a server that is not a pycnm daemon answers on {path}; stop it or give another path with -H"
                    )
                os.unlink(path)  # a dead daemon's socket
                log.info("replaced the stale socket %s", path)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give the path up (the socket goes too, if this server made it): after :meth:`stop`,
        or when the daemon fails before serving."""
        self._unlink()

    def _bind(self) -> socket.socket:
        path = self.path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o117)  # never reachable by others, not even between bind and chmod
        try:
            sock.bind(path)
        except OSError:
            sock.close()
            raise
        finally:
            os.umask(previous)
        os.chmod(path, 0o660)
        if os.geteuid() == 0:
            os.chown(path, 0, _group_id())
        self._inode = os.stat(path).st_ino
        sock.listen(128)
        sock.setblocking(False)
        return sock

    def _unlink(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        self._inode = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock; the file stays, as a pidfile would
            self._lock_fd = None

    # ---- requests -------------------------------------------------------------------------------

    def _serving(self) -> Engine:
        """The engine, which a request finds set: the daemon sets it before :meth:`start`."""
        assert self.engine is not None
        return self.engine

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        wanted = request.headers.get(STATE_DIR_HEADER)
        if wanted is not None:
            refusal = self._other_state_dir(wanted)
            if refusal is not None:
                return refusal
        if request.content_length is not None and request.content_length > self.max_body:
            return self._too_large(request)
        try:
            body = await self._read(request)
        except _TooLarge:
            return self._too_large(request)
        query = {key: request.query.getall(key) for key in request.query}
        headers = {k: v for k, v in request.headers.items() if k.lower() != PEER_PID_HEADER.lower()}
        if request.path in PEER_ROUTES:
            pid = _peer_pid(request)
            if pid:
                headers[PEER_PID_HEADER] = str(pid)
        loop = asyncio.get_running_loop()
        pool = self._readers if request.method in ("GET", "HEAD") else self._writer
        answer: Response = await loop.run_in_executor(
            pool, self._serving().handle, request.method, request.path, query, headers, body
        )
        if answer.stream is not None:
            return await self._stream(request, answer)
        return _to_web(answer)

    async def _read(self, request: web.BaseRequest) -> bytes:
        if not request.body_exists:
            return b""
        chunks, size = [], 0
        async for chunk in request.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _other_state_dir(self, wanted: str) -> web.Response | None:
        """The refusal of a request meant for another state directory than this daemon's, or None."""
        served = self._serving().controller.state_dir
        asked = urllib.parse.unquote(wanted)
        if asked == served or os.path.realpath(asked) == os.path.realpath(served):
            return None
        self._serving().count(409, "pycnm.state_dir_mismatch")
        return _to_web(
            Response(
                409,
                [*COMMON_HEADERS, ("Content-Type", JSON_TYPE), (STATE_DIR_HEADER, urllib.parse.quote(served))],
                error_body(f"this pycnm daemon serves the state directory {served}, not {asked}"),
            )
        )

    def _too_large(self, request: web.BaseRequest) -> web.Response:
        self._serving().count(413)
        response = _to_web(
            Response(
                413,
                [*COMMON_HEADERS, ("Content-Type", JSON_TYPE)],
                error_body(f"request body is larger than {self.max_body} bytes; pycnm refuses it"),
            )
        )
        response.force_close()  # the rest of the body is not read: this connection is done
        return response

    async def _stream(self, request: web.BaseRequest, answer: Response) -> web.StreamResponse:
        """``/events``: the headers at once, then one JSON object and a newline per event, each
        its own chunk, until ``until`` passes, the client goes or the daemon stops."""
        sub = answer.stream
        assert sub is not None
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            sub.set_notifier(lambda: loop.call_soon_threadsafe(wake.set))
            while True:
                wake.clear()
                for event in sub.take():
                    await response.write(encode(event))
                if sub.closed:
                    break
                timeout = None
                if sub.until_ns is not None:
                    timeout = (sub.until_ns - time.time_ns()) / 1e9
                    if timeout <= 0:
                        for event in sub.take():
                            await response.write(encode(event))
                        break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away (or the daemon stops): nothing to finish
        finally:
            sub.close()
        return response


def _to_web(answer: Response) -> web.Response:
    response = web.Response(status=answer.status, body=answer.body)
    for name, value in answer.headers:
        response.headers[name] = value
    if answer.header("Content-Type") is None:
        # dockerd sends none with an empty 200/204; aiohttp would add application/octet-stream
        response.headers.pop("Content-Type", None)
    return response


def _alive(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    try:
        probe.connect(path)
        return True
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError as exc:
        # EAGAIN: its backlog is full, so something is listening
        return exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK) or isinstance(exc, TimeoutError)
    finally:
        probe.close()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def _group_id() -> int:
    try:
        return grp.getgrnam(SOCKET_GROUP).gr_gid
    except KeyError:
        return 0


class _QuietLogger(logging.LoggerAdapter):
    """aiohttp logs a malformed request as an error with a traceback: keep it for --debug."""

    # **kwargs: the base's keywords (exc_info, extra, ...), each of its own type, handed on as given
    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        super().log(min(level, logging.DEBUG), msg, *args, **kwargs)
