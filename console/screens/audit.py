"""Audit log (ADMIN): who did what, when, from where — filter by action and user."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from .. import fmt
from .base import TableScreen

HELP = """# Audit log
Every administrative action, newest first. Type an action (`user.create`, or a family such
as `license.*`) or a user id in the boxes at the top and press enter; `/` filters what is
shown. `[` and `]` page through older entries."""

PAGE = 100


class AuditScreen(TableScreen):
    TITLE = "Audit log"
    CSS_PATH = "audit.tcss"
    HELP = HELP
    REQUIRES = "ADMIN"
    COLUMNS = ("at", "user", "action", "resource", "ip", "details")
    BINDINGS = [
        Binding("left_square_bracket", "page(-1)", "Newer", key_display="["),
        Binding("right_square_bracket", "page(1)", "Older", key_display="]"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0
        self.total = 0

    def toolbar(self) -> ComposeResult:
        with Horizontal(classes="toolbar", id="audit-filters"):
            yield Input(placeholder="action (e.g. user.*)", id="action")
            yield Input(placeholder="user id", id="user-id", type="integer")
            yield Static(id="paging")

    def sort_value(self, item: dict[str, Any]) -> Any:
        col = self.COLUMNS[self.sort_col]
        key = {"user": "user_email"}.get(col, col)
        return str(item.get(key) or "")

    async def fetch(self) -> list[dict[str, Any]]:
        action = self.query_one("#action", Input).value.strip() or None
        user = self.query_one("#user-id", Input).value.strip() or None
        result = await self.api.audit(
            action=action, user_id=user, limit=PAGE, offset=self.page_offset
        )
        self.total = result.get("total", 0)
        last = min(self.page_offset + PAGE, self.total)
        self.query_one("#paging", Static).update(
            f"{self.page_offset + 1 if self.total else 0}–{last} of {self.total}"
        )
        return result["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        details = json.dumps(item.get("details")) if item.get("details") else ""
        return (
            fmt.ago(item.get("at")),
            escape(item.get("user_email") or str(item.get("user_id") or "—")),
            escape(item["action"]),
            escape(item.get("resource") or ""),
            escape(item.get("ip") or ""),
            escape(details[:60]),
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("action", "user-id"):
            self.page_offset = 0
            self.reload()
        else:
            super().on_input_submitted(event)

    def action_page(self, delta: int) -> None:
        new = self.page_offset + delta * PAGE
        if 0 <= new < max(self.total, 1):
            self.page_offset = new
            self.reload()
