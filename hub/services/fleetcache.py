"""Answering an idle runner's poll without the database (PERFORMANCE.md).

Most polls come from idle runners while nothing is waiting: the answer is 204 again and again.
After a poll found "this runner holds nothing, is ONLINE, nothing QUEUED could be its", the
hub remembers ``(generation, secret_version)`` for the runner. The next poll with the same token
secret version answers 204 from memory while the generation is unchanged.

The generation moves whenever anything could change such an answer, in any hub process or
queue worker: an execution becomes QUEUED or ASSIGNED, a runner's secret, labels or existence
change. Writers call ``changed()``, which bumps the local generation at once and, on
PostgreSQL, sends ``NOTIFY exekra_fleet``; every process LISTENs on a dedicated connection
and bumps its generation on each notification. Without a healthy listener (SQLite, tests
without background work, a lost connection) the cache is off and every poll reads the
database.

The same notifications carry wake-ups for the runners' wake-up channel (``hub/wake.py``): a
change that assigned an execution to a runner names it (``changed(wake=runner_id)``, payload
``wake:<id>``), and every process hands the id to its :attr:`FleetCache.wakers`.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from ..background import BackgroundLoop

log = logging.getLogger(__name__)

CHANNEL = "exekra_fleet"
#: a remembered idle answer is trusted at most this long (a safety net should a change ever
#: bypass ``changed()``, e.g. rows written by hand); runners poll every 5 s
TTL = 30.0


class FleetCache:
    #: on PostgreSQL: the thread that LISTENs for other processes' changes (see ``start``)
    _listener: BackgroundLoop | None = None

    def __init__(self) -> None:
        self.generation = 0
        self.enabled = False
        self._idle: dict[int, tuple[int, Any, float]] = {}
        self._lock = threading.Lock()
        self._connect_params: dict[str, Any] | None = None
        self._dbname = ""
        #: called with a runner id when work was assigned to it, in this or another process
        self.wakers: list[Callable[[int], None]] = []

    # -- the poll side -------------------------------------------------------------------
    def idle_hit(self, runner_id: int, version: Any) -> bool:
        if not self.enabled:
            return False
        entry = self._idle.get(runner_id)
        return (
            entry is not None
            and entry[0] == self.generation
            and entry[1] == version
            and entry[2] > time.monotonic()
        )

    def remember_idle(self, runner_id: int, version: Any, generation: int) -> None:
        if self.enabled and generation == self.generation:
            self._idle[runner_id] = (generation, version, time.monotonic() + TTL)

    def forget(self, runner_id: int) -> None:
        self._idle.pop(runner_id, None)

    # -- the writer side -----------------------------------------------------------------
    def changed(self, *, notify: bool = True, wake: int | None = None) -> None:
        """Something that may change an idle poll's answer happened (call after the write).

        ``wake``: the runner an execution was just assigned to; its wake-up channel (in any
        hub process) tells it to poll now.
        """
        self._bump()
        from . import sql

        pg = notify and sql.pg()
        if wake is not None and not (pg and self.enabled):
            self._wake(wake)  # with a live listener, our own NOTIFY brings it back: wake once
        if pg:
            try:
                payload = "" if wake is None else f"wake:{int(wake)}"
                sql.run("SELECT pg_notify(?, ?)", (CHANNEL, payload))
            except Exception:  # noqa: BLE001 - listeners fall back to the DB when they miss it
                log.warning("fleet cache: NOTIFY failed", exc_info=True)

    def _wake(self, runner_id: int) -> None:
        for waker in self.wakers:
            try:
                waker(runner_id)
            except Exception:  # noqa: BLE001 - a wake-up is a hint; the poll still comes
                log.warning("fleet cache: wake-up failed", exc_info=True)

    def _bump(self) -> None:
        with self._lock:
            self.generation += 1
            if len(self._idle) > 100_000:
                self._idle.clear()

    def _wake_from(self, notes: list[Any]) -> None:
        seen: set[int] = set()
        for note in notes:
            payload = getattr(note, "payload", "") or ""
            if payload.startswith("wake:") and payload[5:].isdigit():
                runner_id = int(payload[5:])
                if runner_id not in seen:
                    seen.add(runner_id)
                    self._wake(runner_id)

    # -- the listener --------------------------------------------------------------------
    def start(self, database: Any) -> None:
        """Listen for changes made by other processes (PostgreSQL only)."""
        import peewee

        if not isinstance(database, peewee.PostgresqlDatabase) or self._listener is not None:
            return
        self._dbname = database.database
        self._connect_params = dict(database.connect_params)
        # a round is one LISTEN connection, until it is lost or the cache stops; the next
        # one connects a second later
        listener = BackgroundLoop(
            "exekra-fleet-listen",
            lambda _now: self._listen(listener),
            interval=1.0,
            first=0.0,
            failure="fleet cache: listener failed",
            logger=log,
            join_timeout=5,
        )
        self._listener = listener
        listener.start()

    def stop(self) -> None:
        self.enabled = False
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def _listen(self, listener: BackgroundLoop) -> None:
        import psycopg2

        assert self._connect_params is not None
        conn = None
        try:
            conn = psycopg2.connect(dbname=self._dbname, **self._connect_params)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {CHANNEL}")
            self._bump()
            self.enabled = True
            while not listener.stopping:
                ready, _, _ = select.select([conn], [], [], 1.0)
                conn.poll()
                if conn.notifies:
                    notes = list(conn.notifies)
                    conn.notifies.clear()
                    self._bump()
                    if self.wakers:
                        self._wake_from(notes)
                elif not ready:
                    with conn.cursor() as cur:  # keep-alive: notice a dead connection
                        cur.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - lost: poll from the DB until back
            log.warning("fleet cache: listener lost (%s); polls read the database", exc)
        finally:
            self.enabled = False
            self._bump()
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    log.debug("fleet cache: close failed", exc_info=True)
