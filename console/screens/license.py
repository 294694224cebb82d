"""License: status and details; upload a new ``.lic`` file (ADMIN)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from .. import fmt
from ..actions import UnreadableFile, activate_license_file
from ..modals import Field, FormModal
from .base import HubScreen, hub_work

HELP = """# License
The hub's license: status, organisation, runner limit and expiry. An expired license keeps
working for a grace period (a banner says so); after that executions are refused.
`u` uploads a new `.lic` file (activation or renewal takes effect at once, no restart)."""


class LicenseScreen(HubScreen):
    TITLE = "License"
    CSS_PATH = "license.tcss"
    HELP = HELP
    ROLE_ACTIONS = {"upload": "ADMIN"}
    BINDINGS = [Binding("u", "upload", "Upload .lic")]

    def body(self) -> ComposeResult:
        with Vertical(id="license-box"):
            yield Static(id="license")

    def reload(self) -> None:
        self.load()

    @hub_work(exclusive=True, group="load", loading="#license-box")
    async def load(self) -> None:
        state = await self.api.license()
        self.console.set_license(state)
        self.show(state)

    def show(self, state: dict[str, Any]) -> None:
        rows = [("Status", fmt.status(state.get("status")))]
        for key, label in (
            ("organization", "Organisation"),
            ("email", "Email"),
            ("max_runners", "Runner limit"),
            ("issued_at", "Issued"),
            ("expires_at", "Expires"),
            ("license_id", "License id"),
        ):
            if state.get(key) is not None:
                value = state[key]
                if key.endswith("_at"):
                    value = f"{fmt.when(value)} UTC ({fmt.ago(value)})"
                rows.append((label, escape(str(value))))
        text = "\n".join(f"[b]{label:<14}[/] {value}" for label, value in rows)
        if not self.can("ADMIN"):
            text += "\n\n[dim]Details and renewal are for administrators.[/]"
        self.query_one("#license", Static).update(text)

    def action_upload(self) -> None:
        field = Field("path", "Path of the .lic file", required=True, placeholder="~/acme.lic")
        self.app.push_screen(
            FormModal("Upload a license", [field], submit_label="Upload"), self.upload
        )

    @hub_work()
    async def upload(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        try:
            state = await activate_license_file(self.api, values["path"])
        except UnreadableFile as exc:
            self.notify(str(exc), severity="error")
            return
        self.console.set_license(state)
        self.show(state)
        self.notify(f"license {state.get('status')} until {fmt.when(state.get('expires_at'))}")
