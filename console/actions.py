"""The flows more than one page starts: open a run, open the graph editor, run a workflow now,
activate a license file.

They live here, not in the page that happened to have them first, so pages import them without
importing each other (``tests/console/test_imports.py`` keeps the console's imports acyclic).
Each takes the page it was started from: its hub client, its notifications, its app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .client import HubClient, HubError
from .modals import Field, FormModal, PickModal
from .screens.base import HubScreen
from .screens.editor import EditorScreen
from .screens.execution_detail import ExecutionDetailScreen


def open_execution(screen: HubScreen, execution_id: Any) -> None:
    """Open one execution (status, live log, stop, run again) over ``screen``."""
    screen.console.open(ExecutionDetailScreen(int(execution_id)))


async def open_editor(screen: HubScreen, wf: dict[str, Any], number: int | None = None) -> None:
    """Open ``wf`` (its latest version, or ``number``) in the graph editor."""
    number = number or wf.get("latest_version")
    graph = None
    if number:
        graph = (await screen.api.version(wf["id"], number))["graph"]
    screen.console.open(EditorScreen(wf, graph, number))


class UnreadableFile(Exception):
    """A file the user named cannot be read; the message says which one and why."""


async def activate_license_file(api: HubClient, value: str) -> dict[str, Any]:
    """Activate (or renew) the hub's license from the ``.lic`` file at ``value`` (``~`` is
    expanded); the hub's answer is its new license state. The first-run setup and the License
    page both start it."""
    path = Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UnreadableFile(f"cannot read {path}: {reason}") from None
    return await api.activate_license(text)


# -- run now: the inputs the published version declares ------------------------------------
#: the form field kind for each declared input type
_INPUT_KINDS = {"string": "text", "integer": "int", "number": "number", "list": "json",
                "object": "json", "any": "value"}  # fmt: skip


def describe_input(decl: dict[str, Any]) -> str:
    """``order* integer``, ``region string = "EU"``, ``customer (legacy)``: one input."""
    text = decl["name"] + ("*" if decl.get("required") else "")
    if decl.get("legacy"):
        return text + " (legacy)"
    text += f" {decl.get('type', 'any')}"
    if "default" in decl:
        text += " = " + json.dumps(decl["default"], ensure_ascii=False)[:40]
    return text


def input_fields(declared: list[dict[str, Any]]) -> list[Field]:
    """One form field per input the published version accepts, typed by its declaration."""
    fields = []
    for decl in declared:
        kind = decl.get("type", "any")
        help_ = decl.get("description") or ""
        if decl.get("legacy"):
            help_ = "accepted because earlier runs passed it (not declared); any value"
        elif kind == "any":
            help_ = (help_ + " — " if help_ else "") + "JSON, or text as typed"
        default = decl.get("default")
        if kind == "boolean":
            fields.append(
                Field(
                    f"in-{decl['name']}",
                    decl["name"],
                    kind="select",
                    value=default,
                    choices=[("true", True), ("false", False)],
                    required=bool(decl.get("required")),
                    help=help_,
                )  # fmt: skip
            )
            continue
        field_kind = _INPUT_KINDS.get(kind, "value")
        if field_kind == "value" and default is not None:
            default = json.dumps(default, ensure_ascii=False)
        fields.append(
            Field(
                f"in-{decl['name']}",
                f"{decl['name']} ({kind})",
                kind=field_kind,
                value=default,
                required=bool(decl.get("required")),
                help=help_,
            )  # fmt: skip
        )
    return fields


def collect_inputs(declared: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """The inputs to send: every field given a value (an empty one is left to the default)."""
    out: dict[str, Any] = {}
    for decl in declared:
        value = values.get(f"in-{decl['name']}")
        if value is None or (value == "" and not decl.get("required")):
            continue
        if decl.get("type") == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        out[decl["name"]] = value
    return out


async def run_now(screen: HubScreen, wf: dict[str, Any]) -> None:
    """Ask for inputs and an optional runner, start the published version, open the run."""
    if not wf.get("published_version"):
        screen.notify(f"{wf['name']} has no published version yet", severity="warning")
        return
    try:
        runners = (await screen.api.runners())["items"]
    except HubError as exc:
        screen.console.hub_failed(exc)
        return
    choices: list[tuple[str, Any]] = [("any runner (queue)", "any")] + [
        (f"{r['name']} ({r['status'].lower()})", r["id"]) for r in runners
    ]
    runner = await screen.app.push_screen_wait(
        PickModal(f"Run {wf['name']} v{wf['published_version']} on…", choices)
    )
    if runner is None:
        return
    runner = None if runner == "any" else runner
    try:
        version = await screen.api.version(wf["id"], wf["published_version"])
    except HubError as exc:
        screen.console.hub_failed(exc)
        return
    declared = version.get("inputs") or []
    inputs: dict[str, Any] = {}
    if declared:
        values = await screen.app.push_screen_wait(
            FormModal(f"Run {wf['name']}: inputs", input_fields(declared), submit_label="Run")
        )
        if values is None:
            return
        inputs = collect_inputs(declared, values)
    else:
        screen.notify(f"{wf['name']} takes no inputs")
    try:
        execution = await screen.api.run(wf["id"], inputs=inputs or None, runner_id=runner)
    except HubError as exc:
        screen.console.hub_failed(exc)
        return
    screen.notify(f"execution {execution['id']} {execution['status']}")
    open_execution(screen, execution["id"])
