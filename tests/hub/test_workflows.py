"""Workflows and versions over the API, on SQLite and PostgreSQL (``db_url`` parametrises).

Every rule of the spec's versioning section has a test here: each save is the next number; only
the latest version can be published and only while a draft; one published version; published
versions immutable and retained; rollback by restore + publish; invalid graphs refused with every
problem; delete archives a workflow that has executions; audited actions; roles.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest

from hub.models import AuditLog, Execution, Trigger, Workflow, WorkflowVersion


def graph(message: str = "hello {customer}", *, extra: bool = False) -> dict[str, Any]:
    g: dict[str, Any] = {
        "format": 1,
        "variables": {"customer": "ACME", "n": 1},
        "nodes": [
            {"id": "greet", "type": "log.write", "params": {"message": message}},
            {"id": "check", "type": "logic.if", "params": {"condition": "n > 0"}},
            {"id": "yes", "type": "log.write", "params": {"message": "positive"}},
            {"id": "no", "type": "variable.set", "params": {"name": "n", "value": 1}},
        ],
        "edges": [
            {"from": "check", "to": "no", "port": "false"},
            {"from": "greet", "to": "check"},
            {"from": "check", "to": "yes", "port": "true"},
        ],
    }
    if extra:
        g["nodes"].append({"id": "bye", "type": "log.write", "params": {"message": "bye"}})
        g["edges"].append({"from": "yes", "to": "bye"})
    return g


BAD_GRAPH: dict[str, Any] = {
    "format": 1,
    "nodes": [
        {"id": "a", "type": "no.such_activity", "params": {}},
        {"id": "b", "type": "log.write", "params": {}},
    ],
    "edges": [{"from": "a", "to": "ghost"}],
}


def create(api: Any, name: str = "Orders", g: Any = None, **kw: Any) -> dict[str, Any]:
    body = {"name": name, "description": kw.pop("description", "d"), **kw}
    if g is not None:
        body["graph"] = g
    res = api.post("/api/workflows", body, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    return res.json


def save(api: Any, wf_id: int, g: dict[str, Any], comment: str = "") -> dict[str, Any]:
    res = api.post(
        f"/api/workflows/{wf_id}/versions", {"graph": g, "comment": comment}, as_="DEVELOPER"
    )
    assert res.status_code == 201, res.text
    return res.json


def publish(api: Any, wf_id: int, body: Any = None) -> Any:
    if body is None:
        return api.post(f"/api/workflows/{wf_id}/publish", as_="DEVELOPER")
    return api.post(f"/api/workflows/{wf_id}/publish", body, as_="DEVELOPER")


def audit_actions(api: Any, action: str) -> list[dict[str, Any]]:
    res = api.get("/api/audit", params={"action": action}, as_="ADMIN")
    assert res.status_code == 200, res.text
    return res.json["items"]


# --------------------------------------------------------------------------- create, list, read


def test_create_list_read(licensed_api):
    api = licensed_api
    empty = create(api, "Empty")
    assert empty["latest_version"] is None and empty["published_version"] is None
    assert empty["has_draft"] is False and empty["archived"] is False
    wf = create(api, "Orders", graph(), comment="first")
    assert wf["latest_version"] == 1 and wf["published_version"] is None and wf["has_draft"]
    assert wf["created_by"] == api.users["DEVELOPER"]["id"]

    res = api.get("/api/workflows", as_="OPERATOR")
    assert res.status_code == 200
    assert res.json["total"] == 2
    assert [w["name"] for w in res.json["items"]] == ["Empty", "Orders"]
    assert set(res.json["items"][1]) >= {
        "id",
        "name",
        "description",
        "latest_version",
        "published_version",
    }

    res = api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR")
    assert res.status_code == 200 and res.json == wf
    v1 = api.get(f"/api/workflows/{wf['id']}/versions/1", as_="OPERATOR").json
    assert v1["status"] == "draft" and v1["comment"] == "first" and v1["latest"] is True
    # stored in canonical form: edges sorted by (from, port, to)
    assert [(e["from"], e.get("port")) for e in v1["graph"]["edges"]] == [
        ("check", "false"),
        ("check", "true"),
        ("greet", None),
    ]
    assert api.get("/api/workflows/9999", as_="OPERATOR").status_code == 404
    assert api.get(f"/api/workflows/{wf['id']}/versions/7", as_="OPERATOR").status_code == 404


def test_create_refuses_bad_input_and_changes_nothing(licensed_api):
    api = licensed_api
    create(api, "Orders")
    res = api.post("/api/workflows", {"name": "Orders"}, as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "name_taken"
    res = api.post("/api/workflows", {"name": "   "}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "invalid_input"
    res = api.post("/api/workflows", {"name": "X", "colour": "red"}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "unknown_field"
    res = api.post("/api/workflows", {"name": "Broken", "graph": BAD_GRAPH}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "invalid_graph"
    codes = {(p["code"], p["node_id"]) for p in res.json["problems"]}
    assert ("unknown_type", "a") in codes and ("missing_param", "b") in codes
    assert any(
        p["code"] == "dangling_edge" and p["edge"]["to"] == "ghost" for p in res.json["problems"]
    )
    res = api.post("/api/workflows", body="{not json", as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "malformed_json"
    names = [w["name"] for w in api.get("/api/workflows", as_="OPERATOR").json["items"]]
    assert names == ["Orders"]


def test_list_filters_search_and_pages(licensed_api):
    api = licensed_api
    a = create(api, "Invoices", graph(), description="monthly billing")
    create(api, "Orders", graph())
    create(api, "Payroll")
    assert publish(api, a["id"]).status_code == 200

    def names(**params: str) -> list[str]:
        res = api.get("/api/workflows", params=params, as_="OPERATOR")
        assert res.status_code == 200, res.text
        return [w["name"] for w in res.json["items"]]

    assert names(q="BILL") == ["Invoices"]  # description, case-insensitive
    assert names(q="roll") == ["Payroll"]
    assert names(published="true") == ["Invoices"]
    assert names(published="false") == ["Orders", "Payroll"]
    res = api.get("/api/workflows", params={"limit": "1", "offset": "1"}, as_="OPERATOR")
    assert [w["name"] for w in res.json["items"]] == ["Orders"] and res.json["total"] == 3
    assert api.get("/api/workflows", params={"limit": "0"}, as_="OPERATOR").status_code == 400
    assert api.get("/api/workflows", params={"sort": "x"}, as_="OPERATOR").status_code == 400


def test_patch_renames_and_refuses_taken_names(licensed_api):
    api = licensed_api
    a = create(api, "A")
    create(api, "B")
    res = api.patch(
        f"/api/workflows/{a['id']}", {"name": "A2", "description": "new"}, as_="DEVELOPER"
    )
    assert res.status_code == 200 and res.json["name"] == "A2" and res.json["description"] == "new"
    res = api.patch(f"/api/workflows/{a['id']}", {"name": "B"}, as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "name_taken"
    assert api.get(f"/api/workflows/{a['id']}", as_="OPERATOR").json["name"] == "A2"
    res = api.patch(f"/api/workflows/{a['id']}", {"latest_version": 5}, as_="DEVELOPER")
    assert res.status_code == 400
    assert api.patch("/api/workflows/999", {"name": "Z"}, as_="DEVELOPER").status_code == 404


# --------------------------------------------------------------------------- versions


def test_each_save_is_the_next_version_and_all_are_retained(licensed_api):
    api = licensed_api
    wf = create(api, "Orders", graph("v1"))
    v2 = save(api, wf["id"], graph("v2"), "second")
    v3 = save(api, wf["id"], graph("v3"))
    assert (v2["number"], v3["number"]) == (2, 3)
    assert v3["status"] == "draft" and v3["graph"]["nodes"][0]["params"]["message"] == "v3"
    res = api.get(f"/api/workflows/{wf['id']}/versions", as_="OPERATOR")
    assert res.status_code == 200 and res.json["total"] == 3
    items = res.json["items"]
    assert [v["number"] for v in items] == [3, 2, 1]  # newest first
    assert "graph" not in items[0] or items[0]["graph"] is None
    assert [v["latest"] for v in items] == [True, False, False]
    for n, msg in ((1, "v1"), (2, "v2"), (3, "v3")):
        got = api.get(f"/api/workflows/{wf['id']}/versions/{n}", as_="OPERATOR").json
        assert got["graph"]["nodes"][0]["params"]["message"] == msg
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["latest_version"] == 3


def test_invalid_graph_is_400_with_problems_and_saves_nothing(licensed_api):
    api = licensed_api
    wf = create(api, "Orders", graph())
    res = api.post(f"/api/workflows/{wf['id']}/versions", {"graph": BAD_GRAPH}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "invalid_graph"
    assert len(res.json["problems"]) >= 3
    assert all(
        {"code", "message", "node_id", "edge", "param"} <= set(p) for p in res.json["problems"]
    )
    res = api.post(f"/api/workflows/{wf['id']}/versions", {"graph": [1, 2]}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "invalid_graph"
    res = api.post(f"/api/workflows/{wf['id']}/versions", {"comment": "no graph"}, as_="DEVELOPER")
    assert res.status_code == 400
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["latest_version"] == 1
    assert api.get(f"/api/workflows/{wf['id']}/versions", as_="OPERATOR").json["total"] == 1
    res = api.post("/api/workflows/424242/versions", {"graph": graph()}, as_="DEVELOPER")
    assert res.status_code == 404


# --------------------------------------------------------------------------- publish


def test_publish_latest_draft_only_and_one_published_version(licensed_api):
    api = licensed_api
    wf = create(api, "Orders")
    res = publish(api, wf["id"])
    assert res.status_code == 409 and res.json["code"] == "no_versions"
    save(api, wf["id"], graph("v1"))
    save(api, wf["id"], graph("v2"))

    res = publish(api, wf["id"], {"version": 1})  # not the latest
    assert res.status_code == 409 and res.json["code"] == "not_latest"
    res = publish(api, wf["id"], {"version": 2})
    assert res.status_code == 200, res.text
    assert res.json["number"] == 2 and res.json["status"] == "published"
    assert res.json["published_by"] == api.users["DEVELOPER"]["id"] and res.json["published_at"]
    res = publish(api, wf["id"])
    assert res.status_code == 409 and res.json["code"] == "already_published"

    save(api, wf["id"], graph("v3"))
    detail = api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json
    assert (
        detail["published_version"] == 2 and detail["latest_version"] == 3 and detail["has_draft"]
    )
    res = publish(api, wf["id"])  # no body: the latest
    assert res.status_code == 200 and res.json["number"] == 3

    detail = api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json
    assert detail["published_version"] == 3 and not detail["has_draft"]
    statuses = {
        v["number"]: v["status"]
        for v in api.get(f"/api/workflows/{wf['id']}/versions", as_="OPERATOR").json["items"]
    }
    # exactly one published; the earlier published one is retained (retired), v1 stays a draft
    assert statuses == {3: "published", 2: "retired", 1: "draft"}
    v2 = api.get(f"/api/workflows/{wf['id']}/versions/2", as_="OPERATOR").json
    assert v2["published_at"] and v2["graph"]["nodes"][0]["params"]["message"] == "v2"

    assert publish(api, 31337).status_code == 404
    res = api.post(f"/api/workflows/{wf['id']}/publish", body="{oops", as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "malformed_json"
    res = publish(api, wf["id"], {"version": 0})
    assert res.status_code == 400
    res = publish(api, wf["id"], {"version": 3, "force": True})
    assert res.status_code == 400
    assert len(audit_actions(api, "workflow.publish")) == 2


def test_published_versions_are_immutable(licensed_api, hub_app):
    api = licensed_api
    wf = create(api, "Orders", graph("v1"))
    assert publish(api, wf["id"]).status_code == 200
    save(api, wf["id"], graph("v2"), "old draft")
    save(api, wf["id"], graph("v3"), "latest draft")

    base = f"/api/workflows/{wf['id']}/versions"
    res = api.patch(f"{base}/1", {"comment": "rewrite history"}, as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "immutable"
    res = api.patch(f"{base}/2", {"comment": "edit an old draft"}, as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "not_latest"
    res = api.patch(f"{base}/3", {"comment": "better words"}, as_="DEVELOPER")
    assert res.status_code == 200 and res.json["comment"] == "better words"
    assert api.patch(f"{base}/3", {"graph": graph()}, as_="DEVELOPER").status_code == 400
    assert api.get(f"{base}/1", as_="OPERATOR").json["comment"] == ""
    assert api.get(f"{base}/2", as_="OPERATOR").json["comment"] == "old draft"

    # the service refuses too (no HTTP path writes a version's graph at all)
    svc = hub_app.hub.workflows
    with hub_app.hub.database.connection_context():
        assert publish(api, wf["id"]).status_code == 200
        from hub import errors

        with pytest.raises(errors.IllegalTransition) as info:
            svc.update_version(None, wf["id"], 3, comment="after publishing")
        assert info.value.code == "immutable"
        v3 = WorkflowVersion.get(WorkflowVersion.workflow == wf["id"], WorkflowVersion.number == 3)
        assert v3.comment == "better words"


# --------------------------------------------------------------------------- rollback, diff


def test_restore_and_publish_is_a_rollback(licensed_api):
    api = licensed_api
    wf = create(api, "Orders", graph("good"))
    assert publish(api, wf["id"]).status_code == 200
    save(api, wf["id"], graph("broken", extra=True))
    assert publish(api, wf["id"]).status_code == 200

    res = api.post(f"/api/workflows/{wf['id']}/versions/1/restore", as_="DEVELOPER")
    assert res.status_code == 201, res.text
    assert res.json["number"] == 3 and res.json["status"] == "draft"
    assert res.json["comment"] == "restored from version 1"
    v1 = api.get(f"/api/workflows/{wf['id']}/versions/1", as_="OPERATOR").json
    assert res.json["graph"] == v1["graph"]
    # restoring does not change what runs until the draft is published
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["published_version"] == 2
    assert publish(api, wf["id"]).status_code == 200
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["published_version"] == 3

    res = api.post(f"/api/workflows/{wf['id']}/versions/9/restore", as_="DEVELOPER")
    assert res.status_code == 404
    assert api.get(f"/api/workflows/{wf['id']}/versions", as_="OPERATOR").json["total"] == 3
    entries = audit_actions(api, "workflow.restore")
    assert len(entries) == 1 and entries[0]["details"] == {"from_version": 1, "version": 3}
    assert entries[0]["user_id"] == api.users["DEVELOPER"]["id"]


def test_diff_between_versions(licensed_api):
    api = licensed_api
    wf = create(api, "Orders", graph("hello"))
    save(api, wf["id"], graph("hi there", extra=True))
    res = api.get(f"/api/workflows/{wf['id']}/versions/1/diff/2", as_="OPERATOR")
    assert res.status_code == 200, res.text
    body = res.json
    assert body["from"] == 1 and body["to"] == 2 and body["identical"] is False
    assert [n["id"] for n in body["diff"]["nodes"]["added"]] == ["bye"]
    changed = body["diff"]["nodes"]["changed"]
    assert changed[0]["id"] == "greet"
    assert changed[0]["params"]["changed"]["message"] == {"old": "hello", "new": "hi there"}
    assert body["diff"]["edges"]["added"] == [{"from": "yes", "to": "bye"}]
    assert "+ node 'bye' (log.write)" in body["lines"]
    assert "+ edge yes -> bye" in body["lines"]
    back = api.get(f"/api/workflows/{wf['id']}/versions/2/diff/1", as_="OPERATOR").json
    assert [n["id"] for n in back["diff"]["nodes"]["removed"]] == ["bye"]
    same = api.get(f"/api/workflows/{wf['id']}/versions/2/diff/2", as_="OPERATOR").json
    assert same["identical"] is True and same["lines"] == []
    assert (
        api.get(f"/api/workflows/{wf['id']}/versions/1/diff/5", as_="OPERATOR").status_code == 404
    )


# --------------------------------------------------------------------------- export, import


def test_export_is_canonical_and_imports_into_another_hub(licensed_api, tmp_path, vendor_keys):
    api = licensed_api
    wf = create(api, "Order intake", graph("published one"), description="reads orders")
    assert publish(api, wf["id"]).status_code == 200
    save(api, wf["id"], graph("draft one"))

    res = api.get(f"/api/workflows/{wf['id']}/export", as_="OPERATOR")
    assert res.status_code == 200
    assert 'filename="Order-intake.exekra.json"' in res.headers["content-disposition"]
    doc = json.loads(res.text)
    assert set(doc) == {"name", "description", "graph", "exported_from_version"}
    assert doc["exported_from_version"] == 1  # the published version by default
    assert doc["graph"]["nodes"][0]["params"]["message"] == "published one"
    assert res.text == json.dumps(doc, sort_keys=True, indent=2) + "\n"  # canonical text
    latest = api.get(f"/api/workflows/{wf['id']}/export", params={"version": "2"}, as_="OPERATOR")
    assert json.loads(latest.text)["exported_from_version"] == 2
    assert (
        api.get(
            f"/api/workflows/{wf['id']}/export", params={"version": "7"}, as_="OPERATOR"
        ).status_code
        == 404
    )
    # an edge order or key order change does not change the export
    shuffled = copy.deepcopy(graph("published one"))
    shuffled["edges"].reverse()
    other = create(api, "Shuffled", shuffled, description="reads orders")
    assert publish(api, other["id"]).status_code == 200
    again = api.get(f"/api/workflows/{other['id']}/export", as_="OPERATOR").text
    assert json.loads(again)["graph"] == doc["graph"]

    # another hub (its own database, license and users) accepts the document
    from falcon.testing import TestClient

    from hub.app import create_app
    from hub.config import load_settings
    from tests.support import Api, bootstrap

    settings = load_settings(
        str(tmp_path / "other"),
        database_url=f"sqlite:///{tmp_path / 'other.db'}",
        license_public_key=str(vendor_keys[1]),
        bcrypt_rounds=4,
        rate_limit_per_minute=100_000,
    )
    other_app = create_app(settings)
    try:
        target = bootstrap(Api(TestClient(other_app)), vendor_keys[0])
        res = target.post("/api/workflows/import", doc, as_="DEVELOPER")
        assert res.status_code == 201, res.text
        assert res.json["created"] is True
        assert res.json["workflow"]["name"] == "Order intake"
        assert res.json["workflow"]["description"] == "reads orders"
        assert res.json["version"]["number"] == 1 and res.json["version"]["status"] == "draft"
        assert res.json["version"]["graph"] == doc["graph"]
        imported = target.get(f"/api/workflows/{res.json['workflow']['id']}/export", as_="OPERATOR")
        assert imported.text == res_text_of(doc)
    finally:
        other_app.hub.database.close()
        # the source hub's database binding is process-wide: rebind it for the rest of the test
        from hub import db

        db.bind(api.client.app.hub.database)


def res_text_of(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def test_import_existing_name_adds_a_draft(licensed_api):
    api = licensed_api
    wf = create(api, "Orders", graph("v1"), description="original")
    assert publish(api, wf["id"]).status_code == 200
    doc = {
        "name": "Orders",
        "description": "from staging",
        "graph": graph("from staging"),
        "exported_from_version": 4,
    }
    res = api.post("/api/workflows/import", doc, as_="DEVELOPER")
    assert res.status_code == 200, res.text
    assert res.json["created"] is False and res.json["workflow"]["id"] == wf["id"]
    assert res.json["version"]["number"] == 2 and res.json["version"]["status"] == "draft"
    assert res.json["version"]["comment"] == "imported (exported from version 4)"
    detail = api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json
    # the published version keeps running until the imported draft is published
    assert detail["published_version"] == 1 and detail["latest_version"] == 2
    assert detail["description"] == "original"

    res = api.post("/api/workflows/import", {**doc, "graph": BAD_GRAPH}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "invalid_graph"
    res = api.post("/api/workflows/import", {"name": "Orders"}, as_="DEVELOPER")
    assert res.status_code == 400
    res = api.post("/api/workflows/import", {**doc, "extra": 1}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "unknown_field"
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["latest_version"] == 2

    res = api.post("/api/workflows/import", {**doc, "name": "Brand new"}, as_="DEVELOPER")
    assert res.status_code == 201 and res.json["created"] is True
    actions = audit_actions(api, "workflow.import")
    assert len(actions) == 2
    assert {a["details"]["created"] for a in actions} == {True, False}


def test_export_without_versions_is_409(licensed_api):
    api = licensed_api
    wf = create(api, "Empty")
    res = api.get(f"/api/workflows/{wf['id']}/export", as_="OPERATOR")
    assert res.status_code == 409 and res.json["code"] == "no_versions"


# --------------------------------------------------------------------------- delete / archive


def test_delete_without_executions_removes_everything(licensed_api, hub_app):
    api = licensed_api
    wf = create(api, "Orders", graph())
    save(api, wf["id"], graph("v2"))
    res = api.delete(f"/api/workflows/{wf['id']}", as_="DEVELOPER")
    assert res.status_code == 204
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").status_code == 404
    with hub_app.hub.database.connection_context():
        assert WorkflowVersion.select().where(WorkflowVersion.workflow == wf["id"]).count() == 0
    assert api.delete(f"/api/workflows/{wf['id']}", as_="DEVELOPER").status_code == 404
    entries = audit_actions(api, "workflow.delete")
    assert len(entries) == 1 and entries[0]["resource"] == f"workflow:{wf['id']}"


def test_delete_with_executions_archives_instead(licensed_api, hub_app):
    api = licensed_api
    wf = create(api, "Orders", graph())
    assert publish(api, wf["id"]).status_code == 200
    create(api, "Other")
    with hub_app.hub.database.connection_context():
        # executions are created by the executions service; a row is all this rule needs
        Execution.create(workflow=wf["id"], version=1, status="COMPLETED")
        Trigger.create(workflow=wf["id"], type="MANUAL", enabled=True)

    res = api.delete(f"/api/workflows/{wf['id']}", as_="DEVELOPER")
    assert res.status_code == 200, res.text
    assert res.json["archived"] is True and res.json["published_version"] == 1
    # history stays readable
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["archived"] is True
    assert api.get(f"/api/workflows/{wf['id']}/versions/1", as_="OPERATOR").status_code == 200
    # hidden from lists unless asked for
    listed = api.get("/api/workflows", as_="OPERATOR").json
    assert [w["name"] for w in listed["items"]] == ["Other"] and listed["total"] == 1
    listed = api.get("/api/workflows", params={"archived": "true"}, as_="OPERATOR").json
    assert [w["name"] for w in listed["items"]] == ["Orders", "Other"]
    # cannot be changed or run
    res = api.post(f"/api/workflows/{wf['id']}/versions", {"graph": graph()}, as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "archived"
    res = api.post(f"/api/workflows/{wf['id']}/versions/1/restore", as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "archived"
    res = api.post("/api/executions", {"workflow_id": wf["id"]}, as_="OPERATOR")
    assert res.status_code == 409 and res.json["code"] == "workflow_archived"
    with hub_app.hub.database.connection_context():
        assert Trigger.get(Trigger.workflow == wf["id"]).enabled is False
        assert Workflow.get_by_id(wf["id"]).latest_version == 1
    # deleting again keeps it archived
    assert api.delete(f"/api/workflows/{wf['id']}", as_="DEVELOPER").status_code == 200
    assert len(audit_actions(api, "workflow.archive")) == 2

    # brought back from the archive it can be saved and run again
    res = api.patch(f"/api/workflows/{wf['id']}", {"archived": False}, as_="DEVELOPER")
    assert res.status_code == 200 and res.json["archived"] is False
    assert len(audit_actions(api, "workflow.unarchive")) == 1
    res = api.post("/api/executions", {"workflow_id": wf["id"]}, as_="OPERATOR")
    assert res.status_code == 201, res.text
    assert res.json["version"] == 1


def test_running_needs_a_published_version(licensed_api):
    wf = create(licensed_api, "Orders", graph())
    res = licensed_api.post("/api/executions", {"workflow_id": wf["id"]}, as_="OPERATOR")
    assert res.status_code == 409 and res.json["code"] == "not_published"
    res = licensed_api.post("/api/executions", {"workflow_id": wf["id"] + 100}, as_="OPERATOR")
    assert res.status_code == 404 and res.json["code"] == "workflow_not_found"


# --------------------------------------------------------------------------- roles, catalog


def test_operator_reads_developer_writes(licensed_api):
    api = licensed_api
    wf = create(api, "Orders", graph())
    save(api, wf["id"], graph("v2"))
    base = f"/api/workflows/{wf['id']}"
    for path in (
        "/api/workflows",
        base,
        base + "/versions",
        base + "/versions/1",
        base + "/versions/1/diff/2",
        base + "/export",
        "/api/catalog",
    ):
        assert api.get(path, as_="OPERATOR").status_code == 200, path
    writes = [
        ("POST", "/api/workflows", {"name": "Nope"}),
        ("PATCH", base, {"name": "Nope"}),
        ("DELETE", base, None),
        ("POST", base + "/versions", {"graph": graph()}),
        ("PATCH", base + "/versions/2", {"comment": "x"}),
        ("POST", base + "/publish", None),
        ("POST", base + "/versions/1/restore", None),
        ("POST", "/api/workflows/import", {"name": "Nope", "graph": graph()}),
        ("POST", "/api/workflows/validate", {"graph": graph()}),
    ]
    for method, path, body in writes:
        res = api.request(method, path, body, as_="OPERATOR")
        assert res.status_code == 403, (method, path, res.status_code)
        assert api.request(method, path, body).status_code == 401
    detail = api.get(base, as_="OPERATOR").json
    assert detail["name"] == "Orders" and detail["latest_version"] == 2
    assert detail["published_version"] is None


def test_catalog_grouped_by_category(licensed_api):
    from workflows import CATALOG

    res = licensed_api.get("/api/catalog", as_="OPERATOR")
    assert res.status_code == 200
    body = res.json
    assert body["total"] == len(CATALOG)
    types = [a["type"] for c in body["categories"] for a in c["activities"]]
    assert sorted(types) == sorted(CATALOG)
    for cat in body["categories"]:
        assert cat["title"] and all(a["category"] == cat["name"] for a in cat["activities"])
    log_write = next(a for a in body["categories"] if a["name"] == "log")["activities"]
    spec = next(a for a in log_write if a["type"] == "log.write")
    message = next(p for p in spec["params"] if p["name"] == "message")
    assert message["required"] is True
    assert licensed_api.get("/api/catalog").status_code == 401


def test_validate_without_saving(licensed_api):
    api = licensed_api
    res = api.post("/api/workflows/validate", {"graph": graph()}, as_="DEVELOPER")
    assert res.status_code == 200 and res.json["valid"] is True and res.json["problems"] == []
    assert res.json["graph"]["edges"][0] == {"from": "check", "to": "no", "port": "false"}
    res = api.post("/api/workflows/validate", {"graph": BAD_GRAPH}, as_="DEVELOPER")
    assert res.status_code == 200 and res.json["valid"] is False and res.json["graph"] is None
    assert {p["code"] for p in res.json["problems"]} >= {"unknown_type", "dangling_edge"}
    assert api.post("/api/workflows/validate", {"grph": {}}, as_="DEVELOPER").status_code == 400
    assert api.get("/api/workflows", as_="OPERATOR").json["total"] == 0


# --------------------------------------------------------------------------- concurrency


def _race(api: Any, hub_app: Any, n: int, call: Any) -> list[Any]:
    """Run ``call(i)`` in ``n`` threads released together; each thread uses its own database
    connection (PostgreSQL: a separate pooled connection; SQLite: its own handle)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    database = hub_app.hub.database

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call(i)
        finally:
            if not database.is_closed():
                database.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not t.is_alive() for t in threads)
    return results


