"""Each attachment's configuration and result on disk, in libcni's cache format.

libcni (``libcni/api.go``, ``cacheAdd``) keeps, after a successful ADD, one file per attachment
under ``/var/lib/cni/results/<network name>-<container ID>-<ifname>``: a JSON object of kind
``cniCacheV1`` with the container ID, the list's bytes (``config``, base64 as Go writes a
``[]byte``), the interface name, the network name, the namespace (libcni 1.2), the ``CNI_ARGS``
pairs, the capability arguments and the final result. DEL and CHECK hand that result to every
plugin as ``prevResult``; GC (libcni 1.2) lists the files to find attachments the runtime no
longer knows. DEL removes the file.

pycnm writes the same files under the driver's state directory (``results/``), with one object
of its own beside libcni's keys (which libcni's decoder ignores): ``pycnm`` names the pycnm network
and the version the list ran in. Unlike libcni, pycnm writes the file *before* the first ADD too,
without a result: a process killed midway leaves the configuration and namespace that its DEL
needs (libcni leaves that to the runtime). Files are replaced atomically and synced.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Container, Mapping
from typing import Any

from attrs import evolve, field, frozen

KIND = "cniCacheV1"
#: pycnm's container IDs (endpoint IDs) in a cache file's name, ``<network>-<ID>-<ifname>``
_CONTAINER_IN_NAME = re.compile(r"-([0-9a-f]{64})-")


@frozen
class Entry:
    """One attachment's cache file."""

    network_name: str
    container_id: str
    ifname: str
    #: the list as run (JSON text)
    config: str
    netns: str = ""
    capability_args: Mapping[str, Any] = field(factory=dict)
    cni_args: tuple[tuple[str, str], ...] = ()
    #: the final ADD result, in ``cni_version``; None until the ADD succeeded
    result: Mapping[str, Any] | None = None
    #: pycnm's: the network the attachment belongs to, the version the list ran in, and where
    #: its plugins were found and how long each could take (for a DEL after the network is gone)
    network_id: str = ""
    cni_version: str = ""
    cni_path: tuple[str, ...] = ()
    timeout: float | None = None

    def with_result(self, result: Mapping[str, Any]) -> Entry:
        return evolve(self, result=dict(result))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": KIND,
            "containerId": self.container_id,
            "config": base64.b64encode(self.config.encode()).decode(),
            "ifName": self.ifname,
            "networkName": self.network_name,
        }
        if self.netns:
            out["netns"] = self.netns
        if self.cni_args:
            out["cniArgs"] = [list(pair) for pair in self.cni_args]
        if self.capability_args:
            out["capabilityArgs"] = dict(self.capability_args)
        if self.result is not None:
            out["result"] = dict(self.result)
        out["pycnm"] = {
            "networkId": self.network_id,
            "cniVersion": self.cni_version,
            "cniPath": list(self.cni_path),
            "timeout": self.timeout,
        }
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry | None:
        """The entry of a decoded file; None for one that is not a cache entry pycnm can use."""
        if data.get("kind") != KIND:
            return None
        try:
            config = base64.b64decode(data.get("config") or "", validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            config = ""
        found = data.get("pycnm")
        ours: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        netns = data.get("netns")
        texts = [data.get(k) for k in ("networkName", "containerId", "ifName")]
        if not all(isinstance(t, str) and t for t in texts):
            return None
        pairs = data.get("cniArgs") or []
        path = ours.get("cniPath")
        timeout = ours.get("timeout")
        result = data.get("result")
        return cls(
            network_name=data["networkName"],
            container_id=data["containerId"],
            ifname=data["ifName"],
            config=config,
            netns=netns if isinstance(netns, str) else "",
            capability_args=dict(data.get("capabilityArgs") or {}),
            cni_args=tuple((str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2),
            result=dict(result) if isinstance(result, Mapping) else None,
            network_id=str(ours.get("networkId") or ""),
            cni_version=str(ours.get("cniVersion") or ""),
            cni_path=tuple(str(d) for d in path) if isinstance(path, list) else (),
            timeout=float(timeout) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None,
        )


class ResultCache:
    """The cache files under ``directory`` (created on first write, mode 0700 as libcni's)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, network_name: str, container_id: str, ifname: str) -> str:
        return os.path.join(self.directory, f"{network_name}-{container_id}-{ifname}")

    def write(self, entry: Entry) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        target = self.path(entry.network_name, entry.container_id, entry.ifname)
        tmp = f"{target}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(entry.to_json()).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)

    def remove(self, entry: Entry) -> None:
        try:
            os.unlink(self.path(entry.network_name, entry.container_id, entry.ifname))
        except FileNotFoundError:
            pass

    def entries(self, container_id: str | None = None, skip: Container[str] = ()) -> list[Entry]:
        """Every readable entry (of one container, when given), in file-name order as libcni's
        ``GetCachedAttachments`` lists them; files that are not entries are skipped, and so are,
        unread, those whose name holds a container ID in ``skip``."""
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            if name.endswith(".tmp") or (container_id and f"-{container_id}-" not in name):
                continue
            found = _CONTAINER_IN_NAME.search(name)
            if found is not None and found.group(1) in skip:
                continue
            try:
                with open(os.path.join(self.directory, name), "rb") as fh:
                    data = json.load(fh)
            except (OSError, ValueError):
                continue
            entry = Entry.from_json(data) if isinstance(data, dict) else None
            if entry is not None and (container_id is None or entry.container_id == container_id):
                out.append(entry)
        return out


__all__ = ["KIND", "Entry", "ResultCache"]
