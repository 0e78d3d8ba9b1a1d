"""The driver contract: one hookspec per call of libnetwork's driver API.

A network driver is a class whose methods carry ``@pycnm.hookimpl`` and are named after these
specs; it is announced by one entry-point line in the ``pycnm.network_drivers`` group (an IPAM
driver: ``pycnm.ipam_drivers``). Every call reaches exactly one driver: the core builds one pluggy
manager per loaded driver (see :mod:`pycnm._relay`), so each driver spec below is ``firstresult``
and a driver never needs to ask "is this call mine?".

Arguments are keywords named after the remote protocol's fields in snake_case. A driver may accept
only the arguments it needs (pluggy passes a subset); new arguments added here break no driver.
Errors are raised as :mod:`pycnm.errors` types; anything else is reported as ``Internal`` naming
the driver and the call.

Each spec's docstring says: when it is called, its arguments, what it returns, what it may raise,
and whether it is required ("Required") or optional with a default behaviour ("Optional").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # annotations only: a driver importing pycnm.hookimpl pays for none of these
    import ipaddress

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
    from .store import Store

#: The version of this contract. A driver may declare ``pycnm_contract = (1, 0)``; a major
#: version the core does not speak is refused at load time with an error naming the driver.
CONTRACT_VERSION = (1, 0)

hookspec = pluggy.HookspecMarker("pycnm")


class NetworkDriverSpec:
    """Network driver calls (``/NetworkDriver.*`` in Docker's remote protocol)."""

    # -------------------------------------------------------------------------------------------
    # Set-up
    # -------------------------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def cnm_config(self, config: DriverConfig) -> None:
        """Configure the driver once, right after it is loaded and before any other call.

        :param config: the state directory, the prefix for kernel object names, the scope.
        :returns: nothing.
        :raises InvalidParameter: when the configuration cannot work.

        Optional (libnetwork's ``driver.Config``; no wire call in the remote protocol).
        """

    @hookspec(firstresult=True)
    def cnm_get_capabilities(self) -> Capabilities:
        """Say where the driver's networks live and reach (``/NetworkDriver.GetCapabilities``).

        :returns: :class:`~pycnm.model.Capabilities`; ``scope`` local or global.

        Required.
        """

    @hookspec(firstresult=True)
    def cnm_restore(self, networks: Sequence[NetworkSnapshot]) -> None:
        """Rebuild the driver's in-memory state after the core restarts.

        Called once, right after ``cnm_config``, with every network of this driver the store holds
        and their endpoints (with the sandbox each is joined to). The driver repairs kernel objects
        of its own that vanished and removes those it finds with no network or endpoint here.
        Nothing is sent to a remote plugin: libnetwork restores networks without a driver call.

        :param networks: :class:`~pycnm.model.NetworkSnapshot` items.

        Optional (default: nothing to rebuild).
        """

    @hookspec(firstresult=True)
    def cnm_refresh(self, networks: Sequence[NetworkSnapshot], removed: Sequence[str]) -> None:
        """Another process on this state directory changed some of the driver's networks: make
        what the driver holds in memory of each match the store again.

        pycnm's processes (the CLI, a hosting application, ``pycnm daemon``) share one store and
        one kernel, each with its own instance of the driver, and take turns (one operation at a
        time per state directory). Before a process's next call to the driver, the core tells it
        what the others did: each network in ``networks`` is given whole, endpoints and joins as
        the store has them now, and replaces what the driver held of it (it may be new to the
        driver); each ID in ``removed`` is a network that is gone. The process that made the
        changes made them in the kernel already: touch no kernel object here, only memory.

        :param networks: :class:`~pycnm.model.NetworkSnapshot` items, as for :func:`cnm_restore`.
        :param removed: IDs of networks to forget.

        Optional. A driver without it is loaded afresh instead (``cnm_config`` and
        ``cnm_restore`` on a new instance, which repairs the kernel as on a restart): correct,
        but slower. A driver that keeps nothing in memory (a remote plugin keeps its own state)
        implements it as a no-op.
        """

    # -------------------------------------------------------------------------------------------
    # Networks
    # -------------------------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def cnm_network_allocate(
        self,
        network_id: str,
        options: Mapping[str, Any],
        ipv4_data: Sequence[IPAMData],
        ipv6_data: Sequence[IPAMData],
    ) -> Mapping[str, str] | None:
        """Reserve what a global network needs cluster-wide, once, on the host that creates it
        (libnetwork's ``NetworkAllocate``; the overlay driver reserves the VNI here).

        Called before ``cnm_create_network``. The driver reserves in ``DriverConfig.store``
        (shared by every host for a global-scope driver) with compare-and-swap, so two hosts can
        never reserve the same thing.

        :param network_id: 64 hex characters.
        :param options: as for :func:`cnm_create_network`.
        :param ipv4_data: the network's IPv4 pools.
        :param ipv6_data: the network's IPv6 pools.
        :returns: options to add to the network's generic options (``com.docker.network.generic``),
            which every host's ``cnm_create_network`` then receives; or None.
        :raises Forbidden: when what was asked for is taken.

        Optional (default: nothing to reserve). No wire call: a remote plugin answers
        "not implemented", as libnetwork's remote driver does.
        """

    @hookspec(firstresult=True)
    def cnm_network_free(self, network_id: str) -> None:
        """Release what :func:`cnm_network_allocate` reserved (libnetwork's ``NetworkFree``).

        Called once, after the network is deleted (or its creation failed or was undone).

        :param network_id: the network's ID.

        Optional (default: nothing to release).
        """

    @hookspec(firstresult=True)
    def cnm_create_network(
        self,
        network_id: str,
        options: Mapping[str, Any],
        ipv4_data: Sequence[IPAMData],
        ipv6_data: Sequence[IPAMData],
    ) -> None:
        """Create a network (``/NetworkDriver.CreateNetwork``).

        :param network_id: 64 hex characters.
        :param options: Docker's keys: ``com.docker.network.generic`` holds the user's ``-o``
            options; ``com.docker.network.enable_ipv6`` and ``com.docker.network.internal`` are
            booleans.
        :param ipv4_data: the pools IPAM gave this network, with their gateways.
        :param ipv6_data: the same for IPv6 (empty unless IPv6 is enabled).
        :raises InvalidParameter: for a bad option. :raises Forbidden: for a conflict with what exists.

        Required. On error the driver leaves nothing behind; the core then releases the pools.
        """

    @hookspec(firstresult=True)
    def cnm_delete_network(self, network_id: str) -> None:
        """Delete a network that has no endpoints left (``/NetworkDriver.DeleteNetwork``).

        :param network_id: the network's ID (64 hex characters).

        :raises NotFound: for a network the driver does not know.

        Required.
        """

    # -------------------------------------------------------------------------------------------
    # Endpoints
    # -------------------------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def cnm_create_endpoint(
        self,
        network_id: str,
        endpoint_id: str,
        interface: EndpointInterface,
        options: Mapping[str, Any],
    ) -> EndpointInterface | None:
        """Create an endpoint on a network (``/NetworkDriver.CreateEndpoint``).

        :param network_id: the network's ID (64 hex characters).
        :param endpoint_id: the endpoint's ID (64 hex characters).
        :param interface: the addresses IPAM assigned and the MAC the user asked for (any may be
            None).
        :param options: endpoint options (``com.docker.network.endpoint.macaddress``,
            ``com.docker.network.portmap``, ...).
        :returns: None, or an :class:`~pycnm.model.EndpointInterface` carrying only the fields
            the driver filled in that were empty (typically the MAC it chose). Changing a field
            the core supplied is an error, and the endpoint is rolled back.
        :raises NotFound: for an unknown network.

        Required.
        """

    @hookspec(firstresult=True)
    def cnm_delete_endpoint(self, network_id: str, endpoint_id: str) -> None:
        """Delete an endpoint that is not joined (``/NetworkDriver.DeleteEndpoint``).

        :param network_id: the network's ID (64 hex characters).
        :param endpoint_id: the endpoint's ID (64 hex characters).

        :raises NotFound: for an unknown network or endpoint.

        Required.
        """

    @hookspec(firstresult=True)
    def cnm_endpoint_oper_info(self, network_id: str, endpoint_id: str) -> Mapping[str, Any]:
        """Report an endpoint's operational data (``/NetworkDriver.EndpointOperInfo``).

        :param network_id: the network's ID (64 hex characters).
        :param endpoint_id: the endpoint's ID (64 hex characters).

        :returns: a JSON-able mapping, e.g. ``{"com.docker.network.endpoint.macaddress": ...}``.

        Optional (default: an empty mapping).
        """

    # -------------------------------------------------------------------------------------------
    # Join and leave
    # -------------------------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def cnm_join(
        self,
        network_id: str,
        endpoint_id: str,
        sandbox_key: str,
        options: Mapping[str, Any],
        dst_name: str,
    ) -> JoinInfo:
        """Attach an endpoint to a sandbox (``/NetworkDriver.Join``).

        :param network_id: the network's ID.
        :param endpoint_id: the endpoint's ID.
        :param sandbox_key: the path of the sandbox's network namespace.
        :param options: sandbox options (port map, exposed ports).
        :param dst_name: the name the interface will have in the sandbox (``eth0``, ``eth1``...).
            A driver may create its interface directly in the namespace at ``sandbox_key`` under
            this name and say so with ``InterfaceName(created_in_sandbox=True)``; otherwise it
            creates it in the host namespace and the core moves and renames it.
        :returns: :class:`~pycnm.model.JoinInfo`: the interface, gateways, static routes.
            The core, not the driver, sets addresses, routes and the default route in the sandbox.
        :raises NotFound: for an unknown network or endpoint.

        Required.
        """

    @hookspec(firstresult=True)
    def cnm_leave(self, network_id: str, endpoint_id: str) -> None:
        """Detach an endpoint from its sandbox (``/NetworkDriver.Leave``).

        The driver removes what it made for the join (a veth deleted at its host end takes its
        peer in the sandbox with it).

        :param network_id: the network's ID.
        :param endpoint_id: the endpoint's ID.

        :raises NotFound: for an unknown endpoint; the core ignores it while cleaning up.

        Required.
        """

    @hookspec(firstresult=True)
    def cnm_program_external_connectivity(self, network_id: str, endpoint_id: str, options: Mapping[str, Any]) -> None:
        """Give the endpoint's sandbox its way out (``/NetworkDriver.ProgramExternalConnectivity``).

        Called after a join for the endpoint that provides the sandbox's default gateway.

        :param network_id: the network's ID.
        :param endpoint_id: the endpoint's ID.
        :param options: the endpoint's options, with the port map to publish
            (``com.docker.network.portmap``) and the exposed ports.

        Optional (default: nothing to do).
        """

    @hookspec(firstresult=True)
    def cnm_revoke_external_connectivity(self, network_id: str, endpoint_id: str) -> None:
        """Undo :func:`cnm_program_external_connectivity` (``/NetworkDriver.RevokeExternalConnectivity``).

        :param network_id: the network's ID.
        :param endpoint_id: the endpoint's ID.

        Optional (default: nothing to do).
        """

    # -------------------------------------------------------------------------------------------
    # Cluster discovery
    # -------------------------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def cnm_discover_new(self, discovery_type: int, discovery_data: Mapping[str, Any]) -> None:
        """A node joined the cluster (``/NetworkDriver.DiscoverNew``; type 1 is a node).

        :param discovery_type: 1 for a node (the only type libnetwork forwards).
        :param discovery_data: ``{"Address": ..., "BindAddress": ..., "Self": bool}``.

        Optional (default: ignored).
        """

    @hookspec(firstresult=True)
    def cnm_discover_delete(self, discovery_type: int, discovery_data: Mapping[str, Any]) -> None:
        """A node left the cluster (``/NetworkDriver.DiscoverDelete``).

        :param discovery_type: 1 for a node.
        :param discovery_data: as for :func:`cnm_discover_new`.

        Optional (default: ignored).
        """


