"""Every page of the console driven by keys against a real hub, one class per screen."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from console.modals import ConfirmModal, FormModal, PickModal, TextModal
from console.screens.audit import AuditScreen
from console.screens.credentials import CredentialsScreen
from console.screens.dashboard import DashboardScreen
from console.screens.execution_detail import ExecutionDetailScreen
from console.screens.executions import ExecutionsScreen
from console.screens.license import LicenseScreen
from console.screens.runners import RunnersScreen
from console.screens.triggers import TriggersScreen
from console.screens.users import UsersScreen
from console.screens.workflow_detail import WorkflowDetailScreen
from console.screens.workflows import WorkflowsScreen
from tests.console.conftest import settle, wait_screen
from tests.support import make_license

pytestmark = pytest.mark.anyio


def graph(message: str = "hello") -> dict[str, Any]:
    return {
        "format": 1,
        "variables": {},
        "nodes": [{"id": "say", "type": "log.write", "params": {"message": message}}],
        "edges": [],
    }


def new_workflow(hub: Any, *, publish: bool = True, name: str | None = None) -> dict[str, Any]:
    name = name or f"wf-{uuid.uuid4().hex[:8]}"
    wf = hub.call("POST", "/api/workflows", "DEVELOPER", json={"name": name, "graph": graph()})
    if publish:
        hub.call("POST", f"/api/workflows/{wf['id']}/publish", "DEVELOPER")
    return hub.call("GET", f"/api/workflows/{wf['id']}")


async def type_text(pilot: Any, text: str) -> None:
    keys = {" ": "space", "*": "asterisk", "-": "minus", "/": "slash", ".": "full_stop"}
    await pilot.press(*[keys.get(ch, ch) for ch in text])


async def go(pilot: Any, key: str, cls: type) -> Any:
    await pilot.press(key)
    screen = await wait_screen(pilot, cls)
    await settle(pilot)
    return screen


async def wait_preview(pilot: Any, form: Any, wanted: str, timeout: float = 10.0) -> str:
    """The form's preview once it says ``wanted`` (it asks the hub after the typing stops)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while wanted not in (text := str(form.query_one("#preview").render())):
        if loop.time() > deadline:
            raise AssertionError(f"preview never said {wanted!r}: {text!r}")
        await asyncio.sleep(0.05)
    return text


async def find_row(pilot: Any, text: str) -> None:
    """Filter the page's table down to the row containing ``text`` and focus it."""
    await pilot.press("slash")
    await type_text(pilot, text)
    await pilot.press("enter")
    await pilot.pause()


def table_text(screen: Any) -> str:
    from rich.text import Text

    table = screen.query_one("#table")
    rows = []
    for row_key in table.rows:
        cells = table.get_row(row_key)
        rows.append(" ".join(Text.from_markup(str(c)).plain for c in cells))
    return "\n".join(rows)


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


class TestDashboard:
    async def test_counts_match_the_hub(self, make_app, live_hub):
        wf = new_workflow(live_hub)
        live_hub.call("POST", "/api/executions", "OPERATOR", json={"workflow_id": wf["id"]})
        app = make_app("OPERATOR")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            summary = live_hub.call("GET", "/api/analytics/summary")
            text = str(screen.query_one("#exec-counts").render())
            queued = summary["executions"]["QUEUED"]
            assert queued >= 1
            assert any(line.split()[:2] == ["QUEUED", str(queued)] for line in text.splitlines()), (
                text
            )
            title = str(screen.query_one("#hourly-title").render())
            assert f"{sum(h['total'] for h in summary['per_hour'])} in total" in title


