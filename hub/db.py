"""Database binding: a peewee ``DatabaseProxy`` bound by the composition root.

SQLite (embedded default) runs in WAL mode with a busy timeout, and every transaction begins
``IMMEDIATE``: a deferred transaction that read first cannot wait for the write lock (SQLite
answers "database is locked" at once when the snapshot it read is no longer the newest), so a
writer that takes the lock up front waits its turn under the busy timeout instead.

PostgreSQL goes through peewee's connection pool; each waitress thread keeps the connection it
checked out (see ``DatabaseMiddleware``) because checking out per request pings the server
under a process-wide lock (PERFORMANCE.md). A connection that failed is closed so the next
request gets a fresh one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

database_proxy = peewee.DatabaseProxy()


class HubPostgres(PooledPostgresqlDatabase):
    """Pooled PostgreSQL; connections are held per thread, so checkout costs are paid once."""


def make_database(url: str, *, pool_size: int = 24) -> peewee.Database:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:///:memory:
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        return peewee.SqliteDatabase(
            path or ":memory:",
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 30000,
                "synchronous": "normal",
            },
            timeout=30,
            check_same_thread=False,
            lock_type="IMMEDIATE",
        )
    if parsed.scheme in ("postgres", "postgresql"):
        opts = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return HubPostgres(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            max_connections=pool_size,
            stale_timeout=3600,
            timeout=30,
            connect_timeout=int(opts.get("connect_timeout", 10)),
        )
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


def is_postgres(db: Any = None) -> bool:
    target = db or database_proxy.obj
    return isinstance(target, peewee.PostgresqlDatabase)


def ensure_connected() -> None:
    db = database_proxy.obj
    if db.is_closed():
        db.connect(reuse_if_open=True)


def drop_connection() -> None:
    """Discard this thread's connection (after a connection-level failure)."""
    db = database_proxy.obj
    if db is None or db.is_closed():
        return
    if isinstance(db, PooledPostgresqlDatabase):
        db.manual_close()
    else:
        db.close()


@contextmanager
def connection() -> Iterator[None]:
    """For background threads: hold a connection for the block (kept per thread afterwards)."""
    ensure_connected()
    try:
        yield
    except (peewee.OperationalError, peewee.InterfaceError):
        drop_connection()
        raise


_lock = threading.Lock()


def bind(db: peewee.Database) -> None:
    with _lock:
        database_proxy.initialize(db)
