"""The expression language of workflow graphs.

Two kinds of expressions exist:

* **Templates** — any string param. ``{name}``, ``{order.lines[0].sku}`` and ``{a["key"]}``
  are replaced by the variable's value; ``{{`` and ``}}`` are literal braces; the exact token
  ``{{credential}}`` is replaced by the node's vault secret. A string that is exactly one
  ``{expr}`` yields the value itself (a list stays a list); inside longer text the value is
  formatted as text (objects and lists as JSON, ``None`` as nothing, booleans as
  ``true``/``false``). Template expressions are *paths* only: a variable name, then ``.key``,
  ``[index]`` or ``["key"]`` steps over objects and lists — there is no attribute access and no
  function call. ``{"text"}`` (a quoted string) yields the text itself; :func:`escape` uses it
  to write a literal ``{credential}``.
* **Conditions** — ``logic.if``, ``loop.while``, ...: ``len(order) > 0 and lower(status) ==
  "ok"``. They are parsed with :mod:`ast` (expression mode), checked against a whitelist of node
  types and functions, and evaluated by :mod:`simpleeval` — never Python's ``eval``. Dotted
  access reads object keys (``order.lines[0].qty``); nothing else has attributes.

Syntax problems are reported by :func:`check_template` / :func:`check_condition` so the
validator rejects a graph at save time rather than at run time.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpleeval

from .patterns import PatternError, compile_pattern

__all__ = [
    "CREDENTIAL_TOKEN",
    "FUNCTIONS",
    "ExpressionError",
    "check_condition",
    "check_template",
    "escape",
    "evaluate",
    "format_value",
    "has_expressions",
    "is_identifier",
    "references",
    "render",
    "uses_credential",
]

CREDENTIAL_TOKEN = "{{credential}}"  # noqa: S105 - a placeholder, not a secret

#: longest condition accepted (characters); longer ones are refused before parsing
MAX_CONDITION_LENGTH = 10_000
#: longest string a condition may build (by ``+``, ``*`` or a function); a list or object a
#: condition builds, or turns into text, is held to the same size written as text
MAX_STRING_LENGTH = 100_000
#: most elements a condition may build into one list (``*``, ``+``, ``split``, ``keys``, ...)
MAX_ITEMS = 10_000
#: largest integer (in bits) a condition may compute
MAX_INT_BITS = 4_096

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_IDENT_START = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT_RE = re.compile(r"-?[0-9]+")

#: names a condition may use as constants (JSON spellings too); never variables
_CONSTANTS: dict[str, Any] = {
    "True": True,
    "False": False,
    "None": None,
    "true": True,
    "false": False,
    "null": None,
}


class ExpressionError(ValueError):
    """A template or condition is malformed, or cannot be evaluated with these variables."""


def is_identifier(name: object) -> bool:
    """True for a valid variable name: ASCII letters, digits and ``_``, not starting with a
    digit, not a dunder name."""
    return isinstance(name, str) and bool(_IDENT_RE.match(name)) and not name.startswith("__")


# ---------------------------------------------------------------------------------------------
# Templates


@dataclass(frozen=True)
class _Path:
    """One ``{...}`` of a template: a variable (or a quoted literal) and key/index steps."""

    source: str
    root: str | None  # variable name; None for a quoted literal
    literal: str | None
    steps: tuple[str | int, ...]


@dataclass(frozen=True)
class _Credential:
    pass


_Segment = str | _Path | _Credential


def _scan_quoted(text: str, start: int) -> int:
    """Index just past the quoted string that starts at ``start`` (backslash escapes)."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return i + 1
        i += 1
    raise ExpressionError(f"unterminated string starting at position {start}")


def _parse_string_literal(token: str) -> str:
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError) as exc:
        raise ExpressionError(f"bad string literal {token}") from exc
    if not isinstance(value, str):
        raise ExpressionError(f"bad string literal {token}")
    return value


