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
    while not stop.is_set():
        events, cancel = store.watch("")
        stopper = threading.Thread(target=lambda: (stop.wait(), cancel()), daemon=True)
        stopper.start()
        try:
            ctl.sync_peers()  # what changed while no watch ran
            for event in events:
                if stop.is_set():
                    break
                if event["key"].startswith(("endpoints/", "hosts/", "networks/")):
                    changed = ctl.sync_peers()
                    if changed:
                        log.info("programmed %d peer change(s) after %s %s", changed, event["type"], event["key"])
        except Exception as exc:  # a member died mid-watch: watch again, on another member
            log.warning("watch interrupted: %s", exc)
            stop.wait(1)
        finally:
            cancel()
