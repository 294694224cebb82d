// The bridge's extension half: a content script that runs only on http://localhost and
// http://127.0.0.1 pages (any port; see manifest.json). It injects bridge.js (the page half,
// which defines window.Exekra) and relays: page --window.postMessage--> here
// --port (chrome.runtime.connect)--> background, and answers/events back the same way.
// Messages are accepted only from this window, from a localhost origin, with our marker.
(function () {
  "use strict";
  if (globalThis.__exekraRelay) return;
  globalThis.__exekraRelay = true;

  const PAGE = "exekra-page";
  const EXTENSION = "exekra-extension";

  function trusted(origin) {
    try {
      const u = new URL(origin);
      return u.protocol === "http:" && (u.hostname === "localhost" || u.hostname === "127.0.0.1");
    } catch (_err) {
      return false;
    }
  }

  if (window.top !== window || !trusted(location.origin)) return;

  let port = null;
  const inflight = new Set(); // request ids sent over the current port, not answered yet

  function answer(message) {
    if (message && typeof message.id === "string") inflight.delete(message.id);
    window.postMessage({ source: EXTENSION, ...message }, location.origin);
  }

  function connect() {
    port = chrome.runtime.connect({ name: "exekra-studio" });
    port.onMessage.addListener(answer);
    port.onDisconnect.addListener(() => {
      // the service worker stopped (idle, update): fail what was waiting, then reconnect so
      // live actions keep coming; the recording itself is kept by the worker's storage
      port = null;
      for (const id of Array.from(inflight)) {
        answer({ id, ok: false, error: "the extension restarted: try again" });
      }
      setTimeout(() => {
        try {
          if (!port) connect();
        } catch (_err) {
          // the extension was removed or reloaded: this page must be reloaded
        }
      }, 200);
    });
    return port;
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window || !trusted(event.origin)) return;
    const data = event.data;
    if (!data || data.source !== PAGE || typeof data.id !== "string" || typeof data.type !== "string") return;
    try {
      (port || connect()).postMessage({ id: data.id, type: data.type, payload: data.payload || {} });
      inflight.add(data.id);
    } catch (err) {
      window.postMessage({ source: EXTENSION, id: data.id, ok: false, error: String(err) }, location.origin);
    }
  });

  connect();
  const script = document.createElement("script");
  script.src = chrome.runtime.getURL("bridge.js");
  script.dataset.version = chrome.runtime.getManifest().version;
  script.onload = () => script.remove();
  (document.head || document.documentElement).appendChild(script);
})();