def test_two_developers_publishing_at_once_exactly_one_wins(licensed_api, hub_app):
    api = licensed_api
    for round_ in range(4):
        wf = create(api, f"Race {round_}", graph())
        results = _race(api, hub_app, 2, lambda i, wf_id=wf["id"]: publish(api, wf_id))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json["code"] == "already_published"
        detail = api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json
        assert detail["published_version"] == 1
        entries = [
            e
            for e in audit_actions(api, "workflow.publish")
            if e["resource"] == f"workflow:{wf['id']}"
        ]
        assert len(entries) == 1


def test_concurrent_saves_never_share_a_number(licensed_api, hub_app):
    api = licensed_api
    wf = create(api, "Busy", graph())
    n = 6
    results = _race(
        api,
        hub_app,
        n,
        lambda i: api.post(
            f"/api/workflows/{wf['id']}/versions", {"graph": graph(f"writer {i}")}, as_="DEVELOPER"
        ),
    )
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    numbers = sorted(r.json["number"] for r in results)
    assert numbers == list(range(2, n + 2))
    # each number holds the graph its writer sent
    for r in results:
        got = api.get(f"/api/workflows/{wf['id']}/versions/{r.json['number']}", as_="OPERATOR")
        assert got.json["graph"] == r.json["graph"]
    assert api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json["latest_version"] == n + 1


