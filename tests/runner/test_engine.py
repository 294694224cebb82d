"""Engine tests: every control-flow construct and error path, run on the real engine with real
activities (no mocks)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.activities import StopRequested
from runner.activities.base import RunnerPolicy
from runner.engine import ERROR_VARIABLE, Engine, LogLine, Redactor, Status

from .enginekit import Run, chain, edge, graph, node, run

#: scripts whose files live in pytest's tmp_path (under /tmp) and whose own pid the test
#: watches run outside the sandbox, which has a private /tmp and its own PID namespace
UNSANDBOXED = RunnerPolicy(script_sandbox="off")


def test_chain_variables_inputs_and_output(tmp_path: Path) -> None:
    src = tmp_path / "order.txt"
    src.write_text("3 apples", encoding="utf-8")
    g = chain(
        node("read", "file.read", path="{inbox}/order.txt", output="order"),
        node("save", "file.write", path="{outbox}/{customer}.txt", content="{order}!"),
        variables={"customer": "ACME", "inbox": "/nonexistent", "outbox": str(tmp_path / "out")},
    )
    result, _ = run(g, inputs={"inbox": str(tmp_path)})
    assert result.status == Status.COMPLETED, result.error
    assert result.variables["order"] == "3 apples"
    assert result.variables["inbox"] == str(tmp_path)  # the input overrode the default
    assert (tmp_path / "out" / "ACME.txt").read_text(encoding="utf-8") == "3 apples!"


def test_whole_value_expression_keeps_type() -> None:
    g = chain(
        node("a", "variable.set", name="copy", value="{rows}"),
        node("b", "variable.set", name="n", value="{rows[1].qty}"),
        variables={"rows": [{"qty": 1}, {"qty": 2}]},
    )
    result, _ = run(g)
    assert result.variables["copy"] == [{"qty": 1}, {"qty": 2}]
    assert result.variables["n"] == 2


def _if_graph(condition: str) -> dict[str, Any]:
    return graph(
        [
            node("check", "logic.if", condition=condition),
            node("yes", "variable.set", name="path", value="true"),
            node("no", "variable.set", name="path", value="false"),
        ],
        [edge("check", "yes", "true"), edge("check", "no", "false")],
        {"order": "abc", "path": None},
    )


def test_if_takes_true_and_false_ports() -> None:
    assert run(_if_graph("len(order) > 0"))[0].variables["path"] == "true"
    assert run(_if_graph("len(order) > 5"))[0].variables["path"] == "false"


def test_if_without_an_edge_on_the_chosen_port_ends_the_chain() -> None:
    g = graph(
        [
            node("check", "logic.if", condition="false"),
            node("yes", "variable.set", name="x", value=1),
        ],
        [edge("check", "yes", "true")],
    )
    result, _ = run(g)
    assert result.status == Status.COMPLETED
    assert "x" not in result.variables


def test_if_with_a_broken_condition_fails_naming_the_node() -> None:
    result, _ = run(_if_graph("len(missing) > 0"))
    assert result.status == Status.FAILED
    assert result.failed_node == "check"
    assert "missing" in (result.error or "")


def _switch_graph(value: Any) -> dict[str, Any]:
    return graph(
        [
            node("sw", "logic.switch", value=value),
            node("a", "variable.set", name="went", value="a"),
            node("two", "variable.set", name="went", value="two"),
            node("other", "variable.set", name="went", value="default"),
        ],
        [edge("sw", "a", "A"), edge("sw", "two", "2"), edge("sw", "other", "default")],
        {"status": "A", "count": 2},
    )


def test_switch_picks_case_or_default() -> None:
    assert run(_switch_graph("{status}"))[0].variables["went"] == "a"
    assert run(_switch_graph("{count}"))[0].variables["went"] == "two"  # a number matches "2"
    assert run(_switch_graph("zzz"))[0].variables["went"] == "default"


def test_for_each_runs_body_chain_per_element_then_done(tmp_path: Path) -> None:
    g = graph(
        [
            node("loop", "loop.for_each", items="{names}", item="name", index="i"),
            node("b1", "text.case", text="{name}", case="upper", output="up"),
            node("b2", "file.append", path="{out}", content="{i}:{up};"),
            node("done", "log.write", message="finished at {i}"),
        ],
        [
            edge("loop", "b1", "body"),
            edge("b1", "b2"),
            edge("loop", "done", "done"),
        ],
    )
    out = tmp_path / "out.txt"
    result, r = run(g, inputs={"names": ["ann", "bob", "cy"], "out": str(out)})
    assert result.status == Status.COMPLETED, result.error
    assert out.read_text(encoding="utf-8") == "0:ANN;1:BOB;2:CY;"
    assert r.messages("done") == ["finished at 2"]


def _counting_loop(loop_node: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """A loop whose body appends the item to `seen`, continuing on 2 and breaking on 4."""
    return graph(
        [
            loop_node,
            node("is_two", "logic.if", condition="item == 2"),
            node("skip", "loop.continue"),
            node("is_four", "logic.if", condition="item == 4"),
            node("stop", "loop.break"),
            node(
                "append",
                "script.python",
                code="result = seen + [item]",
                inputs={"seen": "{seen}", "item": "{item}"},
                output="seen",
            ),
            node("after", "variable.set", name="after", value="{seen}"),
        ],
        [
            edge(loop_node["id"], "is_two", "body"),
            edge("is_two", "skip", "true"),
            edge("is_two", "is_four", "false"),
            edge("is_four", "stop", "true"),
            edge("is_four", "append", "false"),
            edge(loop_node["id"], "after", "done"),
        ],
        variables,
    )


def test_for_each_break_and_continue() -> None:
    g = _counting_loop(
        node("loop", "loop.for_each", items="{items}", item="item"),
        {"items": [1, 2, 3, 4, 5], "seen": []},
    )
    result, _ = run(g)
    assert result.status == Status.COMPLETED, result.error
    assert result.variables["after"] == [1, 3]  # 2 skipped, stopped at 4, 5 never reached


def test_while_counts_with_back_edge_to_the_loop() -> None:
    g = graph(
        [
            node("loop", "loop.while", condition="n < 5"),
            node("inc", "script.python", code="result = n + 1", inputs={"n": "{n}"}, output="n"),
            node("end", "variable.set", name="final", value="{n}"),
        ],
        # the body's last node points back at the loop, as editors often draw it
        [edge("loop", "inc", "body"), edge("inc", "loop"), edge("loop", "end", "done")],
        {"n": 0},
    )
    # the loop node has an incoming edge, so the start node must be another one
    g["nodes"].insert(0, node("start", "log.write", message="go"))
    g["edges"].append(edge("start", "loop"))
    result, _ = run(g)
    assert result.status == Status.COMPLETED, result.error
    assert result.variables["final"] == 5


def test_while_break_and_continue_with_item_counter() -> None:
    g = _counting_loop(
        node("loop", "loop.while", condition="len(todo) > 0"),
        {"todo": [1, 2, 3, 4, 5], "seen": []},
    )
    # each round pops the first element of todo into item
    g["nodes"].append(node("pop", "variable.set", name="item", value="{todo[0]}"))
    g["nodes"].append(
        node(
            "rest",
            "script.python",
            code="result = todo[1:]",
            inputs={"todo": "{todo}"},
            output="todo",
        )
    )
    g["edges"] = [e for e in g["edges"] if e.get("port") != "body"]
    g["edges"] += [edge("loop", "pop", "body"), edge("pop", "rest"), edge("rest", "is_two")]
    result, _ = run(g)
    assert result.status == Status.COMPLETED, result.error
    assert result.variables["after"] == [1, 3]
    assert result.variables["todo"] == [5]


def test_while_max_iterations_fails_the_loop_node() -> None:
    g = graph(
        [
            node("loop", "loop.while", condition="true", max_iterations=3),
            node("body", "log.write", message="round"),
        ],
        [edge("loop", "body", "body")],
    )
    result, r = run(g)
    assert result.status == Status.FAILED
    assert result.failed_node == "loop"
    assert "max_iterations=3" in (result.error or "")
    assert r.messages("body") == ["round"] * 3


def test_do_while_runs_the_body_once_even_when_condition_is_false() -> None:
    g = graph(
        [
            node("loop", "loop.do_while", condition="false"),
            node("body", "log.write", message="ran"),
            node("done", "log.write", message="done"),
        ],
        [edge("loop", "body", "body"), edge("loop", "done", "done")],
    )
    result, r = run(g)
    assert result.status == Status.COMPLETED
    assert r.messages("body") == ["ran"]
    assert r.messages("done") == ["done"]


def test_do_while_repeats_while_condition_holds() -> None:
    g = graph(
        [
            node("loop", "loop.do_while", condition="n < 3"),
            node("inc", "script.python", code="result = n + 1", inputs={"n": "{n}"}, output="n"),
        ],
        [edge("loop", "inc", "body")],
        {"n": 0},
    )
    assert run(g)[0].variables["n"] == 3


def test_nested_loops_break_only_the_inner_one(tmp_path: Path) -> None:
    g = graph(
        [
            node("outer", "loop.for_each", items="{rows}", item="row"),
            node("inner", "loop.for_each", items="{row}", item="cell"),
            node("neg", "logic.if", condition="cell < 0"),
            node("brk", "loop.break"),
            node("add", "file.append", path="{out}", content="{cell},"),
            node("eol", "file.append", path="{out}", content="|"),
        ],
        [
            edge("outer", "inner", "body"),
            edge("inner", "neg", "body"),
            edge("neg", "brk", "true"),
            edge("neg", "add", "false"),
            edge("inner", "eol", "done"),
        ],
    )
    out = tmp_path / "o.txt"
    result, _ = run(g, inputs={"rows": [[1, 2], [3, -1, 4], [5]], "out": str(out)})
    assert result.status == Status.COMPLETED, result.error
    assert out.read_text(encoding="utf-8") == "1,2,|3,|5,|"


def test_break_outside_a_loop_fails() -> None:
    result, _ = run(chain(node("b", "loop.break")))
    assert result.status == Status.FAILED
    assert result.failed_node == "b"
    assert "outside a loop" in (result.error or "")


def test_for_each_over_a_non_list_fails_clearly() -> None:
    result, _ = run(chain(node("l", "loop.for_each", items="{x}", item="i")), inputs={"x": 5})
    assert result.status == Status.FAILED
    assert "must be a list" in (result.error or "")


def test_failure_without_error_port_fails_execution_naming_the_node(tmp_path: Path) -> None:
    g = chain(
        node("read", "file.read", path=str(tmp_path / "missing.txt"), output="x"),
        node("after", "log.write", message="not reached"),
    )
    result, r = run(g)
    assert result.status == Status.FAILED
    assert result.failed_node == "read"
    assert result.error is not None
    assert "'read'" in result.error and "missing.txt" in result.error
    assert r.messages("after") == []
    assert r.lines[-1].level == "error" and r.lines[-1].node_id == "read"


def test_error_port_is_taken_and_error_recorded(tmp_path: Path) -> None:
    g = graph(
        [
            node("read", "file.read", path=str(tmp_path / "missing.txt"), output="x"),
            node("ok", "log.write", message="read fine"),
            node("handle", "log.write", message="handled: {last_error.node}", level="warning"),
        ],
        [edge("read", "ok"), edge("read", "handle", "error")],
    )
    result, r = run(g)
    assert result.status == Status.COMPLETED
    assert r.messages("handle", "warning") == ["handled: read"]
    assert r.messages("ok") == []
    assert "missing.txt" in result.variables[ERROR_VARIABLE]["message"]


def test_retry_until_success(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    code = (
        "import pathlib\n"
        "p = pathlib.Path(path)\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "if n < 3:\n"
        "    raise RuntimeError(f'flaky {n}')\n"
        "result = n\n"
    )
    n = node("flaky", "script.python", code=code, inputs={"path": str(counter)}, output="n")
    n["retry"] = {"attempts": 3, "delay": 0.05}
    result, r = run(chain(n), policy=UNSANDBOXED)
    assert result.status == Status.COMPLETED, result.error
    assert result.variables["n"] == 3
    warnings = r.messages("flaky", "warning")
    assert any("attempt 1 of 3 failed" in w and "flaky 1" in w for w in warnings)
    assert any("attempt 2 of 3 failed" in w for w in warnings)


def test_retry_exhausted_fails(tmp_path: Path) -> None:
    n = node("read", "file.read", path=str(tmp_path / "never"), output="x")
    n["retry"] = {"attempts": 2, "delay": 0}
    result, r = run(chain(n))
    assert result.status == Status.FAILED
    assert result.failed_node == "read"
    assert len(r.messages("read", "warning")) == 1


def test_node_timeout_fails_the_node_quickly() -> None:
    n = node("wait", "flow.delay", seconds=30)
    n["timeout"] = 0.3
    t0 = time.monotonic()
    result, _ = run(chain(n))
    assert time.monotonic() - t0 < 10
    assert result.status == Status.FAILED
    assert result.failed_node == "wait"
    assert "timed out after 0.3 s" in (result.error or "")


def test_node_timeout_takes_error_port_and_kills_script(tmp_path: Path) -> None:
    n = node(
        "spin",
        "script.python",
        code="import os, time\nopen(marker, 'w').write(str(os.getpid()))\nwhile True: pass",
        inputs={"marker": "{marker}"},
    )
    n["timeout"] = 1.5
    g = graph(
        [n, node("fallback", "variable.set", name="recovered", value=True)],
        [edge("spin", "fallback", "error")],
    )
    marker = tmp_path / "pid"
    result, _ = run(g, inputs={"marker": str(marker)}, policy=UNSANDBOXED)
    assert result.status == Status.COMPLETED, result.error
    assert result.variables["recovered"] is True
    assert "timed out" in result.variables[ERROR_VARIABLE]["message"]
    pid = int(marker.read_text())
    assert pid != os.getpid()
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    assert not alive, "the script's process survived the node timeout"


def test_execution_timeout_fails_the_running_node() -> None:
    g = chain(node("a", "log.write", message="a"), node("b", "flow.delay", seconds=30))
    t0 = time.monotonic()
    result, _ = run(g, timeout=0.5)
    assert time.monotonic() - t0 < 10
    assert result.status == Status.FAILED
    assert result.failed_node == "b"
    assert "execution timed out after 0.5 s" in (result.error or "")


def test_execution_timeout_ends_an_endless_loop() -> None:
    g = graph(
        [
            node("loop", "loop.while", condition="true", max_iterations=10**9),
            node("body", "variable.set", name="x", value=1),
        ],
        [edge("loop", "body", "body")],
    )
    result, _ = run(g, timeout=0.3)
    assert result.status == Status.FAILED
    assert "execution timed out" in (result.error or "")


def _stop_while_delaying(stop_with: Any, engine_stop: bool = False) -> tuple[Any, float, Run]:
    g = chain(node("wait", "flow.delay", seconds=60), node("after", "log.write", message="x"))
    started = threading.Event()
    r = Run(g, stop_event=stop_with)
    original = r._sink

    def sink(line: LogLine) -> None:
        original(line)
        if line.node_id == "wait" and "started" in line.message:
            started.set()

    r.engine._sink = sink
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("result", r.run()))
    t0 = time.monotonic()
    t.start()
    assert started.wait(10)
    return box, t0, r


def test_stop_event_ends_flow_delay() -> None:
    stop = threading.Event()
    box, t0, r = _stop_while_delaying(stop)
    stop.set()
    r_thread_deadline = time.monotonic() + 10
    while "result" not in box and time.monotonic() < r_thread_deadline:
        time.sleep(0.02)
    result = box["result"]
    assert result.status == Status.STOPPED
    assert result.failed_node == "wait"
    assert time.monotonic() - t0 < 10
    assert r.messages("after") == []


def test_stop_callable_and_engine_stop() -> None:
    flag = {"stop": False}
    box, _, r = _stop_while_delaying(lambda: flag["stop"])
    flag["stop"] = True
    deadline = time.monotonic() + 10
    while "result" not in box and time.monotonic() < deadline:
        time.sleep(0.02)
    assert box["result"].status == Status.STOPPED

    box, _, r = _stop_while_delaying(None)
    r.engine.stop()
    deadline = time.monotonic() + 10
    while "result" not in box and time.monotonic() < deadline:
        time.sleep(0.02)
    assert box["result"].status == Status.STOPPED


def test_stop_requested_before_start_runs_nothing() -> None:
    stop = threading.Event()
    stop.set()
    result, r = run(chain(node("a", "log.write", message="never")), stop_event=stop)
    assert result.status == Status.STOPPED
    assert r.messages("a") == []


CREDS = {"erp": {"username": "robot", "secret": "Sup3r-s3cret!"}}


def test_credential_is_injected_and_redacted_everywhere(tmp_path: Path) -> None:
    g = chain(
        node("keep", "variable.set", name="pw", value="{{credential}}", credential="erp"),
        node("say", "log.write", message="the password is {pw}"),
        node(
            "use",
            "script.python",
            code="print('inside', pw)\nresult = pw[::-1]",
            inputs={"pw": "{{credential}}"},
            credential="erp",
            output="reversed",
        ),
        node("fail", "file.read", path=str(tmp_path / "{pw}.txt"), output="x"),
    )
    result, r = run(g, credentials=CREDS)
    assert result.variables["pw"] == "Sup3r-s3cret!"  # injected
    assert result.variables["reversed"] == "!terc3s-r3puS"  # reached the script
    assert result.status == Status.FAILED and result.failed_node == "fail"
    everything = r.text() + (result.error or "")
    assert "Sup3r-s3cret!" not in everything
    assert r.messages("say") == ["the password is ***"]
    assert "inside ***" in r.messages("use")
    assert "***.txt" in (result.error or "")


def test_secret_params_are_redacted(tmp_path: Path) -> None:
    # http.request's password is a secret param; the value shows up later in a log line
    g = chain(
        node(
            "call",
            "http.request",
            url="http://127.0.0.1:9/",
            auth="basic",
            username="u",
            password="{pw}",
            timeout=2,
        ),
        variables={"pw": "tiger-tiger-42"},
    )
    g["nodes"].append(node("say", "log.write", message="pw={pw}"))
    g["edges"].append(edge("call", "say", "error"))
    result, r = run(g)
    assert result.status == Status.COMPLETED
    assert r.messages("say") == ["pw=***"]
    assert "tiger-tiger-42" not in r.text()


#: one node per rule of :func:`workflows.params.resolve_params`: rendered templates, defaults,
#: raw params (variable names, conditions, code), the ``{{credential}}`` token, the credential
#: name whether the activity declares it (http.request) or not (variable.set), and an activity
#: the catalog does not describe
PARAM_CASES: list[tuple[str, dict[str, Any]]] = [
    ("log.write", {"message": "n={n}"}),
    ("loop.for_each", {"items": "{rows}", "item": "row"}),
    ("logic.if", {"condition": "len(rows) > {n}"}),
    ("script.python", {"code": "x = {'a': 1}", "inputs": {"n": "{n}"}, "output": "out"}),
    (
        "http.request",
        {"url": "http://h/{n}", "password": "{{credential}}", "credential": "{login}"},
    ),
    ("variable.set", {"name": "v", "value": {"p": "{{credential}}"}, "credential": "erp"}),
    ("test.uncatalogued", {"anything": "{rows}", "credential": "{login}"}),
]


def test_engine_hands_activities_exactly_what_resolve_params_resolves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine has no param resolver of its own: it calls the shared one, and what an
    activity receives is that function's answer, unchanged and in its order."""
    import runner.engine
    import workflows.params
    from runner import activities
    from workflows import catalog

    shared = workflows.params.resolve_params
    assert runner.engine.resolve_params is shared
    called: list[str | None] = []

    def spy(activity: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        called.append(activity.type if activity is not None else None)
        return shared(activity, *args, **kwargs)

    monkeypatch.setattr(runner.engine, "resolve_params", spy)
    received: dict[str, dict[str, Any]] = {}

    def record(params: dict[str, Any], ctx: Any) -> None:
        received[ctx.node_id] = params

    for type_, _ in PARAM_CASES:
        monkeypatch.setitem(
            activities.REGISTRY, type_, activities.Implementation(type_, record, inline=True)
        )
    variables = {"n": 4, "rows": [1, 2], "login": "erp"}
    nodes = [node(f"n{i}", t, **params) for i, (t, params) in enumerate(PARAM_CASES)]
    result, _ = run(chain(*nodes, variables=variables), credentials=CREDS)
    assert result.status == Status.COMPLETED, result.error
    assert called == [t if t in catalog.CATALOG else None for t, _ in PARAM_CASES]
    secret = CREDS["erp"]["secret"]
    for i, (type_, params) in enumerate(PARAM_CASES):
        spec = catalog.CATALOG.get(type_)
        expected = shared(spec, params, variables, credential=secret)
        assert received[f"n{i}"] == expected, type_
        assert list(received[f"n{i}"]) == list(expected), type_


def test_unknown_credential_fails_clearly() -> None:
    g = chain(node("a", "variable.set", name="x", value="{{credential}}", credential="nope"))
    result, _ = run(g, credentials=CREDS)
    assert result.status == Status.FAILED
    assert "credential 'nope' is not available" in (result.error or "")


def test_credential_token_without_credential_param_fails() -> None:
    result, _ = run(chain(node("a", "variable.set", name="x", value="{{credential}}")))
    assert result.status == Status.FAILED
    assert "credential" in (result.error or "")


def test_log_lines_carry_seq_time_level_node() -> None:
    g = chain(
        node("a", "log.write", message="hello {who}", level="warning"),
        node("b", "log.write", message="bye"),
        variables={"who": "world"},
    )
    result, r = run(g, log_level="info")
    assert result.status == Status.COMPLETED
    seqs = [ln.seq for ln in r.lines]
    assert seqs == list(range(1, len(seqs) + 1))
    for ln in r.lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ln.at)
        assert ln.level in {"debug", "info", "warning", "error"}
    assert ("warning", "a", "hello world") in [(ln.level, ln.node_id, ln.message) for ln in r.lines]
    assert all(ln.level != "debug" for ln in r.lines)  # filtered by log_level
    assert r.lines[0].to_dict()["seq"] == 1


