"""A runner thread that calls one function every few seconds: :class:`BackgroundLoop`.

The log shipper sends an execution's buffered lines with one while the execution runs. The
timing works like the agent's own loop (``Agent.tick``, ``next_poll``): the loop keeps the
monotonic time at which the next call is due — ``interval`` after the previous call ended,
the first one ``interval`` after :meth:`BackgroundLoop.start` — and sleeps until then. A
sleep that ends early (a spurious wake-up, a test's fake sleep) just sleeps the rest, so the
call never comes before it is due. A call that raises is logged with its traceback and the
loop goes on; :meth:`BackgroundLoop.stop` wakes the sleeping thread at once and joins it.

``clock`` and ``sleep`` are injectable: with a fake clock that ``sleep`` moves forward, a test
runs :meth:`BackgroundLoop.run` on its own thread without sleeping. ``sleep(seconds)``
answers True when the loop should end (the default sleeps on the stop event).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["BackgroundLoop"]

log = logging.getLogger(__name__)


class BackgroundLoop:
    def __init__(
        self,
        interval: float,
        call: Callable[[], object],
        *,
        name: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.interval = interval
        self.name = name
        #: the clock's time of the next call
        self.due = 0.0
        self.calls = 0
        self._call = call
        self._clock = clock
        self._halt = threading.Event()
        self._sleep = sleep if sleep is not None else self._halt.wait
        self._worker = threading.Thread(target=self.run, name=name, daemon=True)

    def start(self) -> None:
        self._worker.start()

    def stop(self, join: float = 5.0) -> None:
        """Wake the thread and wait up to ``join`` seconds for a call in progress to end."""
        self._halt.set()
        if self._worker.is_alive() and self._worker is not threading.current_thread():
            self._worker.join(join)

    def run(self) -> None:
        self.due = self._clock() + self.interval
        while not self._halt.is_set():
            left = self.due - self._clock()
            if left > 0:
                if self._sleep(left):
                    break
                continue  # woke early, or the clock moved less than asked: check again
            try:
                self._call()
            except Exception:  # noqa: BLE001 - a failed call must not end the thread
                log.exception("%s: call failed; next one in %g s", self.name, self.interval)
            self.calls += 1
            self.due = self._clock() + self.interval
