"""The Studio side of the browser extension: a small page served on 127.0.0.1 that talks to the
extension (``window.Exekra``), and a blocking Python API over it.

The extension's bridge answers only ``http://localhost`` / ``http://127.0.0.1`` pages, so the
page must come from this machine: :class:`StudioServer` serves it from the designer's own
``exekra`` process (over SSH, forward the port: see the README). The page long-polls the
server for commands (``startRecording``, ``selectElement``, ...), runs them through
``window.Exekra`` and posts back results and the live recorded actions.

Requests must carry the session's random token in the path and a local ``Host`` header (no
other site can drive it, even through DNS rebinding); bodies are size-limited JSON.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "EXTENSION_DIR",
    "BrowserProcess",
    "BrowserSession",
    "ExtensionError",
    "StudioServer",
    "describe_action",
    "extension_dir",
    "find_browser",
]

MAX_BODY = 32 * 1024 * 1024
POLL_SECONDS = 15.0
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ExtensionError(RuntimeError):
    """The extension answered a request with an error (or never connected)."""


def extension_dir() -> Path:
    """The unpacked extension: ``EXEKRA_EXTENSION_DIR`` or the repository's ``extension/``."""
    chosen = os.environ.get("EXEKRA_EXTENSION_DIR")
    return Path(chosen) if chosen else Path(__file__).resolve().parent.parent / "extension"


EXTENSION_DIR = extension_dir()

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Exekra recorder</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:60em;color:#222}
#status{font-weight:600}.bad{color:#b00}.ok{color:#070}
li{font-family:monospace;margin:.2em 0}button{font-size:14px;padding:.3em 1em}
</style></head>
<body>
<h1>Exekra recorder</h1>
<p id="status">Looking for the Exekra extension…</p>
<p><button id="stop" disabled>Stop recording</button></p>
<ol id="actions"></ol>
<script>
"use strict";
const API = location.pathname.replace(/\\/$/, "") + "/api/";
const status = document.getElementById("status");
const post = (path, body) => fetch(API + path, {method: "POST", headers: {"Content-Type":
  "application/json"}, body: JSON.stringify(body)});
