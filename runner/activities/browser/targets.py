"""Targets (WORKFLOW_FORMAT.md "Targets"): parsing, fingerprint similarity, selector building.

Everything here is pure (no browser): the resolution loop in :mod:`.resolve` feeds it what the
page holds, and unit tests call it directly.

**Fingerprint similarity.** :func:`similarity` scores a page element against a recorded
fingerprint between 0 and 1, as a weighted mean of the parts the fingerprint has:

* tag (weight 0.25): 1 when equal, else 0;
* text (0.35): :class:`difflib.SequenceMatcher` ratio of the whitespace-collapsed, case-folded
  texts (1 when both are empty);
* attributes (0.30): the mean over the fingerprint's attributes of: 1 when equal; for ``class``
  the Jaccard index of the class tokens; otherwise the ratio of the two values with every run of
  digits replaced by ``#`` (so ``save-123`` → ``save-987`` is a match: generated ids); 0 when
  the element lacks it;
* position (0.10): ``1 / (1 + |index difference|)``.

An element is accepted when it scores at least :data:`THRESHOLD` (0.70) **and** beats the
runner-up by :data:`MARGIN` (0.05): with two near-identical candidates the runner refuses to
guess, because clicking the wrong button is worse than failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

#: an element must score at least this much against the fingerprint to be taken
THRESHOLD = 0.70
#: ... and beat the second best candidate by this much
MARGIN = 0.05
WEIGHTS = {"tag": 0.25, "text": 0.35, "attributes": 0.30, "position": 0.10}
RELATIONS = ("nextSibling", "previousSibling", "firstChild", "lastChild", "descendant", "parent")
#: attributes a fresh fingerprint keeps (stable, meaningful ones)
KEY_ATTRIBUTES = (
    "id",
    "name",
    "type",
    "class",
    "placeholder",
    "aria-label",
    "role",
    "title",
    "href",
    "alt",
    "for",
    "value",
)
TEST_ID_ATTRIBUTES = ("data-testid", "data-test-id", "data-test", "data-qa", "data-cy")


class TargetError(ValueError):
    """A target param that cannot be used (wrong shape)."""


@dataclass(frozen=True)
class Anchor:
    selector: str
    relation: str
    text: str = ""


@dataclass(frozen=True)
class Target:
    selector: str
    fallbacks: tuple[str, ...] = ()
    anchor: Anchor | None = None
    frame_path: tuple[str, ...] = ()
    shadow_path: tuple[str, ...] = ()
    fingerprint: dict[str, Any] | None = None
    #: the param as written (string or object): what a repair reports as "old"
    raw: Any = field(default=None, compare=False)

    @property
    def simple(self) -> bool:
        """A plain selector string: Playwright's strict locator does all the work."""
        return isinstance(self.raw, str)

    def selectors(self) -> list[str]:
        out: list[str] = []
        for sel in (self.selector, *self.fallbacks):
            if sel not in out:
                out.append(sel)
        return out

    def describe(self) -> str:
        return self.selector if not self.fallbacks else f"{self.selector} (+{len(self.fallbacks)})"


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TargetError(f"target {what} must be a list of selectors")
    return tuple(v.strip() for v in value)


def _anchor_selector(anchor: dict[str, Any]) -> str:
    sel = anchor.get("selector")
    if isinstance(sel, str) and sel.strip():
        return sel.strip()
    text = anchor.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TargetError("target anchor needs a selector or a text")
    kind = anchor.get("type") or "text"
    if kind == "aria-label":
        return f"[aria-label={quote(text.strip())}]"
    if kind == "label":
        return f"label:text-is({quote(text.strip())})"
    return f"text={quote(text.strip())}"