class PeerSpec:
    """Endpoints of global networks on other hosts (libnetwork's overlay peerAdd/peerDelete)."""

    @hookspec(firstresult=True)
    def cnm_peer_add(
        self, network_id: str, endpoint_id: str, address: ipaddress.IPv4Interface, mac: str, vtep: IPAddress
    ) -> None:
        """Another host is joining an endpoint to a global network: make it reachable.

        Called once the join is written down in the cluster store (address, MAC and host are
        final then), while that host still makes the interface: so the endpoint is reachable
        about when its join returns there. A join that fails is followed by
        :func:`cnm_peer_delete`.

        :param network_id: the network's ID.
        :param endpoint_id: the remote endpoint's ID.
        :param address: its IPv4 address, with the network's prefix (``ipaddress.IPv4Interface``).
        :param mac: its MAC address.
        :param vtep: the underlay address of its host (the host's advertise address, an
            ``ipaddress`` address).

        Optional (default: ignored). Called by ``Controller.sync_peers`` (and so by the daemon),
        again after a restart: it must be idempotent.
        """

    @hookspec(firstresult=True)
    def cnm_peer_delete(
        self, network_id: str, endpoint_id: str, address: ipaddress.IPv4Interface, mac: str, vtep: IPAddress
    ) -> None:
        """A remote endpoint left, or its host is gone: forget it.

        :param network_id: the network's ID.
        :param endpoint_id: the remote endpoint's ID.
        :param address: its IPv4 address.
        :param mac: its MAC address.
        :param vtep: the underlay address of its host.

        Optional (default: ignored).
        """


