"""The Studio page's server (console/recorder.py) over real HTTP: only this session's token
and a local Host header get in, bodies are bounded JSON, calls round-trip through the page's
protocol (here spoken by hand, the way the page's script speaks it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from console.recorder import ExtensionError, StudioServer
from workflows.recording import actions_to_nodes


@pytest.fixture
def server() -> Iterator[StudioServer]:
    s = StudioServer()
    yield s
    s.close()


def test_the_page_needs_the_token_and_a_local_host(server: StudioServer) -> None:
    with httpx.Client(timeout=5) as http:
        page = http.get(server.url)
        assert page.status_code == 200 and "window.Exekra" in page.text
        assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
        base = server.url.rsplit("/", 1)[0]
        assert http.get(base + "/wrong-token").status_code == 404
        assert http.post(base + "/wrong-token/api/hello", json={}).status_code == 404
        # DNS rebinding: the right token under another host name is refused too
        evil = http.get(server.url, headers={"Host": f"evil.test:{server.port}"})
        assert evil.status_code == 404
        assert not server.connected.is_set()


def test_bad_bodies_change_nothing(server: StudioServer) -> None:
    api = server.url + "/api/"
    with httpx.Client(timeout=5) as http:
        assert http.post(api + "action", content=b"{nope").status_code == 400
        assert http.post(api + "action", json=[1, 2]).status_code == 400
        assert http.post(api + "action", json={"action": "x"}).status_code == 400
        assert http.post(api + "result", json={"id": "c99", "ok": True}).status_code == 404
        assert http.post(api + "unknown", json={}).status_code == 404
    # a declared body above the limit is refused before it is read
    path = api.split(str(server.port), 1)[1]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            f"POST {path}action HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Length: {64 * 1024 * 1024}\r\n\r\nx".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.0 413")
    assert server.actions == []


def test_calls_round_trip_and_actions_arrive_live(server: StudioServer) -> None:
    seen: list[dict[str, object]] = []
    server.on_action = seen.append
    api = server.url + "/api/"
    with httpx.Client(timeout=30) as http:
        assert http.post(api + "hello", json={"version": "0.1.0"}).status_code == 204
        assert server.wait_connected(1) and server.version == "0.1.0"

        result: dict[str, object] = {}

        def call() -> None:
            result["value"] = server.call("startRecording", {"url": "http://x.test/"}, 20)

        t = threading.Thread(target=call)
        t.start()
        cmd = http.get(api + "next").json()
        assert cmd["type"] == "startRecording" and cmd["payload"] == {"url": "http://x.test/"}
        action = {"type": "click", "target": {"selector": "#go"}, "url": "http://x.test/"}
        assert http.post(api + "action", json={"action": action}).status_code == 204
        answer = {"id": cmd["id"], "ok": True, "result": {"tabId": 7}}
        assert http.post(api + "result", json=answer).status_code == 204
        t.join(10)
        assert result["value"] == {"tabId": 7}
        assert seen == [action] and server.actions == [action]
        assert [n["type"] for n in actions_to_nodes(server.actions).nodes] == ["browser.click"]

        future = server.submit("selectElement")
        cmd = http.get(api + "next").json()
        http.post(api + "result", json={"id": cmd["id"], "ok": False, "error": "cancelled"})
        with pytest.raises(ExtensionError, match="cancelled"):
            future.result(10)

        pending = server.submit("selectElement")
    server.close()
    with pytest.raises(ExtensionError, match="ended"):
        pending.result(1)


def test_a_page_that_never_answers_fails_the_call_in_time(
    server: StudioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("console.recorder.POLL_SECONDS", 0.5)
    api = server.url + "/api/"
    with pytest.raises(ExtensionError, match=r"did not answer within 0\.2 s"):
        server.call("selectElement", {}, 0.2)
    assert server._waiting == {}
    with httpx.Client(timeout=10) as http:
        # the withdrawn call is not handed to a page that polls later, a late answer is refused
        assert http.get(api + "next").status_code == 204
        assert http.post(api + "result", json={"id": "c1", "ok": True}).status_code == 404


def test_a_command_whose_poll_breaks_goes_to_the_next_poll(
    server: StudioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = server.httpd.RequestHandlerClass
    send = handler._send  # type: ignore[attr-defined]
    broken: list[int] = []

    def flaky(self: object, status: int, body: bytes = b"", ctype: str = "") -> None:
        if status == 200 and b'"type"' in body and not broken:
            broken.append(status)
            raise BrokenPipeError("the page went away")
        send(self, status, body, *([ctype] if ctype else []))

    monkeypatch.setattr(handler, "_send", flaky)
    future = server.submit("selectElement")
    api = server.url + "/api/"
    with httpx.Client(timeout=30) as http:
        with pytest.raises(httpx.HTTPError):
            http.get(api + "next")
        cmd = http.get(api + "next").json()
        assert broken and cmd["type"] == "selectElement"
        http.post(api + "result", json={"id": cmd["id"], "ok": True, "result": "#x"})
    assert future.result(10) == "#x"


def test_record_keeps_the_live_actions_when_stop_gets_no_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from console import record_cli

    monkeypatch.setattr(record_cli, "CALL_TIMEOUT", 0.5)
    monkeypatch.setattr(record_cli, "_wait_for_stop", lambda rec: None)
    rec = record_cli.Recording(0, quiet=True)
    action = {"type": "click", "target": {"selector": "#go"}, "url": "http://x.test/"}
    api = rec.server.url + "/api/"

    def page() -> None:  # answers startRecording, sends one action, then goes silent
        with httpx.Client(timeout=30) as http:
            http.post(api + "hello", json={"version": "t"})
            cmd = http.get(api + "next").json()
            http.post(api + "action", json={"action": action})
            http.post(api + "result", json={"id": cmd["id"], "ok": True, "result": {}})

    t = threading.Thread(target=page, daemon=True)
    t.start()
    try:
        assert record_cli._record(rec, "http://x.test/", None) == [action]
    finally:
        rec.close()
    t.join(10)
