"""The OS layer: the only code the core uses to touch a sandbox's network namespace.

- :mod:`.layer`: the interface the Controller is given (:class:`~.layer.OSLayer`) and the Linux
  implementation, which owns its caches (sockets, what it wrote);
- :mod:`.netns`: create, enter and delete bind-mounted network namespaces;
- :mod:`.netlink`: sockets per (thread, namespace), opened by ``setns`` in the calling thread and
  reused (:mod:`.netlink.sockets`), and requests laid out by pyroute2, sent in batches
  (:mod:`.netlink.requests`); drivers make their links with the same requests;
- :mod:`.interfaces`: interfaces in a sandbox: move and rename, addresses, routes, gateway;
- :mod:`.dnsfiles`: the sandbox's ``hosts`` and ``resolv.conf``, as libnetwork writes them;
- :mod:`.nft`, :mod:`.sysctl`: nftables transactions and kernel settings, for drivers;
- :mod:`.routes`: what the host already routes (IPAM avoids it).
"""
