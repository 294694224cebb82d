"""The keyboard graph editor: the pure model, and building a workflow by keys alone."""

from __future__ import annotations

import pytest

from console.editor.canvas import render
from console.editor.dialogs import Toolbox
from console.editor.model import DEFAULT_PORT, EditError, EditorModel
from console.modals import FormModal, PickModal
from console.screens.editor import EditorScreen
from console.screens.execution_detail import ExecutionDetailScreen
from console.screens.workflows import WorkflowsScreen
from tests.console.conftest import settle, wait_screen

pytestmark = pytest.mark.anyio


class TestEditorModel:
    def test_add_connect_undo_redo(self):
        m = EditorModel()
        a = m.add_node("variable.set")
        b = m.add_node("log.write", after=a)
        assert m.edges == [{"from": a, "to": b}]  # auto-connected from the selected node
        assert m.node(b)["params"] == {"level": "info"}  # defaults filled in
        assert m.node(b)["position"][1] > m.node(a)["position"][1]
        c = m.add_node("logic.if", after=b)
        d = m.add_node("log.write", after=c)
        assert not any(e["from"] == c for e in m.edges)  # logic.if needs a port: not automatic
        m.connect(c, d, "true")
        assert {"from": c, "to": d, "port": "true"} in m.edges
        with pytest.raises(EditError):
            m.connect(c, d, "true")
        with pytest.raises(EditError):
            m.connect(c, c)
        before = m.graph()
        m.delete(c)
        assert c not in m.ids() and all(c not in (e["from"], e["to"]) for e in m.edges)
        assert m.undo()
        assert m.graph() == before
        assert m.redo()
        assert c not in m.ids()

    def test_ports_variables_problems(self):
        m = EditorModel()
        a = m.add_node("variable.set")
        m.set_params(a, {"name": "who", "value": "world"}, "set who")
        b = m.add_node("logic.if", after=a)
        assert m.ports(b) == ["true", "false", "error"]
        assert m.ports(a) == [DEFAULT_PORT, "error"]
        assert "who" in m.variables()
        m.doc["inputs"] = [{"name": "order", "type": "integer"}]  # declared inputs are variables
        assert "order" in m.variables() and m.graph()["inputs"] == m.doc["inputs"]
        problems = m.problems_by_node()
        assert problems.get(b)  # the condition is missing
        assert not problems.get(a)
        m.move(a, 4, 1)
        assert m.node(a)["position"] == [4, 1]
        text = render(m, selected=b, problems=problems).plain
        assert "set who" in text and "logic.if" in text and "!" in text
        m.set_params(b, {"condition": "who == 'world'"})  # validation follows every change
        assert not m.problems_by_node().get(b)
        m.undo()
        assert m.problems_by_node().get(b)

    def test_layout_of_a_graph_without_positions(self):
        doc = {
            "format": 1,
            "variables": {},
            "nodes": [
                {"id": "a", "type": "log.write", "params": {"message": "x"}},
                {"id": "b", "type": "log.write", "params": {"message": "y"}},
            ],
            "edges": [{"from": "a", "to": "b"}],
        }
        m = EditorModel(doc)
        assert m.node("a")["position"][1] < m.node("b")["position"][1]
        assert not m.problems()
        m.disconnect(0)
        assert m.edges == []


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


async def build_three_nodes(pilot) -> EditorScreen:
    """From the workflows page: a new workflow of three nodes, by keys alone; returns the
    editor (not saved yet)."""
    await pilot.press("n")
    await settle(pilot)
    editor = pilot.app.screen
    assert isinstance(editor, EditorScreen)
    # node 1: variable.set who = world
    await pilot.press("a")
    await wait_screen(pilot, Toolbox)
    await type_text(pilot, "variable.set")
    await pilot.press("enter")
    await wait_screen(pilot, FormModal)
    await type_text(pilot, "who")
    await pilot.press("tab")
    await type_text(pilot, "world")
    await pilot.press("ctrl+s")
    await wait_screen(pilot, EditorScreen)
    # node 2: log.write "hi {who}"
    await pilot.press("a")
    await wait_screen(pilot, Toolbox)
    await type_text(pilot, "log.write")
    await pilot.press("enter")
    await wait_screen(pilot, FormModal)
    await type_text(pilot, "hi {who}")
    await pilot.press("ctrl+s")
    await wait_screen(pilot, EditorScreen)
    # node 3: flow.delay 0
    await pilot.press("a")
    await wait_screen(pilot, Toolbox)
    await type_text(pilot, "flow.delay")
    await pilot.press("enter")
    await wait_screen(pilot, FormModal)
    await type_text(pilot, "0")
    await pilot.press("ctrl+s")
    await wait_screen(pilot, EditorScreen)
    return editor


