"""0004 — triggers remember why their last scheduled fire did not start an execution.

``last_error`` / ``last_error_at`` are set when the hub refuses a schedule's run (workflow not
published or archived, license expired, ...) and cleared by the next run that starts, so the
trigger's answer shows an administrator why a schedule "is not firing".
"""

from __future__ import annotations

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate


def up(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    columns = {c.name for c in db.get_columns("triggers")}
    ops = []
    if "last_error" not in columns:
        ops.append(migrator.add_column("triggers", "last_error", pw.TextField(null=True)))
    if "last_error_at" not in columns:
        ops.append(migrator.add_column("triggers", "last_error_at", pw.DateTimeField(null=True)))
    migrate(*ops)