class TestUsers:
    async def test_create_disable_delete(self, make_app, live_hub):
        email = f"u{uuid.uuid4().hex[:6]}@acme.test"
        app = make_app("ADMIN")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "7", UsersScreen)
            await pilot.press("n")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, email)
            await pilot.press("tab")
            await type_text(pilot, "New Person")
            await pilot.press("tab", "tab")  # role: keep OPERATOR
            await type_text(pilot, "a-long-password-1")
            await pilot.press("ctrl+s")
            await wait_screen(pilot, UsersScreen)
            await settle(pilot)
            users = live_hub.call("GET", "/api/users", params={"q": email})["items"]
            assert [u["role"] for u in users] == ["OPERATOR"]
            assert email in table_text(screen)
            await find_row(pilot, email)
            await pilot.press("space")
            await settle(pilot)
            assert live_hub.call("GET", f"/api/users/{users[0]['id']}")["active"] is False
            await pilot.press("delete")
            confirm = await wait_screen(pilot, ConfirmModal)
            assert confirm.question == f"Delete {email}?"
            await pilot.press("y")
            await settle(pilot)
            assert f"deleted {email}" in notes(app)
            with live_hub.http() as client:
                assert client.get(f"/api/users/{users[0]['id']}").status_code == 404

    async def test_operator_is_not_offered_admin_pages(self, make_app):
        app = make_app("OPERATOR")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("7")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            assert any("ADMIN" in m for m in notes(app))
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Go to Runners" in titles and "Go to Users" not in titles
            assert "Go to Audit log" not in titles

    async def test_bad_input_shows_the_hubs_message(self, make_app, live_hub):
        app = make_app("ADMIN")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await go(pilot, "7", UsersScreen)
            before = live_hub.call("GET", "/api/users")["total"]
            await pilot.press("n")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, "not-an-email")
            await pilot.press("tab")
            await type_text(pilot, "X")
            await pilot.press("tab", "tab")
            await type_text(pilot, "short")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert any(n.severity == "error" for n in app._notifications)
            assert live_hub.call("GET", "/api/users")["total"] == before


class TestLicense:
    async def test_details_and_renewal(
        self, make_app, live_hub, vendor_keys, tmp_path, monkeypatch
    ):
        monkeypatch.chdir(tmp_path)  # short relative paths: fewer keys to type
        app = make_app("ADMIN")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "8", LicenseScreen)
            text = str(screen.query_one("#license").render())
            assert "ACTIVE" in text and "ACME Corp" in text
            bad = tmp_path / "bad.lic"
            bad.write_text("not a license")
            before = live_hub.call("GET", "/api/license")
            await pilot.press("u")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, bad.name)
            await pilot.press("enter")
            await settle(pilot)
            assert any(n.severity == "error" for n in app._notifications)
            assert live_hub.call("GET", "/api/license") == before
            good = tmp_path / "renewed.lic"
            good.write_text(make_license(vendor_keys[0], runners=3, days=90))
            await pilot.press("u")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, good.name)
            await pilot.press("enter")
            await settle(pilot)
            after = live_hub.call("GET", "/api/license")
            assert after["expires_at"] > before["expires_at"]
            assert after["expires_at"][:10] in str(screen.query_one("#license").render())

    async def test_operator_sees_status_only_and_no_upload(self, make_app):
        app = make_app("OPERATOR")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "8", LicenseScreen)
            text = str(screen.query_one("#license").render())
            assert "ACTIVE" in text and "ACME Corp" not in text
            assert screen.check_action("upload", ()) is False
            await pilot.press("u")
            await pilot.pause()
            assert app.screen is screen

    async def test_grace_banner(self, make_app):
        app = make_app("OPERATOR")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.set_license({"status": "GRACE_PERIOD", "expires_at": "2026-01-01T00:00:00Z"})
            await pilot.pause()
            banner = app.screen.query_one("#banner")
            assert banner.display and "grace period" in str(banner.render())


class TestAudit:
    async def test_filter_by_action(self, make_app):
        app = make_app("ADMIN")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "9", AuditScreen)
            assert "auth.login" in table_text(screen)
            screen.query_one("#action").focus()
            await type_text(pilot, "license.*")
            await pilot.press("enter")
            await settle(pilot)
            actions = {line.split()[-3] for line in table_text(screen).splitlines() if line}
            rows = table_text(screen)
            assert "license.activate" in rows and "auth.login" not in rows, actions