function say(text, cls) { status.textContent = text; status.className = cls || ""; }
function show(a) {
  const li = document.createElement("li");
  const sel = a.target && a.target.selector ? " " + a.target.selector : "";
  li.textContent = a.type + sel + (a.value ? "  " + JSON.stringify(a.value) : "");
  document.getElementById("actions").appendChild(li);
}
document.getElementById("stop").onclick = () => post("stop", {});
async function loop() {
  for (;;) {
    let cmd = null;
    try {
      const res = await fetch(API + "next");
      if (res.status === 410) { say("This recording session has ended: close the tab."); return; }
      if (res.status === 200) cmd = await res.json();
    } catch (e) { await new Promise((r) => setTimeout(r, 1000)); continue; }
    if (!cmd) continue;
    if (cmd.type === "startRecording") document.getElementById("stop").disabled = false;
    if (cmd.type === "stopRecording") document.getElementById("stop").disabled = true;
    say(cmd.type === "selectElement" ? "Click the element in the other tab…" :
        cmd.type === "startRecording" ? "Recording: work in the other tab." : cmd.type + "…", "ok");
    window.Exekra[cmd.type](cmd.payload).then(
      (result) => post("result", {id: cmd.id, ok: true, result}),
      (err) => post("result", {id: cmd.id, ok: false, error: String(err && err.message || err)}),
    ).finally(() => { if (cmd.type !== "startRecording") say("Connected.", "ok"); });
  }
}
function ready() {
  let chain = Promise.resolve();  // one at a time: the terminal prints them in order
  window.Exekra.onAction.addListener((a) => {
    show(a);
    chain = chain.then(() => post("action", {action: a})).catch(() => {});
  });
  post("hello", {version: window.Exekra.version}).then(loop);
  setInterval(() => window.Exekra.ping().catch(() => {}), 20000);  // keeps the worker awake
  say("Connected to the Exekra extension " + window.Exekra.version + ".", "ok");
}
if (window.Exekra) ready();
else {
  window.addEventListener("exekra:ready", ready, {once: true});
  setTimeout(() => { if (!window.Exekra) {
    say("The Exekra extension is not installed in this browser: chrome://extensions → " +
        "Developer mode → Load unpacked → the extension folder.", "bad");
    post("missing", {}); } }, 5000);
}
</script></body></html>
"""


@dataclass
class _Command:
    id: str
    type: str
    payload: dict[str, Any]
    future: Future[Any]


class StudioServer:
    """The Studio page and its API on 127.0.0.1 (``port=0``: any free port)."""

    def __init__(
        self, port: int = 0, on_action: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.token = secrets.token_urlsafe(18)
        self.on_action = on_action
        self.on_stop: Callable[[], None] | None = None
        self.actions: list[dict[str, Any]] = []
        self.version: str | None = None
        self.missing = threading.Event()
        self.connected = threading.Event()
        self.closed = threading.Event()
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._waiting: dict[str, _Command] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/studio/{self.token}"

    # -- the Python side ------------------------------------------------------------------
    def wait_connected(self, timeout: float | None = None) -> bool:
        """True once the page found the extension (False on timeout or a missing extension)."""
        return self.connected.wait(timeout)

    def submit(self, kind: str, payload: dict[str, Any] | None = None) -> Future[Any]:
        """Queue a ``window.Exekra`` call; the future gets its result (or ExtensionError)."""
        with self._lock:
            self._counter += 1
            cmd = _Command(f"c{self._counter}", kind, payload or {}, Future())
            self._waiting[cmd.id] = cmd
        self._commands.put(cmd)
        return cmd.future

    def call(
        self, kind: str, payload: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """The call's result; ExtensionError when the page refuses it or does not answer
        within ``timeout`` seconds (the call is then withdrawn: a late answer gets 404)."""
        future = self.submit(kind, payload)
        try:
            return future.result(timeout)
        except FutureTimeout:
            with self._lock:
                for cmd_id, cmd in list(self._waiting.items()):
                    if cmd.future is future:
                        del self._waiting[cmd_id]
            if future.cancel() or not future.done():
                raise ExtensionError(
                    f"the browser page did not answer within {timeout:g} s (closed?)"
                ) from None
            return future.result()  # answered just as the wait ended

    def cancel_pending(self) -> None:
        """Fail every call still waiting (the session ends)."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for cmd in waiting.values():
            if not cmd.future.done():
                cmd.future.set_exception(ExtensionError("the recording session ended"))

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.cancel_pending()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- HTTP -----------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "exekra-studio"

            def log_message(self, format: str, *args: Any) -> None:  # no access log
                pass

            def _send(
                self, status: int, body: bytes = b"", ctype: str = "application/json"
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header(
                    "Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline' chrome-extension:; "
                    "style-src 'unsafe-inline'; connect-src 'self'",
                )
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _route(self) -> str | None:
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                if host not in ("127.0.0.1", "localhost"):
                    return None
                prefix = f"/studio/{server.token}"
                path = self.path.split("?", 1)[0]
                if path == prefix or path == prefix + "/":
                    return ""
                if path.startswith(prefix + "/api/"):
                    return path[len(prefix) + 5 :]
                return None

            def do_GET(self) -> None:
                route = self._route()
                if route is None:
                    self._send(404, b'{"error": "not found"}')
                elif route == "":
                    self._send(200, PAGE.encode(), "text/html; charset=utf-8")
                elif route == "next":
                    if server.closed.is_set():
                        self._send(410)
                        return
                    cmd = server._next_command(POLL_SECONDS)
                    if cmd is None:
                        self._send(204)
                        return
                    body = {"id": cmd.id, "type": cmd.type, "payload": cmd.payload}
                    try:
                        self._send(200, json.dumps(body).encode())
                    except OSError:  # the page went away mid-poll: the next poll gets it
                        server._commands.put(cmd)
                        self.close_connection = True
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:
                route = self._route()
                if route is None:
                    self._send(404, b'{"error": "not found"}')
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY:
                    self._send(413, b'{"error": "too large"}')
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, b'{"error": "not JSON"}')
                    return
                if not isinstance(body, dict):
                    self._send(400, b'{"error": "not an object"}')
                    return
                status = server._post(route, body)
                self._send(status)

        return Handler

    def _next_command(self, timeout: float) -> _Command | None:
        """The next command still waited for (a withdrawn call is not sent to the page)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                cmd = self._commands.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if not cmd.future.done():
                return cmd

    def _post(self, route: str, body: dict[str, Any]) -> int:
        if route == "hello":
            self.version = str(body.get("version") or "")[:40]
            self.connected.set()
        elif route == "missing":
            self.missing.set()
        elif route == "action":
            action = body.get("action")
            if not isinstance(action, dict):
                return 400
            self.actions.append(action)
            if self.on_action:
                self.on_action(action)
        elif route == "stop":
            if self.on_stop:
                self.on_stop()
        elif route == "result":
            with self._lock:
                cmd = self._waiting.pop(str(body.get("id")), None)
            if cmd is None:
                return 404
            try:
                if body.get("ok") is True:
                    cmd.future.set_result(body.get("result"))
                else:
                    error = ExtensionError(str(body.get("error") or "failed")[:500])
                    cmd.future.set_exception(error)
            except InvalidStateError:  # the call timed out as the answer came
                return 404
        else:
            return 404
        return 204


def describe_action(action: dict[str, Any], width: int = 60) -> tuple[str, str]:
    """One recorded action in a line: its type and selector, and its typed value as JSON (""
    without one). Never a password: the extension sends none."""
    target = action.get("target") if isinstance(action.get("target"), dict) else {}
    selector = str((target or {}).get("selector") or "")[:width]
    value = action.get("value")
    shown = json.dumps(value)[:40] if isinstance(value, str) and value else ""
    return f"{str(action.get('type'))[:14]:<14} {selector}", shown


def find_browser(explicit: str | None = None) -> str | None:
    """``explicit``, ``EXEKRA_BROWSER``, or the first Chromium/Chrome on the PATH."""
    for name in (explicit, os.environ.get("EXEKRA_BROWSER"), *BROWSERS):
        if name:
            found = shutil.which(name)
            if found:
                return found
    return None


class BrowserProcess:
    """Chromium with the extension loaded, in a throw-away profile, showing ``url``."""

    def __init__(self, executable: str, url: str, extra_args: list[str] | None = None) -> None:
        self.profile = tempfile.mkdtemp(prefix="exekra-record-")
        ext = str(extension_dir())
        args = [
            executable,
            f"--user-data-dir={self.profile}",
            f"--disable-extensions-except={ext}",
            f"--load-extension={ext}",
            "--no-first-run",
            "--no-default-browser-check",
            *(extra_args or []),
            url,
        ]
        # EXEKRA_RECORD_BROWSER_ARGS: extra switches, e.g. "--headless=new" on a CI machine
        args[1:1] = os.environ.get("EXEKRA_RECORD_BROWSER_ARGS", "").split()
        self.proc = subprocess.Popen(  # noqa: S603 - a browser we found, our own arguments
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def default_launcher(url: str) -> BrowserProcess | None:
    """Start Chromium/Chrome with the extension on ``url``; None when there is no browser."""
    executable = find_browser()
    return BrowserProcess(executable, url) if executable else None


class BrowserSession:
    """The graph editor's link to the browser: one Studio page (and browser) that lives as long
    as the editor, used by recording (`R`) and picking (`t`)."""

    def __init__(self, launcher: Callable[[str], Any] | None = None) -> None:
        self.launcher = launcher or default_launcher
        self.server: StudioServer | None = None
        self.browser: Any = None
        self.has_tab = False

    def start(self) -> tuple[StudioServer, bool]:
        """The running server, starting it (and a browser) first; the flag says whether a
        browser was started (False: the user must open ``server.url`` in their Chrome)."""
        if self.server is None:
            self.server = StudioServer()
            self.browser = self.launcher(self.server.url)
        return self.server, self.browser is not None

    def call(self, kind: str, payload: dict[str, Any] | None = None, timeout: float = 600) -> Any:
        if self.server is None:
            raise ExtensionError("the browser session is not started")
        result = self.server.call(kind, payload, timeout)
        if kind in ("startRecording", "openTab"):
            self.has_tab = True
        return result

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None
        if self.server is not None:
            self.server.close()
            self.server = None
