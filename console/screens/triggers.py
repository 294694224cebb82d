"""Triggers: schedules (cron with the next fire times as you type), webhooks, manual."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape
from textual.binding import Binding

from workflows.statuses import TriggerType

from .. import fmt
from ..client import HubClient, HubError
from ..modals import Field, FormModal, TextModal
from .base import TableScreen, hub_work

HELP = """# Triggers
What starts workflows without a person: **SCHEDULE** (cron, in a time zone — the next fire
times are previewed as you type), **WEBHOOK** (a URL that other systems POST to; with a
secret the body must be signed) and **MANUAL**. `n` new, `e` edit, `space` enables or
disables, `w` shows a webhook's URL, `delete` removes."""

TYPES: list[tuple[str, str]] = [
    ("Schedule (cron)", TriggerType.SCHEDULE),
    ("Webhook", TriggerType.WEBHOOK),
    ("Manual", TriggerType.MANUAL),
]


async def cron_preview(api: HubClient, values: dict[str, Any], count: int = 5) -> str:
    """The next fire times of the form's cron expression, as the hub computes them (its cron
    dialect, time zones and DST rules are the ones that will fire the trigger)."""
    if values.get("type") != TriggerType.SCHEDULE:
        return "[dim]webhook and manual triggers have no schedule[/]"
    expr = (values.get("cron") or "").strip()
    if not expr:
        return "[dim]type a cron expression: minute hour day month weekday (e.g. 0 7 * * 1-5)[/]"
    zone = (values.get("timezone") or "UTC").strip() or "UTC"
    try:
        answer = await api.cron_preview(expr, zone, count)
    except HubError as exc:
        reason = escape(exc.description or str(exc))
        if exc.code == "invalid_cron":
            return f"[red]not a valid cron expression: {reason}[/]"
        if exc.code == "invalid_timezone":
            return f"[red]{reason}[/]"
        return f"[yellow]no preview: {reason}[/]"
    lines = [wall_time(item["local"], answer.get("timezone") or zone) for item in answer["items"]]
    return "next: " + "\n      ".join(lines) if lines else "[yellow]this schedule never fires[/]"


def wall_time(local: str, zone: str) -> str:
    """``Mon 2025-03-31 07:00 CEST``: one fire time the hub sent (ISO 8601 with its offset)."""
    when = dt.datetime.fromisoformat(local)
    try:
        when = when.astimezone(ZoneInfo(zone))  # the zone's abbreviation, not only its offset
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return when.strftime("%a %Y-%m-%d %H:%M %Z")


