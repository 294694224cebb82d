"""Runners: registration, machine credentials, authentication, heartbeats and liveness.

A runner is registered by an administrator and receives a Machine Key (``FC-`` prefix) and a
Machine Secret (64 hex characters, bcrypt-hashed, shown once). ``secret_version`` is carried in
every runner token, so regenerating the secret makes the old secret and all its tokens useless
at once. Heartbeats are one raw ``UPDATE ... RETURNING`` (PERFORMANCE.md); a runner that holds
an execution costs one more indexed read for the stop flag.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

import peewee

from workflows.statuses import ACTIVE_EXECUTION_STATUSES, RunnerStatus

from .. import errors
from ..auth import passwords
from ..auth.tokens import TokenService
from ..background import BackgroundLoop
from ..db import database_proxy
from ..models import Execution, Runner, User, iso, utcnow
from . import audit, sql

log = logging.getLogger(__name__)

RUNNER_STATUSES = tuple(RunnerStatus)
LIVE = ACTIVE_EXECUTION_STATUSES
LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
#: heartbeat samples kept for sparklines (15 min at the 30 s cadence); the JSON stays under
#: PostgreSQL's 2 kB TOAST threshold so a heartbeat stays a cheap in-place update
HISTORY = 30


def check_labels(labels: list[str]) -> list[str]:
    out: list[str] = []
    for label in labels:
        if not isinstance(label, str) or not LABEL.match(label):
            raise errors.ValidationFailed(
                f"label {label!r} is not valid: 1-64 letters, digits, '_', '.', ':' or '-'",
                code="invalid_label",
            )
        if label not in out:
            out.append(label)
    if len(out) > 32:
        raise errors.ValidationFailed("at most 32 labels", code="invalid_label")
    return sorted(out)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise errors.ValidationFailed("the runner name must be 1-200 characters")
    return name


def to_dict(runner: Runner) -> dict[str, Any]:
    return {
        "id": runner.id,
        "name": runner.name,
        "status": runner.status,
        "labels": runner.labels or [],
        "last_seen": iso(runner.last_seen),
        "metrics": {"cpu": runner.cpu, "memory": runner.memory, "disk": runner.disk},
        "metrics_history": runner.metrics_history or [],
        "current_execution_id": runner.current_execution_id,
        "machine_key": runner.machine_key,
        "hostname": runner.hostname,
        "version": runner.version,
        "created_at": iso(runner.created_at),
    }


class RunnerService:
    #: the heartbeat flusher's thread (see ``start_flusher``)
    _heartbeats: BackgroundLoop | None = None

    def __init__(
        self,
        tokens: TokenService,
        *,
        bcrypt_rounds: int,
        max_runners: Callable[[], int | None],
        changed: Callable[[], None],
    ) -> None:
        self.tokens = tokens
        self.rounds = bcrypt_rounds
        self.max_runners = max_runners
        self._history: dict[int, list[list[Any]]] = {}
        #: tell idle-poll caches in every process that runners changed (the fleet cache)
        self.changed = changed
        #: write-behind heartbeats of known-idle runners (see ``start_flusher``)
        self.is_idle: Callable[[int, Any], bool] = lambda runner_id, version: False
        self._pending: dict[int, tuple[Any, ...]] = {}
        self._flushing = False
        self._lock = threading.Lock()

    # -- administration -------------------------------------------------------------------
    def get(self, runner_id: int) -> Runner:
        runner = Runner.get_or_none(Runner.id == runner_id)
        if runner is None:
            raise errors.NotFound(f"no runner {runner_id}", code="runner_not_found")
        return runner

    def list(
        self, *, status: str | None = None, label: str | None = None, limit: int, offset: int
    ) -> tuple[list[Runner], int]:
        query = Runner.select().order_by(Runner.name)
        if status:
            if status not in RUNNER_STATUSES:
                raise errors.ValidationFailed(f"status must be one of {', '.join(RUNNER_STATUSES)}")
            query = query.where(Runner.status == status)
        rows = list(query)
        if label:
            rows = [r for r in rows if label in (r.labels or [])]
        return rows[offset : offset + limit], len(rows)

    def create(
        self,
        *,
        name: str,
        labels: builtins.list[str] | None,
        actor: User | None,
        ip: str | None = None,
    ) -> tuple[Runner, str]:
        name = check_name(name)
        labels = check_labels(labels or [])
        secret = secrets.token_hex(32)
        hashed = passwords.hash_secret(secret, self.rounds)
        with database_proxy.atomic():
            limit = self.max_runners()
            if limit is None:
                raise errors.LicenseForbids(
                    "registering runners needs an active license", code="license_required"
                )
            count = Runner.select().count()
            if count >= limit:
                raise errors.LicenseForbids(
                    f"the license allows {limit} runner{'s' if limit != 1 else ''} and "
                    f"{count} are registered; delete one or renew with a larger license",
                    code="runner_limit",
                )
            try:
                runner = Runner.create(
                    name=name,
                    machine_key="FC-" + secrets.token_hex(16).upper(),
                    secret_hash=hashed,
                    labels=labels,
                    status=RunnerStatus.OFFLINE,
                    created_by=actor.id if actor else None,
                )
            except peewee.IntegrityError:
                raise errors.Conflict(
                    f"a runner named {name!r} exists", code="runner_name_taken"
                ) from None
            audit.record(
                actor,
                "runner.register",
                f"runner:{runner.id}",
                ip=ip,
                details={"name": name, "labels": labels, "machine_key": runner.machine_key},
            )
        return runner, secret

    def update(
        self, runner_id: int, changes: dict[str, Any], actor: User | None, ip: str | None = None
    ) -> Runner:
        runner = self.get(runner_id)
        fields: dict[str, Any] = {}
        if "name" in changes:
            fields["name"] = check_name(changes["name"])
        if "labels" in changes:
            fields["labels"] = check_labels(changes["labels"])
        if fields:
            try:
                Runner.update(**fields).where(Runner.id == runner_id).execute()
            except peewee.IntegrityError:
                raise errors.Conflict(
                    f"a runner named {fields.get('name')!r} exists", code="runner_name_taken"
                ) from None
            self.changed()
            audit.record(actor, "runner.update", f"runner:{runner_id}", ip=ip, details=fields)
        return self.get(runner.id)

    def delete(self, runner_id: int, actor: User | None, ip: str | None = None) -> Runner:
        runner = self.get(runner_id)
        live = (
            Execution.select(Execution.id)
            .where((Execution.runner == runner_id) & (Execution.status.in_(LIVE)))
            .first()
        )
        if live is not None:
            raise errors.Conflict(
                f"runner {runner.name!r} holds execution {live.id}; stop it first",
                code="runner_busy",
            )
        Runner.delete().where(Runner.id == runner_id).execute()
        self._history.pop(runner_id, None)
        self.changed()
        audit.record(
            actor, "runner.delete", f"runner:{runner_id}", ip=ip, details={"name": runner.name}
        )
        return runner

    def regenerate_secret(
        self, runner_id: int, actor: User | None, ip: str | None = None
    ) -> tuple[Runner, str]:
        runner = self.get(runner_id)
        secret = secrets.token_hex(32)
        hashed = passwords.hash_secret(secret, self.rounds)
        Runner.update(secret_hash=hashed, secret_version=Runner.secret_version + 1).where(
            Runner.id == runner_id
        ).execute()
        self.changed()
        audit.record(
            actor,
            "runner.regenerate_secret",
            f"runner:{runner_id}",
            ip=ip,
            details={"name": runner.name},
        )
        return self.get(runner.id), secret

    # -- runner side ----------------------------------------------------------------------
    def authenticate(
        self, machine_key: str, machine_secret: str, session: str | None = None
    ) -> tuple[str, dt.datetime, int, bool]:
        """A token for the runner, and whether this is a new agent process (``session``, a
        random value an agent picks at start, differs from the one seen last): the caller
        then settles what the previous process held. Without ``session`` (``exekra runner
        connect``, older agents) nothing is settled."""
        runner = None
        if len(machine_key) <= 64:
            runner = Runner.get_or_none(Runner.machine_key == machine_key)
        ok = passwords.check_secret(
            machine_secret, runner.secret_hash if runner else None, self.rounds
        )
        if not ok or runner is None:
            raise errors.Unauthorized(
                "unknown machine key or wrong machine secret", code="bad_credentials"
            )
        token, expires = self.tokens.issue_runner(runner.id, runner.secret_version)
        new_life = False
        if session is not None and session != runner.session_id:
            seen = (
                Runner.session_id.is_null()
                if runner.session_id is None
                else Runner.session_id == runner.session_id
            )
            # conditional: of two racing sign-ins of one new process, one settles; a runner
            # with no session on record (first sign-in, or a hub just upgraded while the
            # agent ran) has no known previous life to settle
            moved = Runner.update(session_id=session).where((Runner.id == runner.id) & seen)
            new_life = bool(moved.execute()) and runner.session_id is not None
        return token, expires, runner.id, new_life

    def check(self, runner_id: int, version: Any) -> tuple[str, int | None]:
        """One indexed read: the runner exists and the token's secret version is current."""
        row = sql.one(
            "SELECT secret_version, status, current_execution_id FROM runners WHERE id = ?",
            (runner_id,),
        )
        if row is None or row[0] != version:
            raise errors.Unauthorized(
                "the runner token is no longer valid; authenticate again", code="invalid_token"
            )
        return row[1], row[2]

    def _history_for(self, runner_id: int) -> builtins.list[builtins.list[Any]]:
        hist = self._history.get(runner_id)
        if hist is None:
            row = sql.one("SELECT metrics_history FROM runners WHERE id = ?", (runner_id,))
            try:
                hist = json.loads(row[0]) if row and row[0] else []
            except ValueError:
                hist = []
            if not isinstance(hist, list):
                hist = []
            self._history[runner_id] = hist
        return hist

    def heartbeat(
        self,
        runner_id: int,
        version: Any,
        *,
        cpu: float | None,
        memory: float | None,
        disk: float | None,
        agent_version: str | None,
        hostname: str | None,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        now = now or utcnow()
        with self._lock:
            hist = list(self._history_for(runner_id))
            hist.append(
                [iso(now), *(None if v is None else round(v, 1) for v in (cpu, memory, disk))]
            )
            hist = hist[-HISTORY:]
            self._history[runner_id] = hist
        if self._flushing and self.is_idle(runner_id, version):
            # a known-idle ONLINE runner with a valid token: the answer is known; the row is
            # written with the other buffered heartbeats within a second (write-behind)
            with self._lock:
                self._pending[runner_id] = (
                    runner_id,
                    version,
                    now,
                    cpu,
                    memory,
                    disk,
                    agent_version,
                    hostname,
                    hist,  # serialised by the flusher (a runner's repeats coalesce)
                )
            return {"status": RunnerStatus.ONLINE, "stop": []}
        history_json = json.dumps(hist, separators=(",", ":"))
        # A heartbeat is the most frequent write and the cheapest to lose (the next one comes
        # in 30 s): on PostgreSQL it commits without waiting for the WAL flush.
        async_commit = (
            " AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL"
            if sql.pg()
            else ""
        )
        row = sql.one(
            "UPDATE runners SET last_seen = ?, cpu = ?, memory = ?, disk = ?, version = ?,"
            " hostname = COALESCE(?, hostname), metrics_history = ?,"
            " status = CASE WHEN current_execution_id IS NULL THEN 'ONLINE' ELSE 'BUSY' END"
            " WHERE id = ? AND secret_version = ?" + async_commit + " RETURNING status,"
            " current_execution_id",
            (
                sql.ts(now),
                cpu,
                memory,
                disk,
                agent_version,
                hostname,
                history_json,
                runner_id,
                version,
            ),
            prepare=True,
        )
        if row is None:
            self._history.pop(runner_id, None)
            raise errors.Unauthorized(
                "the runner token is no longer valid; authenticate again", code="invalid_token"
            )
        status, current = row
        stop: builtins.list[int] = []
        if current is not None:
            stop = [
                r[0]
                for r in sql.all_rows(
                    "SELECT id FROM executions WHERE runner_id = ? AND stop_requested = ?"
                    " AND status IN ('ASSIGNED', 'RUNNING')",
                    (runner_id, True),
                )
            ]
        return {"status": status, "stop": stop}

    # -- write-behind heartbeats (PostgreSQL with a live idle-poll cache) -------------------
    def flush(self) -> int:
        """Write the buffered heartbeats in one statement; returns how many."""
        with self._lock:
            batch, self._pending = list(self._pending.values()), {}
        if not batch:
            return 0
        row = (
            "(?::int, ?::int, ?::timestamp, ?::float8, ?::float8, ?::float8,"
            " ?::text, ?::text, ?::text)"
        )
        params: builtins.list[Any] = []
        for item in batch:
            params.extend(item[:-1])
            params.append(json.dumps(item[-1], separators=(",", ":")))
        sql.run(
            "UPDATE runners r SET last_seen = v.seen, cpu = v.cpu, memory = v.memory,"
            " disk = v.disk, version = v.agent, hostname = COALESCE(v.host, r.hostname),"
            " metrics_history = v.hist,"
            " status = CASE WHEN r.current_execution_id IS NULL THEN 'ONLINE' ELSE 'BUSY' END"
            " FROM (VALUES " + ", ".join([row] * len(batch)) + ")"
            " AS v(id, ver, seen, cpu, memory, disk, agent, host, hist)"
            " WHERE r.id = v.id AND r.secret_version = v.ver"
            " AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL",
            params,
        )
        return len(batch)

    def start_flusher(self, is_idle: Callable[[int, Any], bool], interval: float = 1.0) -> None:
        """On PostgreSQL, write the buffered heartbeats every ``interval`` seconds on a thread
        (the first time after one interval); a failed flush keeps them for the next round."""
        if not sql.pg() or self._heartbeats is not None:
            return
        self.is_idle = is_idle

        def round_(_now: Any) -> None:
            self.flush()

        self._heartbeats = BackgroundLoop(
            "exekra-heartbeats",
            round_,
            interval=interval,
            database=True,
            failure="heartbeat flush failed",
            logger=log,
            join_timeout=5,
        )
        self._heartbeats.start()
        self._flushing = True

    def stop_flusher(self) -> None:
        self._flushing = False
        if self._heartbeats is not None:
            self._heartbeats.stop()
            self._heartbeats = None
        try:
            from .. import db

            with db.connection():
                self.flush()
        except Exception:  # noqa: BLE001 - shutting down
            log.warning("final heartbeat flush failed", exc_info=True)

    # -- periodic job ---------------------------------------------------------------------
    def mark_offline(self, now: dt.datetime, silent_for: float) -> int:
        """Runners silent for ``silent_for`` seconds (or never seen, created that long ago)."""
        cutoff = now - dt.timedelta(seconds=silent_for)
        return (
            Runner.update(status=RunnerStatus.OFFLINE)
            .where(
                (Runner.status != RunnerStatus.OFFLINE)
                & (
                    (Runner.last_seen < cutoff)
                    | (Runner.last_seen.is_null() & (Runner.created_at < cutoff))
                )
            )
            .execute()
        )
