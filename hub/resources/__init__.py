"""REST resources, one module per collection; each module has ``register(routes, hub)``."""

from __future__ import annotations

from typing import Any

from ..api import Routes


def register_all(routes: Routes, hub: Any) -> None:
    from . import audit, auth, license, system, users
    from . import catalog, workflows
    from . import triggers
    from . import analytics, credentials, executions, runner_api, runners

    fleet = (runners, runner_api, executions, credentials, analytics)
    for module in (system, license, auth, users, audit, catalog, workflows, triggers, *fleet):
        module.register(routes, hub)
