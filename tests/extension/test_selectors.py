"""Selector capture in real Chromium with the extension loaded: every strategy, validation,
ranking, shadow and frame paths — and the primary selector still finds the same element after
the page is re-rendered with new generated ids and hashed class names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.extension.kit import (
    Pages,
    Studio,
    extension_browser,
    frames_ready,
    key_of,
    pick,
    resolve,
)

pytestmark = pytest.mark.e2e

HASHED = re.compile(r"css-|sc-|jsx-|__[A-Za-z0-9]{5}")


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


@pytest.fixture(scope="module")
def page(studio: Studio, pages: Pages) -> Page:
    url = pages.url("selectors.html")
    page = studio.opened(f"Exekra.openTab({{url: {url!r}}})")
    frames_ready(page)
    return page


# (what the test clicks, the element's key, strategies the primary may come from or None)
TOP = [
    ("input[type=email]", "email", {"label"}),
    ("label input", "fullname", {"label"}),
    ("input[type=search]", "search", {"placeholder", "role_name"}),
    ("input[name=zip]", "zip", {"name"}),
    ("select", "country", {"name"}),
    ("button[aria-label] path", "close", {"aria", "role_name"}),  # an icon in a button: the button
    ("[data-testid] i", "save", {"testid"}),
    ("[role=button]", "archive", None),
    ("a", "help", None),
    ("span >> nth=0", "plain", None),
]


def check_target(page: Page, target: dict[str, Any], key: str) -> None:
    # the shape of WORKFLOW_FORMAT.md "Targets"
    assert set(target) >= {"selector", "fallbacks", "candidates", "frame_path", "shadow_path",
                           "fingerprint"}  # fmt: skip
    assert {"tag", "text", "attributes", "index"} <= set(target["fingerprint"])
    for c in target["candidates"]:
        assert c["status"] in ("valid", "multiple", "invalid") and c["strategy"] and c["selector"]
        assert not HASHED.search(c["selector"]), c  # hashed class names never become selectors
    # the primary and every fallback match exactly the picked element, the Playwright way
    for sel in [target["selector"], *target["fallbacks"]]:
        loc = resolve(page, target, sel)
        assert loc.count() == 1, (sel, target["candidates"])
        assert key_of(loc) == key, sel
    scores = [c["score"] for c in target["candidates"] if c["status"] == "valid"]
    assert scores == sorted(scores)  # ranked by stability score
    assert target["selector"] == next(
        c["selector"] for c in target["candidates"] if c["status"] == "valid"
    )


def test_top_document_elements_survive_a_rerender(studio: Studio, page: Page) -> None:
    picked: list[tuple[str, dict[str, Any]]] = []
    for click, key, strategy in TOP:
        target = pick(studio, page, page.locator(click))
        check_target(page, target, key)
        primary = next(c for c in target["candidates"] if c["selector"] == target["selector"])
        if strategy:
            assert primary["strategy"] in strategy, (key, target["candidates"])
        assert "#" not in target["selector"] or key == "help"  # no generated id is primary
        picked.append((key, target))

    by_key = dict(picked)
    # the icon click targeted the button itself
    assert by_key["close"]["fingerprint"]["tag"] == "button"
    assert by_key["save"]["fingerprint"]["tag"] == "button"
    # the generated ids were seen and ranked down, not thrown away
    country = {c["strategy"]: c for c in by_key["country"]["candidates"]}
    assert country["id"]["status"] == "valid" and country["id"]["score"] > 100
    # an element with no attributes of its own still gets a unique structural selector
    assert by_key["plain"]["candidates"][0]["strategy"] in ("text", "path")

    page.evaluate("window.rerender()")
    for key, target in picked:
        loc = resolve(page, target)
        assert loc.count() == 1, (key, target["selector"])
        assert key_of(loc) == key


def test_duplicates_are_classified_multiple_and_ranked_after_unique_ones(
    studio: Studio, page: Page
) -> None:
    target = pick(studio, page, page.locator("table button").nth(1))
    statuses = {c["selector"]: c["status"] for c in target["candidates"]}
    text = "xpath=//button[normalize-space()='Edit']"
    assert statuses[text] == "multiple"
    assert statuses["button.btn"] == "multiple"
    assert target["selector"] != text and text not in target["fallbacks"]
    check_target(page, target, "edit-bob")

    target = pick(studio, page, page.locator(".tool").nth(1))
    check_target(page, target, "go2")


def test_shadow_dom_elements_get_a_shadow_path(studio: Studio, page: Page) -> None:
    target = pick(studio, page, page.locator("x-widget input"))
    assert target["shadow_path"] == ["x-widget"]
    assert not any(c["selector"].startswith("xpath=") for c in target["candidates"])
    check_target(page, target, "coupon")
    target = pick(studio, page, page.locator("x-widget button.apply").nth(1))
    assert target["shadow_path"] == ["x-widget"]
    check_target(page, target, "apply2")
    page.evaluate("window.rerender()")
    assert key_of(resolve(page, target)) == "apply2"


def test_nested_and_cross_origin_frames_get_a_frame_path(studio: Studio, page: Page) -> None:
    outer, inner = frames_ready(page)  # an earlier test may have re-rendered the page
    target = pick(studio, page, page.frame_locator("iframe").locator("button"), frame=outer)
    assert len(target["frame_path"]) == 1
    assert "#frame-" not in target["frame_path"][0]  # its generated id was not used
    check_target(page, target, "pay")

    # the inner frame is cross-origin to the outer one: the path comes over postMessage
    inner_button = page.frame_locator("iframe").frame_locator("iframe").locator("button")
    target = pick(studio, page, inner_button, frame=inner)
    assert len(target["frame_path"]) == 2
    check_target(page, target, "confirm")
    card = page.frame_locator("iframe").frame_locator("iframe").locator("input")
    target = pick(studio, page, card, frame=inner)
    check_target(page, target, "card")

    page.evaluate("window.rerender()")  # the iframes are rebuilt with new ids
    page.frame_locator("iframe").frame_locator("iframe").locator("input").wait_for()
    assert key_of(resolve(page, target)) == "card"


def test_escape_cancels_a_pick(studio: Studio, page: Page) -> None:
    studio.start("Exekra.selectElement()")
    page.wait_for_selector("html[data-exekra-picking]", state="attached")
    page.keyboard.press("Escape")
    error = studio.page.evaluate("window.__last.then(() => 'resolved', (e) => e.message)")
    assert error == "cancelled"
    assert page.evaluate("document.documentElement.hasAttribute('data-exekra-picking')") is False
