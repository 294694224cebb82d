"""REST resources, one module per collection; each module's ``register(routes, hub)`` hands
every resource the services it uses (nothing reaches back into the hub at request time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..api import Routes

if TYPE_CHECKING:
    from ..app import Hub


def register_all(routes: Routes, hub: Hub) -> None:
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
