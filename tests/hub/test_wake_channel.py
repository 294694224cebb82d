"""The runners' wake-up channel (hub/wake.py, runner/channel.py).

* the channel server on its own: authentication, who gets woken, pending wake-ups, keepalives;
* every way work arrives wakes the runner it was assigned to, and only a qualifying one: API,
  webhook, manual trigger, re-queue after a lost runner, labels, interactive targets (in-process
  hub on SQLite and PostgreSQL, the dispatcher's real wake-ups captured from the fleet cache);
* a second process's assignment reaches this process through PostgreSQL NOTIFY;
* the runner's listener: URL rules, reconnecting after the channel went away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import falcon.testing
import httpx
import pytest

from hub import wake
from hub.app import create_app
from hub.services.fleetcache import FleetCache
from runner.channel import WakeListener, channel_url
from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import Api, create_pg_database, drop_pg_database, wait_for

# -- the channel server ----------------------------------------------------------------------


def _auth(token: str) -> tuple[int, float]:
    if not token.startswith("runner-"):
        raise PermissionError("bad")
    return int(token[7:]), time.time() + 3600


@pytest.fixture
def channel() -> Iterator[wake.WakeChannel]:
    ch = wake.WakeChannel(_auth, port=0, keepalive=0.5)
    ch.start()
    yield ch
    ch.stop()


class Stream:
    """A raw SSE client in a thread: the events it saw, in order."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[str] = []
        self.status = 0
        self._http = httpx.Client(timeout=httpx.Timeout(5, read=10))
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, token), daemon=True)
        self._thread.start()
        self._ready.wait(15)  # a loaded machine (the parallel suite) answers slower

    def _read(self, url: str, token: str) -> None:
        try:
            with self._http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as r:
                self.status = r.status_code
                self._ready.set()
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        self.events.append(line[6:].strip())
                    elif line.startswith(":"):
                        self.events.append("keepalive")
        except httpx.HTTPError:
            pass
        finally:
            self._ready.set()

    def close(self) -> None:
        self._http.close()


def _url(ch: wake.WakeChannel) -> str:
    return f"http://127.0.0.1:{ch.port}{wake.PATH}"


def test_only_the_runner_the_work_is_for_is_woken(channel: wake.WakeChannel) -> None:
    one, two = Stream(_url(channel), "runner-1"), Stream(_url(channel), "runner-2")
    try:
        assert one.status == two.status == 200
        wait_for(lambda: channel.connections == 2, 5, what="two waiting runners")
        # the client threads parse the first event a moment after the headers arrived
        wait_for(lambda: one.events[:1] == two.events[:1] == ["open"], 5, what="both opened")
        channel.wake(1)
        wait_for(lambda: "work" in one.events, 5, what="runner 1 woken")
        wait_for(lambda: "keepalive" in two.events, 5, what="runner 2 kept alive")
        assert "work" not in two.events
    finally:
        one.close()
        two.close()
    wait_for(lambda: channel.connections == 0, 5, what="closed streams forgotten")


def test_a_wake_up_between_two_connections_is_delivered_on_reconnect(
    channel: wake.WakeChannel,
) -> None:
    channel.wake(7)  # nobody waits: kept for a few seconds
    s = Stream(_url(channel), "runner-7")
    try:
        wait_for(lambda: s.events[:2] == ["open", "work"], 5, what="pending wake-up")
    finally:
        s.close()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "x"}])
def test_without_a_valid_runner_token_the_channel_answers_401(
    channel: wake.WakeChannel, headers: dict[str, str]
) -> None:
    res = httpx.get(_url(channel), headers=headers, timeout=5)
    assert res.status_code == 401
    assert res.json()["code"] in ("unauthorized", "invalid_token")
    assert channel.connections == 0


def test_database_trouble_is_503_not_a_hang() -> None:
    def broken(token: str) -> tuple[int, float]:
        raise OSError("database is down")

    ch = wake.WakeChannel(broken, port=0)
    ch.start()
    try:
        res = httpx.get(_url(ch), headers={"Authorization": "Bearer t"}, timeout=5)
        assert res.status_code == 503 and res.json()["code"] == "unavailable"
    finally:
        ch.stop()


def test_the_stream_ends_when_the_token_expires() -> None:
    ch = wake.WakeChannel(lambda t: (1, time.time() + 0.5), port=0, keepalive=5)
    ch.start()
    try:
        began = time.monotonic()
        s = Stream(_url(ch), "runner-1")
        s._thread.join(10)
        assert not s._thread.is_alive() and s.events[:1] == ["open"]
        assert time.monotonic() - began < 5  # closed at expiry, not at the next keepalive
        s.close()
    finally:
        ch.stop()


