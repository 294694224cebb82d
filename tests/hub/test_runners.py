"""Runner registration, machine credentials, authentication, heartbeat and poll."""

from __future__ import annotations

from tests.hub.test_runners_support import (
    online_runner,
    published_workflow,
    register_runner,
    run,
    runner_login,
)
from tests.support import Api


def test_register_shows_secret_once_and_audits(licensed_api: Api) -> None:
    api = licensed_api
    runner = register_runner(api, "build-01", ["win", "excel"])
    assert runner["machine_key"].startswith("FC-")
    secret = runner["machine_secret"]
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert runner["labels"] == ["excel", "win"]
    assert runner["status"] == "OFFLINE"
    got = api.get(f"/api/runners/{runner['id']}", as_="OPERATOR")
    assert got.status_code == 200
    assert "machine_secret" not in got.json
    assert secret not in got.text
    listed = api.get("/api/runners", as_="OPERATOR").json
    assert listed["total"] == 1 and "machine_secret" not in listed["items"][0]
    audit = api.get("/api/audit", as_="ADMIN", params={"action": "runner.register"}).json
    assert audit["total"] == 1 and secret not in str(audit)


def test_register_needs_admin_and_valid_input(licensed_api: Api) -> None:
    api = licensed_api
    assert api.post("/api/runners", {"name": "x"}, as_="DEVELOPER").status_code == 403
    assert api.post("/api/runners", {"name": ""}, as_="ADMIN").status_code == 400
    assert (
        api.post("/api/runners", {"name": "x", "labels": ["bad label"]}, as_="ADMIN").status_code
        == 400
    )
    assert api.post("/api/runners", {"nme": "x"}, as_="ADMIN").status_code == 400
    register_runner(api, "dup")
    res = api.post("/api/runners", {"name": "dup"}, as_="ADMIN")
    assert res.status_code == 409 and res.json["code"] == "runner_name_taken"
    assert api.get("/api/runners", as_="ADMIN").json["total"] == 1


def test_license_runner_limit(licensed_api: Api) -> None:
    api = licensed_api  # bootstrap licenses 5 runners
    for i in range(5):
        register_runner(api, f"r{i}")
    res = api.post("/api/runners", {"name": "sixth"}, as_="ADMIN")
    assert res.status_code == 403
    assert res.json["code"] == "runner_limit"
    assert api.get("/api/runners", as_="ADMIN").json["total"] == 5


