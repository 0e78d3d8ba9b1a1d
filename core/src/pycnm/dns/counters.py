"""What the resolver counts: one object, plain integer attributes, read by ``Resolver.status()``."""

from __future__ import annotations


class Counters:
    """Event counts since the resolver was made (the resolver thread writes, anyone reads)."""

    __slots__ = (
        "answered_local",   # answered from the local names
        "forwarded",        # client queries sent on to an upstream (not coalesced, not cached)
        "answered_cache",   # answered from the cache of forwarded answers
        "coalesced",        # joined an identical query already in flight upstream
        "refused",          # REFUSED at once: past an in-flight limit
        "truncated",        # UDP answers cut to the client's size, TC set
        "servfail",         # SERVFAIL the resolver made (every upstream failed or none may be used)
        "malformed",        # FORMERR/NOTIMP/BADVERS answers and messages dropped as unusable
        "upstream_queries",  # queries sent to upstreams (hedges and probes included)
        "upstream_tcp",     # queries retried upstream over TCP after a truncated reply
        "upstream_unmatched",  # upstream datagrams dropped: unknown ID, wrong question, not a reply
        "tcp_accepted",     # TCP connections accepted
        "tcp_rejected",     # TCP connections closed at once: over the total or per-source cap
        "tcp_closed_idle",  # TCP connections closed for idleness or a message never finished
        "dropped",          # replies that could not be sent (client gone, socket full)
        "errors",           # exceptions caught in the loop (a bug: should stay 0)
    )

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        """A copy of every counter."""
        return {name: getattr(self, name) for name in self.__slots__}
