"""The cluster store: etcd v3, through its JSON gateway (the etcd3gw client).

The same compare-and-swap as the local store: a key's version is its etcd ``mod_revision``;
a commit is one etcd transaction whose compares are the guards (``version == 0`` for "must not
exist"), so it applies whole or not at all. Keys live under a prefix (``/pycnm/`` by default).
Several endpoints may be given: a call that cannot reach one tries the next, so the store keeps
working while a member of a three-node cluster is down.
"""

from __future__ import annotations

import base64
import builtins
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .. import steps
from ..errors import Internal, StaleVersion, Unavailable
from .base import Delete, Entry, Put, Store


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def parse_endpoints(spec: str) -> list[tuple[str, int]]:
    """``etcd://h1:2379,h2:2379`` (or ``h1:2379,...``) as (host, port) pairs."""
    text = spec.split("://", 1)[1] if "://" in spec else spec
    out = []
    for part in text.split(","):
        url = urllib.parse.urlsplit(f"//{part.strip()}")
        out.append((url.hostname or "127.0.0.1", url.port or 2379))
    return out


class EtcdStore(Store):
    scope = "global"

    def __init__(self, endpoints: str | Sequence[tuple[str, int]], prefix: str = "/pycnm/", timeout: float = 5.0):
        import etcd3gw  # optional dependency: pip install pycnm[etcd]

        self._etcd3gw = etcd3gw
        pairs = parse_endpoints(endpoints) if isinstance(endpoints, str) else list(endpoints)
        self.clients = [etcd3gw.client(host=h, port=p, timeout=timeout) for h, p in pairs]
        self.prefix = prefix
        self._lock = threading.Lock()
        self._current = 0

    # ---- transport: one endpoint after another -----------------------------------------------

    def _each(self, fn: Callable[[Any], Any]) -> Any:
        errors = []
        count = len(self.clients)
        for step in range(count):
            index = (self._current + step) % count
            try:
                result = fn(self.clients[index])
                self._current = index
                return result
            except (
                self._etcd3gw.exceptions.ConnectionFailedError,
                self._etcd3gw.exceptions.ConnectionTimeoutError,
            ) as exc:
                errors.append(f"{self.clients[index].host}:{self.clients[index].port}: {exc}")
        raise Unavailable("the etcd cluster store cannot be reached: " + "; ".join(errors))

    def _post(self, path: str, payload: dict) -> dict:
        try:
            return self._each(lambda c: c.post(c.get_url(path), json=payload))
        except self._etcd3gw.exceptions.Etcd3Exception as exc:
            raise Internal(f"etcd refused {path}: {exc}") from None

    # ---- the Store interface -------------------------------------------------------------------

    def _entries(self, answer: dict) -> list[Entry]:
        out = []
        for kv in answer.get("kvs", []):
            key = _unb64(kv["key"]).decode()[len(self.prefix) :]
            out.append(Entry(key, _unb64(kv.get("value", "")), int(kv["mod_revision"])))
        return out

    def get(self, key: str) -> Entry | None:
        found = self._entries(self._post("/kv/range", {"key": _b64(self.prefix + key)}))
        return found[0] if found else None

    def list(self, prefix: str) -> list[Entry]:
        start = self.prefix + prefix
        end = start[:-1] + chr(ord(start[-1]) + 1) if start else "\0"
        answer = self._post(
            "/kv/range", {"key": _b64(start), "range_end": _b64(end), "sort_order": "ASCEND", "sort_target": "KEY"}
        )
        return self._entries(answer)

    def commit(self, ops: Sequence[Put | Delete]) -> int:
        compare, success = [], []
        for op in ops:
            key = _b64(self.prefix + op.key)
            if op.expect is not None:
                if op.expect == 0:
                    compare.append({"key": key, "result": "EQUAL", "target": "VERSION", "version": 0})
                else:
                    compare.append({"key": key, "result": "EQUAL", "target": "MOD", "mod_revision": op.expect})
            if isinstance(op, Put):
                success.append({"request_put": {"key": key, "value": _b64(op.value)}})
            else:
                success.append({"request_delete_range": {"key": key}})
        steps.step("etcd", "commit " + ", ".join(op.key for op in ops))
        answer = self._post("/kv/txn", {"compare": compare, "success": success, "failure": []})
        if not answer.get("succeeded"):
            keys = ", ".join(repr(op.key) for op in ops if op.expect is not None)
            raise StaleVersion(f"store key(s) {keys} changed under us")
        return int(answer["header"]["revision"])

    def put_leased(self, key: str, value: bytes, ttl: int) -> int:
        """Put ``key`` under a new lease of ``ttl`` seconds; returns the lease ID (keep it alive
        with :meth:`keep_alive`, or the key goes when the lease runs out)."""
        steps.step("etcd", f"put {key} under a lease")
        lease = self._post("/lease/grant", {"TTL": ttl})
        lease_id = int(lease["ID"])
        self._post("/kv/put", {"key": _b64(self.prefix + key), "value": _b64(value), "lease": lease_id})
        return lease_id

    def keep_alive(self, lease_id: int) -> bool:
        """Refresh a lease; False when it has already run out."""
        answer = self._post("/lease/keepalive", {"ID": lease_id})
        return int((answer.get("result") or {}).get("TTL", 0)) > 0

    def list_at(self, prefix: str, revision: int | None = None) -> tuple[builtins.list[Entry], int]:
        """Like :meth:`list`, with the store revision the listing saw (watch from the next one to
        miss nothing); with ``revision``, the entries as they were at that revision."""
        start = self.prefix + prefix
        end = start[:-1] + chr(ord(start[-1]) + 1) if start else "\0"
        request: dict[str, Any] = {"key": _b64(start), "range_end": _b64(end)}
        if revision is not None:
            request["revision"] = revision
        answer = self._post("/kv/range", request)
        if revision is not None:
            return self._entries(answer), revision
        return self._entries(answer), int(answer["header"]["revision"])

    def watch(self, prefix: str, start_revision: int | None = None) -> tuple[Iterator[dict], Callable[[], None]]:
        """Changes below ``prefix`` as they happen (from ``start_revision`` on, when given):
        ``{"type": "PUT"|"DELETE", "key", "value", "revision"}``. Returns the event iterator and a
        function that ends it. The iterator also ends when the member serving the watch goes away
        (the caller lists again and watches again, on another member).

        etcd3gw's own watch is not used: when its stream breaks, its iterator waits forever.
        """
        start = self.prefix + prefix
        end = start[:-1] + chr(ord(start[-1]) + 1) if start else "\0"
        request: dict[str, Any] = {"key": _b64(start), "range_end": _b64(end)}
        if start_revision is not None:
            request["start_revision"] = start_revision
        import requests  # etcd3gw's transport

        def open_stream(client):
            try:
                response = client.session.post(
                    client.get_url("/watch"),
                    json={"create_request": request},
                    stream=True,
                    timeout=(client.timeout, None),
                )
            except requests.exceptions.ConnectionError as exc:
                raise self._etcd3gw.exceptions.ConnectionFailedError(str(exc)) from None
            if response.status_code != 200:
                response.close()
                raise Internal(f"etcd refused the watch: HTTP {response.status_code}")
            return response

        response = self._each(open_stream)
        done = threading.Event()

        def events() -> Iterator[dict]:
            try:
                for line in response.iter_lines(chunk_size=None):
                    if done.is_set():
                        return
                    if not line.strip():
                        continue
                    result = json.loads(line).get("result") or {}
                    if result.get("created") is False or result.get("canceled"):
                        raise Unavailable(f"etcd ended the watch: {result.get('cancel_reason', 'canceled')}")
                    for event in result.get("events", []):
                        kv = event.get("kv", {})
                        yield {
                            "type": event.get("type", "PUT"),
                            "key": _unb64(kv["key"]).decode()[len(self.prefix) :],
                            "value": _unb64(kv.get("value", "")),
                            "revision": int(kv.get("mod_revision", 0)),
                        }
            except (requests.exceptions.RequestException, OSError, AttributeError, ValueError):
                if not done.is_set():
                    return  # the stream broke: the member went away
            finally:
                response.close()

        def cancel() -> None:
            done.set()
            try:  # wake a reader blocked on the socket
                response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
            except Exception:  # noqa: BLE001 - best effort: the reader may be gone already
                pass

        return events(), cancel

    def close(self) -> None:
        for client in self.clients:
            try:
                client.session.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
