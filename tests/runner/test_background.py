"""runner.background.BackgroundLoop (the log shipper's thread), on a fake clock that its
fake sleep moves forward: calls come when they are due, never earlier, without sleeping."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from runner.background import BackgroundLoop


class FakeTime:
    """``clock`` and ``sleep`` for a loop: each sleep moves the clock by what was asked, or at
    most ``most`` seconds (a sleep that ends early), and ends the loop once the clock passes
    ``until``."""

    def __init__(self, until: float, most: float = float("inf")) -> None:
        self.now = 100.0
        self.until = until
        self.most = most
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += min(seconds, self.most)
        return self.now > self.until


def test_calls_come_one_interval_apart_on_the_fake_clock() -> None:
    fake = FakeTime(until=131)
    at: list[float] = []
    loop = BackgroundLoop(
        10, lambda: at.append(fake.now), name="t", clock=fake.clock, sleep=fake.sleep
    )
    loop.run()
    assert at == [110, 120, 130]  # the first one interval after the start, too
    assert loop.calls == 3 and loop.due == 140


def test_a_sleep_that_ends_early_does_not_bring_the_call_forward() -> None:
    fake = FakeTime(until=121, most=3)
    at: list[float] = []
    BackgroundLoop(
        8, lambda: at.append(fake.now), name="t", clock=fake.clock, sleep=fake.sleep
    ).run()
    assert at == [108, 116]
    assert fake.slept == [8, 5, 2, 8, 5, 2, 8, 5]


def test_a_call_that_raises_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime(until=105)
    outcomes = iter([ValueError("hub said no"), None, None])

    def call() -> None:
        err = next(outcomes)
        if err is not None:
            raise err

    loop = BackgroundLoop(2, call, name="log-shipper", clock=fake.clock, sleep=fake.sleep)
    with caplog.at_level(logging.ERROR, logger="runner.background"):
        loop.run()
    assert loop.calls == 2
    failed = [r for r in caplog.records if "log-shipper: call failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None


def test_start_and_stop_a_real_thread() -> None:
    count = threading.Semaphore(0)
    loop = BackgroundLoop(0.01, count.release, name="exekra-test-ticker")
    loop.start()
    for _ in range(3):
        assert count.acquire(timeout=10)
    loop.stop()
    assert "exekra-test-ticker" not in {t.name for t in threading.enumerate()}


def test_stop_wakes_the_sleeping_thread_at_once() -> None:
    called = threading.Event()
    loop = BackgroundLoop(3600, called.set, name="exekra-test-idle")
    loop.start()
    start = time.monotonic()
    loop.stop()
    assert time.monotonic() - start < 2
    assert not called.is_set()
    assert "exekra-test-idle" not in {t.name for t in threading.enumerate()}
