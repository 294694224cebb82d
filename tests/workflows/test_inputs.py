"""Declared inputs: the graph format, validation, canonical form, diff and the check."""

from __future__ import annotations

from typing import Any

import pytest

import workflows
from workflows.inputs import InputsRejected, accepted_inputs, check_inputs
from workflows.schema import MAX_INPUTS, conforms

INPUTS = [
    {"name": "order", "type": "integer", "required": True, "description": "order number"},
    {"name": "region", "type": "string", "default": "EU"},
    {"name": "extra"},
]


def graph(inputs: Any = INPUTS, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": 1,
        "variables": variables or {},
        "nodes": [{"id": "log", "type": "log.write", "params": {"message": "{order} {region}"}}],
        "edges": [],
    }
    if inputs is not None:
        doc["inputs"] = inputs
    return doc


def codes(doc: Any) -> list[str]:
    return [p.code for p in workflows.validate(doc)]


def test_a_declaration_is_valid_and_round_trips_canonically() -> None:
    doc = graph()
    assert workflows.validate(doc) == [] and conforms(doc)
    g = workflows.Graph.from_dict(doc)
    assert [i.name for i in g.inputs or []] == ["order", "region", "extra"]
    assert g.input_defaults() == {"region": "EU"}
    again = workflows.canonical(doc)
    assert again["inputs"] == [
        {"name": "order", "type": "integer", "required": True, "description": "order number"},
        {"name": "region", "type": "string", "default": "EU"},
        {"name": "extra"},
    ]
    assert workflows.canonical(again) == again


def test_old_graphs_stay_valid_and_say_they_declare_nothing() -> None:
    doc = graph(inputs=None)
    assert workflows.validate(doc) == []
    g = workflows.Graph.from_dict(doc)
    assert g.inputs is None and "inputs" not in g.to_dict()
    assert accepted_inputs(doc) == []
    assert [(d.name, d.type, d.legacy) for d in accepted_inputs(doc, ["b", "a", "a"])] == [
        ("a", "any", True),
        ("b", "any", True),
    ]
    # an explicit empty declaration is not legacy: it accepts nothing, learned names or not
    empty = workflows.Graph.from_dict(graph(inputs=[]))
    assert empty.inputs == [] and accepted_inputs(graph(inputs=[]), ["a"]) == []
    assert workflows.canonical(graph(inputs=[]))["inputs"] == []


@pytest.mark.parametrize(
    ("inputs", "code"),
    [
        ([{"name": "a"}, {"name": "a"}], "duplicate_input"),
        ([{"name": "__class__"}], "invalid_name"),
        ([{"name": "1a"}], "schema"),
        ([{"name": "a", "type": "date"}], "schema"),
        ([{"name": "a", "required": "yes"}], "schema"),
        ([{"name": "a", "secret": True}], "schema"),
        ([{"type": "string"}], "schema"),
        ({"a": {}}, "schema"),
        ([{"name": "a", "type": "integer", "default": "7"}], "input_default"),
        ([{"name": "a", "type": "boolean", "default": 0}], "input_default"),
        ([{"name": "a", "required": True, "default": 1}], "input_default"),
        ([{"name": "a"}] * 0 + [{"name": f"v{i}"} for i in range(MAX_INPUTS + 1)], "schema"),
    ],
)
def test_bad_declarations_are_problems(inputs: Any, code: str) -> None:
    assert code in codes(graph(inputs=inputs))
    with pytest.raises(workflows.InvalidGraph):
        workflows.ensure_valid(graph(inputs=inputs))


def test_an_input_is_not_also_a_variable() -> None:
    problems = workflows.validate(graph(inputs=[{"name": "region"}], variables={"region": "EU"}))
    assert [p.code for p in problems] == ["input_conflict"]
    assert "region" in problems[0].message and problems[0].path == "/inputs/0"


def test_check_names_every_offending_input() -> None:
    declared = accepted_inputs(graph())
    check_inputs(declared, {"order": 7})
    check_inputs(declared, {"order": 7, "region": "US", "extra": [1, {"x": None}]})
    with pytest.raises(InputsRejected) as err:
        check_inputs(declared, {"url": "http://evil", "token": 1, "region": 5})
    assert err.value.undeclared == ["token", "url"]
    assert err.value.missing == ["order"]
    assert err.value.wrong_type == [{"name": "region", "expected": "text", "given": "a number"}]
    message = str(err.value)
    assert "'url'" in message and "'token'" in message and "'order'" in message
    # partial: a trigger's saved inputs need not carry the required ones
    check_inputs(declared, {"region": "US"}, partial=True)
    with pytest.raises(InputsRejected):
        check_inputs(declared, {"nope": 1}, partial=True)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("string", "x", [1, None, True, ["x"]]),
        ("integer", 3, [3.5, "3", True, None]),
        ("number", 3.5, ["3.5", False, None]),
        ("boolean", False, [0, "false", None]),
        ("list", [1], [{"a": 1}, "[]", None]),
        ("object", {"a": 1}, [[1], "{}", None]),
        ("any", None, []),
    ],
)
def test_types(kind: str, good: Any, bad: list[Any]) -> None:
    declared = accepted_inputs(graph(inputs=[{"name": "v", "type": kind}]))
    check_inputs(declared, {"v": good})
    for value in bad:
        with pytest.raises(InputsRejected):
            check_inputs(declared, {"v": value})


def test_diff_shows_a_changed_declaration() -> None:
    old = graph(inputs=None)
    new = graph(inputs=[{"name": "order", "type": "integer"}])
    lines = workflows.format_diff(workflows.diff(old, new))
    assert lines == ['~ inputs: null -> [{"name": "order", "type": "integer"}]']
    assert workflows.format_diff(workflows.diff(new, new)) == []
