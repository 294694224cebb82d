"""A restarted hub heard no heartbeats while it was down: it must not fail the work of runners
that are alive, but must still fail it once they stay silent for the full window after start."""

from __future__ import annotations

import datetime as dt

from hub.models import Execution, Runner
from tests.hub.test_runners_support import online_runner, published_workflow, run


def test_silence_counts_from_the_hub_start(licensed_api, hub_app):
    api, hub = licensed_api, hub_app.hub
    runner, token = online_runner(api, "survivor")
    ex = run(api, published_workflow(api))
    res = api.get("/api/runner/poll", token=token)
    assert res.status_code == 200
    attempt = res.json["execution"]["attempt"]
    res = api.post(
        f"/api/runner/executions/{ex['id']}/status",
        {"attempt": attempt, "status": "RUNNING"},
        token=token,
    )
    assert res.status_code == 200, res.text
    # the hub was down for an hour: the runner's last heartbeat is old
    dispatcher = hub.dispatcher
    start = dispatcher.started
    Runner.update(last_seen=start - dt.timedelta(hours=1)).execute()
    kw = {"offline_after": 120, "queue_timeout": 600, "assigned_grace": 300, "running_grace": 300}
    # just after the restart nothing is judged: the runner gets a full window to report in
    dispatcher.sweep(start + dt.timedelta(seconds=5), **kw)
    assert Runner.get_by_id(runner["id"]).status != "OFFLINE"
    assert Execution.get_by_id(ex["id"]).status == "RUNNING"
    # it stays silent past the window: OFFLINE, and then its execution is lost
    dispatcher.sweep(start + dt.timedelta(seconds=121), **kw)
    assert Runner.get_by_id(runner["id"]).status == "OFFLINE"
    dispatcher.sweep(start + dt.timedelta(seconds=121 + 301), **kw)
    failed = Execution.get_by_id(ex["id"])
    assert failed.status == "FAILED" and failed.reason == "runner_lost"
