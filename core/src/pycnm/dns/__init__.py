"""The embedded DNS resolver engine: what answers at 127.0.0.11 in every sandbox.

- :mod:`~pycnm.dns.names` - the local-name model the daemon keeps (:class:`Names`), and how
  clients forward (:class:`Forwarding`, :class:`Upstream`);
- :mod:`~pycnm.dns.server` - :class:`Resolver`, one thread and one epoll for every sandbox;
- :mod:`~pycnm.dns.forward` and :mod:`~pycnm.dns.cache` - upstreams and their answers;
- :mod:`~pycnm.dns.wire` - the messages; :mod:`~pycnm.dns.udpio` - batched UDP system calls;
- :mod:`~pycnm.dns.stub` - small upstream servers for tests and benchmarks.

The kernel side (sockets made inside each sandbox's namespace, NAT from 127.0.0.11:53,
resolv.conf) belongs to the daemon.
"""

from pycnm.dns.cache import AnswerCache
from pycnm.dns.names import Forwarding, Names, Upstream, default_socket_factory
from pycnm.dns.server import Resolver

__all__ = ["AnswerCache", "Forwarding", "Names", "Resolver", "Upstream", "default_socket_factory"]
