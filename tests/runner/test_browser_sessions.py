"""Browser sessions on real Chromium: opened by browser.open, closed whenever the execution ends
(completed, failed, stopped, node timeout) with none of the browser's processes left; named
sessions; persistent profiles; a trace kept as an artifact with the credential masked."""

from __future__ import annotations

import io
import sys
import threading
import time
import zipfile

import psutil
import pytest

from runner.activities.base import RunnerPolicy
from runner.engine import Status
from runner.settings import load_runner_settings

from . import browserkit
from .browserkit import CHROMIUM, TreeRun
from .enginekit import chain, node

site = browserkit.site
SECRET = "Trace-Secret-4711"


#: browser.open's settings, as the agent hands them to the engine (set for each test)
POLICY = RunnerPolicy()


@pytest.fixture(autouse=True)
def chromium_policy(monkeypatch, tmp_path):
    policy = RunnerPolicy(
        browser_executable=CHROMIUM,
        browser_timeout=2,
        browser_downloads=str(tmp_path / "runner" / "downloads"),
    )
    monkeypatch.setattr(sys.modules[__name__], "POLICY", policy)


def _open(site: str, **params) -> dict:
    return node("open", "browser.open", url=f"{site}/form", output="opened", **params)


def _run(g, **kw) -> TreeRun:
    kw.setdefault("policy", POLICY)
    r = TreeRun(g, **kw)
    r.run()
    return r


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_closed_when_the_execution_completes(site):
    before = _children()
    r = _run(chain(_open(site), node("t", "browser.get_text", target="h1", output="h1")))
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["h1"] == "Order"
    assert r.result.variables["opened"]["title"] == "Order form"
    assert r.pids and r.result.variables["opened"]["pid"] in r.pids
    assert r.alive() == []
    assert _children() - before == set()  # nor the Playwright driver


def test_closed_when_a_node_fails(site):
    r = _run(chain(_open(site), node("bad", "browser.click", target="#missing")))
    assert r.result.status == Status.FAILED and r.result.failed_node == "bad"
    assert r.pids and r.alive() == []


def test_closed_on_a_stop_request_while_waiting(site):
    g = chain(
        _open(site),
        node("wait", "browser.wait_for", target="#never", timeout=120),
    )
    r = TreeRun(g, policy=POLICY)
    stopper = threading.Thread(
        target=lambda: (
            _wait_for(lambda: r.pids and any("wait" == ln.node_id for ln in r.lines)),
            r.engine.stop(),
        )
    )
    stopper.start()
    started = time.monotonic()
    r.run()
    stopper.join()
    assert r.result.status == Status.STOPPED, r.text()
    assert time.monotonic() - started < 30  # not the 120 s wait
    assert r.pids and r.alive() == []


def test_node_timeout_interrupts_a_hung_page(site):
    g = chain(
        node("open", "browser.open", url=f"{site}/hang"),
        {**node("freeze", "browser.execute_js", script="while (true) {}"), "timeout": 2},
    )
    r = _run(g)
    assert r.result.status == Status.FAILED and r.result.failed_node == "freeze"
    assert "timed out after 2 s" in r.result.error
    assert r.pids and r.alive() == []


def test_named_sessions_and_close(site):
    g = chain(
        node("a", "browser.open", url=f"{site}/form", session="crm"),
        node("b", "browser.open", url=f"{site}/tables", session="erp"),
        node("ta", "browser.get_text", target="h1", session="crm", output="crm"),
        node("tb", "browser.extract_table", target="#html", session="erp", output="erp"),
        node("ambiguous", "browser.get_text", target="h1"),
    )
    r = _run(g)
    assert r.result.variables["crm"] == "Order" and len(r.result.variables["erp"]) == 2
    assert r.result.failed_node == "ambiguous"
    assert "several browser sessions are open (crm, erp)" in r.result.error
    assert len([ln for ln in r.lines if "opened" in ln.message]) == 2
    assert r.alive() == []

    r = _run(chain(node("o", "browser.open"), node("c", "browser.close"),
                   node("t", "browser.get_text", target="h1")))  # fmt: skip
    assert "no browser is open" in r.result.error and r.alive() == []