# -- every way work arrives wakes the runner it was assigned to --------------------------------


@pytest.fixture
def woken(licensed_api: Api) -> list[int]:
    ids: list[int] = []
    licensed_api.client.app.hub.fleet_cache.wakers.append(ids.append)
    return ids


def test_api_request_wakes_the_idle_runner(licensed_api: Api, woken: list[int]) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api)
    ex = run(api, wf)
    assert woken == [runner["id"]]
    # the woken runner's poll finds exactly that execution
    assert api.get("/api/runner/poll", token=token).json["execution"]["id"] == ex["id"]


def test_labels_and_interactive_targets_wake_only_qualifying_runners(
    licensed_api: Api, woken: list[int]
) -> None:
    api = licensed_api
    wf = published_workflow(api)
    plain, _ = online_runner(api, "plain")
    sap, _ = online_runner(api, "sap", labels=["sap"])
    run(api, wf, labels=["sap"])
    assert woken == [sap["id"]]
    run(api, wf, runner_id=plain["id"])
    assert woken == [sap["id"], plain["id"]]
    run(api, wf, labels=["excel"])  # nobody qualifies: nobody is woken, it waits QUEUED
    assert woken == [sap["id"], plain["id"]]


def _finish(api: Api, token: str) -> None:
    ex_id = api.get("/api/runner/poll", token=token).json["execution"]["id"]
    for status in ("RUNNING", "COMPLETED"):
        res = api.post(
            f"/api/runner/executions/{ex_id}/status", {"attempt": 1, "status": status}, token=token
        )
        assert res.status_code == 200, res.text


