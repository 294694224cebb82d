"""Finding a target's element on the page (runs on the session's loop).

A selector string is handed to Playwright as it is: its strict locator refuses a selector that
matches several elements and auto-waits for one to appear. A target object is resolved here:
the primary selector and then each fallback, inside the target's frame path and shadow path,
accepting only a selector that matches exactly one element (or that an anchor narrows to
one). The selectors are polled until the action's timeout, so elements that appear late are
found; after :data:`REPAIR_AFTER` seconds without a match, the page's elements are compared
with the target's fingerprint (:func:`targets.best_match`) every :data:`REPAIR_EVERY` seconds,
on a worker thread: scoring thousands of elements must not stall the session's event loop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from . import targets
from .targets import Target

#: seconds of fruitless polling before the fingerprint is consulted (late elements first)
REPAIR_AFTER = 1.0
#: seconds between two fingerprint comparisons (each collects and scores the whole page)
REPAIR_EVERY = 1.0
#: elements of the page compared with a fingerprint, at most
MAX_CANDIDATES = 3000

ANCHOR_XPATH = {
    "nextSibling": "xpath=following-sibling::*[1]",
    "previousSibling": "xpath=preceding-sibling::*[1]",
    "firstChild": "xpath=*[1]",
    "lastChild": "xpath=*[last()]",
    "parent": "xpath=..",
}

#: collects comparable facts about the elements under the scope root (document or shadow root)
COLLECT_JS = """
([host, limit, keys]) => {
  const root = host ? (host.shadowRoot || host) : document;
  const skip = new Set(["script", "style", "head", "meta", "link", "title", "noscript", "html",
                        "body", "template", "br"]);
  const pathOf = (el) => {
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1) {
      const tag = node.tagName.toLowerCase();
      if (tag === "html") { parts.unshift("html"); break; }
      let nth = 1, sib = node;
      while ((sib = sib.previousElementSibling)) if (sib.tagName === node.tagName) nth++;
      parts.unshift(`${tag}:nth-of-type(${nth})`);
      const parent = node.parentNode;
      if (!parent || parent.nodeType !== 1) break;
      node = parent;
    }
    return parts.join(" > ");
  };
  const counters = {};
  const out = [];
  for (const el of root.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    counters[tag] = (counters[tag] || 0) + 1;
    if (skip.has(tag)) continue;
    const attributes = {};
    for (const a of el.attributes) {
      if (keys.includes(a.name) || a.name.startsWith("data-")) attributes[a.name] = a.value;
    }
    const text = (el.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 200);
    out.push({tag, text, attributes, index: counters[tag] - 1, path: pathOf(el)});
    if (out.length >= limit) break;
  }
  return out;
}
"""


class NotFound(Exception):  # noqa: N818 - turned into an ActivityError by the caller
    """No selector of the target matches exactly one element."""


@dataclass
class Resolved:
    locator: Any
    selector: str
    #: the repaired target object when the element was found by its fingerprint
    repaired: dict[str, Any] | None = None
    score: float | None = None
    #: the fallback used when the primary did not match
    fallback: bool = False


def scope_of(root: Any, target: Target) -> Any:
    """The frame (locator) the target lives in, and its shadow host locator if any."""
    scope = root
    for frame in target.frame_path:
        scope = scope.frame_locator(frame)
    return scope


def locate(root: Any, target: Target, selector: str) -> Any:
    scope: Any = scope_of(root, target)
    for host in target.shadow_path:
        scope = scope.locator(host)
    return scope.locator(selector)


async def _count(locator: Any) -> int:
    try:
        return int(await locator.count())
    except Exception as exc:  # noqa: BLE001 - a malformed or unknown selector matches nothing
        if (
            "Cannot find" in str(exc)
            or "not a valid selector" in str(exc)
            or "Unexpected" in str(exc)
        ):
            raise NotFound(f"{str(exc).splitlines()[0]}") from None
        return 0


async def _anchored(root: Any, target: Target, selector: str) -> Any | None:
    anchor = target.anchor
    if anchor is None:
        return None
    anchor_loc = locate(root, target, anchor.selector)
    if anchor.text and await _count(anchor_loc) > 1:
        anchor_loc = anchor_loc.filter(has_text=anchor.text)
    if await _count(anchor_loc) != 1:
        return None
    candidates = locate(root, target, selector)
    if anchor.relation == "descendant":
        narrowed = anchor_loc.locator(selector)
    else:
        narrowed = anchor_loc.locator(ANCHOR_XPATH[anchor.relation]).and_(candidates)
    return narrowed if await _count(narrowed) == 1 else None


async def try_once(root: Any, target: Target) -> Resolved | None:
    """One pass over the primary and the fallbacks."""
    for i, selector in enumerate(target.selectors()):
        try:
            loc = locate(root, target, selector)
            n = await _count(loc)
        except NotFound:
            continue
        if n == 1:
            return Resolved(loc, selector, fallback=i > 0)
        if n > 1:
            narrowed = await _anchored(root, target, selector)
            if narrowed is not None:
                return Resolved(narrowed, selector, fallback=i > 0)
    return None


async def by_fingerprint(root: Any, target: Target) -> tuple[Resolved | None, float]:
    """The element most like the fingerprint, if it is alike enough; and the best score."""
    fp = target.fingerprint
    if not fp:
        return None, 0.0
    scope: Any = scope_of(root, target)
    host = None
    for sel in target.shadow_path:
        host = (host or scope).locator(sel)
    keys = list(targets.KEY_ATTRIBUTES)
    try:
        if host is not None:
            elements = await host.evaluate(COLLECT_JS_HOST, [MAX_CANDIDATES, keys])
        else:
            elements = await scope.locator(":root").evaluate(
                "(el, args) => (" + COLLECT_JS + ")([null, ...args])", [MAX_CANDIDATES, keys]
            )
    except Exception:  # noqa: BLE001 - the frame or host is not there: nothing to compare
        return None, 0.0
    loop = asyncio.get_running_loop()
    match, best = await loop.run_in_executor(None, targets.best_match, fp, elements)
    if match is None:
        return None, best
    for selector in targets.selector_candidates(match.element):
        loc = locate(root, target, selector)
        try:
            if await _count(loc) == 1:
                new = targets.repaired_target(target, selector, match.element)
                return Resolved(loc, selector, repaired=new, score=match.score), best
        except NotFound:
            continue
    return None, best


COLLECT_JS_HOST = "(el, args) => (" + COLLECT_JS + ")([el, ...args])"


async def resolve(root: Any, target: Target, timeout_ms: float) -> Resolved:
    """Poll the target's selectors until one matches exactly one element (or the fingerprint
    finds it); :class:`NotFound` with what each selector matched when time runs out."""
    if target.simple and not target.frame_path and not target.shadow_path:
        return Resolved(root.locator(target.selector), target.selector)
    start = time.monotonic()
    deadline = start + timeout_ms / 1000.0
    pause = 0.025
    best = 0.0
    next_repair = start + REPAIR_AFTER
    while True:
        found = await try_once(root, target)
        if found is not None:
            return found
        if target.fingerprint and time.monotonic() >= next_repair:
            repaired, best = await by_fingerprint(root, target)
            if repaired is not None:
                return repaired
            next_repair = time.monotonic() + REPAIR_EVERY
        if time.monotonic() >= deadline:
            raise NotFound(await _explain(root, target, timeout_ms, best))
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.25)


async def _explain(root: Any, target: Target, timeout_ms: float, best: float) -> str:
    counts = []
    for selector in target.selectors():
        try:
            n = await _count(locate(root, target, selector))
        except NotFound as exc:
            counts.append(f"{selector!r}: {exc}")
            continue
        note = ""
        if n > 1 and target.anchor is not None:
            a = target.anchor
            note = f" (none is the {a.relation} of the anchor {a.selector!r} {a.text!r})"
        counts.append(f"{selector!r} matched {n}{note}")
    where = ""
    if target.frame_path:
        where += " in frame " + " > ".join(target.frame_path)
    if target.shadow_path:
        where += " in shadow root " + " > ".join(target.shadow_path)
    text = f"no element matches the target{where} within {timeout_ms / 1000:.1f} s (" + "; ".join(
        counts
    )
    if target.fingerprint:
        text += (
            f"; the most similar element scored {best:.2f}, "
            f"below the {targets.THRESHOLD:.2f} needed for a repair"
        )
    return text + ")"
