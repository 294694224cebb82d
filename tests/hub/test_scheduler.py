"""Schedule triggers: cron validation, DST-correct fire times, and the scheduler's exactly-once,
misfire and restart behaviour on SQLite and PostgreSQL, driven by an injected clock (no sleeps).

Most scheduler tests inject a small ``fire`` recorder that inserts a real ``executions`` row in
the claiming transaction, so counting rows counts fires; one test goes through the real
execution service to check what an execution records about its trigger.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from hub import db, errors
from hub.models import AuditLog, Execution, Trigger, Workflow, WorkflowVersion, utcnow
from hub.services.scheduler import (
    Scheduler,
    fire_times,
    next_fire,
    parse_cron,
    parse_timezone,
    preview,
)
from hub.services.triggers import TriggerService

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args)  # naive UTC, as stored


def local(instant: dt.datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).strftime("%H:%M%z")


# ----------------------------------------------------------------------------- cron + zones


@pytest.mark.parametrize(
    ("expr", "code", "fragment"),
    [
        ("", "invalid_cron", "empty"),
        ("* * * *", "invalid_cron", "has 4"),
        ("* * * * * *", "invalid_cron", "has 6"),
        ("61 * * * *", "invalid_cron", "minute field '61'"),
        ("0 24 * * *", "invalid_cron", "hour field '24'"),
        ("0 0 32 * *", "invalid_cron", "day-of-month field '32'"),
        ("0 0 * 13 *", "invalid_cron", "month field '13'"),
        ("0 0 * * 8", "invalid_cron", "day-of-week field '8'"),
        ("*/0 * * * *", "invalid_cron", "minute field '*/0'"),
        ("every day", "invalid_cron", "has 2"),
        ("H * * * *", "invalid_cron", "minute field 'H'"),
        ("@sometimes", "invalid_cron", "unknown cron macro"),
        ("0 0 30 2 *", "cron_never_fires", "never fires"),
    ],
)
def test_bad_cron_says_what_is_wrong(expr: str, code: str, fragment: str) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        parse_cron(expr)
    assert info.value.status == 400
    assert info.value.code == code
    assert fragment in info.value.description


@pytest.mark.parametrize(
    ("expr", "normal"),
    [
        ("0 9 * * 1-5", "0 9 * * 1-5"),
        ("*/15  *  * * *", "*/15 * * * *"),
        ("0 0 1 * *", "0 0 1 * *"),
        ("@daily", "0 0 * * *"),
        ("@HOURLY", "0 * * * *"),
        ("0 8 * * MON-FRI", "0 8 * * MON-FRI"),
    ],
)
def test_good_cron_is_normalised(expr: str, normal: str) -> None:
    assert parse_cron(expr) == normal


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "localtime", "../etc/passwd", "utc+2"])
def test_bad_timezone_is_400(zone: str) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        parse_timezone(zone)
    assert info.value.code == "invalid_timezone"
    assert "IANA" in info.value.description


def test_spec_examples_fire_as_documented() -> None:
    start = at(2026, 6, 5, 10, 0)  # a Friday
    weekdays = list(_take(fire_times("0 9 * * 1-5", "UTC", start), 3))
    assert weekdays == [at(2026, 6, 8, 9), at(2026, 6, 9, 9), at(2026, 6, 10, 9)]
    quarter = list(_take(fire_times("*/15 * * * *", "UTC", start), 3))
    assert quarter == [at(2026, 6, 5, 10, 15), at(2026, 6, 5, 10, 30), at(2026, 6, 5, 10, 45)]
    monthly = list(_take(fire_times("0 0 1 * *", "UTC", start), 2))
    assert monthly == [at(2026, 7, 1), at(2026, 8, 1)]


def _take(it: Any, n: int) -> list[dt.datetime]:
    out = []
    for x in it:
        out.append(x)
        if len(out) == n:
            break
    return out


def _day(expr: str, zone: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    out = []
    for x in fire_times(expr, zone, start):
        if x > end:
            return out
        out.append(x)
    return out


def test_dst_berlin_spring_forward() -> None:
    # 2026-03-29: 02:00 CET -> 03:00 CEST (01:00 UTC)
    s, e = at(2026, 3, 28, 22), at(2026, 3, 29, 3)
    # 02:30 does not exist: shifted forward by the gap, once
    assert _day("30 2 * * *", "Europe/Berlin", s, e) == [at(2026, 3, 29, 1, 30)]
    # every 30 minutes of real time, nothing doubled or lost
    got = _day("*/30 * * * *", "Europe/Berlin", s, e)
    assert got == [s + dt.timedelta(minutes=30 * i) for i in range(1, 11)]
    assert [local(x, "Europe/Berlin") for x in got[4:7]] == [
        "01:30+0100",
        "03:00+0200",
        "03:30+0200",
    ]
    # 09:00 local is 08:00 UTC before and 07:00 UTC after the change
    nine = _take(fire_times("0 9 * * *", "Europe/Berlin", at(2026, 3, 27, 12)), 3)
    assert nine == [at(2026, 3, 28, 8), at(2026, 3, 29, 7), at(2026, 3, 30, 7)]


def test_dst_berlin_fall_back() -> None:
    # 2026-10-25: 03:00 CEST -> 02:00 CET (01:00 UTC); 02:00-02:59 happens twice
    s, e = at(2026, 10, 24, 22), at(2026, 10, 25, 3)
    # a fixed time in the repeated hour runs once (first pass)
    assert _day("30 2 * * *", "Europe/Berlin", s, e) == [at(2026, 10, 25, 0, 30)]
    # wildcard schedules follow the wall clock on both passes: every 30 min of real time
    got = _day("*/30 * * * *", "Europe/Berlin", s, e)
    assert got == [s + dt.timedelta(minutes=30 * i) for i in range(1, 11)]
    hourly = _day("0 * * * *", "Europe/Berlin", s, e)
    assert [local(x, "Europe/Berlin") for x in hourly] == [
        "01:00+0200",
        "02:00+0200",
        "02:00+0100",
        "03:00+0100",
        "04:00+0100",
    ]


def test_dst_new_york_both_changes() -> None:
    # 2026-03-08: 02:00 EST -> 03:00 EDT (07:00 UTC)
    s, e = at(2026, 3, 8, 4), at(2026, 3, 8, 9)
    assert _day("30 2 * * *", "America/New_York", s, e) == [at(2026, 3, 8, 7, 30)]
    assert _day("0 3 * * *", "America/New_York", s, e) == [at(2026, 3, 8, 7)]
    # 2026-11-01: 02:00 EDT -> 01:00 EST (06:00 UTC); 01:00-01:59 happens twice
    s, e = at(2026, 11, 1, 3), at(2026, 11, 1, 9)
    assert _day("30 1 * * *", "America/New_York", s, e) == [at(2026, 11, 1, 5, 30)]
    got = _day("*/30 * * * *", "America/New_York", s, e)
    assert got == [s + dt.timedelta(minutes=30 * i) for i in range(1, 13)]
    # 09:00 local: 13:00 UTC in summer time, 14:00 UTC after
    nine = _take(fire_times("0 9 * * *", "America/New_York", at(2026, 10, 31, 0)), 2)
    assert nine == [at(2026, 10, 31, 13), at(2026, 11, 1, 14)]


def test_fire_times_are_strictly_increasing_all_year() -> None:
    # Lord Howe shifts by 30 minutes, so one wall-clock slot there is 30 minutes longer
    for zone, slack in (("Europe/Berlin", 0), ("America/New_York", 0), ("Australia/Lord_Howe", 30)):
        last = at(2026, 1, 1)
        for x in _take(fire_times("*/20 * * * *", zone, last), 3 * 24 * 366):
            assert x > last
            assert (x - last) <= dt.timedelta(minutes=20 + slack)  # never a lost slot
            last = x


def test_preview_shows_utc_and_local_times() -> None:
    items = preview("30 2 * * *", "Europe/Berlin", at(2026, 3, 27, 12), 3)
    assert [i["local"] for i in items] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert items[0]["at"] == "2026-03-28T01:30:00.000Z"


# ----------------------------------------------------------------------------- scheduler


class Recorder:
    """A ``fire`` callback: a real executions row per fire, written in the claim transaction."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[int, dt.datetime, dict[str, Any]]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, trigger: Trigger, when: dt.datetime, info: dict[str, Any]) -> Execution:
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                raise RuntimeError("process died between claim and execution")
        row = Execution.create(
            workflow=trigger.workflow_id,
            version=1,
            trigger={"type": "SCHEDULE", "scheduled_for": when.isoformat(), **info},
            trigger_id=trigger.id,
        )
        with self.lock:
            self.calls.append((trigger.id, when, info))
        return row


