"""Helpers for the engine and activity tests: build graphs, run them, collect log lines."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from runner.engine import Engine, LogLine, Result


def node(node_id: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "params": params}


def edge(source: str, target: str, port: str | None = None) -> dict[str, Any]:
    out = {"from": source, "to": target}
    if port is not None:
        out["port"] = port
    return out


def graph(
    nodes: Iterable[dict[str, Any]],
    edges: Iterable[dict[str, Any]] = (),
    variables: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "format": 1,
        "variables": dict(variables or {}),
        "nodes": list(nodes),
        "edges": list(edges),
    }


def chain(*nodes: dict[str, Any], variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A graph of nodes run one after the other."""
    edges = [edge(a["id"], b["id"]) for a, b in zip(nodes, nodes[1:], strict=False)]
    return graph(nodes, edges, variables)


class Run:
    """An engine run with its collected log lines."""

    def __init__(self, g: Mapping[str, Any], **kwargs: Any) -> None:
        self.lines: list[LogLine] = []
        self._lock = threading.Lock()
        kwargs.setdefault("metrics_interval", 0.2)
        kwargs.setdefault("log_level", "debug")
        self.engine = Engine(g, log_sink=self._sink, **kwargs)

    def _sink(self, line: LogLine) -> None:
        with self._lock:
            self.lines.append(line)

    def run(self) -> Result:
        self.result = self.engine.run()
        return self.result

    def text(self) -> str:
        return "\n".join(f"{ln.level} {ln.node_id} {ln.message}" for ln in self.lines)

    def messages(self, node_id: str | None = None, level: str | None = None) -> list[str]:
        """Messages of one node (all levels but debug, or just ``level``)."""
        return [
            ln.message
            for ln in self.lines
            if (node_id is None or ln.node_id == node_id)
            and (ln.level == level if level is not None else ln.level != "debug")
        ]


def run(g: Mapping[str, Any], **kwargs: Any) -> tuple[Result, Run]:
    r = Run(g, **kwargs)
    return r.run(), r


def one(type_: str, output: str | None = "out", **params: Any) -> tuple[Result, Run]:
    """Run a single activity node (storing its value in ``out``)."""
    if output is not None:
        params["output"] = output
    return run(graph([node("n", type_, **params)]))


def value(type_: str, **params: Any) -> Any:
    """Run a single activity that must succeed; return its output value."""
    result, r = one(type_, **params)
    assert result.status == "COMPLETED", (result.error, r.text())
    return result.variables["out"]


def failure(type_: str, output: str | None = "out", **params: Any) -> str:
    """Run a single activity that must fail; return the error message."""
    result, r = one(type_, output=output, **params)
    assert result.status == "FAILED", r.text()
    assert result.failed_node == "n"
    assert result.error is not None
    return result.error
