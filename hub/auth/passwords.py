"""bcrypt hashing for user passwords and machine secrets.

bcrypt only reads 72 bytes: longer passwords are refused when set (400) and never match when
checked, so a long input can never be a prefix collision. An unknown account is checked against
a dummy hash so it answers in the same time as a wrong password.

Every bcrypt computation takes a slot of a process-wide gate (``configure``): a flood of
sign-ins from many addresses would otherwise put every request thread into bcrypt at once and
starve all other requests. At most ``concurrency`` run; a few more wait briefly; the rest are
told at once to retry (503 with Retry-After), so request threads stay free for other work.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import bcrypt

from .. import errors

MAX_BYTES = 72
T = TypeVar("T")


class BcryptGate:
    """Bounded concurrent bcrypt work, with a bounded number of waiters."""

    def __init__(self, concurrency: int = 0, wait: float = 5.0) -> None:
        self.concurrency = concurrency or max(1, (os.cpu_count() or 2) // 2)
        self.max_waiting = self.concurrency * 4
        self.wait = wait
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._queued = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._queued >= self.concurrency + self.max_waiting:
                raise _busy()
            self._queued += 1
        try:
            if not self._slots.acquire(timeout=self.wait):
                raise _busy()
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._queued -= 1

    def run(self, fn: Callable[[], T]) -> T:
        with self.slot():
            return fn()


def _busy() -> errors.ServiceUnavailable:
    return errors.ServiceUnavailable(
        "too many sign-ins at once; retry in a second",
        code="busy",
        headers={"Retry-After": "1"},
    )


_gate = BcryptGate()


def configure(concurrency: int, wait: float = 5.0) -> None:
    """Set the process-wide gate (the hub does this at start from its settings)."""
    global _gate
    _gate = BcryptGate(concurrency, wait)


def hash_secret(secret: str, rounds: int = 12) -> str:
    raw = secret.encode()
    if len(raw) > MAX_BYTES:
        raise ValueError(f"longer than {MAX_BYTES} bytes")
    return _gate.run(lambda: bcrypt.hashpw(raw, bcrypt.gensalt(rounds))).decode()


def check_secret(secret: str, hashed: str | None, rounds: int = 12) -> bool:
    raw = secret.encode()
    target = hashed or dummy_hash(rounds)
    if len(raw) > MAX_BYTES:
        raw = raw[:MAX_BYTES]
        _gate.run(lambda: bcrypt.checkpw(raw, target.encode()))  # same cost, never a match
        return False
    ok = _gate.run(lambda: bcrypt.checkpw(raw, target.encode()))
    return ok and hashed is not None


@functools.cache
def dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"exekra-dummy-password", bcrypt.gensalt(rounds)).decode()
