"""The wake-up channel: idle runners learn at once that work is waiting for them.

An idle runner keeps one request open, ``GET /api/runner/wait`` with its runner token, and the
hub answers it with a server-sent event stream::

    event: open            (once, when the channel is established: poll now, you may have
    data: {"keepalive": 20}  missed something while you were connecting)

    : keepalive            (every ``keepalive`` seconds, so proxies and the runner see it alive)

    event: work            (work was assigned to you: poll now)
    data: {}

The channel carries no payload and no secret: the runner then polls ``/api/runner/poll`` exactly
as it would have five seconds later, so every guarantee of the claim (fencing, exactly once,
labels, priorities, interactive targets) is the claim's own. When the channel is down, cut by a
proxy or missing (an older hub), the runner simply polls every ``poll_interval``.

Waiting connections cost no waitress thread: the channel is a small aiohttp server on its own
asyncio loop in the hub process, on ``channel_port`` (behind nginx, the generated configuration
routes ``/api/runner/wait`` to it). Work is announced by :meth:`WakeChannel.wake` with the id of
the runner it was assigned to — called by the dispatcher in this process, or by the fleet cache's
PostgreSQL listener when another hub process or queue worker assigned it
(``NOTIFY exekra_fleet, 'wake:<runner id>'``). A wake for a runner that is between two
connections is kept for :data:`PENDING_TTL` seconds and delivered when it reconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

PATH = "/api/runner/wait"
#: a wake for a runner that is not connected right now is delivered if it connects this soon
PENDING_TTL = 10.0


class WakeChannel:
    """The channel server. Thread-safe: :meth:`wake` may be called from any thread."""

    def __init__(
        self,
        authenticate: Callable[[str], tuple[int, float]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive: float = 20.0,
        max_age: float = 900.0,
        auth_threads: int = 4,
    ) -> None:
        #: ``token -> (runner_id, token expiry as a UNIX time)``; raises PermissionError to
        #: refuse, anything else means "cannot tell now" (blocking: it reads the database, so it
        #: runs on a small thread pool)
        self._authenticate = authenticate
        self.host = host
        self.port = port
        self.keepalive = keepalive
        self.max_age = max_age
        self._auth_pool = ThreadPoolExecutor(auth_threads, thread_name_prefix="exekra-wake-auth")
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._pending: dict[int, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        #: counters for the bench and tests
        self.opened = 0
        self.woken = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Listen on ``host:port`` (port 0: any free port; :attr:`port` tells which)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._serve, name="exekra-wake", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("the wake-up channel did not start")
        if self._error is not None:
            error, self._error = self._error, None
            self._thread = None
            raise error

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        thread.join(timeout=10)
        self._thread = None
        self._auth_pool.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> bool:
        """Whether the channel listens (a taken port leaves it stopped; runners then poll)."""
        return self._thread is not None and self._loop is not None

    @property
    def connections(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._started.set()
            loop.close()
            self._loop = None
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()
            self._loop = None

    async def _listen(self) -> None:
        from aiohttp import web

        app = web.Application(handler_args={"max_field_size": 16384})
        app.router.add_get(PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=4096, reuse_address=True)
        await site.start()
        self._runner = runner
        server: Any = site._server  # noqa: SLF001 - the only way to learn an ephemeral port
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        runner, self._runner = self._runner, None  # handlers see it and end their streams
        for events in list(self._waiters.values()):
            for event in events:
                event.set()
        await asyncio.sleep(0)
        if runner is not None:
            await runner.cleanup()
        asyncio.get_running_loop().stop()

    # -- waking ---------------------------------------------------------------------------
    def wake(self, runner_id: int) -> None:
        """Work was assigned to ``runner_id``: tell it now if it waits on this process."""
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._wake, runner_id)
            except RuntimeError:  # the loop closed under us (shutdown)
                pass

    def _wake(self, runner_id: int) -> None:
        events = self._waiters.get(runner_id)
        if not events:
            now = time.monotonic()
            self._pending[runner_id] = now + PENDING_TTL
            if len(self._pending) > 10_000:  # forget the stale ones
                self._pending = {k: t for k, t in self._pending.items() if t > now}
            return
        for event in events:
            event.set()

    # -- the route ------------------------------------------------------------------------
    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not token:
            return _problem(401, "unauthorized", "the channel needs `Authorization: Bearer`")
        loop = asyncio.get_running_loop()
        try:
            runner_id, expires = await loop.run_in_executor(
                self._auth_pool, self._authenticate, token
            )
        except PermissionError:
            return _problem(401, "invalid_token", "the runner token is not valid")
        except Exception:  # noqa: BLE001 - database trouble: the runner polls meanwhile
            log.warning("wake-up channel: cannot check a token", exc_info=True)
            return _problem(503, "unavailable", "the hub cannot check tokens right now")
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx: pass events on at once
            }
        )
        await resp.prepare(request)
        event = asyncio.Event()
        self._waiters.setdefault(runner_id, set()).add(event)
        self.opened += 1
        if self._pending.pop(runner_id, 0.0) > time.monotonic():
            event.set()
        # close before the token expires, and spread reconnections of a fleet over time
        ends = min(
            loop.time() + self.max_age * (0.75 + 0.25 * random.random()),
            loop.time() + max(0.0, expires - time.time()),
        )
        try:
            await resp.write(b'event: open\ndata: {"keepalive": %d}\n\n' % int(self.keepalive))
            while loop.time() < ends and self._runner is not None:
                try:
                    await asyncio.wait_for(
                        event.wait(), min(self.keepalive, max(0.0, ends - loop.time()))
                    )
                except TimeoutError:
                    await resp.write(b": keepalive\n\n")
                    continue
                event.clear()
                if self._runner is None:
                    break
                self.woken += 1
                await resp.write(b"event: work\ndata: {}\n\n")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            events = self._waiters.get(runner_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[runner_id]
        return resp


def _problem(status: int, code: str, description: str) -> Any:
    from aiohttp import web

    titles = {401: "Unauthorized", 503: "Service unavailable"}
    return web.Response(
        status=status,
        text=json.dumps({"title": titles[status], "description": description, "code": code}),
        content_type="application/json",
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )
