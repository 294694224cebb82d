"""The claim reads the queue through ``executions_queue`` (migration 0005), never by sorting it.

Thousands of executions are queued behind the hub's back with no ANALYZE run since (as after a
burst), and the claim's plan must still walk the partial index in claim order: on SQLite the
statement names the index, on PostgreSQL the plan must not depend on the (stale) statistics.
The claims then come out by priority, then age.
"""

from __future__ import annotations

from hub.services import sql
from hub.services.dispatch import CLAIM_PG, next_queued_statement
from tests.hub.test_runners_support import online_runner, published_workflow
from tests.support import Api

COUNT = 3000


def _queue(wf: int) -> None:
    rows = [
        (wf, 1, "QUEUED", "[]", (i * 7) % 5, "{}", "{}", 0, 0, False,
         f"2026-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}", "2026-01-01 00:00:00")
        for i in range(COUNT)
    ]  # fmt: skip
    for row in rows:
        sql.run(
            "INSERT INTO executions (workflow_id, version, status, required_labels, priority,"
            " trigger, inputs, attempt, requeue_count, stop_requested, queued_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )


def test_claims_walk_the_queue_index_in_claim_order(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, _ = online_runner(api)
    _queue(wf)
    if sql.pg():
        plan = "\n".join(
            r[0] for r in sql.all_rows("EXPLAIN " + CLAIM_PG, (runner["id"], runner["id"],
                                       "2026-01-02", "2026-01-02", runner["id"]))
        )  # fmt: skip
        assert "executions_queue" in plan and "Tid Scan" in plan, plan
        assert "Sort" not in plan, plan
    else:
        plan = "\n".join(
            str(r[-1])
            for r in sql.all_rows("EXPLAIN QUERY PLAN " + next_queued_statement(), (1, "[]"))
        )
        assert "executions_queue" in plan and "TEMP B-TREE" not in plan, plan

    expected = [
        r[0]
        for r in sql.all_rows(
            "SELECT id FROM executions WHERE status = 'QUEUED'"
            " ORDER BY priority DESC, queued_at, id LIMIT 5"
        )
    ]
    dispatcher = hub_app.hub.dispatcher
    claimed = []
    for _ in range(5):
        if sql.pg():
            row = dispatcher._claim_pg(runner["id"])
            taken = row[0] if row else None
        else:
            taken = dispatcher.claim_for_runner(runner["id"])
        assert taken is not None
        claimed.append(taken)
        sql.run(  # the runner finishes at once and is free again
            "UPDATE executions SET status = 'COMPLETED' WHERE id = ?", (taken,)
        )
        sql.run(
            "UPDATE runners SET status = 'ONLINE', current_execution_id = NULL WHERE id = ?",
            (runner["id"],),
        )
    assert claimed == expected
    assert {
        r[0] for r in sql.all_rows("SELECT priority FROM executions WHERE id IN (?, ?, ?, ?, ?)",
                                   claimed)
    } == {4}  # fmt: skip
