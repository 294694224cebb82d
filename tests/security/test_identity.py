"""Attack suite: identities (issue 17 item 1, and the token attacks that held).

Ids are never reused on either database, a token never passes for an account created after it,
and forged, revoked, tampered and cross-runner tokens are refused. In-process hub on SQLite and
PostgreSQL (``licensed_api``).
"""

from __future__ import annotations

import base64
import importlib
import json
import sqlite3
from pathlib import Path

import jwt
import pytest

from tests.hub.test_runners_support import online_runner, published_workflow, run
from tests.support import PASSWORD, Api


def _id_of(api: Api, runner_name: str) -> int:
    items = api.get("/api/runners", as_="ADMIN").json["items"]
    return next(r["id"] for r in items if r["name"] == runner_name)


def _new_user(api: Api, email: str, role: str = "OPERATOR") -> dict:
    res = api.post(
        "/api/users", {"email": email, "password": PASSWORD, "name": "X", "role": role}, as_="ADMIN"
    )
    assert res.status_code == 201, res.text
    return res.json


def _runner(api: Api, name: str) -> tuple[dict, str]:
    res = api.post("/api/runners", {"name": name}, as_="ADMIN")
    assert res.status_code == 201, res.text
    reg = res.json
    auth = api.post(
        "/api/runner/authenticate",
        {"machine_key": reg["machine_key"], "machine_secret": reg["machine_secret"]},
    )
    assert auth.status_code == 200, auth.text
    return reg, auth.json["token"]


def test_deleted_users_token_never_passes_for_a_later_account(licensed_api: Api) -> None:
    api = licensed_api
    victim = _new_user(api, "leaver@acme.test")
    old_token = api.login("leaver@acme.test")
    assert api.delete(f"/api/users/{victim['id']}", as_="ADMIN").status_code in (200, 204)
    admin = _new_user(api, "newadmin@acme.test", role="ADMIN")
    assert admin["id"] > victim["id"]  # the id is not handed out again
    for path in ("/api/audit", "/api/auth/me", "/api/users"):
        res = api.get(path, token=old_token)
        assert res.status_code == 401, (path, res.text)
    # even if an id did come back (a restored backup), the binding would not match
    database = api.client.app.hub.database
    mark = "%s" if "Postgres" in type(database).__name__ else "?"
    database.execute_sql(
        f"UPDATE users SET id = {mark} WHERE id = {mark}", (victim["id"], admin["id"])
    )
    assert api.get("/api/audit", token=old_token).status_code == 401


def test_deleted_runners_token_never_passes_for_a_later_runner(licensed_api: Api) -> None:
    api = licensed_api
    old, old_token = _runner(api, "old")
    res = api.post(f"/api/runners/{old['id']}/regenerate-secret", as_="ADMIN")
    assert res.status_code == 200, res.text
    assert api.post("/api/runner/heartbeat", {}, token=old_token).status_code == 401
    assert api.delete(f"/api/runners/{old['id']}", as_="ADMIN").status_code in (200, 204)
    new, new_token = _runner(api, "new")
    assert new["id"] > old["id"]
    for method, path in (("POST", "/api/runner/heartbeat"), ("GET", "/api/runner/poll")):
        res = api.request(method, path, {} if method == "POST" else None, token=old_token)
        assert res.status_code == 401, (path, res.text)
    assert api.post("/api/runner/heartbeat", {}, token=new_token).status_code == 200
    # a later runner at the same id (a restored backup) still does not share the binding
    database = api.client.app.hub.database
    mark = "%s" if "Postgres" in type(database).__name__ else "?"
    database.execute_sql(
        f"UPDATE runners SET id = {mark} WHERE id = {mark}", (old["id"], new["id"])
    )
    assert api.post("/api/runner/heartbeat", {}, token=old_token).status_code == 401


