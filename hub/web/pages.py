"""The web view's resources: sign-in/out and the read-only pages.

Every page is a GET; the only POSTs are sign-in and sign-out. A visitor without a valid session
is sent to ``/signin?next=<path>``; a role that may not see a page gets a 403 page (HTML, not
the API's JSON).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import falcon

from workflows.statuses import ExecutionStatus, RunnerStatus

from .. import errors
from ..api import INT64_MAX
from ..auth.context import COOKIE_NAME
from ..auth.tokens import TokenService
from ..config import Settings
from ..models import EXECUTION_STATUSES, ROLE_RANK, User, utcnow
from ..ratelimit import RateLimiter
from ..resources.auth import secure_cookie, set_session_cookie
from ..resources.triggers import _base_url as base_url  # webhook URLs exactly as the API
from ..services import audit as audit_service
from ..services.artifacts import IMAGE_TYPES, ArtifactService
from ..services.executions import ExecutionService
from ..services.license import LicenseService
from ..services.triggers import TriggerService
from ..services.users import UserService
from ..services.workflows import inputs_view
from . import queries
from .render import make_env
from .security import CSRF_COOKIE, Tokens, page_headers, safe_next
from .svg import bar_chart, layout_graph, sparkline

REFRESH_SECONDS = 5
FORM_LIMIT = 8192
#: sign-in attempts per minute for one email address (the client's IP shares the API budget)
SIGNIN_PER_EMAIL = 10


class PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class View:
    """Shared rendering state: templates, the form tokens, and the services pages read."""

    def __init__(
        self,
        *,
        settings: Settings,
        license: LicenseService,
        users: UserService,
        auth_tokens: TokenService,
        limiter: RateLimiter,
        executions: ExecutionService,
        artifacts: ArtifactService,
        triggers: TriggerService,
    ) -> None:
        self.settings = settings
        self.license = license
        self.users = users
        #: session tokens (sign-in), not the form tokens of :attr:`tokens`
        self.auth_tokens = auth_tokens
        self.limiter = limiter
        self.executions = executions
        self.artifacts = artifacts
        #: ``TriggerService.to_dict`` gives webhook URLs and next runs exactly as the API
        self.triggers = triggers
        self.env = make_env()
        self.tokens = Tokens(settings.jwt_secret())

    def render(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        template: str,
        *,
        http_status: int = 200,
        user: User | None = None,
        **ctx: Any,
    ) -> None:
        session = first_cookie(req, COOKIE_NAME)
        license_state = self.license.current()
        html = self.env.get_template(template).render(
            user=user,
            license=license_state,
            signout_token=self.tokens.signout(session) if user and session else "",
            path=req.path,
            now=utcnow(),
            refresh=ctx.pop("refresh", 0),
            nav=ctx.pop("nav", ""),
            **ctx,
        )
        page_headers(resp)
        resp.status = http_status
        resp.content_type = "text/html; charset=utf-8"
        try:
            resp.data = html.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate stored before they were refused
            resp.data = html.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode()

    def error(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        status: int,
        title: str,
        message: str,
        user: User | None = None,
    ) -> None:
        self.render(
            req, resp, "error.html", http_status=status, user=user, title=title, message=message
        )

    def redirect(self, resp: falcon.Response, location: str) -> None:
        page_headers(resp)
        resp.status = falcon.HTTP_303
        resp.location = location
        resp.text = ""


def first_cookie(req: falcon.Request, name: str) -> str | None:
    values = req.get_cookie_values(name)
    return values[0] if values else None


def check_request(req: falcon.Request, params: dict[str, Any]) -> None:
    """Path ids no row can have are 404 and text PostgreSQL cannot store (NUL) is 400, before
    any query: the database drivers would refuse both with an error (a 500)."""
    for name, value in params.items():
        if isinstance(value, int) and not 0 <= value <= INT64_MAX:
            raise PageError(404, "Not found", f"There is no {name.removesuffix('_id')} {value}.")
    for name, value in req.params.items():
        values = value if isinstance(value, list) else [value]
        if any("\x00" in str(v) for v in values) or "\x00" in name:
            raise PageError(400, "Bad request", f"{name!r} must not contain NUL characters")


def int_param(req: falcon.Request, name: str, default: int | None = None) -> int | None:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PageError(400, "Bad request", f"{name} must be a whole number") from None
    if value < 0:
        raise PageError(400, "Bad request", f"{name} must not be negative")
    if value > INT64_MAX:  # beyond any stored id or row count (the drivers refuse it: a 500)
        raise PageError(400, "Bad request", f"{name} is too large")
    return value


def page_links(req: falcon.Request, offset: int, total: int, size: int) -> dict[str, str | None]:
    params = {k: v for k, v in req.params.items() if k != "offset" and isinstance(v, str)}

    def url(off: int) -> str:
        query = {**params, **({"offset": str(off)} if off else {})}
        return req.path + ("?" + urllib.parse.urlencode(query) if query else "")

    return {
        "newer": url(max(offset - size, 0)) if offset > 0 else None,
        "older": url(offset + size) if offset + size < total else None,
        "first": str(offset + 1 if total else 0),
        "last": str(min(offset + size, total)),
        "total": str(total),
    }


class Page:
    """GET-only page: authenticate, check the role, build the context, render."""

    role = "OPERATOR"
    template = ""
    nav = ""

    def __init__(self, view: View) -> None:
        self.view = view

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        auth = req.context.auth
        try:
            user = auth.current_user(req)
        except errors.Unauthorized:
            target = req.path + (f"?{req.query_string}" if req.query_string else "")
            self.view.redirect(resp, "/signin?" + urllib.parse.urlencode({"next": target}))
            return
        if ROLE_RANK[user.role] < ROLE_RANK[self.role]:
            self.view.error(
                req,
                resp,
                403,
                "Forbidden",
                f"This page needs the {self.role} role; you are {user.role}.",
                user,
            )
            return
        try:
            check_request(req, params)
            ctx = self.context(req, user, **params)
        except PageError as exc:
            self.view.error(req, resp, exc.status, exc.title, exc.message, user)
            return
        self.view.render(req, resp, self.template, user=user, nav=self.nav, **ctx)

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        raise NotImplementedError


class Dashboard(Page):
    template, nav = "dashboard.html", "dashboard"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        data = queries.dashboard()
        chart = bar_chart(data.pop("per_hour"))
        recent, _ = queries.executions(self.view.executions, limit=10)
        active = any(data["counts"][s] for s in queries.ACTIVE)
        return {
            **data,
            "chart": chart,
            "recent": recent,
            "refresh": REFRESH_SECONDS if active else 0,
        }


class Workflows(Page):
    template, nav = "workflows.html", "workflows"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        return {"workflows": queries.workflows()}


class WorkflowDetail(Page):
    template, nav = "workflow.html", "workflows"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        workflow_id: int = params["workflow_id"]
        wf = queries.workflow(workflow_id)
        if wf is None:
            raise PageError(404, "Not found", f"There is no workflow {workflow_id}.")
        versions = queries.versions(wf)
        shown = int_param(req, "version", wf.published_version or wf.latest_version or None)
        graph = queries.version_graph(workflow_id, shown) if shown else None
        if shown and graph is None:
            raise PageError(404, "Not found", f"Workflow {workflow_id} has no version {shown}.")
        recent, total = queries.executions(self.view.executions, workflow_id=workflow_id, limit=10)
        return {
            "workflow": wf,
            "versions": versions,
            "shown": shown,
            "drawing": layout_graph(graph) if graph is not None else None,
            "variables": graph.get("variables") if isinstance(graph, dict) else None,
            **inputs_view(graph, wf.legacy_inputs),
            "recent": recent,
            "execution_total": total,
            "triggers": queries.triggers(self.view.triggers, base_url(req), workflow_id),
            "refresh": REFRESH_SECONDS if queries.any_active(workflow_id) else 0,
        }


class Executions(Page):
    template, nav = "executions.html", "executions"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        status = req.get_param("status") or None
        if status is not None and status not in EXECUTION_STATUSES:
            raise PageError(
                400, "Bad request", f"status must be one of {', '.join(EXECUTION_STATUSES)}"
            )
        workflow_id = int_param(req, "workflow_id")
        runner_id = int_param(req, "runner_id")
        offset = int_param(req, "offset", 0) or 0
        rows, total = queries.executions(
            self.view.executions,
            status=status,
            workflow_id=workflow_id,
            runner_id=runner_id,
            limit=queries.PAGE_SIZE,
            offset=offset,
        )
        workflow_names = queries.workflow_names()
        active = any(r["status"] in queries.ACTIVE for r in rows)

        def link(**changes: Any) -> str:
            query = {"status": status, "workflow_id": workflow_id, "runner_id": runner_id}
            query.update(changes)
            clean = {k: str(v) for k, v in query.items() if v is not None}
            return "/executions" + ("?" + urllib.parse.urlencode(clean) if clean else "")

        return {
            "rows": rows,
            "statuses": EXECUTION_STATUSES,
            "status": status,
            "workflow_id": workflow_id,
            "workflow_name": dict(workflow_names).get(workflow_id) if workflow_id else None,
            "runner_id": runner_id,
            "workflow_names": workflow_names,
            "link": link,
            "pages": page_links(req, offset, total, queries.PAGE_SIZE),
            "refresh": REFRESH_SECONDS if active or status in queries.ACTIVE else 0,
        }


class ExecutionDetail(Page):
    template, nav = "execution.html", "executions"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        execution_id: int = params["execution_id"]
        row = queries.execution(execution_id)
        if row is None:
            raise PageError(404, "Not found", f"There is no execution {execution_id}.")
        logs, log_total = queries.execution_logs(execution_id)
        graph = row.pop("graph")
        pending = None
        if row["status"] == ExecutionStatus.QUEUED:
            execution = self.view.executions.get(execution_id)
            pending = self.view.executions.pending_reason(execution)
        artifacts, repairs, shot = self._evidence(execution_id, row["failed_node"])
        return {
            "e": row,
            "pending": pending,
            "artifacts": artifacts,
            "repairs": repairs,
            "failure_shot": shot,
            "logs": logs,
            "log_total": log_total,
            "drawing": layout_graph(graph, highlight=row["failed_node"]) if graph else None,
            "refresh": REFRESH_SECONDS if row["status"] in queries.ACTIVE else 0,
        }

    def _evidence(
        self, execution_id: int, failed_node: str | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None]:
        """Artifacts (with their download URL), selector repairs, and the screenshot to show
        beside the failing node: its last screenshot in an image type, if it has one."""
        service = self.view.artifacts
        artifacts = service.list(execution_id)
        for a in artifacts:
            a["url"] = f"/api/executions/{execution_id}/artifacts/{a['id']}"
        shots = [
            a
            for a in artifacts
            if failed_node
            and a["node_id"] == failed_node
            and a["kind"] == "screenshot"
            and a["content_type"] in IMAGE_TYPES
        ]
        return artifacts, service.repairs(execution_id), shots[-1] if shots else None


class Runners(Page):
    template, nav = "runners.html", "runners"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        rows = queries.runners()
        for r in rows:
            r["cpu_line"] = sparkline(r["cpu_history"])
            r["memory_line"] = sparkline(r["memory_history"])
        busy = any(r["status"] == RunnerStatus.BUSY for r in rows)
        return {"runners": rows, "refresh": REFRESH_SECONDS if busy else 0}


class Triggers(Page):
    template, nav = "triggers.html", "triggers"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        return {"triggers": queries.triggers(self.view.triggers, base_url(req))}


class Audit(Page):
    role, template, nav = "ADMIN", "audit.html", "audit"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        action = req.get_param("action") or None
        offset = int_param(req, "offset", 0) or 0
        rows, total = queries.audit(action=action, limit=queries.PAGE_SIZE, offset=offset)
        return {
            "rows": rows,
            "action": action,
            "actions": queries.audit_actions(),
            "pages": page_links(req, offset, total, queries.PAGE_SIZE),
        }


class Users(Page):
    role, template, nav = "ADMIN", "users.html", "users"

    def context(self, req: falcon.Request, user: User, **params: Any) -> dict[str, Any]:
        return {"users": queries.users()}


class NotFoundSink:
    """An HTML 404 for paths outside the API that no page matches (routes take precedence)."""

    PATTERN = r"^/(?!api(/|$)|static/)"

    def __init__(self, view: View) -> None:
        self.view = view

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        user = req.context.auth.optional_user(req)
        self.view.error(req, resp, 404, "Not found", f"There is no page at {req.path}.", user)


def read_form(req: falcon.Request) -> dict[str, str]:
    if (req.content_type or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise PageError(415, "Unsupported form", "Send the form as the sign-in page does.")
    length = req.content_length or 0
    if length > FORM_LIMIT:
        raise PageError(413, "Too large", "The form is too large.")
    raw = req.bounded_stream.read(FORM_LIMIT + 1)
    if len(raw) > FORM_LIMIT:
        raise PageError(413, "Too large", "The form is too large.")
    fields = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}


class SignIn:
    def __init__(self, view: View) -> None:
        self.view = view

    def _form(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        *,
        status: int = 200,
        error: str = "",
        email: str = "",
        next_path: str = "/",
    ) -> None:
        token = self.view.tokens.new_signin()
        resp.set_cookie(
            CSRF_COOKIE,
            token,
            max_age=3600,
            path="/signin",
            http_only=True,
            secure=secure_cookie(req, self.view.settings.secure_cookies),
            same_site="Strict",
        )
        self.view.render(
            req,
            resp,
            "signin.html",
            http_status=status,
            csrf_token=token,
            error=error,
            email=email,
            next_path=next_path,
            first_run=not User.select().exists(),
            nav="signin",
        )

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        next_path = safe_next(req.get_param("next"))
        if req.context.auth.optional_user(req) is not None:
            self.view.redirect(resp, next_path)
            return
        self._form(req, resp, next_path=next_path)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        view = self.view
        retry = view.limiter.hit("client:" + req.context.ip)
        if retry is not None:
            resp.set_header("Retry-After", str(retry))
            self.view.error(req, resp, 429, "Too many requests", f"Try again in {retry} s.")
            return
        try:
            form = read_form(req)
        except PageError as exc:
            self.view.error(req, resp, exc.status, exc.title, exc.message)
            return
        email = form.get("email", "").strip()[:254]
        next_path = safe_next(form.get("next"))
        cookie = first_cookie(req, CSRF_COOKIE)
        if not self.view.tokens.check_signin(cookie, form.get("csrf_token")):
            self._form(
                req,
                resp,
                status=403,
                error="The sign-in form expired or did not come from this site; try again.",
                email=email,
                next_path=next_path,
            )
            return
        retry = view.limiter.hit(
            "web-signin:" + email.lower(), limit=min(SIGNIN_PER_EMAIL, view.limiter.limit)
        )
        if retry is not None:
            resp.set_header("Retry-After", str(retry))
            self._form(
                req,
                resp,
                status=429,
                error=f"Too many attempts for this account; try again in {retry} s.",
                email=email,
                next_path=next_path,
            )
            return
        try:
            password = form.get("password", "")
            limit = view.settings.login_attempts_per_account
            user = view.users.sign_in(email, password, view.limiter, limit)
        except errors.RateLimited as exc:
            wait = exc.headers["Retry-After"]
            resp.set_header("Retry-After", wait)
            self._form(
                req,
                resp,
                status=429,
                error=f"Too many failed attempts for this account; try again in {wait} s.",
                email=email,
                next_path=next_path,
            )
            return
        except errors.Unauthorized:
            self._form(
                req,
                resp,
                status=401,
                error="Wrong email or password.",
                email=email,
                next_path=next_path,
            )
            return
        token, _exp = view.auth_tokens.issue_user(user.id, user.token_version, user.token_binding)
        set_session_cookie(req, resp, view.settings, token)
        resp.unset_cookie(CSRF_COOKIE, path="/signin", same_site="Strict")
        audit_service.record(
            user, "auth.login", f"user:{user.id}", ip=req.context.ip, details={"via": "web"}
        )
        self.view.redirect(resp, next_path)


class SignOut:
    def __init__(self, view: View) -> None:
        self.view = view

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = first_cookie(req, COOKIE_NAME)
        try:
            form = read_form(req)
        except PageError as exc:
            self.view.error(req, resp, exc.status, exc.title, exc.message)
            return
        if not self.view.tokens.check_signout(session, form.get("token")):
            self.view.error(
                req, resp, 403, "Forbidden", "The sign-out request did not come from this site."
            )
            return
        resp.unset_cookie(COOKIE_NAME, path="/", same_site="Strict")
        self.view.redirect(resp, "/signin")
