"""``browser.extract_table``: tables of every kind the extension detects, as row objects.

The page side (:data:`EXTRACT_JS`) returns a grid of cell texts plus the header it found; the
Python side (:func:`rows_from_grid`) turns it into ``[{header: text}]`` with unique, non-empty
keys. Kinds: an HTML ``<table>`` (header from ``<thead>``/``<th>``), an ARIA ``table``/``grid``/
``treegrid`` (``role=row`` with ``columnheader``/``cell``/``gridcell``), and div-row tables
(children with ``role=row`` or class ``row``; a header row has header roles or a
``head``/``header`` class). With ``row_selector`` and ``columns`` (the extension's table
description) any repeated structure is read exactly as described.
"""

from __future__ import annotations

from typing import Any

from ..tables import column_keys

#: finds the first table-like element (when the node names none)
FIND_JS = """
() => {
  const q = (s) => document.querySelector(s);
  const el = q("table") || q("[role=table], [role=grid], [role=treegrid]")
    || (q("[role=row]") && q("[role=row]").parentElement)
    || (q(".row") && q(".row").parentElement);
  if (!el) return null;
  el.setAttribute("data-exekra-table", "1");
  return true;
}
"""

EXTRACT_JS = """
(table, opts) => {
  const text = (el) => (el ? (el.innerText ?? el.textContent ?? "") : "")
    .replace(/\\s+/g, " ").trim();
  if (opts.rowSelector) {
    let rows = Array.from(table.querySelectorAll(opts.rowSelector));
    if (opts.columns && opts.columns.length) {
      const cell = (r, c) => text(c.selector ? r.querySelector(c.selector) : r);
      const grid = rows.map((r) => opts.columns.map((c) => cell(r, c)));
      return {kind: "custom", header: opts.columns.map((c) => c.header || ""), rows: grid};
    }
    const grid = rows.map((r) => Array.from(r.children).map(text));
    return {kind: "custom", header: null, rows: grid};
  }
  const tag = table.tagName.toLowerCase();
  if (tag === "table") {
    const all = Array.from(table.rows).filter((r) => r.closest("table") === table);
    let header = null;
    let body = all;
    const headRows = all.filter((r) => r.parentElement.tagName.toLowerCase() === "thead");
    if (headRows.length) {
      header = Array.from(headRows[headRows.length - 1].cells).map(text);
      body = all.filter((r) => !headRows.includes(r));
    } else if (all.length && Array.from(all[0].cells).every((c) => c.tagName === "TH")) {
      header = Array.from(all[0].cells).map(text);
      body = all.slice(1);
    }
    return {kind: "html", header, rows: body.map((r) => Array.from(r.cells).map(text))};
  }
  const role = table.getAttribute("role") || "";
  if (["table", "grid", "treegrid"].includes(role)) {
    const rows = Array.from(table.querySelectorAll("[role=row]"));
    let header = null;
    const body = [];
    for (const r of rows) {
      const heads = r.querySelectorAll("[role=columnheader]");
      if (heads.length && header === null) { header = Array.from(heads).map(text); continue; }
      body.push(Array.from(r.querySelectorAll("[role=cell], [role=gridcell], [role=rowheader]"))
        .map(text));
    }
    return {kind: "aria", header, rows: body};
  }
  let rows = Array.from(table.children).filter(
    (c) => c.getAttribute("role") === "row" || c.classList.contains("row"));
  let header = null;
  if (rows.length) {
    const first = rows[0];
    const cells = Array.from(first.children);
    const isHead = /(^|[-_ ])(head|header|thead)([-_ ]|$)/i.test(first.className)
      || (cells.length && cells.every((c) => c.getAttribute("role") === "columnheader"
        || /(^|[-_ ])(head|header|th)([-_ ]|$)/i.test(c.className)));
    if (isHead) { header = cells.map(text); rows = rows.slice(1); }
  }
  return {kind: "div", header, rows: rows.map((r) => Array.from(r.children).map(text))};
}
"""


def unique_keys(header: list[str], width: int) -> list[str]:
    """Header texts as object keys: blanks become ``column_N``, repeats get ``_2``, ``_3``."""
    return column_keys([str(header[i] or "") if i < len(header) else "" for i in range(width)])


def rows_from_grid(grid: dict[str, Any], header_mode: str = "auto") -> list[dict[str, str]]:
    """``{"header": [...] | None, "rows": [[...]]}`` as row objects.

    ``header_mode``: ``auto`` uses the header the page marks (else ``column_N`` keys),
    ``first_row`` takes the first row as the header, ``none`` always uses ``column_N``.
    """
    rows = [list(r) for r in grid.get("rows") or [] if any(str(c).strip() for c in r)]
    header = grid.get("header")
    if header_mode == "first_row" and header is None and rows:
        header, rows = rows[0], rows[1:]
    if header_mode == "none":
        if header is not None and grid.get("kind") != "custom":
            rows = [list(header), *rows]
        header = None
    width = max([len(r) for r in rows] + [len(header or [])] + [0])
    keys = unique_keys(list(header or []), width)
    return [{keys[i]: (r[i] if i < len(r) else "") for i in range(width)} for r in rows]
