"""``exekra hub worker``: a taskiq worker process consuming the Redis dispatch stream.

Messages are acknowledged only after the task ran (``WHEN_EXECUTED``); a worker that dies
mid-task leaves its message pending and another worker re-claims it after the idle timeout.
When Redis goes away the worker keeps retrying its connection; the hub meanwhile assigns
directly, and the database stays the source of truth.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from .app import build_hub
from .config import Settings
from .queue import make_broker, register_task

log = logging.getLogger("exekra.worker")


async def _consume(settings: Settings, stop: asyncio.Event) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from taskiq.acks import AcknowledgeType
    from taskiq.receiver import Receiver

    hub = build_hub(settings)
    executor = ThreadPoolExecutor(max_workers=8)
    while not stop.is_set():
        broker = make_broker(settings.redis_url, worker=True)
        broker.is_worker_process = True
        register_task(broker, hub.dispatcher)
        try:
            await broker.startup()
            receiver = Receiver(
                broker=broker,
                executor=executor,
                max_async_tasks=50,
                ack_type=AcknowledgeType.WHEN_EXECUTED,
            )
            listening = asyncio.create_task(receiver.listen(asyncio.Event()))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({listening, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if listening in done:
                exc = listening.exception()
                if exc is not None:
                    raise exc
            else:
                listening.cancel()
        except Exception as exc:  # noqa: BLE001 - Redis down: wait and reconnect
            log.warning("worker: queue connection failed (%s); retrying in 1 s", exc)
            await asyncio.sleep(1)
        finally:
            try:
                await broker.shutdown()
            except Exception:  # noqa: BLE001
                log.debug("worker: broker shutdown failed", exc_info=True)
    executor.shutdown(wait=False)


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("taskiq").setLevel(logging.WARNING)
    if not settings.redis_url:
        raise SystemExit("EXEKRA_REDIS_URL is not set: the embedded hub needs no worker")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print("EXEKRA_WORKER_READY", flush=True)
        await _consume(settings, stop)

    asyncio.run(main())
