"""Fixed-window rate limiting per client, in memory or shared through Redis.

With Redis configured, counters live there (``INCR`` + ``EXPIRE``) so several hub processes share
them; if Redis cannot be reached the limiter falls back to in-process counters rather than
failing requests.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, limit: int, window: float = 60.0, redis_client: Any = None) -> None:
        self.limit = limit
        self.window = window
        self.redis = redis_client
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._last_sweep = 0
        #: the time source (tests pin it so a window does not roll over mid-test)
        self.clock = time.time

    def hit(self, key: str, now: float | None = None, limit: int | None = None) -> int | None:
        """Count one request for ``key``; return None if allowed, else seconds to wait."""
        limit = limit or self.limit
        now = self.clock() if now is None else now
        bucket = int(now // self.window)
        retry_after = max(1, int((bucket + 1) * self.window - now + 0.999))
        count = self._redis_hit(key, bucket) if self.redis is not None else None
        if count is None:
            count = self._memory_hit(key, bucket)
        return retry_after if count > limit else None

    def blocked(self, key: str, limit: int, now: float | None = None) -> int | None:
        """Seconds to wait if ``key`` already used ``limit`` hits in this window (counting
        nothing), else None: for limits on failures, checked before the work is done."""
        now = self.clock() if now is None else now
        bucket = int(now // self.window)
        count = None
        if self.redis is not None:
            try:
                raw = self.redis.get(f"exekra:rl:{key}:{bucket}")
                count = int(raw) if raw is not None else 0
            except Exception as exc:  # noqa: BLE001 - any Redis failure falls back to memory
                log.debug("rate limiter: Redis unavailable (%s); counting in memory", exc)
        if count is None:
            with self._lock:
                count = self._counts.get((key, bucket), 0)
        if count < limit:
            return None
        return max(1, int((bucket + 1) * self.window - now + 0.999))

    def _redis_hit(self, key: str, bucket: int) -> int | None:
        name = f"exekra:rl:{key}:{bucket}"
        try:
            pipe = self.redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, int(self.window) + 5)
            return int(pipe.execute()[0])
        except Exception as exc:  # noqa: BLE001 - any Redis failure falls back to memory
            log.debug("rate limiter: Redis unavailable (%s); counting in memory", exc)
            return None

    def _memory_hit(self, key: str, bucket: int) -> int:
        with self._lock:
            if bucket != self._last_sweep:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= bucket}
                self._last_sweep = bucket
            count = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = count
            return count