class TestWorkflows:
    async def test_versions_diff_publish_restore_export_import(
        self, make_app, live_hub, tmp_path, monkeypatch
    ):
        monkeypatch.chdir(tmp_path)
        wf = new_workflow(live_hub)
        live_hub.call(
            "POST", f"/api/workflows/{wf['id']}/versions", "DEVELOPER", json={"graph": graph("bye")}
        )
        app = make_app("DEVELOPER")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "2", WorkflowsScreen)
            assert wf["name"] in table_text(screen)
            await find_row(pilot, wf["name"])
            await pilot.press("enter")
            detail = await wait_screen(pilot, WorkflowDetailScreen)
            await settle(pilot)
            text = table_text(detail)
            assert "v2 draft" in text and "v1 published" in text
            await pilot.press("d")
            await pilot.pause()
            assert not notes(app), notes(app)
            await wait_screen(pilot, PickModal)
            await pilot.press("enter")
            modal = await wait_screen(pilot, TextModal)
            assert "'hello'" in modal.text or "hello" in modal.text
            assert "bye" in modal.text
            await pilot.press("escape")
            await wait_screen(pilot, WorkflowDetailScreen)
            await pilot.press("p")
            await settle(pilot)
            assert live_hub.call("GET", f"/api/workflows/{wf['id']}")["published_version"] == 2
            await pilot.press("end")  # the oldest version (v1)
            await pilot.press("r")
            await settle(pilot)
            versions = live_hub.call("GET", f"/api/workflows/{wf['id']}/versions")["items"]
            v3 = next(v for v in versions if v["number"] == 3)
            assert v3["status"] == "draft"
            out = tmp_path / "export.exekra.json"
            await pilot.press("x")
            await wait_screen(pilot, FormModal)
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, out.name)
            await pilot.press("enter")
            await settle(pilot)
            document = json.loads(out.read_text())
            assert document["name"] == wf["name"] and document["graph"]["nodes"]
            # import it under another name from the list
            document["name"] = wf["name"] + "-copy"
            out.write_text(json.dumps(document))
            await pilot.press("escape")
            await wait_screen(pilot, WorkflowsScreen)
            await pilot.press("i")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, out.name)
            await pilot.press("enter")
            await settle(pilot)
            names = [w["name"] for w in live_hub.call("GET", "/api/workflows")["items"]]
            assert wf["name"] + "-copy" in names

    async def test_operator_cannot_edit(self, make_app):
        app = make_app("OPERATOR")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "2", WorkflowsScreen)
            assert screen.check_action("new", ()) is False
            assert screen.check_action("run", ()) is True


class TestExecutions:
    async def test_list_detail_pending_reason_stop(self, make_app, live_hub):
        wf = new_workflow(live_hub)
        ex = live_hub.call(
            "POST", "/api/executions", "OPERATOR", json={"workflow_id": wf["id"], "priority": 3}
        )
        app = make_app("OPERATOR")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "3", ExecutionsScreen)
            assert wf["name"] in table_text(screen)
            await pilot.press("f")  # status: QUEUED
            await settle(pilot)
            assert "status: queued" in str(screen.query_one("#exec-filter").render())
            assert all("QUEUED" in line for line in table_text(screen).splitlines())
            await find_row(pilot, wf["name"])
            await pilot.press("enter")
            detail = await wait_screen(pilot, ExecutionDetailScreen)
            await settle(pilot)
            assert detail.execution_id == ex["id"]
            reason = live_hub.call("GET", f"/api/executions/{ex['id']}")["pending_reason"]
            assert reason["message"] in str(detail.query_one("#waiting").render())
            await pilot.press("s")
            await settle(pilot)
            assert live_hub.call("GET", f"/api/executions/{ex['id']}")["status"] == "STOPPED"
            await settle(pilot)
            assert "STOPPED" in str(detail.query_one("#summary").render())


