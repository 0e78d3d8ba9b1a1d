"""What a driver claims to do, which decides which conformance tests apply to it.

A driver says it with a class attribute::

    class MyDriver:
        pycnm_conformance = {"interface": True, "gateway": True, "connectivity": True}

Claims not made are not tested, and the skip says so. Every driver is held to the lifecycle and
error semantics of the contract whatever it claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import fields, frozen

#: the stand-in host's uplink interface, for drivers that need a parent (macvlan): an option value
#: "{uplink}" in ``network_options`` is replaced by its name
UPLINK = "{uplink}"


@frozen
class Claims:
    """What a driver promises, field by field (all off unless it says so)."""

    #: a join gives the sandbox an interface, named by the core (eth0, ...), with the endpoint's addresses
    interface: bool = False
    #: a join gives the sandbox a default route through the network's gateway
    gateway: bool = False
    #: two sandboxes on one network reach each other (a ping)
    connectivity: bool = False
    #: a MAC address asked for is the interface's MAC
    static_mac: bool = False
    #: the ``com.docker.network.driver.mtu`` option sets the interface's MTU
    mtu: bool = False
    #: IPv6 networks work: addresses and a ping
    ipv6: bool = False
    #: options every network of the driver needs (``{uplink}`` is the stand-in host's uplink)
    network_options: Mapping[str, str] = {}

    @classmethod
    def of(cls, driver: Any) -> Claims:
        declared = getattr(driver, "pycnm_conformance", None)
        if declared is None:
            return cls()
        if isinstance(declared, Claims):
            return declared
        known = {f.name for f in fields(cls)}
        unknown = set(declared) - known
        if unknown:
            raise ValueError(
                f"{type(driver).__name__}.pycnm_conformance names unknown claims {sorted(unknown)};"
                f" known are {sorted(known)}"
            )
        return cls(**dict(declared))
