"""The CNI spec as pycnm's daemon reads and writes it: requests in, results out, no kernel.

``pycnm-cni`` (the executable a runtime execs) forwards what the runtime gave it - every ``CNI_*``
variable and the raw stdin text - and this module turns that into a typed :class:`CNIRequest`,
or a :class:`CNIError` carrying the spec's error code. The daemon then does the work and hands
one version-free :class:`Result` to :func:`render_result`, which writes the exact JSON of the
version the runtime asked for.

Sources: the CNI spec at tags spec-v0.3.1, spec-v0.4.0, spec-v1.0.0 and spec-v1.1.0 (SPEC.md and
CONVENTIONS.md), and what libcni and Debian's Go plugins do where the spec leaves a gap:

- The checks run in the order of libcni's ``pkg/skel`` (Debian's plugins 1.1.1 are built on it):
  required variables, then decoding stdin, the network name, the container ID, the interface name,
  and last the version. An input with several faults gets the same code as from the Go plugins.
- The variables each command requires are the spec's (1.x), not skel's: skel also requires
  ``CNI_PATH`` for ADD/DEL/CHECK (and GC, as spec 1.1 does). pycnm never delegates to another
  plugin, so it has no use for ``CNI_PATH`` and does not refuse a request without it.
- A config without ``cniVersion`` is version 0.1.0 (libcni's rule), which pycnm does not support.
- ``prevResult`` without a ``cniVersion`` is in the config's version (libcni's ParsePrevResult);
  one in another version is converted as libcni's ``convert`` does (0.1.0 to 1.1.0 all convert).
- GC's list of live attachments is read from ``cni.dev/attachments`` (the spec's name) or
  ``cni.dev/valid-attachments`` (the name libcni also sends, see containernetworking/cni#1101).

Decisions where the spec is silent are marked "Decision:" where they are made.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from attrs import field, frozen

from .. import validate
from ..errors import CNMError, InvalidParameter

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

# ---- versions and commands -----------------------------------------------------------------------

#: the spec versions pycnm speaks (VERSION answers these); 0.1.0 and 0.2.0 predate rich results
SUPPORTED_VERSIONS: tuple[str, ...] = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
#: the newest spec version: VERSION's answer when the runtime names none
LATEST_VERSION = "1.1.0"
#: result versions a prevResult may come in: libcni converts from all of them
RESULT_VERSIONS: tuple[str, ...] = ("0.1.0", "0.2.0", *SUPPORTED_VERSIONS)

_VERSION_ORDER = {v: tuple(int(part) for part in v.split(".")) for v in RESULT_VERSIONS}


class Command(str, enum.Enum):
    """``CNI_COMMAND``: the operation the runtime asks for."""

    ADD = "ADD"
    DEL = "DEL"
    CHECK = "CHECK"
    GC = "GC"
    STATUS = "STATUS"
    VERSION = "VERSION"


#: the variables each command requires, non-empty (spec 1.1 section 2, "Required environment
#: parameters", less CNI_COMMAND itself and GC's CNI_PATH, see the module docstring)
REQUIRED_ENV: Mapping[Command, tuple[str, ...]] = {
    Command.ADD: ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
    Command.DEL: ("CNI_CONTAINERID", "CNI_IFNAME"),
    Command.CHECK: ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
    Command.GC: (),
    Command.STATUS: (),
    Command.VERSION: (),
}

#: the first spec version each later command exists in; an older config cannot ask for it
COMMAND_SINCE: Mapping[Command, str] = {
    Command.CHECK: "0.4.0",
    Command.GC: "1.1.0",
    Command.STATUS: "1.1.0",
}

#: commands that act on one attachment (CNI_CONTAINERID, CNI_IFNAME)
ATTACHMENT_COMMANDS = frozenset({Command.ADD, Command.DEL, Command.CHECK})


def version_at_least(version: str, floor: str) -> bool:
    """Whether ``version`` (one of :data:`RESULT_VERSIONS`) is ``floor`` or newer."""
    return _VERSION_ORDER[version] >= _VERSION_ORDER[floor]


# ---- errors --------------------------------------------------------------------------------------


class ErrorCode(enum.IntEnum):
    """The spec's well-known error codes (spec 1.1 section 5, "Error"; 50 and 51 are STATUS's)."""

    INCOMPATIBLE_VERSION = 1
    UNSUPPORTED_FIELD = 2
    UNKNOWN_CONTAINER = 3
    INVALID_ENVIRONMENT = 4
    IO_FAILURE = 5
    DECODING_FAILURE = 6
    INVALID_NETWORK_CONFIG = 7
    TRY_AGAIN_LATER = 11
    PLUGIN_NOT_AVAILABLE = 50
    LIMITED_CONNECTIVITY = 51
    #: not the spec's: libcni's ErrInternal, what the Go plugins answer for an untyped failure
    INTERNAL = 999


_HTTP_STATUS: dict[int, int] = {
    ErrorCode.UNKNOWN_CONTAINER: 404,
    ErrorCode.TRY_AGAIN_LATER: 503,
    ErrorCode.PLUGIN_NOT_AVAILABLE: 503,
    ErrorCode.LIMITED_CONNECTIVITY: 503,
    ErrorCode.INTERNAL: 500,
}


class CNIError(CNMError):
    """A failure with the spec's error code: the runtime receives ``to_json()`` on stdout.

    ``msg`` is the short message (for code 4 it names the variables, for 2 and 7 the field),
    ``details`` the longer one: what exactly was wrong and what to do.
    """

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(f"{msg} ({details})" if details else msg)
        self.code = int(code)
        self.msg = msg
        self.details = details

    @property
    def http_status(self) -> int:  # type: ignore[override]  # per code, where the base has one per class
        """The family's HTTP status, for callers that map errors to statuses (the daemon's CNI
        route answers 200 with the error in the body whatever the code)."""
        return _HTTP_STATUS.get(self.code, 400)

    def to_json(self, cni_version: str = LATEST_VERSION) -> dict[str, Any]:
        """The spec's error object; ``details`` is left out when empty (as libcni does)."""
        out: dict[str, Any] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"CNIError({self.code}, {self.msg!r}, {self.details!r})"


def _invalid_env(variables: str, problem: str, details: str = "") -> CNIError:
    return CNIError(ErrorCode.INVALID_ENVIRONMENT, f"invalid environment variables: {variables} {problem}", details)


def _invalid_config(where: str, problem: str, details: str = "") -> CNIError:
    return CNIError(ErrorCode.INVALID_NETWORK_CONFIG, f"invalid network config: {where}: {problem}", details)


def _show(value: Any) -> str:
    """A value for a message, cut short: a megabyte of input must not become a megabyte of error."""
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
    return text if len(text) <= 80 else f"{text[:64]}..."


