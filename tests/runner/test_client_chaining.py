"""HubClient.finish against a hub older than the runner (it refuses the ``next`` field).

Mock transport, on purpose: an older hub release cannot run here, so its answer to an unknown
field (400, as msgspec's ``forbid_unknown_fields`` gives it) is reproduced. The current hub's
side of ``next`` is tested for real in tests/hub/test_runner_chaining.py and end to end in
tests/e2e/test_runner_e2e.py.
"""

from __future__ import annotations

import json

import httpx

from runner.client import HubClient


def _client(handler) -> HubClient:
    client = HubClient("http://hub.test")
    client.http = httpx.Client(base_url="http://hub.test", transport=httpx.MockTransport(handler))
    client.token = "t"
    return client


def test_an_older_hub_gets_the_report_without_next_and_chaining_stops() -> None:
    seen: list[dict] = []

    def old_hub(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        if "next" in body:
            return httpx.Response(400, json={"description": "unknown field 'next'"})
        return httpx.Response(200, json={"status": body["status"], "stop": False})

    client = _client(old_hub)
    report = {"attempt": 1, "status": "COMPLETED"}
    assert client.finish(5, report, claim_next=True) == {"status": "COMPLETED", "stop": False}
    assert seen == [{**report, "next": True}, report]
    assert client.chaining is False
    client.finish(6, report, claim_next=True)  # no second try with next
    assert seen[-1] == report and len(seen) == 3


def test_a_current_hub_answers_with_the_next_execution() -> None:
    def hub(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["next"] is True
        return httpx.Response(200, json={"status": "COMPLETED", "stop": False, "next": {"id": 9}})

    client = _client(hub)
    answer = client.finish(5, {"attempt": 1, "status": "COMPLETED"}, claim_next=True)
    assert answer["next"] == {"id": 9} and client.chaining is True
