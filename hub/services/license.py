"""Licensing: vendor key pair and signed license files; activation, status and enforcement.

A ``.lic`` file is JSON ``{"license": {...}, "signature": "<base64 RSA-SHA256>"}``; the signature
covers the canonical JSON of ``license`` (sorted keys, no spaces). The hub verifies it against the
vendor public key (``license_public_key``), stores the whole file AES-256-GCM encrypted, and
derives the status from it: UNLICENSED, ACTIVE, GRACE_PERIOD (within ``license_grace_days``
after expiry), EXPIRED, or INVALID (the stored blob fails its GCM tag or its signature).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from workflows.statuses import LicenseStatus

from .. import errors
from ..crypto import Sealer, TamperedData
from ..db import database_proxy
from ..models import License, utcnow

UNLICENSED, ACTIVE, GRACE, EXPIRED, INVALID = (
    LicenseStatus.UNLICENSED,
    LicenseStatus.ACTIVE,
    LicenseStatus.GRACE_PERIOD,
    LicenseStatus.EXPIRED,
    LicenseStatus.INVALID,
)
RUNNABLE = tuple(s for s in LicenseStatus if s.runnable)
_AAD = b"exekra-license"


# -- vendor side ---------------------------------------------------------------------------


def keygen(out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    priv = out_dir / "private.pem"
    pub = out_dir / "public.pem"
    if priv.exists() or pub.exists():
        raise FileExistsError(f"{out_dir} already holds a key pair; choose another --out")
    priv.touch(mode=0o600)
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def issue(
    private_key_pem: bytes,
    *,
    organization: str,
    email: str,
    max_runners: int,
    days: int,
    now: dt.datetime | None = None,
) -> str:
    """Return the text of a signed ``.lic`` file."""
    if max_runners < 1:
        raise ValueError("a license allows at least one runner")
    if days < 1:
        raise ValueError("a license lasts at least one day")
    if "@" not in email:
        raise ValueError(f"{email!r} is not an email address")
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    issued = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    payload = {
        "license_id": str(uuid.uuid4()),
        "organization": organization,
        "email": email.strip().lower(),
        "max_runners": max_runners,
        "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": (issued + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nonce": secrets.token_hex(8),
    }
    sig = key.sign(canonical(payload), padding.PKCS1v15(), hashes.SHA256())
    doc = {"license": payload, "signature": base64.b64encode(sig).decode()}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


# -- hub side ------------------------------------------------------------------------------


class LicenseRejected(errors.BadRequest):
    code, title = "invalid_license", "Invalid license"


class LicenseState(msgspec.Struct):
    # the API's schema of the license is this struct (hub/resources/license.py LicenseOut)
    status: str
    organization: str | None = None
    email: str | None = None
    max_runners: int | None = None
    expires_at: str | None = None
    issued_at: str | None = None
    license_id: str | None = None

    def public(self) -> dict[str, Any]:
        return {"status": self.status}

    def details(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


def _parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("not a time")
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


class LicenseService:
    """Verifies and stores licenses; answers the current status (cached for a few seconds)."""

    CACHE_SECONDS = 5.0

    def __init__(self, sealer: Sealer, public_key_path: str, grace_days: int) -> None:
        self.sealer = sealer
        self.public_key_path = public_key_path
        self.grace = dt.timedelta(days=grace_days)
        self._cache: tuple[float, LicenseState] | None = None
        self._lock = threading.Lock()

    def _public_key(self) -> rsa.RSAPublicKey:
        if not self.public_key_path:
            raise errors.ServiceUnavailable(
                "no vendor public key is configured (set EXEKRA_LICENSE_PUBLIC_KEY)",
                code="license_key_missing",
            )
        try:
            key = serialization.load_pem_public_key(Path(self.public_key_path).read_bytes())
        except (OSError, ValueError) as exc:
            raise errors.ServiceUnavailable(
                f"cannot read the vendor public key {self.public_key_path}: {exc}",
                code="license_key_missing",
            ) from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise errors.ServiceUnavailable("the vendor public key is not RSA")
        return key

    def parse(self, text: str) -> dict[str, Any]:
        """Verify a ``.lic`` text; return its license payload or raise LicenseRejected."""
        try:
            doc = json.loads(text)
            payload = doc["license"]
            sig = base64.b64decode(doc["signature"], validate=True)
            if not isinstance(payload, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: deep nesting
            raise LicenseRejected("this is not an Exekra license file") from None
        try:
            self._public_key().verify(sig, canonical(payload), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise LicenseRejected(
                "the license signature does not verify: it was modified or signed by another "
                "vendor key",
                code="bad_signature",
            ) from None
        try:
            _parse_time(payload["expires_at"])
            if int(payload["max_runners"]) < 1 or "@" not in str(payload["email"]):
                raise ValueError
        except (KeyError, ValueError, TypeError):
            raise LicenseRejected("the license is missing required fields") from None
        return payload

    def state_of(self, blob: str | None, now: dt.datetime | None = None) -> LicenseState:
        if blob is None:
            return LicenseState(UNLICENSED)
        try:
            text = self.sealer.open(blob, _AAD).decode()
            payload = self.parse(text)
        except (TamperedData, LicenseRejected, UnicodeDecodeError):
            return LicenseState(INVALID)
        now = now or dt.datetime.now(dt.UTC)
        expires = _parse_time(payload["expires_at"])
        if now < expires:
            status = ACTIVE
        elif now < expires + self.grace:
            status = GRACE
        else:
            status = EXPIRED
        return LicenseState(
            status=status,
            organization=payload.get("organization"),
            email=payload.get("email"),
            max_runners=int(payload["max_runners"]),
            expires_at=payload["expires_at"],
            issued_at=payload.get("issued_at"),
            license_id=payload.get("license_id"),
        )

    def current(self, *, fresh: bool = False) -> LicenseState:
        now = time.monotonic()
        with self._lock:
            if not fresh and self._cache and now - self._cache[0] < self.CACHE_SECONDS:
                return self._cache[1]
        row = License.select().order_by(License.id.desc()).first()
        state = self.state_of(row.blob if row else None)
        with self._lock:
            self._cache = (now, state)
        return state

    def invalidate_cache(self) -> None:
        with self._lock:
            self._cache = None

    def activate(self, text: str) -> LicenseState:
        """Verify and store a license (activation or renewal); takes effect at once."""
        self.parse(text)
        blob = self.sealer.seal(text, _AAD)
        state = self.state_of(blob)
        if state.status == EXPIRED:
            raise LicenseRejected("this license has already expired", code="license_expired")
        with database_proxy.atomic():
            License.delete().execute()
            License.create(blob=blob, status=state.status, checked_at=utcnow())
        self.invalidate_cache()
        return state

    def revalidate(self) -> LicenseState:
        """Periodic job: recompute the status from the stored blob and record it."""
        state = self.current(fresh=True)
        License.update(status=state.status, checked_at=utcnow()).execute()
        return state

    def require_runnable(self) -> LicenseState:
        state = self.current()
        if state.status not in RUNNABLE:
            raise errors.LicenseForbids(
                f"executions are disabled: the license is {state.status}. "
                "Upload a valid license (POST /api/license) to run workflows.",
            )
        return state
