"""``browser.*``: drive Chromium (Chrome, Edge) through Playwright.

Each activity is a small coroutine run on its session's loop by :class:`Step`, which resolves
targets (:mod:`.resolve`), reports fallbacks and selector repairs, turns Playwright's errors
into messages a workflow author understands (with every secret masked), and keeps failure
evidence (:mod:`.evidence`) before the node fails.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .._filenames import safe_name, unique_path
from ..base import ActivityError, Context, activity, boolean, integer, number, text
from . import evidence, resolve, tables, targets
from .session import BrowserSession, Options, open_session

T = TypeVar("T")

PREFIX = "browser:"
DEFAULT = "default"
MODIFIERS = ("Alt", "Control", "ControlOrMeta", "Meta", "Shift")
URL_SCHEMES = ("http", "https", "file", "about", "data")


# ---------------------------------------------------------------------------------------------
# Sessions in the execution scope


def _session_key(name: str) -> str:
    return PREFIX + name


def current_session(params: dict[str, Any], ctx: Context) -> BrowserSession:
    """The session a node uses: ``session`` if given, else ``default``, else the only one."""
    name = params.get("session")
    if name not in (None, ""):
        session = ctx.scope.get(_session_key(str(name)))
        if session is None:
            raise ActivityError(f"no browser session {name!r} is open (use browser.open first)")
        return session  # type: ignore[no-any-return]
    session = ctx.scope.get(_session_key(DEFAULT))
    if session is not None:
        return session  # type: ignore[no-any-return]
    keys = ctx.scope.keys(PREFIX)
    if len(keys) == 1:
        return ctx.scope.get(keys[0])  # type: ignore[no-any-return]
    if not keys:
        raise ActivityError("no browser is open (use browser.open first)")
    names = ", ".join(k.removeprefix(PREFIX) for k in keys)
    raise ActivityError(f"several browser sessions are open ({names}); name one in 'session'")


# ---------------------------------------------------------------------------------------------
# Errors


def _playwright_error(exc: Exception, timeout_ms: float) -> str:
    raw = str(exc)
    first = raw.strip().splitlines()[0] if raw.strip() else type(exc).__name__
    first = re.sub(r"^[A-Za-z]+\.[a-z_]+: ", "", first)
    first = first.removeprefix("Error: ")
    strict = re.search(r"strict mode violation: (.*) resolved to (\d+) elements", raw)
    if strict:
        return (
            f"the selector {strict.group(1)} matches {strict.group(2)} elements; a target must "
            "match exactly one (make it more specific or add an anchor)"
        )
    if type(exc).__name__ == "TimeoutError" or first.startswith("Timeout "):
        waiting = re.findall(r"^\s*- (.*)$", raw, re.MULTILINE) or [
            line for line in raw.splitlines()[1:] if line.strip() and not line.startswith("===")
        ]
        detail = f" ({waiting[-1].strip()})" if waiting else ""
        return f"timed out after {timeout_ms / 1000:.1f} s{detail}"
    return first


class Step:
    """One browser node: its session, its action timeout and what it must report."""

    def __init__(self, params: dict[str, Any], ctx: Context, session: BrowserSession | None = None):
        self.params = params
        self.ctx = ctx
        self.session = session or current_session(params, ctx)
        self.timeout_ms = self.session.action_timeout(ctx)
        self._events: list[tuple[str, str, targets.Target, resolve.Resolved]] = []
        self.selector = ""

    def target(self, param: str = "target") -> targets.Target | None:
        value = self.params.get(param)
        if value in (None, ""):
            return None
        cached = self.session.repairs.get((self.ctx.node_id, param))
        try:
            return targets.parse(cached if cached is not None else value)
        except targets.TargetError as exc:
            raise ActivityError(f"param {param!r}: {exc}") from None

    async def element(self, param: str = "target", timeout_ms: float | None = None) -> Any:
        """The locator of the param's element (waits for it; repairs from the fingerprint)."""
        target = self.target(param)
        if target is None:
            raise ActivityError(f"param {param!r} is required")
        found = await resolve.resolve(self.session.root(), target, timeout_ms or self.timeout_ms)
        if found.repaired is not None or found.fallback:
            self._events.append((param, found.selector, target, found))
        self.selector = found.selector
        return found.locator

    def _report(self) -> None:
        for param, selector, target, found in self._events:
            key = (self.ctx.node_id, param)
            if found.repaired is not None:
                if key in self.session.repairs:
                    continue
                self.session.repairs[key] = found.repaired
                self.ctx.log(
                    "warning",
                    f"selector repaired: {target.selector!r} and its fallbacks match nothing; "
                    f"using {selector!r} (fingerprint similarity {found.score:.2f})",
                )
                self.ctx.scope.report_repair(
                    self.ctx.node_id,
                    param,
                    target.raw,
                    found.repaired,
                    score=float(found.score or 0.0),
                )
            elif key not in self.session.warned:
                self.session.warned.add(key)
                self.ctx.log(
                    "warning",
                    f"primary selector {target.selector!r} matches nothing; "
                    f"used fallback {selector!r}",
                )
        self._events.clear()

    def run(self, action: Callable[[Step], Awaitable[T]]) -> T:
        """Run ``action`` on the session's loop; on failure keep evidence and fail clearly."""

        async def body() -> T:
            return await action(self)

        try:
            value = self.session.run(self.ctx, body())
        except (ActivityError, resolve.NotFound) as exc:
            self._report()
            self._fail(str(exc))
        except Exception as exc:
            self._report()
            if type(exc).__module__.startswith("playwright") or type(exc).__name__ in (
                "Error",
                "TimeoutError",
            ):
                self._fail(_playwright_error(exc, self.timeout_ms))
            raise
        self._report()
        return value

    def _fail(self, message: str) -> None:
        secrets = evidence.known_secrets(self.session, self.ctx)
        message = evidence.scrub_text(message, secrets)
        page = self.session.page
        where = ""
        if page is not None and not page.is_closed():
            where = f" on {evidence.scrub_text(page.url, secrets)}"
        evidence.capture(self.session, self.ctx, message)
        raise ActivityError(message + where) from None


