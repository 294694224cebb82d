"""The execution page's artifacts: the failing node's screenshot beside the error (an <img>
from the artifact route, which the page's cookie session may read) and the download list, all
escaped, under the page's unchanged CSP. SQLite and PostgreSQL, in process."""

from __future__ import annotations

import os
import re

from hub.web.security import CSP
from tests.hub.test_artifacts import running, upload
from tests.support import Api
from tests.web.conftest import Browser

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
EVIL = "<b onmouseover=alert(1)>x.png"


def test_failing_node_screenshot_and_artifact_list(licensed_api: Api) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    earlier = upload(api, token, ex["id"], attempt, b"\x89PNG old", name="before.png")
    shot = upload(api, token, ex["id"], attempt, PNG, name="failure.png", node_id="submit")
    other = upload(api, token, ex["id"], attempt, PNG, name=EVIL, kind="file", node_id=None)
    html_art = upload(
        api, token, ex["id"], attempt, b"<h1>x</h1>", name="page.html", kind="html",
        content_type="text/html", node_id="submit",
    )  # fmt: skip
    assert all(r.status_code == 201 for r in (earlier, shot, other, html_art))
    res = api.post(
        f"/api/runner/executions/{ex['id']}/repairs",
        {"attempt": attempt, "node_id": "fill", "param": "value", "old": "#a",
         "new": {"selector": "<i>#b</i>"}, "score": 0.875},
        token=token,
    )  # fmt: skip
    assert res.status_code == 201
    res = api.post(
        f"/api/runner/executions/{ex['id']}/status",
        {"attempt": attempt, "status": "FAILED", "error": "no element", "failed_node": "submit"},
        token=token,
    )
    assert res.status_code == 200, res.text

    browser = Browser(api, api.tokens["OPERATOR"])
    page = browser.get(f"/executions/{ex['id']}")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    html = page.text
    url = f"/api/executions/{ex['id']}/artifacts/{shot.json['id']}"
    figure = re.search(r'<figure class="failure-shot" data-failure-shot="(\d+)">(.*?)</figure>',
                       html, re.S)  # fmt: skip
    assert figure and int(figure.group(1)) == shot.json["id"]
    assert f'<img src="{url}" alt="Screenshot of node submit when it failed"' in figure.group(2)
    assert 'class="failure with-shot"' in html
    # every artifact is listed with a download link; names are escaped
    rows = re.findall(r'<tr data-artifact="(\d+)">', html)
    assert [int(r) for r in rows] == [
        earlier.json["id"],
        shot.json["id"],
        other.json["id"],
        html_art.json["id"],
    ]
    assert "&lt;b onmouseover=alert(1)&gt;x.png" in html and "<b onmouseover" not in html
    assert "&lt;i&gt;#b&lt;/i&gt;" in html and "88 % alike" in html
    # the image route answers the page's cookie session, as an image the <img> can show
    img = browser.get(url)
    assert img.status_code == 200 and img.content == PNG
    assert img.headers["content-type"] == "image/png"
    assert img.headers["x-content-type-options"] == "nosniff"
    # the HTML snapshot downloads as bytes, never as a page
    snap = browser.get(f"/api/executions/{ex['id']}/artifacts/{html_art.json['id']}")
    assert snap.headers["content-type"] == "application/octet-stream"
    assert snap.headers["content-disposition"].startswith("attachment;")
    # signed out: neither the page nor the image
    assert Browser(api, None).get(url).status_code == 401


def test_no_screenshot_without_one_for_the_failing_node(licensed_api: Api) -> None:
    api = licensed_api
    ex, token, attempt = running(api)
    upload(api, token, ex["id"], attempt, PNG, name="elsewhere.png", node_id="fill")
    api.post(
        f"/api/runner/executions/{ex['id']}/status",
        {"attempt": attempt, "status": "FAILED", "error": "boom", "failed_node": "submit"},
        token=token,
    )
    html = Browser(api, api.tokens["OPERATOR"]).get(f"/executions/{ex['id']}").text
    assert "data-failure-shot" not in html and "elsewhere.png" in html
    ex2, token2, attempt2 = running(api, "r2")
    html = Browser(api, api.tokens["OPERATOR"]).get(f"/executions/{ex2['id']}").text
    assert 'id="artifacts-h"' in html and "No artifacts" not in html and "None." in html
