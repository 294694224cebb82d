"""Attack-and-fault suite: a runner that restarts quickly never strands its work (issue 17
item 2), and ``stop`` always ends in a final state.

A new agent process authenticates with a new ``session``: what its predecessor held is settled
at once by the lost-runner rules (ASSIGNED: re-queued once; RUNNING: FAILED ``runner_lost``),
long before ``runner_offline_after``. A token refresh of the same process (same session)
changes nothing. In-process on SQLite and PostgreSQL, and with real processes (kill -9 of a
real runner mid-run, restarted at once, with offline and grace windows far too long to help).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hub.models import utcnow
from tests.e2e.platform import Platform, delay_graph
from tests.hub.test_runners_support import published_workflow, register_runner, run
from tests.support import Api, create_pg_database, drop_pg_database


def _sign_in(api: Api, reg: dict, session: str | None, pending: list[int] | None = None) -> str:
    body: dict = {"machine_key": reg["machine_key"], "machine_secret": reg["machine_secret"]}
    if session is not None:
        body["session"] = session
    if pending is not None:
        body["pending"] = pending
    res = api.post("/api/runner/authenticate", body)
    assert res.status_code == 200, res.text
    token = res.json["token"]
    assert api.post("/api/runner/heartbeat", {}, token=token).status_code == 200
    return token


def _take(api: Api, token: str) -> dict:
    got = api.get("/api/runner/poll", token=token)
    assert got.status_code == 200, got.text
    return got.json["execution"]


def _ex(api: Api, exec_id: int) -> dict:
    return api.get(f"/api/executions/{exec_id}", as_="ADMIN").json


def test_new_process_settles_running_and_assigned_work(licensed_api: Api) -> None:
    api = licensed_api
    reg = register_runner(api, "r1")
    wf = published_workflow(api)
    token = _sign_in(api, reg, "life-one-0001")
    run(api, wf, inputs={"n": 1})
    first = _take(api, token)
    res = api.post(
        f"/api/runner/executions/{first['id']}/status",
        {"attempt": first["attempt"], "status": "RUNNING"},
        token=token,
    )
    assert res.status_code == 200, res.text
    # a token refresh of the same process: nothing happens
    token = _sign_in(api, reg, "life-one-0001")
    assert _ex(api, first["id"])["status"] == "RUNNING"
    # without a session (`exekra runner connect`, an older agent): nothing happens either
    _sign_in(api, reg, None)
    assert _ex(api, first["id"])["status"] == "RUNNING"
    # a new process: the RUNNING execution of the old one is FAILED runner_lost at once
    token = _sign_in(api, reg, "life-two-0002")
    ex = _ex(api, first["id"])
    assert ex["status"] == "FAILED" and ex["reason"] == "runner_lost", ex
    runner = api.get(f"/api/runners/{reg['id']}", as_="ADMIN").json
    assert runner["status"] == "ONLINE" and runner["current_execution_id"] is None, runner
    # the runner works again: it takes the next one (ASSIGNED), and restarts once more
    second = run(api, wf, inputs={"n": 2})["id"]
    assert _take(api, token)["id"] == second
    token = _sign_in(api, reg, "life-three-0003")
    ex = _ex(api, second)
    assert ex["status"] in ("QUEUED", "ASSIGNED") and ex["requeue_count"] == 1, ex
    again = _take(api, token)  # re-queued once: this runner (the only one) gets it again
    assert again["id"] == second and again["attempt"] == 2
    _sign_in(api, reg, "life-four-0004")  # lost while ASSIGNED a second time: FAILED
    ex = _ex(api, second)
    assert ex["status"] == "FAILED" and ex["reason"] == "runner_lost", ex


def test_a_final_report_waiting_in_the_outbox_is_left_to_it(licensed_api: Api) -> None:
    api = licensed_api
    reg = register_runner(api, "r1")
    published_workflow(api)
    exec_id = run(api, published_workflow(api, "other"))["id"]
    token = _sign_in(api, reg, "life-one-0001")
    ex = _take(api, token)
    api.post(
        f"/api/runner/executions/{exec_id}/status",
        {"attempt": ex["attempt"], "status": "RUNNING"},
        token=token,
    )
    token = _sign_in(api, reg, "life-two-0002", pending=[exec_id])
    assert _ex(api, exec_id)["status"] == "RUNNING"
    res = api.post(
        f"/api/runner/executions/{exec_id}/status",
        {"attempt": ex["attempt"], "status": "COMPLETED"},
        token=token,
    )
    assert res.status_code == 200, res.text
    assert _ex(api, exec_id)["status"] == "COMPLETED"


def test_stop_always_ends_in_a_final_state(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    reg = register_runner(api, "r1")
    wf = published_workflow(api)
    token = _sign_in(api, reg, "life-one-0001")
    first = run(api, wf, inputs={"n": 1})["id"]
    ex = _take(api, token)
    api.post(
        f"/api/runner/executions/{first}/status",
        {"attempt": ex["attempt"], "status": "RUNNING"},
        token=token,
    )
    # the runner is wedged (alive to the hub, never acts on the stop): the sweeper ends it
    assert api.post(f"/api/executions/{first}/stop", as_="OPERATOR").status_code == 200
    assert _ex(api, first)["status"] == "RUNNING"
    dispatcher = hub_app.hub.dispatcher
    later = utcnow() + dt.timedelta(seconds=hub_app.hub.settings.stop_grace + 1)
    dispatcher.started = later - dt.timedelta(hours=1)
    stats = dispatcher.sweep(
        later, offline_after=10**6, queue_timeout=10**6, assigned_grace=10**6,
        running_grace=10**6, stop_grace=hub_app.hub.settings.stop_grace,
    )  # fmt: skip
    assert stats["stopped"] == 1
    assert _ex(api, first)["status"] == "STOPPED"
    # the runner is OFFLINE: a stop ends the execution at once
    second = run(api, wf, inputs={"n": 2})["id"]
    ex = _take(api, token)
    assert ex["id"] == second
    hub_app.hub.runners.mark_offline(utcnow() + dt.timedelta(hours=1), 1)
    res = api.post(f"/api/executions/{second}/stop", as_="OPERATOR")
    assert res.status_code == 200 and res.json["status"] == "STOPPED", res.text
    runner = api.get(f"/api/runners/{reg['id']}", as_="ADMIN").json
    assert runner["current_execution_id"] is None


@pytest.fixture(params=["sqlite", "postgres"])
def slow_platform(request, tmp_path: Path, vendor_keys):
    url = create_pg_database() if request.param == "postgres" else f"sqlite:///{tmp_path / 'h.db'}"
    # offline and grace windows far longer than the test: only the new session can settle
    env = {
        "EXEKRA_RUNNER_OFFLINE_AFTER": "600",
        "EXEKRA_ASSIGNED_GRACE": "600",
        "EXEKRA_RUNNING_GRACE": "600",
    }
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], url, hub_env=env)
    try:
        yield plat
    finally:
        plat.close()
        if request.param == "postgres":
            drop_pg_database(url)


def test_kill_9_and_quick_restart_of_a_real_runner(slow_platform: Platform) -> None:
    p = slow_platform
    reg = p.connect_runner("phoenix")
    proc = p.start_runner("phoenix")
    p.wait_runner_status(reg["id"], "ONLINE")
    wf = p.publish("slow", delay_graph(60))
    ex_id = p.run(wf)
    p.wait_status(ex_id, "RUNNING")
    proc.kill()  # kill -9, then restarted at once, as systemd does
    proc.wait()
    p.start_runner("phoenix")
    ex = p.wait_status(ex_id, "FAILED", "STOPPED", "COMPLETED", timeout=30)
    assert ex["status"] == "FAILED" and ex["reason"] == "runner_lost", ex
    quick = p.run(p.publish("quick", delay_graph(0.1)))
    assert p.wait_status(quick, "COMPLETED", "FAILED", timeout=30)["status"] == "COMPLETED"


def test_no_session_on_record_settles_nothing(licensed_api: Api) -> None:
    """A hub just upgraded (no session on record, tokens re-issued) while the agent kept
    running: its first sign-in with a session leaves the execution it is running alone."""
    api = licensed_api
    reg = register_runner(api, "r1")
    token = _sign_in(api, reg, None)
    exec_id = run(api, published_workflow(api))["id"]
    ex = _take(api, token)
    api.post(
        f"/api/runner/executions/{exec_id}/status",
        {"attempt": ex["attempt"], "status": "RUNNING"},
        token=token,
    )
    _sign_in(api, reg, "first-session-on-record")
    assert _ex(api, exec_id)["status"] == "RUNNING"
