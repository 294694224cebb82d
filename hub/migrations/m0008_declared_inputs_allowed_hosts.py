"""0008 — declared inputs and credential allowed hosts (issue 17, item 4).

* ``credentials.allowed_hosts``: the host patterns a credential may be sent to (JSON list;
  NULL or empty: any host, as before).
* ``workflows.legacy_inputs``: for a graph that declares no ``inputs`` (every graph written
  before declarations existed), the names the hub still accepts from outside. Graphs used to
  let execution inputs, triggers and webhook bodies override *any* variable; now only declared
  inputs can be set. So that existing workflows keep working, this migration learns, per
  workflow, the names its triggers' saved inputs and its past executions' inputs actually used,
  and accepts those (any type, optional) for its graphs without a declaration — nothing else.
  A workflow created after the upgrade has none: its graphs must declare their inputs.

Published versions are immutable (0003), so the learned names live on the workflow, not in the
graphs; saving a version with an ``inputs`` declaration replaces them for that version. A value
that cannot be read as a JSON object (there should be none) teaches nothing.
"""

from __future__ import annotations

import json
from typing import Any

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

#: rows read per round trip while learning from the execution history
_BATCH = 1000


def _keys(text: Any) -> list[str]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return []
    return [str(k) for k in value] if isinstance(value, dict) else []


def _learn(db: pw.Database) -> dict[int, set[str]]:
    learned: dict[int, set[str]] = {}
    for table in ("triggers", "executions"):
        cursor = db.execute_sql(
            f"SELECT DISTINCT workflow_id, inputs FROM {table} WHERE inputs IS NOT NULL"  # noqa: S608 - fixed names
        )
        while rows := cursor.fetchmany(_BATCH):
            for workflow_id, inputs in rows:
                learned.setdefault(int(workflow_id), set()).update(_keys(inputs))
    return learned


def up(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    ops = []
    if "allowed_hosts" not in {c.name for c in db.get_columns("credentials")}:
        ops.append(migrator.add_column("credentials", "allowed_hosts", pw.TextField(null=True)))
    if "legacy_inputs" not in {c.name for c in db.get_columns("workflows")}:
        ops.append(migrator.add_column("workflows", "legacy_inputs", pw.TextField(null=True)))
    migrate(*ops)
    learned = _learn(db)
    mark = "%s" if isinstance(db, pw.PostgresqlDatabase) else "?"
    workflow_ids = [row[0] for row in db.execute_sql("SELECT id FROM workflows").fetchall()]
    for workflow_id in workflow_ids:
        names = sorted(learned.get(int(workflow_id), set()))
        db.execute_sql(
            f"UPDATE workflows SET legacy_inputs = {mark} WHERE id = {mark}",  # noqa: S608
            (json.dumps(names), workflow_id),
        )
