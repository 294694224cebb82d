"""The keyboard graph editor: canvas + node list, toolbox, param forms, edges, undo, save."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.geometry import Region
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from workflows import catalog

from ..editor.canvas import TOP, render
from ..editor.dialogs import Toolbox, node_extras, param_fields, params_from_form
from ..editor.model import BOX_H, BOX_W, DEFAULT_PORT, EditError, EditorModel
from ..editor.record import BrowserEditing
from ..modals import ConfirmModal, Field, FormModal, PickModal
from .base import hub_work

HELP = """# Graph editor
Build a workflow without a mouse. The node list (right) selects a node; the canvas (left) draws
boxes and arrows — the selected node is bold yellow, nodes with problems are red with `!`,
the start node is marked ▶. Problems from validation update after every change.

`a` adds an activity after the selected node (and connects it when that node has no outgoing
edge yet); `enter` edits its params (`*` = required, `{` suggests variables, → accepts);
`c` connects the selected node to another, choosing the port (`true`/`false`, `body`/`done`,
`error`, …); `x` removes one of its edges; shift+arrows (or `H J K L`) move it; `delete`
removes it; `u`/`ctrl+z` undo, `ctrl+y` redo; `s` saves a new draft version; `p` publishes.

`R` records in the browser (Chromium with the Exekra extension; without one on this machine,
open the page it names in your own Chrome) and inserts the recorded `browser.*` nodes after
the selected node; `t` fills the selected node's `target` from a click in the browser."""


