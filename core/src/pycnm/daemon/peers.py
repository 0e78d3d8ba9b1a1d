"""Overlay peer sync: keep this host's kernel in step with the cluster store.

It keeps the host's ``hosts/<instance>`` record (its advertise address) alive under an etcd
lease, watches the cluster store, and on every change brings the host's drivers in step
(:meth:`Controller.sync_peers`, :meth:`Controller.apply_event`). A host that dies stops
refreshing its lease; etcd then deletes its record, and the other daemons drop its endpoints
from their kernels. Runs in threads of its own beside the API server.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("pycnm.daemon")


class PeerSync:
    """The daemon's overlay service: :meth:`start` it, :meth:`stop` it; :meth:`status` for
    ``GET /pycnm/v1/status``."""

    name = "PeerSync"

    def __init__(self, ctl: Any, lease_ttl: int = 10) -> None:
        self.ctl = ctl
        self.lease_ttl = lease_ttl
        self._stop = threading.Event()
        self._cancel = lambda: None
        self._threads: list[threading.Thread] = []
        self.changes = 0
        self.last_error = ""

    def start(self) -> None:
        store, ctl = self.ctl.cluster_store, self.ctl
        self._lease = store.put_leased(f"hosts/{ctl.instance_id}", ctl.advertise_addr.encode(), self.lease_ttl)
        for target, name in ((self._keep_alive, "pycnm-lease"), (self._watch, "pycnm-peers")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        print(f"pycnm daemon: host {ctl.instance_id} at {ctl.advertise_addr}, watching the cluster store", flush=True)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._cancel()
        for thread in self._threads:
            thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {
            "Host": self.ctl.instance_id,
            "AdvertiseAddr": self.ctl.advertise_addr,
            "Revision": getattr(self.ctl, "peer_revision", None),
            "Changes": self.changes,
            "LastError": self.last_error,
        }

    def _keep_alive(self) -> None:
        store, ctl = self.ctl.cluster_store, self.ctl
        while not self._stop.wait(self.lease_ttl / 3):
            try:
                if not store.keep_alive(self._lease):
                    self._lease = store.put_leased(
                        f"hosts/{ctl.instance_id}", ctl.advertise_addr.encode(), self.lease_ttl
                    )
            except Exception as exc:  # noqa: BLE001 - the store is down: try again at the next beat
                log.warning("cannot refresh the lease: %s", exc)

    def _watch(self) -> None:
        store, ctl = self.ctl.cluster_store, self.ctl
        while not self._stop.is_set():
            try:
                # everything, at one revision; then every change after it, one event at a time
                changed = ctl.sync_peers()
                self.changes += changed
                log.info("read the cluster store at revision %d: %d peer change(s)", ctl.peer_revision, changed)
                events, self._cancel = store.watch("", start_revision=ctl.peer_revision + 1)
                if self._stop.is_set():
                    break
                for event in events:
                    changed = ctl.apply_event(event)
                    if changed:
                        self.changes += changed
                        log.info("programmed %d peer change(s) after %s %s", changed, event["type"], event["key"])
                if not self._stop.is_set():
                    log.warning("the watch ended (its etcd member went away?): reading the store again")
            except Exception as exc:  # noqa: BLE001 - the store is unreachable, or a driver call failed: start over
                self.last_error = str(exc)
                log.warning("watch interrupted: %s", exc)
                self._stop.wait(1)
            finally:
                self._cancel()
