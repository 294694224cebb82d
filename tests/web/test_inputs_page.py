"""The web view's workflow page shows what a version accepts from outside (issue 17 item 4):
declared inputs with type, required and default, or a legacy graph's learned names. In-process
on SQLite and PostgreSQL, escaping checked."""

from __future__ import annotations

import re
from typing import Any

from hub.models import Workflow, WorkflowVersion, utcnow
from tests.support import Api
from tests.web.conftest import Browser

NODES = [{"id": "say", "type": "log.write", "params": {"message": "hi"}}]


def workflow(name: str, graph: dict[str, Any], legacy: list[str] | None = None) -> int:
    wf = Workflow.create(name=name, latest_version=1, published_version=1, legacy_inputs=legacy)
    WorkflowVersion.create(workflow=wf, number=1, graph=graph, published_at=utcnow())
    return int(wf.id)


def test_workflow_page_shows_the_inputs(licensed_api: Api) -> None:
    browser = Browser(licensed_api, licensed_api.tokens["OPERATOR"])
    declared = workflow("Declared", {"format": 1, "nodes": NODES, "inputs": [
        {"name": "order", "type": "integer", "required": True,
         "description": "the <b>order</b> number"},
        {"name": "region", "type": "string", "default": "EU"},
    ]})  # fmt: skip
    html = browser.get(f"/workflows/{declared}").text
    assert re.findall(r'<tr data-input="([^"]+)"', html) == ["order", "region"]
    row = html[html.index('data-input="order"') : html.index('data-input="region"')]
    assert "integer" in row and ">yes<" in row and " *" in row
    assert "the &lt;b&gt;order&lt;/b&gt; number" in row  # escaped, never markup
    region = html[html.index('data-input="region"') :]
    assert "<code>&#34;EU&#34;</code>" in region or "<code>&quot;EU&quot;</code>" in region

    legacy = workflow("Legacy", {"format": 1, "nodes": NODES}, legacy=["customer", "order"])
    html = browser.get(f"/workflows/{legacy}").text
    assert "Not declared" in html
    assert re.findall(r'<code data-input="([^"]+)"', html) == ["customer", "order"]

    for name, graph in (("None", {"format": 1, "nodes": NODES, "inputs": []}),
                        ("Quiet", {"format": 1, "nodes": NODES})):  # fmt: skip
        html = browser.get(f"/workflows/{workflow(name, graph)}").text
        assert "declares no inputs: nothing can be set from outside" in html
        assert "data-input" not in html
