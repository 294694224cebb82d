// Unit tests of the extension's pure helpers: `node --test extension/tests/`
// (tests/extension/test_node_units.py runs them as part of `make test`).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const C = require("../lib/core.js");

test("generated ids are dynamic, written ones are not", () => {
  for (const id of [
    "3f2b9c1e-8d4a-4c3e-9f21-7a6b5c4d3e2f",
    "ember1234",
    ":r1:",
    "react-select-3-input",
    "mui-42",
    "input-4821",
    "field_12",
    "row2024",
    "a8Fk3lQ9zX",
    "1abc",
    "deadbeef12",
    "ext-gen1043",
    "",
  ]) {
    assert.equal(C.isDynamicId(id), true, id);
  }
  for (const id of ["email", "login-form", "submitButton", "address1", "step-2", "main_nav", "q"]) {
    assert.equal(C.isDynamicId(id), false, id);
  }
});

test("hashed class names are not stable, words are", () => {
  for (const c of ["css-1x2y3z", "sc-bdVaJa", "Button_root__3xYz1", "jsx-2983749", "_a1b2c3d", "e1f2a3b4c"]) {
    assert.equal(C.isStableClass(c), false, c);
  }
  for (const c of ["btn", "btn-primary", "col-md-6", "navbar_item", "is-active", "mt-2", "Card"]) {
    assert.equal(C.isStableClass(c), true, c);
  }
});

test("literals are quoted safely", () => {
  assert.equal(C.cssString('say "hi"'), '"say \\"hi\\""');
  assert.equal(C.cssString("a\\b"), '"a\\\\b"');
  assert.equal(C.xpathString("it's"), '"it\'s"');
  assert.equal(C.xpathString('say "hi"'), "'say \"hi\"'");
  assert.equal(C.xpathString(`it's "x"`), `concat('it', "'", 's "x"')`);
  assert.equal(C.normalizeText("  a\n\t b\u00a0 "), "a b");
});

test("scores: test ids beat ids beat text beat classes beat paths; dynamic and long lose", () => {
  const s = (c) => C.scoreCandidate(c);
  assert.ok(s({ strategy: "testid" }) < s({ strategy: "id" }));
  assert.ok(s({ strategy: "id" }) < s({ strategy: "text", text: "Save" }));
  assert.ok(s({ strategy: "text", text: "Save" }) < s({ strategy: "class", classes: 1 }));
  assert.ok(s({ strategy: "class", classes: 1 }) < s({ strategy: "path", depth: 1 }));
  assert.ok(s({ strategy: "id", dynamic: true }) > s({ strategy: "path", depth: 8 }));
  assert.ok(s({ strategy: "text", text: "x".repeat(60) }) > s({ strategy: "text", text: "Save" }));
  assert.ok(s({ strategy: "path", depth: 6 }) > s({ strategy: "path", depth: 2 }));
  assert.ok(s({ strategy: "tag", selector: "x-widget" }) < s({ strategy: "tag", selector: "select" }));
});

test("ranking: the cheapest valid one is primary, fallbacks prefer other strategies", () => {
  const r = C.rankCandidates([
    { strategy: "path", selector: "div > a", status: "valid", depth: 2 },
    { strategy: "text", selector: "xpath=//a[.='Go']", status: "multiple", text: "Go" },
    { strategy: "class", selector: "a.go", status: "valid", classes: 1 },
    { strategy: "class", selector: "a.go.big", status: "valid", classes: 2 },
    { strategy: "id", selector: "#go-8812", status: "valid", dynamic: true },
    { strategy: "name", selector: "a[name=\"go\"]", status: "invalid" },
    { strategy: "class", selector: "a.go", status: "valid", classes: 1 }, // duplicate
  ]);
  assert.equal(r.primary, "a.go");
  assert.deepEqual(r.fallbacks, ["div > a", "#go-8812", "a.go.big"]);
  assert.deepEqual(r.candidates.map((c) => c.status), ["valid", "valid", "valid", "valid", "multiple", "invalid"]);
  assert.equal(C.rankCandidates([]).primary, null);
  assert.equal(C.classify(0), "invalid");
  assert.equal(C.classify(1), "valid");
  assert.equal(C.classify(3), "multiple");
});

