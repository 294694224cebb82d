"""The docs stay honest: every setting and every CLI command is in the README."""

from __future__ import annotations

import importlib
from dataclasses import fields

import click

from exekra.cli import COMMANDS
from hub.config import Settings
from runner.settings import RunnerSettings
from tests.support import REPO
from workflows.settings import Setting, describe

README = (REPO / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [f.name for f in fields(Settings) if f"`{f.name}`" not in README]
    assert not missing, f"settings missing from README's Configuration table: {missing}"


def _commands(group: click.Command, prefix: str) -> list[str]:
    out = [prefix]
    if isinstance(group, click.Group):
        for name, cmd in group.commands.items():
            if not cmd.hidden:
                out += _commands(cmd, f"{prefix} {name}")
    return out


def test_every_cli_command_is_documented():
    found = []
    for name, (module, attr, _) in COMMANDS.items():
        cmd = getattr(importlib.import_module(module), attr)
        found += _commands(cmd, f"exekra {name}")
    missing = [c for c in found if f"`{c}" not in README]
    assert not missing, f"commands missing from README: {missing}"


# -- the settings tables: each setting is declared once, with setting(), and the README shows it

SETTINGS_HEADER = "| setting | default | meaning |"


def _default(item: Setting) -> str:
    if item.shown is not None:
        return item.shown
    value = item.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`" if value != "" else "(empty)"


def settings_rows(cls: type, prefix: str) -> list[str]:
    """The README table rows of ``cls``'s settings, rendered from their declarations."""
    rows = []
    for item in describe(cls):
        name = f"`{item.name}`"
        if item.name == "data_dir":  # chosen before the file is read: by its variable
            name += f" (`{prefix}DATA_DIR`)"
        rows.append(f"| {name} | {_default(item)} | {item.meaning} |")
    return rows


def readme_settings_tables() -> list[list[str]]:
    """Every table in the README whose header is ``| setting | default | meaning |``."""
    tables: list[list[str]] = []
    lines = README.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == SETTINGS_HEADER:
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(row.strip())
            tables.append(rows)
    return tables


def test_readme_settings_tables_are_the_declared_settings():
    """The hub's table, then the runner's: every setting, in order, and nothing else."""
    expected = [settings_rows(Settings, "EXEKRA_"), settings_rows(RunnerSettings, "EXEKRA_RUNNER_")]
    tables = readme_settings_tables()
    for (owner, want), got in zip((("hub", expected[0]), ("runner", expected[1])), tables):
        assert got == want, (
            f"README's {owner} settings table differs from the settings declared in code "
            "(hub/config.py, runner/settings.py); it should read:\n" + "\n".join(want)
        )
    assert len(tables) == 2, f"README has {len(tables)} settings tables, not the hub's and runner's"


def test_hub_and_runner_settings_use_different_variables():
    """``EXEKRA_RUNNER_`` + a runner setting must never also be ``EXEKRA_`` + a hub setting."""
    hub = {"EXEKRA_" + item.name.upper() for item in describe(Settings)}
    runner = {"EXEKRA_RUNNER_" + item.name.upper() for item in describe(RunnerSettings)}
    assert not hub & runner
