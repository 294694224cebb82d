"""The example workflows (workflows/examples) run on the engine and do what they describe."""

from __future__ import annotations

import os
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.engine import Status
from workflows import examples

from .enginekit import Run


def _run(example: str, **inputs: Any) -> Run:
    r = Run(examples.load(example), inputs=inputs)
    r.run()
    return r


def test_every_example_is_covered() -> None:
    covered = {
        "web_table_export",
        "invoice_inbox",
        "hello",
        "order_file",
        "python_totals",
        "split_names",
        "zip_folder",
        "http_status",
        "office_letters",
    }
    assert set(examples.names()) == covered


def test_hello() -> None:
    r = _run("hello", name="Ada")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert r.messages("log") == ["Hello, Ada! / HELLO, ADA!"]


def test_order_file(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    r = _run("order_file", inbox=str(inbox), outbox=str(outbox))
    assert r.result.status == Status.COMPLETED
    assert r.messages("missing", "error") == [f"no order file in {inbox}"]

    (inbox / "order.txt").write_text("  \n")
    r = _run("order_file", inbox=str(inbox), outbox=str(outbox))
    assert r.messages("warn", "warning") == ["empty order for ACME"]
    assert not outbox.exists()

    (inbox / "order.txt").write_text("3 x A-1\n")
    r = _run("order_file", inbox=str(inbox), outbox=str(outbox), customer="Globex")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert (outbox / "Globex.txt").read_text() == "3 x A-1\n"


def test_python_totals() -> None:
    r = _run("python_totals")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert r.result.variables["summary"] == {"total": 17.5, "count": 2}
    assert r.messages("approve", "warning") == ["2 lines, total 17.5: needs approval"]
    r = _run("python_totals", limit=100)
    assert r.messages("fine") == ["2 lines, total 17.5"]


def test_split_names() -> None:
    r = _run("split_names")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert [m for m in r.messages("log_one", "debug") if m.startswith("name")] == [
        "name 0: Ada Lovelace",
        "name 1: Alan Turing",
        "name 2: Grace Hopper",
    ]
    assert r.result.variables["joined"] == " ada lovelace , alan turing,grace hopper "


def test_zip_folder(tmp_path: Path) -> None:
    folder, archive = tmp_path / "reports", tmp_path / "archive"
    # a missing folder is made and gets a sample report: the example runs as it is
    r = _run("zip_folder", folder=str(folder), archive_dir=str(archive))
    assert r.result.status == Status.COMPLETED, r.result.error
    with zipfile.ZipFile(archive / "reports.zip") as zf:
        assert zf.namelist() == ["sample-report.txt"]
    (message,) = r.messages("log")
    assert "sample-report.txt" in message and message.endswith(f"into {archive}/reports.zip")
    (folder / "sample-report.txt").unlink()
    (folder / "q1.csv").write_text("a,b\n")
    r = _run("zip_folder", folder=str(folder), archive_dir=str(archive))
    assert r.result.status == Status.COMPLETED, r.result.error
    with zipfile.ZipFile(archive / "reports.zip") as zf:
        assert zf.read("q1.csv") == b"a,b\n" and zf.namelist() == ["q1.csv"]


#: examples that need something from outside the runner: each has its own test, against local
#: stand-ins (a portal page, Dovecot, aiosmtpd and sshd, a workbook it writes)
NEEDS_A_SERVER = {
    "web_table_export": "a web portal to sign in to",
    "invoice_inbox": "an IMAP mailbox, an SMTP server and an SFTP server",
    "office_letters": "an orders workbook to read (its test makes one)",
}


def test_every_example_runs_green_with_its_own_defaults(tmp_path: Path) -> None:
    """As a newcomer runs them: no inputs. Only http_status needs a server — by default the
    health check of the hub `make run` serves at 127.0.0.1:5000; here a local stand-in answers
    at the same path (port 5000 may belong to something else on a test machine)."""
    from http.server import ThreadingHTTPServer

    for name in examples.names():
        if name in NEEDS_A_SERVER:
            continue
        graph = examples.load(name)
        inputs: dict[str, Any] = {}
        if name == "http_status":
            assert graph["variables"]["url"] == "http://127.0.0.1:5000/api/health"
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            inputs["url"] = f"http://127.0.0.1:{httpd.server_address[1]}/api/health"
        if name == "zip_folder":  # its defaults are under /tmp/exekra-demo: keep tests apart
            inputs = {"folder": str(tmp_path / "r"), "archive_dir": str(tmp_path / "a")}
        r = Run(graph, inputs=inputs)
        r.run()
        if name == "http_status":
            httpd.shutdown()
            httpd.server_close()
        assert r.result.status == Status.COMPLETED, (name, r.result.error)
        if name == "order_file":  # it shows the error port: no order file is its first branch
            continue
        assert not [line for line in r.lines if line.level == "error"], (
            name,
            [(line.level, line.message) for line in r.lines if line.level != "debug"],
        )


class _Status(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.strip("/")
        code = int(path) if path.isdigit() else 200
        body = b'{"ok": true}'
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def status_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_status(status_server: str) -> None:
    r = _run("http_status", url=f"{status_server}/200")
    assert r.messages("up") == [f"{status_server}/200 answered 200"]
    r = _run("http_status", url=f"{status_server}/503")
    assert r.messages("down", "warning") == [f'{status_server}/503 answered 503: {{"ok": true}}']
    r = _run("http_status", url="http://127.0.0.1:1/")
    assert r.result.status == Status.COMPLETED
    assert r.messages("unreachable", "error") == ["cannot reach http://127.0.0.1:1/"]


PORTAL = """<!doctype html><html><head><title>Orders portal</title></head><body>
<form id="login" onsubmit="event.preventDefault(); signIn()">
  <label>User name <input name="u"></label><label>Password <input type="password" name="p"></label>
  <button>Sign in</button>
</form>
<table hidden><thead><tr><th>Order</th><th>Total</th></tr></thead><tbody></tbody></table>
<button hidden onclick="show(page + 1)">Next</button>
<script>
const pages = [[["A-1", "10"], ["A-2", "20"]], [["A-3", "30"]]];
let page = 0;
function signIn() {
  const f = document.forms[0];
  if (f.u.value !== "robot" || f.p.value !== "s3cret-portal") return;
  f.remove();
  document.querySelector("table").hidden = false;
  document.querySelector("button").hidden = false;
  show(0);
}
function show(p) {
  page = p;
  document.querySelector("tbody").innerHTML = pages[p].map(
    (r) => `<tr><td>${r[0]}</td><td>${r[1]}</td></tr>`).join("");
  document.querySelector("button").disabled = p >= pages.length - 1;
}
</script></body></html>"""
PLAIN = """<!doctype html><html><head><title>Price list</title></head><body>
<table><tr><th>Item</th><th>Price</th></tr><tr><td>Bolt</td><td>0.10</td></tr></table>
</body></html>"""


class _Portal(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = {"/orders": PORTAL, "/prices": PLAIN}.get(self.path, "<p>nothing here</p>")
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_web_table_export(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    creds = {"portal": {"username": "robot", "secret": "s3cret-portal"}}
    try:
        report = tmp_path / "orders.xlsx"
        r = Run(examples.load("web_table_export"), credentials=creds,
                inputs={"url": f"{base}/orders", "report": str(report)})  # fmt: skip
        r.run()
        assert r.result.status == Status.COMPLETED, r.text()
        assert r.messages("done") == [f"saved the table of Orders portal to {report}"]
        sheet = load_workbook(report).active
        assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
            ["Order", "Total"], ["A-1", "10"], ["A-2", "20"], ["A-3", "30"]
        ]  # fmt: skip
        assert any(a["name"] == "table.png" for a in r.engine.scope.artifacts)
        assert "s3cret-portal" not in r.text()

        # no sign-in form: straight to the table
        r = Run(examples.load("web_table_export"), inputs={"url": f"{base}/prices",
                                                           "report": str(report)})  # fmt: skip
        r.run()
        assert r.result.status == Status.COMPLETED, r.text()
        assert load_workbook(report).active["A2"].value == "Bolt"

        r = Run(examples.load("web_table_export"), inputs={"url": f"{base}/none",
                                                           "report": str(report)})  # fmt: skip
        r.run()
        assert r.messages("no_table", "error") == [
            f"no table on {base}/none (the failure evidence shows the page)"
        ]
        assert "read-screenshot.png" in {a["name"] for a in r.engine.scope.artifacts}
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---------------------------------------------------------------------------------------------
# invoice_inbox: against a real Dovecot, aiosmtpd and sshd on this machine (tests/servers.py)


def _invoice_mail(subject: str, pdfs: dict[str, bytes], extra: dict[str, bytes]) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "vendor@acme.test", "robot@acme.test", subject
    msg.set_content("Invoices attached.")
    for name, data in {**pdfs, **extra}.items():
        kind = ("application", "pdf") if name.endswith(".pdf") else ("text", "csv")
        msg.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=name)
    return msg.as_bytes()


def test_invoice_inbox(tmp_path: Path) -> None:
    import subprocess

    from tests.servers import imap_client, make_certs, start_dovecot, start_smtp, start_sshd

    certs = make_certs(tmp_path / "certs")
    sftp_password = "sftp-" + os.urandom(6).hex()
    imap = start_dovecot(certs)
    smtp = start_smtp(certs, user=imap.user, password=imap.password)
    sshd = start_sshd(sftp_password)
    try:
        remote = sshd.folder / "home" / "invoices"
        remote.mkdir()
        subprocess.run(["chown", f"{sshd.password_user}:", str(remote)], check=True)
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts_line())
        client = imap_client(imap, certs)
        client.append(
            "INBOX",
            _invoice_mail(
                "March", {"a-1.pdf": b"%PDF a1", "a-2.pdf": b"%PDF a2"}, {"list.csv": b"x"}
            ),
        )
        client.append("INBOX", _invoice_mail("April", {"b-1.pdf": b"%PDF b1"}, {}))
        client.append(
            "INBOX", _invoice_mail("Old", {"old.pdf": b"%PDF old"}, {}), flags=[b"\\Seen"]
        )
        client.logout()
        inputs = {
            "imap_host": "127.0.0.1", "imap_port": imap.ssl_port, "ca_file": str(certs.ca),
            "smtp_host": "127.0.0.1", "smtp_port": smtp.starttls_port,
            "sftp_host": "127.0.0.1", "sftp_port": sshd.port, "known_hosts": str(known),
            "remote_dir": str(remote), "download_dir": str(tmp_path / "downloads"),
            "report_from": "robot@acme.test", "report_to": "accounts@acme.test",
        }  # fmt: skip
        creds = {
            "mailbox": {"username": imap.user, "secret": imap.password},
            "sftp-upload": {"username": sshd.password_user, "secret": sftp_password},
        }
        r = Run(examples.load("invoice_inbox"), inputs=inputs, credentials=creds)
        r.run()
        assert r.result.status == Status.COMPLETED, (r.result.error, r.text())
        assert {p.name: p.read_bytes() for p in remote.iterdir()} == {
            "a-1.pdf": b"%PDF a1", "a-2.pdf": b"%PDF a2", "b-1.pdf": b"%PDF b1",
        }  # fmt: skip
        assert sorted(m for m in r.messages("uploaded")) == sorted(
            [f"March: uploaded {remote}/a-1.pdf", f"March: uploaded {remote}/a-2.pdf",
             f"April: uploaded {remote}/b-1.pdf"]
        )  # fmt: skip
        client = imap_client(imap, certs)
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["ALL"])) == 1  # only the mail read before stays
        client.select_folder("Processed", readonly=True)
        assert len(client.search(["ALL"])) == 2
        client.logout()
        (report,) = smtp.wait_messages(1)
        assert report["to"] == ["accounts@acme.test"] and b"Invoice mails filed" in report["data"]
        for secret in (imap.password, sftp_password):
            assert secret not in r.text()

        again = Run(examples.load("invoice_inbox"), inputs=inputs, credentials=creds)
        again.run()
        assert again.result.status == Status.COMPLETED, again.text()
        assert again.messages("none") == ["no new mail in INBOX"]
    finally:
        sshd.stop()
        smtp.stop()
        imap.stop()
