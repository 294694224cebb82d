"""The graph editor and the browser: `R` records after the selected node, `t` picks a target.

:class:`BrowserEditing` is the editor screen's browser half (its keys are bound by the
screen); :class:`RecordingModal` shows the actions live while recording.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from workflows import catalog
from workflows.recording import actions_to_nodes, clean_target

from ..modals import Field, FormModal
from ..recorder import BrowserSession, ExtensionError, StudioServer, describe_action
from ..screens.base import HubScreen
from .model import EditorModel


def target_param(activity: Any) -> str | None:
    """The name of an activity's element param: its first of type ``target`` (the browser
    catalog's), else one named ``target``."""
    params = list(getattr(activity, "params", ()))
    for p in params:
        if p.type == "target":
            return str(p.name)
    for p in params:
        if p.name == "target":
            return str(p.name)
    return None


def action_line(action: dict[str, Any]) -> Text:
    """One recorded action as plain text (selectors are full of brackets: never markup)."""
    head, value = describe_action(action, width=50)
    line = Text(head)
    if value:
        line.append(f"  {value}", style="dim")
    return line


class RecordingModal(ModalScreen[bool]):
    """Shows the actions as they are recorded; Enter (or Escape) stops."""

    DEFAULT_CSS = """
    RecordingModal { align: center middle; }
    #recording { width: 90; height: 22; border: thick $warning; background: $surface;
                 padding: 1 2; }
    #recording-log { height: 1fr; }
    """
    BINDINGS = [
        Binding("enter", "stop", "Stop recording"),
        Binding("escape", "stop", "Stop recording", show=False),
    ]

    def __init__(self, server: StudioServer, url: str, start: int = 0) -> None:
        super().__init__()
        self.server = server
        self.url = url
        self.start = start  # actions before this index belong to an earlier recording
        self.shown = -1

    def compose(self) -> ComposeResult:
        with Vertical(id="recording"):
            yield Label(f"[b]● Recording[/] {escape(self.url)}", id="recording-title")
            yield Static("", id="recording-log")
            yield Label("Work in the browser tab. [b]enter[/] stops and adds the nodes.")

    def on_mount(self) -> None:
        self.refresh_log()
        self.set_interval(0.3, self.refresh_log)

    def refresh_log(self) -> None:
        actions = list(self.server.actions)[self.start :]
        if len(actions) == self.shown:
            return
        self.shown = len(actions)
        text = Text(f"{len(actions)} action(s)\n")
        text.append(Text("\n").join(action_line(a) for a in actions[-15:]) or "no actions yet")
        self.query_one("#recording-log", Static).update(text)

    def action_stop(self) -> None:
        self.dismiss(True)


class BrowserEditing(HubScreen):
    """Recording and picking for the editor screen, through one :class:`BrowserSession`."""

    #: starts the browser on the Studio page (None: Chromium with the extension, if found)
    browser_launcher: Callable[[str], Any] | None = None
    model: EditorModel
    selected: str | None
    browser: BrowserSession | None = None

    def _changed(self) -> None:  # the screen redraws
        raise NotImplementedError

    async def _browser(self) -> BrowserSession | None:
        """The editor's browser session, connected to the extension (None: gave up)."""
        if self.browser is None:
            self.browser = BrowserSession(type(self).browser_launcher)
        server, launched = await asyncio.to_thread(self.browser.start)
        if not server.connected.is_set():
            where = "in the browser that opened" if launched else f"open {server.url} in Chrome"
            self.notify(f"waiting for the Exekra extension: {where}", timeout=10)
            for _ in range(240):
                if await asyncio.to_thread(server.wait_connected, 0.5) or server.missing.is_set():
                    break
            if not server.connected.is_set():
                self.notify("the Exekra extension did not answer", severity="error")
                return None
        return self.browser

    def _start_url(self) -> str:
        for n in self.model.nodes:
            url = (n.get("params") or {}).get("url")
            if n["type"] in ("browser.open", "browser.navigate") and isinstance(url, str):
                return url
        return "https://"

    async def _ask_url(self, title: str) -> str | None:
        answer = await self.app.push_screen_wait(
            FormModal(title, [Field("url", "URL", required=True, value=self._start_url())])
        )
        url = (answer or {}).get("url") or ""
        if url and not url.startswith(("http://", "https://")):
            self.notify("the URL must start with http:// or https://", severity="error")
            return None
        return url or None

    @work(exclusive=True, group="dialog")
    async def action_record(self) -> None:
        url = await self._ask_url("Record in the browser, starting at")
        browser = await self._browser() if url else None
        if browser is None or browser.server is None or url is None:
            return
        start = len(browser.server.actions)
        try:
            await asyncio.to_thread(browser.call, "startRecording", {"url": url}, 60)
            await self.app.push_screen_wait(RecordingModal(browser.server, url, start))
            result = await asyncio.to_thread(browser.call, "stopRecording", None, 60)
        except ExtensionError as exc:
            self.notify(f"recording failed: {exc}", severity="error", markup=False)
            return
        actions = result.get("actions") if isinstance(result, dict) else None
        conv = actions_to_nodes(
            [a for a in actions or [] if isinstance(a, dict)],
            taken_ids=self.model.ids(),
            include_open=not any(n["type"] == "browser.open" for n in self.model.nodes),
            start_url=url,
        )
        if not conv.nodes:
            self.notify("nothing was recorded", severity="warning")
            return
        self.selected = self.model.insert_chain(
            self.selected, conv.nodes, conv.edges, conv.variables
        )
        self._changed()
        self.notify(f"added {len(conv.nodes)} recorded node(s)")
        for note in conv.notes:
            self.notify(note, severity="warning", timeout=15, markup=False)

    @work(exclusive=True, group="dialog")
    async def action_pick(self) -> None:
        if not self.selected:
            return
        node = self.model.node(self.selected)
        act = catalog.CATALOG.get(node["type"])
        name = target_param(act) if act is not None else None
        if name is None:
            self.notify(f"{node['type']} has no target param to pick", severity="warning")
            return
        browser = await self._browser()
        if browser is None:
            return
        try:
            if not browser.has_tab:
                url = await self._ask_url("Pick an element on the page at")
                if url is None:
                    return
                await asyncio.to_thread(browser.call, "openTab", {"url": url}, 60)
            self.notify("click the element in the browser (Escape there cancels)")
            picked = await asyncio.to_thread(browser.call, "selectElement", {}, 600)
        except ExtensionError as exc:
            self.notify(f"no element picked: {exc}", severity="error", markup=False)
            return
        target = clean_target(picked)  # from a web page: bounded and well-formed, as recorded
        if target is None:
            self.notify("no element picked: the browser sent no usable target", severity="error")
            return
        params = dict(node.get("params") or {})
        params[name] = target
        self.model.set_params(
            self.selected,
            params,
            node.get("label"),
            timeout=node.get("timeout"),
            retry=node.get("retry"),
        )
        self._changed()
        shown = target.get("selector") if isinstance(target, dict) else target
        self.notify(f"{name} = {shown}", markup=False)

    def on_unmount(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None
