"""Console rough edges a newcomer met in the first hour (Pilot, against a real hub)."""

from __future__ import annotations

import pytest
from textual.app import App

from console import fmt
from console.editor.dialogs import Toolbox, rank
from console.screens.execution_detail import ExecutionDetailScreen
from console.screens.executions import ExecutionsScreen
from tests.console.conftest import settle, wait_screen
from tests.console.test_screens import find_row, go, new_workflow, notes
from workflows import catalog

pytestmark = pytest.mark.anyio


class _ToolboxHost(App[None]):
    result: str | None = "not chosen"

    def on_mount(self) -> None:
        self.push_screen(Toolbox(), self._chosen)

    def _chosen(self, value: str | None) -> None:
        self.result = value
        self.exit()


async def test_toolbox_search_puts_the_best_match_first() -> None:
    app = _ToolboxHost()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("l", "o", "g", "w")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert app.result == "log.write"  # not logic.switch, which came first by category


def test_ranking_prefers_the_typed_start_then_the_action_then_fuzzy() -> None:
    acts = [a for group in catalog.by_category().values() for a in group]
    assert [a.type for a in rank("logw", acts)][0] == "log.write"
    assert rank("write", acts)[0].type.endswith(".write")  # the action typed from its start
    assert rank("delay", acts)[0].type == "flow.delay"
    assert rank("zzzz", acts) == []


def test_sub_second_durations_and_fixed_percent_scale() -> None:
    assert fmt.duration(0.04) == "40 ms" and fmt.duration(0.0) == "0 ms"
    assert fmt.duration(12.34) == "12.3 s" and fmt.duration(245) == "4m 05s"
    assert fmt.duration(None) == "—"
    # a flat 5 % stays at the bottom; 100 % fills both rows
    top, bottom = fmt.percent_bars([5, 5, 5, 100], 4)
    assert top == "   █" and bottom[:3] == "▁▁▁" and bottom[3] == "█"


async def test_stop_is_offered_only_while_it_can_change_something(make_app, live_hub):
    wf = new_workflow(live_hub)
    ex = live_hub.call("POST", "/api/executions", "OPERATOR", json={"workflow_id": wf["id"]})
    app = make_app("OPERATOR")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await go(pilot, "3", ExecutionsScreen)
        await find_row(pilot, wf["name"])
        await pilot.press("enter")
        detail = await wait_screen(pilot, ExecutionDetailScreen)
        await settle(pilot)
        assert detail.execution_id == ex["id"]
        assert detail.check_action("stop", ()) is True  # QUEUED: a stop ends it
        await pilot.press("s")
        await settle(pilot)
        await settle(pilot)
        assert live_hub.call("GET", f"/api/executions/{ex['id']}")["status"] == "STOPPED"
        assert f"execution {ex['id']} stopped" in notes(app)
        assert not any("RUNNING" in n for n in notes(app))
        assert detail.check_action("stop", ()) is False  # finished: not offered any more
