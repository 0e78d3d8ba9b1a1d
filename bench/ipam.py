"""IPAM: the cost of one address request as a pool fills, and the memory of a big pool.

Runs the default IPAM driver on the in-memory store (the allocator's own cost) and on the
embedded SQLite store (what a request costs durably, fsync included). The pool is pre-filled to
the level measured by writing its bitmap chunks directly, so that levels like 65,000 used do not
need 65,000 fsyncs first; the request path measured is the same.

    python bench/ipam.py [--rounds 200] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import sys
import tempfile
import time
import tracemalloc

from pycnm.ipam import bitmap
from pycnm.ipam.default import DefaultIPAM
from pycnm.store import MemoryStore, SQLiteStore

sys.path.insert(0, os.path.dirname(__file__))
from _report import write_section


def make(store):
    ipam = DefaultIPAM()
    ipam.ipam_config(config=None, store=store)
    ipam.host_networks = list
    return ipam


def prefill(store, pool: ipaddress.IPv4Network, used: int) -> None:
    """Mark ordinals 1..used as taken, chunk by chunk, as the driver would have left them."""
    key = f"ipam/bits/LocalDefault/{pool}/"
    remaining, ordinal = used, 1
    while remaining > 0:
        index, bit = divmod(ordinal, bitmap.CHUNK_BITS)
        take = min(remaining, bitmap.CHUNK_BITS - bit)
        value = int.from_bytes(bitmap.EMPTY, "little") | (((1 << take) - 1) << bit)
        store.put(f"{key}{index:013x}", value.to_bytes(bitmap.CHUNK_BYTES, "little"))
        remaining -= take
        ordinal += take


def measure(store, used: int, rounds: int) -> tuple[float, float]:
    ipam = make(store)
    pool = ipaddress.ip_network("10.128.0.0/16")
    alloc = ipam.ipam_request_pool(address_space="LocalDefault", pool=str(pool), sub_pool="", options={}, v6=False)
    prefill(store, pool, used)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        got = ipam.ipam_request_address(pool_id=alloc.pool_id, address="", options={})
        times.append(time.perf_counter() - t)
        ipam.ipam_release_address(pool_id=alloc.pool_id, address=str(got.address.ip))
    ipam.ipam_release_pool(pool_id=alloc.pool_id)
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.99) - 1] * 1e6


def slash8_memory(count: int) -> tuple[int, float]:
    store = MemoryStore()
    ipam = make(store)
    alloc = ipam.ipam_request_pool(address_space="LocalDefault", pool="10.0.0.0/8", sub_pool="", options={}, v6=False)
    prefill(store, ipaddress.ip_network("10.0.0.0/8"), count)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ipam.ipam_request_address(pool_id=alloc.pool_id, address="", options={})
    stored = sum(len(e.value) for e in store.list("ipam/bits/"))
    tracemalloc.stop()
    del before
    return stored, stored * 8 / (count + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--write", help="update this markdown file's IPAM section")
    args = parser.parse_args()
    rows = []
    for used in (1, 32_000, 65_000):
        mem = measure(MemoryStore(), used, args.rounds)
        with tempfile.TemporaryDirectory() as d:
            store = SQLiteStore(os.path.join(d, "ipam.db"))
            disk = measure(store, used, max(20, args.rounds // 4))
            store.close()
        rows.append((used, mem, disk))
    full = 2**24 - 2
    stored, bits = slash8_memory(full - 1)
    lines = [
        "| used in a /16 | request median (memory store) | p99 | request median (SQLite, fsync) | p99 |",
        "|---|---|---|---|---|",
    ]
    for used, mem, disk in rows:
        lines.append(f"| {used:,} | {mem[0]:.1f} µs | {mem[1]:.1f} µs | {disk[0]:.0f} µs | {disk[1]:.0f} µs |")
    lines.append("")
    lines.append(
        f"A /8 filled to the last address: {stored / 2**20:.2f} MiB of bitmap in the store,"
        f" {bits:.3f} bits per address; no Python object per address."
    )
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section(args.write, "ipam", "IPAM: one address request as a /16 fills", table)


if __name__ == "__main__":
    main()
