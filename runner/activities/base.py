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
from typing import Any, TypeVar

from workflows import catalog
from workflows.expressions import ExpressionError, evaluate, is_identifier

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
    username: str
    secret: str = field(repr=False)


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
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise ActivityError(f"param {name!r} is required")
        return default
    if isinstance(value, bool):
        raise ActivityError(f"param {name!r} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ActivityError(f"param {name!r} must be a number, got {value!r}") from None


def integer(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise ActivityError(f"param {name!r} is required")
        return default
    if isinstance(value, bool):
        raise ActivityError(f"param {name!r} must be a whole number, got {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ActivityError(f"param {name!r} must be a whole number, got {value!r}") from None
    if not as_float.is_integer():
        raise ActivityError(f"param {name!r} must be a whole number, got {value!r}")
    return int(as_float)


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