def test_metrics_are_reported() -> None:
    result, _ = run(chain(node("w", "flow.delay", seconds=0.5)), metrics_interval=0.1)
    m = result.metrics
    assert set(m) == {"cpu_avg", "cpu_peak", "mem_avg_mb", "mem_peak_mb"}
    assert result.samples >= 3
    assert m["mem_peak_mb"] >= m["mem_avg_mb"] > 1
    assert m["cpu_peak"] >= m["cpu_avg"] >= 0


def test_graph_errors_fail_before_running_anything() -> None:
    bad_type = chain(node("a", "log.write", message="x"), node("b", "nope.nothing"))
    result, r = run(bad_type)
    assert result.status == Status.FAILED
    assert result.failed_node == "b"
    assert "no activity 'nope.nothing'" in (result.error or "")
    assert r.messages("a") == []

    two_starts = graph([node("a", "log.write", message="x"), node("b", "log.write", message="y")])
    result, _ = run(two_starts)
    assert result.status == Status.FAILED
    assert "exactly one start node" in (result.error or "")

    result, _ = run({"format": 1, "nodes": "not a list"})
    assert result.status == Status.FAILED
    assert "invalid workflow graph" in (result.error or "")


def test_undefined_variable_names_the_node_and_variable() -> None:
    result, _ = run(chain(node("say", "log.write", message="{nobody}")))
    assert result.status == Status.FAILED
    assert result.failed_node == "say"
    assert "nobody" in (result.error or "")


