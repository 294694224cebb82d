"""0007 — execution artifacts and selector repairs.

``execution_artifacts`` holds only the metadata of what runners upload (screenshots, page
snapshots, traces, files); the bytes live in files under the data folder's ``artifacts/``, so
the main tables stay small and a database backup does not carry megabytes of screenshots.
``selector_repairs`` records each target a runner found by its fingerprint after every selector
broke, for a developer to turn into a new draft. Both go with their execution (ON DELETE
CASCADE); the hub's retention job removes the files.

The model classes below are a frozen copy as of this migration.
"""

from __future__ import annotations

import datetime as dt

import peewee as pw

frozen_db = pw.DatabaseProxy()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(pw.Model):
    class Meta:
        database = frozen_db


class Execution(BaseModel):
    id = pw.AutoField()

    class Meta:
        table_name = "executions"


class ExecutionArtifact(BaseModel):
    id = pw.AutoField()
    execution = pw.ForeignKeyField(Execution, on_delete="CASCADE", index=False)
    name = pw.CharField(max_length=200)
    kind = pw.CharField(max_length=16)
    content_type = pw.CharField(max_length=100)
    size = pw.BigIntegerField()
    node_id = pw.CharField(max_length=200, null=True)
    attempt = pw.IntegerField()
    #: the file's name under ``artifacts/<execution_id>/`` (a random token, never the name)
    stored_as = pw.CharField(max_length=64)
    sha256 = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "execution_artifacts"
        indexes = ((("execution", "id"), False),)


class SelectorRepair(BaseModel):
    id = pw.AutoField()
    execution = pw.ForeignKeyField(Execution, on_delete="CASCADE", index=False)
    attempt = pw.IntegerField()
    node_id = pw.CharField(max_length=200)
    param = pw.CharField(max_length=100)
    old = pw.TextField(null=True)  # JSON; null when the runner did not say
    new = pw.TextField()  # JSON
    score = pw.FloatField()
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "selector_repairs"
        indexes = ((("execution", "id"), False),)


def up(db: pw.Database) -> None:
    frozen_db.initialize(db)
    db.create_tables([ExecutionArtifact, SelectorRepair], safe=True)
