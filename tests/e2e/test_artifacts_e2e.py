"""Execution artifacts end to end: real `exekra hub serve` and `exekra runner start` processes.

A workflow attaches files (``file.attach`` goes through ``ctx.scope.add_artifact``, the agent's
sink and the runner client to the hub), one of them above the hub's ``artifact_max_bytes``,
then fails; the artifacts are listed and downloadable, the refused one is a warning and not a
failure. A second test drives the real :class:`runner.agent.Agent` in process against the
real hub process for what no activity on this branch produces yet: a selector repair, which
then becomes a draft.
"""

from __future__ import annotations

import threading

import pytest

from runner.agent import Agent
from runner.secrets_store import SecretStore
from runner.settings import load_runner_settings
from tests.e2e.platform import Platform
from tests.support import create_pg_database, drop_pg_database, wait_for

LIMIT = 200_000


@pytest.fixture(params=["sqlite", "postgres"])
def platform(request, tmp_path, vendor_keys):
    db_url = create_pg_database() if request.param == "postgres" else f"sqlite:///{tmp_path}/h.db"
    plat = Platform(
        tmp_path,
        vendor_keys[0],
        vendor_keys[1],
        db_url,
        hub_env={"EXEKRA_ARTIFACT_MAX_BYTES": str(LIMIT), "EXEKRA_ARTIFACT_RETENTION_DAYS": "30"},
    )
    yield plat
    plat.close()
    if request.param == "postgres":
        drop_pg_database(db_url)


def test_a_workflow_attaches_files_and_fails_with_them_kept(platform: Platform) -> None:
    p = platform
    report, big = p.tmp / "report.csv", p.tmp / "huge.bin"
    big.write_bytes(b"\x00" * (LIMIT + 1))
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "write", "type": "file.write",
             "params": {"path": str(report), "content": "id,total\n1,9.50\n"}},
            {"id": "attach", "type": "file.attach",
             "params": {"path": str(report), "name": "Monthly report.csv", "output": "rec"}},
            {"id": "too_big", "type": "file.attach",
             "params": {"path": str(big), "kind": "download", "output": "nothing"}},
            {"id": "show", "type": "log.write",
             "params": {"message": "attached {rec.name} as {rec.id}; big: {nothing}"}},
            {"id": "boom", "type": "file.read",
             "params": {"path": str(p.tmp / "missing.txt"), "output": "x"}},
        ],
        "edges": [
            {"from": "write", "to": "attach"},
            {"from": "attach", "to": "too_big"},
            {"from": "too_big", "to": "show"},
            {"from": "show", "to": "boom"},
        ],
    }  # fmt: skip
    reg = p.connect_runner("att")
    p.start_runner("att")
    p.wait_runner_status(reg["id"], "ONLINE")
    ex_id = p.run(p.publish("attach", graph))
    ex = p.wait_status(ex_id, "COMPLETED", "FAILED")
    assert ex["status"] == "FAILED" and ex["failed_node"] == "boom", ex
    (art,) = ex["artifacts"]
    assert art["name"] == "Monthly report.csv" and art["kind"] == "file"
    assert art["node_id"] == "attach" and art["content_type"] == "text/csv"
    assert art["size"] == len("id,total\n1,9.50\n")
    res = p.api("GET", f"/api/executions/{ex_id}/artifacts/{art['id']}")
    assert res.status_code == 200 and res.content == b"id,total\n1,9.50\n"
    assert res.headers["content-disposition"].startswith("attachment;")
    messages = [line["message"] for line in p.logs(ex_id)]
    assert f"attached Monthly report.csv as {art['id']}; big: " in messages
    assert any("huge.bin" in m and "not attached" in m for m in messages), messages
    # the refusal (413) is a warning in the runner's own log, naming the artifact
    wait_for(lambda: "'huge.bin'" in p.runner_log("att"), 10, what="the runner's warning")
    line = next(x for x in p.runner_log("att").splitlines() if "'huge.bin'" in x)
    assert "WARNING" in line and "not uploaded" in line and str(LIMIT) in line
    listed = p.api("GET", f"/api/executions/{ex_id}/artifacts").json()["items"]
    assert [a["id"] for a in listed] == [art["id"]]


def test_the_agent_sends_artifacts_and_repairs_to_the_hub(platform: Platform) -> None:
    """The agent's scope in process (no activity here reports repairs yet) against the real
    hub process: an artifact, a repair, then a hub that refuses them — never an exception."""
    p = platform
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [{"id": "pick", "type": "variable.set", "params": {"name": "t", "value": "#a"}}],
        "edges": [],
    }
    p.connect_runner("inproc")
    settings = load_runner_settings(str(p.tmp / "runner-inproc"), hub_url=p.hub.url)
    secret = SecretStore(settings.data_path, use_keyring=False).load(settings.machine_key)
    assert secret
    agent = Agent(settings, secret, executor=lambda payload, sink, stop: {})
    try:
        agent.client.authenticate(settings.machine_key, agent.secret)
        agent.client.heartbeat({"cpu": 1.0})  # ONLINE: it may take work
        ex_id = p.run(p.publish("repairable", graph))
        payload = wait_for(agent.client.poll, 20, 0.2, "the execution")
        assert payload["id"] == ex_id
        agent.client.status(ex_id, {"attempt": payload["attempt"], "status": "RUNNING"})
        scope = agent.scope_for(payload)
        record = scope.add_artifact(
            "page.png", b"\x89PNG\r\n\x1a\nfake", kind="screenshot", content_type="image/png",
            node_id="pick",
        )  # fmt: skip
        assert record is not None and record["id"] > 0 and record["node_id"] == "pick"
        new = {"selector": "#b", "fingerprint": {"tag": "input", "text": "", "index": 0}}
        errors: list[BaseException] = []

        def repair() -> None:  # from another thread, as nodes do
            try:
                scope.report_repair("pick", "value", "#a", new, score=0.91)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        worker = threading.Thread(target=repair)
        worker.start()
        worker.join(20)
        assert not errors
        ex = p.execution(ex_id)
        assert [a["name"] for a in ex["artifacts"]] == ["page.png"]
        (rep,) = ex["selector_repairs"]
        assert rep["node_id"] == "pick" and rep["new"] == new and rep["score"] == 0.91
        res = p.api("POST", f"/api/executions/{ex_id}/repairs/apply")
        assert res.status_code == 201, res.text
        assert res.json()["graph"]["nodes"][0]["params"]["value"] == {**new, "fallbacks": ["#a"]}

        # once finished, the hub refuses both: the sinks swallow it (a warning, no raise)
        agent.client.finish(ex_id, {"attempt": payload["attempt"], "status": "COMPLETED"})
        assert scope.add_artifact("late.txt", b"x", kind="file") is None
        scope.report_repair("pick", "value", "#a", new, score=0.5)
        # and a hub that is gone: the upload gives up within the timeout, no exception
        p.hub.stop()
        assert scope.add_artifact("gone.txt", b"x", kind="file") is None
    finally:
        agent.client.close()
    p.hub.start()
    ex = p.execution(ex_id)
    assert [a["name"] for a in ex["artifacts"]] == ["page.png"] and len(ex["selector_repairs"]) == 1
