"""``email.*`` against real servers: aiosmtpd (STARTTLS / implicit TLS, AUTH) and Dovecot
(IMAP and IMAPS), both with a certificate from a CA the test makes; one server of each per
module, mailboxes emptied per test."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from runner.activities.mail import safe_name
from runner.engine import Status
from tests.servers import Certs, Imap, Smtp, imap_client, make_certs, start_dovecot, start_smtp

from .enginekit import chain, graph, node, run

CRED = "mailbox"
# aiosmtpd warns about AUTH on its implicit-TLS listener, which it does not know is TLS
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def smtp(certs: Certs) -> Iterator[Smtp]:
    server = start_smtp(certs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def imap_server(certs: Certs) -> Iterator[Imap]:
    server = start_dovecot(certs)
    yield server
    server.stop()


@pytest.fixture
def imap(imap_server: Imap, certs: Certs) -> Iterator[Imap]:
    """The Dovecot server with an empty INBOX and no other folders."""
    client = imap_client(imap_server, certs)
    try:
        folders = [f[2] for f in client.list_folders() if b"\\Noselect" not in f[0]]
        for name in sorted(folders, key=len, reverse=True):  # children first
            if name != "INBOX":
                client.delete_folder(name)
        client.select_folder("INBOX")
        uids = client.search(["ALL"])
        if uids:
            client.delete_messages(uids)
            client.expunge()
    finally:
        client.logout()
    yield imap_server


def _smtp_params(smtp: Smtp, certs: Certs, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": smtp.starttls_port,
        "credential": CRED,
        "ca_file": str(certs.ca),
        **extra,
    }


def _imap_params(imap: Imap, certs: Certs, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": imap.ssl_port,
        "credential": CRED,
        "ca_file": str(certs.ca),
        **extra,
    }


def _run_one(type_: str, params: dict[str, Any], creds: dict[str, Any]) -> tuple[Any, Any]:
    result, r = run(graph([node("n", type_, output="out", **params)]), credentials=creds)
    return result, r


def _ok(type_: str, params: dict[str, Any], creds: dict[str, Any]) -> Any:
    result, r = _run_one(type_, params, creds)
    assert result.status == Status.COMPLETED, (result.error, r.text())
    for secret in (c["secret"] for c in creds.values()):
        assert secret not in r.text()
    return result.variables["out"]


def _fail(type_: str, params: dict[str, Any], creds: dict[str, Any]) -> str:
    result, r = _run_one(type_, params, creds)
    assert result.status == Status.FAILED, r.text()
    assert result.error
    for secret in (c["secret"] for c in creds.values()):
        assert secret not in result.error and secret not in r.text()
    return result.error


def _smtp_cred(smtp: Smtp, secret: str | None = None) -> dict[str, Any]:
    return {CRED: {"username": smtp.user, "secret": secret or smtp.password}}


def _imap_cred(imap: Imap, secret: str | None = None) -> dict[str, Any]:
    return {CRED: {"username": imap.user, "secret": secret or imap.password}}


# ---------------------------------------------------------------------------------------------
# email.send


def test_send_starttls_html_text_cc_bcc_attachment(smtp: Smtp, certs: Certs, tmp_path: Path):
    report = tmp_path / "Q3 report.pdf"
    report.write_bytes(b"%PDF-1.4 fake but binary \x00\xff")
    before = len(smtp.messages)
    message_id = _ok(
        "email.send",
        _smtp_params(
            smtp,
            certs,
            to="Ada <ada@example.test>, bob@example.test",
            cc=["carol@example.test"],
            bcc="boss@example.test",
            subject="Quarterly – résumé",
            body="Plain text body",
            html="<p>HTML <b>body</b></p>",
            attachments=[str(report)],
        ),
        _smtp_cred(smtp),
    )
    got = smtp.wait_messages(before + 1)[before]
    assert got["login"] == smtp.user
    assert got["from"] == smtp.user
    assert sorted(got["to"]) == sorted(
        ["ada@example.test", "bob@example.test", "carol@example.test", "boss@example.test"]
    )
    msg = email.message_from_bytes(got["data"], policy=email.policy.default)
    assert msg["Message-ID"] == message_id
    assert msg["Subject"] == "Quarterly – résumé"
    assert "boss@example.test" not in got["data"].decode(errors="replace")  # Bcc is hidden
    assert msg["Cc"] == "carol@example.test"
    assert msg.get_body(("plain",)).get_content().strip() == "Plain text body"
    assert "<b>body</b>" in msg.get_body(("html",)).get_content()
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "Q3 report.pdf"
    assert att.get_content_type() == "application/pdf"
    assert att.get_payload(decode=True) == report.read_bytes()


def test_send_implicit_ssl_with_credential_placeholder(smtp: Smtp, certs: Certs):
    before = len(smtp.messages)
    _ok(
        "email.send",
        _smtp_params(
            smtp,
            certs,
            port=smtp.ssl_port,
            security="ssl",
            username=smtp.user,
            password="{{credential}}",
            to="ada@example.test",
            subject="ssl",
            body="over implicit TLS",
        ),
        {CRED: {"username": "", "secret": smtp.password}},
    )
    got = smtp.wait_messages(before + 1)[before]
    assert got["login"] == smtp.user and got["to"] == ["ada@example.test"]


def test_send_wrong_password_names_the_refused_login(smtp: Smtp, certs: Certs):
    error = _fail(
        "email.send",
        _smtp_params(smtp, certs, to="ada@example.test", body="x"),
        _smtp_cred(smtp, "not-the-password-9"),
    )
    assert "refused the login" in error and smtp.user in error and "535" in error


def test_send_refuses_an_untrusted_certificate(smtp: Smtp, certs: Certs):
    params = _smtp_params(smtp, certs, to="ada@example.test", body="x")
    del params["ca_file"]
    error = _fail("email.send", params, _smtp_cred(smtp))
    assert "not trusted" in error and "ca_file" in error


def test_send_server_down(certs: Certs, smtp: Smtp):
    from tests.support import free_port

    params = _smtp_params(smtp, certs, port=free_port(), to="ada@example.test", body="x")
    error = _fail("email.send", params, _smtp_cred(smtp))
    assert "refused the connection" in error and "is the server running" in error


def test_send_starttls_not_offered(smtp: Smtp, certs: Certs):
    params = _smtp_params(smtp, certs, port=smtp.plain_port, to="ada@example.test", body="x")
    error = _fail("email.send", params, _smtp_cred(smtp))
    assert "does not offer STARTTLS" in error


def test_send_bad_input(smtp: Smtp, certs: Certs, tmp_path: Path):
    creds = _smtp_cred(smtp)
    before = len(smtp.messages)
    error = _fail(
        "email.send",
        _smtp_params(smtp, certs, to="ada@example.test", subject="hi\r\nBcc: evil@x.test"),
        creds,
    )
    assert "invalid header value" in error
    error = _fail("email.send", _smtp_params(smtp, certs, to="not an address"), creds)
    assert "is not an email address" in error
    missing = tmp_path / "nope.pdf"
    error = _fail(
        "email.send", _smtp_params(smtp, certs, to="a@x.test", attachments=str(missing)), creds
    )
    assert f"attachment does not exist: {missing}" in error
    assert len(smtp.messages) == before


# ---------------------------------------------------------------------------------------------
# email.get / move / delete


def _append(imap: Imap, certs: Certs, raw: bytes, folder: str = "INBOX", seen: bool = False):
    """Deliver ``raw`` with its Date header as the arrival time (what IMAP SINCE searches)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        arrived = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except ValueError:
        arrived = None
    client = imap_client(imap, certs)
    try:
        client.append(folder, raw, flags=[b"\\Seen"] if seen else [], msg_time=arrived)
    finally:
        client.logout()


