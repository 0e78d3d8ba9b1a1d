"""Helpers shared by the controller's parts."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .. import labels, validate
from ..errors import NotFound

# ``labels`` is also a parameter name of create_network (Docker's --label)
labels_mod = labels
log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = "/var/lib/pycnm"
DEFAULT_NETNS_DIR = "/run/netns"
DEFAULT_NETNS_PREFIX = "pycnm-"
IFNAME_MAX = 15


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _new_id() -> str:
    return secrets.token_hex(32)


def _check_name(kind: str, name: str) -> str:
    return validate.name(kind, name)


def _ignore_missing(fn, *args, **kwargs) -> None:
    """Call a teardown step; a NotFound (the thing is gone already) is fine."""
    try:
        fn(*args, **kwargs)
    except NotFound:
        pass



def _label_map(values: Mapping[str, Any] | Sequence[str] | None, what: str) -> dict[str, Any]:
    """Labels (``what`` = "label") or driver options, checked: a mapping, ``key=value`` items, or None."""
    return validate.labels(values) if what == "label" else validate.driver_options(values)


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

