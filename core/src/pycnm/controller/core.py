"""What every part of the Controller shares, declared in one place: its configuration, the store
and how records are read and written, the OS layer, the event bus and the state lock.

The parts (:mod:`.drivers`, :mod:`.networks`, :mod:`.endpoints`, :mod:`.sandboxes`, :mod:`.joins`,
:mod:`.peers`, :mod:`.views`, :mod:`.recovery`) each take a :class:`Core` and the other parts they
call, by name, in their constructor: what a part uses is what it was given.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .. import codec
from .._relay import EventBus
from ..errors import Forbidden, InvalidParameter, NotFound, StaleVersion
from ..osl.layer import OSLayer
from ..records import EndpointRecord, NetworkRecord, SandboxRecord
from ..store import Delete, Entry, Put, Store, keys
from .lock import StateLock

log = logging.getLogger("pycnm.controller")
R = TypeVar("R")
IFNAME_MAX = 15


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


def new_id() -> str:
    return secrets.token_hex(32)


def ignore_missing(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call a teardown step; a NotFound (the thing is gone already) is fine."""
    try:
        fn(*args, **kwargs)
    except NotFound:
        pass


def safely(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run a clean-up step; log, never raise, so that the first error is the one reported."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - clean-up must go on
        log.warning("while cleaning up, could not %s: %s", what, exc)


class Core:
    """The Controller's shared state and its access to records.

    Records are read with :meth:`get` and friends, written with :meth:`put` and :meth:`commit`;
    a network's record, the costliest to decode, is decoded once per version (:meth:`network_view`)
    and read once per operation inside :meth:`one_read`.
    """

    def __init__(
        self,
        *,
        state_dir: str,
        netns_dir: str,
        netns_prefix: str,
        ifname_prefix: str,
        store: Store,
        cluster_store: Store | None,
        advertise_addr: str | None,
        osl: OSLayer,
        events: EventBus,
        plugins: list[Any],
        lock: StateLock,
    ) -> None:
        self.state_dir = state_dir
        self.netns_dir = netns_dir
        self.netns_prefix = netns_prefix
        self.ifname_prefix = ifname_prefix
        self.store = store
        self.cluster_store = cluster_store
        self.advertise_addr = advertise_addr
        self.osl = osl
        self.events = events
        self.plugins = plugins
        self.lock = lock
        #: this state directory's identity (set when the Controller starts)
        self.instance_id = ""
        #: what reconciliations did, one line per action
        self.reconciled: list[str] = []
        #: ``callback(sandbox_id, key)`` before pycnm is done with a sandbox's namespace
        self.releasing: list[Callable[[str, str], None]] = []
        self._net_views: dict[str, tuple[int, bytes, NetworkRecord]] = {}
        self._operation = threading.local()  # .networks: what one operation has read (see one_read)

    # ---- reading ---------------------------------------------------------------------------------

    def get(self, key: str, cls: type[R]) -> tuple[R | None, int]:
        """The record at ``key`` and its version; (None, 0) when there is none."""
        entry = self.store.get(key)
        if entry is None:
            return None, 0
        return codec.loads(entry.value, cls), entry.version

    def network(self, network_id: str) -> tuple[NetworkRecord, int]:
        rec, ver = self.get(keys.network(network_id), NetworkRecord)
        if rec is None:
            raise NotFound(f"network {network_id} not found")
        return rec, ver

    def endpoint(self, network_id: str, endpoint_id: str) -> tuple[EndpointRecord, int]:
        rec, ver = self.get(keys.endpoint(network_id, endpoint_id), EndpointRecord)
        if rec is None:
            raise NotFound(f"endpoint {endpoint_id} not found in network {network_id}")
        return rec, ver

    def sandbox(self, sandbox_id: str) -> tuple[SandboxRecord, int]:
        rec, ver = self.get(keys.sandbox(sandbox_id), SandboxRecord)
        if rec is None:
            raise NotFound(f"sandbox {sandbox_id} not found")
        return rec, ver

    def sandbox_name(self, sandbox_id: str) -> str:
        rec, _ = self.get(keys.sandbox(sandbox_id), SandboxRecord)
        return rec.name if rec else sandbox_id[:12]

    def network_records(self) -> list[NetworkRecord]:
        return [codec.loads(e.value, NetworkRecord) for e in self.store.list(keys.NETWORKS)]

    def network_listing(self) -> list[NetworkRecord]:
        """Every network's record for reading only, each decoded once per version (listing 1000
        networks decoded 1000 records, about 0.1 ms each)."""
        return [self._decoded_network(entry.key.split("/", 1)[1], entry) for entry in self.store.list(keys.NETWORKS)]

    def endpoint_records(self, network_id: str) -> list[EndpointRecord]:
        return [codec.loads(e.value, EndpointRecord) for e in self.store.list(keys.endpoints(network_id))]

    def sandbox_records(self) -> list[SandboxRecord]:
        return [codec.loads(e.value, SandboxRecord) for e in self.store.list(keys.SANDBOXES)]

    def _decoded_network(self, network_id: str, entry: Entry) -> NetworkRecord:
        cached = self._net_views.get(network_id)
        if cached is not None and cached[0] == entry.version and cached[1] == entry.value:
            return cached[2]
        record = codec.loads(entry.value, NetworkRecord)
        self._net_views[network_id] = (entry.version, entry.value, record)
        return record

    def forget_network_view(self, network_id: str) -> None:
        self._net_views.pop(network_id, None)

    def network_view(self, network_id: str) -> NetworkRecord:
        """The network's record for reading only (never change it): decoded once per version,
        read once per operation (:meth:`one_read`). Its record (options, pools) is the costliest
        to decode and changes rarely."""
        seen = getattr(self._operation, "networks", None)
        if seen is not None and network_id in seen:
            return seen[network_id]
        entry = self.store.get(keys.network(network_id))
        if entry is None:
            raise NotFound(f"network {network_id} not found")
        record = self._decoded_network(network_id, entry)
        if seen is not None:
            seen[network_id] = record
        return record

    @contextlib.contextmanager
    def one_read(self) -> Iterator[None]:
        """Within, each network's record is read from the store once: one operation (a connect,
        a join, a leave) works on one view of it. They never change a network; a network changed
        meanwhile is as changed just after the operation. On the cluster store every read is a
        round trip through etcd's leader (about 2.5 ms here): a connect read its network three
        times."""
        if getattr(self._operation, "networks", None) is not None:
            yield
            return
        self._operation.networks = {}
        try:
            yield
        finally:
            self._operation.networks = None

    def resolve(
        self,
        kind: str,
        name_or_id: str,
        names_prefix: str,
        records: Callable[[], list[Any]],
        id_key: Callable[[str], str],
    ) -> str:
        """A full ID, a name or a unique ID prefix (dockerd's order), to the ID. Full IDs and names
        are one read each; only a prefix lists the records."""
        hexadecimal = re.fullmatch(r"[0-9a-f]{1,64}", name_or_id or "") is not None
        if hexadecimal and len(name_or_id) == 64 and self.store.get(id_key(name_or_id)) is not None:
            return name_or_id
        entry = self.store.get(f"{names_prefix}{name_or_id}")
        if entry is not None:
            return entry.value.decode()
        if not hexadecimal:
            raise NotFound(f"{kind} {name_or_id} not found")
        ids = [r.id for r in records() if r.id.startswith(name_or_id)]
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise InvalidParameter(f"{kind} {name_or_id!r} is ambiguous: {len(ids)} {kind}s have IDs starting so")
        raise NotFound(f"{kind} {name_or_id} not found")

    # ---- writing ---------------------------------------------------------------------------------

    @staticmethod
    def put(key: str, record: Any, expect: int | None) -> Put:
        return Put(key, codec.dumps(record), expect)

    def write(self, key: str, record: Any) -> int:
        """Store ``record`` at ``key`` whatever is there."""
        return self.store.put(key, codec.dumps(record))

    def commit(self, ops: list[Put | Delete]) -> int:
        """Commit ``ops``; a guard that fails means another process changed the record at once."""
        try:
            return self.store.commit(ops)
        except StaleVersion as exc:
            raise Forbidden(f"{exc}: another process changed it at the same time; try again") from None

    def boot_scoped(self, durable: bool = False) -> contextlib.AbstractContextManager[None]:
        """Commits inside record state that a reboot ends anyway (a sandbox in its own namespace,
        its joins, the endpoints ``connect`` makes): the store may return before they are on disk
        (:meth:`Store.until_reboot`). With ``durable`` (a host-namespace sandbox outlives a
        reboot; a named endpoint deleted on leave should stay deleted) they are durable as usual."""
        return contextlib.nullcontext() if durable else self.store.until_reboot()

    def delete_named(self, key: str, name_key: str, object_id: str) -> None:
        """Remove a record and its name entry, the name only if it is still this object's (a
        taken name is another's)."""
        ops: list[Put | Delete] = [Delete(key)]
        named = self.store.get(name_key)
        if named is not None and named.value == object_id.encode():
            ops.append(Delete(name_key, named.version))
        self.store.commit(ops)

    def namespace_live(self, sb: SandboxRecord) -> bool:
        """Whether the sandbox's namespace is there to act in: not the host's, a namespace at its
        key, and for an external sandbox the same one it joined with (a runtime's path can name
        another namespace once its process is gone: acting there would touch a stranger's)."""
        if sb.host_namespace:
            return False
        if sb.key_identity is None:
            return self.osl.is_namespace(sb.key)
        return self.osl.namespace_identity(sb.key) == sb.key_identity

    def embedded_dns(self) -> bool:
        """Whether ``pycnm daemon`` serves the embedded DNS on this state directory now: the store
        says so and the daemon lives (it holds ``daemon.lock``; a daemon that crashed does not)."""
        if self.store.get(keys.DNS) is None:
            return False
        try:
            fd = os.open(os.path.join(self.state_dir, "daemon.lock"), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # held: the daemon lives
        finally:
            os.close(fd)
        return False

    # ---- events ----------------------------------------------------------------------------------

    def note(self, message: str, *args: Any) -> None:
        """Say what a reconciliation did (``Controller.reconciled`` and the log)."""
        text = message % args if args else message
        self.reconciled.append(text)
        log.warning("reconcile: %s", text)
