"""The agent's artifact and repair sinks when the hub does not answer: each upload gives up
after ``artifact_timeout`` with a warning, and the activity never sees an exception.

The "hub" is a real listening socket that accepts connections and never answers (what a hung
hub or a dead proxy looks like); the hub's real answers are covered end to end in
tests/e2e/test_artifacts_e2e.py."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.agent import Agent
from runner.client import HubClient
from runner.settings import load_runner_settings


@pytest.fixture
def silent_hub() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_hung_hub_costs_a_warning_not_a_node(
    silent_hub: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_runner_settings(str(tmp_path), hub_url=silent_hub, artifact_timeout=0.3)
    client = HubClient(silent_hub, timeout=30)  # the sinks' own timeout must win
    agent = Agent(settings, "secret", executor=lambda p, s, e: {}, client=client)
    try:
        scope = agent.scope_for({"id": 7, "attempt": 1})
        with caplog.at_level(logging.WARNING, logger="exekra.runner"):
            assert scope.add_artifact("shot.png", b"\x89PNG", kind="screenshot",
                                      content_type="image/png", node_id="n1") is None  # fmt: skip
            scope.report_repair("n1", "target", "#a", {"selector": "#b"}, score=0.9)
        assert scope.artifacts == []  # refused: not kept either
        assert scope.repairs and scope.repairs[0]["node_id"] == "n1"
        messages = [r.getMessage() for r in caplog.records]
        assert any("'shot.png' (screenshot, 4 bytes, node n1) not uploaded" in m for m in messages)
        assert any("selector repair of node n1 not recorded" in m for m in messages)
    finally:
        client.close()
