"""Users (ADMIN): create, edit role/name/password, disable, delete."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.binding import Binding

from .. import fmt
from ..modals import Field, FormModal
from .base import TableScreen, hub_work

HELP = """# Users
Everyone who may sign in, with their role: **ADMIN** (everything), **DEVELOPER** (+ workflows,
triggers, credentials), **OPERATOR** (read, run and stop executions). Disabling a user or
changing their password ends their sessions at once."""

ROLE_CHOICES = [("Operator", "OPERATOR"), ("Developer", "DEVELOPER"), ("Admin", "ADMIN")]


class UsersScreen(TableScreen):
    TITLE = "Users"
    CSS_PATH = "users.tcss"
    HELP = HELP
    REQUIRES = "ADMIN"
    COLUMNS = ("id", "email", "name", "role", "active", "last login")
    ROLE_ACTIONS = {"new": "ADMIN", "edit": "ADMIN", "toggle": "ADMIN", "delete": "ADMIN"}
    BINDINGS = [
        Binding("n", "new", "New user"),
        Binding("e,enter", "edit", "Edit"),
        Binding("space", "toggle", "Enable/disable"),
        Binding("delete", "delete", "Delete"),
    ]

    async def fetch(self) -> list[dict[str, Any]]:
        return (await self.api.users())["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        return (
            str(item["id"]),
            escape(item["email"]),
            escape(item.get("name") or ""),
            item["role"],
            "yes" if item.get("active", True) else "[dim]disabled[/]",
            fmt.ago(item.get("last_login_at")),
        )

    def action_new(self) -> None:
        fields = [
            Field("email", "Email", required=True),
            Field("name", "Name", required=True),
            Field(
                "role", "Role", kind="select", choices=ROLE_CHOICES, value="OPERATOR", required=True
            ),
            Field(
                "password",
                "Password",
                kind="password",
                required=True,
                help="at least the hub's minimum length",
            ),
        ]
        self.app.push_screen(FormModal("New user", fields), self.create)

    @hub_work()
    async def create(self, values: dict[str, Any] | None) -> None:
        if values:
            user = await self.api.create_user(values)
            self.notify(f"created {user['email']} ({user['role']})")
            self.reload()

    def action_edit(self) -> None:
        user = self.selected()
        if not user:
            return
        fields = [
            Field("name", "Name", value=user.get("name"), required=True),
            Field("email", "Email", value=user["email"], required=True),
            Field(
                "role",
                "Role",
                kind="select",
                choices=ROLE_CHOICES,
                value=user["role"],
                required=True,
            ),
            Field("active", "Active", kind="switch", value=user.get("active", True)),
            Field(
                "password",
                "New password",
                kind="password",
                help="leave empty to keep the current one",
            ),
        ]
        self.app.push_screen(
            FormModal(f"Edit {user['email']}", fields), lambda v: self.update(user, v)
        )

    @hub_work()
    async def update(self, user: dict[str, Any], values: dict[str, Any] | None) -> None:
        if not values:
            return
        changes = {k: v for k, v in values.items() if v != user.get(k) and v not in ("", None)}
        if not changes:
            return
        await self.api.update_user(user["id"], changes)
        self.notify(f"updated {user['email']}")
        self.reload()

    @hub_work()
    async def action_toggle(self) -> None:
        user = self.selected()
        if user:
            active = not user.get("active", True)
            await self.api.update_user(user["id"], {"active": active})
            self.notify(f"{user['email']} {'enabled' if active else 'disabled'}")
            self.reload()

    def action_delete(self) -> None:
        user = self.selected()
        if user:
            self.confirm_delete(user["email"], lambda: self.api.delete_user(user["id"]))
