"""Sign in with email and password; the token is kept for the next start (mode 0600)."""

from __future__ import annotations

import os
from typing import Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from workflows.statuses import LicenseStatus

from ..actions import UnreadableFile, activate_license_file
from ..client import HubError, HubUnreachable
from ..modals import Field, FieldError, FormModal
from .base import Banner

HELP = """# Sign in
Sign in with your Exekra account. The session token is kept in your user data folder
(mode 0600) so the next `exekra console` starts signed in; `EXEKRA_TOKEN` overrides it.

A new hub: press `F2` to activate its license (the `.lic` file) and create the first
administrator (the email must be the license's), then you are signed in."""


class LoginScreen(Screen[None]):
    CSS_PATH = "login.tcss"
    HELP = HELP
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit"),
        Binding("f2", "setup", "First-run setup"),
    ]

    def __init__(self, message: str = "") -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield Header()
        yield Banner(id="banner")
        with Center():
            with Vertical(id="login"):
                yield Label("Sign in to Exekra", id="login-title")
                yield Static(f"hub: {app.hub_url}", id="hub-url")
                yield Static(self.message, id="login-message")
                known = (app.user or {}).get("email") or app.store.email(app.hub_url) or ""
                yield Input(known, placeholder="email", id="email")
                yield Input(placeholder="password", password=True, id="password")
                yield Button("Sign in", variant="primary", id="sign-in")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#login-message").display = bool(self.message)
        self.check_first_run()
        email = self.query_one("#email", Input)
        (self.query_one("#password", Input) if email.value else email).focus()

    @on(Input.Submitted, "#email")
    def _next(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#sign-in")
    def _submit(self) -> None:
        email = self.query_one("#email", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not email or not password:
            self.notify("enter your email and password", severity="error")
            return
        self.sign_in(email, password)

    @work(group="hub")
    async def check_first_run(self) -> None:
        app: Any = self.app
        try:
            state = await app.client.license()
        except HubError:
            return
        if state.get("status") == LicenseStatus.UNLICENSED:
            self.message = "This hub has no license yet: press F2 for the first-run setup."
            label = self.query_one("#login-message", Static)
            label.update(self.message)
            label.display = True

    @work(exclusive=True, group="dialog")
    async def action_setup(self) -> None:
        app: Any = self.app
        fields = [
            Field("license", "License file (.lic) — empty if already activated"),
            Field("email", "Administrator email (the license's)", required=True),
            Field("name", "Name", required=True),
            Field("password", "Password", kind="password", required=True),
        ]
        activated: dict[str, Any] = {}

        async def set_up(values: dict[str, Any]) -> dict[str, Any]:
            # the form stays open on any refusal, with the message beside its field
            if values.get("license") and not activated:
                try:
                    state = await activate_license_file(app.client, values["license"])
                except UnreadableFile as exc:
                    raise FieldError(str(exc), "license") from None
                except HubError as exc:
                    raise FieldError(exc.description or str(exc), "license") from None
                activated.update(state)
                self.notify(f"license {state.get('status')} for {state.get('organization')}")
            await app.client.setup_admin(values["email"], values["password"], values["name"])
            return values

        values = await app.push_screen_wait(
            FormModal("First-run setup", fields, submit_label="Set up", submit=set_up)
        )
        if not values:
            return
        self.query_one("#email", Input).value = values["email"]
        self.sign_in(values["email"], values["password"])

    @work(exclusive=True)
    async def sign_in(self, email: str, password: str) -> None:
        app: Any = self.app
        button = self.query_one("#sign-in", Button)
        button.disabled = True
        button.label = "Signing in…"
        try:
            result = await app.client.login(email, password)
        except HubUnreachable as exc:
            app.hub_failed(exc)
            return
        except HubError as exc:
            self.notify(exc.description, title="Sign-in failed", severity="error")
            self.query_one("#password", Input).value = ""
            return
        finally:
            button.disabled = False
            button.label = "Sign in"
        if not os.environ.get("EXEKRA_TOKEN"):
            app.store.save(app.hub_url, result["token"], email)
        # the app finishes the sign-in: this screen (and this worker) is about to be removed
        self.app.run_worker(cast(Any, self.app).signed_in(result["user"]), group="session")
