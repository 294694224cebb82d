"""The execution lifecycle as a hypothesis state machine.

Random interleavings of creating executions, heartbeats, polls (claims), runner reports (with
current or stale attempts, from the holder or another runner), stops and sweeps after the
fleet fell silent. After every step the invariants hold: at most one live attempt per execution
(``attempt <= requeue_count + 1``), at most one re-queue, a runner holds at most one execution
and exactly the one that names it, finished executions never change, and a write from a stale
attempt or a non-holder never succeeds.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from hub import errors
from hub.models import Execution, ExecutionLog, Runner, utcnow
from tests.hub.test_runners_support import published_workflow, register_runner
from tests.support import Api

TERMINAL = ("COMPLETED", "FAILED", "STOPPED")
SWEEP = dict(offline_after=120, queue_timeout=100_000, assigned_grace=300, running_grace=300)


def test_lifecycle_state_machine(licensed_api: Api, hub_app) -> None:
    hub = hub_app.hub
    wf = published_workflow(licensed_api)
    runners = [register_runner(licensed_api, f"sm{i}") for i in range(3)]
    runner_ids = [r["id"] for r in runners]
    # secret versions start at a random number (migration 0006)
    versions = [Runner.get_by_id(i).secret_version for i in runner_ids]
    seen = {"claims": 0, "accepted": 0, "refused": 0, "requeued": 0}

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            ExecutionLog.delete().execute()
            Execution.delete().execute()
            Runner.update(status="OFFLINE", current_execution_id=None, last_seen=None).execute()
            hub.runners._history.clear()
            self.counter = 0
            self.finished: dict[int, tuple] = {}
            self.clock = utcnow()

        @rule(priority=st.integers(0, 3), interactive=st.booleans(), who=st.sampled_from([0, 1, 2]))
        def create(self, priority: int, interactive: bool, who: int) -> None:
            self.counter += 1
            hub.executions.create(
                workflow_id=wf,
                inputs={"n": self.counter},
                priority=priority,
                runner_id=runner_ids[who] if interactive else None,
                trigger={"type": "MANUAL"},
                actor=None,
            )

        @rule(who=st.sampled_from([0, 1, 2]))
        def heartbeat(self, who: int) -> None:
            hub.runners.heartbeat(
                runner_ids[who],
                versions[who],
                cpu=1.0,
                memory=1.0,
                disk=1.0,
                agent_version="t",
                hostname=None,
            )

        @rule(who=st.sampled_from([0, 1, 2]))
        def poll(self, who: int) -> None:
            payload = hub.dispatcher.poll(runner_ids[who], versions[who])
            if payload is not None:
                seen["claims"] += 1
                row = Execution.get_by_id(payload["id"])
                assert row.runner_id == runner_ids[who]
                assert row.attempt == payload["attempt"]
                assert row.status == "ASSIGNED"

        @rule(
            who=st.sampled_from([0, 1, 2]),
            status=st.sampled_from(["RUNNING", "COMPLETED", "FAILED", "STOPPED"]),
            stale=st.booleans(),
            pick=st.integers(0, 50),
        )
        def report(self, who: int, status: str, stale: bool, pick: int) -> None:
            mine = list(Execution.select().where(Execution.runner == runner_ids[who]))
            rows = mine if mine and pick % 4 else list(Execution.select().order_by(Execution.id))
            if not rows:
                return
            row = rows[pick % len(rows)]
            attempt = row.attempt - 1 if stale else row.attempt
            legit = row.runner_id == runner_ids[who] and not stale
            before = row.status
            try:
                hub.executions.runner_status(runner_ids[who], row.id, attempt, status)
                ok = True
            except errors.ExekraError:
                ok = False
            seen["accepted" if ok else "refused"] += 1
            if ok:
                assert legit, f"{status} from runner {who} (stale={stale}) was accepted"
                assert before not in TERMINAL or before == status

        @rule(who=st.sampled_from([0, 1, 2]))
        def progress(self, who: int) -> None:
            """The holder moves its execution on, as a healthy runner would: accepted."""
            held = Runner.get_by_id(runner_ids[who]).current_execution_id
            if held is None:
                return
            row = Execution.get_by_id(held)
            nxt = {"ASSIGNED": "RUNNING", "RUNNING": "COMPLETED"}[row.status]
            out = hub.executions.runner_status(runner_ids[who], row.id, row.attempt, nxt)
            assert out["status"] == nxt
            seen["accepted"] += 1

        @rule(pick=st.integers(0, 50))
        def stop(self, pick: int) -> None:
            rows = list(Execution.select().order_by(Execution.id))
            if rows:
                try:
                    hub.executions.stop(rows[pick % len(rows)].id, None)
                except errors.IllegalTransition:
                    pass

        @rule(seconds=st.sampled_from([10, 200, 1000]))
        def sweep(self, seconds: int) -> None:
            self.clock = max(self.clock, utcnow()) + dt.timedelta(seconds=seconds)
            seen["requeued"] += hub.dispatcher.sweep(self.clock, **SWEEP)["requeued"]

        @invariant()
        def consistent(self) -> None:
            rows = list(Execution.select())
            live_by_runner: dict[int, list[int]] = {}
            for row in rows:
                assert row.requeue_count <= 1
                assert row.attempt <= row.requeue_count + 1
                if row.status in ("ASSIGNED", "RUNNING"):
                    assert row.runner_id is not None
                    live_by_runner.setdefault(row.runner_id, []).append(row.id)
                if row.status == "QUEUED":
                    assert row.runner_id is None
                if row.id in self.finished:
                    assert self.finished[row.id] == (row.status, row.attempt, row.runner_id)
                elif row.status in TERMINAL:
                    self.finished[row.id] = (row.status, row.attempt, row.runner_id)
            for runner in Runner.select():
                held = live_by_runner.get(runner.id, [])
                assert len(held) <= 1, f"runner {runner.id} holds {held}"
                if runner.current_execution_id is not None:
                    assert held == [runner.current_execution_id]
                    assert runner.status in ("BUSY", "OFFLINE")
                else:
                    assert held == []
                    assert runner.status != "BUSY"

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=30,
            stateful_step_count=35,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    # the machine really exercised the paths it checks
    assert seen["claims"] > 0 and seen["accepted"] > 0 and seen["refused"] > 0, seen
    assert seen["requeued"] > 0, seen
