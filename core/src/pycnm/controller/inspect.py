"""Docker-shaped views of networks and sandboxes."""

from __future__ import annotations

import os
from typing import Any

from .. import labels
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
        net, _ = core.network(network_id)
        containers = {}
        for ep in core.endpoint_records(network_id):
            if ep.sandbox_id is None:
                continue
            containers[ep.sandbox_id] = {
                "Name": core.sandbox_name(ep.sandbox_id),
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
