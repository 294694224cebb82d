"""``exekra`` — dispatches to the hub, runner and console command groups.

The groups are imported lazily so ``exekra runner start`` never imports the hub (and the other
way round): the parts meet only over HTTP and the shared ``workflows`` package.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from . import __version__

#: subcommand -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "hub": ("hub.cli", "hub_group", "Initialise and run the hub (REST API, scheduler, queue)."),
    "license": ("hub.cli", "license_group", "Vendor tools: RSA key pair and signed licenses."),
    "runner": ("runner.cli", "runner_group", "Connect, start and install the runner agent."),
    "console": ("console.cli", "console_command", "The terminal console (Textual)."),
    "record": ("console.record_cli", "record_command", "Record a browser task as a workflow."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exekra")
def cli() -> None:
    """Exekra — on-premise robotic process automation.

    Start with `exekra hub init` and `exekra hub serve`, activate a license, then connect
    runners with `exekra runner connect` and operate everything from `exekra console`.
    """


def _error_line(exc: click.ClickException) -> str:
    """A user error as one line: what went wrong and, for a usage error, where help is."""
    message = " ".join(exc.format_message().split())
    hint = ""
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        hint = f" (see `{exc.ctx.command_path} --help`)"
    return f"Error: {message}{hint}"


def main(argv: list[str] | None = None) -> None:
    """Run a command. A user error is one line on stderr and exit status 2, never a traceback
    (``EXEKRA_DEBUG=1`` shows the traceback of an unexpected OS error)."""
    try:
        code = cli.main(args=argv, prog_name="exekra", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(_error_line(exc), err=True)
        sys.exit(2)
    except OSError as exc:
        if os.environ.get("EXEKRA_DEBUG"):
            raise
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        click.echo(f"Error: {exc.strerror or exc}{where}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
