"""Fixtures for the web view: a licensed in-process hub with demo data, and page helpers."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from tests.support import Api
from tests.web.seed import seed


class Browser:
    """Requests pages with a session cookie, as a browser would (in-process)."""

    def __init__(self, api: Api, token: str | None) -> None:
        self.api = api
        self.token = token

    def get(self, path: str, **kw: Any) -> falcon.testing.Result:
        cookies = {"exekra_session": self.token} if self.token else None
        return self.api.client.simulate_get(path, cookies=cookies, **kw)


@pytest.fixture
def seeded(licensed_api: Api) -> dict[str, Any]:
    return seed()


@pytest.fixture
def as_admin(licensed_api: Api, seeded: dict[str, Any]) -> Browser:
    return Browser(licensed_api, licensed_api.tokens["ADMIN"])
