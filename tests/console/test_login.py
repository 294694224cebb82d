"""Sign-in, the stored session, expired sessions and an unreachable hub."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from console.app import ExekraConsole
from console.screens.dashboard import DashboardScreen
from console.screens.login import LoginScreen
from console.session import SessionStore
from tests.console.conftest import settle
from tests.support import ADMIN_EMAIL, PASSWORD, free_port, make_license

pytestmark = pytest.mark.anyio


class TestLogin:
    async def test_sign_in_stores_token_0600_and_opens_dashboard(self, live_hub, tmp_path):
        store = SessionStore(tmp_path / "s")
        app = ExekraConsole(live_hub.url, store=store)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            await pilot.click("#email")
            await pilot.press(*ADMIN_EMAIL, "enter", *PASSWORD, "enter")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            assert app.user and app.user["role"] == "ADMIN"
        mode = stat.S_IMODE(os.stat(store.path).st_mode)
        assert mode == 0o600
        assert store.load(live_hub.url)
        # next start: signed in straight away with the stored token
        app2 = ExekraConsole(live_hub.url, store=store)
        async with app2.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app2.screen, DashboardScreen)

    async def test_wrong_password_shows_the_hubs_message(self, live_hub, tmp_path):
        app = ExekraConsole(live_hub.url, store=SessionStore(tmp_path / "s"))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.click("#email")
            await pilot.press(*ADMIN_EMAIL, "enter", *"wrong-password", "enter")
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            messages = [n.message for n in app._notifications]
            assert any("password" in m.lower() or "invalid" in m.lower() for m in messages)
        assert not (tmp_path / "s").exists() or not SessionStore(tmp_path / "s").load(live_hub.url)

    async def test_expired_token_goes_back_to_login_with_banner(self, live_hub, tmp_path):
        app = ExekraConsole(
            live_hub.url, store=SessionStore(tmp_path / "s"), token="not-a-valid-token"
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            assert "expired" in str(app.screen.query_one("#login-message").render()).lower()

    async def test_unreachable_hub_shows_banner_not_traceback(self, tmp_path):
        url = f"http://127.0.0.1:{free_port()}"
        app = ExekraConsole(url, store=SessionStore(tmp_path / "s"))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.click("#email")
            await pilot.press(*ADMIN_EMAIL, "enter", *PASSWORD, "enter")
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            assert "unreachable" in app.banner.lower()
            banner = app.screen.query_one("#banner")
            assert banner.display

    def test_env_token_wins(self, tmp_path: Path, monkeypatch):
        store = SessionStore(tmp_path)
        store.save("http://hub", "stored", "a@b.c")
        assert store.load("http://hub") == "stored"
        monkeypatch.setenv("EXEKRA_TOKEN", "from-env")
        assert store.load("http://hub") == "from-env"


class TestFirstRun:
    async def test_activate_license_create_admin_sign_in(self, tmp_path, vendor_keys, monkeypatch):
        from console.modals import FormModal
        from tests.console.conftest import wait_screen
        from tests.support import HubProcess

        hub = HubProcess(
            tmp_path / "data",
            {
                "EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]),
                "EXEKRA_BCRYPT_ROUNDS": "4",
            },
            tmp_path / "hub.log",
        ).start()
        try:
            lic = tmp_path / "acme.lic"
            lic.write_text(make_license(vendor_keys[0]))
            app = ExekraConsole(hub.url, store=SessionStore(tmp_path / "s"))
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                assert "F2" in str(app.screen.query_one("#login-message").render())
                await pilot.press("f2")
                await wait_screen(pilot, FormModal)
                monkeypatch.chdir(tmp_path)
                await pilot.press(*lic.name, "tab", *ADMIN_EMAIL, "tab", "A", "d", "a", "tab")
                await pilot.press(*PASSWORD, "enter")
                await wait_screen(pilot, DashboardScreen)
                await settle(pilot)
                assert app.user and app.user["role"] == "ADMIN"
        finally:
            hub.stop()


class TestSessionAndConnection:
    async def test_session_expires_on_a_page_and_comes_back(self, live_hub, tmp_path):
        from console.screens.runners import RunnersScreen
        from tests.console.conftest import wait_screen

        app = ExekraConsole(
            live_hub.url, store=SessionStore(tmp_path / "s"), token=live_hub.tokens["ADMIN"]
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await wait_screen(pilot, RunnersScreen)
            app.client.token = "expired-or-revoked"
            await pilot.press("f5")
            login = await wait_screen(pilot, LoginScreen)
            assert "expired" in str(login.query_one("#login-message").render()).lower()
            await pilot.click("#password")
            await pilot.press(*PASSWORD, "enter")
            await wait_screen(pilot, RunnersScreen)  # back where the session ended
            await settle(pilot)
            assert app.client.token and app.client.token != "expired-or-revoked"

    async def test_hub_goes_away_and_comes_back(self, tmp_path, vendor_keys):
        from tests.console.conftest import start_hub, wait_screen

        hub = start_hub(tmp_path, vendor_keys)
        try:
            app = ExekraConsole(
                hub.url, store=SessionStore(tmp_path / "s"), token=hub.tokens["ADMIN"]
            )
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                assert isinstance(app.screen, DashboardScreen)
                hub.process.stop()
                await pilot.press("f5")
                await settle(pilot)
                assert "unreachable" in app.banner.lower()
                assert app.screen.query_one("#banner").display
                assert isinstance(app.screen, DashboardScreen)  # still usable, no traceback
                hub.process.start()  # the same port
                import asyncio

                for _ in range(200):
                    if not app.banner:
                        break
                    await asyncio.sleep(0.05)
                assert app.banner == ""
                await wait_screen(pilot, DashboardScreen)
        finally:
            hub.process.stop()

    async def test_a_form_whose_session_expired_goes_to_login(self, live_hub, tmp_path):
        from console.client import NotAuthenticated
        from console.modals import Field, FormModal
        from tests.console.conftest import wait_screen

        async def submit(values: dict[str, object]) -> None:
            raise NotAuthenticated("Your token has expired.")

        app = ExekraConsole(
            live_hub.url, store=SessionStore(tmp_path / "s"), token=live_hub.tokens["ADMIN"]
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            form = FormModal("Edit", [Field("name", "Name", value="x")], submit=submit)
            app.push_screen(form)
            await wait_screen(pilot, FormModal)
            form.action_submit()
            login = await wait_screen(pilot, LoginScreen)
            assert "expired" in str(login.query_one("#login-message").render()).lower()
            assert app.client.token is None
