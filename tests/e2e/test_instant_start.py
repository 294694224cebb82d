"""Instant start with real processes: a real `exekra hub serve` and `exekra runner start`.

The runner polls only once an hour here (``EXEKRA_RUNNER_POLL_INTERVAL=3600``), so an
execution that starts at all started because the hub woke the runner through the channel; with
the channel cut or refused, the runner falls back to polling.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.platform import Platform
from tests.support import (
    ADMIN_EMAIL,
    PASSWORD,
    HubProcess,
    create_pg_database,
    drop_pg_database,
    wait_for,
)
from workflows import examples

pytestmark = pytest.mark.e2e

HOURLY = {"EXEKRA_RUNNER_POLL_INTERVAL": "3600"}


def _opened(p: Platform, name: str) -> int:
    return p.runner_log(name).count("wake-up channel open")


def _first_poll_done(p: Platform, name: str) -> None:
    # the runner polls once at start and once when the channel opens; after that, only a
    # wake-up (or the poll an hour later) makes it poll again
    wait_for(lambda: _opened(p, name) >= 1, 30, 0.1, "the runner's channel open")


@pytest.fixture
def sqlite_platform(tmp_path, vendor_keys):
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    yield plat
    plat.close()


def test_an_idle_runner_starts_requested_work_at_once_and_after_a_hub_restart(sqlite_platform):
    p = sqlite_platform
    reg = p.connect_runner("quick")
    p.start_runner("quick", env=HOURLY)
    p.wait_runner_status(reg["id"], "ONLINE")
    _first_poll_done(p, "quick")
    wf = p.publish("hello", examples.load("hello"))
    ex = p.wait_status(p.run(wf), "COMPLETED", "FAILED", timeout=30)
    assert ex["status"] == "COMPLETED" and ex["runner_id"] == reg["id"]

    # the hub restarts: the runner notices, re-opens the channel, and is woken again
    p.hub.stop()
    p.hub.start()
    token = httpx.post(
        p.hub.url + "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
    ).json()["token"]
    p.http.headers["Authorization"] = f"Bearer {token}"
    wait_for(lambda: _opened(p, "quick") >= 2, 60, 0.2, "the channel re-opened")
    ex = p.wait_status(p.run(wf), "COMPLETED", "FAILED", timeout=30)
    assert ex["status"] == "COMPLETED"


def test_without_a_reachable_channel_the_runner_polls(tmp_path, vendor_keys):
    # the hub advertises a channel nobody answers (a proxy that blocks it): polling goes on
    plat = Platform(
        tmp_path,
        vendor_keys[0],
        vendor_keys[1],
        f"sqlite:///{tmp_path / 'hub.db'}",
        hub_env={"EXEKRA_CHANNEL_URL": "http://127.0.0.1:1/api/runner/wait"},
    )
    try:
        reg = plat.connect_runner("poller")
        plat.start_runner("poller", env={"EXEKRA_RUNNER_POLL_INTERVAL": "0.5"})
        plat.wait_runner_status(reg["id"], "ONLINE")
        wf = plat.publish("hello", examples.load("hello"))
        for _ in range(2):
            ex = plat.wait_status(plat.run(wf), "COMPLETED", "FAILED", timeout=30)
            assert ex["status"] == "COMPLETED"
        assert _opened(plat, "poller") == 0
        assert "Traceback" not in plat.runner_log("poller")
    finally:
        plat.close()


@pytest.mark.postgres
def test_work_queued_through_another_hub_process_wakes_the_runner(tmp_path, vendor_keys):
    db_url = create_pg_database()
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], db_url)
    other = None
    try:
        reg = plat.connect_runner("fleet")
        plat.start_runner("fleet", env=HOURLY)
        plat.wait_runner_status(reg["id"], "ONLINE")
        _first_poll_done(plat, "fleet")
        wf = plat.publish("hello", examples.load("hello"))
        # a second hub process on the same database; the runner knows only the first
        env = {k: v for k, v in plat.hub.env.items() if k != "EXEKRA_CHANNEL_PORT"}
        other = HubProcess(tmp_path / "hub-data", env, tmp_path / "hub2.log").start()
        http = httpx.Client(base_url=other.url, timeout=20, headers=dict(plat.http.headers))
        res = http.post("/api/executions", json={"workflow_id": wf})
        assert res.status_code == 201, res.text
        ex = plat.wait_status(res.json()["id"], "COMPLETED", "FAILED", timeout=30)
        assert ex["status"] == "COMPLETED" and ex["runner_id"] == reg["id"]
        http.close()
    finally:
        if other is not None:
            other.stop()
        plat.close()
        drop_pg_database(db_url)