def parse(value: Any) -> Target:
    """A target param (string or object) as a :class:`Target`; :class:`TargetError` if bad."""
    if isinstance(value, str):
        if not value.strip():
            raise TargetError("target is empty")
        return Target(value.strip(), raw=value)
    if not isinstance(value, dict):
        raise TargetError(f"target must be a selector or a target object, got {value!r}")
    selector = value.get("selector")
    if not isinstance(selector, str) or not selector.strip():
        raise TargetError("target object needs a 'selector'")
    anchor = None
    raw_anchor = value.get("anchor")
    if raw_anchor not in (None, {}):
        if not isinstance(raw_anchor, dict):
            raise TargetError("target anchor must be an object")
        relation = raw_anchor.get("relation") or "descendant"
        if relation not in RELATIONS:
            raise TargetError(
                f"target anchor relation {relation!r} is not one of {', '.join(RELATIONS)}"
            )
        text = raw_anchor.get("text")
        text = text.strip() if isinstance(text, str) else ""
        anchor = Anchor(_anchor_selector(raw_anchor), relation, text)
    fingerprint = value.get("fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, dict):
        raise TargetError("target fingerprint must be an object")
    return Target(
        selector=selector.strip(),
        fallbacks=_strings(value.get("fallbacks"), "fallbacks"),
        anchor=anchor,
        frame_path=_strings(value.get("frame_path"), "frame_path"),
        shadow_path=_strings(value.get("shadow_path"), "shadow_path"),
        fingerprint=fingerprint or None,
        raw=value,
    )


# ---------------------------------------------------------------------------------------------
# Fingerprint similarity


def normalize_text(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def _ratio(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


class _RatioBound:
    """At least :func:`_ratio` ``(a, b)``, in linear time: ``quick_ratio`` counts the
    characters the two share in any order, not the matching blocks. It is symmetric, so the
    fingerprint's side ``a`` (a few texts, fixed for one search) is the matcher's cached
    second sequence and each page element's text is only set as its first."""

    def __init__(self) -> None:
        self._matchers: dict[str, SequenceMatcher[str]] = {}

    def __call__(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        if not a or not b:
            return 0.0
        matcher = self._matchers.get(a)
        if matcher is None:
            matcher = self._matchers[a] = SequenceMatcher(None, "", a, autojunk=False)
        matcher.set_seq1(b)
        return matcher.quick_ratio()


Ratio = Callable[[str, str], float]


def attribute_similarity(name: str, old: Any, new: Any, ratio: Ratio = _ratio) -> float:
    """How alike two values of one attribute are (see the module docstring)."""
    if new is None:
        return 0.0
    old_s, new_s = str(old), str(new)
    if old_s == new_s:
        return 1.0
    if name == "class":
        a, b = set(old_s.split()), set(new_s.split())
        return len(a & b) / len(a | b) if a | b else 1.0
    return ratio(re.sub(r"\d+", "#", old_s), re.sub(r"\d+", "#", new_s))


def similarity(
    fingerprint: dict[str, Any], element: dict[str, Any], ratio: Ratio = _ratio
) -> float:
    """Score of ``element`` (tag, text, attributes, index) against ``fingerprint``: 0 to 1
    (with ``ratio`` a :class:`_RatioBound`: a quick upper bound of that score)."""
    parts: dict[str, float] = {}
    tag = fingerprint.get("tag")
    if isinstance(tag, str) and tag:
        parts["tag"] = 1.0 if tag.lower() == str(element.get("tag") or "").lower() else 0.0
    old_text = normalize_text(fingerprint.get("text"))
    new_text = normalize_text(element.get("text"))
    if "text" in fingerprint or new_text:
        parts["text"] = ratio(old_text, new_text)
    attrs = fingerprint.get("attributes")
    if isinstance(attrs, dict) and attrs:
        have = element.get("attributes") or {}
        scores = [attribute_similarity(k, v, have.get(k), ratio) for k, v in attrs.items()]
        parts["attributes"] = sum(scores) / len(scores)
    index = fingerprint.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        other = element.get("index")
        if isinstance(other, int):
            parts["position"] = 1.0 / (1.0 + abs(index - other))
    if not parts:
        return 0.0
    total = sum(WEIGHTS[k] for k in parts)
    return sum(WEIGHTS[k] * v for k, v in parts.items()) / total


@dataclass(frozen=True)
class Match:
    element: dict[str, Any]
    score: float
    runner_up: float


def best_match(
    fingerprint: dict[str, Any],
    elements: list[dict[str, Any]],
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
) -> tuple[Match | None, float]:
    """The element that resembles ``fingerprint`` enough, or None; and the best score seen.

    Only the best two scores matter, so each element is first given a quick upper bound of
    its score, and the exact (slow) score is computed in the order of those bounds until no
    bound left can reach the second best: the same answer as scoring every element."""
    bound = _RatioBound()
    bounds = sorted(
        ((similarity(fingerprint, e, bound), i) for i, e in enumerate(elements)), reverse=True
    )
    top: list[tuple[float, int]] = []  # the best two (score, index), best first
    for most, i in bounds:
        if len(top) == 2 and most < top[1][0]:
            break
        top = sorted([*top, (similarity(fingerprint, elements[i]), i)], reverse=True)[:2]
    if not top:
        return None, 0.0
    best, index = top[0]
    second = top[1][0] if len(top) > 1 else 0.0
    if best < threshold or best - second < margin:
        return None, best
    return Match(elements[index], best, second), best


# ---------------------------------------------------------------------------------------------
# Selectors for a found element


def quote(text: str) -> str:
    """``text`` as a double-quoted string for CSS and Playwright selectors."""
    return json.dumps(text, ensure_ascii=False)


_IDENT = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}", re.IGNORECASE)
_HEXY = re.compile(r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}", re.IGNORECASE)


def looks_dynamic(value: str) -> bool:
    """An id or class a framework generated (changes between page loads)."""
    return bool(
        re.search(r"\d{3,}", value)
        or _UUID.search(value)
        or _HEXY.search(value)
        or re.match(r"^(ember|react-|mui-|:r|ng-|ext-|gwt-|yui_)", value)
        or re.search(r"[-_](\d+)$", value)
        or re.search(r"[-_](?=[a-z]*\d)(?=\d*[a-z])[a-z\d]{5,}$", value, re.IGNORECASE)
    )


def selector_candidates(element: dict[str, Any]) -> list[str]:
    """Selectors for ``element`` (``tag``, ``text``, ``attributes``, ``path``), best first.

    The order follows the extension's (and Playwright's generator's) idea of stability: test
    ids, then a non-generated id, name, placeholder, ARIA label, the exact text, word-like
    classes, and the structural nth-of-type ``path`` last (always unique, never stable).
    """
    tag = str(element.get("tag") or "*").lower()
    attrs: dict[str, Any] = element.get("attributes") or {}
    out: list[str] = []
    for name in TEST_ID_ATTRIBUTES:
        if attrs.get(name):
            out.append(f"[{name}={quote(str(attrs[name]))}]")
    ident = attrs.get("id")
    if isinstance(ident, str) and ident and not looks_dynamic(ident):
        out.append(f"#{ident}" if _IDENT.match(ident) else f"[id={quote(ident)}]")
    for name in ("name", "placeholder", "aria-label", "title", "alt"):
        value = attrs.get(name)
        if isinstance(value, str) and value and not looks_dynamic(value):
            out.append(f"{tag}[{name}={quote(value)}]")
    text = " ".join(str(element.get("text") or "").split())
    if text and len(text) <= 80:
        out.append(f"{tag}:text-is({quote(text)})")
    classes = [
        c for c in str(attrs.get("class") or "").split() if _IDENT.match(c) and not looks_dynamic(c)
    ]
    if classes:
        out.append(tag + "".join(f".{c}" for c in classes[:3]))
    path = element.get("path")
    if isinstance(path, str) and path:
        out.append(path)
    seen: list[str] = []
    for sel in out:
        if sel not in seen:
            seen.append(sel)
    return seen


def fresh_fingerprint(element: dict[str, Any]) -> dict[str, Any]:
    attrs = element.get("attributes") or {}
    kept = {k: v for k, v in attrs.items() if k in KEY_ATTRIBUTES or k in TEST_ID_ATTRIBUTES}
    return {
        "tag": element.get("tag"),
        "text": " ".join(str(element.get("text") or "").split())[:200],
        "attributes": kept,
        "index": element.get("index"),
    }


def repaired_target(old: Target, selector: str, element: dict[str, Any]) -> dict[str, Any]:
    """The target object a repair proposes: the found element's best selector as primary, the
    old primary first among the fallbacks, a fresh fingerprint; frame and shadow paths kept."""
    fallbacks = [s for s in old.selectors() if s != selector]
    new: dict[str, Any] = {
        "selector": selector,
        "fallbacks": fallbacks,
        "frame_path": list(old.frame_path),
        "shadow_path": list(old.shadow_path),
        "fingerprint": fresh_fingerprint(element),
    }
    if isinstance(old.raw, dict):
        for key in ("anchor", "candidates"):
            if key in old.raw:
                new[key] = old.raw[key]
    return new
