"""Execution artifacts and selector repairs through the REST API (SQLite and PostgreSQL).

Runner uploads (limits, fencing, bad names), user reads and downloads (roles, headers), the
retention job, deletion with the execution, and repairs turned into a draft.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from hub.models import Execution, ExecutionArtifact, utcnow
from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import Api

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LIMIT = 4096
BODY_LIMIT = 1024

#: a workflow with a node whose ``value`` param stands in for a browser ``target`` (the browser
#: activities come with another branch; applying repairs is generic over the param's name)
GRAPH: dict[str, Any] = {
    "format": 1,
    "variables": {},
    "nodes": [
        {"id": "fill", "type": "variable.set", "params": {"name": "t", "value": "#email-123"}},
        {
            "id": "submit",
            "type": "variable.set",
            "params": {
                "name": "s",
                "value": {
                    "selector": "button.go-77",
                    "fallbacks": ["text=Go"],
                    "frame_path": ["iframe#checkout"],
                    "fingerprint": {"tag": "button", "text": "Go", "attributes": {}, "index": 0},
                },
            },
        },
        {"id": "done", "type": "log.write", "params": {"message": "ok"}},
    ],
    "edges": [{"from": "fill", "to": "submit"}, {"from": "submit", "to": "done"}],
}


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read by load_settings when the hub_settings fixture builds the hub's settings."""
    monkeypatch.setenv("EXEKRA_ARTIFACT_MAX_BYTES", str(LIMIT))
    monkeypatch.setenv("EXEKRA_MAX_BODY_BYTES", str(BODY_LIMIT))


def running(api: Api, name: str = "r1", graph: dict | None = None) -> tuple[dict, str, int]:
    """A RUNNING execution held by a fresh runner: ``(execution, runner token, attempt)``."""
    wf = published_workflow(api, f"wf-{name}", graph or GRAPH)
    _, token = online_runner(api, name)
    ex = run(api, wf)
    payload = api.get("/api/runner/poll", token=token).json["execution"]
    assert payload["id"] == ex["id"]
    res = api.post(
        f"/api/runner/executions/{ex['id']}/status",
        {"attempt": payload["attempt"], "status": "RUNNING"},
        token=token,
    )
    assert res.status_code == 200, res.text
    return ex, token, payload["attempt"]


def upload(
    api: Api,
    token: str,
    execution_id: int,
    attempt: int,
    data: bytes,
    *,
    name: str = "shot.png",
    kind: str = "screenshot",
    content_type: str = "image/png",
    node_id: str | None = "fill",
) -> Any:
    params: dict[str, Any] = {"attempt": attempt, "name": name, "kind": kind}
    if node_id:
        params["node_id"] = node_id
    return api.request(
        "POST",
        f"/api/runner/executions/{execution_id}/artifacts",
        token=token,
        body=data,
        params=params,
        headers={"Content-Type": content_type},
    )


def stored_files(hub_app) -> list[Path]:  # type: ignore[no-untyped-def]
    root = hub_app.hub.settings.data_path / "artifacts"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_list_download_and_roles(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    big = os.urandom(3000)  # above max_body_bytes, below artifact_max_bytes
    res = upload(api, token, ex["id"], attempt, big, name="rapport été.png")
    assert res.status_code == 201, res.text
    shot = res.json
    assert shot["name"] == "rapport été.png" and shot["size"] == 3000
    assert shot["kind"] == "screenshot" and shot["node_id"] == "fill"
    assert shot["execution_id"] == ex["id"] and shot["content_type"] == "image/png"
    html = upload(
        api,
        token,
        ex["id"],
        attempt,
        b"<script>alert(1)</script>",
        name="page.html",
        kind="html",
        content_type="text/html; charset=utf-8",
    )
    assert html.status_code == 201, html.text
    # a JSON body above max_body_bytes is still refused elsewhere
    res = api.post(
        f"/api/runner/executions/{ex['id']}/logs",
        {"attempt": attempt, "logs": [{"seq": 0, "message": "x" * 2000}]},
        token=token,
    )
    assert res.status_code == 413

    # the bytes are files under artifacts/<execution>/, named by a token, not by the upload
    files = stored_files(hub_app)
    assert len(files) == 2 and all(f.parent.name == str(ex["id"]) for f in files)
    assert big in [f.read_bytes() for f in files]
    assert not any("rapport" in f.name or f.name.startswith(".tmp") for f in files)

    listed = api.get(f"/api/executions/{ex['id']}/artifacts", as_="OPERATOR")
    assert listed.status_code == 200
    assert [a["name"] for a in listed.json["items"]] == ["rapport été.png", "page.html"]
    detail = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert [a["id"] for a in detail["artifacts"]] == [shot["id"], html.json["id"]]
    assert detail["selector_repairs"] == []

    got = api.get(f"/api/executions/{ex['id']}/artifacts/{shot['id']}", as_="OPERATOR")
    assert got.status_code == 200 and got.content == big
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    disposition = got.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;")
        and "filename*=UTF-8''rapport%20%C3%A9t%C3%A9.png" in disposition
    )
    # an HTML snapshot of an untrusted page is never served as HTML
    page = api.get(f"/api/executions/{ex['id']}/artifacts/{html.json['id']}", as_="OPERATOR")
    assert page.status_code == 200 and page.content == b"<script>alert(1)</script>"
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in page.headers["content-security-policy"]

    # not signed in: nothing; another execution's id: 404; a runner token cannot read
    assert api.get(f"/api/executions/{ex['id']}/artifacts/{shot['id']}").status_code == 401
    assert api.get(f"/api/executions/{ex['id']}/artifacts/9999", as_="OPERATOR").status_code == 404
    assert (
        api.get(f"/api/executions/9999/artifacts/{shot['id']}", as_="OPERATOR").status_code == 404
    )
    assert api.get("/api/executions/9999/artifacts", as_="OPERATOR").status_code == 404
    assert api.get(f"/api/executions/{ex['id']}/artifacts", token=token).status_code == 401


