"""0005 — indexes for dispatch: the queue in claim order, and fewer index writes per change.

Every claim asks for the best QUEUED execution: ``WHERE status = 'QUEUED' ORDER BY priority
DESC, queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED``. The ``(status, priority, queued_at)``
index finds the QUEUED rows but not in that order (priority descends, the rest ascends), so
every claim sorted the whole queue: about 1 ms with 6,000 executions waiting, growing with the
backlog. ``executions_queue`` is a partial index in exactly the claim's order: it holds only
the waiting rows, stays small however long the history grows, and gives the first one at once
(about 0.04 ms).

An execution changes status four or five times, and each change is a new row version that
PostgreSQL adds to every index of the table (the status column is indexed, so these are never
in-place "HOT" updates). Indexes that only ever matter for a few rows become partial, and two
that a composite index already covers go:

- ``request_hash`` finds an identical request while it is QUEUED: only QUEUED rows;
- ``idempotency_key`` and ``trigger_id`` are NULL for most executions: only non-NULL rows
  (the key stays unique);
- ``runner_id`` and ``workflow_id`` are the leading columns of ``(runner_id, status)`` and
  ``(workflow_id, status)``, which serve the same lookups and foreign-key checks.

On ``runners``, the ``status`` index goes: the table is small (one row per machine), every read
that filters by status scans it anyway or looks a runner up by id, and without the index a
claim, a release or a heartbeat that changes the status is an in-place (HOT) update too.
"""

from __future__ import annotations

import peewee as pw

STATEMENTS = (
    "CREATE INDEX IF NOT EXISTS executions_queue"
    " ON executions (priority DESC, queued_at, id) WHERE status = 'QUEUED'",
    "DROP INDEX IF EXISTS executions_request_hash",
    "CREATE INDEX IF NOT EXISTS executions_request_hash_queued"
    " ON executions (request_hash) WHERE status = 'QUEUED'",
    "DROP INDEX IF EXISTS executions_idempotency_key",
    "CREATE UNIQUE INDEX IF NOT EXISTS executions_idempotency_key_set"
    " ON executions (idempotency_key) WHERE idempotency_key IS NOT NULL",
    "DROP INDEX IF EXISTS executions_trigger_id",
    "CREATE INDEX IF NOT EXISTS executions_trigger_id_set"
    " ON executions (trigger_id) WHERE trigger_id IS NOT NULL",
    "DROP INDEX IF EXISTS executions_runner_id",
    "DROP INDEX IF EXISTS executions_workflow_id",
    "DROP INDEX IF EXISTS runners_status",
)


def up(db: pw.Database) -> None:
    for statement in STATEMENTS:
        db.execute_sql(statement)
