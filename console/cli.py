"""``exekra console [--hub URL]``: start the terminal console."""

from __future__ import annotations

import click


@click.command("console", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--hub",
    "hub_url",
    envvar="EXEKRA_HUB_URL",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="The hub's base URL (or EXEKRA_HUB_URL).",
)
def console_command(hub_url: str) -> None:
    """The terminal console: sign in and operate the hub from the keyboard.

    The session token is kept in your user data folder (mode 0600); EXEKRA_TOKEN overrides it.
    """
    if not hub_url.startswith(("http://", "https://")):
        raise click.UsageError("--hub must be an http:// or https:// URL")
    from .app import ExekraConsole

    ExekraConsole(hub_url=hub_url).run()
