"""Credentials (vault): names and usernames; secrets are write-only."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.binding import Binding

from .. import fmt
from ..modals import ConfirmModal, Field, FormModal
from .base import TableScreen, hub_work

HELP = """# Credentials
The vault: workflows refer to a credential by name (`credential` param, `{{credential}}` in a
param) and the runner receives the secret only inside the execution it runs. Secrets are
write-only — nobody can read one back, here or over the API. `n` new, `e` edit (leave the
secret empty to keep it), `delete` removes."""


class CredentialsScreen(TableScreen):
    TITLE = "Credentials"
    CSS_PATH = "credentials.tcss"
    HELP = HELP
    REQUIRES = "DEVELOPER"
    COLUMNS = ("id", "name", "username", "description", "updated")
    ROLE_ACTIONS = {"new": "DEVELOPER", "edit": "DEVELOPER", "delete": "DEVELOPER"}
    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("e,enter", "edit", "Edit"),
        Binding("delete", "delete", "Delete"),
    ]

    async def fetch(self) -> list[dict[str, Any]]:
        return (await self.api.credentials())["items"]

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        return (
            str(item["id"]),
            escape(item["name"]),
            escape(item.get("username") or "—"),
            escape((item.get("description") or "")[:40]),
            fmt.ago(item.get("updated_at")),
        )

    def action_new(self) -> None:
        fields = [
            Field("name", "Name", required=True, placeholder="erp-login"),
            Field("username", "Username"),
            Field("secret", "Secret", kind="password", required=True),
            Field("description", "Description"),
        ]
        self.app.push_screen(FormModal("New credential", fields), self.create)

    @hub_work()
    async def create(self, values: dict[str, Any] | None) -> None:
        if values:
            body = {k: v for k, v in values.items() if v not in ("", None)}
            created = await self.api.create_credential(body)
            self.notify(f"credential {created['name']} stored")
            self.reload()

    def action_edit(self) -> None:
        c = self.selected()
        if not c:
            return
        fields = [
            Field("name", "Name", value=c["name"], required=True),
            Field("username", "Username", value=c.get("username") or ""),
            Field("secret", "New secret", kind="password", help="empty: keep the current one"),
            Field("description", "Description", value=c.get("description") or ""),
        ]
        self.app.push_screen(FormModal(f"Edit {c['name']}", fields), lambda v: self.update(c, v))

    @hub_work()
    async def update(self, c: dict[str, Any], values: dict[str, Any] | None) -> None:
        if not values:
            return
        changes = {k: v for k, v in values.items() if v != (c.get(k) or "")}
        if not changes.get("secret"):
            changes.pop("secret", None)
        if changes:
            await self.api.update_credential(c["id"], changes)
            self.notify(f"credential {values['name']} updated")
            self.reload()

    def action_delete(self) -> None:
        c = self.selected()
        if c:
            self.app.push_screen(
                ConfirmModal(f"Delete credential {c['name']}?"),
                lambda ok: self.delete_item(c) if ok else None,
            )

    @hub_work()
    async def delete_item(self, c: dict[str, Any]) -> None:
        await self.api.delete_credential(c["id"])
        self.notify(f"deleted credential {c['name']}")
        self.reload()
