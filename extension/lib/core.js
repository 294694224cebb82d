// Pure helpers of the Exekra extension: no DOM, no chrome.* — so Node's test runner checks them
// (extension/tests/core.test.js) and the content script uses the very same code.
//
// The scoring follows the ideas of Playwright's selector generator and @medv/finder (read, not
// copied): every candidate gets a cost, test ids and human-meaningful attributes are cheap,
// generated-looking ids and hashed class names are expensive, positional (nth) selectors are
// the last resort and capped in depth. The cheapest candidate that matches exactly one element
// becomes the primary selector; the next valid ones (other strategies first) the fallbacks.
(function (root) {
  "use strict";

  /** Attributes testers put on elements for automation, most specific first. */
  const TEST_ID_ATTRIBUTES = [
    "data-testid",
    "data-test-id",
    "data-test",
    "data-qa",
    "data-cy",
    "data-automation-id",
    "data-e2e",
  ];

  /** Base cost per strategy (lower wins). Dynamic or long values add to it. */
  const STRATEGY_COST = {
    testid: 1,
    id: 2,
    label: 3,
    name: 4,
    aria: 5,
    role_name: 6,
    placeholder: 7,
    data: 8,
    text: 9,
    scoped: 12,
    role: 15,
    tag: 18,
    class: 20,
    path: 40,
  };

  const DYNAMIC_PENALTY = 100;
  const MAX_PATH_DEPTH = 8;
  const MAX_TEXT_LENGTH = 60;

  const UUID = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;
  const FRAMEWORK_ID = /^(ember\d|ext-gen|ext-comp|yui_|gwt-|react-select-\d|mui-\d|headlessui-|radix-|:r[0-9a-z]*:|__next_|uid-|id-\d|j_id|jqg|ui-id-\d)/i;

  /** Count switches between letter case and letters/digits: high for generated tokens. */
  function transitions(value) {
    let count = 0;
    let prev = "";
    for (const ch of value) {
      const kind = /[0-9]/.test(ch) ? "d" : /[a-z]/.test(ch) ? "l" : /[A-Z]/.test(ch) ? "u" : "o";
      if (prev && kind !== prev && kind !== "o" && prev !== "o") count += 1;
      prev = kind;
    }
    return count;
  }

  /**
   * True when an id (or attribute value) looks generated and will change on the next render:
   * UUIDs, framework-generated ids (React's `:r1:`, Ember, ExtJS, MUI ...), numeric suffixes
   * after a separator, long digit runs, hex blobs, and tokens whose character classes switch
   * as often as a random string's do (Playwright's "GUID-like" test, in our own words).
   */
  function isDynamicId(value) {
    if (typeof value !== "string" || value === "") return true;
    const v = value.trim();
    if (UUID.test(v) || FRAMEWORK_ID.test(v)) return true;
    if (/\d{4,}/.test(v)) return true;
    if (/[-_:.]\d{2,}[a-z]?$/i.test(v) || /\d{3,}$/.test(v)) return true; // numeric suffixes
    if (/^[0-9]/.test(v)) return true;
    if (/^[0-9a-f]{8,}$/i.test(v) && /\d/.test(v)) return true;
    if (v.length >= 6 && /\d/.test(v) && transitions(v) >= Math.max(3, v.length / 4)) return true;
    return false;
  }

  /**
   * True when a class name is a stable, human-written word (`btn`, `primary-action`,
   * `col-md-6`) rather than a CSS-in-JS or CSS-modules hash (`css-1x2y3z`, `sc-bdVaJa`,
   * `Button_root__3xYz1`, `jsx-2983749`), in the spirit of @medv/finder's "word-like" test.
   */
  function isStableClass(name) {
    if (typeof name !== "string" || name.length < 2 || name.length > 40) return false;
    if (/^(css|sc|jsx|emotion|styled|svelte|makeStyles|jss)-/i.test(name)) return false;
    if (/__[a-z0-9]{4,}$/i.test(name) && /\d/.test(name.split("__").pop())) return false;
    if (/^_[a-z0-9]{5,}$/i.test(name)) return false;
    if (/[0-9a-f]{5,}/i.test(name) && /\d/.test(name)) return false;
    if (isDynamicId(name) && /\d/.test(name)) return false;
    for (const part of name.split(/[-_]+/)) {
      if (part === "") continue;
      if (/^\d{1,2}$/.test(part)) continue; // grid sizes: col-6, mt-2
      if (!/^[a-zA-Z]+\d?$/.test(part)) return false;
      if (/[bcdfghjklmnpqrstvwxz]{5,}/i.test(part)) return false; // not pronounceable
      if (part.length > 3 && transitions(part) > 2) return false; // aBcDe
    }
    return true;
  }

  /** A CSS string literal: `"a \"b\""`. */
  function cssString(value) {
    return '"' + String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\a ") + '"';
  }

  /** An XPath string literal; a value holding both quote kinds becomes `concat(...)`. */
  function xpathString(value) {
    const s = String(value);
    if (!s.includes("'")) return "'" + s + "'";
    if (!s.includes('"')) return '"' + s + '"';
    return "concat('" + s.split("'").join("', \"'\", '") + "')";
  }

  /** Collapse whitespace the way XPath's normalize-space() does. */
  function normalizeText(value) {
    return String(value == null ? "" : value).replace(/[\s\u00a0]+/g, " ").trim();
  }

  /** `valid` (exactly one match), `multiple` or `invalid` (none, or the selector failed). */
  function classify(count) {
    if (count === 1) return "valid";
    if (count > 1) return "multiple";
    return "invalid";
  }

  /** The cost of one candidate: the strategy's base, plus penalties; lower is better. */
  function scoreCandidate(candidate) {
    let cost = STRATEGY_COST[candidate.strategy] ?? 50;
    if (candidate.dynamic) cost += DYNAMIC_PENALTY;
    if (candidate.strategy === "path") cost += 4 * (candidate.depth || 1);
    if (candidate.strategy === "tag" && candidate.selector.includes("-")) cost -= 8; // custom element
    if (candidate.strategy === "class") cost += 2 * ((candidate.classes || 1) - 1);
    if (candidate.strategy === "scoped") cost += 2 * (candidate.depth || 1);
    const text = candidate.text || "";
    if (text.length > 25) cost += Math.ceil((text.length - 25) / 10);
    if (candidate.selector && candidate.selector.length > 80) cost += 5;
    return cost;
  }

  /**
   * Rank candidates: valid ones by cost, then multiple, then invalid. Returns the candidates
   * (each with its `score`), the primary selector and up to `maxFallbacks` fallbacks —
   * preferring other strategies so one page change does not break them all at once.
   */
  function rankCandidates(candidates, maxFallbacks = 4) {
    const order = { valid: 0, multiple: 1, invalid: 2 };
    const seen = new Set();
    const ranked = [];
    for (const c of candidates) {
      if (!c || !c.selector || seen.has(c.selector)) continue;
      seen.add(c.selector);
      ranked.push({ ...c, score: scoreCandidate(c) });
    }
    ranked.sort((a, b) => order[a.status] - order[b.status] || a.score - b.score);
    const valid = ranked.filter((c) => c.status === "valid");
    const primary = valid.length ? valid[0].selector : ranked.length ? ranked[0].selector : null;
    const rest = valid.slice(1);
    const fallbacks = [];
    const used = new Set(valid.length ? [valid[0].strategy] : []);
    for (const c of rest) {
      if (fallbacks.length >= maxFallbacks) break;
      if (!used.has(c.strategy)) {
        fallbacks.push(c.selector);
        used.add(c.strategy);
      }
    }
    for (const c of rest) {
      if (fallbacks.length >= maxFallbacks) break;
      if (!fallbacks.includes(c.selector)) fallbacks.push(c.selector);
    }
    return { primary, fallbacks, candidates: ranked };
  }

  /**
   * The relation between a target and an anchor element, over any tree with
   * `parentElement`, `nextElementSibling`, `previousElementSibling`, `firstElementChild`,
   * `lastElementChild` and `contains` (the DOM, or plain objects in the unit tests).
   * Returns `{relation, up}`: `up` is how many levels above the picked anchor the relation
   * holds (0 = the anchor itself); null when they share no ancestor.
   */
  function findRelation(target, anchor, maxUp = 6) {
    let a = anchor;
    for (let up = 0; a && up <= maxUp; up += 1) {
      if (a === target) return null;
      const relation = RELATIONS.find((r) => (r !== "parent" || up === 0) && relationHolds(r, a, target));
      if (relation) return { relation, up };
      a = a.parentElement;
    }
    return null;
  }

  /** In the order findRelation tries them (the closest first). */
  const RELATIONS = ["nextSibling", "previousSibling", "firstChild", "lastChild", "parent", "descendant"];

  /** Whether ``el`` stands in ``relation`` to ``scope`` (the anchor, or the ancestor of it that
   * findRelation climbed to): the rule the replay applies, from findRelation's result. */
  function relationHolds(relation, scope, el) {
    switch (relation) {
      case "nextSibling":
        return scope.nextElementSibling === el;
      case "previousSibling":
        return scope.previousElementSibling === el;
      case "firstChild":
        return scope.firstElementChild === el;
      case "lastChild":
        return scope.lastElementChild === el;
      case "descendant":
        return el !== scope && scope.contains(el);
      default: // "parent"
        return scope.parentElement === el;
    }
  }

  /** Pick the anchor's type from what identifies it: aria-label, a <label>, or its text. */
  function anchorType(info) {
    if (info.ariaLabel) return { type: "aria-label", text: normalizeText(info.ariaLabel) };
    if (info.tag === "label") return { type: "label", text: normalizeText(info.text) };
    return { type: "text", text: normalizeText(info.text).slice(0, MAX_TEXT_LENGTH) };
  }

  /** Rows of cell texts → row objects keyed by header (blank or repeated headers numbered). */
  function rowObjects(headers, rows) {
    const names = [];
    const taken = new Set();
    headers.forEach((h, i) => {
      let name = normalizeText(h) || `Column ${i + 1}`;
      let n = 2;
      const base = name;
      while (taken.has(name)) name = `${base} ${n++}`;
      taken.add(name);
      names.push(name);
    });
    return {
      columns: names,
      rows: rows.map((cells) => {
        const obj = {};
        names.forEach((name, i) => {
          obj[name] = normalizeText(cells[i] ?? "");
        });
        return obj;
      }),
    };
  }

  const api = {
    TEST_ID_ATTRIBUTES,
    STRATEGY_COST,
    MAX_PATH_DEPTH,
    MAX_TEXT_LENGTH,
    isDynamicId,
    isStableClass,
    cssString,
    xpathString,
    normalizeText,
    classify,
    scoreCandidate,
    rankCandidates,
    findRelation,
    relationHolds,
    anchorType,
    rowObjects,
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.ExekraCore = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
