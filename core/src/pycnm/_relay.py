"""One pluggy manager per loaded driver, behind a typed facade.

pluggy calls are 1:N; the CNM driver API is 1:1 (a network has one driver). So each driver gets
its own ``PluginManager`` in which it is the only non-wrapper implementation of every driver
hook, and the shared plugins of ``pycnm.plugins`` are registered beside it as wrappers. The core
calls typed methods (``relay.create_network(...)``), never ``pm.hook`` strings.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .discovery import DriverEntry
from .errors import CNMError, DriverLoadError, Internal
from .model import (
    AddressAllocation,
    AddressSpaces,
    Capabilities,
    DriverConfig,
    EndpointInterface,
    IPAddress,
    IPAMCapabilities,
    IPAMData,
    JoinInfo,
    NetworkSnapshot,
    PoolAllocation,
)

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger(__name__)

_DRIVER_HOOKS = tuple(
    name
    for spec in (hookspecs.NetworkDriverSpec, hookspecs.PeerSpec, hookspecs.IPAMDriverSpec)
    for name in vars(spec)
    if name.startswith(("cnm_", "ipam_"))
)


class _Relay:
    kind = "driver"
    required: tuple[str, ...] = ()

    def __init__(self, driver: Any, entry: DriverEntry, plugins: Sequence[Any] = ()) -> None:
        self.driver = driver
        self.entry = entry
        self.name = entry.name
        pm = pluggy.PluginManager("pycnm")
        pm.add_hookspecs(hookspecs.NetworkDriverSpec)
        pm.add_hookspecs(hookspecs.PeerSpec)
        pm.add_hookspecs(hookspecs.IPAMDriverSpec)
        pm.add_hookspecs(hookspecs.HostSpec)
        pm.add_hookspecs(hookspecs.DriverSourceSpec)
        try:
            pm.register(driver, name=f"driver:{entry.name}")
            for plugin in plugins:
                pm.register(plugin)
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise DriverLoadError(f"{self._who()}: {exc}") from None
        self.pm = pm
        self._implemented = set()
        for hook in _DRIVER_HOOKS:
            impls = getattr(pm.hook, hook).get_hookimpls()
            for impl in impls:
                if impl.plugin is driver:
                    if impl.wrapper or impl.hookwrapper:
                        raise DriverLoadError(f"{self._who()}: {hook} must not be a wrapper")
                    self._implemented.add(hook)
                elif not (impl.wrapper or impl.hookwrapper):
                    raise DriverLoadError(
                        f"plugin {impl.plugin_name!r} answers the driver call {hook} instead of wrapping it;"
                        " plugins may only use @hookimpl(wrapper=True) on driver calls"
                    )
        missing = [h for h in self.required if h not in self._implemented]
        if missing:
            raise DriverLoadError(f"{self._who()} does not implement the required call(s): {', '.join(missing)}")

    def _who(self) -> str:
        return f"{self.kind} {self.entry.name!r} ({self.entry.label})"

    def implements(self, hook: str) -> bool:
        return hook in self._implemented

    def _call(self, hook: str, default: Any = None, **kwargs: Any) -> Any:
        if hook not in self._implemented:
            return default
        try:
            return getattr(self.pm.hook, hook)(**kwargs)
        except CNMError:
            raise
        except Exception as exc:
            raise Internal(f"{self._who()} failed in {hook}: {type(exc).__name__}: {exc}") from exc


class NetworkRelay(_Relay):
    """Typed calls to one network driver."""

    kind = "network driver"
    required = hookspecs.REQUIRED_NETWORK_HOOKS

    def __init__(self, driver: Any, entry: DriverEntry, plugins: Sequence[Any] = ()) -> None:
        super().__init__(driver, entry, plugins)
        caps = self._call("cnm_get_capabilities")
        if not isinstance(caps, Capabilities):
            raise DriverLoadError(f"{self._who()}: cnm_get_capabilities returned {caps!r}, not Capabilities")
        self.capabilities = caps

    def config(self, config: DriverConfig) -> None:
        self._call("cnm_config", config=config)

    def restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        self._call("cnm_restore", networks=list(networks))

    def refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        self._call("cnm_refresh", networks=list(networks), removed=list(removed))

    def create_network(
        self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData], ipv6_data: Sequence[IPAMData]
    ) -> None:
        self._call(
            "cnm_create_network",
            network_id=network_id,
            options=dict(options),
            ipv4_data=list(ipv4_data),
            ipv6_data=list(ipv6_data),
        )

    def delete_network(self, network_id: str) -> None:
        self._call("cnm_delete_network", network_id=network_id)

    def network_allocate(
        self, network_id: str, options: Mapping[str, Any], ipv4_data: Sequence[IPAMData], ipv6_data: Sequence[IPAMData]
    ) -> dict[str, str]:
        result = self._call(
            "cnm_network_allocate",
            network_id=network_id,
            options=dict(options),
            ipv4_data=list(ipv4_data),
            ipv6_data=list(ipv6_data),
        )
        if result is None:
            return {}
        if not isinstance(result, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in result.items()
        ):
            raise Internal(f"{self._who()}: cnm_network_allocate returned {result!r}, not a str -> str mapping")
        return dict(result)

    def network_free(self, network_id: str) -> None:
        self._call("cnm_network_free", network_id=network_id)

    def create_endpoint(
        self, network_id: str, endpoint_id: str, interface: EndpointInterface, options: Mapping[str, Any]
    ) -> EndpointInterface | None:
        result = self._call(
            "cnm_create_endpoint",
            network_id=network_id,
            endpoint_id=endpoint_id,
            interface=interface,
            options=dict(options),
        )
        if result is not None and not isinstance(result, EndpointInterface):
            raise Internal(f"{self._who()}: cnm_create_endpoint returned {result!r}, not EndpointInterface or None")
        return result

    def delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        self._call("cnm_delete_endpoint", network_id=network_id, endpoint_id=endpoint_id)

    def endpoint_oper_info(self, network_id: str, endpoint_id: str) -> dict[str, Any]:
        return dict(self._call("cnm_endpoint_oper_info", {}, network_id=network_id, endpoint_id=endpoint_id) or {})

    def join(
        self, network_id: str, endpoint_id: str, sandbox_key: str, options: Mapping[str, Any], dst_name: str
    ) -> JoinInfo:
        info = self._call(
            "cnm_join",
            network_id=network_id,
            endpoint_id=endpoint_id,
            sandbox_key=sandbox_key,
            options=dict(options),
            dst_name=dst_name,
        )
        if info is None:
            return JoinInfo()
        if not isinstance(info, JoinInfo):
            raise Internal(f"{self._who()}: cnm_join returned {info!r}, not JoinInfo")
        return info

    def leave(self, network_id: str, endpoint_id: str) -> None:
        self._call("cnm_leave", network_id=network_id, endpoint_id=endpoint_id)

    def program_external_connectivity(self, network_id: str, endpoint_id: str, options: Mapping[str, Any]) -> None:
        self._call(
            "cnm_program_external_connectivity", network_id=network_id, endpoint_id=endpoint_id, options=dict(options)
        )

    def revoke_external_connectivity(self, network_id: str, endpoint_id: str) -> None:
        self._call("cnm_revoke_external_connectivity", network_id=network_id, endpoint_id=endpoint_id)

    def peer_add(
        self, network_id: str, endpoint_id: str, address: ipaddress.IPv4Interface, mac: str, vtep: IPAddress
    ) -> None:
        self._call("cnm_peer_add", network_id=network_id, endpoint_id=endpoint_id, address=address, mac=mac, vtep=vtep)

    def peer_delete(
        self, network_id: str, endpoint_id: str, address: ipaddress.IPv4Interface, mac: str, vtep: IPAddress
    ) -> None:
        self._call(
            "cnm_peer_delete", network_id=network_id, endpoint_id=endpoint_id, address=address, mac=mac, vtep=vtep
        )

    def discover_new(self, discovery_type: int, discovery_data: Mapping[str, Any]) -> None:
        self._call("cnm_discover_new", discovery_type=discovery_type, discovery_data=dict(discovery_data))

    def discover_delete(self, discovery_type: int, discovery_data: Mapping[str, Any]) -> None:
        self._call("cnm_discover_delete", discovery_type=discovery_type, discovery_data=dict(discovery_data))


class IPAMRelay(_Relay):
    """Typed calls to one IPAM driver."""

    kind = "IPAM driver"
    required = hookspecs.REQUIRED_IPAM_HOOKS

    def __init__(self, driver: Any, entry: DriverEntry, plugins: Sequence[Any] = ()) -> None:
        super().__init__(driver, entry, plugins)
        self.capabilities = self._call("ipam_get_capabilities", IPAMCapabilities()) or IPAMCapabilities()

    def config(self, config: DriverConfig, store: Store) -> None:
        self._call("ipam_config", config=config, store=store)

    def default_address_spaces(self) -> AddressSpaces:
        return self._call("ipam_get_default_address_spaces")

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> PoolAllocation:
        result = self._call(
            "ipam_request_pool",
            address_space=address_space,
            pool=pool,
            sub_pool=sub_pool,
            options=dict(options or {}),
            v6=v6,
        )
        if not isinstance(result, PoolAllocation):
            raise Internal(f"{self._who()}: ipam_request_pool returned {result!r}, not PoolAllocation")
        return result

    def release_pool(self, pool_id: str) -> None:
        self._call("ipam_release_pool", pool_id=pool_id)

    def request_address(
        self, pool_id: str, address: str = "", options: Mapping[str, str] | None = None
    ) -> AddressAllocation | None:
        result = self._call("ipam_request_address", pool_id=pool_id, address=address, options=dict(options or {}))
        if result is not None and not isinstance(result, AddressAllocation):
            raise Internal(f"{self._who()}: ipam_request_address returned {result!r}, not AddressAllocation")
        return result

    def release_address(self, pool_id: str, address: str) -> None:
        self._call("ipam_release_address", pool_id=pool_id, address=address)

    def owned(self, owner_prefix: str) -> list[tuple[str, str, str]]:
        """What the driver holds for owners starting with ``owner_prefix`` (none if it keeps no owners)."""
        return list(self._call("ipam_owned", default=(), owner_prefix=owner_prefix) or ())


class EventBus:
    """The 1:N host hooks (``cnm_event``) for ``pycnm.plugins`` observers."""

    def __init__(self, plugins: Sequence[Any]) -> None:
        self.pm = pluggy.PluginManager("pycnm")
        self.pm.add_hookspecs(hookspecs.HostSpec)
        self.pm.add_hookspecs(hookspecs.DriverSourceSpec)
        self.pm.add_hookspecs(hookspecs.NetworkDriverSpec)
        self.pm.add_hookspecs(hookspecs.PeerSpec)
        self.pm.add_hookspecs(hookspecs.IPAMDriverSpec)
        for plugin in plugins:
            self.pm.register(plugin)

    def driver_for(self, name: str, kind: str) -> Any:
        """A driver called ``name`` from a plugin's source (e.g. a Docker plugin), or None."""
        return self.pm.hook.cnm_driver_for(name=name, kind=kind)

    def discovered(self, kind: str) -> list[dict[str, str]]:
        return [dict(item) for found in self.pm.hook.cnm_discover_drivers(kind=kind) for item in (found or ())]

    def emit(self, kind: str, object_id: str, name: str, **attributes: Any) -> None:
        try:
            self.pm.hook.cnm_event(kind=kind, object_id=object_id, name=name, attributes=attributes)
        except Exception:  # an observer must never break the change it observes
            log.exception("a pycnm plugin failed while observing %s %s", kind, name)
