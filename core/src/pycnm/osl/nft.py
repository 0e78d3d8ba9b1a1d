"""nftables through libnftables, in-process (a ctypes binding of the few calls needed).

A script of several commands runs as one atomic transaction: all of it applies or none does.
Like a netlink socket, a libnftables context belongs to the namespace it was made in, so
contexts are cached per (thread, namespace). No ``nft`` process is started and no text output
is parsed: listings come back as libnftables' JSON.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import threading
from typing import Any

from .. import steps
from ..errors import Internal, Unavailable
from . import netlink

_OUTPUT_JSON = 1 << 4
_lib = None
_lib_lock = threading.Lock()
_local = threading.local()


def _load():
    global _lib  # noqa: PLW0603 - loaded once, on first use, under the lock
    with _lib_lock:
        if _lib is None:
            name = ctypes.util.find_library("nftables") or "libnftables.so.1"
            try:
                lib = ctypes.CDLL(name)
            except OSError as exc:
                raise Unavailable(
                    f"libnftables is not installed ({exc}); install the Debian package nftables"
                ) from None
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
            for fn in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
                getattr(lib, fn).argtypes = [ctypes.c_void_p]
            for fn in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
                getattr(lib, fn).argtypes = [ctypes.c_void_p]
                getattr(lib, fn).restype = ctypes.c_char_p
            lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
            _lib = lib
    return _lib


def _ctx():
    lib = _load()
    key = netlink.current()
    cache = getattr(_local, "contexts", None)
    if cache is None:
        cache = _local.contexts = {}
    ctx = cache.get(key)
    if ctx is None:
        ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        lib.nft_ctx_output_set_flags(ctx, _OUTPUT_JSON)
        cache[key] = ctx
    return lib, ctx


def reset() -> None:
    """Free this thread's contexts (each holds a netlink socket that keeps its namespace alive).

    Only this thread's: freeing a context another thread may be using would be a use-after-free.
    """
    cache = getattr(_local, "contexts", None) or {}
    if _lib is None:  # never loaded: no context was made
        return
    for key in list(cache):
        _lib.nft_ctx_free(cache.pop(key))


def run(script: str, *, changes: bool = True) -> str:
    """Run ``script`` (nft syntax, one transaction) in this thread's namespace; returns the output.
    ``changes``: False for a listing (it is no step)."""
    lib, ctx = _ctx()
    if changes:
        steps.step("nft", script.split("\n", 1)[0][:80])
    rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
    out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
    err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode()
    if rc != 0:
        raise Internal(f"nftables refused the change: {err.strip() or 'error ' + str(rc)}")
    return out


def _once(command: str, listing: bool) -> tuple[bool, str, str]:
    """Run ``command`` with a context made for it and freed after: (done, output, errors)."""
    lib = _load()
    ctx = lib.nft_ctx_new(0)
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        if listing:
            lib.nft_ctx_output_set_flags(ctx, _OUTPUT_JSON)
        done = lib.nft_run_cmd_from_buffer(ctx, command.encode()) == 0
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode()
    finally:
        lib.nft_ctx_free(ctx)
    return done, out, err


def run_once(script: str) -> None:
    """Run ``script`` in this thread's namespace with a context made for it and freed after:
    for a namespace visited once (a sandbox's own table), where a cached context would only hold
    a socket open in it."""
    steps.step("nft", script.split("\n", 1)[0][:80])
    done, _, err = _once(script, listing=False)
    if not done:
        raise Internal(f"nftables refused the change: {err.strip() or 'an error'}")


def query_once(command: str) -> list[dict[str, Any]] | None:
    """A listing in this thread's namespace with a context made for it (as :func:`run_once`):
    the ``nftables`` items of its JSON answer, or None when nftables refuses it (a table or
    chain that is not there)."""
    done, out, _ = _once(command, listing=True)
    if not done:
        return None
    return json.loads(out).get("nftables", []) if out.strip() else []


def query(command: str) -> list[dict[str, Any]]:
    """Run a listing command; returns the ``nftables`` items of its JSON answer."""
    out = run(command, changes=False)
    if not out.strip():
        return []
    return json.loads(out).get("nftables", [])


def table_exists(family: str, name: str) -> bool:
    return any(
        item.get("table", {}).get("name") == name and item["table"]["family"] == family for item in query("list tables")
    )
