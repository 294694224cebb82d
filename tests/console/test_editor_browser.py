"""The graph editor and the browser: `R` records in real Chromium with the extension loaded and
inserts the nodes after the selected one; `t` fills a node's target from a click.

The browser runs on a thread of its own (Playwright's sync API may not share the Pilot's
asyncio loop); the editor reaches it exactly as in use — through the Studio page it serves on
127.0.0.1 and the extension's bridge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from console.editor.record import RecordingModal
from console.modals import ConfirmModal, FormModal
from console.screens.editor import EditorScreen
from tests.console.conftest import settle, wait_screen
from tests.extension.kit import Pages, ThreadedBrowser

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    p = Pages()
    yield p
    p.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedBrowser]:
    tb = ThreadedBrowser(Path(tmp_path_factory.mktemp("profile")))
    yield tb
    tb.close()


class Launcher:
    """Opens the Studio page in the test's browser (what Chromium's command line does)."""

    def __init__(self, tb: ThreadedBrowser) -> None:
        self.tb = tb
        self.page: Page | None = None

    def __call__(self, url: str) -> Launcher:
        def open_page(ctx: BrowserContext) -> Page:
            page = ctx.new_page()
            page.goto(url)
            return page

        self.page = self.tb.run(open_page)
        return self

    def close(self) -> None:
        if self.page is not None:
            page, self.page = self.page, None
            self.tb.run(lambda ctx: page.close())


def find_page(ctx: BrowserContext, suffix: str) -> Page:
    for _ in range(300):
        for page in ctx.pages:
            if page.url.endswith(suffix):
                return page
        ctx.pages[0].wait_for_timeout(50)
    raise AssertionError(f"no tab {suffix}")


async def wait_until(predicate: Any, timeout: float = 30) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_record_after_the_selected_node_and_pick_a_target(
    make_app: Any, pages: Pages, browser: ThreadedBrowser, pick_activity: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    launcher = Launcher(browser)
    monkeypatch.setattr(EditorScreen, "browser_launcher", launcher)
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "open1", "type": "browser.open", "params": {"url": pages.url("form1.html")}},
            {"id": "done", "type": "log.write", "params": {"message": "signed up"}},
            {"id": "pick", "type": pick_activity, "params": {}},
        ],
        "edges": [{"from": "open1", "to": "done"}, {"from": "done", "to": "pick"}],
    }
    app = make_app("DEVELOPER")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = EditorScreen(graph=graph)
        app.push_screen(editor)
        await wait_screen(pilot, EditorScreen)
        assert editor.selected == "open1"

        await pilot.press("R")
        await wait_screen(pilot, FormModal)
        await pilot.press("ctrl+s")  # the start URL is the workflow's browser.open
        modal = await wait_screen(pilot, RecordingModal, timeout=60)

        def sign_up(ctx: BrowserContext) -> None:
            page = find_page(ctx, "form1.html")
            page.locator("#u-29").press_sequentially("linus")
            page.locator("select").focus()
            page.keyboard.press("ArrowDown")
            page.locator("button.next").click()
            page.wait_for_url("**/form2.html")

        await asyncio.to_thread(browser.run, sign_up)
        server = modal.server
        await wait_until(lambda: any(a.get("type") == "navigate" for a in server.actions))
        await pilot.pause()
        await pilot.press("enter")
        await wait_screen(pilot, EditorScreen)
        await wait_until(lambda: len(editor.model.nodes) > 3)
        model = editor.model
        types = [model.node(i)["type"] for i in model.ids()]
        assert types == ["browser.open", "log.write", pick_activity, "browser.type",
                         "browser.select", "browser.click", "browser.wait_for"]  # fmt: skip
        new = model.ids()[3:]
        # inserted after open1: open1 → type → select → click → wait → done
        chain = ["open1", *new, "done"]
        for a, b in zip(chain, chain[1:], strict=False):
            assert {"from": a, "to": b} in model.edges
        assert {"from": "open1", "to": "done"} not in model.edges
        assert model.node(new[0])["params"]["text"] == "linus"
        assert model.can_undo()

        # pick: the selected node's target from a click on the recorded tab
        editor.selected = "pick"
        editor.refresh_all()
        await pilot.press("t")

        def click_choose(ctx: BrowserContext) -> None:
            page = find_page(ctx, "form2.html")
            page.wait_for_selector("html[data-exekra-picking=target]", state="attached")
            page.locator("#choose").click()

        await asyncio.to_thread(browser.run, click_choose)
        target = await wait_until(lambda: model.node("pick")["params"].get("target"))
        assert target["fingerprint"]["text"] == "Choose a plan"

        def count(ctx: BrowserContext) -> int:
            return find_page(ctx, "form2.html").locator(target["selector"]).count()

        assert await asyncio.to_thread(browser.run, count) == 1

        await pilot.press("escape")  # leave the editor (unsaved: confirm): the Studio page closes
        await wait_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await wait_until(lambda: not isinstance(app.screen, (EditorScreen, ConfirmModal)))
        await wait_until(lambda: launcher.page is None)
        assert editor.browser is None
