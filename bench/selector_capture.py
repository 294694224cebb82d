"""Selector capture and recording cost in the page: how long a pick takes on a large page.

Run from the repository root: ``.venv/bin/python bench/selector_capture.py [--rows 2000]``.

Chromium with the extension loaded opens a page with a table of ``--rows`` rows of generated
ids and hashed classes (plus an open shadow root); the bench times, in the page's content
script world, the full target computation (every candidate validated against the DOM,
ranked, fingerprint) with the highlight box inside <body> and beside it, and the round trip of
a pick through the Studio page (bridge → background → content script → back; it includes
Playwright's click, which scrolls a far row into view first). It prints figures; it never
fails on them (not a test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.extension.kit import (  # noqa: E402
    CHROMIUM,
    Pages,
    Studio,
    extension_browser,
    wait_picking,
)


def page_html(rows: int) -> str:
    body = "".join(
        f'<tr id="r-{i}-{i * 7919 % 10007}" class="css-{i:x}a9"><td>{i}</td><td>name {i}</td>'
        f'<td><button class="btn css-{i:x}b7" id="b-{i * 31337}">Edit</button></td></tr>'
        for i in range(rows)
    )
    return (
        "<!doctype html><html><body><form><label for='q-1'>Search</label>"
        "<input id='q-1' name='q'></form><table class='data'><tbody>" + body + "</tbody></table>"
        "<x-box></x-box><script>customElements.define('x-box', class extends HTMLElement {"
        "connectedCallback() { this.attachShadow({mode: 'open'}).innerHTML = "
        "'<button>Inside</button>'.repeat(20); } });</script></body></html>"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "www"
        folder.mkdir()
        (folder / "big.html").write_text(page_html(args.rows))
        studio_page = Path(__file__).resolve().parent.parent / "tests/extension/pages/studio.html"
        (folder / "studio.html").write_text(studio_page.read_text())
        pages = Pages(folder)
        try:
            in_page(pages, args.rows, args.repeat)
            with extension_browser(Path(tmp) / "profile") as ctx:
                studio = Studio(ctx, pages)
                page = studio.opened(f"Exekra.openTab({{url: {pages.url('big.html')!r}}})")
                n_elements = page.evaluate("document.querySelectorAll('*').length")
                print(f"page: {args.rows} rows, {n_elements} elements")
                # the in-page cost, measured where the content script runs (its world)
                for label, selector in (
                    ("input (label)", "input[name=q]"),
                    ("button, first row", "tbody tr:nth-child(1) button"),
                    ("button, middle row", f"tbody tr:nth-child({args.rows // 2}) button"),
                    ("button, last row", f"tbody tr:nth-child({args.rows}) button"),
                ):
                    times = []
                    for _ in range(args.repeat):
                        t0 = time.perf_counter()
                        target = _pick(studio, page, selector)
                        times.append((time.perf_counter() - t0) * 1000)
                    print(
                        f"pick round trip, {label:<20} median {statistics.median(times):7.1f} ms"
                        f"  max {max(times):7.1f} ms  -> {target['selector']}"
                        f"  ({len(target['candidates'])} candidates)"
                    )
        finally:
            pages.close()


IN_PAGE_JS = """([index, repeat, where]) => {
  const el = document.querySelectorAll('tbody button')[index];
  const ov = document.createElement('div');
  ov.style.cssText = 'position:fixed;left:0;top:0;width:9px;height:9px;pointer-events:none';
  (where === 'body' ? document.body : document.documentElement).appendChild(ov);
  ExekraSelectors.targetFor(el);
  const times = [];
  for (let i = 0; i < repeat; i += 1) {
    ov.style.left = (i * 7 % 300) + 'px';  // what the pick highlight does before the click
    const t = performance.now();
    ExekraSelectors.targetFor(el);
    times.push(performance.now() - t);
  }
  ov.remove();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}"""


def in_page(pages: Pages, rows: int, repeat: int) -> None:
    """The target computation alone (the extension's lib in the page's own world), with the
    highlight box inside <body> and beside it."""
    root = Path(__file__).resolve().parent.parent / "extension" / "lib"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(pages.url("big.html"))
            for name in ("core.js", "selectors.js"):
                page.add_script_tag(path=str(root / name))
            for where in ("body", "html"):
                ms = page.evaluate(IN_PAGE_JS, [rows // 2, repeat, where])
                print(f"target computation, middle row, highlight in <{where}>: {ms:7.1f} ms")
        finally:
            browser.close()


def _pick(studio: Studio, page: object, selector: str) -> dict:  # type: ignore[type-arg]
    studio.start("Exekra.selectElement()")
    wait_picking(page)  # type: ignore[arg-type]
    page.locator(selector).click()  # type: ignore[attr-defined]
    result: dict = studio.result()  # type: ignore[type-arg]
    return result


if __name__ == "__main__":
    main()
