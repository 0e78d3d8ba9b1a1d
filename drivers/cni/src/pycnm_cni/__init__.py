"""The ``cni`` network driver: any CNI plugin (or chain of them) as a pycnm network.

    pycnm network create -d cni -o conflist=/etc/cni/net.d/10-bridge.conflist n1

A network of driver ``cni`` runs a CNI network configuration list the way libcni
(containernetworking/cni) runs one for a container runtime: one attachment per endpoint, ADD at
the join, DEL at the leave, with the results cached on disk. The modules, one idea each:

- :mod:`.options`: the network's ``-o`` options;
- :mod:`.conflist`: reading and checking the list, and the CNI version to run it in;
- :mod:`.invoke`: finding a plugin and running it once (environment, timeout, errors);
- :mod:`.operations`: ADD, DEL, CHECK, GC and STATUS of a whole list;
- :mod:`.capabilities`: the endpoint's ports, MAC and addresses as ``runtimeConfig``;
- :mod:`.results`: what a result means for the sandbox (addresses, gateways);
- :mod:`.cache`: the results on disk, in libcni's format;
- :mod:`.errors`: a plugin's failure as pycnm's typed errors;
- :mod:`.driver`: the driver contract's calls.
"""

from __future__ import annotations

from .driver import CNIDriver

pycnm_contract = (1, 0)

__all__ = ["CNIDriver"]
