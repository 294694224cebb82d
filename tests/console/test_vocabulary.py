"""The console names statuses through workflows.statuses, never by retyping their strings."""

from __future__ import annotations

import ast
from pathlib import Path

import console
from workflows.statuses import ExecutionStatus, LicenseStatus, RunnerStatus, TriggerType

ROOT = Path(console.__file__).resolve().parent
ENUMS = (ExecutionStatus, RunnerStatus, TriggerType, LicenseStatus)
WORDS = {str(member) for enum in ENUMS for member in enum}


def test_no_status_string_is_retyped() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in WORDS:
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.value!r}")
    assert not found, "use workflows.statuses instead of:\n" + "\n".join(found)
