"""Attack suite: webhook floods (issue 17 item 15).

Webhooks had no rate limit (144 executions/s from one address). Each trigger now takes at most
``webhook_rate_per_minute`` calls a minute, whoever calls: past it 429 with Retry-After, and
nothing is queued. The default (600 a minute) is far beyond what an integration sends.
"""

from __future__ import annotations

from hub.models import Execution
from tests.hub.test_runners_support import published_workflow
from tests.support import Api


def _hook(api: Api, wf: int) -> str:
    res = api.post("/api/triggers", {"workflow_id": wf, "type": "WEBHOOK"}, as_="DEVELOPER")
    assert res.status_code == 201, res.text
    return f"/api/triggers/webhook/{res.json['webhook_id']}"


def test_each_trigger_is_limited_and_others_are_not(licensed_api: Api) -> None:
    api = licensed_api
    settings = api.client.app.hub.settings
    pinned = api.client.app.hub.limiter.clock()
    api.client.app.hub.limiter.clock = lambda: pinned  # one window for the whole test
    assert settings.webhook_rate_per_minute == 600
    wf = published_workflow(api)
    first, second = _hook(api, wf), _hook(api, wf)
    # a busy integration (30 calls in a burst, from one address) is nowhere near the default
    for i in range(30):
        assert api.post(first, {"n": i}).status_code == 202
    settings.webhook_rate_per_minute = 40
    codes = [
        api.post(first, {"n": 100 + i}, remote_addr=f"10.1.0.{i}").status_code for i in range(15)
    ]
    assert codes == [202] * 10 + [429] * 5  # many addresses: the limit is the trigger's
    res = api.post(first, {"n": 999})
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1
    assert res.json["code"] == "rate_limited" and "40 calls a minute" in res.json["description"]
    assert Execution.select().count() == 40
    assert api.post(second, {"n": 1}).status_code == 202  # another trigger is not affected
