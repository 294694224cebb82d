"""Runner settings: defaults < ``runner-config.json`` in the runner's data folder < environment.

The data folder (``EXEKRA_RUNNER_DATA_DIR``, default ``~/.exekra-runner``) holds the config
(hub URL, machine key, intervals), the rotating log file, the encrypted credential file when no
keyring backend exists, and the outbox of final reports not yet delivered to the hub.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workflows import settings as loader
from workflows.settings import setting

CONFIG_FILE = "runner-config.json"
#: values of the ``script_sandbox`` setting
SCRIPT_SANDBOX_MODES = ("auto", "require", "off")


#: keys that ``runner-config.json`` files written by earlier versions hold (``connect`` writes
#: every setting there is): accepted and ignored, so an upgraded runner still starts
RETIRED = ("work_dir",)


class RunnerConfigError(loader.SettingsError):
    pass


@dataclass
class RunnerSettings:
    """All runner settings: each one's default and meaning, the README's runner settings table."""

    data_dir: str = setting(
        factory=lambda: str(Path.home() / ".exekra-runner"),
        meaning="`runner-config.json`, the rotating `runner.log`, the outbox of final reports, "
        "`credentials.enc` and `secret.key` where no keyring exists, `runner.lock`",
        shown="`~/.exekra-runner`",
        path=True,
    )
    hub_url: str = setting("", "the hub's URL (written by `exekra runner connect`)")
    machine_key: str = setting(
        "",
        "this runner's Machine Key, `FC-…` (written by `exekra runner connect`; the secret is "
        "in the keyring or `credentials.enc`, never here)",
    )
    heartbeat_interval: float = setting(
        30.0, "seconds between heartbeats (with CPU, memory and disk)"
    )
    poll_interval: float = setting(5.0, "seconds between polls for work while idle")
    metrics_interval: float = setting(
        5.0, "seconds between CPU and memory samples of a running execution"
    )
    log_flush_interval: float = setting(
        1.0, "seconds between shipments of a running execution's log lines"
    )
    log_batch_size: int = setting(200, "most log lines in one shipment")
    auth_attempts: int = setting(
        5, "refused authentications (with exponential back-off) before `start` gives up"
    )
    backoff_initial: float = setting(
        1.0,
        "seconds of the first jittered back-off while the hub is away (and before re-opening "
        "the wake-up channel)",
    )
    backoff_max: float = setting(60.0, "seconds of the longest back-off")
    request_timeout: float = setting(30.0, "seconds one request to the hub may take")
    artifact_timeout: float = setting(
        60.0,
        "seconds one artifact upload (screenshot, trace, file) may take before it is given up",
    )
    shutdown_grace: float = setting(
        20.0,
        "seconds `start` waits on SIGTERM / Ctrl-C for the running execution to stop and be "
        "reported",
    )
    execution_timeout: float = setting(
        0.0,
        "seconds an execution may run before it fails as timed out",
        shown="`0` (none)",
    )
    log_level: str = setting("INFO", "runner log level")
    wake_channel: bool = setting(
        True,
        "keep the hub's wake-up channel open, so requested work starts at once (not at the next "
        "poll); polling stays the fallback",
    )
    # issue 17: limits and isolation for activities
    zip_max_extract_mb: float = setting(
        1024.0,
        "most data one `zip.extract` unpacks (declared sizes checked before writing, actual "
        "bytes counted while writing)",
    )
    zip_max_ratio: float = setting(
        200.0,
        "highest compression ratio of an entry over 1 MiB (a zip bomb expands about 1000:1)",
    )
    script_sandbox: str = setting(
        "auto",
        "`auto`: scripts run in a bubblewrap sandbox where it works, with a warning in the "
        "node's log where it does not; `require`: a script fails instead of running "
        "unsandboxed; `off`: no sandbox",
    )
    # browser automation (browser.* activities)
    browser_headless: bool = setting(
        True,
        "browsers start without a window (services have no desktop); `browser.open`'s "
        "`headless` overrides it",
    )
    browser_executable: str = setting(
        "",
        "the browser to drive; empty: a browser Playwright installed, else `chromium`, "
        "`google-chrome` or Edge found on the machine",
        path=True,
    )
    browser_downloads: str = setting(
        "",
        "where `browser.download` saves files by default",
        shown="(empty: `downloads` in the data folder)",
        path=True,
    )
    browser_timeout: float = setting(
        30.0,
        "seconds an action waits for its element (auto-wait); a node's own `timeout` cuts it "
        "shorter",
    )

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    def activity_policy(self) -> Any:
        """The :class:`runner.activities.base.RunnerPolicy` these settings give activities."""
        from .activities.base import RunnerPolicy

        if self.script_sandbox not in SCRIPT_SANDBOX_MODES:
            raise RunnerConfigError(
                f"script_sandbox must be one of {', '.join(SCRIPT_SANDBOX_MODES)}, "
                f"got {self.script_sandbox!r}"
            )
        for name in ("zip_max_extract_mb", "zip_max_ratio"):
            if not float(getattr(self, name)) > 0:
                raise RunnerConfigError(f"{name} must be a positive number")
        return RunnerPolicy(
            zip_max_extract_bytes=int(self.zip_max_extract_mb * 1024 * 1024),
            zip_max_ratio=float(self.zip_max_ratio),
            script_sandbox=self.script_sandbox,
            protected_paths=(str(self.data_path.resolve()),),
            browser_headless=bool(self.browser_headless),
            browser_executable=self.browser_executable,
            browser_timeout=float(self.browser_timeout),
            browser_downloads=self.browser_downloads or str(self.data_path / "downloads"),
        )

    def save(self) -> Path:
        self.data_path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_path, 0o700)
        path = self.data_path / CONFIG_FILE
        values = {k: v for k, v in asdict(self).items() if k != "data_dir"}
        path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        os.chmod(path, 0o600)
        return path


def load_runner_settings(data_dir: str | None = None, **overrides: Any) -> RunnerSettings:
    """Build settings from defaults, ``runner-config.json``, the environment and ``overrides``."""
    return loader.load(
        RunnerSettings,
        prefix="EXEKRA_RUNNER_",
        file_name=CONFIG_FILE,
        data_dir=data_dir,
        overrides=overrides,
        error=RunnerConfigError,
        retired=RETIRED,
    )