def _mail(sender: str, subject: str, date: str, body: str = "hello") -> bytes:
    return (
        f"From: {sender}\r\nTo: robot@acme.test\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: <{abs(hash((sender, subject)))}@test>\r\n\r\n{body}\r\n"
    ).encode()


def _folder(imap: Imap, certs: Certs, folder: str = "INBOX") -> dict[int, Any]:
    client = imap_client(imap, certs)
    try:
        if not client.folder_exists(folder):
            return {}
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        return client.fetch(uids, ["FLAGS", "ENVELOPE"]) if uids else {}
    finally:
        client.logout()


MULTIPART = b"""From: Invoices <billing@vendor.test>\r
To: robot@acme.test\r
Subject: =?utf-8?q?Rechnung_M=C3=A4rz?=\r
Date: Tue, 03 Mar 2026 10:00:00 +0000\r
Message-ID: <multi@test>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary="XX"\r
\r
--XX\r
Content-Type: multipart/alternative; boundary="YY"\r
\r
--YY\r
Content-Type: text/plain; charset=utf-8\r
\r
Please find the invoice.\r
--YY\r
Content-Type: text/html; charset=utf-8\r
\r
<p>Please find the <b>invoice</b>.</p>\r
--YY--\r
--XX\r
Content-Type: application/pdf\r
Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQgaW52b2ljZQ==\r
--XX\r
Content-Type: text/csv; name="=?utf-8?B?w7xiZXJzaWNodC5jc3Y=?="\r
Content-Disposition: attachment; filename="=?utf-8?B?w7xiZXJzaWNodC5jc3Y=?="\r
\r
a,b\r
1,2\r
--XX\r
Content-Type: application/octet-stream\r
Content-Transfer-Encoding: base64\r
\r
AAEC/w==\r
--XX\r
Content-Type: application/octet-stream\r
Content-Disposition: attachment; filename="../../etc/cron.d/evil"\r
\r
owned\r
--XX\r
Content-Type: text/plain\r
Content-Disposition: attachment; filename="C:\\\\Windows\\\\..\\\\boot.ini"\r
\r
boot\r
--XX\r
Content-Type: message/rfc822\r
Content-Disposition: attachment; filename="forwarded.eml"\r
\r
From: someone@else.test\r
Subject: Original\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary="ZZ"\r
\r
--ZZ\r
Content-Type: text/plain\r
\r
inner body\r
--ZZ\r
Content-Type: application/pdf\r
Content-Disposition: attachment; filename="inner.pdf"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQgaW5uZXI=\r
--ZZ--\r
--XX--\r
"""


