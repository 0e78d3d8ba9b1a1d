"""The ``null`` IPAM driver: every network gets the 0.0.0.0/0 pool and no address is handed out.

For networks whose addresses are managed elsewhere (libnetwork's ipams/null).
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import hookimpl
from ..errors import Forbidden, InvalidParameter
from ..model import AddressAllocation, AddressSpaces, PoolAllocation


class NullIPAM:
    @hookimpl
    def ipam_get_default_address_spaces(self) -> AddressSpaces:
        return AddressSpaces("null", "null")

    @hookimpl
    def ipam_request_pool(
        self, address_space: str, pool: str, sub_pool: str, options: Mapping[str, str], v6: bool
    ) -> PoolAllocation:
        if pool or sub_pool:
            raise InvalidParameter(f"the null IPAM driver takes no subnet or ip-range (got {pool or sub_pool!r})")
        if v6:
            raise Forbidden("the null IPAM driver has no IPv6 pool; disable IPv6 or use another IPAM driver")
        return PoolAllocation("null/0.0.0.0/0", "0.0.0.0/0")

    @hookimpl
    def ipam_release_pool(self, pool_id: str) -> None:
        return None

    @hookimpl
    def ipam_request_address(self, pool_id: str, address: str, options: Mapping[str, str]) -> AddressAllocation | None:
        if address:
            raise Forbidden(f"the null IPAM driver hands out no addresses (asked for {address}); connect without --ip")
        return None  # no address: the endpoint gets none

    @hookimpl
    def ipam_release_address(self, pool_id: str, address: str) -> None:
        return None