def test_publish_racing_a_save_never_publishes_an_older_version(licensed_api, hub_app):
    """A save and a publish at once: either the publish took v1 before the save (and v2 is a
    draft) or it took v2 — never is v1 published while v2 is the latest and 'published'."""
    api = licensed_api
    for round_ in range(3):
        wf = create(api, f"Mixed {round_}", graph())

        def call(i: int, wf_id: int = wf["id"]) -> Any:
            if i == 0:
                return publish(api, wf_id)
            return api.post(
                f"/api/workflows/{wf_id}/versions", {"graph": graph("new")}, as_="DEVELOPER"
            )

        pub, saved = _race(api, hub_app, 2, call)
        assert saved.status_code == 201
        detail = api.get(f"/api/workflows/{wf['id']}", as_="OPERATOR").json
        assert detail["latest_version"] == 2
        if pub.status_code == 200:
            assert detail["published_version"] == pub.json["number"]
        else:
            assert pub.status_code == 409 and detail["published_version"] is None
        versions = api.get(f"/api/workflows/{wf['id']}/versions", as_="OPERATOR").json["items"]
        assert sum(v["status"] == "published" for v in versions) == (
            1 if pub.status_code == 200 else 0
        )


def test_audit_rows_of_every_administrative_action(licensed_api, hub_app):
    api = licensed_api
    wf = create(api, "Audited", graph())
    assert publish(api, wf["id"]).status_code == 200
    with hub_app.hub.database.connection_context():
        actions = [
            a.action
            for a in AuditLog.select()
            .where(AuditLog.resource == f"workflow:{wf['id']}")
            .order_by(AuditLog.id)
        ]
        assert actions == ["workflow.create", "workflow.publish"]
        row = AuditLog.get(AuditLog.action == "workflow.publish")
        assert row.user_email == "dev@acme.test" and row.ip
        assert row.details == {"name": "Audited", "version": 1, "previous": None}


