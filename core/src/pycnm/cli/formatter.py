"""The listing contexts ``--format`` templates see, as docker's ``formatter`` package has them.

``pycnm network ls --format '{{.Name}} {{.Label "tier"}}'`` runs the template on one of these per
row; each public method is a field of the template (``{{.ID}}``) and ``{{json .}}`` prints every
method without arguments by name, as docker's contexts marshal. The class and module names are
docker's, so an error names the type as docker does (``*formatter.networkContext``). Imported only
when a template is given: the default table needs none of this.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: docker's column names (``table`` headers) for ``network ls``
NETWORK_HEADERS = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "CreatedAt": "CREATED AT",
}
NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

SANDBOX_HEADERS = {
    "ID": "SANDBOX ID",
    "Name": "NAME",
    "Key": "KEY",
    "Endpoints": "ENDPOINTS",
    "Networks": "NETWORKS",
    "Hostname": "HOSTNAME",
    "CreatedAt": "CREATED AT",
}
SANDBOX_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Key}}\t{{.Endpoints}}"

DRIVER_HEADERS = {
    "Name": "NAME",
    "Kind": "KIND",
    "Distribution": "DISTRIBUTION",
    "Version": "VERSION",
    "Scope": "SCOPE",
}
DRIVER_TABLE = "table {{.Name}}\t{{.Kind}}\t{{.Distribution}}\t{{.Version}}\t{{.Scope}}"


def go_time(text: str) -> str:
    """An RFC 3339 time as the Engine API sends it, as Go's ``time.Time.String()`` prints it
    once decoded: ``2026-12-01 10:00:00.123456 +0000 UTC``."""
    if not text or "T" not in text:
        return text or ""
    date, _, clock = text.partition("T")
    if clock.endswith(("Z", "z")):
        return f"{date} {clock[:-1]} +0000 UTC"
    if clock.endswith(("+00:00", "-00:00")):  # what pycnm stores: UTC, as Go names a zero offset here
        return f"{date} {clock[:-6]} +0000 UTC"
    if len(clock) > 6 and clock[-6] in "+-" and clock[-3] == ":":
        zone = clock[-6:-3] + clock[-2:]
        return f"{date} {clock[:-6]} {zone} {zone}"
    return f"{date} {clock}"


def _bool(value: Any) -> str:
    return "true" if value else "false"


class networkContext:  # noqa: N801 - docker's name, which its errors print
    """A row of ``network ls`` (a NetworkResource of ``GET /networks``)."""

    def __init__(self, doc: dict, trunc: bool = True) -> None:
        self._doc = doc
        self._trunc = trunc

    def ID(self) -> str:  # noqa: N802 - the template field names are docker's
        ident = self._doc.get("Id") or ""
        return ident[:12] if self._trunc else ident

    def Name(self) -> str:  # noqa: N802
        return self._doc.get("Name") or ""

    def Driver(self) -> str:  # noqa: N802
        return self._doc.get("Driver") or ""

    def Scope(self) -> str:  # noqa: N802
        return self._doc.get("Scope") or ""

    def IPv6(self) -> str:  # noqa: N802
        return _bool(self._doc.get("EnableIPv6"))

    def Internal(self) -> str:  # noqa: N802
        return _bool(self._doc.get("Internal"))

    def Labels(self) -> str:  # noqa: N802
        return ",".join(f"{k}={v}" for k, v in (self._doc.get("Labels") or {}).items())

    def Label(self, name: str) -> str:  # noqa: N802
        return (self._doc.get("Labels") or {}).get(name, "")

    def CreatedAt(self) -> str:  # noqa: N802
        return go_time(self._doc.get("Created") or "")


class sandboxContext:  # noqa: N801 - named as docker names its contexts
    """A row of ``sandbox ls`` (one sandbox of ``GET /pycnm/v1/sandboxes``)."""

    def __init__(self, doc: dict, trunc: bool = True) -> None:
        self._doc = doc
        self._trunc = trunc

    def ID(self) -> str:  # noqa: N802
        ident = self._doc.get("Id") or ""
        return ident[:12] if self._trunc else ident

    def Name(self) -> str:  # noqa: N802
        return self._doc.get("Name") or ""

    def Key(self) -> str:  # noqa: N802
        return self._doc.get("Key") or ""

    def Endpoints(self) -> int:  # noqa: N802
        return len(self._doc.get("Endpoints") or ())

    def Networks(self) -> str:  # noqa: N802
        return ",".join(ep.get("Network") or "" for ep in self._doc.get("Endpoints") or ())

    def Hostname(self) -> str:  # noqa: N802
        return self._doc.get("Hostname") or ""

    def CreatedAt(self) -> str:  # noqa: N802
        return go_time(self._doc.get("Created") or "")


class driverContext:  # noqa: N801 - named as docker names its contexts
    """A row of ``driver ls`` (one driver of ``GET /pycnm/v1/drivers``)."""

    def __init__(self, row: dict) -> None:
        self._row = row

    def Name(self) -> str:  # noqa: N802
        return self._row.get("Name") or ""

    def Kind(self) -> str:  # noqa: N802
        return self._row.get("Kind") or ""

    def Distribution(self) -> str:  # noqa: N802
        return self._row.get("Distribution") or ""

    def Version(self) -> str:  # noqa: N802
        return self._row.get("Version") or ""

    def Scope(self) -> str:  # noqa: N802
        return self._row.get("Scope") or ""
