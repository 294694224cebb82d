"""hub.background.BackgroundLoop: the thread under the jobs, the scheduler, the heartbeat
flusher, the queue's Redis probe and the fleet cache's listener. Driven by a scripted
``wait`` and a fixed clock, so nothing here sleeps for its intervals."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hub import background
from hub.background import BackgroundLoop
from tests.support import wait_for

NOON = dt.datetime(2026, 5, 4, 12, 0, 0)


class Waits:
    """A ``wait`` that records each sleep and ends the loop after ``rounds`` of them."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.asked: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.asked.append(seconds)
        return len(self.asked) > self.rounds


def test_rounds_get_the_clocks_now_and_sleep_an_interval_between() -> None:
    seen: list[Any] = []
    waits = Waits(3)
    loop = BackgroundLoop("t", seen.append, interval=7, clock=lambda: NOON, wait=waits)
    loop.run()
    assert seen == [NOON, NOON, NOON]
    assert waits.asked == [7, 7, 7, 7]  # the first round too comes one interval after start
    assert loop.rounds == 3


def test_first_round_at_once_and_a_round_may_choose_the_next_sleep() -> None:
    answers = iter([0.5, None, 0.0])
    waits = Waits(3)
    BackgroundLoop(
        "t", lambda _now: next(answers), interval=5, first=0.0, clock=lambda: NOON, wait=waits
    ).run()
    assert waits.asked == [0.0, 0.5, 5, 0.0]


def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def tick(_now: Any) -> float:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is down")
        return 0.25

    waits = Waits(3)
    owner = logging.getLogger("hub.test_owner")
    loop = BackgroundLoop(
        "t", tick, interval=9, failure="owner: round failed", logger=owner, wait=waits
    )
    with caplog.at_level(logging.ERROR, logger="hub.test_owner"):
        loop.run()
    assert len(calls) == 3  # it went on after the failure
    assert waits.asked == [9, 9, 0.25, 0.25]  # after a failure: one interval, whatever it asked
    (record,) = [r for r in caplog.records if r.name == "hub.test_owner"]
    assert record.getMessage() == "owner: round failed"
    assert record.exc_info is not None and "database is down" in str(record.exc_info[1])


def test_database_rounds_hold_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[bool] = []
    inside = threading.local()

    @contextlib.contextmanager
    def connection() -> Iterator[None]:
        inside.yes = True
        try:
            yield
        finally:
            inside.yes = False

    monkeypatch.setattr(background.db, "connection", connection)

    def tick(_now: Any) -> None:
        held.append(getattr(inside, "yes", False))

    BackgroundLoop("t", tick, interval=1, database=True, wait=Waits(1)).run()
    BackgroundLoop("t", tick, interval=1, wait=Waits(1)).run()
    assert held == [True, False]


def test_start_runs_a_thread_and_stop_joins_it() -> None:
    ran = threading.Event()
    loop = BackgroundLoop("exekra-test-loop", lambda _now: ran.set(), interval=3600, first=0.0)
    loop.start()
    loop.start()  # a second start while running does nothing
    assert ran.wait(10)
    assert [t.name for t in threading.enumerate()].count("exekra-test-loop") == 1
    assert loop.running
    loop.stop()
    assert not loop.running and loop.stopping
    assert "exekra-test-loop" not in [t.name for t in threading.enumerate()]


def test_stop_wakes_a_sleeping_loop_at_once() -> None:
    calls: list[Any] = []
    loop = BackgroundLoop("exekra-test-sleeper", calls.append, interval=3600)
    loop.start()
    wait_for(lambda: loop.running, what="the loop thread")
    began = time.monotonic()
    loop.stop()
    assert time.monotonic() - began < 2  # not an hour
    assert not loop.running and calls == []


def test_stop_may_leave_a_busy_round_behind() -> None:
    release = threading.Event()
    busy = threading.Event()

    def tick(_now: Any) -> None:
        busy.set()
        release.wait(10)

    loop = BackgroundLoop("exekra-test-busy", tick, interval=3600, first=0.0)
    loop.start()
    assert busy.wait(10)
    began = time.monotonic()
    loop.stop(timeout=0)
    assert time.monotonic() - began < 1
    release.set()
    wait_for(
        lambda: "exekra-test-busy" not in [t.name for t in threading.enumerate()],
        what="the busy round to end the thread",
    )
