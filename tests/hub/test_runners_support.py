"""Helpers shared by the fleet/dispatch tests (no tests here)."""

from __future__ import annotations

from typing import Any

from tests.support import Api

#: inputs the tests pass (each run with its own inputs, so none is a duplicate of another)
TEST_INPUTS = ("a", "emoji", "i", "k", "n", "name", "order", "q", "via", "x")
GRAPH: dict[str, Any] = {
    "format": 1,
    "variables": {},
    "inputs": [{"name": n} for n in TEST_INPUTS],
    "nodes": [
        {"id": "hello", "type": "log.write", "params": {"message": "hello {name}"}},
    ],
    "edges": [],
}
GRAPH_WITH_CREDENTIAL: dict[str, Any] = {
    "format": 1,
    "variables": {},
    "nodes": [
        {
            "id": "login",
            "type": "log.write",
            "params": {"message": "signing in", "credential": "erp-login"},
        },
    ],
    "edges": [],
}


def published_workflow(api: Api, name: str = "Invoices", graph: dict | None = None) -> int:
    """A workflow with a published version 1, through the public API."""
    res = api.post(
        "/api/workflows",
        {"name": name, "description": "", "graph": graph or GRAPH},
        as_="DEVELOPER",
    )
    assert res.status_code == 201, res.text
    wf_id = res.json["id"]
    res = api.post(f"/api/workflows/{wf_id}/publish", {}, as_="DEVELOPER")
    assert res.status_code == 200, res.text
    return wf_id


def register_runner(api: Api, name: str = "r1", labels: list[str] | None = None) -> dict:
    res = api.post("/api/runners", {"name": name, "labels": labels or []}, as_="ADMIN")
    assert res.status_code == 201, res.text
    return res.json


def runner_login(api: Api, runner: dict) -> str:
    res = api.post(
        "/api/runner/authenticate",
        {"machine_key": runner["machine_key"], "machine_secret": runner["machine_secret"]},
    )
    assert res.status_code == 200, res.text
    return res.json["token"]


def online_runner(api: Api, name: str = "r1", labels: list[str] | None = None) -> tuple[dict, str]:
    runner = register_runner(api, name, labels)
    token = runner_login(api, runner)
    res = api.post("/api/runner/heartbeat", {"cpu": 5, "memory": 40, "disk": 60}, token=token)
    assert res.status_code == 200, res.text
    return runner, token


def run(api: Api, workflow_id: int, **extra: Any) -> dict:
    res = api.post("/api/executions", {"workflow_id": workflow_id, **extra}, as_="OPERATOR")
    assert res.status_code in (200, 201), res.text
    return res.json
