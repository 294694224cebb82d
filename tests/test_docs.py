"""The docs stay honest: every setting and every CLI command is in the README."""

from __future__ import annotations

import importlib
from dataclasses import fields

import click

from exekra.cli import COMMANDS
from hub.config import Settings
from tests.support import REPO

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
