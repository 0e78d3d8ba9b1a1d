"""An answer of the Engine API, the same object whether the engine ran in this process or the
daemon sent it over its socket (:mod:`.client`): so that a caller's output is the same both ways.

Standard library only: a client of the daemon imports this and nothing of the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

#: dockerd's Content-Type for JSON, exactly: with "; charset=utf-8" the docker CLIs print raw JSON
JSON_TYPE = "application/json"


class EventStream(Protocol):
    """``/events``' answer after its headers: event objects as they come, until it ends."""

    def __iter__(self) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass
class Response:
    """An answer: ``stream`` set means "the headers now, then these events as they come"."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Any = None  # an EventStream

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def message(self) -> str | None:
        """An error answer's message (dockerd's ``{"message": ...}``), else None."""
        if self.status < 400 or self.header("Content-Type") != JSON_TYPE:
            return None
        try:
            return json.loads(self.body).get("message")
        except (ValueError, AttributeError):
            return None


def encode(value: Any) -> bytes:
    """Go's ``json.Encoder`` with HTML escaping off, as dockerd writes: compact, UTF-8, a newline."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace") + b"\n"
