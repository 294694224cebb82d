"""The editor's dialogs: the activity toolbox and the param form built from the catalog."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from workflows import catalog
from workflows.catalog import Activity, Param

from ..modals import Field, open_variable


def rank(query: str, activities: list[catalog.Activity]) -> list[catalog.Activity]:
    """Activities matching ``query``, best first: the type typed from its start (``logw`` →
    ``log.write``, dots optional), then the action's start (``wri`` → ``*.write``), then by fuzzy
    score over type and title — never by category order."""
    q = "".join(query.lower().split())
    if not q:
        return list(activities)
    matcher = Matcher(query)
    scored: list[tuple[int, float, str, catalog.Activity]] = []
    for act in activities:
        kind = act.type.lower()
        fuzzy = matcher.match(f"{act.type} {act.title}")
        if kind.startswith(q) or kind.replace(".", "").startswith(q.replace(".", "")):
            tier = 0
        elif kind.split(".", 1)[-1].startswith(q):
            tier = 1
        elif fuzzy > 0:
            tier = 2
        else:
            continue
        scored.append((tier, -fuzzy, act.type, act))
    return [act for *_, act in sorted(scored, key=lambda t: t[:3])]


class Toolbox(ModalScreen[str | None]):
    """The activity catalog grouped by category; type to fuzzy-search, enter to add."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(8)", show=False),
        Binding("pageup", "move(-8)", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.types: list[str | None] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="toolbox"):
            yield Label("Add an activity", id="toolbox-title")
            yield Input(placeholder="search (fuzzy): e.g. wrf → file.write", id="search")
            yield OptionList(id="activities")
            yield Static("", id="activity-help")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, text: str) -> None:
        options: list[Option] = []
        self.types = []
        if text:  # one list, best match first (enter takes the first)
            everything = [a for acts in catalog.by_category().values() for a in acts]
            for a in rank(text, everything):
                options.append(Option(f"  {a.type:<22} [dim]{a.title}[/]"))
                self.types.append(a.type)
        else:  # browsing: by category
            for cat, acts in catalog.by_category().items():
                title = catalog.CATEGORY_TITLES.get(cat, cat.title())
                options.append(Option(f"[b]{title}[/]", disabled=True))
                self.types.append(None)
                for a in acts:
                    options.append(Option(f"  {a.type:<22} [dim]{a.title}[/]"))
                    self.types.append(a.type)
        box = self.query_one("#activities", OptionList)
        box.clear_options()
        box.add_options(options)
        first = next((i for i, t in enumerate(self.types) if t), None)
        box.highlighted = first
        self._describe()

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    @on(OptionList.OptionHighlighted, "#activities")
    def _describe(self) -> None:
        box = self.query_one("#activities", OptionList)
        index = box.highlighted
        kind = self.types[index] if index is not None and index < len(self.types) else None
        text = catalog.get(kind).description if kind else ""
        self.query_one("#activity-help", Static).update(text)

    def action_move(self, delta: int) -> None:
        box = self.query_one("#activities", OptionList)
        real = [i for i, t in enumerate(self.types) if t]
        if not real:
            return
        current = box.highlighted if box.highlighted in real else real[0]
        pos = real.index(current)
        box.highlighted = real[max(0, min(len(real) - 1, pos + delta))]

    @on(Input.Submitted, "#search")
    def _enter(self) -> None:
        box = self.query_one("#activities", OptionList)
        if box.highlighted is not None and self.types[box.highlighted]:
            self.dismiss(self.types[box.highlighted])

    @on(OptionList.OptionSelected, "#activities")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        kind = self.types[event.option_index]
        if kind:
            self.dismiss(kind)

    def action_cancel(self) -> None:
        self.dismiss(None)


class VariableSuggester(Suggester):
    """After an unclosed ``{``, suggest the variable names the workflow knows."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names = names

    async def get_suggestion(self, value: str) -> str | None:
        partial = open_variable(value)
        if partial is None:
            return None
        for name in self.names:
            if name.startswith(partial) and name != partial:
                return value + name[len(partial) :] + "}"
        return None


KIND = {
    "string": "text",
    "variable": "text",
    "condition": "text",
    "text": "textarea",
    "code": "textarea",
    "integer": "int",
    "number": "number",
    "boolean": "switch",
    "choice": "select",
    "list": "json",
    "object": "json",
    "any": "text",
    # a selector string, or the extension's target object (shown and edited as JSON)
    "target": "text",
}


def param_fields(act: Activity, node: dict[str, Any], variables: list[str]) -> list[Field]:
    """Form fields for a node: its label, then one per param of the activity's spec."""
    params = node.get("params") or {}
    fields: list[Field] = []
    suggester = VariableSuggester(variables)
    for p in act.params:
        kind = "password" if p.secret else KIND.get(p.type, "text")
        value = params.get(p.name, p.default if kind == "switch" else None)
        if p.type in ("any", "target") and value is not None and not isinstance(value, str):
            value = json.dumps(value)
        help_parts = [p.description] if p.description else []
        if p.default is not None and kind != "switch":
            help_parts.append(f"default: {json.dumps(p.default)}")
        if p.type == "string" and variables:
            help_parts.append("{name} inserts a variable (→ accepts a suggestion)")
        elif p.type == "text" and variables:
            help_parts.append("{name} inserts a variable (tab accepts a suggestion)")
        fields.append(
            Field(
                p.name,
                f"{p.name} ({p.type})",
                kind=kind,
                value=value,
                choices=[(c, c) for c in p.choices],
                required=p.required,
                placeholder="" if p.default is None else str(p.default),
                help=" · ".join(help_parts),
                suggester=suggester if p.type in ("string", "text") else None,
            )
        )
    retry = node.get("retry") or {}
    fields += [
        Field("__label", "Label (shown on the canvas)", value=node.get("label") or ""),
        Field("__timeout", "Timeout in seconds (node)", kind="number", value=node.get("timeout")),
        Field("__retry_attempts", "Retry attempts", kind="int", value=retry.get("attempts")),
        Field("__retry_delay", "Retry delay in seconds", kind="number", value=retry.get("delay")),
    ]
    return fields


def node_extras(values: dict[str, Any]) -> dict[str, Any]:
    """Label, timeout and retry from the form (``None`` = not set)."""
    attempts = values.get("__retry_attempts")
    retry = None
    if attempts:
        retry = {"attempts": int(attempts), "delay": float(values.get("__retry_delay") or 0)}
    return {
        "label": values.get("__label") or None,
        "timeout": values.get("__timeout"),
        "retry": retry,
    }


def params_from_form(act: Activity, values: dict[str, Any]) -> dict[str, Any]:
    """The node's params from the form: empty optional values are left out."""
    out: dict[str, Any] = {}
    spec: dict[str, Param] = {p.name: p for p in act.params}
    for name, value in values.items():
        if name.startswith("__"):
            continue
        p = spec[name]
        if value is None or (isinstance(value, str) and value == "" and not p.required):
            continue
        if p.type == "any" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if p.type == "target" and isinstance(value, str) and value.lstrip().startswith("{"):
            try:  # the recorded object; a plain selector string stays a string
                value = json.loads(value)
            except ValueError:
                pass
        if p.type == "boolean" and value == p.default:
            continue
        out[name] = value
    return out