@pytest.fixture
def world(hub_app: Any) -> dict[str, Any]:
    """A migrated database (SQLite or PostgreSQL) with one published workflow."""
    wf = Workflow.create(name="nightly", latest_version=1, published_version=1)
    graph = {"nodes": [], "inputs": [{"name": "region", "type": "string"}]}
    WorkflowVersion.create(workflow=wf, number=1, graph=graph, published_at=utcnow())
    return {"hub": hub_app.hub, "workflow": wf}


def make_schedule(
    world: dict[str, Any],
    cron: str,
    zone: str = "UTC",
    *,
    now: dt.datetime,
    misfire: str = "once",
    name: str = "s",
) -> Trigger:
    svc = TriggerService(world["hub"].sealer, world["hub"].executions, clock=lambda: now)
    return svc.create(
        None,
        {
            "workflow_id": world["workflow"].id,
            "type": "SCHEDULE",
            "cron": cron,
            "timezone": zone,
            "misfire": misfire,
            "name": name,
        },
    )


def fired_instants(trigger_id: int) -> list[str]:
    rows = Execution.select().where(Execution.trigger_id == trigger_id).order_by(Execution.id)
    return [r.trigger["scheduled_for"] for r in rows]


def test_ticks_across_berlin_spring_forward_fire_at_the_right_instants(world) -> None:
    start = at(2026, 3, 28, 23, 0)
    daily = make_schedule(world, "30 2 * * *", "Europe/Berlin", now=start)
    halfhour = make_schedule(world, "*/30 * * * *", "Europe/Berlin", now=start)
    sched = Scheduler(Recorder(), interval=60)
    now = start
    while now <= at(2026, 3, 29, 2, 0):  # a tick every minute, on an injected clock
        now += dt.timedelta(minutes=1)
        sched.tick(now)
    assert fired_instants(daily.id) == ["2026-03-29T01:30:00"]  # 03:30 CEST, once
    half = fired_instants(halfhour.id)
    assert len(half) == len(set(half)) == 6
    assert half[:3] == ["2026-03-28T23:30:00", "2026-03-29T00:00:00", "2026-03-29T00:30:00"]
    assert "2026-03-29T01:00:00" in half  # 03:00 CEST, right after the jump


