"""The hub's background loops: a daemon thread that runs a round, sleeps, and runs it again.

The periodic jobs, the scheduler, the heartbeat flusher, the queue's Redis probe and the fleet
cache's listener are each one :class:`BackgroundLoop`:

* a round is ``tick(now)``, ``now`` from the loop's ``clock`` (so the round is the same
  function a test calls with a fixed time); with ``database=True`` it runs inside
  :func:`hub.db.connection`;
* the first round starts ``first`` seconds after :meth:`BackgroundLoop.start` (default: one
  ``interval``), each next one ``interval`` seconds after the previous one ended, or as many
  as the round answered (the scheduler sleeps until its next due trigger);
* a round that raises is logged with its traceback (``failure``, on the owner's logger) and
  the loop sleeps one interval and goes on: a database outage must not end it;
* :meth:`BackgroundLoop.stop` wakes a sleeping loop at once and joins its thread.

``wait(seconds)`` is how the loop sleeps (default: on its stop event; it answers whether the
loop was stopped). :meth:`BackgroundLoop.run` runs the loop on the calling thread: with a
``wait`` that records and a fixed ``clock``, a test drives it without sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from . import db
from .models import utcnow

__all__ = ["BackgroundLoop"]

log = logging.getLogger(__name__)

#: a round: given the clock's ``now``, optionally answers how many seconds to sleep next
Tick = Callable[[Any], float | None]


class BackgroundLoop:
    def __init__(
        self,
        name: str,
        tick: Tick,
        *,
        interval: float,
        first: float | None = None,
        database: bool = False,
        failure: str = "background round failed",
        logger: logging.Logger | None = None,
        clock: Callable[[], Any] = utcnow,
        wait: Callable[[float], bool] | None = None,
        join_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.interval = interval
        self.first = interval if first is None else first
        self.rounds = 0
        self._tick = tick
        self._database = database
        self._failure = failure
        self._log = logger or log
        self._clock = clock
        self._stopped = threading.Event()
        self._wait = wait or self._stopped.wait
        self._join_timeout = join_timeout
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called: a long round checks it to end early."""
        return self._stopped.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (once: a second call while it runs does nothing)."""
        if self._thread is not None:
            return
        self._stopped.clear()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """End the loop: a sleeping loop wakes at once; wait up to ``timeout`` seconds
        (default ``join_timeout``; 0: do not wait) for a round in progress to finish."""
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._join_timeout if timeout is None else timeout)

    def run(self) -> None:
        """The loop itself, on the calling thread, until stopped."""
        delay = self.first
        while not self._sleep(delay):
            delay = self.interval
            try:
                with db.connection() if self._database else contextlib.nullcontext():
                    answer = self._tick(self._clock())
            except Exception:  # noqa: BLE001 - the loop outlives any one round
                self._log.exception(self._failure)
                continue
            finally:
                self.rounds += 1
            if answer is not None:
                delay = answer

    def _sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` (not at all when 0); True when the loop was stopped."""
        if self._stopped.is_set():
            return True
        return bool(self._wait(seconds)) or self._stopped.is_set()
