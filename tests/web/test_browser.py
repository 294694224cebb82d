"""The web view in real Chromium (Playwright) against a real ``exekra hub serve`` process.

Everything the pages show is created over the REST API: license, users, workflows (versions,
publishing), triggers, runners and executions. ``ApiRunner`` speaks the runner protocol over
HTTP by hand (authenticate, heartbeat, poll, status with logs and metrics) so the executions
reach RUNNING, COMPLETED and FAILED exactly as a runner would put them there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hub.web.security import CSP
from tests.support import ADMIN_EMAIL, PASSWORD, HubProcess, make_license
from tests.web.seed import ORDER_GRAPH, XSS_NAME

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPERATOR_EMAIL = "op@acme.test"
WIDTHS = (1280, 375)


class Hub:
    def __init__(self, proc: HubProcess, ids: dict[str, Any]) -> None:
        self.proc = proc
        self.url = proc.url
        self.ids = ids
        self.http = httpx.Client(base_url=proc.url, timeout=10)
        token = self.http.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        ).json()["token"]
        self.admin = {"Authorization": f"Bearer {token}"}

    def api(self, path: str, **params: Any) -> Any:
        res = self.http.get(path, headers=self.admin, params=params)
        assert res.status_code == 200, res.text
        return res.json()


def _post(client: httpx.Client, path: str, body: Any, headers: dict[str, str]) -> Any:
    res = client.post(path, json=body, headers=headers)
    assert res.status_code in (200, 201, 202), f"{path}: {res.status_code} {res.text}"
    return res.json() if res.content else None


class ApiRunner:
    """The runner side of the REST API, driven step by step."""

    def __init__(self, client: httpx.Client, machine_key: str, machine_secret: str) -> None:
        self.client = client
        res = _post(
            client,
            "/api/runner/authenticate",
            {"machine_key": machine_key, "machine_secret": machine_secret},
            {},
        )
        self.auth = {"Authorization": f"Bearer {res['token']}"}

    def heartbeat(self, cpu: float, memory: float) -> None:
        body = {"cpu": cpu, "memory": memory, "disk": 55.0, "version": "0.1.0", "hostname": "ws-01"}
        _post(self.client, "/api/runner/heartbeat", body, self.auth)

    def take(self) -> dict[str, Any]:
        res = self.client.get("/api/runner/poll", headers=self.auth)
        assert res.status_code == 200, res.text
        return res.json()["execution"]

    def report(self, execution: dict[str, Any], status: str, **body: Any) -> None:
        path = f"/api/runner/executions/{execution['id']}/status"
        _post(
            self.client,
            path,
            {"attempt": execution["attempt"], "status": status, **body},
            self.auth,
        )


def _logs(failed: bool) -> list[dict[str, Any]]:
    lines = [
        ("info", "read", "read 3 lines from in.txt"),
        ("warning", "check", "order has <b>odd</b> characters"),
        ("error" if failed else "info", "save", "writing out.txt"),
    ]
    return [
        {"seq": i, "level": level, "node_id": node, "message": msg}
        for i, (level, node, msg) in enumerate(lines, start=1)
    ]


def _seed(proc: HubProcess, private_key: Path) -> dict[str, Any]:
    client = httpx.Client(base_url=proc.url, timeout=10)
    res = client.post("/api/license", content=make_license(private_key))
    assert res.status_code == 200, res.text
    admin = {"email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada Admin"}
    assert client.post("/api/setup/admin", json=admin).status_code == 201
    token = client.post(
        "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    _post(
        client,
        "/api/users",
        {"email": OPERATOR_EMAIL, "password": PASSWORD, "name": "Otto Operator"},
        auth,
    )
    order = _post(
        client,
        "/api/workflows",
        {"name": "Order intake", "description": "Reads an order file", "graph": ORDER_GRAPH},
        auth,
    )
    _post(client, f"/api/workflows/{order['id']}/publish", {}, auth)
    draft = {**ORDER_GRAPH, "nodes": ORDER_GRAPH["nodes"][:1], "edges": []}
    _post(client, f"/api/workflows/{order['id']}/versions", {"graph": draft}, auth)
    xss_graph = {
        "format": 1,
        "nodes": [{"id": "hello", "type": "log.write", "params": {"message": "<b>hi</b>"}}],
        "edges": [],
    }
    xss = _post(
        client,
        "/api/workflows",
        {"name": XSS_NAME, "description": "<img src=x onerror=alert(2)>", "graph": xss_graph},
        auth,
    )
    _post(client, f"/api/workflows/{xss['id']}/publish", {}, auth)
    schedule = {
        "workflow_id": order["id"],
        "type": "SCHEDULE",
        "name": "nightly",
        "cron": "0 2 * * *",
        "timezone": "Europe/Paris",
    }
    _post(client, "/api/triggers", schedule, auth)
    webhook = {
        "workflow_id": order["id"],
        "type": "WEBHOOK",
        "name": "from CRM",
        "webhook_secret": "whsec-MUST-NOT-SHOW-0123456789",
    }
    _post(client, "/api/triggers", webhook, auth)

    # runners: one works (heartbeat history for the sparklines), one never connects
    busy = _post(client, "/api/runners", {"name": "runner-busy", "labels": ["windows"]}, auth)
    idle = _post(client, "/api/runners", {"name": "runner-idle"}, auth)
    runner = ApiRunner(client, busy["machine_key"], busy["machine_secret"])
    for i in range(10):
        runner.heartbeat(cpu=10.0 + 8 * i, memory=40.0 + i)

    def run(workflow_id: int) -> dict[str, Any]:
        return _post(client, "/api/executions", {"workflow_id": workflow_id}, auth)

    done = run(order["id"])
    job = runner.take()
    runner.report(job, "RUNNING")
    metrics = {"cpu_avg": 12.5, "cpu_peak": 40.0, "mem_avg_mb": 120.0, "mem_peak_mb": 180.5}
    runner.report(job, "COMPLETED", metrics=metrics, logs=_logs(False))
    failed = run(order["id"])
    job = runner.take()
    runner.report(job, "RUNNING")
    runner.report(
        job,
        "FAILED",
        error="file.write: permission denied: out.txt",
        failed_node="save",
        metrics={"cpu_avg": 5.0, "cpu_peak": 9.0, "mem_avg_mb": 80.0, "mem_peak_mb": 90.0},
        logs=_logs(True),
    )
    running = run(order["id"])
    job = runner.take()
    runner.report(job, "RUNNING", logs=_logs(False)[:1])
    queued = run(xss["id"])  # the only live runner is busy: this one waits
    return {
        "order": order["id"],
        "xss": xss["id"],
        "runners": {"busy": busy["id"], "idle": idle["id"]},
        "executions": {
            "done": done["id"],
            "failed": failed["id"],
            "running": running["id"],
            "queued": queued["id"],
        },
        "runner": runner,
        "running_job": job,
    }


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, vendor_keys: tuple[Path, Path]) -> Iterator[Hub]:
    base = tmp_path_factory.mktemp("webhub")
    env = {"EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]), "EXEKRA_BCRYPT_ROUNDS": "4"}
    proc = HubProcess(base / "data", env, base / "hub.log").start()
    try:
        yield Hub(proc, _seed(proc, vendor_keys[0]))
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Session:
    """One browser context with everything a test wants to assert on recorded."""

    def __init__(self, browser: Browser, hub: Hub, width: int = 1280) -> None:
        self.context = browser.new_context(
            base_url=hub.url, viewport={"width": width, "height": 900}
        )
        self.page: Page = self.context.new_page()
        self.dialogs: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.console_errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append((r.method, r.url)))
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )

    def sign_in(self, email: str, target: str = "/") -> None:
        self.page.goto(target)
        assert "/signin" in self.page.url
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: "/signin" not in url)

    def visit(self, path: str) -> Any:
        response = self.page.goto(path)
        assert response is not None
        return response

    def forms(self) -> list[tuple[str, str]]:
        return self.page.eval_on_selector_all(
            "form", "fs => fs.map(f => [f.method, new URL(f.action).pathname])"
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser: Browser, hub: Hub) -> Iterator[Session]:
    s = Session(browser, hub)
    yield s
    s.close()


def _texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def test_admin_signs_in_and_every_page_matches_the_api(
    session: Session, hub: Hub, artifacts_dir: Path
):
    page = session.page
    session.sign_in(ADMIN_EMAIL)
    assert page.url.rstrip("/") == hub.url
    me = hub.api("/api/auth/me")
    assert me["name"] in page.locator("header").inner_text()
    cookie = next(c for c in session.context.cookies() if c["name"] == "exekra_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # dashboard: counts and the per-hour chart are the analytics summary's
    summary = hub.api("/api/analytics/summary")
    for status in ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "STOPPED"):
        shown = page.locator(f'[data-count="{status}"]').inner_text()
        assert int(shown) == summary["executions"][status], status
    for status in ("ONLINE", "BUSY", "OFFLINE"):
        shown = page.locator(f'[data-runners="{status}"]').inner_text()
        assert int(shown) == summary["runners"][status], status
    assert summary["executions"]["RUNNING"] == 1 and summary["executions"]["FAILED"] == 1
    bars = page.locator("figure.chart g.bar")
    shown_hours = dict(bars.evaluate_all("bs => bs.map(b => [b.dataset.hour, +b.dataset.value])"))
    api_hours = {h["hour"][11:16]: h["total"] for h in summary["per_hour"]}
    common = shown_hours.keys() & api_hours.keys()  # all 24 unless an hour turned in between
    assert len(common) >= 23 and all(shown_hours[h] == api_hours[h] for h in common)
    assert sum(shown_hours.values()) == 4

    # workflows: the list is the API's list
    session.visit("/workflows")
    api_workflows = hub.api("/api/workflows")["items"]
    rows = _texts(page, "tbody th[scope=row]")
    assert sorted(rows) == sorted(w["name"] for w in api_workflows)
    order = next(w for w in api_workflows if w["name"] == "Order intake")

    # workflow detail: the published version drawn as SVG, versions as in the API
    page.get_by_role("link", name="Order intake").click()
    page.wait_for_url(f"**/workflows/{order['id']}")
    versions = hub.api(f"/api/workflows/{order['id']}/versions")["items"]
    shown = [int(v) for v in page.locator("tr[data-version]").evaluate_all(
        "rs => rs.map(r => r.dataset.version)"
    )]  # fmt: skip
    assert shown == [v["number"] for v in versions]
    published = order["published_version"]
    assert page.locator("h2#graph-h").inner_text().startswith(f"Graph of v{published}")
    nodes = page.locator("svg g.node").evaluate_all("gs => gs.map(g => g.dataset.node)")
    assert sorted(nodes) == sorted(n["id"] for n in ORDER_GRAPH["nodes"])
    assert page.locator("svg g.edge").count() == len(ORDER_GRAPH["edges"])
    assert sorted(page.locator("svg text.port").all_text_contents()) == ["false", "true"]
    # boxes do not overlap and every arrow ends at its target's top edge
    boxes = page.locator("svg g.node rect").evaluate_all(
        "rs => rs.map(r => { const b = r.getBBox(); return [b.x, b.y, b.width, b.height]; })"
    )
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] != b[1]
    shoot(page, artifacts_dir, "workflow-graph")

    # executions: filter by status through the links, then the failed one's detail
    session.visit("/executions")
    listed = page.locator("tr[data-execution]").evaluate_all(
        "rs => rs.map(r => [Number(r.dataset.execution), r.querySelector('.badge').textContent])"
    )
    api_executions = hub.api("/api/executions")["items"]
    assert listed == [[e["id"], e["status"]] for e in api_executions] and len(listed) == 4
    page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name="Failed"
    ).click()
    page.wait_for_url("**/executions?status=FAILED")
    assert page.locator("tr[data-execution]").count() == 1
    page.locator("tr[data-execution] a").first.click()
    page.wait_for_url(f"**/executions/{hub.ids['executions']['failed']}")
    assert "permission denied: out.txt" in page.locator(".failure").inner_text()
    assert page.locator("[data-failed-node]").inner_text() == "save"
    assert page.locator("svg g.node.failed").evaluate("g => g.dataset.node") == "save"
    assert page.locator('[data-metric="cpu_peak"]').inner_text() == "9.0 %"
    logs = _texts(page, "table.logs td.msg")
    assert logs == [
        "read 3 lines from in.txt",
        "order has <b>odd</b> characters",
        "writing out.txt",
    ]
    shoot(page, artifacts_dir, "execution")

    # runners: sparklines drawn from the heartbeat history
    session.visit("/runners")
    for r in hub.api("/api/runners")["items"]:
        row = page.locator(f'tr[data-runner="{r["id"]}"]')
        assert r["name"] in row.locator("th").inner_text()
        assert row.locator(".badge").inner_text() == r["status"]
    busy = page.locator(f'tr[data-runner="{hub.ids["runners"]["busy"]}"]')
    assert busy.locator("svg.spark polyline").count() == 2
    points = busy.locator("svg.spark polyline").first.get_attribute("points") or ""
    assert len(points.split()) == 10
    shoot(page, artifacts_dir, "runners")

    # triggers: next run and the webhook URL exactly as the API gives them, no secret
    session.visit("/triggers")
    api_triggers = hub.api("/api/triggers")["items"]
    hook = next(t for t in api_triggers if t["type"] == "WEBHOOK")
    assert page.locator("[data-webhook]").inner_text() == hook["url"]
    sched = next(t for t in api_triggers if t["type"] == "SCHEDULE")
    when = page.locator(f'tr[data-trigger="{sched["id"]}"] time').get_attribute("datetime")
    assert when and when[:19] == sched["next_run"][:19]
    assert "MUST-NOT-SHOW" not in page.content()
    shoot(page, artifacts_dir, "triggers")

    # audit (ADMIN): the same entries as the API, newest first
    session.visit("/audit")
    api_audit = hub.api("/api/audit", limit=50)["items"]
    shown_ids = [int(i) for i in page.locator("tr[data-audit]").evaluate_all(
        "rs => rs.map(r => r.dataset.audit)"
    )]  # fmt: skip
    assert shown_ids == [a["id"] for a in api_audit]
    shoot(page, artifacts_dir, "audit")

    session.visit("/users")
    users = hub.api("/api/users")["items"]
    assert sorted(_texts(page, "tbody th[scope=row]")) == sorted(u["email"] for u in users)

    # no page has a form besides sign-out, nothing but sign-in was POSTed, CSP held
    for path in ("/", "/workflows", f"/workflows/{order['id']}", "/executions", "/runners",
                 "/triggers", "/audit", "/users"):  # fmt: skip
        response = session.visit(path)
        assert response.status == 200
        assert response.headers["content-security-policy"] == CSP
        assert session.forms() == [["post", "/signout"]]
    posts = [url for method, url in session.requests if method != "GET"]
    assert posts == [hub.url + "/signin"]
    assert not session.dialogs
    assert not [e for e in session.console_errors if "Content Security Policy" in e]

    # sign out: back to the sign-in page, and pages need signing in again
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    session.visit("/runners")
    assert "/signin?next=%2Frunners" in page.url


def shoot(page: Page, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"web-{name}-{page.viewport_size['width']}.png"),
                    full_page=True)  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_fit_the_screen(browser: Browser, hub: Hub, artifacts_dir: Path, width: int):
    s = Session(browser, hub, width)
    try:
        s.sign_in(ADMIN_EMAIL)
        pages = {
            "dashboard": "/",
            "workflows": "/workflows",
            "workflow-graph": f"/workflows/{hub.ids['order']}",
            "executions": "/executions",
            "execution": f"/executions/{hub.ids['executions']['failed']}",
            "runners": "/runners",
            "triggers": "/triggers",
            "audit": "/audit",
        }
        for name, path in pages.items():
            s.visit(path)
            # nothing pushes the page sideways: wide tables and graphs scroll in their boxes
            overflow = s.page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{path} is {overflow}px wide at {width}px"
            assert s.page.locator("main h1").is_visible()
            assert s.page.get_by_role("navigation", name="Main").is_visible()
            # wide: real tables, header row above the rows; narrow: rows become labelled cards
            table = s.page.locator("main table").first
            head = table.locator("thead th").first.bounding_box()
            cell = table.locator("tbody tr").first.locator("td, th").first.bounding_box()
            assert head and cell
            if width >= 1280:
                assert head["x"] >= 0 and abs(head["x"] - cell["x"]) < 2 and head["y"] < cell["y"]
            elif "stack" in (table.get_attribute("class") or ""):
                assert head["x"] < 0  # header row moved off screen; labels come from CSS
            shoot(s.page, artifacts_dir, name)
    finally:
        s.close()


def test_operator_cannot_reach_admin_pages(browser: Browser, hub: Hub):
    s = Session(browser, hub)
    try:
        s.sign_in(OPERATOR_EMAIL)
        nav = _texts(s.page, "nav[aria-label=Main] a")
        assert nav == ["Dashboard", "Workflows", "Executions", "Runners", "Triggers"]
        for path in ("/audit", "/users"):
            response = s.visit(path)
            assert response.status == 403
            assert "needs the ADMIN role" in s.page.locator("main").inner_text()
            assert s.page.locator("tr[data-audit], tr[data-user]").count() == 0
        assert s.visit("/executions").status == 200
    finally:
        s.close()


def test_a_script_in_a_name_renders_as_text(session: Session, hub: Hub):
    session.sign_in(ADMIN_EMAIL, f"/workflows/{hub.ids['xss']}")
    page = session.page
    assert page.locator("main h1").inner_text() == XSS_NAME
    assert "<img src=x onerror=alert(2)>" in page.locator("main").inner_text()
    for path in ("/workflows", "/executions", "/"):
        session.visit(path)
        assert page.locator("table").get_by_text(XSS_NAME).first.is_visible()
    queued = hub.ids["executions"]["queued"]
    session.visit(f"/executions/{queued}")
    assert XSS_NAME in page.locator("main").inner_text()
    # why it waits, as the API explains it
    reason = hub.api(f"/api/executions/{queued}")["pending_reason"]
    assert page.locator("[data-pending]").get_attribute("data-pending") == reason["code"]
    assert reason["message"] in page.locator("[data-pending]").inner_text()
    page.wait_for_timeout(300)
    assert session.dialogs == []
    assert page.evaluate("document.querySelectorAll('main script, main img').length") == 0


def test_a_running_page_refreshes_itself_until_it_finishes(session: Session, hub: Hub):
    running = hub.ids["executions"]["running"]
    session.sign_in(ADMIN_EMAIL, f"/executions/{running}")
    page = session.page
    assert page.locator("body").get_attribute("data-refresh") == "5"
    assert page.locator("h1 .badge").inner_text() == "RUNNING"
    navigations: list[str] = []
    page.on("framenavigated", lambda f: navigations.append(f.url))
    hub.ids["runner"].report(hub.ids["running_job"], "COMPLETED", logs=[
        {"seq": 2, "level": "info", "node_id": "done", "message": "all filed"}
    ])  # fmt: skip
    page.locator("h1 .badge", has_text="COMPLETED").wait_for(timeout=20_000)
    assert navigations == []  # swapped in place by the static script, no reload
    assert page.locator("body").get_attribute("data-refresh") == "0"
    assert "all filed" in page.locator("table.logs").inner_text()
    duration = page.locator("dl.facts div:has(> dt:text-is('Duration')) dd").inner_text()
    assert re.match(r"\d", duration), duration
