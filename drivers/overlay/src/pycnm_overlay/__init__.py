"""Multi-host VXLAN overlay networks for pycnm. So far: the data plane (:mod:`.dataplane`)."""

from .dataplane import VXLAN_PORT, OverlayNamespace, Peer, overlay_mtu

__all__ = ["VXLAN_PORT", "OverlayNamespace", "Peer", "overlay_mtu"]
