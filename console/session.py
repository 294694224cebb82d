"""Where the console keeps its session token: the user's data folder, file mode 0600.

``EXEKRA_TOKEN`` in the environment wins over the stored token (scripts, CI, shared jump
hosts). The file maps hub URL -> ``{"token", "email"}`` so one user can use several hubs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs

FILE_NAME = "console-session.json"


def default_dir() -> Path:
    """``EXEKRA_CONSOLE_DIR`` or the platform's user data folder for exekra."""
    chosen = os.environ.get("EXEKRA_CONSOLE_DIR")
    return Path(chosen) if chosen else Path(platformdirs.user_data_dir("exekra", appauthor=False))


class SessionStore:
    """Reads and writes the session file (0600, written atomically)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_dir()

    @property
    def path(self) -> Path:
        return self.directory / FILE_NAME

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def load(self, hub_url: str) -> str | None:
        """The token for ``hub_url``: ``EXEKRA_TOKEN`` first, then the stored one."""
        env = os.environ.get("EXEKRA_TOKEN")
        if env:
            return env
        entry = self._read().get(hub_url.rstrip("/"))
        return entry.get("token") if isinstance(entry, dict) else None

    def email(self, hub_url: str) -> str | None:
        entry = self._read().get(hub_url.rstrip("/"))
        return entry.get("email") if isinstance(entry, dict) else None

    def save(self, hub_url: str, token: str, email: str) -> None:
        data = self._read()
        data[hub_url.rstrip("/")] = {"token": token, "email": email}
        self._write(data)

    def clear(self, hub_url: str) -> None:
        data = self._read()
        entry = data.get(hub_url.rstrip("/"))
        if isinstance(entry, dict) and "token" in entry:
            entry.pop("token")
            self._write(data)