async def save_and_publish(pilot, editor: EditorScreen, name: str) -> None:
    await pilot.press("s")
    await wait_screen(pilot, FormModal)
    await type_text(pilot, name)
    await pilot.press("enter")
    await settle(pilot)
    assert editor.workflow and editor.version == 1
    await pilot.press("p")
    await settle(pilot)


async def run_from_list(pilot, name: str) -> ExecutionDetailScreen:
    await pilot.press("escape")
    await wait_screen(pilot, WorkflowsScreen)
    pilot.app.screen.reload()
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, name)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("g")
    await wait_screen(pilot, PickModal)
    await pilot.press("enter")  # any runner; the workflow declares no inputs: no form
    detail = await wait_screen(pilot, ExecutionDetailScreen)
    await settle(pilot)
    return detail


class TestEditorScreen:
    async def test_build_save_publish_run_by_keys(self, make_app, live_hub):
        app = make_app("DEVELOPER")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await wait_screen(pilot, WorkflowsScreen)
            await settle(pilot)
            editor = await build_three_nodes(pilot)
            model = editor.model
            assert [n["type"] for n in model.nodes] == ["variable.set", "log.write", "flow.delay"]
            assert len(model.edges) == 2
            # unlink the last edge and link it again, choosing the port by keys
            await pilot.press("x")
            await wait_screen(pilot, PickModal)
            await pilot.press("enter")
            await wait_screen(pilot, EditorScreen)
            assert len(model.edges) == 1
            await pilot.press("up")  # select the log.write node
            await pilot.press("c")
            await wait_screen(pilot, PickModal)
            await type_text(pilot, "flow")
            await pilot.press("enter")  # target: flow_delay1
            await pilot.pause()
            await wait_screen(pilot, PickModal)
            await pilot.press("enter")  # port: (next)
            await wait_screen(pilot, EditorScreen)
            assert {"from": "log_write1", "to": "flow_delay1"} in model.edges
            assert model.problems() == []
            assert "valid" in str(editor.query_one("#status").render())
            # undo / redo the relink
            await pilot.press("u")
            assert len(model.edges) == 1
            await pilot.press("ctrl+y")
            assert len(model.edges) == 2
            # move a node by keys
            before = list(model.node("log_write1")["position"])
            await pilot.press("shift+right")
            assert model.node("log_write1")["position"][0] == before[0] + 2
            await save_and_publish(pilot, editor, "Greeting")
            wf_id = editor.workflow["id"]
            wf = live_hub.call("GET", f"/api/workflows/{wf_id}")
            assert wf["published_version"] == 1
            version = live_hub.call("GET", f"/api/workflows/{wf_id}/versions/1")
            assert len(version["graph"]["nodes"]) == 3
            assert len(version["graph"]["edges"]) == 2
            detail = await run_from_list(pilot, "Greeting")
            execution = live_hub.call("GET", f"/api/executions/{detail.execution_id}")
            assert execution["workflow_id"] == wf_id
            # no runner agent is connected to this hub: it waits, and says why
            assert execution["status"] == "QUEUED"
            waiting = str(detail.query_one("#waiting").render())
            assert "waiting" in waiting and execution["pending_reason"]["message"] in waiting


class TestRunOnARealRunner:
    """The whole loop from the console alone: register a runner (its secret shown once), start
    the real runner agent with it, build/save/publish by keys, run, watch the live log."""

    async def test_register_build_run_watch(self, tmp_path, vendor_keys):
        import asyncio
        import subprocess
        import sys

        from textual.widgets import RichLog

        from console.app import ExekraConsole
        from console.modals import TextModal
        from console.screens.runners import RunnersScreen
        from console.session import SessionStore
        from tests.e2e.platform import Platform
        from tests.support import REPO

        platform = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path}/h.db")
        try:
            token = platform.http.headers["Authorization"].split()[1]
            app = ExekraConsole(platform.hub.url, store=SessionStore(tmp_path / "s"), token=token)
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                await pilot.press("4")
                await wait_screen(pilot, RunnersScreen)
                await pilot.press("n")
                await wait_screen(pilot, FormModal)
                await type_text(pilot, "robot-e2e")
                await pilot.press("ctrl+s")
                modal = await wait_screen(pilot, TextModal)
                key = modal.text.split("machine key:")[1].split()[0]
                secret = modal.text.split("machine secret:")[1].split()[0]
                await pilot.press("escape")
                env = platform.runner_env("robot-e2e")
                res = subprocess.run(
                    [sys.executable, "-m", "exekra", "runner", "connect", "--hub",
                     platform.hub.url, "--key", key, "--secret", secret],
                    capture_output=True, text=True, cwd=REPO, env=env, timeout=60,
                )  # fmt: skip
                assert res.returncode == 0, res.stderr
                platform.start_runner("robot-e2e")
                runner_id = platform.api("GET", "/api/runners").json()["items"][0]["id"]
                await asyncio.to_thread(platform.wait_runner_status, runner_id, "ONLINE")
                await pilot.press("2")
                await wait_screen(pilot, WorkflowsScreen)
                await settle(pilot)
                editor = await build_three_nodes(pilot)
                await save_and_publish(pilot, editor, "Greeting on a runner")
                detail = await run_from_list(pilot, "Greeting on a runner")
                ex_id = detail.execution_id
                await asyncio.to_thread(platform.wait_status, ex_id, "COMPLETED", "FAILED")
                for _ in range(100):  # the detail page polls every second
                    if detail.execution.get("status") == "COMPLETED":
                        break
                    await asyncio.sleep(0.1)
                await settle(pilot)
                assert detail.execution["status"] == "COMPLETED", platform.runner_log("robot-e2e")
                log = detail.query_one("#log", RichLog)
                text = "\n".join(line.text for line in log.lines)
                assert "hi world" in text, text
                assert "COMPLETED" in str(detail.query_one("#summary").render())
        finally:
            platform.close()


