"""Docker's network and IPAM plugins as pycnm drivers.

A plugin found by Docker's rules (:mod:`.discovery`) becomes a driver named like the plugin:
``pycnm network create -d weave ...``. Each driver call is one HTTP call of Docker's remote
protocol (:mod:`.drivers`, :mod:`.client`).
"""

from .client import PluginClient
from .discovery import RemotePlugins, find
from .drivers import RemoteIPAMDriver, RemoteNetworkDriver

__all__ = ["PluginClient", "RemoteIPAMDriver", "RemoteNetworkDriver", "RemotePlugins", "find"]
