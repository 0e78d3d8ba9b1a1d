"""JSON decoded as dockerd decodes it: Go's ``encoding/json`` into a typed struct.

What docker clients depend on, and a plain ``json.loads`` would get wrong:

- keys match struct fields **case-insensitively** (an exact match wins), unknown keys are
  ignored: docker 28's CLI sends keys that API 1.41 does not know (``EnableIPv4``, ``GwPriority``);
- ``null`` is accepted everywhere (a scalar keeps its zero value, a map, list or object is None);
- a value of the wrong JSON type does not stop the decoding; the first such mistake is
  reported at the end, in Go's words (``json: cannot unmarshal string into Go struct field
  NetworkCreateRequest.Internal of type bool``);
- a request body is one JSON value (Go's ``Decoder.Decode``): what follows it is not read;
  an empty body is ``EOF``, a truncated one ``unexpected EOF``;
- syntax errors say what Go's scanner says (``invalid character 'x' looking for beginning of
  value``): scripts and tests written against dockerd match on these.

Decoding is ``json``'s C scanner; only a value that fails is scanned again, by :func:`syntax_error`,
for Go's message. Strings with lone UTF-16 surrogates (``"\\ud800"``) become U+FFFD, as in Go.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: Go's limit on nesting (encoding/json's maxNestingDepth)
MAX_DEPTH = 10000
_WS = " \t\n\r"
_SURROGATE = re.compile("[\ud800-\udfff]")


class GoJSONError(ValueError):
    """A body or parameter Go's decoder would refuse; ``str()`` is Go's message."""


class GoEOFError(GoJSONError):
    """Nothing but white space: Go's ``io.EOF`` (dockerd: ``got EOF while reading request body``)."""


# ---- types --------------------------------------------------------------------------------------


class GoType:
    """A Go type a JSON value decodes into. ``go`` is its name as Go prints it."""

    go = "?"

    def zero(self) -> Any:
        return None

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        raise NotImplementedError


class _Scalar(GoType):
    def __init__(self, go: str, kinds: tuple[type, ...], zero: Any) -> None:
        self.go, self._kinds, self._zero = go, kinds, zero

    def zero(self) -> Any:
        return self._zero

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        if value is None:
            return self._zero if current is None else current  # null leaves a scalar as it was
        if type(value) is bool and bool not in self._kinds:
            ctx.mismatch(value, self)
            return self._zero if current is None else current
        if isinstance(value, self._kinds):
            if isinstance(value, str):
                return _clean(value)
            return value
        ctx.mismatch(value, self)
        return self._zero if current is None else current


class _Int(_Scalar):
    def __init__(self) -> None:
        super().__init__("int", (int,), 0)

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        if isinstance(value, _Float) or (
            isinstance(value, int) and type(value) is not bool and not -(2**63) <= value < 2**63
        ):
            ctx.mismatch(value, self, number_text=True)  # Go: "number 1.5", "number 1e99"
            return 0 if current is None else current
        return super().decode(value, ctx, current)


Bool = _Scalar("bool", (bool,), False)
String = _Scalar("string", (str,), "")
Int = _Int()


class Map(GoType):
    """``map[string]V``; decoding into a map already set adds to it, as Go does."""

    def __init__(self, value: GoType) -> None:
        self.value = value
        self.go = f"map[string]{value.go}"

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        if value is None:
            return None
        if not isinstance(value, _Pairs):
            ctx.mismatch(value, self)
            return current
        out = dict(current) if isinstance(current, dict) else {}
        for key, item in value.pairs:
            out[_clean(key)] = self.value.decode(item, ctx, None)
        return out


class List(GoType):
    """``[]V``."""

    def __init__(self, item: GoType, go: str | None = None) -> None:
        self.item = item
        self.go = go or f"[]{item.go}"

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            ctx.mismatch(value, self)
            return current
        return [self.item.decode(v, ctx, None) for v in value]


class Struct(GoType):
    """A Go struct: ``name`` as ``reflect.Type.Name()`` gives it (in error field paths),
    ``go`` as ``Type.String()`` (``network.IPAM``); ``fields`` in declaration order. Decoded,
    a dict with every field (zero values for the absent ones)."""

    def __init__(self, go: str, fields: Mapping[str, GoType]) -> None:
        self.go = go
        self.name = go.rsplit(".", 1)[-1]
        self.fields = dict(fields)
        self._folded: dict[str, str] = {}
        for field in self.fields:
            self._folded.setdefault(field.lower(), field)

    def zero(self) -> dict[str, Any]:
        return {name: typ.zero() for name, typ in self.fields.items()}

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        if value is None:
            return None
        if not isinstance(value, _Pairs):
            ctx.mismatch(value, self)
            return current
        out = dict(current) if isinstance(current, dict) else self.zero()
        for key, item in value.pairs:
            field = key if key in self.fields else self._folded.get(key.lower())
            if field is None:
                continue  # unknown keys are ignored
            ctx.enter(self.name, field)
            try:
                out[field] = self.fields[field].decode(item, ctx, out.get(field))
            finally:
                ctx.leave()
        return out


