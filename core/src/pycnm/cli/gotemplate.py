"""Docker-style ``--format`` templates: a documented subset of Go's ``text/template``.

``docker network inspect -f '{{.Name}}'`` and ``docker network ls --format 'table {{.ID}}'`` take
Go templates; this module parses and runs the same templates on Python data with Go's semantics
(what prints, what is an error and what the error says), plus the functions docker adds (``json``,
``join``, ``split``, ``lower``, ``upper``, ``title``, ``pad``, ``truncate``) and docker's ``table``
directive, aligned as docker's tabwriter aligns it.

The client path imports this module on every command, so it imports nothing at all at load time
(``unicodedata`` only when a table cell is not ASCII) and compiling a template is cheap and cached.
What is supported and what is refused is in ``docs/format-templates.md``.

Data model, as Go's ``encoding/json`` would decode a document into ``interface{}``: a ``dict`` is a
``map[string]interface {}``, a ``list`` (or tuple) a ``[]interface {}``; ``str``, ``int``,
``float``, ``bool`` and ``None`` are Go's string, int, float64, bool and nil. Any other object acts
as a pointer to a struct: its public attributes are fields and its public methods are methods, so
docker's listing contexts (``{{.Label "com.example"}}``) can be written as small classes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import; annotations are strings anyway
    from collections.abc import Iterable, Mapping
    from typing import Any, NoReturn

__all__ = ["Template", "TemplateError", "compile", "render_each"]


class TemplateError(ValueError):
    """A template that does not parse or does not execute.

    The message is Go's, word for word where Go has one: it starts with ``template: `` and says
    where (``:line:`` for parse errors, ``:line:column:`` with the failing action for execution
    errors; the column is Go's, a 0-based byte offset) and what went wrong. ``line`` and
    ``column`` carry the same position (``column`` is computed for parse errors too).
    ``partial`` is what the template printed before it failed, as Go leaves it in its writer.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.partial = ""


# ---------------------------------------------------------------------------------------------
# Go's view of Python values


class _Missing:
    """Go's invalid ``reflect.Value``: a missing map key, nil data. Prints ``<no value>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"


MISSING = _Missing()
_NOFINAL = object()  # no value piped in from a previous command (Go's missingVal)
_ABSENT = object()


class _Uint8(int):
    """A byte, as ``index`` of a string returns: prints as a number, typed ``uint8``."""

    __slots__ = ()


class _StrList(list):
    """A ``[]string`` (what ``split`` returns): its elements are strings, not interfaces."""

    __slots__ = ()


class _HeaderContext(dict):
    """docker's ``SubHeaderContext``: the column names a ``table`` header is rendered from.

    ``{{.Label "com.example.vendor"}}`` in a table names its column after the label's last
    dotted part, ``-`` and ``_`` read as spaces, as docker does.
    """

    def Label(self, name: str) -> str:  # noqa: N802 - a template method, named as in docker
        return name.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")


def _go_type(v: Any) -> str:
    """The name Go's ``reflect.Type.String`` gives the value, for error messages and ``%T``."""
    t = type(v)
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float64"
    if t is dict:
        if v and not all(type(k) is str for k in v):
            return "map[interface {}]interface {}"
        return "map[string]interface {}"
    if t is list or t is tuple:
        return "[]interface {}"
    if t is _StrList:
        return "[]string"
    if t is _Uint8:
        return "uint8"
    if t is _HeaderContext:
        return "formatter.SubHeaderContext"
    if v is None:
        return "interface {}"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    module = (t.__module__ or "").rsplit(".", 1)[-1]
    return f"*{module}.{t.__name__}" if module else f"*{t.__name__}"


def _elements_are_interfaces(container: Any) -> bool:
    """Whether a container's elements are Go interfaces (JSON-decoded) rather than typed.

    It decides one thing: the type an error names when a field of an element is asked for
    (Go says ``interface {}`` for an element of ``[]interface {}``, ``string`` for ``[]string``).
    """
    t = type(container)
    return t is not _StrList and t is not _HeaderContext


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, list, tuple)) or v is None or v is MISSING


def _truth(v: Any) -> bool:
    """Go's ``IsTrue``: the zero value of its type is false, structs (objects) are true."""
    if v is MISSING or v is None:
        return False
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0
    if isinstance(v, (bool, int, float)):
        return v != 0
    return True


def _sorted_keys(d: dict) -> list:
    """Map keys in the order Go's ``fmt`` and ``range`` use (``internal/fmtsort``)."""
    try:
        return sorted(d)
    except TypeError:  # mixed key types: Go orders by kind first
        rank = {bool: 0, int: 1, float: 2, str: 3}
        return sorted(d, key=lambda k: (rank.get(type(k), 4), k if type(k) in rank else str(k)))


class _CallError(Exception):
    """A function or method failed; becomes ``error calling NAME: ...``."""


# ---------------------------------------------------------------------------------------------
# Go's fmt: Sprint, Sprintln, Sprintf and %v


def _float_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(f) and the decimal point position (0.DIGITS x
    10**dp), the same digits Go's strconv picks (both are shortest round-trip)."""
    r = repr(abs(f))
    mant, _, exp = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    stripped = digits.lstrip("0")
    dp = len(ip) + (int(exp) if exp else 0) - (len(digits) - len(stripped))
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 1
    return digits, dp


def _fmt_e(neg: bool, digits: str, dp: int, prec: int, e: str) -> str:
    first = digits[0]
    rest = digits[1 : prec + 1].ljust(prec, "0") if prec > 0 else ""
    exp = dp - 1 if digits != "0" else 0
    sign = "-" if exp < 0 else "+"
    return ("-" if neg else "") + first + ("." + rest if prec > 0 else "") + e + sign + str(abs(exp)).rjust(2, "0")


def _fmt_f(neg: bool, digits: str, dp: int, prec: int) -> str:
    if dp > 0:
        ip = digits[:dp].ljust(dp, "0")
    else:
        ip = "0"
    if prec > 0:
        frac = "".join(digits[dp + i] if 0 <= dp + i < len(digits) else "0" for i in range(prec))
        return ("-" if neg else "") + ip + "." + frac
    return ("-" if neg else "") + ip


def _strconv_float(f: float, verb: str, prec: int) -> str:
    """Go's ``strconv.FormatFloat(f, verb, prec, 64)`` for verbs e E f g G (and x X b)."""
    if f != f:  # noqa: PLR0124 - NaN, without importing math (this module imports in 1.4 ms)
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    neg = f < 0 or (f == 0 and str(f).startswith("-"))
    if verb in "xX":
        return _hex_float(f, verb, prec)
    if verb == "b":
        import math  # rare: only %b of a float needs it

        m, e = math.frexp(abs(f))
        return ("-" if neg else "") + f"{int(m * (1 << 53))}p{e - 53:+d}"
    if prec >= 0:
        # Python's %-formatting rounds exactly as Go's strconv does for a fixed precision.
        if verb in "gG":
            s = "%.*g" % (prec, f)
            return s.upper() if verb == "G" else s
        s = "%.*e" % (prec, f) if verb in "eE" else "%.*f" % (prec, f)
        return s.upper() if verb == "E" else s
    digits, dp = _float_digits(f)
    nd = len(digits)
    if verb in "eE":
        return _fmt_e(neg, digits, dp, nd - 1, verb)
    if verb == "f":
        return _fmt_f(neg, digits, dp, max(nd - dp, 0))
    # %g with the shortest digits: Go switches to an exponent below 1e-4 and from 1e6 (Python's
    # repr only from 1e16), so 1234567.0 prints 1.234567e+06.
    exp = dp - 1 if digits != "0" else 0
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, digits, dp, nd - 1, "e" if verb == "g" else "E")
    return _fmt_f(neg, digits, dp, max(nd - dp, 0))


def _hex_float(f: float, verb: str, prec: int) -> str:
    h = float.hex(abs(f))  # 0x1.8000000000000p+1
    mant, _, exp = h[2:].partition("p")
    ip, _, fp = mant.partition(".")
    fp = fp.rstrip("0")
    if prec >= 0:
        fp = fp[:prec].ljust(prec, "0")  # truncation, not rounding: rare enough not to matter
    e = int(exp)
    s = (
        ("-" if f < 0 else "")
        + "0x"
        + ip
        + ("." + fp if fp else "")
        + "p"
        + ("-" if e < 0 else "+")
        + str(abs(e)).rjust(2, "0")
    )
    return s.upper() if verb == "X" else s