def _parse_path(source: str, offset: int) -> _Path:
    """Parse the inside of ``{...}``: ``name``, ``a.b[0]["k"]`` or a quoted string."""
    s = source
    n = len(s)
    i = 0

    def skip_ws(j: int) -> int:
        while j < n and s[j] in " \t":
            j += 1
        return j

    def fail(msg: str) -> ExpressionError:
        return ExpressionError(
            f"{{{source}}} at position {offset}: {msg} "
            '(templates allow variable paths like {a.b[0]} or {a["key"]}; '
            "write {{ and }} for literal braces)"
        )

    i = skip_ws(i)
    if i >= n:
        raise fail("empty expression")
    root: str | None = None
    literal: str | None = None
    if s[i] in "\"'":
        end = _scan_quoted(s, i)
        literal = _parse_string_literal(s[i:end])
        i = skip_ws(end)
        if i != n:
            raise fail("a quoted string cannot be followed by anything")
        return _Path(source, None, literal, ())
    m = _IDENT_START.match(s, i)
    if not m:
        raise fail("expected a variable name")
    root = m.group(0)
    if root.startswith("__"):
        raise fail(f"names starting with '__' are not allowed ({root})")
    i = m.end()
    steps: list[str | int] = []
    while True:
        if i < n and s[i] == ".":
            m = _IDENT_START.match(s, i + 1)
            if not m:
                raise fail("expected a key name after '.'")
            key = m.group(0)
            if key.startswith("__"):
                raise fail(f"names starting with '__' are not allowed ({key})")
            steps.append(key)
            i = m.end()
        elif i < n and s[i] == "[":
            j = skip_ws(i + 1)
            if j < n and s[j] in "\"'":
                end = _scan_quoted(s, j)
                steps.append(_parse_string_literal(s[j:end]))
                j = end
            else:
                m = _INT_RE.match(s, j)
                if not m:
                    raise fail("expected a number or a quoted key inside [...]")
                steps.append(int(m.group(0)))
                j = m.end()
            j = skip_ws(j)
            if j >= n or s[j] != "]":
                raise fail("expected ']'")
            i = j + 1
        else:
            break
    i = skip_ws(i)
    if i != n:
        raise fail(f"unexpected {s[i]!r}")
    return _Path(source, root, literal, tuple(steps))


#: templates up to this length are parsed once and cached (longer ones are parsed every time,
#: so the cache never pins large texts in a long-running runner)
_CACHE_MAX_LENGTH = 2_048


def _parse_template(text: str) -> tuple[_Segment, ...]:
    if len(text) <= _CACHE_MAX_LENGTH:
        return _parse_template_cached(text)
    return _parse_template_uncached(text)


def _parse_template_uncached(text: str) -> tuple[_Segment, ...]:
    segments: list[_Segment] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith(CREDENTIAL_TOKEN, i):
                if buf:
                    segments.append("".join(buf))
                    buf = []
                segments.append(_Credential())
                i += len(CREDENTIAL_TOKEN)
                continue
            if i + 1 < n and text[i + 1] == "{":
                buf.append("{")
                i += 2
                continue
            # an expression: find its closing brace outside quotes
            j = i + 1
            while j < n and text[j] != "}":
                if text[j] in "\"'":
                    j = _scan_quoted(text, j)
                    continue
                if text[j] == "{":
                    raise ExpressionError(
                        f"'{{' inside an expression at position {j} "
                        "(write {{ for a literal brace)"
                    )
                j += 1
            if j >= n:
                raise ExpressionError(
                    f"unclosed '{{' at position {i} (write {{{{ for a literal brace)"
                )
            if buf:
                segments.append("".join(buf))
                buf = []
            segments.append(_parse_path(text[i + 1 : j], i))
            i = j + 1
        elif ch == "}":
            if i + 1 < n and text[i + 1] == "}":
                buf.append("}")
                i += 2
                continue
            raise ExpressionError(f"single '}}' at position {i} (write }}}} for a literal brace)")
        else:
            buf.append(ch)
            i += 1
    if buf:
        segments.append("".join(buf))
    return tuple(segments)


