"""The example workflows: they validate, are stored canonically and use only known variables."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import catalog, dumps, examples, validate
from workflows.expressions import references

NAMES = examples.names()


def test_there_are_several_examples() -> None:
    assert len(NAMES) >= 4
    assert {"hello", "order_file", "split_names", "http_status"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_validates(name: str) -> None:
    assert [p.to_dict() for p in validate(examples.load(name))] == []


@pytest.mark.parametrize("name", NAMES)
def test_example_is_stored_in_canonical_form(name: str) -> None:
    assert examples.text(name) == dumps(examples.load(name))


@pytest.mark.parametrize("name", NAMES)
def test_example_uses_only_variables_it_defines(name: str) -> None:
    graph = examples.load(name)
    defined = set(graph.get("variables", {})) | {i["name"] for i in graph.get("inputs", [])}
    for node in graph["nodes"]:
        act = catalog.get(node["type"])
        for spec in act.params:
            value = node.get("params", {}).get(spec.name)
            if spec.type == "variable" and isinstance(value, str):
                defined.add(value)
    used: set[str] = set()
    for node in graph["nodes"]:
        act = catalog.get(node["type"])
        for pname, value in node.get("params", {}).items():
            spec = act.param(pname)
            if spec is not None and spec.type == "condition":
                used |= references(value, condition=True)
            elif spec is not None and spec.type not in ("variable", "code"):
                for text in _strings(value):
                    used |= references(text)
    assert used <= defined, f"{name}: undefined {used - defined}"
    assert graph.get("description")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_load_returns_a_fresh_copy() -> None:
    a = examples.load("hello")
    a["nodes"].clear()
    assert examples.load("hello")["nodes"]


def test_unknown_example() -> None:
    with pytest.raises(KeyError, match="no example workflow 'nope'"):
        examples.load("nope")
