"""What is in the kernel now: namespaces, links, nftables tables; and what appeared since.

Used by pycnm's own test suite (and open to driver authors) to fail a run that leaks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from attrs import frozen
from pyroute2 import IPRoute


@frozen
class KernelSnapshot:
    namespaces: frozenset[str]
    links: frozenset[str]
    nft_tables: frozenset[str]

    def new_since(self, before: KernelSnapshot) -> dict[str, list[str]]:
        leaks = {
            "namespaces": sorted(self.namespaces - before.namespaces),
            "links": sorted(self.links - before.links),
            "nftables tables": sorted(self.nft_tables - before.nft_tables),
        }
        return {kind: items for kind, items in leaks.items() if items}


def _namespaces(directories=("/run/netns",)) -> set[str]:
    found = set()
    for directory in directories:
        if os.path.isdir(directory):
            found |= {os.path.join(directory, name) for name in os.listdir(directory)}
    return found


def _links() -> set[str]:
    with IPRoute() as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.link("dump")}


def _nft_tables() -> set[str]:
    nft = shutil.which("nft")
    if nft is None:
        return set()
    out = subprocess.run([nft, "-j", "list", "tables"], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        return set()
    tables = set()
    for item in json.loads(out.stdout).get("nftables", []):
        table = item.get("table")
        if table:
            tables.add(f"{table['family']} {table['name']}")
    return tables


def snapshot(netns_dirs=("/run/netns",)) -> KernelSnapshot:
    return KernelSnapshot(frozenset(_namespaces(netns_dirs)), frozenset(_links()), frozenset(_nft_tables()))
