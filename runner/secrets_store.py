"""Where the runner keeps its machine secret: the OS keyring, or an encrypted file.

On Windows ``keyring`` uses the Credential Manager, on desktops the Secret Service / Keychain.
Headless Linux usually has no keyring backend: then the secret goes into ``credentials.enc`` in
the data folder, encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key file that only the
runner's user can read (mode 0600). Never plain text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

SERVICE = "exekra-runner"
KEY_FILE = "secret.key"
ENC_FILE = "credentials.enc"


class SecretStoreError(Exception):
    pass


def _usable_keyring() -> object | None:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring install means "no keyring"
        return None
    name = type(backend).__module__ + "." + type(backend).__name__
    if isinstance(backend, fail.Keyring) or "plaintext" in name.lower() or "null" in name.lower():
        return None
    if getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


class SecretStore:
    def __init__(self, data_dir: Path, *, use_keyring: bool | None = None) -> None:
        self.data_dir = data_dir
        env = os.environ.get("EXEKRA_RUNNER_KEYRING", "").lower()
        if use_keyring is None:
            use_keyring = env not in ("0", "no", "false", "off")
        self.keyring = _usable_keyring() if use_keyring else None

    @property
    def backend(self) -> str:
        return "keyring" if self.keyring else f"encrypted file {self.data_dir / ENC_FILE}"

    def save(self, machine_key: str, secret: str) -> None:
        if self.keyring is not None:
            self.keyring.set_password(SERVICE, machine_key, secret)  # type: ignore[attr-defined]
            return
        data = self._read_file()
        data[machine_key] = secret
        self._write_file(data)

    def load(self, machine_key: str) -> str | None:
        if self.keyring is not None:
            return self.keyring.get_password(SERVICE, machine_key)  # type: ignore[attr-defined]
        return self._read_file().get(machine_key)

    # -- encrypted file ------------------------------------------------------------------
    def _fernet(self) -> Fernet:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        key_path = self.data_dir / KEY_FILE
        if not key_path.exists():
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return Fernet(key_path.read_bytes().strip())

    def _read_file(self) -> dict[str, str]:
        path = self.data_dir / ENC_FILE
        if not path.exists():
            return {}
        try:
            return json.loads(self._fernet().decrypt(path.read_bytes()))
        except InvalidToken:
            raise SecretStoreError(
                f"{path} cannot be decrypted with {self.data_dir / KEY_FILE}; "
                "run `exekra runner connect` again"
            ) from None

    def _write_file(self, data: dict[str, str]) -> None:
        token = self._fernet().encrypt(json.dumps(data).encode())
        path = self.data_dir / ENC_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(token)
        os.replace(tmp, path)