def incompatible_version(version: Any, *, what: str = "config") -> CNIError:
    """Code 1 for a version pycnm does not speak, listing the ones it does (as skel does)."""
    return CNIError(
        ErrorCode.INCOMPATIBLE_VERSION,
        "incompatible CNI versions",
        f"{what} is {_show(version)}, pycnm supports {', '.join(SUPPORTED_VERSIONS)}",
    )


# ---- attachment parameters -----------------------------------------------------------------------

# spec 1.0+: "Must start with an alphanumeric character, optionally followed by any combination of
# one or more alphanumeric characters, underscore (_), dot (.) or hyphen (-)"; ASCII, as libcni's
# regexp is. The same rule holds for network names.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
#: the kernel's IFNAMSIZ less the terminating NUL
IFNAME_MAX_BYTES = 15


def validate_container_id(value: str) -> str:
    """``CNI_CONTAINERID`` by the spec's rule; code 4 naming the variable if it breaks it."""
    if not value:
        raise _invalid_env("CNI_CONTAINERID", "is missing", "a container ID must not be empty")
    if not _NAME_RE.fullmatch(value):
        raise _invalid_env(
            "CNI_CONTAINERID",
            f"has invalid characters: {_show(value)}",
            "a container ID starts with a letter or digit, followed by letters, digits, '_', '.' or '-'",
        )
    return value


def validate_ifname(value: str) -> str:
    """``CNI_IFNAME`` by the kernel's rules (libcni's ValidateInterfaceName): at most 15 bytes,
    not ``.`` or ``..``, no ``/``, ``:`` or whitespace; code 4 naming the variable."""
    if not value:
        raise _invalid_env("CNI_IFNAME", "is missing", "an interface name must not be empty")
    size = len(value.encode("utf-8", "surrogateescape"))
    if size > IFNAME_MAX_BYTES:
        raise _invalid_env(
            "CNI_IFNAME",
            f"is too long: {_show(value)} is {size} bytes",
            f"an interface name is at most {IFNAME_MAX_BYTES} bytes",
        )
    if value in (".", ".."):
        raise _invalid_env("CNI_IFNAME", f"is {_show(value)}", "an interface name cannot be '.' or '..'")
    for ch in value:
        if ch in "/:" or ch.isspace():
            raise _invalid_env(
                "CNI_IFNAME", f"contains {ch!r}: {_show(value)}", "an interface name holds no '/', ':' or whitespace"
            )
    return value


def validate_network_name(value: Any) -> str:
    """The config's ``name``: code 6 if it is not a string (libcni cannot decode it), code 7 if it
    is missing or breaks the spec's rule."""
    if value is None or value == "":
        raise _invalid_config("name", "missing network name", "the network configuration needs a name")
    if not isinstance(value, str):
        raise CNIError(
            ErrorCode.DECODING_FAILURE, "failed to decode content: name is not a string", f"name is {_show(value)}"
        )
    if not _NAME_RE.fullmatch(value):
        raise _invalid_config(
            "name",
            f"invalid characters in network name {_show(value)}",
            "a network name starts with a letter or digit, followed by letters, digits, '_', '.' or '-'",
        )
    return value


def parse_cni_args(text: str) -> dict[str, str]:
    """``CNI_ARGS`` (``K=V;K=V``) as a dict; the last of a repeated key wins (as libcni's LoadArgs).

    Decision: empty items (``A=1;;B=2``, a trailing ``;``) are skipped, where libcni refuses them;
    an item with no ``=`` or an empty key is code 4.
    """
    args: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _invalid_env(
                "CNI_ARGS",
                f"has an item that is not KEY=VALUE: {_show(item)}",
                "CNI_ARGS is KEY=VALUE pairs separated by ';', like IgnoreUnknown=1;IP=10.0.0.2",
            )
        args[key] = value
    return args


# ---- capability arguments (runtimeConfig) and CNI_ARGS values -------------------------------------


@frozen
class RequestedIP:
    """A static address a runtime asks for (``ips`` capability, ``IP=`` in CNI_ARGS, ``args.cni.ips``).

    CONVENTIONS.md allows the prefix to be left out (``10.0.0.5`` as well as ``10.0.0.5/24``), and
    podman 4.3 sends addresses without one; ``prefixlen`` is then None and the network's is meant.
    """

    address: IPAddress
    prefixlen: int | None = None

    @property
    def interface(self) -> IPInterface | None:
        """The address with its prefix, when the runtime gave one."""
        if self.prefixlen is None:
            return None
        return ipaddress.ip_interface(f"{self.address}/{self.prefixlen}")

    def __str__(self) -> str:
        return str(self.address) if self.prefixlen is None else f"{self.address}/{self.prefixlen}"


def parse_requested_ip(value: Any) -> RequestedIP:
    """``<ip>`` or ``<ip>/<prefix>``; raises :class:`InvalidParameter` saying what is wrong (the
    caller names the field).

    Decision: the unspecified address and multicast addresses are refused (no interface takes
    them); so is an IPv6 zone (a static address is not link-scoped).
    """
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"expected an IP address like 10.0.0.5 or 10.0.0.5/24, not {_show(value)}")
    try:
        if "/" in value:
            iface = ipaddress.ip_interface(value)
            address, prefixlen = iface.ip, iface.network.prefixlen
        else:
            address, prefixlen = ipaddress.ip_address(value), None
    except ValueError as exc:
        raise InvalidParameter(f"{_show(value)} is not an IP address with an optional prefix ({exc})") from None
    if getattr(address, "scope_id", None):
        raise InvalidParameter(f"{_show(value)} has a zone; give the address alone")
    if address.is_unspecified or address.is_multicast:
        raise InvalidParameter(f"{_show(value)} cannot be an interface's address")
    return RequestedIP(address, prefixlen)


def _proto(value: str) -> str:
    # lowercased: the portmap plugin compares protocols case-insensitively
    return value.lower() if isinstance(value, str) else value


def _host_ip(value: Any) -> IPAddress | None:
    if value is None or value == "":
        return None
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if not isinstance(value, str):
        raise InvalidParameter(f"hostIP: expected an IP address, not {_show(value)}")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise InvalidParameter(f"hostIP: {_show(value)} is not an IP address") from None


def _is_int(value: Any) -> bool:
    # JSON true is not 1, and 80.0 is not a port: libcni's decoder refuses both for int fields
    return isinstance(value, int) and not isinstance(value, bool)


def _port(name: str):
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not _is_int(value) or not 1 <= value <= 65535:
            raise InvalidParameter(f"{name}: {_show(value)} is not a port (an integer from 1 to 65535)")

    return check


def _protocol(_instance: Any, _attribute: Any, value: Any) -> None:
    if value not in ("tcp", "udp", "sctp"):
        raise InvalidParameter(f"protocol: {_show(value)} is not tcp, udp or sctp")


@frozen
class PortMapping:
    """One ``portMappings`` entry: the host's port to the container's (CONVENTIONS.md).

    Decision: a missing ``protocol`` is tcp (Docker's default; podman and kubelet always send one).
    """

    host_port: int = field(validator=_port("hostPort"))
    container_port: int = field(validator=_port("containerPort"))
    protocol: str = field(default="tcp", converter=_proto, validator=_protocol)
    host_ip: IPAddress | None = field(default=None, converter=_host_ip)


