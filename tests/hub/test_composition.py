"""The composition root (hub/app.py): every service is built in ``build_hub`` from what it
needs, the Hub's fields are all set to what they declare, and background work starts in one
order and stops in the reverse one."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from hub.app import Background, Hub, start_background_work, stop_background_work


def test_every_hub_field_holds_what_it_declares(hub_app: Any) -> None:
    hub: Hub = hub_app.hub
    hints = typing.get_type_hints(Hub)
    for f in dataclasses.fields(Hub):
        value = getattr(hub, f.name)
        declared = hints[f.name]
        if f.name in ("redis", "channel"):  # optional by configuration, not by wiring order
            assert value is None, f.name  # the test hub: no Redis URL, no channel served
            continue
        origin = typing.get_origin(declared) or declared
        assert isinstance(value, origin), f"Hub.{f.name} is {type(value).__name__}"


def test_services_share_their_collaborators(hub_app: Any) -> None:
    hub: Hub = hub_app.hub
    assert hub.dispatcher.executions is hub.executions
    assert hub.dispatcher.runners is hub.runners
    assert hub.dispatcher.cache is hub.fleet_cache
    assert hub.queue.dispatcher is hub.dispatcher
    assert hub.triggers.executions is hub.executions
    assert hub.artifacts.executions is hub.executions
    assert hub.artifacts.workflows is hub.workflows
    assert hub.executions.credentials_for == hub.credentials.for_execution
    assert hub.executions.changed == hub.fleet_cache.changed
    assert hub.runners.changed == hub.fleet_cache.changed
    names = {job.name for job in hub.jobs.jobs}
    assert names == {"stale_executions", "license_revalidation", "artifact_retention"}


def test_a_new_execution_is_published_to_the_hubs_queue(
    hub_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub: Hub = hub_app.hub
    published: list[int] = []
    monkeypatch.setattr(hub.queue, "enqueue", published.append)
    hub.executions.enqueue(41)  # the late-bound call reaches the queue built after it
    assert published == [41]


def test_background_stops_in_the_reverse_order_of_start(
    hub_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub: Hub = hub_app.hub
    assert [b.name for b in hub.background] == [
        "dispatch queue",
        "fleet cache",
        "heartbeat flusher",
        "scheduler",
        "periodic jobs",
    ]
    calls: list[str] = []
    hub.background = [
        Background(n, lambda n=n: calls.append("start " + n), lambda n=n: calls.append("stop " + n))
        for n in ("a", "b", "c")
    ]
    monkeypatch.setattr(hub.license, "revalidate", lambda: None)
    start_background_work(hub)
    stop_background_work(hub)
    assert calls == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]


def test_a_serving_hub_also_builds_the_wake_channel(hub_settings: Any) -> None:
    from hub.app import create_app

    hub_settings.port, hub_settings.channel_port = 0, 0
    hub = create_app(hub_settings, serve_channel=True).hub
    assert hub.channel is not None and not hub.channel.running
    assert hub.channel.wake in hub.fleet_cache.wakers
    assert hub.background[-1].name == "wake-up channel"
    hub_settings.channel_port = -1  # switched off: nothing is built
    assert create_app(hub_settings, serve_channel=True).hub.channel is None
