"""Geometry of the web view's SVG: layered graph layout, stacked bars, sparklines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.web.svg import BOX_H, V_GAP, bar_chart, layout_graph, sparkline
from tests.web.seed import ORDER_GRAPH


def _layers(drawing) -> dict[str, int]:
    return {b.id: round((b.y - 24) / (BOX_H + V_GAP)) for b in drawing.boxes}


def test_layers_follow_the_longest_path_from_the_start():
    d = layout_graph(ORDER_GRAPH)
    assert _layers(d) == {"read": 0, "check": 1, "save": 2, "warn": 2, "done": 3}
    assert [a.port for a in d.arrows if a.source == "check"] == ["true", "false"]
    assert not any(a.back for a in d.arrows) and not d.dangling
    # a skip edge makes its target one layer deeper than the longest path
    skip = {**ORDER_GRAPH, "edges": [*ORDER_GRAPH["edges"], {"from": "read", "to": "done"}]}
    assert _layers(layout_graph(skip))["done"] == 3


def test_arrows_from_one_node_do_not_cross():
    graph = {
        "nodes": [{"id": i, "type": "log.write"} for i in ("s", "a", "b")],
        # listed right-to-left on purpose
        "edges": [
            {"from": "s", "to": "b", "port": "false"},
            {"from": "s", "to": "a", "port": "true"},
        ],
    }
    d = layout_graph(graph)
    boxes = {b.id: b for b in d.boxes}
    starts = {a.target: float(a.d.split()[0][1:].split(",")[0]) for a in d.arrows}
    left, right = sorted(("a", "b"), key=lambda i: boxes[i].x)
    assert starts[left] < starts[right]


def test_cycles_become_back_arcs_and_unknown_nodes_are_reported():
    graph = {
        "nodes": [{"id": "a", "type": "x.y"}, {"id": "b", "type": "x.y"}],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}, {"from": "b", "to": "zz"}],
    }
    d = layout_graph(graph, highlight="b")
    assert [a.back for a in d.arrows] == [False, True]
    assert d.dangling == ["b → zz"]
    assert [b.id for b in d.boxes if b.highlight] == ["b"]
    assert d.width > max(b.x + b.w for b in d.boxes)  # room for the back arc


def test_junk_graphs_draw_nothing_rather_than_fail():
    for junk in (None, [], {"nodes": "x"}, {"nodes": [1, {"id": 3}], "edges": [None]}):
        d = layout_graph(junk)
        assert d.boxes == [] and d.arrows == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20))
def test_any_graph_lays_out_without_overlap(edges):
    graph = {
        "nodes": [{"id": f"n{i}", "type": "log.write"} for i in range(8)],
        "edges": [{"from": f"n{a}", "to": f"n{b}"} for a, b in edges],
    }
    d = layout_graph(graph)
    assert len(d.boxes) == 8 and len(d.arrows) == len(edges)
    for i, a in enumerate(d.boxes):
        assert 0 <= a.x and a.x + a.w <= d.width and a.y + a.h <= d.height
        for b in d.boxes[i + 1 :]:
            assert a.y != b.y or a.x + a.w <= b.x or b.x + b.w <= a.x


def test_bars_stack_completed_failed_and_the_rest():
    chart = bar_chart([("00:00", 0, 0, 0), ("01:00", 4, 2, 1), ("02:00", 2, 2, 0)])
    empty, full, half = chart.bars
    assert chart.peak == 4 and empty.segments == []
    assert [s.kind for s in full.segments] == ["completed", "failed", "other"]
    assert abs(sum(s.h for s in full.segments) - (chart.baseline - 16)) < 1e-6
    assert full.segments[0].y + full.segments[0].h == chart.baseline  # starts on the axis
    assert abs(sum(s.h for s in half.segments) * 2 - sum(s.h for s in full.segments)) < 1e-6


def test_sparkline_scales_percentages_and_clamps():
    assert sparkline([]) == ""
    points = [tuple(map(float, p.split(","))) for p in sparkline([0, 50, 100, 250]).split()]
    xs, ys = zip(*points, strict=True)
    assert xs[0] == 0 and xs[-1] == 120
    assert ys[0] > ys[1] > ys[2] == ys[3]  # higher values draw higher; 250 clamps to 100
    assert len(sparkline([42]).split()) == 2
