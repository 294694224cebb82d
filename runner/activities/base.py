"""The activity registry, the context an activity runs in, and the engine's exception tree.

An activity is a function ``(params, ctx) -> value``: ``params`` are the node's params with
expressions already rendered (except ``condition`` and ``code`` params, which are passed as
written), the return value goes into the node's ``output`` variable. Implementations register
with :func:`activity`; a name registered twice fails at import, :func:`get` raises
:class:`UnknownActivity` for a name nobody registered.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from workflows import catalog
from workflows.expressions import ExpressionError, evaluate, is_identifier
from workflows.hosts import HostPattern, InvalidHostPattern, host_allowed, parse_pattern

# ---------------------------------------------------------------------------------------------
# Exceptions: the engine maps each to a node/execution outcome in one place.


class EngineError(Exception):
    """Base of everything the engine raises or handles."""


class ActivityError(EngineError):
    """An activity failed; the message says why in words a workflow author understands."""


class Timeout(EngineError):
    """A node's ``timeout`` or the execution-wide timeout passed."""

    def __init__(self, message: str, *, execution: bool = False) -> None:
        super().__init__(message)
        self.execution = execution


class StopRequested(EngineError):
    """Somebody asked the execution to stop."""


class LoopSignal(EngineError):  # noqa: N818 - a signal, not an error
    """``loop.break`` / ``loop.continue``: caught by the innermost running loop."""


class BreakLoop(LoopSignal):
    pass


class ContinueLoop(LoopSignal):
    pass


class DuplicateActivity(ValueError):
    """Two implementations registered under one activity name."""


class UnknownActivity(catalog.UnknownActivity):
    """The runner has no implementation for this activity type."""

    def __str__(self) -> str:
        return f"this runner has no activity {self.activity_type!r}"


# ---------------------------------------------------------------------------------------------
# Results of control-flow activities


@dataclass(frozen=True)
class Branch:
    """Continue on the named port (``logic.if``: true/false; ``logic.switch``: a case)."""

    port: str
    #: port taken when no edge leaves on ``port`` (``logic.switch``: ``default``)
    fallback: str | None = None


