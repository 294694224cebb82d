"""``/api/users`` (ADMIN): create, list, read, change, disable and delete users."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import msgspec

from ..api import Routes, endpoint, page, send
from ..models import User
from ..services import audit
from ..services.users import UserService, to_dict
from .auth import UserOut
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str
    name: str
    role: str = "OPERATOR"


class UserPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    email: str | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    role: str | msgspec.UnsetType = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class UserList(msgspec.Struct):
    items: list[UserOut]
    total: int


class UserQuery(Page, forbid_unknown_fields=True):
    role: str | None = None
    q: str | None = None


class Collection:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @endpoint("List users", role="ADMIN", query=UserQuery, response=UserList)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: UserQuery = req.context.query
        query = User.select().order_by(User.id)
        if q.role:
            query = query.where(User.role == q.role)
        if q.q:
            query = query.where(User.email.contains(q.q) | User.name.contains(q.q))
        limit, offset = page(req)
        items = [to_dict(u) for u in query.limit(limit).offset(offset)]
        send(resp, {"items": items, "total": query.count()})

    @endpoint(
        "Create a user",
        role="ADMIN",
        body=UserCreate,
        response=UserOut,
        status=201,
        responses={409: "A user with this email exists"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: UserCreate = req.context.body
        user = self.users.create(
            email=body.email, password=body.password, name=body.name, role=body.role
        )
        audit.record(
            req.context.user,
            "user.create",
            f"user:{user.id}",
            ip=req.context.ip,
            details={"email": user.email, "role": user.role},
        )
        send(resp, to_dict(user), 201)


class Item:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @endpoint("Read a user", role="ADMIN", response=UserOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: int) -> None:
        send(resp, to_dict(self.users.get(user_id)))

    @endpoint(
        "Change a user",
        role="ADMIN",
        body=UserPatch,
        response=UserOut,
        description="Disabling a user or changing the password ends their sessions at once.",
        responses={409: "The email is taken, or you would demote or disable yourself"},
    )
    def on_patch(self, req: falcon.Request, resp: falcon.Response, user_id: int) -> None:
        changes = msgspec.structs.asdict(req.context.body)
        changes = {k: v for k, v in changes.items() if v is not msgspec.UNSET}
        user = self.users.update(req.context.user, user_id, changes)
        shown = {k: v for k, v in changes.items() if k != "password"}
        if "password" in changes:
            shown["password"] = "changed"
        audit.record(
            req.context.user, "user.update", f"user:{user_id}", ip=req.context.ip, details=shown
        )
        send(resp, to_dict(user))

    @endpoint(
        "Delete a user",
        role="ADMIN",
        status=204,
        responses={409: "You cannot delete yourself"},
    )
    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: int) -> None:
        user = self.users.delete(req.context.user, user_id)
        audit.record(
            req.context.user,
            "user.delete",
            f"user:{user_id}",
            ip=req.context.ip,
            details={"email": user.email},
        )
        resp.status = 204


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/users", Collection(hub.users))
    routes.add("/api/users/{user_id:int}", Item(hub.users))