def test_size_limit_and_bad_names_change_nothing(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    res = upload(api, token, ex["id"], attempt, b"x" * (LIMIT + 1))
    assert res.status_code == 413 and res.json["code"] == "artifact_too_large"
    assert "artifact_max_bytes" in res.json["description"]
    assert upload(api, token, ex["id"], attempt, b"x" * LIMIT).status_code == 201
    for name in (
        "../../etc/passwd",
        "a/b.png",
        "a\\b.png",
        "",
        ".hidden",
        "..",
        "x" * 201,
        "a\x00b",
        "tab\there",
    ):
        res = upload(api, token, ex["id"], attempt, PNG, name=name)
        assert res.status_code == 400, (name, res.text)
    res = upload(api, token, ex["id"], attempt, PNG, kind="executable")
    assert res.status_code == 400 and res.json["code"] == "invalid_kind"
    res = api.request(
        "POST",
        f"/api/runner/executions/{ex['id']}/artifacts",
        token=token,
        body=PNG,
        params={"name": "a.png"},  # no attempt
    )
    assert res.status_code == 400
    # only the one good upload exists, with its row; nothing escaped the folder
    assert len(stored_files(hub_app)) == 1
    assert ExecutionArtifact.select().count() == 1
    assert not (hub_app.hub.settings.data_path / "etc").exists()
    # a bad content type is stored as binary, never as given
    res = upload(api, token, ex["id"], attempt, PNG, name="odd.bin", content_type="text/html<x>")
    assert res.status_code == 201 and res.json["content_type"] == "application/octet-stream"


def test_other_runner_stale_attempt_and_finished_are_refused(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    _, other = online_runner(api, "r2")
    res = upload(api, other, ex["id"], attempt, PNG)
    assert res.status_code == 403 and res.json["code"] == "not_your_execution"
    res = upload(api, token, ex["id"], attempt + 1, PNG)
    assert res.status_code == 409 and res.json["code"] == "stale_attempt"
    repair = {
        "attempt": attempt,
        "node_id": "fill",
        "param": "value",
        "old": "#a",
        "new": {"selector": "#b"},
        "score": 0.9,
    }
    assert (
        api.post(f"/api/runner/executions/{ex['id']}/repairs", repair, token=other).status_code
        == 403
    )
    stale = {**repair, "attempt": attempt + 1}
    assert (
        api.post(f"/api/runner/executions/{ex['id']}/repairs", stale, token=token).status_code
        == 409
    )
    assert upload(api, token, 9999, attempt, PNG).status_code == 404
    # a user token is not a runner token
    assert upload(api, api.tokens["ADMIN"], ex["id"], attempt, PNG).status_code == 401
    res = api.post(
        f"/api/runner/executions/{ex['id']}/status",
        {"attempt": attempt, "status": "COMPLETED"},
        token=token,
    )
    assert res.status_code == 200
    res = upload(api, token, ex["id"], attempt, PNG)
    assert res.status_code == 409 and res.json["code"] == "execution_finished"
    assert stored_files(hub_app) == [] and ExecutionArtifact.select().count() == 0


def test_retention_job_and_deletion_with_the_execution(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    hub = hub_app.hub
    ex, token, attempt = running(api)
    first = upload(api, token, ex["id"], attempt, PNG, name="old.png").json
    second = upload(api, token, ex["id"], attempt, PNG, name="new.png").json
    # the first one is 31 days old
    ExecutionArtifact.update(created_at=utcnow() - dt.timedelta(days=31)).where(
        ExecutionArtifact.id == first["id"]
    ).execute()
    folder = hub.settings.data_path / "artifacts" / str(ex["id"])
    stray = folder / "0123456789abcdef0123456789abcdef"  # a file no row describes (a crash)
    stray.write_bytes(b"lost")
    young = folder / ".tmp-inflight"  # an upload in flight
    young.write_bytes(b"half")
    hour_ago = (utcnow() - dt.timedelta(hours=2)).replace(tzinfo=dt.UTC).timestamp()
    os.utime(stray, (hour_ago, hour_ago))

    ran = hub.jobs.run_due(utcnow())
    assert "artifact_retention" in ran
    names = [
        a["name"]
        for a in api.get(f"/api/executions/{ex['id']}/artifacts", as_="OPERATOR").json["items"]
    ]
    assert names == ["new.png"]
    assert (
        api.get(f"/api/executions/{ex['id']}/artifacts/{first['id']}", as_="OPERATOR").status_code
        == 404
    )
    left = {p.name for p in folder.iterdir()}
    assert "0123456789abcdef0123456789abcdef" not in left and ".tmp-inflight" in left
    assert len(left) == 2  # the new artifact's file and the upload in flight

    # an execution deleted (whatever deletes it) takes its rows with it; the files follow
    # at the next retention round
    young.unlink()
    Execution.delete().where(Execution.id == ex["id"]).execute()
    assert ExecutionArtifact.select().count() == 0
    later = utcnow() + dt.timedelta(hours=2)
    assert hub.artifacts.retention(later)["orphans"] == 1
    assert not folder.exists()
    assert (
        api.get(f"/api/executions/{ex['id']}/artifacts/{second['id']}", as_="OPERATOR").status_code
        == 404
    )


def test_repairs_become_a_draft(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    path = f"/api/executions/{ex['id']}/repairs/apply"
    res = api.post(path, as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "no_repairs"
    url = f"/api/runner/executions/{ex['id']}/repairs"
    fingerprint = {"tag": "input", "text": "", "attributes": {"name": "email"}, "index": 2}
    for body in (
        {
            "attempt": attempt,
            "node_id": "fill",
            "param": "value",
            "old": "#email-123",
            "new": {"selector": "#email-999", "fingerprint": fingerprint},
            "score": 0.5,
        },
        # a later repair of the same node and param wins
        {
            "attempt": attempt,
            "node_id": "fill",
            "param": "value",
            "old": "#email-123",
            "new": {"selector": 'input[name="email"]', "fingerprint": fingerprint},
            "score": 0.92,
        },
        {
            "attempt": attempt,
            "node_id": "submit",
            "param": "value",
            "old": GRAPH["nodes"][1]["params"]["value"],
            "new": {"selector": 'role=button[name="Go"]', "fingerprint": {"tag": "button"}},
            "score": 0.8,
        },
        {
            "attempt": attempt,
            "node_id": "vanished",
            "param": "target",
            "old": "#x",
            "new": {"selector": "#y"},
            "score": 0.7,
        },
    ):
        res = api.post(url, body, token=token)
        assert res.status_code == 201, res.text
        assert res.json["node_id"] == body["node_id"] and res.json["new"] == body["new"]
    for bad in (
        {"attempt": attempt, "node_id": "fill", "new": {"selector": ""}, "score": 0.5},
        {"attempt": attempt, "node_id": "fill", "new": {"fallbacks": []}, "score": 0.5},
        {"attempt": attempt, "node_id": "fill", "new": {"selector": "#a"}, "score": 1.5},
        {"attempt": attempt, "node_id": "", "new": {"selector": "#a"}, "score": 0.5},
        {"attempt": attempt, "node_id": "fill", "new": {"selector": "#a", "fallbacks": 7}},
        {"attempt": attempt, "node_id": "fill", "new": {"selector": "#a", "fallbacks": "#b"}},
        {"attempt": attempt, "node_id": "fill", "new": {"selector": "#a", "fallbacks": [1]}},
    ):
        res = api.post(url, {"score": 0.5, **bad}, token=token)
        assert res.status_code == 400, bad
        if "fallbacks" in bad["new"]:
            assert res.json["code"] == "invalid_target", res.json
    repairs = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json["selector_repairs"]
    assert [r["node_id"] for r in repairs] == ["fill", "fill", "submit", "vanished"]
    assert repairs[1]["score"] == 0.92

    assert api.post(path, as_="OPERATOR").status_code == 403
    res = api.post(path, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    out = res.json
    assert out["number"] == 2 and out["status"] == "draft" and out["based_on"] == 1
    assert sorted(a["node_id"] for a in out["applied"]) == ["fill", "submit"]
    nodes = {n["id"]: n for n in out["graph"]["nodes"]}
    assert nodes["fill"]["params"]["value"] == {
        "selector": 'input[name="email"]',
        "fallbacks": ["#email-123"],
        "fingerprint": fingerprint,
    }
    submit = nodes["submit"]["params"]["value"]
    assert submit["selector"] == 'role=button[name="Go"]'
    assert submit["fallbacks"] == ["button.go-77", "text=Go"]  # old primary first
    assert submit["frame_path"] == ["iframe#checkout"] and submit["fingerprint"] == {
        "tag": "button"
    }
    assert nodes["done"] == GRAPH["nodes"][2]
    # a draft like any other: listed, not published, publishable
    wf_id = ex["workflow_id"]
    wf = api.get(f"/api/workflows/{wf_id}", as_="OPERATOR").json
    assert wf["latest_version"] == 2 and wf["published_version"] == 1 and wf["has_draft"]
    version = api.get(f"/api/workflows/{wf_id}/versions/2", as_="DEVELOPER").json
    assert "execution" in version["comment"] and version["graph"] == out["graph"]
    assert api.post(f"/api/workflows/{wf_id}/publish", {}, as_="DEVELOPER").status_code == 200
    audit = api.get("/api/audit", as_="ADMIN", params={"action": "workflow.apply_repairs"}).json
    assert audit["items"] and audit["items"][0]["details"]["version"] == 2


def test_a_target_with_odd_fallbacks_in_the_graph_is_repaired_not_a_500(licensed_api: Api) -> None:
    # the graph is a DEVELOPER's text: its target's fallbacks may be anything the schema lets by
    graph = {**GRAPH, "nodes": [dict(n) for n in GRAPH["nodes"]]}
    graph["nodes"][0] = {
        "id": "fill",
        "type": "variable.set",
        "params": {"name": "t", "value": {"selector": "#email-123", "fallbacks": 7}},
    }
    api = licensed_api
    ex, token, attempt = running(api, "odd", graph)
    res = api.post(
        f"/api/runner/executions/{ex['id']}/repairs",
        {
            "attempt": attempt,
            "node_id": "fill",
            "param": "value",
            "new": {"selector": "#e"},
            "score": 0.9,
        },
        token=token,
    )
    assert res.status_code == 201, res.text
    res = api.post(f"/api/executions/{ex['id']}/repairs/apply", as_="DEVELOPER")
    assert res.status_code == 201, res.text
    value = {n["id"]: n for n in res.json["graph"]["nodes"]}["fill"]["params"]["value"]
    assert value["selector"] == "#e" and value["fallbacks"] == ["#email-123"]


def test_repairs_of_nodes_not_in_the_version_answer_409(licensed_api: Api) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    res = api.post(
        f"/api/runner/executions/{ex['id']}/repairs",
        {"attempt": attempt, "node_id": "ghost", "new": {"selector": "#y"}, "score": 0.9},
        token=token,
    )
    assert res.status_code == 201 and res.json["param"] == "target"
    # log.write's message is text: a target object would make the graph invalid, so it is
    # not applied either
    res = api.post(
        f"/api/runner/executions/{ex['id']}/repairs",
        {
            "attempt": attempt,
            "node_id": "done",
            "param": "message",
            "new": {"selector": "#y"},
            "score": 0.9,
        },
        token=token,
    )
    assert res.status_code == 201
    res = api.post(f"/api/executions/{ex['id']}/repairs/apply", as_="DEVELOPER")
    assert res.status_code == 409 and res.json["code"] == "no_repairs"
    wf = api.get(f"/api/workflows/{ex['workflow_id']}", as_="OPERATOR").json
    assert wf["latest_version"] == 1


def test_a_stream_without_length_is_cut_at_the_limit(licensed_api: Api, hub_app) -> None:
    """A chunked upload (no Content-Length) is counted while it streams: over the limit it is
    refused and its temporary file removed."""
    import io

    from hub import errors

    api = licensed_api
    ex, token, attempt = running(api)
    runner_id = Execution.get_by_id(ex["id"]).runner_id
    from hub.models import Runner

    version = Runner.get_by_id(runner_id).secret_version  # starts at a random number
    service = hub_app.hub.artifacts
    with pytest.raises(errors.PayloadTooLarge):
        service.upload(
            runner_id, ex["id"], attempt, name="big.bin", kind="file", content_type=None,
            node_id=None, stream=io.BytesIO(b"x" * (LIMIT + 1)), length=None,
            secret_version=version,
        )  # fmt: skip
    assert stored_files(hub_app) == [] and ExecutionArtifact.select().count() == 0
    folder = hub_app.hub.settings.data_path / "artifacts" / str(ex["id"])
    assert not any(folder.iterdir())  # no temporary file left
    out = service.upload(
        runner_id, ex["id"], attempt, name="ok.bin", kind="file", content_type=None,
        node_id=None, stream=io.BytesIO(b"x" * LIMIT), length=None, secret_version=version,
    )  # fmt: skip
    assert out["size"] == LIMIT and out["content_type"] == "application/octet-stream"
