"""0002 — make runner heartbeats cheap writes.

A heartbeat rewrites ``last_seen`` of one runner every 30 s per runner. With an index on
``last_seen`` every such update is a non-HOT update that adds entries to all five indexes of
``runners``; without it (nothing needs it: the liveness sweep reads the small table once a
minute) and with free space left in each page, PostgreSQL updates the row in place (HOT).
"""

from __future__ import annotations

import peewee as pw


def up(db: pw.Database) -> None:
    db.execute_sql("DROP INDEX IF EXISTS runners_last_seen")
    if isinstance(db, pw.PostgresqlDatabase):
        db.execute_sql("ALTER TABLE runners SET (fillfactor = 70)")
