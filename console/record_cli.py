"""``exekra record --url URL [--workflow ID | --new NAME | --out FILE]``: record a task in
Chromium with the Exekra extension and save it as a workflow draft."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import click

from workflows.recording import actions_to_nodes

from .client import HubClient, HubError
from .recorder import (
    BrowserProcess,
    ExtensionError,
    StudioServer,
    describe_action,
    extension_dir,
    find_browser,
)
from .session import SessionStore

CALL_TIMEOUT = 60.0  # seconds the Studio page has to answer startRecording / stopRecording


def describe(action: dict[str, Any]) -> str:
    """One line per live action for the terminal."""
    line, value = describe_action(action)
    return f"  {action.get('seq', '?'):>3} {line}" + (f" {value}" if value else "")


def append_to_graph(
    graph: dict[str, Any], actions: list[dict[str, Any]], credential: str | None, url: str
) -> tuple[dict[str, Any], list[str]]:
    """The workflow's graph with the recorded nodes added at its end (before a final
    ``browser.close``, which stays last), and the notes for the user."""
    graph = json.loads(json.dumps(graph))
    nodes, edges = graph.setdefault("nodes", []), graph.setdefault("edges", [])
    has_open = any(n.get("type") == "browser.open" for n in nodes)
    conv = actions_to_nodes(
        actions,
        taken_ids=[n.get("id", "") for n in nodes],
        include_open=not has_open,
        credential=credential,
        start_url=url,
    )
    if not conv.nodes:
        return graph, conv.notes
    for name, value in conv.variables.items():
        graph.setdefault("variables", {}).setdefault(name, value)
    sources = {e["from"] for e in edges}
    ends = [n["id"] for n in nodes if n["id"] not in sources]
    close = next((i for i in ends if _type(nodes, i) == "browser.close"), None)
    first, last = conv.nodes[0]["id"], conv.nodes[-1]["id"]
    if close is not None:
        into = [e for e in edges if e["to"] == close and not e.get("port")]
        for e in into:
            e["to"] = first
        edges.append({"from": last, "to": close})
    elif len(ends) == 1:
        edges.append({"from": ends[0], "to": first})
    nodes.extend(conv.nodes)
    edges.extend(conv.edges)
    return graph, conv.notes


def _type(nodes: list[dict[str, Any]], node_id: str) -> str:
    return next((str(n.get("type")) for n in nodes if n.get("id") == node_id), "")


class Recording:
    """One recording session: the Studio page, optionally a browser, the live actions."""

    def __init__(self, port: int, quiet: bool = False) -> None:
        self.stop_requested = threading.Event()
        self.server = StudioServer(port, on_action=None if quiet else self._print)
        self.server.on_stop = self.stop_requested.set
        self.browser: BrowserProcess | None = None

    @staticmethod
    def _print(action: dict[str, Any]) -> None:
        click.echo(describe(action))

    def close(self) -> None:
        if self.browser:
            self.browser.close()
        self.server.close()


def _wait_for_stop(rec: Recording) -> None:
    """Until Enter on the terminal, the page's Stop button, or end of input."""

    def read() -> None:
        try:
            sys.stdin.readline()
        except (OSError, ValueError):
            pass
        rec.stop_requested.set()

    threading.Thread(target=read, daemon=True).start()
    rec.stop_requested.wait()


async def _hub_create(hub_url: str, name: str, graph: dict[str, Any], url: str) -> str:
    api = HubClient(hub_url, SessionStore().load(hub_url))
    try:
        wf = await api.create_workflow(name, f"Recorded from {url}", graph)
        return f"saved {name!r} (workflow {wf['id']}) as draft v{wf.get('latest_version') or 1}"
    finally:
        await api.aclose()


async def _hub_append(
    hub_url: str, workflow_id: int, actions: list[dict[str, Any]], credential: str | None, url: str
) -> tuple[str, list[str]]:
    """Appends to the workflow's latest version; the message and the notes of that graph."""
    api = HubClient(hub_url, SessionStore().load(hub_url))
    try:
        versions = await api.versions(workflow_id)
        base: dict[str, Any] = {"format": 1, "variables": {}, "nodes": [], "edges": []}
        if versions:
            latest = max(v["number"] for v in versions)
            base = (await api.version(workflow_id, latest))["graph"]
        graph, notes = append_to_graph(base, actions, credential, url)
        saved = await api.save_version(workflow_id, graph)
        return f"saved workflow {workflow_id} as draft v{saved.get('number')}", notes
    finally:
        await api.aclose()


async def _check_hub(hub_url: str) -> None:
    token = SessionStore().load(hub_url)
    if not token:
        raise click.ClickException(
            f"not signed in to {hub_url}: sign in once with `exekra console --hub {hub_url}` "
            "(or set EXEKRA_TOKEN)"
        )
    api = HubClient(hub_url, token)
    try:
        await api.me()
    finally:
        await api.aclose()