def test_result_serialises() -> None:
    result = Engine(chain(node("a", "variable.set", name="x", value=1))).run()
    d = result.to_dict()
    assert d["status"] == "COMPLETED" and d["variables"] == {"x": 1}
    assert d["started_at"].endswith("Z") and d["duration"] >= 0


def test_metrics_cover_child_processes() -> None:
    code = (
        "import time\n"
        "block = bytearray(150 * 1024 * 1024)\n"
        "for i in range(0, len(block), 4096):\n"
        "    block[i] = 1\n"  # touch every page so it is resident
        "t = time.time()\n"
        "while time.time() - t < 1.0:\n"
        "    pass\n"
    )
    result, _ = run(chain(node("big", "script.python", code=code)), metrics_interval=0.1)
    assert result.status == Status.COMPLETED, result.error
    own = psutil.Process().memory_info().rss / (1024 * 1024)
    assert result.metrics["mem_peak_mb"] >= own + 100  # the child's 150 MB were counted
    assert result.metrics["cpu_peak"] > 0


def test_unnamed_edge_out_of_a_loop_means_done() -> None:
    g = graph(
        [
            node("loop", "loop.for_each", items=[1, 2], item="x"),
            node("body", "log.write", message="{x}"),
            node("after", "log.write", message="after"),
        ],
        [edge("loop", "body", "body"), edge("loop", "after")],
    )
    result, r = run(g)
    assert result.status == Status.COMPLETED
    assert r.messages("body") == ["1", "2"]
    assert r.messages("after") == ["after"]


