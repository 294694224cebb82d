"""The README documents the expression functions, the problem codes and the examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows import CODES, examples
from workflows.expressions import FUNCTIONS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_is_documented(name: str) -> None:
    assert f"`{name}`" in README


@pytest.mark.parametrize("code", sorted(CODES))
def test_problem_code_is_documented(code: str) -> None:
    assert f"`{code}`" in README


@pytest.mark.parametrize("name", examples.names())
def test_example_is_documented(name: str) -> None:
    assert f"`{name}`" in README
