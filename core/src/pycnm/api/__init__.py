"""pycnm's Engine API: Docker's (version 1.41, the network part) and pycnm's own routes.

``pycnm daemon`` serves it on a unix socket (:mod:`.server`); the same :class:`~.engine.Engine`
answers in-process when no daemon runs. Docker's clients work unchanged against it:
``docker -H unix:///run/pycnm/pycnm.sock network ls``, ``docker.DockerClient(base_url=...)``.

Docker's routes (each also under ``/v1.24`` ... ``/v1.41``)::

    GET|HEAD /_ping                         OK, with Api-Version: 1.41
    GET  /version, /info
    GET  /events                            since, until, filters (type, event, network, container, ...)
    GET  /networks                          filters: name, id, driver, label, scope, type, dangling
    POST /networks/create                   201 {"Id", "Warning"}
    POST /networks/prune                    filters: until, label, label!
    GET  /networks/{id}                     verbose, scope
    DELETE /networks/{id}                   204
    POST /networks/{id}/connect             {"Container", "EndpointConfig", "Publish"}
    POST /networks/{id}/disconnect          {"Container", "Force"}
    GET  /containers/json                   pycnm's sandboxes, as containers
    GET  /containers/{id}/json

pycnm's own routes, under ``/pycnm/v1/`` (JSON in and out, errors as Docker's: a status and
``{"message": ...}``)::

    GET    /pycnm/v1/status                 the daemon: pid, state dir, start time, API version,
                                            counts of networks/sandboxes/endpoints, request
                                            counters, events; services add sections
    GET    /pycnm/v1/drivers                installed drivers (``pycnm driver ls --format json``);
                                            ``?scope=false`` skips loading each for its scope
    GET    /pycnm/v1/sandboxes              every sandbox, as ``pycnm sandbox inspect`` shows it
    POST   /pycnm/v1/sandboxes/create       {"Name", "Hostname", "Domainname", "Dns", "DnsSearch",
                                            "DnsOptions", "ExtraHosts": ["host:ip"],
                                            "HostNamespace"} -> 201 {"Id"}
    GET    /pycnm/v1/sandboxes/{ref}        one sandbox (name, ID, unique ID prefix)
    DELETE /pycnm/v1/sandboxes/{ref}        204
    POST   /pycnm/v1/sandboxes/delete       {"Names": [...], "Force": bool}: one batched delete
                                            (namespaces go together) -> {"Deleted", "NotFound"}

``Publish`` in a connect is pycnm's too: ``["8080:80", "127.0.0.1:5353:53/udp"]``, as
``docker run -p`` takes them.

Modules: :mod:`.engine` (the route table and its handlers), :mod:`.status` (errors to answers,
in one place), :mod:`.shapes` (dockerd's JSON), :mod:`.filters`, :mod:`.gojson` and
:mod:`.gotime` (what Go's decoders and time formats accept and say), :mod:`.events` (the event
bus), :mod:`.server` (HTTP on the unix socket), :mod:`.client` and :mod:`.messages` (the same
``Response`` from the daemon as from an in-process engine).
"""

from __future__ import annotations

import os
from typing import Any

#: where the daemon listens when the state directory is the default one
DEFAULT_SOCKET = "/run/pycnm/pycnm.sock"
#: the Controller's default state directory (named here: importing the Controller loads pyroute2)
DEFAULT_STATE_DIR = "/var/lib/pycnm"
#: the socket's name inside any other state directory
STATE_DIR_SOCKET = "pycnm.sock"


def socket_path(host: str | None = None, state_dir: str | None = None) -> str:
    """The daemon's socket: ``host`` (``-H``) or ``$PYCNM_HOST``, as ``unix:///PATH`` or a path;
    else :data:`DEFAULT_SOCKET` for the default state directory and ``<state dir>/pycnm.sock``
    for any other, so that a daemon on a lab's or a test's state directory never takes the
    host's socket, and a client pointed at a state directory finds that directory's daemon.

    Raises ValueError for an address that is not a unix socket."""
    host = host if host is not None else os.environ.get("PYCNM_HOST") or None
    if host:
        if host.startswith("unix://"):
            host = host[len("unix://") :]
        if not host.startswith("/"):
            raise ValueError(f"invalid daemon address {host!r}: pycnm serves unix sockets only (unix:///PATH or /PATH)")
        return host
    state = os.path.abspath(state_dir or os.environ.get("PYCNM_STATE_DIR") or DEFAULT_STATE_DIR)
    if state == DEFAULT_STATE_DIR:
        return DEFAULT_SOCKET
    return os.path.join(state, STATE_DIR_SOCKET)


def __getattr__(name: str) -> Any:
    # the engine imports nothing of the kernel layer, but keep ``import pycnm.api`` free anyway
    if name in ("Engine", "Request", "Response", "ROUTES", "API_VERSION", "MIN_API_VERSION"):
        from . import engine

        return getattr(engine, name)
    if name == "EventBus":
        from .events import EventBus

        return EventBus
    raise AttributeError(name)


__all__ = [
    "API_VERSION",
    "DEFAULT_SOCKET",
    "MIN_API_VERSION",
    "ROUTES",
    "Engine",
    "EventBus",
    "Request",
    "Response",
    "socket_path",
]
