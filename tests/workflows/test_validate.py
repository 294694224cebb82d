"""The validator: every rule has a failing case; every problem names its node, edge or param."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import CODES, InvalidGraph, Problem, ensure_valid, validate


def base() -> dict[str, Any]:
    """A small valid graph using only core activities."""
    return {
        "format": 1,
        "variables": {"rows": ["a", "b"], "limit": 2},
        "nodes": [
            {"id": "start", "type": "log.write", "params": {"message": "begin {limit}"}},
            {"id": "check", "type": "logic.if", "params": {"condition": "len(rows) > 0"}},
            {
                "id": "each",
                "type": "loop.for_each",
                "params": {"items": "{rows}", "item": "row", "index": "i"},
            },
            {"id": "say", "type": "log.write", "params": {"message": "{i}: {row}"}},
            {
                "id": "none",
                "type": "log.write",
                "params": {"message": "no rows", "level": "warning"},
            },
            {"id": "end", "type": "variable.set", "params": {"name": "done", "value": True}},
        ],
        "edges": [
            {"from": "start", "to": "check"},
            {"from": "check", "to": "each", "port": "true"},
            {"from": "check", "to": "none", "port": "false"},
            {"from": "each", "to": "say", "port": "body"},
            {"from": "each", "to": "end", "port": "done"},
        ],
    }


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def only(doc: Any, code: str) -> Problem:
    problems = validate(doc)
    assert codes(problems) == [code], [p.to_dict() for p in problems]
    assert problems[0].message
    assert code in CODES
    return problems[0]


def test_base_graph_is_valid() -> None:
    assert validate(base()) == []
    graph = ensure_valid(base())
    assert [n.id for n in graph.nodes][0] == "start"


# --- structure --------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [None, [], "graph", 5, {"format": 1}, {"nodes": []}])
def test_not_a_graph(doc: Any) -> None:
    problems = validate(doc)
    assert problems and problems[0].code == "schema"


def test_schema_problem_names_the_node_and_path() -> None:
    doc = base()
    doc["nodes"][1]["colour"] = "red"
    doc["nodes"][2]["timeout"] = -1
    problems = validate(doc)
    assert codes(problems) == ["schema", "schema"]
    assert {p.node_id for p in problems} == {"check", "each"}
    assert {p.path for p in problems} == {"/nodes/1", "/nodes/2/timeout"}
    assert "colour" in problems[0].message


def test_schema_problem_names_the_edge() -> None:
    doc = base()
    doc["edges"][3]["weight"] = 1
    problem = only(doc, "schema")
    assert problem.edge == {"index": 3, "from": "each", "to": "say", "port": "body"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "has space"),
        ("id", ""),
        ("type", "LogWrite"),
        ("params", []),
        ("position", [1]),
        ("retry", {"attempts": 0}),
        ("retry", {"delay": 1}),
        ("label", 5),
    ],
)
def test_bad_node_fields(field: str, value: Any) -> None:
    doc = base()
    doc["nodes"][5][field] = value
    assert "schema" in codes(validate(doc))


def test_bad_variable_names() -> None:
    doc = base()
    doc["variables"]["1st"] = 1
    assert codes(validate(doc)) == ["schema"]
    doc = base()
    doc["variables"]["__x"] = 1
    assert codes(validate(doc)) == ["invalid_name"]


def test_format_must_be_1() -> None:
    doc = base()
    doc["format"] = 2
    only(doc, "format")


# --- nodes and params ------------------------------------------------------------------------


def test_unknown_activity_type() -> None:
    doc = base()
    doc["nodes"][5]["type"] = "teleport.now"
    problem = only(doc, "unknown_type")
    assert problem.node_id == "end" and "teleport.now" in problem.message


def test_missing_required_param() -> None:
    doc = base()
    del doc["nodes"][1]["params"]["condition"]
    problem = only(doc, "missing_param")
    assert (problem.node_id, problem.param) == ("check", "condition")


def test_empty_required_text_is_missing() -> None:
    doc = base()
    doc["nodes"][0]["params"]["message"] = ""
    assert only(doc, "missing_param").param == "message"


def test_node_without_params_reports_each_missing_one() -> None:
    doc = base()
    del doc["nodes"][2]["params"]
    problems = validate(doc)
    assert codes(problems) == ["missing_param", "missing_param"]
    assert {p.param for p in problems} == {"items", "item"}


@pytest.mark.parametrize(
    ("node", "param", "value"),
    [
        (0, "message", 5),
        (0, "level", "loud"),
        (0, "level", 3),
        (2, "items", "not a list"),
        (2, "items", {"a": 1}),
        (1, "condition", True),
        (2, "item", ["x"]),
    ],
)
def test_wrongly_typed_param(node: int, param: str, value: Any) -> None:
    doc = base()
    doc["nodes"][node]["params"][param] = value
    problem = only(doc, "param_type")
    assert problem.param == param and problem.node_id == doc["nodes"][node]["id"]


def test_expression_is_accepted_for_any_type() -> None:
    doc = base()
    doc["nodes"].append(
        {"id": "wait", "type": "flow.delay", "params": {"seconds": "{limit}"}},
    )
    doc["edges"].append({"from": "say", "to": "wait"})
    doc["nodes"][0]["params"]["level"] = "{level}"
    assert validate(doc) == []
    doc["nodes"][-1]["params"]["seconds"] = "soon"
    assert only(doc, "param_type").node_id == "wait"


def test_unknown_param() -> None:
    doc = base()
    doc["nodes"][0]["params"]["colour"] = "red"
    problem = only(doc, "unknown_param")
    assert problem.param == "colour" and "message" in problem.message


def test_credential_param_is_allowed_everywhere_and_required_by_the_token() -> None:
    doc = base()
    doc["nodes"][0]["params"]["message"] = "pw {{credential}}"
    problem = only(doc, "missing_credential")
    assert problem.node_id == "start"
    doc["nodes"][0]["params"]["credential"] = "erp-login"
    assert validate(doc) == []
    doc["nodes"][0]["params"]["credential"] = 5
    assert only(doc, "param_type").param == "credential"
    doc["nodes"][0]["params"]["credential"] = "{login"
    assert only(doc, "expression").param == "credential"
    doc["nodes"][0]["params"]["credential"] = "{login}"
    assert validate(doc) == []


@pytest.mark.parametrize(
    ("node", "param", "value"),
    [(2, "item", "1row"), (2, "index", "my index"), (5, "name", "__class__"), (5, "name", "a.b")],
)
def test_variable_names_must_be_identifiers(node: int, param: str, value: str) -> None:
    doc = base()
    doc["nodes"][node]["params"][param] = value
    assert only(doc, "invalid_name").param == param


def test_template_syntax_error() -> None:
    doc = base()
    doc["nodes"][3]["params"]["message"] = "{i: {row}"
    problem = only(doc, "expression")
    assert (problem.node_id, problem.param) == ("say", "message")


def test_template_syntax_error_nested_in_an_object() -> None:
    doc = base()
    doc["nodes"][5]["params"]["value"] = {"a": ["ok {limit}", "bad {x.__class__}"]}
    problem = only(doc, "expression")
    assert (problem.node_id, problem.param) == ("end", "value")


@pytest.mark.parametrize(
    "condition", ["len(rows) >", "rows.__class__", "open('x')", "{rows}", "x = 1"]
)
def test_condition_syntax_error(condition: str) -> None:
    doc = base()
    doc["nodes"][1]["params"]["condition"] = condition
    problem = only(doc, "expression")
    assert (problem.node_id, problem.param) == ("check", "condition")


def test_duplicate_node_ids() -> None:
    doc = base()
    doc["nodes"].append(copy.deepcopy(doc["nodes"][3]))
    assert only(doc, "duplicate_node").node_id == "say"


# --- edges -------------------------------------------------------------------------------------


def test_dangling_edges() -> None:
    doc = base()
    doc["edges"].append({"from": "say", "to": "ghost"})
    problem = only(doc, "dangling_edge")
    assert problem.edge == {"index": 5, "from": "say", "to": "ghost", "port": None}
    assert "ghost" in problem.message
    doc = base()
    doc["edges"].append({"from": "ghost", "to": "say", "port": "x"})
    assert only(doc, "dangling_edge").edge["from"] == "ghost"  # type: ignore[index]


def test_no_start_node() -> None:
    doc = base()
    doc["edges"].append({"from": "end", "to": "start"})
    only(doc, "no_start")


def test_empty_graph_has_no_start() -> None:
    only({"format": 1, "nodes": []}, "no_start")


def test_more_than_one_start_node() -> None:
    doc = base()
    doc["edges"] = [e for e in doc["edges"] if e["to"] != "none"]
    problems = validate(doc)
    assert codes(problems) == ["multiple_starts", "multiple_starts"]
    assert {p.node_id for p in problems} == {"start", "none"}


def test_unknown_port() -> None:
    doc = base()
    doc["edges"][1]["port"] = "yes"
    problem = only(doc, "unknown_port")
    assert problem.node_id == "check" and problem.edge["index"] == 1  # type: ignore[index]
    assert "true" in problem.message


def test_plain_node_has_no_named_port() -> None:
    doc = base()
    doc["edges"][0]["port"] = "true"
    assert only(doc, "unknown_port").node_id == "start"


def test_missing_port_on_a_branching_node() -> None:
    doc = base()
    del doc["edges"][1]["port"]
    assert only(doc, "missing_port").node_id == "check"


def test_error_port_is_allowed_on_every_node() -> None:
    doc = base()
    doc["nodes"].append({"id": "oops", "type": "log.write", "params": {"message": "failed"}})
    doc["edges"].append({"from": "say", "to": "oops", "port": "error"})
    assert validate(doc) == []


def test_switch_accepts_case_values_as_ports() -> None:
    doc = base()
    doc["nodes"].insert(1, {"id": "route", "type": "logic.switch", "params": {"value": "{limit}"}})
    doc["edges"][0] = {"from": "start", "to": "route"}
    doc["edges"] += [
        {"from": "route", "to": "check", "port": "2"},
        {"from": "route", "to": "end2", "port": "default"},
    ]
    doc["nodes"].append({"id": "end2", "type": "log.write", "params": {"message": "other"}})
    assert validate(doc) == []
    doc["edges"].append({"from": "route", "to": "say"})
    assert "missing_port" in codes(validate(doc))


def test_duplicate_edge() -> None:
    doc = base()
    doc["edges"].append(dict(doc["edges"][0]))
    problem = only(doc, "duplicate_edge")
    assert problem.edge["index"] == 5  # type: ignore[index]


def test_two_edges_by_the_same_port() -> None:
    doc = base()
    doc["edges"].append({"from": "check", "to": "end", "port": "true"})
    assert only(doc, "duplicate_port").node_id == "check"


def test_unreachable_nodes() -> None:
    doc = base()
    doc["nodes"] += [
        {"id": "island_a", "type": "log.write", "params": {"message": "a"}},
        {"id": "island_b", "type": "log.write", "params": {"message": "b"}},
    ]
    doc["edges"] += [
        {"from": "island_a", "to": "island_b"},
        {"from": "island_b", "to": "island_a"},
    ]
    problems = validate(doc)
    assert codes(problems) == ["unreachable", "unreachable"]
    assert [p.node_id for p in problems] == ["island_a", "island_b"]


# --- all at once -------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    doc = base()
    doc["nodes"][0]["params"]["level"] = "loud"  # param_type
    doc["nodes"][1]["params"]["condition"] = "len("  # expression
    doc["nodes"][2]["params"]["item"] = "9"  # invalid_name
    doc["nodes"][3]["type"] = "nope.nope"  # unknown_type
    del doc["nodes"][4]["params"]["message"]  # missing_param
    doc["nodes"][5]["params"]["extra"] = 1  # unknown_param
    doc["edges"].append({"from": "end", "to": "nowhere"})  # dangling_edge
    doc["edges"][3]["port"] = "loop"  # unknown_port
    problems = validate(doc)
    assert set(codes(problems)) == {
        "param_type",
        "expression",
        "invalid_name",
        "unknown_type",
        "missing_param",
        "unknown_param",
        "dangling_edge",
        "unknown_port",
    }
    # the hub answers 400 with these as JSON
    body = json.loads(json.dumps([p.to_dict() for p in problems]))
    assert all(set(p) == {"code", "message", "node_id", "edge", "param", "path"} for p in body)
    with pytest.raises(InvalidGraph) as info:
        ensure_valid(doc)
    assert info.value.problems == problems
    assert "and 7 more" in str(info.value)
    assert info.value.to_dict()["problems"][0]["code"] == problems[0].code


def test_validate_never_raises_on_junk() -> None:
    junk: list[Any] = [
        {"format": "1", "nodes": "x", "edges": 5, "variables": []},
        {"format": 1, "nodes": [None, 5, {"id": 3}, {"type": "log.write"}], "edges": [None, {}]},
        {"format": 1, "nodes": [{"id": "a", "type": "log.write", "params": None}]},
        {"format": True, "nodes": [], "edges": [{"from": 1, "to": [], "port": 3}]},
    ]
    for doc in junk:
        problems = validate(doc)
        assert problems and all(isinstance(p, Problem) for p in problems)


json_any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
node_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c", "a b", ""]) | json_any},
    optional={
        "type": st.sampled_from(["log.write", "logic.if", "loop.for_each", "x.y", "bad"])
        | json_any,
        "params": st.dictionaries(
            st.sampled_from(["message", "condition", "items", "item", "level", "credential", "zz"]),
            json_any | st.sampled_from(["{x}", "{", "len(", "{{credential}}", "a.b", "ok"]),
        )
        | json_any,
    },
)
edge_like = st.fixed_dictionaries(
    {
        "from": st.sampled_from(["a", "b", "c", "z"]) | json_any,
        "to": st.sampled_from(["a", "b", "c"]),
    },
    optional={"port": st.sampled_from(["true", "false", "body", "error", None, ""]) | json_any},
)
graph_like = st.fixed_dictionaries(
    {"format": st.just(1) | json_any, "nodes": st.lists(node_like, max_size=5) | json_any},
    optional={"edges": st.lists(edge_like, max_size=6) | json_any, "variables": json_any},
)


@settings(max_examples=100, deadline=None)
@given(graph_like | json_any)
def test_validate_never_raises_and_always_names_the_problem(doc: Any) -> None:
    problems = validate(doc)
    for p in problems:
        assert p.code in CODES and p.message
        json.dumps(p.to_dict())
    if not problems:
        ensure_valid(doc)  # a document without problems builds a graph
