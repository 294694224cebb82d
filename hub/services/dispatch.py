"""Assignment of QUEUED executions to runners, the runner poll, and the stale-work sweeper.

Assignment is one transaction that locks one runner row and one execution row (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, an IMMEDIATE transaction on SQLite) and moves both with conditional
updates: an execution is never assigned twice and a runner never holds two, whichever hub
process, queue worker or poll does it.

Two ways in:
- ``assign(execution_id)``: the queue's job — pick the best runner for this execution (ONLINE,
  has the labels, the interactive target if any, most recent ``last_seen``).
- ``poll(runner_id, version)``: the runner's 5-second poll — one indexed read that checks the
  token's secret version, what the runner holds, and whether any QUEUED execution could be its;
  only then a claim (highest priority first, then oldest). An idle poll with nothing waiting
  writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from workflows.statuses import ExecutionStatus, RunnerStatus

from .. import errors
from ..models import Execution, Runner, utcnow
from . import sql
from .executions import TERMINAL, ExecutionService, transaction
from .fleetcache import FleetCache
from .runners import RunnerService

log = logging.getLogger(__name__)


def _lock() -> str:
    return " FOR UPDATE SKIP LOCKED" if sql.pg() else ""


def _queue_order() -> str:
    """SQLite: read QUEUED rows through the index in claim order (migration 0005). Without
    ANALYZE statistics SQLite prefers the status index and sorts the whole queue (about 7 ms
    per claim with 20,000 waiting, against 0.004 ms)."""
    return "" if sql.pg() else " INDEXED BY executions_queue"


#: PostgreSQL: the whole claim of the best QUEUED execution by one idle runner, as one
#: statement (parameters: runner id, runner id, assigned_at, updated_at, runner id)
CLAIM_PG = (
    "WITH r AS (SELECT id, labels FROM runners WHERE id = ? AND status = 'ONLINE'"
    " AND current_execution_id IS NULL FOR UPDATE SKIP LOCKED),"
    " e AS (SELECT ex.id, ex.ctid AS tid FROM executions ex, r WHERE ex.status = 'QUEUED'"
    " AND (ex.target_runner_id IS NULL OR ex.target_runner_id = r.id)"
    " AND ((ex.required_labels)::jsonb <@ (r.labels)::jsonb)"
    " ORDER BY ex.priority DESC, ex.queued_at, ex.id LIMIT 1 FOR UPDATE OF ex SKIP LOCKED),"
    " u AS (UPDATE executions x SET status = 'ASSIGNED', runner_id = ?,"
    " attempt = x.attempt + 1, assigned_at = ?, updated_at = ?"
    " WHERE x.ctid = (SELECT tid FROM e) AND x.id = (SELECT id FROM e)"
    " AND x.status = 'QUEUED'"
    " RETURNING x.id, x.attempt, x.workflow_id, x.version, x.inputs)"
    " UPDATE runners SET status = 'BUSY', current_execution_id = u.id FROM u"
    " WHERE runners.id = ? RETURNING u.id, u.attempt, u.workflow_id, u.version, u.inputs"
)


def next_queued_statement() -> str:
    """The best QUEUED execution a runner may take, locked (parameters: runner id, the
    runner's labels as JSON); the claim's first step on SQLite and in ``_claim_for_runner``."""
    return (
        f"SELECT id FROM executions e{_queue_order()} WHERE e.status = 'QUEUED'"
        " AND (e.target_runner_id IS NULL OR e.target_runner_id = ?)"
        f" AND {sql.labels_match('e.required_labels', '?')}"
        " ORDER BY e.priority DESC, e.queued_at, e.id LIMIT 1" + _lock()
    )


class Dispatcher:
    def __init__(
        self,
        executions: ExecutionService,
        runners: RunnerService,
        cache: FleetCache,
    ) -> None:
        self.executions = executions
        self.runners = runners
        self.cache = cache
        self._poll_sql: dict[bool, str] = {}
        #: runners cannot heartbeat while the hub is down, so silence counts only from here
        self.started = utcnow()

    # -- the poll (hot path) -------------------------------------------------------------
    def _poll_statement(self) -> str:
        key = sql.pg()
        if key not in self._poll_sql:
            self._poll_sql[key] = (
                "SELECT r.secret_version, r.status, r.current_execution_id,"
                " CASE WHEN r.current_execution_id IS NULL AND r.status = 'ONLINE' THEN"
                " EXISTS (SELECT 1 FROM executions e WHERE e.status = 'QUEUED'"
                " AND (e.target_runner_id IS NULL OR e.target_runner_id = r.id)"
                f" AND {sql.labels_match('e.required_labels', 'r.labels')})"
                " ELSE FALSE END"
                " FROM runners r WHERE r.id = ?"
            )
        return self._poll_sql[key]

    def poll(self, runner_id: int, version: Any) -> dict[str, Any] | None:
        """The execution payload this runner must run now, or None (answer 204)."""
        cache = self.cache
        if cache.idle_hit(runner_id, version):
            return None
        generation = cache.generation
        row = sql.one(self._poll_statement(), (runner_id,), prepare=True)
        if row is None or row[0] != version:
            raise errors.Unauthorized(
                "the runner token is no longer valid; authenticate again", code="invalid_token"
            )
        _, status, current, waiting = row
        if current is None and waiting:
            if sql.pg():
                payload = self._claim_payload(runner_id)
                if payload is not None:
                    return payload
            else:
                current = self.claim_for_runner(runner_id)
            if current is None:
                # the claim lost a race: perhaps to the queue, handing this very runner the
                # work between the read above and the claim; then that is the answer, not 204
                current = self._current_execution(runner_id)
        elif current is None and status == RunnerStatus.ONLINE:
            cache.remember_idle(runner_id, version, generation)
        if current is None:
            return None
        execution = Execution.get_or_none(Execution.id == current)
        if execution is None or execution.runner_id != runner_id:
            return None
        if execution.status != ExecutionStatus.ASSIGNED:
            return None
        if execution.stop_requested:
            self._stop_unstarted(execution)
            return None
        return self.executions.payload(execution.id, runner_id)

    @staticmethod
    def _current_execution(runner_id: int) -> int | None:
        row = sql.one("SELECT current_execution_id FROM runners WHERE id = ?", (runner_id,))
        return int(row[0]) if row is not None and row[0] is not None else None

    def report_and_claim(
        self, runner_id: int, execution_id: int, attempt: int, status: str, **report: Any
    ) -> dict[str, Any]:
        """A runner's report that, when it ends the execution, also hands the runner its next
        one (``next``: the payload, or None) in the same transaction: one commit and no poll
        between two executions, so a busy queue keeps a runner busy without waiting up to a
        poll interval. A retried (duplicate) or refused report claims nothing."""
        if status.upper() not in TERMINAL:  # RUNNING hands nothing over
            out = self.executions.runner_status(runner_id, execution_id, attempt, status, **report)
            return {**out, "next": None}
        with transaction():
            out = self.executions.runner_status(runner_id, execution_id, attempt, status, **report)
            payload = None if out.get("duplicate") else self._claim_payload(runner_id)
        out["next"] = payload
        return out

    def _claim_payload(self, runner_id: int) -> dict[str, Any] | None:
        """The free runner claims its next execution: its payload, or None. (From a poll, or
        inside a final report's transaction.)"""
        if sql.pg():
            claimed = self._claim_pg(runner_id)
            if claimed is None:
                return None
            # A claim creates no work for anyone else, so idle answers remembered here and in
            # other processes stay true: no NOTIFY (it would serialise every claim's commit on
            # PostgreSQL's notify-queue lock); only this runner's own entry goes.
            self.cache.forget(runner_id)
            ex_id, attempt, workflow_id, ver, inputs = claimed
            return self.executions.build_payload(
                ex_id, attempt, workflow_id, ver, json.loads(inputs) if inputs else {}, runner_id
            )
        taken = self.claim_for_runner(runner_id)
        return self.executions.payload(taken, runner_id) if taken is not None else None

    def _stop_unstarted(self, execution: Execution) -> None:
        now = utcnow()
        changed = (
            Execution.update(
                status=ExecutionStatus.STOPPED, reason="stopped", finished_at=now, updated_at=now
            )
            .where(
                (Execution.id == execution.id)
                & (Execution.status == ExecutionStatus.ASSIGNED)
                & (Execution.attempt == execution.attempt)
            )
            .execute()
        )
        if changed:
            from .executions import release_runner

            release_runner(execution.runner_id, execution.id)

    # -- claims ----------------------------------------------------------------------------
    def claim_for_runner(self, runner_id: int, now: dt.datetime | None = None) -> int | None:
        """An idle runner takes the best QUEUED execution it may run; its id, or None."""
        now = now or utcnow()
        try:
            taken = self._claim_for_runner(runner_id, now)
        except _Abort:
            return None
        if taken is not None:
            self.cache.forget(runner_id)  # a claim creates no work for others (see poll)
        return taken

    def _claim_pg(self, runner_id: int) -> tuple | None:
        """PostgreSQL: the whole claim as one statement (both rows locked, both updated).

        The execution row is updated by its ``ctid`` (the version this statement locked), so the
        plan is a TID lookup whatever the statistics say: the queue swings from empty to
        thousands between two ANALYZEs, and with "QUEUED: about 0 rows" estimates the planner
        otherwise found the row by scanning the whole queue index.
        """
        now = utcnow()
        return sql.one(CLAIM_PG, (runner_id, runner_id, now, now, runner_id), prepare=True)

    def _claim_for_runner(self, runner_id: int, now: dt.datetime) -> int | None:
        with transaction():
            runner = sql.one(
                "SELECT id, labels FROM runners WHERE id = ? AND status = 'ONLINE'"
                " AND current_execution_id IS NULL" + _lock(),
                (runner_id,),
            )
            if runner is None:
                return None
            found = sql.one(next_queued_statement(), (runner_id, runner[1] or "[]"))
            if found is None:
                return None
            if not self._take(found[0], runner_id, now):
                return None
            return int(found[0])

    def assign(self, execution_id: int, now: dt.datetime | None = None) -> int | None:
        """A free runner for this QUEUED execution takes the best one it may run: this one,
        or one queued before it or with a higher priority (so a dispatch retry never lets
        newer or lower work jump the queue). The runner id, or None."""
        now = now or utcnow()
        try:
            runner_id = self._assign(execution_id, now)
        except _Abort:
            return None
        if runner_id is not None:
            self.cache.changed(wake=runner_id)
        return runner_id

    def _assign(self, execution_id: int, now: dt.datetime) -> int | None:
        with transaction():
            execution = sql.one(
                "SELECT id, target_runner_id, required_labels FROM executions"
                " WHERE id = ? AND status = 'QUEUED'" + _lock(),
                (execution_id,),
            )
            if execution is None:
                return None
            params: list[Any] = [execution[2] or "[]"]
            target = ""
            if execution[1] is not None:
                target = " AND id = ?"
                params.append(execution[1])
            runner = sql.one(
                "SELECT id, labels FROM runners WHERE status = 'ONLINE'"
                f" AND current_execution_id IS NULL AND {sql.labels_match('?', 'labels')}{target}"
                " ORDER BY last_seen DESC LIMIT 1" + _lock(),
                params,
            )
            if runner is None:
                return None
            # the head of the queue for this runner (this execution is locked by us and
            # qualifies, so there is one); work locked by another claim is skipped
            head = sql.one(next_queued_statement(), (runner[0], runner[1] or "[]"))
            taken = int(head[0]) if head is not None else execution_id
            if not self._take(taken, runner[0], now):
                return None
            return int(runner[0])

    def _take(self, execution_id: int, runner_id: int, now: dt.datetime) -> bool:
        """Inside the claim transaction: both rows move or neither does."""
        moved = sql.run(
            "UPDATE executions SET status = 'ASSIGNED', runner_id = ?, attempt = attempt + 1,"
            " assigned_at = ?, updated_at = ? WHERE id = ? AND status = 'QUEUED'",
            (runner_id, sql.ts(now), sql.ts(now), execution_id),
        ).rowcount
        if moved != 1:
            raise _Abort()
        held = sql.run(
            "UPDATE runners SET status = 'BUSY', current_execution_id = ?"
            " WHERE id = ? AND status = 'ONLINE' AND current_execution_id IS NULL",
            (execution_id, runner_id),
        ).rowcount
        if held != 1:
            raise _Abort()
        return True

    def dispatch_waiting(self, limit: int = 100) -> int:
        """Assign QUEUED executions to free runners (the periodic re-drive; also used when
        the queue is degraded). Returns how many were assigned."""
        ids = [
            r[0]
            for r in sql.all_rows(
                f"SELECT id FROM executions{_queue_order()} WHERE status = 'QUEUED'"
                " ORDER BY priority DESC, queued_at, id LIMIT ?",
                (limit,),
            )
        ]
        if not ids:
            return 0
        free = sql.one(
            "SELECT COUNT(*) FROM runners WHERE status = 'ONLINE' AND current_execution_id IS NULL"
        )
        if not free or not free[0]:
            return 0
        done = 0
        for execution_id in ids:
            if self.assign(execution_id) is not None:
                done += 1
        return done

    # -- a runner's new life ---------------------------------------------------------------
    def settle_previous_life(self, runner_id: int, keep: set[int]) -> dict[int, str]:
        """A new agent process of this runner authenticated: what its predecessor held is
        lost (a crash and a quick restart never reach ``runner_offline_after``), so it is
        settled now by the lost-runner rules. ``keep``: executions whose final report the new
        process still has in its outbox (it delivers them next). Returns id -> outcome."""
        done: dict[int, str] = {}
        for execution in Execution.select().where(
            (Execution.runner == runner_id)
            & Execution.status.in_((ExecutionStatus.ASSIGNED, ExecutionStatus.RUNNING))
        ):
            if execution.id in keep:
                continue
            outcome = self.executions.settle_lost(
                execution, "the runner restarted while it held this execution"
            )
            if outcome:
                done[execution.id] = outcome
        if done:
            log.warning("runner %s restarted: settled %s", runner_id, done)
            self.cache.changed()
        return done

    # -- the sweeper -------------------------------------------------------------------------
    def sweep(
        self,
        now: dt.datetime,
        *,
        offline_after: float,
        queue_timeout: float,
        assigned_grace: float,
        running_grace: float,
        stop_grace: float = 120.0,
    ) -> dict[str, int]:
        """One round of the stale-work job. Every change is conditional, so two sweepers in
        two hub processes racing each other never re-queue or fail anything twice."""
        stats = {"offline": 0, "queue_timeout": 0, "requeued": 0, "failed": 0, "stopped": 0}
        # A hub that was down (restart, upgrade) heard no heartbeats: give every runner a full
        # offline window from this process's start before counting it as silent, so in-flight
        # work of runners that are alive is not failed or re-queued after a restart.
        awake = (now - self.started).total_seconds()
        if awake >= offline_after:
            stats["offline"] = self.runners.mark_offline(now, offline_after)
        cutoff = now - dt.timedelta(seconds=queue_timeout)
        for execution in Execution.select().where(
            (Execution.status == ExecutionStatus.QUEUED) & (Execution.updated_at < cutoff)
        ):
            waited = int(queue_timeout // 60) or 1
            if self.executions.fail(
                execution,
                "queue_timeout",
                f"no runner took this execution within {waited} minute(s)",
                expect=ExecutionStatus.QUEUED,
            ):
                stats["queue_timeout"] += 1
        # a stop no runner confirmed within stop_grace (a wedged or vanished runner) ends here:
        # a stop always ends in a final state
        asked_before = now - dt.timedelta(seconds=stop_grace)
        for execution in Execution.select().where(
            Execution.status.in_((ExecutionStatus.ASSIGNED, ExecutionStatus.RUNNING))
            & (Execution.stop_requested == True)  # noqa: E712 - peewee expression
            & (Execution.updated_at < asked_before)
        ):
            waited = int(stop_grace)
            if self.executions.stop_now(
                execution, f"stopped by the hub: the runner did not confirm within {waited} s"
            ):
                stats["stopped"] += 1
        for status, grace in (
            (ExecutionStatus.ASSIGNED, assigned_grace),
            (ExecutionStatus.RUNNING, running_grace),
        ):
            limit = now - dt.timedelta(seconds=grace)
            if awake < offline_after or self.started >= limit:
                continue
            held = list(Execution.select().where(Execution.status == status))
            wanted = {e.runner_id for e in held if e.runner_id is not None}
            runners = (
                {r.id: r for r in Runner.select().where(Runner.id.in_(wanted))} if wanted else {}
            )
            for execution in held:
                runner = runners.get(execution.runner_id or 0)
                if runner is not None:
                    if runner.status != RunnerStatus.OFFLINE:
                        continue
                    seen = runner.last_seen or runner.created_at
                    if seen is not None and seen >= limit:
                        continue
                elif (execution.updated_at or now) >= limit:
                    continue
                outcome = self.executions.settle_lost(
                    execution, "the runner went offline and did not come back in time"
                )
                if outcome:
                    stats[outcome] += 1
        try:
            self.dispatch_waiting()
        except Exception:  # noqa: BLE001 - the re-drive must not fail the sweep
            log.exception("re-driving QUEUED executions failed")
        return stats


class _Abort(Exception):
    """Raised inside a claim transaction to roll it back (a conditional update lost a race)."""
