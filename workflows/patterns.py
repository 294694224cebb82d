"""User-supplied regular expressions, run by a linear-time engine (RE2).

Patterns come from workflow authors (conditions' ``matches()``, the ``text.regex_*``
activities). Python's :mod:`re` backtracks: ``(a+)+$`` against 30 characters runs for minutes
while holding the GIL, so no heartbeat, timeout or stop request gets through. RE2
(``google-re2``) matches in time linear in the text, whatever the pattern; the price is that it
refuses the few constructs that need backtracking — backreferences (``\\1``), lookahead and
lookbehind (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), possessive quantifiers and atomic groups. Such
a pattern gets a :class:`PatternError` that names it and says what to use instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

__all__ = ["MAX_PATTERN_LENGTH", "PatternError", "compile_pattern"]

#: longest pattern accepted (characters)
MAX_PATTERN_LENGTH = 10_000
#: memory RE2 may use for one compiled pattern (its automata); a larger one is refused
MAX_PATTERN_MEMORY = 64 << 20

_UNSUPPORTED_HINT = (
    "the linear-time regex engine (RE2) does not support backreferences such as \\1, "
    "lookahead/lookbehind such as (?=...) or (?<!...), atomic groups or possessive quantifiers; "
    "rewrite the pattern without them"
)
_UNSUPPORTED_MARKERS = (
    "invalid escape sequence",
    "invalid perl operator",
    "invalid named",
    "bad repetition operator: ++",
    "bad repetition operator: *+",
    "bad repetition operator: ?+",
)


class PatternError(ValueError):
    """A pattern cannot be compiled (bad syntax, or syntax RE2 does not support)."""


def _options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every bad pattern to the runner's stderr
    options.case_sensitive = not ignore_case
    options.max_mem = MAX_PATTERN_MEMORY
    return options


@lru_cache(maxsize=512)
def compile_pattern(pattern: str, ignore_case: bool = False) -> Any:
    """The compiled RE2 pattern (cached); :class:`PatternError` names a bad one.

    The result has ``search``, ``fullmatch``, ``finditer``, ``sub``, ``groups`` and
    ``groupindex`` like a :class:`re.Pattern`.
    """
    if not isinstance(pattern, str):
        raise PatternError(f"a regular expression must be text, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"regular expression longer than {MAX_PATTERN_LENGTH} characters: {pattern[:60]!r}…"
        )
    try:
        return re2.compile(pattern, _options(ignore_case))
    except re2.error as exc:
        raise PatternError(_describe(pattern, exc)) from None


def _describe(pattern: str, exc: Exception) -> str:
    raw = exc.args[0] if exc.args else exc
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    message = f"invalid regular expression {pattern!r}: {detail}"
    unsupported = any(m in detail for m in _UNSUPPORTED_MARKERS) or "(?>" in pattern
    if "\\Z" in pattern:
        message += " (write \\z for the end of the text)"
    elif unsupported:
        message += f" ({_UNSUPPORTED_HINT})"
    return message