class TestRunners:
    async def test_register_secret_once_regenerate_labels_delete(self, make_app, live_hub):
        name = f"robot-{uuid.uuid4().hex[:6]}"
        app = make_app("ADMIN")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "4", RunnersScreen)
            await pilot.press("n")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, name)
            await pilot.press("tab")
            await type_text(pilot, "linux")
            await pilot.press("ctrl+s")
            modal = await wait_screen(pilot, TextModal)
            key = modal.text.split("machine key:")[1].split()[0]
            secret = modal.text.split("machine secret:")[1].split()[0]
            assert len(secret) == 64 and "exekra runner connect" in modal.text
            with httpx.Client(base_url=live_hub.url) as client:
                auth = {"machine_key": key, "machine_secret": secret}
                assert client.post("/api/runner/authenticate", json=auth).status_code == 200
            await pilot.press("escape")
            await wait_screen(pilot, RunnersScreen)
            await settle(pilot)
            assert name in table_text(screen) and "linux" in table_text(screen)
            await find_row(pilot, name)
            await pilot.press("r")
            await wait_screen(pilot, ConfirmModal)
            await pilot.press("y")
            modal = await wait_screen(pilot, TextModal)
            new_secret = modal.text.split("machine secret:")[1].split()[0]
            assert new_secret != secret
            with httpx.Client(base_url=live_hub.url) as client:
                old = {"machine_key": key, "machine_secret": secret}
                assert client.post("/api/runner/authenticate", json=old).status_code == 401
            await pilot.press("escape")
            await wait_screen(pilot, RunnersScreen)
            await pilot.press("l")
            await wait_screen(pilot, FormModal)
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, "windows, excel")
            await pilot.press("enter")
            await settle(pilot)
            runner = next(
                r for r in live_hub.call("GET", "/api/runners")["items"] if r["name"] == name
            )
            assert sorted(runner["labels"]) == ["excel", "windows"]
            await pilot.press("delete")
            confirm = await wait_screen(pilot, ConfirmModal)
            assert confirm.question == f"Delete runner {name}?"
            await pilot.press("y")
            await settle(pilot)
            assert f"deleted runner {name}" in notes(app)
            names = [r["name"] for r in live_hub.call("GET", "/api/runners")["items"]]
            assert name not in names

    async def test_operator_reads_only(self, make_app):
        app = make_app("OPERATOR")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "4", RunnersScreen)
            for action in ("new", "regenerate", "labels", "delete"):
                assert screen.check_action(action, ()) is False


class TestTriggers:
    async def test_schedule_with_preview_toggle_delete(self, make_app, live_hub):
        wf = new_workflow(live_hub, name=f"a-{uuid.uuid4().hex[:6]}")
        app = make_app("DEVELOPER")
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "5", TriggersScreen)
            await pilot.press("n")
            form = await wait_screen(pilot, FormModal)
            form.query_one("#f-workflow_id").value = wf["id"]
            form.query_one("#f-name").focus()
            name = f"mornings-{uuid.uuid4().hex[:4]}"
            await type_text(pilot, name)
            await pilot.press("tab")
            await type_text(pilot, "0 7 * * 1")
            preview = await wait_preview(pilot, form, "next:")
            assert "Mon" in preview and preview.count("07:00") == 5
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, "not cron")
            # the hub's own words: the console has no cron parser of its own
            assert "5 fields" in await wait_preview(pilot, form, "not a valid cron")
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, "0 7 * * 1-5")
            await wait_preview(pilot, form, "next:")
            await pilot.press("tab", "ctrl+a", "ctrl+k")
            await type_text(pilot, "nowhere/atlantis")
            await wait_preview(pilot, form, "unknown time zone")
            await pilot.press("ctrl+a", "ctrl+k", "U", "T", "C")
            assert "Fri" in await wait_preview(pilot, form, "next:")
            await pilot.press("ctrl+s")
            await wait_screen(pilot, TriggersScreen)
            await settle(pilot)
            trig = next(
                t for t in live_hub.call("GET", "/api/triggers")["items"] if t["name"] == name
            )
            assert trig["cron"] == "0 7 * * 1-5" and trig["next_run"]
            await find_row(pilot, name)
            await pilot.press("space")
            await settle(pilot)
            assert live_hub.call("GET", f"/api/triggers/{trig['id']}")["enabled"] is False
            await pilot.press("delete")
            confirm = await wait_screen(pilot, ConfirmModal)
            assert confirm.question == f"Delete trigger {trig['id']}?"
            await pilot.press("y")
            await settle(pilot)
            assert f"deleted trigger {trig['id']}" in notes(app)
            with live_hub.http() as client:
                assert client.get(f"/api/triggers/{trig['id']}").status_code == 404
            assert screen.is_attached


