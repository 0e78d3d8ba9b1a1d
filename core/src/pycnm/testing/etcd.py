"""etcd for tests and labs: one member or a small cluster on loopback, stopped by its pids.

with EtcdCluster(workdir, members=3) as cluster:
    store = EtcdStore(cluster.endpoints)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EtcdCluster:
    def __init__(self, workdir: str, members: int = 1, host: str = "127.0.0.1", hosts: list[str] | None = None) -> None:
        """``hosts``: an address per member (each in a namespace of its own: start each member
        from a thread in its namespace, ``start(i, wait=False)``, then :meth:`wait_healthy`);
        else every member on ``host``, on ports of their own."""
        self.workdir = workdir
        self.hosts = list(hosts) if hosts else [host] * members
        self.host = self.hosts[0]
        self.names = [f"m{i}" for i in range(len(self.hosts))]
        if hosts:
            self.client_ports, self.peer_ports = [2379] * len(self.hosts), [2380] * len(self.hosts)
        else:
            self.client_ports = [free_port() for _ in self.names]
            self.peer_ports = [free_port() for _ in self.names]
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def endpoints(self) -> str:
        return "etcd://" + ",".join(f"{h}:{p}" for h, p in zip(self.hosts, self.client_ports, strict=True))

    def _argv(self, i: int) -> list[str]:
        cluster = ",".join(
            f"{n}=http://{h}:{p}" for n, h, p in zip(self.names, self.hosts, self.peer_ports, strict=True)
        )
        host = self.hosts[i]
        return [
            "etcd",
            "--name",
            self.names[i],
            "--data-dir",
            os.path.join(self.workdir, self.names[i]),
            "--listen-client-urls",
            f"http://{host}:{self.client_ports[i]}",
            "--advertise-client-urls",
            f"http://{host}:{self.client_ports[i]}",
            "--listen-peer-urls",
            f"http://{host}:{self.peer_ports[i]}",
            "--initial-advertise-peer-urls",
            f"http://{host}:{self.peer_ports[i]}",
            "--initial-cluster",
            cluster,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            os.path.basename(self.workdir),
            "--log-level",
            "error",
        ]

    def start(self, i: int | None = None, wait: bool = True) -> None:
        os.makedirs(self.workdir, exist_ok=True)
        for index in range(len(self.names)) if i is None else [i]:
            with open(os.path.join(self.workdir, f"{self.names[index]}.log"), "ab") as log:
                self.procs[self.names[index]] = subprocess.Popen(
                    self._argv(index), stdout=log, stderr=subprocess.STDOUT
                )
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        running = [i for i, n in enumerate(self.names) if n in self.procs and self.procs[n].poll() is None]
        while time.monotonic() < deadline:
            try:
                for i in running:
                    with urllib.request.urlopen(
                        f"http://{self.hosts[i]}:{self.client_ports[i]}/health", timeout=1
                    ) as r:
                        if b'"true"' not in r.read():
                            raise OSError("not healthy")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"etcd did not become healthy in {timeout} s (logs in {self.workdir})")

    def kill(self, i: int) -> None:
        """Kill member ``i`` (by the pid started here), as a crash would."""
        proc = self.procs.pop(self.names[i])
        proc.kill()
        proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def __enter__(self) -> EtcdCluster:
        os.makedirs(self.workdir, exist_ok=True)
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def available() -> str | None:
    if shutil.which("etcd") is None:
        return "etcd is not installed (Debian package etcd-server)"
    try:
        import etcd3gw  # noqa: F401 - only whether it imports
    except ImportError:
        return "the etcd3gw client is not installed (pip install pycnm[etcd])"
    return None