# ---------------------------------------------------------------------------------------------
# Session activities


def _viewport(value: Any) -> dict[str, int] | None:
    if value in (None, "", {}):
        return None
    try:
        width, height = int(value["width"]), int(value["height"])
    except (TypeError, KeyError, ValueError):
        raise ActivityError(
            'param \'viewport\' must be {"width": ..., "height": ...} in pixels'
        ) from None
    if not (100 <= width <= 10000 and 100 <= height <= 10000):
        raise ActivityError("param 'viewport': width and height must be 100-10000 pixels")
    return {"width": width, "height": height}


def _check_url(url: str) -> str:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in URL_SCHEMES:
        raise ActivityError(
            f"cannot open {url!r}: give a full address (http://, https://, file://, about:)"
        )
    return url


async def _goto(step: Step, url: str) -> dict[str, Any]:
    page = step.session.current_page()
    try:
        response = await page.goto(url, timeout=step.timeout_ms, wait_until="load")
    except Exception as exc:
        if "net::" in str(exc) or "NS_ERROR" in str(exc):
            match = re.search(r"net::[A-Z_]+", str(exc))
            raise ActivityError(
                f"could not open {url}: {match.group(0) if match else str(exc).splitlines()[0]}"
            ) from None
        raise
    step.session.frame = None
    return {
        "url": page.url,
        "title": await page.title(),
        "status": response.status if response is not None else None,
    }


def _closer(ctx: Context, name: str) -> Callable[[BrowserSession], None]:
    def close(session: BrowserSession) -> None:
        def keep_trace(data: bytes) -> None:
            ctx.scope.add_artifact(
                f"{name}-trace.zip",
                evidence.scrub_zip(data, session.secrets),
                kind="trace",
                content_type="application/zip",
                node_id=ctx.node_id,
            )

        session.on_close_trace = keep_trace
        session.close()

    return close


