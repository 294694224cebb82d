"""AES-256-GCM sealing with the per-installation key (license blob, vault secrets)."""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class TamperedData(Exception):
    """The ciphertext failed GCM authentication (modified, truncated or another key)."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes | str, aad: bytes = b"") -> str:
        if isinstance(plaintext, str):
            plaintext = plaintext.encode()
        nonce = secrets.token_bytes(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plaintext, aad)).decode()

    def open(self, token: str, aad: bytes = b"") -> bytes:
        try:
            raw = base64.b64decode(token, validate=True)
        except ValueError:
            raise TamperedData("not base64") from None
        if len(raw) < 12 + 16:
            raise TamperedData("too short")
        try:
            return self._aead.decrypt(raw[:12], raw[12:], aad)
        except InvalidTag:
            raise TamperedData("authentication tag mismatch") from None