def _is_print(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space;
    # Python's isprintable excludes the same categories (C*, Z* but space).
    return ch.isprintable()


_SIMPLE_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _quote_rune_into(out: list, ch: str, quote: str, ascii_only: bool) -> None:
    if ch in (quote, "\\"):
        out.append("\\" + ch)
        return
    if (ch.isascii() or not ascii_only) and _is_print(ch):
        out.append(ch)
        return
    esc = _SIMPLE_ESC.get(ch)
    if esc:
        out.append(esc)
        return
    c = ord(ch)
    if c < 0x20 or c == 0x7F:
        out.append("\\x%02x" % c)
    elif 0xD800 <= c <= 0xDFFF:
        out.append("\\ufffd")
    elif c < 0x10000:
        out.append("\\u%04x" % c)
    else:
        out.append("\\U%08x" % c)


def _go_quote(s: str, ascii_only: bool = False) -> str:
    """Go's ``strconv.Quote`` (``QuoteToASCII`` with ``ascii_only``)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        _quote_rune_into(out, ch, '"', ascii_only)
    out.append('"')
    return "".join(out)


def _go_quote_rune(c: int, ascii_only: bool = False) -> str:
    ch = chr(c) if 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF else "\ufffd"
    out = ["'"]
    _quote_rune_into(out, ch, "'", ascii_only)
    out.append("'")
    return "".join(out)


def _can_backquote(s: str) -> bool:
    return not any(ch in ("`", "\ufeff", "\x7f") or (ch < " " and ch != "\t") for ch in s)


class _Printer:
    """Go's ``fmt`` printer state for one call: flags of the verb being printed and the output."""

    __slots__ = ("buf", "plus", "minus", "sharp", "space", "zero", "plus_v", "sharp_v", "wid", "prec", "erroring")

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.erroring = False
        self.clear()

    def clear(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = -1  # -1: no width
        self.prec = -1  # -1: no precision

    # -- padding ---------------------------------------------------------------------------
    def pad(self, s: str) -> None:
        if self.wid <= 0:
            self.buf.append(s)
            return
        n = self.wid - len(s)  # Go counts runes: Python characters
        if n <= 0:
            self.buf.append(s)
        elif self.minus:
            self.buf.append(s + " " * n)
        else:
            self.buf.append(("0" if self.zero else " ") * n + s)

    def padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero else " ") * n)

    # -- arguments ---------------------------------------------------------------------------
    def print_arg(self, arg: Any, verb: str) -> None:
        if arg is None or arg is MISSING:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if verb == "T":
            self.fmt_s(_go_type(arg))
            return
        self.print_value(arg, verb, 0)

    def print_value(self, v: Any, verb: str, depth: int) -> None:
        t = type(v)
        if t is str:
            self.fmt_string(v, verb, v)
        elif t is int:
            self.fmt_integer(v, True, verb, v)
        elif t is bool:
            if verb in "tv":
                self.pad("true" if v else "false")
            else:
                self.bad_verb(verb, v)
        elif t is float:
            self.fmt_float(v, verb)
        elif v is None:
            if self.sharp_v:
                self.buf.append("interface {}(nil)")
            else:
                self.buf.append("<nil>")
        elif t is _Uint8:
            self.fmt_integer(int(v), False, verb, v)
        elif isinstance(v, dict):
            self.print_map(v, verb, depth)
        elif isinstance(v, (list, tuple)):
            if self.sharp_v:
                self.buf.append(_go_type(v) + "{")
                for i, e in enumerate(v):
                    if i:
                        self.buf.append(", ")
                    self.print_value(e, verb, depth + 1)
                self.buf.append("}")
            else:
                self.buf.append("[")
                for i, e in enumerate(v):
                    if i:
                        self.buf.append(" ")
                    self.print_value(e, verb, depth + 1)
                self.buf.append("]")
        elif isinstance(v, bool):
            self.print_value(bool(v), verb, depth)
        elif isinstance(v, int):
            self.print_value(int(v), verb, depth)
        elif isinstance(v, float):
            self.print_value(float(v), verb, depth)
        elif isinstance(v, str):
            self.print_value(str(v), verb, depth)
        else:
            self.print_object(v, verb, depth)

    def print_map(self, v: dict, verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(_go_type(v) + "{")
        else:
            self.buf.append("map[")
        for i, k in enumerate(_sorted_keys(v)):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_value(k, verb, depth + 1)
            self.buf.append(":")
            self.print_value(v[k], verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_object(self, v: Any, verb: str, depth: int, pointer: bool = True) -> None:
        # A class with its own __str__ is a fmt.Stringer; anything else prints as Go prints a
        # pointer to a struct, &{field values}, from the public attributes.
        if (
            not self.erroring
            and not self.sharp_v
            and type(v).__str__ is not object.__str__  # type: ignore[comparison-overlap]  # a class's own __str__
            and verb in "vsxXq"
        ):
            self.fmt_string(str(v), verb, v)
            return
        if depth > 0:
            # Go prints a nested pointer's address, which no test could expect; a fixed one
            # keeps the output stable.
            self.buf.append("0xc000000000")
            return
        fields = [(k, x) for k, x in vars(v).items() if not k.startswith("_")] if hasattr(v, "__dict__") else []
        self.buf.append(("&" if pointer else "") + (_go_type(v)[1:] if self.sharp_v else "") + "{")
        for i, (k, x) in enumerate(fields):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            if self.plus_v or self.sharp_v:
                self.buf.append(k + ":")
            self.print_value(x, verb, depth + 1)
        self.buf.append("}")

    def bad_verb(self, verb: str, arg: Any) -> None:
        self.erroring = True
        self.buf.append("%!" + verb + "(")
        if arg is None:
            self.buf.append("<nil>")
        else:
            self.buf.append(_go_type(arg) + "=")
            self.print_arg(arg, "v")
        self.buf.append(")")
        self.erroring = False

    # -- scalars -----------------------------------------------------------------------------
    def fmt_string(self, s: str, verb: str, arg: Any) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(s)
            else:
                self.fmt_s(s)
        elif verb == "s":
            self.fmt_s(s)
        elif verb in {"x", "X"}:
            self.fmt_sx(s, verb)
        elif verb == "q":
            self.fmt_q(s)
        else:
            self.bad_verb(verb, arg)

    def truncate(self, s: str) -> str:
        if self.prec >= 0:
            return s[: self.prec]
        return s

    def fmt_s(self, s: str) -> None:
        self.pad(self.truncate(s))

    def fmt_q(self, s: str) -> None:
        s = self.truncate(s)
        if self.sharp and _can_backquote(s):
            self.pad("`" + s + "`")
        else:
            self.pad(_go_quote(s, self.plus))

    def fmt_sx(self, s: str, verb: str) -> None:
        b = s.encode("utf-8", "surrogatepass")
        length = len(b)
        if self.prec >= 0 and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid > 0:
                self.padding(self.wid)
            return
        if self.wid > width and not self.minus:
            self.padding(self.wid - width)
        digits = "0123456789abcdefx" if verb == "x" else "0123456789ABCDEFX"
        out = []
        if self.sharp:
            out.append("0" + digits[16])
        for i in range(length):
            if self.space and i > 0:
                out.append(" ")
                if self.sharp:
                    out.append("0" + digits[16])
            c = b[i]
            out.append(digits[c >> 4] + digits[c & 0xF])
        self.buf.append("".join(out))
        if self.wid > width and self.minus:
            self.padding(self.wid - width)

    def fmt_integer(self, v: int, signed: bool, verb: str, arg: Any) -> None:
        if verb == "v":
            if self.sharp_v and not signed:
                sharp, self.sharp = self.sharp, True
                self.fmt_int(v, 16, "v", "0123456789abcdefx")
                self.sharp = sharp
            else:
                self.fmt_int(v, 10, verb, "0123456789abcdefx")
        elif verb == "d":
            self.fmt_int(v, 10, verb, "0123456789abcdefx")
        elif verb == "b":
            self.fmt_int(v, 2, verb, "0123456789abcdefx")
        elif verb in {"o", "O"}:
            self.fmt_int(v, 8, verb, "0123456789abcdefx")
        elif verb == "x":
            self.fmt_int(v, 16, verb, "0123456789abcdefx")
        elif verb == "X":
            self.fmt_int(v, 16, verb, "0123456789ABCDEFX")
        elif verb == "c":
            self.pad(chr(v) if 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF else "\ufffd")
        elif verb == "q":
            self.pad(_go_quote_rune(v, self.plus))
        elif verb == "U":
            self.fmt_unicode(v)
        else:
            self.bad_verb(verb, arg)

    def fmt_unicode(self, u: int) -> None:
        if u < 0:
            u += 1 << 64
        prec = self.prec if self.prec > 4 else 4
        s = "U+" + ("%X" % u).rjust(prec, "0")
        if self.sharp and u <= 0x10FFFF and not 0xD800 <= u <= 0xDFFF and _is_print(chr(u)):
            s += " '" + chr(u) + "'"
        zero, self.zero = self.zero, False
        self.pad(s)
        self.zero = zero

    def fmt_int(self, v: int, base: int, verb: str, digits: str) -> None:
        negative = v < 0
        u = -v if negative else v
        prec = 0
        if self.prec >= 0:
            prec = self.prec
            if prec == 0 and u == 0:
                zero, self.zero = self.zero, False
                self.padding(self.wid)
                self.zero = zero
                return
        elif self.zero and self.wid > 0:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        if base == 10:
            num = str(u)
        elif base == 16:
            num = "%x" % u
            if digits[10] == "A":
                num = num.upper()
        elif base == 8:
            num = "%o" % u
        else:
            num = bin(u)[2:]
        if len(num) < prec:
            num = "0" * (prec - len(num)) + num
        if self.sharp:
            if base == 2:
                num = "0b" + num
            elif base == 8:
                if num[0] != "0":
                    num = "0" + num
            elif base == 16:
                num = "0" + digits[16] + num
        if verb == "O":
            num = "0o" + num
        if negative:
            num = "-" + num
        elif self.plus:
            num = "+" + num
        elif self.space:
            num = " " + num
        zero, self.zero = self.zero, False
        self.pad(num)
        self.zero = zero

    def fmt_float(self, v: float, verb: str) -> None:
        if verb == "v":
            self.fmt_float_with(v, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_with(v, verb, -1)
        elif verb in "feE":
            self.fmt_float_with(v, verb, 6)
        elif verb == "F":
            self.fmt_float_with(v, "f", 6)
        else:
            self.bad_verb(verb, v)

    def fmt_float_with(self, v: float, verb: str, prec: int) -> None:
        if self.prec >= 0:
            prec = self.prec
        num = _strconv_float(v, verb, prec)
        if num[0] not in "+-":
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":  # Inf and NaN are not padded with zeros
            zero, self.zero = self.zero, False
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad(num)
            self.zero = zero
            return
        if self.sharp and verb != "b":
            num = self.keep_trailing_zeros(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and self.wid > len(num):
                self.buf.append(num[0])
                self.padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    @staticmethod
    def keep_trailing_zeros(num: str, verb: str, prec: int) -> str:
        # %#g keeps the trailing zeros %g drops and always shows a decimal point.
        digits = 0
        if verb in "vgGx":
            digits = prec if prec != -1 else 6
        tail = ""
        body = num
        for i in range(1, len(num)):
            if num[i] in "eEpP" and not (num[i] in "eE" and verb in "xX"):
                body, tail = num[:i], num[i:]
                break
        saw_nonzero = False
        has_point = False
        for ch in body[1:]:
            if ch == ".":
                has_point = True
            else:
                if ch != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
        if not has_point:
            if len(body) == 2 and body[1] == "0":
                digits -= 1
            body += "."
        if digits > 0:
            body += "0" * digits
        return body + tail


def _sprint(args: list) -> str:
    """Go's ``fmt.Sprint``: a space between operands when neither is a string."""
    p = _Printer()
    prev_string = False
    for i, a in enumerate(args):
        is_string = isinstance(a, str)
        if i > 0 and not is_string and not prev_string:
            p.buf.append(" ")
        p.print_arg(a, "v")
        prev_string = is_string
    return "".join(p.buf)


def _sprintln(args: list) -> str:
    """Go's ``fmt.Sprintln``: spaces between all operands and a newline after."""
    p = _Printer()
    for i, a in enumerate(args):
        if i > 0:
            p.buf.append(" ")
        p.print_arg(a, "v")
    p.buf.append("\n")
    return "".join(p.buf)


def _format_v(v: Any) -> str:
    """How an action prints its value (Go's ``fmt.Fprint`` of one operand)."""
    t = type(v)
    if t is str:
        return v
    if t is int:
        return str(v)
    if t is bool:
        return "true" if v else "false"
    if v is MISSING:
        return "<no value>"
    p = _Printer()
    if _is_scalar(v) or isinstance(v, dict):
        p.print_arg(v, "v")
    else:
        # text/template dereferences a pointer before printing: {fields}, not &{fields}
        p.print_object(v, "v", 0, pointer=False)
    return "".join(p.buf)


def _int_arg(a: list, n: int) -> tuple[int, bool, int]:
    if n < len(a):
        v = a[n]
        if isinstance(v, int) and not isinstance(v, bool) and -(1 << 63) <= v < (1 << 63):
            return (int(v), True, n + 1) if abs(v) <= 1_000_000 else (0, False, n + 1)
        return 0, False, n + 1
    return 0, False, n


def _sprintf(fmt: str, a: list) -> str:
    """Go's ``fmt.Sprintf``: verbs v s d q t x X o O b c U e E f F g G T, flags ``+-# 0``, width
    and precision (also ``*``), argument indexes ``[n]``, and Go's ``%!`` error notes."""
    p = _Printer()
    buf = p.buf
    end = len(fmt)
    argnum = 0
    after_index = False
    reordered = False
    i = 0
    while i < end:
        good_argnum = True
        j = fmt.find("%", i)
        if j < 0:
            buf.append(fmt[i:])
            break
        if j > i:
            buf.append(fmt[i:j])
        i = j + 1
        p.clear()
        # flags
        while i < end:
            c = fmt[i]
            if c == "#":
                p.sharp = True
            elif c == "0":
                p.zero = not p.minus
            elif c == "+":
                p.plus = True
            elif c == "-":
                p.minus = True
                p.zero = False
            elif c == " ":
                p.space = True
            else:
                break
            i += 1

        def arg_number(argnum: int, i: int) -> tuple[int, int, bool]:
            nonlocal reordered, good_argnum
            if i >= end or fmt[i] != "[":
                return argnum, i, False
            reordered = True
            k = fmt.find("]", i + 1)
            if k < 0:
                good_argnum = False
                return argnum, i + 1, False
            digits = fmt[i + 1 : k]
            if digits.isdigit() and digits.isascii():
                index = int(digits) - 1
                if 0 <= index < len(a):
                    return index, k + 1, True
                good_argnum = False
                return argnum, k + 1, True
            good_argnum = False
            return argnum, k + 1, False

        argnum, i, after_index = arg_number(argnum, i)
        # width
        if i < end and fmt[i] == "*":
            i += 1
            wid, ok, argnum = _int_arg(a, argnum)
            p.wid = wid if ok else -1
            if not ok:
                buf.append("%!(BADWIDTH)")
            if wid < 0:
                p.wid = -wid
                p.minus = True
                p.zero = False
            after_index = False
        else:
            k = i
            while k < end and "0" <= fmt[k] <= "9":
                k += 1
            if k > i:
                p.wid = int(fmt[i:k])
                if after_index:
                    good_argnum = False
            i = k
        # precision
        if i + 1 < end and fmt[i] == ".":
            i += 1
            if after_index:
                good_argnum = False
            argnum, i, after_index = arg_number(argnum, i)
            if i < end and fmt[i] == "*":
                i += 1
                prec, ok, argnum = _int_arg(a, argnum)
                p.prec = prec
                if not ok or prec < 0:  # Go ignores a negative precision, and says so
                    p.prec = -1
                    buf.append("%!(BADPREC)")
                after_index = False
            else:
                k = i
                while k < end and "0" <= fmt[k] <= "9":
                    k += 1
                p.prec = int(fmt[i:k]) if k > i else 0
                i = k
        if not after_index:
            argnum, i, after_index = arg_number(argnum, i)
        if i >= end:
            buf.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            buf.append("%")
        elif not good_argnum:
            buf.append("%!" + verb + "(BADINDEX)")
        elif argnum >= len(a):
            buf.append("%!" + verb + "(MISSING)")
        else:
            if verb == "v":
                p.sharp_v, p.sharp = p.sharp, False
                p.plus_v, p.plus = p.plus, False
            p.print_arg(a[argnum], verb)
            argnum += 1
    if not reordered and argnum < len(a):
        p.clear()
        buf.append("%!(EXTRA ")
        for k, arg in enumerate(a[argnum:]):
            if k:
                buf.append(", ")
            if arg is None:
                buf.append("<nil>")
            else:
                buf.append(_go_type(arg) + "=")
                p.print_arg(arg, "v")
        buf.append(")")
    return "".join(buf)


# ---------------------------------------------------------------------------------------------
# Go's encoding/json, as docker's ``json`` function calls it

_JSON_ESC = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    # Go 1.22 and later (docker's builds) write \b and \f short, as JSON allows.
    "\b": "\\b",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _json_string(s: str, out: list) -> None:
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        out.append('"' + s + '"')
        return
    parts = ['"']
    for ch in s:
        esc = _JSON_ESC.get(ch)
        if esc is not None:
            parts.append(esc)
        elif ch < " ":
            parts.append("\\u%04x" % ord(ch))
        elif "\ud800" <= ch <= "\udfff":
            parts.append("\\ufffd")  # Go replaces what is not valid UTF-8
        else:
            parts.append(ch)
    parts.append('"')
    out.append("".join(parts))


def _json_float(f: float) -> str:
    if f != f or f in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN or infinite, as above
        raise _CallError("json: unsupported value: " + _strconv_float(f, "g", -1))
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = _strconv_float(f, "e", -1)
        # Go writes 1e-07 as 1e-7 (as JavaScript does), but keeps two digits after e+.
        if len(s) >= 4 and s[-4] == "e" and s[-3] == "-" and s[-2] == "0":
            s = s[:-2] + s[-1]
        return s
    return _strconv_float(f, "f", -1)


def _json_object_fields(v: Any) -> dict:
    """An object marshals as docker's listing contexts do: every public attribute and every
    public method without arguments, keyed by name."""
    fields = {}
    for name in dir(v):
        if name.startswith("_"):
            continue
        attr = getattr(v, name, None)
        if callable(attr):
            code = getattr(getattr(attr, "__func__", None), "__code__", None)
            if code is None or code.co_argcount != 1 or name == "FullHeader":
                continue
            attr = attr()
        fields[name] = attr
    return fields


def _go_json(v: Any, out: list) -> None:
    """Go's ``json.Marshal`` without HTML escaping (docker turns it off): compact, map keys
    sorted, floats as Go writes them."""
    if v is None or v is MISSING:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, str):
        _json_string(v, out)
    elif isinstance(v, int):
        out.append(str(int(v)))
    elif isinstance(v, float):
        out.append(_json_float(v))
    elif isinstance(v, dict):
        items = sorted(((str(k), x) for k, x in v.items()), key=lambda kv: kv[0])
        out.append("{")
        for i, (k, x) in enumerate(items):
            if i:
                out.append(",")
            _json_string(k, out)
            out.append(":")
            _go_json(x, out)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _go_json(x, out)
        out.append("]")
    elif _is_scalar(v) or callable(v):
        raise _CallError("json: unsupported type: " + _go_type(v))
    else:
        _go_json(_json_object_fields(v), out)


# ---------------------------------------------------------------------------------------------
# Functions: Go's builtins and docker's additions

# Parameter kinds, as Go's reflection sees a function's parameter types: a reflect.Value sees a
# missing value as such; interface{} sees nil; string and int must be exactly that.
_V, _A, _S, _I = "reflect.Value", "interface {}", "string", "int"


def _indirect(v: Any) -> Any:
    return MISSING if v is None else v


def _fn_not(v: Any) -> bool:
    return not _truth(v)


def _fn_len(v: Any) -> int:
    if v is None:
        raise _CallError("len of nil pointer")
    if v is MISSING:
        raise _CallError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(v, str):
        return len(v) if v.isascii() else len(v.encode("utf-8", "surrogatepass"))
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    raise _CallError("len of type " + _go_type(v).lstrip("*"))  # Go dereferences first


def _index_arg(index: Any, cap: int) -> int:
    if index is MISSING:
        raise _CallError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _CallError("cannot index slice/array with type " + _go_type(index))
    if index < 0 or index > cap:
        raise _CallError(f"index out of range: {index}")
    return int(index)


def _zero_element(container: dict) -> Any:
    return "" if type(container) is _HeaderContext else None


def _fn_index(item: Any, *indexes: Any) -> Any:
    item = _indirect(item)
    if item is MISSING:
        raise _CallError("index of untyped nil")
    for given in indexes:
        index = _indirect(given)
        if item is None:
            raise _CallError("index of nil pointer")
        if isinstance(item, (list, tuple, str)):
            x = _index_arg(
                index, len(item) if not isinstance(item, str) else len(item.encode("utf-8", "surrogatepass"))
            )
            if isinstance(item, str):
                b = item.encode("utf-8", "surrogatepass")
                if x >= len(b):
                    raise _CallError("reflect: string index out of range")
                item = _Uint8(b[x])
            else:
                if x >= len(item):
                    raise _CallError("reflect: slice index out of range")
                item = item[x]
        elif isinstance(item, dict):
            if index is MISSING:
                raise _CallError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise _CallError(f"value has type {_go_type(index)}; should be string")
            item = item.get(index, _zero_element(item))
        else:
            raise _CallError("can't index item of type " + _go_type(item).lstrip("*"))
    return item


def _fn_slice(item: Any, *indexes: Any) -> Any:
    item = _indirect(item)
    if item is MISSING:
        raise _CallError("slice of untyped nil")
    if len(indexes) > 3:
        raise _CallError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _CallError("cannot 3-index slice a string")
        seq: Any = item.encode("utf-8", "surrogatepass")
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise _CallError("can't slice item of type " + _go_type(item))
    idx = [0, len(seq), len(seq)]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(_indirect(index), len(seq))
    if idx[0] > idx[1]:
        raise _CallError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise _CallError(f"invalid slice index: {idx[1]} > {idx[2]}")
    part = seq[idx[0] : idx[1]]
    if isinstance(item, str):
        return part.decode("utf-8", "replace")
    return type(item)(part) if type(item) in (list, tuple, _StrList) else list(part)


def _basic_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, _Uint8):
        return "uint"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return ""


def _fn_eq(arg1: Any, *args: Any) -> bool:
    arg1 = _indirect(arg1)
    if not args:
        raise _CallError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for given in args:
        arg = _indirect(given)
        k2 = _basic_kind(arg)
        if k1 != k2:
            if {k1, k2} == {"int", "uint"}:
                truth = arg1 == arg
            elif arg1 is not MISSING and arg is not MISSING:
                raise _CallError("incompatible types for comparison")
            else:
                truth = False
        elif k1:
            truth = arg1 == arg
        else:
            g1, g2 = _go_kind(arg1), _go_kind(arg)
            if g1 != g2 and "invalid" not in (g1, g2):
                raise _CallError(
                    f"non-comparable types {_sprintf('%s', [arg1])}: "
                    f"{_go_type(arg1)}, {_go_type(arg)}: {_format_v(arg)}"
                )
            if arg1 is MISSING or arg is MISSING:
                truth = arg1 is arg
            elif g2 in ("map", "slice"):
                raise _CallError(f"non-comparable type {_sprintf('%s', [arg])}: {_go_type(arg)}")
            else:
                truth = arg1 is arg
        if truth:
            return True
    return False


def _go_kind(v: Any) -> str:
    if v is MISSING:
        return "invalid"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, (list, tuple)):
        return "slice"
    return "ptr"


def _fn_ne(arg1: Any, arg2: Any) -> bool:
    return not _fn_eq(arg1, arg2)


def _fn_lt(arg1: Any, arg2: Any) -> bool:
    arg1, arg2 = _indirect(arg1), _indirect(arg2)
    k1, k2 = _basic_kind(arg1), _basic_kind(arg2)
    if not k1 or not k2:
        raise _CallError("invalid type for comparison")
    if k1 != k2:
        if {k1, k2} == {"int", "uint"}:
            return arg1 < arg2
        raise _CallError("incompatible types for comparison")
    if k1 == "bool":
        raise _CallError("invalid type for comparison")
    return arg1 < arg2


def _fn_le(arg1: Any, arg2: Any) -> bool:
    return _fn_lt(arg1, arg2) or _fn_eq(arg1, arg2)


def _fn_gt(arg1: Any, arg2: Any) -> bool:
    return not _fn_le(arg1, arg2)


def _fn_ge(arg1: Any, arg2: Any) -> bool:
    return not _fn_lt(arg1, arg2)


def _eval_args(args: tuple) -> str:
    # html, js and urlquery print their operands as an action would (nil as <no value>).
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _sprint(["<no value>" if a is None else a for a in args])


def _fn_html(*args: Any) -> str:
    s = _eval_args(args)
    for a, b in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("<", "&lt;"), (">", "&gt;"), ("\x00", "\ufffd")):
        s = s.replace(a, b)
    return s


