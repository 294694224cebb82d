"""One execution: status, metrics, error and failing node, live log tail, stop, run again,
its artifacts (saved to a file) and its selector repairs (applied as a new draft)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, RichLog, Static

from workflows.statuses import (
    ACTIVE_EXECUTION_STATUSES,
    UNFINISHED_EXECUTION_STATUSES,
    ExecutionStatus,
)

from .. import fmt
from ..modals import Field, FormModal
from .base import HubScreen, hub_work

HELP = """# Execution
Status, timing and metrics of one run. While it is queued, the reason it is still waiting;
while it runs, its log is tailed live (every second); when it failed, the error and the
failing node. `s` stops it, `g` runs the same workflow again with the same inputs.

**Artifacts** (screenshots, page snapshots, attached files) are listed under the summary: pick
one with the arrow keys and press `d` to save it to a file (you are asked where; the default is
your Downloads folder, or the current folder). When a browser node found an element by its
fingerprint after every selector broke, the summary counts the **selector repairs**; `p`
(DEVELOPER) saves them as a new draft version of the workflow, for review and publishing."""

LEVEL_STYLE = {"error": "red", "warning": "yellow", "debug": "dim"}


class ExecutionDetailScreen(HubScreen):
    TITLE = "Execution"
    CSS_PATH = "execution_detail.tcss"
    HELP = HELP
    BINDINGS = [
        Binding("s", "stop", "Stop"),
        Binding("g", "again", "Run again"),
        Binding("d", "save_artifact", "Save artifact"),
        Binding("p", "apply_repairs", "Apply repairs"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    ROLE_ACTIONS = {"apply_repairs": "DEVELOPER"}

    def __init__(self, execution_id: int) -> None:
        super().__init__()
        self.execution_id = execution_id
        self.execution: dict[str, Any] = {}
        self.last_seq = -1
        self.artifacts: list[dict[str, Any]] = []
        self.ticks = 0

    def body(self) -> ComposeResult:
        yield Static(id="summary")
        yield Static(id="waiting")
        table: DataTable[Any] = DataTable(id="artifacts", cursor_type="row", zebra_stripes=True)
        table.add_columns("artifact", "kind", "node", "size")
        table.display = False
        yield table
        yield RichLog(id="log", wrap=True, markup=False, highlight=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        # the log tails every second while it runs; a queued one is looked at every 5 s
        self.ticks += 1
        status = self.execution.get("status")
        if not self.is_current or status not in UNFINISHED_EXECUTION_STATUSES:
            return
        if status in ACTIVE_EXECUTION_STATUSES:
            # logs every second, the record every 3 s: ~80 requests a minute (limit: 100)
            self.load(with_record=self.ticks % 3 == 0)
        elif self.ticks % 5 == 0:
            self.reload()

    def reload(self) -> None:
        self.load()

    @hub_work(exclusive=True, group="load")
    async def load(self, with_record: bool = True) -> None:
        if with_record or not self.execution:
            self.execution = await self.api.execution(self.execution_id)
            self.show(self.execution)
            self.refresh_bindings()
            self.show_artifacts(self.execution.get("artifacts") or [])
        logs = await self.api.execution_logs(self.execution_id, after=self.last_seq)
        log = self.query_one("#log", RichLog)
        for line in logs:
            self.last_seq = max(self.last_seq, int(line.get("seq", self.last_seq)))
            level = str(line.get("level") or "info").lower()
            text = Text(f"{fmt.when(line.get('at'))[11:]} ", style="dim")
            text.append(f"{level:<7} ", style=LEVEL_STYLE.get(level, ""))
            if line.get("node_id"):
                text.append(f"[{line['node_id']}] ", style="cyan")
            text.append(str(line.get("message", "")))
            log.write(text)

    def show(self, ex: dict[str, Any]) -> None:
        metrics = ex.get("metrics") or {}
        rows = [
            f"[b]#{ex['id']}[/] {escape(str(ex.get('workflow_name') or ex['workflow_id']))} "
            f"v{ex.get('version')} — {fmt.status(ex['status'])}"
            + ("  [magenta](stop requested)[/]" if ex.get("stop_requested") else ""),
            f"runner {ex.get('runner_id') or '—'} · priority {ex.get('priority', 0)} · "
            f"attempt {ex.get('attempt', 1)} · trigger "
            f"{escape(json.dumps(ex.get('trigger') or {}))}",
            f"queued {fmt.when(ex.get('queued_at'))} · started {fmt.when(ex.get('started_at'))} "
            f"· finished {fmt.when(ex.get('finished_at'))}",
        ]
        if metrics:
            rows.append(
                f"cpu avg {metrics.get('cpu_avg', '—')}% peak {metrics.get('cpu_peak', '—')}% · "
                f"memory avg {metrics.get('mem_avg_mb', '—')} MB "
                f"peak {metrics.get('mem_peak_mb', '—')} MB"
            )
        if ex.get("inputs"):
            rows.append(f"inputs {escape(json.dumps(ex['inputs']))[:120]}")
        if ex.get("error"):
            node = (
                f" at node [b]{escape(str(ex['failed_node']))}[/]" if ex.get("failed_node") else ""
            )
            rows.append(f"[red]error{node}: {escape(str(ex['error']))}[/]")
        repairs = ex.get("selector_repairs") or []
        if repairs:
            nodes = ", ".join(sorted({str(r.get("node_id")) for r in repairs}))
            hint = " — [b]p[/] applies them as a new draft" if self.can("DEVELOPER") else ""
            rows.append(f"[yellow]{len(repairs)} selector repair(s) at {escape(nodes)}{hint}[/]")
        self.query_one("#summary", Static).update("\n".join(rows))
        waiting = self.query_one("#waiting", Static)
        reason = ex.get("pending_reason")
        if ex["status"] == ExecutionStatus.QUEUED and reason:
            message = reason.get("message") if isinstance(reason, dict) else str(reason)
            ahead = reason.get("ahead") if isinstance(reason, dict) else None
            extra = f" ({ahead} ahead in the queue)" if ahead else ""
            waiting.update(f"⏳ waiting: {escape(str(message))}{extra}")
            waiting.display = True
        else:
            waiting.display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop" and not (
            fmt.can_stop(self.execution) and not self.execution.get("stop_requested")
        ):
            return False  # offered only while a stop can change something
        return super().check_action(action, parameters)

    @hub_work()
    async def action_stop(self) -> None:
        if not fmt.can_stop(self.execution):
            return
        result = await self.api.stop_execution(self.execution_id)
        self.notify(fmt.stop_outcome(self.execution_id, result))
        self.reload()

    @hub_work()
    async def action_again(self) -> None:
        ex = self.execution
        if not ex:
            return
        new = await self.api.run(ex["workflow_id"], inputs=ex.get("inputs") or None)
        self.notify(f"started execution {new['id']}")
        self.app.switch_screen(ExecutionDetailScreen(int(new["id"])))

    # -- artifacts and repairs ----------------------------------------------------------
    def show_artifacts(self, artifacts: list[dict[str, Any]]) -> None:
        table = self.query_one("#artifacts", DataTable)
        known = [a["id"] for a in self.artifacts]
        self.artifacts = list(artifacts)
        table.display = bool(artifacts)
        if known == [a["id"] for a in artifacts]:
            return
        row = table.cursor_row
        table.clear()
        for a in artifacts:
            table.add_row(
                Text(str(a.get("name", ""))),  # Text: a name is never read as markup
                Text(str(a.get("kind", ""))),
                Text(str(a.get("node_id") or "")),
                human_size(a.get("size")),
                key=str(a["id"]),
            )
        if artifacts:
            table.move_cursor(row=min(max(row, 0), len(artifacts) - 1))

    def selected_artifact(self) -> dict[str, Any] | None:
        artifacts = self.artifacts
        if not artifacts:
            return None
        row = self.query_one("#artifacts", DataTable).cursor_row
        return artifacts[row] if 0 <= row < len(artifacts) else None

    def action_save_artifact(self) -> None:
        artifact = self.selected_artifact()
        if artifact is None:
            self.notify("this execution has no artifacts", severity="warning")
            return
        fields = [
            Field(
                "path",
                "save to",
                value=str(default_save_path(str(artifact["name"]))),
                required=True,
                help="A file that already exists is not replaced.",
            )
        ]
        self.app.push_screen(
            FormModal(f"Save {artifact['name']}", fields, submit_label="Save"),
            lambda values: self._save(artifact, values),
        )

    def _save(self, artifact: dict[str, Any], values: dict[str, Any] | None) -> None:
        if values:
            self.save_artifact(artifact, Path(str(values["path"])).expanduser())

    @hub_work()
    async def save_artifact(self, artifact: dict[str, Any], path: Path) -> None:
        if path.is_dir():
            path = path / safe_file_name(str(artifact["name"]))
        if path.exists():
            self.notify(f"{path} exists; choose another name", severity="error")
            return
        data = await self.api.download_artifact(self.execution_id, int(artifact["id"]))
        try:
            write_new_file(path, data)
        except OSError as exc:
            self.notify(f"cannot save {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved {artifact['name']} ({human_size(len(data))}) to {path}")

    @hub_work()
    async def action_apply_repairs(self) -> None:
        out = await self.api.apply_repairs(self.execution_id)
        nodes = ", ".join(a["node_id"] for a in out.get("applied", []))
        self.notify(
            f"selector repairs saved as draft version {out['number']} of the workflow "
            f"(nodes: {nodes}); review and publish it from the workflow's page"
        )


def human_size(value: Any) -> str:
    if not isinstance(value, int):
        return "—"
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KB"
    return f"{value / (1024 * 1024):.1f} MB"


def safe_file_name(name: str) -> str:
    """The artifact's name as a plain file name (the hub checks it; the console checks too)."""
    base = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    cleaned = "".join(ch for ch in base if ch.isprintable())
    return cleaned or "artifact"


def default_save_path(name: str) -> Path:
    """``~/Downloads/<name>`` when that folder exists, else ``./<name>``."""
    downloads = Path.home() / "Downloads"
    folder = downloads if downloads.is_dir() else Path.cwd()
    return folder / safe_file_name(name)


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``path`` only if it does not exist (exclusive create: never replaces a file that
    appeared meanwhile); a failed write leaves nothing behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as fh:
        try:
            fh.write(data)
        except OSError:
            fh.close()
            path.unlink(missing_ok=True)
            raise
