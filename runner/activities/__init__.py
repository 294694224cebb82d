"""The runner's activity library: one module per activity category, each registering its
implementations with :func:`activity`. Importing this package loads them all."""

from __future__ import annotations

from .base import (
    REGISTRY,
    ActivityError,
    ActivityFunc,
    Branch,
    BreakLoop,
    Context,
    ContinueLoop,
    Credential,
    DuplicateActivity,
    EngineError,
    ExecutionScope,
    Implementation,
    Loop,
    LoopSignal,
    StopRequested,
    Timeout,
    UnknownActivity,
    activity,
    get,
)

__all__ = [
    "REGISTRY",
    "ActivityError",
    "ActivityFunc",
    "BreakLoop",
    "Branch",
    "ContinueLoop",
    "Context",
    "Credential",
    "DuplicateActivity",
    "EngineError",
    "ExecutionScope",
    "Implementation",
    "Loop",
    "LoopSignal",
    "StopRequested",
    "Timeout",
    "UnknownActivity",
    "activity",
    "get",
]

# Implementations register themselves on import.
from . import logic, loop, flow, variable, log, text, file, folder, zip, http, database, script  # noqa: E402,F401,I001
from . import browser  # noqa: E402,F401,I001
from . import excel  # noqa: E402,F401
from . import mail, transfer, desktop  # noqa: E402,F401,I001
from . import tables  # noqa: E402,F401
from . import documents  # noqa: E402,F401
