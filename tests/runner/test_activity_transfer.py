"""``ftp.*`` and ``sftp.*`` against real servers: pyftpdlib (plain FTP and explicit FTPS with a
certificate from the test's own CA) and OpenSSH's sshd (host key checked against a
known_hosts file; root by key, an unprivileged account by password). One server of each per
module; each test works in its own remote folder."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.activities import Context, Credential, StopRequested
from runner.activities.base import RunnerPolicy
from runner.activities.transfer import (
    Ftp,
    Sftp,
    _do_download,
    _do_rename,
    _do_upload,
    _mlsd_entry,
)
from runner.engine import Status
from tests.servers import Certs, Ftpd, Sshd, make_certs, run_until, start_ftpd, start_sshd
from tests.support import free_port

from .enginekit import chain, graph, node, run

CRED = "transfer"
SFTP_PASSWORD = "pw-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def ftpd(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Ftpd]:
    server = start_ftpd(tmp_path_factory.mktemp("ftp") / "root", certs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    server = start_sshd(SFTP_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def known_hosts(tmp_path_factory: pytest.TempPathFactory, sshd: Sshd) -> Path:
    path = tmp_path_factory.mktemp("ssh") / "known_hosts"
    path.write_text(sshd.known_hosts_line())
    return path


@dataclass
class Target:
    """One way to reach one server: node params, credentials, and where the remote test
    folder is on this machine's disk (to check results independently)."""

    prefix: str
    params: dict[str, Any]
    creds: dict[str, Any]
    base: str  # remote path of the test's folder
    local: Path  # the same folder on disk

    def p(self, *parts: str) -> str:
        return "/".join([self.base.rstrip("/"), *parts])


def _ftp(ftpd: Ftpd, certs: Certs, security: str) -> Target:
    name = f"t-{uuid.uuid4().hex[:8]}"
    (ftpd.root / name).mkdir()
    params = {"host": "127.0.0.1", "port": ftpd.port, "security": security, "credential": CRED}
    if security == "tls":
        params["ca_file"] = str(certs.ca)
    creds = {CRED: {"username": ftpd.user, "secret": ftpd.password}}
    return Target("ftp", params, creds, f"/{name}", ftpd.root / name)


def _sftp(sshd: Sshd, known_hosts: Path, by: str) -> Target:
    home = sshd.folder / "home"
    name = f"t-{uuid.uuid4().hex[:8]}"
    (home / name).mkdir()
    subprocess.run(["chown", f"{sshd.password_user}:", str(home / name)], check=True)
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": sshd.port,
        "known_hosts": str(known_hosts),
        "credential": CRED,
    }
    if by == "key":
        params["private_key"] = str(sshd.client_key)
        creds = {CRED: {"username": "root", "secret": "unused-key-passphrase"}}
    else:
        creds = {CRED: {"username": sshd.password_user, "secret": sshd.password}}
    return Target("sftp", params, creds, str(home / name), home / name)


@pytest.fixture(params=["ftp-tls", "ftp-plain", "sftp-key", "sftp-password"])
def target(request: Any, certs: Certs, known_hosts: Path) -> Target:
    kind, how = request.param.split("-")
    if kind == "ftp":
        return _ftp(request.getfixturevalue("ftpd"), certs, "tls" if how == "tls" else "none")
    return _sftp(request.getfixturevalue("sshd"), known_hosts, how)


def _go(t: Target, verb: str, **params: Any) -> tuple[Any, Any]:
    merged = {**t.params, **params}
    result, r = run(graph([node("n", f"{t.prefix}.{verb}", **merged)]), credentials=t.creds)
    for cred in t.creds.values():
        assert cred["secret"] not in r.text()
        assert cred["secret"] not in (result.error or "")
    return result, r


def ok(t: Target, verb: str, **params: Any) -> Any:
    result, r = _go(t, verb, output="out", **params)
    assert result.status == Status.COMPLETED, (result.error, r.text())
    return result.variables.get("out")


def fail(t: Target, verb: str, **params: Any) -> str:
    result, r = _go(t, verb, **params)
    assert result.status == Status.FAILED, r.text()
    return result.error or ""


