"""Schedule triggers: cron fire times in a time zone, and the scheduler that fires each one once.

Cron math
    Expressions are standard 5-field cron (validated with croniter; ``@daily`` and friends are
    accepted and expanded). Fire times are computed on the trigger's wall clock (an IANA zone,
    default UTC) and stored as naive UTC instants. Daylight-saving rules:

    * a wall time that does not exist (spring forward) is shifted forward by the length of the
      gap, like Python's ``datetime`` does: ``30 2 * * *`` in Europe/Berlin fires at 03:30 CEST
      on the changeover day, so the day's run is not lost;
    * a wall time that happens twice (fall back) fires once, on its first pass, unless the
      minute or hour field is a wildcard (``*``, ``*/15``): those follow the wall clock on both
      passes, so ``*/15 * * * *`` keeps firing every 15 minutes of real time;
    * an instant never fires twice.

Exactly once
    ``Scheduler.tick(now)`` looks for enabled schedules whose ``next_run`` is due and, for each,
    in one database transaction: advances ``next_run`` with a conditional update
    (``WHERE next_run = <the value read>``) and, only if that update won, creates the execution.
    Two hub processes (or threads) racing on the same trigger cannot both win the update; a
    process dying between the claim and the execution rolls both back, so the next tick fires it.

Missed fires
    A fire is on time when the scheduler reaches it within ``grace`` seconds. Fires missed while
    the hub was down (or paused) follow the trigger's ``misfire`` policy: ``once`` (default)
    starts one catch-up run for the latest missed instant, recorded as ``misfire: "caught_up"``
    in the execution's trigger info; ``skip`` starts nothing. Either way the schedule continues
    with its next instant after now, never a storm.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import logging
import os
import socket
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import peewee
from croniter import CroniterBadDateError, croniter

from workflows.statuses import TriggerType

from .. import db, errors
from ..background import BackgroundLoop
from ..models import Trigger, iso, utcnow

log = logging.getLogger(__name__)

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
FIELD_RANGES = (
    "0-59",
    "0-23",
    "1-31 (or L)",
    "1-12 or JAN-DEC",
    "0-7 or SUN-SAT (0 and 7: Sunday)",
)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: how far before ``after`` (on the wall clock) the search starts, so that instants produced by
#: shifted or repeated wall times are not missed (DST deltas are at most 2 hours)
LOOKBACK = dt.timedelta(hours=3)
#: missed fires counted one by one up to this many, then estimated
MISSED_CAP = 1000
MAX_PREVIEW = 100

UTC = dt.UTC


class InvalidCron(errors.ValidationFailed):
    code, title = "invalid_cron", "Invalid cron expression"


class InvalidTimezone(errors.ValidationFailed):
    code, title = "invalid_timezone", "Invalid time zone"


# --------------------------------------------------------------------------------------------
# cron and time zones
# --------------------------------------------------------------------------------------------


def parse_cron(expr: str) -> str:
    """Validate a 5-field cron expression; return it normalised (single spaces, macros expanded).

    Raises ``InvalidCron`` (400) saying which field is wrong and what it accepts.
    """
    text = " ".join(str(expr).split())
    if not text:
        raise InvalidCron("the cron expression is empty; e.g. '0 9 * * 1-5' (weekdays at 09:00)")
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise InvalidCron(f"unknown cron macro {text!r}; known: {', '.join(sorted(MACROS))}")
        text = MACROS[text.lower()]
    parts = text.split(" ")
    if len(parts) != 5:
        raise InvalidCron(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week); "
            f"{expr!r} has {len(parts)}"
        )
    for i, part in enumerate(parts):
        probe = ["*"] * 5
        probe[i] = part
        if part.upper().startswith(("H", "R")) or not croniter.is_valid(" ".join(probe)):
            raise InvalidCron(
                f"the {FIELD_NAMES[i]} field {part!r} is not valid: it takes {FIELD_RANGES[i]}, "
                "lists (1,15), ranges (1-5), steps (*/15) or *"
            )
    if not croniter.is_valid(text):
        raise InvalidCron(f"{expr!r} is not a valid cron expression")
    try:
        croniter(text, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except CroniterBadDateError:
        raise InvalidCron(f"{expr!r} never fires (no such date)", code="cron_never_fires") from None
    return text


@functools.lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone by name (``Europe/Berlin``, ``UTC``); anything else is 400."""
    if not isinstance(name, str) or name not in _zone_names():
        raise InvalidTimezone(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin', "
            "'America/New_York' or 'UTC'"
        )
    return zoneinfo.ZoneInfo(name)


