"""The first-run flow with the real CLI and a real hub process, as the README shows it:
keygen -> issue -> hub init -> serve -> activate -> first admin -> login; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx
import pytest

from tests.support import REPO, HubProcess, create_pg_database, drop_pg_database


def exekra(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exekra", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_errors_are_clear_and_exit_2(tmp_path):
    res = exekra("license", "issue", "--private-key", str(tmp_path / "nope.pem"))
    assert res.returncode == 2 and "Error" in res.stderr
    res = exekra("hub", "bogus")
    assert res.returncode == 2 and "No such command" in res.stderr
    res = exekra("hub", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d"))
    assert res.returncode == 2 and "without TLS" in res.stderr
    for cmd in (["--help"], ["hub", "--help"], ["license", "issue", "--help"]):
        res = exekra(*cmd)
        assert res.returncode == 0 and "Usage" in res.stdout


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_first_run_flow(tmp_path, database):
    vendor = tmp_path / "vendor"
    res = exekra("license", "keygen", "--out", str(vendor))
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE((vendor / "private.pem").stat().st_mode) == 0o600
    again = exekra("license", "keygen", "--out", str(vendor))
    assert again.returncode == 2 and "already holds" in again.stderr
    lic = tmp_path / "acme.lic"
    res = exekra(
        "license", "issue", "--private-key", str(vendor / "private.pem"), "--org", "ACME",
        "--email", "boss@acme.test", "--runners", "3", "--days", "30", "--out", str(lic),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    bad = exekra(
        "license", "issue", "--private-key", str(vendor / "private.pem"), "--org", "ACME",
        "--email", "boss@acme.test", "--runners", "0", "--days", "30", "--out", str(lic),
    )  # fmt: skip
    assert bad.returncode == 2 and "runners" in bad.stderr.lower()

    data = tmp_path / "data"
    env = {"EXEKRA_LICENSE_PUBLIC_KEY": str(vendor / "public.pem"), "EXEKRA_BCRYPT_ROUNDS": "4"}
    pg_url = None
    if database == "postgres":
        pg_url = create_pg_database()
        env["EXEKRA_DATABASE_URL"] = pg_url
    try:
        first = exekra("hub", "init", "--data-dir", str(data), env=env)
        assert first.returncode == 0, first.stderr
        assert "migration 0001_initial" in first.stdout
        second = exekra("hub", "init", "--data-dir", str(data), env=env)
        assert second.returncode == 0 and "nothing to do" in second.stdout
        hub = HubProcess(data, env, tmp_path / "hub.log").start()
        try:
            client = httpx.Client(base_url=hub.url, timeout=10)
            health = client.get("/api/health").json()
            assert health["status"] == "ok" and health["license"] == "UNLICENSED"
            res = client.post("/api/license", content=lic.read_bytes())
            assert res.status_code == 200, res.text
            assert res.json()["status"] == "ACTIVE"
            res = client.post(
                "/api/setup/admin",
                json={"email": "boss@acme.test", "password": "s3cret-pass", "name": "Boss"},
            )
            assert res.status_code == 201, res.text
            res = client.post(
                "/api/auth/login", json={"email": "boss@acme.test", "password": "s3cret-pass"}
            )
            assert res.status_code == 200
            token = res.json()["token"]
            me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["role"] == "ADMIN"
            # the license survives a restart and the hub starts on an up-to-date database
            hub.stop()
            hub.start()
            client = httpx.Client(base_url=hub.url, timeout=10)
            lic_state = client.get(
                "/api/license", headers={"Authorization": f"Bearer {token}"}
            ).json()
            assert lic_state["status"] == "ACTIVE" and lic_state["max_runners"] == 3
            doc = client.get("/api/openapi.json").json()
            assert doc["openapi"].startswith("3.") and "/api/license" in doc["paths"]
        finally:
            hub.stop()
        cfg = json.loads((data / "hub-config.json").read_text())
        assert isinstance(cfg, dict)
    finally:
        if pg_url:
            drop_pg_database(pg_url)
