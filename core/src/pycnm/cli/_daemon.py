"""``pycnm daemon``: the one command that imports everything (the Controller, aiohttp)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from . import Usage


def run(globals_: dict[str, Any], args: Any) -> int:
    """Serve until SIGTERM or SIGINT; the exit code."""
    logging.basicConfig(
        level=logging.DEBUG if globals_.get("debug") else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from ..daemon import Daemon, log
    from ..errors import CNMError
    from . import COMMANDS

    cmd = COMMANDS["daemon"]
    if args.cluster_store and not args.advertise_addr:
        raise Usage("--cluster-store needs --advertise-addr (this host's underlay address)", cmd)
    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # a daemon says what it programs
    host = args.host or globals_.get("host")
    services: list[Callable[[Any, Any], Any]] = []  # factories, as Daemon takes them
    if not args.no_cni:
        from ..daemon.cni import CNIService

        services.append(CNIService)
    if not args.no_dns:
        from ..daemon.dns import DNSService

        ttl = args.dns_ttl
        services.append(lambda controller, engine: DNSService(controller, engine, ttl=ttl))
    try:
        daemon = Daemon(
            globals_.get("state_dir"),
            host=host,
            cluster_store=args.cluster_store,
            advertise_addr=args.advertise_addr,
            lease_ttl=args.lease_ttl,
            services=services,
        )
    except ValueError as exc:  # an -H that is not a unix socket
        raise Usage(f"Invalid value for '-H': {exc}", cmd) from None
    try:
        daemon.run()
    except CNMError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 1
    return 0
