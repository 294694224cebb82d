"""The credential vault: encrypted at rest, write-only over the API, audited reads."""

from __future__ import annotations

from hub.models import Credential
from tests.hub.test_runners_support import (
    GRAPH_WITH_CREDENTIAL,
    online_runner,
    published_workflow,
    run,
)
from tests.support import Api

SECRET = "Pa55-word-that-must-not-leak"


def test_vault_is_write_only_and_encrypted(licensed_api: Api, hub_app) -> None:
    api = licensed_api
    res = api.post(
        "/api/credentials",
        {"name": "erp-login", "username": "robot", "secret": SECRET, "description": "ERP"},
        as_="DEVELOPER",
    )
    assert res.status_code == 201, res.text
    cid = res.json["id"]
    assert SECRET not in res.text and "secret" not in res.json
    row = Credential.get_by_id(cid)
    assert SECRET not in row.secret and SECRET.encode().hex() not in row.secret
    for path in ("/api/credentials", f"/api/credentials/{cid}"):
        got = api.get(path, as_="DEVELOPER")
        assert got.status_code == 200 and SECRET not in got.text
    assert api.get("/api/credentials", as_="DEVELOPER").json["total"] == 1
    # rename keeps the secret usable (re-sealed under the new name)
    res = api.patch(f"/api/credentials/{cid}", {"name": "erp-bot"}, as_="DEVELOPER")
    assert res.status_code == 200 and res.json["name"] == "erp-bot"
    assert hub_app.hub.credentials.for_execution(["erp-bot"], 1, 1) == {
        "erp-bot": {"username": "robot", "secret": SECRET, "allowed_hosts": []}
    }
    res = api.patch(f"/api/credentials/{cid}", {"secret": "new-one"}, as_="DEVELOPER")
    assert res.status_code == 200 and "new-one" not in res.text
    assert (
        hub_app.hub.credentials.for_execution(["erp-bot"], 1, 1)["erp-bot"]["secret"] == "new-one"
    )
    # ciphertext moved to another row does not open (name is the associated data)
    other = api.post("/api/credentials", {"name": "other", "secret": "x"}, as_="DEVELOPER").json
    Credential.update(secret=Credential.get_by_id(cid).secret).where(
        Credential.id == other["id"]
    ).execute()
    assert hub_app.hub.credentials.for_execution(["other"], 1, 1) == {}
    audit = api.get("/api/audit", as_="ADMIN", params={"action": "credential.update"}).json
    assert audit["total"] == 2 and "new-one" not in str(audit) and SECRET not in str(audit)
    assert api.delete(f"/api/credentials/{cid}", as_="DEVELOPER").status_code == 204
    assert api.get(f"/api/credentials/{cid}", as_="DEVELOPER").status_code == 404


def test_vault_bad_input_and_roles(licensed_api: Api) -> None:
    api = licensed_api
    assert (
        api.post("/api/credentials", {"name": "a b", "secret": "x"}, as_="DEVELOPER").status_code
        == 400
    )
    assert (
        api.post("/api/credentials", {"name": "a", "secret": ""}, as_="DEVELOPER").status_code
        == 400
    )
    assert api.post("/api/credentials", {"name": "a"}, as_="DEVELOPER").status_code == 400
    assert (
        api.post("/api/credentials", {"name": "a", "secret": "x"}, as_="OPERATOR").status_code
        == 403
    )
    assert (
        api.post("/api/credentials", {"name": "a", "secret": "x"}, as_="DEVELOPER").status_code
        == 201
    )
    dup = api.post("/api/credentials", {"name": "a", "secret": "y"}, as_="DEVELOPER")
    assert dup.status_code == 409
    assert api.get("/api/credentials", as_="DEVELOPER").json["total"] == 1
    assert api.patch("/api/credentials/999", {"secret": "z"}, as_="DEVELOPER").status_code == 404


def test_secret_reaches_only_the_holding_runner(licensed_api: Api) -> None:
    api = licensed_api
    api.post(
        "/api/credentials",
        {"name": "erp-login", "username": "bot", "secret": SECRET},
        as_="DEVELOPER",
    )
    wf = published_workflow(api, graph=GRAPH_WITH_CREDENTIAL)
    holder, token = online_runner(api, "holder")
    ex = run(api, wf)
    payload = api.get("/api/runner/poll", token=token).json["execution"]
    assert payload["credentials"]["erp-login"]["secret"] == SECRET
    _, other = online_runner(api, "other")
    assert api.get("/api/runner/poll", token=other).status_code == 204
    got = api.get(f"/api/executions/{ex['id']}", as_="OPERATOR")
    assert SECRET not in got.text
    reads = api.get("/api/audit", as_="ADMIN", params={"action": "credential.read"}).json
    assert reads["total"] == 1
    assert reads["items"][0]["details"]["runner_id"] == holder["id"]
