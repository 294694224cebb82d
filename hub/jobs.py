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
import threading
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from . import db
from .models import JobRun, utcnow

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float
    fn: Callable[[dt.datetime], object]


class JobRunner:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(tick):
                try:
                    with db.connection():
                        self.run_due()
                except Exception:  # noqa: BLE001 - keep the loop alive through DB outages
                    log.exception("periodic jobs: round failed")

        self._thread = threading.Thread(target=loop, name="exekra-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
