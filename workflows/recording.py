"""Recorded browser actions → ``browser.*`` nodes: the one conversion the CLI (`exekra record`),
the console's editor and the tests share. Pure: no I/O.

The actions come from the browser extension (see ``extension/README.md``) and so from a web
page: they are untrusted. Anything that is not a well-formed action is dropped, strings are
bounded, and a password action never carries a value — whatever the page sent, it becomes
``{{credential}}`` with a ``credential`` param naming the vault entry to fill in.

Rules (each fixes a way naive recorders produce workflows that do not replay):

* consecutive ``type`` actions into one field merge into one ``browser.type`` (the last value);
* ``keydown`` Enter right after typing into the same field becomes ``press_enter`` on it;
* a navigation that follows a click, a key press or a dropdown choice in the same tab was
  caused by it: it becomes a ``browser.wait_for`` on the URL (one per chain of redirects),
  while a navigation of its own (address bar, back/forward) becomes ``browser.navigate``;
* a switch to another tab (a popup, a new tab) becomes ``browser.switch_tab`` by index;
* a file input becomes ``browser.upload`` of a workflow variable the designer fills in;
* typed text, values and URLs are escaped so braces stay literal (``{`` is an expression).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .expressions import CREDENTIAL_TOKEN, escape

__all__ = [
    "ACTION_TYPES",
    "MAX_ACTIONS",
    "Conversion",
    "actions_to_graph",
    "actions_to_nodes",
    "clean_target",
    "default_credential_name",
]

ACTION_TYPES = frozenset(
    {"click", "type", "selectDropdown", "navigate", "keydown", "switchTab", "upload"}
)
MAX_ACTIONS = 2000
MAX_TEXT = 10_000
MAX_SELECTOR = 2_000
TARGET_KEYS = ("selector", "fallbacks", "candidates", "anchor", "frame_path", "shadow_path",
               "fingerprint")  # fmt: skip
#: activities after which a navigation is the page's answer, not the designer's own
CAUSES = frozenset({"browser.click", "browser.press_key", "browser.select", "browser.check"})
SHORT = {
    "browser.open": "open",
    "browser.click": "click",
    "browser.type": "type",
    "browser.select": "select",
    "browser.press_key": "press",
    "browser.wait_for": "wait",
    "browser.navigate": "navigate",
    "browser.switch_tab": "tab",
    "browser.upload": "upload",
    "browser.close": "close",
}


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any, limit: int = 20) -> list[str]:
    return [v[:MAX_SELECTOR] for v in _list(value)[:limit] if isinstance(v, str) and v]


def _json_safe(value: Any, depth: int = 0) -> Any:
    """A bounded, JSON-only copy of untrusted data (fingerprints, candidates)."""
    if depth > 4:
        return None
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return value[:500]
    if isinstance(value, list):
        return [_json_safe(v, depth + 1) for v in value[:30]]
    if isinstance(value, dict):
        return {str(k)[:100]: _json_safe(v, depth + 1) for k, v in list(value.items())[:40]}
    return None


def clean_target(target: Any) -> dict[str, Any] | str | None:
    """The target of WORKFLOW_FORMAT.md "Targets" from what the extension sent (or None)."""
    if isinstance(target, str):
        return target[:MAX_SELECTOR] or None
    if not isinstance(target, Mapping):
        return None
    selector = target.get("selector")
    if not isinstance(selector, str) or not selector:
        return None
    out: dict[str, Any] = {
        "selector": selector[:MAX_SELECTOR],
        "fallbacks": _strings(target.get("fallbacks")),
        "candidates": [
            {
                "strategy": _text(c.get("strategy"), 40),
                "selector": _text(c.get("selector"), MAX_SELECTOR),
                "status": _text(c.get("status"), 20),
                **({"score": c["score"]} if isinstance(c.get("score"), int | float) else {}),
            }
            for c in _list(target.get("candidates"))[:40]
            if isinstance(c, Mapping) and isinstance(c.get("selector"), str)
        ],
        "frame_path": _strings(target.get("frame_path")),
        "shadow_path": _strings(target.get("shadow_path")),
        "fingerprint": _json_safe(target.get("fingerprint"))
        if isinstance(target.get("fingerprint"), Mapping)
        else {},
    }
    anchor = target.get("anchor")
    if isinstance(anchor, Mapping) and isinstance(anchor.get("selector"), str):
        out["anchor"] = {
            "selector": anchor["selector"][:MAX_SELECTOR],
            "type": _text(anchor.get("type"), 20),
            "text": _text(anchor.get("text"), 200),
            "relation": _text(anchor.get("relation"), 20),
        }
    if isinstance(out["fingerprint"], dict):
        attrs = out["fingerprint"].get("attributes")
        if isinstance(attrs, dict) and str(attrs.get("type", "")).lower() == "password":
            attrs.pop("value", None)
    return out


def _field_key(target: Any) -> str:
    if isinstance(target, dict):
        return repr((target["selector"], target["frame_path"], target["shadow_path"]))
    return repr(target)


def _describe(target: Any) -> str:
    """A few words for a node's label: the element's name, label or text."""
    if isinstance(target, dict):
        fp = target.get("fingerprint") or {}
        for key in ("label", "name", "text"):
            value = fp.get(key)
            if isinstance(value, str) and value.strip():
                words = " ".join(value.split())
                return words if len(words) <= 28 else words[:27] + "…"
        attrs = fp.get("attributes") or {}
        for key in ("aria-label", "placeholder", "name", "title"):
            if isinstance(attrs.get(key), str) and attrs[key]:
                return str(attrs[key])[:28]
        return str(fp.get("tag") or "element")
    return str(target)[:28]


def default_credential_name(url: str) -> str:
    """The vault name proposed for a page's password: its host (``login.example.com``)."""
    try:
        host = urlsplit(url).hostname or "site"
    except ValueError:  # "http://[x": not a URL urllib can split
        host = "site"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", host)[:60] or "site"


