"""Helpers for kernel tests: run a command inside a sandbox, ping, read its links and routes; a
global-scope driver that makes nothing."""

from __future__ import annotations

import subprocess

from pycnm import hookimpl
from pycnm.model import Capabilities, JoinInfo


def in_ns(key: str, *argv: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", f"--net={key}", *argv], capture_output=True, text=True, check=check, timeout=30)


def ping(key: str, address, count: int = 1, timeout: int = 2) -> bool:
    ipv6 = ":" in str(address)
    argv = ["ping", "-6" if ipv6 else "-4", "-c", str(count), "-W", str(timeout), str(address)]
    return in_ns(key, *argv).returncode == 0


def routes(key: str, six: bool = False) -> str:
    return in_ns(key, "ip", "-6" if six else "-4", "route", check=True).stdout


def link(key: str, name: str) -> str:
    return in_ns(key, "ip", "-d", "link", "show", name).stdout


class Everywhere:
    """A global-scope driver that makes nothing in the kernel (what a host needs comes later)."""

    def __init__(self):
        self.endpoints = set()

    @hookimpl
    def cnm_get_capabilities(self):
        return Capabilities(scope="global")

    @hookimpl
    def cnm_create_network(self, network_id):
        pass

    @hookimpl
    def cnm_delete_network(self, network_id):
        pass

    @hookimpl
    def cnm_create_endpoint(self, endpoint_id):
        self.endpoints.add(endpoint_id)

    @hookimpl
    def cnm_delete_endpoint(self, endpoint_id):
        self.endpoints.discard(endpoint_id)

    @hookimpl
    def cnm_join(self, endpoint_id):
        return JoinInfo()

    @hookimpl
    def cnm_leave(self, endpoint_id):
        pass