_parse_template_cached = lru_cache(maxsize=4096)(_parse_template_uncached)


def escape(text: str) -> str:
    """The template that renders to exactly ``text`` (braces doubled)."""
    out: list[str] = []
    i = 0
    literal = "{credential}"
    while i < len(text):
        if text.startswith(literal, i):
            # "{{credential}}" would be the credential token; write the text as a literal
            out.append('{"{credential}"}')
            i += len(literal)
            continue
        ch = text[i]
        out.append("{{" if ch == "{" else "}}" if ch == "}" else ch)
        i += 1
    return "".join(out)


def has_expressions(text: str) -> bool:
    """True if rendering ``text`` substitutes anything (a path or the credential)."""
    try:
        segments = _parse_template(text)
    except ExpressionError:
        return True
    return any(not isinstance(seg, str) for seg in segments)


def uses_credential(text: str) -> bool:
    """True if the template contains the ``{{credential}}`` token."""
    try:
        segments = _parse_template(text)
    except ExpressionError:
        return False
    return any(isinstance(seg, _Credential) for seg in segments)


def check_template(text: str) -> list[str]:
    """Syntax problems of a template, as messages (empty when it is fine)."""
    try:
        _parse_template(text)
    except ExpressionError as exc:
        return [str(exc)]
    return []


def _lookup(path: _Path, variables: Mapping[str, Any]) -> Any:
    if path.root is None:
        return path.literal
    if path.root not in variables:
        raise ExpressionError(f"undefined variable {path.root!r} in {{{path.source}}}")
    value = variables[path.root]
    where = path.root
    for step in path.steps:
        value = _step(value, step, where, path.source)
        where += f".{step}" if isinstance(step, str) else f"[{step}]"
    return value


def _step(value: Any, step: str | int, where: str, source: str) -> Any:
    if isinstance(value, Mapping):
        if step in value:
            return value[step]
        if isinstance(step, int) and str(step) in value:
            return value[str(step)]
        raise ExpressionError(f"{where} has no key {step!r} (in {{{source}}})")
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if isinstance(step, int):
            try:
                return value[step]
            except IndexError:
                raise ExpressionError(
                    f"index {step} out of range for {where} ({len(value)} items, in {{{source}}})"
                ) from None
        raise ExpressionError(f"{where} is a list; use a number index, not {step!r}")
    kind = "nothing" if value is None else type(value).__name__
    raise ExpressionError(f"{where} is {kind}, cannot take {step!r} from it (in {{{source}}})")