def test_an_engine_runs_once() -> None:
    engine = Engine(chain(node("a", "log.write", message="x")))
    assert engine.run().status == Status.COMPLETED
    with pytest.raises(RuntimeError, match="runs once"):
        engine.run()


@settings(max_examples=60, deadline=None)
@given(
    secrets=st.lists(st.text(min_size=1, max_size=12).filter(lambda s: "*" not in s), max_size=3),
    pieces=st.lists(st.text(max_size=8), max_size=4),
)
def test_redactor_leaves_no_secret_behind(secrets: list[str], pieces: list[str]) -> None:
    redact = Redactor()
    for s in secrets:
        redact.add(s)
    text = "".join(p + (secrets[i % len(secrets)] if secrets else "") for i, p in enumerate(pieces))
    out = redact(text)
    for s in secrets:
        assert s not in out


@pytest.fixture
def stubborn_activity() -> Iterator[threading.Event]:
    """A test-only activity that ignores cancellation (no real activity does: all of them
    check ``ctx``), to exercise the engine abandoning a node. Removed again afterwards."""
    from runner import activities

    finished = threading.Event()

    @activities.activity("test.stubborn")
    def stubborn(params: dict[str, Any], ctx: Any) -> None:
        time.sleep(float(params["seconds"]))
        ctx.log("info", "late line from an abandoned activity")
        finished.set()

    yield finished
    activities.REGISTRY.pop("test.stubborn")


