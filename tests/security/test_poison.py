"""Attack suite: no stored value can break a page (issue 17 item 3).

One anonymous webhook call with a lone surrogate (``{"x":"\\ud800"}``) was accepted, and every
list, page and runner claim that included the execution answered 500 from then on. Webhook
bodies are now parsed as strictly as every other body (400), storage refuses values that
cannot round-trip, and a value stored before the fix is shown with U+FFFD instead of failing.
SQLite and PostgreSQL, in-process.
"""

from __future__ import annotations

import pytest

from hub import errors
from hub.models import Execution, storable_json
from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import Api

POISON = (
    b'{"x":"\\ud800"}',
    b'{"x":"a\\udfffb"}',
    b'{"\\ud800":1}',
    b'{"x":NaN}',
    b'{"x":Infinity}',
    b'{"x":"\xff"}',
)


def _webhook(api: Api) -> str:
    wf = published_workflow(api)
    res = api.post("/api/triggers", {"workflow_id": wf, "type": "WEBHOOK"}, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    return f"/api/triggers/webhook/{res.json['webhook_id']}"


def test_webhook_bodies_that_cannot_round_trip_are_400(licensed_api: Api) -> None:
    api = licensed_api
    path = _webhook(api)
    for raw in POISON:
        res = api.post(path, body=raw, headers={"Content-Type": "application/json"})
        assert res.status_code == 400, (raw, res.text)
        assert res.json["code"] == "malformed_json"
    assert Execution.select().count() == 0
    ok = api.post(path, body=b'{"emoji":"\\ud83d\\ude00"}')  # a valid pair is fine
    assert ok.status_code == 202, ok.text
    assert Execution.get_by_id(ok.json["execution_id"]).inputs == {"emoji": "\U0001f600"}


@pytest.mark.parametrize(
    "path_body",
    [
        ("/api/executions", '{"workflow_id": 1, "inputs": {"x": "\\ud800"}}'),
        ("/api/triggers", '{"workflow_id": 1, "type": "MANUAL", "inputs": {"x": "\\udc00"}}'),
        ("/api/workflows", '{"name": "\\ud800", "graph": {}}'),
    ],
)
def test_api_bodies_with_lone_surrogates_are_400(licensed_api: Api, path_body) -> None:
    path, body = path_body
    published_workflow(licensed_api)
    res = licensed_api.post(path, body=body, as_="DEVELOPER")
    assert res.status_code == 400, res.text


def test_runner_reports_with_lone_surrogates_are_400(licensed_api: Api) -> None:
    api = licensed_api
    _, token = online_runner(api)
    exec_id = run(api, published_workflow(api))["id"]
    got = api.get("/api/runner/poll", token=token).json["execution"]
    base = f"/api/runner/executions/{exec_id}"
    for path, body in (
        (f"{base}/logs", '{"attempt": %d, "logs": [{"seq": 1, "message": "\\ud800"}]}'),
        (f"{base}/status", '{"attempt": %d, "status": "FAILED", "error": "\\udfff"}'),
        (f"{base}/status", '{"attempt": %d, "status": "FAILED", "failed_node": "\\ud800"}'),
    ):
        res = api.post(path, body=body % got["attempt"], token=token)
        assert res.status_code == 400, (path, res.text)
    assert api.get(f"/api/executions/{exec_id}", as_="ADMIN").json["status"] == "ASSIGNED"


def test_storage_refuses_what_cannot_round_trip() -> None:
    for bad in ({"x": "\ud800"}, {"\udc00": 1}, [float("nan")], {"x": [float("inf")]}):
        with pytest.raises(errors.ValidationFailed):
            storable_json(bad)
    assert storable_json({"ok": "\U0001f600"}) == '{"ok":"\\ud83d\\ude00"}'


def test_a_value_stored_before_the_fix_breaks_no_page(licensed_api: Api) -> None:
    """A row poisoned by an older hub (written here with raw SQL) still lists, shows and
    dispatches: the lone surrogate is shown as U+FFFD."""
    api = licensed_api
    _, token = online_runner(api)
    exec_id = run(api, published_workflow(api))["id"]
    database = api.client.app.hub.database
    mark = "%s" if "Postgres" in type(database).__name__ else "?"
    database.execute_sql(
        f"UPDATE executions SET inputs = {mark}, error = {mark} WHERE id = {mark}",
        ('{"x":"\\ud800"}', "boom", exec_id),
    )
    cookies = {"exekra_session": api.tokens["ADMIN"]}
    for path in ("/api/executions", f"/api/executions/{exec_id}"):
        res = api.get(path, as_="ADMIN")
        assert res.status_code == 200, (path, res.text)
        assert "\ufffd" in res.text
    for path in ("/executions", f"/executions/{exec_id}", "/"):
        page = api.client.simulate_get(path, cookies=cookies)
        assert page.status_code == 200, (path, page.status_code)
    got = api.get("/api/runner/poll", token=token)
    assert got.status_code == 200, got.text
    assert got.json["execution"]["id"] == exec_id
