"""``exekra runner ...``: connect, start, execute (a local run), install-service."""

from __future__ import annotations

import json
import logging
import logging.handlers
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from workflows.statuses import ExecutionStatus

from .client import AuthRejected, HubClient, HubUnavailable
from .lock import DataFolderBusy, DataFolderLock
from .secrets_store import SecretStore, SecretStoreError
from .settings import RunnerConfigError, RunnerSettings, load_runner_settings

CTX = {"help_option_names": ["-h", "--help"]}


def _settings(data_dir: str | None, **overrides: Any) -> RunnerSettings:
    try:
        return load_runner_settings(data_dir, **overrides)
    except RunnerConfigError as exc:
        raise click.UsageError(str(exc)) from None


@click.group("runner", context_settings=CTX)
def runner_group() -> None:
    """Connect this machine to a hub and run workflows for it."""


@runner_group.command("connect")
@click.option("--hub", "hub_url", required=True, help="Hub URL, e.g. https://hub:4545")
@click.option("--key", "machine_key", required=True, help="Machine Key (FC-...) from the hub.")
@click.option(
    "--secret",
    "machine_secret",
    prompt=True,
    hide_input=True,
    help="Machine Secret shown once at registration (prompted when omitted).",
)
@click.option("--data-dir", envvar="EXEKRA_RUNNER_DATA_DIR", help="Runner data folder.")
def connect_cmd(hub_url: str, machine_key: str, machine_secret: str, data_dir: str | None) -> None:
    """Check the key and secret with the hub, then store them securely.

    The secret goes into the OS keyring (Windows Credential Manager on Windows) or, where no
    keyring exists, into a file encrypted with a key only this user can read. Refused while a
    runner agent is running on the same data folder (stop it first).
    """
    if not machine_key.startswith("FC-"):
        raise click.UsageError("the Machine Key starts with FC- (copy it from the hub)")
    parts = urlsplit(hub_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.UsageError(
            f"--hub {hub_url!r} is not a hub URL: give the protocol and host, for example "
            "http://127.0.0.1:5000 or https://hub.example:4545"
        )
    settings = _settings(data_dir, hub_url=hub_url.rstrip("/"), machine_key=machine_key)
    # a running agent uses these credentials: rewriting them under it would strand its work
    lock = DataFolderLock(settings.data_path, "`exekra runner connect`")
    try:
        lock.acquire()
    except DataFolderBusy as exc:
        raise click.ClickException(
            f"{exc} `connect` does not change the credentials of a running agent."
        ) from None
    try:
        _connect(settings, machine_key, machine_secret, named_folder=bool(data_dir))
    finally:
        lock.release()


def _connect(
    settings: RunnerSettings, machine_key: str, machine_secret: str, *, named_folder: bool
) -> None:
    client = HubClient(settings.hub_url, timeout=15)
    try:
        body = client.authenticate(machine_key, machine_secret)
    except AuthRejected as exc:
        raise click.ClickException(f"the hub refused this key and secret: {exc}") from None
    except HubUnavailable as exc:
        raise click.ClickException(
            f"cannot reach the hub at {settings.hub_url}: {str(exc).rstrip('.')}. "
            "Check the URL (protocol and port) and try `curl <hub>/api/health`."
        ) from None
    finally:
        client.close()
    store = SecretStore(settings.data_path)
    try:
        store.save(machine_key, machine_secret)
    except SecretStoreError as exc:
        raise click.ClickException(str(exc)) from None
    path = settings.save()
    start = "exekra runner start"
    if named_folder:  # the same folder, or `start` looks in the default one and finds nothing
        start += f" --data-dir {shlex.quote(str(settings.data_path))}"
    click.echo(
        f"connected: runner {body.get('runner_id')} at {settings.hub_url}\n"
        f"secret stored in {store.backend}; settings in {path}\n"
        f"start it with `{start}` (or install the service)"
    )


def setup_logging(settings: RunnerSettings, verbose: bool) -> Path:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    path = settings.data_path / "runner.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(fmt)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = [handler, console]
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), 20)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path


@runner_group.command("start")
@click.option("--data-dir", envvar="EXEKRA_RUNNER_DATA_DIR", help="Runner data folder.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def start_cmd(data_dir: str | None, verbose: bool) -> None:
    """Run the agent in the foreground (service managers run this).

    Heartbeats every 30 s, polls every 5 s while idle, reconnects on its own when the hub is
    away, and on SIGTERM / Ctrl-C stops a running execution and reports it as STOPPED.

    Only one agent may use a data folder: a second one refuses to start, naming the first.
    """
    settings = _settings(data_dir)
    if not settings.hub_url or not settings.machine_key:
        raise click.UsageError("not connected yet: run `exekra runner connect` first")
    try:
        settings.activity_policy()
    except RunnerConfigError as exc:
        raise click.UsageError(str(exc)) from None
    # held until this process ends (the OS drops it even on kill -9): one agent per data folder
    lock = DataFolderLock(settings.data_path)
    try:
        lock.acquire()
    except DataFolderBusy as exc:
        raise click.ClickException(str(exc)) from None
    try:
        _run_agent(settings, verbose)
    finally:
        lock.release()


def _run_agent(settings: RunnerSettings, verbose: bool) -> None:
    from .agent import Agent, FatalAuthError

    try:
        secret = SecretStore(settings.data_path).load(settings.machine_key)
    except SecretStoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not secret:
        raise click.UsageError(
            f"no stored secret for {settings.machine_key}: run `exekra runner connect` again"
        )
    log_path = setup_logging(settings, verbose)
    agent = Agent(settings, secret)

    def on_signal(signum: int, frame: Any) -> None:
        logging.getLogger("exekra.runner").info("signal %s: shutting down", signum)
        agent.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"runner {settings.machine_key} -> {settings.hub_url} (log: {log_path})", err=True)
    try:
        agent.run()
    except FatalAuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        agent.client.close()