class TestParamForm:
    def test_fields_follow_the_parameter_spec(self):
        from console.editor.dialogs import node_extras, param_fields, params_from_form
        from workflows import catalog

        act = catalog.get("file.write")
        node = {"id": "w", "type": "file.write", "params": {"path": "/x"}, "timeout": 5}
        fields = {f.name: f for f in param_fields(act, node, ["customer"])}
        assert fields["path"].required and fields["path"].value == "/x"
        assert fields["content"].kind == "textarea" and fields["content"].required
        assert fields["overwrite"].kind == "switch" and fields["overwrite"].value is True
        assert fields["encoding"].placeholder == "utf-8"
        assert fields["path"].suggester is not None  # {customer} suggestions
        assert fields["__timeout"].value == 5
        values = {name: f.value for name, f in fields.items()}
        values.update(content="{customer}", __retry_attempts=3, __retry_delay=1.5)
        assert params_from_form(act, values) == {"path": "/x", "content": "{customer}"}
        extras = node_extras(values)
        assert extras["retry"] == {"attempts": 3, "delay": 1.5} and extras["timeout"] == 5

    async def test_variable_suggestions(self):
        from console.editor.dialogs import VariableSuggester

        s = VariableSuggester(["customer", "order"])
        assert await s.get_suggestion("{inbox}/{cu") == "{inbox}/{customer}"
        assert await s.get_suggestion("no brace") is None
        assert await s.get_suggestion("{order}") is None

    def test_open_variable(self):
        from console.modals import open_variable

        assert open_variable("Dear {cu") == "cu" and open_variable("{a} and {") == ""
        assert open_variable("{a}") is None
        assert open_variable("no brace") is None

    def test_secret_params_are_masked(self):
        from console.editor.dialogs import param_fields
        from workflows.catalog import Activity, Param

        act = Activity("x.login", "Login", "", params=(Param("password", secret=True),))
        (field, *_) = param_fields(act, {"id": "l", "type": "x.login", "params": {}}, [])
        assert field.kind == "password"


class FakeBrowserSession:
    """A connected browser session whose pick answers ``answer`` (what a page could send)."""

    def __init__(self, answer: object) -> None:
        import threading
        from types import SimpleNamespace

        self.answer = answer
        self.has_tab = True
        self.server = SimpleNamespace(connected=threading.Event(), missing=threading.Event())
        self.server.connected.set()

    def start(self) -> tuple[object, bool]:
        return self.server, True

    def call(self, kind: str, payload: object = None, timeout: float = 600) -> object:
        return self.answer

    def close(self) -> None:
        pass


async def test_a_picked_target_is_cleaned_like_a_recorded_one(make_app, pick_activity):
    from workflows.recording import clean_target

    node = {"id": "pick", "type": pick_activity, "params": {"target": "#old"}}
    graph = {"format": 1, "variables": {}, "edges": [], "nodes": [node]}
    sent = {"selector": "#ok", "candidates": {"a": 1}, "fingerprint": "x", "evil": "y" * 10}
    app = make_app("DEVELOPER")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = EditorScreen(graph=graph)
        app.push_screen(editor)
        await wait_screen(pilot, EditorScreen)
        editor.selected = "pick"
        editor.browser = FakeBrowserSession(sent)  # type: ignore[assignment]
        await pilot.press("t")
        await settle(pilot)
        for _ in range(100):
            if editor.model.node("pick")["params"]["target"] != "#old":
                break
            await pilot.pause(0.05)
        target = editor.model.node("pick")["params"]["target"]
        assert target == clean_target(sent) and "evil" not in target
        editor.browser = FakeBrowserSession(42)  # type: ignore[assignment]
        await pilot.press("t")
        for _ in range(100):
            if any("no usable target" in n.message for n in app._notifications):
                break
            await pilot.pause(0.05)
        assert editor.model.node("pick")["params"]["target"] == target
        assert any("no usable target" in n.message for n in app._notifications)
        editor.browser = None
