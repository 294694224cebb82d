"""Analytics: summary counts and per-workflow process performance."""

from __future__ import annotations

from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import Api


def _finish(api: Api, token: str, status: str, metrics: dict) -> None:
    payload = api.get("/api/runner/poll", token=token).json["execution"]
    for s in ("RUNNING", status):
        res = api.post(
            f"/api/runner/executions/{payload['id']}/status",
            {"attempt": payload["attempt"], "status": s, "metrics": metrics},
            token=token,
        )
        assert res.status_code == 200, res.text


def test_summary_and_process_performance(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    other = published_workflow(api, "Other")
    _, token = online_runner(api)
    for i, (status, cpu) in enumerate([("COMPLETED", 10.0), ("COMPLETED", 30.0), ("FAILED", 50.0)]):
        run(api, wf, inputs={"i": i})
        _finish(
            api,
            token,
            status,
            {"cpu_avg": cpu, "cpu_peak": cpu * 2, "mem_avg_mb": 100.0, "mem_peak_mb": 100.0 + i},
        )
    run(api, other, inputs={"q": 1})
    run(api, other, inputs={"q": 2})  # one is ASSIGNED to the idle runner, one QUEUED
    summary = api.get("/api/analytics/summary", as_="OPERATOR").json
    assert summary["executions"]["COMPLETED"] == 2 and summary["executions"]["FAILED"] == 1
    assert summary["executions"]["total"] == 5
    assert summary["runners"]["total"] == 1
    assert summary["success_rate"] == round(2 / 3, 4)
    assert len(summary["per_hour"]) == 24 and summary["per_hour"][-1]["total"] == 5
    perf = api.get("/api/analytics/process-performance", as_="OPERATOR").json
    assert perf["total"] == 1
    item = perf["items"][0]
    assert item["workflow_id"] == wf and item["runs"] == 3
    assert item["success_rate"] == round(2 / 3, 4)
    assert item["cpu_avg"] == 30.0 and item["cpu_peak"] == 100.0
    assert item["mem_peak_mb"] == 102.0 and item["duration_p50"] is not None
    one = api.get(
        "/api/analytics/process-performance", as_="OPERATOR", params={"workflow_id": other}
    ).json
    assert one["items"] == []
    assert api.get("/api/analytics/summary", as_="OPERATOR", params={"hours": 0}).status_code == 400
    assert api.get("/api/analytics/summary").status_code == 401