def _fn_js(*args: Any) -> str:
    s = _eval_args(args)
    out = []
    for ch in s:
        if ch in "\\'\"<>&=":
            out.append(
                {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}[
                    ch
                ]
            )
        elif ch < " " or (not ch.isascii() and not _is_print(ch)):
            out.append("\\u%04X" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def _fn_urlquery(*args: Any) -> str:
    out = []
    for b in _eval_args(args).encode("utf-8", "surrogatepass"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "-_.~"):
            out.append(c)
        elif c == " ":
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def _fn_call(fn: Any, *args: Any) -> Any:
    fn = _indirect(fn)
    if fn is MISSING:
        raise _CallError("call of nil")
    if not callable(fn):
        raise _CallError("non-function of type " + _go_type(fn))
    try:
        return fn(*[None if a is MISSING else a for a in args])
    except _CallError:
        raise
    except Exception as exc:  # a panicking function is an error, as in Go
        raise _CallError(str(exc)) from exc


def _fn_printf(fmt: str, *args: Any) -> str:
    return _sprintf(fmt, list(args))


def _fn_json(v: Any) -> str:
    out: list[str] = []
    _go_json(v, out)
    return "".join(out)


def _fn_split(s: str, sep: str) -> _StrList:
    if sep == "":
        return _StrList(s)  # Go splits into characters ("" gives no elements)
    return _StrList(s.split(sep))


def _fn_join(elems: Any, sep: str) -> str:
    # docker's join: strings as they are, other elements as fmt.Sprint prints them, map values
    # sorted so that the output is stable.
    if elems is None:
        return ""
    if type(elems) is _StrList:
        return sep.join(elems)
    if isinstance(elems, (list, tuple)):
        return sep.join(_sprint([e]) for e in elems)
    if isinstance(elems, dict):
        return sep.join(sorted(_sprint([e]) for e in elems.values()))
    raise _CallError("expected slice, got " + _go_type(elems))


def _case_map(s: str, upper: bool) -> str:
    if s.isascii():
        return s.upper() if upper else s.lower()
    # Go maps rune by rune (unicode.ToUpper); Python's full mappings may grow a character into
    # several ("ß" into "SS"), where Go keeps it.
    out = []
    for ch in s:
        m = ch.upper() if upper else ch.lower()
        out.append(m if len(m) == 1 else ch)
    return "".join(out)


def _fn_lower(s: str) -> str:
    return _case_map(s, False)


def _fn_upper(s: str) -> str:
    return _case_map(s, True)


def _fn_title(s: str) -> str:
    # Go's strings.Title: upper-case each letter that follows a separator (ASCII that is not a
    # letter, digit or underscore; beyond ASCII, space).
    out = []
    prev_sep = True
    for ch in s:
        if prev_sep:
            t = ch.title()
            out.append(t if len(t) == 1 else ch)
        else:
            out.append(ch)
        if ch.isascii():
            prev_sep = not (ch.isalnum() or ch == "_")
        elif ch.isalpha() or ch.isdecimal():
            prev_sep = False
        else:
            prev_sep = ch.isspace()
    return "".join(out)


def _fn_pad(s: str, prefix: int, suffix: int) -> str:
    if s == "":
        return s
    if prefix < 0 or suffix < 0:
        raise _CallError("strings: negative Repeat count")
    return " " * prefix + s + " " * suffix


def _fn_truncate(s: str, length: int) -> str:
    # docker cuts bytes, not characters: an ID is ASCII, and a cut character is dropped here.
    b = s.encode("utf-8", "surrogatepass") if not s.isascii() else None
    n = len(b) if b is not None else len(s)
    if n < length:
        return s
    if length < 0:
        raise _CallError(f"runtime error: slice bounds out of range [:{length}]")
    return b[:length].decode("utf-8", "ignore") if b is not None else s[:length]


def _fn_and_or(*args: Any) -> Any:  # evaluated lazily by the executor, never called
    raise AssertionError("unreachable")


def _identity1(s: str) -> str:
    return s


def _identity2s(s: str, _: str) -> str:
    return s


def _identity2i(s: str, _: int) -> str:
    return s


# name: (fixed parameter kinds, variadic kind or None, implementation)
_Spec = tuple
_BUILTINS: dict[str, _Spec] = {
    "and": ((_V,), _V, _fn_and_or),
    "or": ((_V,), _V, _fn_and_or),
    "not": ((_V,), None, _fn_not),
    "len": ((_V,), None, _fn_len),
    "index": ((_V,), _V, _fn_index),
    "slice": ((_V,), _V, _fn_slice),
    "call": ((_V,), _V, _fn_call),
    "print": ((), _A, lambda *a: _sprint(list(a))),
    "printf": ((_S,), _A, _fn_printf),
    "println": ((), _A, lambda *a: _sprintln(list(a))),
    "html": ((), _A, _fn_html),
    "js": ((), _A, _fn_js),
    "urlquery": ((), _A, _fn_urlquery),
    "eq": ((_V,), _V, _fn_eq),
    "ne": ((_V, _V), None, _fn_ne),
    "lt": ((_V, _V), None, _fn_lt),
    "le": ((_V, _V), None, _fn_le),
    "gt": ((_V, _V), None, _fn_gt),
    "ge": ((_V, _V), None, _fn_ge),
}

# docker/cli's templates package adds these to every template.
_DOCKER_FUNCS: dict[str, _Spec] = {
    "json": ((_A,), None, _fn_json),
    "split": ((_S, _S), None, _fn_split),
    "join": ((_A, _S), None, _fn_join),
    "title": ((_S,), None, _fn_title),
    "lower": ((_S,), None, _fn_lower),
    "upper": ((_S,), None, _fn_upper),
    "pad": ((_S, _I, _I), None, _fn_pad),
    "truncate": ((_S, _I), None, _fn_truncate),
}

_FUNCS: dict[str, _Spec] = {**_BUILTINS, **_DOCKER_FUNCS}

# A table header is the same template run on the column names, with docker's functions that
# would mangle a name replaced by ones that leave it alone (pad stays, to keep the alignment).
_HEADER_FUNCS: dict[str, _Spec] = {
    **_FUNCS,
    "json": ((_S,), None, _identity1),
    "split": ((_S, _S), None, _identity2s),
    "join": ((_S, _S), None, _identity2s),
    "title": ((_S,), None, _identity1),
    "lower": ((_S,), None, _identity1),
    "upper": ((_S,), None, _identity1),
    "truncate": ((_S, _I), None, _identity2i),
}

# ---------------------------------------------------------------------------------------------
# Lexer (Go's text/template/parse lexer, state for state)

# Token types; those from _KEYWORD on are keywords (Go prints them as <name> in errors).
(
    _T_ERROR,
    _T_BOOL,
    _T_CHAR,
    _T_CHARCONST,
    _T_COMPLEX,
    _T_ASSIGN,
    _T_DECLARE,
    _T_EOF,
    _T_FIELD,
    _T_IDENT,
    _T_LDELIM,
    _T_LPAREN,
    _T_NUMBER,
    _T_PIPE,
    _T_RAWSTRING,
    _T_RDELIM,
    _T_RPAREN,
    _T_SPACE,
    _T_STRING,
    _T_TEXT,
    _T_VARIABLE,
    _KEYWORD,
    _T_BLOCK,
    _T_BREAK,
    _T_CONTINUE,
    _T_DOT,
    _T_DEFINE,
    _T_ELSE,
    _T_END,
    _T_IF,
    _T_NIL,
    _T_RANGE,
    _T_TEMPLATE,
    _T_WITH,
) = range(34)

_KEYWORDS = {
    "block": _T_BLOCK,
    "break": _T_BREAK,
    "continue": _T_CONTINUE,
    "define": _T_DEFINE,
    "else": _T_ELSE,
    "end": _T_END,
    "if": _T_IF,
    "range": _T_RANGE,
    "nil": _T_NIL,
    "template": _T_TEMPLATE,
    "with": _T_WITH,
}

_SPACE = " \t\r\n"
_TERMINATORS = frozenset(" \t\r\n.,|:)(")


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdecimal()


def _rune_desc(ch: str) -> str:
    """Go's ``%#U``: U+0041 'A'."""
    s = "U+%04X" % ord(ch)
    return s + " '" + ch + "'" if _is_print(ch) else s


class _Token(tuple):
    """(type, position, value, line)."""

    __slots__ = ()

    def describe(self) -> str:
        """How Go's parser names the token in an ``unexpected`` error."""
        typ, _, val, _ = self
        if typ == _T_EOF:
            return "EOF"
        if typ == _T_ERROR:
            return val
        if typ > _KEYWORD:
            return "<" + val + ">"
        if len(val) > 10:
            return _go_quote(val[:10]) + "..."
        return _go_quote(val)


def _lex(text: str) -> list:
    """Split a template into tokens. A lexing error ends the list with an error token, after
    which the parser only ever sees more of them (as Go's closed channel gives)."""
    items: list = []
    n = len(text)
    pos = start = 0
    line_pos, line = 0, 1

    def line_at(p: int) -> int:
        nonlocal line_pos, line
        if p > line_pos:
            line += text.count("\n", line_pos, p)
            line_pos = p
        return line

    def emit(typ: int) -> None:
        nonlocal start
        items.append(_Token((typ, start, text[start:pos], line_at(start))))
        start = pos

    def error(msg: str) -> list:
        items.append(_Token((_T_ERROR, start, msg, line_at(start))))
        return items

    def at_right_delim(p: int) -> tuple[bool, bool]:
        if p + 1 < n and text[p] in _SPACE and text[p + 1] == "-" and text.startswith("}}", p + 2):
            return True, True
        return text.startswith("}}", p), False

    def at_terminator(p: int) -> bool:
        return p >= n or text[p] in _TERMINATORS or text.startswith("}}", p)

    def accept(p: int, valid: str) -> int:
        return p + 1 if p < n and text[p] in valid else p

    def accept_run(p: int, valid: str) -> int:
        while p < n and text[p] in valid:
            p += 1
        return p

    def scan_number(p: int) -> tuple[bool, int]:
        p = accept(p, "+-")
        digits = "0123456789_"
        q = accept(p, "0")
        if q != p:
            p = q
            for prefix, ds in (("xX", "0123456789abcdefABCDEF_"), ("oO", "01234567_"), ("bB", "01_")):
                q = accept(p, prefix)
                if q != p:
                    p, digits = q, ds
                    break
        p = accept_run(p, digits)
        q = accept(p, ".")
        if q != p:
            p = accept_run(q, digits)
        if len(digits) == 11:
            q = accept(p, "eE")
            if q != p:
                p = accept_run(accept(q, "+-"), "0123456789_")
        if len(digits) == 23:
            q = accept(p, "pP")
            if q != p:
                p = accept_run(accept(q, "+-"), "0123456789_")
        p = accept(p, "i")
        if p < n and _is_alnum(text[p]):
            return False, p + 1
        return True, p

    while True:
        # -- text, up to the next "{{" -----------------------------------------------------
        x = text.find("{{", pos)
        if x < 0:
            pos = n
            if pos > start:
                emit(_T_TEXT)
            emit(_T_EOF)
            return items
        trim = 0
        if x + 3 < n and text[x + 2] == "-" and text[x + 3] in _SPACE:
            seg = text[start:x]
            trim = len(seg) - len(seg.rstrip(_SPACE))
        pos = x - trim
        if pos > start:
            emit(_T_TEXT)
        pos = x
        start = pos
        # -- left delimiter -------------------------------------------------------------------
        pos += 2
        trim_left = pos + 1 < n and text[pos] == "-" and text[pos + 1] in _SPACE
        after = 2 if trim_left else 0
        if text.startswith("/*", pos + after):
            pos += after
            start = pos
            pos += 2
            i = text.find("*/", pos)
            if i < 0:
                return error("unclosed comment")
            pos = i + 2
            delim, trim_right = at_right_delim(pos)
            if not delim:
                return error("comment ends before closing delimiter")
            if trim_right:
                pos += 2
            pos += 2
            if trim_right:
                rest = text[pos:]
                pos += len(rest) - len(rest.lstrip(_SPACE))
            start = pos
            continue
        emit(_T_LDELIM)
        pos += after
        start = pos
        depth = 0
        # -- inside the action ----------------------------------------------------------------
        while True:
            delim, trim_right = at_right_delim(pos)
            if delim:
                if depth:
                    return error("unclosed left paren")
                if trim_right:
                    pos += 2
                    start = pos
                pos += 2
                emit(_T_RDELIM)
                if trim_right:
                    rest = text[pos:]
                    pos += len(rest) - len(rest.lstrip(_SPACE))
                    start = pos
                break
            if pos >= n:
                return error("unclosed action")
            r = text[pos]
            if r in _SPACE:
                spaces = 0
                while pos < n and text[pos] in _SPACE:
                    pos += 1
                    spaces += 1
                # " -}}" ends the action: the space belongs to the trim marker.
                if text.startswith("-}}", pos) and text[pos - 1] in _SPACE:
                    pos -= 1
                    if spaces == 1:
                        continue  # at the delimiter
                emit(_T_SPACE)
                continue
            pos += 1
            if r == "=":
                emit(_T_ASSIGN)
            elif r == ":":
                if pos >= n or text[pos] != "=":
                    return error("expected :=")
                pos += 1
                emit(_T_DECLARE)
            elif r == "|":
                emit(_T_PIPE)
            elif r == '"':
                while True:
                    c = text[pos] if pos < n else ""
                    pos += 1
                    if c == "\\":
                        c2 = text[pos] if pos < n else ""
                        pos += 1
                        if c2 and c2 != "\n":
                            continue
                        return error("unterminated quoted string")
                    if c in {"", "\n"}:
                        return error("unterminated quoted string")
                    if c == '"':
                        break
                emit(_T_STRING)
            elif r == "`":
                i = text.find("`", pos)
                if i < 0:
                    return error("unterminated raw quoted string")
                pos = i + 1
                emit(_T_RAWSTRING)
            elif r == "'":
                while True:
                    c = text[pos] if pos < n else ""
                    pos += 1
                    if c == "\\":
                        c2 = text[pos] if pos < n else ""
                        pos += 1
                        if c2 and c2 != "\n":
                            continue
                        return error("unterminated character constant")
                    if c in {"", "\n"}:
                        return error("unterminated character constant")
                    if c == "'":
                        break
                emit(_T_CHARCONST)
            elif r == "$" or (r == "." and pos < n and not "0" <= text[pos] <= "9"):
                typ = _T_VARIABLE if r == "$" else _T_FIELD
                if at_terminator(pos):
                    emit(_T_VARIABLE if r == "$" else _T_DOT)
                    continue
                while pos < n and _is_alnum(text[pos]):
                    pos += 1
                if not at_terminator(pos):
                    return error("bad character " + _rune_desc(text[pos]))
                emit(typ)
            elif r in "+-." or "0" <= r <= "9":
                pos -= 1
                ok, pos = scan_number(pos)
                if not ok:
                    return error("bad number syntax: " + _go_quote(text[start:pos]))
                if pos < n and text[pos] in "+-":
                    ok, pos = scan_number(pos)
                    if not ok or text[pos - 1] != "i":
                        return error("bad number syntax: " + _go_quote(text[start:pos]))
                    emit(_T_COMPLEX)
                else:
                    emit(_T_NUMBER)
            elif _is_alnum(r):
                while pos < n and _is_alnum(text[pos]):
                    pos += 1
                word = text[start:pos]
                if not at_terminator(pos):
                    return error("bad character " + _rune_desc(text[pos]))
                kw = _KEYWORDS.get(word)
                if kw is not None:
                    emit(kw)
                elif word in {"true", "false"}:
                    emit(_T_BOOL)
                else:
                    emit(_T_IDENT)
            elif r == "(":
                emit(_T_LPAREN)
                depth += 1
            elif r == ")":
                emit(_T_RPAREN)
                depth -= 1
                if depth < 0:
                    return error("unexpected right paren U+0029 ')'")
            elif r.isascii() and r.isprintable():
                emit(_T_CHAR)
            else:
                return error("unrecognized character in action: " + _rune_desc(r))
        # the right delimiter was emitted; back to text


# ---------------------------------------------------------------------------------------------
# Parse tree. Each node knows its position (a character offset) and prints itself as Go's
# node.String() does, since an execution error quotes the failing node.


class _Node:
    __slots__ = ("pos",)
    pos: int

    def string(self) -> str:
        raise NotImplementedError


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        self.pos, self.text = pos, text

    def string(self) -> str:
        return self.text


class _List(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.nodes: list[_Node] = []

    def string(self) -> str:
        return "".join(n.string() for n in self.nodes)


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos: int) -> None:
        self.pos, self.is_assign = pos, False
        self.decl: list[_Variable] = []
        self.cmds: list[_Command] = []

    def string(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(v.string() for v in self.decl) + " := "
        return s + " | ".join(c.string() for c in self.cmds)


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe) -> None:
        self.pos, self.pipe = pos, pipe

    def string(self) -> str:
        return "{{" + self.pipe.string() + "}}"


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.args: list[_Node] = []

    def string(self) -> str:
        return " ".join("(" + a.string() + ")" if isinstance(a, _Pipe) else a.string() for a in self.args)


class _Identifier(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos, self.name = pos, name

    def string(self) -> str:
        return self.name


class _Variable(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos, self.ident = pos, name.split(".")

    def string(self) -> str:
        return ".".join(self.ident)


class _Dot(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def string(self) -> str:
        return "."


class _Nil(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def string(self) -> str:
        return "nil"


class _Field(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos, self.ident = pos, name[1:].split(".")

    def string(self) -> str:
        return "".join("." + i for i in self.ident)


class _Chain(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: _Node) -> None:
        self.pos, self.node = pos, node
        self.fields: list[str] = []

    def string(self) -> str:
        s = "(" + self.node.string() + ")" if isinstance(self.node, _Pipe) else self.node.string()
        return s + "".join("." + f for f in self.fields)


class _Bool(_Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        self.pos, self.value = pos, value

    def string(self) -> str:
        return "true" if self.value else "false"


class _Number(_Node):
    __slots__ = ("text", "is_int", "is_uint", "is_float", "int_value", "float_value")

    def __init__(self, pos: int, text: str) -> None:
        self.pos, self.text = pos, text
        self.is_int = self.is_uint = self.is_float = False
        self.int_value = 0
        self.float_value = 0.0

    def string(self) -> str:
        return self.text


class _String(_Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        self.pos, self.quoted, self.text = pos, quoted, text

    def string(self) -> str:
        return self.quoted


class _End(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def string(self) -> str:
        return "{{end}}"


class _Else(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def string(self) -> str:
        return "{{else}}"


class _Branch(_Node):
    __slots__ = ("pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos: int, pipe: _Pipe, lst: _List, else_list: _List | None) -> None:
        self.pos, self.pipe, self.list, self.else_list = pos, pipe, lst, else_list

    def string(self) -> str:
        s = "{{" + self.keyword + " " + self.pipe.string() + "}}" + self.list.string()
        if self.else_list is not None:
            s += "{{else}}" + self.else_list.string()
        return s + "{{end}}"


class _If(_Branch):
    __slots__ = ()
    keyword = "if"


class _Range(_Branch):
    __slots__ = ()
    keyword = "range"


class _With(_Branch):
    __slots__ = ()
    keyword = "with"


class _Break(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def string(self) -> str:
        return "{{break}}"


class _Continue(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def string(self) -> str:
        return "{{continue}}"


# -- literals --------------------------------------------------------------------------------


def _unquote_char(s: str, i: int, quote: str) -> tuple[int, bool, int]:
    """Go's ``strconv.UnquoteChar`` at s[i]: (code, is_byte, next index); ValueError if bad."""
    c = s[i]
    if c == quote and quote in "'\"":
        raise ValueError
    if c != "\\":
        return ord(c), False, i + 1
    if i + 1 >= len(s):
        raise ValueError
    c = s[i + 1]
    i += 2
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
    if c in simple:
        return simple[c], False, i
    if c in "xuU":
        size = {"x": 2, "u": 4, "U": 8}[c]
        hexd = s[i : i + size]
        if len(hexd) < size or not all(h in "0123456789abcdefABCDEF" for h in hexd):
            raise ValueError
        v = int(hexd, 16)
        if c == "x":
            return v, True, i + size
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise ValueError
        return v, False, i + size
    if "0" <= c <= "7":
        octd = s[i - 1 : i + 2]
        if len(octd) < 3 or not all("0" <= o <= "7" for o in octd):
            raise ValueError
        v = int(octd, 8)
        if v > 255:
            raise ValueError
        return v, True, i + 2
    if c in "'\"":
        if c != quote:
            raise ValueError
        return ord(c), False, i
    raise ValueError


def _unquote(q: str) -> str:
    """Go's ``strconv.Unquote`` for a "double-quoted" or `raw` string; ValueError if bad."""
    if q[0] == "`":
        if len(q) < 2 or q[-1] != "`" or "`" in q[1:-1]:
            raise ValueError
        return q[1:-1].replace("\r", "")
    body = q[1:-1]
    if "\\" not in body and '"' not in body and "\n" not in body:
        return body
    if "\n" in body:
        raise ValueError
    out = bytearray()
    i = 0
    while i < len(body):
        v, is_byte, i = _unquote_char(body, i, '"')
        if is_byte:
            out.append(v)
        else:
            out += chr(v).encode("utf-8", "surrogatepass")
    # \xNN escapes are bytes; Go keeps invalid UTF-8 that Python strings cannot hold.
    return out.decode("utf-8", "replace")


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s[:1] in "+-":
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i = 2
        saw = "0"
        hexa = s[1] in "xX"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and c.lower() in "abcdef"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _parse_int(text: str, signed: bool) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)`` / ``ParseUint``; None when it fails."""
    s = text
    neg = False
    if signed and s[:1] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if not s:
        return None
    base = 10
    body = s
    if s[0] == "0":
        if len(s) >= 3 and s[1] in "xX":
            base, body = 16, s[2:]
        elif len(s) >= 3 and s[1] in "oO":
            base, body = 8, s[2:]
        elif len(s) >= 3 and s[1] in "bB":
            base, body = 2, s[2:]
        elif len(s) > 1:
            base, body = 8, s[1:]
    if "_" in body or "_" in s:
        if not _underscore_ok(s):
            return None
        body = body.replace("_", "")
    if not body:
        return None
    valid = "0123456789abcdefABCDEF"[: base if base <= 10 else 22]
    if not all(c in valid for c in body):
        return None
    v = int(body, base)
    if neg:
        v = -v
    if signed:
        return v if -(1 << 63) <= v < (1 << 63) else None
    return v if v < (1 << 64) else None


def _parse_float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat(text, 64)`` for the forms the lexer lets through."""
    s = text
    if "_" in s:
        if not _underscore_ok(s):
            return None
        s = s.replace("_", "")
    body = s.lstrip("+-")
    try:
        if body[:2] in ("0x", "0X"):
            if "p" not in body and "P" not in body:
                return None
            return float.fromhex(s)
        if body[:2] in ("0b", "0B", "0o", "0O"):
            return None
        if not body or not (body[0].isdigit() or body[0] == "."):
            return None
        return float(s)
    except (ValueError, OverflowError):
        return None


# -- parser ----------------------------------------------------------------------------------


class _Parser:
    """Go's text/template parser, with its three-token look-ahead so that errors name the same
    line as Go's do."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _lex(text)
        self.next_item = 0
        self.token: list = [None, None, None]
        self.peek_count = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0

    # -- token stream ----------------------------------------------------------------------
    def lex_next(self) -> _Token:
        items = self.items
        if self.next_item < len(items):
            tok = items[self.next_item]
            self.next_item += 1
            return tok
        last = items[-1]  # an error ended the stream: Go's closed channel yields empty errors
        return _Token((_T_ERROR, last[1], "", last[3]))

    def next(self) -> _Token:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex_next()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: _Token) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: _Token, t1: _Token) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> _Token:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex_next()
        return self.token[0]

    def next_non_space(self) -> _Token:
        while True:
            tok = self.next()
            if tok[0] != _T_SPACE:
                return tok

    def peek_non_space(self) -> _Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    # -- errors ----------------------------------------------------------------------------
    def errorf(self, msg: str) -> NoReturn:
        tok = self.token[0]
        line = tok[3] if tok else 1
        pos = tok[1] if tok else 0
        prefix = self.text[:pos]
        col = len(prefix[prefix.rfind("\n") + 1 :].encode("utf-8", "surrogatepass"))
        raise TemplateError(f"template: :{line}: {msg}", line, col)

    def expect(self, typ: int, context: str) -> _Token:
        tok = self.next_non_space()
        if tok[0] != typ:
            self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: _Token, context: str) -> None:
        if tok[0] == _T_ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != tok[3]:
                extra = f" in action started at :{self.action_line}"
                if tok[2].endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(tok.describe() + extra)
        self.errorf(f"unexpected {tok.describe()} in {context}")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> _List:
        root = _List(self.peek()[1])
        while self.peek()[0] != _T_EOF:
            if self.peek()[0] == _T_LDELIM:
                delim = self.next()
                if self.next_non_space()[0] == _T_DEFINE:
                    self.errorf("{{define}} is not supported by pycnm's templates")
                self.backup2(delim)
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                self.errorf(f"unexpected {n.string()}")
            root.nodes.append(n)
        return root

    def item_list(self) -> tuple[_List, _Node]:
        lst = _List(self.peek_non_space()[1])
        while self.peek_non_space()[0] != _T_EOF:
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")
        raise AssertionError  # errorf raised

    def text_or_action(self) -> _Node:
        tok = self.next_non_space()
        if tok[0] == _T_TEXT:
            return _Text(tok[1], tok[2])
        if tok[0] == _T_LDELIM:
            self.action_line = tok[3]
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(tok, "input")
        raise AssertionError

    def action(self) -> _Node:
        tok = self.next_non_space()
        typ = tok[0]
        if typ == _T_BREAK:
            return self.break_control(tok, "{{break}}", _Break)
        if typ == _T_CONTINUE:
            return self.break_control(tok, "{{continue}}", _Continue)
        if typ == _T_ELSE:
            return self.else_control()
        if typ == _T_END:
            return _End(self.expect(_T_RDELIM, "end")[1])
        if typ == _T_IF:
            return _If(*self.parse_control(True, "if"))
        if typ == _T_RANGE:
            return _Range(*self.parse_control(False, "range"))
        if typ == _T_WITH:
            return _With(*self.parse_control(False, "with"))
        if typ in (_T_BLOCK, _T_TEMPLATE):
            self.errorf(f"{{{{{tok[2]}}}}} is not supported by pycnm's templates")
        self.backup()
        tok = self.peek()
        return _Action(tok[1], self.pipeline("command", _T_RDELIM))

    def break_control(self, tok: _Token, what: str, cls: type) -> _Node:
        nxt = self.next_non_space()
        if nxt[0] != _T_RDELIM:
            self.unexpected(nxt, what)
        if self.range_depth == 0:
            self.errorf(f"{what} outside {{{{range}}}}")
        return cls(tok[1])

    def else_control(self) -> _Node:
        peek = self.peek_non_space()
        if peek[0] == _T_IF:
            return _Else(peek[1])  # "else if": the if is parsed as a nested block
        return _Else(self.expect(_T_RDELIM, "else")[1])

    def parse_control(self, allow_else_if: bool, context: str) -> tuple:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, _T_RDELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(nxt, _Else):
                if allow_else_if and self.peek()[0] == _T_IF:
                    # {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}
                    self.next()
                    else_list = _List(nxt.pos)
                    else_list.nodes.append(_If(*self.parse_control(True, "if")))
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, _End):
                        self.errorf(f"expected end; found {nxt.string()}")
            return pipe.pos, pipe, lst, else_list
        finally:
            del self.vars[nvars:]

    def pipeline(self, context: str, end: int) -> _Pipe:
        tok = self.peek_non_space()
        pipe = _Pipe(tok[1])
        while True:  # declarations
            v = self.peek_non_space()
            if v[0] != _T_VARIABLE:
                break
            self.next()
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt[0] in (_T_ASSIGN, _T_DECLARE):
                pipe.is_assign = nxt[0] == _T_ASSIGN
                self.next_non_space()
                pipe.decl.append(_Variable(v[1], v[2]))
                self.vars.append(v[2])
            elif nxt[0] == _T_CHAR and nxt[2] == ",":
                self.next_non_space()
                pipe.decl.append(_Variable(v[1], v[2]))
                self.vars.append(v[2])
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space()[0] in (_T_VARIABLE, _T_RDELIM, _T_RPAREN):
                        continue  # the second variable of a range
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif after[0] == _T_SPACE:
                self.backup3(v, after)
            else:
                self.backup2(v)
            break
        while True:
            tok = self.next_non_space()
            if tok[0] == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok[0] in (
                _T_BOOL,
                _T_CHARCONST,
                _T_COMPLEX,
                _T_DOT,
                _T_FIELD,
                _T_IDENT,
                _T_NUMBER,
                _T_NIL,
                _T_RAWSTRING,
                _T_STRING,
                _T_VARIABLE,
                _T_LPAREN,
            ):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (_Bool, _Dot, _Nil, _Number, _String)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space()[1])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok[0] == _T_SPACE:
                continue
            if tok[0] in (_T_RDELIM, _T_RPAREN):
                self.backup()
            elif tok[0] != _T_PIPE:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek()[0] == _T_FIELD:
            chain = _Chain(self.peek()[1], node)
            while self.peek()[0] == _T_FIELD:
                chain.fields.append(self.next()[2][1:])
            if isinstance(node, _Field):
                return _Field(chain.pos, chain.string())
            if isinstance(node, _Variable):
                return _Variable(chain.pos, chain.string())
            if isinstance(node, (_Bool, _String, _Number, _Nil, _Dot)):
                self.errorf(f"unexpected . after term {_go_quote(node.string())}")
            return chain
        return node

    def term(self) -> _Node | None:
        tok = self.next_non_space()
        typ, pos, val = tok[0], tok[1], tok[2]
        if typ == _T_IDENT:
            if val not in _FUNCS:
                self.errorf(f"function {_go_quote(val)} not defined")
            return _Identifier(pos, val)
        if typ == _T_DOT:
            return _Dot(pos)
        if typ == _T_NIL:
            return _Nil(pos)
        if typ == _T_VARIABLE:
            v = _Variable(pos, val)
            if v.ident[0] not in self.vars:
                self.errorf(f"undefined variable {_go_quote(v.ident[0])}")
            return v
        if typ == _T_FIELD:
            return _Field(pos, val)
        if typ == _T_BOOL:
            return _Bool(pos, val == "true")
        if typ in (_T_CHARCONST, _T_COMPLEX, _T_NUMBER):
            return self.number(pos, val, typ)
        if typ == _T_LPAREN:
            return self.pipeline("parenthesized pipeline", _T_RPAREN)
        if typ in (_T_STRING, _T_RAWSTRING):
            try:
                return _String(pos, val, _unquote(val))
            except ValueError:
                self.errorf("invalid syntax")
        self.backup()
        return None

    def number(self, pos: int, text: str, typ: int) -> _Number:
        n = _Number(pos, text)
        if typ == _T_CHARCONST:
            try:
                code, _, nxt = _unquote_char(text, 1, "'")
            except (ValueError, IndexError):
                self.errorf("invalid syntax")
            if text[nxt:] != "'":
                self.errorf(f"malformed character constant: {text}")
            n.is_int = n.is_uint = n.is_float = True
            n.int_value, n.float_value = code, float(code)
            return n
        if typ == _T_COMPLEX or (text.endswith("i") and _parse_float(text[:-1]) is not None):
            self.errorf(f"complex number {text} is not supported by pycnm's templates")
        u = _parse_int(text, False)
        i = _parse_int(text, True)
        if u is not None:
            n.is_uint = True
        if i is not None:
            n.is_int = True
            n.int_value = i
            if i == 0:
                n.is_uint = True
        if n.is_int:
            n.is_float, n.float_value = True, float(n.int_value)
        elif u is not None:  # (is_uint, and not an int)
            n.is_float, n.float_value = True, float(u)
            n.int_value = u
        else:
            f = _parse_float(text)
            if f is not None:
                if not any(c in text for c in ".eEpP"):
                    self.errorf(f"integer overflow: {_go_quote(text)}")
                n.is_float, n.float_value = True, f
                if f == f and abs(f) != float("inf") and f == int(f):  # noqa: PLR0124 - finite, as above
                    iv = int(f)
                    if -(1 << 63) <= iv < (1 << 63):
                        n.is_int, n.int_value = True, iv
                    if 0 <= iv < (1 << 64):
                        n.is_uint = True
        if not (n.is_int or n.is_uint or n.is_float):
            self.errorf(f"illegal number syntax: {_go_quote(text)}")
        return n


# ---------------------------------------------------------------------------------------------
# Execution


class _BreakLoop(Exception):
    """{{break}}: unwinds to the range that runs it."""


class _ContinueLoop(Exception):
    """{{continue}}: unwinds to the range's next iteration."""


def _method_spec(method: Any) -> _Spec:
    """Parameter kinds of a Python method, from its signature and str/int annotations."""
    func = getattr(method, "__func__", method)
    code = getattr(func, "__code__", None)
    if code is None:
        return (), _A, method
    bound = 1 if hasattr(method, "__self__") else 0
    names = code.co_varnames[bound : code.co_argcount]
    ann = getattr(func, "__annotations__", {}) or {}
    kinds = []
    for name in names:
        a = ann.get(name)
        kinds.append(_S if a in (str, "str") else _I if a in (int, "int") else _A)
    return tuple(kinds), (_A if code.co_flags & 0x04 else None), method


def _find_method(receiver: Any, name: str) -> Any:
    """A public method of an object (or of a dict subclass: not dict's own), else _ABSENT."""
    if name.startswith("_") or isinstance(receiver, (str, int, float, list, tuple)):
        return _ABSENT  # Go's strings, numbers and slices have no methods
    if isinstance(receiver, dict) and (type(receiver) is dict or hasattr(dict, name)):
        return _ABSENT
    attr = getattr(type(receiver), name, _ABSENT)
    if attr is _ABSENT or not callable(attr) or isinstance(attr, type):
        return _ABSENT
    return getattr(receiver, name)


class _State:
    """One execution: the output so far, the variables, and the node being run (for errors)."""

    __slots__ = ("text", "out", "node", "vars", "funcs", "missingkey")

    def __init__(self, text: str, out: list, funcs: dict, missingkey: str) -> None:
        self.text = text
        self.out = out
        self.node: _Node | None = None
        self.vars: list[list] = []
        self.funcs = funcs
        self.missingkey = missingkey

    def errorf(self, msg: str) -> NoReturn:
        node = self.node
        if node is None:
            raise TemplateError(f"template: : {msg}")
        prefix = self.text[: node.pos]
        line = 1 + prefix.count("\n")
        col = len(prefix[prefix.rfind("\n") + 1 :].encode("utf-8", "surrogatepass"))
        raise TemplateError(f'template: :{line}:{col}: executing "" at <{node.string()}>: {msg}', line, col)

    # -- variables -------------------------------------------------------------------------
    def var_value(self, name: str) -> tuple[Any, bool]:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1], v[2]
        self.errorf(f"undefined variable: {name}")
        raise AssertionError

    def set_var(self, name: str, value: Any) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1], v[2] = value, False
                return
        self.errorf(f"undefined variable: {name}")

    # -- walking ---------------------------------------------------------------------------
    def walk(self, dot: Any, boxed: bool, node: _Node) -> None:
        self.node = node
        if type(node) is _Text:
            self.out.append(node.text)
        elif type(node) is _Action:
            pipe = node.pipe
            val = self.eval_pipeline(dot, boxed, pipe)
            if not pipe.decl:
                self.node = node
                self.out.append(_format_v(val))
        elif type(node) is _List:
            for n in node.nodes:
                self.walk(dot, boxed, n)
        elif type(node) is _If or type(node) is _With:
            mark = len(self.vars)
            try:
                val = self.eval_pipeline(dot, boxed, node.pipe)
                if _truth(val):
                    if type(node) is _With:
                        self.walk(val, False, node.list)
                    else:
                        self.walk(dot, boxed, node.list)
                elif node.else_list is not None:
                    self.walk(dot, boxed, node.else_list)
            finally:
                del self.vars[mark:]
        elif type(node) is _Range:
            self.walk_range(dot, boxed, node)
        elif type(node) is _Break:
            raise _BreakLoop
        elif type(node) is _Continue:
            raise _ContinueLoop

    def walk_range(self, dot: Any, boxed: bool, r: _Range) -> None:
        self.node = r
        outer = len(self.vars)
        try:
            val = self.eval_pipeline(dot, boxed, r.pipe)
            mark = len(self.vars)
            ndecl = len(r.pipe.decl)

            def one(index: Any, elem: Any, eboxed: bool) -> None:
                if ndecl > 0:
                    self.vars[-1][1:] = [elem, eboxed]
                if ndecl > 1:
                    self.vars[-2][1:] = [index, False]
                try:
                    self.walk(elem, eboxed, r.list)
                except _ContinueLoop:
                    pass
                del self.vars[mark:]

            try:
                if isinstance(val, (list, tuple)):
                    if val:
                        eb = _elements_are_interfaces(val)
                        for i, e in enumerate(val):
                            one(i, e, eb)
                        return
                elif isinstance(val, dict):
                    if val:
                        eb = _elements_are_interfaces(val)
                        for k in _sorted_keys(val):
                            one(k, val[k], eb)
                        return
                elif val is not MISSING:
                    self.errorf(f"range can't iterate over {_format_v(val)}")
            except _BreakLoop:
                return
            if r.else_list is not None:
                self.walk(dot, boxed, r.else_list)
        finally:
            del self.vars[outer:]

    # -- evaluation ------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, boxed: bool, pipe: _Pipe) -> Any:
        self.node = pipe
        value: Any = _NOFINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, boxed, cmd, value)
            if value is None:  # a nil interface{} is no value at all once it is a result
                value = MISSING
        for v in pipe.decl:
            if pipe.is_assign:
                self.set_var(v.ident[0], value)
            else:
                self.vars.append([v.ident[0], value, False])
        return value

    def not_a_function(self, args: list, final: Any) -> None:
        if len(args) > 1 or final is not _NOFINAL:
            self.errorf(f"can't give argument to non-function {args[0].string()}")

    def eval_command(self, dot: Any, boxed: bool, cmd: _Command, final: Any) -> Any:
        first = cmd.args[0]
        if type(first) is _Field:
            return self.eval_field_node(dot, boxed, first, cmd.args, final)
        if type(first) is _Chain:
            return self.eval_chain(dot, boxed, first, cmd.args, final)
        if type(first) is _Identifier:
            return self.eval_function(dot, boxed, first, cmd, cmd.args, final)
        if type(first) is _Pipe:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, boxed, first)
        if type(first) is _Variable:
            return self.eval_variable(dot, boxed, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if type(first) is _Bool:
            return first.value
        if type(first) is _Dot:
            return dot
        if type(first) is _Nil:
            self.errorf("nil is not a command")
        if type(first) is _Number:
            return self.ideal_constant(first)
        if type(first) is _String:
            return first.text
        self.errorf(f"can't evaluate command {_go_quote(first.string())}")

    def ideal_constant(self, n: _Number) -> Any:
        self.node = n
        text = n.text
        is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(c in text for c in "pP")
        if n.is_float and not is_hex_int and text[0] != "'" and any(c in text for c in ".eEpP"):
            return n.float_value
        if n.is_int:
            return n.int_value
        if n.is_uint:
            self.errorf(f"{text} overflows int")
        return MISSING

    def eval_field_node(self, dot: Any, boxed: bool, field: _Field, args: list | None, final: Any) -> Any:
        self.node = field
        return self.eval_field_chain(dot, boxed, dot, boxed, field, field.ident, args, final)

    def eval_chain(self, dot: Any, boxed: bool, chain: _Chain, args: list | None, final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, _Nil):
            self.errorf(f"indirection through explicit nil in {chain.string()}")
        value = self.eval_arg(dot, boxed, None, chain.node)
        return self.eval_field_chain(dot, boxed, value, False, chain, chain.fields, args, final)

    def eval_variable(self, dot: Any, boxed: bool, var: _Variable, args: list | None, final: Any) -> Any:
        self.node = var
        value, vboxed = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args or [var], final)
            return value
        return self.eval_field_chain(dot, boxed, value, vboxed, var, var.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        boxed: bool,
        receiver: Any,
        rboxed: bool,
        node: _Node,
        ident: list,
        args: list | None,
        final: Any,
    ) -> Any:
        for name in ident[:-1]:
            receiver, rboxed = self.eval_field(dot, boxed, name, node, None, _NOFINAL, receiver, rboxed)
        return self.eval_field(dot, boxed, ident[-1], node, args, final, receiver, rboxed)[0]

    def eval_field(
        self, dot: Any, boxed: bool, name: str, node: _Node, args: list | None, final: Any, receiver: Any, rboxed: bool
    ) -> tuple[Any, bool]:
        if receiver is MISSING:
            if self.missingkey == "error":
                self.errorf(f"nil data; no entry for key {_go_quote(name)}")
            return MISSING, False
        typ = "interface {}" if rboxed or receiver is None else None
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        rt = type(receiver)
        simple = rt is dict or rt is str or rt is int or rt is list or rt is float or rt is bool or rt is tuple
        if not simple:
            method = _find_method(receiver, name)
            if method is not _ABSENT:
                result = self.eval_call(dot, boxed, _method_spec(method), False, node, name, args, final, user=True)
                return result, result is None
        has_args = (args is not None and len(args) > 1) or final is not _NOFINAL
        if isinstance(receiver, dict):
            value = receiver.get(name, _ABSENT)
            if value is not _ABSENT or not receiver or all(type(k) is str for k in receiver):
                if has_args:
                    self.errorf(f"{name} is not a method but has arguments")
                if value is _ABSENT:
                    if self.missingkey == "error":
                        self.errorf(f"map has no entry for key {_go_quote(name)}")
                    if self.missingkey == "zero":
                        zero = _zero_element(receiver)
                        return zero, zero is None
                    return MISSING, False
                return value, (value is None or _elements_are_interfaces(receiver))
        elif not simple and not _is_scalar(receiver) and not name.startswith("_"):
            value = getattr(receiver, name, _ABSENT)
            if value is not _ABSENT:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return value, value is None
        self.errorf(f"can't evaluate field {name} in type {typ or _go_type(receiver)}")
        raise AssertionError

    def eval_function(self, dot: Any, boxed: bool, node: _Identifier, cmd: _Node, args: list | None, final: Any) -> Any:
        self.node = node
        spec = self.funcs.get(node.name)
        if spec is None:
            self.errorf(f"{_go_quote(node.name)} is not a defined function")
        return self.eval_call(dot, boxed, spec, node.name in _BUILTINS, cmd, node.name, args, final)

    def eval_call(
        self,
        dot: Any,
        boxed: bool,
        spec: _Spec,
        builtin: bool,
        node: _Node,
        name: str,
        args: list | None,
        final: Any,
        user: bool = False,
    ) -> Any:
        argnodes = args[1:] if args is not None else []
        fixed, var, impl = spec
        num_in = len(argnodes) + (final is not _NOFINAL)
        if var is not None:
            num_fixed = len(fixed)
            if num_in < num_fixed:
                self.errorf(f"wrong number of args for {name}: want at least {num_fixed} got {len(argnodes)}")
        else:
            num_fixed = len(argnodes)
            if num_in != len(fixed):
                self.errorf(f"wrong number of args for {name}: want {len(fixed)} got {num_in}")
        if builtin and name in {"and", "or"}:
            # and/or stop at the first argument that decides, as Go 1.18 and later do.
            want = name == "or"
            v: Any = MISSING
            for a in argnodes:
                v = self.eval_arg(dot, boxed, _V, a)
                if _truth(v) == want:
                    return v
            if final is not _NOFINAL:
                v = final
            return v
        argv = []
        i = 0
        while i < num_fixed and i < len(argnodes):
            argv.append(self.eval_arg(dot, boxed, fixed[i], argnodes[i]))
            i += 1
        if var is not None:
            while i < len(argnodes):
                argv.append(self.eval_arg(dot, boxed, var, argnodes[i]))
                i += 1
        if final is not _NOFINAL:
            if var is not None:
                t = fixed[num_in - 1] if num_in - 1 < num_fixed else var
            else:
                t = fixed[-1]
            argv.append(self.validate(final, t))
        try:
            return impl(*argv)
        except _CallError as exc:
            self.node = node
            self.errorf(f"error calling {name}: {exc}")
        except TemplateError:
            raise
        except Exception as exc:
            if not user:
                raise
            # A method of the caller's that raises is Go's method returning an error.
            self.node = node
            self.errorf(f"error calling {name}: {exc}")

    def validate(self, value: Any, kind: str | None) -> Any:
        """Go's validateType: can the value be passed as a parameter of this kind?"""
        if kind is None or kind is _V:
            return value
        if kind is _A:
            return None if value is MISSING else value
        if value is MISSING:
            self.errorf(f"invalid value; expected {kind}")
        if kind is _S:
            if isinstance(value, str):
                return value
        elif isinstance(value, int) and not isinstance(value, (bool, _Uint8)):
            return value
        got = "interface {}" if value is None else _go_type(value)
        self.errorf(f"wrong type for value; expected {kind}; got {got}")

    def eval_arg(self, dot: Any, boxed: bool, kind: str | None, n: _Node) -> Any:
        self.node = n
        if type(n) is _Dot:
            return self.validate(dot, kind)
        if type(n) is _Nil:
            if kind is _V:
                return MISSING
            if kind is _A:
                return None
            self.errorf(f"cannot assign nil to {kind}")
        if type(n) is _Field:
            return self.validate(self.eval_field_node(dot, boxed, n, [n], _NOFINAL), kind)
        if type(n) is _Variable:
            return self.validate(self.eval_variable(dot, boxed, n, None, _NOFINAL), kind)
        if type(n) is _Pipe:
            return self.validate(self.eval_pipeline(dot, boxed, n), kind)
        if type(n) is _Identifier:
            return self.validate(self.eval_function(dot, boxed, n, n, None, _NOFINAL), kind)
        if type(n) is _Chain:
            return self.validate(self.eval_chain(dot, boxed, n, None, _NOFINAL), kind)
        if kind is _S:
            if type(n) is _String:
                return n.text
            self.errorf(f"expected string; found {n.string()}")
        if kind is _I:
            if type(n) is _Number and n.is_int:
                return n.int_value
            self.errorf(f"expected integer; found {n.string()}")
        if type(n) is _Bool:
            return n.value
        if type(n) is _Number:
            return self.ideal_constant(n)
        if type(n) is _String:
            return n.text
        self.errorf(f"can't handle {n.string()} for arg of type {kind}")


# ---------------------------------------------------------------------------------------------
# Public API


class Template:
    """A parsed template; :func:`compile` makes (and caches) them."""

    __slots__ = ("text", "_root")

    def __init__(self, text: str) -> None:
        self.text = text
        self._root = _Parser(text).parse()

    def execute(self, data: Any, missingkey: str = "default") -> str:
        """Run the template on ``data`` and return what it prints.

        ``missingkey`` is Go's option of that name: ``"default"`` prints a missing map key as
        ``<no value>``; ``"error"`` fails (what ``docker inspect -f`` does for a key its typed
        struct lacks); ``"zero"`` gives the element type's zero value.
        Raises :class:`TemplateError` (its ``partial`` is the output up to the failure).
        """
        out: list[str] = []
        try:
            self._execute(data, out, _FUNCS, missingkey)
        except TemplateError as exc:
            exc.partial = "".join(out)
            raise
        return "".join(out)

    def _execute(self, data: Any, out: list, funcs: dict, missingkey: str = "default") -> None:
        if missingkey not in ("default", "invalid", "zero", "error"):
            raise ValueError(f"missingkey must be default, invalid, zero or error, not {missingkey!r}")
        state = _State(self.text, out, funcs, missingkey)
        if data is None:
            data = MISSING  # Go's reflect.ValueOf(nil): no value, not a nil interface
        state.vars.append(["$", data, False])
        try:
            state.walk(data, False, self._root)
        except RecursionError:
            raise TemplateError("template: : data or template nested too deeply") from None

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


_CACHE: dict[str, Template] = {}


def compile(text: str) -> Template:  # noqa: A001 - the name the CLI reads best with
    """Parse a template (cached: a command formats many rows with one template).

    Raises :class:`TemplateError` for what does not parse: an unclosed action, an unknown
    function, an ``{{end}}`` without a block, an undefined variable, and the parts of Go's
    language pycnm refuses (``define``, ``template``, ``block``, complex numbers).
    """
    tmpl = _CACHE.get(text)
    if tmpl is None:
        tmpl = Template(text)
        if len(_CACHE) >= 256:
            _CACHE.clear()
        _CACHE[text] = tmpl
    return tmpl


def _docker_template_string(fmt: str) -> str:
    """What docker's formatter makes of a --format value before parsing it."""
    if fmt == "json":
        return "{{json .}}"
    if fmt.startswith("table"):
        fmt = fmt[5:]
    fmt = fmt.strip(" ")
    # docker accepts the two characters \t and \n for a tab and a newline (shells make typing
    # a real tab awkward).
    return fmt.replace("\\t", "\t").replace("\\n", "\n")


def render_each(
    text: str, items: Iterable[Any], headers: Mapping[str, str] | None = None, default_table: str | None = None
) -> str:
    """Format a listing as ``docker ... ls --format TEXT`` does.

    Each item's output is followed by a newline. A format starting with ``table`` prints a
    header row first (the same template run on ``headers``, a mapping of field name to column
    name such as ``{"ID": "NETWORK ID"}``), and aligns the tab-separated columns as docker's
    tabwriter does (minimum width 10, padding 3). ``table`` alone means ``default_table``,
    e.g. ``"table {{.ID}}\\t{{.Name}}"``. ``json`` alone means ``{{json .}}`` per item.
    The two characters ``\\t`` and ``\\n`` in ``text`` mean a tab and a newline, as in docker.
    Raises :class:`TemplateError`; nothing is printed for a listing where one item fails.
    """
    fmt = text
    if fmt == "table":
        if default_table is None:
            raise ValueError("render_each: 'table' alone needs the default_table columns")
        fmt = default_table if default_table.startswith("table") else "table " + default_table
    tmpl = compile(_docker_template_string(fmt))
    rows: list[str] = []
    for item in items:
        tmpl._execute(item, rows, _FUNCS)
        rows.append("\n")
    if not fmt.startswith("table"):
        return "".join(rows)
    header: list[str] = []
    try:
        tmpl._execute(_HeaderContext(headers or {}), header, _HEADER_FUNCS)
    except TemplateError:
        pass  # docker ignores a header that fails: what printed before the failure stays
    header.append("\n")
    return _tabwrite("".join(header) + "".join(rows))


# ---------------------------------------------------------------------------------------------
# docker's tabwriter (Go's text/tabwriter, cell widths counted in terminal columns)

_TAB_MINWIDTH, _TAB_PADDING = 10, 3  # docker/cli formatter: NewWriter(out, 10, 1, 3, ' ', 0)


def _display_width(s: str) -> int:
    if s.isascii():
        return len(s)
    import unicodedata  # only for tables with non-ASCII cells

    width = 0
    for ch in s:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _tabwrite(text: str, minwidth: int = _TAB_MINWIDTH, padding: int = _TAB_PADDING) -> str:
    """Align tab-terminated cells in columns (elastic tabstops, as Go's tabwriter).

    Cells are terminated by tabs; the text after a line's last tab is not part of a column.
    A column block is a run of consecutive lines that have a cell in that column; its width is
    the widest cell plus ``padding``, at least ``minwidth``.
    """
    lines: list[list[tuple[str, int]]] = []
    raw_lines = text.replace("\f", "\n").split("\n")
    for i, raw in enumerate(raw_lines):
        cells = raw.replace("\v", "\t").split("\t")
        if i == len(raw_lines) - 1 and cells[-1] == "":
            cells.pop()  # the text after the last newline: only a non-empty cell counts
        lines.append([(c, _display_width(c)) for c in cells])
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            for j, (cell, w) in enumerate(lines[i]):
                out.append(cell)
                if j < len(widths):
                    out.append(" " * (widths[j] - w))
            if i + 1 < len(lines):
                out.append("\n")

    def format_block(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                w = lines[this][column][1] + padding
                width = max(width, w)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    format_block(0, len(lines))
    return "".join(out)
