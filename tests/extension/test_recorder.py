"""The recorder in real Chromium with the extension loaded: a multi-page form with a password,
a select, a checkbox, an iframe, a popup, a file input, Tab/Enter and back — each action once,
with its selector data, relayed live; the password never leaves the page. Also: a page on a
non-localhost origin gets no ``window.Exekra`` and no answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from tests.extension.kit import Pages, Studio, extension_browser, frames_ready, resolve
from workflows import validate
from workflows.recording import actions_to_graph

pytestmark = pytest.mark.e2e

SECRET = "Tr0ub4dor&3-never-leaves"  # noqa: S105 - the value the test hunts for


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


def record_session(
    ctx: BrowserContext, studio: Studio, pages: Pages, upload: Path
) -> dict[str, Any]:
    page = studio.opened(f"Exekra.startRecording({{url: {pages.url('form1.html')!r}}})")
    page.wait_for_selector("html")
    page.locator("#u-29").press_sequentially("ada")
    page.locator("#p-30").press_sequentially(SECRET)
    # trusted input only (the recorder ignores events a page script makes up): the keyboard,
    # not select_option's synthetic change event
    page.locator("select").focus()
    page.keyboard.press("ArrowDown")
    page.get_by_text("I accept the terms").click()
    frames_ready(page, {"notes": "input"})  # says which frames the page has if it never loads
    note = page.frame_locator("iframe[name=notes]").locator("input")
    note.fill("call me")
    page.locator("button.next .icon").click()  # the icon: recorded as the button
    page.wait_for_url("**/form2.html")
    with ctx.expect_page() as popup_info:
        page.locator("#choose").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.locator("[data-testid=plan-pro]").click()  # closes the popup
    page.wait_for_function("document.getElementById('picked').textContent === 'pro'")
    page.locator("input[type=file]").set_input_files(upload)  # a path: set through CDP
    page.locator("[name=promo]").press_sequentially("SAVE10")
    page.keyboard.press("Tab")
    page.locator("#details-link").click()
    page.wait_for_url("**#details")
    page.go_back()
    page.wait_for_function("location.hash === ''")
    page.locator("[name=city]").press_sequentially("Paris")
    page.keyboard.press("Enter")
    page.wait_for_url("**/done.html?city=Paris")
    page.locator("#done").wait_for()
    # live: the studio saw the actions before stopping
    studio.page.wait_for_function(
        "window.received.some(a => a.type === 'navigate' && a.url.includes('done.html'))"
    )
    live = studio.received()
    result = studio.page.evaluate("Exekra.stopRecording()")
    stored = ctx.service_workers[0].evaluate("chrome.storage.session.get(null)")
    return {"page": page, "live": live, "actions": result["actions"], "stored": stored}


def test_recording_a_multi_page_form_with_a_popup_and_a_password(
    ctx: BrowserContext, studio: Studio, pages: Pages, tmp_path: Path
) -> None:
    upload = tmp_path / "me.png"
    upload.write_bytes(b"\x89PNG")
    run = record_session(ctx, studio, pages, upload)
    actions = run["actions"]
    summary = [
        (a["type"], (a.get("target") or {}).get("fingerprint", {}).get("tag")) for a in actions
    ]
    assert summary == [
        ("type", "input"),
        ("type", "input"),
        ("selectDropdown", "select"),
        ("click", "input"),  # the checkbox (its label's click is not recorded twice)
        ("type", "input"),  # inside the iframe
        ("click", "button"),  # the icon's button
        ("navigate", None),
        ("click", "button"),
        ("switchTab", None),
        ("click", "button"),
        ("switchTab", None),
        ("upload", "input"),
        ("type", "input"),
        ("keydown", "input"),
        ("click", "a"),
        ("navigate", None),
        ("navigate", None),
        ("type", "input"),
        ("keydown", "input"),
        ("navigate", None),
    ], summary
    by_type = {a["type"]: a for a in actions}
    assert actions[0]["value"] == "ada"  # typed once per field, not once per key
    assert actions[1]["value"] == "{{credential}}" and actions[1]["password"] is True
    assert actions[0]["password"] is False
    assert actions[2]["value"] == "cl" and actions[2]["label"] == "Chile"
    assert actions[4]["target"]["frame_path"] and actions[4]["value"] == "call me"
    assert [a["index"] for a in actions if a["type"] == "switchTab"] == [1, 0]
    assert by_type["upload"]["files"] == ["me.png"]
    assert actions[13]["key"] == "Tab" and actions[18]["key"] == "Enter"
    assert actions[16]["via"] == "popstate"
    for a in actions:
        assert a["url"].startswith("http://127.0.0.1:") and isinstance(a["timestamp"], int)
        assert "title" in a
    # the selector data replays: each recorded target resolves to exactly one element
    page = run["page"]
    page.goto(pages.url("form1.html"))
    for a in actions[:6]:
        assert resolve(page, a["target"]).count() == 1, a["target"]["selector"]

    # live relay: every action reached the studio as it happened, in order
    assert [a["seq"] for a in run["live"]] == [a["seq"] for a in actions[: len(run["live"])]]
    assert len(run["live"]) == len(actions)

    graph = actions_to_graph(actions)
    assert [n["type"] for n in graph["nodes"]] == [
        "browser.open", "browser.type", "browser.type", "browser.select", "browser.click",
        "browser.type", "browser.click", "browser.wait_for", "browser.click",
        "browser.switch_tab", "browser.click", "browser.switch_tab", "browser.upload",
        "browser.type", "browser.press_key", "browser.click", "browser.wait_for",
        "browser.navigate", "browser.type", "browser.wait_for", "browser.close",
    ]  # fmt: skip
    password_node = graph["nodes"][2]
    assert password_node["params"]["text"] == "{{credential}}"
    assert password_node["params"]["credential"] == "127.0.0.1"
    assert not [p for p in validate(graph) if p.code == "missing_credential"]

    # the typed password is nowhere: not in any message, not in the worker's storage, not in
    # the graph
    for where in (run["live"], actions, run["stored"], graph):
        assert SECRET not in json.dumps(where)
        assert SECRET[:8] not in json.dumps(where)


def test_events_a_page_script_makes_up_are_not_recorded(
    ctx: BrowserContext, studio: Studio, pages: Pages
) -> None:
    page = studio.opened(f"Exekra.startRecording({{url: {pages.url('form2.html')!r}}})")
    try:
        page.locator("[name=promo]").wait_for()
        page.evaluate(
            """() => {
              const promo = document.querySelector('[name=promo]');
              promo.value = 'FAKE';
              promo.dispatchEvent(new Event('input', {bubbles: true}));
              promo.dispatchEvent(new Event('change', {bubbles: true}));
              document.querySelector('#details-link').dispatchEvent(
                new MouseEvent('click', {bubbles: true}));
              promo.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
            }"""
        )
        page.locator("[name=city]").press_sequentially("Lima")  # one real action after them
        page.locator("#details-link").click()
        result = studio.page.evaluate(
            "new Promise((r) => setTimeout(r, 300)).then(() => Exekra.stopRecording())"
        )
        kinds = [(a["type"], a.get("value")) for a in result["actions"]]
        assert ("type", "Lima") in kinds
        assert all(v != "FAKE" for _, v in kinds)
        assert [k for k, _ in kinds].count("click") == 1  # the real click only
    finally:
        page.close()


def test_a_non_localhost_page_gets_no_bridge_and_no_answer(
    ctx: BrowserContext, studio: Studio, pages: Pages
) -> None:
    page = ctx.new_page()
    try:
        page.goto(pages.other_host_url("studio.html"))
        assert page.evaluate("location.hostname") == "other.test"
        before = len(ctx.pages)
        page.evaluate(
            """() => {
              window.answers = [];
              window.addEventListener('message', (e) => {
                if (e.data && e.data.source === 'exekra-extension') window.answers.push(e.data);
              });
              const msg = (id, type, payload) =>
                window.postMessage({source: 'exekra-page', id, type, payload}, '*');
              msg('x1', 'hello', {});
              msg('x2', 'startRecording', {url: location.href});
            }"""
        )
        # the bridge script is not web-accessible to this origin either
        loaded = page.evaluate(
            """(id) => new Promise((resolve) => {
              const s = document.createElement('script');
              s.src = `chrome-extension://${id}/bridge.js`;
              s.onload = () => resolve(true); s.onerror = () => resolve(false);
              document.head.appendChild(s);
            })""",
            ctx.service_workers[0].url.split("/")[2],
        )
        assert loaded is False
        # the same request from the localhost studio is answered: the extension is up
        assert studio.page.evaluate("Exekra.ping()")["version"]
        page.wait_for_timeout(500)
        assert page.evaluate("typeof window.Exekra") == "undefined"
        assert page.evaluate("window.answers") == []
        assert len(ctx.pages) == before  # startRecording opened no tab
    finally:
        page.close()
