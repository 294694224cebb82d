"""Attack suite: CSRF through the API with the session cookie (issue 17 item 10).

``POST /api/users`` with the ADMIN's cookie, ``Content-Type: text/plain`` and a foreign Origin
created a user: only SameSite stood in the way. JSON endpoints now refuse other content types
(415), and cookie-authenticated unsafe requests must come from the hub's own origin. Bearer
clients are unaffected. (The web view's own forms are exercised by a real Chromium in
tests/web/test_browser.py, which signs in and out through them.)
"""

from __future__ import annotations

import json
import re

from hub.models import User
from tests.support import PASSWORD, Api

HOST = "falconframework.org"  # the Host header of Falcon's test client


def _new(email: str) -> str:
    return json.dumps({"email": email, "password": PASSWORD, "name": "M", "role": "ADMIN"})


def _cookie_post(api: Api, path: str, body: str, headers: dict[str, str]):
    return api.client.simulate_post(
        path, body=body, headers=headers, cookies={"exekra_session": api.tokens["ADMIN"]}
    )


def test_cookie_requests_from_other_origins_are_refused(licensed_api: Api) -> None:
    api = licensed_api
    attacks = [
        {"Content-Type": "text/plain", "Origin": "https://evil.test"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {"Content-Type": "application/json", "Origin": "https://evil.test"},
        {"Content-Type": "application/json", "Origin": "null"},
        {"Content-Type": "application/json", "Origin": f"http://{HOST}.evil.test"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"},
    ]
    for i, headers in enumerate(attacks):
        res = _cookie_post(api, "/api/users", _new(f"m{i}@evil.test"), headers)
        assert res.status_code in (403, 415), (headers, res.status_code, res.text)
        want = "unsupported_media_type" if res.status_code == 415 else "cross_origin"
        assert res.json["code"] == want
    # the other unsafe methods too
    me = api.users["OPERATOR"]["id"]
    res = api.client.simulate_patch(
        f"/api/users/{me}",
        body=json.dumps({"role": "ADMIN"}),
        headers={"Content-Type": "application/json", "Origin": "https://evil.test"},
        cookies={"exekra_session": api.tokens["ADMIN"]},
    )
    assert res.status_code == 403
    res = api.client.simulate_delete(
        f"/api/users/{me}",
        headers={"Sec-Fetch-Site": "cross-site"},
        cookies={"exekra_session": api.tokens["ADMIN"]},
    )
    assert res.status_code == 403
    assert User.select().where(User.email.contains("evil.test")).count() == 0
    assert User.get_by_id(me).role == "OPERATOR"


def test_same_origin_cookie_requests_and_bearer_clients_work(licensed_api: Api) -> None:
    api = licensed_api
    same = {
        "Content-Type": "application/json",
        "Origin": f"http://{HOST}",
        "Sec-Fetch-Site": "same-origin",
    }
    assert _cookie_post(api, "/api/users", _new("page@acme.test"), same).status_code == 201
    # a non-browser client with the cookie (no Origin, no Sec-Fetch-*) is not a CSRF
    plain = {"Content-Type": "application/json"}
    assert _cookie_post(api, "/api/users", _new("curl@acme.test"), plain).status_code == 201
    # bearer clients may send whatever Origin they like (no ambient credential)
    res = api.post(
        "/api/users",
        json.loads(_new("bearer@acme.test")),
        as_="ADMIN",
        headers={"Origin": "https://elsewhere.test", "Sec-Fetch-Site": "cross-site"},
    )
    assert res.status_code == 201, res.text
    # ...but still only JSON
    res = api.post(
        "/api/users",
        body=_new("text@acme.test"),
        as_="ADMIN",
        headers={"Content-Type": "text/plain"},
    )
    assert res.status_code == 415
    assert res.json["code"] == "unsupported_media_type"
    # JSON media types with a suffix, and a charset, are JSON
    for i, ctype in enumerate(("application/json; charset=utf-8", "application/merge+json")):
        res = api.post(
            "/api/users", body=_new(f"t{i}@acme.test"), as_="ADMIN", headers={"Content-Type": ctype}
        )
        assert res.status_code == 201, (ctype, res.text)


def test_webhooks_and_raw_json_endpoints_take_only_json(licensed_api: Api) -> None:
    from tests.hub.test_runners_support import published_workflow

    api = licensed_api
    wf = published_workflow(api)
    hook = api.post("/api/triggers", {"workflow_id": wf, "type": "WEBHOOK"}, as_="DEVELOPER")
    path = f"/api/triggers/webhook/{hook.json['webhook_id']}"
    res = api.post(path, body='{"a": 1}', headers={"Content-Type": "text/plain"})
    assert res.status_code == 415
    assert (
        api.post(path, body='{"a": 1}', headers={"Content-Type": "application/json"}).status_code
        == 202
    )


def test_the_web_views_own_forms_keep_working(licensed_api: Api) -> None:
    """Sign in and out through the forms with the headers a browser sends on its own pages."""
    api = licensed_api
    client = api.client
    page = client.simulate_get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    # what Chromium sends for a form on a page with "Referrer-Policy: no-referrer" (the hub's)
    browser = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": "null",
        "Sec-Fetch-Site": "same-origin",
    }
    res = client.simulate_post(
        "/signin",
        body=f"csrf_token={token}&email=admin%40acme.test&password={PASSWORD}&next=/",
        headers=browser,
        cookies={"exekra_csrf": page.cookies["exekra_csrf"].value},
    )
    assert res.status_code == 303, res.text
    session = res.cookies["exekra_session"].value
    home = client.simulate_get("/", cookies={"exekra_session": session})
    out = re.search(r'name="token" value="([^"]+)"', home.text).group(1)
    res = client.simulate_post(
        "/signout", body=f"token={out}", headers=browser, cookies={"exekra_session": session}
    )
    assert res.status_code == 303 and res.headers["location"] == "/signin"
    # an older browser (no Sec-Fetch-Site) posts the hub's forms with "Origin: null" too
    res = client.simulate_post(
        "/signout",
        body=f"token={out}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "null"},
        cookies={"exekra_session": session},
    )
    assert res.status_code == 303
    # the sign-out form posted from another site is refused
    res = client.simulate_post(
        "/signout",
        body=f"token={out}",
        headers={**browser, "Origin": "https://evil.test", "Sec-Fetch-Site": "cross-site"},
        cookies={"exekra_session": session},
    )
    assert res.status_code == 403
