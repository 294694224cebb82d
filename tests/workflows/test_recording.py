"""The pure conversion of recorded actions into ``browser.*`` nodes (workflows/recording.py)."""

from __future__ import annotations

import json
from typing import Any

from workflows.recording import actions_to_graph, actions_to_nodes, clean_target

URL = "http://127.0.0.1:8000/login.html"


def target(selector: str, frame_path: list[str] | None = None, **fp: Any) -> dict[str, Any]:
    return {
        "selector": selector,
        "fallbacks": [f"xpath=//*[@x='{selector}']"],
        "candidates": [{"strategy": "name", "selector": selector, "status": "valid", "score": 4}],
        "frame_path": frame_path or [],
        "shadow_path": [],
        "fingerprint": {"tag": "input", "text": "", "attributes": {}, "index": 0, **fp},
    }


def act(kind: str, tgt: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"type": kind, "target": tgt, "url": kw.pop("url", URL), "title": "t",
            "timestamp": 1, **kw}  # fmt: skip


def types(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["type"] for n in nodes]


def test_a_login_becomes_open_type_type_click_wait_close() -> None:
    user, pw, button = target("[name=user]"), target("[name=pw]"), target("button.login")
    actions = [
        act("type", user, value="a"),
        act("type", user, value="ada"),  # the same field again: merged
        act("type", pw, value="{{credential}}", password=True),
        act("click", button, value=""),
        act("navigate", None, url="http://127.0.0.1:8000/redirect"),
        act("navigate", None, url="http://127.0.0.1:8000/home"),  # a redirect: same wait
    ]
    graph = actions_to_graph(actions)
    nodes = graph["nodes"]
    assert types(nodes) == ["browser.open", "browser.type", "browser.type", "browser.click",
                            "browser.wait_for", "browser.close"]  # fmt: skip
    assert nodes[0]["params"] == {"url": URL}
    assert nodes[1]["params"]["text"] == "ada"
    assert nodes[2]["params"]["text"] == "{{credential}}"
    assert nodes[2]["params"]["credential"] == "127.0.0.1"
    assert nodes[4]["params"] == {"url": "http://127.0.0.1:8000/home"}
    assert graph["edges"] == [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:])]
    assert len({n["id"] for n in nodes}) == len(nodes)


def test_password_values_never_survive_whatever_the_page_sent() -> None:
    pw = target("#pw", type="password")
    pw["fingerprint"]["attributes"] = {"type": "password", "value": "hunter2"}
    graph = actions_to_graph(
        [act("type", pw, value="hunter2", password=True)], credential="crm-login"
    )
    text = json.dumps(graph)
    assert "hunter2" not in text
    node = graph["nodes"][1]
    assert (
        node["params"]["text"] == "{{credential}}" and node["params"]["credential"] == "crm-login"
    )


def test_enter_tab_select_upload_and_tabs() -> None:
    city, promo = target("[name=city]"), target("[name=promo]")
    country, avatar = target("select[name=country]"), target("[name=avatar]")
    popup_button = target("[data-testid=plan]")
    actions = [
        act("selectDropdown", country, value="cl", label="Chile"),
        act("navigate", None, url="http://127.0.0.1:8000/after-select"),  # caused: a wait
        act("upload", avatar, value="", files=["me.png"]),
        act("type", promo, value="SAVE{10}"),
        act("keydown", promo, value="Tab", key="Tab"),
        act("switchTab", None, index=1),
        act("click", popup_button, value=""),
        act("switchTab", None, index=0),
        act("type", city, value="Paris"),
        act("keydown", city, value="Enter", key="Enter"),  # merged into the type
        act("navigate", None, url="http://127.0.0.1:8000/done?city=Paris"),
        act("navigate", None, url="http://127.0.0.1:8000/done?city=Paris#x", via="popstate"),
        act("keydown", None, value="Escape", key="Escape"),  # not recorded by the extension
    ]
    conv = actions_to_nodes(actions, taken_ids=["select1"])
    nodes = conv.nodes
    assert types(nodes) == [
        "browser.select", "browser.wait_for", "browser.upload", "browser.type",
        "browser.press_key", "browser.switch_tab", "browser.click", "browser.switch_tab",
        "browser.type", "browser.wait_for", "browser.navigate",
    ]  # fmt: skip
    assert nodes[0]["id"] == "select2"  # clear of the existing graph's ids
    assert nodes[0]["params"]["value"] == "cl"
    assert nodes[2]["params"]["files"] == "{upload_file_1}"
    assert conv.variables == {"upload_file_1": "me.png"}
    assert nodes[3]["params"]["text"] == "SAVE{{10}}"  # braces stay literal
    assert nodes[4]["params"] == {"key": "Tab", "target": promo}
    assert [n["params"]["index"] for n in nodes if n["type"] == "browser.switch_tab"] == [1, 0]
    assert nodes[8]["params"]["press_enter"] is True
    assert nodes[10]["params"]["url"].endswith("#x")
    assert any("upload_file_1" in note for note in conv.notes)
    assert not any(n["type"] == "browser.open" for n in nodes)


def test_frames_keep_their_path_and_fields_in_other_frames_do_not_merge() -> None:
    top, framed = target("[name=note]"), target("[name=note]", ["iframe[name=notes]"])
    nodes = actions_to_nodes([act("type", top, value="a"), act("type", framed, value="b")]).nodes
    assert len(nodes) == 2 and nodes[1]["params"]["target"]["frame_path"] == ["iframe[name=notes]"]


def test_untrusted_garbage_is_dropped() -> None:
    actions: list[Any] = [
        "nope",
        {"type": "rm -rf"},
        {"type": "click"},  # no target
        {"type": "click", "target": {"selector": 3}},
        {"type": "switchTab", "index": True},
        {"type": ["click"], "target": {"selector": "#list"}},  # unhashable type
        {"type": {"click": 1}, "target": {"selector": "#dict"}},
        {"type": "click", "target": {"selector": "#ok", "fallbacks": [1, "b"], "x": "y"}},
    ]
    nodes = actions_to_nodes(actions).nodes
    assert types(nodes) == ["browser.click"]
    assert nodes[0]["params"]["target"]["fallbacks"] == ["b"]
    assert "x" not in nodes[0]["params"]["target"]
    assert clean_target(None) is None and clean_target("text=Save") == "text=Save"
    assert actions_to_graph([])["nodes"] == []
    for candidates in ({"a": 1}, 7, "abc"):  # not a list: no candidates
        cleaned = clean_target({"selector": "#c", "candidates": candidates})
        assert isinstance(cleaned, dict) and cleaned["candidates"] == []
    # a URL urllib cannot split ("Invalid IPv6 URL") still converts
    bad = "http://[x"
    password = act("type", target("#pw"), value="x", password=True, url=bad)
    conv = actions_to_nodes([{"type": "navigate", "url": bad}, password], include_open=True,
                            start_url="http://[y")  # fmt: skip
    assert types(conv.nodes) == ["browser.open", "browser.navigate", "browser.type"]
    assert conv.nodes[2]["params"]["credential"] == "site"
    assert conv.nodes[1]["label"] == f"Go to {bad}"
