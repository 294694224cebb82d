"""Real hub and real `exekra runner start` processes over HTTP: runs, failures, stops, crashes,
re-queues and hub restarts. Stale thresholds are shortened through the hub's settings."""

from __future__ import annotations

import datetime as dt
import os
import signal

import pytest

from tests.e2e.platform import Platform, delay_graph
from tests.support import create_pg_database, drop_pg_database, wait_for
from workflows import examples


@pytest.fixture(params=["sqlite", "postgres"])
def platform(request, tmp_path, vendor_keys):
    if request.param == "postgres":
        db_url = create_pg_database()
    else:
        db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub_env = request.node.get_closest_marker("hub_env")
    plat = Platform(
        tmp_path,
        vendor_keys[0],
        vendor_keys[1],
        db_url,
        hub_env=hub_env.kwargs if hub_env is not None else None,
    )
    yield plat
    plat.close()
    if request.param == "postgres":
        drop_pg_database(db_url)


def test_workflows_run_fail_and_stop(platform):
    p = platform
    reg = p.connect_runner("alpha")
    p.start_runner("alpha")
    p.wait_runner_status(reg["id"], "ONLINE")

    # an example workflow runs to COMPLETED with its logs and metrics at the hub
    wf = p.publish("hello", examples.load("hello"))
    ex_id = p.run(wf)
    ex = p.wait_status(ex_id, "COMPLETED", "FAILED")
    assert ex["status"] == "COMPLETED", ex
    assert ex["runner_id"] == reg["id"] and ex["started_at"] and ex["finished_at"]
    assert set(ex["metrics"]) >= {"cpu_avg", "cpu_peak", "mem_avg_mb", "mem_peak_mb"}
    assert ex["metrics"]["mem_peak_mb"] > 0
    logs = p.logs(ex_id)
    assert logs and [line["seq"] for line in logs] == sorted(line["seq"] for line in logs)
    assert all(line["node_id"] is None or isinstance(line["node_id"], str) for line in logs)

    # a failing node gives FAILED naming the node
    bad = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "start", "type": "log.write", "params": {"message": "go"}},
            {"id": "boom", "type": "file.read",
             "params": {"path": str(p.tmp / "missing.txt"), "output": "x"}},
        ],
        "edges": [{"from": "start", "to": "boom"}],
    }  # fmt: skip
    ex = p.wait_status(p.run(p.publish("broken", bad)), "COMPLETED", "FAILED")
    assert ex["status"] == "FAILED" and ex["failed_node"] == "boom"
    assert "missing.txt" in (ex["error"] or "") and ex["reason"] == "activity_error"

    # a stop request stops a running flow.delay
    slow = p.publish("slow", delay_graph(60))
    ex_id = p.run(slow)
    p.wait_status(ex_id, "RUNNING")
    wait_for(lambda: any(line["message"] == "starting" for line in p.logs(ex_id)), 20)
    assert p.api("POST", f"/api/executions/{ex_id}/stop").status_code in (200, 202)
    ex = p.wait_status(ex_id, "STOPPED", "FAILED", "COMPLETED", timeout=30)
    assert ex["status"] == "STOPPED", ex
    p.wait_runner_status(reg["id"], "ONLINE")


def test_sigterm_reports_running_execution_as_stopped(platform):
    p = platform
    reg = p.connect_runner("beta")
    proc = p.start_runner("beta")
    p.wait_runner_status(reg["id"], "ONLINE")
    ex_id = p.run(p.publish("slow", delay_graph(60)))
    p.wait_status(ex_id, "RUNNING")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    ex = p.wait_status(ex_id, "STOPPED", "FAILED", timeout=10)
    assert ex["status"] == "STOPPED", ex


def test_killed_runner_fails_running_execution(platform):
    p = platform
    reg = p.connect_runner("gamma")
    proc = p.start_runner("gamma")
    p.wait_runner_status(reg["id"], "ONLINE")
    ex_id = p.run(p.publish("slow", delay_graph(60)))
    p.wait_status(ex_id, "RUNNING")
    proc.kill()  # kill -9: no goodbye
    ex = p.wait_status(ex_id, "FAILED", timeout=45)
    assert ex["reason"] == "runner_lost", ex
    p.wait_runner_status(reg["id"], "OFFLINE")


def test_runner_killed_while_assigned_is_requeued_and_completed_by_another(platform):
    p = platform
    a = p.connect_runner("frozen")
    proc = p.start_runner("frozen")
    p.wait_runner_status(a["id"], "ONLINE")
    os.kill(proc.pid, signal.SIGSTOP)  # alive to the hub for a few seconds, but never polls
    try:
        ex_id = p.run(p.publish("quick", delay_graph(0.1)))
        ex = p.wait_status(ex_id, "ASSIGNED", "COMPLETED", "FAILED", timeout=30)
        assert ex["status"] == "ASSIGNED" and ex["runner_id"] == a["id"], ex
    finally:
        proc.kill()
    b = p.connect_runner("rescuer")
    p.start_runner("rescuer")
    ex = p.wait_status(ex_id, "COMPLETED", "FAILED", timeout=60)
    assert ex["status"] == "COMPLETED", ex
    assert ex["runner_id"] == b["id"] and ex["requeue_count"] == 1 and ex["attempt"] >= 2


# The runner must come back within the offline window after the restart; on a loaded CI
# machine re-authenticating can take a few seconds, so this test keeps a wider window.
@pytest.mark.hub_env(EXEKRA_RUNNER_OFFLINE_AFTER="20")
def test_hub_restart_while_runner_runs(platform):
    p = platform
    reg = p.connect_runner("delta")
    p.start_runner("delta")
    p.wait_runner_status(reg["id"], "ONLINE")
    ex_id = p.run(p.publish("slowish", delay_graph(4)))
    p.wait_status(ex_id, "RUNNING")
    p.hub.stop()
    p.hub.start()  # same port, same database
    ex = p.wait_status(ex_id, "COMPLETED", "FAILED", timeout=60)
    assert ex["status"] == "COMPLETED", (ex, p.runner_log("delta")[-2000:])
    assert any(line["message"] == "finished" for line in p.logs(ex_id))
    p.wait_runner_status(reg["id"], "ONLINE")


def test_runner_goes_from_one_execution_to_the_next_without_polling(platform):
    """With a 60 s poll interval, three waiting executions still run back to back: each final
    report hands the runner its next execution (``next``), so only the first needed a poll."""
    p = platform
    graph = examples.load("hello")
    graph["variables"].pop("name")  # declared as an input instead: runs may set it
    graph["inputs"] = [{"name": "name", "type": "string", "default": "World"}]
    wf = p.publish("hello", graph)
    ids = [p.run(wf, inputs={"name": who}) for who in ("Ada", "Bo", "Cy")]  # no runner yet
    reg = p.connect_runner("chain")
    p.start_runner("chain", env={"EXEKRA_RUNNER_POLL_INTERVAL": "60"})
    done = [p.wait_status(ex_id, "COMPLETED", "FAILED", timeout=40) for ex_id in ids]
    assert [ex["status"] for ex in done] == ["COMPLETED"] * 3, done
    assert len(set(ids)) == 3 and {ex["runner_id"] for ex in done} == {reg["id"]}
    for before, after in zip(done, done[1:], strict=False):
        finished = dt.datetime.fromisoformat(before["finished_at"].replace("Z", "+00:00"))
        assigned = dt.datetime.fromisoformat(after["assigned_at"].replace("Z", "+00:00"))
        # handed over with the previous report, not at a poll up to 60 s later
        assert dt.timedelta(0) <= assigned - finished < dt.timedelta(seconds=5), done
