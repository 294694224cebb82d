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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows import settings as loader
from workflows.settings import setting

CONFIG_FILE = "hub-config.json"
JWT_SECRET_FILE = "jwt-secret"
ENCRYPTION_KEY_FILE = "encryption.key"


class ConfigError(loader.SettingsError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass
class Settings:
    """All hub settings: each one's default and meaning, the README's Configuration table."""

    data_dir: str = setting(
        factory=lambda: str(Path.home() / ".exekra"),
        meaning="config, secrets, SQLite database, TLS files",
        shown="`~/.exekra`",
        path=True,
    )
    database_url: str = setting(
        "",
        "`postgresql://user:pass@host:5432/db` for production (pooled)",
        shown="SQLite `hub.db` in the data folder",
    )
    redis_url: str = setting(
        "",
        "`redis://host:6379/0`: taskiq-redis queue, shared rate limits",
        shown="(empty: in-memory queue)",
    )
    license_public_key: str = setting(
        "",
        "path of the vendor public key PEM that licenses must be signed with",
        shown="(none)",
        path=True,
    )
    host: str = setting(
        "127.0.0.1",
        "where waitress listens; binding beyond loopback needs `--allow-remote` (TLS proxy in "
        "front)",
    )
    port: int = setting(5000, "the port waitress listens on (`0`: a free one)")
    threads: int = setting(16, "waitress worker threads")
    connection_limit: int = setting(1000, "waitress connections (every runner keeps one alive)")
    max_body_bytes: int = setting(1_048_576, "request bodies above this are refused with 413")
    artifact_max_bytes: int = setting(
        26_214_400,
        "largest execution artifact a runner may upload (413 above; artifact uploads are not "
        "cut by `max_body_bytes`)",
    )
    artifact_retention_days: int = setting(
        30,
        "execution artifacts (under `artifacts/` in the data folder) older than this are deleted",
    )
    artifact_retention_interval: float = setting(
        3600.0, "seconds between artifact retention rounds"
    )
    rate_limit_per_minute: int = setting(100, "per-client limit on user endpoints")
    webhook_rate_per_minute: int = setting(
        600,
        "calls per webhook trigger per minute, whoever calls; past it 429 with `Retry-After`",
    )
    trusted_proxies: str = setting(
        "",
        "comma-separated proxy IPs whose `X-Forwarded-For` is believed",
        shown="(none)",
    )
    bcrypt_rounds: int = setting(12, "cost of password and machine-secret hashes")
    bcrypt_concurrency: int = setting(
        0,
        "bcrypt checks running at once; a few more wait, the rest get 503 with `Retry-After: 1`",
        shown="`0` (half the CPUs, at least 1)",
    )
    login_attempts_per_account: int = setting(
        10,
        "failed sign-ins per account per minute (API and web view together, any address); then 429",
    )
    user_token_hours: int = setting(24 * 7, "lifetime of a user's session token")
    runner_token_hours: int = setting(24, "lifetime of a runner's token")
    secure_cookies: str = setting("auto", "`auto` (Secure over TLS), `always` or `never`")
    license_grace_days: int = setting(14, "days of GRACE_PERIOD after expiry")
    license_check_interval: float = setting(3600.0, "seconds between license revalidations")
    runner_offline_after: float = setting(
        120.0, "seconds without heartbeat before a runner is OFFLINE"
    )
    stale_check_interval: float = setting(60.0, "seconds between stale runner / execution checks")
    queue_timeout: float = setting(
        600.0, "seconds a QUEUED execution waits before FAILED (`queue_timeout`)"
    )
    assigned_grace: float = setting(
        300.0, "seconds an ASSIGNED execution waits for an OFFLINE runner"
    )
    running_grace: float = setting(300.0, "seconds a RUNNING execution waits for an OFFLINE runner")
    stop_grace: float = setting(
        120.0,
        "seconds a requested stop waits for the runner to confirm before the hub marks the "
        "execution STOPPED",
    )
    scheduler_interval: float = setting(5.0, "seconds between scheduler rounds (cron triggers)")
    db_pool_size: int = setting(0, "PostgreSQL pool size", shown="threads + 8")
    channel_port: int = setting(
        0,
        "where the runners' wake-up channel listens (`-1`: off; runners poll)",
        shown="`0` (= `port` + 1)",
    )
    channel_url: str = setting(
        "",
        "the channel's address as runners reach it, when neither direct (`channel_port` on the "
        "hub's host) nor same-origin through a trusted proxy fits",
    )
    channel_keepalive: float = setting(
        20.0, "seconds between keepalive comments on each open channel"
    )
    log_level: str = setting("INFO", "hub log level")

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


def load_settings(data_dir: str | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, ``hub-config.json``, the environment and ``overrides``."""
    return loader.load(
        Settings,
        prefix="EXEKRA_",
        file_name=CONFIG_FILE,
        data_dir=data_dir,
        overrides=overrides,
        error=ConfigError,
    )


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
