"""Workflows: list, open versions, edit in the graph editor, new, import, run now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import work
from textual.binding import Binding

from .. import fmt
from ..modals import Field, FormModal, PickModal
from .base import TableScreen, hub_work

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
        from .workflow_detail import WorkflowDetailScreen

        wf = self.selected()
        if wf:
            self.console.open(WorkflowDetailScreen(wf))

    def action_new(self) -> None:
        from .editor import EditorScreen

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


async def open_editor(screen: Any, wf: dict[str, Any], number: int | None = None) -> None:
    """Open ``wf`` (its latest version, or ``number``) in the graph editor."""
    from .editor import EditorScreen

    number = number or wf.get("latest_version")
    graph = None
    if number:
        graph = (await screen.api.version(wf["id"], number))["graph"]
    screen.console.open(EditorScreen(wf, graph, number))


#: the form field kind for each declared input type
_INPUT_KINDS = {"string": "text", "integer": "int", "number": "number", "list": "json",
                "object": "json", "any": "value"}  # fmt: skip


def describe_input(decl: dict[str, Any]) -> str:
    """``order* integer``, ``region string = "EU"``, ``customer (legacy)``: one input."""
    text = decl["name"] + ("*" if decl.get("required") else "")
    if decl.get("legacy"):
        return text + " (legacy)"
    text += f" {decl.get('type', 'any')}"
    if "default" in decl:
        text += " = " + json.dumps(decl["default"], ensure_ascii=False)[:40]
    return text


def input_fields(declared: list[dict[str, Any]]) -> list[Field]:
    """One form field per input the published version accepts, typed by its declaration."""
    fields = []
    for decl in declared:
        kind = decl.get("type", "any")
        help_ = decl.get("description") or ""
        if decl.get("legacy"):
            help_ = "accepted because earlier runs passed it (not declared); any value"
        elif kind == "any":
            help_ = (help_ + " — " if help_ else "") + "JSON, or text as typed"
        default = decl.get("default")
        if kind == "boolean":
            fields.append(
                Field(
                    f"in-{decl['name']}",
                    decl["name"],
                    kind="select",
                    value=default,
                    choices=[("true", True), ("false", False)],
                    required=bool(decl.get("required")),
                    help=help_,
                )  # fmt: skip
            )
            continue
        field_kind = _INPUT_KINDS.get(kind, "value")
        if field_kind == "value" and default is not None:
            default = json.dumps(default, ensure_ascii=False)
        fields.append(
            Field(
                f"in-{decl['name']}",
                f"{decl['name']} ({kind})",
                kind=field_kind,
                value=default,
                required=bool(decl.get("required")),
                help=help_,
            )  # fmt: skip
        )
    return fields


def collect_inputs(declared: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """The inputs to send: every field given a value (an empty one is left to the default)."""
    out: dict[str, Any] = {}
    for decl in declared:
        value = values.get(f"in-{decl['name']}")
        if value is None or (value == "" and not decl.get("required")):
            continue
        if decl.get("type") == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        out[decl["name"]] = value
    return out


async def run_now(screen: Any, wf: dict[str, Any]) -> None:
    """Ask for inputs and an optional runner, start the published version, open the run."""
    from ..client import HubError
    from .execution_detail import ExecutionDetailScreen

    if not wf.get("published_version"):
        screen.notify(f"{wf['name']} has no published version yet", severity="warning")
        return
    try:
        runners = (await screen.api.runners())["items"]
    except HubError as exc:
        screen.console.hub_failed(exc)
        return
    choices: list[tuple[str, Any]] = [("any runner (queue)", "any")] + [
        (f"{r['name']} ({r['status'].lower()})", r["id"]) for r in runners
    ]
    runner = await screen.app.push_screen_wait(
        PickModal(f"Run {wf['name']} v{wf['published_version']} on…", choices)
    )
    if runner is None:
        return
    runner = None if runner == "any" else runner
    try:
        version = await screen.api.version(wf["id"], wf["published_version"])
    except HubError as exc:
        screen.console.hub_failed(exc)
        return
    declared = version.get("inputs") or []
    inputs: dict[str, Any] = {}
    if declared:
        values = await screen.app.push_screen_wait(
            FormModal(f"Run {wf['name']}: inputs", input_fields(declared), submit_label="Run")
        )
        if values is None:
            return
        inputs = collect_inputs(declared, values)
    else:
        screen.notify(f"{wf['name']} takes no inputs")
    try:
        execution = await screen.api.run(wf["id"], inputs=inputs or None, runner_id=runner)
    except HubError as exc:
        screen.console.hub_failed(exc)
        return
    screen.notify(f"execution {execution['id']} {execution['status']}")
    screen.console.open(ExecutionDetailScreen(execution["id"]))
