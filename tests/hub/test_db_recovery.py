"""A PostgreSQL connection killed under the hub: one 503 at most, then the hub reconnects."""

from __future__ import annotations

import psycopg2
import pytest

from tests.support import PG_DSN


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite has no server to lose
def test_hub_recovers_from_killed_connections(licensed_api, db_url):
    name = db_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(PG_DSN + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    admin.close()
    first = licensed_api.get("/api/auth/me", as_="ADMIN")
    assert first.status_code in (200, 503)
    if first.status_code == 503:
        assert first.json["code"] == "database_unavailable"
        assert first.headers["retry-after"] == "5"
    second = licensed_api.get("/api/auth/me", as_="ADMIN")
    assert second.status_code == 200 and second.json["role"] == "ADMIN"