def test_ticks_across_new_york_fall_back_fire_at_the_right_instants(world) -> None:
    start = at(2026, 11, 1, 4, 0)
    fixed = make_schedule(world, "30 1 * * *", "America/New_York", now=start)
    hourly = make_schedule(world, "0 * * * *", "America/New_York", now=start)
    sched = Scheduler(Recorder(), interval=60)
    now = start
    while now <= at(2026, 11, 1, 8, 0):
        now += dt.timedelta(minutes=1)
        sched.tick(now)
    assert fired_instants(fixed.id) == ["2026-11-01T05:30:00"]  # 01:30 EDT only
    assert fired_instants(hourly.id) == [  # 01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST
        "2026-11-01T05:00:00",
        "2026-11-01T06:00:00",
        "2026-11-01T07:00:00",
        "2026-11-01T08:00:00",
    ]


def test_two_schedulers_fire_each_instant_once_concurrently(world) -> None:
    start = at(2026, 5, 4, 12, 0)
    triggers = [make_schedule(world, "* * * * *", now=start, name=f"t{i}") for i in range(8)]
    recorder = Recorder()
    a, b = Scheduler(recorder, interval=60), Scheduler(recorder, interval=60)
    steps = [start + dt.timedelta(minutes=m, seconds=1) for m in range(1, 6)]
    barrier = threading.Barrier(2)
    won: dict[str, int] = {"a": 0, "b": 0}
    problems: list[BaseException] = []

    def run(name: str, sched: Scheduler) -> None:
        try:
            with db.connection():  # each thread its own connection
                for now in steps:
                    barrier.wait(timeout=30)
                    won[name] += len([f for f in sched.tick(now) if f.result is not None])
        except BaseException as exc:  # noqa: BLE001 - reported below
            problems.append(exc)
            barrier.abort()
        finally:
            db.drop_connection()

    threads = [threading.Thread(target=run, args=p) for p in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not problems, problems
    total = len(triggers) * len(steps)
    assert won["a"] + won["b"] == total
    pairs = [(c[0], c[1]) for c in recorder.calls]
    assert len(pairs) == len(set(pairs)) == total
    assert Execution.select().count() == total
    for t in triggers:
        assert fired_instants(t.id) == [
            (start + dt.timedelta(minutes=m)).isoformat() for m in range(1, 6)
        ]


def test_a_crash_between_claim_and_execution_loses_nothing(world) -> None:
    start = at(2026, 5, 4, 12, 0)
    t = make_schedule(world, "*/5 * * * *", now=start)
    recorder = Recorder(fail_first=1)
    sched = Scheduler(recorder, interval=60)
    sched.tick(at(2026, 5, 4, 12, 5))  # the fire raises: claim rolled back with it
    assert Execution.select().count() == 0
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 4, 12, 5)
    sched.tick(at(2026, 5, 4, 12, 5, 10))  # next round: fired exactly once
    sched.tick(at(2026, 5, 4, 12, 5, 20))
    assert fired_instants(t.id) == ["2026-05-04T12:05:00"]
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 4, 12, 10)


