"""Schedules and webhooks against real ``exekra hub serve`` processes over HTTP.

One test, three hub processes, one wait for the next minute boundary (to keep the suite fast):
a SQLite hub and two hubs sharing one PostgreSQL database. A ``* * * * *`` schedule created
through the API fires at its first instant on each database, and the two PostgreSQL processes,
both running their scheduler every 0.5 s, start exactly one execution for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.support import (
    ADMIN_EMAIL,
    PASSWORD,
    HubProcess,
    create_pg_database,
    drop_pg_database,
    make_license,
    wait_for,
)

GRAPH = {
    "format": 1,
    "inputs": [{"name": "order", "type": "integer"}, {"name": "invoice", "type": "string"}],
    "nodes": [{"id": "hello", "type": "log.write", "params": {"message": "hello"}}],
    "edges": [],
}
SECRET = "process-test-secret-0123456789"


def _env(db_url: str, public_key: Path) -> dict[str, str]:
    return {
        "EXEKRA_DATABASE_URL": db_url,
        "EXEKRA_LICENSE_PUBLIC_KEY": str(public_key),
        "EXEKRA_BCRYPT_ROUNDS": "4",
        "EXEKRA_SCHEDULER_INTERVAL": "0.5",
        "EXEKRA_RATE_LIMIT_PER_MINUTE": "100000",  # the test polls the API while it waits
        "EXEKRA_LOG_LEVEL": "INFO",
    }


def _setup(url: str, private_key: Path) -> dict[str, str]:
    """License, first admin, a published workflow; return the admin's auth header."""
    res = httpx.post(url + "/api/license", content=make_license(private_key), timeout=30)
    assert res.status_code == 200, res.text
    res = httpx.post(
        url + "/api/setup/admin",
        json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada"},
        timeout=30,
    )
    assert res.status_code == 201, res.text
    return _login(url)


def _login(url: str) -> dict[str, str]:
    res = httpx.post(
        url + "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}, timeout=30
    )
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['token']}"}


def _workflow(url: str, auth: dict[str, str]) -> int:
    res = httpx.post(
        url + "/api/workflows",
        json={"name": "Every minute", "description": "", "graph": GRAPH},
        headers=auth,
        timeout=30,
    )
    assert res.status_code == 201, res.text
    wf = res.json()["id"]
    res = httpx.post(url + f"/api/workflows/{wf}/publish", headers=auth, timeout=30)
    assert res.status_code == 200, res.text
    return int(wf)


def _executions(url: str, auth: dict[str, str], trigger_id: int) -> list[dict[str, Any]]:
    res = httpx.get(
        url + "/api/executions", params={"trigger_id": trigger_id}, headers=auth, timeout=30
    )
    assert res.status_code == 200, res.text
    return list(res.json()["items"])


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_schedule_created_over_the_api_fires_on_time_once(
    tmp_path: Path, vendor_keys: tuple[Path, Path]
) -> None:
    private_key, public_key = vendor_keys
    pg_url = create_pg_database()
    try:
        with ExitStack() as stack:
            lite = HubProcess(
                tmp_path / "lite",
                _env(f"sqlite:///{tmp_path / 'lite.db'}", public_key),
                tmp_path / "lite.log",
            ).start()
            stack.callback(lite.stop)
            pg_a = HubProcess(tmp_path / "pg", _env(pg_url, public_key), tmp_path / "a.log").start()
            stack.callback(pg_a.stop)
            pg_b = HubProcess(tmp_path / "pg", _env(pg_url, public_key), tmp_path / "b.log").start()
            stack.callback(pg_b.stop)

            hubs: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {}
            for name, url in (("sqlite", lite.url), ("postgres", pg_a.url)):
                auth = _setup(url, private_key)
                wf = _workflow(url, auth)
                res = httpx.post(
                    url + "/api/triggers",
                    json={"workflow_id": wf, "type": "SCHEDULE", "cron": "* * * * *"},
                    headers=auth,
                    timeout=30,
                )
                assert res.status_code == 201, res.text
                hubs[name] = (url, auth, res.json())

            for name, (url, auth, trig) in hubs.items():
                due = _parse(trig["next_run"])
                runs = wait_for(
                    lambda url=url, auth=auth, trig=trig: _executions(url, auth, trig["id"]),
                    timeout=150,
                    interval=0.5,
                    what=f"the {name} schedule to fire",
                )
                # the first fire (the list is newest first: on a loaded machine setting up the
                # other hub can take past the next minute, and "* * * * *" fires again)
                run = min(runs, key=lambda r: r["id"])
                assert run["trigger"]["type"] == "SCHEDULE", run
                assert run["trigger"]["trigger_id"] == trig["id"]
                assert _parse(run["trigger"]["scheduled_for"]) == due
                assert "misfire" not in run["trigger"]  # on time, not a catch-up
                assert _parse(run["queued_at"]) >= due  # never early
                late = (_parse(run["queued_at"]) - due).total_seconds()
                print(f"{name}: fired {late:.2f} s after its instant")  # a figure, not a limit

            # both PostgreSQL processes run their scheduler; the instant fired once
            url, auth, trig = hubs["postgres"]
            b_auth = _login(pg_b.url)
            wait_for(
                lambda: (
                    httpx.get(
                        pg_b.url + f"/api/triggers/{trig['id']}", headers=b_auth, timeout=30
                    ).json()["next_run"]
                    != trig["next_run"]
                ),
                timeout=30,
                what="next_run to advance",
            )
            due = trig["next_run"]
            for _ in range(6):  # several scheduler rounds of both processes
                same = [
                    r
                    for r in _executions(pg_b.url, b_auth, trig["id"])
                    if _parse(r["trigger"]["scheduled_for"]) == _parse(due)
                ]
                assert len(same) == 1, same
                time.sleep(0.5)

            # a signed webhook, as the README shows it with curl
            res = httpx.post(
                url + "/api/triggers",
                json={
                    "workflow_id": trig["workflow_id"],
                    "type": "WEBHOOK",
                    "webhook_secret": SECRET,
                },
                headers=auth,
                timeout=30,
            )
            hook = res.json()
            body = json.dumps({"order": 7}).encode()
            sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            res = httpx.post(
                hook["url"], content=body, headers={"X-Exekra-Signature": sig}, timeout=30
            )
            assert res.status_code == 202, res.text
            res = httpx.post(hook["url"], content=body, timeout=30)
            assert res.status_code == 401
    finally:
        drop_pg_database(pg_url)
