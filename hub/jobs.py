"""Periodic jobs that run once per interval across every hub process.

Each job has a row in ``job_runs``; a process runs a job only after moving its ``next_due``
forward with a conditional update (``WHERE next_due <= now``), so when several hub processes
share a database exactly one of them wins each interval. ``run_due(now)`` runs one round and
takes the clock as an argument so tests never sleep.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from .background import BackgroundLoop
from .models import JobRun, utcnow

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float
    fn: Callable[[dt.datetime], object]


class JobRunner:
    _loop: BackgroundLoop | None = None

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def register(self, name: str, interval: float, fn: Callable[[dt.datetime], object]) -> None:
        if any(j.name == name for j in self.jobs):
            raise ValueError(f"job {name!r} registered twice")
        self.jobs.append(Job(name, interval, fn))

    def _claim(self, job: Job, now: dt.datetime) -> bool:
        try:
            JobRun.insert(name=job.name, next_due=now).on_conflict_ignore().execute()
        except peewee.IntegrityError:  # pragma: no cover - raced insert
            pass
        claimed = (
            JobRun.update(
                next_due=now + dt.timedelta(seconds=job.interval),
                last_started=now,
                owner=self.owner,
            )
            .where((JobRun.name == job.name) & (JobRun.next_due <= now))
            .execute()
        )
        return claimed == 1

    def run_due(self, now: dt.datetime | None = None) -> list[str]:
        """Run every job that is due (in registration order); return the names that ran."""
        now = now or utcnow()
        ran = []
        for job in self.jobs:
            if not self._claim(job, now):
                continue
            error = None
            try:
                job.fn(now)
            except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                log.exception("periodic job %s failed", job.name)
                error = f"{type(exc).__name__}: {exc}"
            JobRun.update(last_finished=utcnow(), last_error=error).where(
                JobRun.name == job.name
            ).execute()
            ran.append(job.name)
        return ran

    def start(self, tick: float = 1.0) -> None:
        """Run the due jobs every ``tick`` seconds on a thread, the first round after one tick;
        a failed round (the database is down) is logged and the next one comes anyway."""
        if self._loop is not None:
            return

        def round_(now: dt.datetime) -> None:
            self.run_due(now)

        self._loop = BackgroundLoop(
            "exekra-jobs",
            round_,
            interval=tick,
            database=True,
            failure="periodic jobs: round failed",
            logger=log,
        )
        self._loop.start()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
