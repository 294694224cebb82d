"""Composition root: ``create_app(settings)`` builds every service of a hub process and wires the
REST resources and the web view to them.

Read :func:`build_hub` top to bottom to see each service and what it is built from: every
collaborator is passed to a constructor, none is patched in afterwards, and :class:`Hub` has one
field per service. Nothing happens at import time; nothing starts until
:func:`start_background_work` runs ``hub.background`` in order (``exekra hub serve`` does; tests
mostly don't), and :func:`stop_background_work` stops it in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import falcon
import peewee

from . import __version__, db, errors
from .api import Routes
from .auth import passwords
from .auth.context import COOKIE_NAME, Auth
from .auth.tokens import RUNNER_AUDIENCE, TokenService
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
from .queue import DispatchQueue
from .ratelimit import RateLimiter
from .services.artifacts import ArtifactService
from .services.credentials import CredentialService
from .services.dispatch import Dispatcher
from .services.executions import ExecutionService
from .services.fleetcache import FleetCache
from .services.license import RUNNABLE, LicenseService
from .services.runners import RunnerService
from .services.scheduler import Scheduler
from .services.triggers import TriggerService
from .services.users import UserService
from .services.workflows import WorkflowService
from .wake import WakeChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Background:
    """Work a hub process runs beside its requests: started in list order, stopped in reverse."""

    name: str
    start: Callable[[], object]
    stop: Callable[[], object]


@dataclass
class Hub:
    """The wired services of one hub process (built by :func:`build_hub`)."""

    settings: Settings
    database: peewee.Database
    #: the Redis client shared by the rate limiter and the queue's probe (None: embedded)
    redis: Any
    tokens: TokenService
    auth: Auth
    sealer: Sealer
    limiter: RateLimiter
    license: LicenseService
    users: UserService
    workflows: WorkflowService
    credentials: CredentialService
    #: idle-poll answers and wake-ups shared across hub processes (LISTEN/NOTIFY on PostgreSQL)
    fleet_cache: FleetCache
    runners: RunnerService
    executions: ExecutionService
    dispatcher: Dispatcher
    queue: DispatchQueue
    triggers: TriggerService
    scheduler: Scheduler
    artifacts: ArtifactService
    jobs: JobRunner
    #: the runners' wake-up channel, when this process serves one (``exekra hub serve`` with a
    #: channel port): None in workers, in tests and with ``channel_port = 0``
    channel: WakeChannel | None
    background: list[Background] = field(default_factory=list)
    version: str = __version__


def _redis_client(url: str) -> Any:
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def build_hub(settings: Settings, *, serve_channel: bool = False) -> Hub:
    """Every service of a hub process, each built from what it needs (nothing is started)."""
    ensure_secrets(settings)
    passwords.configure(settings.bcrypt_concurrency)
    database = db.make_database(
        settings.effective_database_url, pool_size=settings.db_pool_size or settings.threads + 8
    )
    db.bind(database)
    with database.connection_context():
        migrate(database)
    redis_client = _redis_client(settings.redis_url)
    tokens = TokenService(
        settings.jwt_secret(),
        user_hours=settings.user_token_hours,
        runner_hours=settings.runner_token_hours,
    )
    sealer = Sealer(settings.encryption_key())
    license = LicenseService(sealer, settings.license_public_key, settings.license_grace_days)

    def max_runners() -> int | None:
        state = license.current()
        return state.max_runners if state.status in RUNNABLE else None

    fleet_cache = FleetCache()
    credentials = CredentialService(sealer)
    runners = RunnerService(
        tokens,
        bcrypt_rounds=settings.bcrypt_rounds,
        max_runners=max_runners,
        changed=fleet_cache.changed,
    )
    # New executions are published to the queue, whose consumer is the dispatcher built on the
    # execution service: the one cycle in the graph, closed by looking `queue` up at call time.
    executions = ExecutionService(
        license,
        enqueue=lambda execution_id: queue.enqueue(execution_id),
        changed=fleet_cache.changed,
        credentials_for=credentials.for_execution,
    )
    dispatcher = Dispatcher(executions, runners, fleet_cache)
    queue = DispatchQueue(dispatcher, settings.redis_url, redis_client=redis_client)
    triggers = TriggerService(sealer, executions)
    scheduler = Scheduler(triggers.fire_schedule, interval=settings.scheduler_interval)
    workflows = WorkflowService()
    artifacts = ArtifactService(
        settings.data_path / "artifacts",
        executions,
        workflows,
        max_bytes=settings.artifact_max_bytes,
        retention_days=settings.artifact_retention_days,
    )
    jobs = JobRunner()
    jobs.register(
        "stale_executions",
        settings.stale_check_interval,
        lambda now: dispatcher.sweep(
            now,
            offline_after=settings.runner_offline_after,
            queue_timeout=settings.queue_timeout,
            assigned_grace=settings.assigned_grace,
            running_grace=settings.running_grace,
            stop_grace=settings.stop_grace,
        ),
    )
    jobs.register(
        "license_revalidation", settings.license_check_interval, lambda now: license.revalidate()
    )
    jobs.register("artifact_retention", settings.artifact_retention_interval, artifacts.retention)
    channel = _wake_channel(settings, tokens, runners) if serve_channel else None
    if channel is not None:
        fleet_cache.wakers.append(channel.wake)

    background = [
        Background("dispatch queue", queue.start, queue.stop),
        Background("fleet cache", lambda: fleet_cache.start(database), fleet_cache.stop),
        Background(
            "heartbeat flusher",
            lambda: runners.start_flusher(fleet_cache.idle_hit),
            runners.stop_flusher,
        ),
        Background("scheduler", scheduler.start, scheduler.stop),
        Background("periodic jobs", jobs.start, jobs.stop),
    ]
    if channel is not None:
        background.append(Background("wake-up channel", _starter(channel), channel.stop))
    return Hub(
        settings=settings,
        database=database,
        redis=redis_client,
        tokens=tokens,
        auth=Auth(tokens),
        sealer=sealer,
        limiter=RateLimiter(settings.rate_limit_per_minute, redis_client=redis_client),
        license=license,
        users=UserService(settings.bcrypt_rounds),
        workflows=workflows,
        credentials=credentials,
        fleet_cache=fleet_cache,
        runners=runners,
        executions=executions,
        dispatcher=dispatcher,
        queue=queue,
        triggers=triggers,
        scheduler=scheduler,
        artifacts=artifacts,
        jobs=jobs,
        channel=channel,
        background=background,
    )


def _starter(channel: WakeChannel) -> Callable[[], None]:
    def start() -> None:
        try:
            channel.start()
        except OSError as exc:  # the port is taken: runners poll as before
            log.warning("wake-up channel not started (%s); runners fall back to polling", exc)

    return start


def _wake_channel(
    settings: Settings, tokens: TokenService, runners: RunnerService
) -> WakeChannel | None:
    """The runners' wake-up channel (``hub/wake.py``), authenticating like the runner routes."""
    port = settings.effective_channel_port
    if port is None:
        return None

    def authenticate(token: str) -> tuple[int, float]:
        try:
            claims = tokens.decode(token, RUNNER_AUDIENCE, "runner")
            runner_id = int(claims["sub"])
        except (errors.ExekraError, KeyError, ValueError):
            raise PermissionError("bad token") from None
        with db.connection():
            try:
                runners.check(runner_id, claims.get("ver"))
            except errors.ExekraError:
                raise PermissionError("token no longer valid") from None
        return runner_id, float(claims["exp"])

    return WakeChannel(
        authenticate, host=settings.host, port=port, keepalive=settings.channel_keepalive
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


def create_app(
    settings: Settings, *, start_background: bool = False, serve_channel: bool = False
) -> HubApp:
    """The hub's WSGI app; ``serve_channel`` also builds the runners' wake-up channel."""
    hub = build_hub(settings, serve_channel=serve_channel)
    trusted = _trusted(settings)
    app = HubApp(
        middleware=[
            ContextMiddleware(
                hub.auth, hub.limiter, max_body_bytes=settings.max_body_bytes, trusted=trusted
            ),
            OriginMiddleware(COOKIE_NAME, trusted),
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

    from .resources import register_all
    from .web import register_web

    routes = Routes(app)
    register_all(routes, hub)
    register_web(app, hub)
    app.hub = hub
    app.routes = routes
    if start_background:
        start_background_work(hub)
    return app


def start_background_work(hub: Hub) -> None:
    with db.connection():
        hub.license.revalidate()
    for work in hub.background:
        work.start()


def stop_background_work(hub: Hub) -> None:
    for work in reversed(hub.background):
        work.stop()