def test_every_verb(target: Target, tmp_path: Path) -> None:
    t = target
    report = tmp_path / "report.csv"
    report.write_bytes(b"id,total\n1,9.5\n" * 5000)  # several chunks
    ok(t, "create_folder", path=t.p("in", "2026"))
    assert (t.local / "in" / "2026").is_dir()
    ok(t, "create_folder", path=t.p("in"))  # existing: fine

    assert ok(t, "upload", source=str(report), destination=t.p("in") + "/") == t.p(
        "in", "report.csv"
    )
    assert (t.local / "in" / "report.csv").read_bytes() == report.read_bytes()
    ok(t, "upload", source=str(report), destination=t.p("in", "copy.csv"))
    error = fail(t, "upload", source=str(report), destination=t.p("in"), overwrite=False)
    assert "exists" in error and "overwrite is false" in error
    error = fail(t, "upload", source=str(tmp_path / "none.csv"), destination=t.p("in"))
    assert "source does not exist" in error

    entries = ok(t, "list", path=t.p("in"))
    assert [(e["name"], e["type"]) for e in entries] == [
        ("2026", "folder"),
        ("copy.csv", "file"),
        ("report.csv", "file"),
    ]
    assert entries[2]["size"] == report.stat().st_size and entries[2]["modified"]
    assert entries[2]["path"] == t.p("in", "report.csv")
    assert [e["name"] for e in ok(t, "list", path=t.p("in"), pattern="c*.csv")] == ["copy.csv"]
    assert "no folder" in fail(t, "list", path=t.p("nope"))

    down = tmp_path / "down"
    down.mkdir()
    got = ok(t, "download", source=t.p("in", "report.csv"), destination=str(down))
    assert Path(got) == down / "report.csv"
    assert (down / "report.csv").read_bytes() == report.read_bytes()
    assert [p.name for p in down.iterdir()] == ["report.csv"]  # no partial file left
    error = fail(
        t, "download", source=t.p("in", "report.csv"), destination=str(down), overwrite=False
    )
    assert "overwrite is false" in error
    assert "no file" in fail(t, "download", source=t.p("in", "nope.csv"), destination=str(down))
    assert "a folder" in fail(t, "download", source=t.p("in", "2026"), destination=str(down))

    ok(t, "rename", source=t.p("in", "copy.csv"), destination=t.p("in", "2026", "moved.csv"))
    assert (t.local / "in" / "2026" / "moved.csv").is_file()
    assert not (t.local / "in" / "copy.csv").exists()
    error = fail(
        t, "rename", source=t.p("in", "report.csv"), destination=t.p("in", "2026", "moved.csv")
    )
    assert "overwrite is false" in error
    ok(
        t,
        "rename",
        source=t.p("in", "report.csv"),
        destination=t.p("in", "2026", "moved.csv"),
        overwrite=True,
    )
    assert (t.local / "in" / "2026" / "moved.csv").stat().st_size == report.stat().st_size

    assert "not empty" in fail(t, "delete_folder", path=t.p("in"))
    assert "is a folder" in fail(t, "delete", path=t.p("in"))
    ok(t, "delete", path=t.p("in", "2026", "moved.csv"))
    assert not (t.local / "in" / "2026" / "moved.csv").exists()
    assert "no file" in fail(t, "delete", path=t.p("in", "2026", "moved.csv"))
    ok(t, "delete", path=t.p("in", "2026", "moved.csv"), missing_ok=True)

    ok(t, "upload", source=str(report), destination=t.p("in", "2026") + "/")
    ok(t, "delete_folder", path=t.p("in"), recursive=True)
    assert not (t.local / "in").exists()
    ok(t, "delete_folder", path=t.p("in"), missing_ok=True)
    assert "refusing to delete the top folder" in fail(t, "delete_folder", path="/")


# ---------------------------------------------------------------------------------------------
# failures that name their cause


def test_ftp_failures(ftpd: Ftpd, certs: Certs) -> None:
    t = _ftp(ftpd, certs, "tls")
    wrong = Target(
        t.prefix, t.params, {CRED: {"username": "robot", "secret": "wrong-9x"}}, "/", t.local
    )
    error = fail(wrong, "list", path="/")
    assert "refused the login of 'robot'" in error and "wrong username or password" in error
    no_ca = Target(
        t.prefix, {k: v for k, v in t.params.items() if k != "ca_file"}, t.creds, "/", t.local
    )
    error = fail(no_ca, "list", path="/")
    assert "not trusted" in error and "ca_file" in error
    down = Target(t.prefix, {**t.params, "port": free_port()}, t.creds, "/", t.local)
    assert "refused the connection" in fail(down, "list", path="/")
    plain = start_ftpd(ftpd.root.parent / "plain-root", certs, tls=False)
    try:
        no_tls = Target(t.prefix, {**t.params, "port": plain.port}, t.creds, "/", t.local)
        error = fail(no_tls, "list", path="/")
        assert "does not offer TLS (AUTH TLS answered 5" in error
    finally:
        plain.stop()
    assert "needs 'username'" in fail(
        Target("ftp", {"host": "127.0.0.1", "port": ftpd.port}, {}, "/", t.local), "list"
    )


