"""Draw a graph as boxes and arrows on a character grid (a Rich ``Text``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.text import Text

from .model import BOX_H, BOX_W, EditorModel

U, D, L, R = 1, 2, 4, 8
TOP = 2  # rows kept free above the first layer for edges that come back up
LINES = {
    U | D: "│",
    L | R: "─",
    D | R: "┌",
    D | L: "┐",
    U | R: "└",
    U | L: "┘",
    U | D | R: "├",
    U | D | L: "┤",
    L | R | D: "┬",
    L | R | U: "┴",
    U | D | L | R: "┼",
    U: "│",
    D: "│",
    L: "─",
    R: "─",
}


class Grid:
    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.chars = [[" "] * width for _ in range(height)]
        self.styles: list[list[str]] = [[""] * width for _ in range(height)]
        self.mask = [[0] * width for _ in range(height)]
        self.mask_style: list[list[str]] = [[""] * width for _ in range(height)]

    def put(self, x: int, y: int, text: str, style: str = "") -> None:
        for i, ch in enumerate(text):
            if 0 <= x + i < self.w and 0 <= y < self.h:
                self.chars[y][x + i] = ch
                self.styles[y][x + i] = style
                self.mask[y][x + i] = 0

    def _bit(self, x: int, y: int, bits: int, style: str) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            self.mask[y][x] |= bits
            if style and (not self.mask_style[y][x] or "bold" in style):
                self.mask_style[y][x] = style

    def line(self, points: list[tuple[int, int]], style: str) -> None:
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            if y0 == y1 and x0 != x1:
                for x, bits in _run(x0, x1, L, R):
                    self._bit(x, y0, bits, style)
            elif x0 == x1 and y0 != y1:
                for y, bits in _run(y0, y1, U, D):
                    self._bit(x0, y, bits, style)

    def flatten_lines(self) -> None:
        for y in range(self.h):
            for x in range(self.w):
                if self.mask[y][x] and self.chars[y][x] == " ":
                    self.chars[y][x] = LINES.get(self.mask[y][x], "┼")
                    self.styles[y][x] = self.mask_style[y][x]

    def text(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for y in range(self.h):
            row, styles = self.chars[y], self.styles[y]
            x = 0
            while x < self.w:
                style = styles[x]
                start = x
                while x < self.w and styles[x] == style:
                    x += 1
                out.append("".join(row[start:x]), style=style or None)
            if y < self.h - 1:
                out.append("\n")
        return out


def _run(start: int, end: int, low: int, high: int) -> Iterator[tuple[int, int]]:
    """The cells of a straight run from ``start`` to ``end`` on one axis, each with the line bits
    that join it to its neighbours on the run (``low`` points toward smaller coordinates, ``high``
    toward larger: L and R across, U and D down)."""
    step = 1 if end > start else -1
    back, ahead = (low, high) if step > 0 else (high, low)
    for at in range(start, end + step, step):
        yield at, (back if at != start else 0) | (ahead if at != end else 0)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render(
    model: EditorModel, selected: str | None = None, problems: dict[Any, list[Any]] | None = None
) -> Text:
    """The whole graph: boxes (selected bold, with problems red, start marked ▶) and edges."""
    problems = problems or {}
    if not model.nodes:
        return Text("(empty workflow — press a to add the first activity)", style="dim")
    pos = {n["id"]: (int(n["position"][0]) + 1, int(n["position"][1]) + TOP) for n in model.nodes}
    back_edges = sum(1 for e in model.edges if pos[e["to"]][1] <= pos[e["from"]][1])
    width = max(x for x, _ in pos.values()) + BOX_W + 4 + 2 * back_edges
    height = max(y for _, y in pos.values()) + BOX_H + 2
    grid = Grid(width, height)
    incoming = {e["to"] for e in model.edges}
    lane = 0
    labels: list[tuple[int, int, str, str]] = []
    for e in model.edges:
        if e["from"] not in pos or e["to"] not in pos:
            continue
        sx, sy = pos[e["from"]]
        tx, ty = pos[e["to"]]
        # exits ordered by where the edges go, so that sibling edges do not cross
        siblings = sorted(
            (o for o in model.edges if o["from"] == e["from"] and o["to"] in pos),
            key=lambda o: (pos[o["to"]][0], o.get("port") or "", o["to"]),
        )
        k = siblings.index(e)
        offset = (k - (len(siblings) - 1) / 2) * 6
        x0 = sx + BOX_W // 2 + int(offset)
        y0 = sy + BOX_H
        x1 = tx + BOX_W // 2
        hot = selected in (e["from"], e["to"])
        style = "bold yellow" if hot else ("red" if e.get("port") == "error" else "cyan")
        if ty - 1 > y0:
            ym = y0 + 1 if ty - 1 - y0 >= 2 else y0
            points = [(x0, y0), (x0, ym), (x1, ym), (x1, ty - 1)]
        else:  # back edge: around the right side
            xr = max(sx, tx) + BOX_W + 1 + lane * 2
            lane += 1
            ya, yb = y0 + 1, max(0, ty - 2)
            points = [(x0, y0), (x0, ya), (xr, ya), (xr, yb), (x1, yb), (x1, max(0, ty - 1))]
        grid.line(points, style)
        if ty - 1 >= 0:
            labels.append((x1, ty - 1, "▼", style))
        if e.get("port"):
            labels.append((x0 + 1, y0, e["port"], style))
    grid.flatten_lines()
    for x, y, text, style in labels:
        grid.put(x, y, text, style)
    for n in model.nodes:
        x, y = pos[n["id"]]
        bad = bool(problems.get(n["id"]))
        is_sel = n["id"] == selected
        style = "bold yellow" if is_sel else ("red" if bad else "")
        tl, tr, bl, br, h, v = (
            ("┏", "┓", "┗", "┛", "━", "┃") if is_sel else ("┌", "┐", "└", "┘", "─", "│")
        )
        grid.put(x, y, tl + h * (BOX_W - 2) + tr, style)
        for row in range(1, BOX_H - 1):
            grid.put(x, y + row, v + " " * (BOX_W - 2) + v, style)
        grid.put(x, y + BOX_H - 1, bl + h * (BOX_W - 2) + br, style)
        start = "▶ " if n["id"] not in incoming else ""
        title = _clip(start + (n.get("label") or n["id"]), BOX_W - 4)
        grid.put(x + 2, y + 1, title, "bold" if not bad else "bold red")
        grid.put(x + 2, y + 2, _clip(n["type"], BOX_W - 4), "dim" if not bad else "red")
        if bad:
            grid.put(x + BOX_W - 3, y, "!", "bold white on red")
    return grid.text()
