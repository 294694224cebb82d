// The background service worker: the one place that knows which tab is the Studio and which
// tabs are being recorded. Studio requests arrive over a port opened by relay.js (only on
// http://localhost and http://127.0.0.1 pages — checked again here); orders go to the content
// scripts of the target tab with chrome.tabs.sendMessage; recorded actions come back with
// chrome.runtime.sendMessage and are relayed live to every Studio port.
"use strict";

const VERSION = chrome.runtime.getManifest().version;
const STUDIO_PORT = "exekra-studio";
const PICK_PURPOSES = ["target", "anchor", "table"];
const PAGE_URL = /^(https?|file):/i; // the pages a request may open
// what the manifest puts in every page: injected into a tab that has none (opened before the
// extension was installed); content.js runs once however often it is injected
const CONTENT_SCRIPTS = chrome.runtime.getManifest().content_scripts.find((c) => c.js.includes("content.js")).js;

/** Only these pages may drive the extension: the Studio served by `exekra` on this machine. */
function isStudioUrl(url) {
  try {
    const u = new URL(url);
    return u.protocol === "http:" && (u.hostname === "localhost" || u.hostname === "127.0.0.1");
  } catch (_err) {
    return false;
  }
}

const studios = new Set();
let state = freshState();
let pending = null; // {purpose, resolve, reject}

function freshState() {
  return { recording: false, tabs: [], order: [], lastTab: null, lastUrl: {}, actions: [], seq: 0, pickTab: null };
}

const ready = chrome.storage.session.get("exekra").then(
  (saved) => {
    if (saved && saved.exekra) state = { ...freshState(), ...saved.exekra };
  },
  () => {},
);

function save() {
  chrome.storage.session.set({ exekra: state }).catch(() => {});
}

function broadcast(message) {
  for (const port of studios) {
    try {
      port.postMessage(message);
    } catch (_err) {
      studios.delete(port);
    }
  }
}

function openTabs() {
  return state.order.filter((id) => state.tabs.includes(id));
}

function pushAction(action, tabId) {
  if (state.lastTab !== null && tabId !== state.lastTab && state.tabs.includes(tabId)) {
    state.seq += 1;
    const sw = { type: "switchTab", index: openTabs().indexOf(tabId), url: action.url, title: action.title, timestamp: action.timestamp, seq: state.seq };
    state.actions.push(sw);
    broadcast({ event: "action", action: sw });
  }
  state.lastTab = tabId;
  state.seq += 1;
  const full = { ...action, seq: state.seq, tab: openTabs().indexOf(tabId) };
  state.actions.push(full);
  broadcast({ event: "action", action: full });
  save();
}

// A URL change is held back briefly: a popstate report from the page for the same URL (back /
// forward, the designer's own navigation) marks it; any other action from the tab flushes it.
const heldNavigations = new Map(); // tabId -> {url, title, via, timer}
const HOLD_MS = 250;

function flushNavigation(tabId, via) {
  const held = heldNavigations.get(tabId);
  if (!held) return;
  clearTimeout(held.timer);
  heldNavigations.delete(tabId);
  pushAction({ type: "navigate", value: held.url, url: held.url, title: held.title || "", via: via || held.via, timestamp: held.timestamp, target: null }, tabId);
}

function recordNavigation(tabId, url, title, via) {
  if (!state.recording || !state.tabs.includes(tabId)) return;
  const held = heldNavigations.get(tabId);
  if (held && held.url === url) {
    if (via === "popstate") flushNavigation(tabId, "popstate");
    return;
  }
  flushNavigation(tabId);
  const before = state.lastUrl[tabId];
  state.lastUrl[tabId] = url;
  save();
  if (before === undefined || before === url || !/^https?:|^file:/.test(url)) return;
  const entry = { url, title, via, timestamp: Date.now(), timer: null };
  entry.timer = setTimeout(() => flushNavigation(tabId), via === "popstate" ? 0 : HOLD_MS);
  heldNavigations.set(tabId, entry);
}

