"""Runner settings: defaults < ``runner-config.json`` in the runner's data folder < environment.

The data folder (``EXEKRA_RUNNER_DATA_DIR``, default ``~/.exekra-runner``) holds the config
(hub URL, machine key, intervals), the rotating log file, the encrypted credential file when no
keyring backend exists, and the outbox of final reports not yet delivered to the hub.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_FILE = "runner-config.json"
#: values of the ``script_sandbox`` setting
SCRIPT_SANDBOX_MODES = ("auto", "require", "off")


class RunnerConfigError(Exception):
    pass


@dataclass
class RunnerSettings:
    data_dir: str = field(default_factory=lambda: str(Path.home() / ".exekra-runner"))
    hub_url: str = ""
    machine_key: str = ""
    heartbeat_interval: float = 30.0
    poll_interval: float = 5.0
    metrics_interval: float = 5.0
    log_flush_interval: float = 1.0
    log_batch_size: int = 200
    auth_attempts: int = 5
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    request_timeout: float = 30.0
    #: seconds one artifact upload (screenshot, trace, file) may take before it is given up
    artifact_timeout: float = 60.0
    shutdown_grace: float = 20.0
    execution_timeout: float = 0.0  # 0: none (the spec has no hard timeout)
    log_level: str = "INFO"
    #: keep the hub's wake-up channel open, so requested work starts at once (not at the next
    #: poll); polling stays the fallback
    wake_channel: bool = True
    # issue 17: limits and isolation for activities (see README "Runner limits and isolation")
    zip_max_extract_mb: float = 1024.0
    zip_max_ratio: float = 200.0
    script_sandbox: str = "auto"  # auto | require | off
    # browser automation (browser.* activities)
    browser_headless: bool = True  # services have no desktop; browser.open's headless overrides
    browser_executable: str = ""  # empty: a Playwright-installed browser, else one on PATH
    browser_downloads: str = ""  # empty: <data_dir>/downloads
    browser_timeout: float = 30.0  # seconds an action waits for its element (auto-wait)

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
        )

    def save(self) -> Path:
        self.data_path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_path, 0o700)
        path = self.data_path / CONFIG_FILE
        values = {k: v for k, v in asdict(self).items() if k != "data_dir"}
        path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        os.chmod(path, 0o600)
        return path


def _convert(typ: str, raw: str) -> Any:
    if typ == "float":
        return float(raw)
    if typ == "int":
        return int(raw)
    if typ == "bool":
        lowered = raw.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(raw)
        return lowered in ("1", "true", "yes", "on")
    return raw


def load_runner_settings(data_dir: str | None = None, **overrides: Any) -> RunnerSettings:
    env = os.environ
    chosen = data_dir or env.get("EXEKRA_RUNNER_DATA_DIR") or RunnerSettings().data_dir
    values: dict[str, Any] = {"data_dir": str(Path(chosen).expanduser())}
    known = {f.name: f.type for f in fields(RunnerSettings)}
    path = Path(values["data_dir"]) / CONFIG_FILE
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RunnerConfigError(f"{path} is not valid JSON: {exc}") from None
        for key, val in stored.items():
            if key in known and key != "data_dir":
                values[key] = val
    for key, typ in known.items():
        raw = env.get("EXEKRA_RUNNER_" + key.upper())
        if raw is not None and key != "data_dir":
            try:
                values[key] = _convert(typ, raw)
            except ValueError:
                raise RunnerConfigError(f"EXEKRA_RUNNER_{key.upper()}={raw!r} is invalid") from None
    for key, val in overrides.items():
        if val is not None:
            values[key] = val
    return RunnerSettings(**values)
