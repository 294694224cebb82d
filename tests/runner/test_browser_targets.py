"""The pure parts of target resolution: parsing, fingerprint similarity (around the
threshold), selector building, dynamic-id detection, tables, secret scrubbing, launch flags."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.activities.base import ActivityError
from runner.activities.browser import evidence, tables, targets
from runner.activities.browser.session import find_executable, launch_args

FP = {"tag": "button", "text": "Save", "attributes": {"id": "save-1", "type": "button"}, "index": 2}


def test_parse_string_and_object():
    t = targets.parse("  #a ")
    assert t.selector == "#a" and t.simple and t.selectors() == ["#a"]
    t = targets.parse(
        {
            "selector": "#a",
            "fallbacks": ["#b", "#a"],
            "frame_path": ["iframe"],
            "anchor": {"type": "aria-label", "text": "Menu", "relation": "parent"},
        }
    )
    assert t.selectors() == ["#a", "#b"] and not t.simple and t.frame_path == ("iframe",)
    assert t.anchor == targets.Anchor('[aria-label="Menu"]', "parent", "Menu")
    for bad, message in [
        ("", "empty"), (5, "must be a selector"), ({"selector": ""}, "needs a 'selector'"),
        ({"selector": "a", "fallbacks": "b"}, "list of selectors"),
        ({"selector": "a", "anchor": {"relation": "parent"}}, "selector or a text"),
        ({"selector": "a", "fingerprint": []}, "fingerprint must be an object"),
    ]:  # fmt: skip
        with pytest.raises(targets.TargetError, match=message):
            targets.parse(bad)


def test_similarity_parts():
    same = {"tag": "button", "text": "Save", "attributes": {"id": "save-1", "type": "button"},
            "index": 2}  # fmt: skip
    assert targets.similarity(FP, same) == 1.0
    # generated ids differ only in their digits: still a full attribute match
    assert (
        targets.similarity(FP, {**same, "attributes": {"id": "save-9876", "type": "button"}}) == 1
    )
    assert targets.attribute_similarity("class", "btn primary", "btn main") == pytest.approx(1 / 3)
    assert targets.attribute_similarity("name", "x", None) == 0.0
    moved = targets.similarity(FP, {**same, "index": 3})
    assert moved == pytest.approx(1 - 0.10 * 0.5)
    assert targets.similarity({}, same) == 0.0


def _text_only(matching: int, length: int = 35) -> float:
    old = "a" * 35
    new = "a" * matching + "z" * (length - matching)
    return targets.similarity({"tag": "td", "text": old}, {"tag": "td", "text": new})


def test_threshold_just_above_at_and_just_below():
    # tag (0.25) matches; text (0.35) is the ratio 2M/(35 + len): the score is
    # (0.25 + 0.35 * ratio) / 0.6 — M=18 of 35: 0.7167; M=17 of 35: exactly 0.70; of 36: 0.6960
    above, exact, below = _text_only(18), _text_only(17), _text_only(17, 36)
    assert above == pytest.approx(0.71667, abs=1e-4)
    assert exact == pytest.approx(targets.THRESHOLD)
    assert below == pytest.approx(0.69601, abs=1e-4)
    fp = {"tag": "td", "text": "a" * 35}
    el = {"tag": "td", "text": "a" * 18 + "z" * 17}
    match, best = targets.best_match(fp, [el, {"tag": "p", "text": "other"}])
    assert match is not None and match.element is el and best == above
    match, best = targets.best_match(fp, [{"tag": "td", "text": "a" * 17 + "z" * 19}])
    assert match is None and best == below


def _score_all(fp, elements):
    """best_match as it was: the exact score of every element."""
    scored = sorted(((targets.similarity(fp, e), i) for i, e in enumerate(elements)), reverse=True)
    if not scored:
        return None, 0.0, 0.0
    return scored[0][1], scored[0][0], scored[1][0] if len(scored) > 1 else 0.0


_texts = st.text(alphabet="abc d1", max_size=12)
_elements = st.fixed_dictionaries(
    {"tag": st.sampled_from(["a", "b"]), "text": _texts, "index": st.integers(0, 4)},
    optional={"attributes": st.dictionaries(st.sampled_from(["id", "class", "name"]), _texts)},
)


@given(fp=_elements, elements=st.lists(_elements, max_size=12))
@settings(max_examples=300, deadline=None)
def test_best_match_scores_only_what_can_win_and_answers_the_same(fp, elements):
    index, best, second = _score_all(fp, elements)
    found, top = targets.best_match(fp, elements, threshold=0.0, margin=0.0)
    assert top == best
    if index is None:
        assert found is None
    else:
        assert found is not None and found.element is elements[index]
        assert (found.score, found.runner_up) == (best, second)


def test_near_twins_are_refused():
    twin = {"tag": "button", "text": "Save", "attributes": {"id": "save-1", "type": "button"}}
    match, best = targets.best_match(FP, [dict(twin, index=2), dict(twin, index=2)])
    assert match is None and best == 1.0


def test_selector_candidates_and_dynamic_ids():
    el = {"tag": "button", "text": " Save  now ", "path": "html > body > button:nth-of-type(2)",
          "attributes": {"id": "btn-48213", "class": "btn css-1x2f9a primary", "name": "save",
                         "data-testid": "save"}}  # fmt: skip
    assert targets.selector_candidates(el) == [
        '[data-testid="save"]',
        'button[name="save"]',
        'button:text-is("Save now")',
        "button.btn.primary",
        "html > body > button:nth-of-type(2)",
    ]
    assert targets.selector_candidates({"tag": "a", "attributes": {"id": "home"}}) == ["#home"]
    assert targets.selector_candidates({"tag": "a", "attributes": {"id": "a b"}}) == ['[id="a b"]']
    for dynamic in ("ember123", "item-7", "a1b2c3d4e5", "3f2b8c1e-aaaa-4bbb", ":r1:"):
        assert targets.looks_dynamic(dynamic), dynamic
    for stable in ("email", "save-button", "main-nav", "h1"):
        assert not targets.looks_dynamic(stable), stable


def test_repaired_target_keeps_the_old_selectors_first():
    old = targets.parse({"selector": "#a", "fallbacks": ["#b"], "frame_path": ["iframe"],
                         "candidates": [{"strategy": "id"}]})  # fmt: skip
    new = targets.repaired_target(old, "#c", {"tag": "input", "text": "", "index": 1,
                                              "attributes": {"id": "c", "style": "x"}})  # fmt: skip
    assert new["selector"] == "#c" and new["fallbacks"] == ["#a", "#b"]
    assert new["frame_path"] == ["iframe"] and new["candidates"] == [{"strategy": "id"}]
    assert new["fingerprint"] == {"tag": "input", "text": "", "attributes": {"id": "c"}, "index": 1}


def test_rows_from_grid():
    grid = {"kind": "html", "header": ["Name", "", "Name"], "rows": [["a", "b", "c"], ["", ""]]}
    assert tables.rows_from_grid(grid) == [{"Name": "a", "column_2": "b", "Name_2": "c"}]
    grid = {"kind": "div", "header": None, "rows": [["h1", "h2"], ["1", "2", "3"]]}
    assert tables.rows_from_grid(grid, "first_row") == [{"h1": "1", "h2": "2", "column_3": "3"}]
    assert tables.rows_from_grid(grid)[0] == {"column_1": "h1", "column_2": "h2", "column_3": ""}


def test_scrubbing_every_form_of_a_secret():
    secret = 'p&ss "wörd"/1'
    text = f"{secret} {evidence.html.escape(secret)} {evidence.json.dumps(secret)}"
    assert "p&ss" not in evidence.scrub_text(text, {secret}).replace("&amp;", "")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("trace.trace", '{"value": "' + secret + '"}')
    clean = evidence.scrub_zip(data.getvalue(), {secret})
    with zipfile.ZipFile(io.BytesIO(clean)) as zf:
        assert zf.read("trace.trace") == b'{"value": "***"}'


def test_launch_flags_and_executable(tmp_path):
    args = launch_args()
    assert {"--disable-gpu", "--no-first-run", "--disable-sync"} <= set(args)
    assert ("--no-sandbox" in args) == (__import__("os").geteuid() == 0)
    assert find_executable("", str(tmp_path / "missing")) == "/usr/bin/chromium"
    fake = tmp_path / "chrome"
    fake.write_text("")
    assert find_executable("", str(fake)) == str(fake)
    with pytest.raises(ActivityError, match="browser_executable"):
        find_executable(str(tmp_path / "nope"), None)


def test_validation_of_target_params():
    from workflows.validate import validate

    def problems(target):
        nodes = [{"id": "c", "type": "browser.click", "params": {"target": target}}]
        graph = {"format": 1, "variables": {}, "edges": [], "nodes": nodes}
        return [(p.code, p.param) for p in validate(graph)]

    assert problems("#save") == [] and problems({"selector": "#a", "fallbacks": ["#b"]}) == []
    assert problems({"fallbacks": ["#b"]}) == [("param_type", "target")]
    assert problems(5) == [("param_type", "target")]
    assert problems("") == [("missing_param", "target")]
