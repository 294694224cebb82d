"""What the mail, FTP and SFTP activities share: login details, TLS contexts, time limits.

:func:`login_for` is the one place where a username and password (or key) are handed out for a
host: every activity that sends a credential to a server asks it, naming the host. Checks on
where a credential may go belong there.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import ActivityError, Context, integer, number, text


@dataclass(frozen=True)
class Login:
    """Who to log in as on one host; ``password`` never appears in repr or logs."""

    host: str
    username: str
    password: str | None = field(default=None, repr=False)


def login_for(
    params: dict[str, Any],
    ctx: Context,
    host: str,
    *,
    port: int | None = None,
    what: str = "",
    required: bool = True,
) -> Login:
    """The username and password to send to ``host``: the node's ``username``/``password``
    params, or else its vault ``credential`` (username and secret).

    This is the single point where a secret leaves the runner for a server, so the credential's
    allowed hosts are checked here (before any connection carries it): a credential bound to
    ``erp.acme.local`` is never sent to another host, whatever the workflow's params say.
    """
    cred = ctx.credential
    if cred is not None:
        cred.check_host(host, port, what=what)
    username = params.get("username") or (cred.username if cred else None)
    password = params.get("password") or (cred.secret if cred else None)
    if required and not username:
        raise ActivityError(
            f"logging in to {host} needs 'username' and 'password' (or a vault 'credential')"
        )
    if password:
        ctx.add_secret(str(password))
    return Login(host, str(username or ""), str(password) if password else None)


def host(params: dict[str, Any]) -> str:
    value = text(params, "host").strip()
    if not value:
        raise ActivityError("param 'host' must not be empty")
    if any(c.isspace() or c in "/@" for c in value):
        raise ActivityError(f"param 'host' must be a host name or address, got {value!r}")
    return value


def port(params: dict[str, Any], default: int) -> int:
    value = integer(params, "port", default) or default
    if not 0 < value < 65536:
        raise ActivityError(f"param 'port' must be between 1 and 65535, got {value}")
    return value


def timeout(params: dict[str, Any], ctx: Context, default: float = 30) -> float:
    """The network timeout: the node's ``timeout`` param, capped by its remaining time."""
    limit = number(params, "timeout", default)
    if limit <= 0:
        raise ActivityError("param 'timeout' must be positive")
    return max(ctx.remaining(limit) or 0.0, 0.5)


def tls_context(params: dict[str, Any]) -> ssl.SSLContext:
    """A verifying TLS context: the system's CA store, or only the ``ca_file`` the node names
    (for internal servers with their own CA or a self-signed certificate). Never unverified."""
    ca_file = params.get("ca_file")
    if ca_file:
        path = Path(str(ca_file)).expanduser()
        if not path.is_file():
            raise ActivityError(f"ca_file does not exist: {path}")
        try:
            return ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise ActivityError(f"ca_file {path} holds no usable certificate: {exc}") from None
    return ssl.create_default_context()


def network_error(what: str, where: str, exc: BaseException) -> ActivityError:
    """An error message naming the cause in words, for the usual network failures."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ActivityError(
            f"{what}: the TLS certificate of {where} is not trusted ({exc.verify_message}); "
            "give its CA certificate in 'ca_file' if it is an internal server"
        )
    if isinstance(exc, ssl.SSLError):
        return ActivityError(f"{what}: TLS with {where} failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return ActivityError(f"{what}: {where} refused the connection (is the server running?)")
    if isinstance(exc, socket.gaierror):
        return ActivityError(f"{what}: unknown host {where.rsplit(':', 1)[0]}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return ActivityError(f"{what}: {where} did not answer in time")
    if isinstance(exc, OSError):
        return ActivityError(f"{what}: {where}: {exc.strerror or exc}")
    return ActivityError(f"{what}: {where}: {exc}")


def texts(value: Any, param: str) -> list[str]:
    """A param that may be one text or a list of texts."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    raise ActivityError(f"param {param!r} must be text or a list of texts, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Sessions shared by the nodes of one execution


class _Shared:
    """A session kept in the execution's scope for later nodes using the same server and
    login; one node at a time holds it."""

    def __init__(self, session: Any, close: Callable[[Any], None]) -> None:
        self.session = session
        self.lock = threading.Lock()
        self._close = close

    def close(self) -> None:
        with self.lock:
            close_quietly(self._close, self.session)


def close_quietly(close: Callable[[Any], None], session: Any) -> None:
    try:
        close(session)
    except Exception:  # noqa: BLE001, S110 - closing a dead session: nothing to do
        pass


def session_key(kind: str, params: dict[str, Any], names: Iterable[str], ctx: Context) -> str:
    """Which server and login a node uses, as a digest of its server params and credential
    (no secret readable in the key)."""
    cred = ctx.credential
    parts = [kind, *(repr(params.get(name)) for name in names)]
    parts += [cred.username, cred.secret] if cred is not None else []
    return f"{kind}.{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:32]}"


class Lease:
    """A session lent to one node: :meth:`release` it when done (again is harmless), or
    :meth:`drop` it when it broke so no later node gets it."""

    def __init__(self, session: Any, release: Callable[[], None], drop: Callable[[], None]) -> None:
        self.session = session
        self._release = release
        self._drop = drop
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._release()

    def drop(self) -> None:
        self.release()
        self._drop()


def lease(
    ctx: Context,
    key: str,
    open_: Callable[[], Any],
    alive: Callable[[Any], bool],
    close: Callable[[Any], None],
) -> Lease:
    """The execution's open session under ``key`` when it is free and still answers, else a
    new one from ``open_`` (kept for later nodes when none is kept yet; a busy kept one — a
    node abandoned on a timeout still holds it — gives an unshared session closed after use).
    A loop of 50 uploads logs in once, not 50 times; the engine closes kept sessions when the
    execution ends."""
    shared = ctx.scope.get(key)
    if isinstance(shared, _Shared) and shared.lock.acquire(blocking=False):
        if alive(shared.session):
            kept = shared
            return Lease(kept.session, kept.lock.release, lambda: _drop(ctx, key, kept))
        shared.lock.release()
        ctx.scope.pop(key)  # gone stale (the server hung up): closed, replaced below
        shared = None
    session = open_()
    if shared is None:
        fresh = _Shared(session, close)
        fresh.lock.acquire()
        ctx.scope.put(key, fresh, lambda s: s.close())
        return Lease(session, fresh.lock.release, lambda: _drop(ctx, key, fresh))
    return Lease(session, lambda: close_quietly(close, session), lambda: None)


def _drop(ctx: Context, key: str, shared: _Shared) -> None:
    """Forget a broken kept session (its holder releases the lock first)."""
    if ctx.scope.get(key) is shared:
        ctx.scope.pop(key, close=False)
    close_quietly(shared._close, shared.session)
