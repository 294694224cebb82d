"""Rough edges a newcomer met in the first hour (issue: first-hour polish), hub side.

* webhook and manual triggers record ``last_run`` like schedules do;
* the ``pending_reason`` of an execution that is being handed to the only, idle runner says so
  instead of "all 1 suitable runner(s) are BUSY".
"""

from __future__ import annotations

from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import Api


def _trigger(api: Api, **body) -> dict:
    res = api.post("/api/triggers", body, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    return res.json


def test_webhook_and_manual_runs_record_last_run(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    hook = _trigger(api, workflow_id=wf, type="WEBHOOK")
    manual = _trigger(api, workflow_id=wf, type="MANUAL")
    assert hook["last_run"] is None and manual["last_run"] is None
    assert api.post(f"/api/triggers/webhook/{hook['webhook_id']}", {"a": 1}).status_code == 202
    res = api.post(f"/api/triggers/{manual['id']}/run", {}, as_="OPERATOR")
    assert res.status_code in (200, 201, 202), res.text
    for t in (hook, manual):
        got = api.get(f"/api/triggers/{t['id']}", as_="OPERATOR").json
        assert got["last_run"] and got["last_run"].endswith("Z"), got
    # a refused call (disabled trigger) records nothing
    res = api.patch(f"/api/triggers/{hook['id']}", {"enabled": False}, as_="DEVELOPER")
    assert res.status_code == 200, res.text
    before = api.get(f"/api/triggers/{hook['id']}", as_="OPERATOR").json["last_run"]
    assert api.post(f"/api/triggers/webhook/{hook['webhook_id']}", {}).status_code == 400
    assert api.get(f"/api/triggers/{hook['id']}", as_="OPERATOR").json["last_run"] == before


def test_pending_reason_of_work_being_handed_to_the_idle_runner(licensed_api: Api) -> None:
    from hub import db
    from hub.models import Execution

    api = licensed_api
    wf = published_workflow(api)
    runner, _ = online_runner(api)
    ex = run(api, wf)  # assigned at once to the only runner, which is idle
    hub = api.client.app.hub
    with db.connection():
        stale = Execution.get_by_id(ex["id"])
        stale.status = "QUEUED"  # what a reader that looked a moment earlier holds
        reason = hub.executions.pending_reason(stale)
    assert reason["code"] == "dispatching", reason
    assert "BUSY" not in reason["message"] and runner["name"] in reason["message"]
    if ex["status"] == "QUEUED":
        assert ex["pending_reason"]["code"] == "dispatching", ex


def test_versions_name_their_author_by_email(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    items = api.get(f"/api/workflows/{wf}/versions", as_="OPERATOR").json["items"]
    assert items and all(v["created_by_email"] == "dev@acme.test" for v in items), items
    one = api.get(f"/api/workflows/{wf}/versions/1", as_="OPERATOR").json
    assert one["created_by_email"] == "dev@acme.test"
