"""The OS layer: the only code that touches a sandbox's network namespace.

- :mod:`.netns`: create, enter and delete bind-mounted network namespaces;
- :mod:`.netlink`: pyroute2 sockets, opened in a namespace by ``setns`` in the calling thread and
  reused (pyroute2's own ``netns=`` forks a helper process for every socket, about 8.5 ms);
- :mod:`.interfaces`: interfaces in a sandbox: move and rename, addresses, routes, gateway;
- :mod:`.dnsfiles`: the sandbox's ``hosts`` and ``resolv.conf``, as libnetwork writes them;
- :mod:`.routes`: what the host already routes (IPAM avoids it).
"""
