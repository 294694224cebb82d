"""REST resources, one module per collection; each module has ``register(routes, hub)``."""

from __future__ import annotations

from typing import Any

from ..api import Routes


def register_all(routes: Routes, hub: Any) -> None:
    from . import (
        analytics,
        artifacts,
        audit,
        auth,
        catalog,
        credentials,
        executions,
        license,
        runner_api,
        runners,
        system,
        triggers,
        users,
        workflows,
    )

    fleet = (runners, runner_api, executions, artifacts, credentials, analytics)
    for module in (system, license, auth, users, audit, catalog, workflows, triggers, *fleet):
        module.register(routes, hub)