class IPAMDriverSpec:
    """IPAM driver calls (``/IpamDriver.*`` in Docker's remote protocol)."""

    @hookspec(firstresult=True)
    def ipam_config(self, config: DriverConfig, store: Store) -> None:
        """Configure the IPAM driver once, right after loading.

        :param config: the state directory and scope, as for network drivers.
        :param store: the core's :class:`~pycnm.store.Store` for this scope, for drivers that
            keep their allocations in it (the default IPAM does).

        Optional.
        """

    @hookspec(firstresult=True)
    def ipam_get_capabilities(self) -> IPAMCapabilities:
        """Say whether the driver wants the endpoint MAC and a replay of requests at start.

        Optional (default: neither).
        """

    @hookspec(firstresult=True)
    def ipam_get_default_address_spaces(self) -> AddressSpaces:
        """Name the local and global default address spaces (``GetDefaultAddressSpaces``).

        Required.
        """

    @hookspec(firstresult=True)
    def ipam_request_pool(
        self,
        address_space: str,
        pool: str,
        sub_pool: str,
        options: Mapping[str, str],
        v6: bool,
    ) -> PoolAllocation:
        """Reserve a pool (``/IpamDriver.RequestPool``).

        :param address_space: ``LocalDefault``, ``GlobalDefault`` or a space the driver names.
        :param pool: a CIDR, or "" to let the driver choose one.
        :param sub_pool: a CIDR inside ``pool`` that addresses are handed out from, or "".
        :param options: the user's ``--ipam-opt`` options.
        :param v6: whether an IPv6 pool is wanted.
        :returns: :class:`~pycnm.model.PoolAllocation`.
        :raises Forbidden: when the pool overlaps one already reserved.
        :raises Unavailable: when no default pool is left.

        Required.
        """

    @hookspec(firstresult=True)
    def ipam_release_pool(self, pool_id: str) -> None:
        """Release a pool and every address in it (``/IpamDriver.ReleasePool``).

        :param pool_id: the ID :func:`ipam_request_pool` returned.

        Required.
        """

    @hookspec(firstresult=True)
    def ipam_request_address(self, pool_id: str, address: str, options: Mapping[str, str]) -> AddressAllocation | None:
        """Reserve an address (``/IpamDriver.RequestAddress``).

        :param pool_id: the ID :func:`ipam_request_pool` returned.
        :param address: the address wanted, or "" for any free one.
        :param options: ``RequestAddressType: com.docker.network.gateway`` for a gateway;
            ``com.docker.network.ipam.serial: true`` to hand addresses out in order rather than
            lowest-free first.
        :returns: :class:`~pycnm.model.AddressAllocation`, the address with the pool's prefix; or
            None from a driver that hands out no addresses (the ``null`` IPAM).
        :raises Forbidden: when the address is taken. :raises Unavailable: when the pool is full.
        :raises InvalidParameter: when the address is outside the pool.

        Required.
        """

    @hookspec(firstresult=True)
    def ipam_release_address(self, pool_id: str, address: str) -> None:
        """Release an address (``/IpamDriver.ReleaseAddress``).

        :param pool_id: the pool the address came from.
        :param address: the address, without prefix length.

        Required.
        """

    @hookspec(firstresult=True)
    def ipam_owned(self, owner_prefix: str) -> Sequence[tuple[str, str, str]]:
        """What this driver holds for owners whose name starts with ``owner_prefix``.

        The core passes an owner with requests (option ``pycnm.ipam.owner``, ``<instance>/<ID>``)
        to a driver whose capabilities claim ``keeps_owners``, on global networks: there the
        driver commits to the cluster store before the core writes the record naming the pool or
        address, and a crash in between would lose it. After a crash the core asks here and
        releases what no record names.

        :param owner_prefix: e.g. ``"0a1b2c3d4e5f/"``: one pycnm instance's owners.
        :returns: ``(pool_id, address, owner)`` items; ``address`` is ``""`` for a pool itself.

        Optional (pycnm's own; no wire call: a remote IPAM plugin keeps no owners).
        """