def _is_wildcard(cron: str) -> bool:
    minute, hour = cron.split(" ")[:2]
    return minute.startswith("*") or hour.startswith("*")


def _instants(wall: dt.datetime, tz: zoneinfo.ZoneInfo, wildcard: bool) -> tuple[list, bool]:
    """UTC instants at which wall-clock time ``wall`` fires, and whether ``wall`` exists."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC).replace(tzinfo=None)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC).replace(tzinfo=None)
    if first == second:
        return [first], True
    if first < second:  # repeated wall time (fall back): fold 0 is the first pass
        return ([first, second] if wildcard else [first]), True
    return [first], False  # skipped wall time (spring forward): fold 0 is shifted forward


def fire_times(cron: str, timezone: str, after: dt.datetime) -> Iterator[dt.datetime]:
    """Fire instants (naive UTC) strictly after ``after`` (naive UTC), ascending, without end."""
    tz = parse_timezone(timezone)
    wildcard = _is_wildcard(cron)
    try:
        wall_after = after.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
    except OverflowError:  # within hours of the calendar's ends (years 1 and 9999)
        wall_after = dt.datetime.min if after.year < 2 else dt.datetime.max
    start = wall_after - LOOKBACK if wall_after - dt.datetime.min > LOOKBACK else dt.datetime.min
    it = croniter(cron, start)
    pending: list[dt.datetime] = []
    last = after
    while True:
        try:
            wall = it.get_next(dt.datetime)
            found, exists = _instants(wall, tz, wildcard)
        except (OverflowError, ValueError):  # past year 9999: no more fire times
            yield from sorted(i for i in pending if i > last)
            return
        for instant in found:
            if instant > after:
                heapq.heappush(pending, instant)
        if not exists:  # later, existing wall times may still map to earlier instants
            continue
        # every later wall time maps to an instant >= found[0]: release what precedes it
        while pending and pending[0] <= found[0]:
            instant = heapq.heappop(pending)
            if instant > last:
                last = instant
                yield instant


def next_fire(cron: str, timezone: str, after: dt.datetime) -> dt.datetime:
    return next(fire_times(cron, timezone, after))


def preview(cron: str, timezone: str, after: dt.datetime, count: int) -> list[dict[str, str]]:
    """The next ``count`` fire times as ``{"at": UTC ISO, "local": wall time with offset}``."""
    tz = parse_timezone(timezone)
    out: list[dict[str, str]] = []
    for instant in fire_times(cron, timezone, after):
        if len(out) >= count:
            break
        local = instant.replace(tzinfo=UTC).astimezone(tz)
        out.append({"at": iso(instant) or "", "local": local.isoformat()})
    return out


# --------------------------------------------------------------------------------------------
# deciding what a due trigger does
# --------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to do with a due schedule at ``now``."""

    run_at: dt.datetime | None  # the scheduled instant to start a run for, or None (skipped)
    next_run: dt.datetime
    info: dict[str, Any] = field(default_factory=dict)
    missed: int = 0


