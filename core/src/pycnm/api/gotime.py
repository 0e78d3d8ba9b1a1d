"""Times as dockerd writes and reads them.

- Out: Go's ``time.Time`` in JSON is RFC 3339 with nanoseconds, trailing zeros of the fraction
  removed (a whole second has none), and a zone. Both docker CLIs refuse a time without a
  zone (``parsing time ...``): pycnm stores ``...+00:00`` and answers ``...Z``.
- In: ``until`` of prune filters is a Go duration (``1h30m``: that long ago), an RFC 3339
  date or time (local time when it has no zone), or unix seconds with an optional fraction,
  as the docker CLI passes it through; ``since``/``until`` of ``/events`` are unix
  ``seconds[.nanoseconds]`` (the CLI converts dates itself).
"""

from __future__ import annotations

import datetime
import re

#: Go's zero time, what a missing or unreadable time encodes as
ZERO_TIME = "0001-01-01T00:00:00Z"

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-z\u00b5\u03bc]+)")
_STORED_UTC = re.compile(r"(?P<seconds>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d{1,9}))?\+00:00")
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?"
    r"(Z|z|[+-]\d{2}:\d{2})?"
)


def rfc3339nano(value: str | datetime.datetime | None) -> str:
    """``value`` (an ISO 8601 string as pycnm stores it, or a datetime) as Go encodes a
    ``time.Time``: UTC, ``Z``, the fraction without trailing zeros. A naive time is taken as UTC."""
    if value is None or value == "":
        return ZERO_TIME
    if isinstance(value, str):
        stored = _STORED_UTC.fullmatch(value)
        if stored is not None:  # what pycnm stores: rewritten without parsing (a list has many)
            fraction = (stored["fraction"] or "").rstrip("0")
            return f"{stored['seconds']}.{fraction}Z" if fraction else f"{stored['seconds']}Z"
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return ZERO_TIME
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    value = value.astimezone(datetime.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def unix_seconds(value: str | None) -> float:
    """Unix time of a stored ISO 8601 string (0 when unreadable)."""
    if not value:
        return 0.0
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return 0.0
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def parse_duration(text: str) -> float | None:
    """Go's ``time.ParseDuration`` in seconds, or None when ``text`` is not one."""
    if not text:
        return None
    sign = 1.0
    rest = text
    if rest[0] in "+-":
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        return None
    total, pos = 0.0, 0
    while pos < len(rest):
        m = _DURATION_PART.match(rest, pos)
        if m is None or m.group(1) in ("", ".") or m.group(2) not in _UNITS:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def parse_unix(value: str) -> tuple[int, int]:
    """dockerd's ``seconds[.fraction]`` (events' since/until); ValueError with strconv's words."""
    seconds, dot, fraction = value.partition(".")
    s = _parse_int(seconds)
    if not dot:
        return s, 0
    n = _parse_int(fraction)
    if len(fraction) < 9:
        n *= 10 ** (9 - len(fraction))
    elif len(fraction) > 9:
        n //= 10 ** (len(fraction) - 9)
    return s, n


def _parse_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text) or not -(2**63) <= int(text) < 2**63:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    return int(text)


def timestamp(value: str, now: float) -> float:
    """A prune filter's ``until`` as a unix time (dockerd's GetTimestamp): a duration before
    ``now``, a date or time (local when it has no zone), or unix seconds; ValueError else."""
    duration = parse_duration(value)
    if value != "0" and duration is not None:
        return float(int(now - duration))  # dockerd keeps whole seconds here
    m = _DATE.fullmatch(value)
    if m is not None:
        year, month, day, hour, minute, second, fraction, zone = m.groups()
        try:
            when = datetime.datetime(  # noqa: DTZ001 - naive: the zone is set below, the local one when none is given
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError:
            raise ValueError(f"failed to parse value as time or duration: {_go_quote(value)}") from None
        if zone is None:
            when = when.astimezone()  # the daemon's local zone, as dockerd
        elif zone in ("Z", "z"):
            when = when.replace(tzinfo=datetime.UTC)
        else:
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            when = when.replace(tzinfo=datetime.timezone(-offset if zone[0] == "-" else offset))
        return when.timestamp() + int((fraction or "0")[:9].ljust(9, "0")) / 1e9
    if "-" not in value:
        try:
            s, n = parse_unix(value)
            return s + n / 1e9
        except ValueError:
            pass
    raise ValueError(f"failed to parse value as time or duration: {_go_quote(value)}")


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def human_duration(seconds: float) -> str:
    """How long, in the words ``docker ps`` uses for a container's uptime."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
