"""Anchors (one case per relation) and table extraction (HTML, ARIA table, grid, treegrid, div
rows) in real Chromium with the extension loaded. One browser for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page

from tests.extension.kit import Pages, Studio, extension_browser, key_of, wait_picking

pytestmark = pytest.mark.e2e

RELATION_JS = """([anchor, el, relation]) => ({
  nextSibling: anchor.nextElementSibling === el,
  previousSibling: anchor.previousElementSibling === el,
  firstChild: anchor.firstElementChild === el,
  lastChild: anchor.lastElementChild === el,
  descendant: anchor !== el && anchor.contains(el),
  parent: anchor.parentElement === el,
})[relation]"""


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    p = Pages()
    yield p
    p.close()


@pytest.fixture(scope="module")
def ctx(pages: Pages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with extension_browser(Path(tmp_path_factory.mktemp("profile"))) as context:
        yield context


@pytest.fixture(scope="module")
def studio(ctx: BrowserContext, pages: Pages) -> Studio:
    return Studio(ctx, pages)


def open_page(studio: Studio, pages: Pages, name: str) -> Page:
    return studio.opened(f"Exekra.openTab({{url: {pages.url(name)!r}}})")


def edge(loc: Locator, side: str | None) -> dict[str, float] | None:
    """A point on the element itself, not on a child: its left or right edge."""
    if side is None:
        return None
    box = loc.bounding_box()
    assert box
    return {"x": 3 if side == "left" else box["width"] - 3, "y": 3}


def resolve_with_anchor(page: Page, target: dict[str, Any]) -> Any:
    """What the runner does: the anchor must be unique; the target is the one element that
    matches the target selector and stands in the relation to the anchor."""
    anchor = target["anchor"]
    anchor_loc = page.locator(anchor["selector"])
    assert anchor_loc.count() == 1, anchor
    anchor_el = anchor_loc.element_handle()
    related = [
        h
        for h in page.locator(target["selector"]).element_handles()
        if page.evaluate(RELATION_JS, [anchor_el, h, anchor["relation"]])
    ]
    assert len(related) == 1, target
    return related[0].evaluate("el => el.__key || null")


CASES = [
    # key, target, anchor, where to click the anchor, relation, anchor type, anchor text
    ("tax", (".field input", 1), (".field .cap", 1), None, "nextSibling", "text", "Tax"),
    ("weight", (".qty input", 1), (".qty .cap", 1), None, "previousSibling", "text", "Weight"),
    ("bob", ("li button", 1), ("li", 1), "right", "firstChild", "aria-label", "Bob"),
    ("dave", ("li button", 3), ("li", 3), "right", "lastChild", "aria-label", "Dave"),
    ("work", (".phone", 1), ("label.wrap", 1), "left", "descendant", "label", "Work phone"),
    ("ben", (".edit", 1), ("td", 2), None, "descendant", "text", "Ben"),
    ("planb", (".card", 1), (".card h4", 1), None, "parent", "text", "Plan B"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_anchor_relations(studio: Studio, pages: Pages, case: tuple[Any, ...]) -> None:
    key, (t_sel, t_i), (a_sel, a_i), side, relation, kind, text = case
    page = open_page(studio, pages, "anchors.html")
    try:
        studio.start("Exekra.selectElement({anchor: true})")
        wait_picking(page, "target")
        target_loc = page.locator(t_sel).nth(t_i)
        target_loc.click(position=edge(target_loc, "right" if key == "planb" else None))
        wait_picking(page, "anchor")
        anchor_loc = page.locator(a_sel).nth(a_i)
        anchor_loc.click(position=edge(anchor_loc, side))
        target = studio.result()
        anchor = target["anchor"]
        assert anchor["relation"] == relation, anchor
        assert anchor["type"] == kind and anchor["text"] == text, anchor
        assert resolve_with_anchor(page, target) == key
        # the anchored primary is a meaningful selector; the unique one it replaced is kept
        assert ":nth-of-type" not in target["selector"]
        assert target["fallbacks"] and page.locator(target["fallbacks"][0]).count() == 1
        assert key_of(page.locator(target["fallbacks"][0])) == key
    finally:
        page.close()


TABLES = [
    # click inside, kind, columns, rows, first preview row
    ("#people td >> nth=4", "html", ["Name", "City", "Age"], 6,
     {"Name": "Ada", "City": "London", "Age": "36"}),
    ("[role=table] [role=cell] >> nth=0", "aria", ["Order", "Total"], 2,
     {"Order": "A-1", "Total": "10.00"}),
    ("[role=grid] [role=gridcell] >> nth=5", "aria", ["Sku", "Qty", "Bin"], 3,
     {"Sku": "X1", "Qty": "4", "Bin": "B2"}),
    ("[role=treegrid] [role=gridcell] >> nth=0", "aria", ["File", "Size"], 2,
     {"File": "docs", "Size": "-"}),
    (".list .row span >> nth=2", "div", ["Product", "Price"], 3,
     {"Product": "Tea", "Price": "3.10"}),
]  # fmt: skip


def test_table_kinds(studio: Studio, pages: Pages) -> None:
    page = open_page(studio, pages, "tables.html")
    for inside, kind, columns, rows, first in TABLES:
        studio.start("Exekra.extractTable()")
        wait_picking(page, "table")
        page.locator(inside).click()
        table = studio.result()
        assert table["kind"] == kind, (inside, table)
        assert [c["name"] for c in table["columns"]] == columns
        assert table["row_count"] == rows and table["column_count"] == len(columns)
        assert table["preview"][0] == first
        assert len(table["preview"]) == min(rows, 5)
        # the selectors read the same data back with Playwright (browser.extract_table's way)
        t = page.locator(table["selector"])
        assert t.count() == 1
        row_locs = t.locator(table["row_selector"])
        assert row_locs.count() == rows
        for i, row in enumerate(table["preview"]):
            for col in table["columns"]:
                cell = row_locs.nth(i).locator(col["cell_selector"])
                assert cell.inner_text().strip() == row[col["name"]]
        for col in table["columns"]:
            assert t.locator(col["header_selector"]).inner_text().strip() == col["name"]
        params = table["params"]
        assert params["target"]["selector"] == table["selector"]
        assert params["row_selector"] == table["row_selector"] and params["header"] == "auto"
        assert params["columns"] == [
            {"header": c["name"], "selector": c["cell_selector"]} for c in table["columns"]
        ]
        assert table["has_header"] is True
    page.close()