def test_restart_in_the_middle_continues_from_the_database(world, hub_settings) -> None:
    from hub.app import create_app

    start = at(2026, 5, 4, 12, 0)
    t = make_schedule(world, "*/10 * * * *", now=start)
    first = Scheduler(Recorder(), interval=60)
    for m in (10, 20, 30):
        first.tick(start + dt.timedelta(minutes=m))
    del first  # the process stops; a new one starts against the same database
    app = create_app(hub_settings)
    second: Scheduler = app.hub.scheduler
    second.fire = Recorder()
    for m in (30, 40, 50):
        second.tick(start + dt.timedelta(minutes=m))
    assert fired_instants(t.id) == [f"2026-05-04T12:{m}:00" for m in (10, 20, 30, 40, 50)]


@pytest.mark.parametrize("policy", ["once", "skip"])
def test_missed_fires_follow_the_misfire_policy(world, policy: str) -> None:
    start = at(2026, 5, 4, 9, 30)
    t = make_schedule(world, "0 * * * *", now=start, misfire=policy)
    recorder = Recorder()
    sched = Scheduler(recorder, interval=5)
    sched.tick(at(2026, 5, 4, 10, 0, 3))  # on time
    # hub down from 10:01 to 13:20: 11:00, 12:00 and 13:00 were missed
    fired = sched.tick(at(2026, 5, 4, 13, 20))
    rows = list(Execution.select().where(Execution.trigger_id == t.id).order_by(Execution.id))
    assert rows[0].trigger["scheduled_for"] == "2026-05-04T10:00:00"
    assert "misfire" not in rows[0].trigger
    if policy == "once":
        assert len(rows) == 2  # one catch-up run, not three
        assert rows[1].trigger["misfire"] == "caught_up"
        assert rows[1].trigger["missed"] == 3
        assert rows[1].trigger["scheduled_for"] == "2026-05-04T13:00:00"
    else:
        assert len(rows) == 1
        assert fired[0].info == {"misfire": "skipped", "missed": 3}
    # either way the schedule continues with the next instant after now
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 4, 14, 0)
    sched.tick(at(2026, 5, 4, 14, 0, 1))
    assert Execution.select().where(Execution.trigger_id == t.id).count() == len(rows) + 1


