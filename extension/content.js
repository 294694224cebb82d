// The content script, in every frame of every page: element picking (target, anchor, table)
// and the recorder. It only acts when the background service worker tells it to (pickStart,
// recordStart ...) or confirms at load that this tab is being recorded. Everything it sends
// goes to the background with chrome.runtime.sendMessage.
(function () {
  "use strict";
  if (globalThis.__exekraContent) return; // injected twice (manifest + scripting): once is enough
  globalThis.__exekraContent = true;

  const C = globalThis.ExekraCore;
  const S = globalThis.ExekraSelectors;
  const T = globalThis.ExekraTables;

  const PURPOSES = ["target", "anchor", "table"];
  const state = { interacting: false, recording: false, picking: null, lastPicked: null, framePath: null };
  const recorded = new WeakMap(); // field -> the value last recorded for it
  const dirty = new Set(); // fields typed into since their last recorded value

  /** To the background; retried while its service worker restarts (MV3 stops idle ones). */
  function send(message, attempt = 0) {
    try {
      chrome.runtime.sendMessage(message).catch(() => {
        if (attempt < 6) setTimeout(() => send(message, attempt + 1), 100 * 2 ** attempt);
      });
    } catch (_err) {
      // the extension was reloaded: this page's script is orphaned
    }
  }

  // -- frame path ----------------------------------------------------------------------------
  const framePathWaiters = new Map();

  function frameSelector(frameEl) {
    return S.selectorsFor(frameEl).selector;
  }

  /**
   * Selectors of the iframes from the top document down to this frame. Same-origin parents are
   * read directly; when a parent is cross-origin (reading it throws or gives null), the parent
   * frame's content script is asked with postMessage and answers for its own iframe element.
   */
  function framePath() {
    if (state.framePath) return Promise.resolve(state.framePath);
    if (window.top === window) return Promise.resolve((state.framePath = []));
    const path = [];
    let w = window;
    try {
      while (w !== w.top) {
        const fe = w.frameElement;
        if (!fe) throw new Error("cross-origin parent");
        path.unshift(frameSelector(fe));
        w = w.parent;
      }
      return Promise.resolve((state.framePath = path));
    } catch (_err) {
      return askParent();
    }
  }

  function askParent() {
    const nonce = Math.random().toString(36).slice(2);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        framePathWaiters.delete(nonce);
        resolve(["(cross-origin frame: path unknown)"]);
      }, 2000);
      framePathWaiters.set(nonce, (path) => {
        clearTimeout(timer);
        resolve((state.framePath = path));
      });
      window.parent.postMessage({ exekraFramePath: "request", nonce }, "*");
    });
  }

  function frameElementFor(source) {
    for (const f of S.deepQueryAll(document, "iframe, frame")) {
      if (f.contentWindow === source) return f;
    }
    return null;
  }

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!data || typeof data !== "object" || !data.exekraFramePath) return;
    if (data.exekraFramePath === "request") {
      const fe = frameElementFor(event.source);
      if (!fe) return;
      framePath().then((mine) => {
        event.source.postMessage({ exekraFramePath: "reply", nonce: data.nonce, path: [...mine, frameSelector(fe)] }, "*");
      });
    } else if (data.exekraFramePath === "reply" && event.source === window.parent) {
      const waiter = framePathWaiters.get(data.nonce);
      if (waiter && Array.isArray(data.path) && data.path.every((p) => typeof p === "string")) {
        framePathWaiters.delete(data.nonce);
        waiter(data.path);
      }
    }
  });

  async function fullTarget(el) {
    const target = S.targetFor(el);
    target.frame_path = await framePath();
    return target;
  }

  // -- picking -------------------------------------------------------------------------------
  let overlay = null;

  function highlight(el) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.setAttribute("data-exekra-overlay", "");
      overlay.style.cssText =
        "position:fixed;z-index:2147483647;pointer-events:none;border:2px solid #e8590c;" +
        "background:rgba(232,89,12,.12);border-radius:2px;transition:all 40ms";
      // beside <body>, not in it: moving the box then does not make a big page lay out again
      // before the selectors are read (bench/selector_capture.py: 85 → 36 ms on 2,000 rows)
      document.documentElement.appendChild(overlay);
    }
    const r = el.getBoundingClientRect();
    Object.assign(overlay.style, { left: r.left + "px", top: r.top + "px", width: r.width + "px", height: r.height + "px", display: "block" });
  }

  /** Show the pick mode on the page (a crosshair; tests wait for the attribute). */
  function startPicking(purpose) {
    state.picking = purpose;
    document.documentElement.setAttribute("data-exekra-picking", purpose);
  }

  function stopPicking() {
    state.picking = null;
    document.documentElement.removeAttribute("data-exekra-picking");
    if (overlay) overlay.remove();
    overlay = null;
  }

  function pickedElement(event) {
    const raw = S.eventElement(event);
    return state.picking === "table" ? raw : S.retarget(raw);
  }

  function onPickMove(event) {
    if (!state.picking) return;
    const el = pickedElement(event);
    if (el && el.nodeType === 1 && !el.hasAttribute("data-exekra-overlay")) highlight(el);
  }

  function swallow(event) {
    if (!state.picking || !event.isTrusted) return false;
    event.preventDefault();
    event.stopImmediatePropagation();
    return true;
  }

  async function onPickClick(event) {
    if (!swallow(event)) return;
    const purpose = state.picking;
    const el = pickedElement(event);
    stopPicking();
    try {
      if (purpose === "target") {
        state.lastPicked = el;
        send({ type: "picked", purpose, target: await fullTarget(el) });
      } else if (purpose === "anchor") {
        send({ type: "picked", purpose, anchor: anchorResult(el) });
      } else if (purpose === "table") {
        const table = T.describeTable(el);
        if (table) table.target.frame_path = await framePath(); // table.params.target is the same object
        send({ type: "picked", purpose, table });
      }
    } catch (err) {
      send({ type: "picked", purpose, error: String(err && err.message ? err.message : err) });
    }
  }

  /** The anchor for the last picked target, and the target's selectors re-ranked with it. */
  function anchorResult(anchorEl) {
    const target = state.lastPicked;
    if (!target || !target.isConnected) return { error: "pick the target in this frame first" };
    const found = C.findRelation(target, anchorEl);
    const anchor = found && S.anchorFor(target, anchorEl, found);
    if (!anchor) return { error: "the anchor and the target share no ancestor close enough" };
    // the element the relation holds for: the clicked anchor, or an ancestor of it
    let scopeEl = anchorEl;
    for (let i = 0; i < found.up; i += 1) scopeEl = scopeEl.parentElement;
    const related = (m) => C.relationHolds(anchor.relation, scopeEl, m);
    const scope = target.getRootNode();
    const sel = S.selectorsFor(target);
    // the cheapest meaningful selector that the anchor narrows down to exactly this element
    const choice = sel.candidates.find((c) => {
      if (c.strategy === "path") return false;
      const all = S.queryAll(scope, c.selector) || [];
      const narrowed = all.filter(related);
      return narrowed.length === 1 && narrowed[0] === target;
    });
    return { anchor, selector: choice ? choice.selector : null, status: choice ? choice.status : null };
  }

  window.addEventListener("mousemove", onPickMove, true);
  for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "dblclick", "auxclick"]) {
    window.addEventListener(type, swallow, true);
  }
  window.addEventListener("click", onPickClick, true);
  window.addEventListener(
    "keydown",
    (event) => {
      if (state.picking && event.key === "Escape") {
        swallow(event);
        const purpose = state.picking;
        stopPicking();
        send({ type: "picked", purpose, error: "cancelled" });
      }
    },
    true,
  );

  // -- recording -----------------------------------------------------------------------------
  const TEXT_TYPES = ["", "text", "email", "password", "search", "tel", "url", "number", "date", "datetime-local", "month", "time", "week", "color"];

  function isTextField(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.localName === "textarea") return true;
    if (el.isContentEditable) return true;
    return el.localName === "input" && TEXT_TYPES.includes((el.getAttribute("type") || "").toLowerCase());
  }

  function isPassword(el) {
    return el.localName === "input" && (el.getAttribute("type") || "").toLowerCase() === "password";
  }

  async function record(type, el, extra) {
    if (!state.recording) return;
    const action = { type, target: el ? await fullTarget(el) : null, url: location.href, title: document.title, timestamp: Date.now(), ...extra };
    send({ type: "action", action });
  }

  /** Record what was typed into a field once — on change, Enter/Tab, a click elsewhere. */
  function flush(el) {
    if (!el || !dirty.has(el)) return;
    dirty.delete(el);
    if (isPassword(el)) {
      // the typed value is never read: the workflow gets the vault credential instead
      record("type", el, { value: "{{credential}}", password: true });
      return;
    }
    const value = el.isContentEditable ? el.innerText : el.value;
    if (recorded.get(el) === value) return;
    recorded.set(el, value);
    record("type", el, { value, password: false });
  }

  function flushAll(except) {
    for (const el of Array.from(dirty)) if (el !== except) flush(el);
  }

  window.addEventListener(
    "input",
    (event) => {
      const el = S.eventElement(event);
      if (state.recording && event.isTrusted && isTextField(el)) dirty.add(el);
    },
    true,
  );

  window.addEventListener(
    "change",
    (event) => {
      if (!state.recording || !event.isTrusted) return;
      const el = S.eventElement(event);
      if (el.localName === "select") {
        const chosen = Array.from(el.selectedOptions || []);
        record("selectDropdown", el, {
          value: el.multiple ? chosen.map((o) => o.value) : el.value,
          label: chosen.map((o) => C.normalizeText(o.label || o.textContent)).join(", "),
        });
      } else if (el.localName === "input" && el.type === "file") {
        record("upload", el, { value: "", files: Array.from(el.files || []).map((f) => f.name) });
      } else if (isTextField(el)) {
        dirty.add(el);
        flush(el);
      }
    },
    true,
  );

  window.addEventListener(
    "click",
    (event) => {
      if (!state.recording || state.picking || !event.isTrusted) return;
      const el = S.retarget(S.eventElement(event));
      interaction();
      flushAll(el);
      if (isTextField(el) || el.localName === "select" || (el.localName === "input" && el.type === "file")) return;
      // a label's click is followed by one on its control: record that one only
      if (el.localName === "label" && el.control) return;
      if (el.localName === "option") return;
      record("click", el, { value: "", button: event.button === 2 ? "right" : event.button === 1 ? "middle" : "left" });
    },
    true,
  );

  window.addEventListener(
    "keydown",
    (event) => {
      if (!state.recording || state.picking || !event.isTrusted) return;
      if (event.key !== "Enter" && event.key !== "Tab") return;
      interaction();
      const el = S.eventElement(event);
      // Enter in a multi-line field is part of the text, recorded with it
      if (event.key === "Enter" && el && (el.localName === "textarea" || el.isContentEditable)) return;
      flush(el);
      record("keydown", el && el !== document.body ? el : null, { value: event.key, key: event.key });
    },
    true,
  );

  /** Mark the current task as a click or key press (cleared when the task ends). */
  function interaction() {
    state.interacting = true;
    setTimeout(() => {
      state.interacting = false;
    }, 0);
  }

  // a fragment link fires popstate too (within the click's task): only a popstate without a click or key just before it
  // is back/forward
  window.addEventListener("popstate", () => {
    if (state.recording && !state.interacting) send({ type: "navigate", url: location.href, title: document.title, via: "popstate", timestamp: Date.now() });
  });
  window.addEventListener("pagehide", () => flushAll(null), true);

  // -- orders from the background --------------------------------------------------------------
  chrome.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if (!message || typeof message !== "object") return;
    switch (message.type) {
      case "pickStart":
        startPicking(PURPOSES.includes(message.purpose) ? message.purpose : "target");
        break;
      case "pickStop":
        stopPicking();
        break;
      case "recordStart":
        state.recording = true;
        break;
      case "recordStop":
        flushAll(null);
        state.recording = false;
        break;
      default:
        return;
    }
    sendResponse({ ok: true });
  });

  try {
    chrome.runtime.sendMessage({ type: "hello", url: location.href, top: window.top === window }).then((answer) => {
      if (answer && answer.recording) state.recording = true;
      if (answer && answer.picking) startPicking(answer.picking);
    }, () => {});
  } catch (_err) {
    // orphaned after an extension reload
  }
})();
