"""``ftp.*`` (:mod:`ftplib`, plain or explicit TLS) and ``sftp.*`` (paramiko): the same verbs over
two protocols. Each verb is written once against :class:`Remote`; :class:`Ftp` and
:class:`Sftp` are the two implementations. A session stays open in the execution's scope for
the later nodes that use the same server and login (checked to be alive before reuse) and is
closed when the execution ends.

Transfers go in chunks that check the node's stop/deadline; a download lands in a partial
file renamed into place, so a local file is either complete or absent.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import ftplib
import hashlib
import io
import os
import posixpath
import re
import ssl
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from workflows.catalog.transfer import FTP_SECURITY, SERVER_PARAMS, VERBS

from . import _fs as fs
from . import _remote as remote
from .base import ActivityError, Context, activity, boolean, text

CHUNK = 64 * 1024


class Remote:
    """A logged-in file-transfer session."""

    where: str

    def stat(self, path: str) -> str | None:
        """'file', 'folder' or None (absent)."""
        raise NotImplementedError

    def entries(self, path: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def put(self, source: BinaryIO, path: str, tick: Callable[[], None]) -> None:
        raise NotImplementedError

    def get(self, path: str, target: BinaryIO, tick: Callable[[], None]) -> None:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def rename(self, source: str, destination: str, replace: bool) -> None:
        """Rename ``source``; ``replace``: ``destination`` is a file (the caller looked) that
        the rename replaces."""
        raise NotImplementedError

    def mkdir(self, path: str) -> None:
        raise NotImplementedError

    def rmdir(self, path: str) -> None:
        raise NotImplementedError

    def alive(self) -> bool:
        """Whether the session still answers (servers drop idle connections)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _entry(folder: str, name: str, kind: str, size: Any, modified: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "path": posixpath.join(folder, name) if folder not in ("", ".") else name,
        "type": kind,
        "size": int(size) if size not in (None, "") and kind == "file" else None,
        "modified": modified,
    }


_MLSD_TIME = re.compile(r"\d{14}(\.\d+)?", re.ASCII)


