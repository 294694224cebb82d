"""Pictures of the main screens at 80×24 (pytest-textual-snapshot), against a fresh real hub.

The data is fixed (a fresh hub per module, the same objects created in the same order) and
relative times are pinned to "just now" (a monkeypatch of ``console.fmt.ago``: wall-clock time
is the only thing that would otherwise differ between runs). Update the pictures with
``pytest tests/console/test_snapshots.py --snapshot-update`` after an intended change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console import fmt
from console.app import ExekraConsole
from console.session import SessionStore
from tests.console.conftest import LiveHub, settle, start_hub

SIZE = (80, 24)

EXAMPLE = {
    "format": 1,
    "variables": {"customer": "ACME", "inbox": "/srv/in", "outbox": "/srv/out"},
    "nodes": [
        {
            "id": "read",
            "type": "file.read",
            "params": {"path": "{inbox}/order.txt", "output": "order"},
        },
        {"id": "check", "type": "logic.if", "params": {"condition": "len(order) > 0"}},
        {
            "id": "save",
            "type": "file.write",
            "params": {"path": "{outbox}/{customer}.txt", "content": "{order}"},
        },
        {
            "id": "warn",
            "type": "log.write",
            "params": {"message": "empty order for {customer}", "level": "warning"},
        },
    ],
    "edges": [
        {"from": "read", "to": "check"},
        {"from": "check", "to": "save", "port": "true"},
        {"from": "check", "to": "warn", "port": "false"},
    ],
}


@pytest.fixture(scope="module")
def snap_hub(
    tmp_path_factory: pytest.TempPathFactory, vendor_keys: tuple[Path, Path]
) -> Iterator[LiveHub]:
    hub = start_hub(tmp_path_factory.mktemp("snap-hub"), vendor_keys)
    try:
        orders = hub.call(
            "POST",
            "/api/workflows",
            json={
                "name": "Invoice intake",
                "description": "Read orders and file them",
                "graph": EXAMPLE,
            },
        )
        hub.call("POST", f"/api/workflows/{orders['id']}/publish")
        hub.call("POST", f"/api/workflows/{orders['id']}/versions", json={"graph": EXAMPLE})
        hub.call("POST", "/api/workflows", json={"name": "Nightly report", "description": ""})
        hub.call("POST", "/api/runners", json={"name": "robot-01", "labels": ["linux"]})
        hub.call("POST", "/api/runners", json={"name": "robot-02", "labels": ["windows"]})
        for priority in (0, 5):
            hub.call(
                "POST", "/api/executions", json={"workflow_id": orders["id"], "priority": priority}
            )
        yield hub
    finally:
        hub.process.stop()


@pytest.fixture
def snap_app(snap_hub: LiveHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(fmt, "ago", lambda value, now=None: "just now" if value else "—")

    def build(role: str = "ADMIN") -> ExekraConsole:
        return ExekraConsole(
            snap_hub.url, store=SessionStore(tmp_path / "s"), token=snap_hub.tokens[role]
        )

    return build


def goto(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        pilot.app.clear_notifications()
        from textual.widgets import Input

        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False  # a blinking cursor is a matter of timing
        await pilot.pause()

    return run_before


class TestLoginSnapshot:
    def test_login(self, snap_compare, tmp_path):
        # an address nobody answers on: the login screen alone, no hub-dependent text
        app = ExekraConsole("http://127.0.0.1:9", store=SessionStore(tmp_path / "s"))
        assert snap_compare(app, terminal_size=SIZE, run_before=goto())


class TestDashboardSnapshot:
    def test_dashboard(self, snap_compare, snap_app):
        assert snap_compare(snap_app(), terminal_size=SIZE, run_before=goto())


class TestWorkflowsSnapshot:
    def test_list(self, snap_compare, snap_app):
        assert snap_compare(snap_app("DEVELOPER"), terminal_size=SIZE, run_before=goto("2"))

    def test_versions(self, snap_compare, snap_app):
        app = snap_app("DEVELOPER")
        assert snap_compare(app, terminal_size=SIZE, run_before=goto("2", "enter"))


class TestEditorSnapshot:
    def test_editor_with_a_problem(self, snap_compare, snap_app):
        async def run_before(pilot: Any) -> None:
            from console.screens.editor import EditorScreen

            await settle(pilot)
            doc = {**EXAMPLE, "nodes": [dict(n) for n in EXAMPLE["nodes"]]}
            doc["nodes"][1] = {"id": "check", "type": "logic.if", "params": {}}
            wf = {"id": 1, "name": "Invoice intake"}
            await pilot.app.push_screen(EditorScreen(wf, doc, 2))
            await settle(pilot)
            await pilot.press("down")  # select "check", which has a problem
            await settle(pilot)

        assert snap_compare(snap_app("DEVELOPER"), terminal_size=SIZE, run_before=run_before)


class TestExecutionsSnapshot:
    def test_list(self, snap_compare, snap_app):
        assert snap_compare(snap_app("OPERATOR"), terminal_size=SIZE, run_before=goto("3"))


class TestRunnersSnapshot:
    def test_list(self, snap_compare, snap_app):
        assert snap_compare(snap_app(), terminal_size=SIZE, run_before=goto("4"))


class TestUsersSnapshot:
    def test_list(self, snap_compare, snap_app):
        assert snap_compare(snap_app(), terminal_size=SIZE, run_before=goto("7"))
