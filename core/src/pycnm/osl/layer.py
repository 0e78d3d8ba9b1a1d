"""The OS layer as the Controller sees it: one small interface, a Linux implementation by default.

Everything the core does to a sandbox goes through an :class:`OSLayer` the Controller is given:
its namespace, the interfaces drivers hand over (moved in and renamed, or found there), their
addresses and routes, and the sandbox's ``hosts`` and ``resolv.conf``. The implementation owns
what it caches (netlink sockets per thread and namespace, what it last wrote), so two Controllers
in one process share nothing, and closing one closes only its own.

``pycnm.testing.fakeosl.FakeOSLayer`` implements the same interface in memory (or in a file that
outlives a killed process), so the orchestration (join, leave, the default gateway's hand-over,
recovery) is tested without root.
"""

from __future__ import annotations

import abc
import errno
import ipaddress
import os
import shutil
from collections.abc import Sequence

from pyroute2 import NetlinkError

from .. import steps
from ..model import IPInterface, StaticRoute
from . import dnsfiles, interfaces, netns
from .netlink import SocketCache, current

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OSLayer(abc.ABC):
    """What the core asks of the operating system. Keys are namespace paths (``Sandbox.key``)."""

    # ---- namespaces ------------------------------------------------------------------------------

    @abc.abstractmethod
    def host_key(self) -> str:
        """A path naming the namespace pycnm runs in (host-namespace sandboxes get it)."""

    @abc.abstractmethod
    def is_namespace(self, key: str) -> bool:
        """Whether ``key`` is a live namespace (not a stale file)."""

    @abc.abstractmethod
    def namespace_identity(self, key: str) -> str | None:
        """What tells the namespace at ``key`` from any other, for as long as it lives (None:
        there is none). A path another process owns (``/proc/PID/ns/net``) can come to name
        another namespace once that process ends; the identity says whether it still names the
        same one."""

    @abc.abstractmethod
    def create_namespace(self, key: str) -> None:
        """A new namespace at ``key`` with its loopback up; Forbidden if one is there."""

    @abc.abstractmethod
    def delete_namespace(self, key: str) -> None:
        """Remove the namespace at ``key`` (and forget what is cached for it); NotFound if none."""

    def forget(self, key: str) -> None:  # noqa: B027 - optional: a layer that caches nothing forgets nothing
        """Drop what is cached for the namespace at ``key`` (open sockets keep a namespace alive):
        called when pycnm is done with a namespace it does not delete (an external sandbox's)."""

    @abc.abstractmethod
    def namespaces(self, directory: str, prefix: str) -> list[str]:
        """The paths in ``directory`` whose names start with ``prefix``."""

    # ---- interfaces ------------------------------------------------------------------------------

    @abc.abstractmethod
    def attach(
        self,
        key: str,
        *,
        src_name: str,
        dst_name: str,
        created_in_sandbox: bool,
        addresses: Sequence[IPInterface],
        mac: str | None = None,
        gateways: Sequence[Address] = (),
        ipv6: bool | None = None,
    ) -> int:
        """Bring a driver's interface into the sandbox as ``dst_name`` (moved from the host and
        renamed, or found there), address it, set it up, point the default routes of
        ``gateways`` at it; returns its index in the sandbox. ``ipv6``: whether it carries IPv6
        (None: whether ``addresses`` hold one); without, it gets no IPv6 link-local address."""

    @abc.abstractmethod
    def detach(self, key: str, *, dst_name: str, src_name: str) -> None:
        """Move an interface :meth:`attach` moved in back to the host as ``src_name``."""

    @abc.abstractmethod
    def remove_interface(self, key: str, name: str) -> bool:
        """Delete the interface ``name`` in the sandbox if there is one; False when there is none."""

    @abc.abstractmethod
    def add_routes(self, key: str, dst_name: str, routes: Sequence[StaticRoute], index: int | None = None) -> None:
        """The driver's static routes, via ``dst_name``."""

    @abc.abstractmethod
    def set_default_gateway(self, key: str, dst_name: str, gateway: Address, index: int | None = None) -> None:
        """The default route of ``gateway``'s family, via ``dst_name``."""

    @abc.abstractmethod
    def clear_default_gateway(self, key: str, version: int) -> None:
        """Remove the default route of IP ``version``, if any."""

    @abc.abstractmethod
    def interfaces(self, key: str) -> dict[str, set[str]]:
        """The sandbox's interfaces (loopback aside) and their addresses (``10.0.0.2/24``): what
        the kernel says, for checks and inspection."""

    @abc.abstractmethod
    def hardware_address(self, key: str, name: str) -> str | None:
        """The MAC of interface ``name`` in the namespace at ``key`` as the kernel has it (None:
        no such interface, or one without a MAC)."""

    @abc.abstractmethod
    def host_peer(self, key: str, name: str) -> tuple[str, str | None] | None:
        """Name and MAC of the other end of veth ``name`` (in the namespace at ``key``) when that
        end is in pycnm's own namespace; None for any other interface."""

    # ---- the sandbox's files ---------------------------------------------------------------------

    @abc.abstractmethod
    def make_sandbox_dir(self, directory: str) -> None:
        """The directory of a sandbox's files."""

    @abc.abstractmethod
    def write_sandbox_files(self, directory: str, hosts: str, resolv_conf: str) -> None:
        """Write ``hosts`` and ``resolv.conf`` there, each only when its text changes (a
        resolv.conf the user edited is left alone)."""

    @abc.abstractmethod
    def remove_sandbox_dir(self, directory: str) -> None:
        """Remove the directory and what is in it (nothing if it is gone)."""

    @abc.abstractmethod
    def host_resolv_conf(self) -> str:
        """The host's resolv.conf (the servers sandboxes use by default)."""

    def read_file(self, path: str) -> str:
        """A file the layer wrote (``hosts``, ``resolv.conf``), as it is now."""
        with open(path) as fh:
            return fh.read()

    def close(self) -> None:  # noqa: B027 - optional: a layer without resources closes nothing
        """Release what is held (sockets)."""


