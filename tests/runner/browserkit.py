"""Helpers for the browser tests: one shared browser per module, runs on the engine."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import psutil
import pytest

from runner.activities import ExecutionScope
from runner.activities.browser.session import BrowserSession, Options, open_session
from runner.engine import LogLine

from .browser_pages import serve
from .enginekit import Run, chain

CHROMIUM = "/usr/bin/chromium"
#: the shared browser's action timeout: failing tests wait this long for an element
TIMEOUT = 1.5


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve() as base:
        yield base


@pytest.fixture(scope="module")
def shared_browser() -> Iterator[BrowserSession]:
    session = open_session(Options(executable=CHROMIUM, timeout=TIMEOUT), None)
    yield session
    session.close()


@pytest.fixture
def browser(shared_browser: BrowserSession) -> BrowserSession:
    """The module's browser with a fresh context (no tabs, cookies or secrets of other tests)."""
    shared_browser.run(None, shared_browser.fresh_context())
    shared_browser.secrets.clear()
    return shared_browser


def run_on(
    session: BrowserSession,
    *nodes: dict[str, Any],
    credentials: Mapping[str, Mapping[str, str]] | None = None,
    graph: dict[str, Any] | None = None,
) -> Run:
    """Run a chain of nodes on the engine with ``session`` already open as ``default``."""
    scope = ExecutionScope("test")
    scope.put("browser:default", session, None)  # the module fixture closes it
    r = Run(graph or chain(*nodes), scope=scope, credentials=credentials)
    r.run()
    return r


class TreeRun(Run):
    """A run that notes the process tree of every browser it opens (from the open's log line),
    so a test can check that none of those processes is left afterwards."""

    def __init__(self, g: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(g, **kwargs)
        self.pids: set[int] = set()

    def _sink(self, line: LogLine) -> None:
        match = re.search(r"opened: Chromium .* \(pid (\d+)\)", line.message)
        if match:
            root = psutil.Process(int(match.group(1)))
            self.pids |= {root.pid, *(c.pid for c in root.children(recursive=True))}
        super()._sink(line)

    def alive(self) -> list[int]:
        out = []
        for pid in self.pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                continue
        return out


def artifacts_text(scope: ExecutionScope) -> bytes:
    return b"\n".join(a["data"] for a in scope.artifacts)