def test_authenticate_same_401_for_unknown_key_and_wrong_secret(licensed_api: Api) -> None:
    api = licensed_api
    runner = register_runner(api)
    wrong = api.post(
        "/api/runner/authenticate",
        {"machine_key": runner["machine_key"], "machine_secret": "0" * 64},
    )
    unknown = api.post(
        "/api/runner/authenticate", {"machine_key": "FC-NOPE", "machine_secret": "0" * 64}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    too_long = api.post(
        "/api/runner/authenticate",
        {"machine_key": runner["machine_key"], "machine_secret": "a" * 900},
    )
    assert too_long.status_code == 401
    huge = api.post(
        "/api/runner/authenticate",
        {"machine_key": runner["machine_key"], "machine_secret": "a" * 5000},
    )
    assert huge.status_code == 401 and huge.json == wrong.json
    long_key = api.post(
        "/api/runner/authenticate", {"machine_key": "FC-" + "A" * 5000, "machine_secret": "x"}
    )
    assert long_key.status_code == 401
    token = runner_login(api, runner)
    # a runner token is not a user token and vice versa
    assert api.get("/api/runners", token=token).status_code == 401
    assert api.get("/api/runner/poll", as_="ADMIN").status_code == 401


def test_authenticate_is_rate_limited_per_key_and_client(licensed_api: Api) -> None:
    api = licensed_api
    runner = register_runner(api)
    codes = [
        api.post(
            "/api/runner/authenticate",
            {"machine_key": runner["machine_key"], "machine_secret": "f" * 64},
            remote_addr="10.9.9.9",
        ).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    # the right secret from another client still works
    res = api.post(
        "/api/runner/authenticate",
        {"machine_key": runner["machine_key"], "machine_secret": runner["machine_secret"]},
        remote_addr="10.1.1.1",
    )
    assert res.status_code == 200


def test_regenerate_secret_invalidates_old_secret_and_tokens(licensed_api: Api) -> None:
    api = licensed_api
    runner = register_runner(api)
    token = runner_login(api, runner)
    assert api.get("/api/runner/poll", token=token).status_code == 204
    res = api.post(f"/api/runners/{runner['id']}/regenerate-secret", as_="ADMIN")
    assert res.status_code == 200
    new_secret = res.json["machine_secret"]
    assert new_secret != runner["machine_secret"]
    assert api.get("/api/runner/poll", token=token).status_code == 401
    assert api.post("/api/runner/heartbeat", {"cpu": 1}, token=token).status_code == 401
    old = api.post(
        "/api/runner/authenticate",
        {"machine_key": runner["machine_key"], "machine_secret": runner["machine_secret"]},
    )
    assert old.status_code == 401
    fresh = runner_login(api, {**runner, "machine_secret": new_secret})
    assert api.get("/api/runner/poll", token=fresh).status_code == 204
    audit = api.get("/api/audit", as_="ADMIN", params={"action": "runner.regenerate_secret"})
    assert audit.json["total"] == 1


def test_heartbeat_stores_metrics_and_sets_online(licensed_api: Api) -> None:
    api = licensed_api
    runner = register_runner(api, "metrics", ["win"])
    token = runner_login(api, runner)
    for cpu in (10.0, 20.0, 30.0):
        res = api.post(
            "/api/runner/heartbeat",
            {"cpu": cpu, "memory": 50.5, "disk": 70.0, "version": "0.1.0", "hostname": "pc-7"},
            token=token,
        )
        assert res.status_code == 200, res.text
        assert res.json == {"status": "ONLINE", "stop": []}
    got = api.get(f"/api/runners/{runner['id']}", as_="OPERATOR").json
    assert got["status"] == "ONLINE"
    assert got["metrics"] == {"cpu": 30.0, "memory": 50.5, "disk": 70.0}
    assert got["hostname"] == "pc-7" and got["version"] == "0.1.0"
    assert [s[1] for s in got["metrics_history"]] == [10.0, 20.0, 30.0]
    assert got["last_seen"] is not None
    bad = api.post("/api/runner/heartbeat", {"cpu": "lots"}, token=token)
    assert bad.status_code == 400
    assert api.post("/api/runner/heartbeat", {"cpu": 1}).status_code == 401


def test_deleted_runner_token_stops_working(licensed_api: Api) -> None:
    api = licensed_api
    runner, token = online_runner(api)
    assert api.delete(f"/api/runners/{runner['id']}", as_="ADMIN").status_code == 204
    assert api.get("/api/runner/poll", token=token).status_code == 401


def test_runner_endpoints_are_not_rate_limited(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    runner, token = online_runner(api)
    hub_app.hub.limiter.limit = 3
    for _ in range(10):
        assert api.get("/api/runner/poll", token=token).status_code == 204
        res = api.post("/api/runner/heartbeat", {"cpu": 1}, token=token)
        assert res.status_code == 200
    limited = [api.get("/api/runners", as_="OPERATOR").status_code for _ in range(5)]
    assert 429 in limited


def test_poll_claims_and_delivers_payload(licensed_api: Api) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api)
    execution = run(api, wf, inputs={"name": "Ada"})
    poll = api.get("/api/runner/poll", token=token)
    assert poll.status_code == 200, poll.text
    payload = poll.json["execution"]
    assert payload["id"] == execution["id"]
    assert payload["attempt"] == 1
    assert payload["inputs"] == {"name": "Ada"}
    assert payload["graph"]["nodes"][0]["id"] == "hello"
    assert payload["version"] == 1 and payload["workflow_id"] == wf
    got = api.get(f"/api/executions/{execution['id']}", as_="OPERATOR").json
    assert got["status"] == "ASSIGNED" and got["runner_id"] == runner["id"]
    r = api.get(f"/api/runners/{runner['id']}", as_="OPERATOR").json
    assert r["status"] == "BUSY" and r["current_execution_id"] == execution["id"]
    # polling again answers the same assignment (not a second one)
    again = api.get("/api/runner/poll", token=token)
    assert again.json["execution"]["id"] == execution["id"]
    assert again.json["execution"]["attempt"] == 1
