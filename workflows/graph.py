"""The graph model (:class:`Graph`, :class:`Node`, :class:`Edge`) and canonical serialisation.

``Graph.from_dict`` checks the document's structure against :data:`workflows.schema.SCHEMA`
(raising :class:`InvalidGraph`); whether the graph makes sense (catalog, ports, start node, ...)
is :func:`workflows.validate.validate`'s question.

Canonical form (:func:`dumps`): sorted keys, nodes in the author's order, edges sorted by
``(from, port, to)``, optional fields left out when unset, two-space indent, a trailing newline —
so a saved graph diffs well in git and the same graph always serialises to the same text.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .inputs import InputDecl
from .problems import InvalidGraph, Problem
from .schema import FORMAT, schema_problems

__all__ = ["Edge", "Graph", "Node", "Retry", "canonical", "dumps", "loads"]


@dataclass
class Retry:
    attempts: int
    delay: float = 0

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "delay": self.delay}


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    position: tuple[float, float] | None = None
    timeout: float | None = None
    retry: Retry | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Node:
        retry = data.get("retry")
        position = data.get("position")
        return cls(
            id=data["id"],
            type=data["type"],
            params=copy.deepcopy(dict(data.get("params") or {})),
            label=data.get("label"),
            position=(position[0], position[1]) if position is not None else None,
            timeout=data.get("timeout"),
            retry=Retry(retry["attempts"], retry.get("delay", 0)) if retry is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "params": copy.deepcopy(self.params),
        }
        if self.label is not None:
            out["label"] = self.label
        if self.position is not None:
            out["position"] = [self.position[0], self.position[1]]
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.retry is not None:
            out["retry"] = self.retry.to_dict()
        return out


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    port: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Edge:
        return cls(source=data["from"], target=data["to"], port=data.get("port"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.source, "to": self.target}
        if self.port is not None:
            out["port"] = self.port
        return out

    def sort_key(self) -> tuple[str, str, str]:
        return (self.source, self.port or "", self.target)


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    format: int = FORMAT
    #: the declared inputs; None for a legacy graph that declares none (see
    #: :mod:`workflows.inputs`: then only the workflow's legacy inputs are accepted)
    inputs: list[InputDecl] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Graph:
        """Build a graph from its JSON document; raises :class:`InvalidGraph` when the
        document's structure is wrong (wrong types, missing or unknown fields)."""
        problems = schema_problems(data)
        if problems:
            raise InvalidGraph(problems)
        if data["format"] != FORMAT:
            raise InvalidGraph(
                [Problem("format", f"unsupported graph format {data['format']!r}; expected 1")]
            )
        return cls._build(data)

    @classmethod
    def _build(cls, data: Mapping[str, Any]) -> Graph:
        """Build from a document already known to match the schema."""
        return cls(
            nodes=[Node.from_dict(n) for n in data["nodes"]],
            edges=[Edge.from_dict(e) for e in data.get("edges", [])],
            variables=copy.deepcopy(dict(data.get("variables") or {})),
            description=data.get("description"),
            format=data["format"],
            inputs=([InputDecl.from_dict(i) for i in data["inputs"]] if "inputs" in data else None),
        )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON document (edges sorted, unset optional fields left out)."""
        out: dict[str, Any] = {
            "format": self.format,
            "variables": copy.deepcopy(self.variables),
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in sorted(self.edges, key=Edge.sort_key)],
        }
        if self.description is not None:
            out["description"] = self.description
        if self.inputs is not None:
            out["inputs"] = [i.to_dict() for i in self.inputs]
        return out

    def input_defaults(self) -> dict[str, Any]:
        """Each declared input's default, by name (inputs without one are left out)."""
        return {i.name: copy.deepcopy(i.default) for i in self.inputs or [] if i.has_default}

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def outgoing(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def incoming(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]

    def start_nodes(self) -> list[Node]:
        """Nodes without an incoming edge (a valid graph has exactly one)."""
        targets = {e.target for e in self.edges}
        return [n for n in self.nodes if n.id not in targets]


def canonical(graph: Graph | Mapping[str, Any]) -> dict[str, Any]:
    """The canonical document of a graph or graph document (structure checked)."""
    if not isinstance(graph, Graph):
        graph = Graph.from_dict(graph)
    return graph.to_dict()


def dumps(graph: Graph | Mapping[str, Any]) -> str:
    """Canonical text: sorted keys, stable node order, two-space indent, trailing newline."""
    return json.dumps(canonical(graph), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def loads(text: str | bytes) -> Graph:
    """Parse graph text; raises :class:`InvalidGraph` for bad JSON or a wrong structure."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidGraph([Problem("json", f"not valid JSON: {exc}")]) from None
    return Graph.from_dict(data)
