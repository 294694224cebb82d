"""A real hub process for the console tests (started once per session), bootstrapped over HTTP.

The console is driven with Textual's Pilot against it: every screen's data really comes from the
hub over HTTP, the way ``exekra console`` gets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_EMAIL, PASSWORD, HubProcess, make_license

EMAILS = {"ADMIN": ADMIN_EMAIL, "DEVELOPER": "dev@acme.test", "OPERATOR": "op@acme.test"}


@dataclass
class LiveHub:
    process: HubProcess
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.process.url

    def http(self, role: str = "ADMIN") -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=10,
        )

    def call(self, method: str, path: str, role: str = "ADMIN", **kw: Any) -> Any:
        with self.http(role) as client:
            res = client.request(method, path, **kw)
        assert res.status_code < 400, f"{method} {path}: {res.status_code} {res.text}"
        return res.json() if res.content else None


def start_hub(tmp: Path, vendor_keys: tuple[Path, Path], **env: str) -> LiveHub:
    proc = HubProcess(
        tmp / "data",
        {
            "EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]),
            "EXEKRA_RATE_LIMIT_PER_MINUTE": "100000",
            "EXEKRA_BCRYPT_ROUNDS": "4",
            "EXEKRA_LOG_LEVEL": "WARNING",
            **env,
        },
        tmp / "hub.log",
    ).start()
    hub = LiveHub(proc)
    lic = make_license(vendor_keys[0], runners=3)
    with httpx.Client(base_url=hub.url, timeout=10) as client:
        res = client.post("/api/license", content=lic, headers={"Content-Type": "text/plain"})
        assert res.status_code == 200, res.text
        res = client.post(
            "/api/setup/admin",
            json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada Admin"},
        )
        assert res.status_code == 201, res.text
        hub.tokens["ADMIN"] = login(client, ADMIN_EMAIL)
        for role in ("DEVELOPER", "OPERATOR"):
            res = client.post(
                "/api/users",
                json={
                    "email": EMAILS[role],
                    "password": PASSWORD,
                    "name": role.title(),
                    "role": role,
                },
                headers={"Authorization": f"Bearer {hub.tokens['ADMIN']}"},
            )
            assert res.status_code == 201, res.text
            hub.tokens[role] = login(client, EMAILS[role])
    return hub


def login(client: httpx.Client, email: str) -> str:
    res = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert res.status_code == 200, res.text
    return res.json()["token"]


@pytest.fixture(scope="session")
def live_hub(
    tmp_path_factory: pytest.TempPathFactory, vendor_keys: tuple[Path, Path]
) -> Iterator[LiveHub]:
    hub = start_hub(tmp_path_factory.mktemp("console-hub"), vendor_keys)
    try:
        yield hub
    finally:
        hub.process.stop()


@pytest.fixture
def make_app(live_hub: LiveHub, tmp_path: Path) -> Any:
    """``make_app(role)`` → a console signed in as that role (token given, like EXEKRA_TOKEN);
    ``make_app(None)`` → a console that starts at the login screen."""
    from console.app import ExekraConsole
    from console.session import SessionStore

    def build(role: str | None = "ADMIN", hub: LiveHub | None = None) -> ExekraConsole:
        hub = hub or live_hub
        token = hub.tokens[role] if role else None
        return ExekraConsole(hub.url, store=SessionStore(tmp_path / "session"), token=token)

    return build


@pytest.fixture
def pick_activity() -> Iterator[str]:
    """An activity with a ``target`` param that exists whatever the browser catalog holds."""
    from workflows import catalog
    from workflows.catalog import Activity, Param

    act = Activity("testpick.element", "Pick test", "test only", params=(Param("target", "any"),))
    catalog.register(act)
    yield act.type
    catalog.CATALOG.pop(act.type, None)


async def settle(pilot: Any, rounds: int = 100) -> None:
    """Wait until the hub calls (workers outside the dialog group) have finished and the
    screen has repainted. Dialog workers wait for the user, so they are not waited for."""
    import asyncio

    await pilot.pause()
    for _ in range(rounds):
        busy = [
            w
            for w in pilot.app.workers
            if w.is_running and w.group not in ("dialog", "health", "license")
        ]
        if not busy:
            break
        await asyncio.sleep(0.05)
    await pilot.pause()
    await pilot.pause()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def wait_screen(pilot: Any, cls: type, timeout: float = 10.0) -> Any:
    """Wait until the active screen is a ``cls`` (dialogs open from workers)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not isinstance(pilot.app.screen, cls):
        if loop.time() > deadline:
            raise AssertionError(f"expected {cls.__name__}, got {type(pilot.app.screen).__name__}")
        await asyncio.sleep(0.02)
    await pilot.pause()
    return pilot.app.screen
