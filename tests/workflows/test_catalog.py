"""The activity catalog's API (the entries themselves are tested with the runner)."""

from __future__ import annotations

import json

import pytest

from workflows import catalog
from workflows.catalog import CATALOG, Activity, Param, UnknownActivity

#: fixed activity names from WORKFLOW_FORMAT.md of the categories the core catalog covers
FIXED_CORE = {
    "log.write",
    "variable.set",
    "logic.if",
    "logic.switch",
    "loop.for_each",
    "loop.while",
    "loop.do_while",
    "flow.delay",
    "text.replace",
    "text.split",
    "text.trim",
    "text.format",
    "text.regex_match",
    "file.read",
    "file.write",
    "file.copy",
    "file.move",
    "file.delete",
    "folder.create",
    "folder.list",
    "zip.compress",
    "zip.extract",
    "http.request",
    "database.query",
    "script.python",
    "script.javascript",
}


def test_fixed_core_activities_exist() -> None:
    assert FIXED_CORE <= set(CATALOG), FIXED_CORE - set(CATALOG)


@pytest.mark.parametrize(
    ("activity_type", "required"),
    [
        ("variable.set", {"name", "value"}),
        ("log.write", {"message"}),
        ("logic.if", {"condition"}),
        ("loop.for_each", {"items", "item"}),
        ("loop.while", {"condition"}),
        ("flow.delay", {"seconds"}),
        ("file.read", {"path", "output"}),
        ("file.write", {"path", "content"}),
        ("zip.compress", {"source", "destination"}),
        ("zip.extract", {"source", "destination"}),
        ("http.request", {"url"}),
        ("database.query", {"connection", "sql"}),
        ("script.python", {"code"}),
        ("script.javascript", {"code"}),
    ],
)
def test_required_params_follow_the_format_document(activity_type: str, required: set[str]) -> None:
    act = catalog.get(activity_type)
    assert {p.name for p in act.params if p.required} == required


def test_ports_follow_the_format_document() -> None:
    assert catalog.get("logic.if").ports == ("true", "false")
    assert catalog.get("loop.for_each").ports == ("body", "done")
    assert catalog.get("loop.while").ports == ("body", "done")
    assert catalog.get("logic.switch").dynamic_ports
    assert catalog.get("log.write").ports == ()


def test_get_unknown_type() -> None:
    with pytest.raises(UnknownActivity) as info:
        catalog.get("nope.nope")
    assert info.value.activity_type == "nope.nope"
    assert str(info.value) == "unknown activity type 'nope.nope'"
    assert isinstance(info.value, KeyError)


def test_register_rejects_bad_entries() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        catalog.register(Activity("log.write", "again", "dup"))
    with pytest.raises(ValueError, match="<category>.<action>"):
        catalog.register(Activity("nodot", "x", "x"))
    with pytest.raises(ValueError, match="duplicate params"):
        catalog.register(Activity("test.dup", "x", "x", params=(Param("a"), Param("a"))))
    assert "test.dup" not in CATALOG
    with pytest.raises(ValueError, match="unknown type"):
        Param("a", "str")
    with pytest.raises(ValueError, match="needs choices"):
        Param("a", "choice")


def test_by_category_and_document() -> None:
    groups = catalog.by_category()
    assert list(groups)[:2] == ["logic", "loop"]  # toolbox order
    assert sum(len(v) for v in groups.values()) == len(CATALOG)
    for acts in groups.values():
        assert [a.type for a in acts] == sorted(a.type for a in acts)
    doc = json.loads(json.dumps(catalog.document()))
    cats = {c["name"]: c for c in doc["categories"]}
    assert cats["logic"]["title"] == "Logic"
    http = next(a for a in cats["http"]["activities"] if a["type"] == "http.request")
    assert http["category"] == "http" and http["output"]
    url = next(p for p in http["params"] if p["name"] == "url")
    assert url == {
        "name": "url",
        "type": "string",
        "required": True,
        "default": None,
        "description": url["description"],
        "secret": False,
        "choices": [],
    }
    assert list(catalog.types()) == sorted(CATALOG)


def test_every_activity_that_produces_a_value_names_its_output_param() -> None:
    for act in CATALOG.values():
        if act.output is not None:
            output = act.param("output")
            assert output is not None and output.type == "variable", act.type
