"""Executions: the newest first, filter by status, open one for its logs; stop; run again."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Static

from workflows.statuses import ExecutionStatus

from .. import fmt
from ..actions import open_execution
from .base import TableScreen, hub_work

HELP = """# Executions
Every run, newest first, refreshed every 5 seconds. `f` cycles the status filter (all,
queued, running, completed, failed, stopped); `/` filters by text. `enter` opens the run:
its live log, metrics, error and failing node, or why it is still waiting. `s` stops it."""

#: the status filter ``f`` cycles through (None: all)
STATUSES: tuple[ExecutionStatus | None, ...] = (None, *ExecutionStatus)


class ExecutionsScreen(TableScreen):
    TITLE = "Executions"
    CSS_PATH = "executions.tcss"
    HELP = HELP
    REFRESH_EVERY = 5
    COLUMNS = ("id", "workflow", "ver", "status", "runner", "trigger", "queued", "took")
    SORT_KEYS = {"id": lambda i: -int(i["id"])}
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("f", "cycle_status", "Status filter"),
        Binding("s", "stop", "Stop"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self, workflow_id: int | None = None) -> None:
        super().__init__()
        self.status_index = 0
        self.workflow_id = workflow_id

    def toolbar(self) -> Any:
        yield Static(id="exec-filter", classes="toolbar")

    async def fetch(self) -> list[dict[str, Any]]:
        status = STATUSES[self.status_index]
        scope = f" · workflow {self.workflow_id} (esc: back)" if self.workflow_id else ""
        self.query_one("#exec-filter", Static).update(
            f"status: [b]{(status or 'all').lower()}[/] [dim](f to change)[/]{scope}"
        )
        result = await self.api.executions(status=status, workflow_id=self.workflow_id, limit=200)
        return result["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        trigger = item.get("trigger") or {}
        took = item.get("duration_seconds")
        return (
            str(item["id"]),
            escape(str(item.get("workflow_name") or item["workflow_id"])),
            f"v{item.get('version')}",
            fmt.status(item["status"]),
            str(item.get("runner_id") or "—"),
            escape(str(trigger.get("type") or trigger.get("kind") or "manual")).lower(),
            fmt.ago(item.get("queued_at")),
            fmt.duration(took),
        )

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        item = self.selected()
        if item:
            open_execution(self, item["id"])

    def action_back(self) -> None:
        if self.workflow_id is not None:  # opened from a workflow's versions
            self.dismiss()

    def action_cycle_status(self) -> None:
        self.status_index = (self.status_index + 1) % len(STATUSES)
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop" and not (fmt.can_stop(self.selected())):
            return False  # offered only on a run a stop can still change
        return super().check_action(action, parameters)

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()

    @hub_work()
    async def action_stop(self) -> None:
        item = self.selected()
        if fmt.can_stop(item):
            assert item is not None
            result = await self.api.stop_execution(int(item["id"]))
            self.notify(fmt.stop_outcome(item["id"], result))
            self.reload()
