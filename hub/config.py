"""Hub settings: defaults < the data folder's ``hub-config.json`` < ``EXEKRA_*`` environment.

Every setting has a snake_case name; its environment variable is ``EXEKRA_`` + the name in upper
case (``database_url`` -> ``EXEKRA_DATABASE_URL``). Secrets (the JWT secret and the
per-installation encryption key) live in their own files in the data folder, mode 0600, created
by ``exekra hub init``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_FILE = "hub-config.json"
JWT_SECRET_FILE = "jwt-secret"
ENCRYPTION_KEY_FILE = "encryption.key"


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass
class Settings:
    """All hub settings with their defaults (documented in the README's Configuration table)."""

    data_dir: str = field(default_factory=lambda: str(Path.home() / ".exekra"))
    database_url: str = ""  # empty: SQLite file in the data folder
    redis_url: str = ""  # empty: in-memory queue inside the hub
    license_public_key: str = ""  # path of the vendor public key PEM
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = 16
    connection_limit: int = 1000
    max_body_bytes: int = 1_048_576
    artifact_max_bytes: int = 26_214_400  # 25 MiB: one execution artifact (screenshot, trace)
    artifact_retention_days: int = 30
    artifact_retention_interval: float = 3600.0
    rate_limit_per_minute: int = 100
    webhook_rate_per_minute: int = 600  # calls per webhook trigger per minute, any caller
    trusted_proxies: str = ""  # comma-separated IPs whose X-Forwarded-For is believed
    bcrypt_rounds: int = 12
    bcrypt_concurrency: int = 0  # 0: half the CPUs (at least 1); more sign-ins wait or get 503
    login_attempts_per_account: int = 10  # failed sign-ins per account per minute (API + web)
    user_token_hours: int = 24 * 7
    runner_token_hours: int = 24
    secure_cookies: str = "auto"  # auto: Secure when the request came over TLS
    license_grace_days: int = 14
    license_check_interval: float = 3600.0
    runner_offline_after: float = 120.0
    stale_check_interval: float = 60.0
    queue_timeout: float = 600.0
    assigned_grace: float = 300.0
    running_grace: float = 300.0
    stop_grace: float = 120.0  # a stop the runner has not confirmed by then: STOPPED by the hub
    scheduler_interval: float = 5.0
    db_pool_size: int = 0  # 0: threads + 8
    #: the runners' wake-up channel (hub/wake.py): 0 = the port after ``port``, -1 = off
    channel_port: int = 0
    #: the channel's address as runners reach it, when neither direct nor same-origin fits
    channel_url: str = ""
    channel_keepalive: float = 20.0
    log_level: str = "INFO"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def effective_channel_port(self) -> int | None:
        """Where the wake-up channel listens (None: off; 0: any free port)."""
        if self.channel_port < 0:
            return None
        if self.channel_port:
            return self.channel_port
        return self.port + 1 if self.port else 0

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(self.data_path / "hub.db")

    # -- secrets stored beside the config -------------------------------------------------
    def jwt_secret(self) -> str:
        return _read_secret(self.data_path / JWT_SECRET_FILE).decode()

    def encryption_key(self) -> bytes:
        raw = _read_secret(self.data_path / ENCRYPTION_KEY_FILE)
        key = base64.b64decode(raw)
        if len(key) != 32:
            raise ConfigError(f"{ENCRYPTION_KEY_FILE} must hold a base64 256-bit key")
        return key


def _read_secret(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: run `exekra hub init`") from None


def _coerce(name: str, typ: Any, raw: Any) -> Any:
    try:
        if typ in ("int", int):
            return int(raw)
        if typ in ("float", float):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r}: {raw!r} is not a valid {typ}") from None


def load_settings(data_dir: str | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, ``hub-config.json``, the environment and ``overrides``."""
    env = os.environ
    base = Settings()
    chosen_dir = data_dir or env.get("EXEKRA_DATA_DIR") or base.data_dir
    values: dict[str, Any] = {"data_dir": str(Path(chosen_dir).expanduser())}
    known = {f.name: f.type for f in fields(Settings)}
    cfg_path = Path(values["data_dir"]) / CONFIG_FILE
    if cfg_path.exists():
        try:
            file_values = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{cfg_path} is not valid JSON: {exc}") from None
        if not isinstance(file_values, dict):
            raise ConfigError(f"{cfg_path} must hold a JSON object")
        for key, val in file_values.items():
            if key not in known:
                raise ConfigError(f"{cfg_path}: unknown setting {key!r}")
            if key != "data_dir":
                values[key] = _coerce(key, known[key], val)
    for key, typ in known.items():
        env_val = env.get("EXEKRA_" + key.upper())
        if env_val is not None and key != "data_dir":
            values[key] = _coerce(key, typ, env_val)
    for key, val in overrides.items():
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}")
        if val is not None:
            values[key] = val
    return Settings(**values)


def write_secret_file(path: Path, content: bytes) -> bool:
    """Create ``path`` with mode 0600 unless it exists; return True if it was created."""
    if path.exists():
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return True


def ensure_secrets(settings: Settings) -> list[str]:
    """Create the data folder, config file, JWT secret and encryption key; return what was made."""
    made: list[str] = []
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    cfg = data / CONFIG_FILE
    if not cfg.exists():
        cfg.write_text(json.dumps({"license_grace_days": settings.license_grace_days}, indent=2))
        os.chmod(cfg, 0o600)
        made.append(str(cfg))
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    jwt_secret = "".join(secrets.choice(alphabet) for _ in range(48))
    if write_secret_file(data / JWT_SECRET_FILE, jwt_secret.encode()):
        made.append(str(data / JWT_SECRET_FILE))
    key = base64.b64encode(secrets.token_bytes(32))
    if write_secret_file(data / ENCRYPTION_KEY_FILE, key):
        made.append(str(data / ENCRYPTION_KEY_FILE))
    return made
