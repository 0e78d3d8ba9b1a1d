"""Helpers for kernel tests: run a command inside a sandbox, ping, read its links and routes."""

from __future__ import annotations

import subprocess


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