class LinuxOSLayer(OSLayer):
    """The real one: namespaces bind-mounted at their paths, netlink through pyroute2 and
    :mod:`.netlink`'s batches, files as libnetwork writes them."""

    def __init__(self) -> None:
        self.sockets = SocketCache()
        self.files = dnsfiles.SandboxFiles()

    def host_key(self) -> str:
        return netns.host_key()

    def is_namespace(self, key: str) -> bool:
        return netns.is_namespace(key)

    def namespace_identity(self, key: str) -> str | None:
        return netns.identity(key)

    def create_namespace(self, key: str) -> None:
        netns.create(key)
        try:
            interfaces.loopback_up(key, self.sockets)
        except BaseException:
            self.delete_namespace(key)
            raise

    def delete_namespace(self, key: str) -> None:
        self.forget(key)
        netns.delete(key)

    def forget(self, key: str) -> None:
        """Close the sockets open in ``key``, this layer's and the default cache's (a driver's)."""
        self.sockets.forget(key)
        from . import netlink

        netlink.forget(key)

    def namespaces(self, directory: str, prefix: str) -> list[str]:
        if not prefix or not os.path.isdir(directory):
            return []
        return sorted(os.path.join(directory, e) for e in os.listdir(directory) if e.startswith(prefix))

    def attach(
        self,
        key: str,
        *,
        src_name: str,
        dst_name: str,
        created_in_sandbox: bool,
        addresses: Sequence[IPInterface],
        mac: str | None = None,
        gateways: Sequence[Address] = (),
        ipv6: bool | None = None,
    ) -> int:
        return interfaces.attach(
            key,
            src_name=src_name,
            dst_name=dst_name,
            created_in_sandbox=created_in_sandbox,
            addresses=addresses,
            mac=mac,
            gateways=gateways,
            sockets=self.sockets,
            ipv6=ipv6,
        )

    def detach(self, key: str, *, dst_name: str, src_name: str) -> None:
        interfaces.detach(key, dst_name=dst_name, src_name=src_name, created_in_sandbox=False, sockets=self.sockets)

    def remove_interface(self, key: str, name: str) -> bool:
        return interfaces.remove(key, name, self.sockets)

    def add_routes(self, key: str, dst_name: str, routes: Sequence[StaticRoute], index: int | None = None) -> None:
        interfaces.add_routes(key, dst_name, routes, index=index, sockets=self.sockets)

    def set_default_gateway(self, key: str, dst_name: str, gateway: Address, index: int | None = None) -> None:
        interfaces.set_default_gateway(key, dst_name, gateway, index=index, sockets=self.sockets)

    def clear_default_gateway(self, key: str, version: int) -> None:
        interfaces.clear_default_gateway(key, version, sockets=self.sockets)

    def interfaces(self, key: str) -> dict[str, set[str]]:
        sock = self.sockets.pyroute2(key)
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in sock.link("dump")}
        out: dict[str, set[str]] = {name: set() for name in names.values() if name != "lo"}
        for addr in sock.addr("dump"):
            name = names.get(addr["index"])
            if name in out:
                out[name].add(f"{addr.get_attr('IFA_ADDRESS')}/{addr['prefixlen']}")
        return out

    def hardware_address(self, key: str, name: str) -> str | None:
        sock = self.sockets.pyroute2(key)
        try:
            (link,) = sock.link("get", ifname=name)
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        mac = link.get_attr("IFLA_ADDRESS")
        return str(mac) if mac else None

    def host_peer(self, key: str, name: str) -> tuple[str, str | None] | None:
        try:
            (link,) = self.sockets.pyroute2(key).link("get", ifname=name)
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        info = link.get_attr("IFLA_LINKINFO")
        peer_index = link.get_attr("IFLA_LINK")
        if info is None or info.get_attr("IFLA_INFO_KIND") != "veth" or not peer_index:
            return None
        try:
            (peer,) = self.sockets.pyroute2(current()).link("get", index=peer_index)
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        # the same index in our namespace could be another interface: the peer names ours back
        if peer.get_attr("IFLA_LINK") != link["index"]:
            return None
        mac = peer.get_attr("IFLA_ADDRESS")
        return str(peer.get_attr("IFLA_IFNAME")), (str(mac) if mac else None)

    def make_sandbox_dir(self, directory: str) -> None:
        steps.step("file", f"mkdir {directory}")
        os.makedirs(directory, exist_ok=True)

    def write_sandbox_files(self, directory: str, hosts: str, resolv_conf: str) -> None:
        self.files.write(directory, hosts, resolv_conf)

    def remove_sandbox_dir(self, directory: str) -> None:
        self.files.forget(directory)
        if os.path.exists(directory):
            steps.step("file", f"remove {directory}")
            shutil.rmtree(directory, ignore_errors=True)

    def host_resolv_conf(self) -> str:
        return self.files.host_resolv_conf()

    def close(self) -> None:
        self.sockets.close()
