"""Docker's event stream (``GET /events``), fed by the Controller's ``cnm_event`` hook.

The daemon hands :meth:`EventBus.observer` to its Controller as a ``pycnm.plugins`` plugin
(``Controller(plugins=[bus.observer(), *discovered])``); every change the Controller stores
becomes a Docker event here:

==================  =========================================================================
pycnm               Docker event
==================  =========================================================================
network.create      ``network create``, Actor the network, ``{name, type}`` (type: the driver)
network.delete      ``network destroy`` (dockerd has no ``remove``), ``{name, type}``
endpoint.join       ``network connect``, Actor the network, ``{container, name, type}``
endpoint.leave      ``network disconnect``, the same attributes
sandbox.create      ``container create``, Actor the sandbox, ``{name}``
sandbox.delete      ``container destroy``, ``{name}``
==================  =========================================================================

(``endpoint.create``/``endpoint.delete`` have no Docker event: a connect is the join.) The
engine adds ``network prune`` after a prune, as dockerd does. The last 256 events are kept for
``since``/``until``; each subscriber has a bounded queue, and one that falls 4096 events behind
is ended rather than let grow.

Thread-safe: the Controller emits from whichever thread made the change; subscribers read
from theirs (a blocking :meth:`Subscription.wait`) or from an event loop (a notifier).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .. import hookimpl

if TYPE_CHECKING:
    from .filters import Filters

#: events kept for since/until (dockerd keeps 256 too)
BUFFER = 256
#: a subscriber further behind than this is ended
MAX_QUEUE = 4096

Event = dict[str, Any]


class Subscription:
    """One ``/events`` reader: the buffered events it asked for, then live ones as they come."""

    def __init__(
        self, bus: EventBus, matches: Callable[[Event], bool], backlog: list[Event], until_ns: int | None
    ) -> None:
        self._bus = bus
        self._matches = matches
        self._queue: collections.deque[Event] = collections.deque(backlog)
        self._cond = threading.Condition()
        self._notify: Callable[[], None] | None = None
        self.until_ns = until_ns
        #: set when the stream is over: the bus closed, or this reader fell too far behind
        self.closed = False

    def set_notifier(self, notify: Callable[[], None] | None) -> None:
        """Call ``notify`` (from any thread) whenever events arrive or the stream ends."""
        with self._cond:
            self._notify = notify
            pending = bool(self._queue) or self.closed
        if pending and notify is not None:
            notify()

    def _push(self, event: Event) -> None:
        if not self._matches(event):
            return
        with self._cond:
            if self.closed:
                return
            if len(self._queue) >= MAX_QUEUE:
                self.closed = True  # too slow a reader: end its stream rather than grow
            else:
                self._queue.append(event)
            self._cond.notify_all()
            notify = self._notify
        if notify is not None:
            notify()

    def _end(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
            notify = self._notify
        if notify is not None:
            notify()

    def take(self) -> list[Event]:
        """Every event queued now (without waiting)."""
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
            return out

    def wait(self, timeout: float | None = None) -> list[Event]:
        """Queued events, waiting up to ``timeout`` for one (blocking callers: the in-process CLI)."""
        with self._cond:
            if not self._queue and not self.closed:
                self._cond.wait(timeout)
            out = list(self._queue)
            self._queue.clear()
            return out

    def close(self) -> None:
        self._bus._unsubscribe(self)
        self._end()

    def __iter__(self) -> Iterator[Event]:
        """Blocking iteration until ``until`` passes or the stream is closed."""
        try:
            while True:
                remaining = None
                if self.until_ns is not None:
                    remaining = (self.until_ns - time.time_ns()) / 1e9
                    if remaining <= 0:
                        yield from self.take()
                        return
                batch = self.wait(remaining)
                yield from batch
                if self.closed and not batch:
                    return
        finally:
            self.close()


class EventBus:
    """Keeps the last :data:`BUFFER` events and hands each new one to the subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: collections.deque[Event] = collections.deque(maxlen=BUFFER)
        self._subscribers: list[Subscription] = []
        #: network ID -> (name, driver): network.delete says neither, endpoint events no name
        self._networks: dict[str, tuple[str, str]] = {}
        self._lookup: Callable[[str], tuple[str, str] | None] | None = None
        self.published = 0

    # ---- what the Controller says ---------------------------------------------------------------

    def observer(self) -> Observer:
        """The ``pycnm.plugins``-style plugin to hand to the Controller."""
        return Observer(self)

    def attach(self, lookup: Callable[[str], Any]) -> None:
        """How to look a network up by ID (``lookup(id)`` gives a handle or raises), for the name
        and driver of a network this bus has not seen made (before the daemon started, or by
        another process). Deletions need them noted before (:meth:`remember`)."""
        self._lookup = lambda nid: _name_driver(lookup(nid))

    def remember(self, network: Any) -> None:
        """Note a network's name and driver (before deleting it, so that ``destroy`` has them)."""
        with self._lock:
            self._networks[network.id] = (network.name, network.driver)

    def from_controller(self, kind: str, object_id: str, name: str, attributes: Mapping[str, Any]) -> None:
        if kind == "network.create":
            self._note(object_id, name, str(attributes.get("driver") or ""))
            self.publish("network", "create", object_id, {"name": name, "type": str(attributes.get("driver") or "")})
        elif kind == "network.delete":
            with self._lock:
                known = self._networks.pop(object_id, None)
            driver = str(attributes.get("driver") or (known[1] if known else ""))
            self.publish("network", "destroy", object_id, {"name": name, "type": driver})
        elif kind in ("endpoint.join", "endpoint.leave"):
            network_id = str(attributes.get("network_id") or "")
            net_name, driver = self._network(network_id)
            self.publish(
                "network",
                "connect" if kind == "endpoint.join" else "disconnect",
                network_id,
                {"container": str(attributes.get("sandbox_id") or ""), "name": net_name, "type": driver},
            )
        elif kind == "sandbox.create":
            self.publish("container", "create", object_id, {"name": name})
        elif kind == "sandbox.delete":
            self.publish("container", "destroy", object_id, {"name": name})

    def _note(self, network_id: str, name: str, driver: str) -> None:
        with self._lock:
            self._networks[network_id] = (name, driver)

    def _network(self, network_id: str) -> tuple[str, str]:
        with self._lock:
            known = self._networks.get(network_id)
        if known is None and self._lookup is not None:
            try:
                known = self._lookup(network_id)
            except Exception:  # noqa: BLE001 - gone meanwhile: the event goes out without it
                known = None
            if known is not None:
                self._note(network_id, *known)
        return known or ("", "")

    # ---- events ---------------------------------------------------------------------------------

    def publish(self, type_: str, action: str, actor_id: str, attributes: Mapping[str, str]) -> Event:
        """Record one event and hand it to the subscribers; returns it."""
        now = time.time_ns()
        event: Event = {}
        if type_ == "container":  # dockerd still fills the old fields for container events
            event.update({"status": action, "id": actor_id})
        event.update(
            {
                "Type": type_,
                "Action": action,
                "Actor": {"ID": actor_id, "Attributes": dict(sorted(attributes.items()))},
                "scope": "local",
                "time": now // 1_000_000_000,
                "timeNano": now,
            }
        )
        with self._lock:
            self._buffer.append(event)
            self.published += 1
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub._push(event)
        return event

    def subscribe(
        self, filters: Filters | None = None, since_ns: int | None = None, until_ns: int | None = None
    ) -> Subscription:
        """A subscription: with ``since``/``until``, the buffered events between them first (as
        dockerd: none when neither is given), then every new matching event."""
        matches = _matcher(filters)
        with self._lock:
            backlog: list[Event] = []
            if since_ns is not None or until_ns is not None:
                low = since_ns or 0
                backlog = [
                    e
                    for e in self._buffer
                    if e["timeNano"] >= low and (until_ns is None or e["timeNano"] <= until_ns) and matches(e)
                ]
            sub = Subscription(self, matches, backlog, until_ns)
            self._subscribers.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @property
    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)

    def close(self) -> None:
        """End every subscription (the daemon is stopping)."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, []
        for sub in subscribers:
            sub._end()


class Observer:
    """The Controller's view of an :class:`EventBus`: a plugin with the ``cnm_event`` hook."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    @hookimpl
    def cnm_event(self, kind: str, object_id: str, name: str, attributes: Mapping[str, Any]) -> None:
        self._bus.from_controller(kind, object_id, name, attributes)


def _name_driver(network: Any) -> tuple[str, str] | None:
    return (network.name, network.driver) if network is not None else None


def _matcher(filters: Filters | None) -> Callable[[Event], bool]:
    """dockerd's event filter, for the keys that concern pycnm's events: ``type``, ``event``
    (the action), ``scope`` exact; ``network`` a prefix of the actor's ID or name;
    ``container`` a prefix of the actor's ID or name, or (pycnm's addition) of a network
    event's container ID; ``label`` over the attributes. Other keys are not checked, as in
    dockerd (they concern images, volumes, nodes...)."""
    if not filters:
        return lambda event: True

    def matches(event: Event) -> bool:
        actor = event["Actor"]
        attrs = actor["Attributes"]
        names = (actor["ID"], attrs.get("name", ""))
        if not (
            filters.exact("type", event["Type"])
            and filters.exact("event", event["Action"])
            and filters.exact("scope", event["scope"])
            and filters.fuzzy_any("network", names)
            and filters.match_kv("label", attrs)
        ):
            return False
        if "container" in filters:
            return filters.fuzzy_any("container", names) or (
                event["Type"] == "network" and filters.fuzzy_any("container", (attrs.get("container", ""),))
            )
        return True

    return matches
