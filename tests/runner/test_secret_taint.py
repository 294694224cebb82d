"""Issue 17, item 8: values derived from a secret stay secret.

The real engine, real activities and a real child Python transform a vault credential in the
ways the attack did (upper case, spaced out by a replace, reversed by a script, base64); none of
it may reach a log line, an error, the variables that leave the engine or the final report.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any
from urllib.parse import quote

import pytest

from runner.engine import Redactor, Status
from runner.execute import run_execution
from runner.redact import MIN_FUZZY_LENGTH

from .enginekit import chain, node, run

SECRET = "Sup3r-s3cret!"  # noqa: S105 - a test value
CREDS = {"erp": {"username": "robot", "secret": SECRET}}


def leaks(text: str, secret: str = SECRET) -> list[str]:
    """The forms of ``secret`` found in ``text``."""
    found = []
    low, sec = text.lower(), secret.lower()
    if sec in low:
        found.append("any case")
    if sec[::-1] in low:
        found.append("reversed")
    squeezed = re.sub(r"[^0-9a-z]", "", low)
    core = re.sub(r"[^0-9a-z]", "", sec)
    if core in squeezed or core[::-1] in squeezed:
        found.append("separated characters")
    b64 = base64.b64encode(secret.encode()).decode().rstrip("=")
    if b64 in text:
        found.append("base64")
    if quote(secret, safe="").lower() in low:
        found.append("URL-encoded")
    return found


SCRIPT = (
    "import base64\n"
    "print('reversed:', pw[::-1])\n"
    "print('spaced:', ' '.join(pw))\n"
    "print('b64:', base64.b64encode(pw.encode()).decode())\n"
    "result = {'rev': pw[::-1], 'b64': base64.b64encode(pw.encode()).decode()}\n"
)


def _graph(tmp: str) -> dict[str, Any]:
    return chain(
        node("up", "text.case", text="{{credential}}", case="upper", credential="erp", output="up"),
        node(
            "spaced",
            "text.regex_replace",
            text="{{credential}}",
            pattern="(.)",
            replacement=r"\1 ",
            credential="erp",
            output="spaced",
        ),
        node(
            "script",
            "script.python",
            code=SCRIPT,
            inputs={"pw": "{{credential}}"},
            credential="erp",
            output="out",
        ),  # fmt: skip
        node("again", "variable.set", name="again", value="{up}"),  # derived of derived
        node("low", "text.case", text="{again}", case="lower", output="low"),
        node("say", "log.write", message="up={up} spaced={spaced} low={low} out={out}"),
        node("warn", "log.write", message="rev={out.rev} b64={out.b64}", level="warning"),
        node("fail", "file.read", path=tmp + "/{low}/{out.b64}.txt", output="x"),
    )


def test_transformed_secret_never_reaches_logs_errors_or_variables(tmp_path: Any) -> None:
    result, r = run(_graph(str(tmp_path)), credentials=CREDS)
    assert result.status == Status.FAILED and result.failed_node == "fail", r.text()
    # the transformations did happen (the engine's own variables keep the real values) ...
    assert result.variables["up"] == SECRET.upper()
    assert result.variables["out"]["rev"] == SECRET[::-1]
    assert result.variables["low"] == SECRET.lower()
    # ... but nothing that leaves the engine shows any form of the secret
    for line in r.lines:
        assert not leaks(line.message), (leaks(line.message), line)
    assert "***" in " ".join(r.messages("say"))
    assert not leaks(result.error or ""), result.error
    shown = json.dumps(result.to_dict())
    assert not leaks(shown), leaks(shown)
    assert result.to_dict()["variables"]["up"] == "***"


def test_final_report_and_log_lines_for_the_hub_hold_no_form_of_the_secret(tmp_path: Any) -> None:
    lines: list[dict[str, Any]] = []
    payload = {"id": 1, "attempt": 1, "graph": _graph(str(tmp_path)), "credentials": CREDS}
    report = run_execution(payload, lines.append, threading.Event(), metrics_interval=0.2)
    assert report["status"] == "FAILED" and report["failed_node"] == "fail"
    assert lines and not leaks(json.dumps(lines)), leaks(json.dumps(lines))
    assert not leaks(json.dumps(report)), report


def test_an_untainted_value_is_not_redacted() -> None:
    g = chain(
        node("up", "text.case", text="{{credential}}", case="upper", credential="erp", output="up"),
        node("plain", "text.case", text="ordinary words", case="upper", output="plain"),
        node("say", "log.write", message="{plain}"),
    )
    result, r = run(g, credentials=CREDS)
    assert result.status == Status.COMPLETED
    assert r.messages("say") == ["ORDINARY WORDS"]
    assert result.to_dict()["variables"]["plain"] == "ORDINARY WORDS"


def test_a_secret_param_does_not_taint_what_it_unlocks(tmp_path: Any) -> None:
    """A PDF's password is a secret param: the text read with it is the document's, not a
    form of the secret, so it stays readable (the password itself is still redacted)."""
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    g = chain(
        node("make", "pdf.from_text", text="quarterly figures 2024", destination=str(plain)),
        node(
            "lock",
            "pdf.encrypt",
            path=str(plain),
            destination=str(locked),
            password="{{credential}}",
            credential="erp",
        ),
        node(
            "read",
            "pdf.read_text",
            path=str(locked),
            password="{{credential}}",
            credential="erp",
            output="text",
        ),
        node("say", "log.write", message="read: {text}"),
        node("oops", "log.write", message="pw is {{credential}}", credential="erp"),
    )
    result, r = run(g, credentials=CREDS)
    assert result.status == Status.COMPLETED, r.text()
    assert "quarterly figures 2024" in result.variables["text"]
    assert "quarterly figures 2024" in result.to_dict()["variables"]["text"]
    assert any("quarterly figures 2024" in m for m in r.messages("say")), r.text()
    assert not leaks(r.text()) and r.messages("oops") == ["pw is ***"]


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        SECRET.upper(),
        SECRET.swapcase(),
        SECRET[::-1],
        " ".join(SECRET),
        "-".join(SECRET),
        "_".join(SECRET[::-1]).upper(),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        quote(SECRET, safe=""),
        quote(SECRET, safe="").lower(),
        SECRET.encode().hex(),
        json.dumps(SECRET),
    ],
)
def test_redactor_knows_the_common_encodings(form: str) -> None:
    redact = Redactor()
    redact.add(SECRET)
    out = redact(f"before {form} after")
    assert out.startswith("before ") and out.endswith(" after") and "***" in out
    assert not leaks(out), out


@pytest.mark.parametrize("prefix", [b"robot:", b"ro:", b"r:"])
def test_redactor_finds_a_secret_inside_a_longer_base64_text(prefix: bytes) -> None:
    redact = Redactor()
    redact.add(SECRET)
    header = "Basic " + base64.b64encode(prefix + SECRET.encode()).decode()
    out = redact(header)
    assert "***" in out
    decoded = base64.b64decode(out.removeprefix("Basic ").split("***")[0] + "==", validate=False)
    assert SECRET.encode()[:3] not in decoded  # what is left says nothing about the secret


def test_short_secrets_are_matched_exactly_only() -> None:
    redact = Redactor()
    redact.add("abc1")
    assert len("abc1") < MIN_FUZZY_LENGTH
    assert redact("abc1 ABC1 1cba a b c 1") == "*** ABC1 1cba a b c 1"


def test_taint_follows_values_no_pattern_could_recognise() -> None:
    """A digest of the secret looks nothing like it: only the taint knows it is derived."""
    import hashlib

    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    code = (
        "import hashlib\n"
        "result = {'digest': hashlib.sha256(pw.encode()).hexdigest(),"
        " 'halves': [pw[:7] + 'xx', 'yy' + pw[7:]]}\n"
    )
    g = chain(
        node(
            "hash",
            "script.python",
            code=code,
            inputs={"pw": "{{credential}}"},
            credential="erp",
            output="h",
        ),  # fmt: skip
        node("keep", "variable.set", name="d", value="{h.digest}"),
        node("each", "loop.for_each", items="{h.halves}", item="half"),
        node("say", "log.write", message="piece {half}"),
        node("end", "log.write", message="digest {d}"),
    )
    g["edges"] = [
        {"from": "hash", "to": "keep"},
        {"from": "keep", "to": "each"},
        {"from": "each", "to": "say", "port": "body"},
        {"from": "each", "to": "end", "port": "done"},
    ]
    result, r = run(g, credentials=CREDS)
    assert result.status == Status.COMPLETED, r.text()
    assert result.variables["d"] == digest
    assert digest not in r.text() and r.messages("end") == ["digest ***"]
    assert r.messages("say") == ["piece ***", "piece ***"]
    assert digest not in json.dumps(result.to_dict())


def test_a_secret_learnt_at_run_time_taints_what_is_computed_from_it() -> None:
    """http.request's password is a secret param (added to the redactor when rendered); a later
    node reading the same text through an ordinary variable is tainted by its content."""
    import hashlib

    from .enginekit import edge

    password = "tiger-tiger-42"  # noqa: S105 - a test value
    digest = hashlib.sha256(password.encode()).hexdigest()
    g = chain(
        node(
            "call",
            "http.request",
            url="http://127.0.0.1:9/",
            auth="basic",
            username="u",
            password="{pw}",
            timeout=2,
        ),  # fmt: skip
        variables={"pw": password},
    )
    g["nodes"] += [
        node(
            "hash",
            "script.python",
            inputs={"v": "{pw}"},
            output="h",
            code="import hashlib\nresult = hashlib.sha256(v.encode()).hexdigest()",
        ),  # fmt: skip
        node("say", "log.write", message="digest {h}"),
    ]
    g["edges"] += [edge("call", "hash", "error"), edge("hash", "say")]
    result, r = run(g)
    assert result.status == Status.COMPLETED, r.text()
    assert result.variables["h"] == digest
    assert r.messages("say") == ["digest ***"]
    assert digest not in r.text() and password not in r.text()
