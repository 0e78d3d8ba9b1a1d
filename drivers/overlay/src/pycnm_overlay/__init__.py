"""Multi-host VXLAN overlay networks for pycnm: the driver (:mod:`.driver`) on its data plane
(:mod:`.dataplane`)."""

from .dataplane import VXLAN_PORT, OverlayNamespace, Peer, overlay_mtu
from .driver import OverlayDriver

__all__ = ["VXLAN_PORT", "OverlayDriver", "OverlayNamespace", "Peer", "overlay_mtu"]
