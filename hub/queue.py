"""The dispatch queue (taskiq): in-memory inside the hub, or Redis streams with worker processes.

The database is the source of truth (ARCHITECTURE.md decision 1); the queue only delivers
"try to assign execution N now". A task tries once and, when no runner is free, again after
1 s, 2 s and 4 s; after that the execution simply stays QUEUED and is taken by the next idle
runner's poll or the periodic re-drive, so nothing depends on the queue keeping a message.

- Embedded (no ``redis_url``): taskiq's ``InMemoryBroker`` runs the task in the hub's own event
  loop thread.
- Redis: ``RedisStreamBroker`` (acknowledged after the task ran, re-delivered if a worker died
  mid-task); the hub only publishes, ``exekra hub worker`` processes consume
  (``hub.queue_worker``). If Redis cannot be reached, the hub assigns directly in the request,
  reports ``queue: degraded`` and probes Redis every few seconds until it is back.

All sync ⇄ async bridging is in ``DispatchQueue`` (one event loop thread per process).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from workflows.statuses import ExecutionStatus

from . import db
from .background import BackgroundLoop
from .services.dispatch import Dispatcher

log = logging.getLogger(__name__)

TASK_NAME = "exekra.dispatch"
BACKOFF = (1.0, 2.0, 4.0)
STREAM = "exekra:dispatch"
GROUP = "exekra-workers"


def make_broker(redis_url: str, *, worker: bool = False) -> Any:
    if not redis_url:
        from taskiq import InMemoryBroker

        return InMemoryBroker(max_async_tasks=200)
    from taskiq_redis import RedisStreamBroker

    return RedisStreamBroker(
        redis_url,
        queue_name=STREAM,
        consumer_group_name=GROUP,
        consumer_id="0",
        idle_timeout=30_000,  # an unacknowledged message is re-delivered after 30 s
        xread_block=1000,
        maxlen=100_000,
        socket_connect_timeout=1,
        socket_timeout=5 if worker else 2,
        retry_on_timeout=False,
    )


def assign_once(dispatcher: Dispatcher, execution_id: int) -> str:
    """One try: ``assigned``, ``gone`` (no longer QUEUED) or ``waiting`` (still QUEUED: no
    runner was free, or the one that was took work queued ahead of this one)."""
    from .models import Execution

    with db.connection():
        runner_id = dispatcher.assign(execution_id)
        row = Execution.select(Execution.status).where(Execution.id == execution_id).first()
        if row is not None and row.status == ExecutionStatus.QUEUED:
            return "waiting"
        return "assigned" if runner_id is not None else "gone"


def register_task(broker: Any, dispatcher: Dispatcher, backoff_scale: float = 1.0) -> Any:
    """Register the dispatch task on ``broker``; the same code runs in hub and workers."""

    async def dispatch(execution_id: int, try_no: int = 1) -> str:
        result = await asyncio.to_thread(assign_once, dispatcher, execution_id)
        if result == "waiting" and try_no <= len(BACKOFF):
            await asyncio.sleep(BACKOFF[try_no - 1] * backoff_scale)
            await task.kiq(execution_id, try_no + 1)
        return result

    task = broker.register_task(dispatch, task_name=TASK_NAME)
    return task


class DispatchQueue:
    #: while in Redis mode: probes a degraded queue's Redis every ``probe_interval`` seconds
    _redis_probe: BackgroundLoop | None = None

    def __init__(
        self,
        dispatcher: Dispatcher,
        redis_url: str = "",
        *,
        redis_client: Any = None,
        probe_interval: float = 2.0,
        backoff_scale: float = 1.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.redis_url = redis_url
        self.redis_client = redis_client
        self.probe_interval = probe_interval
        self.mode = "redis" if redis_url else "memory"
        self.degraded = False
        self.broker = make_broker(redis_url)
        self.task = register_task(self.broker, dispatcher, backoff_scale)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def state(self) -> str:
        return "degraded" if self.degraded else self.mode

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        logging.getLogger("taskiq").setLevel(logging.WARNING)  # one INFO line per task is noise
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="exekra-queue", daemon=True)
        self._thread.start()
        ready.wait()
        try:
            self._call(self.broker.startup(), timeout=5)
        except Exception as exc:  # noqa: BLE001 - Redis may be down at start: degrade
            log.warning("queue: broker start failed (%s); assigning directly", exc)
            self._degrade()
        if self.mode == "redis":
            self._redis_probe = BackgroundLoop(
                "exekra-queue-probe",
                self._probe_once,
                interval=self.probe_interval,
                failure="queue: Redis probe failed",
                logger=log,
            )
            self._redis_probe.start()

    def stop(self) -> None:
        if self._redis_probe is not None:
            # not waited for: it may be in a 5 s call to a Redis that is down
            self._redis_probe.stop(timeout=0)
            self._redis_probe = None
        if self._loop is None:
            return
        try:
            self._call(self.broker.shutdown(), timeout=5)
        except Exception:  # noqa: BLE001 - shutting down anyway
            log.debug("queue: broker shutdown failed", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._loop = None

    def _call(self, coro: Any, timeout: float) -> Any:
        assert self._loop is not None
        fut: Future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout=timeout)
        except BaseException:
            fut.cancel()
            raise

    # -- publishing ------------------------------------------------------------------------
    def enqueue(self, execution_id: int) -> None:
        """Hand a QUEUED execution to the dispatcher; never raises for queue trouble."""
        if self._loop is None or self.degraded:
            self._direct(execution_id)
            return
        try:
            self._call(self.task.kiq(execution_id, 1), timeout=3)
        except Exception as exc:  # noqa: BLE001 - any broker failure: degrade, assign directly
            log.warning("queue: publishing failed (%s); assigning directly", exc)
            self._degrade()
            self._direct(execution_id)

    def _direct(self, execution_id: int) -> None:
        try:
            self.dispatcher.assign(execution_id)
        except Exception:  # noqa: BLE001 - the row stays QUEUED; polls and the sweeper take it
            log.exception("direct assignment of execution %s failed", execution_id)

    def _degrade(self) -> None:
        if self.mode == "redis" and not self.degraded:
            log.warning("queue: Redis unreachable; queue degraded to direct assignment")
        if self.mode == "redis":
            self.degraded = True

    def _probe_once(self, _now: Any = None) -> None:
        """While degraded: is Redis back? Then restore the queue and publish what is QUEUED."""
        if not self.degraded:
            return
        try:
            if self.redis_client is not None:
                self.redis_client.ping()
            self._call(self.broker.startup(), timeout=5)
        except Exception as exc:  # noqa: BLE001 - still down
            log.debug("queue: Redis still unreachable: %s", exc)
            return
        log.warning("queue: Redis is back; queue restored")
        self.degraded = False
        try:  # what was queued while Redis was away was assigned directly or waits in the table
            redrive_queued(self)
        except Exception:  # noqa: BLE001 - the sweeper and the polls take it anyway
            log.exception("queue: re-publishing the queued executions failed")


def redrive_queued(queue: DispatchQueue, older_than: float = 0.0) -> int:
    """Publish every QUEUED execution again (after Redis comes back)."""
    from .models import Execution, utcnow

    cutoff = utcnow() - dt.timedelta(seconds=older_than)
    with db.connection():
        ids = [
            e.id
            for e in Execution.select(Execution.id)
            .where((Execution.status == ExecutionStatus.QUEUED) & (Execution.queued_at <= cutoff))
            .order_by(Execution.priority.desc(), Execution.queued_at)
            .limit(1000)
        ]
    for execution_id in ids:
        queue.enqueue(execution_id)
        time.sleep(0)
    return len(ids)
