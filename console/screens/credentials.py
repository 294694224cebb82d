"""Credentials (vault): names and usernames; secrets are write-only."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.binding import Binding

from .. import fmt
from ..modals import Field, FormModal
from .base import TableScreen, hub_work

HELP = """# Credentials
The vault: workflows refer to a credential by name (`credential` param, `{{credential}}` in a
param) and the runner receives the secret only inside the execution it runs. Secrets are
write-only — nobody can read one back, here or over the API. `n` new, `e` edit (leave the
secret empty to keep it), `delete` removes.

**Allowed hosts** bind a credential to the hosts it may be sent to (comma-separated:
`erp.acme.local`, `*.acme.local` for any host under it, `10.0.0.7`, each optionally with
`:port`). The runner refuses to send the secret anywhere else — an HTTP request, a redirect,
a database connection — so a workflow input cannot point it at another server. A credential
without allowed hosts may be sent to any host: it is marked *any host* in yellow."""

ANY_HOST = "[yellow]any host[/]"


def hosts_text(value: str | None) -> list[str]:
    """The comma- or space-separated host patterns of the form, as a list."""
    return [h for h in (value or "").replace(",", " ").split() if h]


HOSTS_HELP = (
    "the only hosts the secret may be sent to: erp.acme.local, *.acme.local, 10.0.0.7:5432; "
    "empty: any host"
)


class CredentialsScreen(TableScreen):
    TITLE = "Credentials"
    CSS_PATH = "credentials.tcss"
    HELP = HELP
    REQUIRES = "DEVELOPER"
    COLUMNS = ("id", "name", "username", "allowed hosts", "description", "updated")
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
            escape(", ".join(item.get("allowed_hosts") or []))[:40] or ANY_HOST,
            escape((item.get("description") or "")[:40]),
            fmt.ago(item.get("updated_at")),
        )

    def action_new(self) -> None:
        fields = [
            Field("name", "Name", required=True, placeholder="erp-login"),
            Field("username", "Username"),
            Field("secret", "Secret", kind="password", required=True),
            Field(
                "allowed_hosts",
                "Allowed hosts",
                placeholder="erp.acme.local, *.acme.local",
                help=HOSTS_HELP,
            ),  # fmt: skip
            Field("description", "Description"),
        ]
        self.app.push_screen(FormModal("New credential", fields), self.create)

    def warn_unbound(self, credential: dict[str, Any]) -> None:
        if not credential.get("allowed_hosts"):
            self.notify(
                f"{credential['name']} may be sent to any host; give it allowed hosts so a "
                "workflow input cannot send it elsewhere",
                severity="warning",
            )

    @hub_work()
    async def create(self, values: dict[str, Any] | None) -> None:
        if values:
            body = {k: v for k, v in values.items() if v not in ("", None)}
            if "allowed_hosts" in body:
                body["allowed_hosts"] = hosts_text(body["allowed_hosts"])
            created = await self.api.create_credential(body)
            self.notify(f"credential {created['name']} stored")
            self.warn_unbound(created)
            self.reload()

    def action_edit(self) -> None:
        c = self.selected()
        if not c:
            return
        fields = [
            Field("name", "Name", value=c["name"], required=True),
            Field("username", "Username", value=c.get("username") or ""),
            Field("secret", "New secret", kind="password", help="empty: keep the current one"),
            Field(
                "allowed_hosts",
                "Allowed hosts",
                value=", ".join(c.get("allowed_hosts") or []),
                placeholder="erp.acme.local, *.acme.local",
                help=HOSTS_HELP,
            ),  # fmt: skip
            Field("description", "Description", value=c.get("description") or ""),
        ]
        self.app.push_screen(FormModal(f"Edit {c['name']}", fields), lambda v: self.update(c, v))

    @hub_work()
    async def update(self, c: dict[str, Any], values: dict[str, Any] | None) -> None:
        if not values:
            return
        hosts = hosts_text(values.pop("allowed_hosts", ""))
        changes = {k: v for k, v in values.items() if v != (c.get(k) or "")}
        if not changes.get("secret"):
            changes.pop("secret", None)
        if hosts != list(c.get("allowed_hosts") or []):
            changes["allowed_hosts"] = hosts
        if changes:
            updated = await self.api.update_credential(c["id"], changes)
            self.notify(f"credential {values['name']} updated")
            self.warn_unbound(updated)
            self.reload()

    def action_delete(self) -> None:
        c = self.selected()
        if c:
            self.confirm_delete(
                f"credential {c['name']}", lambda: self.api.delete_credential(c["id"])
            )