@dataclass
class Conversion:
    """The result: a chain of nodes, its edges, variables it needs and notes for the user."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    start_url: str | None = None

    def graph(self) -> dict[str, Any]:
        """These nodes as a whole workflow graph (WORKFLOW_FORMAT.md)."""
        return {
            "format": 1,
            "variables": copy.deepcopy(self.variables),
            "nodes": self.nodes,
            "edges": self.edges,
        }


def _valid_actions(actions: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for i, a in enumerate(actions):
        if i >= MAX_ACTIONS:
            break
        if not isinstance(a, Mapping) or not isinstance(a.get("type"), str):
            continue
        if a["type"] not in ACTION_TYPES:
            continue
        out.append(dict(a))
    return out


class _Builder:
    def __init__(self, taken: Iterable[str], credential: str | None) -> None:
        self.taken = set(taken)
        self.credential = credential
        self.steps: list[dict[str, Any]] = []
        self.result = Conversion()
        self.tab = 0
        self.url: str | None = None
        self.caused = False  # the last step may cause a navigation

    def new_id(self, kind: str) -> str:
        base = SHORT.get(kind, kind.split(".")[-1])
        n = 1
        while f"{base}{n}" in self.taken:
            n += 1
        self.taken.add(f"{base}{n}")
        return f"{base}{n}"

    def add(self, kind: str, params: dict[str, Any], label: str) -> dict[str, Any]:
        node = {"id": self.new_id(kind), "type": kind, "label": label[:60], "params": params}
        self.steps.append(node)
        self.caused = kind in CAUSES or bool(params.get("press_enter"))
        return node

    @property
    def last(self) -> dict[str, Any] | None:
        return self.steps[-1] if self.steps else None

    # -- one method per action type -------------------------------------------------------
    def click(self, a: dict[str, Any], target: Any) -> None:
        params: dict[str, Any] = {"target": target}
        if a.get("button") in ("right", "middle"):
            params["button"] = a["button"]
        self.add("browser.click", params, f"Click {_describe(target)}")

    def type(self, a: dict[str, Any], target: Any) -> None:
        password = a.get("password") is True
        text = CREDENTIAL_TOKEN if password else escape(_text(a.get("value")))
        last = self.last
        if (
            last is not None
            and last["type"] == "browser.type"
            and _field_key(last["params"]["target"]) == _field_key(target)
        ):
            last["params"]["text"] = text  # one field, one node: the last value wins
            if password:
                self._credential(last, a)
            return
        node = self.add(
            "browser.type", {"target": target, "text": text}, f"Type {_describe(target)}"
        )
        if password:
            self._credential(node, a)

    def _credential(self, node: dict[str, Any], a: dict[str, Any]) -> None:
        name = self.credential or default_credential_name(_text(a.get("url")) or self.url or "")
        node["params"]["credential"] = name
        node["label"] = f"Type password ({name})"[:60]
        note = f"{node['id']} types the password of the vault credential {name!r}: create it "
        note += "under Credentials (or change the node's credential param)"
        if note not in self.result.notes:
            self.result.notes.append(note)

    def select(self, a: dict[str, Any], target: Any) -> None:
        value = a.get("value")
        if isinstance(value, list):
            chosen: Any = [escape(_text(v, 500)) for v in value[:50] if isinstance(v, str)]
        else:
            chosen = escape(_text(value, 500))
        label = _text(a.get("label"), 60)
        self.add("browser.select", {"target": target, "value": chosen},
                 f"Select {label or chosen} in {_describe(target)}")  # fmt: skip

    def keydown(self, a: dict[str, Any], target: Any) -> None:
        key = _text(a.get("key") or a.get("value"), 20)
        if key not in ("Enter", "Tab"):
            return
        last = self.last
        if (
            key == "Enter"
            and target is not None
            and last is not None
            and last["type"] == "browser.type"
            and _field_key(last["params"]["target"]) == _field_key(target)
        ):
            last["params"]["press_enter"] = True
            self.caused = True
            return
        params: dict[str, Any] = {"key": key}
        if target is not None:
            params["target"] = target
        self.add("browser.press_key", params, f"Press {key}")

    def navigate(self, a: dict[str, Any]) -> None:
        url = _text(a.get("url") or a.get("value"), 4000)
        if not url or url == self.url:
            return
        self.url = url
        last = self.last
        own = a.get("via") == "popstate"  # back/forward: the designer's own navigation
        if not own and last is not None and last["type"] == "browser.wait_for" and self.caused:
            last["params"]["url"] = escape(url)  # a redirect chain: wait for where it ends
            return
        if self.caused and not own:
            self.add("browser.wait_for", {"url": escape(url)}, f"Wait for {_path(url)}")
            self.caused = True  # a further redirect extends this wait
            return
        self.add("browser.navigate", {"url": escape(url)}, f"Go to {_path(url)}")

    def switch_tab(self, a: dict[str, Any]) -> None:
        index = a.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0 or index == self.tab:
            return
        self.tab = index
        last = self.last
        if last is not None and last["type"] == "browser.switch_tab":
            last["params"]["index"] = index
            last["label"] = f"Switch to tab {index + 1}"
            return
        self.add("browser.switch_tab", {"index": index}, f"Switch to tab {index + 1}")

    def upload(self, a: dict[str, Any], target: Any) -> None:
        n = 1
        while f"upload_file_{n}" in self.result.variables:
            n += 1
        var = f"upload_file_{n}"
        names = _strings(a.get("files"))
        self.result.variables[var] = names[0] if len(names) == 1 else names
        self.add("browser.upload", {"target": target, "files": f"{{{var}}}"},
                 f"Upload into {_describe(target)}")  # fmt: skip
        self.result.notes.append(
            f"{self.steps[-1]['id']} uploads the file(s) in the variable {var!r}: set its "
            "path(s) in the workflow's variables or the execution inputs"
        )


def _path(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x": label it by the raw text
        text = url
    else:
        text = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return text if len(text) <= 40 else text[:39] + "…"


def actions_to_nodes(
    actions: Sequence[Any],
    *,
    taken_ids: Iterable[str] = (),
    include_open: bool = False,
    include_close: bool = False,
    credential: str | None = None,
    start_url: str | None = None,
) -> Conversion:
    """The chain of ``browser.*`` nodes for recorded ``actions`` (in the order recorded).

    ``taken_ids`` keeps new node ids clear of an existing graph's; ``include_open`` starts the
    chain with ``browser.open`` of the first page (``start_url`` or the first action's URL);
    ``include_close`` ends it with ``browser.close``; ``credential`` names the vault entry for
    password fields (default: the page's host).
    """
    b = _Builder(taken_ids, credential)
    valid = _valid_actions(actions)
    first_url = start_url or next(
        (_text(a.get("url"), 4000) for a in valid if isinstance(a.get("url"), str)), None
    )
    b.result.start_url = first_url or None
    b.url = first_url
    b.caused = False
    for a in valid:
        kind = a["type"]
        if kind == "navigate":
            b.navigate(a)
            continue
        if kind == "switchTab":
            b.switch_tab(a)
            continue
        target = clean_target(a.get("target"))
        if kind == "keydown":
            b.keydown(a, target)
        elif target is None:
            continue
        elif kind == "click":
            b.click(a, target)
        elif kind == "type":
            b.type(a, target)
        elif kind == "selectDropdown":
            b.select(a, target)
        elif kind == "upload":
            b.upload(a, target)
    if include_open and first_url and b.steps:  # nothing recorded: nothing to open either
        opener = {
            "id": b.new_id("browser.open"),
            "type": "browser.open",
            "label": f"Open {_path(first_url)}"[:60],
            "params": {"url": escape(first_url)},
        }
        b.steps.insert(0, opener)
    if include_close and b.steps:
        b.add("browser.close", {}, "Close the browser")
    b.result.nodes = b.steps
    b.result.edges = [
        {"from": x["id"], "to": y["id"]} for x, y in zip(b.steps, b.steps[1:], strict=False)
    ]
    return b.result


def actions_to_graph(
    actions: Sequence[Any], *, credential: str | None = None, start_url: str | None = None
) -> dict[str, Any]:
    """A whole new workflow graph: open the first page, replay the actions, close."""
    return actions_to_nodes(
        actions,
        include_open=True,
        include_close=True,
        credential=credential,
        start_url=start_url,
    ).graph()
