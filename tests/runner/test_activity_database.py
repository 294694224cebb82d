"""``database.query`` against real SQLite, PostgreSQL (127.0.0.1:5432) and MariaDB
(127.0.0.1:3306, root without password; tests/system-deps.sh starts it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from runner.engine import Status
from tests.support import create_pg_database, drop_pg_database

from .enginekit import chain, failure, node, run, value

MARIADB = os.environ.get("EXEKRA_TEST_MYSQL", "mysql://root@127.0.0.1:3306")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = create_pg_database("exekra_rt")
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="module")
def mysql_url() -> Iterator[str]:
    name = f"exekra_rt_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        yield f"{MARIADB}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _placeholders(url: str) -> tuple[str, str]:
    """Positional and named placeholder styles of the URL's driver."""
    if url.startswith("sqlite"):
        return "?", ":{}"
    return "%s", "%({})s"


def _roundtrip(url: str) -> None:
    pos, named = _placeholders(url)
    table = f"orders_{uuid.uuid4().hex[:8]}"
    run_ = value  # alias for readability
    created = run_(
        "database.query",
        connection=url,
        sql=f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, sku VARCHAR(100), "
        "qty INTEGER, price DECIMAL(10,2))",
    )
    assert set(created) == {"rowcount"}  # a statement without rows reports its row count
    evil = "x'); DROP TABLE " + table + "; --"
    out = run_(
        "database.query",
        connection=url,
        sql=f"INSERT INTO {table} (id, sku, qty, price) VALUES ({pos}, {pos}, {pos}, {pos})",
        params=[1, evil, 3, "9.50"],
    )
    assert out == {"rowcount": 1}
    run_(
        "database.query",
        connection=url,
        sql=f"INSERT INTO {table} (id, sku, qty, price) VALUES ({pos}, {pos}, {pos}, {pos})",
        params=[2, "B-2", 5, "1.25"],
    )
    rows = run_(
        "database.query",
        connection=url,
        sql=f"SELECT id, sku, qty, price FROM {table} WHERE qty >= {named.format('q')} ORDER BY id",
        params={"q": 3},
    )
    assert rows == [
        {"id": 1, "sku": evil, "qty": 3, "price": 9.5},
        {"id": 2, "sku": "B-2", "qty": 5, "price": 1.25},
    ]  # the injection attempt is stored as data: values never become SQL
    assert (
        run_(
            "database.query",
            connection=url,
            sql=f"SELECT * FROM {table} WHERE id = {pos}",
            params=[99],
        )
        == []
    )
    error = failure("database.query", connection=url, sql=f"SELECT nope FROM {table}")
    assert "query failed" in error
    run_("database.query", connection=url, sql=f"DROP TABLE {table}")


def test_sqlite(sqlite_url: str) -> None:
    _roundtrip(sqlite_url)


@pytest.mark.postgres
def test_postgresql(pg_url: str) -> None:
    _roundtrip(pg_url)


def test_mariadb(mysql_url: str) -> None:
    _roundtrip(mysql_url)


def test_rows_feed_a_loop(sqlite_url: str, tmp_path: Path) -> None:
    from .enginekit import edge, graph

    g = graph(
        [
            node(
                "mk",
                "database.query",
                connection=sqlite_url,
                sql="CREATE TABLE t AS SELECT 'a' AS name UNION ALL SELECT 'b'",
            ),
            node(
                "q",
                "database.query",
                connection=sqlite_url,
                sql="SELECT name FROM t ORDER BY name",
                output="rows",
            ),
            node("each", "loop.for_each", items="{rows}", item="row"),
            node("w", "file.append", path=str(tmp_path / "names"), content="{row.name}"),
        ],
        [edge("mk", "q"), edge("q", "each"), edge("each", "w", "body")],
    )
    result, _ = run(g)
    assert result.status == Status.COMPLETED, result.error
    assert (tmp_path / "names").read_text() == "ab"


def test_password_in_url_comes_from_credential_and_is_redacted(mysql_url: str) -> None:
    # MariaDB root has no password here, so a wrong one is refused: the error must not show it
    url = mysql_url.replace("root@", "root:{{credential}}@")
    g = chain(node("q", "database.query", connection=url, sql="SELECT 1", credential="db"))
    result, r = run(g, credentials={"db": {"username": "root", "secret": "wrong-pw-77"}})
    assert result.status == Status.FAILED
    assert "cannot connect" in (result.error or "")
    assert "wrong-pw-77" not in (result.error or "") + r.text()


