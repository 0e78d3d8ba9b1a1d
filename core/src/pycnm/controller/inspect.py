"""Docker-shaped views of networks and sandboxes."""

from __future__ import annotations

import os
from typing import Any

from .. import codec, labels
from ..records import EndpointRecord, NetworkRecord
from ..store import keys
from .core import Core
from .joins import Joins
from .sandboxes import sandbox_dir


class Views:
    """What ``inspect`` shows: Docker's keys."""

    def __init__(self, core: Core, joins: Joins) -> None:
        self.core = core
        self.joins = joins

    def network(self, network_id: str) -> dict[str, Any]:
        core = self.core
        net = core.network_view(network_id)  # (decoded once per version)
        return self._network(net, core.endpoint_records(network_id), {})

    def networks(self, records: list[NetworkRecord], containers: bool = True) -> list[dict[str, Any]]:
        """:meth:`network` of each of ``records`` (read just before, in a listing): one read of
        all endpoints and of each sandbox's name, rather than one per network; none at all
        without ``containers`` (``Containers`` is then empty)."""
        core = self.core
        wanted = {rec.id for rec in records}
        endpoints: dict[str, list[EndpointRecord]] = {}
        if containers and len(records) > 1:
            for entry in core.store.list(keys.ENDPOINTS):
                network_id = entry.key.split("/", 2)[1]
                if network_id in wanted:
                    endpoints.setdefault(network_id, []).append(codec.loads(entry.value, EndpointRecord))
        elif containers:
            endpoints = {rec.id: core.endpoint_records(rec.id) for rec in records}
        names: dict[str, str] = {}
        return [self._network(rec, endpoints.get(rec.id, []), names) for rec in records]

    def _network(self, net: NetworkRecord, endpoint_records: list[EndpointRecord], names: dict[str, str]) -> dict:
        """``names``: sandbox ID to name, shared by the networks of one listing."""
        core = self.core
        containers = {}
        for ep in endpoint_records:
            if ep.sandbox_id is None:
                continue
            name = names.get(ep.sandbox_id)
            if name is None:
                name = names[ep.sandbox_id] = core.sandbox_name(ep.sandbox_id)
            containers[ep.sandbox_id] = {
                "Name": name,
                "EndpointID": ep.id,
                "MacAddress": ep.mac or "",
                "IPv4Address": str(ep.address) if ep.address else "",
                "IPv6Address": str(ep.address_ipv6) if ep.address_ipv6 else "",
            }
        configs = []
        for pool in net.ipv4_pools + net.ipv6_pools:
            if pool.pool.prefixlen == 0:
                continue
            cfg: dict[str, Any] = {"Subnet": str(pool.pool)}
            if pool.sub_pool is not None:
                cfg["IPRange"] = str(pool.sub_pool)
            if pool.gateway is not None:
                cfg["Gateway"] = str(pool.gateway.ip)
            if pool.aux_addresses:
                cfg["AuxiliaryAddresses"] = {k: str(v.ip) for k, v in pool.aux_addresses.items()}
            configs.append(cfg)
        return {
            "Name": net.name,
            "Id": net.id,
            "Created": net.created,
            "Scope": net.scope,
            "Driver": net.driver,
            "EnableIPv4": True,
            "EnableIPv6": net.ipv6,
            "IPAM": {"Driver": net.ipam_driver, "Options": dict(net.ipam_options), "Config": configs},
            "Internal": net.internal,
            "Attachable": net.attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": containers,
            "Options": {str(k): str(v) for k, v in net.options.get(labels.GENERIC, {}).items()},
            "Labels": dict(net.labels),
        }

    def sandbox(self, sandbox_id: str) -> dict[str, Any]:
        core = self.core
        sb, _ = core.sandbox(sandbox_id)
        eps = []
        for rec in self.joins.joined_records(sb):
            net, _ = core.network(rec.network_id)
            eps.append(
                {
                    "Network": net.name,
                    "NetworkID": net.id,
                    "EndpointID": rec.id,
                    "Name": rec.name,
                    "Interface": rec.dst_name or "",
                    "MacAddress": rec.mac or "",
                    "IPv4Address": str(rec.address) if rec.address else "",
                    "IPv6Address": str(rec.address_ipv6) if rec.address_ipv6 else "",
                    "Gateway": str(rec.gateway) if rec.gateway else "",
                    "DefaultGateway": sb.gateway_endpoint == rec.id,
                }
            )
        return {
            "Id": sb.id,
            "Name": sb.name,
            "Key": sb.key,
            "Created": sb.created,
            "Hostname": sb.hostname,
            "HostNamespace": sb.host_namespace,
            "HostsPath": os.path.join(sandbox_dir(core, sb.id), "hosts"),
            "ResolvConfPath": os.path.join(sandbox_dir(core, sb.id), "resolv.conf"),
            "Endpoints": eps,
        }
