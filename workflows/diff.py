"""What changed between two graphs: nodes, their fields and params, edges and variables.

:func:`diff` gives a structured result (the hub returns it from
``GET /api/workflows/{id}/versions/{a}/diff/{b}``); :func:`format_diff` turns it into lines for
people (the console shows them)::

    + node 'warn' (log.write)
    ~ node 'check' param 'condition': "len(order) > 0" -> "len(order) > 1"
    - edge check -> warn [false]
    ~ variable customer: "ACME" -> "Globex"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .graph import Edge, Graph

__all__ = ["diff", "format_diff", "is_empty"]

_NODE_FIELDS = ("type", "label", "position", "timeout", "retry")
_MAX_VALUE = 80


def _graph(value: Graph | Mapping[str, Any]) -> Graph:
    return value if isinstance(value, Graph) else Graph.from_dict(value)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "added": {k: new[k] for k in sorted(new) if k not in old},
        "removed": {k: old[k] for k in sorted(old) if k not in new},
        "changed": {
            k: {"old": old[k], "new": new[k]}
            for k in sorted(old)
            if k in new and not _same(old[k], new[k])
        },
    }


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python; a graph that changes true to 1 did change
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def diff(a: Graph | Mapping[str, Any], b: Graph | Mapping[str, Any]) -> dict[str, Any]:
    """Differences from graph ``a`` (old) to graph ``b`` (new).

    Returns ``{"nodes": {"added": [node], "removed": [node], "changed": [{"id", "fields":
    {name: {"old", "new"}}, "params": {"added", "removed", "changed"}}]}, "edges": {"added":
    [edge], "removed": [edge]}, "variables": {"added", "removed", "changed"}, "fields":
    {name: {"old", "new"}}}`` — node and edge entries in their canonical JSON form. Raises
    :class:`workflows.InvalidGraph` if either document's structure is wrong.
    """
    old, new = _graph(a), _graph(b)
    old_nodes = {n.id: n.to_dict() for n in old.nodes}
    new_nodes = {n.id: n.to_dict() for n in new.nodes}
    changed_nodes: list[dict[str, Any]] = []
    for node in new.nodes:
        if node.id not in old_nodes:
            continue
        before, after = old_nodes[node.id], new_nodes[node.id]
        fields = {
            f: {"old": before.get(f), "new": after.get(f)}
            for f in _NODE_FIELDS
            if not _same(before.get(f), after.get(f))
        }
        params = _changes(before["params"], after["params"])
        if fields or any(params.values()):
            changed_nodes.append({"id": node.id, "fields": fields, "params": params})
    old_edges = {e.sort_key(): e for e in old.edges}
    new_edges = {e.sort_key(): e for e in new.edges}
    graph_fields = {
        f: {"old": getattr(old, f), "new": getattr(new, f)}
        for f in ("format", "description")
        if getattr(old, f) != getattr(new, f)
    }
    old_inputs, new_inputs = old.to_dict().get("inputs"), new.to_dict().get("inputs")
    if not _same(old_inputs, new_inputs):  # the declaration is one field: who may set what
        graph_fields["inputs"] = {"old": old_inputs, "new": new_inputs}
    return {
        "nodes": {
            "added": [new_nodes[n.id] for n in new.nodes if n.id not in old_nodes],
            "removed": [old_nodes[n.id] for n in old.nodes if n.id not in new_nodes],
            "changed": changed_nodes,
        },
        "edges": {
            "added": [new_edges[k].to_dict() for k in sorted(new_edges) if k not in old_edges],
            "removed": [old_edges[k].to_dict() for k in sorted(old_edges) if k not in new_edges],
        },
        "variables": _changes(old.variables, new.variables),
        "fields": graph_fields,
    }


def is_empty(result: Mapping[str, Any]) -> bool:
    """True if a :func:`diff` result records no change."""
    return not (
        any(result["nodes"].values())
        or any(result["edges"].values())
        or any(result["variables"].values())
        or result["fields"]
    )


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _edge(edge: Mapping[str, Any]) -> str:
    e = Edge.from_dict(edge)
    return f"{e.source} -> {e.target}" + (f" [{e.port}]" if e.port else "")


def format_diff(result: Mapping[str, Any]) -> list[str]:
    """Human-readable lines of a :func:`diff` result: ``+`` added, ``-`` removed,
    ``~`` changed; an empty list when nothing changed."""
    lines: list[str] = []
    for name, change in result["fields"].items():
        lines.append(f"~ {name}: {_show(change['old'])} -> {_show(change['new'])}")
    nodes = result["nodes"]
    for node in nodes["added"]:
        lines.append(f"+ node {node['id']!r} ({node['type']})")
    for node in nodes["removed"]:
        lines.append(f"- node {node['id']!r} ({node['type']})")
    for node in nodes["changed"]:
        prefix = f"~ node {node['id']!r}"
        for name, change in node["fields"].items():
            lines.append(f"{prefix} {name}: {_show(change['old'])} -> {_show(change['new'])}")
        params = node["params"]
        for name, value in params["added"].items():
            lines.append(f"{prefix} param {name!r} added: {_show(value)}")
        for name, value in params["removed"].items():
            lines.append(f"{prefix} param {name!r} removed (was {_show(value)})")
        for name, change in params["changed"].items():
            lines.append(
                f"{prefix} param {name!r}: {_show(change['old'])} -> {_show(change['new'])}"
            )
    for edge in result["edges"]["added"]:
        lines.append(f"+ edge {_edge(edge)}")
    for edge in result["edges"]["removed"]:
        lines.append(f"- edge {_edge(edge)}")
    variables = result["variables"]
    for name, value in variables["added"].items():
        lines.append(f"+ variable {name} = {_show(value)}")
    for name, value in variables["removed"].items():
        lines.append(f"- variable {name} (was {_show(value)})")
    for name, change in variables["changed"].items():
        lines.append(f"~ variable {name}: {_show(change['old'])} -> {_show(change['new'])}")
    return lines