def plan(trigger: Trigger, now: dt.datetime, grace: dt.timedelta) -> Plan:
    """Which instant (if any) to run for a schedule that is due at ``now``, and the next one."""
    cron, tz = str(trigger.cron), str(trigger.timezone)
    due: dt.datetime = trigger.next_run  # type: ignore[assignment]
    latest = due
    count = 1
    upcoming: dt.datetime | None = None
    for instant in fire_times(cron, tz, due):
        if instant > now:
            upcoming = instant
            break
        latest = instant
        count += 1
        if count >= MISSED_CAP:  # down for a long time on a busy schedule: stop counting
            latest = _last_at_or_before(cron, tz, now - dt.timedelta(days=1), now) or latest
            upcoming = next_fire(cron, tz, now)
            break
    assert upcoming is not None
    late = now - latest > grace
    missed = count if late else count - 1
    if missed == 0:
        return Plan(latest, upcoming, {})
    if not late:  # the latest instant is on time; the earlier ones were not run
        return Plan(latest, upcoming, {"missed": missed}, missed)
    if trigger.misfire == "once":
        return Plan(latest, upcoming, {"misfire": "caught_up", "missed": missed}, missed)
    return Plan(None, upcoming, {"misfire": "skipped", "missed": missed}, missed)


def _last_at_or_before(
    cron: str, tz: str, start: dt.datetime, now: dt.datetime
) -> dt.datetime | None:
    last = None
    for instant in fire_times(cron, tz, start):
        if instant > now:
            break
        last = instant
    return last


# --------------------------------------------------------------------------------------------
# the scheduler
# --------------------------------------------------------------------------------------------

#: ``fire(trigger, scheduled_for, info)`` starts one execution; ``info`` holds misfire details.
#: It runs inside the claiming transaction: if it raises, the claim is rolled back, except for
#: ``errors.ExekraError`` (the hub refused: not published, license) which consumes the fire.
FireFn = Callable[[Trigger, dt.datetime, dict[str, Any]], Any]


@dataclass
class Fired:
    trigger_id: int
    scheduled_for: dt.datetime | None
    info: dict[str, Any]
    result: Any = None
    error: str | None = None


