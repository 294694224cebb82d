"""Record → save → replay: ``exekra record`` (a real process) records a sign-up in Chromium
with the extension loaded and saves it to a real hub as a new workflow; a real runner replays
it through the ``browser.*`` activities to COMPLETED and reaches the same end state — the same
summary on the last page, which shows who signed up, their password's length (the vault
secret was typed) and the city.

Needs the runner's ``browser.*`` activities and their catalog (issue 12)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platform import Platform
from tests.extension.kit import Pages, extension_browser
from tests.extension.test_record_cli import Output, stop
from tests.support import REPO, free_port, wait_for

pytestmark = pytest.mark.e2e

SECRET = "replay-secret-9f3a"  # noqa: S105 - stored in the vault by the test


@pytest.fixture
def platform(tmp_path: Path, vendor_keys: tuple[Path, Path]) -> Iterator[Platform]:
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    yield plat
    plat.close()


@pytest.fixture
def pages() -> Iterator[Pages]:
    p = Pages()
    yield p
    p.close()


def record(platform: Platform, pages: Pages, tmp_path: Path) -> tuple[int, str]:
    """Record the sign-up with `exekra record --new`; returns the workflow id and the summary
    the last page showed."""
    port = free_port()
    token = platform.http.headers["Authorization"].split(" ", 1)[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "exekra", "record", "--url", pages.url("form1.html"),
         "--new", "Sign up", "--hub", platform.hub.url, "--credential", "signup-login",
         "--no-browser", "--port", str(port)],
        cwd=REPO, env={**os.environ, "EXEKRA_TOKEN": token}, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout and proc.stdin
    output = Output(proc.stdout)
    try:
        url = wait_for(
            lambda: next((ln.strip() for ln in output.lines if "/studio/" in ln), None), 30
        )
        with extension_browser(tmp_path / "profile") as ctx:
            studio = ctx.new_page()
            studio.goto(url)
            page = wait_for(
                lambda: (
                    next((pg for pg in ctx.pages if pg.url.endswith("form1.html")), None)
                    or studio.wait_for_timeout(100)
                ),
                30,
                what="the recorded tab",
            )
            page.wait_for_load_state()
            page.locator("#u-29").press_sequentially("ada")
            page.locator("#p-30").press_sequentially(SECRET)
            page.locator("select").focus()
            page.keyboard.press("ArrowDown")
            page.get_by_text("I accept the terms").click()
            page.locator("button.next").click()
            page.wait_for_url("**/form2.html")
            page.locator("[name=city]").press_sequentially("Paris")
            page.keyboard.press("Enter")
            page.wait_for_url("**/done.html?city=Paris")
            summary = page.locator("#summary").inner_text()
            wait_for(lambda: "done.html" in output.text, 20, 0.2, "the last navigation")
            proc.stdin.write("\n")
            proc.stdin.flush()
            assert proc.wait(timeout=60) == 0, output.text
    finally:
        stop(proc)
    output.thread.join(timeout=10)
    assert SECRET not in output.text
    match = re.search(r"\(workflow (\d+)\) as draft v1", output.text)
    assert match, output.text
    return int(match.group(1)), summary


def test_record_save_and_replay_on_a_real_runner(
    platform: Platform, pages: Pages, tmp_path: Path
) -> None:
    p = platform
    reg = p.connect_runner("web")
    p.start_runner("web")
    p.wait_runner_status(reg["id"], "ONLINE")
    res = p.api("POST", "/api/credentials", json={"name": "signup-login", "secret": SECRET})
    assert res.status_code == 201, res.text

    wf_id, recorded_summary = record(p, pages, tmp_path)
    assert recorded_summary == f"ada / {len(SECRET)} / Paris"
    versions = p.api("GET", f"/api/workflows/{wf_id}/versions").json()["items"]
    graph = p.api("GET", f"/api/workflows/{wf_id}/versions/{versions[0]['number']}").json()["graph"]
    assert SECRET not in json.dumps(graph)
    types = [n["type"] for n in graph["nodes"]]
    assert types[0] == "browser.open" and types[-1] == "browser.close"
    assert "browser.wait_for" in types and types.count("browser.type") == 3

    # read the end state before closing: the summary line into a variable, logged
    close = graph["nodes"][-1]["id"]
    graph["nodes"].insert(-1, {"id": "summary", "type": "browser.get_text",
                               "params": {"target": "#summary", "output": "summary"}})  # fmt: skip
    graph["nodes"].insert(-1, {"id": "report", "type": "log.write",
                               "params": {"message": "end state: {summary}"}})  # fmt: skip
    for e in graph["edges"]:
        if e["to"] == close:
            e["to"] = "summary"
    graph["edges"] += [{"from": "summary", "to": "report"}, {"from": "report", "to": close}]
    res = p.api("POST", f"/api/workflows/{wf_id}/versions", json={"graph": graph})
    assert res.status_code == 201, res.text
    assert p.api("POST", f"/api/workflows/{wf_id}/publish").status_code == 200

    ex = p.wait_status(p.run(wf_id), "COMPLETED", "FAILED", timeout=120)
    assert ex["status"] == "COMPLETED", ex
    messages = [line["message"] for line in p.logs(ex["id"])]
    assert f"end state: {recorded_summary}" in messages, messages
    assert not any(SECRET in m for m in messages)
