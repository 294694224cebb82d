"""Browser sessions: one Playwright driver and browser per session, owned by one thread.

The engine runs each node on its own thread, and Playwright objects belong to the event loop
that made them. So a :class:`BrowserSession` runs Playwright's asyncio API on an event loop
in a thread of its own; activities hand it coroutines with :meth:`BrowserSession.run`, which
waits for the answer while watching the node's ``ctx`` — a stop request, a node timeout or the
execution timeout cancels the pending call at once, even when the page hangs (a page stuck in
an endless script, an element that never appears).

Sessions live in the execution's :class:`~runner.activities.base.ExecutionScope` under
``browser:<name>``; the engine closes them when the execution ends, however it ends. Closing
is graceful first (Playwright closes the browser and stops its driver) and then by force: the
browser's process tree, learnt from Chromium itself at launch, is killed if anything of it is
still alive — no browser process outlives its execution.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import shutil
import sys
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil

from ..base import ActivityError, Context

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how often a waiting node checks for stop requests and deadlines
POLL = 0.05
#: Chromium flags that work for services and containers (and keep the browser quiet)
BASE_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
#: browsers looked for on PATH when neither the setting nor Playwright names one
PATH_BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "microsoft-edge-stable",
    "msedge",
)
WINDOWS_BROWSERS = (
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
)
CLOSE_TIMEOUT = 10.0
#: console errors kept per page for failure evidence
CONSOLE_KEEP = 50

_LIVE: weakref.WeakSet[BrowserSession] = weakref.WeakSet()


def launch_args() -> list[str]:
    """Chromium's command-line flags: ``--no-sandbox`` only when running as root (where the
    sandbox cannot start), the quiet service flags always."""
    args = list(BASE_ARGS)
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and geteuid() == 0:
        args.insert(0, "--no-sandbox")
    return args


def find_executable(configured: str, playwright_path: str | None) -> str | None:
    """The browser to start: the setting, else Playwright's own download, else one on PATH."""
    if configured:
        if not Path(configured).is_file():
            raise ActivityError(f"the runner setting browser_executable={configured!r} is no file")
        return configured
    if playwright_path and Path(playwright_path).is_file():
        return playwright_path
    for name in PATH_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if sys.platform == "win32":
        for candidate in WINDOWS_BROWSERS:
            if Path(candidate).is_file():
                return candidate
    return None


@dataclass
class Options:
    """How to start one session (from browser.open's params and the runner settings)."""

    name: str = "default"
    headless: bool = True
    executable: str = ""
    channel: str | None = None
    viewport: dict[str, int] | None = None
    user_data_dir: str | None = None
    trace: bool = False
    timeout: float = 30.0
    downloads: str = ""


@dataclass
class PageState:
    """What the session knows of one tab: console errors for failure evidence."""

    console: list[str] = field(default_factory=list)


