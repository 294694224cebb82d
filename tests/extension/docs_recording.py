"""Make the README's picture of a recorded workflow in the editor:
``.venv/bin/python -m tests.extension.docs_recording``.

Records the sign-up fixture for real (Chromium with the extension, the fixture pages on
127.0.0.1), converts it with ``workflows.recording``, opens it in the console's graph editor
against a throw-away hub, saves the editor as SVG and turns that into a PNG with Chromium.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from console.app import ExekraConsole
from console.screens.editor import EditorScreen
from console.session import SessionStore
from tests.console.conftest import LiveHub, settle, start_hub
from tests.extension.kit import CHROMIUM, Pages, Studio, extension_browser
from tests.support import REPO
from workflows.recording import actions_to_graph

DOCS = REPO / "docs"
SIZE = (120, 38)


def record(pages: Pages, profile: Path) -> list[dict[str, Any]]:
    with extension_browser(profile) as ctx:
        studio = Studio(ctx, pages)
        page = studio.opened(f"Exekra.startRecording({{url: {pages.url('form1.html')!r}}})")
        page.locator("#u-29").press_sequentially("ada")
        page.locator("#p-30").press_sequentially("not-in-the-picture")
        page.locator("select").focus()
        page.keyboard.press("ArrowDown")
        page.get_by_text("I accept the terms").click()
        page.locator("button.next").click()
        page.wait_for_url("**/form2.html")
        page.locator("[name=city]").press_sequentially("Paris")
        page.keyboard.press("Enter")
        page.wait_for_url("**/done.html?city=Paris")
        page.wait_for_timeout(500)
        actions: list[dict[str, Any]] = studio.page.evaluate("Exekra.stopRecording()")["actions"]
        return actions


async def editor_svg(hub: LiveHub, graph: dict[str, Any], out: Path) -> None:
    store = SessionStore(Path(tempfile.mkdtemp()))
    app = ExekraConsole(hub.url, store=store, token=hub.tokens["DEVELOPER"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(EditorScreen({"name": "Sign up (recorded)"}, graph, 1))
        await settle(pilot)
        for _ in range(3):
            await pilot.press("down")
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause(0.3)
        app.save_screenshot(out.name, path=str(out.parent))


def svg_to_png(svg: Path, png: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(svg.as_uri())
            page.locator("svg").first.screenshot(path=str(png))
        finally:
            browser.close()


def main() -> None:
    from hub.services.license import keygen

    with tempfile.TemporaryDirectory() as tmp:
        pages = Pages()
        try:
            actions = record(pages, Path(tmp) / "profile")
        finally:
            pages.close()
        graph = actions_to_graph(actions, credential="signup-login")
        base = pages.url("")
        text = json.dumps(graph).replace(base, "https://shop.example/")  # a neutral host
        graph = json.loads(text)
        keys = keygen(Path(tmp) / "vendor")
        hub = start_hub(Path(tmp), keys)
        try:
            svg = Path(tmp) / "console-recorded.svg"
            asyncio.run(editor_svg(hub, graph, svg))
        finally:
            hub.process.stop()
        svg_to_png(svg, DOCS / "console-recorded.png")
    print(f"saved {DOCS / 'console-recorded.png'}")


if __name__ == "__main__":
    main()