_UINT64_MAX = 2**64 - 1


def _rate(name: str):
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not _is_int(value) or not 0 <= value <= _UINT64_MAX:
            raise InvalidParameter(f"{name}: {_show(value)} is not a non-negative integer")

    return check


@frozen
class Bandwidth:
    """The ``bandwidth`` capability: rates in bits per second, bursts in bits; 0 is no limit.

    The pairing rules are the Go bandwidth plugin's (a rate needs a burst and a burst a rate;
    a burst is under 4 GiB), so that a config valid here is valid for it too.
    """

    ingress_rate: int = field(default=0, validator=_rate("ingressRate"))
    ingress_burst: int = field(default=0, validator=_rate("ingressBurst"))
    egress_rate: int = field(default=0, validator=_rate("egressRate"))
    egress_burst: int = field(default=0, validator=_rate("egressBurst"))

    def __attrs_post_init__(self) -> None:
        for way, rate, burst in (
            ("ingress", self.ingress_rate, self.ingress_burst),
            ("egress", self.egress_rate, self.egress_burst),
        ):
            if rate and not burst:
                raise InvalidParameter(f"{way}Burst: {way}Rate is set, so {way}Burst must be set too")
            if burst and not rate:
                raise InvalidParameter(f"{way}Rate: {way}Burst is set, so {way}Rate must be set too")
            if burst // 8 >= 2**32 - 1:
                raise InvalidParameter(f"{way}Burst: {burst} bits is 4 GiB or more")

    @property
    def is_zero(self) -> bool:
        """No limit either way."""
        return not (self.ingress_rate or self.ingress_burst or self.egress_rate or self.egress_burst)


@frozen
class DNSRequest:
    """The ``dns`` capability (CONVENTIONS.md): ``servers``, ``searches``, ``options``."""

    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@frozen
class RuntimeConfig:
    """``runtimeConfig``: the capability arguments the runtime filled in, typed and checked.

    Capabilities pycnm has no type for (``ipRanges``, ``deviceID``, ``cgroupPath``...) stay in
    ``extra`` as the runtime sent them.
    """

    ips: tuple[RequestedIP, ...] = ()
    mac: str | None = None
    port_mappings: tuple[PortMapping, ...] = ()
    dns: DNSRequest | None = None
    aliases: tuple[str, ...] = ()
    bandwidth: Bandwidth | None = None
    extra: Mapping[str, Any] = field(factory=dict)


@frozen
class GCAttachment:
    """One attachment a GC request says is still valid."""

    container_id: str
    ifname: str


@frozen
class PycnmOptions:
    """The config's ``"pycnm"`` section: where the daemon and its state are (what the client reads)."""

    socket: str | None = None
    state_dir: str | None = None
    timeout: float | None = None


#: the keys of the ``"pycnm"`` section, JSON name -> attribute
PYCNM_KEYS: Mapping[str, str] = {"socket": "socket", "stateDir": "state_dir", "timeout": "timeout"}


# ---- results -------------------------------------------------------------------------------------


def _opt_uint(name: str, high: int = 2**32 - 1):
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and (not _is_int(value) or not 0 <= value <= high):
            raise InvalidParameter(f"{name}: {_show(value)} is not an integer from 0 to {high}")

    return check


def _zero_is_none(value: Any) -> Any:
    # libcni writes these with omitempty: 0 and absent are the same value
    return None if value == 0 and _is_int(value) else value


def _opt_text(name: str):
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidParameter(f"{name}: expected a string, not {_show(value)}")

    return check


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


def _ifname_text(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"name: expected a non-empty string, not {_show(value)}")


@frozen
class Interface:
    """An interface the attachment created; ``sandbox`` is None for a host interface.

    ``mtu``, ``socket_path`` and ``pci_id`` exist from spec 1.1.0 and are written only there.
    """

    name: str = field(validator=_ifname_text)
    mac: str | None = field(default=None, converter=_empty_is_none, validator=_opt_text("mac"))
    sandbox: str | None = field(default=None, converter=_empty_is_none, validator=_opt_text("sandbox"))
    mtu: int | None = field(default=None, converter=_zero_is_none, validator=_opt_uint("mtu"))
    socket_path: str | None = field(default=None, converter=_empty_is_none, validator=_opt_text("socketPath"))
    pci_id: str | None = field(default=None, converter=_empty_is_none, validator=_opt_text("pciID"))


def _to_interface(value: Any) -> IPInterface:
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise InvalidParameter(f"address: {_show(value)} is not an address in CIDR notation (10.1.0.5/16)")
    try:
        return ipaddress.ip_interface(value)
    except ValueError as exc:
        raise InvalidParameter(f"address: {_show(value)}: {exc}") from None


def _as_address(value: Any, name: str) -> IPAddress | None:
    if value is None or value == "":
        return None
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if not isinstance(value, str):
        raise InvalidParameter(f"{name}: {_show(value)} is not an IP address")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise InvalidParameter(f"{name}: {_show(value)} is not an IP address") from None


# named converters, not closures: mypy's attrs plugin reads a named function's signature
def _gateway(value: Any) -> IPAddress | None:
    return _as_address(value, "gateway")


def _gw(value: Any) -> IPAddress | None:
    return _as_address(value, "gw")


def _to_network(value: Any) -> IPNetwork:
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise InvalidParameter(f"dst: {_show(value)} is not a destination in CIDR notation (0.0.0.0/0)")
    try:
        # host bits are dropped, not refused: Go plugins write dst as net.ParseCIDR read it
        return ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise InvalidParameter(f"dst: {_show(value)}: {exc}") from None


