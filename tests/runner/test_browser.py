"""browser.* activities on real Chromium (/usr/bin/chromium) against pages served on 127.0.0.1.

One browser for the whole module (each test gets a fresh context); the tests about sessions
themselves — launch, close on every way out, processes — are in test_browser_sessions.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner.engine import Status

from . import browserkit
from .browserkit import artifacts_text, run_on
from .enginekit import edge, graph, node

site, shared_browser, browser = browserkit.site, browserkit.shared_browser, browserkit.browser

SECRET = "Zq9!vault-Secret_77"
CREDS = {"vault": {"username": "ada", "secret": SECRET}}


def go(site: str, path: str) -> dict:
    return node("go", "browser.navigate", url=f"{site}{path}", output="page")


def test_form_actions(browser, site):
    r = run_on(
        browser,
        go(site, "/form"),
        node("first", "browser.type", target='internal:label="First name"', text="Ada"),
        node("country", "browser.select", target="select", label="France", output="picked"),
        node("terms", "browser.check", target='internal:label="I agree"'),
        node("hover", "browser.hover", target="#hover-me"),
        node("hovered", "browser.get_text", target="#hover-me", output="hovered"),
        node("kind", "browser.get_attribute", target="#link", name="data-kind", output="kind"),
        node("none", "browser.get_attribute", target="#link", name="nope", output="none"),
        node("shift", "browser.click", target="#link", modifiers=["Shift"]),
        node("shifted", "browser.get_text", target="#out", output="shifted"),
        node("dbl", "browser.click", target="#dbl", double=True),
        node("dbled", "browser.get_text", target="#out", output="dbled"),
        node("value", "browser.select", target="select", value="it", output="by_value"),
        node("field", "browser.get_text", target="select", output="select_value"),
        node("send", "browser.click", target="text=Send"),
        node("sent", "browser.get_text", target="#out", output="sent"),
    )
    assert r.result.status == Status.COMPLETED, r.text()
    v = r.result.variables
    assert v["page"]["title"] == "Order form" and v["page"]["status"] == 200
    assert v["picked"] == ["fr"] and v["by_value"] == ["it"] and v["select_value"] == "it"
    assert v["hovered"] == "hovered"
    assert (v["kind"], v["none"]) == ("plain", None)
    assert v["shifted"] == "shift-click" and v["dbled"] == "dbl"
    assert v["sent"] == "sent Ada it true 0"


def test_type_appends_presses_enter_and_keys(browser, site):
    r = run_on(
        browser,
        go(site, "/form"),
        node("notes", "browser.type", target="[name=notes]", text="-more", clear=False),
        node("read", "browser.get_text", target="[name=notes]", output="notes"),
        node("focus", "browser.press_key", target="[name=notes]", key="Control+A"),
        node("wipe", "browser.press_key", key="Backspace"),
        node("empty", "browser.get_text", target="[name=notes]", output="wiped"),
        node("first", "browser.type", target="[name=first]", text="Bo", press_enter=True),
        node("sent", "browser.get_text", target="#out", output="sent"),
    )
    assert r.result.status == Status.COMPLETED, r.text()
    v = r.result.variables
    assert v["notes"] == "pre-more" and v["wiped"] == ""
    assert v["sent"].startswith("sent Bo de false")


def test_anchor_disambiguates_duplicated_buttons(browser, site):
    target = {
        "selector": "button.save",
        "anchor": {"selector": "h2", "text": "Shipping", "relation": "nextSibling"},
    }
    r = run_on(
        browser,
        go(site, "/form"),
        node("save", "browser.click", target=target),
        node("out", "browser.get_text", target="#out", output="out"),
        node("parent", "browser.get_text", output="section",
             target={"selector": "section", "anchor": {"selector": "text=Billing",
                                                       "relation": "parent"}}),
    )  # fmt: skip
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["out"] == "shipping saved"
    assert r.result.variables["section"].startswith("Billing")

    # without the anchor the duplicate is refused, naming the count
    r = run_on(browser, go(site, "/form"), node("save", "browser.click", target="button.save"))
    assert r.result.status == Status.FAILED
    assert "matches 2 elements" in r.result.error and "anchor" in r.result.error


def test_slow_elements_are_waited_for_without_sleeps(browser, site):
    r = run_on(
        browser,
        go(site, "/slow"),
        node("late", "browser.click", target={"selector": "#late"}),
        node("text", "browser.get_text", target="#late", output="late"),
        node("gone", "browser.wait_for", target="#gone", state="detached"),
        node("url", "browser.wait_for", url="**/slow", output="url"),
        node("re", "browser.wait_for", url="/127\\.0\\.0\\.1:\\d+/slow$/"),
    )
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["late"] == "ok"
    assert r.result.variables["url"].endswith("/slow")


def test_nested_iframes_by_frame_path_and_by_switching(browser, site):
    deep = {"selector": "#deep", "frame_path": ["#outer", "iframe[name=inner]"]}
    r = run_on(
        browser,
        go(site, "/frames"),
        node("type", "browser.type", target=deep, text="abc"),
        node("press", "browser.click", target={**deep, "selector": "#deep-btn"}),
        node("read", "browser.get_text", target={**deep, "selector": "#deep-btn"}, output="a"),
        node("outer", "browser.switch_frame", target="#outer"),
        node("inner", "browser.switch_frame", target="#inner", output="frame"),
        node("type2", "browser.type", target="#deep", text="xyz"),
        node("press2", "browser.click", target="#deep-btn"),
        node("read2", "browser.get_text", target="#deep-btn", output="b"),
        node("top", "browser.switch_frame", top=True),
        node("read3", "browser.execute_js", script="return document.title", output="title"),
    )
    assert r.result.status == Status.COMPLETED, r.text()
    v = r.result.variables
    assert v["a"] == "pressed abc" and v["b"] == "pressed xyz"
    assert v["frame"]["frame"] == "inner" and v["title"] == "Frames"


def test_open_shadow_root(browser, site):
    r = run_on(
        browser,
        go(site, "/shadow"),
        node("type", "browser.type", target={"selector": ".inside", "shadow_path": ["#widget"]},
             text="shadowed"),
        node("value", "browser.get_text", target="my-widget .inside", output="value"),
        node("click", "browser.click",
             target={"selector": ".inside-btn", "shadow_path": ["my-widget"]}),
        node("read", "browser.get_text", target=".inside-btn", output="button"),
    )  # fmt: skip
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["value"] == "shadowed"
    assert r.result.variables["button"] == "shadow ok"


def test_popup_and_tabs(browser, site):
    r = run_on(
        browser,
        go(site, "/popup"),
        node("open", "browser.click", target="#open"),
        node("popup", "browser.switch_tab", newest=True, output="popup"),
        node("msg", "browser.get_text", target="#msg", output="msg"),
        node("back", "browser.switch_tab", index=0, output="first"),
        node("title", "browser.switch_tab", title="popup PAGE", output="by_title"),
        node("url", "browser.switch_tab", url="/popup-target", output="by_url"),
        # a template that renders a number (here the port, in every tab's URL) is text too
        node("port", "browser.switch_tab", url=int(site.rsplit(":", 1)[1]), output="by_port"),
        node("bad", "browser.switch_tab", title={"not": "text"}),
    )
    assert r.result.failed_node == "bad", r.text()
    assert "param 'title' must be text, got dict" in r.result.error
    v = r.result.variables
    assert v["popup"]["title"] == "Popup page" and v["popup"]["index"] == 1
    assert v["msg"] == "inside the popup"
    assert v["first"]["title"] == "Opener"
    assert v["by_title"]["index"] == 1 and v["by_url"]["index"] == 1
    assert v["by_port"]["index"] == 1


def test_upload_and_download(browser, site, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.bin"
    a.write_text("hello")
    b.write_bytes(b"\x00" * 10)
    r = run_on(
        browser,
        go(site, "/upload"),
        node("up", "browser.upload", target="#files", files=[str(a), str(b)]),
        node("names", "browser.get_text", target="#names", output="names"),
        node("dl_page", "browser.navigate", url=f"{site}/download"),
        node("dl", "browser.download", target="#get", path=str(tmp_path / "out") + "/",
             artifact=True, output="saved"),
        node("dl2", "browser.download", target="#get", path=str(tmp_path / "out"),
             output="again"),
    )  # fmt: skip
    assert r.result.status == Status.COMPLETED, r.text()
    v = r.result.variables
    assert v["names"] == "a.txt:5,b.bin:10"
    # the page suggested "../report 1.csv": it lands in the folder asked for, never above it
    saved, again = Path(v["saved"]), Path(v["again"])
    assert saved.parent == again.parent == tmp_path / "out"
    assert saved.name.endswith("report 1.csv") and again.name.endswith("report 1 (1).csv")
    assert saved.read_bytes() == again.read_bytes() == b"name,total\nAda,17.5\n"
    kept = [a for a in r.engine.scope.artifacts if a["kind"] == "download"]
    assert kept and kept[0]["data"] == b"name,total\nAda,17.5\n"


def test_tables_of_every_kind_and_paging(browser, site):
    cards = [{"header": "Name", "selector": ".n"}, {"header": "Role", "selector": ".r"}]
    r = run_on(
        browser,
        go(site, "/tables"),
        node("first", "browser.extract_table", output="first"),
        node("html", "browser.extract_table", target="#html", output="html"),
        node("aria", "browser.extract_table", target="#aria", output="aria"),
        node("divs", "browser.extract_table", target="#divs", output="divs"),
        node("cards", "browser.extract_table", target="#cards", row_selector="li.card",
             columns=cards, output="cards"),
        node("raw", "browser.extract_table", target="#html", header="none", output="raw"),
        node("paged", "browser.extract_table", target="#paged", next="#next", output="paged"),
        # the extension's table description, as its recorder writes the params
        node("ext_html", "browser.extract_table", target={"selector": "#html"},
             row_selector=":scope > tbody > tr", header="auto", output="ext_html",
             columns=[{"header": "Who", "selector": ":scope > :nth-child(1)"},
                      {"header": "Sum", "selector": ":scope > :nth-child(2)"}]),
        node("ext_aria", "browser.extract_table", target="#aria", output="ext_aria",
             row_selector="[role=row]:not(:has([role=columnheader]))",
             columns=[{"header": "City", "selector": ":scope > :nth-child(1)"}]),
    )  # fmt: skip
    assert r.result.status == Status.COMPLETED, r.text()
    v = r.result.variables
    assert (
        v["html"]
        == v["first"]
        == [
            {"Name": "Ada", "Total": "17.5"},
            {"Name": "Alan", "Total": "3"},
        ]
    )
    assert v["aria"] == [{"City": "Berlin", "Zip": "10115"}, {"City": "Paris", "Zip": "75001"}]
    assert v["divs"] == [{"Item": "Bolt", "Qty": "12"}, {"Item": "Nut", "Qty": "40"}]
    assert v["cards"] == [{"Name": "Grace", "Role": "Admiral"}, {"Name": "Linus", "Role": "Kernel"}]
    assert v["raw"][0] == {"column_1": "Name", "column_2": "Total"}
    assert [row["N"] for row in v["paged"]] == ["1", "2", "3", "4", "5"]
    assert v["ext_html"] == [{"Who": "Ada", "Sum": "17.5"}, {"Who": "Alan", "Sum": "3"}]
    assert v["ext_aria"] == [{"City": "Berlin"}, {"City": "Paris"}]


def test_screenshots_to_file_and_artifact(browser, site, tmp_path):
    r = run_on(
        browser,
        go(site, "/form"),
        node("file", "browser.screenshot", path=str(tmp_path / "shots" / "p.png"), output="f"),
        node("full", "browser.screenshot", full_page=True, name="full.png", output="a"),
        node("one", "browser.screenshot", target="#link", output="e"),
    )
    assert r.result.status == Status.COMPLETED, r.text()
    assert (tmp_path / "shots" / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shots = {a["name"]: a for a in r.engine.scope.artifacts}
    assert shots["full.png"]["kind"] == "screenshot" and shots["full.png"]["data"][:4] == b"\x89PNG"
    assert shots["one.png"]["size"] < shots["full.png"]["size"]
    assert r.result.variables["a"]["name"] == "full.png"


def test_execute_js(browser, site):
    r = run_on(
        browser,
        go(site, "/form"),
        node("sum", "browser.execute_js", script="return args.a + args.b", args={"a": 2, "b": 3},
             output="sum"),
        node("el", "browser.execute_js", target="#link", script="return element.dataset.kind",
             output="kind"),
        node("wait", "browser.execute_js", script="await new Promise(r => setTimeout(r, 50));"
             " return [document.title, location.pathname]", output="pair"),
    )  # fmt: skip
    assert r.result.status == Status.COMPLETED, r.text()
    v = r.result.variables
    assert v["sum"] == 5 and v["kind"] == "plain" and v["pair"] == ["Order form", "/form"]


FAILURES = [
    ("click", {"target": "#nope"}, "timed out after 1.5 s (waiting for locator(\"#nope\"))"),
    ("type", {"target": "#nope", "text": "x"}, "timed out after 1.5 s"),
    ("select", {"target": "select", "label": "Spain"}, "timed out"),
    ("select", {"target": "select"}, "give either 'value' or 'label'"),
    ("check", {"target": "#out"}, "Not a checkbox or radio button"),
    ("hover", {"target": {"selector": "#nope", "fallbacks": ["#gone"]}},
     "no element matches the target within 1.5 s ('#nope' matched 0; '#gone' matched 0)"),
    ("press_key", {"key": "NoSuchKey"}, 'Unknown key: "NoSuchKey"'),
    ("get_text", {"target": "#nope"}, "timed out"),
    ("get_attribute", {"target": "#nope", "name": "id"}, "timed out"),
    ("wait_for", {"target": "#link", "state": "hidden", "timeout": 0.5}, "timed out after 0.5 s"),
    ("wait_for", {"url": "**/never"}, "timed out"),
    ("wait_for", {}, "give a 'target' or a 'url'"),
    ("screenshot", {"path": "/proc/forbidden/x.png"}, "cannot write the screenshot"),
    ("extract_table", {"target": "#nope"}, "timed out"),
    ("extract_table", {"columns": [{"header": "a", "selector": "b"}]}, "needs a 'row_selector'"),
    ("execute_js", {"script": "return missingThing.value"},
     "the script failed: ReferenceError: missingThing is not defined"),
    ("switch_tab", {"index": 5}, "no tab with index 5 (1 open)"),
    ("switch_frame", {"target": "#out"}, "'#out' is not an iframe"),
    ("upload", {"target": "#files", "files": "/no/such/file"}, "cannot upload /no/such/file"),
    ("download", {"target": "#link"}, "timed out"),
    ("navigate", {"url": "http://127.0.0.1:1/"}, "could not open http://127.0.0.1:1/: net::ERR_"),
    ("navigate", {"url": "javascript:alert(1)"}, "give a full address"),
    ("click", {"target": {"fallbacks": ["#x"]}}, "target object needs a 'selector'"),
    ("click", {"target": {"selector": "#a", "anchor": {"selector": "b", "relation": "uncle"}}},
     "relation 'uncle' is not one of"),
    ("click", {"target": "#link", "modifiers": ["Hyper"]}, "param 'modifiers' must be a list"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "params", "message"), FAILURES)
def test_failures_are_clear_and_keep_evidence(browser, site, action, params, message):
    page = "/upload" if action == "upload" else "/form"
    r = run_on(browser, go(site, page), node("n", f"browser.{action}", **params))
    assert r.result.status == Status.FAILED, r.text()
    assert r.result.failed_node == "n"
    assert message in r.result.error
    kinds = {a["kind"] for a in r.engine.scope.artifacts}
    checked_before_the_page = ("give", "cannot", "needs", "must", "relation", "needs a")
    if not any(
        message.startswith(p) or p in message.split(":")[0] for p in checked_before_the_page
    ):
        assert {"screenshot", "html", "console"} <= kinds, (r.result.error, kinds)
        report = json.loads(next(a for a in r.engine.scope.artifacts if a["kind"] == "console")[
            "data"])  # fmt: skip
        if "127.0.0.1:1" not in message:
            assert report["title"] == "Order form" or action == "upload"
            assert report["url"].startswith(site) and report["error"] in r.result.error
        if action == "click" and "#nope" in str(params):
            assert "console.error: form loaded with a console error" in report["console"]


def test_credentials_never_leak(browser, site):
    """The vault secret goes into a password field and a text field; a later node fails.
    Every log line, the error, and each artifact (screenshot, HTML, console) are scanned."""
    r = run_on(
        browser,
        go(site, "/form"),
        node("pw", "browser.type", target="[name=pw]", text="{{credential}}", credential="vault"),
        node("plain", "browser.type", target="[name=first]", text="{{credential}}",
             credential="vault"),
        node("log", "browser.execute_js", script="console.error('leak ' + args); return args",
             args="{{credential}}", credential="vault", output="echo"),
        node("sel", "browser.select", target="select", label="{{credential}}",
             credential="vault"),
        credentials=CREDS,
    )  # fmt: skip
    assert r.result.status == Status.FAILED and r.result.failed_node == "sel"
    assert SECRET not in r.text() and SECRET not in (r.result.error or "")
    data = artifacts_text(r.engine.scope)
    assert {a["kind"] for a in r.engine.scope.artifacts} >= {"screenshot", "html", "console"}
    assert SECRET.encode() not in data
    html = next(a for a in r.engine.scope.artifacts if a["kind"] == "html")["data"].decode()
    assert re.search(r'name="pw"[^>]*value="\*\*\*"', html)
    assert re.search(r'name="first"[^>]*value="\*\*\*"', html)
    console = next(a for a in r.engine.scope.artifacts if a["kind"] == "console")["data"]
    assert b"leak ***" in console
    # the secret really went into the fields (the page saw it)
    assert r.result.variables["echo"] == SECRET


def test_fallback_and_fingerprint_repair(browser, site):
    fingerprint = {
        "tag": "button",
        "text": "Save",
        "attributes": {
            "type": "button",
            "id": "save-1187",
            "class": "btn btn-primary",
            "data-testid": "save-settings",
        },
        "index": 1,
    }
    old = {
        "selector": '[data-testid="save-settings"]',
        "fallbacks": ["#save-1187", "button.btn-primary"],
        "fingerprint": fingerprint,
    }
    # a broken primary still runs through a fallback
    with_fallback = {**old, "fallbacks": ["#save-1187", "button.btn-main"]}
    r = run_on(
        browser,
        go(site, "/repair?variant=close"),
        node("save", "browser.click", target=with_fallback),
        node("out", "browser.get_text", target="#out", output="out"),
    )
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["out"] == "saved" and not r.engine.scope.repairs
    assert r.messages("save", "warning") == [
        "primary selector '[data-testid=\"save-settings\"]' matches nothing; "
        "used fallback 'button.btn-main'"
    ]

    # every selector broke: the fingerprint finds it, the repair is reported once per node
    loop = graph(
        [
            go(site, "/repair?variant=close"),
            node("each", "loop.for_each", items=[1, 2], item="i"),
            node("save", "browser.click", target=old),
            node("out", "browser.get_text", target="#out", output="out"),
        ],
        [edge("go", "each"), edge("each", "save", "body"), edge("each", "out", "done")],
    )
    r = run_on(browser, graph=loop)
    assert r.result.status == Status.COMPLETED, r.text()
    assert r.result.variables["out"] == "saved"
    [repair] = r.engine.scope.repairs
    assert repair["node_id"] == "save" and repair["param"] == "target"
    assert repair["old"] == old and repair["score"] >= 0.70
    new = repair["new"]
    assert new["selector"] == 'button:text-is("Save")'
    assert new["fallbacks"][:3] == ['[data-testid="save-settings"]', "#save-1187",
                                    "button.btn-primary"]  # fmt: skip
    assert new["fingerprint"]["attributes"]["id"] == "save-2291"
    assert new["fingerprint"]["attributes"]["class"] == "btn btn-main"
    [warning] = r.messages("save", "warning")
    assert (
        "'[data-testid=\"save-settings\"]'" in warning and "'button:text-is(\"Save\")'" in warning
    )

    # an element that only vaguely resembles it is not taken
    r = run_on(browser, go(site, "/repair?variant=far"), node("save", "browser.click", target=old))
    assert r.result.status == Status.FAILED and not r.engine.scope.repairs
    assert "below the 0.70 needed for a repair" in r.result.error
    assert {a["kind"] for a in r.engine.scope.artifacts} >= {"screenshot", "html"}


def test_secrets_in_playwright_messages_are_masked(browser, site):
    """Playwright's call log echoes what it waited for (here a URL pattern with the secret)."""
    r = run_on(
        browser,
        go(site, "/form"),
        node("n", "browser.wait_for", url="**/{{credential}}", credential="vault", timeout=0.5),
        credentials=CREDS,
    )
    assert r.result.status == Status.FAILED
    assert "waiting for navigation to" in r.result.error and "***" in r.result.error
    assert SECRET not in r.result.error and SECRET not in r.text()
    assert SECRET.encode() not in artifacts_text(r.engine.scope)


def test_a_credential_bound_to_hosts_is_typed_only_into_their_pages(browser, site):
    """Issue 17 item 4 for browser typing: the page origin of the field decides."""
    port = int(site.rsplit(":", 1)[1].split("/")[0])
    typing = node("pw", "browser.type", target="[name=pw]", text="{{credential}}",
                  credential="vault")  # fmt: skip
    elsewhere = {"vault": {**CREDS["vault"], "allowed_hosts": ["erp.acme.local"]}}
    r = run_on(browser, go(site, "/form"), typing, credentials=elsewhere)
    assert r.result.status == Status.FAILED and r.result.failed_node == "pw"
    assert "may not be sent to 127.0.0.1" in (r.result.error or "")
    assert SECRET not in r.text() and SECRET not in (r.result.error or "")
    here = {"vault": {**CREDS["vault"], "allowed_hosts": [f"127.0.0.1:{port}"]}}
    r = run_on(browser, go(site, "/form"), typing, credentials=here)
    assert r.result.status == Status.COMPLETED, r.result.error
