"""``exekra record`` as a real process: it serves the Studio page, starts Chromium with the
extension (driven here over CDP, the way a designer would click), records, and writes the
graph; without the extension in the browser it says so. Saving to a hub is covered by
tests/e2e/test_record_replay.py (it needs the browser.* catalog)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from playwright.sync_api import sync_playwright

from tests.extension.kit import CHROMIUM, Pages
from tests.support import REPO, free_port, wait_for

pytestmark = pytest.mark.e2e

SECRET = "s3cret-typed-in-the-cli-test"  # noqa: S105


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    p = Pages()
    yield p
    p.close()


class Output:
    """Collects a process's stdout on a thread (so reading never blocks the test)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "exekra", "record", *args],
        cwd=REPO,
        env={**os.environ, "EXEKRA_CONSOLE_DIR": "/nonexistent-exekra", **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exekra", "record", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "EXEKRA_CONSOLE_DIR": "/nonexistent-exekra", "EXEKRA_TOKEN": ""},
    )


def test_help_and_usage_errors() -> None:
    res = run("--help")
    assert res.returncode == 0
    for flag in ("--url", "--workflow", "--new", "--out", "--no-browser", "--credential", "ssh -L"):
        assert flag in res.stdout
    top = subprocess.run(
        [sys.executable, "-m", "exekra", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert "Record a browser task as a workflow." in top.stdout
    res = run("--url", "ftp://x", "--out", "x.json")
    assert res.returncode == 2 and "--url must be an http:// or https:// URL" in res.stderr
    res = run("--url", "http://127.0.0.1:1/")
    assert res.returncode == 2 and "--new NAME, --workflow ID or --out" in res.stderr
    res = run("--url", "http://127.0.0.1:1/", "--new", "a", "--workflow", "3")
    assert res.returncode == 2 and "not both" in res.stderr
    res = run("--url", "http://127.0.0.1:1/", "--new", "x", "--hub", "http://127.0.0.1:9")
    assert res.returncode == 2 and "not signed in to http://127.0.0.1:9" in res.stderr


def test_record_in_the_browser_it_starts(pages: Pages, tmp_path: Path) -> None:
    out = tmp_path / "recorded.json"
    cdp = free_port()
    env = {
        "EXEKRA_RECORD_BROWSER_ARGS": f"--headless=new --no-sandbox --disable-gpu "
        f"--remote-debugging-port={cdp}"
    }
    proc = start(
        ["--url", pages.url("form1.html"), "--out", str(out), "--browser", CHROMIUM,
         "--credential", "signup"],
        env,
    )  # fmt: skip
    assert proc.stdout
    output = Output(proc.stdout)
    try:
        wait_for(lambda: "press Enter here" in output.text, 60, 0.2, "recording started")
        with sync_playwright() as p:
            browser = p.chromium.connect_over_cdp(f"http://127.0.0.1:{cdp}")
            try:
                ctx = browser.contexts[0]
                page = wait_for(
                    lambda: next((pg for pg in ctx.pages if pg.url.endswith("form1.html")), None),
                    30,
                    0.2,
                    "the recorded tab",
                )
                page.locator("#u-29").wait_for()
                page.locator("#u-29").press_sequentially("grace")
                page.locator("#p-30").press_sequentially(SECRET)
                page.locator("button.next").click()
                page.wait_for_url("**/form2.html")
                wait_for(lambda: "navigate" in output.text, 20, 0.2, "live actions printed")
            finally:
                browser.close()
        assert proc.stdin
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0, output.text
    finally:
        stop(proc)
    output.thread.join(timeout=10)
    text = output.text
    assert "recorded 4 action(s)" in text, text
    assert re.search(r"type\s+.*\"grace\"", text)  # live, one line per action
    assert f"wrote {out}" in text and "'signup'" in text  # the credential note
    graph = json.loads(out.read_text())
    assert [n["type"] for n in graph["nodes"]] == [
        "browser.open", "browser.type", "browser.type", "browser.click", "browser.wait_for",
        "browser.close",
    ]  # fmt: skip
    assert graph["nodes"][2]["params"]["credential"] == "signup"
    assert SECRET not in text and SECRET not in out.read_text()


def test_a_browser_without_the_extension_is_told_so(pages: Pages) -> None:
    port = free_port()
    proc = start(["--url", pages.url("form1.html"), "--out", "/dev/null", "--no-browser",
                  "--port", str(port)])  # fmt: skip
    assert proc.stdout
    output = Output(proc.stdout)
    try:
        url = wait_for(
            lambda: next((ln.strip() for ln in output.lines if "/studio/" in ln), None), 30
        )
        assert url.startswith(f"http://127.0.0.1:{port}/studio/")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                # the token is the only way in
                assert page.goto(url.rsplit("/", 1)[0] + "/wrong").status == 404
                page.goto(url)
                page.wait_for_selector("text=not installed", timeout=15000)
            finally:
                browser.close()
        assert proc.wait(timeout=30) == 2
    finally:
        stop(proc)
    output.thread.join(timeout=10)
    assert "the Exekra extension is not installed in that browser" in output.text