@activity("browser.open")
def browser_open(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    policy = ctx.policy
    name = text(params, "session", DEFAULT) or DEFAULT
    url = params.get("url")
    options = Options(
        name=name,
        headless=boolean(params, "headless", policy.browser_headless),
        executable=policy.browser_executable,
        channel=text(params, "channel", "") or None,
        viewport=_viewport(params.get("viewport")),
        user_data_dir=text(params, "user_data_dir", "") or None,
        trace=boolean(params, "trace", False),
        timeout=float(policy.browser_timeout),
        downloads=policy.browser_downloads,
    )
    if options.user_data_dir:
        Path(options.user_data_dir).expanduser().mkdir(parents=True, exist_ok=True)
    try:
        session = open_session(options, ctx)
    except ActivityError:
        raise
    except Exception as exc:  # noqa: BLE001 - Playwright's launch errors, made readable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ActivityError(f"could not start the browser: {first}") from None
    ctx.scope.put(_session_key(name), session, _closer(ctx, name))
    pid = f" (pid {session.browser_pid})" if session.browser_pid else ""
    ctx.log("info", f"browser session {name!r} opened: Chromium {session.version}{pid}")
    out: dict[str, Any] = {"session": name, "version": session.version, "pid": session.browser_pid}
    if url not in (None, ""):
        step = Step(params, ctx, session)
        out.update(step.run(lambda s: _goto(s, _check_url(text(params, "url")))))
    return out


@activity("browser.close")
def browser_close(params: dict[str, Any], ctx: Context) -> None:
    try:
        session = current_session(params, ctx)
    except ActivityError as exc:
        ctx.log("warning", f"nothing to close: {exc}")
        return
    ctx.scope.pop(_session_key(session.name))
    ctx.log("info", f"browser session {session.name!r} closed")


@activity("browser.navigate")
def browser_navigate(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    action = params.get("action") or "goto"
    step = Step(params, ctx)

    async def go(s: Step) -> dict[str, Any]:
        page = s.session.current_page()
        if action == "goto":
            return await _goto(s, _check_url(text(params, "url")))
        if action == "back":
            response = await page.go_back(timeout=s.timeout_ms)
        elif action == "forward":
            response = await page.go_forward(timeout=s.timeout_ms)
        elif action == "reload":
            response = await page.reload(timeout=s.timeout_ms)
        else:
            raise ActivityError("param 'action' must be goto, back, forward or reload")
        s.session.frame = None
        status = response.status if response is not None else None
        return {"url": page.url, "title": await page.title(), "status": status}

    return step.run(go)


# ---------------------------------------------------------------------------------------------
# Actions


@activity("browser.click")
def browser_click(params: dict[str, Any], ctx: Context) -> None:
    button = params.get("button") or "left"
    if button not in ("left", "right", "middle"):
        raise ActivityError("param 'button' must be left, right or middle")
    mods = params.get("modifiers") or []
    if isinstance(mods, str):
        mods = [mods]
    if not isinstance(mods, list) or any(m not in MODIFIERS for m in mods):
        raise ActivityError(f"param 'modifiers' must be a list of {', '.join(MODIFIERS)}")
    double = boolean(params, "double")

    async def click(s: Step) -> None:
        loc = await s.element()
        if double:
            await loc.dblclick(button=button, modifiers=mods, timeout=s.timeout_ms)
        else:
            await loc.click(button=button, modifiers=mods, timeout=s.timeout_ms)

    step = Step(params, ctx)
    step.run(click)
    ctx.log("debug", f"clicked {step.selector}")


@activity("browser.type")
def browser_type(params: dict[str, Any], ctx: Context) -> None:
    value = text(params, "text", "")
    clear = boolean(params, "clear", True)
    enter = boolean(params, "press_enter")
    step = Step(params, ctx)
    secret = bool(ctx.credential and ctx.credential.secret and ctx.credential.secret in value)
    if secret and ctx.credential is not None:
        # the engine's redactor knows every credential's secret already; the session's
        # artifacts (screenshots, traces) are masked with what was typed into them
        step.session.secrets.add(ctx.credential.secret)

    async def type_(s: Step) -> None:
        loc = await s.element()
        if secret and ctx.credential is not None and ctx.credential.allowed_hosts:
            # a credential bound to hosts is typed only into pages of those hosts (the frame
            # holding the field: a login iframe of another origin counts as that origin)
            page = urlsplit(await loc.evaluate("el => el.ownerDocument.location.href"))
            web = page.scheme in ("http", "https")
            ctx.credential.check_host(
                page.hostname if web else None,
                page.port or {"http": 80, "https": 443}.get(page.scheme),
                what=f"typing into a page at {page.scheme}://{page.netloc}",
            )
        if clear:
            await loc.fill(value, timeout=s.timeout_ms)
        else:
            await loc.focus(timeout=s.timeout_ms)
            await loc.evaluate(
                "el => { try { const n = el.value.length; el.setSelectionRange(n, n); } "
                "catch (e) {} }"
            )
            await loc.press_sequentially(value, timeout=s.timeout_ms)
        if secret:
            target = s.target()
            assert target is not None
            field = (target.frame_path, target.shadow_path, s.selector)
            if field not in s.session.secret_fields:
                s.session.secret_fields.append(field)
        if enter:
            await loc.press("Enter", timeout=s.timeout_ms)

    step.run(type_)
    what = "a secret" if secret else f"{len(value)} characters"
    ctx.log("debug", f"typed {what} into {step.selector}")


def _options(value: Any, name: str) -> list[str] | None:
    if value in (None, ""):
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    raise ActivityError(f"param {name!r} must be text or a list")


@activity("browser.select")
def browser_select(params: dict[str, Any], ctx: Context) -> list[str]:
    values, labels = _options(params.get("value"), "value"), _options(params.get("label"), "label")
    if (values is None) == (labels is None):
        raise ActivityError("give either 'value' or 'label'")

    async def select(s: Step) -> list[str]:
        loc = await s.element()
        if values is not None:
            return list(await loc.select_option(value=values, timeout=s.timeout_ms))
        return list(await loc.select_option(label=labels, timeout=s.timeout_ms))

    return Step(params, ctx).run(select)


@activity("browser.check")
def browser_check(params: dict[str, Any], ctx: Context) -> None:
    checked = boolean(params, "checked", True)

    async def check(s: Step) -> None:
        await (await s.element()).set_checked(checked, timeout=s.timeout_ms)

    Step(params, ctx).run(check)


@activity("browser.hover")
def browser_hover(params: dict[str, Any], ctx: Context) -> None:
    async def hover(s: Step) -> None:
        await (await s.element()).hover(timeout=s.timeout_ms)

    Step(params, ctx).run(hover)


@activity("browser.press_key")
def browser_press_key(params: dict[str, Any], ctx: Context) -> None:
    key = text(params, "key")

    async def press(s: Step) -> None:
        if params.get("target") not in (None, ""):
            await (await s.element()).press(key, timeout=s.timeout_ms)
        else:
            await s.session.current_page().keyboard.press(key)

    Step(params, ctx).run(press)


GET_TEXT_JS = (
    "el => ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) ? el.value "
    ": (el.innerText ?? el.textContent ?? '')"
)


@activity("browser.get_text")
def browser_get_text(params: dict[str, Any], ctx: Context) -> str:
    async def get(s: Step) -> str:
        loc = await s.element()
        return str(await loc.evaluate(GET_TEXT_JS, timeout=s.timeout_ms)).strip()

    return Step(params, ctx).run(get)


@activity("browser.get_attribute")
def browser_get_attribute(params: dict[str, Any], ctx: Context) -> str | None:
    name = text(params, "name")

    async def get(s: Step) -> str | None:
        value = await (await s.element()).get_attribute(name, timeout=s.timeout_ms)
        return None if value is None else str(value)

    return Step(params, ctx).run(get)


def _url_pattern(pattern: str) -> Any:
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        try:
            return re.compile(pattern[1:-1])
        except re.error as exc:
            raise ActivityError(f"param 'url': bad regular expression: {exc}") from None
    return pattern


@activity("browser.wait_for")
def browser_wait_for(params: dict[str, Any], ctx: Context) -> Any:
    state = params.get("state") or "visible"
    if state not in ("visible", "hidden", "attached", "detached"):
        raise ActivityError("param 'state' must be visible, hidden, attached or detached")
    url = params.get("url")
    seconds = number(params, "timeout", 0) or None
    step = Step(params, ctx)
    step.timeout_ms = step.session.action_timeout(ctx, seconds)
    if url in (None, "") and params.get("target") in (None, ""):
        raise ActivityError("give a 'target' or a 'url' to wait for")

    async def wait(s: Step) -> Any:
        if url not in (None, ""):
            page = s.session.current_page()
            await page.wait_for_url(_url_pattern(str(url)), timeout=s.timeout_ms)
            return page.url
        if state in ("visible", "attached"):
            started = time.monotonic()
            loc = await s.element()
            left = max(1.0, s.timeout_ms - (time.monotonic() - started) * 1000)
            await loc.wait_for(state=state, timeout=left)
            return True
        target = s.target()
        assert target is not None
        found = await resolve.try_once(s.session.root(), target)
        loc = found.locator if found else resolve.locate(s.session.root(), target, target.selector)
        await loc.wait_for(state=state, timeout=s.timeout_ms)
        return True

    return step.run(wait)


@activity("browser.screenshot")
def browser_screenshot(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    full = boolean(params, "full_page")
    path = params.get("path")

    async def shoot(s: Step) -> bytes:
        page = s.session.current_page()
        mask = evidence.masks(s.session, page)
        if params.get("target") not in (None, ""):
            loc = await s.element()
            return bytes(await loc.screenshot(timeout=s.timeout_ms, mask=mask))
        return bytes(await page.screenshot(full_page=full, timeout=s.timeout_ms, mask=mask))

    data = Step(params, ctx).run(shoot)
    if path not in (None, ""):
        dest = Path(str(path)).expanduser()
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        except OSError as exc:
            raise ActivityError(f"cannot write the screenshot to {dest}: {exc.strerror}") from None
        return {"path": str(dest), "size": len(data)}
    name = text(params, "name", f"{ctx.node_id}.png")
    record = ctx.scope.add_artifact(
        name, data, kind="screenshot", content_type="image/png", node_id=ctx.node_id
    )
    if record is None:
        ctx.log("warning", f"the screenshot {name} was not kept (refused by the hub)")
        return {"name": name, "size": len(data), "artifact": None}
    return {k: v for k, v in record.items() if k != "data"} | {"artifact": record.get("id")}


def _columns(value: Any) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ActivityError("param 'columns' must be a list of {header, selector}")
    out = []
    for i, col in enumerate(value):
        if isinstance(col, str):
            col = {"selector": col}
        if not isinstance(col, dict):
            raise ActivityError(f"param 'columns' item {i + 1} must be {{header, selector}}")
        header = col.get("header", col.get("name", ""))
        selector = col.get("selector", col.get("cell_selector", ""))
        if not isinstance(header, str) or not isinstance(selector, str):
            raise ActivityError(f"param 'columns' item {i + 1}: header and selector are text")
        out.append({"header": header, "selector": selector})
    return out


DISABLED_JS = (
    "el => !!(el.disabled || el.getAttribute('aria-disabled') === 'true' "
    "|| el.classList.contains('disabled'))"
)


@activity("browser.extract_table")
def browser_extract_table(params: dict[str, Any], ctx: Context) -> list[dict[str, str]]:
    header = params.get("header") or "auto"
    if header not in ("auto", "first_row", "none"):
        raise ActivityError("param 'header' must be auto, first_row or none")
    columns = _columns(params.get("columns"))
    row_selector = params.get("row_selector") or ""
    if columns and not row_selector:
        raise ActivityError("param 'columns' needs a 'row_selector'")
    pages = integer(params, "max_pages", 50) if params.get("next") else 1
    if pages < 1:
        raise ActivityError("param 'max_pages' must be at least 1")
    opts = {"rowSelector": row_selector, "columns": columns}

    async def table_locator(s: Step) -> Any:
        if params.get("target") not in (None, ""):
            return await s.element()
        root = s.session.root()
        if not await root.evaluate(tables.FIND_JS):
            raise ActivityError("there is no table on the page")
        return root.locator("[data-exekra-table='1']").first

    async def extract(s: Step) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for page_no in range(pages):
            table = await table_locator(s)
            grid = await table.evaluate(tables.EXTRACT_JS, opts, timeout=s.timeout_ms)
            rows += tables.rows_from_grid(grid, header)
            if page_no == pages - 1:
                break
            target = s.target("next")
            assert target is not None
            found = await resolve.try_once(s.session.root(), target)
            if found is None or await found.locator.evaluate(DISABLED_JS):
                break
            before = await table.inner_text(timeout=s.timeout_ms)
            await found.locator.click(timeout=s.timeout_ms)
            deadline = time.monotonic() + s.timeout_ms / 1000
            while time.monotonic() < deadline:
                table = await table_locator(s)
                try:
                    if await table.inner_text(timeout=s.timeout_ms) != before:
                        break
                except Exception:  # noqa: BLE001,S112 - the table is being re-rendered
                    continue
                await asyncio.sleep(0.05)
            else:
                raise ActivityError(
                    f"the table did not change after clicking 'next' (page {page_no + 1})"
                )
        return rows

    result = Step(params, ctx).run(extract)
    ctx.log("debug", f"read {len(result)} row(s)")
    return result


@activity("browser.execute_js")
def browser_execute_js(params: dict[str, Any], ctx: Context) -> Any:
    script = params.get("script")
    if not isinstance(script, str) or not script.strip():
        raise ActivityError("param 'script' is required")
    args = params.get("args")

    async def execute(s: Step) -> Any:
        try:
            if params.get("target") not in (None, ""):
                loc = await s.element()
                fn = "async (element, args) => {\n" + script + "\n}"
                return await loc.evaluate(fn, args, timeout=s.timeout_ms)
            fn = "async (args) => {\n" + script + "\n}"
            return await s.session.root().evaluate(fn, args)
        except Exception as exc:
            if type(exc).__name__ == "Error":
                first = str(exc).strip().splitlines()[0]
                first = re.sub(r"^[A-Za-z]+\.evaluate: ", "", first)
                raise ActivityError(f"the script failed: {first}") from None
            raise

    return Step(params, ctx).run(execute)


@activity("browser.switch_tab")
def browser_switch_tab(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    index = params.get("index")
    title = text(params, "title", "")
    url = text(params, "url", "")
    newest = boolean(params, "newest")
    if index in (None, "") and not title and not url and not newest:
        raise ActivityError("give 'index', 'title', 'url' or 'newest: true'")
    wanted = integer(params, "index") if index not in (None, "") else None

    async def pick(s: Step) -> Any:
        pages = [p for p in s.session.context.pages if not p.is_closed()]
        if wanted is not None:
            return pages[wanted] if 0 <= wanted < len(pages) else None
        if newest:
            others = [p for p in pages if p is not s.session.page]
            return others[-1] if others else None
        for page in reversed(pages):
            if url and url.lower() not in page.url.lower():
                continue
            if title and title.lower() not in (await page.title()).lower():
                continue
            return page
        return None

    async def switch(s: Step) -> dict[str, Any]:
        deadline = time.monotonic() + s.timeout_ms / 1000
        while (page := await pick(s)) is None:
            if time.monotonic() >= deadline:
                parts = [f"title {title!r}" if title else "", f"URL {url!r}" if url else ""]
                what = (
                    f"index {wanted}"
                    if wanted is not None
                    else "a new tab"
                    if newest
                    else " and ".join(x for x in parts if x)
                )
                count = len(s.session.context.pages)
                raise ActivityError(f"no tab with {what} ({count} open)")
            await asyncio.sleep(0.05)
        await page.wait_for_load_state("domcontentloaded", timeout=s.timeout_ms)
        await page.bring_to_front()
        s.session.page, s.session.frame = page, None
        return {
            "index": s.session.context.pages.index(page),
            "url": page.url,
            "title": await page.title(),
        }

    return Step(params, ctx).run(switch)


@activity("browser.switch_frame")
def browser_switch_frame(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    step = Step(params, ctx)
    if boolean(params, "top"):
        step.session.frame = None
        return {"frame": None}
    if params.get("target") in (None, ""):
        raise ActivityError("give the iframe 'target', or 'top: true'")

    async def switch(s: Step) -> dict[str, Any]:
        handle = await (await s.element()).element_handle(timeout=s.timeout_ms)
        frame = await handle.content_frame()
        if frame is None:
            raise ActivityError(f"{s.selector!r} is not an iframe")
        s.session.frame = frame
        return {"frame": frame.name or None, "url": frame.url}

    return step.run(switch)


@activity("browser.upload")
def browser_upload(params: dict[str, Any], ctx: Context) -> None:
    files = params.get("files")
    paths = [files] if isinstance(files, str) else files
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise ActivityError("param 'files' must be a path or a list of paths")
    resolved = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise ActivityError(f"cannot upload {p}: no such file")
        resolved.append(str(path))

    async def upload(s: Step) -> None:
        await (await s.element()).set_input_files(resolved, timeout=s.timeout_ms)

    Step(params, ctx).run(upload)
    ctx.log("debug", f"uploaded {len(resolved)} file(s)")


@activity("browser.download")
def browser_download(params: dict[str, Any], ctx: Context) -> str:
    where = params.get("path")
    keep = boolean(params, "artifact")
    step = Step(params, ctx)

    async def download(s: Step) -> str:
        page = s.session.current_page()
        loc = await s.element()
        async with page.expect_download(timeout=s.timeout_ms) as info:
            await loc.click(timeout=s.timeout_ms)
        item = await info.value
        failure = await item.failure()
        if failure:
            raise ActivityError(f"the download failed: {failure}")
        name = safe_name(item.suggested_filename, "download")
        if where not in (None, ""):
            dest = Path(str(where)).expanduser()
            if dest.is_dir() or str(where).endswith(("/", "\\")):
                dest = unique_path(dest, name, first=1)
        else:
            folder = Path(s.session.options.downloads).expanduser()
            dest = unique_path(folder, name, first=1)
        dest.parent.mkdir(parents=True, exist_ok=True)
        await item.save_as(str(dest))
        return str(dest)

    saved = step.run(download)
    if keep:
        data = Path(saved).read_bytes()
        ctx.scope.add_artifact(Path(saved).name, data, kind="download", node_id=ctx.node_id)
    ctx.log("info", f"downloaded {Path(saved).name}")
    return saved