def test_every_example_saves_publishes_and_round_trips_export_import(licensed_api):
    from workflows import examples

    api = licensed_api
    assert examples.names()
    for name in examples.names():
        g = examples.load(name)
        wf = create(api, name, g)
        assert publish(api, wf["id"]).status_code == 200, name
        stored = api.get(f"/api/workflows/{wf['id']}/versions/1", as_="OPERATOR").json["graph"]
        assert stored == json.loads(examples.text(name)), name  # examples are stored canonically
        exported = api.get(f"/api/workflows/{wf['id']}/export", as_="OPERATOR")
        res = api.post("/api/workflows/import", json.loads(exported.text), as_="DEVELOPER")
        assert res.status_code == 200 and res.json["version"]["number"] == 2, name
        diff = api.get(f"/api/workflows/{wf['id']}/versions/1/diff/2", as_="OPERATOR").json
        assert diff["identical"] is True, name


def test_database_refuses_to_rewrite_a_published_version(licensed_api, hub_app):
    """Migration 0003: even code that bypasses the service cannot change a published version."""
    import peewee

    api = licensed_api
    wf = create(api, "Orders", graph("v1"))
    assert publish(api, wf["id"]).status_code == 200
    save(api, wf["id"], graph("v2"))
    database = hub_app.hub.database
    with database.connection_context():
        where = WorkflowVersion.workflow == wf["id"]
        for change in ({"graph": graph("rewritten")}, {"comment": "x"}, {"published_at": None}):
            with pytest.raises(peewee.IntegrityError), database.atomic():
                WorkflowVersion.update(**change).where(
                    where & (WorkflowVersion.number == 1)
                ).execute()
        # drafts stay writable (the service decides what may change there)
        assert (
            WorkflowVersion.update(comment="ok")
            .where(where & (WorkflowVersion.number == 2))
            .execute()
            == 1
        )
    v1 = api.get(f"/api/workflows/{wf['id']}/versions/1", as_="OPERATOR").json
    assert v1["graph"]["nodes"][0]["params"]["message"] == "v1" and v1["published_at"]
    # deleting a workflow without executions still removes its published versions
    assert api.delete(f"/api/workflows/{wf['id']}", as_="DEVELOPER").status_code == 204


