"""A CNI plugin's failure as one of pycnm's typed errors, naming the plugin and saying what to do.

A plugin that fails exits non-zero and writes the spec's error object on stdout
(``{"cniVersion", "code", "msg", "details"}``, SPEC.md section 5 "Error"). libcni's ``RawExec``
reads it from stdout and falls back to stderr when stdout is empty; pycnm does the same and keeps
stderr in the message in every case (a Go plugin's panic or a shell plugin's complaint is there).

The spec's codes decide the family: 1, 2, 4, 6 and 7 (versions, fields, environment, decoding,
configuration) are :class:`~pycnm.errors.InvalidParameter`; 3 (unknown container) is
:class:`~pycnm.errors.NotFound`; 11 (try again later) and 50/51 (STATUS: not available) are
:class:`~pycnm.errors.Unavailable`; 5 (I/O), 999 (libcni's internal) and anything else are
:class:`~pycnm.errors.Internal`. A plugin that runs past the network's timeout is a
:class:`~pycnm.errors.Timeout`. Each error carries the :class:`Failure` as ``failure``.
"""

from __future__ import annotations

from attrs import frozen

from pycnm.errors import CNMError, Internal, InvalidParameter, NotFound, Timeout, Unavailable

#: the most of a plugin's stderr an error message carries (its end: where the reason usually is)
STDERR_KEPT = 2000


@frozen
class Failure:
    """What went wrong in one plugin execution."""

    #: libcni's plugin description: ``type="bridge" name="mynet"``
    plugin: str
    #: ADD, DEL, CHECK, GC, STATUS or VERSION
    command: str
    #: the spec's error code; None when the plugin gave no error object
    code: int | None
    msg: str
    details: str = ""
    stderr: str = ""
    #: the executable run, when it was found
    path: str | None = None

    def describe(self) -> str:
        where = f" ({self.path})" if self.path else ""
        text = f"plugin {self.plugin}{where} failed ({self.command.lower()}): "
        text += f"[code {self.code}] " if self.code is not None else ""
        text += self.msg
        if self.details:
            text += f": {self.details}"
        if self.stderr:
            text += f"; its stderr: {self.stderr}"
        return text


class PluginError:
    """Mixed into the errors raised for a plugin's failure: ``failure`` says which and how."""

    failure: Failure


class PluginInvalid(InvalidParameter, PluginError):
    """The plugin refused its configuration, its version or its environment."""


class PluginNotFound(NotFound, PluginError):
    """The plugin does not know the attachment (code 3)."""


class PluginUnavailable(Unavailable, PluginError):
    """The plugin cannot serve now (code 11, 50, 51), or cannot be run at all."""


class PluginTimeout(Timeout, PluginError):
    """The plugin did not finish within the network's timeout, and was killed."""


class PluginInternal(Internal, PluginError):
    """The plugin failed in a way the caller cannot fix (I/O, its own bug, a malformed answer)."""


_HINTS = {
    PluginInvalid: "fix the CNI configuration (or the plugin's version) and try again",
    PluginNotFound: "the attachment is unknown to the plugin",
    PluginUnavailable: "try again later, or see the plugin's daemon or resources",
    PluginTimeout: "raise the network's timeout (-o timeout=SECONDS) or find why the plugin hangs",
    PluginInternal: "see the plugin's message and its logs",
}


def family(code: int | None) -> type[CNMError]:
    """The error class for a spec error code (None: no error object)."""
    if code in (1, 2, 4, 6, 7):
        return PluginInvalid
    if code == 3:
        return PluginNotFound
    if code in (11, 50, 51):
        return PluginUnavailable
    return PluginInternal


def error_for(failure: Failure, kind: type[CNMError] | None = None) -> CNMError:
    """The typed error of ``failure`` (``kind`` overrides the family its code gives)."""
    cls = kind or family(failure.code)
    hint = _HINTS.get(cls, "")
    exc = cls(failure.describe() + (f" ({hint})" if hint else ""))
    exc.failure = failure  # type: ignore[attr-defined]  # every class here mixes in PluginError
    return exc


def trimmed(stderr: bytes) -> str:
    """A plugin's stderr for a message: decoded, stripped, its last :data:`STDERR_KEPT` characters."""
    text = stderr.decode("utf-8", "replace").strip()
    return text if len(text) <= STDERR_KEPT else "..." + text[-STDERR_KEPT:]


__all__ = [
    "Failure",
    "PluginError",
    "PluginInternal",
    "PluginInvalid",
    "PluginNotFound",
    "PluginTimeout",
    "PluginUnavailable",
    "error_for",
    "family",
    "trimmed",
]
