"""``pycnm daemon``: the host's long-running service, built on the same Controller a hosting
application embeds.

What it runs:

- the Engine API (Docker's 1.41, network part, and pycnm's ``/pycnm/v1/``) on a unix socket
  (:mod:`pycnm.api.server`): docker CLIs, docker-py and the pycnm CLI are its clients;
- with a cluster store, the overlay peer sync (:mod:`.peers`) in threads beside it;
- the embedded DNS (:mod:`.dns`) and the CNI service (:mod:`.cni`), and any more services of
  the same shape: an object with
  ``start()``, ``stop()`` and ``status()`` (a section of ``GET /pycnm/v1/status``), made by a
  factory ``callable(controller, engine)`` handed in as ``services``; one that serves HTTP has
  ``routes()``, giving ``(method, pattern, operation, handler(request) -> Response)`` for the
  engine's table (:meth:`~pycnm.api.engine.Engine.add_routes`).

Life cycle: ``daemon.lock`` in the state directory is held for the daemon's life (a second
daemon on it is refused, naming the pid); the socket path is claimed (a dead daemon's socket
replaced, a live one refused) before the Controller starts; SIGTERM or SIGINT stop accepting,
end the event streams, let requests in flight finish (bounded), stop the services, remove the
socket and close the Controller. The kernel is left as it is: sandboxes, their interfaces and
the peers programmed stay, and a daemon started again serves what is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from .. import api
from .lock import DaemonLock

log = logging.getLogger("pycnm.daemon")


class Daemon:
    """One ``pycnm daemon``.

    :param state_dir: the Controller's state directory (default ``$PYCNM_STATE_DIR`` or
        ``/var/lib/pycnm``).
    :param host: the socket, ``unix:///PATH`` (default: :func:`pycnm.api.socket_path`).
    :param cluster_store: etcd for global networks; with ``advertise_addr``, peer sync runs.
    :param lease_ttl: seconds of the host record's lease in the cluster store.
    :param services: factories ``callable(controller, engine) -> service`` of more services.
    """

    def __init__(
        self,
        state_dir: str | None = None,
        *,
        host: str | None = None,
        cluster_store: str | None = None,
        advertise_addr: str | None = None,
        lease_ttl: int = 10,
        services: Sequence[Callable[[Any, Any], Any]] = (),
    ) -> None:
        self.state_dir = os.path.abspath(state_dir or os.environ.get("PYCNM_STATE_DIR") or api.DEFAULT_STATE_DIR)
        self.socket = api.socket_path(host, self.state_dir)
        self.cluster_store = cluster_store
        self.advertise_addr = advertise_addr
        self.lease_ttl = lease_ttl
        self.service_factories = list(services)

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT. Raises :class:`~pycnm.errors.CNMError` when it cannot
        start (another daemon, a socket in use)."""
        from .. import discovery
        from ..api.engine import Engine
        from ..api.events import EventBus
        from ..api.server import EngineServer
        from ..controller import Controller
        from ..osl import fds

        fds.raise_limit()  # a few sockets per sandbox, kept above FD_SETSIZE (pycnm.osl.fds)
        with contextlib.ExitStack() as undo:  # on the way out, in reverse: each step's own undo
            # until the event loop takes the signals over: note them, finish starting, then stop
            # (a KeyboardInterrupt in the middle of the Controller's recovery would cut it short)
            early: list[int] = []
            for sig in (signal.SIGTERM, signal.SIGINT):
                undo.callback(signal.signal, sig, signal.signal(sig, lambda signum, _frame: early.append(signum)))
            undo.enter_context(DaemonLock(self.state_dir))
            server = EngineServer(None, self.socket)
            server.claim()  # before the Controller's start-up: a second daemon fails at once
            undo.callback(server.release)
            # The Controller is made, used and closed outside the event loop's thread: pyroute2's
            # synchronous calls run an event loop of their own, which cannot run inside a running
            # one ("This event loop is already running").
            bus = EventBus()
            ctl = Controller(
                self.state_dir,
                cluster_store=self.cluster_store,
                advertise_addr=self.advertise_addr,
                plugins=[bus.observer(), *discovery.load_plugins()],
            )
            undo.callback(ctl.close)
            server.engine = engine = Engine(ctl, bus)
            gc.collect()  # before the resolver serves: its one long collection, not during
            services = self._services(ctl, engine)
            engine.status_sections["Daemon"] = lambda: {
                "Socket": self.socket,
                "ClusterStore": ctl.cluster_store is not None,
                "Services": {getattr(s, "name", type(s).__name__): _status_of(s) for s in services},
                "GC": {
                    "Frozen": gc.get_freeze_count(),
                    "Collections": [generation["collections"] for generation in gc.get_stats()],
                },
            }
            for service in services:
                service.start()
                undo.callback(_safely, f"stop {type(service).__name__}", service.stop)
            # What start-up made (modules, the Controller, the drivers, dnspython's tables: some
            # 70,000 objects) lives as long as the daemon: out of the collector's sight, so that
            # a full collection scans only what came after. Scanning them all stopped every
            # thread, the resolver's among them, for 50 to 60 ms on a 2-CPU machine.
            gc.freeze()
            asyncio.run(self._serve(server, early))
        print("pycnm daemon: stopped", flush=True)

    def _services(self, ctl: Any, engine: Any) -> list[Any]:
        services: list[Any] = []
        if ctl.cluster_store is not None and ctl.advertise_addr:
            from .peers import PeerSync

            services.append(PeerSync(ctl, self.lease_ttl))
        for make in self.service_factories:
            service = make(ctl, engine)
            routes = getattr(service, "routes", None)
            if callable(routes):  # a service that serves HTTP (the CNI service's POST /pycnm/v1/cni)
                engine.add_routes(routes())
            services.append(service)
        return services

    async def _serve(self, server: Any, early: list[int]) -> None:
        """The event loop's part: the HTTP server, until a signal."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        if early:
            stopping.set()
        await server.start()
        try:
            print(
                f"pycnm daemon: pid {os.getpid()}, state {self.state_dir}, serving the Engine API"
                f" {api.API_VERSION} on unix://{self.socket}",
                flush=True,
            )
            await stopping.wait()
            log.info("stopping: finishing requests in flight")
        finally:
            await server.stop()


def _status_of(service: Any) -> Any:
    status = getattr(service, "status", None)
    return status() if callable(status) else {}


def _safely(what: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - shutting down: every step is tried
        log.warning("while stopping, could not %s: %s", what, exc)
