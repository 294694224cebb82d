"""0003 — published workflow versions are immutable in the database too.

``hub.services.workflows`` never writes a version that was ever published; this trigger makes
the database refuse it as well (any UPDATE of a row whose ``published_at`` is set fails with an
integrity error), so no other code path can rewrite what ran. Inserts and deletes (removing a
workflow without executions) are unaffected.
"""

from __future__ import annotations

import peewee as pw

MESSAGE = "published workflow versions are immutable"


def up(db: pw.Database) -> None:
    if isinstance(db, pw.PostgresqlDatabase):
        db.execute_sql(
            "CREATE OR REPLACE FUNCTION exekra_version_immutable() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '23000'; END; "
            "$$ LANGUAGE plpgsql"
        )
        db.execute_sql("DROP TRIGGER IF EXISTS workflow_versions_immutable ON workflow_versions")
        db.execute_sql(
            "CREATE TRIGGER workflow_versions_immutable BEFORE UPDATE ON workflow_versions "
            "FOR EACH ROW WHEN (OLD.published_at IS NOT NULL) "
            "EXECUTE FUNCTION exekra_version_immutable()"
        )
    else:
        db.execute_sql(
            "CREATE TRIGGER IF NOT EXISTS workflow_versions_immutable "
            "BEFORE UPDATE ON workflow_versions "
            "FOR EACH ROW WHEN OLD.published_at IS NOT NULL "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
