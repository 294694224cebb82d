"""The editor's browser dialogs: waiting for the extension, and the live recording panel."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..recorder import StudioServer


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
    target = action.get("target") if isinstance(action.get("target"), dict) else {}
    selector = str((target or {}).get("selector") or "")[:50]
    line = Text(f"{str(action.get('type'))[:14]:<14} {selector}")
    value = action.get("value")
    if isinstance(value, str) and value:
        line.append(f"  {value[:30]!r}", style="dim")
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
