"""Testing helpers for pycnm and its drivers (the conformance kit grows here).

- :mod:`.leftovers`: snapshots of namespaces, links and nftables tables, to prove a test left
  nothing behind in the kernel.
"""
