// Table extraction: from any element inside a table, find the table (HTML <table>, ARIA
// table/grid/treegrid, or a container of div rows) and describe it — the table's target, a
// row selector, columns with header and cell selectors, the first 5 rows and the counts —
// in the shape browser.extract_table takes as params.
(function (root) {
  "use strict";
  const C = root.ExekraCore;
  const S = root.ExekraSelectors;

  const ARIA_TABLE = "[role=table], [role=grid], [role=treegrid]";
  const CELL_ROLES = ["cell", "gridcell", "columnheader", "rowheader"];
  const PREVIEW_ROWS = 5;

  function isDivRow(el) {
    return el.getAttribute("role") === "row" || el.classList.contains("row");
  }

  /** The table around `el` and its kind: `html`, `aria` or `div`; null when none. */
  function findTable(el) {
    const table = el.closest("table, " + ARIA_TABLE);
    let rows = null;
    for (let a = el; a && a.nodeType === 1; a = a.parentElement) {
      if (a === table) break;
      const found = Array.from(a.children).filter(isDivRow);
      if (found.length >= 2 && !a.matches("[role=row], .row")) {
        rows = a;
        break;
      }
    }
    // a row group of an ARIA table is part of that table, not a div table of its own
    if (rows && !(table && rows.querySelector(":scope > [role=row]"))) return { kind: "div", el: rows };
    if (!table) return null;
    return { kind: table.localName === "table" ? "html" : "aria", el: table };
  }

  function childIndex(cell) {
    return Array.from(cell.parentElement.children).indexOf(cell) + 1;
  }

  function htmlTable(table) {
    const all = Array.from(table.rows).filter((r) => r.closest("table") === table);
    let header = null;
    if (table.tHead && table.tHead.rows.length) header = table.tHead.rows[table.tHead.rows.length - 1];
    else if (all.length && Array.from(all[0].cells).every((c) => c.localName === "th")) header = all[0];
    const body = all.filter((r) => r !== header && r.parentElement.localName !== "thead" && r.parentElement.localName !== "tfoot");
    const section = body.length && body[0].parentElement.localName === "tbody" ? ":scope > tbody > tr" : ":scope > tr";
    const headerInBody = header && body.length && header.parentElement === body[0].parentElement;
    const rowSelector = headerInBody ? `${section}:not(:first-child)` : section;
    const headerCells = header ? Array.from(header.cells) : [];
    const headerPrefix = !header ? "" : header.parentElement.localName === "thead" ? ":scope > thead > tr:last-child" : `${section}:first-child`;
    return {
      rows: body,
      rowSelector,
      cellsOf: (row) => Array.from(row.cells),
      headerCells,
      headerSelector: (k) => (header ? `${headerPrefix} > :nth-child(${k})` : null),
    };
  }

  function ariaCells(row) {
    const direct = Array.from(row.children).filter((c) => CELL_ROLES.includes(c.getAttribute("role")));
    return direct.length ? direct : Array.from(row.children);
  }

  function ariaTable(table) {
    const rows = Array.from(table.querySelectorAll("[role=row]")).filter((r) => r.closest(ARIA_TABLE) === table);
    const header = rows.find((r) => ariaCells(r).some((c) => c.getAttribute("role") === "columnheader")) || null;
    const body = rows.filter((r) => r !== header);
    return {
      rows: body,
      rowSelector: header ? "[role=row]:not(:has([role=columnheader]))" : "[role=row]",
      cellsOf: ariaCells,
      headerCells: header ? ariaCells(header) : [],
      headerSelector: (k) => (header ? `[role=row]:has([role=columnheader]) > :nth-child(${k})` : null),
    };
  }

  function divTable(container) {
    const rows = Array.from(container.children).filter(isDivRow);
    const first = rows[0];
    const looksHeader =
      first &&
      (/head/i.test(first.className) ||
        Array.from(first.children).every((c) => c.getAttribute("role") === "columnheader" || /^(th|strong|b)$/.test(c.localName) || /head/i.test(c.className)));
    const header = looksHeader ? first : null;
    const rowTag = first ? first.localName : "div";
    const rowKind = first && first.getAttribute("role") === "row" ? "[role=row]" : ".row";
    return {
      rows: rows.filter((r) => r !== header),
      rowSelector: header ? `:scope > ${rowTag}${rowKind}:not(:first-child)` : `:scope > ${rowTag}${rowKind}`,
      cellsOf: (row) => Array.from(row.children),
      headerCells: header ? Array.from(header.children) : [],
      headerSelector: (k) => (header ? `:scope > ${rowTag}${rowKind}:first-child > :nth-child(${k})` : null),
    };
  }

  /** Describe the table around `el`; null when `el` is in no table. */
  function describeTable(el) {
    const found = findTable(el);
    if (!found) return null;
    const shape = found.kind === "html" ? htmlTable(found.el) : found.kind === "aria" ? ariaTable(found.el) : divTable(found.el);
    const width = Math.max(shape.headerCells.length, ...shape.rows.slice(0, 50).map((r) => shape.cellsOf(r).length), 0);
    const headers = [];
    for (let i = 0; i < width; i += 1) headers.push(shape.headerCells[i] ? S.textOf(shape.headerCells[i]) : "");
    const sample = shape.rows.slice(0, PREVIEW_ROWS).map((r) => shape.cellsOf(r).map((c) => S.textOf(c)));
    const objects = C.rowObjects(headers, sample);
    const firstRow = shape.rows[0];
    const columns = objects.columns.map((name, i) => {
      const cell = firstRow ? shape.cellsOf(firstRow)[i] : null;
      const k = cell ? childIndex(cell) : i + 1;
      return { name, header_selector: shape.headerSelector(k), cell_selector: `:scope > :nth-child(${k})` };
    });
    const target = S.targetFor(found.el);
    return {
      kind: found.kind,
      selector: target.selector,
      target,
      row_selector: shape.rowSelector,
      columns,
      has_header: shape.headerCells.length > 0,
      preview: objects.rows,
      row_count: shape.rows.length,
      column_count: columns.length,
      params: {
        target,
        row_selector: shape.rowSelector,
        columns: columns.map((c) => ({ header: c.name, selector: c.cell_selector })),
        header: "auto",
        output: "table",
      },
    };
  }

  root.ExekraTables = { findTable, describeTable };
})(globalThis);
