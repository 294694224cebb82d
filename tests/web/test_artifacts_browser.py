"""The failing node's screenshot in real Chromium: the <img> loads from the artifact route
with the page's cookie session under the page's CSP, and the download link downloads.

A real ``exekra hub serve`` process; the execution, its screenshot (taken by Chromium itself)
and its failure come over the runner protocol (HTTP), as a runner would send them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.console.conftest import EMAILS, LiveHub, start_hub
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]


@pytest.fixture
def live(tmp_path: Path, vendor_keys: tuple[Path, Path]) -> Iterator[LiveHub]:
    hub = start_hub(tmp_path, vendor_keys)
    try:
        yield hub
    finally:
        hub.process.stop()


def failed_execution(hub: LiveHub, screenshot: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [{"id": "submit", "type": "log.write", "params": {"message": "x"}}],
        "edges": [],
    }
    wf = hub.call("POST", "/api/workflows", "DEVELOPER", json={"name": "shots", "graph": graph})
    hub.call("POST", f"/api/workflows/{wf['id']}/publish", "DEVELOPER")
    runner = hub.call("POST", "/api/runners", json={"name": "shooter"})
    with httpx.Client(base_url=hub.url, timeout=10) as http:
        auth = {"machine_key": runner["machine_key"], "machine_secret": runner["machine_secret"]}
        h = {
            "Authorization": "Bearer "
            + http.post("/api/runner/authenticate", json=auth).json()["token"]
        }
        http.post("/api/runner/heartbeat", json={}, headers=h)
        ex = hub.call("POST", "/api/executions", "OPERATOR", json={"workflow_id": wf["id"]})
        payload = http.get("/api/runner/poll", headers=h).json()["execution"]
        assert payload["id"] == ex["id"]
        base, attempt = f"/api/runner/executions/{ex['id']}", payload["attempt"]
        http.post(f"{base}/status", json={"attempt": attempt, "status": "RUNNING"}, headers=h)
        res = http.post(
            f"{base}/artifacts",
            params={"attempt": attempt, "name": "submit-failure.png", "kind": "screenshot",
                    "node_id": "submit"},
            content=screenshot,
            headers={**h, "Content-Type": "image/png"},
        )  # fmt: skip
        assert res.status_code == 201, res.text
        body = {"attempt": attempt, "status": "FAILED", "error": "no such element",
                "failed_node": "submit"}  # fmt: skip
        assert http.post(f"{base}/status", json=body, headers=h).status_code == 200
    return ex, res.json()


def test_screenshot_shows_beside_the_failing_node(live: LiveHub, tmp_path: Path) -> None:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            shooter = chromium.new_page(viewport={"width": 320, "height": 200})
            shooter.set_content("<body style='background:#c00'><h1>Checkout</h1></body>")
            png = shooter.screenshot()
            ex, art = failed_execution(live, png)

            context = chromium.new_context(base_url=live.url, accept_downloads=True)
            page = context.new_page()
            errors: list[str] = []
            failed: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            page.goto(f"/executions/{ex['id']}")
            page.get_by_label("Email").fill(EMAILS["OPERATOR"])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"**/executions/{ex['id']}")
            img = page.locator("figure.failure-shot img")
            img.wait_for()
            size = img.evaluate(
                "i => i.decode().then(() => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            assert size == [True, 320, 200]
            assert img.get_attribute("alt") == "Screenshot of node submit when it failed"
            # beside the error, not below it (wide screen: two columns)
            error_box = page.locator("section.failure pre.error-text").bounding_box()
            shot_box = page.locator("figure.failure-shot").bounding_box()
            assert (
                error_box and shot_box and shot_box["x"] > error_box["x"] + error_box["width"] - 1
            )
            with page.expect_download() as info:
                page.locator(f'tr[data-artifact="{art["id"]}"] a').click()
            download = info.value
            assert download.suggested_filename == "submit-failure.png"
            saved = tmp_path / "got.png"
            download.save_as(saved)
            assert saved.read_bytes() == png
            # every load of the page succeeded (image, stylesheet, script) and nothing was
            # blocked by the CSP; the browser's own favicon probe (a 404 the page never makes,
            # so no response event) is the only console error Chromium may log
            assert failed == []
            assert all(e.startswith("Failed to load resource") for e in errors), errors
            assert len(errors) <= 1, errors
            context.close()
        finally:
            chromium.close()
