// The bridge's page half (a web-accessible resource, injected by relay.js into localhost pages
// only): defines window.Exekra. Every call becomes one window.postMessage request with an id;
// relay.js answers with the same id. Recorded actions arrive as events and reach onAction
// listeners (and a DOM event `exekra:action` on window).
(function () {
  "use strict";
  if (window.Exekra) return;
  const PAGE = "exekra-page";
  const EXTENSION = "exekra-extension";
  const version = (document.currentScript && document.currentScript.dataset.version) || "";
  const waiting = new Map();
  const listeners = new Set();
  let counter = 0;

  function request(type, payload) {
    counter += 1;
    const id = `${Date.now().toString(36)}-${counter}`;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      window.postMessage({ source: PAGE, id, type, payload: payload || {} }, location.origin);
    });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window || event.origin !== location.origin) return;
    const data = event.data;
    if (!data || data.source !== EXTENSION) return;
    if (data.event === "action") {
      for (const fn of listeners) {
        try {
          fn(data.action);
        } catch (err) {
          console.error("Exekra onAction listener failed", err);
        }
      }
      window.dispatchEvent(new CustomEvent("exekra:action", { detail: data.action }));
      return;
    }
    const w = waiting.get(data.id);
    if (!w) return;
    waiting.delete(data.id);
    if (data.ok) w.resolve(data.result);
    else w.reject(new Error(data.error || "the extension refused the request"));
  });

  const Exekra = Object.freeze({
    version,
    /** Pick an element in the target tab; `{anchor: true}` then picks an anchor. */
    selectElement: (options) => request("selectElement", options),
    /** Open `url` in a new tab and record what the user does there. */
    startRecording: (options) => request("startRecording", options),
    /** Stop; resolves with `{actions: [...]}` (every action, also those sent live). */
    stopRecording: () => request("stopRecording"),
    /** Pick an element inside a table; resolves with the table's description. */
    extractTable: (options) => request("extractTable", options),
    /** Open `url` in a new tab: later picks and table extractions happen there. */
    openTab: (options) => request("openTab", options),
    /** Cancel a pick in progress. */
    cancel: () => request("cancel"),
    ping: () => request("hello"),
    onAction: Object.freeze({
      addListener: (fn) => listeners.add(fn),
      removeListener: (fn) => listeners.delete(fn),
      hasListener: (fn) => listeners.has(fn),
    }),
  });
  Object.defineProperty(window, "Exekra", { value: Exekra, enumerable: true });
  window.dispatchEvent(new CustomEvent("exekra:ready", { detail: { version } }));
})();
