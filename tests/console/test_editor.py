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
        problems = m.problems_by_node()
        assert problems.get(b)  # the condition is missing
        assert not problems.get(a)
        m.move(a, 4, 1)
        assert m.node(a)["position"] == [4, 1]
        text = render(m, selected=b, problems=problems).plain
        assert "set who" in text and "logic.if" in text and "!" in text

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


class TestEditorScreen:
    async def test_build_save_publish_run_by_keys(self, make_app, live_hub):
        app = make_app("DEVELOPER")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            assert isinstance(app.screen, WorkflowsScreen)
            await pilot.press("n")
            await settle(pilot)
            editor = app.screen
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
            # save (asks for the name), then publish
            await pilot.press("s")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, "Greeting")
            await pilot.press("enter")
            await settle(pilot)
            assert editor.workflow and editor.version == 1
            await pilot.press("p")
            await settle(pilot)
            wf_id = editor.workflow["id"]
            wf = live_hub.call("GET", f"/api/workflows/{wf_id}")
            assert wf["published_version"] == 1
            version = live_hub.call("GET", f"/api/workflows/{wf_id}/versions/1")
            assert len(version["graph"]["nodes"]) == 3
            assert len(version["graph"]["edges"]) == 2
            # run it from the workflows list
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, WorkflowsScreen)
            app.screen.reload()
            await settle(pilot)
            await pilot.press("slash")
            await type_text(pilot, "Greeting")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("g")
            await wait_screen(pilot, PickModal)
            await pilot.press("enter")  # any runner
            await wait_screen(pilot, FormModal)
            await pilot.press("ctrl+s")  # no inputs
            await wait_screen(pilot, ExecutionDetailScreen)
            await settle(pilot)
            detail = app.screen
            assert isinstance(detail, ExecutionDetailScreen)
            execution = live_hub.call("GET", f"/api/executions/{detail.execution_id}")
            assert execution["workflow_id"] == wf_id
            # no runner agent is connected to this hub: it waits, and says why
            assert execution["status"] == "QUEUED"
            waiting = str(detail.query_one("#waiting").render())
            assert "waiting" in waiting and execution["pending_reason"]["message"] in waiting