def test_late_but_within_grace_is_on_time(world) -> None:
    t = make_schedule(world, "0 * * * *", now=at(2026, 5, 4, 9, 30), misfire="skip")
    sched = Scheduler(Recorder(), interval=5)  # grace: 60 s
    sched.tick(at(2026, 5, 4, 10, 0, 50))
    rows = list(Execution.select().where(Execution.trigger_id == t.id))
    assert len(rows) == 1 and "misfire" not in rows[0].trigger


def test_disable_stops_at_once_and_a_changed_cron_takes_effect_at_once(world) -> None:
    now = at(2026, 5, 4, 9, 58)
    svc = TriggerService(world["hub"].sealer, world["hub"].executions, clock=lambda: now)
    t = make_schedule(world, "0 * * * *", now=now)
    svc.update(None, t.id, {"enabled": False})
    assert Trigger.get_by_id(t.id).next_run is None
    sched = Scheduler(Recorder(), interval=5)
    sched.tick(at(2026, 5, 4, 10, 0, 1))
    assert Execution.select().count() == 0
    # enabling again: the next instant from now, no catch-up for the paused time
    now = at(2026, 5, 4, 11, 30)
    svc.update(None, t.id, {"enabled": True})
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 4, 12, 0)
    # a new cron/time zone: next_run recomputed from now
    svc.update(None, t.id, {"cron": "15 * * * *", "timezone": "Asia/Kolkata"})
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 4, 11, 45)  # 17:15 IST is :45 UTC
    sched.tick(at(2026, 5, 4, 11, 45, 2))
    assert fired_instants(t.id) == ["2026-05-04T11:45:00"]
    assert AuditLog.select().where(AuditLog.action == "trigger.update").count() == 3


def test_refused_run_consumes_the_fire_and_is_not_retried(world) -> None:
    t = make_schedule(world, "*/5 * * * *", now=at(2026, 5, 4, 12, 0))

    def refuse(trigger: Trigger, when: dt.datetime, info: dict[str, Any]) -> Any:
        raise errors.Conflict("workflow has no published version", code="not_published")

    sched = Scheduler(refuse, interval=5)
    fired = sched.tick(at(2026, 5, 4, 12, 5, 1))
    assert fired[0].error == "workflow has no published version"
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 4, 12, 10)
    assert Trigger.get_by_id(t.id).last_run is None
    assert sched.tick(at(2026, 5, 4, 12, 5, 30)) == []  # no retry at trigger level (spec)
    row = Trigger.get_by_id(t.id)
    assert row.last_error == "workflow has no published version"
    assert row.last_error_at == at(2026, 5, 4, 12, 5, 1)
    # the next run that starts clears it
    sched.fire = Recorder()
    sched.tick(at(2026, 5, 4, 12, 10, 1))
    row = Trigger.get_by_id(t.id)
    assert row.last_error is None and row.last_run == at(2026, 5, 4, 12, 10, 1)


def test_missing_next_run_is_repaired(world) -> None:
    t = make_schedule(world, "0 6 * * *", now=at(2026, 5, 4, 12, 0))
    Trigger.update(next_run=None).where(Trigger.id == t.id).execute()
    Scheduler(Recorder(), interval=5).tick(at(2026, 5, 4, 12, 0))
    assert Trigger.get_by_id(t.id).next_run == at(2026, 5, 5, 6, 0)


