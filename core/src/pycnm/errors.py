"""Typed errors, after libnetwork's families (types/types.go) and Docker's errdefs.

Every error says what was wrong and, where it helps, what to do. The family decides how a caller
reacts: the CLI prints the message and exits 1; the remote-plugin server maps ``http_status``;
a ``maskable`` error may be ignored by a caller that is cleaning up (libnetwork's Maskable).
"""

from __future__ import annotations


class CNMError(Exception):
    """Base of every error pycnm raises on purpose."""

    http_status = 500
    #: a caller tearing something down may ignore it (the thing is already gone)
    maskable = False

    def __init__(self, message: str, *, maskable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if maskable is not None:
            self.maskable = maskable

    def __str__(self) -> str:
        return self.message


class InvalidParameter(CNMError):
    """The caller gave a value that can never work (bad CIDR, name too long, ...)."""

    http_status = 400


BadRequest = InvalidParameter


class NotFound(CNMError):
    """The named network, endpoint, sandbox, pool, address or driver does not exist."""

    http_status = 404


class Forbidden(CNMError):
    """The request conflicts with the current state (name taken, network in use, ...)."""

    http_status = 403


Conflict = Forbidden


class Unimplemented(CNMError):
    """The driver does not implement this call (libnetwork's NotImplemented)."""

    http_status = 501


class Timeout(CNMError):
    """An operation did not finish in time (a remote plugin that hangs, say)."""

    http_status = 504


class Unavailable(CNMError):
    """A resource ran out or a service cannot be reached (no free address, plugin down)."""

    http_status = 503


class Internal(CNMError):
    """A bug, or a failure of something underneath (the kernel, the store) that the caller cannot fix."""

    http_status = 500


class StaleVersion(Conflict):
    """A compare-and-swap found another writer's change; re-read and try again."""


class DriverLoadError(CNMError):
    """A driver distribution could not be loaded, or two claim the same name."""

    http_status = 500


__all__ = [
    "BadRequest",
    "CNMError",
    "Conflict",
    "DriverLoadError",
    "Forbidden",
    "Internal",
    "InvalidParameter",
    "NotFound",
    "StaleVersion",
    "Timeout",
    "Unavailable",
    "Unimplemented",
]
