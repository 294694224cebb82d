"""The graph model, canonical serialisation, diff and param resolution."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import Graph, InvalidGraph, Node, canonical, dumps, loads
from workflows.catalog import Activity, Param
from workflows.diff import diff, format_diff, is_empty
from workflows.expressions import ExpressionError
from workflows.params import resolve_params
from workflows.schema import SCHEMA


def doc() -> dict[str, Any]:
    return {
        "format": 1,
        "variables": {"customer": "ACME", "rows": []},
        "nodes": [
            {
                "id": "read",
                "type": "variable.set",
                "params": {"name": "order", "value": "x"},
                "position": [10, 20],
                "label": "Read",
            },
            {"id": "check", "type": "logic.if", "params": {"condition": "len(order) > 0"}},
            {
                "id": "save",
                "type": "log.write",
                "params": {"message": "{order}"},
                "timeout": 5,
                "retry": {"attempts": 3, "delay": 1.5},
            },
            {"id": "warn", "type": "log.write", "params": {"message": "empty", "level": "warning"}},
        ],
        "edges": [
            {"from": "read", "to": "check"},
            {"from": "check", "to": "warn", "port": "false"},
            {"from": "check", "to": "save", "port": "true"},
        ],
    }


def test_round_trip_keeps_everything() -> None:
    graph = Graph.from_dict(doc())
    again = Graph.from_dict(graph.to_dict())
    assert again.nodes == graph.nodes and again.variables == graph.variables
    assert set(again.edges) == set(graph.edges)  # to_dict sorts the edges
    assert again.to_dict() == graph.to_dict()
    save = graph.node("save")
    assert save.retry is not None and (save.retry.attempts, save.retry.delay) == (3, 1.5)
    assert graph.node("read").position == (10, 20)
    assert [n.id for n in graph.start_nodes()] == ["read"]
    assert [e.target for e in graph.outgoing("check")] == ["warn", "save"]
    assert [e.source for e in graph.incoming("check")] == ["read"]


def test_canonical_text() -> None:
    text = dumps(doc())
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert '\n  "edges": [\n    {\n      "from": "check",' in text  # two-space indent
    data = json.loads(text)
    assert list(data) == sorted(data)  # sorted keys
    assert [n["id"] for n in data["nodes"]] == ["read", "check", "save", "warn"]  # author's order
    assert [(e["from"], e.get("port"), e["to"]) for e in data["edges"]] == [
        ("check", "false", "warn"),
        ("check", "true", "save"),
        ("read", None, "check"),
    ]
    assert "port" not in data["edges"][2]  # unset optional fields are left out
    assert "label" not in data["nodes"][1]


def test_canonical_text_is_stable_under_reordering() -> None:
    a = doc()
    b = copy.deepcopy(a)
    b["edges"].reverse()
    b["nodes"][0] = dict(reversed(list(b["nodes"][0].items())))
    b = dict(reversed(list(b.items())))
    assert dumps(a) == dumps(b)
    assert dumps(loads(dumps(a))) == dumps(a)
    assert dumps(Graph.from_dict(a)) == dumps(a)


def test_non_ascii_is_written_as_is() -> None:
    d = doc()
    d["nodes"][3]["params"]["message"] = "Größe ✓"
    assert "Größe ✓" in dumps(d)


def test_loads_rejects_bad_json_and_bad_structure() -> None:
    with pytest.raises(InvalidGraph) as info:
        loads("{not json")
    assert info.value.problems[0].code == "json"
    with pytest.raises(InvalidGraph) as info:
        loads('{"format": 1, "nodes": [{"id": "a"}]}')
    assert info.value.problems[0].code == "schema"
    with pytest.raises(InvalidGraph) as info:
        loads('{"format": 7, "nodes": []}')
    assert info.value.problems[0].code == "format"


def test_schema_is_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(SCHEMA["$defs"]["node"]["properties"]) == {
        "id",
        "type",
        "params",
        "label",
        "position",
        "timeout",
        "retry",
    }
    assert set(SCHEMA["$defs"]["edge"]["properties"]) == {"from", "to", "port"}


def test_to_dict_does_not_share_params() -> None:
    graph = Graph.from_dict(doc())
    out = graph.to_dict()
    out["nodes"][0]["params"]["name"] = "changed"
    assert graph.node("read").params["name"] == "order"


ids = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, Any]:
    node_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    nodes = [
        {
            "id": i,
            "type": "log.write",
            "params": draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        }
        for i in node_ids
    ]
    edges = draw(
        st.lists(
            st.builds(
                lambda a, b, p: {"from": a, "to": b, **({"port": p} if p else {})},
                st.sampled_from(node_ids),
                st.sampled_from(node_ids),
                st.sampled_from([None, "true", "error"]),
            ),
            max_size=8,
        )
    )
    variables = draw(st.dictionaries(ids, json_values, max_size=3))
    return {"format": 1, "variables": variables, "nodes": nodes, "edges": edges}


@settings(max_examples=60, deadline=None)
@given(graphs(), st.randoms())
def test_canonical_serialisation_round_trips_and_is_stable(
    g: dict[str, Any], rnd: random.Random
) -> None:
    text = dumps(g)
    assert dumps(loads(text)) == text
    shuffled = copy.deepcopy(g)
    rnd.shuffle(shuffled["edges"])
    assert dumps(shuffled) == text
    assert canonical(loads(text)) == json.loads(text)
    assert is_empty(diff(g, shuffled))


# --- diff --------------------------------------------------------------------------------------


def test_diff_of_identical_graphs_is_empty() -> None:
    result = diff(doc(), doc())
    assert is_empty(result)
    assert format_diff(result) == []


def test_diff_lists_added_removed_and_changed() -> None:
    old = doc()
    new = copy.deepcopy(old)
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "warn"]
    new["nodes"].append({"id": "done", "type": "log.write", "params": {"message": "ok"}})
    new["nodes"][1]["params"]["condition"] = "len(order) > 1"
    new["nodes"][0]["label"] = "Read the order"
    new["nodes"][0]["params"]["extra"] = 1
    del new["nodes"][2]["retry"]
    new["edges"] = [e for e in new["edges"] if e["to"] != "warn"]
    new["edges"].append({"from": "save", "to": "done"})
    new["variables"]["customer"] = "Globex"
    del new["variables"]["rows"]
    new["variables"]["limit"] = 3
    new["description"] = "orders"

    result = diff(old, new)
    assert [n["id"] for n in result["nodes"]["added"]] == ["done"]
    assert [n["id"] for n in result["nodes"]["removed"]] == ["warn"]
    changed = {c["id"]: c for c in result["nodes"]["changed"]}
    assert set(changed) == {"read", "check", "save"}
    assert changed["check"]["params"]["changed"] == {
        "condition": {"old": "len(order) > 0", "new": "len(order) > 1"}
    }
    assert changed["read"]["fields"] == {"label": {"old": "Read", "new": "Read the order"}}
    assert changed["read"]["params"]["added"] == {"extra": 1}
    assert changed["save"]["fields"]["retry"] == {"old": {"attempts": 3, "delay": 1.5}, "new": None}
    assert result["edges"] == {
        "added": [{"from": "save", "to": "done"}],
        "removed": [{"from": "check", "to": "warn", "port": "false"}],
    }
    assert result["variables"] == {
        "added": {"limit": 3},
        "removed": {"rows": []},
        "changed": {"customer": {"old": "ACME", "new": "Globex"}},
    }
    assert result["fields"] == {"description": {"old": None, "new": "orders"}}
    json.dumps(result)  # the hub returns it as JSON

    lines = format_diff(result)
    assert "+ node 'done' (log.write)" in lines
    assert "- node 'warn' (log.write)" in lines
    assert "~ node 'check' param 'condition': \"len(order) > 0\" -> \"len(order) > 1\"" in lines
    assert "~ node 'read' param 'extra' added: 1" in lines
    assert "+ edge save -> done" in lines
    assert "- edge check -> warn [false]" in lines
    assert '~ variable customer: "ACME" -> "Globex"' in lines
    assert "- variable rows (was [])" in lines
    assert "+ variable limit = 3" in lines


def test_diff_sees_type_changes_true_to_1_and_type_of_node() -> None:
    old = doc()
    new = copy.deepcopy(old)
    new["nodes"][0]["params"]["value"] = 1
    old["nodes"][0]["params"]["value"] = True
    new["nodes"][3]["type"] = "variable.set"
    result = diff(old, new)
    changed = {c["id"]: c for c in result["nodes"]["changed"]}
    assert changed["read"]["params"]["changed"]["value"] == {"old": True, "new": 1}
    assert changed["warn"]["fields"]["type"] == {"old": "log.write", "new": "variable.set"}


def test_diff_truncates_long_values_in_lines() -> None:
    old, new = doc(), doc()
    new["variables"]["rows"] = list(range(200))
    (line,) = format_diff(diff(old, new))
    assert line.startswith("~ variable rows: [] -> [0, 1, 2") and line.endswith("...")
    assert len(line) < 120


def test_diff_accepts_graph_objects_and_rejects_bad_documents() -> None:
    assert is_empty(diff(Graph.from_dict(doc()), doc()))
    with pytest.raises(InvalidGraph):
        diff(doc(), {"nodes": 5})


# --- resolving params --------------------------------------------------------------------------


def test_resolve_params_fills_defaults_and_renders_templates() -> None:
    variables = {"rows": [1, 2], "name": "x", "n": 4}
    assert resolve_params("log.write", {"message": "n={n}"}, variables) == {
        "message": "n=4",
        "level": "info",
    }
    # variable names and conditions are passed as written
    assert resolve_params("loop.for_each", {"items": "{rows}", "item": "row"}, variables) == {
        "items": [1, 2],
        "item": "row",
    }
    assert resolve_params("logic.if", {"condition": "len(rows) > {n}"}, variables) == {
        "condition": "len(rows) > {n}"
    }
    assert resolve_params("loop.while", {"condition": "n > 0"}, variables)["max_iterations"] > 0
    # the credential: the param stays a name, the token becomes the secret
    resolved = resolve_params(
        "variable.set",
        {"name": "pw", "value": {"p": "{{credential}}"}, "credential": "erp"},
        variables,
        credential="s3cret",
    )
    assert resolved == {"name": "pw", "value": {"p": "s3cret"}, "credential": "erp"}
    # the credential's name may come from a variable; the secret never renders into it
    assert (
        resolve_params(
            "log.write", {"message": "m", "credential": "{name}"}, variables, credential="s3cret"
        )["credential"]
        == "x"
    )
    with pytest.raises(ExpressionError, match="undefined variable 'missing'"):
        resolve_params("log.write", {"message": "{missing}"}, variables)


def test_resolve_params_keeps_the_runners_rules() -> None:
    """What the engine has always done (tests/runner/test_engine.py checks it calls this)."""
    variables = {"rows": [1, 2], "login": "erp"}
    # the written params first, in the node's order, then the defaults
    resolved = resolve_params("log.write", {"level": "warning", "message": "m"}, variables)
    assert list(resolved) == ["level", "message"]
    assert list(resolve_params("http.request", {"url": "u"}, variables))[:3] == [
        "url",
        "method",
        "auth",
    ]
    # an activity that declares its credential param still gets a name, never the secret
    resolved = resolve_params(
        "http.request", {"url": "u", "credential": "{login}"}, variables, credential="s3cret"
    )
    assert resolved["credential"] == "erp"
    with pytest.raises(ExpressionError, match="credential"):
        resolve_params(
            "http.request", {"url": "u", "credential": "{{credential}}"}, {}, credential="s3cret"
        )
    # code is passed as written, its inputs are rendered
    assert resolve_params(
        "script.python", {"code": "x = {'a': 1}", "inputs": {"r": "{rows}"}}, variables
    ) == {"code": "x = {'a': 1}", "inputs": {"r": [1, 2]}, "timeout": 300}
    # an activity the catalog does not describe: everything rendered, no defaults
    assert resolve_params(
        None, {"x": "{rows}", "credential": "{login}"}, variables, credential="s3cret"
    ) == {"x": [1, 2], "credential": "erp"}
    # defaults are copies: changing what an activity received never changes the catalog
    listing = Activity(
        "test.listing", "Listing", "", params=(Param("cols", "list", default=["a"]),)
    )
    resolve_params(listing, {}, variables)["cols"].append("b")
    assert resolve_params(listing, {}, variables)["cols"] == ["a"]


def test_node_defaults() -> None:
    node = Node("a", "log.write")
    assert node.to_dict() == {"id": "a", "type": "log.write", "params": {}}
