"""Regenerate the README's web view pictures: ``python -m tests.web.docs_screenshots [OUT_DIR]``.

Starts a real hub, fills it with a day of demo activity and photographs the dashboard and a
workflow graph in Chromium at 1280 px (``docs/web-dashboard.png``, ``docs/web-workflow-graph.png``).
License, users, workflows, triggers and runners go through the REST API; the day of past
executions is written into the hub's SQLite database, since the API (rightly) cannot backdate.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

import httpx
import peewee
from playwright.sync_api import sync_playwright

from hub.models import ALL_MODELS, Execution, Workflow, utcnow
from hub.services.license import keygen
from tests.support import ADMIN_EMAIL, PASSWORD, REPO, HubProcess, make_license
from tests.web.test_browser import CHROMIUM_ARGS, ApiRunner, _post
from workflows import examples

NAMES = {
    "order_file": "Order intake",
    "split_names": "Customer names clean-up",
    "http_status": "Website health check",
    "python_totals": "Invoice totals approval",
}


def seed(proc: HubProcess, private_key: Path) -> int:
    client = httpx.Client(base_url=proc.url, timeout=10)
    assert client.post("/api/license", content=make_license(private_key)).status_code == 200
    admin = {"email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada Admin"}
    assert client.post("/api/setup/admin", json=admin).status_code == 201
    token = client.post(
        "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    ids = {}
    for example, name in NAMES.items():
        doc = examples.load(example)
        graph = doc.get("graph", doc)
        wf = _post(client, "/api/workflows", {"name": name, "graph": graph}, auth)
        _post(client, f"/api/workflows/{wf['id']}/publish", {}, auth)
        ids[example] = wf["id"]
    _post(
        client,
        "/api/triggers",
        {"workflow_id": ids["order_file"], "type": "SCHEDULE", "cron": "*/15 8-18 * * 1-5"},
        auth,
    )
    rng = random.Random(7)
    runners = []
    for name, labels in (("finance-pc-1", ["windows", "excel"]), ("ops-vm-2", ["linux"])):
        r = _post(client, "/api/runners", {"name": name, "labels": labels}, auth)
        runner = ApiRunner(client, r["machine_key"], r["machine_secret"])
        for i in range(30):
            runner.heartbeat(cpu=20 + 30 * rng.random() + i, memory=35 + 10 * rng.random())
        runners.append((r["id"], runner))
    _post(client, "/api/runners", {"name": "warehouse-kiosk"}, auth)

    # a day of finished executions, straight into the database (the API cannot backdate)
    database = peewee.SqliteDatabase(str(proc.data_dir / "hub.db"), pragmas={"busy_timeout": 30000})
    now = utcnow()
    with database.bind_ctx(ALL_MODELS):
        workflow_ids = [w.id for w in Workflow.select()]
        for hours_ago in range(24, 0, -1):
            busy = 2 + int(8 * max(0.0, 1 - abs(12 - (hours_ago % 24)) / 8)) + rng.randint(0, 3)
            for _ in range(busy):
                queued = now - dt.timedelta(hours=hours_ago, minutes=rng.randint(0, 59))
                status = "FAILED" if rng.random() < 0.12 else "COMPLETED"
                started = queued + dt.timedelta(seconds=rng.randint(1, 20))
                Execution.create(
                    workflow=rng.choice(workflow_ids),
                    version=1,
                    status=status,
                    runner=rng.choice(runners)[0],
                    queued_at=queued,
                    started_at=started,
                    finished_at=started + dt.timedelta(seconds=rng.randint(5, 240)),
                    trigger={"type": rng.choice(["SCHEDULE", "MANUAL", "WEBHOOK"])},
                    error="http.request: timed out after 30 s" if status == "FAILED" else None,
                    failed_node="call" if status == "FAILED" else None,
                    metrics={"cpu_avg": 12.0, "cpu_peak": 48.0, "mem_avg_mb": 95.0},
                )
    database.close()
    # and one running right now, through the runner API
    run = _post(client, "/api/executions", {"workflow_id": ids["order_file"]}, auth)
    for _runner_id, runner in runners:
        res = client.get("/api/runner/poll", headers=runner.auth)
        if res.status_code == 200:
            job = res.json()["execution"]
            runner.report(job, "RUNNING")
            break
    assert run["id"]
    return ids["order_file"]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        private, public = keygen(base / "vendor")
        env = {"EXEKRA_LICENSE_PUBLIC_KEY": str(public), "EXEKRA_BCRYPT_ROUNDS": "4"}
        proc = HubProcess(base / "data", env, base / "hub.log").start()
        try:
            workflow_id = seed(proc, private)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(base_url=proc.url, viewport={"width": 1280, "height": 800})
                page.goto("/signin")
                page.get_by_label("Email").fill(ADMIN_EMAIL)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(proc.url + "/")
                page.screenshot(path=str(out / "web-dashboard.png"), full_page=True)
                page.goto(f"/workflows/{workflow_id}")
                page.screenshot(path=str(out / "web-workflow-graph.png"), full_page=True)
                browser.close()
        finally:
            proc.stop()
    print(f"wrote {out / 'web-dashboard.png'} and {out / 'web-workflow-graph.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs")
