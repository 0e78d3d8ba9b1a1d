"""Helpers shared by the controller's parts."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .. import labels
from ..errors import InvalidParameter, NotFound

# ``labels`` is also a parameter name of create_network (Docker's --label)
labels_mod = labels
log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DEFAULT_STATE_DIR = "/var/lib/pycnm"
DEFAULT_NETNS_DIR = "/run/netns"
DEFAULT_NETNS_PREFIX = "pycnm-"
IFNAME_MAX = 15


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _new_id() -> str:
    return secrets.token_hex(32)


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"invalid {kind} name {name!r}: a name is required")
    if not NAME_RE.match(name):
        raise InvalidParameter(
            f"invalid {kind} name {name!r}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        )
    return name


def _ignore_missing(fn, *args, **kwargs) -> None:
    """Call a teardown step; a NotFound (the thing is gone already) is fine."""
    try:
        fn(*args, **kwargs)
    except NotFound:
        pass



def _label_map(values: Mapping[str, Any] | Sequence[str] | None, what: str) -> dict[str, Any]:
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return dict(values)
    out = {}
    for item in values:
        key, sep, value = str(item).partition("=")
        if not key:
            raise InvalidParameter(f"invalid {what} {item!r}: expected key=value")
        out[key] = value if sep else ""
    return out


def _valid_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value).split("/")[0])
        return True
    except ValueError:
        return False


def _safely(what: str, fn, *args, **kwargs) -> None:
    """Run a clean-up step; log, never raise, so that the first error is the one reported."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - clean-up must go on
        log.warning("while cleaning up, could not %s: %s", what, exc)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)

