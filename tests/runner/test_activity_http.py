"""``http.request`` against a real HTTP server on loopback (http.server in a thread)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from runner.engine import Status

from .enginekit import Run, chain, failure, graph, node, run, value


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test", "yes")
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if url.path.startswith("/status/"):
            self._reply(int(url.path.rsplit("/", 1)[1]), b'{"error": "nope"}')
            return
        if url.path == "/text":
            self._reply(200, b"plain words", "text/plain")
            return
        if url.path == "/slow":
            # a slowly trickling body: the client must be able to give up in between
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(300):
                    self.wfile.write(b"x" * 10)
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        echo = {
            "method": self.command,
            "path": url.path,
            "query": {k: v[0] for k, v in parse_qs(url.query).items()},
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        self._reply(200, json.dumps(echo).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_methods(server: str, method: str) -> None:
    out = value("http.request", url=f"{server}/echo", method=method)
    assert out["status"] == 200
    assert out["json"]["method"] == method
    assert out["headers"]["x-test"] == "yes"


def test_query_headers_and_json_body(server: str) -> None:
    out = value(
        "http.request",
        url=f"{server}/api",
        method="POST",
        query={"page": 2, "q": "a b"},
        headers={"X-Trace": "t1"},
        json={"sku": "A-1", "qty": 3},
    )
    echo = out["json"]
    assert echo["query"] == {"page": "2", "q": "a b"}
    assert echo["headers"]["x-trace"] == "t1"
    assert echo["headers"]["content-type"] == "application/json"
    assert json.loads(echo["body"]) == {"sku": "A-1", "qty": 3}
    assert json.loads(out["body"]) == echo


def test_form_and_raw_body(server: str) -> None:
    echo = value("http.request", url=f"{server}/f", method="POST", form={"a": "1", "b": "x y"})
    assert echo["json"]["body"] == "a=1&b=x+y"
    assert echo["json"]["headers"]["content-type"] == "application/x-www-form-urlencoded"
    raw = value(
        "http.request",
        url=f"{server}/r",
        method="PUT",
        body="<xml/>",
        headers={"Content-Type": "application/xml"},
    )
    assert raw["json"]["body"] == "<xml/>"
    assert "only one of" in failure("http.request", url=server, json={"a": 1}, body="x")


def test_basic_and_bearer_auth(server: str) -> None:
    echo = value("http.request", url=f"{server}/a", auth="basic", username="u", password="p w")
    expected = base64.b64encode(b"u:p w").decode()
    assert echo["json"]["headers"]["authorization"] == f"Basic {expected}"
    echo = value("http.request", url=f"{server}/a", auth="bearer", token="tok-123")
    assert echo["json"]["headers"]["authorization"] == "Bearer tok-123"
    assert "needs 'token'" in failure("http.request", url=server, auth="bearer")


def test_basic_auth_from_a_vault_credential(server: str) -> None:
    g = chain(
        node(
            "call", "http.request", url=f"{server}/a", auth="basic", credential="api", output="out"
        )
    )
    result, r = run(g, credentials={"api": {"username": "bot", "secret": "vault-pass-9"}})
    assert result.status == Status.COMPLETED, result.error
    expected = base64.b64encode(b"bot:vault-pass-9").decode()
    assert result.variables["out"]["json"]["headers"]["authorization"] == f"Basic {expected}"
    assert "vault-pass-9" not in r.text()


def test_status_body_and_non_json(server: str) -> None:
    out = value("http.request", url=f"{server}/status/404")
    assert out["status"] == 404 and out["json"] == {"error": "nope"}
    text = value("http.request", url=f"{server}/text")
    assert text["body"] == "plain words" and text["json"] is None
    error = failure("http.request", url=f"{server}/status/503", fail_on_status=True)
    assert "503" in error


def test_connection_refused_and_bad_url() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        assert "failed" in failure("http.request", url=f"http://127.0.0.1:{port}/", timeout=5)
    assert "GET" in failure("http.request", url="notascheme://x")


def test_timeout_param(server: str) -> None:
    t0 = time.monotonic()
    error = failure("http.request", url=f"{server}/slow", timeout=0.5)
    assert time.monotonic() - t0 < 20
    assert "no answer within 0.5 s" in error or "timed out" in error


def test_stop_interrupts_a_slow_download(server: str) -> None:
    stop = threading.Event()
    r = Run(graph([node("dl", "http.request", url=f"{server}/slow", timeout=60)]), stop_event=stop)
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("result", r.run()))
    t0 = time.monotonic()
    t.start()
    time.sleep(0.5)
    stop.set()
    t.join(15)
    assert box["result"].status == Status.STOPPED
    assert time.monotonic() - t0 < 15
