"""The ``bridge`` network driver: one Linux bridge per network, a veth pair per joined endpoint.

See :class:`pycnm_bridge.driver.BridgeDriver`.
"""

from .driver import BridgeDriver

__all__ = ["BridgeDriver"]
