"""Workflows: list, open versions, edit in the graph editor, new, import, run now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import work
from textual.binding import Binding

from .. import fmt
from ..actions import open_editor, run_now
from ..modals import Field, FormModal
from .base import TableScreen, hub_work
from .editor import EditorScreen
from .workflow_detail import WorkflowDetailScreen

HELP = """# Workflows
Every workflow with its latest and published version (`*` = a draft waits to be published).
`enter` opens its versions (diff, publish, restore, export); `e` opens the latest version in
the graph editor; `n` starts a new one; `i` imports an exported `.exekra.json` file;
`g` runs the published version now (optionally on a chosen runner), asking for the inputs
it declares (typed, `*` required, defaults filled in)."""


class WorkflowsScreen(TableScreen):
    TITLE = "Workflows"
    CSS_PATH = "workflows.tcss"
    HELP = HELP
    COLUMNS = ("id", "name", "latest", "published", "updated", "description")
    ROLE_ACTIONS = {"new": "DEVELOPER", "edit": "DEVELOPER", "import": "DEVELOPER"}
    BINDINGS = [
        Binding("enter", "open", "Versions"),
        Binding("e", "edit", "Edit"),
        Binding("n", "new", "New"),
        Binding("g", "run", "Run now"),
        Binding("i", "import", "Import"),
    ]

    async def fetch(self) -> list[dict[str, Any]]:
        return (await self.api.workflows())["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        latest = item.get("latest_version")
        draft = "[yellow]*[/]" if item.get("has_draft") else ""
        published = item.get("published_version")
        return (
            str(item["id"]),
            escape(item["name"]),
            f"v{latest}{draft}" if latest else "—",
            f"[green]v{published}[/]" if published else "[dim]never[/]",
            fmt.ago(item.get("updated_at")),
            escape((item.get("description") or "")[:40]),
        )

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        wf = self.selected()
        if wf:
            self.console.open(WorkflowDetailScreen(wf))

    def action_new(self) -> None:
        self.console.open(EditorScreen())

    @hub_work(group="open")
    async def action_edit(self) -> None:
        wf = self.selected()
        if wf:
            await open_editor(self, wf)

    @work(group="dialog")
    async def action_run(self) -> None:
        wf = self.selected()
        if wf:
            await run_now(self, wf)

    def action_import(self) -> None:
        field = Field(
            "path", "Path of the exported file", required=True, placeholder="invoice.exekra.json"
        )
        self.app.push_screen(
            FormModal("Import a workflow", [field], submit_label="Import"), self.do_import
        )

    @hub_work()
    async def do_import(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        path = Path(values["path"]).expanduser()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.notify(f"cannot read {path}: {exc}", severity="error")
            return
        result = await self.api.import_workflow(document)
        wf, version = result["workflow"], result["version"]
        what = "new workflow" if result.get("created") else "new draft of"
        self.notify(f"imported: {what} {wf['name']} (v{version['number']})")
        self.reload()
