"""Several "hosts" on one machine: network namespaces on an underlay bridge of their own.

    with Underlay("t1", {"h1": 1, "h2": 2, "etcd": 100}) as net:
        h1 = HostThread(net.paths["h1"])      # calls run inside host 1's namespace
        ctl = h1.call(lambda: Controller(...))

Each host gets ``eth0`` with ``198.51.100.<n>/24`` (TEST-NET-2, which exists only inside these
namespaces). pycnm's "host" is the namespace of the calling thread, so a Controller for a host
is made and used in that host's :class:`HostThread`; processes started from it (a daemon, etcd)
run in the host's namespace too.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from ..errors import NotFound
from ..osl import netlink, netns, nft

SUBNET = "198.51.100.{}"


def _address_eth0(path: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Give the namespace's eth0 ``address``/24 and set it up."""
    index = netlink.index(path, "eth0")
    if index is None:
        raise NotFound(f"eth0 not found in {path}")
    netlink.batch(path, lambda b: b.addr_add(index, address, 24).link_set(index, up=True))


class Underlay:
    def __init__(self, prefix: str, hosts: dict[str, int]) -> None:
        self.prefix = prefix
        self.hosts = dict(hosts)
        self.path = f"/run/netns/{prefix}ul"
        self.paths = {name: f"/run/netns/{prefix}{name}" for name in hosts}

    def address(self, name: str) -> str:
        return SUBNET.format(self.hosts[name])

    def __enter__(self) -> Underlay:
        made = []
        try:
            for path in [self.path, *self.paths.values()]:
                netns.create(path)
                made.append(path)
                netlink.batch(path, lambda b: b.link_set(1, up=True))
            ul = netlink.ns(self.path)
            ul.link("add", ifname="ulbr", kind="bridge")
            bridge = ul.link_lookup(ifname="ulbr")[0]
            ul.link("set", index=bridge, state="up")
            for name, last in self.hosts.items():
                fd = os.open(self.paths[name], os.O_RDONLY)
                try:
                    ul.link(
                        "add",
                        ifname=f"p{last}",
                        kind="veth",
                        master=bridge,
                        state="up",
                        peer={"ifname": "eth0", "net_ns_fd": fd},
                    )
                finally:
                    os.close(fd)
                _address_eth0(self.paths[name], ipaddress.ip_address(SUBNET.format(last)))
        except BaseException:
            for path in reversed(made):
                netlink.forget(path)
                netns.delete(path)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for path in [*self.paths.values(), self.path]:
            netlink.forget(path)
            if os.path.exists(path):
                netns.delete(path)


class HostThread:
    """A thread living in one host's namespace; :meth:`call` runs a function there."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._calls: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"host:{os.path.basename(path)}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with open(self.path) as fh:
            netns.setns(fh.fileno())
        while True:
            fn, reply = self._calls.get()
            if fn is None:
                netlink.reset()
                nft.reset()
                reply.put((None, None))
                return
            try:
                reply.put((fn(), None))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller, who raises it
                reply.put((None, exc))

    def call(self, fn: Callable[[], Any], timeout: float = 120) -> Any:
        reply: queue.Queue = queue.Queue()
        self._calls.put((fn, reply))
        result, error = reply.get(timeout=timeout)
        if error is not None:
            raise error
        return result

    def stop(self) -> None:
        """Close this thread's sockets and end it."""
        reply: queue.Queue = queue.Queue()
        self._calls.put((None, reply))
        reply.get(timeout=30)
        self._thread.join(timeout=30)


