"""RPA Challenge "Input Forms" benchmark: an Exekra workflow on a real runner beside a
hand-written Playwright script, in the same run.

    .venv/bin/python bench/rpa_challenge.py [--rounds 3] [--headed]

A local replica of the public challenge (https://rpachallenge.com/) is served on 127.0.0.1: a
Start button, then 10 rounds of a 7-field form whose field order and attributes (id, name,
class) change every round — only the labels stay — and the result line "Your success rate is
N% (K out of 70 fields) in T milliseconds". The data comes from an .xlsx with the public
file's column names (including its 'Last Name ' with a trailing space).

Each round runs both, alternating which goes first:

* **script**: a hand-written Playwright (sync API) program — read the .xlsx with openpyxl,
  launch Chromium, fill and submit, read the result, close;
* **workflow**: the same job as an Exekra workflow (excel.read_table → browser.open →
  browser.click → loop.for_each → 7 × browser.type → browser.click → browser.get_text) on a
  real hub (``exekra hub serve``) and a real runner (``exekra runner start``); its time is the
  execution's duration as the hub records it (started → finished), which includes the engine,
  expressions, per-node threads, logging and the final report.

It prints both times per round, the medians and their ratio (goal: 70/70 every time and the
workflow within 1.15x of the script). It never fails on the figures (not a test).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
COLUMNS = [
    "First Name",
    "Last Name ",  # sic: the public file's header has a trailing space
    "Company Name",
    "Role in Company",
    "Address",
    "Email",
    "Phone Number",
]
#: the label each column's field carries on the page
LABELS = {c: c.strip() for c in COLUMNS}


def make_data(seed: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    first = ["John", "Jane", "Albert", "Edward", "Jim", "Rachel", "Derek", "Laura", "Ada", "Alan"]
    last = ["Smith", "Dorsey", "Kipling", "Gates", "Lee", "Rice", "Jones", "Chen", "Byron", "Kay"]
    rows = []
    for i in range(10):
        rows.append(
            {
                "First Name": first[i],
                "Last Name ": last[i],
                "Company Name": f"{rng.choice(['IT', 'MediCare', 'Timbo', 'Sigma'])} Solutions",
                "Role in Company": rng.choice(["Analyst", "Medical Engineer", "Accountant"]),
                "Address": f"{rng.randint(1, 999)} {rng.choice(['Oak', 'Pine', 'Elm'])} Street",
                "Email": f"{first[i].lower()}.{last[i].lower()}@example.com",
                "Phone Number": 40716543000 + rng.randint(0, 999),
            }
        )
    return rows


def write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(COLUMNS)
    for row in rows:
        ws.append([row[c] for c in COLUMNS])
    wb.save(path)


PAGE = """<!doctype html><html><head><title>Rpa Challenge</title>
<style>.col{display:inline-block;width:45%;margin:4px} .hidden{display:none}</style></head><body>
<h1>Input Forms</h1>
<button id="start" onclick="start()">Start</button>
<form id="form" class="hidden" onsubmit="event.preventDefault(); submitRound()">
  <div id="fields"></div><input type="submit" value="Submit">
</form>
<div class="congratulations hidden"><div class="message1">Congratulations!</div>
  <div class="message2"></div></div>
<script>
const DATA = __DATA__;
const LABELS = __LABELS__;
let round = -1, correct = 0, t0 = 0;
const rnd = () => Math.random().toString(36).slice(2, 9);
function shuffle(a) { for (let i = a.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; }
function render() {
  const keys = shuffle(Object.keys(LABELS));
  document.getElementById('fields').innerHTML = keys.map(k =>
    `<div class="col ${rnd()}"><label>${LABELS[k]}</label>` +
    `<input id="${rnd()}" name="${rnd()}" class="${rnd()}" data-key="${k}"></div>`).join('');
}
function start() { round = 0; correct = 0; t0 = performance.now();
  document.getElementById('form').classList.remove('hidden'); render(); }
function submitRound() {
  if (round < 0) return;
  const row = DATA[round];
  for (const input of document.querySelectorAll('#fields input')) {
    if (input.value === String(row[input.dataset.key])) correct++;
  }
  round++;
  if (round < DATA.length) { render(); return; }
  const ms = Math.round(performance.now() - t0);
  document.getElementById('form').classList.add('hidden');
  const box = document.querySelector('.congratulations');
  box.classList.remove('hidden');
  box.querySelector('.message2').textContent = `Your success rate is ` +
    `${Math.round(100 * correct / 70)}% (${correct} out of 70 fields) in ${ms} milliseconds`;
}
</script></body></html>"""


def serve(rows: list[dict[str, Any]]) -> tuple[ThreadingHTTPServer, str]:
    body = (
        PAGE.replace("__DATA__", json.dumps(rows)).replace("__LABELS__", json.dumps(LABELS))
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def field(label: str) -> str:
    """The one stable handle on a field: its label's text (the input follows the label)."""
    return f"xpath=//label[normalize-space()='{label}']/following-sibling::input"


# -- the hand-written Playwright script ------------------------------------------------------


def run_script(xlsx: Path, url: str, headless: bool) -> tuple[float, str]:
    from openpyxl import load_workbook
    from playwright.sync_api import sync_playwright

    from runner.activities.browser.session import launch_args

    t0 = time.perf_counter()
    wb = load_workbook(xlsx, read_only=True, data_only=True)
    sheet = wb.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    header = [str(h) for h in next(it)]
    rows = [dict(zip(header, r, strict=False)) for r in it if any(v is not None for v in r)]
    wb.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=headless, args=launch_args())
        page = browser.new_page()
        page.goto(url)
        page.click("#start")
        for row in rows:
            for column in COLUMNS:
                page.fill(field(LABELS[column]), str(row[column]))
            page.click("input[type=submit]")
        result = page.inner_text(".message2")
        browser.close()
    return time.perf_counter() - t0, result


