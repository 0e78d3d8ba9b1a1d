"""The remote driver's cost per call over a unix socket: pycnm-remote -> HTTP -> pycnm-docker-plugin
-> the null driver, against the null driver called directly, side by side in one run.

    python bench/remote.py [-n 2000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from _report import write_section
from pycnm import discovery
from pycnm._relay import NetworkRelay
from pycnm.model import EndpointInterface
from pycnm_docker_plugin.server import PluginServer
from pycnm_docker_plugin.service import PluginService
from pycnm_remote import PluginClient, RemoteNetworkDriver


def measure(relay: NetworkRelay, n: int) -> dict[str, float]:
    network_id = secrets.token_hex(32)
    relay.create_network(network_id, {}, [], [])
    oper, pairs = [], []
    endpoint_id = secrets.token_hex(32)
    relay.create_endpoint(network_id, endpoint_id, EndpointInterface(), {})
    for _ in range(n):
        t = time.perf_counter()
        relay.endpoint_oper_info(network_id, endpoint_id)
        oper.append(time.perf_counter() - t)
    for _ in range(n // 4):
        eid = secrets.token_hex(32)
        t = time.perf_counter()
        relay.create_endpoint(network_id, eid, EndpointInterface(), {})
        relay.delete_endpoint(network_id, eid)
        pairs.append((time.perf_counter() - t) / 2)
    relay.delete_endpoint(network_id, endpoint_id)
    relay.delete_network(network_id)
    return {"oper": statistics.median(oper) * 1e3, "pair": statistics.median(pairs) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        driver, entry = discovery.load(discovery.NETWORK_DRIVERS, "null")
        direct = measure(NetworkRelay(driver, entry), args.n)
        service = PluginService("null", os.path.join(work, "plugin"), ipam=False)
        server = PluginServer(os.path.join(work, "bench.sock"), service)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        remote_driver = RemoteNetworkDriver(PluginClient("bench", f"unix://{work}/bench.sock"), {})
        remote = measure(NetworkRelay(remote_driver, entry), args.n)
        server.shutdown()
        server.server_close()
        service.close()
    lines = ["| call | null driver, direct | through the protocol | overhead per call |", "|---|---|---|---|"]
    for key, label in (("oper", "EndpointOperInfo"), ("pair", "CreateEndpoint / DeleteEndpoint")):
        lines.append(
            f"| {label} (median) | {direct[key]:.3f} ms | {remote[key]:.3f} ms | {remote[key] - direct[key]:.3f} ms |"
        )
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "remote", "Remote driver: one call over a unix socket", text)


if __name__ == "__main__":
    main()
