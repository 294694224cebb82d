"""Property-based fuzzing of every hub REST operation from the hub's own OpenAPI document.

The document (``GET /api/openapi.json``) is generated from the same msgspec Structs that validate
requests (hub/api.py), so schemathesis can derive both valid requests and requests that break
the declared schema from it. For every operation, on a fresh in-process hub (SQLite; the other
hub tests cover PostgreSQL) with a license, users of every role and one object of each kind
(published workflow with a draft, runner with a token, execution, schedule and webhook
triggers, credential), we send a bounded number of generated requests — about half of them with
the ids of those real objects so that the fuzzer reaches past the 404 — and check:

* never a 5xx (``not_a_server_error``);
* input that breaks the documented schema is refused with a 4xx (``negative_data_rejection``);
* every status is one the document declares for the operation, and a response matches the
  schema and content type documented for its status;
* every 4xx answer is a JSON error body ``{"title", "code", ...}`` with a non-empty ``code``.

User operations are called with the ADMIN token (every role check passes, so the fuzzer reaches
the validation and the service underneath), runner operations with a runner token. Nothing is
excluded: each operation gets its own hub, so an example that changes what later examples see
(a DELETE, a regenerated runner secret, a PATCH that disables a user) only affects the remaining
examples of that same operation, which must still answer cleanly. (POST /api/auth/logout only
clears the session cookie — bearer tokens stay valid until they expire — and the admin cannot
delete, demote or disable itself: 409 ``self_lockout``.)

Further down: junk, forged and foreign credentials (left out of the schema fuzzing), any bytes
as a body of every operation that takes one, and regression tests for what the fuzzing found.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hub.test_runners_support import GRAPH, online_runner, published_workflow, run
from tests.support import Api

#: examples per operation (about half of them with real ids); EXEKRA_FUZZ_EXAMPLES=500 for a
#: deeper local run, which is also randomised (by default the examples are the same every run,
#: so that CI does not fail on a different day for the same code)
MAX_EXAMPLES = int(os.environ.get("EXEKRA_FUZZ_EXAMPLES", "20"))
DERANDOMIZE = "EXEKRA_FUZZ_EXAMPLES" not in os.environ
#: EXEKRA_FUZZ_STATS=<file> appends "operation<TAB>status<TAB>real ids?" per request, to measure
#: how far the fuzzer gets (e.g. how many requests reach a 2xx)
STATS_FILE = os.environ.get("EXEKRA_FUZZ_STATS", "")
#: the schema fuzzing runs on SQLite (the other hub tests cover PostgreSQL); EXEKRA_FUZZ_DB=postgres
#: runs it on PostgreSQL instead
FUZZ_DB = os.environ.get("EXEKRA_FUZZ_DB", "sqlite")


def _operation_labels() -> list[str]:
    """Every operation of the document, read from a throwaway hub at collection time."""
    from hub.api import openapi_document
    from hub.app import create_app
    from hub.config import load_settings

    with tempfile.TemporaryDirectory(prefix="exekra-fuzz-") as tmp:
        settings_ = load_settings(f"{tmp}/data", database_url=f"sqlite:///{tmp}/hub.db")
        app = create_app(settings_)
        try:
            doc = openapi_document(app.routes, version=app.hub.version)
        finally:
            app.hub.database.close()
    return [f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops]


OPERATIONS = _operation_labels()


@dataclass
class Seeded:
    """Ids of real objects, by path parameter name, and the tokens to call with."""

    admin_token: str
    runner_token: str
    ids: dict[str, list[Any]] = field(default_factory=dict)


def _seed(api: Api) -> Seeded:
    wf = published_workflow(api, "Fuzz target")
    res = api.post(
        f"/api/workflows/{wf}/versions", {"graph": GRAPH, "comment": "draft"}, as_="DEVELOPER"
    )
    assert res.status_code == 201, res.text
    runner, runner_token = online_runner(api, "fuzz-runner")
    execution = run(api, wf)
    res = api.get("/api/runner/poll", token=runner_token)
    assert res.status_code == 200, res.text  # the execution is now assigned to the runner
    triggers = []
    for body in (
        {"workflow_id": wf, "type": "SCHEDULE", "cron": "0 9 * * 1-5", "timezone": "UTC"},
        {"workflow_id": wf, "type": "WEBHOOK", "name": "hook"},
    ):
        res = api.post("/api/triggers", body, as_="DEVELOPER")
        assert res.status_code == 201, res.text
        triggers.append(res.json)
    credential_body = {"name": "erp-login", "secret": "s3cret", "username": "bot"}
    res = api.post("/api/credentials", credential_body, as_="ADMIN")
    assert res.status_code == 201, res.text
    credential = res.json
    res = api.request(  # an artifact and a selector repair of the assigned execution
        "POST",
        f"/api/runner/executions/{execution['id']}/artifacts",
        token=runner_token,
        body=b"\x89PNG\r\n\x1a\n",
        params={"attempt": 1, "name": "shot.png", "kind": "screenshot", "node_id": "hello"},
        headers={"Content-Type": "image/png"},
    )
    assert res.status_code == 201, res.text
    artifact = res.json
    repair = {"attempt": 1, "node_id": "hello", "param": "message", "new": {"selector": "#a"}}
    res = api.post(
        f"/api/runner/executions/{execution['id']}/repairs",
        {**repair, "score": 0.9},
        token=runner_token,
    )
    assert res.status_code == 201, res.text
    return Seeded(
        admin_token=api.tokens["ADMIN"],
        runner_token=runner_token,
        ids={
            "workflow_id": [wf],
            "number": [1, 2],
            "other": [1, 2],
            "runner_id": [runner["id"]],
            "execution_id": [execution["id"]],
            "trigger_id": [t["id"] for t in triggers],
            "credential_id": [credential["id"]],
            "artifact_id": [artifact["id"]],
            "user_id": [u["id"] for u in api.users.values()],
            # the public webhook path takes the random webhook id, not the trigger's int id
            "webhook": [triggers[1]["webhook_id"]],
        },
    )


def _error_body_carries_code(ctx: Any, response: Any, case: Any) -> None:
    """A 4xx answer is a JSON error body with a title and a non-empty string ``code``."""
    if not 400 <= response.status_code < 500:
        return
    ctype = response.headers.get("content-type", [""])
    ctype = ctype[0] if isinstance(ctype, list) else ctype
    assert ctype.startswith("application/json"), (
        f"{response.status_code} answer is {ctype!r}, not a JSON error body"
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"], (
        f"{response.status_code} error body has no code: {body!r}"
    )
    assert isinstance(body.get("title"), str) and body["title"], body


CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    _error_body_carries_code,
]


# one database for the fuzzing itself: it is about input handling, not the database engine
@pytest.mark.parametrize("db_url", [FUZZ_DB], indirect=True)
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_answers_bad_input_with_a_clear_4xx(label: str, licensed_api: Api) -> None:
    api = licensed_api
    seeded = _seed(api)
    app = api.client.app
    res = api.get("/api/openapi.json")
    assert res.status_code == 200, res.text
    doc = res.json
    # Credentials are not the input under test: every call carries a valid token (who may call
    # what is covered by the role tests), so schemathesis must not generate or mutate
    # Authorization headers and session cookies of its own.
    for ops in doc["paths"].values():
        for op in ops.values():
            op.pop("security", None)
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = app
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    runner_side = path.startswith("/api/runner/")
    token = seeded.runner_token if runner_side else seeded.admin_token
    pool = dict(seeded.ids)
    if path.startswith("/api/triggers/webhook/"):
        pool["trigger_id"] = seeded.ids["webhook"]
    names = [p.name for p in operation.path_parameters if p.name in pool]
    real_ids = st.fixed_dictionaries({name: st.sampled_from(pool[name]) for name in names})
    # plausible values for body fields the hub looks up or parses, so that the fuzzer gets past
    # "no such workflow" and into the services (state machine, scheduler, user rules)
    plausible = {
        "workflow_id": seeded.ids["workflow_id"],
        "runner_id": seeded.ids["runner_id"],
        "attempt": [1],
        "type": ["SCHEDULE", "WEBHOOK", "MANUAL", "schedule"],
        "cron": ["*/5 * * * *", "0 9 * * 1-5", "0 2 * * *"],
        "timezone": ["UTC", "Europe/Berlin", "America/New_York"],
        "status": ["RUNNING", "COMPLETED", "FAILED", "STOPPED", "ASSIGNED"],
        "role": ["ADMIN", "DEVELOPER", "OPERATOR"],
        "email": ["new.user@acme.test", "admin@acme.test"],
        "password": ["correct-horse-battery", "another-long-passphrase"],
        "version": [1, 2],
    }
    body_values = st.fixed_dictionaries(
        {}, optional={key: st.sampled_from(values) for key, values in plausible.items()}
    )
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, ids=st.none() | real_ids, values=st.none() | body_values)
    def fuzz(case: Any, ids: dict[str, Any] | None, values: dict[str, Any] | None) -> None:
        if ids:
            case.path_parameters = {**(case.path_parameters or {}), **ids}
        if values and isinstance(case.body, dict):
            case.body = {**case.body, **{k: v for k, v in values.items() if k in case.body}}
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        statuses.append(response.status_code)
        if STATS_FILE:
            with open(STATS_FILE, "a") as fh:
                fh.write(f"{label}\t{response.status_code}\t{bool(ids)}\n")
        case.validate_response(response, checks=CHECKS)

    statuses: list[int] = []
    fuzz()
    # the token worked: the fuzzer got past authentication to the input handling
    assert statuses and set(statuses) != {401}, statuses


def test_execution_list_names_the_workflow(licensed_api: Api) -> None:
    """Found by the fuzzer: the list answered ``workflow_id: null`` (schema: integer) and no
    workflow name, because the joined select built a Workflow without its id."""
    api = licensed_api
    wf = published_workflow(api, "Named")
    execution = run(api, wf)
    res = api.get("/api/executions", as_="OPERATOR")
    assert res.status_code == 200, res.text
    (item,) = res.json["items"]
    assert item["id"] == execution["id"]
    assert item["workflow_id"] == wf and item["workflow_name"] == "Named"


def test_integers_beyond_64_bits_are_refused_not_a_500(licensed_api: Api) -> None:
    """Found by the fuzzer: a huge id in the path, a query or a body reached the database driver
    (SQLite: OverflowError; PostgreSQL: integer out of range) and answered 500."""
    api = licensed_api
    wf = published_workflow(api, "Ranges")
    runner, token = online_runner(api, "range-runner")
    execution = run(api, wf, inputs={"order": 10**30})  # free-form data: any JSON number
    assert execution["inputs"] == {"order": 10**30}
    assert api.get("/api/runner/poll", token=token).status_code == 200
    huge = 2**63
    for path in (f"/api/executions/{huge}", f"/api/workflows/{wf}/versions/{huge}"):
        res = api.get(path, as_="ADMIN")
        assert res.status_code == 404 and res.json["code"] == "not_found", res.text
    res = api.get(f"/api/executions/{execution['id']}/logs", params={"after": huge}, as_="ADMIN")
    assert res.status_code == 400 and "query parameter after" in res.json["description"], res.text
    res = api.get("/api/executions", params={"offset": huge}, as_="ADMIN")
    assert res.status_code == 400, res.text
    before = api.get("/api/triggers", as_="ADMIN").json["total"]
    res = api.post("/api/triggers", {"workflow_id": huge, "type": "WEBHOOK"}, as_="DEVELOPER")
    assert res.status_code == 400 and "$.workflow_id" in res.json["description"], res.text
    assert api.get("/api/triggers", as_="ADMIN").json["total"] == before
    batch = {"attempt": 1, "logs": [{"seq": 0, "message": "ok"}, {"seq": huge, "message": "x"}]}
    res = api.post(f"/api/runner/executions/{execution['id']}/logs", batch, token=token)
    assert res.status_code == 400 and "$.logs[1].seq" in res.json["description"], res.text
    # found by fuzzing on PostgreSQL: seq is an INTEGER column there (32-bit)
    batch = {"attempt": 1, "logs": [{"seq": 2**31, "message": "x"}]}
    res = api.post(f"/api/runner/executions/{execution['id']}/logs", batch, token=token)
    assert res.status_code == 400 and "$.logs[0].seq" in res.json["description"], res.text
    res = api.get(f"/api/executions/{execution['id']}/logs", as_="ADMIN")
    assert res.status_code == 200 and res.json["items"] == [], res.text
    # the largest 64-bit id is just an id that does not exist
    res = api.get(f"/api/executions/{huge - 1}", as_="ADMIN")
    assert res.status_code == 404, res.text


def test_query_integers_are_whole_numbers_given_once(licensed_api: Api) -> None:
    """Found by the fuzzer: ``?user_id=0.0`` was read as 0 and ``?limit=1e2`` as 100 (msgspec's
    lax mode), and a repeated parameter silently meant its last value."""
    api = licensed_api
    for query in ("user_id=0.0", "limit=1e2", "limit=5&limit=6", "offset=", "user_id=%2B1"):
        res = api.client.simulate_get(
            "/api/audit",
            query_string=query,
            headers={"Authorization": f"Bearer {api.tokens['ADMIN']}"},
        )
        assert res.status_code == 400 and res.json["code"] == "invalid_input", (query, res.text)
    res = api.get("/api/audit", params={"limit": "2", "offset": "-0"}, as_="ADMIN")
    assert res.status_code == 200 and len(res.json["items"]) == 2, res.text
    res = api.get("/api/executions", params={"workflow_id": "-3"}, as_="ADMIN")
    assert res.status_code == 200 and res.json["total"] == 0, res.text


_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_any_bad_credential_is_a_401_with_a_code(licensed_api: Api, hub_app: Any) -> None:
    """Credentials were left out of the schema fuzzing above; here they are the input: junk
    headers and cookies, forged, foreign, expired and mis-typed JWTs on user and runner
    operations are a 401 ``not_authenticated``/``invalid_token``, never a 500 and never in."""
    import datetime as dt

    import jwt

    api = licensed_api
    _, runner_token = online_runner(api, "auth-fuzz")
    user_token = api.tokens["ADMIN"]
    secret = hub_app.hub.settings.jwt_secret()
    now = int(dt.datetime.now(dt.UTC).timestamp())

    def signed(key: str, **over: Any) -> str:
        claims = {"iss": "exekra-hub", "aud": "exekra-user", "sub": "1", "typ": "user"}
        claims |= {"iat": now, "exp": now + 3600, "ver": 0, **over}
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, key)

    forged = st.sampled_from(
        [
            signed("not-the-hub-secret-but-long-enough-for-hs256"),
            signed(secret, exp=now - 10),  # expired
            signed(secret, aud="someone-else"),
            signed(secret, iss=None),
            signed(secret, typ="runner"),
            signed(secret, sub="admin"),
            jwt.encode({"sub": "1", "exp": now + 60}, None, algorithm="none"),
            user_token[:-2] + ("AA" if not user_token.endswith("AA") else "BB"),
            user_token + ".x",
        ]
    )
    schemes = st.sampled_from(["Bearer ", "bearer ", "Basic ", "", "Bearer  ", "Token "])
    header = st.one_of(_HEADER_TEXT, st.builds(lambda s, t: s + t, schemes, _HEADER_TEXT | forged))
    targets = [
        ("GET", "/api/auth/me", runner_token),  # a runner token is not a user token
        ("GET", "/api/users", runner_token),
        ("POST", "/api/runner/heartbeat", user_token),  # and vice versa
        ("GET", "/api/runner/poll", user_token),
    ]

    @settings(max_examples=MAX_EXAMPLES * 3, deadline=None, database=None, derandomize=DERANDOMIZE)
    @given(
        target=st.sampled_from(targets),
        authorization=st.none() | header,
        cookie=st.none() | _HEADER_TEXT | forged,
        foreign=st.booleans(),
    )
    def check(
        target: tuple[str, str, str], authorization: str | None, cookie: str | None, foreign: bool
    ) -> None:
        method, path, other_kind = target
        headers = {}
        if foreign:
            headers["Authorization"] = f"Bearer {other_kind}"
        elif authorization is not None:
            headers["Authorization"] = authorization
        if cookie is not None:
            headers["Cookie"] = f"exekra_session={cookie}"
        body = "{}" if method == "POST" else None
        res = api.client.simulate_request(method, path, headers=headers, body=body)
        assert res.status_code == 401, (headers, res.status_code, res.text)
        assert res.json["code"] in ("not_authenticated", "invalid_token"), res.text

    check()
    # the real tokens still work after all that
    assert api.get("/api/auth/me", as_="ADMIN").status_code == 200
    assert api.post("/api/runner/heartbeat", {"cpu": 1}, token=runner_token).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_junk_bodies_are_a_4xx_on_every_operation_with_a_body(licensed_api: Api) -> None:
    """Schemathesis sends bodies of the documented media type; here any bytes (not UTF-8, not
    JSON, truncated JSON, deep nesting) under any content type go to every operation that
    takes a body, on real objects: a 4xx JSON error with a code, never a 5xx."""
    api = licensed_api
    seeded = _seed(api)
    doc = api.get("/api/openapi.json").json
    targets = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "requestBody" not in op:
                continue
            ids = {**seeded.ids, "trigger_id": seeded.ids["trigger_id"]}
            if path.startswith("/api/triggers/webhook/"):
                ids["trigger_id"] = seeded.ids["webhook"]
            url = path
            for name, values in ids.items():
                url = url.replace("{" + name + "}", str(values[0]))
            token = seeded.runner_token if path.startswith("/api/runner/") else seeded.admin_token
            targets.append((method.upper(), url, token))
    assert len(targets) >= 20, targets
    junk = st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(str.encode),
        st.sampled_from(
            [
                b"\xff\xfe{}",
                b'{"a": ',
                b"[" * 5000 + b"]" * 5000,
                b'{"name": "\xed\xa0\x80"}',
                b"null",
                b"[]",
                b'"text"',
                b"1e999",
                b'{"graph": {"nodes": [[]]}}',
            ]
        ),
    )
    content_types = st.sampled_from(
        ["application/json", "text/plain", "application/octet-stream", "multipart/form-data", ""]
    )

    seen = []

    def send(target: tuple[str, str, str], body: bytes, content_type: str) -> None:
        method, url, token = target
        headers = {"Authorization": f"Bearer {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        res = api.client.simulate_request(method, url, headers=headers, body=body)
        seen.append(target)
        if 200 <= res.status_code < 300:
            return  # some junk is valid (e.g. `[]` is no body for an optional one)
        assert 400 <= res.status_code < 500, (method, url, body[:200], res.status_code, res.text)
        assert res.headers["content-type"].startswith("application/json"), res.headers
        assert res.json["code"], res.text

    @settings(max_examples=MAX_EXAMPLES * 2, deadline=None, database=None, derandomize=DERANDOMIZE)
    @given(body=junk, content_type=content_types)
    def check(target: tuple[str, str, str], body: bytes, content_type: str) -> None:
        send(target, body, content_type)

    for target in targets:
        # found by this test: invalid UTF-8 inside a JSON string (msgspec raises
        # UnicodeDecodeError) and deep nesting (msgspec and json.loads raise RecursionError)
        # were a 500
        utf8 = [b'{"name": "\x80"}', b'{"inputs": {"k": "\x80"}}', b'{"version": "\x80"}']
        deep = b"[" * 5000 + b"]" * 5000
        nested = [b'{"inputs": {"k": %s}}' % deep, b'{"graph": {"variables": {"k": %s}}}' % deep]
        for body in [*utf8, *nested, b'{"inputs": ' + b"[" * 5000, b"[" * 5000]:
            send(target, body, "application/json")
        check(target)
    assert set(seen) == set(targets)


def test_nul_characters_are_refused_not_a_500(licensed_api: Api) -> None:
    """PostgreSQL refuses text with a NUL character (psycopg2 raises ValueError): in a typed body
    field, a query parameter or a path segment that was a 500 there; now a 400/404 on both
    databases. Free-form JSON (inputs) stores it escaped and keeps it."""
    api = licensed_api
    wf = published_workflow(api, "Nul")
    bad = [
        ("PATCH", f"/api/workflows/{wf}", {"description": "d\x00"}, None, "$.description"),
        ("POST", "/api/runners", {"name": "r\x00"}, None, "$.name"),
        ("POST", "/api/auth/login", {"email": "a\x00@x.test", "password": "x"}, None, "$.email"),
        ("GET", "/api/users", None, {"q": "a\x00"}, "query parameter q"),
        ("GET", "/api/audit", None, {"action": "a\x00"}, "query parameter action"),
    ]
    for method, path, body, params, where in bad:
        res = api.request(method, path, body, params=params, as_="ADMIN")
        assert res.status_code == 400, (path, res.text)
        assert where in res.json["description"] and "NUL" in res.json["description"], res.text
    assert api.get(f"/api/workflows/{wf}", as_="ADMIN").json["description"] == ""
    assert api.get("/api/runners", as_="ADMIN").json["total"] == 0
    res = api.post("/api/triggers/webhook/ab%00cd", {})
    assert res.status_code == 404 and res.json["code"] == "not_found", res.text
    execution = run(api, wf, inputs={"a": "x\x00y"})
    res = api.get(f"/api/executions/{execution['id']}", as_="ADMIN")
    assert res.json["inputs"] == {"a": "x\x00y"}, res.text


def test_heartbeat_percentages_are_percentages(licensed_api: Api) -> None:
    """Found by fuzzing on PostgreSQL: ``cpu: 1e300`` and ``5e-324`` are out of range for the REAL
    column (a 500)."""
    api = licensed_api
    _, token = online_runner(api, "percent")
    for body in ({"cpu": 1e300}, {"memory": 100.5}, {"disk": -1}):
        res = api.post("/api/runner/heartbeat", body, token=token)
        assert res.status_code == 400 and res.json["code"] == "invalid_input", res.text
    res = api.post("/api/runner/heartbeat", {"cpu": 100, "memory": 0, "disk": 99.9}, token=token)
    assert res.status_code == 200, res.text
    # and below REAL's smallest normal number: stored as 0 (two decimals), not a 500
    res = api.post("/api/runner/heartbeat", {"cpu": 5e-324, "memory": 1e-40}, token=token)
    assert res.status_code == 200, res.text
    (runner,) = api.get("/api/runners", as_="ADMIN").json["items"]
    assert runner["metrics"]["cpu"] == 0 and runner["metrics"]["memory"] == 0, runner


# -- the web view's routes (issue 17 item 12) -------------------------------------------------
_WEB_QUERY_KEYS = ("status", "workflow_id", "runner_id", "offset", "action", "next", "q", "page")
_WEB_VALUES = st.one_of(
    st.sampled_from(
        ["", "0", "-1", "1", "2", str(2**63 - 1), str(2**63), "9" * 30, "1e3", "0.5", "%00"]
        + ["a\x00b", "\x00", "QUEUED", "FAILED", "RUNNING", "auth.login", "/runners", "//evil"]
    ),
    st.text(max_size=40),
)


def _web_routes() -> list[str]:
    from hub.web import PAGES

    return [path for path, _ in PAGES] + ["/signin", "/signout"]


def test_web_view_pages_answer_any_request_without_a_5xx(licensed_api: Api) -> None:
    """Found by fuzzing: web view pages with huge ids, huge offsets or NUL in filters were a
    500 (the database drivers refuse such values) on SQLite and PostgreSQL. Every route of the
    web view, signed in as ADMIN, gets generated path ids and query strings: never a 5xx, and
    what is refused is a 4xx page."""
    import urllib.parse

    api = licensed_api
    seeded = _seed(api)
    cookies = {"exekra_session": seeded.admin_token}
    routes = _web_routes()
    ids = st.one_of(
        st.sampled_from(
            [0, 1, 2**31, 2**63 - 1, 2**63, 10**30, *seeded.ids["workflow_id"]]
            + seeded.ids["execution_id"]
        ),
        st.integers(min_value=0, max_value=10**25),
    )

    @settings(max_examples=MAX_EXAMPLES * 4, deadline=None, database=None, derandomize=DERANDOMIZE)
    @given(
        route=st.sampled_from(routes),
        path_id=ids,
        query=st.dictionaries(st.sampled_from(_WEB_QUERY_KEYS), _WEB_VALUES, max_size=3),
    )
    def check(route: str, path_id: int, query: dict[str, str]) -> None:
        path = route.replace("{workflow_id:int}", str(path_id))
        path = path.replace("{execution_id:int}", str(path_id))
        qs = urllib.parse.urlencode(query).replace("%2500", "%00")
        res = api.client.simulate_get(path, query_string=qs or None, cookies=cookies)
        assert res.status_code < 500, (path, qs, res.status_code, res.text[:300])

    check()
    # the regressions themselves, on every page that has them
    for path, qs in [
        ("/workflows/99999999999999999999", None),
        (f"/executions/{2**63}", None),
        ("/executions", "offset=99999999999999999999"),
        ("/audit", "offset=999999999999999999999"),
        ("/executions", "workflow_id=99999999999999999999"),
        ("/audit", "action=%00"),
        ("/executions", "status=%00"),
        ("/runners", "status=a%00"),
    ]:
        res = api.client.simulate_get(path, query_string=qs, cookies=cookies)
        assert 400 <= res.status_code < 500, (path, qs, res.status_code)
    for route in routes:  # every route at least once, whatever the examples drew
        for path_id in (2**63, 10**30):
            path = route.replace("{workflow_id:int}", str(path_id))
            path = path.replace("{execution_id:int}", str(path_id))
            res = api.client.simulate_get(path, query_string="offset=1e99&q=%00", cookies=cookies)
            assert res.status_code < 500, (path, res.status_code)


def test_cron_preview_at_the_ends_of_the_calendar(licensed_api: Api) -> None:
    """Found by fuzzing: ``after=9999-12-31T23:59:00Z`` and ``0001-01-01T00:00:00Z`` overflowed
    the date arithmetic (a 500). Now: the fire times that exist (none after the last minute of
    year 9999; the first minutes of year 1)."""
    api = licensed_api
    for after, expect in (
        ("9999-12-31T23:59:00Z", []),
        ("0001-01-01T00:00:00Z", ["0001-01-01T00:01:00.000Z", "0001-01-01T00:02:00.000Z"]),
    ):
        for tz in ("UTC", "Pacific/Kiritimati", "America/Adak"):
            res = api.get(
                "/api/triggers/preview",
                params={"cron": "* * * * *", "after": after, "count": "2", "timezone": tz},
                as_="DEVELOPER",
            )
            assert res.status_code == 200, (after, tz, res.text)
            if tz == "UTC":
                assert [i["at"] for i in res.json["items"]] == expect