class Ptr(GoType):
    """``*T``: null gives None; Go names the pointed-to type in its messages."""

    def __init__(self, target: GoType) -> None:
        self.target = target
        self.go = target.go

    def decode(self, value: Any, ctx: _Context, current: Any = None) -> Any:
        if value is None:
            return None
        return self.target.decode(value, ctx, current)


# ---- decoding -----------------------------------------------------------------------------------


class _Pairs:
    """A JSON object with its keys in order, duplicates kept (Go decodes each in turn)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


class _Float(float):
    """A JSON number with a fraction or exponent, with its text (Go quotes it in messages)."""

    text: str

    def __new__(cls, text: str) -> _Float:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def _parse_int(text: str) -> int:
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")  # NaN, Infinity: Python's extension, not Go's


_DECODER = json.JSONDecoder(
    object_pairs_hook=_Pairs, parse_float=_Float, parse_int=_parse_int, parse_constant=_refuse_constant
)


class _Context:
    """Where the decoder is (Go's errorContext) and the first type mismatch seen."""

    def __init__(self) -> None:
        self.struct: list[str] = []
        self.fields: list[str] = []
        self.error: str | None = None

    def enter(self, struct: str, field: str) -> None:
        self.struct.append(struct)
        self.fields.append(field)

    def leave(self) -> None:
        self.struct.pop()
        self.fields.pop()

    def mismatch(self, value: Any, typ: GoType, number_text: bool = False) -> None:
        if self.error is not None:
            return  # Go reports the first one
        kind = _kind(value)
        if number_text and isinstance(value, (int, float)):
            kind = f"number {getattr(value, 'text', value)}"
        if self.fields:
            self.error = (
                f"json: cannot unmarshal {kind} into Go struct field"
                f" {self.struct[-1]}.{'.'.join(self.fields)} of type {typ.go}"
            )
        else:
            self.error = f"json: cannot unmarshal {kind} into Go value of type {typ.go}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _clean(text: str) -> str:
    return text if text.isascii() or not _SURROGATE.search(text) else _SURROGATE.sub("\ufffd", text)


def parse(text: str, *, stream: bool) -> Any:
    """The JSON value of ``text``, objects as key/value pair lists; Go's syntax error if it is
    not JSON. ``stream``: as ``Decoder.Decode`` (one value, the rest unread; nothing at all
    raises :class:`GoEOFError`), else as ``json.Unmarshal`` (nothing may follow the value)."""
    start = 0
    while start < len(text) and text[start] in _WS:
        start += 1
    if stream and start == len(text):
        raise GoEOFError("EOF")
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        raise GoJSONError(syntax_error(text, stream=stream)) from None
    if not stream:
        rest = end
        while rest < len(text) and text[rest] in _WS:
            rest += 1
        if rest < len(text):
            raise GoJSONError(f"invalid character {_quote(text[rest])} after top-level value")
    return value


def decode(typ: GoType, data: bytes | str, *, stream: bool = True) -> Any:
    """Decode ``data`` into ``typ`` as Go would; raises :class:`GoJSONError` with Go's message
    (syntax, or the first type mismatch)."""
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    value = parse(text, stream=stream)
    ctx = _Context()
    out = typ.decode(value, ctx, None)
    if ctx.error is not None:
        raise GoJSONError(ctx.error)
    return out


def plain(value: Any) -> Any:
    """A parsed value with its objects as dicts (last duplicate key wins, as in Go's maps)."""
    if isinstance(value, _Pairs):
        return {_clean(k): plain(v) for k, v in value.pairs}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, _Float):
        return float(value)
    if isinstance(value, str):
        return _clean(value)
    return value


# ---- Go's syntax errors -------------------------------------------------------------------------


