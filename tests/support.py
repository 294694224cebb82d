"""Shared test helpers: databases, vendor keys and licenses, an API client, hub processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import falcon.testing
import psycopg2

REPO = Path(__file__).resolve().parent.parent
PG_DSN = os.environ.get("EXEKRA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("EXEKRA_TEST_REDIS", "redis://127.0.0.1:6379/0")
ADMIN_EMAIL = "admin@acme.test"
PASSWORD = "correct-horse-battery"


def _pg_admin() -> Any:
    conn = psycopg2.connect(PG_DSN + "/postgres")
    conn.autocommit = True
    return conn


def create_pg_database(prefix: str = "exekra_t") -> str:
    """Create a uniquely named PostgreSQL database; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = _pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return f"{PG_DSN}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = _pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        conn.close()


def truncate_pg(url: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'"
            )
            tables = [r[0] for r in cur.fetchall()]
            if tables:
                cur.execute(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
    finally:
        conn.close()


def make_license(
    private_key: Path, *, email: str = ADMIN_EMAIL, runners: int = 5, days: int = 30, **kw: Any
) -> str:
    from hub.services.license import issue

    return issue(
        private_key.read_bytes(),
        organization=kw.get("organization", "ACME Corp"),
        email=email,
        max_runners=runners,
        days=days,
        now=kw.get("now"),
    )


class Api:
    """A thin JSON client over Falcon's TestClient that remembers tokens per role."""

    def __init__(self, client: falcon.testing.TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        as_: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        params: dict[str, Any] | None = None,
        remote_addr: str | None = None,
    ) -> falcon.testing.Result:
        hdrs = dict(headers or {})
        tok = token or (self.tokens[as_] if as_ else None)
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        kwargs: dict[str, Any] = {"headers": hdrs}
        if json_body is not None:
            kwargs["body"] = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["body"] = body
        if params:
            kwargs["params"] = params
        if remote_addr:
            kwargs["remote_addr"] = remote_addr
        return self.client.simulate_request(method, path, **kwargs)

    def get(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request("POST", path, json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request("PATCH", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> falcon.testing.Result:
        return self.request("PUT", path, json_body, **kw)

    def delete(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kw)

    def login(self, email: str, password: str = PASSWORD) -> str:
        res = self.post("/api/auth/login", {"email": email, "password": password})
        assert res.status_code == 200, res.text
        return res.json["token"]


def bootstrap(api: Api, private_key: Path, *, runners: int = 5) -> Api:
    """Activate a license, create the first admin plus a developer and an operator; log in all."""
    res = api.post("/api/license", body=make_license(private_key, runners=runners))
    assert res.status_code == 200, res.text
    res = api.post(
        "/api/setup/admin", {"email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada Admin"}
    )
    assert res.status_code == 201, res.text
    api.tokens["ADMIN"] = api.login(ADMIN_EMAIL)
    api.users["ADMIN"] = res.json
    for role, email in (("DEVELOPER", "dev@acme.test"), ("OPERATOR", "op@acme.test")):
        res = api.post(
            "/api/users",
            {"email": email, "password": PASSWORD, "name": role.title(), "role": role},
            as_="ADMIN",
        )
        assert res.status_code == 201, res.text
        api.users[role] = res.json
        api.tokens[role] = api.login(email)
    return api


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    """A real ``exekra hub serve`` process on a free port."""

    def __init__(self, data_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.data_dir = data_dir
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        #: the wake-up channel's port (its own free port: "port + 1" may be another test's)
        self.channel_port = int(env.get("EXEKRA_CHANNEL_PORT") or 0) or free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> HubProcess:
        port = self.port or free_port()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exekra", "hub", "serve", "--port", str(port)],
            env={
                **os.environ,
                "EXEKRA_CHANNEL_PORT": str(self.channel_port),
                **self.env,
                "EXEKRA_DATA_DIR": str(self.data_dir),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        self.port = port
        deadline = time.monotonic() + timeout
        import httpx

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hub did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@contextmanager
def hub_process(data_dir: Path, env: dict[str, str], log_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(data_dir, env, log_path).start()
    try:
        yield hub
    finally:
        hub.stop()


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}: {last!r}")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
