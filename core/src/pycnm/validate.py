"""The values a hosting application hands pycnm, checked before any reaches a file, the store or the wire.

One function per kind of value. Each returns the value normalised (validating the result again
returns it unchanged) or raises :class:`~pycnm.errors.InvalidParameter` with a message that names
the field, shows the value, says the rule and what to do.

The rules are Docker's where Docker has one (moby's ``opts`` validators and its container-name
pattern, the daemon's RFC 1123 hostname check) and the C libraries' where the value ends up in a
file they read (glibc's and musl's ``resolv.conf`` options). A value that reaches a file line
(``hosts``, ``resolv.conf``) can never hold whitespace or a control character once accepted: one
stray newline would be a second line, and a second line is a nameserver or a hosts entry of the
caller's choosing.

Decisions where Docker has no rule:

- every name (network, sandbox, endpoint) is at most :data:`NAME_MAX` characters;
- an extra host is exactly one name and one address (several names: several entries); Docker's
  ``host-gateway`` placeholder is refused, pycnm has no host address to put in its place;
- a DNS server may be a link-local IPv6 address with a zone (``fe80::1%eth0``): glibc and musl
  both read zones in ``nameserver`` lines, and a link-local resolver needs one; a hosts-file
  address may not (glibc's hosts parser reads no zone);
- an alias may hold ``_``: it is a name the embedded DNS answers (Compose's service and container
  names often have one), not a hostname;
- labels never reach a file, so their values are any text without NUL.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidParameter

# ---- limits --------------------------------------------------------------------------------------

#: networks, sandboxes, endpoints: twice a 64-character Docker ID, room for any generated name; a
#: longer "name" is data that belongs in a label (and names are store keys and table columns)
NAME_MAX = 128
#: one DNS label (RFC 1035: its length octet keeps six bits for the length)
DNS_LABEL_MAX = 63
#: a whole DNS name in text form, without the trailing dot (RFC 1035's 255 octets on the wire)
DNS_NAME_MAX = 253
#: the kernel's HOST_NAME_MAX: sethostname() refuses a longer name inside the sandbox
HOST_NAME_MAX = 64
#: a Linux interface name (IFNAMSIZ 16 with its NUL), the zone of a scoped IPv6 address
IFNAME_MAX = 15
#: a label or driver option key: a reverse-DNS key (253) fits; anything longer is a value misplaced
KEY_MAX = 256
#: a label or driver option value: ample for a description or a small JSON blob, bounded so one
#: value cannot bloat every record and every inspect answer that carries it
VALUE_MAX = 4096
#: nesting of driver option maps (``com.docker.network.generic`` holds a map of its own)
OPTION_DEPTH_MAX = 4

NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_ALIAS_CHARS = _HOST_CHARS | {"_"}
_ZONE_RE = re.compile(r"[a-zA-Z0-9_.-]{1,15}")
_HEX_PAIRS_RE = re.compile(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}")
_DOTTED_MAC_RE = re.compile(r"[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}")
_DIGITS_RE = re.compile(r"[0-9]{1,6}")

#: resolv.conf options with a number, and the range that means what it says: glibc clamps larger
#: values silently (ndots 15, timeout 30 s, attempts 5), and 0 attempts or a 0 s timeout would
#: make every lookup fail at once
DNS_NUMERIC_OPTIONS: dict[str, tuple[int, int]] = {"ndots": (0, 15), "timeout": (1, 30), "attempts": (1, 5)}
#: resolv.conf options without a value that glibc (resolv.conf(5)) or musl reads
DNS_FLAG_OPTIONS = frozenset(
    {
        "debug",
        "rotate",
        "no-check-names",
        "inet6",
        "edns0",
        "single-request",
        "single-request-reopen",
        "no-tld-query",
        "use-vc",
        "no-reload",
        "trust-ad",
        "no-aaaa",
    }
)

_CHAR_NAMES = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    "\x00": "a NUL",
    " ": "a space",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
}


# ---- message helpers -----------------------------------------------------------------------------


def _show(value: Any) -> str:
    """The value's repr, cut short: a megabyte of input must not become a megabyte of message."""
    text = repr(value)
    if len(text) <= 80:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[:64]}...{size}"