async function sendToTab(tabId, message) {
  try {
    return await chrome.tabs.sendMessage(tabId, message);
  } catch (_err) {
    return null; // no content script there (yet): it asks with "hello" when it loads
  }
}

/** A new active tab on ``url``, which must be an http, https or file URL. */
async function openPage(url, request) {
  if (typeof url !== "string" || !PAGE_URL.test(url)) throw new Error(`${request} needs {url} (http, https or file)`);
  return chrome.tabs.create({ url, active: true });
}

/** The tab a request works in: a new one on ``url`` (loaded), else the recorded or last picked
 * tab. ``required``: the request must open ``url``. */
async function targetTab(url, request, required = false) {
  if (url || required) {
    const tab = await openPage(url, request);
    state.pickTab = tab.id;
    save();
    await waitLoaded(tab.id);
    return tab.id;
  }
  const candidates = [state.lastTab, state.pickTab, ...state.tabs].filter((id) => id !== null && id !== undefined);
  for (const id of candidates) {
    try {
      await chrome.tabs.get(id);
      return id;
    } catch (_err) {
      // closed
    }
  }
  throw new Error("no target tab: pass {url} or start a recording first");
}

function waitLoaded(tabId) {
  return new Promise((resolve, reject) => {
    const settle = (error) => {
      chrome.tabs.onUpdated.removeListener(listener);
      chrome.tabs.onRemoved.removeListener(removed);
      if (error) reject(error);
      else resolve();
    };
    const listener = (id, info) => {
      if (id === tabId && info.status === "complete") settle();
    };
    const removed = (id) => {
      if (id === tabId) settle(new Error("the tab was closed before it loaded"));
    };
    chrome.tabs.onUpdated.addListener(listener);
    chrome.tabs.onRemoved.addListener(removed);
    chrome.tabs.get(tabId).then((t) => t.status === "complete" && settle(), () => settle());
  });
}

function pick(tabId, purpose) {
  if (pending) pending.reject(new Error("superseded by a new pick"));
  return new Promise((resolve, reject) => {
    const mine = { purpose, tabId, resolve, reject };
    pending = mine;
    chrome.tabs.update(tabId, { active: true }).catch(() => {});
    startPick(tabId, purpose).catch((err) => {
      if (pending !== mine) return;
      pending = null;
      reject(err);
    });
  });
}

/** Tells the tab's content scripts to pick; a tab without them gets them injected (their
 * "hello" then learns of the pick), and a page no extension may script is refused. */
async function startPick(tabId, purpose) {
  if (await sendToTab(tabId, { type: "pickStart", purpose })) return;
  try {
    await chrome.scripting.executeScript({ target: { tabId, allFrames: true }, files: CONTENT_SCRIPTS });
  } catch (_err) {
    const tab = await chrome.tabs.get(tabId).catch(() => null);
    throw new Error(`cannot pick on this page (${tab ? tab.url || tab.pendingUrl : "the tab is closed"})`);
  }
}

async function selectElement(options) {
  const tabId = await targetTab(options.url, "selectElement");
  const picked = await pick(tabId, "target");
  const target = picked.target;
  if (options.anchor) {
    const result = (await pick(tabId, "anchor")).anchor || {};
    if (result.error) throw new Error(result.error);
    target.anchor = result.anchor;
    if (result.selector && result.selector !== target.selector) {
      target.fallbacks = [target.selector, ...target.fallbacks.filter((s) => s !== result.selector)];
      target.selector = result.selector;
    }
  }
  return target;
}

