"""A credential bound to allowed hosts is sent nowhere else (issue 17 item 4): the runner
checks every destination of ``http.request`` (redirects included) and ``database.query``
before the secret leaves. Real local HTTP servers and a real PostgreSQL prove the other side
receives nothing; no mocks."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runner.activities.base import ActivityError, Credential
from tests.runner.enginekit import Run, chain, node
from tests.support import create_pg_database, drop_pg_database

SECRET = "k3y-that-must-not-leak-0451"


class Recorder:
    """A real HTTP server on 127.0.0.1 that records every request it receives;
    ``/redirect?to=URL`` answers 302 to URL."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def saw_secret(self) -> bool:
        return SECRET in repr(self.requests)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def erp() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture
def attacker() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def creds(*hosts: str) -> dict[str, Any]:
    return {"erp-key": {"username": "bot", "secret": SECRET, "allowed_hosts": list(hosts)}}


def call(**params: Any) -> dict[str, Any]:
    """A graph whose URL is a declared input, sending the credential in a header and body."""
    g = chain(
        node(
            "call",
            "http.request",
            url="{url}",
            method="POST",
            headers={"X-Api-Key": "{{credential}}"},
            body="token={{credential}}",
            credential="erp-key",
            fail_on_status=True,
            output="answer",
            **params,
        )
    )
    g["inputs"] = [{"name": "url", "type": "string", "required": True}]
    return g


def run(g: dict[str, Any], url: str, credentials: dict[str, Any]) -> Run:
    r = Run(g, inputs={"url": url}, credentials=credentials)
    r.run()
    return r


def test_the_bound_host_receives_the_secret(erp: Recorder) -> None:
    r = run(call(), erp.url("/orders"), creds(f"127.0.0.1:{erp.port}"))
    assert r.result.status == "COMPLETED", r.result.error
    assert erp.requests[0]["headers"]["X-Api-Key"] == SECRET and erp.saw_secret()


def test_another_host_receives_nothing(erp: Recorder, attacker: Recorder) -> None:
    """The issue's attack, second half: the URL is a declared input (so the hub let it
    through), but the credential is bound to the ERP: the runner refuses to send it."""
    bound = creds(f"127.0.0.1:{erp.port}", "*.acme.local")
    for url in (
        attacker.url("/steal"),  # same address, other port
        attacker.url("/steal", host="localhost"),  # other name
        f"http://erp.acme.local@127.0.0.1:{attacker.port}/steal",  # userinfo trick
    ):
        r = run(call(), url, bound)
        assert r.result.status == "FAILED", url
        error = r.result.error or ""
        assert "credential 'erp-key' may not be sent to" in error, error
        assert "bound to 127.0.0.1:" in error and SECRET not in error and SECRET not in r.text()
    assert attacker.requests == [] and not erp.requests


def test_a_redirect_cannot_carry_the_secret_elsewhere(erp: Recorder, attacker: Recorder) -> None:
    bound = creds(f"127.0.0.1:{erp.port}")
    r = run(call(), erp.url(f"/redirect?to={attacker.url('/steal')}"), bound)
    assert r.result.status == "FAILED"
    assert f"may not be sent to 127.0.0.1:{attacker.port}" in (r.result.error or "")
    assert attacker.requests == [] and len(erp.requests) == 1
    # a redirect that stays on an allowed host is followed
    r = run(call(), erp.url(f"/redirect?to={erp.url('/moved')}"), bound)
    assert r.result.status == "COMPLETED", r.result.error
    assert [q["path"] for q in erp.requests[1:]] == [f"/redirect?to={erp.url('/moved')}", "/moved"]


def test_a_credential_without_allowed_hosts_works_as_before(attacker: Recorder) -> None:
    r = run(call(), attacker.url("/anywhere"), creds())
    assert r.result.status == "COMPLETED", r.result.error
    assert attacker.saw_secret()
    # a payload from a hub that predates allowed hosts has no such key at all
    r = run(call(), attacker.url("/old"), {"erp-key": {"username": "bot", "secret": SECRET}})
    assert r.result.status == "COMPLETED", r.result.error


def test_check_host_semantics() -> None:
    cred = Credential("bot", SECRET, name="erp-key", allowed_hosts=("erp.acme.local:443",))
    cred.check_host("erp.acme.local", 443)
    with pytest.raises(ActivityError, match="ERP.acme.local:80: it is bound to erp.acme.local:443"):
        cred.check_host("ERP.acme.local", 80)
    with pytest.raises(ActivityError) as err:
        cred.check_host(None)
    assert "(no host)" in str(err.value) and SECRET not in str(err.value)
    # a pattern the runner cannot read allows nothing (fail closed)
    odd = Credential("bot", SECRET, name="x", allowed_hosts=("*",))
    with pytest.raises(ActivityError):
        odd.check_host("anything.example", 443)
    Credential("bot", SECRET).check_host("anything.example", 443)  # unbound: any host


