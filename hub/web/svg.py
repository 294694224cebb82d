"""Geometry for the web view's inline SVG: the workflow graph, bar charts and sparklines.

Pure functions from data to coordinates; the templates draw them (so every text is escaped by
Jinja). The graph layout is a simple layered one: cycles are broken by a depth-first search
(those edges are drawn as back arcs on the right), each node goes to the layer of its longest
path from a start node, and nodes in a layer are ordered by the mean position of their
predecessors (one downward sweep of the barycenter heuristic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOX_W = 184
BOX_H = 52
H_GAP = 36
V_GAP = 72
PAD = 24
BACK_MARGIN = 72


@dataclass
class Box:
    id: str
    type: str
    label: str
    x: float
    y: float
    w: float = BOX_W
    h: float = BOX_H
    highlight: bool = False

    @property
    def short_id(self) -> str:
        return _clip(self.id, 22)

    @property
    def short_type(self) -> str:
        return _clip(self.type, 26)


@dataclass
class Arrow:
    source: str
    target: str
    d: str
    port: str
    lx: float
    ly: float
    back: bool = False


@dataclass
class Drawing:
    width: float
    height: float
    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    #: edges that name nodes the graph does not have (shown as text under the drawing)
    dangling: list[str] = field(default_factory=list)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _nodes_and_edges(
    graph: Any,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]], list[str]]:
    nodes: list[dict[str, Any]] = []
    seen: set[str] = set()
    raw_nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in raw_nodes if isinstance(raw_nodes, list) else []:
        if isinstance(node, dict) and isinstance(node.get("id"), str) and node["id"] not in seen:
            seen.add(node["id"])
            nodes.append(node)
    edges: list[tuple[str, str, str]] = []
    dangling: list[str] = []
    raw_edges = graph.get("edges") if isinstance(graph, dict) else None
    for edge in raw_edges if isinstance(raw_edges, list) else []:
        if not isinstance(edge, dict):
            continue
        src, dst, port = edge.get("from"), edge.get("to"), edge.get("port") or ""
        if src in seen and dst in seen:
            edges.append((str(src), str(dst), str(port)))
        else:
            dangling.append(f"{src} → {dst}")
    return nodes, edges, dangling


def _back_edges(ids: list[str], edges: list[tuple[str, str, str]]) -> set[int]:
    """Indexes of the edges that close a cycle (found by an iterative depth-first search)."""
    out: dict[str, list[tuple[int, str]]] = {i: [] for i in ids}
    has_in: set[str] = set()
    for k, (src, dst, _) in enumerate(edges):
        out[src].append((k, dst))
        has_in.add(dst)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[int] = set()
    roots = [i for i in ids if i not in has_in] + ids
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, pos = stack[-1]
            if pos < len(out[node]):
                stack[-1] = (node, pos + 1)
                k, nxt = out[node][pos]
                if state.get(nxt) == 1:
                    back.add(k)
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    return back


def layout_graph(graph: Any, highlight: str | None = None) -> Drawing:
    nodes, edges, dangling = _nodes_and_edges(graph)
    ids = [n["id"] for n in nodes]
    back = _back_edges(ids, edges)
    forward = [e for k, e in enumerate(edges) if k not in back]

    # longest-path layering over the acyclic forward edges (Kahn's order)
    indeg = {i: 0 for i in ids}
    succ: dict[str, list[str]] = {i: [] for i in ids}
    pred: dict[str, list[str]] = {i: [] for i in ids}
    for src, dst, _ in forward:
        indeg[dst] += 1
        succ[src].append(dst)
        pred[dst].append(src)
    layer = {i: 0 for i in ids}
    ready = [i for i in ids if indeg[i] == 0]
    while ready:
        node = ready.pop(0)
        for nxt in succ[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)

    depth = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for i in ids:
        layers[layer[i]].append(i)
    order: dict[str, float] = {}
    for row in layers:
        for pos, i in enumerate(row):
            order[i] = pos
    for row in layers[1:]:

        def bary(i: str) -> float:
            ps = [order[p] for p in pred[i]]
            return sum(ps) / len(ps) if ps else order[i]

        row.sort(key=bary)
        for pos, i in enumerate(row):
            order[i] = pos

    widest = max((len(row) for row in layers), default=0)
    content_w = widest * BOX_W + max(widest - 1, 0) * H_GAP
    by_id = {n["id"]: n for n in nodes}
    boxes: dict[str, Box] = {}
    for li, row in enumerate(layers):
        row_w = len(row) * BOX_W + (len(row) - 1) * H_GAP
        x0 = PAD + (content_w - row_w) / 2
        for pos, i in enumerate(row):
            node = by_id[i]
            label = node.get("label")
            boxes[i] = Box(
                id=i,
                type=str(node.get("type") or "?"),
                label=str(label) if isinstance(label, str) else "",
                x=x0 + pos * (BOX_W + H_GAP),
                y=PAD + li * (BOX_H + V_GAP),
                highlight=i == highlight,
            )

    arrows: list[Arrow] = []
    # each forward edge leaves from its own slot on the bottom of its source, ordered like the
    # targets from left to right so that arrows from one node do not cross
    fanout: dict[str, list[int]] = {}
    for k, (src, _dst, _port) in enumerate(edges):
        if k not in back:
            fanout.setdefault(src, []).append(k)
    for siblings in fanout.values():
        siblings.sort(key=lambda k: (boxes[edges[k][1]].x, k))
    for k, (src, dst, port) in enumerate(edges):
        a, b = boxes[src], boxes[dst]
        if k in back:
            x1, y1 = a.x + a.w, a.y + a.h / 2
            x2, y2 = b.x + b.w, b.y + b.h / 2
            bend = max(x1, x2) + BACK_MARGIN - 16
            d = f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2 + 4:.1f},{y2:.1f}"
            arrows.append(Arrow(src, dst, d, port, bend - 4, (y1 + y2) / 2, back=True))
            continue
        siblings = fanout[src]
        slot = siblings.index(k)
        x1 = a.x + a.w * (slot + 1) / (len(siblings) + 1)
        y1 = a.y + a.h
        x2, y2 = b.x + b.w / 2, b.y - 4
        dy = (y2 - y1) / 2
        d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + dy:.1f} {x2:.1f},{y2 - dy:.1f} {x2:.1f},{y2:.1f}"
        arrows.append(Arrow(src, dst, d, port, (x1 + x2) / 2, (y1 + y2) / 2 + 4))

    width = content_w + 2 * PAD + (BACK_MARGIN if back else 0)
    height = depth * BOX_H + max(depth - 1, 0) * V_GAP + 2 * PAD
    return Drawing(
        width=max(width, 2 * PAD + BOX_W),
        height=max(height, 2 * PAD),
        boxes=list(boxes.values()),
        arrows=arrows,
        dangling=dangling,
    )


@dataclass
class Segment:
    kind: str  # completed | failed | other
    y: float
    h: float


@dataclass
class Bar:
    x: float
    w: float
    label: str
    value: int
    tick: bool
    segments: list[Segment]


@dataclass
class BarChart:
    width: float
    height: float
    bars: list[Bar]
    peak: int
    baseline: float


def bar_chart(
    series: list[tuple[str, int, int, int]],
    width: float = 720,
    height: float = 180,
    every: int = 3,
) -> BarChart:
    """Stacked bars for (label, total, completed, failed): completed at the bottom, then
    failed, then the rest (queued/running/stopped); a label under every ``every``-th bar."""
    top, bottom, left = 16.0, 24.0, 8.0
    peak = max((total for _, total, _, _ in series), default=0)
    n = max(len(series), 1)
    slot = (width - 2 * left) / n
    usable = height - top - bottom
    base = top + usable
    bars = []
    for i, (label, total, completed, failed) in enumerate(series):
        segments = []
        y = base
        other = max(total - completed - failed, 0)
        for kind, value in (("completed", completed), ("failed", failed), ("other", other)):
            if value and peak:
                h = usable * value / peak
                y -= h
                segments.append(Segment(kind, y, h))
        bars.append(
            Bar(
                x=left + i * slot + slot * 0.15,
                w=slot * 0.7,
                label=label,
                value=total,
                tick=i % every == 0,
                segments=segments,
            )
        )
    return BarChart(width, height, bars, peak, base)


def sparkline(values: list[float], width: float = 120, height: float = 28) -> str:
    """SVG polyline points for percentages (0–100), oldest first; empty for no data."""
    clean = [min(max(float(v), 0.0), 100.0) for v in values if isinstance(v, int | float)]
    if not clean:
        return ""
    if len(clean) == 1:
        clean = clean * 2
    step = width / (len(clean) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * v / 100:.1f}" for i, v in enumerate(clean)
    )
