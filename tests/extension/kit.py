"""Real Chromium with the Exekra extension loaded (Playwright persistent context), and the
fixture pages served on 127.0.0.1 by a local HTTP server — two ports, so one page can embed a
cross-origin frame. ``other.test`` is mapped to 127.0.0.1 with ``--host-resolver-rules`` so a
page can also be opened under a non-localhost origin."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    BrowserContext,
    Frame,
    FrameLocator,
    Locator,
    Page,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.support import REPO

EXTENSION = REPO / "extension"
PAGES = Path(__file__).resolve().parent / "pages"
CHROMIUM = "/usr/bin/chromium"
OTHER_HOST = "other.test"


class _Handler(http.server.SimpleHTTPRequestHandler):
    origins: dict[str, str] = {}

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/origins.js":
            body = f"window.OTHER_ORIGIN = {json.dumps(self.origins['other'])};".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


class _Server(http.server.ThreadingHTTPServer):
    # Chromium opens several connections at once; under a loaded parallel run the default
    # backlog of 5 made connections wait on SYN retries
    request_queue_size = 64


class Pages:
    """Two HTTP servers over the fixture folder: ``url()`` (main) and ``other_url()``."""

    def __init__(self, directory: Path = PAGES) -> None:
        handler = type("Handler", (_Handler,), {"origins": {}})
        make = functools.partial(handler, directory=str(directory))
        self.main = _Server(("127.0.0.1", 0), make)
        self.other = _Server(("127.0.0.1", 0), make)
        handler.origins["other"] = f"http://127.0.0.1:{self.other.server_address[1]}"
        self.threads = [
            threading.Thread(target=s.serve_forever, daemon=True) for s in (self.main, self.other)
        ]
        for t in self.threads:
            t.start()

    @property
    def port(self) -> int:
        return int(self.main.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def other_host_url(self, path: str) -> str:
        return f"http://{OTHER_HOST}:{self.port}/{path}"

    def close(self) -> None:
        for s in (self.main, self.other):
            s.shutdown()
            s.server_close()


@contextmanager
def extension_browser(profile: Path) -> Iterator[BrowserContext]:
    """Chromium (new headless: it loads extensions) with only our unpacked extension."""
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                f"--disable-extensions-except={EXTENSION}",
                f"--load-extension={EXTENSION}",
                f"--host-resolver-rules=MAP {OTHER_HOST} 127.0.0.1",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            if not ctx.service_workers:
                ctx.wait_for_event("serviceworker", timeout=15000)
            yield ctx
        finally:
            ctx.close()


class Studio:
    """A localhost page with ``window.Exekra``, driving the extension like the console does."""

    def __init__(self, ctx: BrowserContext, pages: Pages) -> None:
        self.ctx = ctx
        self.page = ctx.new_page()
        self.page.goto(pages.url("studio.html"))
        self.page.wait_for_function("window.Exekra && window.received", timeout=10000)

    def start(self, call: str) -> None:
        """Start an Exekra call without waiting for it (``window.__last``)."""
        self.page.evaluate(f"window.__last = {call}; window.__last.catch(() => {{}}); 0")

    def result(self) -> Any:
        return self.page.evaluate("window.__last")

    def opened(self, call: str) -> Page:
        """Run a call that opens a new tab and return that tab."""
        with self.ctx.expect_page() as info:
            self.start(call)
        page = info.value
        page.wait_for_load_state()
        return page

    def received(self) -> list[dict[str, Any]]:
        return self.page.evaluate("window.received")


def frames_ready(
    page: Page, wanted: dict[str, str] | None = None, timeout: float = 30
) -> list[Frame]:
    """The page's frames named in ``wanted`` (name → a selector each must show; default: the
    ``outer`` frame and the cross-origin ``inner`` frame of selectors.html, by their buttons),
    in that order, once each shows it. A re-render rebuilds frames, so a test waits here
    rather than reusing a frame it found before; on a timeout the message lists the frames the
    page has (what a CI log needs)."""
    wanted = wanted or {"outer": "button", "inner": "button"}
    deadline = time.monotonic() + timeout
    while True:
        found = [page.frame(name=name) for name in wanted]
        if all(f is not None and not f.is_detached() for f in found):
            try:
                for frame, selector in zip(found, wanted.values(), strict=True):
                    assert frame is not None
                    frame.wait_for_selector(selector, timeout=1000)
                return [f for f in found if f is not None]
            except PlaywrightError:  # detached by a re-render, or not loaded yet
                pass
        if time.monotonic() > deadline:
            frames = [(f.name, f.url, f.is_detached()) for f in page.frames]
            raise AssertionError(f"the frames {list(wanted)} did not load: {frames}")
        page.wait_for_timeout(100)


def wait_picking(frame: Page | Frame, purpose: str = "target") -> None:
    frame.wait_for_selector(f"html[data-exekra-picking={purpose}]", state="attached", timeout=10000)


def pick(studio: Studio, page: Page, locator: Locator, frame: Page | Frame | None = None,
         call: str = "Exekra.selectElement()") -> Any:  # fmt: skip
    """Pick the element under ``locator`` in ``page`` and return what the Studio received."""
    studio.start(call)
    wait_picking(frame or page)
    locator.click()
    return studio.result()


def resolve(page: Page, target: dict[str, Any], selector: str | None = None) -> Locator:
    """Where Playwright finds a target: inside its frame path and shadow path."""
    scope: Page | FrameLocator = page
    for frame_sel in target["frame_path"]:
        scope = scope.frame_locator(frame_sel)
    loc: Locator | None = None
    for host in target["shadow_path"]:
        loc = (loc or scope).locator(host)  # type: ignore[union-attr]
    sel = selector or target["selector"]
    return (loc or scope).locator(sel)  # type: ignore[union-attr]


def key_of(locator: Locator) -> Any:
    return locator.evaluate("el => el.__key || null")


class ThreadedBrowser:
    """``extension_browser`` on a thread of its own, for tests that run an asyncio loop (the
    console's Pilot): Playwright's sync API may not run inside one. ``run(fn)`` calls
    ``fn(ctx)`` on the browser's thread and returns its result."""

    def __init__(self, profile: Path) -> None:
        import queue

        self._jobs: queue.Queue[Any] = queue.Queue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(profile,), daemon=True)
        self._thread.start()
        self._ready.wait(60)
        if self._error:
            raise self._error

    def _main(self, profile: Path) -> None:
        try:
            with extension_browser(profile) as ctx:
                self._ready.set()
                while True:
                    job = self._jobs.get()
                    if job is None:
                        return
                    fn, box, done = job
                    try:
                        box["value"] = fn(ctx)
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        box["error"] = exc
                    done.set()
        except BaseException as exc:  # noqa: BLE001
            self._error = exc
            self._ready.set()

    def run(self, fn: Any, timeout: float = 120) -> Any:
        box: dict[str, Any] = {}
        done = threading.Event()
        self._jobs.put((fn, box, done))
        if not done.wait(timeout):
            raise TimeoutError("the browser thread did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(60)