# --- database.query -----------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[Any]]]:
    """A TCP port that records every connection made to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    accepted: list[Any] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1], accepted
    done.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    sock.close()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = create_pg_database("exekra_ch")
    yield url
    drop_pg_database(url)


def query(connection: str) -> dict[str, Any]:
    return chain(
        node(
            "q",
            "database.query",
            connection=connection,
            sql="SELECT %s AS secret",
            params=["{{credential}}"],
            credential="erp-key",
            output="rows",
        )
    )


def test_database_query_goes_only_to_the_bound_host(
    pg_url: str, listener: tuple[int, list[Any]]
) -> None:
    port, accepted = listener
    bound = creds("127.0.0.1:5432")
    r = Run(query(pg_url), credentials=bound)
    assert r.run().status == "COMPLETED", r.result.error
    assert r.result.variables["rows"] == [{"secret": SECRET}]
    name = pg_url.rsplit("/", 1)[1]
    for url in (
        f"postgresql://postgres@127.0.0.1:{port}/{name}",
        f"postgresql://postgres@localhost:{port}/{name}",
        # libpq reads ?host= / ?hostaddr= / ?port= over the authority, and host lists
        f"postgresql://postgres@127.0.0.1:5432/{name}?host=localhost&port={port}",
        f"postgresql://postgres@127.0.0.1:5432/{name}?hostaddr=127.0.0.2",
        f"postgresql://postgres@127.0.0.1:5432,localhost:{port}/{name}",
        f"postgresql://postgres@127.0.0.1:5432/{name}?port={port}",
        f"mysql://root@127.0.0.1:{port}/x",
    ):
        r = Run(query(url), credentials=bound)
        assert r.run().status == "FAILED", url
        assert "credential 'erp-key' may not be sent to" in (r.result.error or ""), url
        assert SECRET not in (r.result.error or "") and SECRET not in r.text()
    for url, why in (
        (f"sqlite:///{name}.db", "SQLite connection has no host"),
        (f"postgresql:///{name}", "must name a network host"),
        (f"postgresql://%2Ftmp/{name}", "must name a network host"),
        (f"postgresql:///{name}?service=erp", "instead of a service"),
        ("mysql://root@/x?unix_socket=/tmp/m.sock", "must name a network host"),
    ):
        r = Run(query(url), credentials=bound)
        assert r.run().status == "FAILED", url
        assert why in (r.result.error or ""), (url, r.result.error)
    assert accepted == []  # nothing ever connected to the other port


def test_inputs_outside_the_declaration_fail_the_execution_on_the_runner_too() -> None:
    g = chain(node("log", "log.write", message="{region}"))
    g["inputs"] = [{"name": "region", "type": "string", "default": "EU"}]
    r = Run(g)
    assert r.run().status == "COMPLETED" and r.result.variables["region"] == "EU"
    r = Run(g, inputs={"region": "US"})
    assert r.run().status == "COMPLETED" and r.result.variables["region"] == "US"
    r = Run(g, inputs={"url": "http://evil"})
    assert r.run().status == "FAILED" and "'url'" in (r.result.error or "")


@pytest.mark.parametrize(
    ("activity", "params", "what"),
    [
        ("email.send", {"to": "a@acme.test", "subject": "s", "text": "t", "port": None}, "SMTP"),
        ("email.get", {"folder": "INBOX", "output": "mails"}, "IMAP"),
        ("ftp.list", {"path": "/", "output": "files"}, "FTP"),
        ("sftp.list", {"path": "/", "output": "files"}, "SFTP"),
    ],
)
def test_mail_and_file_transfer_refuse_a_host_the_credential_is_not_bound_to(
    attacker: Recorder, activity: str, params: dict[str, Any], what: str
) -> None:
    """The check comes before any connection: the 'server' (a plain TCP listener) sees nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        params = {k: v for k, v in params.items() if v is not None}
        g = chain(node("n", activity, host="127.0.0.1", port=port, credential="erp-key",
                       **params))  # fmt: skip
        r = Run(g, credentials=creds("erp.acme.local"))
        r.run()
        assert r.result.status == "FAILED", r.result.error
        assert f"may not be sent to 127.0.0.1:{port} ({what})" in (r.result.error or "")
        assert SECRET not in r.text()
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected
    finally:
        listener.close()
