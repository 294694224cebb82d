"""Runners: live table with CPU/memory/disk sparklines; register, regenerate, labels, delete."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from .. import fmt
from ..actions import open_execution
from ..modals import ConfirmModal, Field, FormModal, TextModal
from .base import TableScreen, hub_work

HELP = """# Runners
The machines that execute workflows, refreshed every 3 seconds: status, last heartbeat, the
execution they run and CPU / memory / disk with their recent history as sparklines.
Administrators register a runner with `n` (its secret is shown **once**, with the command to
run on the machine), regenerate its secret with `r` (the old one stops working at once),
change its labels with `l` and delete it with `delete`. `enter` opens the execution a busy
runner is running."""

SPARK = 10


def history(runner: dict[str, Any], index: int) -> list[float]:
    """Series ``index`` (1 cpu, 2 memory, 3 disk) of the runner's heartbeat history."""
    out = []
    for point in runner.get("metrics_history") or []:
        if isinstance(point, list | tuple) and len(point) > index and point[index] is not None:
            out.append(float(point[index]))
    return out


class PercentSparkline(Static):
    """A runner's percentages over time, two rows high, on a fixed 0-100 scale."""

    def __init__(self, *, id: str) -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id)
        self._data: list[float] = []

    @property
    def data(self) -> list[float]:
        return self._data

    @data.setter
    def data(self, values: list[float]) -> None:
        self._data = list(values)
        self.refresh()

    def render(self) -> str:
        width = max(1, self.size.width)
        return "[cyan]" + "\n".join(fmt.percent_bars(self._data, width)) + "[/]"

    def on_resize(self) -> None:
        self.refresh()


class RunnersScreen(TableScreen):
    TITLE = "Runners"
    CSS_PATH = "runners.tcss"
    HELP = HELP
    REFRESH_EVERY = 3
    COLUMNS = ("id", "name", "status", "last seen", "exec", "cpu", "memory", "disk", "labels")
    ROLE_ACTIONS = {"new": "ADMIN", "regenerate": "ADMIN", "labels": "ADMIN", "delete": "ADMIN"}
    BINDINGS = [
        Binding("enter", "current", "Its run", show=False),
        Binding("n", "new", "Register"),
        Binding("r", "regenerate", "New secret"),
        Binding("l", "labels", "Labels"),
        Binding("delete", "delete", "Delete"),
    ]

    def body(self) -> ComposeResult:
        yield from super().body()
        with Horizontal(id="sparks"):
            for name in ("cpu", "memory", "disk"):
                with Vertical(classes="spark"):
                    yield Label(name, id=f"{name}-label", classes="spark-label")
                    yield PercentSparkline(id=f"{name}-spark")

    async def fetch(self) -> list[dict[str, Any]]:
        return (await self.api.runners())["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        metrics = item.get("metrics") or {}
        cells = []
        for i, name in enumerate(("cpu", "memory", "disk"), start=1):
            series = history(item, i)[-SPARK:]
            cells.append(f"{fmt.pct(metrics.get(name))} [cyan]{fmt.spark(series, 100.0)}[/]")
        return (
            str(item["id"]),
            escape(item["name"]),
            fmt.status(item["status"]),
            fmt.ago(item.get("last_seen")),
            str(item.get("current_execution_id") or "—"),
            *cells,
            escape(", ".join(item.get("labels") or [])),
        )

    def show(self) -> None:
        super().show()
        self.show_sparks()

    def on_data_table_row_highlighted(self) -> None:
        self.show_sparks()

    def show_sparks(self) -> None:
        runner = self.selected()
        for i, name in enumerate(("cpu", "memory", "disk"), start=1):
            series = history(runner, i) if runner else []
            now = (runner or {}).get("metrics", {}).get(name)
            label = f"{name} {fmt.pct(now)}" + (f" — {runner['name']}" if runner else "")
            self.query_one(f"#{name}-label", Label).update(escape(label))
            spark = self.query_one(f"#{name}-spark", PercentSparkline)
            spark.data = series
            spark.display = bool(series)

    def action_current(self) -> None:
        runner = self.selected()
        if runner and runner.get("current_execution_id"):
            open_execution(self, runner["current_execution_id"])
        elif runner:
            self.notify(f"{runner['name']} is not running anything", severity="information")

    def on_data_table_row_selected(self) -> None:
        self.action_current()

    def action_new(self) -> None:
        fields = [
            Field("name", "Name", required=True, placeholder="robot-01"),
            Field("labels", "Labels (comma-separated)", placeholder="windows, excel"),
        ]
        self.app.push_screen(
            FormModal("Register a runner", fields, submit_label="Register"), self.register
        )

    @hub_work()
    async def register(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        labels = [s.strip() for s in (values.get("labels") or "").split(",") if s.strip()]
        created = await self.api.create_runner(values["name"], labels)
        self.show_secret(created, "registered")
        self.reload()

    def show_secret(self, runner: dict[str, Any], what: str) -> None:
        command = (
            f"exekra runner connect --hub {self.console.hub_url} "
            f"--key {runner['machine_key']} --secret {runner['machine_secret']}"
        )
        text = (
            f"machine key:    {runner['machine_key']}\n"
            f"machine secret: {runner['machine_secret']}\n\n"
            f"On the runner machine:\n{command}\n"
        )
        self.app.push_screen(
            TextModal(
                f"Runner {runner['name']} {what}",
                text,
                note="The secret is shown this once — copy it (c) or save it to a file (s) now.",
                wrap=True,
                save_as=f"exekra-runner-{runner['name']}.txt",
            )
        )

    @work(group="dialog")
    async def action_regenerate(self) -> None:
        runner = self.selected()
        if not runner:
            return
        question = f"Regenerate the secret of {runner['name']}? The old one stops working."
        confirmed: bool = await self.app.push_screen_wait(ConfirmModal(question))
        if confirmed:
            self.regenerate(runner)

    @hub_work()
    async def regenerate(self, runner: dict[str, Any]) -> None:
        result = await self.api.regenerate_secret(runner["id"])
        result.setdefault("name", runner["name"])
        result.setdefault("machine_key", runner.get("machine_key"))
        self.show_secret(result, "has a new secret")

    def action_labels(self) -> None:
        runner = self.selected()
        if runner:
            field = Field(
                "labels", "Labels (comma-separated)", value=", ".join(runner.get("labels") or [])
            )
            self.app.push_screen(
                FormModal(f"Labels of {runner['name']}", [field]),
                lambda v: self.set_labels(runner, v),
            )

    @hub_work()
    async def set_labels(self, runner: dict[str, Any], values: dict[str, Any] | None) -> None:
        if values is None:
            return
        labels = [s.strip() for s in (values.get("labels") or "").split(",") if s.strip()]
        await self.api.update_runner(runner["id"], {"labels": labels})
        self.notify(f"labels of {runner['name']}: {', '.join(labels) or 'none'}")
        self.reload()

    def action_delete(self) -> None:
        runner = self.selected()
        if runner:
            self.confirm_delete(
                f"runner {runner['name']}", lambda: self.api.delete_runner(runner["id"])
            )
