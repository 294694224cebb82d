"""``database.query``: one parameterised statement through the DB-API drivers.

``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``sqlite:///:memory:`` use
:mod:`sqlite3`; ``postgresql://`` (or ``postgres://``) uses psycopg2 with the URL as libpq DSN;
``mysql://`` (or ``mariadb://``) uses PyMySQL. Values are only ever passed as driver parameters.
A stop request or the node's deadline interrupts the running statement: SQLite through its
progress handler, PostgreSQL by cancelling the statement, MySQL/MariaDB by ``KILL QUERY`` from a
second connection; PostgreSQL/MySQL also get statement/read timeouts from the deadline.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .base import ActivityError, Context, activity, number, text


def _plain(value: Any) -> Any:
    """A database value as something JSON can carry."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _params(params: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
    value = params.get("params")
    if value in (None, ""):
        return ()
    if isinstance(value, dict):
        return value
    if isinstance(value, list | tuple):
        return tuple(value)
    raise ActivityError(f"param 'params' must be a list or an object, got {type(value).__name__}")


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


Canceller = Callable[[], None]

#: the port a connection URL without one uses
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306}


def _check_destination(url: str, ctx: Context) -> None:
    """Refuse, before connecting, to send the node's credential to a database host it is not
    bound to. For PostgreSQL the URL is read as libpq reads it (``?host=`` and
    ``?hostaddr=`` override the authority, several hosts may be listed, ``service=`` names
    hosts elsewhere): every host it may connect to must be allowed."""
    cred = ctx.credential
    if cred is None or not cred.bound:
        return
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        raise ActivityError(
            f"credential {cred.name!r} is bound to {', '.join(cred.allowed_hosts)}; a SQLite "
            "connection has no host to check, so it cannot be used with it"
        )
    if scheme in {"postgresql", "postgres"}:
        from psycopg2.extensions import parse_dsn

        try:
            dsn = parse_dsn(url)
        except Exception:  # noqa: BLE001 - psycopg2 raises ProgrammingError for bad DSNs
            raise ActivityError(f"cannot read the connection URL {_redacted(url)!r}") from None
        if "service" in dsn:
            raise ActivityError(
                f"credential {cred.name!r} is bound to hosts: name the host in the connection "
                "URL instead of a service"
            )
        hosts = [h for h in (dsn.get("host") or "").split(",")]
        addrs = [a for a in (dsn.get("hostaddr") or "").split(",") if a]
        ports = [p for p in (dsn.get("port") or "").split(",")]
        targets = addrs or hosts
        for index, host in enumerate(targets):
            if not host or host.startswith("/"):
                raise ActivityError(
                    f"credential {cred.name!r} is bound to hosts: the connection URL must "
                    "name a network host (not a local socket or the PGHOST default)"
                )
            raw_port = ports[index] if index < len(ports) else (ports[0] if len(ports) == 1 else "")
            port = int(raw_port) if raw_port.isdigit() else DEFAULT_PORTS[scheme]
            cred.check_host(host, port, what="database connection")
        return
    if scheme in {"mysql", "mariadb"}:
        query = dict(parse_qsl(parts.query))
        if "unix_socket" in query or not parts.hostname:
            raise ActivityError(
                f"credential {cred.name!r} is bound to hosts: the connection URL must name a "
                "network host"
            )
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise ActivityError(f"bad port in {_redacted(url)!r}") from None
        cred.check_host(parts.hostname, port, what="database connection")


def _connect(url: str, ctx: Context, connect_timeout: float) -> tuple[Any, Canceller | None]:
    """An open DB-API connection, and how to interrupt its running statement from another
    thread (None where the driver is interrupted otherwise)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(url.split("://", 1)[1])
        if not path.startswith("/"):
            raise ActivityError(
                "a SQLite URL looks like sqlite:///relative.db or sqlite:////abs.db"
            )
        path = path[1:]
        if not path:
            raise ActivityError("the SQLite URL names no database file")
        conn = sqlite3.connect(path, timeout=connect_timeout)
        conn.set_progress_handler(lambda: 1 if ctx.cancelled() else 0, 10_000)
        return conn, None
    if scheme in {"postgresql", "postgres"}:
        import psycopg2

        options = {}
        left = ctx.remaining()
        if left is not None:
            options["options"] = f"-c statement_timeout={max(1, int(left * 1000))}"
        pg = psycopg2.connect(url, connect_timeout=max(1, int(connect_timeout)), **options)
        return pg, pg.cancel
    if scheme in {"mysql", "mariadb"}:
        import pymysql

        query = dict(parse_qsl(parts.query))
        left = ctx.remaining()
        settings: dict[str, Any] = {
            "host": parts.hostname or "localhost",
            "port": parts.port or 3306,
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "database": unquote(parts.path.lstrip("/")) or None,
            "charset": query.get("charset", "utf8mb4"),
            "connect_timeout": max(1, int(connect_timeout)),
        }
        my = pymysql.connect(**settings, read_timeout=int(left) + 1 if left is not None else None)
        thread_id = my.thread_id()

        def kill_query() -> None:
            killer = pymysql.connect(**settings)
            try:
                with killer.cursor() as cur:
                    cur.execute("KILL QUERY %s", (thread_id,))
            finally:
                killer.close()

        return my, kill_query
    raise ActivityError(
        f"unsupported connection {_redacted(url)!r}: use sqlite:///, postgresql:// or mysql://"
    )


def _watch(ctx: Context, cancel: Canceller | None) -> threading.Event:
    """Interrupt the running statement when the node is cancelled; set the returned event to
    end the watch."""
    done = threading.Event()
    if cancel is None:
        return done

    def watch() -> None:
        while not done.is_set():
            if ctx.cancelled():
                try:
                    cancel()
                except Exception:  # noqa: BLE001, S110 - best effort: the query may have ended
                    pass
                return
            done.wait(0.1)

    threading.Thread(target=watch, name=f"exekra-db-cancel-{ctx.node_id}", daemon=True).start()
    return done


@activity("database.query")
def query(params: dict[str, Any], ctx: Context) -> Any:
    url = text(params, "connection")
    sql = text(params, "sql")
    if not sql.strip():
        raise ActivityError("param 'sql' must not be empty")
    values = _params(params)
    connect_timeout = max(ctx.remaining(number(params, "timeout", 30)) or 0.0, 1.0)
    parsed = urlsplit(url)
    if parsed.password:
        ctx.add_secret(unquote(parsed.password))
    _check_destination(url, ctx)
    try:
        conn, cancel = _connect(url, ctx, connect_timeout)
    except ActivityError:
        raise
    except Exception as exc:  # noqa: BLE001 - each driver has its own error tree
        raise ActivityError(f"cannot connect to {_redacted(url)}: {exc}".strip()) from None
    watching = _watch(ctx, cancel)
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, values)
            if cursor.description is not None:
                columns = [d[0] for d in cursor.description]
                rows = [
                    {c: _plain(v) for c, v in zip(columns, row, strict=True)}
                    for row in cursor.fetchall()
                ]
                conn.commit()
                ctx.log("debug", f"query returned {len(rows)} row(s)")
                return rows
            conn.commit()
            ctx.log("debug", f"statement affected {cursor.rowcount} row(s)")
            return {"rowcount": cursor.rowcount}
        finally:
            cursor.close()
    except Exception as exc:  # noqa: BLE001 - each driver has its own error tree
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001, S110 - the connection may be gone already
            pass
        ctx.check()  # an interrupt caused by a stop/timeout is reported as such
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ActivityError(f"query failed: {message}") from None
    finally:
        watching.set()
        conn.close()