def _quote(ch: str) -> str:
    """Go's quoteChar: ``'x'``, ``'\\''``, ``'"'``, ``'\\n'``."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    quoted = json.dumps(ch, ensure_ascii=False)[1:-1] if ch.isprintable() else _go_escape(ch)
    return f"'{quoted}'"


def _go_escape(ch: str) -> str:
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    if ch in named:
        return named[ch]
    code = ord(ch)
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def syntax_error(text: str, *, stream: bool) -> str:
    """What Go's scanner says about ``text``, which ``json`` refused. (Text Go accepts but
    ``json`` does not, nesting deeper than Python's recursion limit, is "exceeded max depth".)"""
    stack: list[str] = []  # "{k" (a key is next), "{v" (in a value), "[" (in an array)
    n = len(text)
    eof = "unexpected EOF" if stream else "unexpected end of JSON input"
    truncated = object()

    def bad(at: int, context: str) -> str:
        return f"invalid character {_quote(text[at])} {context}"

    def skip_ws(at: int) -> int:
        while at < n and text[at] in _WS:
            at += 1
        return at

    def literal(at: int, word: str):
        for k, expected in enumerate(word[1:], 1):
            if at + k >= n:
                return n, truncated
            if text[at + k] != expected:
                return at + k, bad(at + k, f"in literal {word} (expecting {_quote(expected)})")
        return at + len(word), None

    def string(at: int):
        at += 1
        while at < n:
            ch = text[at]
            if ch == '"':
                return at + 1, None
            if ch == "\\":
                at += 1
                if at >= n:
                    return n, truncated
                if text[at] == "u":
                    for k in range(1, 5):
                        if at + k >= n:
                            return n, truncated
                        if text[at + k] not in "0123456789abcdefABCDEF":
                            return at + k, bad(at + k, "in \\u hexadecimal character escape")
                    at += 5
                    continue
                if text[at] not in 'bfnrt\\/"':
                    return at, bad(at, "in string escape code")
                at += 1
                continue
            if ch < " ":
                return at, bad(at, "in string literal")
            at += 1
        return n, truncated

    def digits(at: int) -> int:
        while at < n and "0" <= text[at] <= "9":
            at += 1
        return at

    def number(at: int):
        if text[at] == "-":
            at += 1
            if at >= n:
                return n, truncated
            if not "0" <= text[at] <= "9":
                return at, bad(at, "in numeric literal")
        at = at + 1 if text[at] == "0" else digits(at)
        if at < n and text[at] == ".":
            at += 1
            if at >= n:
                return n, truncated
            if not "0" <= text[at] <= "9":
                return at, bad(at, "after decimal point in numeric literal")
            at = digits(at)
        if at < n and text[at] in "eE":
            at += 1
            if at < n and text[at] in "+-":
                at += 1
            if at >= n:
                return n, truncated
            if not "0" <= text[at] <= "9":
                return at, bad(at, "in exponent of numeric literal")
            at = digits(at)
        return at, None

    i, expect = 0, "value"
    while True:
        i = skip_ws(i)
        if i >= n:
            return eof if expect != "after" or stack else "exceeded max depth"
        ch = text[i]
        if expect == "value":
            if ch in "{[":
                if len(stack) >= MAX_DEPTH:
                    return "exceeded max depth"
                stack.append("{k" if ch == "{" else "[")
                i = skip_ws(i + 1)
                if i < n and text[i] == ("}" if ch == "{" else "]"):
                    stack.pop()
                    i, expect = i + 1, "after"
                else:
                    expect = "key" if ch == "{" else "value"
                continue
            if ch == '"':
                i, err = string(i)
            elif ch == "-" or "0" <= ch <= "9":
                i, err = number(i)
            elif ch in "tfn":
                i, err = literal(i, {"t": "true", "f": "false", "n": "null"}[ch])
            else:
                return bad(i, "looking for beginning of value")
            if err is truncated:
                return eof
            if err is not None:
                return err
            expect = "after"
            continue
        if expect == "key":
            if ch != '"':
                return bad(i, "looking for beginning of object key string")
            i, err = string(i)
            if err is truncated:
                return eof
            if err is not None:
                return err
            i = skip_ws(i)
            if i >= n:
                return eof
            if text[i] != ":":
                return bad(i, "after object key")
            stack[-1] = "{v"
            i, expect = i + 1, "value"
            continue
        # after a complete value
        if not stack:
            return "exceeded max depth" if stream else bad(i, "after top-level value")
        if stack[-1] == "{v":
            if ch == ",":
                stack[-1] = "{k"
                i, expect = i + 1, "key"
                i = skip_ws(i)
                continue
            if ch != "}":
                return bad(i, "after object key:value pair")
        else:
            if ch == ",":
                i, expect = i + 1, "value"
                continue
            if ch != "]":
                return bad(i, "after array element")
        stack.pop()
        i += 1
