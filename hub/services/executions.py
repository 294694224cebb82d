"""Executions: the lifecycle state machine, in one place.

QUEUED → ASSIGNED → RUNNING → COMPLETED / FAILED / STOPPED; QUEUED and ASSIGNED may also end
FAILED or STOPPED, and an ASSIGNED execution whose runner vanished is re-queued once. Every
change is a conditional ``UPDATE ... WHERE status = <expected>`` so concurrent writers (several
hub processes, queue workers, sweepers, runners) can never both win; a lost race is a 409.

Each assignment increments ``attempt``. Runner writes carry it: a write from a stale attempt, or
from a runner that does not hold the execution, is refused, so a runner that comes back after
its work was re-queued cannot complete it twice.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import peewee

from workflows.inputs import InputsRejected, accepted_inputs, check_inputs
from workflows.statuses import (
    ACTIVE_EXECUTION_STATUSES,
    FINAL_EXECUTION_STATUSES,
    ExecutionStatus,
    RunnerStatus,
)

from .. import errors
from ..db import database_proxy
from ..models import (
    Execution,
    ExecutionLog,
    Runner,
    User,
    Workflow,
    WorkflowVersion,
    iso,
    parse_iso,
    utcnow,
)
from ..services.license import RUNNABLE, LicenseService
from . import sql
from .runners import check_labels

STATUSES = tuple(ExecutionStatus)
TERMINAL = FINAL_EXECUTION_STATUSES
LIVE = ACTIVE_EXECUTION_STATUSES
#: the whole state machine (the sweeper's re-queue is ASSIGNED → QUEUED)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ExecutionStatus.QUEUED: (
        ExecutionStatus.ASSIGNED,
        ExecutionStatus.FAILED,
        ExecutionStatus.STOPPED,
    ),
    ExecutionStatus.ASSIGNED: (
        ExecutionStatus.RUNNING,
        ExecutionStatus.FAILED,
        ExecutionStatus.STOPPED,
        ExecutionStatus.QUEUED,
    ),
    ExecutionStatus.RUNNING: (
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.STOPPED,
    ),
    ExecutionStatus.COMPLETED: (),
    ExecutionStatus.FAILED: (),
    ExecutionStatus.STOPPED: (),
}
#: what a runner may report for the execution it holds
RUNNER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ExecutionStatus.ASSIGNED: (
        ExecutionStatus.RUNNING,
        ExecutionStatus.FAILED,
        ExecutionStatus.STOPPED,
    ),
    ExecutionStatus.RUNNING: (
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.STOPPED,
    ),
}
REASONS = (
    "activity_error",
    "runner_lost",
    "queue_timeout",
    "stopped",
    "runner_error",
    "timeout",
    "invalid_graph",
    "credential_missing",
)
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_LOG_MESSAGE = 10_000
PRIORITY_RANGE = (-1000, 1000)


#: a runner write from inside the hub (tests, the sweeper): no token's secret version to check
ANY_SECRET_VERSION: Any = object()


@dataclass
class _Held:
    runner_id: int | None
    attempt: int
    status: str
    stop_requested: bool
    started: bool


def transaction() -> Any:
    """A write transaction: plain on PostgreSQL (rows are locked explicitly), IMMEDIATE on
    SQLite so two writers never deadlock upgrading their locks."""
    db = database_proxy.obj
    if sql.pg():
        return db.atomic()
    return db.atomic(lock_type="IMMEDIATE")


def request_hash(
    workflow_id: int,
    version: int,
    inputs: dict[str, Any],
    priority: int,
    runner_id: int | None,
    labels: list[str],
) -> str:
    doc = {
        "w": workflow_id,
        "v": version,
        "i": inputs,
        "p": priority,
        "r": runner_id,
        "l": labels,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def check_declared_inputs(
    workflow: Workflow, graph: dict[str, Any], inputs: dict[str, Any], *, partial: bool = False
) -> None:
    """400 ``invalid_inputs`` unless ``inputs`` sets only what ``graph`` declares as inputs
    (for a graph without a declaration: the workflow's legacy inputs), each of its type, and —
    unless ``partial`` (a trigger's saved inputs) — every required one. The answer names the
    offending inputs in ``undeclared``, ``missing`` and ``wrong_type``."""
    try:
        check_inputs(accepted_inputs(graph, workflow.legacy_inputs), inputs, partial=partial)
    except InputsRejected as exc:
        raise errors.ValidationFailed(
            f"workflow {workflow.name!r}: {exc}", code="invalid_inputs", **exc.to_dict()
        ) from None


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, ()):
        raise errors.IllegalTransition(
            f"an execution cannot go from {current} to {new}", status=current
        )


def release_runner(runner_id: int | None, execution_id: int) -> None:
    """The runner no longer holds ``execution_id``: BUSY → ONLINE (OFFLINE stays OFFLINE)."""
    if runner_id is None:
        return
    sql.run(
        "UPDATE runners SET current_execution_id = NULL,"
        " status = CASE WHEN status = 'BUSY' THEN 'ONLINE' ELSE status END"
        " WHERE id = ? AND current_execution_id = ?",
        (runner_id, execution_id),
    )


def _queued_ahead(execution: Execution) -> int:
    """QUEUED executions a runner takes before this one (priority, then age)."""
    return int(
        Execution.select()
        .where(
            (Execution.status == ExecutionStatus.QUEUED)
            & (
                (Execution.priority > execution.priority)
                | ((Execution.priority == execution.priority) & (Execution.id < execution.id))
            )
        )
        .count()
    )


def _waiting_for_target(target: Runner | None) -> dict[str, str]:
    """An interactive run waits for the one runner it was sent to."""
    if target is None:
        return {
            "code": "target_runner_missing",
            "message": "the runner this interactive run was sent to was deleted",
        }
    if target.status == RunnerStatus.OFFLINE:
        return {
            "code": "target_runner_offline",
            "message": f"waiting for runner {target.name!r}, which is OFFLINE",
        }
    if target.status == RunnerStatus.BUSY:
        return {
            "code": "target_runner_busy",
            "message": f"waiting for runner {target.name!r} to finish its current execution",
        }
    return {
        "code": "dispatching",
        "message": f"runner {target.name!r} is ONLINE and will take it at its next poll",
    }


def _waiting_for_fleet(runners: list[Runner], required: set[str], ahead: int) -> dict[str, str]:
    """Any runner with the required labels may take it: say which of them are missing, busy
    or already promised to the executions ahead."""
    if not runners:
        return {"code": "no_runners", "message": "no runner is registered"}
    fitting = [r for r in runners if required <= set(r.labels or [])]
    if required and not fitting:
        return {
            "code": "no_runner_with_labels",
            "message": f"no runner has the labels {sorted(required)}",
        }
    online = [r for r in fitting if r.status == RunnerStatus.ONLINE]
    busy = [r for r in fitting if r.status == RunnerStatus.BUSY]
    if not online and not busy:
        which = f" with the labels {sorted(required)}" if required else ""
        return {
            "code": "no_runner_online",
            "message": f"no runner{which} is ONLINE ({len(fitting)} OFFLINE)",
        }
    if not online:
        return {
            "code": "all_busy",
            "message": f"all {len(busy)} suitable runner(s) are BUSY; {ahead} execution(s) "
            "are ahead in the queue",
        }
    if ahead >= len(online):
        return {
            "code": "queued_behind",
            "message": f"{ahead} execution(s) are ahead of this one for {len(online)} "
            "ONLINE runner(s)",
        }
    return {
        "code": "dispatching",
        "message": f"{len(online)} runner(s) are ONLINE; one will take it at its next poll",
    }


class ExecutionService:
    def __init__(
        self,
        license: LicenseService,
        *,
        enqueue: Callable[[int], None],
        changed: Callable[[], None],
        credentials_for: Callable[[list[str], int, int], dict[str, Any]],
    ) -> None:
        self.license = license
        #: hand a new QUEUED execution to the dispatcher (the dispatch queue)
        self.enqueue = enqueue
        #: something changed that an idle runner's cached poll must see (the fleet cache)
        self.changed = changed
        #: ``{name: {username, secret}}`` for a payload (the credential vault)
        self.credentials_for = credentials_for
        self._graphs: dict[tuple[int, int], dict[str, Any]] = {}

    # -- create -----------------------------------------------------------------------------
    def create(
        self,
        *,
        workflow_id: int,
        inputs: dict | None = None,
        priority: int = 0,
        runner_id: int | None = None,
        trigger: dict,
        actor: User | None,
        idempotency_key: str | None = None,
        trigger_id: int | None = None,
        labels: list[str] | None = None,
    ) -> tuple[Execution, bool]:
        """Create a QUEUED execution of the published version; ``(execution, duplicate)``."""
        self.license.require_runnable()
        inputs = inputs if inputs is not None else {}
        if not isinstance(inputs, dict):
            raise errors.ValidationFailed("inputs must be a JSON object")
        if not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
            raise errors.ValidationFailed(
                f"priority must be between {PRIORITY_RANGE[0]} and {PRIORITY_RANGE[1]}"
            )
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise errors.ValidationFailed("the Idempotency-Key must be 1-200 characters")
        required = check_labels(labels or [])
        workflow = Workflow.get_or_none(Workflow.id == workflow_id)
        if workflow is None:
            raise errors.NotFound(f"no workflow {workflow_id}", code="workflow_not_found")
        if workflow.archived:
            raise errors.Conflict(
                f"workflow {workflow.name!r} is archived", code="workflow_archived"
            )
        if workflow.published_version is None:
            raise errors.Conflict(
                f"workflow {workflow.name!r} has no published version; publish one first",
                code="not_published",
            )
        if runner_id is not None and Runner.get_or_none(Runner.id == runner_id) is None:
            raise errors.NotFound(f"no runner {runner_id}", code="runner_not_found")
        version = workflow.published_version
        check_declared_inputs(workflow, self.graph(workflow_id, version), inputs)
        digest = request_hash(workflow_id, version, inputs, priority, runner_id, required)
        try:
            with transaction():
                if idempotency_key is not None:
                    same = Execution.get_or_none(Execution.idempotency_key == idempotency_key)
                    if same is not None:
                        return same, True
                if sql.pg():
                    sql.run("SELECT pg_advisory_xact_lock(hashtext(?))", (digest,))
                dup = (
                    Execution.select()
                    .where(
                        (Execution.request_hash == digest)
                        & (Execution.status == ExecutionStatus.QUEUED)
                    )
                    .order_by(Execution.id)
                    .first()
                )
                if dup is not None:
                    return dup, True
                now = utcnow()
                execution = Execution.create(
                    workflow=workflow_id,
                    version=version,
                    status=ExecutionStatus.QUEUED,
                    target_runner_id=runner_id,
                    required_labels=required,
                    priority=priority,
                    trigger=trigger,
                    trigger_id=trigger_id,
                    inputs=inputs,
                    request_hash=digest,
                    idempotency_key=idempotency_key,
                    created_by=actor.id if actor else None,
                    queued_at=now,
                    updated_at=now,
                )
        except peewee.IntegrityError:
            same = Execution.get_or_none(Execution.idempotency_key == idempotency_key)
            if same is None:
                raise
            return same, True
        self.changed()
        self.enqueue(execution.id)
        return execution, False

    # -- read -------------------------------------------------------------------------------
    def get(self, execution_id: int) -> Execution:
        execution = Execution.get_or_none(Execution.id == execution_id)
        if execution is None:
            raise errors.NotFound(f"no execution {execution_id}", code="execution_not_found")
        return execution

    def list(
        self,
        *,
        status: str | None = None,
        workflow_id: int | None = None,
        runner_id: int | None = None,
        trigger_id: int | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[Execution], int]:
        # .objects(): the workflow name lands on the execution (``execution.name``) and the
        # foreign key keeps its id; without it peewee builds a Workflow without an id and
        # workflow_id reads None
        query = Execution.select(Execution, Workflow.name).join(Workflow).objects()
        if status:
            wanted = [s.strip().upper() for s in status.split(",") if s.strip()]
            bad = [s for s in wanted if s not in STATUSES]
            if bad:
                raise errors.ValidationFailed(f"status must be one of {', '.join(STATUSES)}")
            query = query.where(Execution.status.in_(wanted))
        if workflow_id is not None:
            query = query.where(Execution.workflow == workflow_id)
        if runner_id is not None:
            query = query.where(Execution.runner == runner_id)
        if trigger_id is not None:
            query = query.where(Execution.trigger_id == trigger_id)
        total = query.count()
        rows = list(query.order_by(Execution.id.desc()).limit(limit).offset(offset))
        return rows, total

    def logs(self, execution_id: int, *, after: int = -1, limit: int = 500) -> builtins.list[dict]:
        self.get(execution_id)
        rows = (
            ExecutionLog.select()
            .where((ExecutionLog.execution == execution_id) & (ExecutionLog.seq > after))
            .order_by(ExecutionLog.seq)
            .limit(limit)
        )
        return [
            {
                "seq": r.seq,
                "at": iso(r.at),
                "level": r.level,
                "node_id": r.node_id,
                "message": r.message,
            }
            for r in rows
        ]

    def to_dict(self, execution: Execution, *, pending: bool = True) -> dict[str, Any]:
        workflow_name = getattr(execution, "name", None)
        if workflow_name is None:
            wf = Workflow.get_or_none(Workflow.id == execution.workflow_id)
            workflow_name = wf.name if wf else None
        out: dict[str, Any] = {
            "id": execution.id,
            "workflow_id": execution.workflow_id,
            "workflow_name": workflow_name,
            "version": execution.version,
            "status": execution.status,
            "runner_id": execution.runner_id,
            "target_runner_id": execution.target_runner_id,
            "labels": execution.required_labels or [],
            "trigger": execution.trigger or {},
            "trigger_id": execution.trigger_id,
            "priority": execution.priority,
            "inputs": execution.inputs or {},
            "error": execution.error,
            "reason": execution.reason,
            "failed_node": execution.failed_node,
            "attempt": execution.attempt,
            "requeue_count": execution.requeue_count,
            "stop_requested": bool(execution.stop_requested),
            "queued_at": iso(execution.queued_at),
            "assigned_at": iso(execution.assigned_at),
            "started_at": iso(execution.started_at),
            "finished_at": iso(execution.finished_at),
            "duration_seconds": (
                (execution.finished_at - execution.started_at).total_seconds()
                if execution.finished_at and execution.started_at
                else None
            ),
            "metrics": execution.metrics,
        }
        if execution.status == ExecutionStatus.QUEUED and pending:
            out["pending_reason"] = self.pending_reason(execution)
        return out

    def pending_reason(self, execution: Execution) -> dict[str, Any]:
        """Why a QUEUED execution is still waiting, with the counts that explain it: first
        what blocks every run (license, workflow), then what the fleet looks like to it."""
        blocked = self._blocked(execution)
        if blocked is not None:
            return blocked
        runners = list(
            Runner.select(
                Runner.id,
                Runner.name,
                Runner.status,
                Runner.labels,
                Runner.last_seen,
                Runner.current_execution_id,
            )
        )
        counts: dict[str, int] = {s: 0 for s in RunnerStatus}
        for r in runners:
            counts[r.status] = counts.get(r.status, 0) + 1
        taker = next((r for r in runners if r.current_execution_id == execution.id), None)
        if taker is not None:  # assigned while we looked: its runner is BUSY with this one
            return {
                "runners": counts,
                "total_runners": len(runners),
                "ahead": 0,
                "code": "dispatching",
                "message": f"runner {taker.name!r} is taking it now",
            }
        ahead = _queued_ahead(execution)
        base: dict[str, Any] = {"runners": counts, "total_runners": len(runners), "ahead": ahead}
        if execution.target_runner_id is not None:
            target = next((r for r in runners if r.id == execution.target_runner_id), None)
            return {**base, **_waiting_for_target(target)}
        return {**base, **_waiting_for_fleet(runners, set(execution.required_labels or []), ahead)}

    def _blocked(self, execution: Execution) -> dict[str, Any] | None:
        """What keeps this execution from running on any runner, if anything."""
        state = self.license.current()
        if state.status not in RUNNABLE:
            return {
                "code": "license",
                "message": f"executions are disabled: the license is {state.status}",
            }
        wf = Workflow.get_or_none(Workflow.id == execution.workflow_id)
        if wf is None or wf.archived:
            return {"code": "workflow_archived", "message": "the workflow has been archived"}
        if wf.published_version is None:
            return {
                "code": "not_published",
                "message": "the workflow no longer has a published version; it runs the "
                f"version {execution.version} it was queued with",
            }
        return None

    # -- administrative changes ---------------------------------------------------------
    def stop(self, execution_id: int, actor: User | None) -> Execution:
        """QUEUED → STOPPED at once; ASSIGNED/RUNNING → the runner is told to stop."""
        execution = self.get(execution_id)
        now = utcnow()
        if execution.status == ExecutionStatus.QUEUED:
            changed = (
                Execution.update(
                    status=ExecutionStatus.STOPPED,
                    reason="stopped",
                    error="stopped before it started",
                    finished_at=now,
                    updated_at=now,
                )
                .where(
                    (Execution.id == execution_id) & (Execution.status == ExecutionStatus.QUEUED)
                )
                .execute()
            )
            if changed:
                return self.get(execution_id)
            execution = self.get(execution_id)
        if execution.status in LIVE:
            Execution.update(stop_requested=True, updated_at=now).where(
                (Execution.id == execution_id) & (Execution.status.in_(LIVE))
            ).execute()
            runner = (
                Runner.get_or_none(Runner.id == execution.runner_id)
                if execution.runner_id is not None
                else None
            )
            if runner is None or runner.status == RunnerStatus.OFFLINE:
                # no runner will hear the stop (offline, restarted or deleted): end it here
                self.stop_now(execution, "stopped by the hub: the runner is offline")
            return self.get(execution_id)
        check_transition(execution.status, ExecutionStatus.STOPPED)
        return execution  # pragma: no cover - check_transition raised

    def fail(
        self, execution: Execution, reason: str, error: str, *, expect: str | None = None
    ) -> bool:
        """A hub-side failure (sweeper): conditional on the status and attempt seen."""
        current = expect or execution.status
        check_transition(current, ExecutionStatus.FAILED)
        now = utcnow()
        changed = (
            Execution.update(
                status=ExecutionStatus.FAILED,
                reason=reason,
                error=error,
                finished_at=now,
                updated_at=now,
            )
            .where(
                (Execution.id == execution.id)
                & (Execution.status == current)
                & (Execution.attempt == execution.attempt)
            )
            .execute()
        )
        if changed:
            release_runner(execution.runner_id, execution.id)
        return bool(changed)

    def stop_now(self, execution: Execution, error: str) -> bool:
        """A requested stop the runner cannot (or did not) carry out: STOPPED by the hub,
        conditional on the attempt seen, so a runner's own final report that won the race
        stands."""
        now = utcnow()
        changed = (
            Execution.update(
                status=ExecutionStatus.STOPPED,
                reason="stopped",
                error=error,
                finished_at=now,
                updated_at=now,
            )
            .where(
                (Execution.id == execution.id)
                & (Execution.status.in_(LIVE))
                & (Execution.attempt == execution.attempt)
            )
            .execute()
        )
        if changed:
            release_runner(execution.runner_id, execution.id)
        return bool(changed)

    def settle_lost(self, execution: Execution, why: str) -> str | None:
        """The spec's rules for a lost runner, applied at once: ASSIGNED is re-queued once
        (then FAILED), RUNNING is FAILED ``runner_lost``; a stop that was asked for ends
        STOPPED. Returns what happened (None: the execution had moved on meanwhile)."""
        if execution.stop_requested:
            return "stopped" if self.stop_now(execution, f"stopped: {why}") else None
        if execution.status == ExecutionStatus.ASSIGNED and execution.requeue_count == 0:
            return "requeued" if self.requeue(execution) else None
        if self.fail(execution, "runner_lost", why, expect=execution.status):
            return "failed"
        return None

    def requeue(self, execution: Execution) -> bool:
        """ASSIGNED whose runner vanished → QUEUED again, at most once."""
        check_transition(execution.status, ExecutionStatus.QUEUED)
        now = utcnow()
        changed = (
            Execution.update(
                status=ExecutionStatus.QUEUED,
                runner=None,
                requeue_count=Execution.requeue_count + 1,
                assigned_at=None,
                updated_at=now,
            )
            .where(
                (Execution.id == execution.id)
                & (Execution.status == ExecutionStatus.ASSIGNED)
                & (Execution.attempt == execution.attempt)
                & (Execution.requeue_count == 0)
            )
            .execute()
        )
        if changed:
            release_runner(execution.runner_id, execution.id)
            self.changed()
            self.enqueue(execution.id)
        return bool(changed)

    # -- runner writes ----------------------------------------------------------------------
    def _held(
        self,
        runner_id: int,
        execution_id: int,
        attempt: int,
        secret_version: Any = ANY_SECRET_VERSION,
    ) -> _Held:
        """One indexed read: the execution, and (given a token's ``secret_version``) whether
        the runner's token is still valid."""
        row = sql.one(
            "SELECT e.runner_id, e.attempt, e.status, e.stop_requested, e.started_at,"
            " (SELECT secret_version FROM runners WHERE id = ?) FROM executions e WHERE e.id = ?",
            (runner_id, execution_id),
            prepare=True,
        )
        if secret_version is not ANY_SECRET_VERSION:
            current = (
                row[5]
                if row is not None
                else sql.one("SELECT secret_version FROM runners WHERE id = ?", (runner_id,))
            )
            if isinstance(current, tuple):
                current = current[0]
            if current is None or current != secret_version:
                raise errors.Unauthorized(
                    "the runner token is no longer valid; authenticate again",
                    code="invalid_token",
                )
        if row is None:
            raise errors.NotFound(f"no execution {execution_id}", code="execution_not_found")
        held = _Held(row[0], row[1], row[2], bool(row[3]), row[4] is not None)
        if held.runner_id != runner_id:
            raise errors.Forbidden(
                f"execution {execution_id} is not held by this runner", code="not_your_execution"
            )
        if attempt != held.attempt:
            raise errors.Conflict(
                f"attempt {attempt} is stale: execution {execution_id} is on attempt "
                f"{held.attempt}",
                code="stale_attempt",
                status=held.status,
            )
        return held

    def _insert_logs(self, execution_id: int, logs: builtins.list[dict[str, Any]]) -> int:
        rows = []
        for item in logs:
            level = str(item.get("level") or "info").lower()
            if level not in LOG_LEVELS:
                level = "info"
            message = str(item.get("message", ""))[:MAX_LOG_MESSAGE]
            node = item.get("node_id")
            rows.append(
                {
                    "execution": execution_id,
                    "seq": int(item["seq"]),
                    "at": parse_iso(str(item["at"]), "log time") if item.get("at") else utcnow(),
                    "level": level,
                    "node_id": str(node)[:200] if node is not None else None,
                    "message": message,
                }
            )
        if not rows:
            return 0
        ExecutionLog.insert_many(rows).on_conflict_ignore().execute()
        return len(rows)

    def runner_logs(
        self,
        runner_id: int,
        execution_id: int,
        attempt: int,
        logs: builtins.list[dict[str, Any]],
        secret_version: Any = ANY_SECRET_VERSION,
    ) -> dict[str, Any]:
        execution = self._held(runner_id, execution_id, attempt, secret_version)
        if execution.status in TERMINAL:
            raise errors.Conflict(
                f"execution {execution_id} is already {execution.status}",
                code="execution_finished",
                status=execution.status,
            )
        self._insert_logs(execution_id, logs)
        return {"status": execution.status, "stop": bool(execution.stop_requested)}

    def runner_status(
        self,
        runner_id: int,
        execution_id: int,
        attempt: int,
        status: str,
        *,
        error: str | None = None,
        failed_node: str | None = None,
        reason: str | None = None,
        metrics: dict[str, Any] | None = None,
        logs: builtins.list[dict[str, Any]] | None = None,
        secret_version: Any = ANY_SECRET_VERSION,
    ) -> dict[str, Any]:
        """A runner's report; ``secret_version`` is the one in its token.

        The usual report is one conditional UPDATE that also checks the holder, the attempt,
        the legal previous states and the token (and, on PostgreSQL, frees the runner when the
        execution ends). Only when it changes nothing does a read find out why, so every
        refusal keeps its precise answer (401, 403, 404, 409) and a retried report is still
        answered as a duplicate.
        """
        status = status.upper()
        if status not in (
            ExecutionStatus.RUNNING,
            ExecutionStatus.COMPLETED,
            ExecutionStatus.FAILED,
            ExecutionStatus.STOPPED,
        ):
            raise errors.ValidationFailed("status must be RUNNING, COMPLETED, FAILED or STOPPED")
        if reason is not None and reason not in REASONS:
            raise errors.ValidationFailed(f"reason must be one of {', '.join(REASONS)}")
        if logs:  # the logs go in only once the holder and attempt are known to be right
            execution = self._held(runner_id, execution_id, attempt, secret_version)
            if execution.status == status:  # a retried report: its logs are already in
                return {"status": status, "stop": execution.stop_requested, "duplicate": True}
            if status in RUNNER_TRANSITIONS.get(execution.status, ()):
                self._insert_logs(execution_id, logs)
        stop = self._report(
            runner_id,
            execution_id,
            attempt,
            status,
            secret_version,
            error=error,
            failed_node=failed_node,
            reason=reason,
            metrics=metrics,
        )
        if stop is not None:
            return {"status": status, "stop": stop}
        execution = self._held(runner_id, execution_id, attempt, secret_version)
        if execution.status == status:  # a retried report (the runner's outbox): idempotent
            return {"status": status, "stop": bool(execution.stop_requested), "duplicate": True}
        if status not in RUNNER_TRANSITIONS.get(execution.status, ()):
            raise errors.IllegalTransition(
                f"execution {execution_id} is {execution.status}; a runner cannot report "
                f"{status} now",
                status=execution.status,
            )
        raise errors.Conflict(
            f"execution {execution_id} changed meanwhile (now {execution.status})",
            code="stale_attempt",
            status=execution.status,
        )

    def _report(
        self,
        runner_id: int,
        execution_id: int,
        attempt: int,
        status: str,
        secret_version: Any,
        *,
        error: str | None,
        failed_node: str | None,
        reason: str | None,
        metrics: dict[str, Any] | None,
    ) -> bool | None:
        """The report as one conditional write: ``stop_requested`` if it changed the
        execution, None if the conditions did not hold (nothing was written)."""
        now = sql.ts(utcnow())
        sets = ["status = ?", "updated_at = ?"]
        params: list[Any] = [status, now]
        if status == ExecutionStatus.RUNNING:
            sets.append("started_at = ?")
            params.append(now)
        else:
            sets += ["finished_at = ?", "started_at = COALESCE(started_at, ?)"]
            params += [now, now]
            if metrics is not None:
                sets.append("metrics = ?")
                params.append(json.dumps(metrics))
            if status == ExecutionStatus.FAILED:
                sets += ["reason = ?", "error = ?", "failed_node = ?"]
                params += [
                    reason or "activity_error",
                    (error or "the runner reported a failure")[:10_000],
                    failed_node[:200] if failed_node else None,
                ]
            elif status == ExecutionStatus.STOPPED:
                sets += ["reason = ?", "error = ?"]
                params += ["stopped", error[:10_000] if error else None]
        sources = [s for s, targets in RUNNER_TRANSITIONS.items() if status in targets]
        where = (
            " WHERE id = ? AND runner_id = ? AND attempt = ?"
            f" AND status IN ({', '.join('?' for _ in sources)})"
        )
        params += [execution_id, runner_id, attempt, *sources]
        if secret_version is not ANY_SECRET_VERSION:
            where += " AND EXISTS (SELECT 1 FROM runners WHERE id = ? AND secret_version = ?)"
            params += [runner_id, secret_version]
        update = f"UPDATE executions SET {', '.join(sets)}{where} RETURNING stop_requested"
        if status in TERMINAL and sql.pg():
            # end the execution and free the runner in one statement
            row = sql.one(
                f"WITH u AS ({update}),"
                " r AS (UPDATE runners SET current_execution_id = NULL,"
                " status = CASE WHEN status = 'BUSY' THEN 'ONLINE' ELSE status END"
                " WHERE id = ? AND current_execution_id = ? AND EXISTS (SELECT 1 FROM u))"
                " SELECT stop_requested FROM u",
                (*params, runner_id, execution_id),
                prepare=True,
            )
            return None if row is None else bool(row[0])
        # read to the end: SQLite holds its lock till then
        rows = sql.all_rows(update, params, prepare=True)
        if not rows:
            return None
        if status in TERMINAL:
            release_runner(runner_id, execution_id)
        return bool(rows[0][0])

    def payload(self, execution_id: int, runner_id: int) -> dict[str, Any] | None:
        execution = Execution.get_or_none(Execution.id == execution_id)
        if execution is None or execution.runner_id != runner_id:
            return None
        return self.build_payload(
            execution.id,
            execution.attempt,
            execution.workflow_id,
            execution.version,
            execution.inputs or {},
            runner_id,
            stop=bool(execution.stop_requested),
        )

    def graph(self, workflow_id: int, version: int) -> dict[str, Any]:
        """The graph of a published version (immutable, so cached in the process)."""
        key = (workflow_id, version)
        graph = self._graphs.get(key)
        if graph is None:
            row = WorkflowVersion.get_or_none(
                (WorkflowVersion.workflow == workflow_id) & (WorkflowVersion.number == version)
            )
            graph = (row.graph if row else None) or {}
            if row is not None and row.published_at is not None:
                if len(self._graphs) > 2000:
                    self._graphs.clear()
                self._graphs[key] = graph
        return graph

    def build_payload(
        self,
        execution_id: int,
        attempt: int,
        workflow_id: int,
        version: int,
        inputs: dict[str, Any],
        runner_id: int,
        *,
        stop: bool = False,
    ) -> dict[str, Any]:
        graph = self.graph(workflow_id, version)
        names = sorted(
            {
                str(node["params"]["credential"])
                for node in graph.get("nodes", [])
                if isinstance(node, dict)
                and isinstance(node.get("params"), dict)
                and node["params"].get("credential")
            }
        )
        return {
            "id": execution_id,
            "attempt": attempt,
            "workflow_id": workflow_id,
            "version": version,
            "graph": graph,
            "inputs": inputs,
            "credentials": self.credentials_for(names, execution_id, runner_id) if names else {},
            "stop": stop,
        }
