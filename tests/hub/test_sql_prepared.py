"""``sql.run(..., prepare=True)``: server-side prepared statements for the dispatch hot path.

On PostgreSQL each connection prepares a statement once and then only executes it; a new
connection (after a lost one) prepares again; a rolled-back transaction does not lose it. On
SQLite the flag changes nothing (the driver keeps compiled statements itself).
"""

from __future__ import annotations

import pytest

from hub.db import database_proxy, drop_connection
from hub.services import sql

STATEMENT = "SELECT COUNT(*) + ? FROM runners WHERE id > ?"


def _prepared_here() -> list[str]:
    return [
        row[0]
        for row in sql.all_rows(
            "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'exk_%'"
        )
    ]


def test_prepared_statements(hub_app, db_url: str) -> None:
    assert sql.one(STATEMENT, (40, 0), prepare=True) == (40,)
    assert sql.one(STATEMENT, (2, -1), prepare=True) == (2,)  # same statement, new values
    if not sql.pg():
        return
    with pytest.raises(ValueError, match="2 placeholders, 1 parameters"):
        sql.one(STATEMENT, (1,), prepare=True)
    (prepared,) = _prepared_here()
    assert prepared.startswith("PREPARE exk_") and "$1 FROM runners WHERE id > $2" in prepared
    db = database_proxy.obj
    with pytest.raises(ZeroDivisionError), db.atomic():
        assert sql.one(STATEMENT, (5, 0), prepare=True) == (5,)
        raise ZeroDivisionError  # rolled back: the prepared statement stays
    assert len(_prepared_here()) == 1
    assert sql.one(STATEMENT, (7, 0), prepare=True) == (7,)
    drop_connection()  # a lost connection: the next one prepares again
    assert _prepared_here() == []
    assert sql.one(STATEMENT, (9, 0), prepare=True) == (9,)
    assert len(_prepared_here()) == 1
