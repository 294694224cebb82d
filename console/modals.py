"""Reusable dialogs: forms, confirmation, pick-one lists, read-only text and help."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.fuzzy import Matcher
from textual.screen import ModalScreen, Screen
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import (
    Button,
    Input,
    Label,
    Markdown,
    OptionList,
    Select,
    Static,
    Switch,
    TextArea,
)
from textual.widgets.option_list import Option

from .client import HubError, HubUnreachable, NotAuthenticated, RateLimited

CSS_PATH = "modals.tcss"
#: hub failures a form does not show: the app signs in again, reconnects or asks to wait
SESSION_ERRORS = (NotAuthenticated, HubUnreachable, RateLimited)

# what an Input accepts as typed, per field kind (textual's InputType; it is not exported)
INPUT_TYPES: dict[str, Literal["integer", "number", "text"]] = {
    "int": "integer",
    "number": "number",
}


@dataclass
class Field:
    """One form field. ``kind``: text, password, int, number, json, select, switch, textarea,
    value (one line: a JSON value, or else the text as it is typed)."""

    name: str
    label: str
    kind: str = "text"
    value: Any = None
    choices: Sequence[tuple[str, Any]] = ()
    required: bool = False
    placeholder: str = ""
    help: str = ""
    suggester: Suggester | None = None


def open_variable(text: str) -> str | None:
    """The partial ``{variable}`` name after the last unclosed ``{`` in ``text`` (None when
    there is none)."""
    start = text.rfind("{")
    if start < 0 or "}" in text[start:] or text[start + 1 : start + 2] == "{":
        return None
    return text[start + 1 :]


class SuggestingTextArea(TextArea):
    """A multi-line field that suggests ``{variable}`` names like the one-line fields do: after
    an unclosed ``{`` the matching names show under the field, and ``tab`` inserts the first
    (``tab`` moves on to the next field when there is nothing to insert)."""

    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    def __init__(self, text: str, *, names: Sequence[str], hint: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.names = list(names)
        self.hint_id = hint

    def pending(self) -> tuple[str, list[str]]:
        """The partial name after an unclosed ``{`` before the cursor, and its matches."""
        row, col = self.selection.end
        partial = open_variable(self.document.get_line(row)[:col])
        if partial is None or not all(c.isalnum() or c in "_." for c in partial):
            return "", []
        return partial, [n for n in self.names if n.startswith(partial) and n != partial]

    def _watch_selection(self, previous: Any, selection: Any) -> None:
        super()._watch_selection(previous, selection)
        self._show_hint()

    def _show_hint(self) -> None:
        try:
            hint = self.screen.query_one(f"#{self.hint_id}", Static)
        except Exception:  # noqa: BLE001 - not composed yet
            return
        partial, matches = self.pending()
        hint.display = bool(matches)
        if matches:
            shown = "  ".join("{" + n + "}" for n in matches[:6])
            hint.update(f"{shown}   (tab inserts {{{matches[0]}}})")

    def action_complete(self) -> None:
        partial, matches = self.pending()
        if matches:
            self.insert(matches[0][len(partial) :] + "}")
        else:
            self.screen.focus_next()


class FieldError(Exception):
    """Raised by a form's ``submit`` for a problem it found itself (not the hub): shown beside
    ``field`` (or above the form), and the form stays open."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FormModal(ModalScreen[Any]):
    """A generated form; dismisses with the values (typed) or ``None`` when cancelled.

    With ``submit`` (an async function of the values), saving calls it while the form stays
    open: a hub error (or :class:`FieldError`) is shown beside the field it names — or above
    the form — and everything typed is kept; on success the form dismisses with what
    ``submit`` returned.

    With ``preview`` (an async function of the raw values, returning Rich markup), a line under
    the fields shows its answer, asked again ``PREVIEW_DELAY`` seconds after the typing stops
    (it may ask the hub, which allows 100 requests a minute).
    """

    PREVIEW_DELAY = 0.4

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Save", priority=True),
    ]

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        *,
        preview: Callable[[dict[str, Any]], Awaitable[str]] | None = None,
        submit_label: str = "Save",
        submit: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.form_title = title
        self.fields = list(fields)
        self.preview = preview
        self.submit_label = submit_label
        self.submit = submit
        self._preview_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.form_title, id="dialog-title")
            yield Static("", id="form-error", classes="field-error", markup=False)
            with VerticalScroll(id="form-body"):
                for f in self.fields:
                    mark = " [b red]*[/]" if f.required else ""
                    yield Label(f"{f.label}{mark}", classes="field-label")
                    yield self._widget(f)
                    if f.kind == "textarea" and getattr(f.suggester, "names", None):
                        yield Static("", id=f"sugg-{f.name}", classes="field-suggest", markup=False)
                    yield Static("", id=f"err-{f.name}", classes="field-error", markup=False)
                    if f.help:
                        yield Static(f.help, classes="field-help", markup=False)
            if self.preview is not None:
                yield Static("", id="preview")
            with Horizontal(id="buttons"):
                yield Button(
                    f"{self.submit_label} ^s", variant="primary", id="submit", compact=True
                )
                yield Button("Cancel esc", id="cancel", compact=True)

    def _widget(self, f: Field) -> Select[Any] | Switch | TextArea | Input:
        wid = f"f-{f.name}"
        if f.kind == "select":
            value = f.value if f.value is not None else Select.NULL
            return Select(
                list(f.choices), value=value, id=wid, allow_blank=not f.required, compact=True
            )
        if f.kind == "switch":
            return Switch(value=bool(f.value), id=wid)
        if f.kind in ("textarea", "json"):
            text = f.value
            if f.kind == "json" and f.value is not None and not isinstance(f.value, str):
                text = json.dumps(f.value, indent=2)
            names = getattr(f.suggester, "names", None)
            if f.kind == "textarea" and names:
                return SuggestingTextArea(
                    str(text or ""),
                    names=names,
                    hint=f"sugg-{f.name}",
                    id=wid,
                    classes="field-area",
                    show_line_numbers=False,
                    compact=True,
                )
            return TextArea(
                str(text or ""), id=wid, classes="field-area", show_line_numbers=False, compact=True
            )
        value = "" if f.value is None else str(f.value)
        return Input(
            value,
            placeholder=f.placeholder,
            password=f.kind == "password",
            type=INPUT_TYPES.get(f.kind, "text"),
            id=wid,
            suggester=f.suggester,
            compact=True,
        )

    def on_mount(self) -> None:
        for hidden in self.query(".field-error, .field-suggest"):
            hidden.display = False
        if self.fields:
            self.query_one(f"#f-{self.fields[0].name}").focus()
        if self.preview is not None:
            self._show_preview(self.raw_values())

    # -- errors beside their fields ---------------------------------------------------------
    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            error.display = False

    def show_error(self, message: str, field: str | None = None) -> None:
        """Show ``message`` beside ``field`` (focusing it), or above the form."""
        target = f"#err-{field}" if field and any(f.name == field for f in self.fields) else None
        widget = self.query_one(target or "#form-error", Static)
        widget.update(message)
        widget.display = True
        if target:
            self.query_one(f"#f-{field}").focus()

    def show_hub_error(self, exc: Exception) -> None:
        """A hub answer's ``problems`` go beside the fields they name; the description beside
        the field it mentions (``cron``, ``email``, ...), else above the form."""
        body = getattr(exc, "body", None) or {}
        placed = False
        for problem in body.get("problems") or []:
            if not isinstance(problem, dict):
                continue
            name = next(
                (str(problem[k]) for k in ("field", "param", "name") if problem.get(k)), None
            )
            message = str(problem.get("message") or problem.get("code") or "")
            if name and message and any(f.name == name for f in self.fields):
                self.show_error(message, name)
                placed = True
        if placed:
            return
        message = str(getattr(exc, "description", "") or exc)
        code = str(getattr(exc, "code", "") or body.get("code") or "")
        named = code.removeprefix("invalid_") if code.startswith("invalid_") else ""
        if not any(f.name == named for f in self.fields):  # invalid_cron → the cron field
            named = self._field_named_in(message) or ""
        self.show_error(message, named or None)

    def _field_named_in(self, message: str) -> str | None:
        text = message.lower()
        for f in self.fields:
            words = {f.name.lower(), f.name.replace("_", " ").lower(), f.label.lower()}
            if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words if w):
                return f.name
        return None

    @on(Input.Changed)
    @on(Select.Changed)
    @on(TextArea.Changed)
    def _update_preview(self) -> None:
        if self.preview is None:
            return
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(
            self.PREVIEW_DELAY, lambda: self._show_preview(self.raw_values())
        )

    @work(exclusive=True, group="preview")
    async def _show_preview(self, values: dict[str, Any]) -> None:
        assert self.preview is not None
        try:
            text = await self.preview(values)
        except Exception as exc:  # noqa: BLE001 - a preview never breaks the form
            text = f"[red]{escape(str(exc))}[/]"
        if self.is_attached:  # the form may have closed while the hub answered
            self.query_one("#preview", Static).update(text)

    def raw_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            widget = self.query_one(f"#f-{f.name}")
            if isinstance(widget, Select):
                out[f.name] = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, Switch):
                out[f.name] = widget.value
            elif isinstance(widget, TextArea):
                out[f.name] = widget.text
            elif isinstance(widget, Input):  # the four kinds of widget _widget makes
                out[f.name] = widget.value
        return out

    def values(self) -> dict[str, Any] | None:
        """Typed values, or ``None`` after telling the user what is wrong."""
        raw = self.raw_values()
        out: dict[str, Any] = {}
        for f in self.fields:
            value = raw[f.name]
            empty = value is None or (isinstance(value, str) and not value.strip())
            if f.required and empty:
                self.show_error(f"{f.label} is required", f.name)
                return None
            try:
                if empty and f.kind in ("int", "number", "json", "value"):
                    value = None
                elif f.kind == "value":
                    try:
                        value = json.loads(value)
                    except ValueError:
                        value = value.strip()
                elif f.kind == "int":
                    value = int(value)
                elif f.kind == "number":
                    value = float(value)
                elif f.kind == "json":
                    value = json.loads(value)
            except ValueError as exc:
                self.show_error(f"{f.label}: {exc}", f.name)
                return None
            out[f.name] = value
        return out

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        self.clear_errors()
        values = self.values()
        if values is None:
            return
        if self.submit is None:
            self.dismiss(values)
        else:
            self._send(values)

    @work(exclusive=True, group="form")
    async def _send(self, values: dict[str, Any]) -> None:
        assert self.submit is not None
        button = self.query_one("#submit", Button)
        button.disabled = True
        try:
            result = await self.submit(values)
        except FieldError as exc:
            self.show_error(str(exc), exc.field)
            return
        except SESSION_ERRORS as exc:  # the app's to handle (sign in again, reconnect, wait)
            hub_failed = getattr(self.app, "hub_failed", None)
            if hub_failed is None:
                self.show_hub_error(exc)
            else:
                hub_failed(exc)
            return
        except HubError as exc:
            self.show_hub_error(exc)
            return
        finally:
            button.disabled = False
        self.dismiss(result if result is not None else values)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="small"):
            yield Static(self.question, id="question")
            with Horizontal(id="buttons"):
                yield Button("Yes (y)", variant="error", id="yes", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class PickModal(ModalScreen[Any]):
    """Pick one of ``options`` (label, value) with fuzzy filtering; ``None`` when cancelled."""

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(
        self, title: str, options: Sequence[tuple[str, Any]], *, filterable: bool = True
    ) -> None:
        super().__init__()
        self.pick_title = title
        self.options = list(options)
        self.filterable = filterable
        self.shown: list[tuple[str, Any]] = list(self.options)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.pick_title, id="dialog-title")
            if self.filterable:
                yield Input(placeholder="type to filter", id="filter")
            yield OptionList(*[Option(label) for label, _ in self.options], id="choices")

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        if self.options:
            choices.highlighted = 0
        if not self.filterable:
            choices.focus()

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if text:
            matcher = Matcher(text)
            scored = [(matcher.match(label), label, v) for label, v in self.options]
            self.shown = [(label, v) for s, label, v in sorted(scored, key=lambda t: -t[0]) if s]
        else:
            self.shown = list(self.options)
        choices = self.query_one("#choices", OptionList)
        choices.clear_options()
        choices.add_options([Option(label) for label, _ in self.shown])
        if self.shown:
            choices.highlighted = 0

    def action_move(self, delta: int) -> None:
        choices = self.query_one("#choices", OptionList)
        if self.shown:
            current = choices.highlighted if choices.highlighted is not None else -1
            choices.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    @on(Input.Submitted, "#filter")
    def _submit(self) -> None:
        choices = self.query_one("#choices", OptionList)
        if choices.highlighted is not None and self.shown:
            self.dismiss(self.shown[choices.highlighted][1])

    @on(OptionList.OptionSelected, "#choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index][1])

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextModal(ModalScreen[None]):
    """Read-only text (a diff, an exported document, a secret shown once) with copy."""

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("c", "copy", "Copy"),
        Binding("s", "save", "Save", show=False),
    ]

    def __init__(
        self,
        title: str,
        text: str,
        *,
        note: str = "",
        language: str | None = None,
        wrap: bool = False,
        save_as: str | None = None,
    ):
        super().__init__()
        self.text_title = title
        self.text = text
        self.note = note
        self.language = language
        #: long lines (a command with a secret at its end) wrap instead of running off screen
        self.wrap = wrap
        #: ``s`` saves the text to this file in the current folder (mode 0600)
        self.save_as = save_as

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="wide"):
            yield Label(self.text_title, id="dialog-title")
            if self.note:
                yield Static(self.note, id="note")
            yield TextArea(
                self.text, read_only=True, id="text", language=self.language, soft_wrap=self.wrap
            )
            keys = "c copy · s save to a file · esc close" if self.save_as else "c copy · esc close"
            yield Static(f"[dim]{keys}[/]", id="hint")

    def on_mount(self) -> None:
        self.query_one("#text", TextArea).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify(
            "copied through the terminal (OSC 52); inside tmux this needs "
            "`set -g set-clipboard on` in ~/.tmux.conf"
            + (" — or press s to save it to a file" if self.save_as else "")
        )

    def action_save(self) -> None:
        if not self.save_as:
            return
        path = Path.cwd() / self.save_as
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.text)
            os.chmod(path, 0o600)
        except OSError as exc:
            self.notify(f"cannot save {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved to {path} (only you can read it)")

    def action_close(self) -> None:
        self.dismiss(None)


class HelpModal(ModalScreen[None]):
    """``?``: what this screen is for and every key it answers to."""

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> ComposeResult:
        doc = getattr(self.target, "HELP", "") or "No help for this screen."
        rows = ["| key | action |", "|---|---|"]
        seen: set[str] = set()
        inherited = [b for cls in type(self.target).__mro__ for b in getattr(cls, "BINDINGS", [])]
        for binding in inherited + list(self.app.BINDINGS):
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.key in seen:
                continue
            if not self.target.check_action(binding.action.split("(")[0], ()):
                continue
            seen.add(binding.key)
            key = binding.key_display or binding.key
            rows.append(f"| `{key}` | {binding.description} |")
        rows.append("| `ctrl+p` | command palette (go to any screen) |")
        with Vertical(id="dialog", classes="wide"):
            yield Markdown(doc + "\n\n" + "\n".join(rows), id="help")

    def action_close(self) -> None:
        self.dismiss(None)
