"""Licensing: activation, renewal, tampering, status and enforcement."""

from __future__ import annotations

import base64
import datetime as dt
import json

from hub.models import License
from hub.services.license import keygen
from tests.support import ADMIN_EMAIL, PASSWORD, make_license


def test_activation_then_public_status_and_admin_details(licensed_api):
    api = licensed_api
    assert api.get("/api/license").json == {"status": "ACTIVE"}
    details = api.get("/api/license", as_="ADMIN").json
    assert details["status"] == "ACTIVE"
    assert details["organization"] == "ACME Corp"
    assert details["email"] == ADMIN_EMAIL and details["max_runners"] == 5
    assert api.get("/api/license", as_="OPERATOR").json == {"status": "ACTIVE"}


def test_tampered_license_is_rejected_and_status_unchanged(api, private_key):
    text = make_license(private_key, runners=5)
    doc = json.loads(text)
    doc["license"]["max_runners"] = 500
    res = api.post("/api/license", body=json.dumps(doc))
    assert res.status_code == 400 and res.json["code"] == "bad_signature"
    assert api.get("/api/license").json["status"] == "UNLICENSED"
    for junk in ("", "hello", "{}", '{"license": 1, "signature": "!!"}'):
        res = api.post("/api/license", body=junk)
        assert res.status_code == 400, junk
    assert api.get("/api/license").json["status"] == "UNLICENSED"


def test_foreign_signed_license_is_rejected(api, tmp_path):
    other_priv, _ = keygen(tmp_path / "other")
    res = api.post("/api/license", body=make_license(other_priv))
    assert res.status_code == 400 and res.json["code"] == "bad_signature"
    assert api.get("/api/license").json["status"] == "UNLICENSED"


def test_expired_license_cannot_be_activated(api, private_key):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    res = api.post("/api/license", body=make_license(private_key, days=1, now=old))
    assert res.status_code == 400 and res.json["code"] == "license_expired"


def test_grace_period_and_expiry(hub_app, private_key):
    svc = hub_app.hub.license
    text = make_license(private_key, days=10)
    blob = svc.sealer.seal(text, b"exekra-license")
    now = dt.datetime.now(dt.UTC)
    assert svc.state_of(blob, now).status == "ACTIVE"
    assert svc.state_of(blob, now + dt.timedelta(days=11)).status == "GRACE_PERIOD"
    grace = hub_app.hub.settings.license_grace_days
    assert svc.state_of(blob, now + dt.timedelta(days=11 + grace)).status == "EXPIRED"


def test_modified_stored_blob_is_invalid(licensed_api, hub_app):
    row = License.get()
    raw = bytearray(base64.b64decode(row.blob))
    raw[-1] ^= 0x01  # flip one bit of the GCM tag
    License.update(blob=base64.b64encode(bytes(raw)).decode()).execute()
    hub_app.hub.license.invalidate_cache()
    assert licensed_api.get("/api/license").json["status"] == "INVALID"
    assert hub_app.hub.license.revalidate().status == "INVALID"
    assert License.get().status == "INVALID"


def test_renewal_needs_admin_once_users_exist(licensed_api, private_key):
    api = licensed_api
    renewal = make_license(private_key, runners=9, days=365)
    assert api.post("/api/license", body=renewal).status_code == 401
    assert api.post("/api/license", body=renewal, as_="DEVELOPER").status_code == 403
    res = api.post("/api/license", body=renewal, as_="ADMIN")
    assert res.status_code == 200 and res.json["max_runners"] == 9
    assert api.get("/api/license", as_="ADMIN").json["max_runners"] == 9
    actions = [e["action"] for e in api.get("/api/audit", as_="ADMIN").json["items"]]
    assert actions.count("license.activate") == 2


def test_setup_admin_rules(api, private_key):
    body = {"email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada"}
    res = api.post("/api/setup/admin", body)
    assert res.status_code == 403 and res.json["code"] == "license_required"
    api.post("/api/license", body=make_license(private_key))
    res = api.post("/api/setup/admin", {**body, "email": "mallory@evil.test"})
    assert res.status_code == 403 and res.json["code"] == "email_mismatch"
    res = api.post("/api/setup/admin", {**body, "password": "short"})
    assert res.status_code == 400
    assert api.post("/api/setup/admin", body).status_code == 201
    res = api.post("/api/setup/admin", body)
    assert res.status_code == 409 and res.json["code"] == "setup_done"


def test_unlicensed_hub_refuses_executions(hub_app):
    import pytest

    from hub.errors import LicenseForbids

    with pytest.raises(LicenseForbids, match="UNLICENSED"):
        hub_app.hub.license.require_runnable()


def _store_license_issued(hub_app, private_key, *, days_ago: int, days: int) -> None:
    """Time passes: replace the stored license by one issued ``days_ago`` days ago."""
    text = make_license(
        private_key, days=days, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    )
    License.update(blob=hub_app.hub.sealer.seal(text, b"exekra-license")).execute()
    hub_app.hub.license.invalidate_cache()


def test_expired_license_refuses_executions_and_grace_allows_them(
    licensed_api, hub_app, private_key
):
    from tests.hub.test_runners_support import published_workflow

    api = licensed_api
    wf = published_workflow(api)
    grace = hub_app.hub.settings.license_grace_days
    # expired two days ago, still inside the grace window: executions run, with a banner status
    _store_license_issued(hub_app, private_key, days_ago=32, days=30)
    assert api.get("/api/license").json["status"] == "GRACE_PERIOD"
    res = api.post("/api/executions", {"workflow_id": wf}, as_="OPERATOR")
    assert res.status_code == 201, res.text
    # past the grace window: refused with a clear message, nothing created
    _store_license_issued(hub_app, private_key, days_ago=30 + grace + 1, days=30)
    assert api.get("/api/license").json["status"] == "EXPIRED"
    before = api.get("/api/executions", as_="OPERATOR").json["total"]
    res = api.post("/api/executions", {"workflow_id": wf, "priority": 1}, as_="OPERATOR")
    assert res.status_code == 403 and res.json["code"] == "license_required"
    assert "EXPIRED" in res.json["description"]
    assert api.get("/api/executions", as_="OPERATOR").json["total"] == before
    # renewal takes effect at once, without a restart
    renewal = make_license(private_key, days=365)
    assert api.post("/api/license", body=renewal, as_="ADMIN").status_code == 200
    res = api.post("/api/executions", {"workflow_id": wf, "priority": 1}, as_="OPERATOR")
    assert res.status_code == 201, res.text
