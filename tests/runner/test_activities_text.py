"""Text activities, run through the engine."""

from __future__ import annotations

import pytest

from .enginekit import failure, value


def test_replace() -> None:
    assert value("text.replace", text="a-b-c", old="-", new="+") == "a+b+c"
    assert value("text.replace", text="a-b-c", old="-", new="", count=1) == "ab-c"
    assert "must not be empty" in failure("text.replace", text="abc", old="")


def test_split_and_join() -> None:
    assert value("text.split", text=" a  b\tc ") == ["a", "b", "c"]
    assert value("text.split", text="a;b;;c", separator=";") == ["a", "b", "", "c"]
    assert value("text.split", text="a;b;c", separator=";", max_split=1) == ["a", "b;c"]
    assert value("text.join", items=["a", 1, True, None], separator=",") == "a,1,true,"
    assert "must be a list" in failure("text.join", items="abc")


def test_trim() -> None:
    assert value("text.trim", text="  x  ") == "x"
    assert value("text.trim", text="--x--", characters="-", side="start") == "x--"
    assert value("text.trim", text="  x  ", side="end") == "  x"
    assert "side" in failure("text.trim", text="x", side="middle")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("lower", "hello world"),
        ("upper", "HELLO WORLD"),
        ("title", "Hello World"),
        ("capitalize", "Hello world"),
    ],
)
def test_case(case: str, expected: str) -> None:
    assert value("text.case", text="hELLO wORLD", case=case) == expected


def test_case_rejects_unknown() -> None:
    assert "lower, upper" in failure("text.case", text="x", case="sponge")


def test_format() -> None:
    # values reach the activity through the engine's variables
    from .enginekit import graph, node, run

    def fmt(template: str, spec: str, **variables: object) -> object:
        g = graph(
            [node("f", "text.format", template=template, format=spec, output="out")],
            variables=variables,
        )
        result, _ = run(g)
        return result.variables.get("out") if result.status == "COMPLETED" else result.error

    assert fmt("{x}", ".2f", x=3.14159) == "3.14"
    assert fmt("{x}", ">8", x=3.1416) == "  3.1416"
    assert fmt("{big}", ",", big=1234567) == "1,234,567"
    assert "cannot format" in failure("text.format", template="abc", format=".2f")


def test_format_template_renders_variables() -> None:
    from .enginekit import graph, node, run

    g = graph(
        [node("f", "text.format", template="{name} owes {amount} ({items})", output="out")],
        variables={"name": "ACME", "amount": 12.5, "items": ["a", "b"]},
    )
    result, _ = run(g)
    assert result.variables["out"] == 'ACME owes 12.5 (["a", "b"])'


def test_regex_match() -> None:
    assert value("text.regex_match", text="order 42", pattern=r"\d+") is True
    assert value("text.regex_match", text="order 42", pattern=r"\d+", full=True) is False
    assert value("text.regex_match", text="ABC", pattern="abc", ignore_case=True) is True
    assert "invalid regular expression" in failure("text.regex_match", text="x", pattern="(")


def test_regex_replace() -> None:
    assert value("text.regex_replace", text="a1b22", pattern=r"\d+", replacement="#") == "a#b#"
    assert (
        value(
            "text.regex_replace",
            text="2024-05-01",
            pattern=r"(\d+)-(\d+)-(\d+)",
            replacement=r"\3.\2.\1",
        )
        == "01.05.2024"
    )
    assert "invalid replacement" in failure(
        "text.regex_replace", text="a", pattern="a", replacement=r"\9"
    )


def test_regex_extract() -> None:
    text = "id=7, id=42, name=x"
    assert value("text.regex_extract", text=text, pattern=r"id=\d+") == ["id=7", "id=42"]
    assert value("text.regex_extract", text=text, pattern=r"id=(\d+)", group=1) == ["7", "42"]
    assert (
        value("text.regex_extract", text=text, pattern=r"id=(?P<n>\d+)", group="n", all=False)
        == "7"
    )
    assert value("text.regex_extract", text=text, pattern=r"zzz", all=False) is None
    assert "no group" in failure("text.regex_extract", text=text, pattern=r"id", group=2)


# -- issue 17: user patterns run on a linear-time engine (RE2) ------------------------------


@pytest.mark.timeout(60)  # Python's re backtracked for hours on these; RE2 answers at once
@pytest.mark.parametrize("kind", ["text.regex_match", "text.regex_replace", "text.regex_extract"])
def test_regex_activities_are_linear_time(kind: str) -> None:
    evil = "a" * 40 + "!"
    out = value(kind, text=evil, pattern="(a+)+$", replacement="x")
    assert out in (False, evil, [])


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [(r"(\w)\1", "backreferences"), (r"a(?=b)", "lookahead"), (r"(?<=a)b", "lookbehind")],
)
def test_regex_unsupported_syntax_is_a_clear_node_error(pattern: str, fragment: str) -> None:
    message = failure("text.regex_match", text="abb", pattern=pattern)
    assert fragment in message and repr(pattern) in message
