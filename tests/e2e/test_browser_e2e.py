"""A browser workflow on real `exekra hub serve` and `exekra runner start` processes: it fills a
form in Chromium on the runner, reports COMPLETED with its logs at the hub, and the browser it
started is gone afterwards; a failing browser node fails the execution naming it."""

from __future__ import annotations

import re
import signal

import psutil
import pytest

from tests.e2e.platform import Platform
from tests.runner.browser_pages import serve
from tests.support import wait_for

pytestmark = pytest.mark.e2e

SECRET = "e2e-Vault-Secret-31"


@pytest.fixture
def platform(tmp_path, vendor_keys):
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    yield plat
    plat.close()


@pytest.fixture(scope="module")
def site():
    with serve() as base:
        yield base


def _graph(site: str, *, fail: bool = False) -> dict:
    nodes = [
        {"id": "open", "type": "browser.open", "params": {"url": f"{site}/form"}},
        {"id": "name", "type": "browser.type",
         "params": {"target": 'internal:label="First name"', "text": "Grace"}},
        {"id": "pw", "type": "browser.type",
         "params": {"target": "input[type=password]", "text": "{{credential}}",
                    "credential": "vault"}},
        {"id": "send", "type": "browser.click", "params": {"target": "text=Send"}},
        {"id": "read", "type": "browser.get_text", "params": {"target": "#out", "output": "out"}},
        {"id": "say", "type": "log.write", "params": {"message": "page says: {out}"}},
    ]  # fmt: skip
    if fail:
        nodes.insert(3, {"id": "missing", "type": "browser.click", "params": {"target": "#gone"},
                         "timeout": 5})  # fmt: skip
    edges = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"format": 1, "variables": {}, "nodes": nodes, "edges": edges}


def _browser_pids(logs: list[dict]) -> list[int]:
    found = [re.search(r"opened: Chromium .* \(pid (\d+)\)", ln["message"]) for ln in logs]
    return [int(m.group(1)) for m in found if m]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_browser_workflow_on_a_real_runner(platform, site):
    p = platform
    res = p.api("POST", "/api/credentials",
                json={"name": "vault", "username": "grace", "secret": SECRET})  # fmt: skip
    assert res.status_code == 201, res.text
    reg = p.connect_runner("web")
    p.start_runner("web")
    p.wait_runner_status(reg["id"], "ONLINE")

    ex_id = p.run(p.publish("web form", _graph(site)))
    ex = p.wait_status(ex_id, "COMPLETED", "FAILED", timeout=90)
    assert ex["status"] == "COMPLETED", ex
    logs = p.logs(ex["id"])
    assert [ln["message"] for ln in logs if ln["node_id"] == "say"] == [
        f"page says: sent Grace de false {len(SECRET)}"
    ]
    [pid] = _browser_pids(logs)
    assert _gone(pid)
    assert SECRET not in str(logs)

    ex = p.wait_status(p.run(p.publish("broken", _graph(site, fail=True))), "COMPLETED", "FAILED",
                       timeout=90)  # fmt: skip
    assert ex["status"] == "FAILED" and ex["failed_node"] == "missing"
    assert "#gone" in ex["error"] and SECRET not in ex["error"]
    [pid] = _browser_pids(p.logs(ex["id"]))
    assert _gone(pid)
    assert SECRET not in p.runner_log("web")


def test_runner_shutdown_closes_the_browser(platform, site):
    """SIGTERM while a browser node waits: the execution is STOPPED and its browser is gone."""
    p = platform
    reg = p.connect_runner("web")
    proc = p.start_runner("web")
    p.wait_runner_status(reg["id"], "ONLINE")
    graph = {
        "format": 1, "variables": {}, "edges": [{"from": "open", "to": "wait"}],
        "nodes": [
            {"id": "open", "type": "browser.open", "params": {"url": f"{site}/form"}},
            {"id": "wait", "type": "browser.wait_for",
             "params": {"target": "#never", "timeout": 300}},
        ],
    }  # fmt: skip
    ex_id = p.run(p.publish("waits", graph))
    pids = wait_for(lambda: _browser_pids(p.logs(ex_id)), 60, 0.2, "the browser to open")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    ex = p.wait_status(ex_id, "STOPPED", "FAILED", "COMPLETED", timeout=30)
    assert ex["status"] == "STOPPED", ex
    assert all(_gone(pid) for pid in pids)