class EditorScreen(BrowserEditing):
    TITLE = "Graph editor"
    CSS_PATH = "editor.tcss"
    HELP = HELP
    ROLE_ACTIONS = {"save": "DEVELOPER", "publish": "DEVELOPER"}
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Params", show=False),
        Binding("c", "connect", "Connect"),
        Binding("x", "disconnect", "Unlink"),
        Binding("delete", "delete", "Delete"),
        Binding("u,ctrl+z", "undo", "Undo"),
        Binding("ctrl+y", "redo", "Redo", show=False),
        Binding("s,ctrl+s", "save", "Save"),
        Binding("p", "publish", "Publish"),
        Binding("v", "variables", "Variables", show=False),
        Binding("R", "record", "Record"),
        Binding("t", "pick", "Pick target", show=False),
        Binding("shift+up,K", "move(0,-1)", "Move", show=False),
        Binding("shift+down,J", "move(0,1)", show=False),
        Binding("shift+left,H", "move(-1,0)", show=False),
        Binding("shift+right,L", "move(1,0)", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        workflow: dict[str, Any] | None = None,
        graph: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__()
        self.workflow = workflow
        self.version = version
        self.model = EditorModel(graph)
        self.selected: str | None = self.model.ids()[0] if self.model.ids() else None

    def body(self) -> ComposeResult:
        with Horizontal(id="editor-main"):
            with ScrollableContainer(id="canvas-scroll"):
                yield Static(id="canvas")
            with Vertical(id="side"):
                yield Label("Nodes", classes="side-title")
                yield OptionList(id="nodes")
                yield Label("Problems", classes="side-title")
                yield Static(id="problems")
        yield Static(id="status")

    def on_mount(self) -> None:
        self.title = "Exekra · Graph editor"
        self.refresh_all()
        self.query_one("#nodes", OptionList).focus()

    # -- drawing ------------------------------------------------------------------------------
    def refresh_all(self) -> None:
        problems = self.model.problems_by_node()
        if self.selected not in self.model.ids():
            self.selected = self.model.ids()[-1] if self.model.ids() else None
        nodes = self.query_one("#nodes", OptionList)
        nodes.clear_options()
        for n in self.model.nodes:
            mark = "[red]![/]" if problems.get(n["id"]) else " "
            nodes.add_option(Option(f"{mark} {escape(n['id'])} [dim]{n['type']}[/]"))
        if self.selected:
            nodes.highlighted = self.model.ids().index(self.selected)
        self.draw(problems)

    def draw(self, problems: dict[Any, list[Any]] | None = None) -> None:
        problems = problems if problems is not None else self.model.problems_by_node()
        self.query_one("#canvas", Static).update(render(self.model, self.selected, problems))
        mine = problems.get(self.selected, []) if self.selected else []
        general = problems.get(None, [])
        total = sum(len(v) for v in problems.values())
        lines = [f"[red]•[/] {escape(p.message)}" for p in mine + general]
        if not lines:
            lines = ["[green]✓ no problems[/]" if not total else f"{total} on other nodes"]
        self.query_one("#problems", Static).update("\n".join(lines))
        name = (self.workflow or {}).get("name") or "new workflow"
        version = f"v{self.version}" if self.version else "not saved"
        dirty = " · [yellow]modified[/]" if self.model.dirty else ""
        state = f"[red]{total} problem(s)[/]" if total else "[green]valid[/]"
        status = f" {escape(name)} · {version}{dirty} · {state}"
        self.query_one("#status", Static).update(status)
        if self.selected:
            x, y = self.model.node(self.selected)["position"]
            region = Region(int(x), int(y), BOX_W + 2, BOX_H + TOP)
            self.query_one("#canvas-scroll").scroll_to_region(region, animate=False)

    @on(OptionList.OptionHighlighted, "#nodes")
    def _highlight(self, event: OptionList.OptionHighlighted) -> None:
        ids = self.model.ids()
        if 0 <= event.option_index < len(ids) and ids[event.option_index] != self.selected:
            self.selected = ids[event.option_index]
            self.draw()

    @on(OptionList.OptionSelected, "#nodes")
    def _selected(self) -> None:
        self.action_edit()

    def _changed(self) -> None:
        self.refresh_all()

    # -- editing ------------------------------------------------------------------------------
    @work(exclusive=True, group="dialog")
    async def action_add(self) -> None:
        kind = await self.app.push_screen_wait(Toolbox())
        if not kind:
            return
        self.selected = self.model.add_node(kind, after=self.selected)
        self._changed()
        await self._edit(self.selected)

    @work(exclusive=True, group="dialog")
    async def action_edit(self) -> None:
        if self.selected:
            await self._edit(self.selected)

    async def _edit(self, node_id: str) -> None:
        node = self.model.node(node_id)
        try:
            act = catalog.get(node["type"])
        except catalog.UnknownActivity:
            self.notify(f"unknown activity {node['type']}", severity="error")
            return
        fields = param_fields(act, node, self.model.variables())
        values = await self.app.push_screen_wait(
            FormModal(f"{node_id} · {act.title} ({act.type})", fields)
        )
        if values is None:
            return
        extras = node_extras(values)
        self.model.set_params(
            node_id,
            params_from_form(act, values),
            extras["label"],
            timeout=extras["timeout"],
            retry=extras["retry"],
        )
        self._changed()

    @work(exclusive=True, group="dialog")
    async def action_connect(self) -> None:
        source = self.selected
        if not source:
            return
        targets = [(f"{n['id']}  ({n['type']})", n["id"]) for n in self.model.nodes]
        targets = [t for t in targets if t[1] != source]
        if not targets:
            self.notify("add another node first", severity="warning")
            return
        target = await self.app.push_screen_wait(PickModal(f"Connect {source} to…", targets))
        if not target:
            return
        ports = self.model.ports(source)
        act = catalog.CATALOG.get(self.model.node(source)["type"])
        options = [(p, p) for p in ports]
        if act is not None and act.dynamic_ports:
            options.insert(0, ("a case value…", "__case"))
        port = await self.app.push_screen_wait(
            PickModal(f"{source} → {target}: which port?", options, filterable=False)
        )
        if port == "__case":
            answer = await self.app.push_screen_wait(
                FormModal("Case value", [Field("port", "port (case value)", required=True)])
            )
            port = answer["port"] if answer else None
        if not port:
            return
        try:
            self.model.connect(source, target, None if port == DEFAULT_PORT else port)
        except EditError as exc:
            self.notify(str(exc), severity="error")
            return
        self._changed()

    @work(exclusive=True, group="dialog")
    async def action_disconnect(self) -> None:
        if not self.selected:
            return
        edges = self.model.edges_of(self.selected)
        if not edges:
            self.notify("this node has no edges", severity="warning")
            return
        options = [
            (f"{e['from']} → {e['to']}" + (f" [{e['port']}]" if e.get("port") else ""), i)
            for i, e in edges
        ]
        index = await self.app.push_screen_wait(
            PickModal("Remove which edge?", options, filterable=False)
        )
        if index is None:
            return
        self.model.disconnect(index)
        self._changed()

    def action_move(self, dx: int, dy: int) -> None:
        if self.selected:
            self.model.move(self.selected, dx * 2, dy)
            self.draw()

    def action_delete(self) -> None:
        if self.selected:
            self.model.delete(self.selected)
            self.selected = None
            self._changed()

    def action_undo(self) -> None:
        if not self.model.undo():
            self.notify("nothing to undo", severity="warning")
        self._changed()

    def action_redo(self) -> None:
        if not self.model.redo():
            self.notify("nothing to redo", severity="warning")
        self._changed()

    @work(exclusive=True, group="dialog")
    async def action_variables(self) -> None:
        values = await self.app.push_screen_wait(
            FormModal(
                "Workflow variables (JSON object: name → default)",
                [Field("variables", "variables", kind="json", value=self.model.doc["variables"])],
            )
        )
        if values is None:
            return
        if not isinstance(values["variables"] or {}, dict):
            self.notify("variables must be a JSON object", severity="error")
            return
        self.model.set_variables(values["variables"] or {})
        self._changed()

    # -- saving ----------------------------------------------------------------------------------
    def action_save(self) -> None:
        self.save()

    def action_publish(self) -> None:
        self.save(publish=True)

    @hub_work(exclusive=True, group="save", loading="#canvas-scroll")
    async def save(self, publish: bool = False) -> None:
        graph = self.model.graph()
        if self.workflow is None:
            answer = await self.app.push_screen_wait(
                FormModal(
                    "Save the new workflow",
                    [Field("name", "Name", required=True), Field("description", "Description")],
                )
            )
            if answer is None:
                return
            self.workflow = await self.api.create_workflow(
                answer["name"], answer.get("description") or "", graph
            )
            self.version = self.workflow.get("latest_version") or 1
            self.model.dirty = False
            self.notify(f"saved {answer['name']} as draft v{self.version}")
        elif self.model.dirty or not self.version:
            saved = await self.api.save_version(self.workflow["id"], graph)
            self.version = saved.get("number") or saved.get("version")
            self.model.dirty = False
            self.notify(f"saved draft v{self.version}")
        if publish:
            result = await self.api.publish(self.workflow["id"])
            number = result.get("published_version") or result.get("number") or self.version
            self.notify(f"published v{number}")
        self.draw()

    @work(exclusive=True, group="dialog")
    async def action_back(self) -> None:
        if self.model.dirty and not await self.app.push_screen_wait(
            ConfirmModal("Leave the editor and lose the unsaved changes?")
        ):
            return
        self.dismiss()
