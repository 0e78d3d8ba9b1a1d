"""The one place where an error becomes an answer: status code and ``{"message": ...}``.

Every failure of a request comes here (:func:`error_response`):

- :class:`ApiError` carries dockerd's status and words already (the handlers raise it for
  what the API layer itself checks: a bad body, a predefined name, an unknown container);
- pycnm's typed errors (:mod:`pycnm.errors`) map by family: InvalidParameter 400, NotFound 404,
  Forbidden 403, Unimplemented 501, Unavailable 503, Timeout 504, Internal 500 (each class's
  ``http_status``); then :data:`DOCKERD_WORDING` rewrites the ones where dockerd answers the
  same mistake with another status or other words (a taken name is 409; a network in use is
  ``error while removing network: ...``): scripts written for docker grep those;
- anything else is a bug: 500, logged with its traceback.

The body is dockerd's: ``{"message":"..."}`` and a newline, ``Content-Type: application/json``
exactly. With ``; charset=utf-8`` both docker CLIs print the raw JSON instead of the message,
and without ``message`` docker-py raises ``KeyError``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import CNMError, Forbidden, InvalidParameter, NotFound, Unavailable

log = logging.getLogger("pycnm.api")


class ApiError(Exception):
    """An answer in dockerd's words: ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_Template = str | Callable[[re.Match[str], Mapping[str, Any]], str]

#: (operation, pycnm error family, what pycnm's message says) -> (dockerd's status, dockerd's
#: words). ``{name}`` in the words is a group of the pattern or a key of the handler's context
#: (``network_name``, ``network_id``, ``container_name``, ``container_id``).
DOCKERD_WORDING: tuple[tuple[str, type[CNMError], re.Pattern[str], int, _Template], ...] = (
    # names are unique in pycnm; dockerd says 409 for a taken name (CheckDuplicate)
    (
        "network.create",
        Forbidden,
        re.compile(r"^network with name (?P<name>.*) already exists$"),
        409,
        "network with name {name} already exists",
    ),
    (
        "network.create",
        Forbidden,
        re.compile(r"overlaps with subnet"),
        403,
        "Pool overlaps with other one on this address space",
    ),
    (
        "network.create",
        InvalidParameter,
        re.compile(r"^subnets \S+ and \S+ overlap$"),
        403,
        "Pool overlaps with other one on this address space",
    ),
    (
        "network.create",
        Unavailable,
        re.compile(r"^could not find an available, non-overlapping (?P<family>IPv[46]) address pool"),
        404,
        (
            "could not find an available, non-overlapping {family} address pool among the defaults to assign"
            " to the network"
        ),
    ),
    (
        "network.create",
        NotFound,
        re.compile(r"^unknown (?:network|IPAM) driver (?P<q>['\"])(?P<name>.*)(?P=q):"),
        404,
        'plugin "{name}" not found',
    ),
    (
        "network.delete",
        Forbidden,
        re.compile(r"^network (?P<name>\S+) id (?P<id>[0-9a-f]+) has active endpoints"),
        403,
        "error while removing network: network {name} id {id} has active endpoints",
    ),
    (
        "network.connect",
        Forbidden,
        re.compile(r"already exists in network|is already connected to network"),
        403,
        "endpoint with name {container_name} already exists in network {network_name}",
    ),
    ("network.connect", Forbidden, re.compile(r"^address \S+ is already in use"), 403, "Address already in use"),
    (
        "network.connect",
        InvalidParameter,
        re.compile(r"^invalid address (?P<ip>\S+): it is not in any subnet"),
        500,
        "Invalid address {ip}: It does not belong to any of this network's subnets",
    ),
    (
        "network.connect",
        Unavailable,
        re.compile(r"^no available addresses in pool (?P<pool>\S+)"),
        500,
        lambda m, ctx: (
            f"no available {'IPv6' if ':' in m['pool'] else 'IPv4'} addresses on this network's"
            f" address pools: {ctx.get('network_name')} ({ctx.get('network_id')})"
        ),
    ),
    # pycnm: only a host-namespace sandbox joins a host network, and it joins nothing else
    (
        "network.connect",
        Forbidden,
        re.compile(r"host_namespace"),
        400,
        "container cannot be disconnected from host network or connected to host network",
    ),
    (
        "network.disconnect",
        NotFound,
        re.compile(r"is not connected to network"),
        500,
        "container {container_id} is not connected to network {network_name}",
    ),
    # pycnm's own routes: a taken name is a conflict there too
    ("pycnm.sandbox.create", Forbidden, re.compile(r"already exists"), 409, "{message}"),
)


def error_status(exc: BaseException, op: str, context: Mapping[str, Any] | None = None) -> tuple[int, str]:
    """The status and message to answer ``exc`` with, raised while doing ``op``."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, CNMError):
        message = str(exc)
        for rule_op, family, pattern, status, words in DOCKERD_WORDING:
            if rule_op != op or not isinstance(exc, family):
                continue
            found = pattern.search(message)
            if found is None:
                continue
            ctx = {**(context or {}), "message": message}
            if callable(words):
                return status, words(found, ctx)
            return status, words.format_map(_Fill({**ctx, **found.groupdict()}))
        return int(getattr(exc, "http_status", 500)), message
    log.error("internal error in %s", op, exc_info=exc)
    return 500, f"internal error in pycnm ({type(exc).__name__}: {exc}); see the daemon's log"


class _Fill(dict):
    def __missing__(self, key: str) -> str:
        return ""


def error_body(message: str) -> bytes:
    text = json.dumps({"message": message}, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "replace") + b"\n"