def test_an_empty_local_path_is_refused(
    ftpd: Ftpd, certs: Certs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "" is not the runner's working folder: nothing is downloaded into it
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    t = _ftp(ftpd, certs, "none")
    (t.local / "a.txt").write_text("a")
    error = fail(t, "download", source=t.p("a.txt"), destination="")
    assert "param 'destination' must not be empty" in error
    error = fail(t, "upload", source="", destination=t.p("b.txt"))
    assert "param 'source' must not be empty" in error
    assert list(cwd.iterdir()) == []


def test_odd_mlsd_facts_are_unknown_not_a_crash() -> None:
    # pyftpdlib, the server these tests run, always sends standard facts; servers in the wild
    # send odd ones, so the parsing is checked on its own (and through a stub connection)
    assert _mlsd_entry("/in", "a.csv", {"type": "file", "size": "12", "modify": "20240131093005"})
    assert _mlsd_entry("/in", "a.csv", {"size": "12", "modify": "20240131093005.250"}) == {
        "name": "a.csv",
        "path": "/in/a.csv",
        "type": "file",
        "size": 12,
        "modified": "2024-01-31T09:30:05+00:00",
    }
    for size, modify in [("12k", "yesterday"), ("-1", "20241345250000"), ("", "2024013109")]:
        entry = _mlsd_entry("/in", "b", {"type": "file", "size": size, "modify": modify})
        assert entry is not None and entry["size"] is None and entry["modified"] is None
    assert _mlsd_entry("/in", "sub", {"type": "dir", "size": "4096"}) == {
        "name": "sub",
        "path": "/in/sub",
        "type": "folder",
        "size": None,
        "modified": None,
    }
    assert _mlsd_entry("/in", ".", {"type": "cdir"}) is None
    assert _mlsd_entry("/in", "..", {"type": "pdir"}) is None

    class Listing:
        def mlsd(self, path: str, facts: list[str]) -> Iterator[tuple[str, dict[str, str]]]:
            yield "odd.txt", {"type": "file", "size": "n/a", "modify": "0"}

    session = object.__new__(Ftp)
    session.ftp = Listing()  # type: ignore[assignment]
    assert session.entries("/in") == [
        {"name": "odd.txt", "path": "/in/odd.txt", "type": "file", "size": None, "modified": None}
    ]


def test_sftp_host_key_is_never_silently_accepted(
    sshd: Sshd, known_hosts: Path, tmp_path: Path
) -> None:
    t = _sftp(sshd, known_hosts, "key")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    unknown = Target("sftp", {**t.params, "known_hosts": str(empty)}, t.creds, t.base, t.local)
    error = fail(unknown, "list", path=t.base)
    assert "unknown host key for [127.0.0.1]" in error
    assert sshd.fingerprint() in error
    assert sshd.host_key.read_text().split()[1] in error  # the line to add
    assert empty.read_text() == ""  # nothing was added behind the admin's back

    pinned = {**t.params, "known_hosts": str(empty), "host_key": sshd.fingerprint()}
    assert ok(Target("sftp", pinned, t.creds, t.base, t.local), "list", path=t.base) == []
    wrong_pin = {**pinned, "host_key": "SHA256:" + "A" * 43}
    error = fail(Target("sftp", wrong_pin, t.creds, t.base, t.local), "list", path=t.base)
    assert "not the expected" in error and sshd.fingerprint() in error

    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    changed = tmp_path / "changed_hosts"
    kind, blob = other.with_suffix(".pub").read_text().split()[:2]
    changed.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    error = fail(
        Target("sftp", {**t.params, "known_hosts": str(changed)}, t.creds, t.base, t.local),
        "list",
        path=t.base,
    )
    assert "CHANGED" in error and sshd.fingerprint() in error
    missing = {**t.params, "known_hosts": str(tmp_path / "nope")}
    error = fail(Target("sftp", missing, t.creds, t.base, t.local), "list", path=t.base)
    assert "known_hosts file does not exist" in error


def test_sftp_logins(sshd: Sshd, known_hosts: Path, tmp_path: Path) -> None:
    t = _sftp(sshd, known_hosts, "password")
    wrong = {CRED: {"username": sshd.password_user, "secret": "wrong-password-1"}}
    error = fail(Target("sftp", t.params, wrong, t.base, t.local), "list", path=t.base)
    assert f"refused the login of '{sshd.password_user}' (wrong password?)" in error

    # a private key kept in the vault as the credential's secret
    key_text = sshd.client_key.read_text()
    vault_key = Target(
        "sftp", t.params, {CRED: {"username": "root", "secret": key_text}}, t.base, t.local
    )
    assert ok(vault_key, "list", path=t.base) == []

    # an encrypted key file with its passphrase; without it, a clear message
    enc = tmp_path / "enc_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "open-sesame-4", "-f", str(enc)], check=True
    )
    with (sshd.folder / "authorized_keys").open("a") as fh:
        fh.write(enc.with_suffix(".pub").read_text())
    params = {**t.params, "private_key": str(enc), "credential": None, "username": "root"}
    error = fail(Target("sftp", params, {}, t.base, t.local), "list", path=t.base)
    assert "is encrypted: give 'passphrase'" in error
    bad = Target("sftp", {**params, "passphrase": "not-it-5"}, {}, t.base, t.local)
    assert "does not open with this passphrase" in fail(bad, "list", path=t.base)
    good = Target("sftp", {**params, "passphrase": "open-sesame-4"}, {}, t.base, t.local)
    assert ok(good, "list", path=t.base) == []
    result, r = _go(good, "list", path=t.base)
    assert "open-sesame-4" not in r.text()

    # an unencrypted PEM (RSA) key file, with a credential secret that is not its passphrase
    pem = tmp_path / "rsa_pem"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", str(pem)],
        check=True,
    )
    with (sshd.folder / "authorized_keys").open("a") as fh:
        fh.write(pem.with_suffix(".pub").read_text())
    pem_login = Target(
        "sftp",
        {**t.params, "private_key": str(pem)},
        {CRED: {"username": "root", "secret": "a-password-not-a-passphrase"}},
        t.base,
        t.local,
    )
    assert ok(pem_login, "list", path=t.base) == []

    other = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    stranger = Target("sftp", {**params, "private_key": str(other)}, {}, t.base, t.local)
    assert "(wrong key?)" in fail(stranger, "list", path=t.base)

    down = Target("sftp", {**t.params, "port": free_port()}, t.creds, t.base, t.local)
    assert "refused the connection" in fail(down, "list", path=t.base)
    nothing = {**t.params, "credential": None, "username": "root"}
    error = fail(Target("sftp", nothing, {}, t.base, t.local), "list", path=t.base)
    assert "needs a password or a private key" in error


