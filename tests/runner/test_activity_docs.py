"""Every activity the runner implements is documented in the README's activity table."""

from __future__ import annotations

from runner import activities
from tests.support import REPO


def test_every_activity_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Activities and the workflow engine", 1)[1].split("\n## ", 1)[0]
    missing = sorted(t for t in activities.REGISTRY if f"`{t}`" not in section)
    assert not missing, f"activities missing from the README's activity table: {missing}"