# -- the workflow ----------------------------------------------------------------------------


def workflow(xlsx: Path, url: str, headless: bool) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "read", "type": "excel.read_table",
         "params": {"path": str(xlsx), "text_columns": ["Phone Number"], "output": "rows"}},
        {"id": "open", "type": "browser.open", "params": {"url": url, "headless": headless}},
        {"id": "start", "type": "browser.click", "params": {"target": "#start"}},
        {"id": "each", "type": "loop.for_each", "params": {"items": "{rows}", "item": "row"}},
    ]  # fmt: skip
    edges = [
        {"from": "read", "to": "open"},
        {"from": "open", "to": "start"},
        {"from": "start", "to": "each"},
    ]
    previous, port = "each", "body"
    for i, column in enumerate(COLUMNS):
        node_id = f"type{i}"
        nodes.append(
            {
                "id": node_id,
                "type": "browser.type",
                "params": {"target": field(LABELS[column]), "text": f'{{row["{column}"]}}'},
            }
        )
        edges.append({"from": previous, "to": node_id, **({"port": port} if port else {})})
        previous, port = node_id, None
    nodes += [
        {"id": "submit", "type": "browser.click", "params": {"target": "input[type=submit]"}},
        {"id": "result", "type": "browser.get_text",
         "params": {"target": ".message2", "output": "result"}},
        {"id": "say", "type": "log.write", "params": {"message": "{result}"}},
    ]  # fmt: skip
    edges += [
        {"from": previous, "to": "submit"},
        {"from": "each", "to": "result", "port": "done"},
        {"from": "result", "to": "say"},
    ]
    return {"format": 1, "variables": {}, "nodes": nodes, "edges": edges}


def run_workflow(platform: Any, workflow_id: int) -> tuple[float, str]:
    import datetime as dt

    ex_id = platform.run(workflow_id)
    ex = platform.wait_status(ex_id, "COMPLETED", "FAILED", "STOPPED", timeout=120)
    if ex["status"] != "COMPLETED":
        raise SystemExit(f"the workflow ended {ex['status']}: {ex.get('error')}")
    started = dt.datetime.fromisoformat(ex["started_at"].replace("Z", "+00:00"))
    finished = dt.datetime.fromisoformat(ex["finished_at"].replace("Z", "+00:00"))
    lines = [ln["message"] for ln in platform.logs(ex_id) if ln["node_id"] == "say"]
    return (finished - started).total_seconds(), (lines[-1] if lines else "")


def run_in_process(xlsx: Path, url: str, headless: bool) -> tuple[float, str]:
    from runner.engine import Engine

    t0 = time.perf_counter()
    result = Engine(workflow(xlsx, url, headless), metrics_interval=5).run()
    return time.perf_counter() - t0, str(result.variables.get("result"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--headed", action="store_true", help="show the browser (needs X)")
    args = parser.parse_args()
    headless = not args.headed

    from hub.services.license import keygen
    from tests.e2e.platform import Platform

    with tempfile.TemporaryDirectory(prefix="exekra-rpa-") as tmp_name:
        tmp = Path(tmp_name)
        rows = make_data()
        xlsx = tmp / "challenge.xlsx"
        write_xlsx(rows, xlsx)
        httpd, url = serve(rows)
        private_key, public_key = keygen(tmp / "vendor")
        platform = Platform(tmp, private_key, public_key, f"sqlite:///{tmp / 'hub.db'}")
        try:
            reg = platform.connect_runner("bench")
            platform.start_runner(
                "bench",
                env={
                    "EXEKRA_RUNNER_BROWSER_EXECUTABLE": CHROMIUM,
                    "EXEKRA_RUNNER_LOG_LEVEL": "WARNING",
                },
            )
            platform.wait_runner_status(reg["id"], "ONLINE")
            wf = platform.publish("rpa-challenge", workflow(xlsx, url, headless))
            run_workflow(platform, wf)  # warm-up: imports, first Chromium start, caches
            run_script(xlsx, url, headless)
            script_times, flow_times, local_times = [], [], []
            for i in range(args.rounds):
                order = ("script", "workflow") if i % 2 == 0 else ("workflow", "script")
                for which in order:
                    if which == "script":
                        seconds, line = run_script(xlsx, url, headless)
                        script_times.append(seconds)
                    else:
                        seconds, line = run_workflow(platform, wf)
                        flow_times.append(seconds)
                    print(f"round {i + 1} {which:8s} {seconds:6.3f} s   {line}")
                seconds, line = run_in_process(xlsx, url, headless)
                local_times.append(seconds)
                print(f"round {i + 1} {'engine':8s} {seconds:6.3f} s   {line}  (in-process)")
        finally:
            platform.close()
            httpd.shutdown()
    s, w, e = (statistics.median(t) for t in (script_times, flow_times, local_times))
    print()
    print(f"hand-written Playwright script: median {s:.3f} s")
    print(f"Exekra workflow on a runner:    median {w:.3f} s  ({w / s:.2f}x the script)")
    print(f"the same workflow in-process:   median {e:.3f} s  ({e / s:.2f}x the script)")


if __name__ == "__main__":
    main()
