"""The audit log: every administrative action with who, what, which resource, from where, when."""

from __future__ import annotations

from typing import Any

from ..models import AuditLog, User


def record(
    actor: User | None,
    action: str,
    resource: str = "",
    *,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    return AuditLog.create(
        user_id=actor.id if actor else None,
        user_email=actor.email if actor else None,
        action=action,
        resource=resource,
        ip=ip,
        details=details,
    )


def to_dict(row: AuditLog) -> dict[str, Any]:
    from ..models import iso

    return {
        "id": row.id,
        "user_id": row.user_id,
        "user_email": row.user_email,
        "action": row.action,
        "resource": row.resource,
        "details": row.details,
        "ip": row.ip,
        "at": iso(row.at),
    }
