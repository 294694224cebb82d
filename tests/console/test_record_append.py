"""``exekra record --workflow ID``: recorded nodes go at the end of the workflow's graph —
before a final ``browser.close`` — and a ``browser.open`` is added only when there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from console import record_cli
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


class FakeHub:
    """The HubClient calls `exekra record --workflow` makes, on one stored graph."""

    graph: dict[str, Any] = {}
    saved: list[dict[str, Any]] = []

    def __init__(self, url: str, token: str | None) -> None:
        pass

    async def versions(self, workflow_id: int) -> list[dict[str, Any]]:
        return [{"number": 1}]

    async def version(self, workflow_id: int, number: int) -> dict[str, Any]:
        return {"graph": self.graph}

    async def save_version(self, workflow_id: int, graph: dict[str, Any]) -> dict[str, Any]:
        self.saved.append(graph)
        return {"number": 2}

    async def aclose(self) -> None:
        pass


def test_workflow_notes_name_the_saved_nodes_and_it_converts_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    upload = {"type": "upload", "target": {"selector": "#f"}, "files": ["a.pdf"], "url": URL}
    FakeHub.graph = {"format": 1, "variables": {},
                     "nodes": [{"id": "upload1", "type": "log.write", "params": {}}],
                     "edges": []}  # fmt: skip
    FakeHub.saved = []
    conversions: list[object] = []
    convert = record_cli.actions_to_nodes

    def counted(*args: Any, **kw: Any) -> Any:
        conversions.append(args)
        return convert(*args, **kw)

    async def signed_in(hub_url: str) -> None:
        pass

    monkeypatch.setenv("EXEKRA_CONSOLE_DIR", str(tmp_path))
    monkeypatch.setattr(record_cli, "actions_to_nodes", counted)
    monkeypatch.setattr(record_cli, "HubClient", FakeHub)
    monkeypatch.setattr(record_cli, "_check_hub", signed_in)
    monkeypatch.setattr(record_cli, "_record", lambda rec, url, exe: [upload])
    args = ["--url", URL, "--workflow", "7", "--no-browser"]
    result = CliRunner().invoke(record_cli.record_command, args)
    assert result.exit_code == 0, result.output
    ids = [n["id"] for n in FakeHub.saved[0]["nodes"]]
    assert ids == ["upload1", "open1", "upload2"]
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and notes[0].startswith("note: upload2 uploads")
    assert len(conversions) == 1
    assert "saved workflow 7 as draft v2" in result.output
