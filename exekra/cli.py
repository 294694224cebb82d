"""``exekra`` — dispatches to the hub, runner and console command groups.

The groups are imported lazily so ``exekra runner start`` never imports the hub (and the other
way round): the parts meet only over HTTP and the shared ``workflows`` package.
"""

from __future__ import annotations

import importlib
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


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="exekra", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