def test_real_executions_record_the_schedule(world, licensed_api) -> None:
    hub = world["hub"]
    wf = world["workflow"]
    svc: TriggerService = hub.triggers
    svc.clock = lambda: at(2026, 5, 4, 9, 30)
    t = svc.create(
        None,
        {
            "workflow_id": wf.id,
            "type": "SCHEDULE",
            "cron": "0 * * * *",
            "name": "hourly report",
            "inputs": {"region": "EU"},
            "priority": 7,
        },
    )
    sched = Scheduler(svc.fire_schedule, interval=5)
    sched.tick(at(2026, 5, 4, 10, 0, 1))
    # the first run finishes (while it is QUEUED, the queue's duplicate detection would hand
    # back that same execution for an identical request)
    Execution.update(status="COMPLETED").execute()
    sched.tick(at(2026, 5, 4, 13, 30))  # missed 11:00-13:00: one catch-up
    rows = list(Execution.select().where(Execution.trigger_id == t.id).order_by(Execution.id))
    assert len(rows) == 2
    first, catch_up = rows
    assert first.version == 1 and first.priority == 7 and catch_up.status == "QUEUED"
    assert first.inputs == {"region": "EU"}
    assert first.trigger == {
        "type": "SCHEDULE",
        "trigger_id": t.id,
        "name": "hourly report",
        "scheduled_for": "2026-05-04T10:00:00.000Z",
    }
    assert catch_up.trigger["misfire"] == "caught_up"
    assert catch_up.trigger["scheduled_for"] == "2026-05-04T13:00:00.000Z"
    assert Trigger.get_by_id(t.id).last_run == at(2026, 5, 4, 13, 30)


def test_next_fire_from_a_trigger_row_matches_preview() -> None:
    after = at(2026, 10, 24, 23, 0)
    items = preview("0 * * * *", "Europe/Berlin", after, 4)
    assert [i["at"][:16] for i in items] == [
        x.isoformat()[:16] for x in _take(fire_times("0 * * * *", "Europe/Berlin", after), 4)
    ]
    assert next_fire("0 * * * *", "Europe/Berlin", after) == at(2026, 10, 24, 23, 0) + dt.timedelta(
        hours=1
    )


def _transitions(zone: str, year: int) -> list[dt.datetime]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    out = []
    t = dt.datetime(year, 1, 1)
    prev = t.replace(tzinfo=UTC).astimezone(tz).utcoffset()
    while t.year == year:
        t += dt.timedelta(minutes=30)
        off = t.replace(tzinfo=UTC).astimezone(tz).utcoffset()
        if off != prev:
            out.append(t)
            prev = off
    return out


def _oracle(cron: str, zone: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Fire instants in (start, end] computed the other way round: walk every real minute and
    check whether its wall time matches (second passes only for wildcard schedules),
    then add the wall times that do not exist, shifted forward by the gap."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    tz = ZoneInfo(zone)
    minute, hour, *days = cron.split()
    assert days == ["*", "*", "*"]  # the oracle matches minute and hour only
    expanded = croniter(cron).expanded
    minutes = set(range(60)) if "*" in expanded[0] else set(expanded[0])
    hours = set(range(24)) if "*" in expanded[1] else set(expanded[1])
    wildcard = minute.startswith("*") or hour.startswith("*")

    def match(wall: dt.datetime) -> bool:
        return wall.minute in minutes and wall.hour in hours

    found = set()
    m = start + dt.timedelta(minutes=1)
    while m <= end:
        w = m.replace(tzinfo=UTC).astimezone(tz)
        if match(w) and (w.fold == 0 or wildcard):
            found.add(m)
        m += dt.timedelta(minutes=1)
    wall = start.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None) - dt.timedelta(hours=3)
    wall_end = end.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None) + dt.timedelta(hours=3)
    while wall <= wall_end:
        aware = wall.replace(tzinfo=tz)
        exists = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
        if not exists and match(wall):
            shifted = aware.astimezone(UTC).replace(tzinfo=None)
            if start < shifted <= end:
                found.add(shifted)
        wall += dt.timedelta(minutes=1)
    return sorted(found)


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Australia/Lord_Howe",  # 30-minute shifts
        "America/Santiago",  # changes at midnight: 00:00 does not exist on one day
    ],
)
@pytest.mark.parametrize(
    "cron",
    ["30 2 * * *", "0 0 * * *", "*/7 * * * *", "0 * * * *", "15,45 1-3 * * *", "*/20 2 * * *"],
)
def test_fire_times_match_a_brute_force_oracle_around_every_2026_change(
    zone: str, cron: str
) -> None:
    changes = _transitions(zone, 2026)
    assert len(changes) == 2
    for change in changes:
        start, end = change - dt.timedelta(hours=8), change + dt.timedelta(hours=8)
        assert _day(cron, zone, start, end) == _oracle(cron, zone, start, end), (zone, change)


