"""The credential vault: AES-256-GCM at rest, write-only over the API.

A secret is sealed with the per-installation key and the credential's name as associated data,
so a ciphertext cannot be moved to another row. The API never returns a secret; the only way
out is ``for_execution``, which the dispatcher calls while building the payload for the runner
that holds the execution, and every such read is audited.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import peewee

from workflows.hosts import InvalidHostPattern, parse_patterns

from .. import errors
from ..crypto import Sealer, TamperedData
from ..models import Credential, User, iso, utcnow
from . import audit

NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
MAX_SECRET = 65_536


def _aad(name: str) -> bytes:
    return b"exekra-credential:" + name.encode()


def to_dict(row: Credential) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "username": row.username,
        "description": row.description,
        "allowed_hosts": list(row.allowed_hosts or []),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise errors.ValidationFailed(
            "the credential name must be 1-200 letters, digits, '_', '.', ':' or '-'",
            code="invalid_name",
        )
    return name


def check_secret(secret: str) -> str:
    if not secret:
        raise errors.ValidationFailed("the secret must not be empty")
    if len(secret) > MAX_SECRET:
        raise errors.ValidationFailed(f"the secret is longer than {MAX_SECRET} characters")
    return secret


def check_allowed_hosts(patterns: builtins.list[str] | None) -> builtins.list[str] | None:
    """The patterns in their normalised form (``ERP.acme.local.`` → ``erp.acme.local``,
    ``Bücher.example`` → its punycode), duplicates dropped; 400 naming a bad one. Empty: the
    credential may be sent to any host (as before allowed hosts existed)."""
    if not patterns:
        return None
    try:
        parsed = parse_patterns(patterns)
    except InvalidHostPattern as exc:
        raise errors.ValidationFailed(
            f"allowed_hosts: {exc}", code="invalid_allowed_hosts"
        ) from None
    return [str(p) for p in parsed]


class CredentialService:
    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def get(self, credential_id: int) -> Credential:
        row = Credential.get_or_none(Credential.id == credential_id)
        if row is None:
            raise errors.NotFound(f"no credential {credential_id}", code="credential_not_found")
        return row

    def list(self, *, limit: int, offset: int) -> tuple[list[Credential], int]:
        query = Credential.select().order_by(Credential.name)
        return list(query.limit(limit).offset(offset)), query.count()

    def create(
        self,
        *,
        name: str,
        secret: str,
        username: str | None,
        description: str,
        actor: User | None,
        ip: str | None = None,
        allowed_hosts: builtins.list[str] | None = None,
    ) -> Credential:
        name = check_name(name)
        hosts = check_allowed_hosts(allowed_hosts)
        sealed = self.sealer.seal(check_secret(secret), _aad(name))
        try:
            row = Credential.create(
                name=name,
                username=username,
                description=description,
                secret=sealed,
                allowed_hosts=hosts,
                created_by=actor.id if actor else None,
            )
        except peewee.IntegrityError:
            raise errors.Conflict(
                f"a credential named {name!r} exists", code="credential_name_taken"
            ) from None
        audit.record(
            actor,
            "credential.create",
            f"credential:{row.id}",
            ip=ip,
            details={"name": name, "allowed_hosts": hosts or []},
        )
        return row

    def update(
        self, credential_id: int, changes: dict[str, Any], actor: User | None, ip: str | None = None
    ) -> Credential:
        row = self.get(credential_id)
        name = check_name(changes["name"]) if "name" in changes else row.name
        fields: dict[str, Any] = {"updated_at": utcnow()}
        if "username" in changes:
            fields["username"] = changes["username"]
        if "description" in changes:
            fields["description"] = changes["description"]
        if "allowed_hosts" in changes:
            fields["allowed_hosts"] = check_allowed_hosts(changes["allowed_hosts"])
        if "secret" in changes:
            secret = check_secret(changes["secret"])
        elif name != row.name:
            try:
                secret = self.sealer.open(row.secret, _aad(row.name)).decode()
            except TamperedData:
                raise errors.Conflict(
                    "the stored secret cannot be decrypted; set a new secret with the rename",
                    code="credential_unreadable",
                ) from None
        else:
            secret = None
        if name != row.name:
            fields["name"] = name
        if secret is not None:
            fields["secret"] = self.sealer.seal(secret, _aad(name))
        try:
            Credential.update(**fields).where(Credential.id == credential_id).execute()
        except peewee.IntegrityError:
            raise errors.Conflict(
                f"a credential named {name!r} exists", code="credential_name_taken"
            ) from None
        shown = [k for k in changes if k != "secret"] + (["secret"] if "secret" in changes else [])
        audit.record(
            actor,
            "credential.update",
            f"credential:{credential_id}",
            ip=ip,
            details={
                "changed": shown,
                **(
                    {"allowed_hosts": fields["allowed_hosts"] or []}
                    if "allowed_hosts" in fields
                    else {}
                ),
            },
        )
        return self.get(credential_id)

    def delete(self, credential_id: int, actor: User | None, ip: str | None = None) -> None:
        row = self.get(credential_id)
        Credential.delete().where(Credential.id == credential_id).execute()
        audit.record(
            actor,
            "credential.delete",
            f"credential:{credential_id}",
            ip=ip,
            details={"name": row.name},
        )

    def for_execution(
        self, names: builtins.list[str], execution_id: int, runner_id: int
    ) -> dict[str, dict[str, Any]]:
        """Decrypt the named credentials for the payload of ``execution_id`` (audited)."""
        out: dict[str, dict[str, Any]] = {}
        for row in Credential.select().where(Credential.name.in_(names)):
            try:
                secret = self.sealer.open(row.secret, _aad(row.name)).decode()
            except TamperedData:
                audit.record(
                    None,
                    "credential.unreadable",
                    f"credential:{row.id}",
                    details={"execution_id": execution_id, "runner_id": runner_id},
                )
                continue
            out[row.name] = {
                "username": row.username,
                "secret": secret,
                # the runner refuses to send the secret anywhere else (empty: any host)
                "allowed_hosts": list(row.allowed_hosts or []),
            }
            audit.record(
                None,
                "credential.read",
                f"credential:{row.id}",
                details={"name": row.name, "execution_id": execution_id, "runner_id": runner_id},
            )
        return out
