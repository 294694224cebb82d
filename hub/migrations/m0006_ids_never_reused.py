"""0006 — ids are never reused, and tokens are bound to the account they were issued for.

On SQLite an ``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT`` hands out ``max(id) + 1``, so
deleting the newest user or runner freed its id for the next one, and a token of the deleted
account (``sub`` = the id) authenticated as the new account. Two fixes, either of which would
close the hole on its own:

- SQLite: every table with an integer ``id`` is rebuilt with ``AUTOINCREMENT`` (the documented
  twelve-step procedure: new table, copy, drop, rename, indexes and triggers again; foreign
  keys are off for the rebuild, see ``SQLITE_FOREIGN_KEYS_OFF``). PostgreSQL sequences never
  hand out a value twice already.
- tokens are bound to a random value per account that a new account never shares, even on a
  database restored from a backup that predates the deletion: ``users.token_binding`` (the
  ``bnd`` claim of a user token, compared on every request), and for runners the secret
  version, which now starts at a random number (``runners.secret_version``, the ``ver`` claim
  every runner request already compares in the read that does its work; regenerating the
  secret still adds one). Existing users get a binding and existing runners a random version
  here, so older tokens stop working: users sign in again and runners authenticate again
  (they do that by themselves on a 401).

``runners.session_id`` is the process id (a random value) the runner agent sent when it last
authenticated: a different one means a new process, whose predecessor's executions are settled
at once (``RunnerService.authenticate``).
"""

from __future__ import annotations

import re
import secrets

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

#: ``hub.migrations.migrate`` turns SQLite foreign-key enforcement off around this migration
#: (it cannot change inside a transaction): dropping a parent table with enforcement on would
#: run its ON DELETE CASCADE actions on every child row
SQLITE_FOREIGN_KEYS_OFF = True


def new_binding() -> str:
    """A user's token binding (128 random bits)."""
    return secrets.token_hex(16)


def first_secret_version() -> int:
    """A runner's first secret version: random, with room for 2**30 regenerations below the
    32-bit INTEGER limit of PostgreSQL."""
    return 2**20 + secrets.randbelow(2**30 - 2**20)


_PK = re.compile(r'("id" INTEGER NOT NULL PRIMARY KEY)(?! AUTOINCREMENT)', re.IGNORECASE)


def _add_columns(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    ops = []
    if "token_binding" not in {c.name for c in db.get_columns("users")}:
        ops.append(migrator.add_column("users", "token_binding", pw.CharField(64, null=True)))
    if "session_id" not in {c.name for c in db.get_columns("runners")}:
        ops.append(migrator.add_column("runners", "session_id", pw.CharField(64, null=True)))
    migrate(*ops)
    mark = "%s" if isinstance(db, pw.PostgresqlDatabase) else "?"
    for (user_id,) in db.execute_sql("SELECT id FROM users WHERE token_binding IS NULL").fetchall():
        db.execute_sql(
            f"UPDATE users SET token_binding = {mark} WHERE id = {mark}",
            (new_binding(), user_id),
        )
    for (runner_id,) in db.execute_sql("SELECT id FROM runners").fetchall():
        db.execute_sql(
            f"UPDATE runners SET secret_version = {mark} WHERE id = {mark}",
            (first_secret_version(), runner_id),
        )


def _autoincrement_sqlite(db: pw.Database) -> None:
    # the rename below must not rewrite (or check) references in other tables and triggers:
    # they name the old table, which is what the rebuilt one is called again at the end
    db.execute_sql("PRAGMA legacy_alter_table = ON")
    try:
        tables = db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        for name, create in tables:
            if not create or not _PK.search(create):
                continue
            _rebuild(db, name, create)
    finally:
        db.execute_sql("PRAGMA legacy_alter_table = OFF")
    broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken after the rebuild: {broken[:5]}")


def _rebuild(db: pw.Database, name: str, create: str) -> None:
    temp = f"{name}__m0006"
    extras = [
        r[0]
        for r in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger')"
            " AND sql IS NOT NULL ORDER BY type",
            (name,),
        )
    ]
    head = re.compile(rf'^CREATE TABLE\s+"?{re.escape(name)}"?', re.IGNORECASE)
    new_sql = head.sub(f'CREATE TABLE "{temp}"', _PK.sub(r"\1 AUTOINCREMENT", create), count=1)
    db.execute_sql(new_sql)
    db.execute_sql(f'INSERT INTO "{temp}" SELECT * FROM "{name}"')
    db.execute_sql(f'DROP TABLE "{name}"')
    db.execute_sql(f'ALTER TABLE "{temp}" RENAME TO "{name}"')
    for statement in extras:
        db.execute_sql(statement)


def up(db: pw.Database) -> None:
    _add_columns(db)
    if not isinstance(db, pw.PostgresqlDatabase):
        _autoincrement_sqlite(db)
