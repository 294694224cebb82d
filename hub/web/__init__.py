"""The read-only web view, served by the hub at ``/`` (same process, same port).

Server-rendered Jinja2 templates (autoescaped), one stylesheet and one small script from
``/static``, inline SVG for charts and the workflow graph. The routes are added straight to the
Falcon app, not to the REST ``Routes`` table: they are HTML pages, not API endpoints, and do not
appear in the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import falcon

from .pages import (
    Audit,
    Dashboard,
    ExecutionDetail,
    Executions,
    NotFoundSink,
    Runners,
    SignIn,
    SignOut,
    Triggers,
    Users,
    View,
    WorkflowDetail,
    Workflows,
)

if TYPE_CHECKING:
    from ..app import Hub

STATIC = Path(__file__).resolve().parent / "static"

#: every route of the web view; the only POSTs are /signin and /signout
PAGES: tuple[tuple[str, type], ...] = (
    ("/", Dashboard),
    ("/workflows", Workflows),
    ("/workflows/{workflow_id:int}", WorkflowDetail),
    ("/executions", Executions),
    ("/executions/{execution_id:int}", ExecutionDetail),
    ("/runners", Runners),
    ("/triggers", Triggers),
    ("/audit", Audit),
    ("/users", Users),
)


def register_web(app: falcon.App, hub: Hub) -> None:
    view = View(
        settings=hub.settings,
        license=hub.license,
        users=hub.users,
        auth_tokens=hub.tokens,
        limiter=hub.limiter,
        executions=hub.executions,
        artifacts=hub.artifacts,
        triggers=hub.triggers,
    )
    for path, page in PAGES:
        app.add_route(path, page(view))
    app.add_route("/signin", SignIn(view))
    app.add_route("/signout", SignOut(view))
    app.add_static_route("/static", STATIC)
    app.add_sink(NotFoundSink(view), NotFoundSink.PATTERN)