class Scheduler:
    """Fires due schedule triggers; several instances may share one database safely."""

    _loop: BackgroundLoop | None = None

    def __init__(
        self,
        fire: FireFn,
        *,
        interval: float = 5.0,
        grace: float | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        batch: int = 200,
    ) -> None:
        self.fire = fire
        self.interval = interval
        self.grace = dt.timedelta(seconds=grace if grace is not None else max(60.0, 3 * interval))
        self.clock = clock
        self.batch = batch
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._due_count = 0

    # -- one round ------------------------------------------------------------------------
    def tick(self, now: dt.datetime | None = None) -> list[Fired]:
        """Fire every due schedule once; return what this instance claimed (fired or skipped)."""
        now = now or self.clock()
        self._repair(now)
        due = (
            Trigger.select(Trigger.id)
            .where(
                (Trigger.type == TriggerType.SCHEDULE)
                & (Trigger.enabled == True)  # noqa: E712 - peewee expression
                & Trigger.next_run.is_null(False)
                & (Trigger.next_run <= now)
            )
            .order_by(Trigger.next_run, Trigger.id)
            .limit(self.batch)
        )
        done = []
        ids: list[int] = [int(t.id) for t in due]
        self._due_count = len(ids)
        for trigger_id in ids:
            try:
                fired = self._process(trigger_id, now)
            except (peewee.OperationalError, peewee.InterfaceError):
                raise
            except Exception:  # noqa: BLE001 - one broken trigger must not stop the others
                log.exception("scheduler: trigger %s failed; it will be retried", trigger_id)
                continue
            if fired is not None:
                done.append(fired)
        return done

    def _repair(self, now: dt.datetime) -> None:
        """Enabled schedules without ``next_run`` (e.g. rows from an import) get one."""
        rows = Trigger.select().where(
            (Trigger.type == TriggerType.SCHEDULE)
            & (Trigger.enabled == True)  # noqa: E712
            & Trigger.next_run.is_null(True)
            & Trigger.cron.is_null(False)
        )
        for t in rows:
            try:
                nxt = next_fire(parse_cron(str(t.cron)), str(t.timezone), now)
            except errors.ExekraError:
                log.warning("scheduler: trigger %s has an invalid schedule; not scheduled", t.id)
                continue
            Trigger.update(next_run=nxt).where(
                (Trigger.id == t.id) & Trigger.next_run.is_null(True)
            ).execute()

    def _process(self, trigger_id: int, now: dt.datetime) -> Fired | None:
        database = db.database_proxy.obj
        # IMMEDIATE on SQLite: a read-then-write transaction must not fail upgrading its lock
        outer = (
            database.atomic("IMMEDIATE")
            if isinstance(database, peewee.SqliteDatabase)
            else database.atomic()
        )
        with outer:
            trigger = Trigger.get_or_none(Trigger.id == trigger_id)
            if trigger is None or not trigger.enabled or trigger.next_run is None:
                return None
            if trigger.next_run > now:
                return None
            p = plan(trigger, now, self.grace)
            claimed = (
                Trigger.update(next_run=p.next_run)
                .where(
                    (Trigger.id == trigger.id)
                    & (Trigger.next_run == trigger.next_run)
                    & (Trigger.enabled == True)  # noqa: E712
                    & (Trigger.cron == trigger.cron)
                    & (Trigger.timezone == trigger.timezone)
                )
                .execute()
            )
            if claimed != 1:  # another process fired it, or it was changed meanwhile
                return None
            fired = Fired(trigger.id, p.run_at, p.info)
            if p.run_at is None:
                log.info(
                    "trigger %s: %d missed fire(s) skipped (misfire policy skip); next %s",
                    trigger.id,
                    p.missed,
                    iso(p.next_run),
                )
                return fired
            try:
                with database.atomic():
                    fired.result = self.fire(trigger, p.run_at, dict(p.info))
            except errors.ExekraError as exc:
                fired.error = exc.description
                Trigger.update(last_error=exc.description[:2000], last_error_at=now).where(
                    Trigger.id == trigger.id
                ).execute()
                log.warning(
                    "trigger %s: the run for %s was refused: %s",
                    trigger.id,
                    iso(p.run_at),
                    exc.description,
                )
                return fired
            Trigger.update(last_run=now, last_error=None, last_error_at=None).where(
                Trigger.id == trigger.id
            ).execute()
            return fired

    # -- the background loop --------------------------------------------------------------
    def seconds_to_next(self, now: dt.datetime, *, backlog: bool = False) -> float:
        """How long to sleep: until the earliest ``next_run``, at most ``interval``.

        A schedule still due after a round (one that failed and will be retried) waits a full
        interval, unless the round stopped at its batch size (``backlog``): then at once.
        """
        if backlog:
            return 0.0
        earliest = (
            Trigger.select(peewee.fn.MIN(Trigger.next_run))
            .where((Trigger.type == TriggerType.SCHEDULE) & (Trigger.enabled == True))  # noqa: E712
            .scalar()
        )
        if earliest is None:
            return self.interval
        if isinstance(earliest, str):  # SQLite aggregate returns text
            earliest = dt.datetime.fromisoformat(earliest)
        wait = (earliest - now).total_seconds()
        if wait <= 0:
            return self.interval
        return min(self.interval, wait + 0.01)

    def start(self) -> None:
        """Fire on a thread: a round at once, then one when the next schedule is due (at most
        an interval later); a failed round (the database is down) retries after an interval."""
        if self._loop is not None:
            return

        def round_(now: dt.datetime) -> float:
            self.tick(now)
            backlog = self._due_count >= self.batch
            return self.seconds_to_next(self.clock(), backlog=backlog)

        self._loop = BackgroundLoop(
            "exekra-scheduler",
            round_,
            interval=self.interval,
            first=0.0,
            database=True,
            failure="scheduler: round failed; retrying",
            logger=log,
            clock=self.clock,
        )
        self._loop.start()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