def test_bad_connections() -> None:
    assert "unsupported connection" in failure(
        "database.query", connection="oracle://u:pw@h/db", sql="SELECT 1"
    )
    error = failure("database.query", connection="oracle://u:pw@h/db", sql="SELECT 1")
    assert "pw" not in error.replace("***", "")
    assert "must be a list or an object" in failure(
        "database.query", connection="sqlite:///:memory:", sql="SELECT 1", params=5
    )
    assert "must not be empty" in failure(
        "database.query", connection="sqlite:///:memory:", sql=" "
    )


def test_sqlite_memory_and_types() -> None:
    rows: Any = value(
        "database.query",
        connection="sqlite:///:memory:",
        sql="SELECT 1 AS one, 'x' AS s, NULL AS n, 2.5 AS f, X'6869' AS b",
    )
    assert rows == [{"one": 1, "s": "x", "n": None, "f": 2.5, "b": "hi"}]


def _timed(url: str, sql: str) -> tuple[Any, float]:
    import time

    n = node("q", "database.query", connection=url, sql=sql)
    n["timeout"] = 0.5
    t0 = time.monotonic()
    result, _ = run(chain(n))
    return result, time.monotonic() - t0


def test_sqlite_endless_query_is_interrupted_by_node_timeout(sqlite_url: str) -> None:
    result, took = _timed(
        sqlite_url,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    )
    assert result.status == Status.FAILED
    assert "timed out after 0.5 s" in (result.error or "")
    assert took < 20


@pytest.mark.postgres
def test_postgresql_long_query_is_bounded_by_node_timeout(pg_url: str) -> None:
    result, took = _timed(pg_url, "SELECT pg_sleep(30)")
    assert result.status == Status.FAILED
    assert "timed out after 0.5 s" in (result.error or "")
    assert took < 20


def test_password_written_in_the_url_is_redacted() -> None:
    from .enginekit import one

    for url in (
        "postgresql://postgres:plain-pw-123@127.0.0.1:1/db",
        "mysql://root:plain-pw-123@127.0.0.1:1/db",
    ):
        result, r = one("database.query", connection=url, sql="SELECT 1", timeout=5)
        assert result.status == Status.FAILED
        assert "cannot connect" in (result.error or "")
        assert "plain-pw-123" not in (result.error or "") + r.text()


def _stop_during(url: str, sql: str) -> tuple[Any, float]:
    import threading
    import time

    from .enginekit import Run

    stop = threading.Event()
    r = Run(chain(node("q", "database.query", connection=url, sql=sql)), stop_event=stop)
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("result", r.run()))
    t.start()
    time.sleep(0.7)  # the query is running on the server
    t0 = time.monotonic()
    stop.set()
    t.join(20)
    return box["result"], time.monotonic() - t0


def _still_running(check: Any, marker: str) -> bool:
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not check(marker):
            return False
        time.sleep(0.1)
    return True


@pytest.mark.postgres
def test_stop_cancels_a_postgresql_query(pg_url: str) -> None:
    import psycopg2

    marker = f"exekra_stop_{uuid.uuid4().hex[:8]}"
    result, took = _stop_during(pg_url, f"SELECT pg_sleep(60) AS {marker}")
    assert result.status == Status.STOPPED
    assert took < 15

    def running(m: str) -> bool:
        with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> "
                "pg_backend_pid()",
                (f"%{m}%",),
            )
            return bool(cur.fetchone()[0])

    assert not _still_running(running, marker), "the query kept running on the server"


def test_stop_kills_a_mariadb_query(mysql_url: str) -> None:
    marker = f"exekra_stop_{uuid.uuid4().hex[:8]}"
    result, took = _stop_during(mysql_url, f"SELECT SLEEP(60) AS {marker}")
    assert result.status == Status.STOPPED
    assert took < 15

    def running(m: str) -> bool:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root")
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM information_schema.processlist WHERE info LIKE %s "
                    "AND id <> CONNECTION_ID()",
                    (f"%{m}%",),
                )
                return bool(cur.fetchone()[0])
        finally:
            conn.close()

    assert not _still_running(running, marker), "the query kept running on the server"