def _mlsd_entry(folder: str, name: str, facts: dict[str, str]) -> dict[str, Any] | None:
    """An entry from one MLSD line (None for the folder itself and its parent); a size or
    time the server wrote in a form other than RFC 3659's is unknown (None)."""
    kind = facts.get("type", "file")
    if kind in ("cdir", "pdir") or name in (".", ".."):
        return None
    size = facts.get("size") or ""
    modified = facts.get("modify") or ""
    stamp = None
    if _MLSD_TIME.fullmatch(modified):
        try:
            stamp = dt.datetime.strptime(modified[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        except ValueError:  # 20241345...: the shape of a time, not one
            pass
    return _entry(
        folder,
        name,
        "folder" if kind == "dir" else "file",
        int(size) if size.isascii() and size.isdigit() else None,
        stamp.isoformat() if stamp else None,
    )


def _pump(
    read: Callable[[int], bytes], write: Callable[[bytes], Any], tick: Callable[[], None]
) -> None:
    """Move blocks of ``CHUNK`` bytes from ``read`` to ``write`` until ``read`` gives none,
    calling ``tick`` (a stop request, the deadline) before each block."""
    while block := read(CHUNK):
        tick()
        write(block)


# ---------------------------------------------------------------------------------------------
# FTP / FTPS


class Ftp(Remote):
    broken = False

    def __init__(self, params: dict[str, Any], ctx: Context) -> None:
        host = remote.host(params)
        port = remote.port(params, 21)
        self.where = f"{host}:{port}"
        security = text(params, "security", "tls") or "tls"
        if security not in FTP_SECURITY:
            raise ActivityError(f"param 'security' must be one of {', '.join(FTP_SECURITY)}")
        login = remote.login_for(params, ctx, host, port=port, what="FTP")
        timeout = remote.timeout(params, ctx)
        if security == "tls":
            self.ftp: ftplib.FTP = ftplib.FTP_TLS(  # noqa: S321 - the protocol asked for
                context=remote.tls_context(params), timeout=timeout
            )
        else:
            self.ftp = ftplib.FTP(timeout=timeout)  # noqa: S321 - plain FTP, asked for
            if login.password:
                ctx.log("warning", f"sending the password to {self.where} without encryption")
        try:
            self.ftp.connect(host, port)
        except (OSError, ftplib.Error) as exc:
            raise _ftp_error("cannot connect", self.where, exc) from None
        try:
            if isinstance(self.ftp, ftplib.FTP_TLS):
                try:
                    self.ftp.auth()
                except ftplib.error_perm as exc:
                    raise ActivityError(
                        f"{self.where} does not offer TLS (AUTH TLS answered "
                        f"{str(exc).strip()}); use security 'none' only on a trusted network"
                    ) from None
                except (OSError, ftplib.Error) as exc:
                    raise _ftp_error("TLS failed", self.where, exc) from None
            try:
                self.ftp.login(login.username, login.password or "")
            except ftplib.error_perm as exc:
                code = str(exc)[:3]
                if code in ("530", "430"):
                    raise ActivityError(
                        f"{self.where} refused the login of {login.username!r} (wrong username "
                        f"or password?): {exc}"
                    ) from None
                raise _ftp_error("login failed", self.where, exc) from None
            except (OSError, ftplib.Error) as exc:
                raise _ftp_error("login failed", self.where, exc) from None
            if isinstance(self.ftp, ftplib.FTP_TLS):
                self.ftp.prot_p()
            self.ftp.set_pasv(boolean(params, "passive", True))
        except BaseException:
            self.close()
            raise

    def _call(self, what: str, func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except (OSError, ftplib.Error) as exc:
            raise _ftp_error(what, self.where, exc) from None

    def stat(self, path: str) -> str | None:
        here = self.ftp.pwd()
        try:
            self.ftp.cwd(path)
        except ftplib.error_perm:
            pass
        else:
            self.ftp.cwd(here)
            return "folder"
        try:
            self.ftp.voidcmd("TYPE I")
            self.ftp.size(path)
        except ftplib.error_perm:
            return None
        return "file"

    def entries(self, path: str) -> list[dict[str, Any]]:
        try:
            listing = list(self.ftp.mlsd(path, facts=["type", "size", "modify"]))
        except ftplib.error_perm as exc:
            if str(exc)[:3] != "500" and str(exc)[:3] != "502":
                raise _ftp_error(f"cannot list {path}", self.where, exc) from None
            return self._nlst(path)
        except (OSError, ftplib.Error) as exc:
            raise _ftp_error(f"cannot list {path}", self.where, exc) from None
        entries = (_mlsd_entry(path, name, facts) for name, facts in listing)
        return [e for e in entries if e is not None]

    def _nlst(self, path: str) -> list[dict[str, Any]]:
        """Servers without MLSD: names only, each probed for its type."""
        names = self._call(f"cannot list {path}", self.ftp.nlst, path)
        out = []
        for raw in names:
            name = posixpath.basename(raw.rstrip("/"))
            if name in (".", ".."):
                continue
            full = posixpath.join(path, name)
            out.append(_entry(path, name, self.stat(full) or "file", None, None))
        return out

    def put(self, source: BinaryIO, path: str, tick: Callable[[], None]) -> None:
        def send(conn: Any) -> None:
            _pump(source.read, conn.sendall, tick)

        self._call(f"cannot upload {path}", self._transfer, f"STOR {path}", send)

    def get(self, path: str, target: BinaryIO, tick: Callable[[], None]) -> None:
        def receive(conn: Any) -> None:
            _pump(conn.recv, target.write, tick)

        self._call(f"cannot download {path}", self._transfer, f"RETR {path}", receive)

    def _transfer(self, command: str, move: Callable[[Any], None]) -> None:
        """ftplib's storbinary/retrbinary, except that a transfer cut short (a stop request,
        the node's deadline, a broken data connection) still reads the server's reply to it:
        otherwise that reply would answer the session's next command."""
        self.ftp.voidcmd("TYPE I")
        conn = self.ftp.transfercmd(command)  # refused here: no reply pending
        try:
            with conn:
                move(conn)
                if isinstance(conn, ssl.SSLSocket):
                    conn.unwrap()
        except BaseException:
            self._settle()
            raise
        self.ftp.voidresp()

    def _settle(self) -> None:
        try:
            self.ftp.voidresp()  # 426 "transfer aborted", or 226 if it had finished
        except ftplib.Error:
            pass
        except (OSError, EOFError):
            self.broken = True  # out of step with the server: not reused

    def remove(self, path: str) -> None:
        self._call(f"cannot delete {path}", self.ftp.delete, path)

    def rename(self, source: str, destination: str, replace: bool) -> None:
        if replace:
            self.remove(destination)
        self._call(f"cannot rename {source}", self.ftp.rename, source, destination)

    def mkdir(self, path: str) -> None:
        self._call(f"cannot create folder {path}", self.ftp.mkd, path)

    def rmdir(self, path: str) -> None:
        self._call(f"cannot delete folder {path}", self.ftp.rmd, path)

    def alive(self) -> bool:
        if self.broken:
            return False
        try:
            self.ftp.voidcmd("NOOP")
        except (OSError, EOFError, ftplib.Error):
            return False
        return True

    def close(self) -> None:
        try:
            self.ftp.quit()
        except (OSError, ftplib.Error, AttributeError, EOFError):
            self.ftp.close()


def _ftp_error(what: str, where: str, exc: BaseException) -> ActivityError:
    if isinstance(exc, ftplib.Error):
        return ActivityError(f"{what}: {where} answered {str(exc).strip()}")
    if isinstance(exc, EOFError):
        return ActivityError(f"{what}: {where} closed the connection")
    return remote.network_error(what, where, exc)


# ---------------------------------------------------------------------------------------------
# SFTP


def fingerprint(key: Any) -> str:
    """OpenSSH's SHA256 fingerprint of a host key (what ``ssh-keygen -lf`` prints)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _known_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _host_key_policy(pinned: str | None, port: int) -> Any:
    import paramiko

    class Check(paramiko.MissingHostKeyPolicy):
        """Accept an unknown host key only when it matches the pinned fingerprint."""

        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            offered = fingerprint(key)
            if pinned and pinned.strip() == offered:
                return
            line = f"{hostname} {key.get_name()} {key.get_base64()}"
            if pinned:
                raise ActivityError(
                    f"the host key of {hostname} is {key.get_name()} {offered}, not the "
                    f"expected {pinned.strip()}; refusing to connect"
                )
            raise ActivityError(
                f"unknown host key for {hostname}: {key.get_name()} {offered}. If this is the "
                f"right server, add this line to the runner's known_hosts file: {line} "
                "(or set host_key to the fingerprint)"
            )

    return Check()


def _private_key(value: str, passphrases: list[str], source: str) -> Any:
    """A paramiko key from OpenSSH/PEM text, trying no passphrase first, then each given one
    (an explicit ``passphrase``, or the credential's secret when the key file is encrypted)."""
    import paramiko

    encrypted = False
    for passphrase in [None, *passphrases]:
        for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return kind.from_private_key(io.StringIO(value), password=passphrase)
            except paramiko.PasswordRequiredException:
                encrypted = True
                break  # the type matched; try the next passphrase
            except (paramiko.SSHException, ValueError, TypeError) as exc:
                if "passphrase" in str(exc).lower() or "decrypt" in str(exc).lower():
                    encrypted = True
                    break
    if encrypted and not passphrases:
        raise ActivityError(f"the private key in {source} is encrypted: give 'passphrase'")
    if encrypted:
        raise ActivityError(f"the private key in {source} does not open with this passphrase")
    raise ActivityError(f"{source} holds no private key paramiko can read (OpenSSH, PEM)")


class Sftp(Remote):
    def __init__(self, params: dict[str, Any], ctx: Context) -> None:
        import paramiko

        host = remote.host(params)
        port = remote.port(params, 22)
        self.where = f"{host}:{port}"
        login = remote.login_for(params, ctx, host, port=port, what="SFTP")
        passphrase = text(params, "passphrase", "") or None
        pkey = None
        password = login.password
        if params.get("private_key"):
            path = Path(text(params, "private_key")).expanduser()
            try:
                key_text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ActivityError(f"cannot read private key {path}: {exc}") from None
            candidates = [p for p in (passphrase, password) if p]
            pkey = _private_key(key_text, candidates, str(path))
        elif password and "PRIVATE KEY-----" in password:
            pkey = _private_key(password, [passphrase] if passphrase else [], "the credential")
            password = None
        if pkey is None and not password:
            raise ActivityError(
                f"logging in to {self.where} as {login.username!r} needs a password or a "
                "private key (or a vault credential holding one)"
            )
        client = paramiko.SSHClient()
        known = text(params, "known_hosts", "~/.ssh/known_hosts") or "~/.ssh/known_hosts"
        known_path = Path(known).expanduser()
        if known_path.is_file():
            try:
                client.load_host_keys(str(known_path))
            except (OSError, paramiko.SSHException, ValueError) as exc:
                raise ActivityError(f"cannot read known_hosts {known_path}: {exc}") from None
        elif params.get("known_hosts") not in (None, "", "~/.ssh/known_hosts"):
            raise ActivityError(f"known_hosts file does not exist: {known_path}")
        pinned = text(params, "host_key", "") or None
        client.set_missing_host_key_policy(_host_key_policy(pinned, port))
        timeout = remote.timeout(params, ctx)
        try:
            client.connect(
                host,
                port=port,
                username=login.username,
                password=password,
                pkey=pkey,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            self.sftp = client.open_sftp()
            self.sftp.get_channel().settimeout(timeout)
        except ActivityError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise ActivityError(
                f"the host key of {_known_name(host, port)} CHANGED: it offers "
                f"{exc.key.get_name()} {fingerprint(exc.key)}, known_hosts has "
                f"{fingerprint(exc.expected_key)}. Someone may be intercepting the connection; "
                "if the server was really re-installed, update known_hosts"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            how = "key" if pkey is not None else "password"
            raise ActivityError(
                f"{self.where} refused the login of {login.username!r} (wrong {how}?): {exc}"
            ) from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            errors = list(exc.errors.values())
            cause = errors[0] if errors else exc
            raise remote.network_error("cannot connect", self.where, cause) from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            raise remote.network_error("cannot connect", self.where, exc) from None
        self.client = client

    def _call(self, what: str, func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except FileNotFoundError:
            raise ActivityError(f"{what}: no such file or folder on {self.where}") from None
        except PermissionError:
            raise ActivityError(f"{what}: permission denied on {self.where}") from None
        except OSError as exc:
            raise ActivityError(f"{what}: {exc.strerror or exc} on {self.where}") from None
        except EOFError:
            raise ActivityError(f"{what}: {self.where} closed the connection") from None

    def stat(self, path: str) -> str | None:
        try:
            attrs = self.sftp.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ActivityError(f"cannot check {path}: {exc.strerror or exc}") from None
        return "folder" if stat.S_ISDIR(attrs.st_mode or 0) else "file"

    def entries(self, path: str) -> list[dict[str, Any]]:
        out = []
        for attrs in self._call(f"cannot list {path}", self.sftp.listdir_attr, path):
            kind = "folder" if stat.S_ISDIR(attrs.st_mode or 0) else "file"
            modified = (
                dt.datetime.fromtimestamp(attrs.st_mtime, dt.UTC).isoformat()
                if attrs.st_mtime is not None
                else None
            )
            out.append(_entry(path, attrs.filename, kind, attrs.st_size, modified))
        return out

    def put(self, source: BinaryIO, path: str, tick: Callable[[], None]) -> None:
        self._call(
            f"cannot upload {path}",
            self.sftp.putfo,
            source,
            path,
            0,
            lambda _done, _total: tick(),
        )

    def get(self, path: str, target: BinaryIO, tick: Callable[[], None]) -> None:
        self._call(
            f"cannot download {path}",
            self.sftp.getfo,
            path,
            target,
            lambda _done, _total: tick(),
        )

    def remove(self, path: str) -> None:
        self._call(f"cannot delete {path}", self.sftp.remove, path)

    def rename(self, source: str, destination: str, replace: bool) -> None:
        move = self.sftp.posix_rename if replace else self.sftp.rename
        self._call(f"cannot rename {source}", move, source, destination)

    def mkdir(self, path: str) -> None:
        self._call(f"cannot create folder {path}", self.sftp.mkdir, path)

    def rmdir(self, path: str) -> None:
        self._call(f"cannot delete folder {path}", self.sftp.rmdir, path)

    def alive(self) -> bool:
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            return False
        try:
            self.sftp.normalize(".")
        except (OSError, EOFError):
            return False
        return True

    def close(self) -> None:
        try:
            self.sftp.close()
        finally:
            self.client.close()


# ---------------------------------------------------------------------------------------------
# The verbs, once for both protocols


def _remote_path(params: dict[str, Any], name: str, default: str | None = None) -> str:
    value = text(params, name, default)
    if not value.strip():
        raise ActivityError(f"param {name!r} must not be empty")
    if "\n" in value or "\r" in value:
        raise ActivityError(f"param {name!r} must not contain line breaks")
    return value


def _do_list(session: Remote, params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    path = _remote_path(params, "path", ".")
    pattern = text(params, "pattern", "*") or "*"
    if session.stat(path) != "folder":
        raise ActivityError(f"no folder {path} on {session.where}")
    entries = [e for e in session.entries(path) if fnmatch.fnmatch(e["name"], pattern)]
    return sorted(entries, key=lambda e: e["name"])


def _do_upload(session: Remote, params: dict[str, Any], ctx: Context) -> str:
    source = fs.path(params, "source")
    if not source.is_file():
        raise ActivityError(
            f"source {'is a folder' if source.is_dir() else 'does not exist'}: {source}"
        )
    target = _remote_path(params, "destination")
    found = None if target.endswith("/") else session.stat(target)
    if target.endswith("/") or found == "folder":
        target = posixpath.join(target, source.name)
        found = session.stat(target)
    existed = found is not None
    if existed and not boolean(params, "overwrite", True):
        raise ActivityError(f"{target} exists on {session.where} and overwrite is false")
    try:
        with source.open("rb") as fh:
            session.put(fh, target, ctx.check)
    except OSError as exc:
        raise ActivityError(f"cannot read {source}: {exc.strerror}") from None
    except BaseException:
        if not existed:  # a cancelled or failed upload leaves no partial file behind
            try:
                session.remove(target)
            except (ActivityError, OSError, ftplib.Error):
                pass
        raise
    ctx.log("info", f"uploaded {source} to {session.where}:{target}")
    return target


def _do_download(session: Remote, params: dict[str, Any], ctx: Context) -> str:
    source = _remote_path(params, "source")
    kind = session.stat(source)
    if kind != "file":
        raise ActivityError(
            f"no file {source} on {session.where}" + (" (a folder)" if kind else "")
        )
    target = fs.path(params, "destination")
    if target.is_dir() or str(params.get("destination", "")).endswith(("/", os.sep)):
        target = target / posixpath.basename(source)
    if target.exists() and not boolean(params, "overwrite", True):
        raise ActivityError(f"destination exists and overwrite is false: {target}")
    partial = target.with_name(f".{target.name}.exekra-partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as fh:
            session.get(source, fh, ctx.check)
        os.replace(partial, target)
    except OSError as exc:
        raise ActivityError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    ctx.log("info", f"downloaded {session.where}:{source} to {target}")
    return str(target)


def _there_to_delete(
    session: Remote, params: dict[str, Any], path: str, kind: str, other_verb: str
) -> bool:
    """Whether ``path`` is a ``kind`` (file, folder) to delete: False when it is missing and
    missing_ok is set; a node error when it is missing otherwise, or is of the other kind
    (``other_verb`` deletes that)."""
    found = session.stat(path)
    if found is None:
        if boolean(params, "missing_ok"):
            return False
        raise ActivityError(f"no {kind} {path} on {session.where}")
    if found != kind:
        raise ActivityError(f"{path} is a {found}: use {other_verb}")
    return True


def _do_delete(session: Remote, params: dict[str, Any], ctx: Context) -> None:
    path = _remote_path(params, "path")
    if _there_to_delete(session, params, path, "file", "delete_folder"):
        session.remove(path)


def _do_rename(session: Remote, params: dict[str, Any], ctx: Context) -> None:
    source = _remote_path(params, "source")
    destination = _remote_path(params, "destination")
    if session.stat(source) is None:
        raise ActivityError(f"no file or folder {source} on {session.where}")
    overwrite = boolean(params, "overwrite")
    existing = session.stat(destination)
    if existing == "folder":
        raise ActivityError(f"{destination} is a folder on {session.where}")
    if existing == "file" and not overwrite:
        raise ActivityError(f"{destination} exists on {session.where} and overwrite is false")
    session.rename(source, destination, replace=existing == "file")


def _do_create_folder(session: Remote, params: dict[str, Any], ctx: Context) -> None:
    path = _remote_path(params, "path")
    absolute = path.startswith("/")
    current = "/" if absolute else ""
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part) if current else part
        kind = session.stat(current)
        if kind == "file":
            raise ActivityError(f"{current} is a file on {session.where}")
        if kind is None:
            session.mkdir(current)


def _remove_tree(session: Remote, path: str, ctx: Context) -> None:
    for entry in session.entries(path):
        ctx.check()
        full = posixpath.join(path, entry["name"])
        if entry["type"] == "folder":
            _remove_tree(session, full, ctx)
        else:
            session.remove(full)
    session.rmdir(path)


def _do_delete_folder(session: Remote, params: dict[str, Any], ctx: Context) -> None:
    path = _remote_path(params, "path")
    if posixpath.normpath(path) in ("/", ".", ""):
        raise ActivityError(f"refusing to delete the top folder {path!r}")
    if not _there_to_delete(session, params, path, "folder", "delete"):
        return
    if boolean(params, "recursive"):
        _remove_tree(session, path, ctx)
    else:
        if session.entries(path):
            raise ActivityError(f"folder {path} is not empty (set recursive to delete it all)")
        session.rmdir(path)


VERB_FUNCS: dict[str, Callable[[Remote, dict[str, Any], Context], Any]] = {
    "list": _do_list,
    "upload": _do_upload,
    "download": _do_download,
    "delete": _do_delete,
    "rename": _do_rename,
    "create_folder": _do_create_folder,
    "delete_folder": _do_delete_folder,
}
assert set(VERB_FUNCS) == set(VERBS)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What a session that broke mid-way raises (paramiko's own tree once it is loaded)."""
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, ftplib.Error)
    paramiko = sys.modules.get("paramiko")
    if paramiko is not None:
        errors += (paramiko.SSHException,)
    return errors


def _register(prefix: str, kind: Callable[[dict[str, Any], Context], Remote], verb: str) -> None:
    func = VERB_FUNCS[verb]

    def run(params: dict[str, Any], ctx: Context) -> Any:
        ctx.check()
        held = remote.lease(
            ctx,
            remote.session_key(prefix, params, SERVER_PARAMS[prefix], ctx),
            lambda: kind(params, ctx),
            lambda s: s.alive(),
            lambda s: s.close(),
        )
        session: Remote = held.session
        try:
            return func(session, params, ctx)
        except Exception as exc:
            if not isinstance(exc, _connection_errors()):
                raise
            held.drop()
            ctx.check()  # a connection that broke mid-way, or one cut by a stop request
            raise _ftp_error(f"{prefix}.{verb} failed", session.where, exc) from None
        finally:
            held.release()

    run.__name__ = f"{prefix}_{verb}"
    run.__qualname__ = run.__name__
    activity(f"{prefix}.{verb}")(run)


for _verb in VERBS:
    _register("ftp", Ftp, _verb)
    _register("sftp", Sftp, _verb)

__all__ = ["Ftp", "Remote", "Sftp", "fingerprint"]