def test_persistent_profile_viewport_and_bad_params(site, tmp_path):
    profile = tmp_path / "profile"
    r = _run(
        chain(
            _open(site, user_data_dir=str(profile), viewport={"width": 800, "height": 600}),
            node("w", "browser.execute_js", script="return window.innerWidth", output="w"),
        )
    )
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["w"] == 800 and (profile / "Default").is_dir()
    assert r.alive() == []

    r = _run(chain(_open(site, viewport={"width": "wide"})))
    assert "param 'viewport' must be" in r.result.error
    for param in ("channel", "user_data_dir"):  # a template may render any value
        r = _run(chain(_open(site, **{param: {"a": 1}})))
        assert f"param {param!r} must be text, got dict" in r.result.error, r.text()
    r = _run(chain(_open(site, channel="msedge")))
    assert r.result.status == Status.FAILED
    assert "could not start the browser" in r.result.error and r.alive() == []


def test_the_agents_settings_reach_browser_open_not_the_environments(site, tmp_path, monkeypatch):
    """browser.open takes its settings from the policy the agent built from its own data
    folder (`runner start --data-dir X`), not from EXEKRA_RUNNER_* or ~/.exekra-runner."""
    monkeypatch.setenv("EXEKRA_RUNNER_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("EXEKRA_RUNNER_BROWSER_EXECUTABLE", str(tmp_path / "no-such-browser"))
    r = _run(chain(_open(site)))
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.alive() == []

    missing = str(tmp_path / "not-chromium")
    r = _run(chain(_open(site)), policy=RunnerPolicy(browser_executable=missing))
    assert r.result.status == Status.FAILED
    assert f"browser_executable={missing!r} is no file" in r.result.error


def test_activity_policy_carries_the_browser_settings_of_its_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("EXEKRA_RUNNER_DATA_DIR", raising=False)
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "runner-config.json").write_text(
        '{"browser_headless": false, "browser_executable": "/opt/c", "browser_timeout": 7}'
    )
    policy = load_runner_settings(str(folder)).activity_policy()
    assert (policy.browser_headless, policy.browser_executable) == (False, "/opt/c")
    assert policy.browser_timeout == 7.0
    assert policy.browser_downloads == str(folder / "downloads")
    policy = load_runner_settings(str(folder), browser_downloads="/srv/dl").activity_policy()
    assert policy.browser_downloads == "/srv/dl"


def test_trace_artifact_with_the_credential_masked(site):
    g = chain(
        _open(site, trace=True),
        node("pw", "browser.type", target="[name=pw]", text="{{credential}}", credential="v"),
        node("first", "browser.type", target="[name=first]", text="{{credential}}",
             credential="v"),
        node("bad", "browser.click", target="#missing"),
    )  # fmt: skip
    r = _run(g, credentials={"v": {"username": "u", "secret": SECRET}})
    assert r.result.status == Status.FAILED
    traces = [a for a in r.engine.scope.artifacts if a["kind"] == "trace"]
    assert [t["name"] for t in traces] == ["bad-trace.zip", "default-trace.zip"]
    for artifact in r.engine.scope.artifacts:
        assert SECRET.encode() not in artifact["data"], artifact["name"]
    with zipfile.ZipFile(io.BytesIO(traces[0]["data"])) as zf:
        members = zf.namelist()
        assert any(m.endswith(".trace") for m in members)
        assert all(SECRET.encode() not in zf.read(m) for m in members)
        assert any(b"fill" in zf.read(m) for m in members if m.endswith(".trace"))
    assert SECRET not in r.text() and r.alive() == []


def _wait_for(predicate, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met")
