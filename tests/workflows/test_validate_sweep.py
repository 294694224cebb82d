"""The validator over the whole catalog and every example, and the order of its problems.

``test_validate.py`` has one failing case per rule; these sweep what it samples: every param of
every activity (each type's wrong value, expressions, missing required params), every example
workflow broken in known ways, and the order problems come in when a graph is wrong in every
way at once (the console lists them in that order).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workflows import CATALOG, Activity, Param, examples, validate

from .test_validate import base

#: a value of each param type that is right, and one that is wrong
GOOD: dict[str, Any] = {
    "string": "s",
    "text": "t",
    "code": "result = 1",
    "condition": "1 > 0",
    "variable": "v",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "list": [],
    "object": {},
    "any": 1,
    "target": "#t",
}
WRONG: dict[str, Any] = {
    "string": 5,
    "text": [],
    "code": {},
    "condition": True,
    "variable": ["x"],
    "choice": 3,
    "integer": 1.5,
    "number": "many",
    "boolean": 1,
    "list": {},
    "object": [],
    "target": {"selector": "  "},
}
#: the types whose empty text is no value (an empty condition is also a syntax error, an empty
#: choice also none of the choices)
TEXT_LIKE = ("string", "text", "code", "variable", "target")
ACTIVITIES = sorted(CATALOG.values() if isinstance(CATALOG, dict) else CATALOG, key=str)


def good(param: Param) -> Any:
    return param.choices[0] if param.type == "choice" else GOOD[param.type]


def one_node(activity: Activity, params: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "nodes": [{"id": "n", "type": activity.type, "params": params}]}


def required(activity: Activity) -> dict[str, Any]:
    return {p.name: good(p) for p in activity.params if p.required}


def where(doc: Any) -> list[tuple[Any, ...]]:
    return [
        (p.code, p.node_id, p.param, p.edge["index"] if p.edge else None, p.path)
        for p in validate(doc)
    ]


@pytest.mark.parametrize("activity", ACTIVITIES, ids=lambda a: a.type)
def test_every_param_of_every_activity(activity: Activity) -> None:
    full = {p.name: good(p) for p in activity.params}
    assert where(one_node(activity, full)) == []
    assert where(one_node(activity, required(activity))) == []
    missing = [("missing_param", "n", p.name, None, None) for p in activity.params if p.required]
    assert where(one_node(activity, {})) == missing
    for param in activity.params:
        if param.required and param.type in TEXT_LIKE:  # empty text is missing too
            empty = {**required(activity), param.name: ""}
            assert where(one_node(activity, empty)) == [
                ("missing_param", "n", param.name, None, None)
            ]
        if param.type != "any":
            wrong = {**required(activity), param.name: WRONG[param.type]}
            assert where(one_node(activity, wrong)) == [("param_type", "n", param.name, None, None)]
        if param.type not in ("string", "text", "code", "condition", "variable"):
            # resolved at run time: an expression stands for a value of any type
            expr = {**required(activity), param.name: "{v}"}
            assert where(one_node(activity, expr)) == [], param.name


def start_of(graph: dict[str, Any]) -> str:
    targets = {e["to"] for e in graph.get("edges", [])}
    return next(n["id"] for n in graph["nodes"] if n["id"] not in targets)


@pytest.mark.parametrize("name", examples.names())
def test_every_example_broken_in_known_ways(name: str) -> None:
    graph = examples.load(name)
    start = start_of(graph)
    assert where(graph) == []

    looped = copy.deepcopy(graph)  # an error port back to the start: no start at all
    failing = {e["from"] for e in graph.get("edges", []) if e.get("port") == "error"}
    source = next(n["id"] for n in graph["nodes"] if n["id"] not in failing)
    looped.setdefault("edges", []).append({"from": source, "to": start, "port": "error"})
    assert where(looped) == [("no_start", None, None, None, None)]

    twin = copy.deepcopy(graph)
    twin["nodes"].append({**next(n for n in graph["nodes"] if n["id"] == start), "id": "twin"})
    assert where(twin) == [
        ("multiple_starts", start, None, None, None),
        ("multiple_starts", "twin", None, None, None),
    ]

    island = copy.deepcopy(graph)
    island["nodes"] += [
        {"id": "island_a", "type": "log.write", "params": {"message": "a"}},
        {"id": "island_b", "type": "log.write", "params": {"message": "b"}},
    ]
    island.setdefault("edges", []).extend(
        [{"from": "island_a", "to": "island_b"}, {"from": "island_b", "to": "island_a"}]
    )
    assert where(island) == [
        ("unreachable", "island_a", None, None, None),
        ("unreachable", "island_b", None, None, None),
    ]

    doubled = copy.deepcopy(graph)
    edges = doubled.get("edges", [])
    doubled["edges"] = edges + copy.deepcopy(edges)
    assert where(doubled) == [
        ("duplicate_edge", e["from"], None, len(edges) + i, None) for i, e in enumerate(edges)
    ]

    unknown = copy.deepcopy(graph)
    unknown["nodes"][-1]["type"] = "nope.nope"
    assert where(unknown) == [("unknown_type", graph["nodes"][-1]["id"], None, None, None)]

    ghost = copy.deepcopy(graph)
    ghost.setdefault("edges", []).append({"from": source, "to": "ghost", "port": "error"})
    assert where(ghost) == [("dangling_edge", None, None, len(edges), None)]


def test_problems_come_in_document_order() -> None:
    """Format, variables, inputs; then node by node (id, duplicate, type, params: missing ones,
    then each given one, then the credential token); then edge by edge (ends, duplicate, port);
    last the start node and what it reaches."""
    doc = base()
    doc["format"] = 2
    doc["variables"]["__x"] = 1
    doc["inputs"] = [{"name": "rows"}]
    nodes = doc["nodes"]
    nodes[0]["params"].update(level="loud", colour="red")
    nodes[1]["params"]["condition"] = "len("
    nodes.insert(2, {"id": "say", "type": "log.write", "params": {"message": "{{credential}}"}})
    nodes[3]["params"]["item"] = "9"
    nodes[5]["params"] = {"level": "warning"}
    nodes[6]["type"] = "nope.nope"  # its params are still templates
    nodes[6]["params"]["value"] = "{"
    nodes += [
        {"id": "late\n", "type": "log.write", "params": {"message": "x"}},
        {"id": "island_a", "type": "log.write", "params": {"message": "a"}},
        {"id": "island_b", "type": "log.write", "params": {"message": "b"}},
    ]
    doc["edges"] += [
        {"from": "end", "to": "nowhere"},
        {"from": "start", "to": "check"},
        {"from": "check", "to": "say"},
        {"from": "each", "to": "none", "port": "body"},
        {"from": "say", "to": "end", "port": "loop"},
        {"from": "say", "to": "none", "port": "loop"},
        {"from": "end", "to": "late\n"},
        {"from": "island_a", "to": "island_b"},
        {"from": "island_b", "to": "island_a"},
    ]
    assert where(doc) == [
        ("format", None, None, None, None),
        ("invalid_name", None, None, None, None),
        ("input_conflict", None, None, None, "/inputs/0"),
        ("param_type", "start", "level", None, None),
        ("unknown_param", "start", "colour", None, None),
        ("expression", "check", "condition", None, None),
        ("missing_credential", "say", "credential", None, None),
        ("invalid_name", "each", "item", None, None),
        ("duplicate_node", "say", None, None, None),
        ("missing_param", "none", "message", None, None),
        ("unknown_type", "end", None, None, None),
        ("expression", "end", "value", None, None),
        ("schema", "late\n", None, None, None),
        ("dangling_edge", None, None, 5, None),
        ("duplicate_edge", "start", None, 6, None),
        ("missing_port", "check", None, 7, None),
        ("duplicate_port", "each", None, 8, None),
        ("unknown_port", "say", None, 9, None),
        ("duplicate_port", "say", None, 10, None),
        ("unknown_port", "say", None, 10, None),
        ("unreachable", "island_a", None, None, None),
        ("unreachable", "island_b", None, None, None),
    ]


@pytest.mark.parametrize("kind", [[], {}, ["string"], {"a": 1}, 3, None])
def test_an_input_type_that_is_not_a_name_is_a_problem_not_a_crash(kind: Any) -> None:
    # found by the schema property test: an unhashable type made the fast check raise
    # TypeError, so the hub's validate endpoint answered 500 for such a graph
    graph = {
        "format": 1,
        "nodes": [{"id": "s", "type": "start"}],
        "edges": [],
        "inputs": [{"name": "a", "type": kind, "default": 1}],
    }
    problems = validate(graph)
    assert problems and any(p.path.startswith("/inputs/0") for p in problems), problems