def _a(word: str) -> str:
    """The word with its indefinite article ("an int", "a str")."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _fail(field: str, value: Any, rule: str, todo: str) -> InvalidParameter:
    return InvalidParameter(f"invalid {field} {_show(value)}: {rule}; {todo}")


def _describe(text: str, index: int) -> str:
    ch = text[index]
    name = _CHAR_NAMES.get(ch)
    if name is None:
        name = repr(ch) if ch.isprintable() else "an unprintable character"
    return f"{name} (U+{ord(ch):04X}) at position {index}"


def _text(field: str, value: Any, example: str) -> str:
    """``value`` when it is a non-empty str; else the error that says what to pass instead."""
    if isinstance(value, str):
        if not value.strip():
            raise InvalidParameter(
                f"invalid {field} {value!r}: it is empty, and {_a(field)} is required; give one, like {example}"
            )
        return value
    if value is None:
        raise InvalidParameter(f"invalid {field} None: {_a(field)} is required; give one, like {example}")
    if isinstance(value, (bytes, bytearray)):
        raise _fail(field, value, "it is bytes, not text", f"decode it first; {_a(field)} looks like {example}")
    raise _fail(field, value, f"it is {_a(type(value).__name__)}, not a string", f"pass text, like {example}")


def _first_outside(text: str, allowed: frozenset[str]) -> int | None:
    for i, ch in enumerate(text):
        if ch not in allowed:
            return i
    return None


def _first_unsafe(text: str, *, spaces: bool) -> int | None:
    """The first control, format, surrogate, private-use or unassigned character (and, unless
    ``spaces``, the first whitespace or separator): what no key, and no file line, may hold."""
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category[0] == "C" or (not spaces and (category[0] == "Z" or ch.isspace())):
            return i
    return None


def _is_dotted_quad(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _dns_name(
    field: str,
    value: Any,
    *,
    chars: frozenset[str],
    total: int,
    example: str,
    what: str = "labels of letters, digits and '-', separated by '.'",
) -> str:
    """A DNS name: ``chars`` only, labels of 1 to 63, no label starting or ending with '-'."""
    text = _text(field, value, example)
    bad = _first_outside(text, chars)
    if bad is not None:
        raise _fail(
            field,
            value,
            f"it contains {_describe(text, bad)}; {_a(field)} is {what}",
            f"remove that character ({_a(field)} looks like {example})",
        )
    if len(text) > total:
        raise _fail(field, value, f"it is {len(text)} characters long; {_a(field)} is at most {total}", "shorten it")
    for label in text.split("."):
        if not label:
            raise _fail(
                field,
                value,
                "it has an empty label (a leading, trailing or doubled '.')",
                f"remove the extra '.' ({_a(field)} looks like {example})",
            )
        if len(label) > DNS_LABEL_MAX:
            raise _fail(
                field,
                value,
                f"its label {label[:20]!r}... is {len(label)} characters long; a label is at most {DNS_LABEL_MAX}",
                "shorten the label",
            )
        if label[0] == "-" or label[-1] == "-":
            raise _fail(
                field,
                value,
                f"its label {label!r} starts or ends with '-'",
                "begin and end every label with a letter or digit",
            )
    if _is_dotted_quad(text):
        raise _fail(
            field, value, f"it is an IPv4 address; {_a(field)} is a name (RFC 1123)", "give a name, not an address"
        )
    return text


# ---- names ---------------------------------------------------------------------------------------


def name(kind: str, value: Any) -> str:
    """A network, sandbox or endpoint name (``kind`` says which, for the message).

    Docker's container-name pattern ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``, at most :data:`NAME_MAX`
    characters. Returned unchanged.
    """
    field = f"{kind} name"
    text = _text(field, value, "web-1")
    bad = _first_outside(text, _ALIAS_CHARS)
    if bad is not None:
        raise _fail(field, value, f"it contains {_describe(text, bad)}", "use letters, digits, '_', '.' and '-' only")
    if not NAME_RE.fullmatch(text):
        raise _fail(field, value, "it starts with '_', '.' or '-'", "start it with a letter or digit")
    if len(text) > NAME_MAX:
        raise _fail(
            field,
            value,
            f"it is {len(text)} characters long; a name is at most {NAME_MAX}",
            "shorten it (put longer data in a label)",
        )
    return text


def hostname(value: Any) -> str:
    """A sandbox's hostname: RFC 1123 (labels of letters, digits and '-', no label starting or
    ending with '-', each at most 63), at most 64 characters (the kernel's HOST_NAME_MAX), not
    an IPv4 address. Case is kept. Returned unchanged."""
    return _dns_name("hostname", value, chars=_HOST_CHARS, total=HOST_NAME_MAX, example="web-1")


def domainname(value: Any) -> str:
    """A sandbox's domain name: RFC 1123 labels as for :func:`hostname`, at most 253 characters,
    no trailing dot. Returned unchanged."""
    return _dns_name("domainname", value, chars=_HOST_CHARS, total=DNS_NAME_MAX, example="example.org")


def ifname(value: Any) -> str:
    """An interface name in a sandbox (``eth0``, CNI's ``CNI_IFNAME``): 1 to 15 bytes of letters,
    digits, '_', '.' and '-', not '.' nor '..' (the kernel's IFNAMSIZ and what ``ip`` accepts)."""
    field = "interface name"
    text = _text(field, value, "eth1")
    bad = _first_outside(text, _ALIAS_CHARS)
    if bad is not None:
        raise _fail(field, value, f"it contains {_describe(text, bad)}", "use letters, digits, '_', '.' and '-'")
    if text in (".", "..") or len(text.encode()) > IFNAME_MAX:
        raise _fail(
            field,
            value,
            f"an interface name has 1 to {IFNAME_MAX} bytes and is not '.' or '..'",
            "give a shorter one, like eth1",
        )
    return text


def alias(value: Any) -> str:
    """A network-scoped endpoint alias: a DNS name of letters, digits, '-' and '_' in labels of
    at most 63, at most 253 in all, no trailing dot. Returned unchanged."""
    return _dns_name(
        "alias",
        value,
        chars=_ALIAS_CHARS,
        total=DNS_NAME_MAX,
        example="db",
        what="labels of letters, digits, '-' and '_', separated by '.'",
    )


# ---- DNS configuration ---------------------------------------------------------------------------


def _ip(field: str, value: Any, *, zone: bool, example: str) -> str:
    """An IP address as text, surrounding whitespace trimmed (moby's ValidateIPAddress does so),
    in Python's canonical form; with ``zone``, a link-local IPv6 address may carry ``%ZONE``."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        value = str(value)
    text = _text(field, value, example).strip()
    bad = _first_unsafe(text, spaces=False)
    if bad is not None:
        raise _fail(field, value, f"it contains {_describe(text, bad)}", f"give only the address, like {example}")
    address_text, sep, zone_text = text.partition("%")
    if sep and not zone:
        raise _fail(
            field,
            value,
            "it has a zone ('%...'), which the hosts file cannot hold",
            "give the address without the zone",
        )
    try:
        parsed = ipaddress.ip_address(address_text)
    except ValueError:
        raise _fail(field, value, "it is not an IPv4 or IPv6 address", f"give an address like {example}") from None
    if not sep:
        return str(parsed)
    if parsed.version != 6 or not parsed.is_link_local:
        raise _fail(field, value, "only a link-local IPv6 address (fe80::/10) takes a zone", "remove the '%...' part")
    if not _ZONE_RE.fullmatch(zone_text):
        raise _fail(
            field,
            value,
            f"its zone {zone_text!r} is not an interface name or index"
            f" (1 to {IFNAME_MAX} letters, digits, '_', '.', '-')",
            "give the interface, like fe80::1%eth0",
        )
    return f"{parsed}%{zone_text}"


def dns_server(value: Any) -> str:
    """A ``nameserver``: an IPv4 or IPv6 address (``ipaddress`` objects too), surrounding
    whitespace trimmed, returned in canonical form (``2001:DB8::0:1`` -> ``2001:db8::1``).
    A link-local IPv6 address may carry its zone (``fe80::1%eth0``)."""
    return _ip("DNS server", value, zone=True, example="1.1.1.1")


def dns_search(value: Any) -> str:
    """A ``search`` domain, by moby's ValidateDNSSearch: surrounding spaces trimmed, ``.`` (no
    search domain) kept; else a domain with at least one letter, labels as RFC 1123, at most 253
    characters; one trailing dot is dropped (``example.com.`` -> ``example.com``)."""
    field = "DNS search domain"
    text = _text(field, value, "example.com")
    trimmed = text.strip(" ")
    if trimmed == ".":
        return "."
    if trimmed.endswith(".") and not trimmed.endswith(".."):
        trimmed = trimmed[:-1]
    if trimmed and _first_outside(trimmed, _HOST_CHARS) is None and not any(c.isalpha() for c in trimmed):
        raise _fail(
            field,
            value,
            "it has no letter; a search domain is a name, not a number",
            "give a domain like example.com, or '.' for none",
        )
    if not trimmed:
        raise _fail(field, value, "it is blank", "give a domain like example.com, or '.' for none")
    return _dns_name(field, trimmed, chars=_HOST_CHARS, total=DNS_NAME_MAX, example="example.com")


def dns_option(value: Any) -> str:
    """A resolv.conf ``options`` item glibc or musl knows: ``ndots:N`` (0-15), ``timeout:N``
    (1-30), ``attempts:N`` (1-5), or one of :data:`DNS_FLAG_OPTIONS`. Returned with the number
    in plain form (``ndots:02`` -> ``ndots:2``)."""
    field = "DNS option"
    text = _text(field, value, "ndots:2")
    known = ", ".join([f"{n}:N" for n in DNS_NUMERIC_OPTIONS] + sorted(DNS_FLAG_OPTIONS))
    bad = _first_unsafe(text, spaces=False)
    if bad is not None:
        raise _fail(
            field,
            value,
            f"it contains {_describe(text, bad)}; an option is one word",
            "give one option per item, like ndots:2",
        )
    key, sep, arg = text.partition(":")
    if key in DNS_NUMERIC_OPTIONS:
        low, high = DNS_NUMERIC_OPTIONS[key]
        if not sep or not _DIGITS_RE.fullmatch(arg):
            raise _fail(field, value, f"{key} takes a number, as {key}:N", f"give {key}:N with N from {low} to {high}")
        number = int(arg)
        if not low <= number <= high:
            raise _fail(
                field,
                value,
                f"{key} must be {low} to {high} (the C library clamps or ignores other values)",
                f"give {key}:N with N from {low} to {high}",
            )
        return f"{key}:{number}"
    if key in DNS_FLAG_OPTIONS:
        if sep:
            raise _fail(field, value, f"{key} takes no value", f"give {key} alone")
        return key
    raise _fail(field, value, "it is not a resolv.conf option glibc or musl knows", f"use one of: {known}")


# ---- hosts file ----------------------------------------------------------------------------------


def extra_host(host: Any, ip: Any) -> tuple[str, str]:
    """One extra hosts entry: one name (RFC 1123 labels, at most 253 characters) and one IPv4 or
    IPv6 address (brackets around IPv6 and surrounding whitespace are dropped; no zone). Several
    names for one address are several entries. Returns ``(name, address)`` normalised."""
    name_text = _dns_name("extra host name", host, chars=_HOST_CHARS, total=DNS_NAME_MAX, example="db.local")
    if isinstance(ip, str) and ip.strip() == "host-gateway":
        raise _fail(
            "extra host address",
            ip,
            "host-gateway is Docker's placeholder for the daemon's host address, which pycnm does not fill in",
            "give the address itself",
        )
    if isinstance(ip, str):
        stripped = ip.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            ip = stripped[1:-1]
    return name_text, _ip("extra host address", ip, zone=False, example="10.0.0.9")


# ---- MAC addresses -------------------------------------------------------------------------------


def mac(value: Any) -> str:
    """A 48-bit unicast, non-zero MAC: six hex pairs with ':' or '-' (``02-42-AC-11-00-02``) or
    three dotted quads (``0242.ac11.0002``), returned lowercase with ':' (``02:42:ac:11:00:02``)."""
    field = "MAC address"
    text = _text(field, value, "02:42:ac:11:00:02")
    if _HEX_PAIRS_RE.fullmatch(text):
        digits = text.replace(text[2], "")
    elif _DOTTED_MAC_RE.fullmatch(text):
        digits = text.replace(".", "")
    else:
        raise _fail(
            field, value, "expected six hex pairs like 02:42:ac:11:00:02 (48 bits)", "give the address in that form"
        )
    octets = bytes.fromhex(digits)
    if not any(octets):
        raise _fail(field, value, "it is all zeros", "give a real address, e.g. a locally administered 02:...")
    if octets[0] & 1:
        raise _fail(
            field,
            value,
            "it is a multicast or broadcast address (the first octet is odd)",
            "give a unicast address, e.g. a locally administered 02:...",
        )
    return ":".join(f"{o:02x}" for o in octets)


# ---- labels and driver options -------------------------------------------------------------------


def _key(field: str, value: Any, example: str) -> str:
    text = _text(field, value, example)
    bad = _first_unsafe(text, spaces=False)
    if bad is not None:
        raise _fail(
            field,
            value,
            f"it contains {_describe(text, bad)}; a key holds no whitespace or control character",
            "remove that character",
        )
    if "=" in text:
        raise _fail(
            field,
            value,
            "it contains '=', which separates a key from its value in key=value",
            "remove the '=' from the key",
        )
    if len(text) > KEY_MAX:
        raise _fail(field, value, f"it is {len(text)} characters long; a key is at most {KEY_MAX}", "shorten it")
    return text


def _surrogate(text: str) -> int | None:
    for i, ch in enumerate(text):
        if "\ud800" <= ch <= "\udfff":
            return i
    return None


def label(key: Any, value: Any) -> tuple[str, str]:
    """One label: a key of at most 256 characters with no whitespace, control character or '=',
    and a value of any text without NUL (labels reach JSON and the store, never a file), at most
    4096 characters. Returns ``(key, value)`` unchanged."""
    key_text = _key("label key", key, "com.example.team")
    field = f"value of label {key_text}"
    if not isinstance(value, str):
        raise _fail(field, value, f"it is {_a(type(value).__name__)}, not a string", "pass text ('' for none)")
    if "\x00" in value:
        raise _fail(field, value, f"it contains {_describe(value, value.index(chr(0)))}", "remove the NUL")
    bad = _surrogate(value)
    if bad is not None:
        raise _fail(
            field,
            value,
            f"it contains a lone surrogate (U+{ord(value[bad]):04X}), which is not encodable text",
            "pass properly decoded text",
        )
    if len(value) > VALUE_MAX:
        raise _fail(field, value, f"it is {len(value)} characters long; a value is at most {VALUE_MAX}", "shorten it")
    return key_text, value


def _pairs(field: str, values: Any) -> Iterable[tuple[Any, Any]]:
    """A mapping's items, or Docker's ``key=value`` strings (``key`` alone means an empty value)."""
    if values is None:
        return ()
    if isinstance(values, Mapping):
        return values.items()
    if isinstance(values, (str, bytes, bytearray)) or not isinstance(values, Iterable):
        raise _fail(
            field, values, f"it is {_a(type(values).__name__)}", "pass a mapping, or a list of key=value strings"
        )
    pairs = []
    for item in values:
        if not isinstance(item, str):
            raise _fail(field, item, f"an item is {_a(type(item).__name__)}", "pass key=value strings")
        key, _, value = item.partition("=")
        pairs.append((key, value))
    return pairs


def labels(mapping: Any) -> dict[str, str]:
    """Labels, each checked by :func:`label`: a mapping, a list of ``key=value`` strings, or None
    (no labels). Returns a new dict."""
    return dict(label(k, v) for k, v in _pairs("labels", mapping))


def driver_option_key(key: Any) -> str:
    """A driver option's key: at most 256 characters, no whitespace, control character or '='
    (keys reach the store and, for remote plugins, the wire). Returned unchanged."""
    return _key("driver option key", key, "com.docker.network.driver.mtu")


def driver_option_value(value: Any, *, key: str = "") -> Any:
    """A driver option's value: text of at most 4096 characters with no control character, a
    bool, a 64-bit integer, or a mapping of such options (``com.docker.network.generic``), at
    most 4 deep. ``key`` names the option in the message. Returned unchanged (a mapping as a new
    dict)."""
    return _option_value(value, key, 0)


def _option_value(value: Any, key: str, depth: int) -> Any:
    field = f"value of driver option {key}" if key else "driver option value"
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 64):
            raise _fail(field, value, "it does not fit in 64 bits", "give a smaller number")
        return value
    if isinstance(value, str):
        bad = _first_unsafe(value, spaces=True)
        if bad is not None:
            raise _fail(field, value, f"it contains {_describe(value, bad)}", "remove that character")
        if len(value) > VALUE_MAX:
            raise _fail(
                field, value, f"it is {len(value)} characters long; a value is at most {VALUE_MAX}", "shorten it"
            )
        return value
    if isinstance(value, Mapping):
        if depth >= OPTION_DEPTH_MAX:
            raise _fail(field, value, f"it nests more than {OPTION_DEPTH_MAX} maps deep", "flatten it")
        return {driver_option_key(k): _option_value(v, k, depth + 1) for k, v in value.items()}
    raise _fail(field, value, f"it is {_a(type(value).__name__)}", "pass text, a bool, an integer or a mapping")


def driver_options(mapping: Any) -> dict[str, Any]:
    """Driver options, each key by :func:`driver_option_key` and value by
    :func:`driver_option_value`: a mapping, a list of ``key=value`` strings, or None."""
    return {driver_option_key(k): driver_option_value(v, key=k) for k, v in _pairs("driver options", mapping)}


__all__ = [
    "DNS_FLAG_OPTIONS",
    "DNS_NUMERIC_OPTIONS",
    "HOST_NAME_MAX",
    "KEY_MAX",
    "NAME_MAX",
    "VALUE_MAX",
    "alias",
    "dns_option",
    "dns_search",
    "dns_server",
    "domainname",
    "driver_option_key",
    "driver_option_value",
    "driver_options",
    "extra_host",
    "hostname",
    "ifname",
    "label",
    "labels",
    "mac",
    "name",
]