def _input(value: str) -> tuple[str, Any]:
    name, sep, raw = value.partition("=")
    if not sep or not name.strip():
        raise click.BadParameter(f"{value!r}: give NAME=VALUE")
    try:
        return name.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return name.strip(), raw


@runner_group.command("execute")
@click.argument("workflow", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input variable (VALUE is read as JSON when it parses, else as text). Repeatable.",
)
@click.option(
    "--artifacts",
    "artifacts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("exekra-artifacts"),
    show_default=True,
    help="Folder for the run's artifacts (screenshots, attached files) and repairs.json.",
)
@click.option("--timeout", type=float, default=None, help="Seconds before the run is stopped.")
@click.option(
    "--data-dir",
    envvar="EXEKRA_RUNNER_DATA_DIR",
    help="Runner data folder whose settings apply (browser, script sandbox, ZIP limits).",
)
def execute_cmd(
    workflow: Path,
    inputs: tuple[str, ...],
    artifacts_dir: Path,
    timeout: float | None,
    data_dir: str | None,
) -> None:
    """Run a workflow file here, without a hub, printing its log.

    WORKFLOW is a graph (the WORKFLOW_FORMAT.md document) or a hub export (its "graph").
    Artifacts the nodes produce are saved as numbered files in the --artifacts folder and
    selector repairs in its repairs.json. Credentials are not available in a local run. The
    runner's settings apply as they do to `start` (the script sandbox, the data folder hidden
    from scripts, ZIP limits, the browser). The exit status is 0 when the run completed, 1
    when it failed, 130 when it was stopped.
    """
    from .activities.base import ExecutionScope
    from .execute import FolderArtifacts, run_execution

    try:
        policy = _settings(data_dir).activity_policy()
    except RunnerConfigError as exc:
        raise click.UsageError(str(exc)) from None

    try:
        doc = json.loads(workflow.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot read {workflow}: {exc}") from None
    graph = doc.get("graph") if isinstance(doc, dict) and "nodes" not in doc else doc
    if not isinstance(graph, dict):
        raise click.ClickException(f"{workflow} holds no workflow graph")
    folder = FolderArtifacts(artifacts_dir.absolute())
    scope = ExecutionScope("local", artifact_sink=folder)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())

    def show(line: dict[str, Any]) -> None:
        node = f"[{line['node_id']}] " if line.get("node_id") else ""
        click.echo(f"{line['at'][11:19]} {line['level']:<7} {node}{line['message']}")

    payload = {"graph": graph, "inputs": dict(_input(v) for v in inputs), "credentials": {}}
    report = run_execution(payload, show, stop, timeout=timeout, policy=policy, scope=scope)
    for record in scope.artifacts:
        click.echo(f"artifact: {record['path']} ({record['kind']}, {record['size']} bytes)")
    repairs = folder.write_repairs(scope.repairs)
    if repairs is not None:
        click.echo(f"selector repairs: {repairs}")
    click.echo(f"{report['status']}" + (f": {report['error']}" if report.get("error") else ""))
    codes: dict[str, int] = {ExecutionStatus.COMPLETED: 0, ExecutionStatus.STOPPED: 130}
    sys.exit(codes.get(str(report["status"]), 1))


@runner_group.command("install-service")
@click.option("--data-dir", envvar="EXEKRA_RUNNER_DATA_DIR", help="Runner data folder.")
@click.option(
    "--unit-dir",
    default="/etc/systemd/system",
    show_default=True,
    help="Where to write the systemd unit (Linux).",
)
@click.option("--no-enable", is_flag=True, help="Write the unit but do not enable/start it.")
def install_service_cmd(data_dir: str | None, unit_dir: str, no_enable: bool) -> None:
    """Install the runner as a service: systemd on Linux, a Windows service on Windows."""
    from . import service

    settings = _settings(data_dir)
    if not settings.machine_key:
        raise click.UsageError("run `exekra runner connect` first")
    if sys.platform == "win32":  # pragma: no cover - Windows only
        name = service.install_windows(str(settings.data_path))
        click.echo(f"Windows service {name} installed")
        return
    try:
        path = service.install_systemd(
            str(settings.data_path), unit_dir=Path(unit_dir), enable=not no_enable
        )
    except (OSError, Exception) as exc:  # noqa: BLE001 - report any install failure plainly
        raise click.ClickException(f"could not install the service: {exc}") from None
    click.echo(f"systemd unit written to {path}" + ("" if no_enable else " and enabled"))