class HostSpec:
    """1:N hooks for ``pycnm.plugins``: observers and sources of driver names.

    Plugins may also wrap any driver call above with ``@hookimpl(wrapper=True)``; they may not
    answer one (the core refuses a plugin that implements a driver call without ``wrapper``).
    """

    @hookspec
    def cnm_event(self, kind: str, object_id: str, name: str, attributes: Mapping[str, Any]) -> None:
        """Observe a change, after it is stored.

        :param kind: what happened: ``network.create``, ``network.delete``, ``endpoint.create``,
            ``endpoint.join``, ``endpoint.leave``, ``endpoint.delete``, ``sandbox.create``,
            ``sandbox.delete``.
        :param object_id: the ID of the object that changed.
        :param name: its name.
        :param attributes: more about it (``network_id``, ``sandbox_id``, ``driver``, ...).

        Return values are ignored; an error is logged, never
        raised to the caller of the change.
        """


class DriverSourceSpec:
    """1:N hooks for ``pycnm.plugins`` that bring drivers from elsewhere than entry points
    (pycnm-remote: Docker plugins found by their sockets and spec files)."""

    @hookspec
    def cnm_discover_drivers(self, kind: str) -> Sequence[Mapping[str, str]]:
        """List the drivers this source can provide, for ``pycnm driver ls``.

        :param kind: ``network`` or ``ipam``.
        :returns: items ``{"name": ..., "source": ...}`` (the source says where it was found).
        """

    @hookspec(firstresult=True)
    def cnm_driver_for(self, name: str, kind: str) -> object | None:
        """Provide the driver called ``name`` when no entry point has that name.

        :param name: what the user typed after ``-d`` (or ``--ipam-driver``).
        :param kind: ``network`` or ``ipam``.
        :returns: a driver object (with ``@hookimpl`` methods), or None if this source has none.
        """


#: the driver calls a network driver must answer
REQUIRED_NETWORK_HOOKS = (
    "cnm_get_capabilities",
    "cnm_create_network",
    "cnm_delete_network",
    "cnm_create_endpoint",
    "cnm_delete_endpoint",
    "cnm_join",
    "cnm_leave",
)
REQUIRED_IPAM_HOOKS = (
    "ipam_get_default_address_spaces",
    "ipam_request_pool",
    "ipam_release_pool",
    "ipam_request_address",
    "ipam_release_address",
)