def test_webhook_and_manual_trigger_wake_the_runner(licensed_api: Api, woken: list[int]) -> None:
    api = licensed_api
    wf = published_workflow(api)
    runner, token = online_runner(api)
    res = api.post("/api/triggers", {"workflow_id": wf, "type": "WEBHOOK"}, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    res = api.post(f"/api/triggers/webhook/{res.json['webhook_id']}", {"order": 1})
    assert res.status_code == 202, res.text
    assert woken == [runner["id"]]
    _finish(api, token)
    res = api.post("/api/triggers", {"workflow_id": wf, "type": "MANUAL"}, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    res = api.post(f"/api/triggers/{res.json['id']}/run", {}, as_="OPERATOR")
    assert res.status_code in (200, 201, 202), res.text
    assert woken == [runner["id"], runner["id"]]


def test_requeue_after_a_lost_runner_wakes_another(licensed_api: Api, woken: list[int]) -> None:
    import datetime as dt

    from hub import db
    from hub.models import Runner, utcnow

    api = licensed_api
    hub = api.client.app.hub
    wf = published_workflow(api)
    lost, _ = online_runner(api, "lost")
    ex = run(api, wf)
    assert woken == [lost["id"]]  # ASSIGNED to it; it never comes back
    other, _ = online_runner(api, "other")
    with db.connection():
        Runner.update(last_seen=utcnow() - dt.timedelta(hours=1)).where(
            Runner.id == lost["id"]
        ).execute()
    hub.dispatcher.started = utcnow() - dt.timedelta(hours=1)  # the hub has been up a while
    stats = hub.dispatcher.sweep(
        utcnow(), offline_after=120, queue_timeout=10**6, assigned_grace=0, running_grace=10**6
    )
    assert stats["requeued"] == 1, stats
    assert woken == [lost["id"], other["id"]]
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR").json
    assert got["status"] == "ASSIGNED" and got["runner_id"] == other["id"]


def test_the_authenticate_answer_names_the_channel(
    licensed_api: Api, hub_settings: Any, vendor_keys: Any
) -> None:
    runner, _ = online_runner(licensed_api)
    body = {"machine_key": runner["machine_key"], "machine_secret": runner["machine_secret"]}
    got = licensed_api.post("/api/runner/authenticate", body).json
    assert got.get("channel") is None  # this app serves no channel

    # a hub that serves one (as `exekra hub serve` builds it), on any free port
    hub_settings.port, hub_settings.channel_port = 0, 0
    app = create_app(hub_settings, serve_channel=True)
    channel = app.hub.channel
    assert channel is not None and not channel.running
    served = Api(falcon.testing.TestClient(app))
    got = served.post("/api/runner/authenticate", body).json
    assert got.get("channel") is None  # built but not started: runners are told nothing
    channel.start()
    try:
        got = served.post("/api/runner/authenticate", body).json["channel"]
        assert got == {"path": "/api/runner/wait", "keepalive": 20.0, "port": channel.port}
        hub_settings.channel_url = "https://hub.acme.test/api/runner/wait"
        got = served.post("/api/runner/authenticate", body).json["channel"]
        assert got["url"] == "https://hub.acme.test/api/runner/wait"
    finally:
        channel.stop()
        hub_settings.channel_url = ""


# -- across processes: PostgreSQL NOTIFY ----------------------------------------------------


@pytest.fixture
def pg_database() -> Iterator[Any]:
    import peewee

    url = create_pg_database("exekra_wake")
    name = url.rsplit("/", 1)[1]
    database = peewee.PostgresqlDatabase(name, host="127.0.0.1", port=5432, user="postgres")
    yield database
    database.close()
    drop_pg_database(url)


def test_an_assignment_in_another_process_wakes_the_runner_here(pg_database: Any) -> None:
    from hub import db

    here, there = FleetCache(), FleetCache()
    woken: list[int] = []
    here.wakers.append(woken.append)
    db.bind(pg_database)
    here.start(pg_database)
    try:
        wait_for(lambda: here.enabled, 10, what="listener up")
        with db.connection():
            there.changed(wake=42)  # what the dispatcher in the other process does
            there.changed()  # a plain change wakes nobody
        wait_for(lambda: woken == [42], 10, what="wake-up through NOTIFY")
        with db.connection():
            here.changed(wake=43)  # our own NOTIFY comes back: woken once, not twice
        wait_for(lambda: 43 in woken, 10, what="own wake-up")
        time.sleep(0.3)
        assert woken == [42, 43]
    finally:
        here.stop()


# -- the runner's listener -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hub_url", "info", "expected"),
    [
        ("http://hub:5000", {"path": "/api/runner/wait", "port": 5001}, "http://hub:5001/api/runner/wait"),
        ("https://hub.acme/base/", {"path": "/api/runner/wait", "port": None}, "https://hub.acme/base/api/runner/wait"),
        ("http://[::1]:5000", {"path": "/api/runner/wait", "port": 5001}, "http://[::1]:5001/api/runner/wait"),
        ("http://hub:5000", {"path": "/w", "url": "https://proxy/w"}, "https://proxy/w"),
        ("http://hub:5000", None, None),
        ("http://hub:5000", {"path": "nope", "port": 1}, None),
        ("http://hub:5000", {"path": "/w", "port": 70000}, None),
        ("http://hub:5000", {"path": "/w", "url": "file:///etc/passwd"}, "http://hub:5000/w"),
    ],
)  # fmt: skip
def test_channel_url(hub_url: str, info: Any, expected: str | None) -> None:
    assert channel_url(hub_url, info) == expected


def test_the_listener_reopens_after_the_channel_went_away() -> None:
    events: list[str] = []
    ch = wake.WakeChannel(_auth, port=0, keepalive=1)
    ch.start()
    port = ch.port
    listener = WakeListener(events.append, lambda: "runner-5", backoff_initial=0.2, backoff_max=0.5)
    listener.configure(f"http://127.0.0.1:{port}{wake.PATH}", keepalive=1)
    listener.start()
    try:
        wait_for(lambda: listener.connected and ch.connections == 1, 10, what="open")
        ch.wake(5)
        wait_for(lambda: events == ["open", "work"], 5, what="woken")
        ch.stop()  # the hub goes away (restart)
        wait_for(lambda: not listener.connected, 10, what="noticed the loss")
        ch = wake.WakeChannel(_auth, port=port, keepalive=1)
        ch.start()
        wait_for(lambda: listener.connected and listener.opened == 2, 15, what="reopened")
        ch.wake(5)
        wait_for(lambda: events == ["open", "work", "open", "work"], 5, what="woken again")
        thread = listener._thread
        assert thread is not None
        listener.stop(wait=10)  # the runner shuts down: the blocked read is cut, not waited out
        assert not thread.is_alive()
    finally:
        listener.stop()
        ch.stop()


def test_a_refused_channel_leaves_the_listener_backing_off_quietly() -> None:
    events: list[str] = []
    listener = WakeListener(events.append, lambda: "runner-5", backoff_initial=0.1, backoff_max=0.2)
    listener.configure("http://127.0.0.1:1/api/runner/wait")  # nothing listens there
    listener.start()
    try:
        wait_for(lambda: listener._failures >= 2, 20, what="it kept trying, with back-off")
        assert events == [] and not listener.connected
    finally:
        listener.stop()
