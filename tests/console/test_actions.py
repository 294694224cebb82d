"""The shared flows of console/actions.py that need no screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.actions import UnreadableFile, activate_license_file

pytestmark = pytest.mark.anyio


class FakeHub:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def activate_license(self, text: str) -> dict[str, Any]:
        self.sent.append(text)
        return {"status": "ACTIVE"}


async def test_the_license_file_goes_to_the_hub(tmp_path: Path) -> None:
    (tmp_path / "acme.lic").write_text("{signed}", encoding="utf-8")
    hub = FakeHub()
    state = await activate_license_file(hub, str(tmp_path / "acme.lic"))  # type: ignore[arg-type]
    assert state == {"status": "ACTIVE"} and hub.sent == ["{signed}"]


async def test_an_unreadable_file_says_which_and_why(tmp_path: Path) -> None:
    hub = FakeHub()
    with pytest.raises(UnreadableFile) as caught:
        await activate_license_file(hub, str(tmp_path / "missing.lic"))  # type: ignore[arg-type]
    assert str(caught.value) == f"cannot read {tmp_path / 'missing.lic'}: No such file or directory"
    (tmp_path / "binary.lic").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UnreadableFile, match="binary.lic"):
        await activate_license_file(hub, str(tmp_path / "binary.lic"))  # type: ignore[arg-type]
    assert hub.sent == []
