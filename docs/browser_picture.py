"""Regenerate the README's browser automation picture: ``python docs/browser_picture.py [OUT]``.

Runs a real workflow on the engine against a local page whose "Save" button changed since the
workflow was recorded (every selector broke) and whose last step looks for an element that is
gone: the run shows the selector repair and the failure evidence. The execution log, the
proposed repaired target and the failure screenshot are laid out on one page and photographed
in Chromium at 1280 px (``docs/browser-automation.png``).
"""

from __future__ import annotations

import base64
import html
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from runner.activities.browser.session import launch_args  # noqa: E402
from tests.runner.browser_pages import serve  # noqa: E402
from tests.runner.enginekit import Run, chain, node  # noqa: E402

OLD_TARGET = {
    "selector": '[data-testid="save-settings"]',
    "fallbacks": ["#save-1187", "button.btn-primary"],
    "fingerprint": {
        "tag": "button",
        "text": "Save",
        "attributes": {"type": "button", "id": "save-1187", "class": "btn btn-primary",
                       "data-testid": "save-settings"},
        "index": 1,
    },
}  # fmt: skip


def run_workflow(base: str) -> Run:
    graph = chain(
        node(
            "open",
            "browser.open",
            url=f"{base}/repair?variant=close",
            viewport={"width": 480, "height": 200},
        ),
        node("save", "browser.click", target=OLD_TARGET),
        node("check", "browser.get_text", target="#out", output="status"),
        node("confirm", "browser.click", target={"selector": "#confirm-dialog button.ok"}),
    )
    r = Run(graph, log_level="info")
    r.run()
    return r


def page(r: Run) -> str:
    rows = "".join(
        f"<tr class='{ln.level}'><td>{ln.level}</td><td>{html.escape(ln.node_id or '')}</td>"
        f"<td>{html.escape(ln.message)}</td></tr>"
        for ln in r.lines
    )
    repair = r.engine.scope.repairs[0]
    shot = next(a for a in r.engine.scope.artifacts if a["kind"] == "screenshot")
    kinds = ", ".join(f"{a['name']} ({a['kind']})" for a in r.engine.scope.artifacts)
    img = base64.b64encode(shot["data"]).decode()
    new = html.escape(json.dumps(repair["new"], indent=2))
    return f"""<!doctype html><html><head><style>
body {{ font: 14px/1.4 DejaVu Sans, sans-serif; margin: 24px; color: #222; }}
h2 {{ font-size: 16px; margin: 18px 0 6px; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }}
 td:first-child {{ width: 60px; }} td:nth-child(2) {{ width: 70px; }}
tr.warning td {{ background: #fff6d6; }} tr.error td {{ background: #fde2e2; }}
.cols {{ display: flex; gap: 24px; }} pre {{ background: #f5f5f5; padding: 10px; font-size: 12px; }}
img {{ width: 560px; border: 1px solid #ccc; }}
</style></head><body>
<h2>Execution log — {html.escape(str(r.result.status))}</h2><table>{rows}</table>
<div class="cols"><div>
<h2>Selector repair proposed for node "save" (score {repair["score"]:.2f})</h2>
<pre>{new}</pre></div>
<div><h2>Failure evidence of node "confirm"</h2><img src="data:image/png;base64,{img}">
<p>{html.escape(kinds)}</p></div></div></body></html>"""


def main() -> None:
    os.environ.setdefault("EXEKRA_RUNNER_BROWSER_TIMEOUT", "3")  # the failing step waits 3 s
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    with serve() as base:
        r = run_workflow(base)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=launch_args())
        tab = browser.new_page(viewport={"width": 1280, "height": 800})
        tab.set_content(page(r))
        tab.screenshot(path=str(out / "browser-automation.png"), full_page=True)
        browser.close()
    print(out / "browser-automation.png")


if __name__ == "__main__":
    main()
