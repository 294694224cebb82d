"""One workflow's versions: diff two, publish the draft, restore an old one, export, edit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import work
from textual.binding import Binding
from textual.widgets import Static

from workflows.diff import format_diff

from .. import fmt
from ..actions import describe_input, open_editor, run_now
from ..modals import Field, FormModal, PickModal, TextModal
from .base import TableScreen, hub_work
from .executions import ExecutionsScreen

HELP = """# Versions
Every version of the workflow, newest first. Published versions are immutable; the latest
version may be a draft. `d` compares the selected version with another; `p` publishes the
draft; `r` restores the selected version as a new draft (rollback); `e` edits it in the graph
editor; `x` exports the workflow to a file; `g` runs the published version now; `l` lists its
executions. The header shows its process performance (runs, success rate, durations p50/p95,
CPU and memory) and the inputs the published version accepts from outside (`*` required; only
declared inputs can be set by a run, a trigger or a webhook). A graph written before inputs
were declared shows its *legacy* inputs: the names its earlier runs and triggers passed,
accepted until a version declares its inputs."""


def inputs_line(version: dict[str, Any] | None) -> str:
    """What the version accepts from outside, for the header."""
    if version is None:
        return ""
    declared = version.get("inputs") or []
    shown = ", ".join(escape(describe_input(d)) for d in declared)
    if version.get("inputs_declared", True):
        return f"inputs (v{version['number']}): {shown or '[dim]none[/]'}"
    if not declared:
        return f"inputs (v{version['number']}): [dim]none (no declaration)[/]"
    return (
        f"inputs (v{version['number']}): [yellow]not declared — legacy[/] {shown} "
        "[dim](declare them in the graph's inputs)[/]"
    )


def performance(p: dict[str, Any]) -> str:
    """One line of process performance: runs, success rate, durations, CPU and memory."""
    if not p.get("runs"):
        return "[dim]no finished runs yet[/]"

    def num(value: Any, unit: str = "") -> str:
        return f"{value:.1f}{unit}" if isinstance(value, int | float) else "—"

    rate = p.get("success_rate")
    return (
        f"runs {p['runs']} · success {num(rate * 100 if rate is not None else None, '%')} · "
        f"p50 {fmt.duration(p.get('duration_p50'))} p95 {fmt.duration(p.get('duration_p95'))} · "
        f"cpu avg {num(p.get('cpu_avg'), '%')} · mem peak {num(p.get('mem_peak_mb'), ' MB')}"
    )


class WorkflowDetailScreen(TableScreen):
    TITLE = "Versions"
    CSS_PATH = "workflow_detail.tcss"
    HELP = HELP
    COLUMNS = ("version", "status", "created", "by", "published", "comment")
    ROLE_ACTIONS = {"publish": "DEVELOPER", "restore": "DEVELOPER", "edit": "DEVELOPER"}
    # the footer fits 80 columns with Back first; filter and sort stay (see ? for every key)
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("slash", "filter", "Filter", key_display="/", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("d", "diff", "Diff"),
        Binding("p", "publish", "Publish"),
        Binding("r", "restore", "Restore"),
        Binding("e", "edit", "Edit"),
        Binding("x", "export", "Export", show=False),
        Binding("g", "run", "Run"),
        Binding("l", "executions", "Runs"),
    ]

    def __init__(self, workflow: dict[str, Any]) -> None:
        super().__init__()
        self.workflow = workflow

    def toolbar(self) -> Any:
        yield Static(id="wf-info", classes="toolbar")

    async def fetch(self) -> list[dict[str, Any]]:
        self.workflow = await self.api.workflow(self.workflow["id"])
        wf = self.workflow
        perf = (await self.api.performance(wf["id"])).get("items") or [{}]
        versions = await self.api.versions(wf["id"])
        shown = wf.get("published_version") or wf.get("latest_version")
        current = next((v for v in versions if v["number"] == shown), None)
        self.query_one("#wf-info", Static).update(
            f"[b]{escape(wf['name'])}[/] — {escape(wf.get('description') or '')}  "
            f"[dim]latest v{wf.get('latest_version') or '—'}, "
            f"published v{wf.get('published_version') or '—'}[/]\n"
            + performance(perf[0])
            + "\n"
            + inputs_line(current)
        )
        for v in versions:
            v["id"] = v["number"]
        return versions

    def sort_value(self, item: dict[str, Any]) -> Any:
        return -int(item["number"]) if self.sort_col == 0 else str(item.get("status"))

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        status = item.get("status", "")
        style = {"published": "green", "draft": "yellow"}.get(status, "dim")
        return (
            f"v{item['number']}",
            f"[{style}]{status}[/]",
            fmt.ago(item.get("created_at")),
            escape(str(item.get("created_by_email") or item.get("created_by") or "—")),
            fmt.ago(item.get("published_at")),
            escape(item.get("comment") or ""),
        )

    @work(group="dialog")
    async def action_diff(self) -> None:
        version = self.selected()
        if not version or len(self.items) < 2:
            self.notify("there is only one version", severity="warning")
            return
        others = [
            (f"v{v['number']} ({v['status']})", v["number"])
            for v in self.items
            if v["number"] != version["number"]
        ]
        other = await self.app.push_screen_wait(
            PickModal(f"Compare v{version['number']} with…", others, filterable=False)
        )
        if other is not None:
            self.show_diff(min(other, version["number"]), max(other, version["number"]))

    @hub_work()
    async def show_diff(self, old: int, new: int) -> None:
        result = await self.api.diff_versions(self.workflow["id"], old, new)
        lines = result.get("lines") or format_diff(result.get("diff") or {})
        text = "\n".join(lines) or "(no differences)"
        self.app.push_screen(TextModal(f"v{old} → v{new}", text))

    @hub_work()
    async def action_publish(self) -> None:
        version = await self.api.publish(self.workflow["id"])
        self.notify(f"published v{version['number']}")
        self.reload()

    @hub_work()
    async def action_restore(self) -> None:
        version = self.selected()
        if version:
            restored = await self.api.restore_version(self.workflow["id"], version["number"])
            self.notify(f"v{version['number']} restored as draft v{restored['number']}")
            self.reload()

    @hub_work(group="open")
    async def action_edit(self) -> None:
        version = self.selected()
        await open_editor(self, self.workflow, version["number"] if version else None)

    def action_export(self) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.workflow["name"])
        field = Field("path", "Export to file", required=True, value=f"{safe}.exekra.json")
        self.app.push_screen(FormModal("Export", [field], submit_label="Export"), self.export)

    @hub_work()
    async def export(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        document = await self.api.export_workflow(self.workflow["id"])
        path = Path(values["path"]).expanduser()
        try:
            path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc}", severity="error")
            return
        self.notify(f"exported v{document.get('exported_from_version')} to {path}")

    @work(group="dialog")
    async def action_run(self) -> None:
        await run_now(self, self.workflow)

    def action_executions(self) -> None:
        self.console.open(ExecutionsScreen(workflow_id=self.workflow["id"]))
