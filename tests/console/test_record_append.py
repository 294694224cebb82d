"""``exekra record --workflow ID``: recorded nodes go at the end of the workflow's graph —
before a final ``browser.close`` — and a ``browser.open`` is added only when there is none."""

from __future__ import annotations

from typing import Any

from console.record_cli import append_to_graph, describe

URL = "http://127.0.0.1:8000/form.html"


def click(selector: str) -> dict[str, Any]:
    return {"type": "click", "target": {"selector": selector}, "url": URL, "timestamp": 1}


def test_appended_before_the_final_close() -> None:
    graph = {
        "format": 1,
        "variables": {"keep": 1},
        "nodes": [
            {"id": "open1", "type": "browser.open", "params": {"url": URL}},
            {"id": "click1", "type": "browser.click", "params": {"target": "#a"}},
            {"id": "close1", "type": "browser.close", "params": {}},
        ],
        "edges": [{"from": "open1", "to": "click1"}, {"from": "click1", "to": "close1"}],
    }
    upload = {"type": "upload", "target": {"selector": "#f"}, "files": ["a.pdf"], "url": URL}
    out, notes = append_to_graph(graph, [click("#b"), upload], None, URL)
    ids = [n["id"] for n in out["nodes"]]
    assert ids == ["open1", "click1", "close1", "click2", "upload1"]  # no second open
    assert {"from": "click1", "to": "click2"} in out["edges"]
    assert {"from": "click2", "to": "upload1"} in out["edges"]
    assert {"from": "upload1", "to": "close1"} in out["edges"]
    assert {"from": "click1", "to": "close1"} not in out["edges"]
    assert out["variables"] == {"keep": 1, "upload_file_1": "a.pdf"}
    assert notes and graph["nodes"][-1]["id"] == "close1" and len(graph["nodes"]) == 3


def test_a_graph_without_a_browser_gets_one_after_its_end() -> None:
    graph = {"format": 1, "variables": {},
             "nodes": [{"id": "hello", "type": "log.write", "params": {"message": "hi"}}],
             "edges": []}  # fmt: skip
    out, _ = append_to_graph(graph, [click("#go")], None, URL)
    assert [n["type"] for n in out["nodes"]] == ["log.write", "browser.open", "browser.click"]
    assert out["nodes"][1]["params"] == {"url": URL}
    assert {"from": "hello", "to": "open1"} in out["edges"]
    # nothing recorded: the graph is unchanged
    same, _ = append_to_graph(graph, [], None, URL)
    assert same == graph


def test_live_lines_show_type_selector_and_value() -> None:
    line = describe({"seq": 3, "type": "type", "target": {"selector": "#q"}, "value": "tea"})
    assert line.split() == ["3", "type", "#q", '"tea"']
    assert describe({"type": "navigate", "target": None}).split() == ["?", "navigate"]
