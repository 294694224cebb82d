"""Fixtures shared by the whole suite.

``db_url`` runs a test on SQLite and again on a real PostgreSQL (a database created for the test
session and truncated between tests). ``api`` is an in-process client of a freshly built hub;
``licensed_api`` adds an active license and users of every role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest

from tests.support import Api, bootstrap, create_pg_database, drop_pg_database, truncate_pg

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def vendor_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from hub.services.license import keygen

    return keygen(tmp_path_factory.mktemp("vendor"))


@pytest.fixture(scope="session")
def pg_session_db() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    url = request.getfixturevalue("pg_session_db")
    truncate_pg(url)
    return url


@pytest.fixture
def hub_settings(tmp_path: Path, db_url: str, vendor_keys: tuple[Path, Path]):
    from hub.config import load_settings

    data = tmp_path / "data"
    return load_settings(
        str(data),
        database_url=db_url,
        license_public_key=str(vendor_keys[1]),
        bcrypt_rounds=4,
        rate_limit_per_minute=100_000,
    )


@pytest.fixture
def hub_app(hub_settings):
    from hub.app import create_app

    app = create_app(hub_settings)
    yield app
    database = app.hub.database
    if hasattr(database, "close_all"):
        database.close_all()
    elif not database.is_closed():
        database.close()


@pytest.fixture
def api(hub_app) -> Api:
    return Api(falcon.testing.TestClient(hub_app))


@pytest.fixture
def licensed_api(api: Api, vendor_keys: tuple[Path, Path]) -> Api:
    return bootstrap(api, vendor_keys[0])


@pytest.fixture
def private_key(vendor_keys: tuple[Path, Path]) -> Path:
    return vendor_keys[0]


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("EXEKRA_LOG_LEVEL", "WARNING")
