"""Numbered schema migrations (``mNNNN_name.py`` modules with an ``up(db)`` function).

``migrate(db)`` applies, in order, every migration not yet recorded in ``schema_migrations``,
each in its own transaction, under a lock so two hub processes starting together never apply one
twice (PostgreSQL advisory lock; SQLite ``BEGIN IMMEDIATE``). Running it on an up-to-date
database changes nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Any

import peewee as pw

_NAME = re.compile(r"^m(\d{4})_([a-z0-9_]+)$")
_LOCK_ID = 0x45584B52  # "EXKR"


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    module: str


def available() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        m = _NAME.match(info.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), f"{__name__}.{info.name}"))
    found.sort(key=lambda mig: mig.number)
    numbers = [mig.number for mig in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"duplicate migration numbers: {numbers}")
    return found


def _ensure_table(db: pw.Database) -> None:
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
    )


def applied(db: pw.Database) -> set[int]:
    _ensure_table(db)
    return {row[0] for row in db.execute_sql("SELECT number FROM schema_migrations")}


def migrate(db: pw.Database) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    is_pg = isinstance(db, pw.PostgresqlDatabase)
    done: list[str] = []
    _ensure_table(db)
    if is_pg:
        db.execute_sql("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        for mig in available():
            module = importlib.import_module(mig.module)
            fk_off = not is_pg and getattr(module, "SQLITE_FOREIGN_KEYS_OFF", False)
            if fk_off:  # a no-op inside a transaction, so it is switched here
                db.execute_sql("PRAGMA foreign_keys = OFF")
            try:
                _apply(db, mig, module, is_pg, done)
            finally:
                if fk_off:
                    db.execute_sql("PRAGMA foreign_keys = ON")
    finally:
        if is_pg:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return done


def _apply(db: pw.Database, mig: Migration, module: Any, is_pg: bool, done: list[str]) -> None:
    """One migration in its own transaction, unless another process applied it meanwhile."""
    with db.atomic():
        if not is_pg:
            # an IMMEDIATE write lock: a second process waits here, then sees the row
            db.execute_sql("UPDATE schema_migrations SET number = number WHERE 0")
        exists = db.execute_sql(
            "SELECT 1 FROM schema_migrations WHERE number = %s"
            if is_pg
            else "SELECT 1 FROM schema_migrations WHERE number = ?",
            (mig.number,),
        ).fetchone()
        if exists:
            return
        module.up(db)
        mark = "%s" if is_pg else "?"
        db.execute_sql(
            "INSERT INTO schema_migrations (number, name, applied_at) "
            f"VALUES ({mark}, {mark}, {mark})",
            (mig.number, mig.name, dt.datetime.now(dt.UTC).isoformat()),
        )
        done.append(f"{mig.number:04d}_{mig.name}")
