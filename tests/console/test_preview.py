"""A form's preview waits for the typing to stop before it asks (the hub allows 100 requests a
minute), and only the answer to the latest values is shown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.app import App

from console.modals import Field, FormModal

pytestmark = pytest.mark.anyio


class FormApp(App[None]):
    def __init__(self, form: FormModal) -> None:
        super().__init__()
        self.form = form

    def on_mount(self) -> None:
        self.push_screen(self.form)


async def shown(form: FormModal, wanted: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while wanted not in str(form.query_one("#preview").render()):
        assert loop.time() < deadline, f"the preview never showed {wanted!r}"
        await asyncio.sleep(0.02)


async def test_preview_asks_once_the_typing_stops() -> None:
    asked: list[str] = []

    async def preview(values: dict[str, Any]) -> str:
        asked.append(values["cron"])
        await asyncio.sleep(0.05)  # a hub round trip
        return f"preview of {values['cron']!r}"

    form = FormModal("Schedule", [Field("cron", "Cron")], preview=preview)
    async with FormApp(form).run_test() as pilot:
        await shown(form, "preview of ''")  # the values the form opened with, at once
        await pilot.press(*"0712345")
        await shown(form, "preview of '0712345'")
        assert asked == ["", "0712345"]  # one question for seven keys


async def test_a_failing_preview_says_why() -> None:
    async def preview(values: dict[str, Any]) -> str:
        raise RuntimeError("[boom]")

    form = FormModal("Schedule", [Field("cron", "Cron")], preview=preview)
    async with FormApp(form).run_test():
        await shown(form, "[boom]")


async def test_a_form_closed_while_waiting_is_left_alone() -> None:
    asked: list[str] = []

    async def preview(values: dict[str, Any]) -> str:
        asked.append(values["cron"])
        await asyncio.sleep(0.3)  # still asking when the form closes
        return "late"

    form = FormModal("Schedule", [Field("cron", "Cron")], preview=preview)
    app = FormApp(form)
    async with app.run_test() as pilot:
        await pilot.press("1")
        await pilot.pause(form.PREVIEW_DELAY + 0.1)  # asked, not answered yet
        await pilot.press("escape")
        await pilot.pause(form.PREVIEW_DELAY + 0.5)
        assert not form.is_attached and app.return_code is None  # closed, the app runs on
    assert "1" in asked
