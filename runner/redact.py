"""Keeping secrets out of logs, errors and reports: the :class:`Redactor`.

Each execution has one. It knows two kinds of values:

* **Secrets** (:meth:`Redactor.add`): vault credentials, ``secret`` params, passwords an
  activity discovers (``ctx.add_secret``). Besides the exact text, their common encodings are
  redacted: any letter case, characters separated by up to three spaces or punctuation marks
  (``s e c r e t``, ``s-e-c-r-e-t``), reversed, URL-encoded, hex, base64 (standard and URL-safe,
  also inside a longer base64 text such as a Basic auth header) and JSON/unicode escapes.
* **Derived values** (:meth:`Redactor.add_derived`): what nodes computed from a secret (the
  engine's taint: an upper-cased credential, a script's result). These are redacted exactly.

The fuzzy forms are one RE2 pattern (linear time: a secret such as ``!!!!!!!!`` cannot make a
log line take exponential time), rebuilt only when a secret is added; redacting a line is then
one RE2 pass plus a substring check per exact form.

**Short secrets** — under :data:`MIN_FUZZY_LENGTH` characters — are redacted exactly only. Their
case variants, reversals and spaced-out forms occur in ordinary text all the time (a 4-character
secret ``test`` would blank every ``TEST``, ``tset`` and ``t-e-s-t``; its base64 core is a
4-character string found in any long base64 text), so matching them would make logs unreadable
while protecting little: a secret that short falls to guessing anyway. Derived values under that
length are not registered at all, for the same reason (``text.split`` of a credential gives
fragments such as ``ab``).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import re2

REDACTED = "***"
#: secrets shorter than this are only matched exactly (see the module docstring for why)
MIN_FUZZY_LENGTH = 6
#: secrets longer than this (keys, certificates) get exact and encoded forms, but no
#: per-character pattern (it would be a large automaton for little gain)
MAX_FUZZY_LENGTH = 512
#: up to this many separator characters between the characters of a spaced-out secret
_SEPARATOR = r"[\s!-/:-@\[-`{-~]{0,3}"  # ASCII spaces and punctuation


def _char(ch: str) -> str:
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):x}}}"


def _literal(text: str) -> str:
    return "".join(_char(c) for c in text)


def _spaced(text: str) -> str:
    return _SEPARATOR.join(_char(c) for c in text)


def _base64_forms(secret: str) -> set[str]:
    """Base64 of the secret on its own, and the part of its encoding that is the same wherever
    it sits inside a longer base64 text (three byte alignments)."""
    data = secret.encode("utf-8")
    forms = {base64.b64encode(data).decode()}
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        start = -(-8 * offset // 6)  # first character made only of the secret's bits
        end = (8 * (offset + len(data))) // 6
        core = encoded[start:end]
        if len(core) >= MIN_FUZZY_LENGTH:
            forms.add(core)
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}
    return forms | {f.rstrip("=") for f in forms}


class Redactor:
    """Replaces every known secret, its encodings and values derived from it by ``***``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exact: set[str] = set()
        self._ordered: list[str] = []
        self._sources: dict[str, None] = {}  # insertion-ordered set of pattern sources
        self._regex: Any = None

    # -- registering ---------------------------------------------------------------------------

    def add(self, secret: Any) -> None:
        """A secret: redacted exactly and, when long enough, in its common encodings."""
        if not isinstance(secret, str) or not secret:
            return
        exact = {secret, secret.encode("unicode_escape").decode("ascii"), _json_form(secret)}
        sources: set[str] = set()
        if len(secret) >= MIN_FUZZY_LENGTH:
            exact |= _base64_forms(secret)
            encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
            encoded.add(secret.encode("utf-8").hex())
            sources |= {_literal(e) for e in encoded}  # any case: %2f is %2F
            if len(secret) <= MAX_FUZZY_LENGTH:
                sources |= {_spaced(secret), _spaced(secret[::-1])}
            else:
                sources |= {_literal(secret), _literal(secret[::-1])}
        self._register(exact, sources)

    def add_derived(self, value: Any) -> None:
        """A value computed from a secret: every text in it (lists and objects are walked)
        is redacted exactly, if at least :data:`MIN_FUZZY_LENGTH` characters long."""
        texts: set[str] = set()
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if len(item) >= MIN_FUZZY_LENGTH:
                    texts.add(item)
            elif isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
        if texts:
            self._register(texts, set())

    def _register(self, exact: set[str], sources: set[str]) -> None:
        exact.discard("")
        with self._lock:
            new_exact = exact - self._exact
            new_sources = [s for s in sources if s not in self._sources]
            if new_exact:
                self._exact |= new_exact
                self._ordered = sorted(self._exact, key=len, reverse=True)
            if new_sources:
                for source in new_sources:
                    self._sources[source] = None
                self._regex = _compile(list(self._sources))

    # -- using -----------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return not self._ordered and self._regex is None

    def __call__(self, text: str) -> str:
        regex = self._regex
        if regex is not None and regex.search(text) is not None:  # most lines hold none
            text = regex.sub(REDACTED, text)
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def contains(self, text: str) -> bool:
        """True if ``text`` holds a secret or derived value in any form this redactor knows."""
        regex = self._regex
        if regex is not None and regex.search(text) is not None:
            return True
        return any(secret in text for secret in self._ordered)

    def value(self, value: Any) -> Any:
        """A copy of ``value`` with every text in it redacted (for variables leaving the
        engine)."""
        if self.empty:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def _json_form(secret: str) -> str:
    return json.dumps(secret)[1:-1]


def _compile(sources: list[str]) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.longest_match = True  # "s-e-c-r-e-t-x" loses the whole secret, not a prefix
    options.log_errors = False
    options.max_mem = 256 << 20
    try:
        return re2.compile("|".join(f"(?:{s})" for s in sources), options)
    except re2.error:  # too large an automaton: fall back to the forms one by one
        return _Several([re2.compile(s, options) for s in sources])


class _Several:
    """Several patterns applied in turn (when one combined pattern is too large)."""

    def __init__(self, patterns: list[Any]) -> None:
        self.patterns = patterns

    def sub(self, replacement: str, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub(replacement, text)
        return text

    def search(self, text: str) -> Any:
        for pattern in self.patterns:
            found = pattern.search(text)
            if found is not None:
                return found
        return None
