"""The runner's end of the hub's wake-up channel (``hub/wake.py``).

A background thread keeps ``GET /api/runner/wait`` open and calls ``on_wake`` when the hub says
work was assigned to this runner (``event: work``) and each time the channel (re)opens (an event
may have been missed while it was down). The agent then polls at once instead of at its next
``poll_interval``; the poll and the claim are exactly as without the channel.

The channel is only an accelerator: when the hub has none (an older hub), the port is blocked,
a proxy cuts the stream, or the hub restarts, the runner keeps polling every ``poll_interval``
and re-opens the channel with exponential back-off and full jitter, so a fleet that lost its hub
at once does not come back at once.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from . import __version__

log = logging.getLogger(__name__)

#: a connection that stayed up this long resets the back-off
STABLE_AFTER = 30.0


def channel_url(hub_url: str, info: dict[str, Any] | None) -> str | None:
    """Where the channel is, from the hub's ``channel`` answer and the URL we reach it at."""
    if not isinstance(info, dict):
        return None
    if isinstance(info.get("url"), str) and info["url"].startswith(("http://", "https://")):
        return str(info["url"])
    path = info.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    parts = urlsplit(hub_url)
    port = info.get("port")
    if port is None:  # same origin: a proxy in front of the hub routes the path
        return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))
    if not isinstance(port, int) or not 0 < port < 65536:
        return None
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{host}:{port}", path, "", ""))


class WakeListener:
    def __init__(
        self,
        on_wake: Callable[[str], None],
        token: Callable[[], str | None],
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._on_wake = on_wake
        self._token = token
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self._url: str | None = None
        self._keepalive = 20.0
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: httpx.Response | None = None
        self._failures = 0
        #: the channel is open right now
        self.connected = False
        #: how many times it opened, and how many wake-ups came (logs and tests)
        self.opened = 0
        self.wakeups = 0

    def configure(self, url: str | None, keepalive: float = 20.0) -> None:
        """Use this channel from now on (None: the hub has none; poll only)."""
        if url == self._url:
            return
        self._url, self._keepalive = url, max(1.0, float(keepalive or 20.0))
        self._failures = 0
        self._changed.set()
        self._cut()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="exekra-wake", daemon=True)
            self._thread.start()

    def stop(self, wait: float = 1.0) -> None:
        """End the thread (a daemon: a read blocked in the socket is left to end with us)."""
        self._stop.set()
        self._changed.set()
        self._cut()
        if self._thread is not None:
            self._thread.join(timeout=wait)
            self._thread = None

    def _cut(self) -> None:
        """End the open stream from another thread: shut its socket down, which wakes the
        read blocked in it (closing the response object alone does not)."""
        response = self._response
        if response is None:
            return
        try:
            stream = response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):  # already closed, or not a socket stream
            log.debug("wake-up channel: socket shutdown failed", exc_info=True)

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            url, token = self._url, self._token()
            if url is None or token is None:
                self._changed.wait(1.0)
                self._changed.clear()
                continue
            started = time.monotonic()
            try:
                self._listen(url, token)
            except httpx.HTTPError as exc:
                if not self._stop.is_set():
                    log.debug("wake-up channel: %s", exc)
            except Exception:  # noqa: BLE001 - never take the runner down; polling goes on
                log.exception("wake-up channel failed")
            if self.connected:
                log.info("wake-up channel closed; polling every poll_interval meanwhile")
            self.connected = False
            self._response = None
            if time.monotonic() - started >= STABLE_AFTER:
                self._failures = 0
            self._failures += 1
            cap = min(self.backoff_max, self.backoff_initial * 2 ** (self._failures - 1))
            self._changed.wait(random.uniform(0.1 * cap, cap))  # full jitter, not zero
            self._changed.clear()

    def _listen(self, url: str, token: str) -> None:
        timeout = httpx.Timeout(self.connect_timeout, read=self._keepalive * 3 + 5)
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "text/event-stream",
            "User-Agent": f"exekra-runner/{__version__}",
        }
        with (
            httpx.Client(timeout=timeout) as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            self._response = response
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or not kind.startswith("text/event-stream"):
                log.info(
                    "wake-up channel refused (%s); polling every poll_interval",
                    response.status_code,
                )
                return
            event = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line == "" and event:
                    self._event(event)
                    event = ""

    def _event(self, event: str) -> None:
        if event == "open":
            self.opened += 1
            if not self.connected:
                log.info("wake-up channel open")
            self.connected = True
        elif event == "work":
            self.wakeups += 1
        else:
            return
        self._on_wake(event)