def test_concurrent_imports_of_a_new_name_make_one_workflow(licensed_api, hub_app):
    api = licensed_api
    doc = {
        "name": "Imported twice",
        "description": "",
        "graph": graph(),
        "exported_from_version": 1,
    }
    results = _race(
        api, hub_app, 2, lambda i: api.post("/api/workflows/import", doc, as_="DEVELOPER")
    )
    assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
    assert len({r.json["workflow"]["id"] for r in results}) == 1
    assert sorted(r.json["version"]["number"] for r in results) == [1, 2]
    listed = api.get("/api/workflows", params={"q": "Imported twice"}, as_="OPERATOR").json
    assert listed["total"] == 1 and listed["items"][0]["latest_version"] == 2


def test_concurrent_creates_of_one_name_one_wins(licensed_api, hub_app):
    api = licensed_api
    body = {"name": "Same", "graph": graph()}
    results = _race(api, hub_app, 2, lambda i: api.post("/api/workflows", body, as_="DEVELOPER"))
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert next(r for r in results if r.status_code == 409).json["code"] == "name_taken"
    assert api.get("/api/workflows", as_="OPERATOR").json["total"] == 1


def test_an_optional_body_is_refused_like_every_other_body(licensed_api):
    wf = create(licensed_api, "Orders", graph())
    url = f"/api/workflows/{wf['id']}/publish"
    res = licensed_api.post(url, {"versoin": 1}, as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "unknown_field", res.json
    res = licensed_api.request("POST", url, body=b"{", as_="DEVELOPER")
    assert res.status_code == 400 and res.json["code"] == "malformed_json", res.json
    assert licensed_api.post(url, as_="DEVELOPER").status_code == 200  # no body: the latest