def format_value(value: Any) -> str:
    """How a value appears inside longer text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _render_string(text: str, variables: Mapping[str, Any], credential: str | None) -> Any:
    segments = _parse_template(text)
    if len(segments) == 1 and not isinstance(segments[0], str):
        return _segment_value(segments[0], variables, credential)
    parts: list[str] = []
    for seg in segments:
        if isinstance(seg, str):
            parts.append(seg)
        else:
            parts.append(format_value(_segment_value(seg, variables, credential)))
    return "".join(parts)


def _segment_value(
    seg: _Path | _Credential, variables: Mapping[str, Any], credential: str | None
) -> Any:
    if isinstance(seg, _Credential):
        if credential is None:
            raise ExpressionError(
                "{{credential}} is used but no credential is given "
                "(set the node's 'credential' param to a vault credential name)"
            )
        return credential
    return _lookup(seg, variables)


def render(value: Any, variables: Mapping[str, Any], *, credential: str | None = None) -> Any:
    """Substitute variables into ``value``: strings, and recursively dict values and list items.

    Other values are returned unchanged. Raises :class:`ExpressionError` for a malformed
    template, an undefined variable, a path that does not exist, or ``{{credential}}`` without
    a credential.
    """
    if isinstance(value, str):
        return _render_string(value, variables, credential)
    if isinstance(value, Mapping):
        return {k: render(v, variables, credential=credential) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, variables, credential=credential) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Conditions


def _text_size(value: Any, limit: int) -> int:
    """About how many characters ``value`` takes as text (JSON for lists and objects), counted
    only up to just past ``limit``: the walk stops there, so measuring a huge value is cheap.

    Every item costs at least one character (its separator), so the walk visits at most
    ``limit`` items however large or deeply nested the value is."""
    size = 0
    stack = [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 3  # quotes and separator (an upper bound, plain text has none)
        elif isinstance(item, Mapping):
            size += 2
            for key, val in item.items():
                size += len(str(key)) + 4
                stack.append(val)
                if size > limit:
                    break
        elif isinstance(item, list | tuple | set | frozenset):
            size += 2 + len(item) if len(item) > limit else 2
            if size <= limit:
                stack.extend(item)
        elif isinstance(item, bytes | bytearray):
            size += len(item)
        elif isinstance(item, bool) or item is None:
            size += 6  # true, false, null and a separator
        elif isinstance(item, int) and item.bit_length() > MAX_INT_BITS + 1:
            size += limit + 1  # never format a huge integer just to measure it
        else:
            size += len(str(item)) + 1  # a number and its separator
    return size


def _check_size(value: Any, what: str) -> Any:
    """Refuse a value a condition built that breaks the documented bounds: text over
    :data:`MAX_STRING_LENGTH` characters, a list over :data:`MAX_ITEMS` items, or a list or
    object whose text form would be over :data:`MAX_STRING_LENGTH` characters."""
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise ExpressionError(f"{what}: text longer than {MAX_STRING_LENGTH:,} characters")
    elif isinstance(value, list | tuple | Mapping):
        if len(value) > MAX_ITEMS:
            raise ExpressionError(f"{what}: more than {MAX_ITEMS:,} items")
        if _text_size(value, MAX_STRING_LENGTH) > MAX_STRING_LENGTH:
            raise ExpressionError(
                f"{what}: value larger than {MAX_STRING_LENGTH:,} characters as text"
            )
    return value


def _text(value: Any, what: str = "text") -> str:
    """``value`` as text; a list or object whose text would break the bounds is refused before
    it is built (a list of 10,000 long strings would otherwise become gigabytes)."""
    if isinstance(value, str):
        return value
    if _text_size(value, MAX_STRING_LENGTH) > MAX_STRING_LENGTH:
        raise ExpressionError(f"{what}: value larger than {MAX_STRING_LENGTH:,} characters as text")
    return format_value(value)


def _bounded(value: Any) -> Any:
    return _check_size(value, "result")


def _fn_lower(value: Any) -> str:
    return _check_size(_text(value, "lower()").lower(), "lower()")


def _fn_upper(value: Any) -> str:
    return _check_size(_text(value, "upper()").upper(), "upper()")


def _fn_trim(value: Any) -> str:
    return _text(value, "trim()").strip()


def _fn_contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return _text(item) in container
    if isinstance(container, Mapping | list | tuple | set | frozenset):
        return item in container
    raise ExpressionError(f"contains() needs text, a list or an object, not {type(container)}")


def _fn_startswith(value: Any, prefix: Any) -> bool:
    return _text(value).startswith(_text(prefix))


def _fn_endswith(value: Any, suffix: Any) -> bool:
    return _text(value).endswith(_text(suffix))


def _fn_keys(value: Any) -> list[Any]:
    if not isinstance(value, Mapping):
        raise ExpressionError("keys() needs an object")
    if len(value) > MAX_ITEMS:
        raise ExpressionError(f"keys(): more than {MAX_ITEMS:,} items")
    return list(value.keys())


def _fn_values(value: Any) -> list[Any]:
    if not isinstance(value, Mapping):
        raise ExpressionError("values() needs an object")
    if len(value) > MAX_ITEMS:
        raise ExpressionError(f"values(): more than {MAX_ITEMS:,} items")
    return list(value.values())


def _fn_is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return len(value) == 0
    return False


def _fn_matches(text: Any, pattern: Any) -> bool:
    """True if the regular expression ``pattern`` matches anywhere in ``text``.

    RE2 runs it (linear time, see :mod:`workflows.patterns`): a pattern such as ``(a+)+$``
    cannot freeze the runner."""
    try:
        compiled = compile_pattern(_text(pattern))
    except PatternError as exc:
        raise ExpressionError(str(exc)) from None
    return compiled.search(_text(text)) is not None


def _fn_round(value: Any, digits: Any = None) -> Any:
    if digits is None:
        return round(value)
    if not isinstance(digits, int) or abs(digits) > 100:
        raise ExpressionError("round() digits must be an integer between -100 and 100")
    return round(value, digits)


def _fn_str(value: Any = "") -> str:
    return _bounded(_text(value))


def _fn_join(items: Any, separator: Any = "") -> str:
    if not isinstance(items, list | tuple):
        raise ExpressionError("join() needs a list")
    sep = _text(separator, "join()")
    parts: list[str] = []
    total = 0
    for item in items:  # counted as it goes: stops at the bound, never builds past it
        part = _text(item, "join()")
        total += len(part) + (len(sep) if parts else 0)
        if total > MAX_STRING_LENGTH:
            raise ExpressionError(f"join(): text longer than {MAX_STRING_LENGTH:,} characters")
        parts.append(part)
    return sep.join(parts)


def _fn_split(value: Any, separator: Any = None) -> list[str]:
    sep = None if separator is None else _text(separator, "split()")
    if sep == "":
        raise ExpressionError("split() separator must not be empty")
    text = _text(value, "split()")
    # count first: "," * 100000 would otherwise become a list of 100,001 empty strings
    pieces = len(text.split(None, MAX_ITEMS)) if sep is None else text.count(sep, 0) + 1
    if pieces > MAX_ITEMS:
        raise ExpressionError(f"split(): more than {MAX_ITEMS:,} items")
    return text.split(sep)


def _fn_sum(items: Any) -> Any:
    """Sum of a list of numbers (only numbers: summing lists or text could build huge values)."""
    if not isinstance(items, list | tuple):
        raise ExpressionError("sum() needs a list of numbers")
    total: int | float = 0
    for item in items:
        if not isinstance(item, int | float):
            raise ExpressionError(f"sum() needs numbers, not {type(item).__name__}")
        total = _check_int(total + item)
    return total


def _fn_get(container: Any, key: Any, default: Any = None) -> Any:
    if isinstance(container, Mapping):
        return container.get(key, default)
    if isinstance(container, list | tuple) and isinstance(key, int):
        return container[key] if -len(container) <= key < len(container) else default
    return default


#: functions a condition may call (all pure: no I/O, no clock, no randomness)
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "int": int,
    "float": float,
    "str": _fn_str,
    "bool": bool,
    "lower": _fn_lower,
    "upper": _fn_upper,
    "trim": _fn_trim,
    "contains": _fn_contains,
    "startswith": _fn_startswith,
    "endswith": _fn_endswith,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _fn_round,
    "sum": _fn_sum,
    "keys": _fn_keys,
    "values": _fn_values,
    "is_empty": _fn_is_empty,
    "matches": _fn_matches,
    "join": _fn_join,
    "split": _fn_split,
    "get": _fn_get,
}


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise ExpressionError(f"number larger than {MAX_INT_BITS} bits")
    return value


def _op_add(a: Any, b: Any) -> Any:
    if isinstance(a, str | list | tuple) and isinstance(b, str | list | tuple):
        limit = MAX_STRING_LENGTH if isinstance(a, str) else MAX_ITEMS
        if len(a) + len(b) > limit:
            raise ExpressionError(f"result too long (more than {limit:,})")
        if not isinstance(a, str):  # both lists: their contents count too
            size = _text_size(a, MAX_STRING_LENGTH) + _text_size(b, MAX_STRING_LENGTH)
            if size > MAX_STRING_LENGTH:
                raise ExpressionError(
                    f"result too long (larger than {MAX_STRING_LENGTH:,} characters as text)"
                )
    return _check_int(a + b)


def _op_mult(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            limit = MAX_STRING_LENGTH if isinstance(seq, str) else MAX_ITEMS
            if times > 0 and len(seq) * times > limit:
                raise ExpressionError(f"result too long (more than {limit:,})")
            if isinstance(seq, list | tuple) and any(
                isinstance(v, list | tuple | dict) for v in seq
            ):
                raise ExpressionError("cannot repeat a list of lists or objects")
            if isinstance(seq, list | tuple) and times > 0:
                # ["a" * 100000] * 10000 has few items but is 1 GB of text once formatted
                if _text_size(seq, MAX_STRING_LENGTH) * times > MAX_STRING_LENGTH:
                    raise ExpressionError(
                        f"result too long (larger than {MAX_STRING_LENGTH:,} characters as text)"
                    )
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
            raise ExpressionError(f"number larger than {MAX_INT_BITS} bits")
    return a * b


def _op_pow(a: Any, b: Any) -> Any:
    if isinstance(a, int | float) and isinstance(b, int | float):
        if abs(a) > 1 and b > 0:
            bits = b * math.log2(abs(a))
            if bits > MAX_INT_BITS:
                raise ExpressionError(f"number larger than {MAX_INT_BITS} bits")
    return a**b


def _op_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise ExpressionError("'%' formatting of text is not available")
    return a % b


def _op_in(a: Any, b: Any) -> bool:
    return a in b


def _op_not_in(a: Any, b: Any) -> bool:
    return a not in b


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: _op_add,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: _op_mult,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: _op_mod,
    ast.Pow: _op_pow,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: _op_in,
    ast.NotIn: _op_not_in,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
    ast.Not: lambda a: not a,
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
}

#: AST node types a condition may contain
_ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    *_OPERATORS,
)

_NODE_HINTS: dict[type, str] = {
    ast.Set: "braces are not used in conditions: write the variable name itself (count > 3)",
    ast.JoinedStr: "f-strings are not available in conditions",
    ast.Lambda: "lambda is not available in conditions",
    ast.NamedExpr: "':=' is not available in conditions",
    ast.ListComp: "comprehensions are not available in conditions",
    ast.SetComp: "comprehensions are not available in conditions",
    ast.DictComp: "comprehensions are not available in conditions",
    ast.GeneratorExp: "comprehensions are not available in conditions",
    ast.Starred: "'*' unpacking is not available in conditions",
}


def _parse_condition(condition: str) -> ast.Expression:
    if not isinstance(condition, str):
        raise ExpressionError("a condition must be text")
    if len(condition) <= _CACHE_MAX_LENGTH:
        return _parse_condition_cached(condition)
    return _parse_condition_uncached(condition)


def _parse_condition_uncached(condition: str) -> ast.Expression:
    if len(condition) > MAX_CONDITION_LENGTH:
        raise ExpressionError(f"condition longer than {MAX_CONDITION_LENGTH} characters")
    if not condition.strip():
        raise ExpressionError("empty condition")
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{col}: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"cannot parse condition: {exc}") from None
    problems = _condition_problems(tree)
    if problems:
        raise ExpressionError("; ".join(problems))
    return tree


def _condition_problems(tree: ast.Expression) -> list[str]:
    problems: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            hint = _NODE_HINTS.get(type(node))
            problems.append(hint or f"{type(node).__name__} is not available in conditions")
            continue
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            problems.append(f"names starting with '__' are not allowed ({node.id})")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__"):
                problems.append(f"names starting with '__' are not allowed ({node.attr})")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                problems.append(
                    "only the built-in functions can be called (lower(x), not x.lower())"
                )
            elif node.func.id not in FUNCTIONS:
                problems.append(
                    f"unknown function {node.func.id!r} (available: {', '.join(sorted(FUNCTIONS))})"
                )
            if node.keywords:
                problems.append("keyword arguments are not available in conditions")
            problems += _pattern_problems(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            problems.append("bytes literals are not available in conditions")
    # dedupe, keep order
    return list(dict.fromkeys(problems))


def _pattern_problems(call: ast.Call) -> list[str]:
    """A literal pattern in ``matches(x, "...")`` is checked at save time, not at run time."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "matches" and len(call.args) == 2):
        return []
    pattern = call.args[1]
    if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)):
        return []
    try:
        compile_pattern(pattern.value)
    except PatternError as exc:
        return [str(exc)]
    return []