@click.command("record", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", required=True, help="The page to start recording on (http or https).")
@click.option("--workflow", "workflow_id", type=int, help="Add to this workflow (a new draft).")
@click.option("--new", "new_name", help="Save as a new workflow with this name.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also (or only) write the recorded graph to this JSON file.")  # fmt: skip
@click.option("--hub", "hub_url", envvar="EXEKRA_HUB_URL", default="http://127.0.0.1:5000",
              show_default=True, help="The hub's base URL (or EXEKRA_HUB_URL).")  # fmt: skip
@click.option("--credential", help="Vault credential for password fields (default: the host).")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port of the local Studio page (0: any free).")  # fmt: skip
@click.option("--browser", "browser_path", help="Chromium/Chrome to start (or EXEKRA_BROWSER).")
@click.option("--no-browser", is_flag=True,
              help="Start no browser: open the printed page in your own Chrome, which has the "
                   "Exekra extension installed.")  # fmt: skip
def record_command(
    url: str,
    workflow_id: int | None,
    new_name: str | None,
    out: Path | None,
    hub_url: str,
    credential: str | None,
    port: int,
    browser_path: str | None,
    no_browser: bool,
) -> None:
    """Record a task in the browser and save it as browser.* nodes.

    Serves a small page on 127.0.0.1 that talks to the Exekra browser extension, opens Chromium
    with the extension loaded (or, with --no-browser, tells you to open that page in your own
    Chrome), opens URL in a new tab and records what you do there: clicks, typing (once per
    field), dropdowns, Enter/Tab, navigation, popups, uploads. Press Enter here (or "Stop
    recording" on the page) to stop. Passwords are never recorded: the node types
    {{credential}} from the vault credential named by --credential (default: the page's host).

    The result is saved as a draft version: a new workflow (--new NAME) or appended to an
    existing one (--workflow ID); --out FILE writes the graph as JSON. Sign in to the hub once
    with `exekra console` (the session is reused) or set EXEKRA_TOKEN.

    On a remote server, forward the page's port over SSH and open it locally:
    ssh -L 8765:127.0.0.1:8765 user@server, then `exekra record --port 8765 --no-browser ...`.
    """
    if not url.startswith(("http://", "https://")):
        raise click.UsageError("--url must be an http:// or https:// URL")
    if workflow_id is not None and new_name is not None:
        raise click.UsageError("give --workflow or --new, not both")
    if workflow_id is None and new_name is None and out is None:
        raise click.UsageError("say where the recording goes: --new NAME, --workflow ID or --out")
    if new_name is not None and not new_name.strip():
        raise click.UsageError("--new needs a name")
    if out is not None:
        _check_writable(out)
    to_hub = workflow_id is not None or new_name is not None
    if to_hub:
        try:
            asyncio.run(_check_hub(hub_url))
        except HubError as exc:
            raise click.ClickException(f"the hub refused: {exc}") from None
    executable = None if no_browser else find_browser(browser_path)
    if not no_browser and executable is None:
        raise click.ClickException(
            "no Chromium or Chrome found: pass --browser PATH, or --no-browser and open the page "
            "in your own Chrome with the Exekra extension"
        )
    try:
        rec = Recording(port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the Studio page on 127.0.0.1 port {port}: {exc.strerror or exc}"
        ) from None
    try:
        actions = _record(rec, url, executable)
    finally:
        rec.close()
    click.echo(f"recorded {len(actions)} action(s)")
    # one conversion per graph: a new workflow and --out get the whole graph, --workflow the
    # nodes appended to its latest version (their ids, and so the notes, depend on it)
    whole = None
    if new_name is not None or out is not None:
        whole = actions_to_nodes(
            actions, include_open=True, include_close=True, credential=credential, start_url=url
        )
    if out is not None and whole is not None:
        out.write_text(json.dumps(whole.graph(), indent=2), encoding="utf-8")
        click.echo(f"wrote {out}")
    if whole is not None and workflow_id is None:
        _notes(whole.notes)
    if to_hub:
        try:
            if new_name is not None and whole is not None:
                message = asyncio.run(_hub_create(hub_url, new_name, whole.graph(), url))
            else:
                assert workflow_id is not None
                message, notes = asyncio.run(
                    _hub_append(hub_url, workflow_id, actions, credential, url)
                )
                _notes(notes)
        except HubError as exc:
            problems = exc.body.get("problems") if isinstance(exc.body, dict) else None
            detail = "".join(
                f"\n  {p.get('node_id') or '-'}: {p.get('message')}"
                for p in (problems or [])
                if isinstance(p, dict)
            )
            raise click.ClickException(f"the hub refused the workflow: {exc}{detail}") from None
        click.echo(message)


def _check_writable(out: Path) -> None:
    """Fails before the recording (not after it) when --out cannot be written."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise click.BadParameter(f"the folder {str(folder)!r} does not exist", param_hint="--out")
    if not os.access(out if out.exists() else folder, os.W_OK):
        raise click.BadParameter(f"{str(out)!r} is not writable", param_hint="--out")


def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {note}")


def _record(rec: Recording, url: str, executable: str | None) -> list[dict[str, Any]]:
    if executable:
        rec.browser = BrowserProcess(executable, rec.server.url)
        click.echo(f"started {executable} with the extension from {extension_dir()}")
    else:
        click.echo("Open this page in Chrome with the Exekra extension installed:")
        click.echo(f"  {rec.server.url}")
        click.echo(f"(chrome://extensions → Developer mode → Load unpacked → {extension_dir()})")
    sys.stdout.flush()
    while not rec.server.wait_connected(1.0):
        if rec.server.missing.is_set():
            raise click.ClickException(
                "the page opened but the Exekra extension is not installed in that browser"
            )
        if rec.browser and rec.browser.proc.poll() is not None:
            raise click.ClickException("the browser exited before the page connected")
    try:
        rec.server.call("startRecording", {"url": url}, timeout=CALL_TIMEOUT)
    except ExtensionError as exc:
        raise click.ClickException(f"the extension refused to record: {exc}") from None
    click.echo(f"recording {url} — press Enter here (or Stop on the page) to stop")
    sys.stdout.flush()
    _wait_for_stop(rec)
    try:
        result = rec.server.call("stopRecording", timeout=CALL_TIMEOUT)
    except ExtensionError as exc:
        click.echo(f"the extension did not stop cleanly ({exc}): keeping the actions it sent")
        return list(rec.server.actions)
    actions = result.get("actions") if isinstance(result, dict) else None
    return [a for a in (actions or []) if isinstance(a, dict)]
