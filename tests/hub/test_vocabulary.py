"""The status vocabulary is typed once (workflows/statuses.py): the hub and the runner spell no
status as a string literal, and every status the hub's hand-written SQL quotes is one the enums
define (so a typo in a claim query cannot slip through)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from workflows.statuses import ExecutionStatus, LicenseStatus, RunnerStatus, TriggerType

ROOT = Path(__file__).resolve().parents[2]
VOCABULARY = {
    s.value for enum in (ExecutionStatus, RunnerStatus, TriggerType, LicenseStatus) for s in enum
}
SQL_QUOTED = re.compile(r"'([A-Z][A-Z_]{3,})'")  # 4+ letters: not 'UTC'


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def _modules(*packages: str) -> list[Path]:
    # migrations are frozen history: they keep the literals they were written with
    return [
        p
        for package in packages or ("hub",)
        for p in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in p.parts
    ]


def test_no_status_is_spelled_as_a_string_in_the_hub_or_the_runner() -> None:
    # (the console has its own check: tests/console/test_vocabulary.py)
    found = [
        f"{path.relative_to(ROOT)}:{line}: {value!r}"
        for path in _modules("hub", "runner")
        for line, value in _strings(path)
        if value in VOCABULARY
    ]
    assert not found, "use the enums of workflows/statuses.py:\n" + "\n".join(found)


def test_statuses_quoted_in_sql_are_known() -> None:
    unknown = [
        f"{path.relative_to(ROOT)}:{line}: {token!r}"
        for path in _modules()
        for line, value in _strings(path)
        for token in SQL_QUOTED.findall(value)
        if token not in VOCABULARY
    ]
    assert not unknown, "\n".join(unknown)
    quoted = {t for path in _modules() for _, v in _strings(path) for t in SQL_QUOTED.findall(v)}
    assert {"QUEUED", "ASSIGNED", "ONLINE", "BUSY"} <= quoted  # the check reads the claim SQL
