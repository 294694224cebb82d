"""``/api/credentials``: the vault (DEVELOPER). Secrets are write-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import falcon
import msgspec

from ..api import Routes, endpoint, page, send
from ..services.credentials import CredentialService, to_dict
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub

#: host patterns: ``erp.acme.local``, ``*.acme.local``, ``10.0.0.7``, each optionally ``:port``
AllowedHosts = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=300)]],
    msgspec.Meta(
        max_length=50,
        description="Hosts the secret may be sent to: `erp.acme.local`, `*.acme.local` (any "
        "subdomain), an IP address, each optionally with `:port`. Empty or absent: any host.",
    ),
]


class CredentialCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    secret: str
    username: Annotated[str, msgspec.Meta(max_length=400)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    allowed_hosts: AllowedHosts | None = None


class CredentialPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    secret: str | msgspec.UnsetType = msgspec.UNSET
    username: Annotated[str, msgspec.Meta(max_length=400)] | None | msgspec.UnsetType = (
        msgspec.UNSET
    )
    description: Annotated[str, msgspec.Meta(max_length=2000)] | msgspec.UnsetType = msgspec.UNSET
    allowed_hosts: AllowedHosts | None | msgspec.UnsetType = msgspec.UNSET


class CredentialOut(msgspec.Struct):
    id: int
    name: str
    username: str | None
    description: str
    created_at: str | None
    updated_at: str | None
    #: normalised host patterns; empty: the secret may be sent to any host
    allowed_hosts: list[str] = []


class CredentialList(msgspec.Struct):
    items: list[CredentialOut]
    total: int


class Collection:
    def __init__(self, credentials: CredentialService) -> None:
        self.credentials = credentials

    @endpoint(
        "List credentials (never their secrets)",
        role="DEVELOPER",
        query=Page,
        response=CredentialList,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = page(req)
        rows, total = self.credentials.list(limit=limit, offset=offset)
        send(resp, {"items": [to_dict(r) for r in rows], "total": total})

    @endpoint(
        "Store a credential",
        role="DEVELOPER",
        body=CredentialCreate,
        response=CredentialOut,
        status=201,
        responses={
            400: "A bad name, secret or allowed host (`invalid_allowed_hosts`)",
            409: "A credential with this name exists",
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: CredentialCreate = req.context.body
        row = self.credentials.create(
            name=body.name,
            secret=body.secret,
            username=body.username,
            description=body.description,
            allowed_hosts=body.allowed_hosts,
            actor=req.context.user,
            ip=req.context.ip,
        )
        send(resp, to_dict(row), 201)


class Item:
    def __init__(self, credentials: CredentialService) -> None:
        self.credentials = credentials

    @endpoint("Read a credential (never its secret)", role="DEVELOPER", response=CredentialOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response, credential_id: int) -> None:
        send(resp, to_dict(self.credentials.get(credential_id)))

    @endpoint(
        "Change a credential",
        role="DEVELOPER",
        body=CredentialPatch,
        response=CredentialOut,
        responses={409: "A credential with this name exists"},
    )
    def on_patch(self, req: falcon.Request, resp: falcon.Response, credential_id: int) -> None:
        changes = msgspec.structs.asdict(req.context.body)
        changes = {k: v for k, v in changes.items() if v is not msgspec.UNSET}
        row = self.credentials.update(credential_id, changes, req.context.user, req.context.ip)
        send(resp, to_dict(row))

    @endpoint("Delete a credential", role="DEVELOPER", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, credential_id: int) -> None:
        self.credentials.delete(credential_id, req.context.user, req.context.ip)
        resp.status = 204


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/credentials", Collection(hub.credentials))
    routes.add("/api/credentials/{credential_id:int}", Item(hub.credentials))
