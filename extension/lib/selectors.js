// Selector capture: for one element, candidates from every strategy, each validated against
// the DOM (valid / multiple / invalid), ranked by ExekraCore.rankCandidates, and returned in
// WORKFLOW_FORMAT.md's target shape (selector, fallbacks, candidates, shadow_path,
// fingerprint). The frame path is added by content.js (it may need to ask parent frames).
//
// Validation counts matches the way Playwright will on replay: CSS and role selectors pierce
// open shadow roots below the root they are evaluated in, XPath does not.
(function (root) {
  "use strict";
  const C = root.ExekraCore;

  const INTERACTIVE =
    "button, a[href], input, select, textarea, summary, label, [role=button], [role=link], " +
    "[role=menuitem], [role=tab], [role=checkbox], [role=radio], [role=option], [role=switch], " +
    "[contenteditable=''], [contenteditable=true]";

  /** A click on an icon or span inside a button (or link...) targets the button. */
  function retarget(el) {
    if (!el || el.nodeType !== 1) return el;
    if (el.matches(INTERACTIVE)) return el;
    const up = el.closest(INTERACTIVE);
    return up || el;
  }

  // One pick validates dozens of selectors against the same DOM: the shadow roots under a
  // scope are looked up once per task (the cache is dropped when the task ends).
  let shadowCache = new Map();
  let dropScheduled = false;

  /** Every open shadow root below `scope` (a Document, ShadowRoot or Element). */
  function shadowRoots(scope) {
    const cached = shadowCache.get(scope);
    if (cached) return cached;
    const out = [];
    shadowCache.set(scope, out);
    if (!dropScheduled) {
      dropScheduled = true;
      setTimeout(() => {
        shadowCache = new Map();
        dropScheduled = false;
      }, 0);
    }
    const walk = (node) => {
      const all = node.querySelectorAll("*");
      for (const el of all) {
        if (el.shadowRoot) {
          out.push(el.shadowRoot);
          walk(el.shadowRoot);
        }
      }
    };
    walk(scope);
    return out;
  }

  function deepQueryAll(scope, css) {
    const found = Array.from(scope.querySelectorAll(css));
    for (const sr of shadowRoots(scope)) found.push(...sr.querySelectorAll(css));
    return found;
  }

  function deepAll(scope) {
    return deepQueryAll(scope, "*");
  }

  // -- roles and accessible names (an approximation of the ARIA rules Playwright applies) -----
  function implicitRole(el) {
    const tag = el.localName;
    const type = (el.getAttribute("type") || "").toLowerCase();
    switch (tag) {
      case "button":
        return "button";
      case "a":
        return el.hasAttribute("href") ? "link" : null;
      case "select":
        return el.multiple || el.size > 1 ? "listbox" : "combobox";
      case "textarea":
        return "textbox";
      case "option":
        return "option";
      case "img":
        return el.getAttribute("alt") === "" ? "presentation" : "img";
      case "h1": case "h2": case "h3": case "h4": case "h5": case "h6":
        return "heading";
      case "table":
        return "table";
      case "tr":
        return "row";
      case "td":
        return "cell";
      case "th":
        return "columnheader";
      case "nav":
        return "navigation";
      case "ul": case "ol":
        return "list";
      case "li":
        return "listitem";
      case "input":
        if (["button", "submit", "reset", "image"].includes(type)) return "button";
        if (type === "checkbox") return "checkbox";
        if (type === "radio") return "radio";
        if (type === "range") return "slider";
        if (type === "number") return "spinbutton";
        if (type === "search") return "searchbox";
        if (["", "text", "email", "tel", "url"].includes(type)) return el.hasAttribute("list") ? "combobox" : "textbox";
        return null;
      default:
        return null;
    }
  }

  function roleOf(el) {
    const explicit = (el.getAttribute("role") || "").trim().split(/\s+/)[0];
    return explicit || implicitRole(el);
  }

  function textOf(el) {
    return C.normalizeText(el.innerText !== undefined && el.isConnected ? el.innerText : el.textContent);
  }

  /** The text of a form control's <label> (its own text, not the control's options). */
  function labelText(el) {
    const labels = el.labels ? Array.from(el.labels) : [];
    for (const label of labels) {
      let text = "";
      for (const node of label.childNodes) {
        if (node.nodeType === 3) text += node.textContent;
        else if (node.nodeType === 1 && !node.matches("input, select, textarea, button")) {
          text += " " + node.textContent;
        }
      }
      text = C.normalizeText(text);
      if (text) return { label, text };
    }
    return null;
  }

  function accessibleName(el) {
    const ids = (el.getAttribute("aria-labelledby") || "").trim();
    if (ids) {
      const doc = el.getRootNode();
      const parts = ids.split(/\s+/).map((id) => doc.getElementById && doc.getElementById(id));
      const text = C.normalizeText(parts.filter(Boolean).map((p) => p.textContent).join(" "));
      if (text) return text;
    }
    const aria = C.normalizeText(el.getAttribute("aria-label"));
    if (aria) return aria;
    const label = labelText(el);
    if (label) return label.text;
    if (el.localName === "img" || (el.localName === "input" && el.type === "image")) {
      const alt = C.normalizeText(el.getAttribute("alt"));
      if (alt) return alt;
    }
    if (el.localName === "input" && ["button", "submit", "reset"].includes(el.type)) {
      return C.normalizeText(el.value || (el.type === "submit" ? "Submit" : ""));
    }
    const role = roleOf(el);
    if (["button", "link", "heading", "cell", "columnheader", "option", "tab", "menuitem", "checkbox", "radio", "listitem"].includes(role)) {
      const text = textOf(el);
      if (text) return text;
    }
    return C.normalizeText(el.getAttribute("title") || el.getAttribute("placeholder") || "");
  }

  // -- matching ------------------------------------------------------------------------------
  function parseRole(selector) {
    const m = /^role=([a-z]+)(?:\[name=("(?:[^"\\]|\\.)*")\])?$/.exec(selector);
    if (!m) return null;
    return { role: m[1], name: m[2] ? JSON.parse(m[2]) : null };
  }

  /** All elements a selector matches in `scope` (Document or ShadowRoot); null = it failed. */
  function queryAll(scope, selector) {
    try {
      if (selector.startsWith("xpath=")) {
        const doc = scope.ownerDocument || scope;
        if (scope !== doc) return null; // Playwright's XPath does not enter shadow roots
        const snap = doc.evaluate(selector.slice(6), doc, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
        const out = [];
        for (let i = 0; i < snap.snapshotLength; i += 1) {
          const n = snap.snapshotItem(i);
          if (n.nodeType === 1) out.push(n);
        }
        return out;
      }
      if (selector.startsWith("role=")) {
        const spec = parseRole(selector);
        if (!spec) return null;
        const wanted = spec.name == null ? null : spec.name.toLowerCase();
        // case-insensitive substring, Playwright's default for name=: the widest reading
        return deepAll(scope).filter(
          (el) => roleOf(el) === spec.role && (wanted == null || accessibleName(el).toLowerCase().includes(wanted)),
        );
      }
      return deepQueryAll(scope, selector);
    } catch (_err) {
      return null;
    }
  }

  function countMatches(scope, selector) {
    const found = queryAll(scope, selector);
    return found ? found.length : 0;
  }

  // -- candidates ----------------------------------------------------------------------------
  function attrSelector(tag, name, value) {
    return `${tag}[${name}=${C.cssString(value)}]`;
  }

  function nthPath(el, scope, stopAt) {
    const parts = [];
    let node = el;
    let depth = 0;
    while (node && node.nodeType === 1 && node !== stopAt) {
      const parent = node.parentElement;
      const tag = node.localName;
      let part = CSS.escape(tag);
      if (parent) {
        const same = Array.from(parent.children).filter((c) => c.localName === tag);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(node) + 1})`;
      } else if (node.getRootNode() === scope && scope.host) {
        // a top-level element of a shadow root: no parent element
        const same = Array.from(scope.children).filter((c) => c.localName === tag);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(node) + 1})`;
      }
      parts.unshift(part);
      depth += 1;
      if (!parent || (tag === "html")) break;
      node = parent;
    }
    return { selector: parts.join(" > "), depth };
  }

  /** The nearest ancestor with a stable, unique id or test id (for scoped and path selectors). */
  function stableAncestor(el, scope) {
    for (let a = el.parentElement; a; a = a.parentElement) {
      for (const attr of C.TEST_ID_ATTRIBUTES) {
        const v = a.getAttribute(attr);
        if (v && !C.isDynamicId(v)) {
          const sel = attrSelector(a.localName, attr, v);
          if (countMatches(scope, sel) === 1) return { el: a, selector: sel };
        }
      }
      if (a.id && !C.isDynamicId(a.id)) {
        const sel = "#" + CSS.escape(a.id);
        if (countMatches(scope, sel) === 1) return { el: a, selector: sel };
      }
    }
    return null;
  }

  function rawCandidates(el) {
    const tag = el.localName;
    const out = [];
    const add = (strategy, selector, extra) => out.push({ strategy, selector, ...(extra || {}) });
    if (el.id) add("id", "#" + CSS.escape(el.id), { dynamic: C.isDynamicId(el.id) });
    for (const attr of C.TEST_ID_ATTRIBUTES) {
      const v = el.getAttribute(attr);
      if (v) add("testid", attrSelector(tag, attr, v), { dynamic: C.isDynamicId(v) });
    }
    for (const a of Array.from(el.attributes)) {
      if (!a.name.startsWith("data-") || C.TEST_ID_ATTRIBUTES.includes(a.name)) continue;
      if (!a.value || a.value.length > 60) continue;
      add("data", attrSelector(tag, a.name, a.value), { dynamic: C.isDynamicId(a.value) });
    }
    const name = el.getAttribute("name");
    if (name) add("name", attrSelector(tag, "name", name), { dynamic: C.isDynamicId(name) && /\d{3,}/.test(name) });
    const placeholder = el.getAttribute("placeholder");
    if (placeholder) {
      const type = el.getAttribute("type");
      const sel = (type ? attrSelector(tag, "type", type) : tag) + `[placeholder=${C.cssString(placeholder)}]`;
      add("placeholder", sel, { text: placeholder });
    }
    const inShadow = el.getRootNode() !== el.ownerDocument;
    const text = textOf(el);
    if (!inShadow && text && text.length <= C.MAX_TEXT_LENGTH && !/^(input|select|textarea)$/.test(tag)) {
      add("text", `xpath=//${tag}[normalize-space()=${C.xpathString(text)}]`, { text });
    }
    const aria = el.getAttribute("aria-label");
    if (aria) add("aria", attrSelector(tag, "aria-label", aria), { text: aria });
    const label = labelText(el);
    if (label && !inShadow) {
      const lit = C.xpathString(label.text);
      if (label.label.htmlFor && label.label.htmlFor === el.id) {
        add("label", `xpath=//${tag}[@id=//label[normalize-space()=${lit}]/@for]`, { text: label.text });
      } else if (label.label.contains(el)) {
        add("label", `xpath=//label[text()[normalize-space()=${lit}]]//${tag}`, { text: label.text });
      }
    }
    const role = roleOf(el);
    const accName = role ? accessibleName(el) : "";
    if (role && accName && accName.length <= C.MAX_TEXT_LENGTH) {
      add("role_name", `role=${role}[name=${JSON.stringify(accName)}]`, { text: accName });
    }
    if (el.hasAttribute("role")) add("role", attrSelector(tag, "role", el.getAttribute("role")));
    if (!["div", "span", "p", "li", "td", "tr"].includes(tag)) add("tag", CSS.escape(tag));
    const classes = Array.from(el.classList).filter(C.isStableClass).slice(0, 3);
    if (classes.length) {
      add("class", tag + "." + CSS.escape(classes[0]), { classes: 1 });
      if (classes.length > 1) {
        add("class", tag + classes.map((c) => "." + CSS.escape(c)).join(""), { classes: classes.length });
      }
    }
    return out;
  }

  /**
   * Candidates for `el`, validated in its root (document or shadow root) and ranked. Returns
   * `{selector, fallbacks, candidates}`.
   */
  function selectorsFor(el) {
    const scope = el.getRootNode();
    const cands = rawCandidates(el).map((c) => ({ ...c, status: C.classify(countMatches(scope, c.selector)) }));
    const ancestor = stableAncestor(el, scope);
    // a good but ambiguous CSS candidate, scoped under a stable ancestor
    for (const c of cands.slice()) {
      if (!ancestor || c.status !== "multiple" || c.dynamic) continue;
      if (c.selector.startsWith("xpath=") || c.selector.startsWith("role=")) continue;
      const sel = `${ancestor.selector} ${c.selector}`;
      cands.push({ strategy: "scoped", selector: sel, depth: 1, status: C.classify(countMatches(scope, sel)) });
    }
    const path = ancestor ? nthPath(el, scope, ancestor.el) : nthPath(el, scope, null);
    const pathSel = ancestor ? `${ancestor.selector} > ${path.selector}` : path.selector;
    cands.push({
      strategy: "path",
      selector: pathSel,
      depth: Math.min(path.depth, C.MAX_PATH_DEPTH + 4),
      status: C.classify(countMatches(scope, pathSel)),
    });
    const ranked = C.rankCandidates(cands);
    return {
      selector: ranked.primary,
      fallbacks: ranked.fallbacks,
      candidates: ranked.candidates.map((c) => ({ strategy: c.strategy, selector: c.selector, status: c.status, score: c.score })),
    };
  }

  /** Selectors of the shadow hosts from the document (or frame document) down to `el`'s root. */
  function shadowPath(el) {
    const path = [];
    let rootNode = el.getRootNode();
    while (rootNode && rootNode.host) {
      const host = rootNode.host;
      path.unshift(selectorsFor(host).selector);
      rootNode = host.getRootNode();
    }
    return path;
  }

  const FINGERPRINT_ATTRIBUTES = ["id", "name", "type", "placeholder", "aria-label", "role", "title", "href", "value", "alt", "for", ...C.TEST_ID_ATTRIBUTES];

  function fingerprint(el) {
    const attributes = {};
    for (const name of FINGERPRINT_ATTRIBUTES) {
      if (name === "value" && el.type === "password") continue; // never a password
      if (name === "value" && /^(input|textarea)$/.test(el.localName) && !["button", "submit", "reset", "checkbox", "radio"].includes(el.type)) continue;
      const v = el.getAttribute(name);
      if (v != null && v !== "") attributes[name] = v.slice(0, 200);
    }
    const cls = Array.from(el.classList).filter(C.isStableClass);
    if (cls.length) attributes.class = cls.join(" ");
    const scope = el.getRootNode();
    const sameTag = Array.from(scope.querySelectorAll(el.localName));
    const rect = el.getBoundingClientRect();
    const text = /^(input|textarea|select)$/.test(el.localName) ? "" : textOf(el).slice(0, 120);
    const label = labelText(el);
    return {
      tag: el.localName,
      text,
      attributes,
      index: sameTag.indexOf(el),
      label: label ? label.text : "",
      role: roleOf(el) || "",
      name: accessibleName(el).slice(0, 120),
      rect: { x: Math.round(rect.x), y: Math.round(rect.y), width: Math.round(rect.width), height: Math.round(rect.height) },
    };
  }

  /** The target object of WORKFLOW_FORMAT.md "Targets" (without frame_path and anchor). */
  function targetFor(el) {
    const sel = selectorsFor(el);
    return {
      selector: sel.selector,
      fallbacks: sel.fallbacks,
      candidates: sel.candidates,
      frame_path: [],
      shadow_path: shadowPath(el),
      fingerprint: fingerprint(el),
    };
  }

  /** The element a click landed on, looking through open shadow roots (event.composedPath). */
  function eventElement(event) {
    const path = event.composedPath ? event.composedPath() : [];
    const first = path.find((n) => n && n.nodeType === 1);
    return first || event.target;
  }

  /** A selector for an anchor: its text XPath, aria-label or label first, else the primary.
   * ``found``: findRelation(target, anchorEl) when the caller has it already. */
  function anchorFor(target, anchorEl, found = C.findRelation(target, anchorEl)) {
    if (!found) return null;
    const info = C.anchorType({
      ariaLabel: anchorEl.getAttribute("aria-label"),
      tag: anchorEl.localName,
      text: textOf(anchorEl),
    });
    const sel = selectorsFor(anchorEl);
    const preferred = sel.candidates.find(
      (c) => c.status === "valid" && ["text", "aria", "label", "testid", "id"].includes(c.strategy),
    );
    let selector = preferred ? preferred.selector : sel.selector;
    if (found.up > 0) {
      if (selector.startsWith("xpath=")) selector += "/..".repeat(found.up);
      else {
        // climb with the nth path of the ancestor the relation holds for
        let a = anchorEl;
        for (let i = 0; i < found.up; i += 1) a = a.parentElement;
        selector = selectorsFor(a).selector;
      }
    }
    return { selector, type: info.type, text: info.text, relation: found.relation };
  }

  root.ExekraSelectors = {
    retarget,
    queryAll,
    countMatches,
    selectorsFor,
    shadowPath,
    fingerprint,
    targetFor,
    eventElement,
    anchorFor,
    accessibleName,
    roleOf,
    labelText,
    textOf,
    deepQueryAll,
  };
})(globalThis);