def test_uncooperative_activity_is_abandoned_on_timeout(stubborn_activity: threading.Event) -> None:
    n = node("s", "test.stubborn", seconds=2.5)
    n["timeout"] = 0.2
    r = Run(chain(n, node("after", "log.write", message="not reached")))
    result = r.run()
    assert result.status == Status.FAILED
    assert result.failed_node == "s"
    assert "timed out after 0.2 s" in (result.error or "")
    assert any("did not stop; left behind" in m for m in r.messages("s", "warning"))
    assert stubborn_activity.wait(10)  # the thread finished later and tried to log
    assert not any("late line" in ln.message for ln in r.lines)


def test_execution_scope_resources_close_when_the_execution_ends_however_it_ends() -> None:
    """Resources a node opens for later nodes (browser sessions, ...) are closed at the end,
    newest first, on success and on failure; a close that fails is logged, the rest still run."""
    from runner.activities import ExecutionScope

    for failing in (False, True):
        closed: list[str] = []
        scope = ExecutionScope()
        scope.put("a", "A", closed.append)
        scope.put("b", "B", closed.append)
        scope.put("bad", "X", lambda _v: (_ for _ in ()).throw(OSError("gone")))
        nodes = [node("x", "variable.set", name="x", value=1)]
        if failing:
            nodes.append(node("boom", "log.write", message="{nobody}"))
        run_ = Run(chain(*nodes), scope=scope)
        result = run_.run()
        assert result.status == (Status.FAILED if failing else Status.COMPLETED)
        assert closed == ["B", "A"]
        assert "closing bad: OSError: gone" in run_.text()
        assert scope.closed
        # a resource put after the end is closed at once and refused
        with pytest.raises(StopRequested):
            scope.put("late", "L", closed.append)
        assert closed[-1] == "L"