def test_one_login_per_server_within_an_execution(
    target: Target, ftpd: Ftpd, sshd: Sshd, tmp_path: Path
) -> None:
    """Nodes of one execution that use the same server and login share one session."""
    t = target
    report = tmp_path / "r.txt"
    report.write_text("x")

    def logins() -> int:
        if t.prefix == "ftp":
            return ftpd.log.read_text(errors="replace").count("logged in")
        return len(re.findall(r"Accepted (?:password|publickey) for", sshd.log()))

    before = logins()
    nodes = [
        node("mk", f"{t.prefix}.create_folder", **t.params, path=t.p("a")),
        *(
            node(f"up{i}", f"{t.prefix}.upload", **t.params, source=str(report),
                 destination=t.p("a", f"{i}.txt"))
            for i in range(4)
        ),
        node("ls", f"{t.prefix}.list", **t.params, path=t.p("a"), output="entries"),
    ]  # fmt: skip
    result, r = run(chain(*nodes), credentials=t.creds)
    assert result.status == Status.COMPLETED, r.text()
    assert len(result.variables["entries"]) == 4
    assert run_until(lambda: logins() > before)
    assert logins() == before + 1


def test_a_dropped_session_is_reopened(sshd: Sshd, known_hosts: Path) -> None:
    """The server drops the shared session between two nodes: the next node notices (the
    liveness check) and logs in again instead of failing."""
    t = _sftp(sshd, known_hosts, "key")
    logins = lambda: len(re.findall(r"Accepted (?:password|publickey) for", sshd.log()))  # noqa: E731
    before = logins()
    drop = (
        "import psutil\n"
        "for child in psutil.Process(pid).children():\n"
        "    child.kill()\n"
        "result = 'dropped'\n"
    )
    result, r = run(
        chain(
            node("one", "sftp.list", **t.params, path=t.base),
            node("drop", "script.python", code=drop, inputs={"pid": sshd.proc.pid}),
            node("two", "sftp.list", **t.params, path=t.base, output="entries"),
        ),
        credentials=t.creds,
        # the script plays the server dropping the session: it must see sshd's processes,
        # which the script sandbox hides (a PID namespace of its own)
        policy=RunnerPolicy(script_sandbox="off"),
    )
    assert result.status == Status.COMPLETED, r.text()
    assert result.variables["entries"] == []
    assert run_until(lambda: logins() >= before + 2)
    assert logins() == before + 2