class TriggersScreen(TableScreen):
    TITLE = "Triggers"
    CSS_PATH = "triggers.tcss"
    HELP = HELP
    COLUMNS = ("id", "name", "workflow", "type", "on", "schedule / url", "next run", "last run")
    ROLE_ACTIONS = {
        "new": "DEVELOPER",
        "edit": "DEVELOPER",
        "toggle": "DEVELOPER",
        "delete": "DEVELOPER",
    }
    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("e,enter", "edit", "Edit"),
        Binding("space", "toggle", "On/off"),
        Binding("w", "webhook", "URL"),
        Binding("delete", "delete", "Delete"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.workflows: dict[int, str] = {}

    async def fetch(self) -> list[dict[str, Any]]:
        wfs = (await self.api.workflows())["items"]
        self.workflows = {w["id"]: w["name"] for w in wfs}
        return (await self.api.triggers())["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        where = item.get("url") or ""
        if item["type"] == TriggerType.SCHEDULE:
            where = f"{item.get('cron')} ({item.get('timezone') or 'UTC'})"
        return (
            str(item["id"]),
            escape(item.get("name") or ""),
            escape(self.workflows.get(item["workflow_id"], str(item["workflow_id"]))),
            item["type"].lower(),
            "[green]on[/]" if item.get("enabled") else "[dim]off[/]",
            escape(where),
            fmt.ago(item.get("next_run")),
            fmt.ago(item.get("last_run")),
        )

    def fields(self, t: dict[str, Any] | None) -> list[Field]:
        t = t or {}
        wf_choices = [(name, wid) for wid, name in sorted(self.workflows.items())]
        fields = [
            Field("name", "Name", value=t.get("name") or ""),
            Field("cron", "Cron (schedules)", value=t.get("cron") or "", placeholder="0 7 * * 1-5"),
            Field("timezone", "Time zone", value=t.get("timezone") or "UTC"),
            Field("enabled", "Enabled", kind="switch", value=t.get("enabled", True)),
            Field("inputs", "Inputs (JSON object)", kind="json", value=t.get("inputs") or {}),
            Field(
                "priority", "Priority (higher runs first)", kind="int", value=t.get("priority", 0)
            ),
        ]
        if t.get("type") == TriggerType.WEBHOOK:
            fields.append(
                Field(
                    "webhook_secret",
                    "New webhook secret",
                    kind="password",
                    help="empty: keep the current one",
                )
            )
        if not t:
            fields[0:0] = [
                Field("workflow_id", "Workflow", kind="select", choices=wf_choices, required=True),
                Field(
                    "type",
                    "Type",
                    kind="select",
                    choices=TYPES,
                    value=TriggerType.SCHEDULE,
                    required=True,
                ),
            ]
            fields.append(Field("webhook_secret", "Webhook secret (optional)", kind="password"))
        return fields

    def action_new(self) -> None:
        if not self.workflows:
            self.notify("create a workflow first", severity="warning")
            return
        self.app.push_screen(
            FormModal(
                "New trigger",
                self.fields(None),
                preview=lambda values: cron_preview(self.api, values),
                submit=self._create,
            ),
            self.created,
        )

    async def _create(self, values: dict[str, Any]) -> dict[str, Any]:
        """Saved while the form is open: a refusal keeps what was typed, beside its field."""
        body = {k: v for k, v in values.items() if v not in ("", None)}
        if body.get("type") != TriggerType.SCHEDULE:
            body.pop("cron", None)
            body.pop("timezone", None)
        created: dict[str, Any] = await self.api.create_trigger(body)
        return created

    def created(self, created: dict[str, Any] | None) -> None:
        if not created:
            return
        self.notify(
            f"trigger {created['id']} created"
            + (f", next run {fmt.when(created.get('next_run'))}" if created.get("next_run") else "")
        )
        self.reload()
        if created.get("url"):
            self.show_url(created)

    def action_edit(self) -> None:
        t = self.selected()
        if t:

            async def preview(values: dict[str, Any]) -> str:
                return await cron_preview(self.api, {**values, "type": t["type"]})

            async def save(values: dict[str, Any]) -> dict[str, Any]:
                changes = {k: v for k, v in values.items() if v != t.get(k)}
                if not changes.get("webhook_secret"):
                    changes.pop("webhook_secret", None)
                if t["type"] != TriggerType.SCHEDULE:
                    changes.pop("cron", None)
                    changes.pop("timezone", None)
                if changes:
                    await self.api.update_trigger(t["id"], changes)
                return {"changed": bool(changes)}

            self.app.push_screen(
                FormModal(
                    f"Edit trigger {t['id']} ({t['type'].lower()})",
                    self.fields(t),
                    preview=preview,
                    submit=save,
                ),
                lambda done: self.updated(t, done),
            )

    def updated(self, t: dict[str, Any], done: dict[str, Any] | None) -> None:
        if done and done.get("changed"):
            self.notify(f"trigger {t['id']} updated")
            self.reload()

    @hub_work()
    async def action_toggle(self) -> None:
        t = self.selected()
        if t:
            await self.api.update_trigger(t["id"], {"enabled": not t.get("enabled")})
            self.notify(f"trigger {t['id']} {'disabled' if t.get('enabled') else 'enabled'}")
            self.reload()

    def action_webhook(self) -> None:
        t = self.selected()
        if t and t.get("url"):
            self.show_url(t)
        elif t:
            self.notify("not a webhook trigger", severity="warning")

    def show_url(self, t: dict[str, Any]) -> None:
        url = t["url"]
        text = f"{url}\n\ncurl -X POST -H 'Content-Type: application/json' -d '{{}}' {url}\n"
        if t.get("signed"):
            text += (
                "\nThis webhook has a secret: every request must carry\n"
                "X-Exekra-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>\n"
                "(the secret itself is write-only: set a new one with e).\n"
            )
        self.app.push_screen(TextModal(f"Webhook of trigger {t['id']}", text))

    def action_delete(self) -> None:
        t = self.selected()
        if t:
            self.confirm_delete(f"trigger {t['id']}", lambda: self.api.delete_trigger(t["id"]))
