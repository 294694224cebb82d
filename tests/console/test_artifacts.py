"""The console's execution page and artifacts: list, save to a file, apply selector repairs.

Driven with Textual's Pilot against the real hub process of the console tests; the execution
gets its artifact and repair over the runner protocol (HTTP), as a runner would send them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import DataTable, Input

from console.modals import FormModal
from console.screens.execution_detail import ExecutionDetailScreen, default_save_path
from tests.console.conftest import LiveHub, settle, wait_screen

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def failed_with_evidence(live_hub: LiveHub) -> Iterator[dict[str, Any]]:
    """A FAILED execution with two artifacts and one selector repair; its runner is deleted
    afterwards (the session hub's license counts runners)."""
    name = f"wf-{uuid.uuid4().hex[:8]}"
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [{"id": "email", "type": "variable.set", "params": {"name": "t", "value": "#e"}}],
        "edges": [],
    }
    wf = live_hub.call("POST", "/api/workflows", "DEVELOPER", json={"name": name, "graph": graph})
    live_hub.call("POST", f"/api/workflows/{wf['id']}/publish", "DEVELOPER")
    runner = live_hub.call("POST", "/api/runners", json={"name": f"ev-{uuid.uuid4().hex[:6]}"})
    try:
        with httpx.Client(base_url=live_hub.url, timeout=10) as http:
            auth = {
                "machine_key": runner["machine_key"],
                "machine_secret": runner["machine_secret"],
            }
            token = http.post("/api/runner/authenticate", json=auth).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            assert http.post("/api/runner/heartbeat", json={}, headers=h).status_code == 200
            ex = live_hub.call(
                "POST", "/api/executions", "OPERATOR", json={"workflow_id": wf["id"]}
            )
            while True:  # other tests may have left work queued: fail anything else we get
                payload = http.get("/api/runner/poll", headers=h).json()["execution"]
                body = {"attempt": payload["attempt"], "status": "RUNNING"}
                http.post(f"/api/runner/executions/{payload['id']}/status", json=body, headers=h)
                if payload["id"] == ex["id"]:
                    break
                body = {"attempt": payload["attempt"], "status": "FAILED", "error": "x"}
                http.post(f"/api/runner/executions/{payload['id']}/status", json=body, headers=h)
            base = f"/api/runner/executions/{ex['id']}"
            attempt = payload["attempt"]
            ids = []
            for fname, data, kind, ctype in (
                ("failure.png", PNG, "screenshot", "image/png"),
                ("page.html", b"<p>[b]not markup[/b]</p>", "html", "text/html"),
            ):
                res = http.post(
                    f"{base}/artifacts",
                    params={"attempt": attempt, "name": fname, "kind": kind, "node_id": "email"},
                    content=data,
                    headers={**h, "Content-Type": ctype},
                )
                assert res.status_code == 201, res.text
                ids.append(res.json()["id"])
            repair = {"attempt": attempt, "node_id": "email", "param": "value", "old": "#e",
                      "new": {"selector": "input[name=email]"}, "score": 0.9}  # fmt: skip
            assert http.post(f"{base}/repairs", json=repair, headers=h).status_code == 201
            done = {"attempt": attempt, "status": "FAILED", "error": "gone", "failed_node": "email"}
            assert http.post(f"{base}/status", json=done, headers=h).status_code == 200
        yield {"execution": ex, "workflow": wf, "artifacts": ids}
    finally:
        live_hub.call("DELETE", f"/api/runners/{runner['id']}")


async def open_detail(pilot: Any, execution_id: int) -> ExecutionDetailScreen:
    await settle(pilot)
    pilot.app.push_screen(ExecutionDetailScreen(execution_id))
    screen = await wait_screen(pilot, ExecutionDetailScreen)
    await settle(pilot)
    return screen


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_lists_and_saves_artifacts(make_app, failed_with_evidence, tmp_path: Path) -> None:
    ex = failed_with_evidence["execution"]
    app = make_app("OPERATOR")
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_detail(pilot, ex["id"])
        table = screen.query_one("#artifacts", DataTable)
        assert table.display and table.row_count == 2
        cells = [str(c) for c in table.get_row_at(1)]
        assert cells[:3] == ["page.html", "html", "email"]
        summary = str(screen.query_one("#summary").render())
        assert "1 selector repair(s) at email" in summary
        assert "applies them" not in summary  # an OPERATOR is not offered the key

        # save the first one (the screenshot) to a chosen file
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("d")
        modal = await wait_screen(pilot, FormModal)
        field = modal.query_one("#f-path", Input)
        assert field.value == str(default_save_path("failure.png"))
        target = tmp_path / "out" / "shot.png"
        field.value = str(target)
        await pilot.press("ctrl+s")
        await wait_screen(pilot, ExecutionDetailScreen)
        await settle(pilot)
        assert target.read_bytes() == PNG
        assert any(f"to {target}" in n for n in notes(app))

        # a file that exists is never replaced; a folder receives the artifact under its name
        table.move_cursor(row=1)
        for where in (target, tmp_path):
            await pilot.press("d")
            modal = await wait_screen(pilot, FormModal)
            modal.query_one("#f-path", Input).value = str(where)
            await pilot.press("ctrl+s")
            await wait_screen(pilot, ExecutionDetailScreen)
            await settle(pilot)
        assert target.read_bytes() == PNG
        assert any("exists; choose another name" in n for n in notes(app))
        assert (tmp_path / "page.html").read_bytes() == b"<p>[b]not markup[/b]</p>"

        # an operator's `p` does nothing: the action is refused below DEVELOPER
        await pilot.press("p")
        await settle(pilot)
        assert not any("draft version" in n for n in notes(app))


async def test_developer_applies_repairs_as_a_draft(make_app, live_hub, failed_with_evidence):
    ex, wf = failed_with_evidence["execution"], failed_with_evidence["workflow"]
    app = make_app("DEVELOPER")
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_detail(pilot, ex["id"])
        assert "applies them as a new draft" in str(screen.query_one("#summary").render())
        await pilot.press("p")
        await settle(pilot)
        assert any("saved as draft version 2" in n and "email" in n for n in notes(app)), notes(app)
    version = live_hub.call("GET", f"/api/workflows/{wf['id']}/versions/2", "DEVELOPER")
    assert version["status"] == "draft"
    value = version["graph"]["nodes"][0]["params"]["value"]
    assert value == {"selector": "input[name=email]", "fallbacks": ["#e"]}
