"""The console shows what a workflow accepts from outside and offers it in the run dialog, and
the credentials page binds credentials to hosts (issue 17 item 4). Driven by keys against the
real hub process of ``tests/console/conftest.py``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Static

from console.modals import FormModal, PickModal
from console.screens.credentials import CredentialsScreen
from console.screens.execution_detail import ExecutionDetailScreen
from console.screens.workflow_detail import WorkflowDetailScreen
from console.screens.workflows import WorkflowsScreen
from tests.console.conftest import settle, wait_screen
from tests.console.test_screens import find_row, go, notes, table_text, type_text

pytestmark = pytest.mark.anyio

DECLARED: dict[str, Any] = {
    "format": 1,
    "variables": {},
    "inputs": [
        {"name": "order", "type": "integer", "required": True, "description": "order number"},
        {"name": "region", "type": "string", "default": "EU"},
        {"name": "rush", "type": "boolean"},
    ],
    "nodes": [{"id": "say", "type": "log.write", "params": {"message": "{order} {region}"}}],
    "edges": [],
}


def publish(hub: Any, graph: dict[str, Any]) -> dict[str, Any]:
    name = f"wf-{uuid.uuid4().hex[:8]}"
    wf = hub.call("POST", "/api/workflows", "DEVELOPER", json={"name": name, "graph": graph})
    hub.call("POST", f"/api/workflows/{wf['id']}/publish", "DEVELOPER")
    return hub.call("GET", f"/api/workflows/{wf['id']}")


def header(screen: Any) -> str:
    return Text.from_markup(str(screen.query_one("#wf-info", Static).render())).plain


def executions(hub: Any, wf: dict[str, Any]) -> list[dict[str, Any]]:
    return hub.call("GET", "/api/executions", params={"workflow_id": wf["id"]})["items"]


async def open_detail(pilot: Any, wf: dict[str, Any]) -> Any:
    await settle(pilot)
    await go(pilot, "2", WorkflowsScreen)
    await find_row(pilot, wf["name"])
    await pilot.press("enter")
    detail = await wait_screen(pilot, WorkflowDetailScreen)
    await settle(pilot)
    return detail


class TestRunDialogInputs:
    async def test_declared_inputs_are_shown_and_offered(self, make_app, live_hub):
        wf = publish(live_hub, DECLARED)
        app = make_app("OPERATOR")
        async with app.run_test(size=(120, 36)) as pilot:
            detail = await open_detail(pilot, wf)
            text = header(detail)
            assert 'order* integer, region string = "EU", rush boolean' in text, text
            await pilot.press("g")
            await wait_screen(pilot, PickModal)
            await pilot.press("enter")  # any runner
            form = await wait_screen(pilot, FormModal)
            assert [f.name for f in form.fields] == ["in-order", "in-region", "in-rush"]
            assert form.fields[1].value == "EU" and form.fields[0].required
            await pilot.press("ctrl+s")  # the required order is missing: nothing starts
            await pilot.pause()
            error = form.query_one("#err-in-order")  # beside the field, the form kept
            assert error.display and "order (integer) is required" in str(error.render())
            assert isinstance(app.screen, FormModal) and executions(live_hub, wf) == []
            await type_text(pilot, "42")
            await pilot.press("ctrl+s")
            await wait_screen(pilot, ExecutionDetailScreen)
            (execution,) = executions(live_hub, wf)
            assert execution["inputs"] == {"order": 42, "region": "EU"}

    async def test_a_graph_without_a_declaration_runs_without_inputs(self, make_app, live_hub):
        legacy = {**DECLARED, "variables": {"order": 1}}
        del legacy["inputs"]
        wf = publish(live_hub, legacy)
        app = make_app("OPERATOR")
        async with app.run_test(size=(120, 36)) as pilot:
            detail = await open_detail(pilot, wf)
            assert "none (no declaration)" in header(detail), header(detail)
            await pilot.press("g")
            await wait_screen(pilot, PickModal)
            await pilot.press("enter")
            await wait_screen(pilot, ExecutionDetailScreen)
            assert any("takes no inputs" in n for n in notes(app)), notes(app)
            assert [e["inputs"] for e in executions(live_hub, wf)] == [{}]


class TestCredentialHosts:
    async def test_allowed_hosts_are_set_shown_and_warned_about(self, make_app, live_hub):
        bound, loose = f"erp-{uuid.uuid4().hex[:6]}", f"any-{uuid.uuid4().hex[:6]}"
        app = make_app("DEVELOPER")
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "6", CredentialsScreen)
            for name, hosts in ((bound, "ERP.acme.local, *.acme.local:8443"), (loose, "")):
                await pilot.press("n")
                form = await wait_screen(pilot, FormModal)
                assert [f.name for f in form.fields][3] == "allowed_hosts"
                await type_text(pilot, name)
                await pilot.press("tab", "tab")
                await type_text(pilot, "pw-" + name)
                await pilot.press("tab")
                await type_text(pilot, hosts)
                await pilot.press("ctrl+s")
                await wait_screen(pilot, CredentialsScreen)
                await settle(pilot)
            stored = {
                c["name"]: c["allowed_hosts"]
                for c in live_hub.call("GET", "/api/credentials", "DEVELOPER")["items"]
            }
            assert stored[bound] == ["erp.acme.local", "*.acme.local:8443"]
            assert stored[loose] == []
            text = table_text(screen)
            assert "erp.acme.local, *.acme.local:8443" in text and "any host" in text
            warnings = [n for n in notes(app) if "may be sent to any host" in n]
            assert len(warnings) == 1 and loose in warnings[0], notes(app)
            # edit: a bad pattern shows the hub's reason and changes nothing
            await find_row(pilot, bound)
            await pilot.press("e")
            await wait_screen(pilot, FormModal)
            await pilot.press("tab", "tab", "tab")
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, "*.local")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert any("too broad" in n for n in notes(app)), notes(app)
            after = {
                c["name"]: c["allowed_hosts"]
                for c in live_hub.call("GET", "/api/credentials", "DEVELOPER")["items"]
            }
            assert after[bound] == ["erp.acme.local", "*.acme.local:8443"]