function tree() {
  // row > [cellA > label, cellB > button]
  const mk = (name) => ({ name, children: [], parentElement: null });
  const row = mk("row");
  const cellA = mk("cellA");
  const cellB = mk("cellB");
  const label = mk("label");
  const button = mk("button");
  const link = (parent, kids) => {
    parent.children = kids;
    kids.forEach((k, i) => {
      k.parentElement = parent;
      k.previousElementSibling = kids[i - 1] || null;
      k.nextElementSibling = kids[i + 1] || null;
    });
    parent.firstElementChild = kids[0] || null;
    parent.lastElementChild = kids[kids.length - 1] || null;
  };
  for (const n of [row, cellA, cellB, label, button]) {
    n.firstElementChild = n.lastElementChild = n.nextElementSibling = n.previousElementSibling = null;
    n.contains = (other) => {
      for (let o = other; o; o = o.parentElement) if (o === n) return true;
      return false;
    };
  }
  link(row, [cellA, cellB]);
  link(cellA, [label]);
  link(cellB, [button]);
  return { row, cellA, cellB, label, button };
}

test("anchor relations, climbing from the picked anchor when needed", () => {
  const t = tree();
  assert.deepEqual(C.findRelation(t.cellB, t.cellA), { relation: "nextSibling", up: 0 });
  assert.deepEqual(C.findRelation(t.cellA, t.cellB), { relation: "previousSibling", up: 0 });
  assert.deepEqual(C.findRelation(t.cellA, t.row), { relation: "firstChild", up: 0 });
  assert.deepEqual(C.findRelation(t.cellB, t.row), { relation: "lastChild", up: 0 });
  assert.deepEqual(C.findRelation(t.button, t.row), { relation: "descendant", up: 0 });
  assert.deepEqual(C.findRelation(t.cellA, t.label), { relation: "parent", up: 0 });
  // label → cellA (its next sibling is cellB, not the button) → row, which contains it
  assert.deepEqual(C.findRelation(t.button, t.label), { relation: "descendant", up: 2 });
  assert.equal(C.findRelation(t.button, t.button), null);
});

test("a relation holds exactly where findRelation found it", () => {
  const t = tree();
  const nodes = Object.values(t);
  for (const target of nodes) {
    for (const anchor of nodes) {
      const found = C.findRelation(target, anchor);
      if (!found) continue;
      let scope = anchor;
      for (let i = 0; i < found.up; i += 1) scope = scope.parentElement;
      assert.ok(C.relationHolds(found.relation, scope, target), `${anchor.name} → ${target.name}`);
    }
  }
  assert.ok(C.relationHolds("nextSibling", t.cellA, t.cellB));
  assert.ok(!C.relationHolds("nextSibling", t.cellB, t.cellA));
  assert.ok(C.relationHolds("previousSibling", t.cellB, t.cellA));
  assert.ok(C.relationHolds("firstChild", t.row, t.cellA) && !C.relationHolds("firstChild", t.row, t.cellB));
  assert.ok(C.relationHolds("lastChild", t.row, t.cellB));
  assert.ok(C.relationHolds("parent", t.label, t.cellA) && !C.relationHolds("parent", t.label, t.row));
  assert.ok(C.relationHolds("descendant", t.row, t.button));
  assert.ok(!C.relationHolds("descendant", t.row, t.row)); // not itself
});

test("anchor types and table rows", () => {
  assert.deepEqual(C.anchorType({ ariaLabel: " Bob ", tag: "li", text: "x" }), { type: "aria-label", text: "Bob" });
  assert.deepEqual(C.anchorType({ tag: "label", text: "Email " }), { type: "label", text: "Email" });
  assert.deepEqual(C.anchorType({ tag: "td", text: " Ann\n" }), { type: "text", text: "Ann" });
  const r = C.rowObjects(["Name", "", "Name"], [["a", "b", "c"], ["d"]]);
  assert.deepEqual(r.columns, ["Name", "Column 2", "Name 2"]);
  assert.deepEqual(r.rows, [{ Name: "a", "Column 2": "b", "Name 2": "c" }, { Name: "d", "Column 2": "", "Name 2": "" }]);
});
