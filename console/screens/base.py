"""What every page shares: header, banner, footer, role checks and hub calls in workers."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, Static

from ..client import HubClient, HubError
from ..modals import ConfirmModal

if TYPE_CHECKING:
    from ..app import ExekraConsole

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _is_current(widget: Widget) -> bool:
    try:
        return bool(widget.screen.is_current)
    except NoScreen:
        return False


def hub_work(
    *, exclusive: bool = False, group: str = "hub", loading: str | None = None
) -> Callable[[F], Any]:
    """Run an async method as a Textual worker; hub errors become notifications/banners.

    ``loading`` names a widget (CSS selector) that shows a loading indicator meanwhile.
    """

    def decorate(fn: F) -> Any:
        @functools.wraps(fn)
        async def runner(self: Widget, *args: Any, **kwargs: Any) -> Any:
            target = None
            if loading:
                try:
                    target = self.query_one(loading)
                    target.loading = True
                except Exception:  # noqa: BLE001 - the widget may be gone
                    target = None
            try:
                return await fn(self, *args, **kwargs)
            except HubError as exc:
                cast("ExekraConsole", self.app).hub_failed(exc)
                return None
            except (NoMatches, NoScreen):
                # the answer came after its screen was closed (page switched), or while the
                # app is shutting down (its screens lose their widgets before they close)
                if (
                    self.app.is_running
                    and self.is_attached
                    and self.is_mounted
                    and _is_current(self)
                ):
                    raise
                return None
            finally:
                if target is not None:
                    try:
                        target.loading = False
                    except (NoMatches, NoScreen):  # its screen closed while the hub answered
                        pass

        return work(exclusive=exclusive, group=group)(runner)

    return decorate


class Banner(Static):
    """One line across the top: hub unreachable, session expired, license expired/grace."""

    def on_mount(self) -> None:
        self.watch(self.app, "banner", self._show)

    def _show(self, text: str) -> None:
        self.update(text)
        self.display = bool(text)
        severity = getattr(self.app, "banner_severity", "error")
        self.set_class(severity == "warning", "-warning")


class HubScreen(Screen[None]):
    """A page of the console. Subclasses set ``TITLE``, ``HELP``, ``REQUIRES`` and
    ``ROLE_ACTIONS`` (action -> minimum role; the action is hidden and refused below it)."""

    HELP: ClassVar[str] = ""
    REQUIRES: ClassVar[str] = "OPERATOR"
    ROLE_ACTIONS: ClassVar[dict[str, str]] = {}
    BINDINGS = [Binding("f5,ctrl+r", "reload", "Reload", show=False)]

    @property
    def console(self) -> ExekraConsole:
        return cast("ExekraConsole", self.app)

    @property
    def api(self) -> HubClient:
        return self.console.client

    def can(self, role: str) -> bool:
        return self.console.role_at_least(role)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needed = self.ROLE_ACTIONS.get(action)
        if needed and not self.can(needed):
            return False
        return True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        user = self.console.user or {}
        self.title = f"Exekra · {getattr(self, 'TITLE', '')}"
        self.sub_title = f"{user.get('email', '')} ({user.get('role', '').lower()})"
        self._shown = False
        self.reload()

    def on_screen_resume(self) -> None:
        # back from a dialog, the editor or a detail page: show what it changed (the first
        # resume is the page appearing, which on_mount already loaded)
        if getattr(self, "_shown", False):
            self.reload()
        self._shown = True

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Fetch this screen's data again (called on mount, after sign-in and reconnect)."""


class FilterInput(Input):
    """The table filter: ``esc`` clears it and goes back to the table."""

    BINDINGS = [Binding("escape", "leave", "Leave the filter", show=False)]

    def action_leave(self) -> None:
        self.value = ""
        table = self.screen.query("#table")
        if table:
            table.first().focus()


