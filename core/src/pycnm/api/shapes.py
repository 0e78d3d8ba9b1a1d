"""pycnm's objects in the JSON shapes dockerd answers with (API 1.41).

Key order is dockerd's (``docker network inspect`` prints the raw JSON, so order shows), zero
values are dockerd's (``{}`` for maps, never ``null`` where dockerd never sends it; the keys of
IPAM configs omitted when empty), times are RFC 3339 with a zone. Both docker CLIs decode into
typed structs: a list where a map belongs, or a time without a zone, fails the whole command.

Inputs are what the Controller's public API gives: ``Network.inspect()``, ``Sandbox.inspect()``
and the Endpoint handles; nothing here reads the store.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .gotime import ZERO_TIME, human_duration, rfc3339nano, unix_seconds

#: dockerd's predefined network names: pycnm has no predefined networks, but refuses these names
#: so that a docker user's ``bridge``/``host``/``none`` never means something else here
PREDEFINED_NETWORKS = ("bridge", "host", "none", "default")


# ---- networks -----------------------------------------------------------------------------------


def network_resource(doc: Mapping[str, Any], *, containers: bool) -> dict[str, Any]:
    """A ``NetworkResource`` from ``Network.inspect()``; ``containers``: fill ``Containers``
    (inspect) or leave it ``{}`` (the list, at API >= 1.28)."""
    ipam = doc.get("IPAM") or {}
    return {
        "Name": doc["Name"],
        "Id": doc["Id"],
        "Created": rfc3339nano(doc.get("Created")),
        "Scope": doc.get("Scope") or "local",
        "Driver": doc.get("Driver") or "",
        "EnableIPv6": bool(doc.get("EnableIPv6")),
        "IPAM": {
            "Driver": ipam.get("Driver") or "default",
            "Options": _strings(ipam.get("Options")),
            "Config": [_ipam_config(c) for c in ipam.get("Config") or ()],
        },
        "Internal": bool(doc.get("Internal")),
        "Attachable": bool(doc.get("Attachable")),
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {str(k): endpoint_resource(v) for k, v in (doc.get("Containers") or {}).items()}
        if containers
        else {},
        "Options": _strings(doc.get("Options")),
        "Labels": _strings(doc.get("Labels")),
    }


def _ipam_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("Subnet", "IPRange", "Gateway"):
        if cfg.get(key):
            out[key] = str(cfg[key])
    if cfg.get("AuxiliaryAddresses"):
        out["AuxiliaryAddresses"] = _strings(cfg["AuxiliaryAddresses"])
    return out


def endpoint_resource(ep: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(ep.get(key) or "") for key in ("Name", "EndpointID", "MacAddress", "IPv4Address", "IPv6Address")}


def _strings(values: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (values or {}).items()}


# ---- containers (pycnm's sandboxes) -------------------------------------------------------------


def endpoint_settings(ep: Mapping[str, Any], extra: Any = None) -> dict[str, Any]:
    """``EndpointSettings`` of one of a sandbox's endpoints: ``ep`` from ``Sandbox.inspect()``,
    ``extra`` the Endpoint handle (aliases, the IPv6 gateway)."""
    v4, v6 = _split(ep.get("IPv4Address")), _split(ep.get("IPv6Address"))
    record = getattr(extra, "record", None)
    aliases = list(getattr(record, "aliases", None) or []) or None
    gateway6 = getattr(record, "gateway_ipv6", None)
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": aliases,
        "NetworkID": ep.get("NetworkID") or "",
        "EndpointID": ep.get("EndpointID") or "",
        "Gateway": str(ep.get("Gateway") or ""),
        "IPAddress": v4[0],
        "IPPrefixLen": v4[1],
        "IPv6Gateway": str(gateway6) if gateway6 else "",
        "GlobalIPv6Address": v6[0],
        "GlobalIPv6PrefixLen": v6[1],
        "MacAddress": ep.get("MacAddress") or "",
        "DriverOpts": None,
    }


def _split(cidr: str | None) -> tuple[str, int]:
    if not cidr:
        return "", 0
    address, _, prefix = str(cidr).partition("/")
    return address, int(prefix) if prefix.isdigit() else 0


def _network_mode(doc: Mapping[str, Any]) -> str:
    if doc.get("HostNamespace"):
        return "host"
    endpoints = doc.get("Endpoints") or ()
    return endpoints[0]["Network"] if endpoints else "none"


def _networks(doc: Mapping[str, Any], handles: Mapping[str, Any]) -> dict[str, Any]:
    return {
        ep["Network"]: endpoint_settings(ep, handles.get(ep.get("EndpointID"))) for ep in doc.get("Endpoints") or ()
    }


def container_json(doc: Mapping[str, Any], handles: Mapping[str, Any], domainname: str = "") -> dict[str, Any]:
    """``GET /containers/{id}/json`` of a sandbox (``Sandbox.inspect()``); ``handles``: its
    Endpoint handles by ID. A sandbox is "running" while it exists: only running containers
    hold endpoints in Docker, and a sandbox is the network stack they hold them in. There is
    no process (``Pid`` 0), no image, no command."""
    created = rfc3339nano(doc.get("Created"))
    return {
        "Id": doc["Id"],
        "Created": created,
        "Path": "",
        "Args": [],
        "State": {
            "Status": "running",
            "Running": True,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "Pid": 0,
            "ExitCode": 0,
            "Error": "",
            "StartedAt": created,
            "FinishedAt": ZERO_TIME,
        },
        "Image": "",
        "ResolvConfPath": doc.get("ResolvConfPath") or "",
        "HostnamePath": "",
        "HostsPath": doc.get("HostsPath") or "",
        "LogPath": "",
        "Name": "/" + doc["Name"],
        "RestartCount": 0,
        "Driver": "",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": {"NetworkMode": _network_mode(doc)},
        "Mounts": [],
        "Config": {"Hostname": doc.get("Hostname") or "", "Domainname": domainname or "", "Image": "", "Labels": {}},
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": doc["Id"],
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": {},
            "SandboxKey": doc.get("Key") or "",
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            # dockerd copies these from the network named "bridge" only; pycnm has none
            "EndpointID": "",
            "Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": _networks(doc, handles),
        },
    }


def container_summary(doc: Mapping[str, Any], handles: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """An item of ``GET /containers/json`` (``docker ps``)."""
    created = unix_seconds(doc.get("Created"))
    now = time.time() if now is None else now
    return {
        "Id": doc["Id"],
        "Names": ["/" + doc["Name"]],
        "Image": "",
        "ImageID": "",
        "Command": "",
        "Created": int(created),
        "Ports": [],
        "Labels": {},
        "State": "running",
        "Status": f"Up {human_duration(max(0.0, now - created))}",
        "HostConfig": {"NetworkMode": _network_mode(doc)},
        "NetworkSettings": {"Networks": _networks(doc, handles)},
        "Mounts": [],
    }


# ---- the daemon ---------------------------------------------------------------------------------


def go_arch() -> str:
    machine = platform.machine()
    return {
        "x86_64": "amd64",
        "aarch64": "arm64",
        "i686": "386",
        "i386": "386",
        "armv7l": "arm",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
        "riscv64": "riscv64",
    }.get(machine, machine)


def version_doc(version: str, api_version: str, min_api_version: str) -> dict[str, Any]:
    """``GET /version``: pycnm, truthfully: the platform and engine are pycnm; no Go, no Git."""
    kernel = platform.release()
    return {
        "Platform": {"Name": "pycnm"},
        "Components": [
            {
                "Name": "Engine",
                "Version": version,
                "Details": {
                    "ApiVersion": api_version,
                    "Arch": go_arch(),
                    "Experimental": "false",
                    "KernelVersion": kernel,
                    "MinAPIVersion": min_api_version,
                    "Os": "linux",
                    "Python": platform.python_version(),
                },
            }
        ],
        "Version": version,
        "ApiVersion": api_version,
        "MinAPIVersion": min_api_version,
        "Os": "linux",
        "Arch": go_arch(),
        "KernelVersion": kernel,
    }


def info_doc(
    *, instance_id: str, version: str, sandboxes: int, network_drivers: Sequence[str], state_dir: str, listeners: int
) -> dict[str, Any]:
    """``GET /info``: only what is true of pycnm. Containers are its sandboxes (each "running",
    see :func:`container_json`); it has no images, volumes, logs, runtimes or swarm."""
    return {
        "ID": instance_id,
        "Containers": sandboxes,
        "ContainersRunning": sandboxes,
        "ContainersPaused": 0,
        "ContainersStopped": 0,
        "Images": 0,
        "Plugins": {"Volume": [], "Network": list(network_drivers), "Authorization": None, "Log": []},
        "NEventsListener": listeners,
        "KernelVersion": platform.release(),
        "OperatingSystem": _os_name(),
        "OSType": "linux",
        "Architecture": platform.machine(),
        "NCPU": os.cpu_count() or 0,
        "MemTotal": _mem_total(),
        "DockerRootDir": state_dir,
        "Name": platform.node(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": version,
        "SystemTime": rfc3339nano_now(),
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "Warnings": None,
    }


def rfc3339nano_now() -> str:
    return rfc3339nano(datetime.datetime.now(datetime.UTC))


def _os_name() -> str:
    try:
        with open("/etc/os-release") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
