"""The fast structural check agrees with jsonschema, the authority."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from workflows import examples, validate
from workflows.schema import SCHEMA, conforms, schema_problems

AUTHORITY = Draft202012Validator(SCHEMA)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 200)
    | st.floats(-5, 5)
    | st.sampled_from(["", "a", "a b", "a\n", "log.write", "X.y", "n1", "_"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
retry = (
    st.fixed_dictionaries({}, optional={"attempts": scalars, "delay": scalars, "x": scalars})
    | scalars
)
node = st.fixed_dictionaries(
    {},
    optional={
        "id": scalars,
        "type": scalars,
        "params": st.dictionaries(st.text(max_size=3), values, max_size=2) | scalars,
        "label": scalars | st.text(min_size=199, max_size=202),
        "position": st.lists(scalars, max_size=3) | scalars,
        "timeout": scalars,
        "retry": retry,
        "extra": scalars,
    },
)
edge = st.fixed_dictionaries(
    {}, optional={"from": scalars, "to": scalars, "port": scalars, "x": scalars}
)
doc = st.fixed_dictionaries(
    {},
    optional={
        "format": scalars,
        "nodes": st.lists(node, max_size=3) | scalars,
        "edges": st.lists(edge, max_size=3) | scalars,
        "variables": st.dictionaries(st.sampled_from(["a", "1x", "a\n", "_b"]), values) | scalars,
        "description": scalars,
        "other": scalars,
    },
)


@settings(max_examples=300, deadline=None)
@given(doc)
def test_fast_check_never_accepts_what_jsonschema_refuses(d: Any) -> None:
    if conforms(d):
        assert AUTHORITY.is_valid(d)
        assert schema_problems(d) == []
    else:
        assert (schema_problems(d) == []) == AUTHORITY.is_valid(d)


@pytest.mark.parametrize("name", examples.names())
def test_valid_graphs_take_the_fast_path(name: str) -> None:
    assert conforms(examples.load(name))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("nodes", 0, "retry"), {"attempts": 1.0}),  # an integer to JSON Schema
        (("format",), 1.0),
    ],
)
def test_fast_check_is_stricter_in_corner_cases_and_defers(
    path: tuple[Any, ...], value: Any
) -> None:
    d = examples.load("hello")
    target: Any = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not conforms(d)
    assert schema_problems(d) == []  # jsonschema accepts it


def test_trailing_newline_in_names_is_refused_by_the_validator() -> None:
    d = examples.load("hello")
    d["variables"]["name\n"] = 1
    d2 = copy.deepcopy(examples.load("hello"))
    d2["nodes"][2]["id"] = "log\n"
    d2["edges"][1]["to"] = "log\n"
    assert [p.code for p in validate(d)] == ["invalid_name"]
    assert [p.code for p in validate(d2)] == ["schema"]


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """A valid example with one value somewhere replaced, added or removed."""
    d = examples.load(draw(st.sampled_from(examples.names())))
    target: Any = d
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = target[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            target = child
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            target[key] = draw(values)
        elif action == "delete":
            del target[key]
        elif isinstance(target, dict):
            target[draw(st.sampled_from(["x", "id", "port", "delay", "label"]))] = draw(scalars)
        else:
            target.append(draw(values))
        break
    return d


@settings(max_examples=300, deadline=None)
@given(mutated_examples())
def test_fast_check_agrees_on_near_valid_graphs(d: Any) -> None:
    if conforms(d):
        assert AUTHORITY.is_valid(d)
    elif AUTHORITY.is_valid(d):
        assert schema_problems(d) == []
