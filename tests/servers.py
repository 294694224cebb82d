"""Real servers for the email, FTP/SFTP and desktop tests, each started on a free loopback port
(or display) in a temporary folder and stopped after: aiosmtpd (SMTP with STARTTLS/SSL and
AUTH), Dovecot (IMAP), pyftpdlib (FTP and explicit FTPS), OpenSSH's sshd (SFTP) and Xvfb.
``tests/system-deps.sh`` installs the Debian packages."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port


def _wait_port(port: int, proc: subprocess.Popen[Any] | None = None, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ---------------------------------------------------------------------------------------------
# TLS: a private CA and a certificate for localhost / 127.0.0.1 signed by it


@dataclass(frozen=True)
class Certs:
    ca: Path  # the CA certificate a client trusts (ca_file)
    cert: Path  # server certificate
    key: Path  # server key


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Exekra Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out = Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    out.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    out.key.chmod(0o600)
    return out


# ---------------------------------------------------------------------------------------------
# SMTP: aiosmtpd with STARTTLS (required before AUTH) and an implicit-TLS listener


@dataclass
class Smtp:
    starttls_port: int
    ssl_port: int
    plain_port: int  # no TLS offered at all
    user: str
    password: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    controllers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for c in self.controllers:
            c.stop()

    def wait_messages(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.05)
        return self.messages


def start_smtp(certs: Certs, user: str = "robot@acme.test", password: str = "s3cret-Smtp!") -> Smtp:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = Smtp(free_port(), free_port(), free_port(), user, password)

    class Handler:
        async def handle_DATA(self, srv: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            server.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "data": envelope.original_content or envelope.content,
                    "login": session.auth_data.login.decode() if session.auth_data else None,
                }
            )
            return "250 OK"

    def authenticator(srv: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certs.cert), str(certs.key))
    common = {"hostname": "127.0.0.1", "authenticator": authenticator, "auth_required": True}
    starttls = Controller(
        Handler(), port=server.starttls_port, tls_context=ctx, require_starttls=True, **common
    )
    implicit = Controller(
        Handler(),
        port=server.ssl_port,
        ssl_context=ctx,
        server_hostname="localhost",
        auth_require_tls=False,  # the whole session is TLS; aiosmtpd only tracks STARTTLS
        **common,
    )
    plain = Controller(Handler(), port=server.plain_port, hostname="127.0.0.1")
    for c in (starttls, implicit, plain):
        with warnings.catch_warnings():  # "AUTH without requiring TLS": the session is TLS
            warnings.simplefilter("ignore", UserWarning)
            c.start()
        server.controllers.append(c)
    return server


# ---------------------------------------------------------------------------------------------
# IMAP: Dovecot with a passwd-file, Maildir storage, imap (STARTTLS) and imaps listeners


@dataclass
class Imap:
    folder: Path
    port: int  # STARTTLS / plain
    ssl_port: int
    user: str
    password: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_dovecot(certs: Certs, user: str = "robot", password: str = "s3cret-Imap!") -> Imap:
    """Dovecot as root: the mail user is the unprivileged ``dovenull`` account, so the folder
    lives outside pytest's root-only tmp tree, world-traversable. After a failed login
    Dovecot delays the next one from that address by a few seconds (its auth penalty), so
    wrong-password checks are kept to one per module."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    folder = Path(tempfile.mkdtemp(prefix="exekra-dovecot-"))
    folder.chmod(0o755)
    uid, gid = _ids("dovenull")
    mail = folder / "mail"
    mail.mkdir()
    os.chown(mail, uid, gid)
    port, ssl_port = free_port(), free_port()
    (folder / "passwd").write_text(
        f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{mail}/{user}::\n",
        encoding="utf-8",
    )
    shutil.copy(certs.cert, folder / "cert.pem")
    shutil.copy(certs.key, folder / "key.pem")
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = exekra-test-{port}
log_path = {folder}/dovecot.log
ssl = yes
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
  process_min_avail = 0
}}
service anvil {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
""",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_port(port, proc)
        _wait_port(ssl_port, proc)
    except RuntimeError:
        err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
        _stop(proc)
        log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"dovecot did not start: {err}\n{log}") from None
    return Imap(folder, port, ssl_port, user, password, proc)


def _ids(name: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def imap_client(server: Imap, certs: Certs) -> Any:
    """A logged-in IMAPClient for the test's own checks and deliveries."""
    import ssl

    from imapclient import IMAPClient

    client = IMAPClient(
        "127.0.0.1",
        port=server.ssl_port,
        ssl_context=ssl.create_default_context(cafile=str(certs.ca)),
    )
    client.login(server.user, server.password)
    return client


# ---------------------------------------------------------------------------------------------
# FTP: pyftpdlib with TLS_FTPHandler in a child process (plain and explicit-TLS clients alike)

_FTPD = """
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer

port, root, user, password, cert, key, tls = sys.argv[1:8]
auth = DummyAuthorizer()
auth.add_user(user, password, root, perm="elradfmwMT")
TLS_FTPHandler.certfile = cert
TLS_FTPHandler.keyfile = key
TLS_FTPHandler.authorizer = auth
TLS_FTPHandler.tls_control_required = False
TLS_FTPHandler.tls_data_required = False
TLS_FTPHandler.banner = "exekra test ftpd"
if tls != "tls":
    from pyftpdlib.handlers import FTPHandler as TLS_FTPHandler  # a server without TLS
    TLS_FTPHandler.authorizer = auth
server = FTPServer(("127.0.0.1", int(port)), TLS_FTPHandler)
server.serve_forever(timeout=0.5)
"""


@dataclass
class Ftpd:
    root: Path
    port: int
    user: str
    password: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        _stop(self.proc)


def start_ftpd(
    root: Path, certs: Certs, user: str = "robot", password: str = "s3cret-Ftp!", tls: bool = True
) -> Ftpd:
    import sys

    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root.parent / f"ftpd-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _FTPD, str(port), str(root), user, password,
             str(certs.cert), str(certs.key), "tls" if tls else "plain"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_port(port, proc)
    except RuntimeError:
        _stop(proc)
        raise RuntimeError(f"pyftpdlib did not start: {log.read_text()}") from None
    return Ftpd(root, port, user, password, proc, log)


# ---------------------------------------------------------------------------------------------
# SFTP: OpenSSH's sshd on a high loopback port with its own host key and config

#: one account per xdist worker: workers setting one account's password would log each other
#: out (the password is each session's own random one)
SFTP_USER = "exekra-sftp" + (
    f"-{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else ""
)


@dataclass
class Sshd:
    folder: Path
    port: int
    host_key: Path  # the server's public host key (for known_hosts)
    client_key: Path  # a private key root may log in with
    password_user: str
    password: str
    proc: subprocess.Popen[bytes]

    def known_hosts_line(self) -> str:
        kind, blob = self.host_key.read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def fingerprint(self) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(self.host_key)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.split()[1]

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _sftp_user(password: str, home: Path) -> str:
    """An unprivileged account for password logins (sshd without PAM checks /etc/shadow);
    created once, its password set to this session's random one."""
    import pwd

    from filelock import FileLock

    with FileLock(Path(tempfile.gettempdir()) / "exekra-sftp-users.lock"):  # /etc/passwd
        try:
            pwd.getpwnam(SFTP_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", SFTP_USER],
                check=True, capture_output=True,
            )  # fmt: skip
        subprocess.run(
            ["chpasswd"], input=f"{SFTP_USER}:{password}\n", text=True, check=True,
            capture_output=True,
        )  # fmt: skip
    uid, gid = _ids(SFTP_USER)
    os.chown(home, uid, gid)
    return SFTP_USER


def start_sshd(password: str) -> Sshd:
    """sshd as root: root logs in by key (an authorized_keys file of the test's), the
    ``exekra-sftp`` account by password; both land on internal-sftp."""
    import secrets

    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    folder = Path(tempfile.mkdtemp(prefix="exekra-sshd-"))
    folder.chmod(0o755)
    port = free_port()
    host_key = folder / "host_ed25519"
    client_key = folder / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "exekra-test", "-f", str(key)],
            check=True,
        )  # fmt: skip
    (folder / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    home = folder / "home"
    home.mkdir()
    user = _sftp_user(password or secrets.token_urlsafe(16), home)
    conf = folder / "sshd_config"
    conf.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {folder}/sshd.pid
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile {folder}/authorized_keys
StrictModes no
AllowUsers root {user}
Subsystem sftp internal-sftp
LogLevel VERBOSE
MaxStartups 50
PerSourcePenalties no
""",
        encoding="utf-8",
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    check = subprocess.run([binary, "-t", "-f", str(conf)], capture_output=True, text=True)
    if check.returncode != 0 and "PerSourcePenalties" in check.stderr:
        conf.write_text(conf.read_text().replace("PerSourcePenalties no\n", ""))
        check = subprocess.run([binary, "-t", "-f", str(conf)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"sshd config refused: {check.stderr}")
    proc = subprocess.Popen(
        [binary, "-D", "-e", "-f", str(conf), "-E", str(folder / "sshd.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(port, proc)
    except RuntimeError:
        _stop(proc)
        log = (folder / "sshd.log").read_text() if (folder / "sshd.log").exists() else ""
        raise RuntimeError(f"sshd did not start: {log}") from None
    return Sshd(folder, port, host_key.with_suffix(".pub"), client_key, user, password, proc)


# ---------------------------------------------------------------------------------------------
# X server: Xvfb on a free display number with its own X authority cookie


@dataclass
class Xvfb:
    display: str
    xauthority: Path
    proc: subprocess.Popen[bytes]

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display, "XAUTHORITY": str(self.xauthority)}

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.xauthority.parent, ignore_errors=True)


def start_xvfb(size: str = "1024x768x24") -> Xvfb:
    import secrets

    folder = Path(tempfile.mkdtemp(prefix="exekra-xvfb-"))
    auth = folder / "Xauthority"
    for number in range(140 + secrets.randbelow(200), 1000):
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        display = f":{number}"
        subprocess.run(
            ["xauth", "-q", "-f", str(auth), "add", display, ".", secrets.token_hex(16)],
            check=True, capture_output=True,
        )  # fmt: skip
        proc = subprocess.Popen(
            ["Xvfb", display, "-auth", str(auth), "-screen", "0", size, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        socket_path = Path(f"/tmp/.X11-unix/X{number}")
        if run_until(lambda: socket_path.exists() or proc.poll() is not None, 10):
            if proc.poll() is None:
                return Xvfb(display, auth, proc)
        _stop(proc)
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError("no free X display number for Xvfb")


# ---------------------------------------------------------------------------------------------
# Generic process helper


def run_until(check: Callable[[], bool], timeout: float = 10, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(step)
    return check()
