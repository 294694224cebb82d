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


async def test_a_refused_trigger_form_stays_open_with_the_error_beside_the_field(
    make_app, live_hub
):
    import uuid

    from console.modals import FormModal
    from console.screens.triggers import TriggersScreen
    from tests.console.test_editor import type_text

    wf = new_workflow(live_hub, name=f"t-{uuid.uuid4().hex[:6]}")
    app = make_app("DEVELOPER")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await go(pilot, "5", TriggersScreen)
        await pilot.press("n")
        form = await wait_screen(pilot, FormModal)
        form.query_one("#f-workflow_id").value = wf["id"]
        form.query_one("#f-name").focus()
        name = f"bad-{uuid.uuid4().hex[:4]}"
        await type_text(pilot, name)
        await pilot.press("tab")
        await type_text(pilot, "61 * * * *")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # still open, nothing lost
        error = form.query_one("#err-cron")
        assert error.display and "minute field '61'" in str(error.render())
        assert form.query_one("#f-name").value == name
        assert form.query_one("#f-cron").value == "61 * * * *"
        assert not [t for t in live_hub.call("GET", "/api/triggers")["items"] if t["name"] == name]
        # corrected in place, it saves and closes
        form.query_one("#f-cron").value = "0 7 * * 1"
        await pilot.press("ctrl+s")
        await wait_screen(pilot, TriggersScreen)
        await settle(pilot)
        assert [t for t in live_hub.call("GET", "/api/triggers")["items"] if t["name"] == name]


async def test_first_run_setup_with_a_wrong_license_path_keeps_the_form(tmp_path, vendor_keys):
    from console.app import ExekraConsole
    from console.modals import FormModal
    from console.session import SessionStore
    from tests.support import HubProcess

    hub = HubProcess(
        tmp_path / "data",
        {"EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]), "EXEKRA_BCRYPT_ROUNDS": "4"},
        tmp_path / "hub.log",
    ).start()
    try:
        app = ExekraConsole(hub.url, store=SessionStore(tmp_path / "s"))
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("f2")
            form = await wait_screen(pilot, FormModal)
            missing = tmp_path / "nope.lic"
            form.query_one("#f-license").value = str(missing)
            form.query_one("#f-email").value = "admin@acme.test"
            form.query_one("#f-name").value = "Ada"
            form.query_one("#f-password").value = "correct-horse-battery"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is form
            error = form.query_one("#err-license")
            assert error.display and str(missing) in str(error.render())
            assert form.query_one("#f-email").value == "admin@acme.test"
    finally:
        hub.stop()


class _FormHost(App[None]):
    def __init__(self, screen: object) -> None:
        super().__init__()
        self.dialog = screen
        self.result: object = "not closed"

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self._on_result)  # type: ignore[arg-type]

    def _on_result(self, value: object) -> None:
        self.result = value


async def test_multi_line_fields_suggest_variables() -> None:
    from console.editor.dialogs import VariableSuggester
    from console.modals import Field, FormModal

    form = FormModal(
        "text.format",
        [
            Field(
                "template",
                "template (text)",
                kind="textarea",
                suggester=VariableSuggester(["customer", "rows"]),
            )
        ],  # fmt: skip
    )
    app = _FormHost(form)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("D", "e", "a", "r", "space", "{", "c", "u")
        await pilot.pause()
        hint = form.query_one("#sugg-template")
        assert hint.display and "{customer}" in str(hint.render())
        await pilot.press("tab")
        await pilot.pause()
        assert form.query_one("#f-template").text == "Dear {customer}"
        assert not form.query_one("#sugg-template").display
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.result == {"template": "Dear {customer}"}


async def test_a_secret_shown_once_wraps_and_can_be_saved_to_a_file(tmp_path, monkeypatch) -> None:
    import stat

    from console.modals import TextModal

    monkeypatch.chdir(tmp_path)
    command = "exekra runner connect --hub http://hub:5000 --key FC-1 --secret " + "ab" * 32
    modal = TextModal("Runner r1 registered", command, wrap=True, save_as="exekra-runner-r1.txt")
    app = _FormHost(modal)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        area = modal.query_one("#text")
        assert area.soft_wrap  # the --secret part stays on screen at 80 columns
        await pilot.press("s")
        await pilot.pause()
    saved = tmp_path / "exekra-runner-r1.txt"
    assert saved.read_text() == command
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


async def test_esc_leaves_the_filter_and_lists_refresh_after_a_dialog(make_app, live_hub):
    import uuid

    from console.screens.workflows import WorkflowsScreen
    from tests.console.test_screens import table_text

    app = make_app("DEVELOPER")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = await go(pilot, "2", WorkflowsScreen)
        await pilot.press("slash", "z", "z")
        await pilot.pause()
        assert app.focused is screen.query_one("#filter")
        await pilot.press("escape")
        await pilot.pause()
        assert screen.query_one("#filter").value == ""
        assert app.focused is screen.query_one("#table")
        assert app.screen is screen  # esc left the filter, not the page
        # something changes while a dialog covers the page: closing it shows the change
        name = f"fresh-{uuid.uuid4().hex[:6]}"
        await pilot.press("question_mark")
        await pilot.pause()
        new_workflow(live_hub, name=name)
        await pilot.press("escape")
        await settle(pilot)
        assert name in table_text(screen)
        # the page keys are named on screen
        footer = " ".join(str(k.render()) for k in app.screen.query("FooterKey"))
        assert "1-9" in footer and "Pages" in footer