class Loop:
    """A running loop: the engine calls :meth:`next_round` before each round of the body."""

    def next_round(self, variables: dict[str, Any]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Context


@dataclass
class Credential:
    """A vault credential as the runner received it with its execution.

    ``allowed_hosts`` are the hub's normalised host patterns (see :mod:`workflows.hosts`);
    empty means the secret may go to any host, as before the binding existed. Every activity
    that sends the secret over the network calls :meth:`check_host` with the destination
    *before* sending anything (and again for each redirect or further connection).
    """

    username: str
    secret: str = field(repr=False)
    name: str = ""
    allowed_hosts: tuple[str, ...] = ()
    _patterns: list[HostPattern] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        patterns = []
        for text in self.allowed_hosts:
            try:
                patterns.append(parse_pattern(text))
            except InvalidHostPattern:
                # a pattern this runner cannot read allows nothing: failing closed keeps the
                # binding a binding even when hub and runner versions differ
                continue
        self._patterns = patterns

    @property
    def bound(self) -> bool:
        """Whether the credential is restricted to some hosts."""
        return bool(self.allowed_hosts)

    def check_host(self, host: str | None, port: int | None = None, *, what: str = "") -> None:
        """Raise :class:`ActivityError` unless the secret may be sent to ``host`` on ``port``
        (``port`` None: only patterns without a port match). The message names the host and
        the credential, never the secret. A credential without allowed hosts allows any."""
        if not self.allowed_hosts:
            return
        if host_allowed(self._patterns, host, port):
            return
        shown = (host or "(no host)") + (f":{port}" if port is not None else "")
        where = f" ({what})" if what else ""
        raise ActivityError(
            f"credential {self.name!r} may not be sent to {shown}{where}: it is bound to "
            f"{', '.join(self.allowed_hosts)}"
        )


#: ``(name, data, kind, content_type, node_id) -> record or None``: stores one artifact
ArtifactSink = Callable[[str, bytes, str, str, "str | None"], "dict[str, Any] | None"]
#: ``(node_id, param, old_target, new_target, score) -> None``: records one selector repair
RepairSink = Callable[[str, str, Any, "dict[str, Any]", float], None]


class ExecutionScope:
    """What lives as long as one execution, shared by all its nodes.

    * **Resources** an activity opens for later nodes (a browser session, a mail connection):
      :meth:`put` them under a key with the function that closes them; the engine calls
      :meth:`close_all` when the execution ends, however it ends, newest first.
    * **Artifacts** (screenshots, page snapshots, traces, files): :meth:`add_artifact` hands them
      to the sink the runner wired (upload to the hub); without one they are kept in
      :attr:`artifacts` so local runs and tests can see them.
    * **Selector repairs**: :meth:`report_repair`, likewise kept in :attr:`repairs`.

    Thread-safe: nodes run on their own threads.
    """

    def __init__(
        self,
        execution_id: int | str | None = None,
        *,
        artifact_sink: ArtifactSink | None = None,
        repair_sink: RepairSink | None = None,
    ) -> None:
        self.execution_id = execution_id
        self._artifact_sink = artifact_sink
        self._repair_sink = repair_sink
        self._resources: dict[str, tuple[Any, Callable[[Any], None] | None]] = {}
        self._lock = threading.RLock()
        self.artifacts: list[dict[str, Any]] = []
        self.repairs: list[dict[str, Any]] = []
        self.closed = False

    # -- resources --------------------------------------------------------------------------

    def put(self, key: str, value: Any, close: Callable[[Any], None] | None = None) -> None:
        """Keep ``value`` under ``key`` until the execution ends (replacing closes the old)."""
        with self._lock:
            if self.closed:
                if close is not None:
                    close(value)
                raise StopRequested("the execution has ended")
            old = self._resources.pop(key, None)
            self._resources[key] = (value, close)
        if old is not None and old[1] is not None:
            old[1](old[0])

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            entry = self._resources.get(key)
        return entry[0] if entry is not None else default

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [k for k in self._resources if k.startswith(prefix)]

    def pop(self, key: str, *, close: bool = True) -> Any:
        """Forget ``key`` (closing it unless ``close=False``) and return its value."""
        with self._lock:
            entry = self._resources.pop(key, None)
        if entry is None:
            return None
        if close and entry[1] is not None:
            entry[1](entry[0])
        return entry[0]

    def close_all(self) -> list[str]:
        """Close every resource, newest first; returns the errors (never raises)."""
        with self._lock:
            self.closed = True
            entries = list(self._resources.items())
            self._resources.clear()
        errors = []
        for key, (value, close) in reversed(entries):
            if close is None:
                continue
            try:
                close(value)
            except Exception as exc:  # noqa: BLE001 - one bad close must not skip the others
                errors.append(f"closing {key}: {type(exc).__name__}: {exc}")
        return errors

    # -- artifacts and repairs ------------------------------------------------------------------

    def add_artifact(
        self,
        name: str,
        data: bytes,
        *,
        kind: str,
        content_type: str = "application/octet-stream",
        node_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Store one artifact; returns its record (``id``, ``name``, ...) or None if refused."""
        record: dict[str, Any] | None = {
            "name": name,
            "kind": kind,
            "content_type": content_type,
            "node_id": node_id,
            "size": len(data),
        }
        if self._artifact_sink is not None:
            record = self._artifact_sink(name, data, kind, content_type, node_id)
        else:
            assert record is not None
            record["data"] = data
        if record is not None:
            with self._lock:
                self.artifacts.append(record)
        return record

    def report_repair(
        self, node_id: str, param: str, old: Any, new: dict[str, Any], *, score: float
    ) -> None:
        repair = {"node_id": node_id, "param": param, "old": old, "new": new, "score": score}
        with self._lock:
            self.repairs.append(repair)
        if self._repair_sink is not None:
            self._repair_sink(node_id, param, old, new, score)


@dataclass(frozen=True)
class RunnerPolicy:
    """What the runner's settings decide for activities: resource limits and isolation.

    The agent builds it from :class:`runner.settings.RunnerSettings`; an engine run without
    one (tests, local runs) gets these defaults.
    """

    #: most bytes ``zip.extract`` writes for one archive (declared sizes and actual bytes)
    zip_max_extract_bytes: int = 1 << 30
    #: highest compression ratio of an entry larger than :data:`ZIP_RATIO_MIN_BYTES`
    zip_max_ratio: float = 200.0
    #: ``auto`` (sandbox scripts where bubblewrap works, else warn), ``require`` (refuse to
    #: run a script without the sandbox) or ``off``
    script_sandbox: str = "auto"
    #: folders scripts must never see (the runner's data folder: its keys and credentials)
    protected_paths: tuple[str, ...] = ()
    #: ``browser.open``'s defaults (the runner's ``browser_*`` settings): start without a
    #: window, the browser to drive (empty: one Playwright installed or one on PATH), seconds
    #: an action waits for its element
    browser_headless: bool = True
    browser_executable: str = ""
    browser_timeout: float = 30.0
    #: where ``browser.download`` saves files (the agent's: its setting, else ``downloads``
    #: in its data folder)
    browser_downloads: str = str(Path.home() / ".exekra-runner" / "downloads")


@dataclass
class Context:
    """What an activity may use besides its params."""

    node_id: str
    variables: dict[str, Any]
    log: Callable[[str, str], None]  # (level, message)
    #: set when the activity must give up (stop request, node or execution timeout)
    cancel: threading.Event = field(default_factory=threading.Event)
    #: ``time.monotonic()`` by which the activity must be done (None: no limit)
    deadline: float | None = None
    stop_requested: Callable[[], bool] = lambda: False
    credential: Credential | None = None
    #: called with a secret value discovered at run time, so logs redact it
    add_secret: Callable[[str], None] = lambda _s: None
    #: the execution's shared resources, artifacts and selector repairs
    scope: ExecutionScope = field(default_factory=ExecutionScope)
    #: limits and isolation chosen by the runner's settings
    policy: RunnerPolicy = field(default_factory=RunnerPolicy)
    _processes: list[subprocess.Popen[Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- cancellation ---------------------------------------------------------------------

    def cancelled(self) -> bool:
        if self.cancel.is_set():
            return True
        if self.stop_requested() or (
            self.deadline is not None and time.monotonic() >= self.deadline
        ):
            self.cancel.set()
            return True
        return False

    def check(self) -> None:
        """Raise :class:`StopRequested` or :class:`Timeout` when the activity must give up."""
        if self.stop_requested():
            self.cancel.set()
            raise StopRequested("stop requested")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.cancel.set()
            raise Timeout("timed out")
        if self.cancel.is_set():
            raise StopRequested("cancelled")

    def remaining(self, limit: float | None = None) -> float | None:
        """Seconds left before the deadline, capped by ``limit`` (None: unlimited)."""
        if self.deadline is None:
            return limit
        left = max(0.0, self.deadline - time.monotonic())
        return left if limit is None else min(left, limit)

    def sleep(self, seconds: float, *, slice_: float = 0.1) -> None:
        """Wait ``seconds``, returning early by raising when cancelled."""
        end = time.monotonic() + seconds
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            self.cancel.wait(min(left, slice_))

    # -- child processes ------------------------------------------------------------------

    def track(self, proc: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._processes.append(proc)

    def untrack(self, proc: subprocess.Popen[Any]) -> None:
        with self._lock:
            if proc in self._processes:
                self._processes.remove(proc)

    def kill_processes(self) -> None:
        """Kill child processes the activity started (used when a node is abandoned)."""
        with self._lock:
            procs = list(self._processes)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


# ---------------------------------------------------------------------------------------------
# Registry

ActivityFunc = Callable[[dict[str, Any], Context], Any]
F = TypeVar("F", bound=ActivityFunc)


@dataclass(frozen=True)
class Implementation:
    name: str
    func: ActivityFunc
    #: quick, in-memory activities run on the engine's thread (no timeout thread needed)
    inline: bool = False


REGISTRY: dict[str, Implementation] = {}


def activity(name: str, *, inline: bool = False) -> Callable[[F], F]:
    """Register the decorated function as the implementation of activity ``name``."""

    def decorate(func: F) -> F:
        if name in REGISTRY:
            existing = REGISTRY[name].func
            raise DuplicateActivity(
                f"activity {name!r} registered twice: {existing.__module__}.{existing.__name__} "
                f"and {func.__module__}.{func.__name__}"
            )
        REGISTRY[name] = Implementation(name, func, inline)
        return func

    return decorate


def get(name: str) -> Implementation:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownActivity(name) from None


# ---------------------------------------------------------------------------------------------
# Param helpers


def text(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """A param as text (numbers and the like are converted; None → default or error)."""
    value = params.get(name)
    if value is None:
        if default is None:
            raise ActivityError(f"param {name!r} is required")
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ActivityError(f"param {name!r} must be text, got {type(value).__name__}")


def boolean(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "false", "no", "0"}:
        return value.strip().lower() in {"true", "yes", "1"}
    if isinstance(value, int | float):
        return bool(value)
    raise ActivityError(f"param {name!r} must be true or false, got {value!r}")


def number(params: Mapping[str, Any], name: str, default: float | None = None) -> float:
    return _numeric(params, name, default, "a number")


def integer(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = _numeric(params, name, default, "a whole number")
    if isinstance(value, int):  # the default, as given
        return value
    if not value.is_integer():
        raise ActivityError(f"param {name!r} must be a whole number, got {params.get(name)!r}")
    return int(value)


def _numeric(params: Mapping[str, Any], name: str, default: float | None, what: str) -> float:
    """The param as a float, or ``default`` unchanged when it is not given (required when
    ``default`` is None); ``what`` names the kind in the error for anything else."""
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise ActivityError(f"param {name!r} is required")
        return default
    if isinstance(value, bool):
        raise ActivityError(f"param {name!r} must be {what}, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ActivityError(f"param {name!r} must be {what}, got {value!r}") from None


def condition(params: dict[str, Any], ctx: Context) -> bool:
    condition = params.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        raise ActivityError("param 'condition' is required")
    try:
        return bool(evaluate(condition, ctx.variables))
    except ExpressionError as exc:
        raise ActivityError(f"condition {condition!r}: {exc}") from None


def variable_name(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ActivityError(f"param {name!r} is required")
        return None
    if not is_identifier(value):
        raise ActivityError(f"param {name!r} must be a variable name, got {value!r}")
    return str(value)