def test_migration_0006_makes_existing_sqlite_ids_autoincrement(tmp_path: Path) -> None:
    """An installation from before 0006 keeps its rows; afterwards no id comes back."""
    import peewee as pw

    from hub.migrations import _apply, _ensure_table, available, migrate

    path = tmp_path / "old.db"
    db = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1})
    db.connect()
    done: list[str] = []
    _ensure_table(db)

    for mig in available():
        if mig.number < 6:
            _apply(db, mig, importlib.import_module(mig.module), False, done)  # noqa: SLF001
    db.execute_sql(
        "INSERT INTO users (id, email, name, role, password_hash, active, token_version,"
        " created_at, updated_at) VALUES (1, 'a@x', 'A', 'ADMIN', 'h', 1, 1, '2026-01-01',"
        " '2026-01-01'), (2, 'b@x', 'B', 'OPERATOR', 'h', 1, 1, '2026-01-01', '2026-01-01')"
    )
    db.execute_sql(
        "INSERT INTO workflows (id, name, description, latest_version, archived, created_at,"
        " updated_at) VALUES (7, 'w', '', 1, 0, '2026-01-01', '2026-01-01')"
    )
    db.execute_sql(
        "INSERT INTO workflow_versions (workflow_id, number, graph, comment, created_at)"
        " VALUES (7, 1, '{}', '', '2026-01-01')"
    )
    db.execute_sql("DELETE FROM users WHERE id = 2")
    applied = migrate(db)
    assert applied[0] == "0006_ids_never_reused"  # and the later ones after it
    db.close()
    raw = sqlite3.connect(path)
    try:
        tables = dict(raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        for name in ("users", "runners", "executions", "workflows", "triggers", "credentials"):
            assert "AUTOINCREMENT" in tables[name], name
        assert raw.execute("SELECT COUNT(*) FROM workflow_versions").fetchone() == (1,)
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        # the trigger of migration 0003 and the indexes of 0005 survived the rebuild
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        assert {"workflow_versions_immutable", "executions_queue"} <= names
        binding = raw.execute("SELECT token_binding FROM users WHERE id = 1").fetchone()[0]
        assert binding and len(binding) == 32
        raw.execute("PRAGMA foreign_keys = ON")
        raw.execute("DELETE FROM users WHERE id = 1")
        raw.execute(
            "INSERT INTO users (email, name, role, password_hash, active, token_version,"
            " created_at, updated_at) VALUES ('c@x', 'C', 'ADMIN', 'h', 1, 1, '2026', '2026')"
        )
        # id 1 (deleted now) is not reused; the new row follows the highest id the table had
        # at the migration (an id freed before it, like 2 here, left no trace to honour)
        assert raw.execute("SELECT id FROM users").fetchall() == [(2,)]
        # cascades still work: the child table's foreign key points at the rebuilt parent
        raw.execute("DELETE FROM workflows WHERE id = 7")
        assert raw.execute("SELECT COUNT(*) FROM workflow_versions").fetchone() == (0,)
    finally:
        raw.close()


# -- the attacks that held ------------------------------------------------------------------
def _forge(token: str, **changes: object) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{raw}.{sig}"


def test_forged_and_tampered_tokens_are_refused(licensed_api: Api) -> None:
    api = licensed_api
    op = api.tokens["OPERATOR"]
    claims = jwt.decode(op, options={"verify_signature": False})
    forged = {
        "role claim": _forge(op, role="ADMIN"),
        "other subject": _forge(op, sub=str(api.users["ADMIN"]["id"])),
        "alg none": jwt.encode({**claims, "sub": str(api.users["ADMIN"]["id"])}, None, "none"),
        "other key": jwt.encode(claims, "not-the-hub-secret-but-32-bytes-long!", "HS256"),
        "runner audience": jwt.encode(
            {**claims, "aud": "exekra:runner"}, "not-the-hub-secret-but-32-bytes-long!", "HS256"
        ),
        "garbage": "abc.def.ghi",
    }
    for what, token in forged.items():
        res = api.get("/api/users", token=token)
        assert res.status_code == 401, (what, res.text)
    # role tampering through the API: an OPERATOR cannot make itself ADMIN
    me = api.users["OPERATOR"]["id"]
    assert api.patch(f"/api/users/{me}", {"role": "ADMIN"}, as_="OPERATOR").status_code == 403
    assert api.get(f"/api/users/{me}", as_="ADMIN").json["role"] == "OPERATOR"
    # a user token is not a runner token and the other way round
    assert api.get("/api/runner/poll", as_="ADMIN").status_code == 401
    _, runner_token = _runner(api, "r1")
    assert api.get("/api/users", token=runner_token).status_code == 401


def test_revoked_user_tokens_stop_at_once(licensed_api: Api) -> None:
    api = licensed_api
    user = _new_user(api, "temp@acme.test")
    token = api.login("temp@acme.test")
    assert api.get("/api/auth/me", token=token).status_code == 200
    assert api.patch(f"/api/users/{user['id']}", {"active": False}, as_="ADMIN").status_code == 200
    assert api.get("/api/auth/me", token=token).status_code == 401


@pytest.mark.parametrize("what", ["status", "logs"])
def test_a_runner_cannot_touch_another_runners_execution(licensed_api: Api, what: str) -> None:
    api = licensed_api
    _, token_a = online_runner(api, "a")
    _, token_b = online_runner(api, "b")
    api.post("/api/runner/heartbeat", {}, token=token_b)
    exec_id = run(api, published_workflow(api), runner_id=_id_of(api, "a"))["id"]
    got = api.get("/api/runner/poll", token=token_a)
    assert got.status_code == 200, got.text
    attempt = got.json["execution"]["attempt"]
    body: dict = {"attempt": attempt, "logs": [{"seq": 1, "message": "x"}]}
    if what == "status":
        body = {"attempt": attempt, "status": "COMPLETED"}
    res = api.post(f"/api/runner/executions/{exec_id}/{what}", body, token=token_b)
    assert res.status_code == 403, res.text
    assert api.get(f"/api/executions/{exec_id}", as_="ADMIN").json["status"] == "ASSIGNED"
