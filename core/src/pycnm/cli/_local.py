"""The CLI without a daemon: the same Engine API requests, answered by an engine in this process
(:func:`pycnm.api.engine.in_process`) on the state directory asked for. Only this path imports
the Controller (and so pyroute2)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from . import Failed
from ._wire import Answer

#: requests answered without a Controller: listing drivers needs no state directory (a user
#: who may not open /var/lib/pycnm can still see what is installed)
_STATELESS = {("GET", "/pycnm/v1/drivers")}


class Local:
    """``handle(method, path, query, body)`` on an in-process engine, opened at the first request
    that needs one and closed by :meth:`close`."""

    def __init__(self, state_dir: str | None, debug: bool = False) -> None:
        self.state_dir = state_dir
        logging.basicConfig(
            level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
        )
        self._stack = contextlib.ExitStack()
        self._engine: Any = None

    def handle(self, method: str, path: str, query: Mapping[str, Sequence[str]] | None, body: bytes) -> Answer:
        headers = {"Content-Type": "application/json"} if body else {}
        if (method, path) in _STATELESS and self._engine is None:
            return _drivers(query or {})
        response = self._open().handle(method, path, query or {}, headers, body)
        return Answer(response.status, response.headers, response.body)

    def _open(self) -> Any:
        if self._engine is None:
            from ..api.engine import in_process
            from ..errors import CNMError

            try:
                self._engine = self._stack.enter_context(in_process(self.state_dir))
            except (CNMError, OSError) as exc:
                raise Failed(str(exc)) from None
        return self._engine

    def close(self) -> None:
        self._stack.close()
        self._engine = None


def _drivers(query: Mapping[str, Sequence[str]]) -> Answer:
    """``GET /pycnm/v1/drivers`` as the engine answers it."""
    from ..api.drivers import installed_drivers
    from ..api.engine import COMMON_HEADERS
    from ..api.filters import parse_bool
    from ..api.messages import JSON_TYPE, encode
    from ..api.status import ApiError, error_body

    headers = [*COMMON_HEADERS, ("Content-Type", JSON_TYPE)]
    scope = (query.get("scope") or [""])[0]
    try:
        rows = installed_drivers(scope=parse_bool("scope", scope) if scope else True)
    except ApiError as exc:
        return Answer(exc.status, headers, error_body(exc.message))
    return Answer(200, headers, encode(rows))
