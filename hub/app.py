"""Composition root: ``create_app(settings)`` wires database, services and resources.

Nothing happens at import time. ``create_app`` returns the Falcon WSGI app with ``app.hub``
holding the wired services (tests and the server use the same factory). Background work
(periodic jobs, the in-process queue worker) starts only with ``start_background=True``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import falcon
import peewee

from . import __version__, db, errors
from .api import Routes
from .auth import passwords
from .auth.context import COOKIE_NAME, Auth
from .auth.tokens import TokenService
from .config import Settings, ensure_secrets
from .crypto import Sealer
from .jobs import JobRunner
from .middleware import (
    ContextMiddleware,
    DatabaseMiddleware,
    OriginMiddleware,
    SecurityHeadersMiddleware,
)
from .migrations import migrate
from .ratelimit import RateLimiter
from .services.artifacts import ArtifactService
from .services.credentials import CredentialService
from .services.dispatch import Dispatcher
from .services.executions import ExecutionService
from .services.license import LicenseService
from .services.runners import RunnerService
from .services.users import UserService
from .services.workflows import WorkflowService
from .wake import WakeChannel

log = logging.getLogger(__name__)


@dataclass
class Hub:
    """The wired services of one hub process."""

    settings: Settings
    database: peewee.Database
    tokens: TokenService
    auth: Auth
    sealer: Sealer
    license: LicenseService
    users: UserService
    limiter: RateLimiter
    jobs: JobRunner
    redis: Any = None
    workflows: WorkflowService = field(default_factory=WorkflowService)
    #: fleet and executions (hub/queue.py ``install`` sets these in create_app)
    executions: ExecutionService | None = None
    runners: RunnerService | None = None
    dispatcher: Dispatcher | None = None
    credentials: CredentialService | None = None
    #: the runners' wake-up channel, when this process serves one (``exekra hub serve``)
    channel: WakeChannel | None = None
    #: execution artifacts and selector repairs (set in create_app)
    artifacts: ArtifactService | None = None
    version: str = __version__
    #: services added by later areas (fleet, executions, workflows, triggers) by name
    extra: dict[str, Any] = field(default_factory=dict)


def _redis_client(url: str) -> Any:
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def build_hub(settings: Settings) -> Hub:
    ensure_secrets(settings)
    passwords.configure(settings.bcrypt_concurrency)
    pool = settings.db_pool_size or settings.threads + 8
    database = db.make_database(settings.effective_database_url, pool_size=pool)
    db.bind(database)
    with database.connection_context():
        migrate(database)
    tokens = TokenService(
        settings.jwt_secret(),
        user_hours=settings.user_token_hours,
        runner_hours=settings.runner_token_hours,
    )
    sealer = Sealer(settings.encryption_key())
    redis_client = _redis_client(settings.redis_url)
    return Hub(
        settings=settings,
        database=database,
        tokens=tokens,
        auth=Auth(tokens),
        sealer=sealer,
        license=LicenseService(sealer, settings.license_public_key, settings.license_grace_days),
        users=UserService(settings.bcrypt_rounds),
        limiter=RateLimiter(settings.rate_limit_per_minute, redis_client=redis_client),
        jobs=JobRunner(),
        redis=redis_client,
    )


def _handle_domain(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    assert isinstance(ex, errors.ExekraError)
    resp.status = ex.status
    resp.media = ex.to_dict()
    for name, value in ex.headers.items():
        resp.set_header(name, value)


def _handle_http(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    assert isinstance(ex, falcon.HTTPError)
    body = ex.to_dict()
    phrase = HTTPStatus(ex.status_code).phrase
    if str(body.get("title", "")).startswith(str(ex.status_code)):
        body["title"] = phrase
    if not body.get("code"):
        body["code"] = phrase.lower().replace(" ", "_").replace("-", "_")
    resp.status = ex.status
    resp.media = body
    for name, value in dict(ex.headers or {}).items():
        resp.set_header(name, value)


def _handle_db(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    log.warning("database error on %s %s: %s", req.method, req.path, ex)
    req.context.db_broken = True
    resp.status = 503
    resp.set_header("Retry-After", "5")
    resp.media = {
        "title": "Service unavailable",
        "description": "the database is not reachable; try again shortly",
        "code": "database_unavailable",
    }


def _handle_any(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    log.exception("unhandled error on %s %s", req.method, req.path)
    resp.status = 500
    resp.media = {
        "title": "Internal error",
        "description": "the hub hit an unexpected error; it has been logged",
        "code": "internal_error",
    }


def _trusted(settings: Settings) -> frozenset[str]:
    return frozenset(ip.strip() for ip in settings.trusted_proxies.split(",") if ip.strip())


class HubApp(falcon.App):
    """The Falcon app with its wired services attached (``app.hub``, ``app.routes``)."""

    hub: Hub
    routes: Routes


def create_app(settings: Settings, *, start_background: bool = False) -> HubApp:
    hub = build_hub(settings)
    app = HubApp(
        middleware=[
            ContextMiddleware(hub),
            OriginMiddleware(COOKIE_NAME, _trusted(settings)),
            DatabaseMiddleware(),
            SecurityHeadersMiddleware(),
        ],
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.add_error_handler(Exception, _handle_any)
    app.add_error_handler(falcon.HTTPError, _handle_http)
    app.add_error_handler(errors.ExekraError, _handle_domain)
    app.add_error_handler(peewee.OperationalError, _handle_db)
    app.add_error_handler(peewee.InterfaceError, _handle_db)

    from .queue import install as install_fleet

    install_fleet(hub)
    assert hub.executions is not None
    hub.artifacts = ArtifactService(
        settings.data_path / "artifacts",
        hub.executions,
        hub.workflows,
        max_bytes=settings.artifact_max_bytes,
        retention_days=settings.artifact_retention_days,
    )
    routes = Routes(app)
    from .resources import register_all

    register_all(routes, hub)
    from .web import register_web

    register_web(app, hub)
    app.hub = hub
    app.routes = routes

    hub.jobs.register(
        "license_revalidation",
        settings.license_check_interval,
        lambda now: hub.license.revalidate(),
    )
    hub.jobs.register(
        "artifact_retention", settings.artifact_retention_interval, hub.artifacts.retention
    )
    if start_background:
        start_background_work(hub)
    return app


def start_wake_channel(hub: Hub) -> WakeChannel | None:
    """Serve the runners' wake-up channel from this process (``hub/wake.py``)."""
    settings = hub.settings
    port = settings.effective_channel_port
    if port is None:
        return None
    from .auth.tokens import RUNNER_AUDIENCE

    def authenticate(token: str) -> tuple[int, float]:
        try:
            claims = hub.tokens.decode(token, RUNNER_AUDIENCE, "runner")
            runner_id = int(claims["sub"])
        except (errors.ExekraError, KeyError, ValueError):
            raise PermissionError("bad token") from None
        assert hub.runners is not None
        with db.connection():
            try:
                hub.runners.check(runner_id, claims.get("ver"))
            except errors.ExekraError:
                raise PermissionError("token no longer valid") from None
        return runner_id, float(claims["exp"])

    channel = WakeChannel(
        authenticate, host=settings.host, port=port, keepalive=settings.channel_keepalive
    )
    channel.start()
    hub.channel = channel
    hub.extra["fleet_cache"].wakers.append(channel.wake)
    hub.extra.setdefault("shutdown", []).append(channel.stop)
    return channel


def start_background_work(hub: Hub) -> None:
    with db.connection():
        hub.license.revalidate()
    for starter in hub.extra.get("background", []):
        starter()
    hub.jobs.start()


def stop_background_work(hub: Hub) -> None:
    hub.jobs.stop()
    for stopper in hub.extra.get("shutdown", []):
        stopper()