class TestCredentials:
    async def test_secret_is_write_only(self, make_app, live_hub):
        name = f"erp-{uuid.uuid4().hex[:6]}"
        secret = "s3cr3t-" + uuid.uuid4().hex
        app = make_app("DEVELOPER")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "6", CredentialsScreen)
            await pilot.press("n")
            await wait_screen(pilot, FormModal)
            await type_text(pilot, name)
            await pilot.press("tab")
            await type_text(pilot, "robot")
            await pilot.press("tab")
            await type_text(pilot, secret)
            await pilot.press("ctrl+s")
            await wait_screen(pilot, CredentialsScreen)
            await settle(pilot)
            assert name in table_text(screen) and "robot" in table_text(screen)
            assert secret not in table_text(screen)
            assert secret not in json.dumps(live_hub.call("GET", "/api/credentials", "DEVELOPER"))
            await find_row(pilot, name)
            await pilot.press("e")
            await wait_screen(pilot, FormModal)
            await pilot.press("tab")
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, "robot2")
            await pilot.press("ctrl+s")
            await settle(pilot)
            cred = next(
                c
                for c in live_hub.call("GET", "/api/credentials", "DEVELOPER")["items"]
                if c["name"] == name
            )
            assert cred["username"] == "robot2"
            await pilot.press("delete")
            confirm = await wait_screen(pilot, ConfirmModal)
            assert confirm.question == f"Delete credential {name}?"
            await pilot.press("y")
            await settle(pilot)
            assert f"deleted credential {name}" in notes(app)
            names = [
                c["name"] for c in live_hub.call("GET", "/api/credentials", "DEVELOPER")["items"]
            ]
            assert name not in names


class TestShell:
    async def test_help_and_palette(self, make_app):
        app = make_app("ADMIN")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await go(pilot, "4", RunnersScreen)
            await pilot.press("question_mark")
            from console.modals import HelpModal

            modal = await wait_screen(pilot, HelpModal)
            from textual.widgets import Markdown

            source = modal.query_one(Markdown).source
            assert "Runners" in source and "Register" in source
            assert "| `/` | Filter |" in source  # inherited from every table page
            await pilot.press("escape")
            await wait_screen(pilot, RunnersScreen)

    async def test_visit_every_page_and_back(self, make_app):
        from console.app import PAGES

        app = make_app("ADMIN")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for page in (*PAGES, *reversed(PAGES)):
                await pilot.press(page.key)
                await wait_screen(pilot, page.screen)
                await settle(pilot)
                assert not [n for n in app._notifications if n.severity == "error"], page
            assert len(app.screen_stack) == 2  # pages replace each other, they do not pile up


class TestWebhookTrigger:
    async def test_url_and_signature_hint(self, make_app, live_hub):
        wf = new_workflow(live_hub)
        name = f"hook-{uuid.uuid4().hex[:6]}"
        trig = live_hub.call(
            "POST",
            "/api/triggers",
            "DEVELOPER",
            json={"workflow_id": wf["id"], "type": "WEBHOOK", "name": name,
                  "webhook_secret": "shh-" + uuid.uuid4().hex},
        )  # fmt: skip
        app = make_app("OPERATOR")
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = await go(pilot, "5", TriggersScreen)
            assert screen.check_action("new", ()) is False  # operators read triggers only
            await find_row(pilot, name)
            await pilot.press("w")
            modal = await wait_screen(pilot, TextModal)
            assert trig["url"] in modal.text and "X-Exekra-Signature" in modal.text
            assert "shh-" not in modal.text