TICKER = """
import datetime as dt, sys, time
from hub import db
from hub.models import Execution
from hub.services.scheduler import Scheduler

url, name = sys.argv[1], sys.argv[2]
start, go = dt.datetime.fromisoformat(sys.argv[3]), float(sys.argv[4])
db.bind(db.make_database(url, pool_size=2))

def fire(trigger, when, info):
    return Execution.create(workflow=trigger.workflow_id, version=1, trigger_id=trigger.id,
                            trigger={"scheduled_for": when.isoformat(), "by": name})

scheduler = Scheduler(fire, interval=60)
while time.time() < go:
    time.sleep(0.002)
won = 0
with db.connection():
    for m in range(1, 21):
        fired = scheduler.tick(start + dt.timedelta(minutes=m, seconds=1))
        won += sum(1 for f in fired if f.result)
print(won)
"""


def test_two_scheduler_processes_fire_each_instant_once(world, db_url: str) -> None:
    import subprocess
    import sys
    import time

    from tests.support import REPO

    start = at(2026, 5, 4, 12, 0)
    triggers = [make_schedule(world, "* * * * *", now=start, name=f"p{i}") for i in range(6)]
    go = time.time() + 3.0  # both processes start ticking at the same moment
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TICKER, db_url, name, start.isoformat(), str(go)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    won = [int(o[0].strip()) for o in outs]
    print("fires won per process:", won)
    total = len(triggers) * 20
    assert sum(won) == total
    rows = list(Execution.select())
    keys = [(r.trigger_id, r.trigger["scheduled_for"]) for r in rows]
    assert len(keys) == len(set(keys)) == total
    for t in triggers:
        assert len(fired_instants(t.id)) == 20


def test_the_loop_sleeps_until_the_next_fire_at_most_one_interval(world) -> None:
    now = at(2026, 5, 4, 12, 0, 0)
    sched = Scheduler(Recorder(), interval=5)
    assert sched.seconds_to_next(now) == 5  # nothing scheduled
    t = make_schedule(world, "* * * * *", now=now)
    Trigger.update(next_run=now + dt.timedelta(seconds=2)).where(Trigger.id == t.id).execute()
    assert sched.seconds_to_next(now) == pytest.approx(2.01)
    assert sched.seconds_to_next(now - dt.timedelta(minutes=1)) == 5
    # still due after a round (it failed and waits for a retry): no busy loop
    assert sched.seconds_to_next(now + dt.timedelta(seconds=3)) == 5
    assert sched.seconds_to_next(now + dt.timedelta(seconds=3), backlog=True) == 0


def test_background_thread_fires_and_stops(world) -> None:
    from tests.support import wait_for

    t = make_schedule(world, "0 0 1 1 *", now=utcnow())
    soon = utcnow() + dt.timedelta(milliseconds=300)
    Trigger.update(next_run=soon).where(Trigger.id == t.id).execute()
    recorder = Recorder()
    sched = Scheduler(recorder, interval=0.2)
    sched.start()
    try:
        wait_for(lambda: recorder.calls, timeout=30, what="the scheduler thread to fire")
    finally:
        sched.stop()
    assert recorder.calls[0][1] == soon
    assert "exekra-scheduler" not in [th.name for th in threading.enumerate()]
    assert Trigger.get_by_id(t.id).next_run.month == 1  # next New Year
