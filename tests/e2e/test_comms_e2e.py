"""Email, FTP, SFTP and desktop workflows on a real hub and a real `exekra runner start`
process: credentials come from the hub's vault, the servers are real (Dovecot, aiosmtpd,
pyftpdlib, sshd) and the desktop is a real Xvfb with a tkinter application. The hub's copy of
the logs must not hold any secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.platform import Platform
from tests.servers import (
    imap_client,
    make_certs,
    run_until,
    start_dovecot,
    start_ftpd,
    start_smtp,
    start_sshd,
    start_xvfb,
)
from tests.support import REPO
from workflows import examples

pytestmark = pytest.mark.e2e

APP = REPO / "tests" / "runner" / "apps" / "form.py"


@pytest.fixture
def world(tmp_path: Path, vendor_keys: tuple[Path, Path]) -> Iterator[dict[str, Any]]:
    """Every server, a platform (hub on SQLite) with one runner on the Xvfb display."""
    started: list[Any] = []
    try:
        certs = make_certs(tmp_path / "certs")
        imap = start_dovecot(certs)
        started.append(imap)
        smtp = start_smtp(certs, user=imap.user, password=imap.password)
        started.append(smtp)
        sftp_password = "sftp-" + os.urandom(6).hex()
        sshd = start_sshd(sftp_password)
        started.append(sshd)
        ftpd = start_ftpd(tmp_path / "ftp" / "root", certs)
        started.append(ftpd)
        xvfb = start_xvfb()
        started.append(xvfb)
        plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path}/hub.db")
        started.append(plat)
        secrets = {
            "mailbox": (imap.user, imap.password),
            "sftp-upload": (sshd.password_user, sftp_password),
            "ftp-login": (ftpd.user, ftpd.password),
        }
        for name, (user, secret) in secrets.items():
            body = {"name": name, "username": user, "secret": secret}
            res = plat.api("POST", "/api/credentials", json=body)
            assert res.status_code == 201, res.text
        reg = plat.connect_runner("comms")
        plat.start_runner("comms", env=xvfb.env)
        plat.wait_runner_status(reg["id"], "ONLINE")
        yield {
            "p": plat, "certs": certs, "imap": imap, "smtp": smtp, "sshd": sshd, "ftpd": ftpd,
            "xvfb": xvfb, "secrets": [s for _, s in secrets.values()], "tmp": tmp_path,
        }  # fmt: skip
    finally:
        for thing in reversed(started):
            (thing.close if isinstance(thing, Platform) else thing.stop)()


def _run(world: dict[str, Any], name: str, graph: dict[str, Any], **inputs: Any) -> dict:
    p: Platform = world["p"]
    ex = p.wait_status(p.run(p.publish(name, graph), inputs=inputs), "COMPLETED", "FAILED")
    logs = json.dumps(p.logs(ex["id"]))
    for secret in world["secrets"]:
        assert secret not in logs and secret not in json.dumps(ex)
        assert secret not in p.runner_log("comms")
    assert ex["status"] == "COMPLETED", (ex, logs)
    return ex


def _mail(subject: str, pdf: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "vendor@acme.test", "robot@acme.test", subject
    msg.set_content("see attachment")
    msg.add_attachment(b"%PDF " + pdf.encode(), maintype="application", subtype="pdf", filename=pdf)
    return msg.as_bytes()


def test_mail_sftp_ftp_and_desktop_on_a_real_runner(world: dict[str, Any]) -> None:
    tmp: Path = world["tmp"]
    imap, smtp, sshd, ftpd, certs = (world[k] for k in ("imap", "smtp", "sshd", "ftpd", "certs"))

    # email + sftp: the invoice_inbox example with vault credentials
    remote = sshd.folder / "home" / "invoices"
    remote.mkdir()
    subprocess.run(["chown", f"{sshd.password_user}:", str(remote)], check=True)
    known = tmp / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    client = imap_client(imap, certs)
    client.append("INBOX", _mail("May", "may.pdf"))
    client.logout()
    _run(
        world, "invoices", examples.load("invoice_inbox"),
        imap_host="127.0.0.1", imap_port=imap.ssl_port, ca_file=str(certs.ca),
        smtp_host="127.0.0.1", smtp_port=smtp.starttls_port, sftp_host="127.0.0.1",
        sftp_port=sshd.port, known_hosts=str(known), remote_dir=str(remote),
        download_dir=str(tmp / "downloads"), report_to="accounts@acme.test",
        report_from="robot@acme.test",
    )  # fmt: skip
    assert (remote / "may.pdf").read_bytes() == b"%PDF may.pdf"
    (report,) = smtp.wait_messages(1)
    assert report["to"] == ["accounts@acme.test"] and report["login"] == imap.user

    # ftp (explicit TLS): folder, upload, list, download
    local = tmp / "summary.csv"
    local.write_text("a,b\n1,2\n")
    server = {
        "host": "127.0.0.1", "port": ftpd.port, "credential": "ftp-login",
        "ca_file": str(certs.ca),
    }  # fmt: skip
    ftp_graph = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "mk", "type": "ftp.create_folder", "params": {**server, "path": "/out/2026"}},
            {"id": "up", "type": "ftp.upload",
             "params": {**server, "source": str(local), "destination": "/out/2026/"}},
            {"id": "ls", "type": "ftp.list",
             "params": {**server, "path": "/out/2026", "output": "entries"}},
            {"id": "say", "type": "log.write", "params": {"message": "{entries[0].name}"}},
            {"id": "down", "type": "ftp.download",
             "params": {**server, "source": "/out/2026/summary.csv",
                        "destination": str(tmp / "back.csv")}},
        ],
        "edges": [{"from": a, "to": b} for a, b in
                  [("mk", "up"), ("up", "ls"), ("ls", "say"), ("say", "down")]],
    }  # fmt: skip
    ex = _run(world, "ftp", ftp_graph)
    assert (ftpd.root / "out" / "2026" / "summary.csv").read_text() == "a,b\n1,2\n"
    assert (tmp / "back.csv").read_text() == "a,b\n1,2\n"
    assert "summary.csv" in [line["message"] for line in world["p"].logs(ex["id"])]

    # desktop: launch the app, point at its window, type, press enter, screenshot
    state = tmp / "state.json"
    shot = tmp / "shot.png"
    desktop_graph = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "open", "type": "desktop.launch",
             "params": {"command": [sys.executable, str(APP), str(state)],
                        "window": "Exekra Test App", "output": "app"}},
            {"id": "ready", "type": "flow.delay", "params": {"seconds": 0.5}},
            {"id": "point", "type": "desktop.move",
             "params": {"x": "{app.window.left}", "y": "{app.window.top}"}},
            {"id": "type", "type": "desktop.type", "params": {"text": "typed by the runner"}},
            {"id": "enter", "type": "desktop.press", "params": {"keys": "enter"}},
            {"id": "wait", "type": "flow.delay", "params": {"seconds": 0.3}},
            {"id": "shot", "type": "desktop.screenshot", "params": {"path": str(shot)}},
        ],
        "edges": [{"from": a, "to": b} for a, b in
                  [("open", "ready"), ("ready", "point"), ("point", "type"),
                   ("type", "enter"), ("enter", "wait"), ("wait", "shot")]],
    }  # fmt: skip
    _run(world, "desktop", desktop_graph)
    assert run_until(lambda: state.exists() and json.loads(state.read_text())["submits"] == 1)
    assert json.loads(state.read_text())["text"] == "typed by the runner"
    with Image.open(shot) as img:
        assert img.size == (1024, 768)