_parse_condition_cached = lru_cache(maxsize=2048)(_parse_condition_uncached)


def check_condition(condition: str) -> list[str]:
    """Syntax problems of a condition, as messages (empty when it is fine)."""
    try:
        _parse_condition(condition)
    except ExpressionError as exc:
        return [str(exc)]
    return []


class _Evaluator(simpleeval.EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval restricted further: object keys instead of attributes, no methods."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        super().__init__(operators=dict(_OPERATORS), functions=dict(FUNCTIONS), names=names)
        # EvalWithCompoundTypes adds list/tuple/dict/set constructors; keep our whitelist only
        self.functions = dict(FUNCTIONS)
        for node_type in (
            ast.JoinedStr,
            ast.FormattedValue,
            ast.Assign,
            ast.AugAssign,
            ast.Import,
            ast.Set,
            ast.ListComp,
            ast.DictComp,
            ast.GeneratorExp,
        ):
            self.nodes.pop(node_type, None)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("__"):
            raise ExpressionError(f"names starting with '__' are not allowed ({node.attr})")
        value = self._eval(node.value)
        if isinstance(value, Mapping):
            if node.attr in value:
                return value[node.attr]
            raise ExpressionError(f"object has no key {node.attr!r}")
        kind = "nothing" if value is None else type(value).__name__
        raise ExpressionError(f"cannot read {node.attr!r} from {kind} (only objects have keys)")

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if not isinstance(container, Mapping | list | tuple | str):
            kind = "nothing" if container is None else type(container).__name__
            raise ExpressionError(f"cannot index {kind}")
        try:
            return container[key]
        except KeyError:
            raise ExpressionError(f"object has no key {key!r}") from None
        except IndexError:
            raise ExpressionError(f"index {key!r} out of range") from None

    def _eval_name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ExpressionError(f"undefined variable {node.id!r}")


def evaluate(condition: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate a condition over ``variables`` with the safe evaluator; returns its value.

    Raises :class:`ExpressionError` for a malformed condition, an undefined variable or a
    failed operation (``1 / 0``, ``len(5)``, too large a result).
    """
    tree = _parse_condition(condition)
    evaluator = _Evaluator(variables)
    try:
        return evaluator.eval(condition, previously_parsed=tree.body)
    except ExpressionError:
        raise
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(f"undefined variable {exc.name!r}") from None
    except simpleeval.InvalidExpression as exc:
        raise ExpressionError(str(exc)) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as exc:
        raise ExpressionError(f"{condition}: {type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# References


def references(text: Any, *, condition: bool = False) -> set[str]:
    """Root variable names a template (or, with ``condition=True``, a condition) uses.

    ``text`` may also be a param value holding templates in objects and lists. A malformed
    expression yields no names.
    """
    if isinstance(text, Mapping):
        return set().union(*(references(v, condition=condition) for v in text.values()))
    if isinstance(text, list | tuple):
        return set().union(*(references(v, condition=condition) for v in text))
    if not isinstance(text, str):
        return set()
    if condition:
        try:
            tree = _parse_condition(text)
        except ExpressionError:
            return set()
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        return {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and id(n) not in called and n.id not in _CONSTANTS
        }
    try:
        segments = _parse_template(text)
    except ExpressionError:
        return set()
    return {seg.root for seg in segments if isinstance(seg, _Path) and seg.root is not None}
