"""Executions through the REST API: create, duplicates, lifecycle, fencing, stop, logs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.models import utcnow
from tests.hub.test_runners_support import (
    GRAPH_WITH_CREDENTIAL,
    online_runner,
    published_workflow,
    register_runner,
    run,
    runner_login,
)
from tests.support import Api, make_license


def _status(api: Api, token: str, execution_id: int, attempt: int, status: str, **kw):
    return api.post(
        f"/api/runner/executions/{execution_id}/status",
        {"attempt": attempt, "status": status, **kw},
        token=token,
    )


def _logs(api: Api, token: str, execution_id: int, attempt: int, lines: list[dict]):
    return api.post(
        f"/api/runner/executions/{execution_id}/logs",
        {"attempt": attempt, "logs": lines},
        token=token,
    )


def _line(seq: int, msg: str = "step") -> dict:
    return {
        "seq": seq,
        "at": "2026-01-01T10:00:00Z",
        "level": "info",
        "node_id": "n",
        "message": msg,
    }


def test_create_checks_publication_license_and_input(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    res = api.post(
        "/api/workflows",
        {
            "name": "Draft only",
            "description": "",
            "graph": {
                "format": 1,
                "nodes": [{"id": "a", "type": "log.write", "params": {"message": "x"}}],
                "edges": [],
            },
        },
        as_="DEVELOPER",
    )
    assert res.status_code == 201, res.text
    draft = res.json["id"]
    res = api.post("/api/executions", {"workflow_id": draft}, as_="OPERATOR")
    assert res.status_code == 409 and res.json["code"] == "not_published"
    assert api.post("/api/executions", {"workflow_id": 9999}, as_="OPERATOR").status_code == 404
    wf = published_workflow(api)
    for bad in (
        {"workflow_id": "x"},
        {"workflow_id": wf, "inputs": []},
        {"workflow_id": wf, "priority": 10**6},
        {"workflow_id": wf, "bogus": 1},
        {"workflow_id": wf, "labels": ["no spaces"]},
    ):
        assert api.post("/api/executions", bad, as_="OPERATOR").status_code == 400, bad
    res = api.post("/api/executions", {"workflow_id": wf, "runner_id": 4242}, as_="OPERATOR")
    assert res.status_code == 404
    assert api.get("/api/executions", as_="OPERATOR").json["total"] == 0
    # license gone → 403 and nothing created
    from hub.models import License

    License.delete().execute()
    hub_app.hub.license.invalidate_cache()
    res = api.post("/api/executions", {"workflow_id": wf}, as_="OPERATOR")
    assert res.status_code == 403 and res.json["code"] == "license_required"
    assert api.get("/api/executions", as_="OPERATOR").json["total"] == 0


def test_create_duplicate_and_idempotency_key(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    first = api.post("/api/executions", {"workflow_id": wf, "inputs": {"a": 1}}, as_="OPERATOR")
    assert first.status_code == 201 and first.json["duplicate"] is False
    assert first.json["status"] == "QUEUED" and first.json["version"] == 1
    assert first.json["workflow_name"] == "Invoices"
    again = api.post("/api/executions", {"workflow_id": wf, "inputs": {"a": 1}}, as_="OPERATOR")
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert again.json["id"] == first.json["id"]
    other = api.post("/api/executions", {"workflow_id": wf, "inputs": {"a": 2}}, as_="OPERATOR")
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    h = {"Idempotency-Key": "job-42"}
    k1 = api.post(
        "/api/executions", {"workflow_id": wf, "inputs": {"k": 1}}, as_="OPERATOR", headers=h
    )
    assert k1.status_code == 201
    # once it is no longer QUEUED, the same key still answers the same execution
    api.post(f"/api/executions/{k1.json['id']}/stop", as_="OPERATOR")
    k2 = api.post(
        "/api/executions", {"workflow_id": wf, "inputs": {"k": 1}}, as_="OPERATOR", headers=h
    )
    assert k2.status_code == 200 and k2.json["id"] == k1.json["id"] and k2.json["duplicate"]
    assert api.get("/api/executions", as_="OPERATOR").json["total"] == 3


def test_full_lifecycle_with_logs_and_metrics(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api)
    ex = run(api, wf)
    payload = api.get("/api/runner/poll", token=token).json["execution"]
    attempt = payload["attempt"]
    assert _status(api, token, ex["id"], attempt, "RUNNING").json == {
        "status": "RUNNING",
        "stop": False,
    }
    assert (
        _status(api, token, ex["id"], attempt, "RUNNING").status_code == 200
    )  # retried: idempotent
    assert _logs(api, token, ex["id"], attempt, [_line(0), _line(1)]).status_code == 200
    assert _logs(api, token, ex["id"], attempt, [_line(1, "dup"), _line(2)]).status_code == 200
    assert api.get("/api/runner/poll", token=token).status_code == 204  # RUNNING: nothing new
    metrics = {"cpu_avg": 12.5, "cpu_peak": 40.0, "mem_avg_mb": 100.0, "mem_peak_mb": 150.0}
    res = _status(
        api, token, ex["id"], attempt, "COMPLETED", metrics=metrics, logs=[_line(3, "done")]
    )
    assert res.status_code == 200, res.text
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "COMPLETED" and got["metrics"] == metrics
    assert got["started_at"] and got["finished_at"] and "pending_reason" not in got
    logs = api.get(f"/api/executions/{ex['id']}/logs", as_="OPERATOR").json["items"]
    assert [x["seq"] for x in logs] == [0, 1, 2, 3]
    assert logs[1]["message"] == "step"  # the duplicate seq was ignored
    after = api.get(f"/api/executions/{ex['id']}/logs", as_="OPERATOR", params={"after": 1}).json
    assert [x["seq"] for x in after["items"]] == [2, 3]
    r = api.get(f"/api/runners/{runner['id']}", as_="OPERATOR").json
    assert r["status"] == "ONLINE" and r["current_execution_id"] is None
    # terminal: further writes are refused; a retried COMPLETED is idempotent
    assert _status(api, token, ex["id"], attempt, "COMPLETED").status_code == 200
    assert _status(api, token, ex["id"], attempt, "FAILED").status_code == 409
    assert _logs(api, token, ex["id"], attempt, [_line(9)]).status_code == 409
    listed = api.get("/api/executions", as_="OPERATOR", params={"status": "COMPLETED"}).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == ex["id"]
    assert api.get("/api/executions", as_="OPERATOR", params={"status": "NOPE"}).status_code == 400


def test_failure_carries_reason_and_node(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    _, token = online_runner(api)
    ex = run(api, wf)
    attempt = api.get("/api/runner/poll", token=token).json["execution"]["attempt"]
    assert _status(api, token, ex["id"], attempt, "COMPLETED").status_code == 409  # skipped RUNNING
    _status(api, token, ex["id"], attempt, "RUNNING")
    assert _status(api, token, ex["id"], attempt, "FAILED", reason="bogus").status_code == 400
    res = _status(api, token, ex["id"], attempt, "FAILED", error="boom", failed_node="hello")
    assert res.status_code == 200
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert (got["status"], got["reason"], got["failed_node"], got["error"]) == (
        "FAILED",
        "activity_error",
        "hello",
        "boom",
    )


def test_runner_a_cannot_touch_runner_b_execution(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api, graph=GRAPH_WITH_CREDENTIAL)
    res = api.post(
        "/api/credentials",
        {"name": "erp-login", "username": "bot", "secret": "s3cr3t-pw"},
        as_="DEVELOPER",
    )
    assert res.status_code == 201 and "secret" not in res.json
    a, token_a = online_runner(api, "a")
    ex = run(api, wf, runner_id=a["id"])
    b, token_b = online_runner(api, "b")
    assert api.get("/api/runner/poll", token=token_b).status_code == 204  # interactive: A only
    payload = api.get("/api/runner/poll", token=token_a).json["execution"]
    assert payload["credentials"] == {
        "erp-login": {"username": "bot", "secret": "s3cr3t-pw", "allowed_hosts": []}
    }
    attempt = payload["attempt"]
    res = _status(api, token_b, ex["id"], attempt, "RUNNING")
    assert res.status_code == 403 and res.json["code"] == "not_your_execution"
    assert _logs(api, token_b, ex["id"], attempt, [_line(0)]).status_code == 403
    assert api.get("/api/runner/poll", token=token_b).status_code == 204
    assert "s3cr3t-pw" not in api.get("/api/credentials", as_="DEVELOPER").text
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "ASSIGNED" and got["runner_id"] == a["id"]
    assert api.get(f"/api/executions/{ex['id']}/logs", as_="OPERATOR").json["items"] == []
    reads = api.get("/api/audit", as_="ADMIN", params={"action": "credential.read"}).json
    assert reads["total"] >= 1 and "s3cr3t-pw" not in str(reads)


def test_stale_attempt_is_refused_after_requeue(licensed_api: Api, hub_app) -> None:
    """The zombie: silent past the threshold, its work re-queued and taken by another runner."""
    api = licensed_api
    hub = hub_app.hub
    wf = published_workflow(api)
    zombie, token_z = online_runner(api, "zombie")
    ex = run(api, wf)
    first = api.get("/api/runner/poll", token=token_z).json["execution"]
    assert first["attempt"] == 1
    later = utcnow() + dt.timedelta(
        seconds=hub.settings.runner_offline_after + hub.settings.assigned_grace + 5
    )
    stats = hub.dispatcher.sweep(
        later, offline_after=120, queue_timeout=10_000, assigned_grace=300, running_grace=300
    )
    assert stats["offline"] == 1 and stats["requeued"] == 1
    again = hub.dispatcher.sweep(
        later, offline_after=120, queue_timeout=10_000, assigned_grace=300, running_grace=300
    )
    assert again["requeued"] == 0  # never twice
    fresh, token_f = online_runner(api, "fresh")
    second = api.get("/api/runner/poll", token=token_f).json["execution"]
    assert second["id"] == ex["id"] and second["attempt"] == 2
    # the zombie comes back: heartbeat fine (ONLINE, nothing to stop), its writes refused
    hb = api.post("/api/runner/heartbeat", {"cpu": 1}, token=token_z)
    assert hb.status_code == 200 and hb.json["status"] == "ONLINE"
    res = _status(api, token_z, ex["id"], 1, "RUNNING")
    assert res.status_code in (403, 409)
    res = _status(api, token_z, ex["id"], 1, "COMPLETED")
    assert res.status_code in (403, 409)
    assert _status(api, token_f, ex["id"], 1, "RUNNING").status_code == 409  # stale attempt
    assert _status(api, token_f, ex["id"], 2, "RUNNING").status_code == 200
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert (
        got["status"] == "RUNNING" and got["runner_id"] == fresh["id"] and got["requeue_count"] == 1
    )


def test_running_runner_lost_then_late_writes_refused(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    hub = hub_app.hub
    wf = published_workflow(api)
    _, token = online_runner(api, "lost")
    ex = run(api, wf)
    attempt = api.get("/api/runner/poll", token=token).json["execution"]["attempt"]
    assert _status(api, token, ex["id"], attempt, "RUNNING").status_code == 200
    later = utcnow() + dt.timedelta(seconds=1000)
    stats = hub.dispatcher.sweep(
        later, offline_after=120, queue_timeout=10_000, assigned_grace=300, running_grace=300
    )
    assert stats["failed"] == 1
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "FAILED" and got["reason"] == "runner_lost"
    assert _status(api, token, ex["id"], attempt, "COMPLETED").status_code == 409
    assert _logs(api, token, ex["id"], attempt, [_line(5)]).status_code == 409
    assert api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json["status"] == "FAILED"


def test_assigned_requeued_once_then_failed_and_queue_timeout(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    hub = hub_app.hub
    wf = published_workflow(api)
    ex = run(api, wf)
    _, t1 = online_runner(api, "one")
    api.get("/api/runner/poll", token=t1)
    kw = dict(offline_after=120, queue_timeout=10_000, assigned_grace=300, running_grace=300)
    t = utcnow() + dt.timedelta(seconds=1000)
    assert hub.dispatcher.sweep(t, **kw)["requeued"] == 1
    _, t2 = online_runner(api, "two")
    assert api.get("/api/runner/poll", token=t2).json["execution"]["attempt"] == 2
    t = utcnow() + dt.timedelta(seconds=2000)
    assert hub.dispatcher.sweep(t, **kw)["failed"] == 1
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "FAILED" and got["reason"] == "runner_lost"
    waiting = run(api, wf, inputs={"x": 1})
    t = utcnow() + dt.timedelta(seconds=20_000)
    assert hub.dispatcher.sweep(t, **kw)["queue_timeout"] == 1
    got = api.get(f"/api/executions/{waiting['id']}", as_="OPERATOR").json
    assert got["status"] == "FAILED" and got["reason"] == "queue_timeout"


def test_stop_queued_and_running(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    queued = run(api, wf, inputs={"q": 1})
    res = api.post(f"/api/executions/{queued['id']}/stop", as_="OPERATOR")
    assert res.status_code == 200 and res.json["status"] == "STOPPED"
    assert api.post(f"/api/executions/{queued['id']}/stop", as_="OPERATOR").status_code == 409
    runner, token = online_runner(api)
    ex = run(api, wf, inputs={"q": 2})
    attempt = api.get("/api/runner/poll", token=token).json["execution"]["attempt"]
    _status(api, token, ex["id"], attempt, "RUNNING")
    res = api.post(f"/api/executions/{ex['id']}/stop", as_="OPERATOR")
    assert res.status_code == 200 and res.json["status"] == "RUNNING" and res.json["stop_requested"]
    hb = api.post("/api/runner/heartbeat", {"cpu": 1}, token=token).json
    assert hb["stop"] == [ex["id"]] and hb["status"] == "BUSY"
    assert _logs(api, token, ex["id"], attempt, [_line(0)]).json["stop"] is True
    assert _status(api, token, ex["id"], attempt, "STOPPED").status_code == 200
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "STOPPED" and got["reason"] == "stopped"
    assert api.post("/api/runner/heartbeat", {"cpu": 1}, token=token).json == {
        "status": "ONLINE",
        "stop": [],
    }
    # stop while ASSIGNED (not started): the next poll ends it without running it
    ex2 = run(api, wf, inputs={"q": 3})
    assert api.get("/api/runner/poll", token=token).json["execution"]["id"] == ex2["id"]
    api.post(f"/api/executions/{ex2['id']}/stop", as_="OPERATOR")
    assert api.get("/api/runner/poll", token=token).status_code == 204
    assert api.get(f"/api/executions/{ex2['id']}", as_="OPERATOR").json["status"] == "STOPPED"
    assert api.post("/api/executions/999/stop", as_="OPERATOR").status_code == 404


def test_priority_then_age_and_labels(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    low = run(api, wf, inputs={"n": 1}, priority=0)
    high = run(api, wf, inputs={"n": 2}, priority=5)
    labelled = run(api, wf, inputs={"n": 3}, priority=9, labels=["sap"])
    _, token = online_runner(api, "plain")
    assert api.get("/api/runner/poll", token=token).json["execution"]["id"] == high["id"]
    _, sap_token = online_runner(api, "sap-box", ["sap", "win"])
    assert api.get("/api/runner/poll", token=sap_token).json["execution"]["id"] == labelled["id"]
    got = api.get(f"/api/executions/{low['id']}", as_="OPERATOR").json
    assert got["status"] == "QUEUED" and got["pending_reason"]["code"] == "all_busy"


def test_pending_reason_explains_the_wait(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    ex = run(api, wf)
    reason = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json["pending_reason"]
    assert reason["code"] == "no_runners"
    r = register_runner(api, "sleepy")
    reason = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json["pending_reason"]
    assert reason["code"] == "no_runner_online" and reason["runners"]["OFFLINE"] == 1
    lab = run(api, wf, labels=["gpu"])
    reason = api.get(f"/api/executions/{lab['id']}", as_="OPERATOR").json["pending_reason"]
    assert reason["code"] == "no_runner_with_labels" and "gpu" in reason["message"]
    inter = run(api, wf, runner_id=r["id"])
    reason = api.get(f"/api/executions/{inter['id']}", as_="OPERATOR").json["pending_reason"]
    assert reason["code"] == "target_runner_offline"
    runner_login(api, r)
    api.post("/api/runner/heartbeat", {"cpu": 1}, token=runner_login(api, r))
    reason = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json["pending_reason"]
    assert reason["code"] in ("dispatching", "queued_behind")


def test_queue_assigns_on_create_when_runner_free(licensed_api: Api) -> None:
    """Without background work the queue assigns directly at creation (embedded default)."""
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api, "ready")
    ex = run(api, wf)
    assert ex["status"] in ("QUEUED", "ASSIGNED")
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "ASSIGNED" and got["runner_id"] == runner["id"]


def test_roles(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    assert (
        api.post("/api/credentials", {"name": "x", "secret": "y"}, as_="OPERATOR").status_code
        == 403
    )
    assert api.get("/api/credentials", as_="OPERATOR").status_code == 403
    assert api.post("/api/executions", {"workflow_id": wf}).status_code == 401
    assert api.get("/api/analytics/summary", as_="OPERATOR").status_code == 200


def test_license_expiry_blocks_new_runs(licensed_api: Api, private_key, hub_app) -> None:
    api = licensed_api
    wf = published_workflow(api)
    old = make_license(
        private_key, days=1, now=utcnow().replace(tzinfo=dt.UTC) - dt.timedelta(days=40)
    )
    res = api.post("/api/license", body=old, as_="ADMIN")
    assert res.status_code == 400  # an expired license is refused, the active one stays
    assert run(api, wf)["status"] in ("QUEUED", "ASSIGNED")


def test_retried_report_with_logs_is_a_duplicate(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    _, token = online_runner(api)
    ex = run(api, wf)
    attempt = api.get("/api/runner/poll", token=token).json["execution"]["attempt"]
    assert _status(api, token, ex["id"], attempt, "RUNNING", logs=[_line(0)]).status_code == 200
    for _ in range(2):  # the second is the runner's retry after a lost answer
        res = _status(api, token, ex["id"], attempt, "COMPLETED", logs=[_line(1, "done")])
        assert res.status_code == 200, res.text
    assert res.json == {"status": "COMPLETED", "stop": False, "duplicate": True}
    logs = api.get(f"/api/executions/{ex['id']}/logs", as_="OPERATOR").json["items"]
    assert [(x["seq"], x["message"]) for x in logs] == [(0, "step"), (1, "done")]
    # a report with logs that is not allowed stores nothing
    res = _status(api, token, ex["id"], attempt, "RUNNING", logs=[_line(2, "late")])
    assert res.status_code == 409
    assert len(api.get(f"/api/executions/{ex['id']}/logs", as_="OPERATOR").json["items"]) == 2


def test_a_dispatch_retry_never_lets_later_or_lower_work_jump_the_queue(
    licensed_api: Api, hub_app: Any
) -> None:
    """The queue retries "assign execution N" per execution; when a runner comes online, the
    retry of a newer or lower-priority execution may fire first. The free runner still takes
    the head of the queue (priority, then age), as a poll would."""
    api = licensed_api
    wf = published_workflow(api)
    first = run(api, wf, inputs={"n": 1})
    urgent = run(api, wf, inputs={"n": 2}, priority=5)
    later = run(api, wf, inputs={"n": 3})
    runner, token = online_runner(api, "fresh")  # online, but it has not polled yet
    dispatcher = hub_app.hub.dispatcher
    with hub_app.hub.database.connection_context():
        assert dispatcher.assign(later["id"]) == runner["id"]  # the retry of the newest one
    got = {
        e: api.get(f"/api/executions/{e}", as_="OPERATOR").json
        for e in (first["id"], urgent["id"], later["id"])
    }
    assert (
        got[urgent["id"]]["status"] == "ASSIGNED" and got[urgent["id"]]["runner_id"] == runner["id"]
    )
    assert got[first["id"]]["status"] == got[later["id"]]["status"] == "QUEUED"
    # the queue's task sees its own execution still waiting, so it keeps retrying it
    from hub.queue import assign_once

    assert assign_once(dispatcher, later["id"]) == "waiting"  # the only runner is busy now
    payload = api.get("/api/runner/poll", token=token).json["execution"]
    assert payload["id"] == urgent["id"]


def test_a_poll_that_loses_its_claim_to_the_queue_still_answers_with_the_work(
    licensed_api: Api, hub_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll reads "idle, work waiting", then claims. If the queue hands this very runner
    the execution in between, the claim finds the runner busy; the poll must answer with
    that execution, not 204 (the runner would wait for its next poll). The interleaving is
    forced by running the queue's assignment inside the claim; the database is real."""
    api = licensed_api
    wf = published_workflow(api)
    ex = run(api, wf)
    runner, token = online_runner(api, "racer")
    dispatcher = hub_app.hub.dispatcher
    real_claim, real_claim_pg = dispatcher.claim_for_runner, dispatcher._claim_pg

    def queue_first(claim: Any) -> Any:
        def claimed(runner_id: int, *args: Any) -> Any:
            assert dispatcher.assign(ex["id"]) == runner_id  # the queue's task wins the race
            return claim(runner_id, *args)  # and the claim finds the runner BUSY

        return claimed

    monkeypatch.setattr(dispatcher, "claim_for_runner", queue_first(real_claim))
    monkeypatch.setattr(dispatcher, "_claim_pg", queue_first(real_claim_pg))
    res = api.get("/api/runner/poll", token=token)
    assert res.status_code == 200, res.text
    assert res.json["execution"]["id"] == ex["id"]