def test_get_filters_fields_mark_read_and_move(imap: Imap, certs: Certs):
    _append(imap, certs, _mail("ada@one.test", "Order 1", "Mon, 02 Feb 2026 09:00:00 +0000"))
    _append(
        imap, certs, _mail("bob@two.test", "Order 2", "Tue, 03 Mar 2026 09:00:00 +0000"), seen=True
    )
    _append(imap, certs, MULTIPART)
    creds = _imap_cred(imap)

    everything = _ok("email.get", _imap_params(imap, certs), creds)
    assert [m["subject"] for m in everything] == ["Rechnung März", "Order 2", "Order 1"]
    multi = everything[0]
    assert multi["from"] == "Invoices <billing@vendor.test>"
    assert multi["text"].strip() == "Please find the invoice."
    assert "<b>invoice</b>" in multi["html"]
    assert multi["attachments"] == [
        "Rechnung März.pdf",
        "übersicht.csv",
        "attachment-3.bin",
        "../../etc/cron.d/evil",
        "C:\\Windows\\..\\boot.ini",
        "forwarded.eml",
    ]
    assert multi["headers"]["Message-ID"] == "<multi@test>"
    assert multi["date"] == "2026-03-03T10:00:00+00:00"
    assert [m["unread"] for m in everything] == [True, False, True]
    # reading does not mark anything read
    flags = {v[b"ENVELOPE"].subject: v[b"FLAGS"] for v in _folder(imap, certs).values()}
    assert b"\\Seen" not in flags[b"Order 1"]

    unread = _ok("email.get", _imap_params(imap, certs, unread_only=True), creds)
    assert [m["subject"] for m in unread] == ["Rechnung März", "Order 1"]
    by_sender = _ok("email.get", _imap_params(imap, certs, **{"from": "bob@two"}), creds)
    assert [m["subject"] for m in by_sender] == ["Order 2"]
    by_subject = _ok("email.get", _imap_params(imap, certs, subject="März"), creds)
    assert [m["subject"] for m in by_subject] == ["Rechnung März"]
    since = _ok("email.get", _imap_params(imap, certs, since="2026-03-01"), creds)
    assert [m["subject"] for m in since] == ["Rechnung März", "Order 2"]
    limited = _ok("email.get", _imap_params(imap, certs, limit=1), creds)
    assert len(limited) == 1

    marked = _ok("email.get", _imap_params(imap, certs, subject="Order 1", mark_read=True), creds)
    assert [m["unread"] for m in marked] == [False]
    flags = {v[b"ENVELOPE"].subject: v[b"FLAGS"] for v in _folder(imap, certs).values()}
    assert b"\\Seen" in flags[b"Order 1"]

    moved = _ok("email.get", _imap_params(imap, certs, subject="Order", move_to="Done/2026"), creds)
    assert {m["folder"] for m in moved} == {"Done/2026"}
    # the moved messages point at their new place: later nodes can act on them there
    deleted = _ok(
        "email.delete",
        _imap_params(imap, certs, folder="Done/2026", messages=moved[:1]),
        creds,
    )
    assert deleted == 1
    assert len(_folder(imap, certs, "Done/2026")) == 1
    assert len(_folder(imap, certs)) == 1