async function handle(type, payload) {
  await ready;
  switch (type) {
    case "hello":
      return { version: VERSION, recording: state.recording };
    case "startRecording": {
      const tab = await openPage(payload.url, "startRecording");
      state = { ...freshState(), recording: true };
      state.tabs = [tab.id];
      state.order = [tab.id];
      state.lastTab = tab.id;
      state.pickTab = tab.id;
      save();
      sendToTab(tab.id, { type: "recordStart" });
      return { tabId: tab.id };
    }
    case "stopRecording": {
      for (const id of state.tabs) await sendToTab(id, { type: "recordStop" });
      await new Promise((r) => setTimeout(r, 300)); // the last flushed fields arrive
      for (const id of Array.from(heldNavigations.keys())) flushNavigation(id);
      const actions = state.actions;
      state.recording = false;
      save();
      return { actions };
    }
    case "openTab":
      return { tabId: await targetTab(payload.url, "openTab", true) };
    case "selectElement":
      return selectElement(payload);
    case "extractTable": {
      const tabId = await targetTab(payload.url, "extractTable");
      const picked = await pick(tabId, "table");
      if (!picked.table) throw new Error("no table around the picked element");
      return picked.table;
    }
    case "cancel":
      if (pending) {
        sendToTab(pending.tabId, { type: "pickStop" });
        pending.reject(new Error("cancelled"));
        pending = null;
      }
      return { ok: true };
    default:
      throw new Error(`unknown request ${JSON.stringify(type)}`);
  }
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== STUDIO_PORT || !port.sender || !isStudioUrl(port.sender.url || "")) {
    port.disconnect();
    return;
  }
  studios.add(port);
  port.onDisconnect.addListener(() => studios.delete(port));
  port.onMessage.addListener((message) => {
    if (!message || typeof message !== "object" || typeof message.id !== "string") return;
    handle(String(message.type), message.payload && typeof message.payload === "object" ? message.payload : {}).then(
      (result) => port.postMessage({ id: message.id, ok: true, result }),
      (err) => port.postMessage({ id: message.id, ok: false, error: String(err && err.message ? err.message : err) }),
    );
  });
});

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!message || typeof message !== "object" || !sender.tab) return;
  const tabId = sender.tab.id;
  ready.then(() => {
    switch (message.type) {
      case "hello": {
        const recording = state.recording && state.tabs.includes(tabId);
        const picking = pending && pending.tabId === tabId ? pending.purpose : null;
        if (recording && message.top && state.lastUrl[tabId] === undefined) {
          state.lastUrl[tabId] = message.url;
          save();
        }
        sendResponse({ recording, picking });
        break;
      }
      case "action":
        if (state.recording && state.tabs.includes(tabId) && message.action && typeof message.action === "object") {
          // a held URL change reported before the action that caused it goes after it
          const held = heldNavigations.get(tabId);
          if (held && !(held.timestamp >= Number(message.action.timestamp))) flushNavigation(tabId);
          pushAction({ ...message.action, frame: sender.frameId || 0 }, tabId);
        }
        sendResponse({ ok: true });
        break;
      case "navigate":
        if (sender.frameId === 0) recordNavigation(tabId, String(message.url || sender.tab.url), message.title, message.via);
        sendResponse({ ok: true });
        break;
      case "picked":
        if (pending && pending.tabId === tabId && PICK_PURPOSES.includes(message.purpose) && message.purpose === pending.purpose) {
          const p = pending;
          pending = null;
          sendToTab(tabId, { type: "pickStop" });
          if (message.error) p.reject(new Error(message.error));
          else p.resolve(message);
        }
        sendResponse({ ok: true });
        break;
      default:
        sendResponse({ ok: false });
    }
  });
  return true;
});

chrome.tabs.onCreated.addListener((tab) => {
  ready.then(() => {
    if (!state.recording || tab.openerTabId === undefined || !state.tabs.includes(tab.openerTabId)) return;
    state.tabs.push(tab.id);
    state.order.push(tab.id);
    save();
  });
});

chrome.tabs.onUpdated.addListener((tabId, info, tab) => {
  if (info.url) ready.then(() => recordNavigation(tabId, info.url, tab.title, "url"));
});

chrome.tabs.onRemoved.addListener((tabId) => {
  ready.then(() => {
    if (!state.tabs.includes(tabId)) return;
    state.tabs = state.tabs.filter((id) => id !== tabId);
    if (state.lastTab === tabId) state.lastTab = -1; // the next action elsewhere records a switch
    save();
  });
});
