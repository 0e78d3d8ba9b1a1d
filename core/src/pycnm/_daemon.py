"""``pycnm daemon``: the long-running process of a host in a cluster.

It keeps the host's ``hosts/<instance>`` record (its advertise address) alive under an etcd
lease, watches the cluster store, and on every change brings the host's drivers in step
(:meth:`Controller.sync_peers`). A host that dies stops refreshing its lease; etcd then deletes
its record, and the other daemons drop its endpoints from their kernels.
"""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger("pycnm.daemon")


def run(ctl, lease_ttl: int = 10, stop: threading.Event | None = None) -> None:
    store = ctl.cluster_store
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, lambda *_: stop.set())
        except ValueError:  # not the main thread (tests run the loop in a thread)
            pass
    lease = store.put_leased(f"hosts/{ctl.instance_id}", ctl.advertise_addr.encode(), lease_ttl)

    def keep_alive() -> None:
        nonlocal lease
        while not stop.wait(lease_ttl / 3):
            try:
                if not store.keep_alive(lease):
                    lease = store.put_leased(f"hosts/{ctl.instance_id}", ctl.advertise_addr.encode(), lease_ttl)
            except Exception as exc:  # the store is down: try again at the next beat
                log.warning("cannot refresh the lease: %s", exc)

    threading.Thread(target=keep_alive, name="pycnm-lease", daemon=True).start()
    print(f"pycnm daemon: host {ctl.instance_id} at {ctl.advertise_addr}, watching the cluster store", flush=True)
    current = {"cancel": lambda: None}
    threading.Thread(target=lambda: (stop.wait(), current["cancel"]()), name="pycnm-stop", daemon=True).start()
    while not stop.is_set():
        try:
            # everything, at one revision; then every change after it, one event at a time
            changed = ctl.sync_peers()
            log.info("read the cluster store at revision %d: %d peer change(s)", ctl.peer_revision, changed)
            events, current["cancel"] = store.watch("", start_revision=ctl.peer_revision + 1)
            if stop.is_set():
                break
            for event in events:
                changed = ctl.apply_event(event)
                if changed:
                    log.info("programmed %d peer change(s) after %s %s", changed, event["type"], event["key"])
            if not stop.is_set():
                log.warning("the watch ended (its etcd member went away?): reading the store again")
        except Exception as exc:  # the store is unreachable, or a driver call failed: start over
            log.warning("watch interrupted: %s", exc)
            stop.wait(1)
        finally:
            current["cancel"]()
