"""Attack-and-fault suite: the attacks that held in issue 17's run, kept so they stay held.

Here: a script in every stored field the web view shows renders as text, path variants of the
rate-limit-exempt routes do not escape the limit, a paused Redis breaks nothing, and a hub
killed with -9 during dispatch (restarted on the same data) loses no execution and runs none
twice. Elsewhere in this folder: forged, revoked and tampered tokens, role tampering and IDOR
between runners (test_identity.py), CSRF (test_csrf.py). Killed PostgreSQL backends are
tests/hub/test_db_recovery.py; a Redis outage under load is tests/hub/test_queue.py.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import Platform, delay_graph
from tests.hub.test_queue import RedisServer
from tests.hub.test_runners_support import online_runner, run
from tests.support import (
    ADMIN_EMAIL,
    PASSWORD,
    Api,
    HubProcess,
    create_pg_database,
    drop_pg_database,
    free_port,
    make_license,
    wait_for,
)

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_a_script_in_any_stored_field_renders_as_text(licensed_api: Api) -> None:
    api = licensed_api
    graph = {
        "format": 1,
        "variables": {"v": XSS},
        "inputs": [{"name": "k", "type": "string", "description": XSS}],
        "nodes": [{"id": "n1", "type": "log.write", "params": {"message": XSS}}],
        "edges": [],
    }
    res = api.post(
        "/api/workflows", {"name": "W" + XSS, "description": XSS, "graph": graph}, as_="DEVELOPER"
    )
    assert res.status_code == 201, res.text
    wf = res.json["id"]
    assert api.post(f"/api/workflows/{wf}/publish", {}, as_="DEVELOPER").status_code == 200
    runner, token = online_runner(
        api, "R" + XSS[:60].replace("<", "x").replace(" ", "_")[:0] + "r-x"
    )
    api.patch(f"/api/runners/{runner['id']}", {"name": "R" + XSS}, as_="ADMIN")
    api.post("/api/runner/heartbeat", {"hostname": XSS[:200], "version": XSS[:60]}, token=token)
    res = api.post(
        "/api/triggers",
        {"workflow_id": wf, "type": "WEBHOOK", "name": "T" + XSS, "inputs": {"k": XSS}},
        as_="DEVELOPER",
    )
    assert res.status_code == 201, res.text
    res = api.post(
        "/api/users",
        {"email": "x@acme.test", "password": PASSWORD, "name": "U" + XSS, "role": "OPERATOR"},
        as_="ADMIN",
    )
    assert res.status_code == 201, res.text
    api.post(
        "/api/credentials",
        {"name": "C" + XSS, "secret": "s", "username": XSS, "description": XSS},
        as_="ADMIN",
    )
    exec_id = run(api, wf, inputs={"k": XSS + "!"})["id"]
    got = api.get("/api/runner/poll", token=token).json["execution"]
    base = f"/api/runner/executions/{exec_id}"
    api.post(
        f"{base}/status",
        {
            "attempt": got["attempt"],
            "status": "RUNNING",
            "logs": [{"seq": 1, "message": XSS, "node_id": XSS[:100]}],
        },
        token=token,
    )
    res = api.post(
        f"{base}/status",
        {"attempt": got["attempt"], "status": "FAILED", "error": XSS, "failed_node": XSS[:150]},
        token=token,
    )
    assert res.status_code == 200, res.text
    cookies = {"exekra_session": api.tokens["ADMIN"]}
    pages = ["/", "/workflows", f"/workflows/{wf}", "/executions", f"/executions/{exec_id}"]
    pages += ["/runners", "/triggers", "/audit", "/users"]
    for path in pages:
        page = api.client.simulate_get(path, cookies=cookies)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        if path != "/audit":  # the audit page shows actions and resources, not the names
            assert "&lt;script&gt;" in page.text, path
        # no inline script at all (the CSP forbids them too)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path


@pytest.fixture
def limited(api: Api) -> Api:
    api.client.app.hub.limiter.limit = 3
    return api


@pytest.mark.parametrize(
    "variant",
    [
        "/api/health/..",
        "/api/health/../users",
        "/api//users",
        "/API/health",
        "/api/health%2F..%2Fusers",
        "/api/users?x=/api/health",
        "/api/runner/poll/../../users",
        "/api/users/",
        "/api/triggers/webhook/x/../../users",
        "/api/runner/authenticate/../../users",
    ],
)
def test_exempt_route_variants_do_not_escape_the_limit(limited: Api, variant: str) -> None:
    """Exemptions are exact route templates: a variant is either no route at all (404) or
    the user route it really is, limited like it."""
    codes = [limited.get(variant, remote_addr="10.9.9.9").status_code for _ in range(6)]
    assert set(codes) == {404} or 429 in codes, codes
    assert limited.get("/api/health", remote_addr="10.9.9.9").status_code == 200  # exempt


def test_a_paused_redis_breaks_nothing(tmp_path: Path, vendor_keys) -> None:
    redis_server = RedisServer(free_port(), tmp_path / "redis.log").start()
    env = {
        "EXEKRA_REDIS_URL": redis_server.url,
        "EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]),
        "EXEKRA_BCRYPT_ROUNDS": "4",
        "EXEKRA_STALE_CHECK_INTERVAL": "1",
    }
    hub = HubProcess(tmp_path / "data", env, tmp_path / "hub.log").start()
    try:
        http = httpx.Client(base_url=hub.url, timeout=60)
        assert http.post("/api/license", content=make_license(vendor_keys[0])).status_code == 200
        res = http.post(
            "/api/setup/admin", json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "A"}
        )
        assert res.status_code == 201, res.text
        token = http.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        os.kill(redis_server.proc.pid, signal.SIGSTOP)  # alive but silent
        try:
            codes = [http.get("/api/users").status_code]
            codes.append(
                http.post("/api/credentials", json={"name": "c", "secret": "s"}).status_code
            )
            codes.append(http.get("/api/health").status_code)
        finally:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
        assert all(c < 500 for c in codes[:-1]), codes
        assert codes[-1] in (200, 503), codes  # health may report the degraded queue
        assert http.get("/api/users").status_code == 200
        http.close()
    finally:
        hub.stop()
        redis_server.stop()


@pytest.fixture
def platform(tmp_path: Path, vendor_keys):
    # PostgreSQL only (the production database; the in-process dispatch tests and the
    # runner-restart test cover SQLite): a real hub and runners cost seconds per run
    url = create_pg_database()
    plat = Platform(
        tmp_path, vendor_keys[0], vendor_keys[1], url, hub_env={"EXEKRA_RUNNER_OFFLINE_AFTER": "30"}
    )
    try:
        yield plat
    finally:
        plat.close()
        drop_pg_database(url)


def test_hub_kill_9_during_dispatch_loses_nothing_and_runs_nothing_twice(
    platform: Platform,
) -> None:
    p = platform
    regs = [p.connect_runner(f"w{i}") for i in range(2)]
    for i in range(2):
        p.start_runner(f"w{i}")
    for reg in regs:
        p.wait_runner_status(reg["id"], "ONLINE")
    wf = p.publish("quick", {**delay_graph(0.3), "inputs": [{"name": "n", "type": "integer"}]})
    ids = [p.run(wf, inputs={"n": i}) for i in range(8)]
    wait_for(lambda: sum(p.execution(i)["status"] == "COMPLETED" for i in ids) >= 2, 60, 0.1)
    p.hub.kill()  # kill -9 mid-dispatch: some running, some queued
    p.hub.start()
    p.http = httpx.Client(base_url=p.hub.url, timeout=20, headers=dict(p.http.headers))
    final = [p.wait_status(i, "COMPLETED", "FAILED", "STOPPED", timeout=90) for i in ids]
    assert [e["status"] for e in final] == ["COMPLETED"] * len(ids), final
    for e in final:
        starts = [line for line in p.logs(e["id"]) if line["message"] == "starting"]
        assert len(starts) == 1 and e["attempt"] == 1, (e, starts)
