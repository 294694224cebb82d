"""``/api/audit`` (ADMIN): the audit log, newest first, with filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
import msgspec

from ..api import Routes, endpoint, page, send
from ..models import AuditLog, parse_iso
from ..services.audit import to_dict
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub


class AuditQuery(Page, forbid_unknown_fields=True):
    action: str | None = None
    user_id: int | None = None
    resource: str | None = None
    since: str | None = None
    until: str | None = None


class AuditEntry(msgspec.Struct):
    id: int
    user_id: int | None
    user_email: str | None
    action: str
    resource: str
    details: dict[str, Any] | None
    ip: str | None
    at: str


class AuditList(msgspec.Struct):
    items: list[AuditEntry]
    total: int


class Collection:
    @endpoint("Search the audit log", role="ADMIN", query=AuditQuery, response=AuditList)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: AuditQuery = req.context.query
        query = AuditLog.select().order_by(AuditLog.at.desc(), AuditLog.id.desc())
        if q.action:
            if q.action.endswith(".*"):
                query = query.where(AuditLog.action.startswith(q.action[:-1]))
            else:
                query = query.where(AuditLog.action == q.action)
        if q.user_id is not None:
            query = query.where(AuditLog.user_id == q.user_id)
        if q.resource:
            query = query.where(AuditLog.resource == q.resource)
        if q.since:
            query = query.where(AuditLog.at >= parse_iso(q.since, "since"))
        if q.until:
            query = query.where(AuditLog.at <= parse_iso(q.until, "until"))
        limit, offset = page(req)
        send(
            resp,
            {
                "items": [to_dict(r) for r in query.limit(limit).offset(offset)],
                "total": query.count(),
            },
        )


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/audit", Collection())