class _StopAfter(Context):
    """A node context whose stop request arrives after ``n`` checks (one per chunk)."""

    def __init__(self, n: int, credential: Credential) -> None:
        super().__init__("t", {}, lambda _level, _message: None, credential=credential)
        self.left = n

    def check(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise StopRequested("stop requested")


def test_a_stopped_transfer_leaves_nothing_half_done(target: Target, tmp_path: Path) -> None:
    """Stopped mid-way, an upload leaves no partial remote file, a download no partial local
    file, and the session still answers correctly (it is shared with later nodes)."""
    t = target
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 * 1024 * 1024))
    (cred,) = t.creds.values()
    kind = Ftp if t.prefix == "ftp" else Sftp
    params = {**t.params}
    session = kind(params, _StopAfter(1000, Credential(cred["username"], cred["secret"])))
    try:
        stopping = _StopAfter(3, Credential(cred["username"], cred["secret"]))
        with pytest.raises(StopRequested):
            _do_upload(session, {"source": str(big), "destination": t.p("big.bin")}, stopping)
        assert not (t.local / "big.bin").exists()
        assert session.alive()
        assert session.entries(t.base) == []

        (t.local / "remote.bin").write_bytes(big.read_bytes())
        down = tmp_path / "down"
        down.mkdir()
        stopping = _StopAfter(3, Credential(cred["username"], cred["secret"]))
        with pytest.raises(StopRequested):
            _do_download(session, {"source": t.p("remote.bin"), "destination": str(down)}, stopping)
        assert list(down.iterdir()) == []
        assert session.alive()
        assert [e["name"] for e in session.entries(t.base)] == ["remote.bin"]
        whole = _StopAfter(10_000, Credential(cred["username"], cred["secret"]))
        _do_download(session, {"source": t.p("remote.bin"), "destination": str(down)}, whole)
        assert (down / "remote.bin").read_bytes() == big.read_bytes()
    finally:
        session.close()


def test_upload_and_rename_ask_about_each_path_once(target: Target, tmp_path: Path) -> None:
    """Every stat is a round trip to the server (FTP: several): none is asked twice."""
    t = target
    report = tmp_path / "r.csv"
    report.write_text("a,b\n")
    (cred,) = t.creds.values()
    kind = Ftp if t.prefix == "ftp" else Sftp
    ctx = _StopAfter(10_000, Credential(cred["username"], cred["secret"]))
    session = kind({**t.params}, ctx)
    asked: list[str] = []
    real = session.stat

    def stat(path: str) -> str | None:
        asked.append(path)
        return real(path)

    session.stat = stat  # type: ignore[method-assign]
    try:
        assert _do_upload(session, {"source": str(report), "destination": t.p("a.csv")}, ctx)
        assert asked == [t.p("a.csv")]
        asked.clear()
        assert _do_upload(session, {"source": str(report), "destination": t.base}, ctx) == t.p(
            "r.csv"
        )
        assert asked == [t.base, t.p("r.csv")]
        asked.clear()
        move = {"source": t.p("a.csv"), "destination": t.p("r.csv"), "overwrite": True}
        _do_rename(session, move, ctx)
        assert asked == [t.p("a.csv"), t.p("r.csv")]
        assert sorted(p.name for p in t.local.iterdir()) == ["r.csv"]
        asked.clear()
        _do_rename(session, {**move, "source": t.p("r.csv"), "destination": t.p("n.csv")}, ctx)
        assert asked == [t.p("r.csv"), t.p("n.csv")]
        assert sorted(p.name for p in t.local.iterdir()) == ["n.csv"]
    finally:
        session.close()
