"""What the resolver counts: one object, plain integer attributes, read by ``Resolver.status()``."""

from __future__ import annotations


class Counters:
    """Event counts since the resolver was made (the resolver thread writes, anyone reads)."""

    answered_local: int  # answered from the local names
    forwarded: int  # client queries sent on to an upstream (not coalesced, not cached)
    answered_cache: int  # answered from the cache of forwarded answers
    coalesced: int  # joined an identical query already in flight upstream
    refused: int  # REFUSED at once: past an in-flight limit
    truncated: int  # UDP answers cut to the client's size, TC set
    servfail: int  # SERVFAIL the resolver made (every upstream failed or none may be used)
    malformed: int  # FORMERR/NOTIMP/BADVERS answers and messages dropped as unusable
    upstream_queries: int  # queries sent to upstreams (hedges and probes included)
    upstream_tcp: int  # queries retried upstream over TCP after a truncated reply
    upstream_unmatched: int  # upstream datagrams dropped: unknown ID, wrong question, not a reply
    tcp_accepted: int  # TCP connections accepted
    tcp_rejected: int  # TCP connections closed at once: over the total or per-source cap
    tcp_closed_idle: int  # TCP connections closed for idleness or a message never finished
    dropped: int  # replies that could not be sent (client gone, socket full)
    errors: int  # exceptions caught in the loop (a bug: should stay 0)
    # the counters above, in their order (as_dict keeps it)
    __slots__ = tuple(__annotations__)

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        """A copy of every counter."""
        return {name: getattr(self, name) for name in self.__slots__}
