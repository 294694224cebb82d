"""The console application: sign-in, navigation between pages, banners, hub error handling."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer

from workflows.statuses import LicenseStatus

from .client import HubClient, HubError, HubUnreachable, NotAuthenticated, RateLimited
from .modals import HelpModal
from .screens.audit import AuditScreen
from .screens.base import HubScreen
from .screens.credentials import CredentialsScreen
from .screens.dashboard import DashboardScreen
from .screens.executions import ExecutionsScreen
from .screens.license import LicenseScreen
from .screens.login import LoginScreen
from .screens.runners import RunnersScreen
from .screens.triggers import TriggersScreen
from .screens.users import UsersScreen
from .screens.workflows import WorkflowsScreen
from .session import SessionStore

ROLES = {"OPERATOR": 1, "DEVELOPER": 2, "ADMIN": 3}
#: the license states under which the hub refuses executions
REFUSING = frozenset(s for s in LicenseStatus if not s.runnable)


@dataclass(frozen=True)
class Page:
    name: str
    key: str
    title: str
    screen: type[HubScreen]
    role: str = "OPERATOR"


PAGES: tuple[Page, ...] = (
    Page("dashboard", "1", "Dashboard", DashboardScreen),
    Page("workflows", "2", "Workflows", WorkflowsScreen),
    Page("executions", "3", "Executions", ExecutionsScreen),
    Page("runners", "4", "Runners", RunnersScreen),
    Page("triggers", "5", "Triggers", TriggersScreen),
    Page("credentials", "6", "Credentials", CredentialsScreen, "DEVELOPER"),
    Page("users", "7", "Users", UsersScreen, "ADMIN"),
    Page("license", "8", "License", LicenseScreen),
    Page("audit", "9", "Audit log", AuditScreen, "ADMIN"),
)


class ExekraConsole(App[None]):
    """``exekra console``."""

    TITLE = "Exekra"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # the page keys, said once on every screen (the help lists each page); before the
        # page bindings, so this one is the key 1 the footer shows
        Binding(PAGES[0].key, f"go('{PAGES[0].name}')", "Pages", key_display="1-9"),
        *[Binding(p.key, f"go('{p.name}')", p.title, show=False) for p in PAGES],
    ]

    banner: reactive[str] = reactive("")

    def __init__(
        self,
        hub_url: str = "http://127.0.0.1:5000",
        *,
        store: SessionStore | None = None,
        token: str | None = None,
        license_poll: float = 60.0,
    ) -> None:
        super().__init__()
        self.hub_url = hub_url.rstrip("/")
        self.store = store or SessionStore()
        self.client = HubClient(self.hub_url, token or self.store.load(self.hub_url))
        self.user: dict[str, Any] | None = None
        self.banner_severity = "error"
        self._conn_banner = ""
        self._license_banner = ""
        self._reconnect: Timer | None = None
        self.license_poll = license_poll
        self.license_state: dict[str, Any] = {}
        self.sub_title = self.hub_url

    # -- start, sign-in, sign-out ---------------------------------------------------------------
    def on_mount(self) -> None:
        if self.client.token:
            self.resume_session()
        else:
            self.show_login()
        self.set_interval(self.license_poll, self.check_license)

    @work(exclusive=True, group="session")
    async def resume_session(self) -> None:
        try:
            user = await self.client.me()
        except NotAuthenticated:
            self.client.token = None
            self.show_login("Your session has expired — sign in again.")
            return
        except HubError as exc:
            self.hub_failed(exc)
            self.show_login()
            return
        await self.signed_in(user)

    def show_login(self, message: str = "") -> None:
        if isinstance(self.screen, LoginScreen):
            return
        self.push_screen(LoginScreen(message))

    async def signed_in(self, user: dict[str, Any], *, resumed: bool = False) -> None:
        """After a login (or a valid stored token): remember the user, open the dashboard."""
        self.user = user
        self._conn_banner = ""
        self._set_banner()
        self.check_license()
        previous = [s for s in self.screen_stack[1:] if not isinstance(s, LoginScreen)]
        if isinstance(self.screen, LoginScreen) and previous:
            # the session expired on a page: go back to it and reload it
            await self.pop_screen()
            reload = getattr(self.screen, "reload", None)
            if reload:
                reload()
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.push_screen(PAGES[0].screen())

    @work(exclusive=True, group="session")
    async def sign_out(self) -> None:
        try:
            await self.client.logout()
        except HubError:
            self.client.token = None
        self.store.clear(self.hub_url)
        self.user = None
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.show_login("Signed out.")

    def role_at_least(self, role: str) -> bool:
        mine = (self.user or {}).get("role", "")
        return ROLES.get(mine, 0) >= ROLES.get(role, 99)

    # -- navigation ---------------------------------------------------------------------------
    async def action_go(self, name: str) -> None:
        await self.navigate(name)

    async def navigate(self, name: str) -> None:
        if self.user is None or isinstance(self.screen, LoginScreen):
            return
        page = next((p for p in PAGES if p.name == name), None)
        if page is None:
            return
        if not self.role_at_least(page.role):
            self.notify(f"{page.title} needs the {page.role} role", severity="warning")
            return
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        if self.screen.__class__ is page.screen:
            return
        await self.switch_screen(page.screen())

    def open(self, screen: Screen[Any]) -> None:
        """Open a detail screen over the current page (escape comes back)."""
        self.push_screen(screen)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        if self.user is not None:
            for page in PAGES:
                if self.role_at_least(page.role):
                    yield SystemCommand(
                        f"Go to {page.title}",
                        f"Open the {page.title} screen (key {page.key})",
                        lambda p=page.name: self.run_worker(self.navigate(p)),
                    )
            yield SystemCommand("Sign out", "End this session", self.sign_out)
        yield from super().get_system_commands(screen)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            return
        self.push_screen(HelpModal(self.screen))

    # -- hub errors, banners ------------------------------------------------------------------
    def hub_failed(self, exc: HubError) -> None:
        """The one place a failed hub call ends up (workers call it)."""
        if isinstance(exc, HubUnreachable):
            self._conn_banner = f"⚠ Hub unreachable at {self.hub_url} — retrying every 3 s"
            self._set_banner()
            if self._reconnect is None:
                self._reconnect = self.set_interval(3.0, self.check_hub)
            self.notify(exc.description, title="Hub unreachable", severity="error")
        elif isinstance(exc, NotAuthenticated):
            if self.user is not None or self.client.token:
                self.client.token = None
                self.store.clear(self.hub_url)
                self.show_login("Your session has expired — sign in again.")
            else:
                self.notify(exc.description, title=exc.title, severity="error")
        elif isinstance(exc, RateLimited):
            self.notify(
                f"{exc.description} (retry in {exc.retry_after:.0f} s)",
                title="Slow down",
                severity="warning",
            )
        else:
            self.notify(exc.description, title=exc.title, severity="error")

    @work(exclusive=True, group="health")
    async def check_hub(self) -> None:
        try:
            await self.client.health()
        except HubUnreachable:
            return
        except HubError:
            pass
        if self._reconnect is not None:
            self._reconnect.stop()
            self._reconnect = None
        self._conn_banner = ""
        self._set_banner()
        self.notify("connected to the hub again")
        reload = getattr(self.screen, "reload", None)
        if reload:
            reload()

    @work(exclusive=True, group="license")
    async def check_license(self) -> None:
        if self.user is None:
            return
        try:
            state = await self.client.license()
        except HubError:
            return
        self.set_license(state)

    def set_license(self, state: dict[str, Any]) -> None:
        self.license_state = state
        status = state.get("status")
        expires = (state.get("expires_at") or "")[:10]
        if status == LicenseStatus.GRACE_PERIOD:
            self._license_banner = (
                f"⚠ License expired {expires} — grace period: renew it on the License screen (8)"
            )
        elif status in REFUSING:
            self._license_banner = (
                f"⛔ License {status.lower()} — executions are refused; upload a license (8)"
            )
        else:
            self._license_banner = ""
        self._set_banner()

    def _set_banner(self) -> None:
        if self._conn_banner:
            self.banner_severity = "error"
            self.banner = self._conn_banner
        elif self._license_banner:
            self.banner_severity = (
                "warning"
                if self.license_state.get("status") == LicenseStatus.GRACE_PERIOD
                else "error"
            )
            self.banner = self._license_banner
        else:
            self.banner = ""
        # a changed severity with the same text still needs the banner repainted
        self.mutate_reactive(ExekraConsole.banner)

    async def on_unmount(self) -> None:
        await self.client.aclose()
