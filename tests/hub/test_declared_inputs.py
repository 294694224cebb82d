"""Issue 17 item 4: only declared inputs can be set from outside, and credentials carry the
hosts they may be sent to. Every test runs on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from typing import Any

from hub.migrations import m0008_declared_inputs_allowed_hosts as m0008
from hub.models import AuditLog, Credential, Execution, Trigger, Workflow
from tests.hub.test_runners_support import online_runner, published_workflow
from tests.support import Api

ERP = "http://erp.acme.local/api"

#: the attack: an http.request whose URL comes from a variable, carrying the credential
LEAKY: dict[str, Any] = {
    "format": 1,
    "variables": {"url": ERP},
    "nodes": [
        {
            "id": "call",
            "type": "http.request",
            "params": {
                "url": "{url}",
                "headers": {"X-Api-Key": "{{credential}}"},
                "credential": "erp-key",
            },
        }
    ],
    "edges": [],
}

DECLARED: dict[str, Any] = {
    "format": 1,
    "variables": {},
    "inputs": [
        {"name": "order", "type": "integer", "required": True, "description": "order number"},
        {"name": "region", "type": "string", "default": "EU"},
    ],
    "nodes": [{"id": "log", "type": "log.write", "params": {"message": "{order} {region}"}}],
    "edges": [],
}


def start(api: Api, wf: int, inputs: Any, as_: str = "OPERATOR") -> Any:
    return api.post("/api/executions", {"workflow_id": wf, "inputs": inputs}, as_=as_)


def webhook(api: Api, wf: int, **trigger: Any) -> str:
    res = api.post(
        "/api/triggers", {"workflow_id": wf, "type": "WEBHOOK", **trigger}, as_="DEVELOPER"
    )
    assert res.status_code == 201, res.text
    return f"/api/triggers/webhook/{res.json['webhook_id']}"


def test_an_operator_cannot_point_the_credential_elsewhere(licensed_api: Api) -> None:
    """The attack from the issue: overriding the URL variable is a 400 naming it, by every
    door (execution request, manual trigger run, trigger's saved inputs, webhook body)."""
    api = licensed_api
    wf = published_workflow(api, "Leaky", LEAKY)
    evil = {"url": "http://127.0.0.1:9/steal"}
    for as_ in ("OPERATOR", "DEVELOPER", "ADMIN"):
        res = start(api, wf, evil, as_=as_)
        assert res.status_code == 400, res.text
        assert res.json["code"] == "invalid_inputs" and res.json["undeclared"] == ["url"]
        assert "'url'" in res.json["description"] and "Leaky" in res.json["description"]
    path = webhook(api, wf)
    res = api.post(path, evil)
    assert res.status_code == 400 and res.json["undeclared"] == ["url"], res.text
    res = api.post("/api/triggers", {"workflow_id": wf, "type": "MANUAL", "inputs": evil},
                   as_="DEVELOPER")  # fmt: skip
    assert res.status_code == 400 and res.json["undeclared"] == ["url"], res.text
    manual = api.post("/api/triggers", {"workflow_id": wf, "type": "MANUAL"}, as_="DEVELOPER")
    res = api.post(f"/api/triggers/{manual.json['id']}/run", {"inputs": evil}, as_="OPERATOR")
    assert res.status_code == 400 and res.json["undeclared"] == ["url"], res.text
    assert Execution.select().count() == 0  # bad input changes nothing
    # without inputs it runs, with the graph's own URL
    assert start(api, wf, {}).status_code == 201


def test_declared_inputs_are_checked_by_name_type_and_required(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api, "Orders", DECLARED)
    ok = start(api, wf, {"order": 7})
    assert ok.status_code == 201 and ok.json["inputs"] == {"order": 7}, ok.text
    assert start(api, wf, {"order": 8, "region": "US"}).status_code == 201
    res = start(api, wf, {"region": "US"})
    assert res.status_code == 400 and res.json["missing"] == ["order"], res.text
    res = start(api, wf, {"order": "7"})
    assert res.status_code == 400, res.text
    assert res.json["wrong_type"] == [
        {"name": "order", "expected": "a whole number", "given": "text"}
    ]
    res = start(api, wf, {"order": 9, "url": "x", "__proto__": 1})
    assert res.status_code == 400 and res.json["undeclared"] == ["__proto__", "url"]
    assert Execution.select().count() == 2


def test_versions_and_workflows_show_what_they_accept(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api, "Orders", DECLARED)
    version = api.get(f"/api/workflows/{wf}/versions/1", as_="OPERATOR").json
    assert version["inputs_declared"] is True
    assert version["inputs"] == [
        {"name": "order", "type": "integer", "required": True, "description": "order number",
         "legacy": False},
        {"name": "region", "type": "string", "required": False, "description": "",
         "legacy": False, "default": "EU"},
    ]  # fmt: skip
    listed = api.get(f"/api/workflows/{wf}/versions", as_="OPERATOR").json["items"][0]
    assert listed["inputs"] == version["inputs"]
    assert api.get(f"/api/workflows/{wf}", as_="OPERATOR").json["legacy_inputs"] is None
    leaky = published_workflow(api, "Leaky", LEAKY)
    version = api.get(f"/api/workflows/{leaky}/versions/1", as_="OPERATOR").json
    assert version["inputs_declared"] is False and version["inputs"] == []
    spec = api.get("/api/openapi.json").json["components"]["schemas"]
    assert "inputs" in spec["VersionOut"]["properties"]
    assert "legacy_inputs" in spec["WorkflowOut"]["properties"]


def test_triggers_keep_to_the_declaration(licensed_api: Api, hub_app: Any) -> None:
    api = licensed_api
    wf = published_workflow(api, "Orders", DECLARED)
    res = api.post("/api/triggers", {"workflow_id": wf, "type": "SCHEDULE", "cron": "0 * * * *",
                   "inputs": {"order": "seven"}}, as_="DEVELOPER")  # fmt: skip
    assert res.status_code == 400 and res.json["wrong_type"][0]["name"] == "order", res.text
    # saved inputs may leave a required one to the run
    manual = api.post("/api/triggers", {"workflow_id": wf, "type": "MANUAL",
                      "inputs": {"region": "US"}}, as_="DEVELOPER")  # fmt: skip
    assert manual.status_code == 201, manual.text
    run = f"/api/triggers/{manual.json['id']}/run"
    res = api.post(run, {}, as_="OPERATOR")
    assert res.status_code == 400 and res.json["missing"] == ["order"], res.text
    res = api.post(run, {"inputs": {"order": 3}}, as_="OPERATOR")
    assert res.status_code == 201, res.text
    assert Execution.get_by_id(res.json["execution_id"]).inputs == {"region": "US", "order": 3}
    res = api.patch(f"/api/triggers/{manual.json['id']}", {"inputs": {"url": "x"}},
                    as_="DEVELOPER")  # fmt: skip
    assert res.status_code == 400 and res.json["undeclared"] == ["url"]
    assert Trigger.get_by_id(manual.json["id"]).inputs == {"region": "US"}
    path = webhook(api, wf)
    assert api.post(path, {"order": 5}).status_code == 202
    res = api.post(path, {"order": 5, "region": ["EU"]})
    assert res.status_code == 400 and res.json["wrong_type"][0]["name"] == "region"
    res = api.post(path, {})
    assert res.status_code == 400 and res.json["missing"] == ["order"]


def test_a_schedule_whose_inputs_are_no_longer_declared_says_why(
    licensed_api: Api, hub_app: Any
) -> None:
    api = licensed_api
    graph = {**DECLARED, "inputs": [{"name": "order", "type": "integer"}]}
    wf = published_workflow(api, "Orders", graph)
    svc = hub_app.hub.triggers
    t = svc.create(None, {"workflow_id": wf, "type": "SCHEDULE", "cron": "0 * * * *",
                          "inputs": {"order": 1}})  # fmt: skip
    narrower = {**DECLARED, "inputs": [{"name": "region", "type": "string"}]}
    res = api.post(f"/api/workflows/{wf}/versions", {"graph": narrower}, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    assert api.post(f"/api/workflows/{wf}/publish", {}, as_="DEVELOPER").status_code == 200
    from hub.services.scheduler import Scheduler

    row = Trigger.get_by_id(t.id)
    Scheduler(svc.fire_schedule, interval=5).tick(row.next_run)
    row = Trigger.get_by_id(t.id)
    assert row.last_error and "'order'" in row.last_error, row.last_error
    assert Execution.select().count() == 0


def test_the_upgrade_learns_what_old_workflows_were_given(licensed_api: Api, hub_app: Any) -> None:
    """Migration 0008 on a database with history: a graph without a declaration keeps
    accepting the names its triggers and executions passed, and nothing else."""
    api = licensed_api
    wf = published_workflow(api, "Old", LEAKY)
    quiet = published_workflow(api, "Quiet", LEAKY)
    # history from before the upgrade: executions and a trigger that passed inputs
    for inputs in ({"order": 1}, {"order": 2, "customer": "ACME"}, {}):
        Execution.create(workflow=wf, version=1, status="COMPLETED", inputs=inputs, trigger={})
    Execution.create(workflow=wf, version=1, status="FAILED", inputs={"x": "odd"}, trigger={})
    Trigger.create(workflow=wf, type="WEBHOOK", webhook_id="legacy-hook-0123456789",
                   inputs={"region": "EU"})  # fmt: skip
    m0008.up(hub_app.hub.database)
    assert Workflow.get_by_id(wf).legacy_inputs == ["customer", "order", "region", "x"]
    assert Workflow.get_by_id(quiet).legacy_inputs == []
    m0008.up(hub_app.hub.database)  # again: the same answer
    assert Workflow.get_by_id(wf).legacy_inputs == ["customer", "order", "region", "x"]

    assert api.get(f"/api/workflows/{wf}", as_="OPERATOR").json["legacy_inputs"] == [
        "customer", "order", "region", "x"
    ]  # fmt: skip
    version = api.get(f"/api/workflows/{wf}/versions/1", as_="OPERATOR").json
    assert version["inputs_declared"] is False
    assert [(i["name"], i["type"], i["legacy"]) for i in version["inputs"]] == [
        ("customer", "any", True), ("order", "any", True), ("region", "any", True),
        ("x", "any", True),
    ]  # fmt: skip
    assert start(api, wf, {"order": 3, "customer": "Globex"}).status_code == 201
    assert api.post("/api/triggers/webhook/legacy-hook-0123456789", {"order": 4}).status_code == 202
    res = start(api, wf, {"url": "http://127.0.0.1:9/"})
    assert res.status_code == 400 and res.json["undeclared"] == ["url"]
    res = start(api, quiet, {"order": 1})
    assert res.status_code == 400 and res.json["undeclared"] == ["order"]
    # a declaration in a new version replaces the learned names for that version
    declared = {**LEAKY, "variables": {}, "inputs": [{"name": "url", "type": "string"}]}
    assert api.post(f"/api/workflows/{wf}/versions", {"graph": declared},
                    as_="DEVELOPER").status_code == 201  # fmt: skip
    assert api.post(f"/api/workflows/{wf}/publish", {}, as_="DEVELOPER").status_code == 200
    res = start(api, wf, {"order": 5})
    assert res.status_code == 400 and res.json["undeclared"] == ["order"]


def test_credentials_carry_their_allowed_hosts(licensed_api: Api, hub_app: Any) -> None:
    api = licensed_api
    hosts = ["ERP.Acme.Local.", "*.Bücher.example:8443", "[FD00::7]", "10.0.0.7"]
    body = {"name": "erp-key", "secret": "k3y-that-must-not-leak", "allowed_hosts": hosts}
    res = api.post("/api/credentials", body, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    cid = res.json["id"]
    normalised = ["erp.acme.local", "*.xn--bcher-kva.example:8443", "[fd00::7]", "10.0.0.7"]
    assert res.json["allowed_hosts"] == normalised
    assert api.get(f"/api/credentials/{cid}", as_="DEVELOPER").json["allowed_hosts"] == normalised
    # delivered to the runner with the secret
    wf = published_workflow(api, "Leaky", LEAKY)
    _runner, token = online_runner(api)
    start(api, wf, {})
    payload = api.get("/api/runner/poll", token=token).json["execution"]
    assert payload["credentials"]["erp-key"]["allowed_hosts"] == normalised
    # bad patterns: 400 naming the pattern, nothing changed
    for bad in (["*"], ["*.local"], ["https://erp.acme.local/"], ["erp.acme.local:70000"],
                ["x"] * 51, [""]):  # fmt: skip
        res = api.patch(f"/api/credentials/{cid}", {"allowed_hosts": bad}, as_="DEVELOPER")
        assert res.status_code == 400, (bad, res.text)
        assert "k3y" not in res.text
    res = api.post("/api/credentials", {**body, "name": "b", "allowed_hosts": ["*.com"]},
                   as_="DEVELOPER")  # fmt: skip
    assert res.status_code == 400 and res.json["code"] == "invalid_allowed_hosts"
    assert "'*.com'" in res.json["description"]
    assert Credential.select().count() == 1
    assert Credential.get_by_id(cid).allowed_hosts == normalised
    # change, then clear ([] and null both mean: any host, as before)
    res = api.patch(f"/api/credentials/{cid}", {"allowed_hosts": ["erp.acme.local:443"]},
                    as_="DEVELOPER")  # fmt: skip
    assert res.status_code == 200 and res.json["allowed_hosts"] == ["erp.acme.local:443"]
    for empty in ([], None):
        res = api.patch(f"/api/credentials/{cid}", {"allowed_hosts": empty}, as_="DEVELOPER")
        assert res.status_code == 200 and res.json["allowed_hosts"] == []
    plain = api.post("/api/credentials", {"name": "plain", "secret": "x"}, as_="DEVELOPER")
    assert plain.json["allowed_hosts"] == []
    changes = [a.details for a in AuditLog.select().where(AuditLog.action == "credential.update")]
    assert {"changed": ["allowed_hosts"], "allowed_hosts": ["erp.acme.local:443"]} in changes
    spec = api.get("/api/openapi.json").json["components"]["schemas"]
    for name in ("CredentialCreate", "CredentialPatch", "CredentialOut"):
        assert "allowed_hosts" in spec[name]["properties"], name
