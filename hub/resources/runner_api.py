"""``/api/runner/*``: what runners call — authenticate, heartbeat, poll, status and logs.

These routes are exempt from the per-client limit by exact template (hub/middleware.py);
authenticate has its own limiter per machine key and client against brute force. Every call
with a runner token checks, in the same indexed read that does the work, that the runner still
exists and the token's secret version is current.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import falcon
import msgspec

from .. import errors, wake
from ..api import Routes, endpoint, send
from ..config import Settings
from ..models import iso
from ..ratelimit import RateLimiter
from ..services.dispatch import Dispatcher
from ..services.executions import ExecutionService
from ..services.runners import RunnerService
from ..wake import WakeChannel

if TYPE_CHECKING:
    from ..app import Hub

#: authenticate attempts per minute per (machine key, client) and per client
AUTH_PER_KEY = 10
AUTH_PER_CLIENT = 60


class Authenticate(msgspec.Struct, forbid_unknown_fields=True):
    # no length limits here: an over-long key or secret is a failed sign-in (401), never a
    # different answer (the body size limit still applies)
    machine_key: str
    machine_secret: str
    #: a random value the agent process picks at start: a new one settles what the previous
    #: process held (lost-runner rules) at once
    session: Annotated[str, msgspec.Meta(min_length=8, max_length=64)] | None = None
    #: executions whose final report this process still has to deliver (its outbox)
    pending: Annotated[list[int], msgspec.Meta(max_length=1000)] = []


class Channel(msgspec.Struct):
    """Where an idle runner waits to be woken (hub/wake.py); absent when the hub has none."""

    path: str
    keepalive: float
    #: the channel's own port on the host the runner reached the hub at; null: same origin
    #: as the hub (behind a proxy that routes the path)
    port: int | None = None
    #: an absolute URL set by the administrator (``channel_url``); wins over path and port
    url: str | None = None


class AuthOut(msgspec.Struct):
    token: str
    expires_at: str
    runner_id: int
    channel: Channel | None = None


#: system-wide percentages (psutil); the columns are REAL on PostgreSQL, which refuses > ~3.4e38
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class Heartbeat(msgspec.Struct, forbid_unknown_fields=True):
    cpu: Percent | None = None
    memory: Percent | None = None
    disk: Percent | None = None
    version: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    hostname: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class HeartbeatOut(msgspec.Struct):
    status: str
    stop: list[int]


class LogLine(msgspec.Struct, forbid_unknown_fields=True):
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]  # an INTEGER column on PostgreSQL
    message: str
    at: str | None = None
    level: str = "info"
    node_id: str | None = None


class ExecMetrics(msgspec.Struct):
    cpu_avg: float | None = None
    cpu_peak: float | None = None
    mem_avg_mb: float | None = None
    mem_peak_mb: float | None = None


class StatusReport(msgspec.Struct, forbid_unknown_fields=True):
    attempt: int
    status: str
    error: str | None = None
    failed_node: str | None = None
    reason: str | None = None
    metrics: ExecMetrics | None = None
    logs: Annotated[list[LogLine], msgspec.Meta(max_length=5000)] = []
    #: with a final status: hand this runner its next QUEUED execution in the answer
    next: bool = False


class LogBatch(msgspec.Struct, forbid_unknown_fields=True):
    attempt: int
    logs: Annotated[list[LogLine], msgspec.Meta(max_length=5000)]


class Payload(msgspec.Struct):
    id: int
    attempt: int
    workflow_id: int
    version: int
    graph: dict[str, Any]
    inputs: dict[str, Any]
    credentials: dict[str, Any]
    stop: bool = False


class WriteOut(msgspec.Struct):
    status: str
    stop: bool
    #: a retried report the hub had already taken (nothing changed)
    duplicate: bool = False


class StatusOut(WriteOut):
    #: present when the report asked for ``next``: the execution this runner holds now (the
    #: same payload as a poll's), or null when nothing is waiting for it
    next: Payload | None = None


class PollOut(msgspec.Struct):
    execution: Payload


def runner_identity(req: falcon.Request) -> tuple[int, Any]:
    """(runner id, token secret version) of the runner calling a runner route."""
    claims = req.context.runner_claims
    return int(claims["sub"]), claims.get("ver")


class AuthenticateResource:
    def __init__(
        self,
        runners: RunnerService,
        dispatcher: Dispatcher,
        limiter: RateLimiter,
        settings: Settings,
        channel: WakeChannel | None,
    ) -> None:
        self.runners = runners
        self.dispatcher = dispatcher
        self.limiter = limiter
        self.settings = settings
        self.channel = channel

    @endpoint(
        "Exchange machine credentials for a 24 h runner token",
        auth="public",
        rate_limited=False,  # its own, stricter limiter per machine key and client
        body=Authenticate,
        response=AuthOut,
        description="An unknown key and a wrong secret answer the same 401. Limited per "
        "machine key and client.",
        responses={401: "Unknown key or wrong secret", 429: "Too many attempts"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: Authenticate = req.context.body
        limiter = self.limiter
        for key, limit in (
            (f"runner-auth:{body.machine_key}:{req.context.ip}", AUTH_PER_KEY),
            (f"runner-auth-client:{req.context.ip}", AUTH_PER_CLIENT),
        ):
            retry = limiter.hit(key, limit=limit)
            if retry is not None:
                raise errors.RateLimited(retry, "too many authentication attempts; wait")
        token, expires, runner_id, new_life = self.runners.authenticate(
            body.machine_key, body.machine_secret, body.session
        )
        if new_life:
            self.dispatcher.settle_previous_life(runner_id, set(body.pending))
        out: dict[str, Any] = {"token": token, "expires_at": iso(expires), "runner_id": runner_id}
        channel = self._channel(req)
        if channel is not None:
            out["channel"] = channel
        send(resp, out)

    def _channel(self, req: falcon.Request) -> dict[str, Any] | None:
        channel, settings = self.channel, self.settings
        if channel is None or not channel.running:
            return None
        info: dict[str, Any] = {"path": wake.PATH, "keepalive": channel.keepalive}
        if settings.channel_url:
            info["url"] = settings.channel_url
        elif req.context.ip == (req.remote_addr or "unknown"):
            info["port"] = channel.port  # straight to this process
        # else: through a trusted proxy, which routes the path to the channel (nginx config)
        return info


def _percent(value: float | None) -> float | None:
    """Two decimals: REAL on PostgreSQL also refuses tiny values such as 5e-324."""
    return None if value is None else round(value, 2)


class HeartbeatResource:
    def __init__(self, runners: RunnerService) -> None:
        self.runners = runners

    @endpoint("Runner heartbeat", auth="runner", body=Heartbeat, response=HeartbeatOut)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: Heartbeat = req.context.body
        runner_id, ver = runner_identity(req)
        out = self.runners.heartbeat(
            runner_id,
            ver,
            cpu=_percent(body.cpu),
            memory=_percent(body.memory),
            disk=_percent(body.disk),
            agent_version=body.version,
            hostname=body.hostname,
        )
        send(resp, out)


class PollResource:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    @endpoint(
        "Poll for work",
        auth="runner",
        response=PollOut,
        responses={204: "Nothing to do"},
        description="204 when there is no work; 200 with the execution assigned to this "
        "runner (an idle runner may claim the next QUEUED one here).",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        runner_id, ver = runner_identity(req)
        payload = self.dispatcher.poll(runner_id, ver)
        if payload is None:
            resp.status = 204
            return
        send(resp, {"execution": payload})


class StatusResource:
    def __init__(self, dispatcher: Dispatcher, executions: ExecutionService) -> None:
        self.dispatcher = dispatcher
        self.executions = executions

    @endpoint(
        "Report an execution's status",
        auth="runner",
        body=StatusReport,
        response=StatusOut,
        responses={403: "Not this runner's execution", 409: "Stale attempt or illegal change"},
        description="With `next: true`, a final status (COMPLETED, FAILED, STOPPED) also "
        "hands the runner its next QUEUED execution in the same transaction: the answer's "
        "`next` is the payload a poll would return, or null. A runner that asks for it does "
        "not wait for its next poll between two executions.",
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        body: StatusReport = req.context.body
        runner_id, ver = runner_identity(req)
        report = self.dispatcher.report_and_claim if body.next else self.executions.runner_status
        out = report(
            runner_id,
            execution_id,
            body.attempt,
            body.status,
            error=body.error,
            failed_node=body.failed_node,
            reason=body.reason,
            metrics=msgspec.structs.asdict(body.metrics) if body.metrics else None,
            logs=[msgspec.structs.asdict(line) for line in body.logs],
            secret_version=ver,
        )
        send(resp, out)


class LogsResource:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions

    @endpoint(
        "Append execution logs (idempotent by seq)",
        auth="runner",
        body=LogBatch,
        response=WriteOut,
        responses={403: "Not this runner's execution", 409: "Stale attempt or finished"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        body: LogBatch = req.context.body
        runner_id, ver = runner_identity(req)
        out = self.executions.runner_logs(
            runner_id,
            execution_id,
            body.attempt,
            [msgspec.structs.asdict(x) for x in body.logs],
            secret_version=ver,
        )
        send(resp, out)


def register(routes: Routes, hub: Hub) -> None:
    routes.add(
        "/api/runner/authenticate",
        AuthenticateResource(hub.runners, hub.dispatcher, hub.limiter, hub.settings, hub.channel),
    )
    routes.add("/api/runner/heartbeat", HeartbeatResource(hub.runners))
    routes.add("/api/runner/poll", PollResource(hub.dispatcher))
    routes.add(
        "/api/runner/executions/{execution_id:int}/status",
        StatusResource(hub.dispatcher, hub.executions),
    )
    routes.add("/api/runner/executions/{execution_id:int}/logs", LogsResource(hub.executions))


def keep_alive_on_204(server: Any) -> None:
    """Keep connections open after 204 answers (waitress 3.0 closes them).

    An idle runner's poll answers 204 every 5 s; waitress closes the connection after any
    response without Content-Length, including 204 (which by definition has no body and must
    not carry one), so every idle poll paid a new TCP connection. This task class keeps the
    connection when the only reason to close was the missing length of a bodiless answer.
    """
    from waitress.channel import HTTPChannel
    from waitress.task import WSGITask

    class BodilessKeepAliveTask(WSGITask):  # type: ignore[misc]
        _keep = False

        def build_response_header(self) -> bytes:
            connection = self.request.headers.get("CONNECTION", "").lower()
            self._keep = (
                not self.has_body
                and self.version == "1.1"
                and connection != "close"
                and not self.close_on_finish
            )
            try:
                return super().build_response_header()  # type: ignore[no-any-return]
            finally:
                self._keep = False

        def set_close_on_finish(self) -> None:
            if self._keep:
                return
            super().set_close_on_finish()

    class Channel(HTTPChannel):  # type: ignore[misc]
        task_class = BodilessKeepAliveTask

    servers = [server]
    servers += [s for s in getattr(server, "map", {}).values() if hasattr(s, "channel_class")]
    for srv in servers:
        if hasattr(srv, "channel_class"):
            srv.channel_class = Channel
