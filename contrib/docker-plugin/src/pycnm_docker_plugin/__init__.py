"""pycnm's drivers for dockerd: Docker's remote plugin protocol, served on a unix socket.

    pycnm-docker-plugin --driver bridge --name pycnm-bridge
    docker network create -d pycnm-bridge --ipam-driver pycnm-bridge --subnet 10.1.0.0/24 net1

:mod:`.service` maps each protocol call to the pycnm driver (and pycnm's default IPAM);
:mod:`.server` is the HTTP server on the socket.
"""

from .service import PluginService

__all__ = ["PluginService"]
