"""A final report with ``next: true`` hands the runner its next execution in the same answer.

Runs on SQLite and PostgreSQL (the ``licensed_api`` fixture), through the REST API.
"""

from __future__ import annotations

from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import Api


def _report(api: Api, token: str, ex_id: int, attempt: int, status: str, **kw):
    return api.post(
        f"/api/runner/executions/{ex_id}/status",
        {"attempt": attempt, "status": status, **kw},
        token=token,
    )


def _get(api: Api, path: str) -> dict:
    res = api.get(path, as_="OPERATOR")
    assert res.status_code == 200, res.text
    return res.json


def test_final_report_hands_over_the_next_execution(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api)
    first = run(api, wf, inputs={"name": "one"})
    second = run(api, wf, inputs={"name": "two"}, priority=5)
    third = run(api, wf, inputs={"name": "three"})
    got = api.get("/api/runner/poll", token=token).json["execution"]
    assert got["id"] == first["id"]  # assigned as it was created (the runner was free)
    assert _report(api, token, first["id"], 1, "RUNNING", next=True).json == {
        "status": "RUNNING",
        "stop": False,
        "next": None,
    }  # only a final status hands anything over
    res = _report(api, token, first["id"], 1, "COMPLETED", next=True)
    assert res.status_code == 200, res.text
    nxt = res.json["next"]
    # the same payload a poll gives, for the best waiting one (priority 5 before the older one)
    assert nxt["id"] == second["id"] and nxt["attempt"] == 1
    assert nxt["inputs"] == {"name": "two"} and nxt["graph"]["nodes"][0]["id"] == "hello"
    assert _get(api, f"/api/executions/{first['id']}")["status"] == "COMPLETED"
    assert _get(api, f"/api/executions/{second['id']}")["status"] == "ASSIGNED"
    held = _get(api, f"/api/runners/{runner['id']}")
    assert held["status"] == "BUSY" and held["current_execution_id"] == second["id"]
    # the answer was lost? the next poll gives the same execution again
    assert api.get("/api/runner/poll", token=token).json["execution"]["id"] == second["id"]

    # a retried final report (the runner's outbox) is a duplicate and claims nothing more
    again = _report(api, token, first["id"], 1, "COMPLETED", next=True).json
    assert again["duplicate"] is True and again["next"] is None
    assert _get(api, f"/api/executions/{third['id']}")["status"] == "QUEUED"

    # FAILED and STOPPED free the runner too, and hand over the next one
    assert _report(api, token, second["id"], 1, "RUNNING").status_code == 200
    res = _report(api, token, second["id"], 1, "FAILED", error="boom", next=True)
    assert res.status_code == 200 and res.json["next"]["id"] == third["id"]
    assert _report(api, token, third["id"], 1, "RUNNING").status_code == 200

    # nothing waiting: next is null and the runner is ONLINE again
    res = _report(api, token, third["id"], 1, "COMPLETED", next=True)
    assert res.status_code == 200 and res.json["next"] is None
    idle = _get(api, f"/api/runners/{runner['id']}")
    assert idle["status"] == "ONLINE" and idle["current_execution_id"] is None
    assert api.get("/api/runner/poll", token=token).status_code == 204


def test_next_respects_labels_targets_and_refusals(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    a, token_a = online_runner(api, "a")
    b, token_b = online_runner(api, "b", labels=["sap"])
    mine = run(api, wf, runner_id=a["id"])  # interactive: runner A only
    got = api.get("/api/runner/poll", token=token_a).json["execution"]
    assert got["id"] == mine["id"]
    assert _report(api, token_a, mine["id"], 1, "RUNNING").status_code == 200
    for_b = run(api, wf, runner_id=b["id"])  # interactive for B: never handed to A
    labelled = run(api, wf, labels=["sap"])  # A lacks the label
    # the queue may already have given B its own interactive run; either way not A's business
    res = _report(api, token_a, mine["id"], 1, "COMPLETED", next=True)
    assert res.status_code == 200 and res.json["next"] is None
    for ex in (for_b, labelled):
        assert _get(api, f"/api/executions/{ex['id']}")["runner_id"] in (None, b["id"])


def test_a_refused_report_claims_nothing(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    held = {}
    for name in ("a", "b"):  # two busy runners
        runner, token = online_runner(api, name)
        ex = run(api, wf)
        assert api.get("/api/runner/poll", token=token).json["execution"]["id"] == ex["id"]
        assert _report(api, token, ex["id"], 1, "RUNNING").status_code == 200
        held[name] = (runner, token, ex)
    (a, token_a, ex), (_, token_b, _) = held["a"], held["b"]
    waiting = run(api, wf)  # nobody is free: it waits
    res = _report(api, token_a, ex["id"], 7, "COMPLETED", next=True)  # stale attempt
    assert res.status_code == 409 and "next" not in res.json
    res = _report(api, token_b, ex["id"], 1, "COMPLETED", next=True)  # not B's execution
    assert res.status_code == 403 and "next" not in res.json
    res = _report(api, token_a, ex["id"], 1, "QUEUED", next=True)  # not a runner's status
    assert res.status_code == 400
    assert _get(api, f"/api/executions/{ex['id']}")["status"] == "RUNNING"
    assert _get(api, f"/api/executions/{waiting['id']}")["status"] == "QUEUED"
    busy = _get(api, f"/api/runners/{a['id']}")
    assert busy["status"] == "BUSY" and busy["current_execution_id"] == ex["id"]
    # the right report takes it
    res = _report(api, token_a, ex["id"], 1, "COMPLETED", next=True)
    assert res.status_code == 200 and res.json["next"]["id"] == waiting["id"]


def test_next_with_a_revoked_token_is_refused(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api)
    ex = run(api, wf)
    assert api.get("/api/runner/poll", token=token).json["execution"]["id"] == ex["id"]
    assert _report(api, token, ex["id"], 1, "RUNNING").status_code == 200
    waiting = run(api, wf)
    res = api.post(f"/api/runners/{runner['id']}/regenerate-secret", {}, as_="ADMIN")
    assert res.status_code == 200, res.text
    res = _report(api, token, ex["id"], 1, "COMPLETED", next=True)
    assert res.status_code == 401 and res.json["code"] == "invalid_token"
    assert _get(api, f"/api/executions/{ex['id']}")["status"] == "RUNNING"  # nothing changed
    assert _get(api, f"/api/executions/{waiting['id']}")["status"] == "QUEUED"


def test_next_is_in_the_openapi_document(licensed_api: Api) -> None:
    doc = licensed_api.get("/api/openapi.json").json
    op = doc["paths"]["/api/runner/executions/{execution_id}/status"]["post"]
    assert "next" in op["description"]
    schemas = doc["components"]["schemas"]
    assert "next" in schemas["StatusReport"]["properties"]
    assert "next" in schemas["StatusOut"]["properties"]
