"""The platform's status vocabulary, defined once for the hub, the runner and the console.

They are ``StrEnum``s: a member *is* its string (``ExecutionStatus.QUEUED == "QUEUED"``), so it
goes into the database, JSON and the REST API unchanged, and the API's values stay exactly as the
spec names them. The hub and the console may not import each other; both import these.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """An execution's lifecycle (spec: "Execution Lifecycle"), in the order it moves through."""

    QUEUED = "QUEUED"
    ASSIGNED = "ASSIGNED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def final(self) -> bool:
        return self in FINAL_EXECUTION_STATUSES


#: the states an execution never leaves (tuples: in lifecycle order, for messages and SQL)
FINAL_EXECUTION_STATUSES = (
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.STOPPED,
)
#: the states an execution still leaves: a stop still changes it, its log may still grow
UNFINISHED_EXECUTION_STATUSES = (
    ExecutionStatus.QUEUED,
    ExecutionStatus.ASSIGNED,
    ExecutionStatus.RUNNING,
)
#: the states in which a runner holds the execution
ACTIVE_EXECUTION_STATUSES = (ExecutionStatus.ASSIGNED, ExecutionStatus.RUNNING)


class RunnerStatus(StrEnum):
    """A runner as the hub sees it."""

    ONLINE = "ONLINE"
    BUSY = "BUSY"
    OFFLINE = "OFFLINE"


class TriggerType(StrEnum):
    """What starts a trigger's executions: a person or API call, a cron schedule, a webhook."""

    MANUAL = "MANUAL"
    SCHEDULE = "SCHEDULE"
    WEBHOOK = "WEBHOOK"


class LicenseStatus(StrEnum):
    """The hub's license state."""

    UNLICENSED = "UNLICENSED"
    ACTIVE = "ACTIVE"
    GRACE_PERIOD = "GRACE_PERIOD"
    EXPIRED = "EXPIRED"
    INVALID = "INVALID"

    @property
    def runnable(self) -> bool:
        """Whether executions may start under this license state."""
        return self in (LicenseStatus.ACTIVE, LicenseStatus.GRACE_PERIOD)


__all__ = [
    "ACTIVE_EXECUTION_STATUSES",
    "FINAL_EXECUTION_STATUSES",
    "ExecutionStatus",
    "UNFINISHED_EXECUTION_STATUSES",
    "LicenseStatus",
    "RunnerStatus",
    "TriggerType",
]