class TableScreen(HubScreen):
    """A page whose body is a filterable, sortable table of hub items.

    Subclasses set ``COLUMNS`` and implement ``fetch()`` (returns the items) and ``row(item)``
    (the cells, Rich markup allowed). ``/`` filters (substring over every cell), ``o`` sorts by
    the next column and ``O`` reverses."""

    AUTO_FOCUS = "#table"
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    SORT_KEYS: ClassVar[dict[str, Callable[[dict[str, Any]], Any]]] = {}
    REFRESH_EVERY: ClassVar[float] = 0
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("o", "sort", "Sort"),
        Binding("O", "sort_reverse", "Reverse", show=False),
        Binding("f5,ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.sort_col = 0
        self.sort_reverse = False

    def body(self) -> ComposeResult:
        yield from self.toolbar()
        yield FilterInput(placeholder="/ filter · esc leaves it", id="filter", classes="filter")
        yield DataTable(id="table", cursor_type="row", zebra_stripes=True)

    def toolbar(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        table = self.query_one("#table", DataTable)
        for col in self.COLUMNS:
            table.add_column(col, key=col)
        table.focus()
        super().on_mount()
        if self.REFRESH_EVERY:
            self.set_interval(self.REFRESH_EVERY, self._refresh_tick)

    def _refresh_tick(self) -> None:
        # a page under a dialog or a detail page waits: the hub allows 100 requests a minute
        if self.is_current:
            self.reload()

    def reload(self) -> None:
        self.load()

    @hub_work(exclusive=True, group="load", loading="#table")
    async def load(self) -> None:
        self.items = await self.fetch()
        self.show()

    async def fetch(self) -> list[dict[str, Any]]:
        return []

    def row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(item.get(c, "") for c in self.COLUMNS)

    def sort_value(self, item: dict[str, Any]) -> Any:
        col = self.COLUMNS[self.sort_col]
        key = self.SORT_KEYS.get(col)
        if key is not None:
            return key(item)
        value = item.get(col)
        return (value is None, value if isinstance(value, int | float) else str(value or ""))

    def show(self) -> None:
        table = self.query_one("#table", DataTable)
        wanted = self.query_one("#filter", Input).value.strip().lower()
        keep = table.cursor_row
        table.clear()
        items = sorted(self.items, key=self.sort_value, reverse=self.sort_reverse)
        for item in items:
            cells = self.row(item)
            if wanted:
                plain = " ".join(Text.from_markup(str(c)).plain for c in cells).lower()
                if wanted not in plain:
                    continue
            table.add_row(*cells, key=str(item.get("id")))
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        arrow = "▼" if self.sort_reverse else "▲"
        for i, column in enumerate(table.ordered_columns):
            name = self.COLUMNS[i] if i < len(self.COLUMNS) else str(column.label)
            column.label = Text(f"{name} {arrow}" if i == self.sort_col else name)
            column.content_width = max(column.content_width, column.label.cell_len)
        table.refresh()

    def confirm_delete(self, what: str, delete: Callable[[], Awaitable[Any]]) -> None:
        """Ask "Delete {what}?"; on yes, run ``delete`` (the hub call), say "deleted {what}" and
        reload the table. A hub error is reported like any other hub call's, with no reload."""
        self.app.push_screen(
            ConfirmModal(f"Delete {what}?"), lambda ok: self._delete(what, delete) if ok else None
        )

    @hub_work()
    async def _delete(self, what: str, delete: Callable[[], Awaitable[Any]]) -> None:
        await delete()
        self.notify(f"deleted {what}")
        self.reload()

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((i for i in self.items if str(i.get("id")) == key), None)

    def on_input_changed(self, event: Any) -> None:
        if getattr(event.input, "id", "") == "filter":
            self.show()

    def on_input_submitted(self, event: Any) -> None:
        if getattr(event.input, "id", "") == "filter":
            self.query_one("#table").focus()

    def action_filter(self) -> None:
        self.query_one("#filter").focus()

    def action_sort(self) -> None:
        self.sort_col = (self.sort_col + 1) % max(1, len(self.COLUMNS))
        self.show()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self.show()
