"""``/api/triggers`` over HTTP (in-process Falcon client) on SQLite and PostgreSQL: CRUD with
roles and audit, validation with clear 400s, previews, manual runs, and webhooks (public, random
ids, HMAC signatures, body checks, size limit, not rate limited)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from hub.models import AuditLog, Execution, Trigger
from tests.support import Api, bootstrap

WORKFLOW_GRAPH: dict[str, Any] = {
    "format": 1,
    "variables": {},
    "inputs": [
        {"name": "customer", "type": "string", "default": "ACME"},
        *({"name": n} for n in ("a", "b", "invoice", "n", "order", "region", "source", "x")),
    ],
    "nodes": [{"id": "greet", "type": "log.write", "params": {"message": "hello {customer}"}}],
    "edges": [],
}
SECRET = "s3cret-key-for-hmac-0123456789"


def published_workflow(api: Api, name: str = "Orders", *, publish: bool = True) -> int:
    res = api.post(
        "/api/workflows",
        {"name": name, "description": "", "graph": WORKFLOW_GRAPH},
        as_="DEVELOPER",
    )
    assert res.status_code == 201, res.text
    wf_id = res.json["id"]
    if publish:
        res = api.post(f"/api/workflows/{wf_id}/publish", as_="DEVELOPER")
        assert res.status_code == 200, res.text
    return int(wf_id)


def create(api: Api, **body: Any) -> dict[str, Any]:
    res = api.post("/api/triggers", body, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    return dict(res.json)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def actions(action: str) -> list[AuditLog]:
    return list(AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id))


# ----------------------------------------------------------------------------- CRUD


def test_schedule_crud_with_next_run_and_audit(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(
        api,
        workflow_id=wf,
        type="schedule",
        name="weekday report",
        cron="0 9 * * 1-5",
        timezone="Europe/Berlin",
        inputs={"region": "EU"},
        priority=3,
    )
    assert t["type"] == "SCHEDULE" and t["timezone"] == "Europe/Berlin"
    assert t["misfire"] == "once" and t["enabled"] is True
    assert t["next_run"] is not None and t["next_run"].endswith("Z")
    assert t["url"] is None and t["webhook_id"] is None
    # every answer carries next_run
    got = api.get(f"/api/triggers/{t['id']}", as_="OPERATOR")
    assert got.status_code == 200 and got.json["next_run"] == t["next_run"]
    listed = api.get("/api/triggers", params={"workflow_id": wf}, as_="OPERATOR")
    assert listed.json["total"] == 1 and listed.json["items"][0]["next_run"] == t["next_run"]
    assert api.get("/api/triggers", params={"type": "WEBHOOK"}, as_="OPERATOR").json["total"] == 0
    assert api.get("/api/triggers", params={"enabled": "false"}, as_="OPERATOR").json["total"] == 0
    assert api.get("/api/triggers", params={"type": "NOPE"}, as_="OPERATOR").status_code == 400
    # a changed cron takes effect at once
    res = api.patch(f"/api/triggers/{t['id']}", {"cron": "*/5 * * * *"}, as_="DEVELOPER")
    assert res.status_code == 200 and res.json["cron"] == "*/5 * * * *"
    assert res.json["next_run"] != t["next_run"]
    assert res.json["next_run"][14:16] in {f"{m:02d}" for m in range(0, 60, 5)}
    # disabling stops it at once
    res = api.patch(f"/api/triggers/{t['id']}", {"enabled": False}, as_="DEVELOPER")
    assert res.json["next_run"] is None and Trigger.get_by_id(t["id"]).next_run is None
    res = api.delete(f"/api/triggers/{t['id']}", as_="DEVELOPER")
    assert res.status_code == 204
    assert api.get(f"/api/triggers/{t['id']}", as_="OPERATOR").status_code == 404
    assert [
        a.action for a in AuditLog.select().where(AuditLog.resource == f"trigger:{t['id']}")
    ] == [
        "trigger.create",
        "trigger.update",
        "trigger.update",
        "trigger.delete",
    ]
    first = actions("trigger.create")[0]
    assert first.user_email == "dev@acme.test" and first.details["cron"] == "0 9 * * 1-5"


def test_roles_read_operator_write_developer(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="MANUAL")
    assert api.get("/api/triggers", as_="OPERATOR").status_code == 200
    assert api.get("/api/triggers").status_code == 401
    body = {"workflow_id": wf, "type": "MANUAL"}
    assert api.post("/api/triggers", body, as_="OPERATOR").status_code == 403
    assert api.patch(f"/api/triggers/{t['id']}", {"name": "x"}, as_="OPERATOR").status_code == 403
    assert api.delete(f"/api/triggers/{t['id']}", as_="OPERATOR").status_code == 403
    assert Trigger.select().count() == 1 and Trigger.get_by_id(t["id"]).name == ""
    assert api.post(f"/api/triggers/{t['id']}/run", as_="OPERATOR").status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"type": "SCHEDULE", "cron": "0 25 * * *"}, "invalid_cron", "hour field '25'"),
        ({"type": "SCHEDULE", "cron": "* * *"}, "invalid_cron", "5 fields"),
        ({"type": "SCHEDULE"}, "invalid_cron", "needs a cron"),
        (
            {"type": "SCHEDULE", "cron": "0 9 * * *", "timezone": "Europe/Atlantis"},
            "invalid_timezone",
            "IANA",
        ),
        ({"type": "SCHEDULE", "cron": "0 9 * * *", "misfire": "storm"}, "invalid_misfire", "once"),
        ({"type": "HOURLY"}, "invalid_type", "MANUAL"),
        ({"type": "MANUAL", "cron": "0 9 * * *"}, "invalid_input", "only applies"),
        ({"type": "MANUAL", "webhook_secret": SECRET}, "invalid_input", "WEBHOOK"),
        ({"type": "WEBHOOK", "webhook_secret": "short"}, "invalid_secret", "16-200"),
        ({"type": "MANUAL", "priority": 5000}, "invalid_input", "priority"),
        ({"type": "MANUAL", "workflow_id": 999}, "workflow_not_found", "999"),
        ({"type": "MANUAL", "surprise": 1}, "unknown_field", "surprise"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(licensed_api: Api, body, code, fragment) -> None:
    api = licensed_api
    wf = published_workflow(api)
    res = api.post("/api/triggers", {"workflow_id": wf, **body}, as_="DEVELOPER")
    assert res.status_code == 400, res.text
    assert res.json["code"] == code and fragment in res.json["description"], res.json
    assert Trigger.select().count() == 0 and not actions("trigger.create")


def test_bad_patch_is_400_and_changes_nothing(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="SCHEDULE", cron="0 9 * * *")
    for body, code in (
        ({"cron": "0 9 * *"}, "invalid_cron"),
        ({"timezone": "Nowhere/Land"}, "invalid_timezone"),
        ({"misfire": "always"}, "invalid_misfire"),
        ({"type": "WEBHOOK"}, "unknown_field"),
    ):
        res = api.patch(f"/api/triggers/{t['id']}", body, as_="DEVELOPER")
        assert res.status_code == 400 and res.json["code"] == code, res.text
    again = api.get(f"/api/triggers/{t['id']}", as_="OPERATOR").json
    assert again["cron"] == "0 9 * * *" and again["next_run"] == t["next_run"]
    assert not actions("trigger.update")
    assert api.patch("/api/triggers/999", {"name": "x"}, as_="DEVELOPER").status_code == 404


# ----------------------------------------------------------------------------- preview


def test_preview_of_a_trigger_and_of_an_unsaved_cron(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="SCHEDULE", cron="30 2 * * *", timezone="Europe/Berlin")
    res = api.get(
        f"/api/triggers/{t['id']}/preview",
        params={"count": 3, "after": "2026-03-27T12:00:00Z"},
        as_="OPERATOR",
    )
    assert res.status_code == 200, res.text
    assert [i["local"] for i in res.json["items"]] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",  # 02:30 does not exist that night
        "2026-03-30T02:30:00+02:00",
    ]
    res = api.get(f"/api/triggers/{t['id']}/preview", as_="OPERATOR")
    assert len(res.json["items"]) == 5 and res.json["items"][0]["at"] == t["next_run"]
    live = api.get(
        "/api/triggers/preview",
        params={
            "cron": "0 9 * * 1-5",
            "timezone": "America/New_York",
            "count": 2,
            "after": "2026-11-01T00:00:00Z",
        },
        as_="OPERATOR",
    )
    assert live.status_code == 200, live.text
    assert [i["at"] for i in live.json["items"]] == [
        "2026-11-02T14:00:00.000Z",
        "2026-11-03T14:00:00.000Z",
    ]
    bad = api.get("/api/triggers/preview", params={"cron": "0 9 * * 9"}, as_="OPERATOR")
    assert bad.status_code == 400 and "day-of-week field '9'" in bad.json["description"]
    bad = api.get(
        "/api/triggers/preview", params={"cron": "* * * * *", "count": 1000}, as_="OPERATOR"
    )
    assert bad.status_code == 400
    manual = create(api, workflow_id=wf, type="MANUAL")
    res = api.get(f"/api/triggers/{manual['id']}/preview", as_="OPERATOR")
    assert res.status_code == 400 and res.json["code"] == "not_a_schedule"


# ----------------------------------------------------------------------------- manual runs


def test_manual_run_records_who_and_which_trigger(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(
        api, workflow_id=wf, type="MANUAL", name="month end", inputs={"a": 1, "b": 2}, priority=4
    )
    res = api.post(f"/api/triggers/{t['id']}/run", {"inputs": {"b": 3}}, as_="OPERATOR")
    assert res.status_code == 201, res.text
    ex = Execution.get_by_id(res.json["execution_id"])
    assert ex.trigger_id == t["id"] and ex.inputs == {"a": 1, "b": 3} and ex.priority == 4
    op = api.users["OPERATOR"]
    assert ex.trigger["type"] == "MANUAL" and ex.trigger["trigger_id"] == t["id"]
    assert ex.trigger["by"] == op["id"] and ex.trigger["by_email"] == "op@acme.test"
    assert ex.created_by == op["id"]
    assert actions("trigger.run")[0].details["execution_id"] == ex.id
    # the same request while the first is still QUEUED: the queue's duplicate detection
    again = api.post(f"/api/triggers/{t['id']}/run", {"inputs": {"b": 3}}, as_="OPERATOR")
    assert again.status_code == 200 and again.json == {"execution_id": ex.id, "duplicate": True}
    # disabled: refused; bad body: 400; unknown: 404
    api.patch(f"/api/triggers/{t['id']}", {"enabled": False}, as_="DEVELOPER")
    res = api.post(f"/api/triggers/{t['id']}/run", as_="OPERATOR")
    assert res.status_code == 409 and res.json["code"] == "trigger_disabled"
    api.patch(f"/api/triggers/{t['id']}", {"enabled": True}, as_="DEVELOPER")
    assert (
        api.post(f"/api/triggers/{t['id']}/run", {"inputs": [1]}, as_="OPERATOR").status_code == 400
    )
    assert api.post(f"/api/triggers/{t['id']}/run", body="{nope", as_="OPERATOR").status_code == 400
    assert api.post("/api/triggers/424242/run", as_="OPERATOR").status_code == 404
    assert Execution.select().count() == 1


def test_run_of_an_unpublished_workflow_is_409(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api, "Draft only", publish=False)
    t = create(api, workflow_id=wf, type="MANUAL")
    res = api.post(f"/api/triggers/{t['id']}/run", as_="OPERATOR")
    assert res.status_code == 409 and res.json["code"] == "not_published"
    assert Execution.select().count() == 0


# ----------------------------------------------------------------------------- webhooks


def test_webhook_without_secret_starts_the_workflow(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="WEBHOOK", name="from CRM", inputs={"source": "crm"})
    assert t["signed"] is False and len(t["webhook_id"]) >= 32
    assert t["url"].endswith(f"/api/triggers/webhook/{t['webhook_id']}")
    assert str(t["id"]) != t["webhook_id"]
    path = f"/api/triggers/webhook/{t['webhook_id']}"
    res = api.post(path, {"order": 42})  # no token: public
    assert res.status_code == 202, res.text
    ex = Execution.get_by_id(res.json["execution_id"])
    assert ex.inputs == {"source": "crm", "order": 42}
    assert ex.trigger["type"] == "WEBHOOK" and ex.trigger["trigger_id"] == t["id"]
    assert ex.trigger_id == t["id"] and ex.created_by is None
    # an empty body is an empty object
    res = api.post(path, body=b"")
    assert res.status_code == 202 and Execution.get_by_id(res.json["execution_id"]).inputs == {
        "source": "crm"
    }


def test_webhook_ids_are_random_and_ints_do_not_work(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    ids = {create(api, workflow_id=wf, type="WEBHOOK")["webhook_id"] for _ in range(5)}
    assert len(ids) == 5
    first = Trigger.select().order_by(Trigger.id).first()
    assert api.post(f"/api/triggers/webhook/{first.id}", {}).status_code == 404
    res = api.post(f"/api/triggers/webhook/{uuid.uuid4().hex}", {})
    assert res.status_code == 404 and res.json["code"] == "webhook_not_found"
    assert api.post("/api/triggers/webhook/" + "x" * 500, {}).status_code == 404
    manual = create(api, workflow_id=wf, type="MANUAL")
    assert api.post(f"/api/triggers/webhook/{manual['id']}", {}).status_code == 404
    assert Execution.select().count() == 0


def test_webhook_hmac_valid_invalid_missing(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="WEBHOOK", webhook_secret=SECRET)
    assert t["signed"] is True and "webhook_secret" not in t
    stored = Trigger.get_by_id(t["id"]).webhook_secret
    assert stored and SECRET not in stored  # sealed, not plain
    path = f"/api/triggers/webhook/{t['webhook_id']}"
    body = json.dumps({"invoice": "INV-7"}).encode()
    hdr = {"Content-Type": "application/json"}
    missing = api.post(path, body=body, headers=hdr)
    assert missing.status_code == 401 and missing.json["code"] == "signature_required"
    wrong = api.post(
        path, body=body, headers={**hdr, "X-Exekra-Signature": sign(body, "other-secret-0123456")}
    )
    assert wrong.status_code == 401 and wrong.json["code"] == "bad_signature"
    tampered = api.post(path, body=body + b" ", headers={**hdr, "X-Exekra-Signature": sign(body)})
    assert tampered.status_code == 401
    assert Execution.select().count() == 0
    ok = api.post(path, body=body, headers={**hdr, "X-Exekra-Signature": sign(body)})
    assert ok.status_code == 202, ok.text
    assert Execution.get_by_id(ok.json["execution_id"]).inputs == {"invoice": "INV-7"}
    # upper-case hex is the same signature
    body2 = b'{"invoice": "INV-8"}'
    ok2 = api.post(
        path,
        body=body2,
        headers={"X-Exekra-Signature": sign(body2).upper().replace("SHA256", "sha256")},
    )
    assert ok2.status_code == 202
    # removing the secret makes it accept unsigned calls again
    res = api.patch(f"/api/triggers/{t['id']}", {"webhook_secret": None}, as_="DEVELOPER")
    assert res.json["signed"] is False
    assert actions("trigger.update")[-1].details == {"webhook_secret": "removed"}
    assert api.post(path, {"invoice": "INV-9"}).status_code == 202


def test_webhook_rejects_bad_bodies_and_disabled_triggers(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="WEBHOOK")
    path = f"/api/triggers/webhook/{t['webhook_id']}"
    for body, code in (
        (b"not json", "malformed_json"),
        (b"[1, 2]", "invalid_inputs"),
        (b'"text"', "invalid_inputs"),
        (b"\xff\xfe", "malformed_json"),
    ):
        res = api.post(path, body=body, headers={"Content-Type": "application/json"})
        assert res.status_code == 400 and res.json["code"] == code, (body, res.text)
    api.patch(f"/api/triggers/{t['id']}", {"enabled": False}, as_="DEVELOPER")
    res = api.post(path, {"a": 1})
    assert res.status_code == 400 and res.json["code"] == "trigger_disabled"
    assert Execution.select().count() == 0


def test_webhook_idempotency_key_makes_retries_safe(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="WEBHOOK")
    path = f"/api/triggers/webhook/{t['webhook_id']}"
    first = api.post(path, {"n": 1}, headers={"Idempotency-Key": "evt-1"})
    Execution.update(status="COMPLETED").execute()  # even after it ran
    again = api.post(path, {"n": 1}, headers={"Idempotency-Key": "evt-1"})
    assert first.status_code == again.status_code == 202
    assert again.json == {"execution_id": first.json["execution_id"], "duplicate": True}
    assert Execution.select().count() == 1


def test_webhook_unpublished_workflow_is_409(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api, "Draft", publish=False)
    t = create(api, workflow_id=wf, type="WEBHOOK")
    res = api.post(f"/api/triggers/webhook/{t['webhook_id']}", {})
    assert res.status_code == 409 and res.json["code"] == "not_published"


@pytest.fixture
def small_hub(tmp_path: Path, db_url: str, vendor_keys: tuple[Path, Path]) -> Any:
    """A hub with a 1 KiB body limit (the per-client rate limit is lowered in the test)."""
    from hub.app import create_app
    from hub.config import load_settings

    settings = load_settings(
        str(tmp_path / "small"),
        database_url=db_url,
        license_public_key=str(vendor_keys[1]),
        bcrypt_rounds=4,
        rate_limit_per_minute=1000,
        max_body_bytes=1024,
    )
    app = create_app(settings)
    api = bootstrap(Api(falcon.testing.TestClient(app)), vendor_keys[0])
    yield app, api
    database = app.hub.database
    if hasattr(database, "close_all"):
        database.close_all()


def test_webhooks_skip_the_rate_limit_but_not_the_body_limit(small_hub: Any) -> None:
    app, api = small_hub
    wf = published_workflow(api)
    t = create(api, workflow_id=wf, type="WEBHOOK")
    path = f"/api/triggers/webhook/{t['webhook_id']}"
    app.hub.limiter.limit = 3  # now only 3 requests/minute per client
    ip = "203.0.113.7"
    codes = [api.post(path, {"n": i}, remote_addr=ip).status_code for i in range(12)]
    assert codes == [202] * 12  # never 429
    # the limiter is on for this client, and the webhook calls used none of its budget
    gets = [api.get("/api/triggers", as_="OPERATOR", remote_addr=ip).status_code for _ in range(4)]
    assert gets == [200, 200, 200, 429]
    big = json.dumps({"blob": "x" * 2000})
    res = api.post(path, body=big, headers={"Content-Type": "application/json"}, remote_addr=ip)
    assert res.status_code == 413 and res.json["code"] == "payload_too_large"
    assert Execution.select().count() == 12