def test_get_over_starttls(imap: Imap, certs: Certs):
    _append(imap, certs, _mail("ada@one.test", "Hello", "Mon, 02 Feb 2026 09:00:00 +0000"))
    got = _ok(
        "email.get",
        _imap_params(imap, certs, port=imap.port, security="starttls"),
        _imap_cred(imap),
    )
    assert [m["subject"] for m in got] == ["Hello"]


def test_get_failures_name_the_cause(imap: Imap, certs: Certs):
    from tests.support import free_port

    error = _fail("email.get", _imap_params(imap, certs), _imap_cred(imap, "wrong-pass-77"))
    assert "refused the login of 'robot'" in error and "wrong username or password" in error
    params = _imap_params(imap, certs)
    del params["ca_file"]
    assert "not trusted" in _fail("email.get", params, _imap_cred(imap))
    error = _fail("email.get", _imap_params(imap, certs, folder="Nope"), _imap_cred(imap))
    assert "cannot open folder 'Nope'" in error
    error = _fail("email.get", _imap_params(imap, certs, port=free_port()), _imap_cred(imap))
    assert "refused the connection" in error
    error = _fail("email.get", _imap_params(imap, certs, since="last week"), _imap_cred(imap))
    assert "YYYY-MM-DD" in error
    error = _fail("email.get", {"host": "127.0.0.1", "port": imap.ssl_port}, {})
    assert "needs 'username' and 'password'" in error


def test_move_and_delete(imap: Imap, certs: Certs):
    for i in range(3):
        _append(imap, certs, _mail(f"u{i}@x.test", f"M{i}", "Mon, 02 Feb 2026 09:00:00 +0000"))
    creds = _imap_cred(imap)
    messages = _ok("email.get", _imap_params(imap, certs), creds)
    first = [m for m in messages if m["subject"] == "M0"]
    moved = _ok(
        "email.move", _imap_params(imap, certs, messages=first, destination="Archive"), creds
    )
    assert moved == 1
    assert [v[b"ENVELOPE"].subject for v in _folder(imap, certs, "Archive").values()] == [b"M0"]
    # moving again is a no-op (a retried node must not fail): the message is gone from INBOX
    result, r = _run_one(
        "email.move", _imap_params(imap, certs, messages=first, destination="Archive"), creds
    )
    assert result.status == Status.COMPLETED and result.variables["out"] == 0
    assert "1 message(s) no longer in INBOX" in r.text()
    stale = [{**messages[0], "uidvalidity": 1}]
    error = _fail("email.delete", _imap_params(imap, certs, messages=stale), creds)
    assert "UIDVALIDITY changed" in error
    error = _fail(
        "email.move",
        _imap_params(imap, certs, messages=messages[0]["uid"], destination="X", create=False),
        creds,
    )
    assert "folder 'X' does not exist" in error
    deleted = _ok(
        "email.delete", _imap_params(imap, certs, messages=[m["uid"] for m in messages]), creds
    )
    assert deleted == 2  # M0 was moved away already
    assert _folder(imap, certs) == {}
    error = _fail("email.delete", _imap_params(imap, certs, messages="abc"), creds)
    assert "'abc' is not a message or uid" in error


# ---------------------------------------------------------------------------------------------
# email.save_attachments


EXPECTED = {
    "Rechnung März.pdf": b"%PDF-1.4 invoice",
    "übersicht.csv": b"a,b\r\n1,2",
    "attachment-3.bin": b"\x00\x01\x02\xff",
    "evil": b"owned",
    "boot.ini": b"boot",
    "inner.pdf": b"%PDF-1.4 inner",
}


