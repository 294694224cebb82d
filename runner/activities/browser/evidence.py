"""Failure evidence: what the page looked like when a browser node failed.

A screenshot (password fields and fields that received a secret masked), the page's HTML with
the current field values written in (password values and every known secret masked), the
URL, title, error and console errors as JSON, and the Playwright trace when the session
records one — each kept through ``ctx.scope.add_artifact`` (kinds ``screenshot``, ``html``,
``console``, ``trace``). Each capture is bounded in time: a hung page still fails promptly.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import urllib.parse
import zipfile
from collections.abc import Iterable
from typing import Any

from ..base import Context
from . import resolve
from . import session as sessions

log = logging.getLogger(__name__)

MASK = "***"
#: seconds each piece of evidence may take
CAPTURE_TIMEOUT = 3.0

#: the page's HTML with live field values as attributes, password values masked
SNAPSHOT_JS = """
() => {
  const clone = document.documentElement.cloneNode(true);
  const live = document.documentElement.querySelectorAll("input, textarea, select");
  const copies = clone.querySelectorAll("input, textarea, select");
  live.forEach((el, i) => {
    const copy = copies[i];
    if (!copy) return;
    const tag = el.tagName.toLowerCase();
    const secret = tag === "input" && (el.type || "").toLowerCase() === "password";
    if (tag === "textarea") copy.textContent = secret ? "***" : el.value;
    else if (tag === "select") {
      Array.from(copy.options).forEach((o, j) => {
        if (el.options[j] && el.options[j].selected) o.setAttribute("selected", "");
      });
    } else if (el.type === "checkbox" || el.type === "radio") {
      if (el.checked) copy.setAttribute("checked", ""); else copy.removeAttribute("checked");
    } else if (el.value || copy.hasAttribute("value")) {
      copy.setAttribute("value", secret && el.value ? "***" : el.value);
    }
  });
  return "<!DOCTYPE html>\\n" + clone.outerHTML;
}
"""


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as it may appear in HTML, JSON, URLs and escaped text; longest first."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms |= {
            secret,
            html.escape(secret),
            html.escape(secret, quote=False),
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            urllib.parse.quote(secret),
            urllib.parse.quote_plus(secret),
            secret.encode("unicode_escape").decode("ascii"),
        }
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for form in secret_forms(secrets):
        text = text.replace(form, MASK)
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for form in secret_forms(secrets):
        data = data.replace(form.encode("utf-8"), MASK.encode())
    return data


def scrub_zip(data: bytes, secrets: Iterable[str]) -> bytes:
    """A Playwright trace (a zip) with every secret masked in every member."""
    secrets = list(secrets)
    if not secrets:
        return data
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, scrub_bytes(src.read(info), secrets))
    return out.getvalue()


def known_secrets(session: sessions.BrowserSession, ctx: Context | None) -> set[str]:
    found = set(session.secrets)
    if ctx is not None and ctx.credential is not None and ctx.credential.secret:
        found.add(ctx.credential.secret)
    return found


def masks(session: sessions.BrowserSession, page: Any) -> list[Any]:
    """Locators a screenshot paints over: password inputs and fields that got a secret."""
    out = [page.locator("input[type=password]")]
    for frame_path, shadow_path, selector in session.secret_fields:
        target = resolve.Target(selector, frame_path=frame_path, shadow_path=shadow_path)
        out.append(resolve.locate(page.main_frame, target, selector))
    return out


async def _bounded(coro: Any) -> Any:
    try:
        return await asyncio.wait_for(coro, CAPTURE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - evidence is best effort
        log.debug("evidence capture: %s", exc)
        return None


async def collect(
    session: sessions.BrowserSession, secrets: set[str], error: str
) -> dict[str, tuple[bytes, str, str]]:
    """The evidence as ``{kind: (data, name suffix, content type)}`` (runs on the loop)."""
    out: dict[str, tuple[bytes, str, str]] = {}
    page = session.page
    if page is None or page.is_closed():
        return out
    png = await _bounded(
        page.screenshot(
            timeout=CAPTURE_TIMEOUT * 1000, mask=masks(session, page), animations="disabled"
        )
    )
    if png:
        out["screenshot"] = (png, "screenshot.png", "image/png")
    snapshot = await _bounded(page.evaluate(SNAPSHOT_JS))
    if isinstance(snapshot, str):
        out["html"] = (
            scrub_text(snapshot, secrets).encode("utf-8"),
            "page.html",
            "text/html; charset=utf-8",
        )
    title = await _bounded(page.title())
    report = {
        "url": scrub_text(page.url, secrets),
        "title": scrub_text(title or "", secrets),
        "error": scrub_text(error, secrets),
        "console": [scrub_text(line, secrets) for line in session.state().console],
    }
    out["console"] = (
        json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8"),
        "console.json",
        "application/json",
    )
    if session.options.trace and session.context is not None:
        trace = await _bounded(sessions.trace_chunk(session.context))
        if trace:
            out["trace"] = (scrub_zip(trace, secrets), "trace.zip", "application/zip")
    return out


def capture(session: sessions.BrowserSession, ctx: Context, error: str) -> list[str]:
    """Collect the evidence and keep it as artifacts of the failing node; returns the kinds
    kept. Never raises: a failure to capture must not hide the failure itself."""
    secrets = known_secrets(session, ctx)
    try:
        pieces = session.run(None, collect(session, secrets, error))
    except Exception as exc:  # noqa: BLE001
        log.warning("no failure evidence for node %s: %s", ctx.node_id, exc)
        return []
    kept = []
    for kind, (data, suffix, content_type) in pieces.items():
        try:
            record = ctx.scope.add_artifact(
                f"{ctx.node_id}-{suffix}",
                data,
                kind=kind,
                content_type=content_type,
                node_id=ctx.node_id,
            )
        except Exception as exc:  # noqa: BLE001 - a sink must not turn evidence into a crash
            log.warning("artifact %s not kept: %s", suffix, exc)
            continue
        if record is not None:
            kept.append(kind)
    return kept
