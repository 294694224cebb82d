"""Issue 17 item 4 end to end: a real hub process, a real ``exekra runner start`` process and
real HTTP servers. An OPERATOR (or anyone with a webhook URL) cannot redirect a credential by
overriding a variable, and a credential bound to a host never reaches another one even when the
URL is a declared input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.platform import Platform
from tests.runner.test_credential_hosts import SECRET, Recorder
from tests.support import PASSWORD, create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def platform(request: pytest.FixtureRequest, tmp_path: Any, vendor_keys: Any) -> Iterator[Platform]:
    db_url = (
        create_pg_database() if request.param == "postgres" else f"sqlite:///{tmp_path / 'h.db'}"
    )
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], db_url)
    try:
        yield plat
    finally:
        plat.close()
        if request.param == "postgres":
            drop_pg_database(db_url)


@pytest.fixture
def servers() -> Iterator[tuple[Recorder, Recorder]]:
    erp, attacker = Recorder(), Recorder()
    try:
        yield erp, attacker
    finally:
        erp.close()
        attacker.close()


def sender(url: str, inputs: list[dict[str, Any]] | None) -> dict[str, Any]:
    graph: dict[str, Any] = {
        "format": 1,
        "variables": {} if inputs is not None else {"url": url},
        "nodes": [
            {
                "id": "call",
                "type": "http.request",
                "params": {
                    "url": "{url}",
                    "method": "POST",
                    "headers": {"X-Api-Key": "{{credential}}"},
                    "credential": "erp-key",
                    "fail_on_status": True,
                },
            }
        ],
        "edges": [],
    }
    if inputs is not None:
        graph["inputs"] = inputs
    return graph


def operator(p: Platform) -> httpx.Client:
    res = p.api("POST", "/api/users", json={"email": "op@acme.test", "password": PASSWORD,
                                            "name": "Op", "role": "OPERATOR"})  # fmt: skip
    assert res.status_code == 201, res.text
    client = httpx.Client(base_url=p.hub.url, timeout=20)
    token = client.post("/api/auth/login", json={"email": "op@acme.test", "password": PASSWORD})
    client.headers["Authorization"] = f"Bearer {token.json()['token']}"
    return client


def test_inputs_cannot_redirect_a_credential(
    platform: Platform, servers: tuple[Recorder, Recorder]
) -> None:
    p = platform
    erp, attacker = servers
    res = p.api("POST", "/api/credentials", json={
        "name": "erp-key", "secret": SECRET, "allowed_hosts": [f"127.0.0.1:{erp.port}"],
    })  # fmt: skip
    assert res.status_code == 201 and res.json()["allowed_hosts"] == [f"127.0.0.1:{erp.port}"]
    p.connect_runner("r1")
    p.start_runner("r1")
    op = operator(p)
    try:
        # 1. a graph that declares no inputs: overriding the URL is refused at the door
        leaky = p.publish("Leaky", sender(erp.url("/orders"), None))
        evil = {"url": attacker.url("/steal")}
        res = op.post("/api/executions", json={"workflow_id": leaky, "inputs": evil})
        assert res.status_code == 400 and res.json()["undeclared"] == ["url"], res.text
        hook = p.api("POST", "/api/triggers",
                     json={"workflow_id": leaky, "type": "WEBHOOK"}).json()  # fmt: skip
        # anonymous, as anyone holding the webhook's URL
        res = httpx.post(f"{p.hub.url}/api/triggers/webhook/{hook['webhook_id']}", json=evil)
        assert res.status_code == 400 and res.json()["undeclared"] == ["url"], res.text
        ok = op.post("/api/executions", json={"workflow_id": leaky, "inputs": {}}).json()
        assert p.wait_status(ok["id"], "COMPLETED", "FAILED")["status"] == "COMPLETED"
        assert erp.requests[-1]["headers"]["X-Api-Key"] == SECRET

        # 2. the URL is a declared input, but the credential is bound to the ERP
        declared = p.publish("Declared", sender("", [{"name": "url", "type": "string",
                                                       "required": True}]))  # fmt: skip
        res = op.post("/api/executions", json={"workflow_id": declared, "inputs": evil})
        assert res.status_code == 201, res.text
        failed = p.wait_status(res.json()["id"], "COMPLETED", "FAILED")
        assert failed["status"] == "FAILED" and failed["failed_node"] == "call", failed
        assert f"credential 'erp-key' may not be sent to 127.0.0.1:{attacker.port}" in (
            failed["error"] or ""
        )
        logs = p.logs(failed["id"])
        assert SECRET not in str(failed) and SECRET not in str(logs)
        assert attacker.requests == []  # the other server received nothing at all
        good = op.post("/api/executions", json={"workflow_id": declared,
                                                "inputs": {"url": erp.url("/ok")}})  # fmt: skip
        assert p.wait_status(good.json()["id"], "COMPLETED", "FAILED")["status"] == "COMPLETED"
        assert erp.requests[-1]["path"] == "/ok"
        assert erp.requests[-1]["headers"]["X-Api-Key"] == SECRET
        assert SECRET not in p.runner_log("r1")
    finally:
        op.close()
