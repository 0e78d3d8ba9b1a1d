"""Address management: the built-in ``default`` IPAM driver (and ``null``), and its parts.

- :mod:`.bitmap`: finding and flipping bits in fixed-size chunks of a pool's address bitmap;
- :mod:`.pools`: Docker's default pools and pool IDs;
- :mod:`.default`: the driver, which keeps each pool's bitmap in the store, chunk by chunk.
"""