def _index(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None and (not _is_int(value) or value < 0):
        raise InvalidParameter(f"interface: {_show(value)} is not an index (a non-negative integer)")


@frozen
class IPConfig:
    """An address the attachment assigned; ``interface`` indexes :attr:`Result.interfaces`."""

    address: IPInterface = field(converter=_to_interface)
    gateway: IPAddress | None = field(default=None, converter=_gateway)
    interface: int | None = field(default=None, validator=_index)

    def __attrs_post_init__(self) -> None:
        if self.gateway is not None and self.gateway.version != self.address.version:
            raise InvalidParameter(
                f"gateway: {self.gateway} is not an IPv{self.address.version} address like {self.address}"
            )

    @property
    def version(self) -> str:
        """``"4"`` or ``"6"``: the ``version`` field of 0.3.x and 0.4.0 results."""
        return str(self.address.version)


@frozen
class Route:
    """A route the attachment created; ``gw`` None means the address's gateway.

    ``mtu``, ``advmss``, ``priority``, ``table`` and ``scope`` exist from spec 1.1.0.
    """

    dst: IPNetwork = field(converter=_to_network)
    gw: IPAddress | None = field(default=None, converter=_gw)
    mtu: int | None = field(default=None, converter=_zero_is_none, validator=_opt_uint("mtu"))
    advmss: int | None = field(default=None, converter=_zero_is_none, validator=_opt_uint("advmss"))
    priority: int | None = field(default=None, converter=_zero_is_none, validator=_opt_uint("priority"))
    table: int | None = field(default=None, validator=_opt_uint("table"))
    scope: int | None = field(default=None, validator=_opt_uint("scope", 255))

    def __attrs_post_init__(self) -> None:
        if self.gw is not None and self.gw.version != self.dst.version:
            raise InvalidParameter(f"gw: {self.gw} is not an IPv{self.dst.version} address like {self.dst}")


def _as_text_tuple(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidParameter(f"{name}: expected a list of strings, not {_show(value)}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidParameter(f"{name}: {_show(item)} is not a string")
    return items


def _nameservers(value: Any) -> tuple[str, ...]:
    return _as_text_tuple(value, "nameservers")


def _search(value: Any) -> tuple[str, ...]:
    return _as_text_tuple(value, "search")


def _options(value: Any) -> tuple[str, ...]:
    return _as_text_tuple(value, "options")


@frozen
class DNS:
    """The result's ``dns``: what the runtime may write to the container's resolv.conf."""

    nameservers: tuple[str, ...] = field(default=(), converter=_nameservers)
    domain: str | None = field(default=None, converter=_empty_is_none, validator=_opt_text("domain"))
    search: tuple[str, ...] = field(default=(), converter=_search)
    options: tuple[str, ...] = field(default=(), converter=_options)

    @property
    def is_empty(self) -> bool:
        return not (self.nameservers or self.domain or self.search or self.options)


def _as_tuple_of(kind: type, value: Any, name: str) -> tuple:
    items = tuple(value or ())
    for item in items:
        if not isinstance(item, kind):
            raise InvalidParameter(f"{name}: {item!r} is not {kind.__name__}")
    return items


def _interfaces(value: Any) -> tuple[Interface, ...]:
    return _as_tuple_of(Interface, value, "interfaces")


def _ips(value: Any) -> tuple[IPConfig, ...]:
    return _as_tuple_of(IPConfig, value, "ips")


def _routes(value: Any) -> tuple[Route, ...]:
    return _as_tuple_of(Route, value, "routes")


@frozen
class Result:
    """One attachment's outcome, in no particular spec version: :func:`render_result` writes it
    in the one the runtime asked for. An abbreviated (IPAM-style) result has no interfaces."""

    interfaces: tuple[Interface, ...] = field(default=(), converter=_interfaces)
    ips: tuple[IPConfig, ...] = field(default=(), converter=_ips)
    routes: tuple[Route, ...] = field(default=(), converter=_routes)
    dns: DNS = field(factory=DNS)

    def __attrs_post_init__(self) -> None:
        for i, ip in enumerate(self.ips):
            if ip.interface is not None and ip.interface >= len(self.interfaces):
                raise InvalidParameter(
                    f"ips[{i}].interface: index {ip.interface} is past the {len(self.interfaces)} interface(s)"
                )


def _render_dns(dns: DNS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if dns.nameservers:
        out["nameservers"] = list(dns.nameservers)
    if dns.domain:
        out["domain"] = dns.domain
    if dns.search:
        out["search"] = list(dns.search)
    if dns.options:
        out["options"] = list(dns.options)
    return out


def render_result(result: Result, cni_version: str) -> dict[str, Any]:
    """The ADD result as the JSON of spec ``cni_version`` (one of :data:`SUPPORTED_VERSIONS`).

    Every version has ``cniVersion``, ``interfaces``, ``ips``, ``routes`` and ``dns`` (the spec's
    "must output ... the following keys"; empty lists and ``{}`` when there is nothing). 0.3.x and
    0.4.0 give each IP a ``version`` ("4"/"6"); 1.0.0 drops it; 1.1.0 adds the interface's ``mtu``,
    ``socketPath``, ``pciID`` and the route's ``mtu``, ``advmss``, ``priority``, ``table``,
    ``scope``. Optional fields appear only when set.
    """
    if cni_version not in SUPPORTED_VERSIONS:
        raise incompatible_version(cni_version, what="result version")
    legacy = not version_at_least(cni_version, "1.0.0")
    rich = version_at_least(cni_version, "1.1.0")
    interfaces = []
    for intf in result.interfaces:
        item: dict[str, Any] = {"name": intf.name}
        if intf.mac:
            item["mac"] = intf.mac
        if rich and intf.mtu:
            item["mtu"] = intf.mtu
        if intf.sandbox:
            item["sandbox"] = intf.sandbox
        if rich and intf.socket_path:
            item["socketPath"] = intf.socket_path
        if rich and intf.pci_id:
            item["pciID"] = intf.pci_id
        interfaces.append(item)
    ips = []
    for ip in result.ips:
        entry: dict[str, Any] = {"version": ip.version} if legacy else {}
        entry["address"] = str(ip.address)
        if ip.gateway is not None:
            entry["gateway"] = str(ip.gateway)
        if ip.interface is not None:
            entry["interface"] = ip.interface
        ips.append(entry)
    routes = []
    for route in result.routes:
        rt: dict[str, Any] = {"dst": str(route.dst)}
        if route.gw is not None:
            rt["gw"] = str(route.gw)
        if rich:
            for key in ("mtu", "advmss", "priority", "table", "scope"):
                value = getattr(route, key)
                if value is not None:
                    rt[key] = value
        routes.append(rt)
    return {
        "cniVersion": cni_version,
        "interfaces": interfaces,
        "ips": ips,
        "routes": routes,
        "dns": _render_dns(result.dns),
    }


# -- reading a result (a prevResult) in any version


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid_config(where, f"expected an object, not {_show(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid_config(where, f"expected a list, not {_show(value)}")
    return value


def _build(kind: type, where: str, **kwargs: Any) -> Any:
    """``kind(**kwargs)``, its validation failure turned into code 7 naming ``where``."""
    try:
        return kind(**kwargs)
    except InvalidParameter as exc:
        raise _invalid_config(where, exc.message) from None


def _route(raw: Any, where: str) -> Route:
    raw = _obj(raw, where)
    return _build(
        Route,
        where,
        dst=raw.get("dst"),
        gw=raw.get("gw"),
        mtu=raw.get("mtu"),
        advmss=raw.get("advmss"),
        priority=raw.get("priority"),
        table=raw.get("table"),
        scope=raw.get("scope"),
    )


def _dns(raw: Any, where: str) -> DNS:
    if raw is None:
        return DNS()
    raw = _obj(raw, where)
    return _build(
        DNS,
        where,
        nameservers=raw.get("nameservers"),
        domain=raw.get("domain"),
        search=raw.get("search"),
        options=raw.get("options"),
    )


def _result_020(raw: Mapping[str, Any], where: str) -> Result:
    """0.1.0/0.2.0: at most one ``ip4`` and one ``ip6``, each with its routes."""
    ips, routes = [], []
    for key, family in (("ip4", 4), ("ip6", 6)):
        block = raw.get(key)
        if block is None:
            continue
        block = _obj(block, f"{where}.{key}")
        ip = _build(IPConfig, f"{where}.{key}", address=block.get("ip"), gateway=block.get("gateway"))
        if ip.address.version != family:
            raise _invalid_config(f"{where}.{key}.ip", f"{ip.address} is not an IPv{family} address")
        ips.append(ip)
        listed = _list(block.get("routes"), f"{where}.{key}.routes")
        routes += [_route(r, f"{where}.{key}.routes[{i}]") for i, r in enumerate(listed)]
    return _build(Result, where, ips=ips, routes=routes, dns=_dns(raw.get("dns"), f"{where}.dns"))


def _result_rich(raw: Mapping[str, Any], where: str, *, legacy: bool) -> Result:
    """0.3.0 to 1.1.0: interfaces, ips (with ``version`` before 1.0.0), routes, dns."""
    interfaces = []
    for i, given in enumerate(_list(raw.get("interfaces"), f"{where}.interfaces")):
        at = f"{where}.interfaces[{i}]"
        item = _obj(given, at)
        interfaces.append(
            _build(
                Interface,
                at,
                name=item.get("name"),
                mac=item.get("mac"),
                sandbox=item.get("sandbox"),
                mtu=item.get("mtu"),
                socket_path=item.get("socketPath"),
                pci_id=item.get("pciID"),
            )
        )
    ips = []
    for i, given in enumerate(_list(raw.get("ips"), f"{where}.ips")):
        at = f"{where}.ips[{i}]"
        item = _obj(given, at)
        ip = _build(
            IPConfig, at, address=item.get("address"), gateway=item.get("gateway"), interface=item.get("interface")
        )
        # 0.4.0: "All IP addresses and gateways provided must be valid for the given version"
        declared = item.get("version") if legacy else None
        if declared not in (None, "") and declared != ip.version:
            raise _invalid_config(f"{at}.version", f"{_show(declared)} but the address is {ip.address}")
        ips.append(ip)
    routes = [_route(r, f"{where}.routes[{i}]") for i, r in enumerate(_list(raw.get("routes"), f"{where}.routes"))]
    return _build(
        Result, where, interfaces=interfaces, ips=ips, routes=routes, dns=_dns(raw.get("dns"), f"{where}.dns")
    )


def parse_result(raw: Any, *, cni_version: str | None = None, where: str = "prevResult") -> tuple[str, Result]:
    """Read a result in whatever version it says it is in; return ``(its version, Result)``.

    A result without ``cniVersion`` is taken to be in ``cni_version`` (libcni's rule for a
    prevResult). A version pycnm cannot read is code 1; a malformed field is code 7 naming it
    (``prevResult.ips[0].address``).
    """
    raw = _obj(raw, where)
    version = raw.get("cniVersion") or cni_version
    if not isinstance(version, str) or version not in RESULT_VERSIONS:
        raise CNIError(
            ErrorCode.INCOMPATIBLE_VERSION,
            "incompatible CNI versions",
            f"{where} is version {_show(version)}; pycnm converts results of versions {', '.join(RESULT_VERSIONS)}",
        )
    if not version_at_least(version, "0.3.0"):
        return version, _result_020(raw, where)
    return version, _result_rich(raw, where, legacy=not version_at_least(version, "1.0.0"))


def convert_result(raw: Any, to_version: str, *, from_version: str | None = None) -> dict[str, Any]:
    """A result from one version to another, as libcni's ``convert`` does: up from 0.1.0 to 1.1.0,
    down from 1.1.0 to 0.3.0 (fields the older version lacks are dropped). ``from_version`` is
    the version to assume when the result names none."""
    _version, result = parse_result(raw, cni_version=from_version or to_version)
    return render_result(result, to_version)


# ---- requests ------------------------------------------------------------------------------------


@frozen
class CNIRequest:
    """One plugin invocation, checked: what ``pycnm-cni`` forwarded, typed.

    ``config`` is the whole network configuration as decoded from stdin; the typed fields are
    read from it. For GC, ``gc_attachments`` is None when the runtime sent no list (which is not
    the same as an empty list: that one says no attachment is valid any more).
    """

    command: Command
    cni_version: str
    network_name: str | None = None
    container_id: str | None = None
    netns: str | None = None
    ifname: str | None = None
    args: Mapping[str, str] = field(factory=dict)
    path: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(factory=dict)
    plugin_type: str | None = None
    capabilities: Mapping[str, bool] = field(factory=dict)
    runtime_config: RuntimeConfig = field(factory=RuntimeConfig)
    prev_result: Result | None = None
    prev_result_version: str | None = None
    requested_ips: tuple[RequestedIP, ...] = ()
    requested_mac: str | None = None
    config_ips: tuple[RequestedIP, ...] = ()
    gc_attachments: tuple[GCAttachment, ...] | None = None
    pycnm: PycnmOptions = field(factory=PycnmOptions)

    @property
    def attachment(self) -> tuple[str, str] | None:
        """``(container_id, ifname)``: the spec's key of an attachment (ADD, DEL, CHECK)."""
        if self.container_id is None or self.ifname is None:
            return None
        return self.container_id, self.ifname

    def static_ips(self) -> tuple[RequestedIP, ...]:
        """The addresses asked for, by CONVENTIONS.md's precedence: the ``ips`` capability, else
        ``args.cni.ips`` in the config, else ``IP=`` in CNI_ARGS (which "must" then be ignored)."""
        return self.runtime_config.ips or self.config_ips or self.requested_ips

    def static_mac(self) -> str | None:
        """The MAC asked for: the ``mac`` capability, else ``MAC=`` in CNI_ARGS."""
        return self.runtime_config.mac or self.requested_mac

    def render(self, result: Result) -> dict[str, Any]:
        """``result`` in this request's version: what the daemon answers an ADD with."""
        return render_result(result, self.cni_version)


def _decode_stdin(stdin: str | bytes) -> Any:
    if isinstance(stdin, (bytes, bytearray)):
        try:
            stdin = bytes(stdin).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CNIError(
                ErrorCode.DECODING_FAILURE, "failed to decode content: stdin is not UTF-8 text", str(exc)
            ) from None
    try:
        return json.loads(stdin, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise CNIError(
            ErrorCode.DECODING_FAILURE,
            "failed to decode content: the network configuration on stdin is not JSON",
            str(exc) or type(exc).__name__,
        ) from None


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity; JSON (and libcni's decoder) does not
    raise ValueError(f"{name} is not JSON")


def _env_text(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    return value if isinstance(value, str) else ""


def _command(env: Mapping[str, str]) -> Command:
    text = _env_text(env, "CNI_COMMAND")
    if not text:
        raise _invalid_env("CNI_COMMAND", "is missing", "set CNI_COMMAND to ADD, DEL, CHECK, GC, STATUS or VERSION")
    try:
        return Command(text)
    except ValueError:
        raise _invalid_env(
            "CNI_COMMAND", f"is unknown: {_show(text)}", "CNI_COMMAND is one of ADD, DEL, CHECK, GC, STATUS, VERSION"
        ) from None


def _check_version(config: Mapping[str, Any], command: Command) -> str:
    version = config.get("cniVersion")
    if version is None or version == "":
        version = "0.1.0"  # libcni: a config that names no version is 0.1.0
    if not isinstance(version, str):
        raise CNIError(
            ErrorCode.DECODING_FAILURE,
            "failed to decode content: cniVersion is not a string",
            f"cniVersion is {_show(version)}",
        )
    if version not in SUPPORTED_VERSIONS:
        raise incompatible_version(version)
    since = COMMAND_SINCE.get(command)
    if since and not version_at_least(version, since):
        raise CNIError(
            ErrorCode.INCOMPATIBLE_VERSION,
            f"config version does not allow {command.value}",
            f"{command.value} exists from CNI {since}; the config is {version}",
        )
    return version


def _requested_ips_from_args(value: str) -> tuple[RequestedIP, ...]:
    # host-local reads a comma-separated list in IP=; podman sends one address
    out = []
    for part in value.split(","):
        try:
            out.append(parse_requested_ip(part.strip()))
        except InvalidParameter as exc:
            raise _invalid_env("CNI_ARGS", f"has a bad IP: {_show(value)}", exc.message) from None
    return tuple(out)


def _netns(value: str) -> str | None:
    if not value:
        return None
    # Decision: the daemon resolves the path in its own mount namespace and cwd, so a relative
    # path (or a VM's identifier) cannot mean what the runtime meant
    if not value.startswith("/"):
        raise _invalid_env(
            "CNI_NETNS",
            f"is not an absolute path: {_show(value)}",
            "CNI_NETNS is the path of the network namespace, like /run/netns/<name>",
        )
    return value


def _runtime_config(raw: Any, network_name: str) -> RuntimeConfig:
    where = "runtimeConfig"
    if raw is None:
        return RuntimeConfig()
    raw = _obj(raw, where)
    known = {"ips", "mac", "portMappings", "dns", "aliases", "bandwidth"}
    fields: dict[str, Any] = {"extra": {k: v for k, v in raw.items() if k not in known}}

    ips = []
    for i, item in enumerate(_list(raw.get("ips"), f"{where}.ips")):
        try:
            ips.append(parse_requested_ip(item))
        except InvalidParameter as exc:
            raise _invalid_config(f"{where}.ips[{i}]", exc.message) from None
    fields["ips"] = tuple(ips)

    if raw.get("mac") not in (None, ""):
        try:
            fields["mac"] = validate.mac(raw["mac"])
        except InvalidParameter as exc:
            raise _invalid_config(f"{where}.mac", exc.message) from None

    mappings = []
    for i, given in enumerate(_list(raw.get("portMappings"), f"{where}.portMappings")):
        at = f"{where}.portMappings[{i}]"
        item = _obj(given, at)
        mappings.append(
            _build(
                PortMapping,
                at,
                host_port=item.get("hostPort"),
                container_port=item.get("containerPort"),
                protocol="tcp" if item.get("protocol") in (None, "") else item["protocol"],
                host_ip=item.get("hostIP"),
            )
        )
    fields["port_mappings"] = tuple(mappings)

    if raw.get("dns") is not None:
        dns = _obj(raw["dns"], f"{where}.dns")
        checks = {"servers": validate.dns_server, "searches": validate.dns_search, "options": validate.dns_option}
        parsed: dict[str, tuple[str, ...]] = {}
        for key, check in checks.items():
            items = []
            for i, item in enumerate(_list(dns.get(key), f"{where}.dns.{key}")):
                try:
                    items.append(check(item))
                except InvalidParameter as exc:
                    raise _invalid_config(f"{where}.dns.{key}[{i}]", exc.message) from None
            parsed[key] = tuple(items)
        fields["dns"] = DNSRequest(**parsed)

    aliases = raw.get("aliases")
    if isinstance(aliases, Mapping):
        # podman 4.3 sends {network name: [aliases]} (for the dnsname plugin); CONVENTIONS.md a list
        where_aliases = f"{where}.aliases.{network_name}"
        aliases = aliases.get(network_name)
    else:
        where_aliases = f"{where}.aliases"
    names = []
    for i, item in enumerate(_list(aliases, where_aliases)):
        try:
            names.append(validate.alias(item))
        except InvalidParameter as exc:
            raise _invalid_config(f"{where_aliases}[{i}]", exc.message) from None
    fields["aliases"] = tuple(names)

    if raw.get("bandwidth") is not None:
        bw = _obj(raw["bandwidth"], f"{where}.bandwidth")
        fields["bandwidth"] = _build(
            Bandwidth,
            f"{where}.bandwidth",
            **{
                attr: bw.get(key, 0)
                for key, attr in (
                    ("ingressRate", "ingress_rate"),
                    ("ingressBurst", "ingress_burst"),
                    ("egressRate", "egress_rate"),
                    ("egressBurst", "egress_burst"),
                )
            },
        )
    return RuntimeConfig(**fields)


def _pycnm_options(raw: Any) -> PycnmOptions:
    if raw is None:
        return PycnmOptions()
    raw = _obj(raw, "pycnm")
    for key, value in raw.items():
        # our own section: a typo must not be ignored (the client would silently use defaults)
        if key not in PYCNM_KEYS:
            raise CNIError(
                ErrorCode.UNSUPPORTED_FIELD,
                f"unsupported field in network config: pycnm.{key}={_show(value)}",
                f"the pycnm section takes {', '.join(PYCNM_KEYS)}",
            )
    values: dict[str, Any] = {}
    for key in ("socket", "stateDir"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise _invalid_config(f"pycnm.{key}", f"expected a path, not {_show(value)}")
        path = value[len("unix://") :] if key == "socket" and value.startswith("unix://") else value
        if not path.startswith("/"):
            raise _invalid_config(f"pycnm.{key}", f"{_show(value)} is not an absolute path")
        values[PYCNM_KEYS[key]] = path
    timeout = raw.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
            raise _invalid_config("pycnm.timeout", f"{_show(timeout)} is not a number of seconds from 0 to 3600")
        values["timeout"] = float(timeout)
    return PycnmOptions(**values)


def _gc_attachments(config: Mapping[str, Any]) -> tuple[GCAttachment, ...] | None:
    for key in ("cni.dev/attachments", "cni.dev/valid-attachments"):
        if key in config:
            break
    else:
        return None
    out = []
    for i, given in enumerate(_list(config[key], key)):
        at = f"{key}[{i}]"
        item = _obj(given, at)
        cid, ifname = item.get("containerID"), item.get("ifname")
        if not isinstance(cid, str) or not _NAME_RE.fullmatch(cid):
            raise _invalid_config(f"{at}.containerID", f"{_show(cid)} is not a container ID")
        if not isinstance(ifname, str) or not ifname:
            raise _invalid_config(f"{at}.ifname", f"{_show(ifname)} is not an interface name")
        out.append(GCAttachment(cid, ifname))
    return tuple(out)


def _capabilities(raw: Any) -> dict[str, bool]:
    if raw is None:
        return {}
    raw = _obj(raw, "capabilities")
    for key, value in raw.items():
        if not isinstance(value, bool):
            raise _invalid_config(f"capabilities.{key}", f"expected true or false, not {_show(value)}")
    return dict(raw)


def _config_ips(config: Mapping[str, Any]) -> tuple[RequestedIP, ...]:
    args = config.get("args")
    if args is None:
        return ()
    args = _obj(args, "args")
    cni = args.get("cni")
    if not isinstance(cni, Mapping):
        return ()  # args are optional metadata (CONVENTIONS.md): what pycnm does not read is ignored
    out = []
    for i, item in enumerate(_list(cni.get("ips"), "args.cni.ips")):
        try:
            out.append(parse_requested_ip(item))
        except InvalidParameter as exc:
            raise _invalid_config(f"args.cni.ips[{i}]", exc.message) from None
    return tuple(out)


def parse_request(env: Mapping[str, str], stdin: str | bytes) -> CNIRequest:
    """Check one invocation as the spec says and return it typed; else raise :class:`CNIError`.

    ``env`` holds the ``CNI_*`` variables (others are ignored), ``stdin`` the network
    configuration text. Checks, in skel's order: ``CNI_COMMAND`` known (4); the command's required
    variables non-empty (4, all missing ones named); stdin JSON (6) and an object (6); ``name``
    (6 if not a string, 7 if missing or invalid); ``CNI_CONTAINERID`` (4); ``CNI_IFNAME`` (4);
    ``cniVersion`` supported and new enough for the command (1). Then what skel leaves to the
    plugin: ``CNI_NETNS`` absolute (4), ``CNI_ARGS`` and its ``IP``/``MAC`` (4), ``type``,
    ``capabilities``, ``runtimeConfig``, ``args``, GC's attachments (7 naming the field),
    ``prevResult`` (1 if its version cannot be converted, 7 if malformed), the ``pycnm`` section
    (2 for an unknown key, 7 for a bad value).

    VERSION is lenient, as skel is: any stdin, and ``cni_version`` is the config's or the latest.
    """
    command = _command(env)
    if command is Command.VERSION:
        return _version_request(stdin)

    missing = [name for name in REQUIRED_ENV[command] if not _env_text(env, name)]
    if missing:
        need = ", ".join(REQUIRED_ENV[command])
        raise _invalid_env(
            ", ".join(missing),
            "missing" if len(missing) > 1 else "is missing",
            f"{command.value} needs {need} set and non-empty",
        )

    config = _decode_stdin(stdin)
    if not isinstance(config, dict):
        raise CNIError(
            ErrorCode.DECODING_FAILURE,
            "failed to decode content: the network configuration is not a JSON object",
            f"stdin holds {type(config).__name__ if config is not None else 'null'}",
        )
    network_name = validate_network_name(config.get("name"))

    container_id = ifname = None
    if command in ATTACHMENT_COMMANDS:
        container_id = validate_container_id(_env_text(env, "CNI_CONTAINERID"))
        ifname = validate_ifname(_env_text(env, "CNI_IFNAME"))
    version = _check_version(config, command)

    netns = _netns(_env_text(env, "CNI_NETNS"))
    args = parse_cni_args(_env_text(env, "CNI_ARGS"))
    requested_ips = _requested_ips_from_args(args["IP"]) if args.get("IP") else ()
    requested_mac = None
    if args.get("MAC"):
        try:
            requested_mac = validate.mac(args["MAC"])
        except InvalidParameter as exc:
            raise _invalid_env("CNI_ARGS", f"has a bad MAC: {_show(args['MAC'])}", exc.message) from None
    path = tuple(p for p in _env_text(env, "CNI_PATH").split(":") if p)

    plugin_type = config.get("type")
    if plugin_type is not None and (
        not isinstance(plugin_type, str) or not plugin_type or "/" in plugin_type or "\\" in plugin_type
    ):
        raise _invalid_config(
            "type",
            f"{_show(plugin_type)} is not a plugin name",
            "type names the plugin executable, without '/' or '\\'",
        )

    prev_result = prev_version = None
    if config.get("prevResult") is not None:
        prev_version, prev_result = parse_result(config["prevResult"], cni_version=version)

    return CNIRequest(
        command=command,
        cni_version=version,
        network_name=network_name,
        container_id=container_id,
        netns=netns,
        ifname=ifname,
        args=args,
        path=path,
        config=config,
        plugin_type=plugin_type,
        capabilities=_capabilities(config.get("capabilities")),
        runtime_config=_runtime_config(config.get("runtimeConfig"), network_name),
        prev_result=prev_result,
        prev_result_version=prev_version,
        requested_ips=requested_ips,
        requested_mac=requested_mac,
        config_ips=_config_ips(config),
        gc_attachments=_gc_attachments(config) if command is Command.GC else None,
        pycnm=_pycnm_options(config.get("pycnm")),
    )


def _version_request(stdin: str | bytes) -> CNIRequest:
    try:
        config = _decode_stdin(stdin)
    except CNIError:
        config = None
    version = config.get("cniVersion") if isinstance(config, dict) else None
    if not isinstance(version, str) or not version:
        version = LATEST_VERSION
    return CNIRequest(command=Command.VERSION, cni_version=version, config=config if isinstance(config, dict) else {})


def version_result(cni_version: str = LATEST_VERSION) -> dict[str, Any]:
    """VERSION's answer: the version asked in, and every version pycnm speaks."""
    return {"cniVersion": cni_version, "supportedVersions": list(SUPPORTED_VERSIONS)}


# ---- the client <-> daemon wire ------------------------------------------------------------------

#: the route ``pycnm-cni`` POSTs to on the daemon's unix socket
WIRE_PATH = "/pycnm/v1/cni"
#: where DEL and GC requests wait, under the state directory, while the daemon is down
QUEUE_DIR = "cni/queue"


def request_from_wire(body: bytes | str | Mapping[str, Any]) -> CNIRequest:
    """:func:`parse_request` of the client's body ``{"env": {...}, "stdin": "..."}`` (a queued
    request has the same shape, plus a ``"queued"`` object that is ignored here). A body of
    another shape is code 6."""
    if not isinstance(body, Mapping):
        try:
            body = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError, TypeError) as exc:
            raise CNIError(
                ErrorCode.DECODING_FAILURE, "failed to decode content: the request body is not JSON", str(exc)
            ) from None
    env, stdin = (body.get("env"), body.get("stdin")) if isinstance(body, Mapping) else (None, None)
    if (
        not isinstance(env, Mapping)
        or not isinstance(stdin, str)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise CNIError(
            ErrorCode.DECODING_FAILURE,
            'failed to decode content: the request body is not {"env": {name: value}, "stdin": text}',
            "is pycnm-cni the same version as the daemon?",
        )
    return parse_request(env, stdin)


def ok_response(result: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The daemon's answer to a request that succeeded: ``result`` is what the client prints
    (None or nothing for DEL, CHECK, GC and STATUS, which print nothing)."""
    return {"ok": True, "result": dict(result) if result is not None else None}


def error_response(error: CNIError) -> dict[str, Any]:
    """The daemon's answer to a request that failed; the client adds ``cniVersion``."""
    out: dict[str, Any] = {"code": error.code, "msg": error.msg}
    if error.details:
        out["details"] = error.details
    return {"ok": False, "error": out}


# ---- the conflist pycnm installs -----------------------------------------------------------------

#: the capabilities pycnm-cni can declare, and the ones it declares unless told otherwise
CAPABILITIES: tuple[str, ...] = ("portMappings", "ips", "mac", "aliases", "dns", "bandwidth")
DEFAULT_CAPABILITIES: tuple[str, ...] = ("portMappings", "ips", "mac", "aliases")

#: Debian's plugins (containernetworking-plugins) pycnm-cni can be chained with, as configured
#: when named alone
CHAINABLE: Mapping[str, Mapping[str, Any]] = {
    "portmap": {"type": "portmap", "capabilities": {"portMappings": True}},
    "tuning": {"type": "tuning"},
    "bandwidth": {"type": "bandwidth", "capabilities": {"bandwidth": True}},
    "firewall": {"type": "firewall"},
}

#: the plugin type the conflist names: the executable's name in the runtime's CNI path
PLUGIN_TYPE = "pycnm-cni"


def conflist(
    network_name: str,
    *,
    cni_version: str = "1.0.0",
    socket: str | None = None,
    state_dir: str | None = None,
    capabilities: Iterable[str] | None = None,
    chain: Iterable[str | Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The network configuration list for pycnm network ``network_name``, as a JSON-ready dict.

    ``plugins[0]`` is pycnm-cni with its ``capabilities`` and a ``pycnm`` section when ``socket``
    or ``state_dir`` are not the defaults; ``chain`` adds plugins after it, by name (one of
    :data:`CHAINABLE`) or as a whole plugin object. ``capabilities`` None means
    :data:`DEFAULT_CAPABILITIES` less those a chained plugin declares; given explicitly, a
    capability both pycnm-cni and a chained plugin declare is an error (the runtime would hand
    it to both, and both would act on it: two sets of port forwards).

    ``cni_version`` defaults to 1.0.0, the newest Debian 12's libcni (1.1.2) and plugins (1.1.1)
    speak; 1.1.0 needs a newer libcni for GC and STATUS, and newer plugins in the chain.
    Raises :class:`~pycnm.errors.InvalidParameter` saying what to change.
    """
    if not isinstance(network_name, str) or not _NAME_RE.fullmatch(network_name):
        raise InvalidParameter(
            f"invalid CNI network name {network_name!r}: it starts with a letter or digit,"
            " followed by letters, digits, '_', '.' or '-'"
        )
    if cni_version not in SUPPORTED_VERSIONS:
        raise InvalidParameter(f"invalid cniVersion {cni_version!r}: use one of {', '.join(SUPPORTED_VERSIONS)}")
    for name, path in (("socket", socket), ("state_dir", state_dir)):
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise InvalidParameter(f"invalid {name} {path!r}: give an absolute path")

    chained: list[dict[str, Any]] = []
    for item in chain:
        if isinstance(item, str):
            if item not in CHAINABLE:
                raise InvalidParameter(
                    f"unknown chained plugin {item!r}: name one of {', '.join(CHAINABLE)},"
                    " or give the plugin's whole configuration object"
                )
            plugin = json.loads(json.dumps(CHAINABLE[item]))
        elif isinstance(item, Mapping) and isinstance(item.get("type"), str) and item["type"]:
            plugin = json.loads(json.dumps(dict(item)))
        else:
            raise InvalidParameter(f"invalid chained plugin {item!r}: a name or an object with a 'type'")
        if plugin["type"] == PLUGIN_TYPE or any(p["type"] == plugin["type"] for p in chained):
            raise InvalidParameter(f"plugin {plugin['type']!r} is in the chain twice")
        chained.append(plugin)
    claimed = {cap: p["type"] for p in chained for cap, on in (p.get("capabilities") or {}).items() if on}

    if capabilities is None:
        declared = [c for c in DEFAULT_CAPABILITIES if c not in claimed]
    else:
        declared = list(dict.fromkeys(capabilities))
        for cap in declared:
            if cap not in CAPABILITIES:
                raise InvalidParameter(f"unknown capability {cap!r}: pycnm-cni declares {', '.join(CAPABILITIES)}")
            if cap in claimed:
                raise InvalidParameter(
                    f"capability {cap!r} is declared by both pycnm-cni and {claimed[cap]}:"
                    f" leave it out of capabilities, or {claimed[cap]} out of the chain"
                )

    first: dict[str, Any] = {"type": PLUGIN_TYPE}
    if declared:
        first["capabilities"] = dict.fromkeys(declared, True)
    section = {key: value for key, value in (("socket", socket), ("stateDir", state_dir)) if value is not None}
    if section:
        first["pycnm"] = section
    return {"cniVersion": cni_version, "name": network_name, "plugins": [first, *chained]}


__all__ = [
    "ATTACHMENT_COMMANDS",
    "CAPABILITIES",
    "CHAINABLE",
    "COMMAND_SINCE",
    "DEFAULT_CAPABILITIES",
    "DNS",
    "IFNAME_MAX_BYTES",
    "LATEST_VERSION",
    "PLUGIN_TYPE",
    "PYCNM_KEYS",
    "QUEUE_DIR",
    "REQUIRED_ENV",
    "RESULT_VERSIONS",
    "SUPPORTED_VERSIONS",
    "WIRE_PATH",
    "Bandwidth",
    "CNIError",
    "CNIRequest",
    "Command",
    "DNSRequest",
    "ErrorCode",
    "GCAttachment",
    "IPConfig",
    "Interface",
    "PortMapping",
    "PycnmOptions",
    "RequestedIP",
    "Result",
    "Route",
    "RuntimeConfig",
    "conflist",
    "convert_result",
    "error_response",
    "incompatible_version",
    "ok_response",
    "parse_cni_args",
    "parse_request",
    "parse_requested_ip",
    "parse_result",
    "render_result",
    "request_from_wire",
    "validate_container_id",
    "validate_ifname",
    "validate_network_name",
    "version_at_least",
    "version_result",
]