def _check_saved(saved: list[str], folder: Path) -> None:
    paths = [Path(p) for p in saved]
    assert all(p.parent == folder for p in paths), saved
    got = {p.name: p.read_bytes() for p in paths}
    for name, data in EXPECTED.items():
        assert got[name].rstrip(b"\r\n") == data, name
    inner = email.message_from_bytes(got["forwarded.eml"], policy=email.policy.default)
    assert inner["Subject"] == "Original"
    assert sorted(got) == sorted([*EXPECTED, "forwarded.eml"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(got)


def test_save_attachments_from_imap(imap: Imap, certs: Certs, tmp_path: Path):
    _append(imap, certs, MULTIPART)
    creds = _imap_cred(imap)
    (message,) = _ok("email.get", _imap_params(imap, certs), creds)
    out = tmp_path / "attachments"
    saved = _ok(
        "email.save_attachments",
        _imap_params(imap, certs, messages=message, destination=str(out)),
        creds,
    )
    _check_saved(saved, out)
    assert not (tmp_path / "etc").exists()

    # again: existing files get numbered names; a pattern picks some
    again = _ok(
        "email.save_attachments",
        _imap_params(imap, certs, messages=[message["uid"]], destination=str(out), pattern="*.PDF"),
        creds,
    )
    assert sorted(Path(p).name for p in again) == ["Rechnung März (2).pdf", "inner (2).pdf"]
    error = _fail(
        "email.save_attachments",
        _imap_params(imap, certs, messages=[message["uid"] + 50], destination=str(out)),
        creds,
    )
    assert f"no message with uid {message['uid'] + 50}" in error


def test_save_attachments_from_eml_file(tmp_path: Path):
    eml = tmp_path / "mail.eml"
    eml.write_bytes(MULTIPART)
    out = tmp_path / "out"
    result, r = run(
        chain(
            node(
                "n",
                "email.save_attachments",
                eml_file=str(eml),
                destination=str(out),
                output="out",
            )
        )
    )
    assert result.status == Status.COMPLETED, r.text()
    _check_saved(result.variables["out"], out)
    result, r = run(
        chain(
            node("n", "email.save_attachments", eml_file=str(tmp_path / "x.eml"), destination="o")
        )
    )
    assert result.status == Status.FAILED and "cannot read" in (result.error or "")


def test_save_attachments_needs_a_destination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # "" is not the runner's working folder
    eml = tmp_path / "mail.eml"
    eml.write_bytes(MULTIPART)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for where in ("", " "):
        result, r = run(
            chain(node("n", "email.save_attachments", eml_file=str(eml), destination=where))
        )
        assert result.status == Status.FAILED, r.text()
        assert "param 'destination' must not be empty" in (result.error or "")
    result, r = run(
        chain(node("n", "email.save_attachments", eml_file=" ", destination=str(tmp_path)))
    )
    assert "param 'eml_file' must not be empty" in (result.error or "")
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("C:\\Users\\x\\a.txt", "a.txt"),
        ("..", "attachment"),
        (".hidden", "hidden"),
        ("a<b>:c|d?.txt", "a_b__c_d_.txt"),
        ("CON.txt", "_CON.txt"),
        ("x\x00y\n.pdf", "x_y_.pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_safe_name(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


BROKEN = b"""From: =?x-unknown?q?Bad?= <bad@x.test>\r
Subject: =?utf-8?b?not base64 at all!?=\r
Date: not a date\r
Content-Type: text/plain; charset="x-no-such-charset"\r
Content-Transfer-Encoding: quoted-printable\r
\r
caf=E9 =ZZ broken\r
"""


def test_a_malformed_message_is_read_not_fatal(imap: Imap, certs: Certs, tmp_path: Path):
    _append(imap, certs, BROKEN)
    (msg,) = _ok("email.get", _imap_params(imap, certs), _imap_cred(imap))
    assert "caf" in msg["text"] and msg["date"] is None
    assert msg["attachments"] == []
    eml = tmp_path / "broken.eml"
    eml.write_bytes(BROKEN)
    result, r = run(
        chain(node("n", "email.save_attachments", eml_file=str(eml), destination=str(tmp_path)))
    )
    assert result.status == Status.COMPLETED, r.text()


def test_one_imap_login_per_execution(imap: Imap, certs: Certs, tmp_path: Path) -> None:
    """Nodes of one execution naming the same server and login share one IMAP session."""
    _append(imap, certs, MULTIPART)
    logins = lambda: imap.log().count("Login: user=<robot>")  # noqa: E731
    before = logins()
    p = _imap_params(imap, certs)
    result, r = run(
        chain(
            node("get", "email.get", **p, output="messages"),
            node("save", "email.save_attachments", **p, messages="{messages}",
                 destination=str(tmp_path / "att"), pattern="*.pdf", output="saved"),
            node("move", "email.move", **p, messages="{messages}", destination="Done"),
            node("again", "email.get", **p, folder="Done", output="done"),
        ),
        credentials=_imap_cred(imap),
    )  # fmt: skip
    assert result.status == Status.COMPLETED, r.text()
    assert sorted(Path(f).name for f in result.variables["saved"]) == [
        "Rechnung März.pdf",
        "inner.pdf",
    ]
    assert [m["subject"] for m in result.variables["done"]] == ["Rechnung März"]
    assert logins() == before + 1
