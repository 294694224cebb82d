"""One execution: status, metrics, error and failing node, live log tail, stop, run again."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import RichLog, Static

from .. import fmt
from .base import HubScreen, hub_work

HELP = """# Execution
Status, timing and metrics of one run. While it is queued, the reason it is still waiting;
while it runs, its log is tailed live (every second); when it failed, the error and the
failing node. `s` stops it, `g` runs the same workflow again with the same inputs."""

LIVE = ("QUEUED", "ASSIGNED", "RUNNING")
LEVEL_STYLE = {"error": "red", "warning": "yellow", "debug": "dim"}


class ExecutionDetailScreen(HubScreen):
    TITLE = "Execution"
    CSS_PATH = "execution_detail.tcss"
    HELP = HELP
    BINDINGS = [
        Binding("s", "stop", "Stop"),
        Binding("g", "again", "Run again"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, execution_id: int) -> None:
        super().__init__()
        self.execution_id = execution_id
        self.execution: dict[str, Any] = {}
        self.last_seq = -1
        self.ticks = 0

    def body(self) -> ComposeResult:
        yield Static(id="summary")
        yield Static(id="waiting")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        # the log tails every second while it runs; a queued one is looked at every 5 s
        self.ticks += 1
        status = self.execution.get("status")
        if not self.is_current or status not in LIVE:
            return
        if status in ("RUNNING", "ASSIGNED"):
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
        self.query_one("#summary", Static).update("\n".join(rows))
        waiting = self.query_one("#waiting", Static)
        reason = ex.get("pending_reason")
        if ex["status"] == "QUEUED" and reason:
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