class BrowserSession:
    """One browser (its own Playwright driver) driven from one event-loop thread."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.name = options.name
        self.timeout = options.timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name=f"exekra-browser-{options.name}", daemon=True
        )
        self._thread.start()
        self.playwright: Any = None
        self.browser: Any = None
        self.context: Any = None
        self.page: Any = None
        #: the frame later nodes work in (None: the page's main frame)
        self.frame: Any = None
        self.pages: dict[Any, PageState] = {}
        self.pids: set[int] = set()
        self.browser_pid: int | None = None
        self.version = ""
        #: secrets typed in this session: masked in every artifact it produces
        self.secrets: set[str] = set()
        #: (frame path, shadow path, selector) of fields that received a secret
        self.secret_fields: list[tuple[tuple[str, ...], tuple[str, ...], str]] = []
        #: (node_id, param) → repaired target object, reused by later rounds of a loop
        self.repairs: dict[tuple[str, str], Any] = {}
        self.warned: set[tuple[str, str]] = set()
        self.closed = False
        self._close_lock = threading.Lock()
        #: artifact hook for the trace left when the session closes: (name, data) -> None
        self.on_close_trace: Callable[[bytes], None] | None = None
        _LIVE.add(self)

    # -- calls from node threads ----------------------------------------------------------

    def run(self, ctx: Context | None, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the session's loop; give up (cancelling it) when ``ctx`` must stop."""
        if self.closed:
            coro.close()
            raise ActivityError(f"browser session {self.name!r} is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        while True:
            try:
                return future.result(timeout=POLL)
            except concurrent.futures.TimeoutError:
                if ctx is not None and ctx.cancelled():
                    future.cancel()
                    ctx.check()
                    raise ActivityError("cancelled") from None
            except concurrent.futures.CancelledError:
                if ctx is not None:
                    ctx.check()
                raise ActivityError("the browser call was cancelled") from None

    def action_timeout(self, ctx: Context | None, seconds: float | None = None) -> float:
        """Milliseconds Playwright may wait: the session default (or ``seconds``), ending a
        little before the node's deadline so the failure is ours, with evidence."""
        limit = self.timeout if seconds is None else seconds
        if ctx is not None and ctx.deadline is not None:
            left = ctx.remaining() or 0.0
            limit = min(limit, max(0.1, left - 0.75))
        return max(1.0, limit * 1000.0)

    # -- launch ---------------------------------------------------------------------------

    async def start(self) -> None:
        from playwright.async_api import async_playwright

        opts = self.options
        self.playwright = await async_playwright().start()
        chromium = self.playwright.chromium
        launch: dict[str, Any] = {"headless": opts.headless, "args": launch_args()}
        if opts.channel and opts.channel != "chromium":
            launch["channel"] = opts.channel
        else:
            exe = find_executable(opts.executable, chromium.executable_path)
            if exe is None:
                raise ActivityError(
                    "no browser found: install Chromium, Chrome or Edge, or set the runner "
                    "setting browser_executable"
                )
            launch["executable_path"] = exe
        if opts.downloads:
            launch["downloads_path"] = opts.downloads
        context_opts: dict[str, Any] = {"accept_downloads": True}
        if opts.viewport:
            context_opts["viewport"] = opts.viewport
        if opts.user_data_dir:
            self.context = await chromium.launch_persistent_context(
                opts.user_data_dir, **launch, **context_opts
            )
            self.browser = self.context.browser
        else:
            self.browser = await chromium.launch(**launch)
            self.context = await self.browser.new_context(**context_opts)
        self.version = self.browser.version if self.browser is not None else ""
        await self._learn_pids()
        self.context.set_default_timeout(self.timeout * 1000)
        self.context.on("page", self._adopt)
        if opts.trace:
            await self.context.tracing.start(screenshots=True, snapshots=True)
        for page in self.context.pages:
            self._adopt(page)
        self.page = self.context.pages[0] if self.context.pages else await self.context.new_page()

    async def _learn_pids(self) -> None:
        """The browser's own process id (Chromium tells it over CDP), for the forced close."""
        if self.browser is None:
            return
        try:
            cdp = await self.browser.new_browser_cdp_session()
            info = await cdp.send("SystemInfo.getProcessInfo")
            await cdp.detach()
        except Exception as exc:  # noqa: BLE001 - not Chromium (or no CDP): graceful close only
            log.debug("no process info from the browser: %s", exc)
            return
        for proc in info.get("processInfo", []):
            if proc.get("type") == "browser":
                self.browser_pid = int(proc["id"])
        self._remember_tree()

    def _remember_tree(self) -> None:
        if self.browser_pid is None:
            return
        try:
            root = psutil.Process(self.browser_pid)
            self.pids |= {root.pid, *(c.pid for c in root.children(recursive=True))}
        except psutil.Error:
            pass

    def _adopt(self, page: Any) -> None:
        state = self.pages.setdefault(page, PageState())

        def on_console(message: Any) -> None:
            if message.type in ("error", "assert"):
                state.console.append(f"console.{message.type}: {message.text}")
                del state.console[:-CONSOLE_KEEP]

        def on_error(error: Any) -> None:
            state.console.append(f"page error: {error}")
            del state.console[:-CONSOLE_KEEP]

        def on_close(_page: Any) -> None:
            self.pages.pop(page, None)
            if self.page is page:
                remaining = [p for p in self.context.pages if p is not page]
                self.page = remaining[-1] if remaining else None
                self.frame = None

        page.on("console", on_console)
        page.on("pageerror", on_error)
        page.on("close", on_close)

    def state(self) -> PageState:
        return self.pages.setdefault(self.page, PageState())

    # -- pages and frames -----------------------------------------------------------------

    def current_page(self) -> Any:
        if self.page is None or self.page.is_closed():
            raise ActivityError(f"browser session {self.name!r} has no open tab")
        return self.page

    def root(self) -> Any:
        """The frame targets are resolved in (the switched-to frame, else the main frame)."""
        page = self.current_page()
        if self.frame is not None and not self.frame.is_detached():
            return self.frame
        self.frame = None
        return page.main_frame

    async def fresh_context(self) -> None:
        """Drop every tab and cookie and start over with one blank tab (the same browser)."""
        if self.options.user_data_dir or self.browser is None:
            raise ActivityError("a persistent profile cannot be reset")
        old = self.context
        self.context = await self.browser.new_context(accept_downloads=True)
        self.context.set_default_timeout(self.timeout * 1000)
        self.context.on("page", self._adopt)
        self.pages.clear()
        self.frame = None
        self.secret_fields.clear()
        self.repairs.clear()
        self.warned.clear()
        self.page = await self.context.new_page()
        await old.close()

    # -- close ----------------------------------------------------------------------------

    async def _shutdown(self) -> bytes | None:
        trace = None
        if self.options.trace and self.context is not None:
            try:
                trace = await asyncio.wait_for(_stop_trace(self.context), CLOSE_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - the trace is a bonus; closing is not
                log.warning("could not save the browser trace: %s", exc)
        # closing the browser closes its contexts; a persistent profile is only a context
        closer = self.context if self.options.user_data_dir else self.browser
        if closer is not None:
            try:
                await asyncio.wait_for(closer.close(), CLOSE_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - the forced close below still runs
                log.debug("browser close: %s", exc)
        if self.playwright is not None:
            try:
                await asyncio.wait_for(self.playwright.stop(), CLOSE_TIMEOUT)
            except Exception as exc:  # noqa: BLE001
                log.debug("playwright stop: %s", exc)
        return trace

    def close(self) -> None:
        """Close the browser and its driver; kill what is left of its process tree."""
        with self._close_lock:
            if self.closed:
                return
            self.closed = True
        self._remember_tree()
        trace = None
        if self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            try:
                trace = future.result(timeout=CLOSE_TIMEOUT * 3 + 5)
            except Exception as exc:  # noqa: BLE001
                log.warning("browser session %s did not close cleanly: %s", self.name, exc)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        self.kill_leftovers()
        if not self._thread.is_alive():
            self.loop.close()
        if trace and self.on_close_trace is not None:
            self.on_close_trace(trace)

    def kill_leftovers(self, grace: float = 3.0) -> None:
        """Kill whatever of the browser's process tree outlived the graceful close (a zombie
        waiting for its parent to reap it counts as gone)."""
        procs = []
        for pid in self.pids:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:
                continue
        end = time.monotonic() + grace
        while procs:
            procs = [p for p in procs if _running(p)]
            if not procs or time.monotonic() >= end:
                break
            time.sleep(0.02)
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                pass


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def _stop_trace(context: Any) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="exekra-trace-") as tmp:
        path = Path(tmp) / "trace.zip"
        await context.tracing.stop(path=str(path))
        return path.read_bytes()


async def trace_chunk(context: Any) -> bytes:
    """The trace recorded so far (the recording goes on)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="exekra-trace-") as tmp:
        path = Path(tmp) / "trace.zip"
        await context.tracing.stop_chunk(path=str(path))
        await context.tracing.start_chunk()
        return path.read_bytes()


def open_session(options: Options, ctx: Context | None) -> BrowserSession:
    """Start a session (browser and first tab); closes everything again when it fails."""
    session = BrowserSession(options)
    try:
        session.run(ctx, session.start())
    except BaseException:
        session.close()
        raise
    return session


@atexit.register
def _close_all_at_exit() -> None:
    """Last line of defence: a runner exiting with sessions open kills their browsers."""
    for session in list(_LIVE):
        if not session.closed:
            session._remember_tree()
            session.kill_leftovers()
