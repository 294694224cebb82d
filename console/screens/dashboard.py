"""Dashboard: executions and runners by status, executions per hour, recent failures."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from workflows.statuses import ExecutionStatus, RunnerStatus

from .. import fmt
from ..actions import open_execution
from .base import HubScreen, hub_work

HELP = """# Dashboard
The state of the platform at a glance, refreshed every 10 seconds: executions by status,
runners by status, executions per hour over the last day, and the latest failures.
Go anywhere with the number keys (1–9) or the command palette (`ctrl+p`)."""


def counts(value: Any) -> dict[str, int]:
    """``{"FAILED": 2}`` from a dict or a list of ``{"status", "count"}``."""
    if isinstance(value, dict):
        return {str(k).upper(): int(v or 0) for k, v in value.items()}
    if isinstance(value, list):
        return {str(i.get("status")).upper(): int(i.get("count") or 0) for i in value}
    return {}


def per_hour(value: Any) -> list[float]:
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append(float(item.get("total", item.get("count", 0)) or 0))
            else:
                out.append(float(item or 0))
        return out
    return []


class DashboardScreen(HubScreen):
    TITLE = "Dashboard"
    CSS_PATH = "dashboard.tcss"
    HELP = HELP

    def body(self) -> ComposeResult:
        with Grid(id="cards"):
            with Vertical(classes="card", id="exec-card"):
                yield Label("Executions", classes="card-title")
                yield Static(id="exec-counts")
            with Vertical(classes="card", id="runner-card"):
                yield Label("Runners", classes="card-title")
                yield Static(id="runner-counts")
        with Vertical(id="hourly"):
            yield Label("Executions per hour (last 24 h)", classes="card-title", id="hourly-title")
            yield Sparkline([0.0], id="per-hour")
        yield Label("Recent failures", classes="card-title")
        yield DataTable(id="failures", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#failures", DataTable)
        table.add_columns("id", "workflow", "error", "finished")
        super().on_mount()
        self.set_interval(10, lambda: self.reload() if self.is_current else None)

    def reload(self) -> None:
        self.load()

    @hub_work(exclusive=True, group="load", loading="#cards")
    async def load(self) -> None:
        summary = await self.api.summary()
        failed = await self.api.executions(status=ExecutionStatus.FAILED, limit=8)
        execs = counts(summary.get("executions_by_status", summary.get("executions")))
        runners = counts(summary.get("runners_by_status", summary.get("runners")))
        self.query_one("#exec-counts", Static).update(
            "\n".join(f"{fmt.status(f'{s:<10}')} {execs.get(s, 0):>5}" for s in ExecutionStatus)
        )
        known = list(RunnerStatus)  # then any status a newer hub reports
        runner_states = known + [s for s in runners if s not in known]
        self.query_one("#runner-counts", Static).update(
            "\n".join(f"{fmt.status(f'{s:<10}')} {runners.get(s, 0):>5}" for s in runner_states)
        )
        hours = per_hour(summary.get("executions_per_hour", summary.get("per_hour")))
        self.query_one("#per-hour", Sparkline).data = hours or [0.0]
        total = int(sum(hours))
        self.query_one("#hourly-title", Label).update(
            f"Executions per hour (last {len(hours) or 24} h) — {total} in total, "
            f"peak {int(max(hours or [0]))}/h"
        )
        table = self.query_one("#failures", DataTable)
        table.clear()
        for item in failed.get("items", []):
            table.add_row(
                str(item["id"]),
                escape(str(item.get("workflow_name") or item.get("workflow_id"))),
                escape(str(item.get("error") or "")[:60]),
                fmt.ago(item.get("finished_at")),
                key=str(item["id"]),
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        open_execution(self, str(event.row_key.value))
