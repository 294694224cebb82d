"""The web view in-process (Falcon test client) on SQLite and PostgreSQL: sign-in with CSRF,
sessions, roles, escaping, headers and the content of every page.

Workflows, runners, executions and triggers are seeded straight into the hub's database
(``tests/web/seed.py``) because their REST API had not landed when these tests were written;
users, license and audit go through the REST API.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from markupsafe import escape as html_escape

from hub.models import AuditLog, Execution, License
from hub.web import PAGES
from hub.web.security import CSP
from tests.support import ADMIN_EMAIL, PASSWORD, Api
from tests.web.conftest import Browser
from tests.web.seed import XSS_NAME

ALL_PAGES = ["/", "/workflows", "/executions", "/runners", "/triggers", "/audit", "/users"]


def signin_form(api: Api, path: str = "/signin") -> tuple[str, str]:
    res = api.client.simulate_get(path)
    assert res.status_code == 200, res.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', res.text).group(1)
    return token, res.cookies["exekra_csrf"].value


def post_signin(api: Api, form: dict[str, str], cookie: str | None) -> Any:
    body = "&".join(f"{k}={v}" for k, v in form.items())
    return api.client.simulate_post(
        "/signin",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies={"exekra_csrf": cookie} if cookie else None,
    )


def test_signed_out_visitors_are_sent_to_sign_in(licensed_api: Api):
    assert "data-first-run" not in licensed_api.client.simulate_get("/signin").text
    for path in ALL_PAGES + ["/executions?status=FAILED"]:
        res = licensed_api.client.simulate_get(path)
        assert res.status_code == 303
        assert res.headers["location"].startswith("/signin?next=")
    res = licensed_api.client.simulate_get("/", cookies={"exekra_session": "garbage"})
    assert res.status_code == 303


@pytest.mark.usefixtures("seeded")
def test_sign_in_sets_the_session_cookie_and_audits(licensed_api: Api):
    token, cookie = signin_form(licensed_api, "/signin?next=/runners")
    assert token == cookie
    res = post_signin(
        licensed_api,
        {"csrf_token": token, "email": ADMIN_EMAIL, "password": PASSWORD, "next": "/runners"},
        cookie,
    )
    assert res.status_code == 303 and res.headers["location"] == "/runners"
    session = res.cookies["exekra_session"]
    assert session.http_only and session.same_site == "Strict" and session.path == "/"
    page = Browser(licensed_api, session.value).get("/runners")
    assert page.status_code == 200 and "runner-busy" in page.text
    entry = AuditLog.select().where(AuditLog.action == "auth.login").order_by(AuditLog.id.desc())
    assert entry.first().details == {"via": "web"}


@pytest.mark.parametrize(
    "case", ["no_cookie", "no_field", "mismatch", "forged_signature", "wrong_password"]
)
def test_sign_in_refuses_bad_tokens_and_credentials(licensed_api: Api, case: str):
    token, cookie = signin_form(licensed_api)
    other, _ = signin_form(licensed_api)
    form = {"csrf_token": token, "email": ADMIN_EMAIL, "password": PASSWORD}
    send_cookie: str | None = cookie
    if case == "no_cookie":
        send_cookie = None
    elif case == "no_field":
        del form["csrf_token"]
    elif case == "mismatch":
        form["csrf_token"] = other
    elif case == "forged_signature":
        forged = token.split(".")[0] + "." + "0" * 64
        form["csrf_token"], send_cookie = forged, forged
    else:
        form["password"] = "wrong-password-123"
    res = post_signin(licensed_api, form, send_cookie)
    assert res.status_code == (401 if case == "wrong_password" else 403)
    assert "exekra_session" not in res.cookies
    assert "<form" in res.text and ("Wrong email" in res.text or "expired" in res.text)


def test_sign_in_redirect_stays_on_this_site(licensed_api: Api):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/api/users"):
        token, cookie = signin_form(licensed_api)
        res = post_signin(
            licensed_api,
            {"csrf_token": token, "email": ADMIN_EMAIL, "password": PASSWORD, "next": target},
            cookie,
        )
        assert res.status_code == 303 and res.headers["location"] == "/", target


def test_sign_in_is_rate_limited_per_account(licensed_api: Api):
    codes = []
    for _ in range(12):
        token, cookie = signin_form(licensed_api)
        form = {"csrf_token": token, "email": "op@acme.test", "password": "nope-nope-nope"}
        codes.append(post_signin(licensed_api, form, cookie).status_code)
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    # the right password does not get through while limited either
    token, cookie = signin_form(licensed_api)
    form = {"csrf_token": token, "email": "op@acme.test", "password": PASSWORD}
    res = post_signin(licensed_api, form, cookie)
    assert res.status_code == 429 and "Retry-After" in res.headers


def test_sign_in_rejects_other_encodings_and_huge_forms(licensed_api: Api):
    res = licensed_api.client.simulate_post(
        "/signin", json={"email": ADMIN_EMAIL}, headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 415
    res = licensed_api.client.simulate_post(
        "/signin",
        body="a=" + "x" * 20000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status_code == 413


def test_sign_out_needs_the_token_of_this_session(as_admin: Browser):
    client = as_admin.api.client
    cookies = {"exekra_session": as_admin.token}
    page = as_admin.get("/")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    bad = client.simulate_post("/signout", body="token=abc", headers=form, cookies=cookies)
    assert bad.status_code == 403 and "exekra_session" not in bad.cookies
    no_cookie = client.simulate_post("/signout", body=f"token={token}", headers=form)
    assert no_cookie.status_code == 403
    ok = client.simulate_post("/signout", body=f"token={token}", headers=form, cookies=cookies)
    assert ok.status_code == 303 and ok.headers["location"] == "/signin"
    assert ok.cookies["exekra_session"].value == ""


@pytest.mark.parametrize("path", ALL_PAGES)
def test_every_page_has_strict_headers_and_no_inline_script(as_admin: Browser, path: str):
    res = as_admin.get(path)
    assert res.status_code == 200, res.text
    assert res.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["referrer-policy"] == "no-referrer"
    assert res.headers["cache-control"] == "no-store"
    assert res.headers["content-type"].startswith("text/html")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", res.text, re.S)
    assert scripts == [(' src="/static/refresh.js" defer', "")]
    assert " style=" not in res.text and "<style" not in res.text
    assert not re.search(r"\son[a-z]+=", res.text)
    forms = re.findall(r"<form[^>]*>", res.text)
    assert forms == ['<form method="post" action="/signout">']


def test_pages_are_get_only(as_admin: Browser):
    routes = [p for p, _ in PAGES]
    assert all(not hasattr(page, "on_post") for _, page in PAGES)
    client = as_admin.api.client
    for path in ALL_PAGES:
        res = client.simulate_post(path, cookies={"exekra_session": as_admin.token})
        assert res.status_code == 405, path
    assert "/signin" not in routes


def test_dashboard_counts_chart_and_runners(as_admin: Browser, seeded: dict[str, Any]):
    html = as_admin.get("/").text
    for status, n in {"COMPLETED": 1, "FAILED": 1, "RUNNING": 1, "QUEUED": 1, "STOPPED": 0}.items():
        assert f'data-count="{status}">{n}<' in html
    assert 'data-runners="BUSY">1<' in html and 'data-runners="OFFLINE">1<' in html
    values = [int(v) for v in re.findall(r'class="bar" data-hour="[^"]+" data-value="(\d+)"', html)]
    assert len(values) == 24 and sum(values) == 4
    assert values[-1] >= 1 and values[-1] + values[-2] >= 2  # queued now, running 6 min ago
    assert 'data-refresh="5"' in html  # something is running


def test_workflow_page_draws_the_published_graph(as_admin: Browser, seeded: dict[str, Any]):
    html = as_admin.get(f"/workflows/{seeded['order']}").text
    nodes = re.findall(r'class="node[^"]*" data-node="([^"]+)"', html)
    assert nodes == ["read", "check", "save", "warn", "done"]
    edges = re.findall(r'data-from="([^"]+)" data-to="([^"]+)"', html)
    assert ("check", "save") in edges and len(edges) == 4
    assert ">true</text>" in html and ">false</text>" in html
    assert 'data-version="2"' in html and 'data-version="1" class="current"' in html
    draft = as_admin.get(f"/workflows/{seeded['order']}?version=2").text
    assert "Graph of v2" in draft and "draft" in draft and "data-from" not in draft
    assert as_admin.get(f"/workflows/{seeded['order']}?version=9").status_code == 404
    assert as_admin.get(f"/workflows/{seeded['order']}?version=x").status_code == 400
    missing = as_admin.get("/workflows/999999")
    assert missing.status_code == 404 and "There is no workflow" in missing.text


def test_execution_detail_shows_logs_metrics_error_and_failing_node(
    as_admin: Browser, seeded: dict[str, Any]
):
    html = as_admin.get(f"/executions/{seeded['executions']['failed']}").text
    assert "permission denied: out.txt" in html
    assert "<code data-failed-node>save</code>" in html
    assert 'class="node failed" data-node="save"' in html
    assert 'data-metric="cpu_peak">9.0 %' in html and 'data-metric="mem_peak_mb">90.0 MB' in html
    assert "order has &lt;b&gt;odd&lt;/b&gt; characters" in html
    assert 'data-refresh="0"' in html
    running = as_admin.get(f"/executions/{seeded['executions']['running']}").text
    assert 'data-refresh="5"' in running
    queued_id = seeded["executions"]["queued"]
    queued = as_admin.get(f"/executions/{queued_id}").text
    reason = as_admin.api.get(f"/api/executions/{queued_id}", as_="ADMIN").json["pending_reason"]
    assert reason["code"] == "no_runner_with_labels"
    assert (
        f'data-pending="no_runner_with_labels">Waiting: {html_escape(reason["message"])}' in queued
    )
    assert as_admin.get("/executions/999999").status_code == 404


def test_execution_list_filters(as_admin: Browser, seeded: dict[str, Any]):
    def ids(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'data-execution="(\d+)"', html)]

    every = ids(as_admin.get("/executions").text)
    assert every == sorted(seeded["executions"].values(), reverse=True)
    assert ids(as_admin.get("/executions?status=FAILED").text) == [seeded["executions"]["failed"]]
    mine = ids(as_admin.get(f"/executions?workflow_id={seeded['xss']}").text)
    assert mine == [seeded["executions"]["queued"]]
    busy = ids(as_admin.get(f"/executions?runner_id={seeded['runners']['busy']}").text)
    assert busy == [seeded["executions"]["running"]]
    assert as_admin.get("/executions?status=BOGUS").status_code == 400
    assert as_admin.get("/executions?offset=-1").status_code == 400
    assert ids(as_admin.get("/executions?offset=3").text) == [min(every)]


def test_runners_page_has_sparklines(as_admin: Browser, seeded: dict[str, Any]):
    html = as_admin.get("/runners").text
    busy = html.split(f'data-runner="{seeded["runners"]["busy"]}"')[1].split("</tr>")[0]
    lines = re.findall(r'<polyline points="([^"]+)"', busy)
    assert len(lines) == 2
    cpu = [tuple(map(float, p.split(","))) for p in lines[0].split()]
    assert len(cpu) == 10 and cpu[0][1] > cpu[-1][1]  # CPU climbed: the line goes up
    assert "82.0 %" in busy and "windows" in busy
    idle = html.split(f'data-runner="{seeded["runners"]["idle"]}"')[1].split("</tr>")[0]
    assert "no data" in idle and "3 h 0 min ago" in idle


def test_triggers_page_shows_next_run_and_webhook_url_without_secret(
    as_admin: Browser, seeded: dict[str, Any]
):
    html = as_admin.get("/triggers").text
    assert "<code>0 2 * * *</code>" in html and "Europe/Paris" in html and "in 4 h 59 min" in html
    assert "/api/triggers/webhook/wh_3f9a1c0d2b</code>" in html and "HMAC-signed" in html
    assert "SEALED-SECRET" not in html


def test_audit_page_matches_the_api(as_admin: Browser, licensed_api: Api):
    html = as_admin.get("/audit").text
    api_items = licensed_api.get("/api/audit", as_="ADMIN").json["items"]
    shown = [int(i) for i in re.findall(r'data-audit="(\d+)"', html)]
    assert shown == [item["id"] for item in api_items][: len(shown)] and shown
    one = as_admin.get("/audit?action=user.create").text
    assert len(re.findall(r'data-audit="', one)) == sum(
        1 for i in api_items if i["action"] == "user.create"
    )


@pytest.mark.parametrize("role", ["OPERATOR", "DEVELOPER"])
def test_only_admins_reach_admin_pages(licensed_api: Api, seeded: dict[str, Any], role: str):
    as_role = Browser(licensed_api, licensed_api.tokens[role])
    for path in ("/audit", "/users", "/audit?action=auth.login"):
        res = as_role.get(path)
        assert res.status_code == 403
        assert f"needs the ADMIN role; you are {role}" in res.text
        assert "data-audit" not in res.text and "data-user" not in res.text
        assert res.headers["content-security-policy"] == CSP
    home = as_role.get("/").text
    assert 'href="/audit"' not in home and 'href="/users"' not in home
    for path in ("/", "/workflows", "/executions", "/runners", "/triggers"):
        assert as_role.get(path).status_code == 200


def test_names_are_escaped(as_admin: Browser, seeded: dict[str, Any]):
    for path in ("/", "/workflows", f"/workflows/{seeded['xss']}", "/executions"):
        html = as_admin.get(path).text
        assert XSS_NAME not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    graph = as_admin.get(f"/workflows/{seeded['xss']}").text
    assert "<b>x</b>" not in graph and 'data-node="&lt;b&gt;x&lt;/b&gt;"' in graph


def test_license_banner_follows_the_license(as_admin: Browser, licensed_api: Api):
    assert "banner-" not in as_admin.get("/").text
    License.delete().execute()
    licensed_api.client.app.hub.license.invalidate_cache()
    html = as_admin.get("/").text
    assert "banner-unlicensed" in html and "No license is active" in html


def test_static_files_are_served(licensed_api: Api):
    css = licensed_api.client.simulate_get("/static/style.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    js = licensed_api.client.simulate_get("/static/refresh.js")
    assert js.status_code == 200 and "data-refresh" in js.text
    assert licensed_api.client.simulate_get("/static/../app.py").status_code == 404


@pytest.mark.usefixtures("seeded")
def test_web_routes_stay_out_of_the_api_table(licensed_api: Api):
    app = licensed_api.client.app
    assert not [p for p, _r, _s in app.routes.table if not p.startswith("/api")]
    assert Execution.select().count() == 4  # seeded, and nothing above changed it


def test_unknown_pages_get_an_html_404_and_the_api_keeps_json(as_admin: Browser):
    res = as_admin.get("/no/such/page")
    assert res.status_code == 404 and "There is no page at /no/such/page" in res.text
    assert res.headers["content-security-policy"] == CSP and "Ada Admin" in res.text
    api = as_admin.api.client.simulate_get("/api/no-such-thing")
    assert api.status_code == 404 and api.json["code"] == "not_found"
    assert as_admin.api.client.simulate_get("/static/nope.css").status_code == 404


def test_sign_in_page_explains_the_first_run(api: Api):
    res = api.client.simulate_get("/signin")
    assert res.status_code == 200 and "data-first-run" in res.text


def test_long_logs_show_their_tail(as_admin: Browser, seeded: dict[str, Any]):
    from hub.models import ExecutionLog, utcnow
    from hub.web.queries import LOG_LIMIT

    running = seeded["executions"]["running"]
    ExecutionLog.insert_many(
        [
            {"execution": running, "seq": 100 + i, "at": utcnow(), "message": f"step {i}"}
            for i in range(LOG_LIMIT + 5)
        ]
    ).execute()
    html = as_admin.get(f"/executions/{running}").text
    assert f"Showing the last {LOG_LIMIT} of {LOG_LIMIT + 8} lines." in html
    assert f">step {LOG_LIMIT + 4}</td>" in html and ">step 4</td>" not in html
    assert ">step 5</td>" in html
