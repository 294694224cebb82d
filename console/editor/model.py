"""The editor's document: a workflow graph plus undo/redo, node ids, layout and problems.

Pure Python (no Textual): every change goes through a method that snapshots the document
first, so :meth:`EditorModel.undo` / :meth:`redo` are exact. Positions are canvas cells
``[column, row]`` (the graph format's ``position``).
"""

from __future__ import annotations

import copy
import re
from collections import deque
from typing import Any

from workflows import catalog, validate
from workflows.problems import Problem

BOX_W = 22
BOX_H = 4
GAP_X = 4
GAP_Y = 3
ROW = BOX_H + GAP_Y
COL = BOX_W + GAP_X

DEFAULT_PORT = "(next)"


class EditError(ValueError):
    """A change the editor refuses (self-loop, duplicate edge, unknown node)."""


def empty_graph() -> dict[str, Any]:
    return {"format": 1, "variables": {}, "nodes": [], "edges": []}


class EditorModel:
    def __init__(self, doc: dict[str, Any] | None = None, *, history: int = 200) -> None:
        self.doc: dict[str, Any] = copy.deepcopy(doc) if doc else empty_graph()
        self.doc.setdefault("format", 1)
        self.doc.setdefault("variables", {})
        self.doc.setdefault("nodes", [])
        self.doc.setdefault("edges", [])
        self._undo: deque[dict[str, Any]] = deque(maxlen=history)
        self._redo: list[dict[str, Any]] = []
        self.dirty = False
        self.revision = 0  # bumped on every change; validation is cached per revision
        self._problems: tuple[int, list[Problem]] | None = None
        self.layout()

    # -- reading ------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[dict[str, Any]]:
        return self.doc["nodes"]

    @property
    def edges(self) -> list[dict[str, Any]]:
        return self.doc["edges"]

    def node(self, node_id: str) -> dict[str, Any]:
        for n in self.nodes:
            if n["id"] == node_id:
                return n
        raise EditError(f"no node {node_id!r}")

    def ids(self) -> list[str]:
        return [n["id"] for n in self.nodes]

    def edges_of(self, node_id: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, e) for i, e in enumerate(self.edges) if node_id in (e["from"], e["to"])]

    def ports(self, node_id: str) -> list[str]:
        """The ports an edge from this node may use: named ports, the default, ``error``."""
        try:
            act = catalog.get(self.node(node_id)["type"])
        except catalog.UnknownActivity:
            return [DEFAULT_PORT, "error"]
        named = list(act.ports)
        return (named or [DEFAULT_PORT]) + ["error"]

    def variables(self) -> list[str]:
        """Names a `{...}` may refer to: declared variables and inputs and every node's output
        names."""
        names = set(self.doc.get("variables") or {})
        declared = self.doc.get("inputs")
        if isinstance(declared, list):
            names |= {i["name"] for i in declared if isinstance(i, dict) and i.get("name")}
        for n in self.nodes:
            try:
                act = catalog.get(n["type"])
            except catalog.UnknownActivity:
                continue
            for p in act.params:
                value = n.get("params", {}).get(p.name)
                if p.type == "variable" and isinstance(value, str) and value:
                    names.add(value)
        return sorted(names)

    def problems(self) -> list[Problem]:
        if self._problems is None or self._problems[0] != self.revision:
            self._problems = (self.revision, validate(self.doc))
        return list(self._problems[1])

    def problems_by_node(self) -> dict[str | None, list[Problem]]:
        out: dict[str | None, list[Problem]] = {}
        for p in self.problems():
            out.setdefault(p.node_id, []).append(p)
        return out

    # -- history ------------------------------------------------------------------------------
    def _snapshot(self) -> None:
        self._undo.append(copy.deepcopy(self.doc))
        self._redo.clear()
        self.dirty = True
        self.revision += 1

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(copy.deepcopy(self.doc))
        self.doc = self._undo.pop()
        self.dirty = True
        self.revision += 1
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(copy.deepcopy(self.doc))
        self.doc = self._redo.pop()
        self.dirty = True
        self.revision += 1
        return True

    # -- changes ------------------------------------------------------------------------------
    def new_id(self, activity_type: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "_", activity_type.lower()).strip("_")
        base = base or "node"
        taken = set(self.ids())
        n = 1
        while f"{base}{n}" in taken:
            n += 1
        return f"{base}{n}"

    def add_node(self, activity_type: str, after: str | None = None) -> str:
        """Add a node with the activity's defaults; placed below ``after`` and, when ``after``
        has no outgoing edge yet and no named ports, connected from it."""
        act = catalog.get(activity_type)
        self._snapshot()
        node_id = self.new_id(activity_type)
        params = {p.name: copy.deepcopy(p.default) for p in act.params if p.default is not None}
        node: dict[str, Any] = {"id": node_id, "type": activity_type, "params": params}
        node["position"] = self._free_spot(after)
        self.nodes.append(node)
        if after is not None and after in self.ids():
            src_ports = self.ports(after)
            if not any(e["from"] == after for e in self.edges) and src_ports[0] == DEFAULT_PORT:
                self.edges.append({"from": after, "to": node_id})
        return node_id

    def _free_spot(self, after: str | None) -> list[int]:
        taken = {tuple(n.get("position") or ()) for n in self.nodes}
        if after is not None and after in self.ids():
            x, y = self.node(after).get("position") or [0, 0]
            x, y = int(x), int(y) + ROW
        elif self.nodes:
            x, y = 0, max(int((n.get("position") or [0, 0])[1]) for n in self.nodes) + ROW
        else:
            x, y = 0, 0
        while (x, y) in taken:
            x += COL
        return [x, y]

    def set_params(
        self,
        node_id: str,
        params: dict[str, Any],
        label: str | None = None,
        *,
        timeout: float | None = None,
        retry: dict[str, Any] | None = None,
    ) -> None:
        """Replace a node's params, label, timeout and retry (``None`` removes the field)."""
        node = self.node(node_id)
        self._snapshot()
        node["params"] = copy.deepcopy(params)
        for key, value in (("label", label), ("timeout", timeout), ("retry", retry)):
            if value:
                node[key] = copy.deepcopy(value)
            else:
                node.pop(key, None)

    def connect(self, source: str, target: str, port: str | None = None) -> None:
        if source == target:
            raise EditError("a node cannot connect to itself")
        self.node(source)
        self.node(target)
        port = None if port in (None, "", DEFAULT_PORT) else port
        for e in self.edges:
            if e["from"] == source and e.get("port") == port and e["to"] == target:
                raise EditError(f"{source} → {target} is already connected")
        self._snapshot()
        edge: dict[str, Any] = {"from": source, "to": target}
        if port is not None:
            edge["port"] = port
        self.edges.append(edge)

    def disconnect(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.edges):
            raise EditError("no such edge")
        self._snapshot()
        return self.edges.pop(index)

    def move(self, node_id: str, dx: int, dy: int) -> None:
        node = self.node(node_id)
        self._snapshot()
        x, y = node.get("position") or [0, 0]
        node["position"] = [max(0, int(x) + dx), max(0, int(y) + dy)]

    def delete(self, node_id: str) -> None:
        self.node(node_id)
        self._snapshot()
        self.doc["nodes"] = [n for n in self.nodes if n["id"] != node_id]
        self.doc["edges"] = [e for e in self.edges if node_id not in (e["from"], e["to"])]

    def insert_chain(
        self,
        after: str | None,
        nodes: list[dict[str, Any]],
        edges: list[dict[str, Any]],
        variables: dict[str, Any] | None = None,
    ) -> str | None:
        """Insert a chain of new nodes (a recording) after ``after`` as one undoable change:
        ``after``'s default edge now leaves from the chain's last node. Without ``after`` the
        chain goes after the graph's only end node (or stands alone). Returns the last id."""
        if not nodes:
            return after
        taken = set(self.ids())
        if any(n["id"] in taken for n in nodes):
            raise EditError("the new nodes' ids clash with existing ones")
        if after is not None:
            self.node(after)
        else:
            sources = {e["from"] for e in self.edges}
            ends = [i for i in self.ids() if i not in sources]
            after = ends[0] if len(ends) == 1 else None
        self._snapshot()
        first, last = nodes[0]["id"], nodes[-1]["id"]
        if after is not None:
            for e in self.edges:
                if e["from"] == after and not e.get("port"):
                    e["from"] = last
            self.edges.append({"from": after, "to": first})
        if after is not None:
            x, y = (int(v) for v in self.node(after).get("position") or [0, 0])
            shift = ROW * len(nodes)
            for n in self.nodes:  # make room: everything below the insertion point moves down
                pos = n.get("position") or [0, 0]
                if int(pos[1]) > y:
                    n["position"] = [int(pos[0]), int(pos[1]) + shift]
        elif self.nodes:
            x, y = 0, max(int((n.get("position") or [0, 0])[1]) for n in self.nodes)
        else:
            x, y = 0, -ROW
        for i, n in enumerate(nodes):
            node = copy.deepcopy(n)
            node["position"] = [x, y + ROW * (i + 1)]
            self.nodes.append(node)
        self.edges.extend(copy.deepcopy(edges))
        for name, value in (variables or {}).items():
            self.doc["variables"].setdefault(name, copy.deepcopy(value))
        return last

    def set_variables(self, variables: dict[str, Any]) -> None:
        self._snapshot()
        self.doc["variables"] = copy.deepcopy(variables)

    # -- layout -------------------------------------------------------------------------------
    def layout(self) -> None:
        """Give nodes without a position one: layered from the start node, top to bottom."""
        missing = [n for n in self.nodes if not n.get("position")]
        if not missing:
            return
        incoming = {e["to"] for e in self.edges}
        depth: dict[str, int] = {}
        queue = deque((n["id"], 0) for n in self.nodes if n["id"] not in incoming)
        while queue:
            node_id, d = queue.popleft()
            if node_id in depth:
                continue
            depth[node_id] = d
            for e in self.edges:
                if e["from"] == node_id and e["to"] not in depth:
                    queue.append((e["to"], d + 1))
        used: dict[int, int] = {}
        taken = {tuple(n["position"]) for n in self.nodes if n.get("position")}
        for n in missing:
            d = depth.get(n["id"], max(depth.values(), default=-1) + 1)
            col = used.get(d, 0)
            while (col * COL, d * ROW) in taken:
                col += 1
            used[d] = col + 1
            n["position"] = [col * COL, d * ROW]
            taken.add((col * COL, d * ROW))

    def graph(self) -> dict[str, Any]:
        """The document to save (a copy)."""
        return copy.deepcopy(self.doc)
