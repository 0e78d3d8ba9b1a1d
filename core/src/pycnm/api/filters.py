"""The ``filters`` query parameter, read and applied as dockerd does.

Two encodings arrive: the docker CLIs send ``{"name": {"x": true}}``, docker-py sends
``{"name": ["x"]}``; both mean the same. The value ``true`` or ``false`` of the first form does
not matter (dockerd ignores it too).

Match rules (dockerd's ``filters.Args``):
- :meth:`Filters.exact`: the value equals one of the filter's values;
- :meth:`Filters.match`: exact, or an unanchored regular expression search (``name=n1`` finds
  ``n1``, ``n10`` and ``xn1y``: a substring match for plain text);
- :meth:`Filters.fuzzy`: exact or a prefix (events' ``network``/``container``);
- :meth:`Filters.match_kv`: every value holds (AND): ``key`` present, or ``key=value``.

Regular expressions are Go's in dockerd (RE2, linear time); Python's backtrack. A pattern that
could backtrack for ever (a quantified group holding a quantifier or ``|``: ``(a+)+``) or that
RE2 would refuse (back-references, look-arounds) is skipped, as dockerd skips a pattern it
cannot compile: it matches by equality only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from . import gojson
from .status import ApiError

_BOOL_FORM = gojson.Map(gojson.Map(gojson.Bool))
_LIST_FORM = gojson.Map(gojson.List(gojson.String))


class Filters:
    """Parsed filters: key -> set of values, in the order given."""

    def __init__(self, fields: Mapping[str, Iterable[str]] | None = None) -> None:
        self.fields: dict[str, list[str]] = {k: list(dict.fromkeys(v)) for k, v in (fields or {}).items()}

    @classmethod
    def parse(cls, text: str | None) -> Filters:
        """The ``filters`` parameter; a malformed one is 500 with Go's words, as dockerd's
        (its JSON error has no class)."""
        if not text:
            return cls()
        try:
            bools = gojson.decode(_BOOL_FORM, text, stream=False)
            return cls({k: list(v or {}) for k, v in (bools or {}).items()})
        except gojson.GoJSONError as first:
            try:
                lists = gojson.decode(_LIST_FORM, text, stream=False)
            except gojson.GoJSONError:
                raise ApiError(500, str(first)) from None
            return cls({k: list(v or []) for k, v in (lists or {}).items()})

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def get(self, key: str) -> list[str]:
        return self.fields.get(key, [])

    def validate(self, accepted: Iterable[str]) -> None:
        """400 ``Invalid filter 'k'`` for a key not in ``accepted``."""
        allowed = set(accepted)
        for key in self.fields:
            if key not in allowed:
                raise ApiError(400, f"Invalid filter '{key}'")

    # a key given with no values filters nothing (``{"name": null}``), as in dockerd

    def exact(self, key: str, value: str) -> bool:
        values = self.fields.get(key)
        return not values or value in values

    def match(self, key: str, value: str) -> bool:
        values = self.fields.get(key)
        if not values or value in values:
            return True
        for pattern in values:
            compiled = _regexp(pattern)
            if compiled is not None and compiled.search(value):
                return True
        return False

    def fuzzy(self, key: str, value: str) -> bool:
        values = self.fields.get(key)
        return not values or any(value.startswith(v) for v in values)

    def fuzzy_any(self, key: str, candidates: Iterable[str]) -> bool:
        """:meth:`fuzzy` against any of ``candidates`` (an ID, a name)."""
        values = self.fields.get(key)
        return not values or any(c.startswith(v) for c in candidates for v in values)

    def match_kv(self, key: str, labels: Mapping[str, str]) -> bool:
        values = self.fields.get(key)
        if not values:
            return True
        if not labels:
            return False
        for item in values:
            name, sep, want = item.partition("=")
            if name not in labels or (sep and labels[name] != want):
                return False
        return True


#: a quantified group whose body quantifies or alternates: exponential backtracking in Python
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*(?:[*+?}|])(?:[^()\\]|\\.)*\)\s*[*+?{]")
#: what RE2 (Go) does not compile: back-references, look-arounds, possessive tricks
_NOT_RE2 = re.compile(r"\\[1-9]|\(\?[=!<]|\(\?P=")


@lru_cache(maxsize=256)
def _regexp(pattern: str) -> re.Pattern[str] | None:
    if _NESTED.search(pattern) or _NOT_RE2.search(pattern):
        return None
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


def parse_bool(name: str, value: str) -> bool:
    """Go's ``strconv.ParseBool`` of a query parameter; 400 in dockerd's words else."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ApiError(400, f'invalid value for {name}: {value}: strconv.ParseBool: parsing "{value}": invalid syntax')
