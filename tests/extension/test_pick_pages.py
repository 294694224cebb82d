"""Where a pick cannot simply start: a page no extension may script is refused with its URL
(the pick never hangs), and a request opens only http, https and file pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.extension.kit import Pages, Studio, extension_browser

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    p = Pages()
    yield p
    p.close()


@pytest.fixture(scope="module")
def ctx(pages: Pages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with extension_browser(Path(tmp_path_factory.mktemp("profile"))) as context:
        yield context


@pytest.fixture(scope="module")
def studio(ctx: BrowserContext, pages: Pages) -> Studio:
    return Studio(ctx, pages)


def error_of(studio: Studio, call: str) -> str:
    studio.start(call)
    return str(studio.page.evaluate("window.__last.then(() => 'resolved', (e) => e.message)"))


def test_requests_open_only_http_https_and_file_pages(studio: Studio) -> None:
    for request in ("selectElement", "extractTable", "openTab", "startRecording"):
        for url in ("javascript:alert(1)", "chrome://settings"):
            message = error_of(studio, f"Exekra.{request}({{url: {url!r}}})")
            assert message == f"{request} needs {{url}} (http, https or file)"
    assert error_of(studio, "Exekra.openTab({})") == "openTab needs {url} (http, https or file)"


def test_a_pick_on_a_page_no_extension_may_script_is_refused(studio: Studio, pages: Pages) -> None:
    page = studio.opened(f"Exekra.openTab({{url: {pages.url('selectors.html')!r}}})")
    page.goto("chrome://version")  # the pick's tab now shows a browser page
    message = error_of(studio, "Exekra.selectElement()")
    assert message == "cannot pick on this page (chrome://version/)"
    page.close()