class Host:
    """One host of a :class:`Cluster`: its thread, its Controller, its daemon."""

    def __init__(self, cluster: Cluster, name: str, number: int) -> None:
        self.cluster, self.name, self.number = cluster, name, number
        self.address = SUBNET.format(number)
        self.thread = HostThread(cluster.underlay.paths[name])
        self.state_dir = os.path.join(cluster.workdir, name)
        self.netns_prefix = f"{cluster.prefix}{name}-"
        self.ctl = None
        self.daemon: subprocess.Popen | None = None

    def call(self, fn: Callable[[], Any], timeout: float = 120) -> Any:
        return self.thread.call(fn, timeout)

    def open(self) -> None:
        from ..controller import Controller

        self.ctl = self.call(
            lambda: Controller(
                self.state_dir,
                netns_prefix=self.netns_prefix,
                ifname_prefix=self.cluster.prefix,
                cluster_store=self.cluster.etcd.endpoints,
                advertise_addr=self.address,
                plugins=[],
            )
        )

    def start_daemon(self) -> subprocess.Popen:
        env = dict(
            os.environ,
            PYCNM_NETNS_PREFIX=self.netns_prefix,
            PYCNM_IFNAME_PREFIX=self.cluster.prefix,
            PYCNM_DISABLE_PLUGINS="1",
        )
        argv = [
            sys.executable,
            "-m",
            "pycnm.cli",
            "--state-dir",
            self.state_dir,
            "daemon",
            "--cluster-store",
            self.cluster.etcd.endpoints,
            "--advertise-addr",
            self.address,
            "--lease",
            str(self.cluster.lease),
        ]
        with open(os.path.join(self.cluster.workdir, f"daemon-{self.name}.log"), "ab") as log:
            self.daemon = self.call(lambda: subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        return self.daemon

    def stop_daemon(self, kill: bool = False) -> None:
        """Stop this host's daemon (by its pid); ``kill`` as a crash would."""
        if self.daemon is None:
            return
        if self.daemon.poll() is None:
            self.daemon.kill() if kill else self.daemon.terminate()
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None

    def memory_kib(self) -> int:
        """The daemon's resident memory."""
        if self.daemon is None:
            raise RuntimeError(f"host {self.name} has no daemon running")
        with open(f"/proc/{self.daemon.pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))

    def clear(self) -> None:
        """Delete this host's sandboxes (their endpoints go with them)."""
        ctl = self.ctl
        if ctl is not None:
            self.call(lambda: [sb.delete() for sb in ctl.sandboxes()])

    def clear_networks(self) -> None:
        ctl = self.ctl
        if ctl is None:
            return

        def delete_all() -> None:
            for net in ctl.networks():
                try:
                    net.delete()
                except NotFound:
                    pass  # a global one, deleted by another host just now

        self.call(delete_all)

    def close(self) -> None:
        self.stop_daemon()
        if self.ctl is not None:
            self.call(self.ctl.close)
            self.ctl = None
        self.thread.stop()


class Cluster:
    """A cluster on one machine: ``hosts`` pycnm hosts (``h1``... at 198.51.100.1...), an etcd of
    ``etcd_members`` members each in a namespace of its own (``e1``... at .101...), a Controller
    per host (used through :meth:`Host.call`) and, with ``daemons``, a ``pycnm daemon`` in each.

        with Cluster("t1", str(tmp_path), hosts=3, etcd_members=3) as cluster:
            h1 = cluster.hosts["h1"]
            net = h1.call(lambda: h1.ctl.create_network("ov", "overlay"))

    Everything it makes is named with ``prefix`` and removed on exit, global networks included.
    """

    def __init__(
        self, prefix: str, workdir: str, hosts: int = 2, etcd_members: int = 1, daemons: bool = True, lease: int = 3
    ) -> None:
        from . import etcd

        self.prefix, self.workdir, self.lease, self.daemons = prefix, workdir, lease, daemons
        layout = {f"h{i}": i for i in range(1, hosts + 1)}
        layout.update({f"e{i}": 100 + i for i in range(1, etcd_members + 1)})
        self.underlay = Underlay(prefix, layout)
        self.etcd = etcd.EtcdCluster(
            os.path.join(workdir, "etcd"), hosts=[SUBNET.format(100 + i) for i in range(1, etcd_members + 1)]
        )
        self.etcd_threads: list[HostThread] = []
        self.hosts: dict[str, Host] = {}
        self._host_count = hosts

    def __enter__(self) -> Cluster:
        self.underlay.__enter__()
        try:
            for i, _ in enumerate(self.etcd.names):
                thread = HostThread(self.underlay.paths[f"e{i + 1}"])
                self.etcd_threads.append(thread)
                thread.call(functools.partial(self.etcd.start, i, wait=False))
            self.etcd_threads[0].call(self.etcd.wait_healthy)
            for i in range(1, self._host_count + 1):
                host = self.hosts[f"h{i}"] = Host(self, f"h{i}", i)
                host.open()
                if self.daemons:
                    host.start_daemon()
        except BaseException:
            self.__exit__()
            raise
        return self

    def kill_etcd_member(self, i: int) -> None:
        """Kill etcd member ``i`` (0-based; by its pid)."""
        self.etcd.kill(i)

    def __exit__(self, *exc) -> None:
        try:
            for host in self.hosts.values():
                host.stop_daemon()
            if self.etcd.procs:
                errors = []
                for step in [h.clear for h in self.hosts.values()] + [h.clear_networks for h in self.hosts.values()]:
                    try:
                        step()
                    except Exception as err:  # noqa: BLE001 - every step is tried; the first error is raised
                        errors.append(err)
                if errors:
                    raise errors[0]
        finally:
            for host in self.hosts.values():
                host.close()
            self.etcd.stop()
            for thread in self.etcd_threads:
                thread.stop()
            self.underlay.__exit__(*exc)
