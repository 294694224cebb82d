"""Make the README's console pictures: ``.venv/bin/python -m tests.console.docs_screenshots``.

Starts a throw-away hub, fills it with demo data (workflows, runners sending heartbeats,
finished and failed executions driven through the runner API) and saves SVG screenshots of the
console (``App.save_screenshot``) into ``docs/``.
"""

from __future__ import annotations

import asyncio
import math
import random
import tempfile
from pathlib import Path
from typing import Any

import httpx

from console.app import ExekraConsole
from console.session import SessionStore
from tests.console.conftest import LiveHub, settle, start_hub
from tests.console.test_snapshots import EXAMPLE
from tests.support import REPO

DOCS = REPO / "docs"
SIZE = (100, 30)


def seed(hub: LiveHub) -> None:
    # the demo runs pass an input "n": both workflows declare it
    example = {**EXAMPLE, "inputs": [{"name": "n", "type": "integer"}]}
    simple = {
        "format": 1,
        "variables": {},
        "inputs": [{"name": "n", "type": "integer"}],
        "nodes": [{"id": "say", "type": "log.write", "params": {"message": "report"}}],
        "edges": [],
    }
    wf = hub.call(
        "POST",
        "/api/workflows",
        json={"name": "Invoice intake", "description": "Read orders, file them", "graph": example},
    )
    hub.call("POST", f"/api/workflows/{wf['id']}/publish")
    hub.call("POST", f"/api/workflows/{wf['id']}/versions", json={"graph": example})
    report = hub.call(
        "POST",
        "/api/workflows",
        json={"name": "Nightly report", "description": "Sales summary", "graph": simple},
    )
    hub.call("POST", f"/api/workflows/{report['id']}/publish")
    hub.call("POST", "/api/workflows", json={"name": "Customer onboarding"})
    runners = [
        hub.call("POST", "/api/runners", json={"name": name, "labels": labels})
        for name, labels in (
            ("robot-01", ["linux"]),
            ("robot-02", ["windows", "excel"]),
            ("robot-03", ["linux"]),
        )
    ]
    with httpx.Client(base_url=hub.url, timeout=10) as client:
        tokens = []
        for r in runners[:2]:
            res = client.post(
                "/api/runner/authenticate",
                json={"machine_key": r["machine_key"], "machine_secret": r["machine_secret"]},
            )
            tokens.append(res.json()["token"])
        rng = random.Random(7)
        for i in range(12):
            for j, token in enumerate(tokens):
                client.post(
                    "/api/runner/heartbeat",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "cpu": 30 + 25 * math.sin(i / 2 + j) + rng.random() * 10,
                        "memory": 40 + i * 2 + j * 10,
                        "disk": 61 + j,
                    },
                )
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        for k in range(5):
            hub.call(
                "POST",
                "/api/executions",
                json={"workflow_id": report["id"] if k % 2 else wf["id"], "inputs": {"n": k}},
            )
            got = client.get("/api/runner/poll", headers=auth)
            if got.status_code != 200:
                continue
            ex = got.json()["execution"]
            client.post(
                f"/api/runner/executions/{ex['id']}/status",
                headers=auth,
                json={
                    "attempt": ex["attempt"],
                    "status": "RUNNING",
                    "logs": [{"seq": 0, "message": "started", "node_id": "read"}],
                },
            )
            final: dict[str, Any] = {
                "attempt": ex["attempt"],
                "status": "COMPLETED",
                "metrics": {
                    "cpu_avg": 12.5,
                    "cpu_peak": 40.0,
                    "mem_avg_mb": 80.0,
                    "mem_peak_mb": 120.0,
                },
                "logs": [{"seq": 1, "message": "done", "node_id": "save"}],
            }
            if k == 3:
                final.update(status="FAILED", error="file not found: /srv/in/order.txt")
            client.post(f"/api/runner/executions/{ex['id']}/status", headers=auth, json=final)
    hub.call("POST", "/api/executions", json={"workflow_id": wf["id"]})


async def shot(hub: LiveHub, keys: list[str], name: str, role: str = "ADMIN") -> None:
    store = SessionStore(Path(tempfile.mkdtemp()))
    app = ExekraConsole(hub.url, store=store, token=hub.tokens[role])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.3)
            await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.3)
        app.save_screenshot(name, path=str(DOCS))


async def shots(hub: LiveHub) -> None:
    await shot(hub, [], "console-dashboard.svg")
    await shot(hub, ["2", "e", "down"], "console-editor.svg", role="DEVELOPER")
    await shot(hub, ["4"], "console-runners.svg")


def main() -> None:
    from hub.services.license import keygen

    with tempfile.TemporaryDirectory() as tmp:
        keys = keygen(Path(tmp) / "vendor")
        hub = start_hub(Path(tmp), keys)
        try:
            seed(hub)
            asyncio.run(shots(hub))
        finally:
            hub.process.stop()
    print(f"saved console screenshots in {DOCS}")


if __name__ == "__main__":
    main()
