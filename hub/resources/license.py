"""``/api/license`` (status, activation, renewal) and ``/api/setup/admin`` (the first admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import msgspec
import peewee

from .. import errors
from ..api import Routes, endpoint, read_body, send
from ..models import User
from ..services import audit
from ..services.license import RUNNABLE, LicenseService, LicenseState
from ..services.users import UserService
from ..services.users import to_dict as user_dict

if TYPE_CHECKING:
    from ..app import Hub


class LicenseOut(LicenseState):
    # the service's own state, under the name the OpenAPI document has always used
    pass


class AdminSetup(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str
    name: str


class LicenseResource:
    def __init__(self, license: LicenseService) -> None:
        self.license = license

    @endpoint(
        "License status (details for ADMIN)",
        auth="public",
        response=LicenseOut,
        description="Anyone sees the status; an ADMIN also sees organisation, email, runner "
        "limit and expiry.",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = self.license.current()
        user = req.context.auth.optional_user(req)
        send(resp, state.details() if user and user.role == "ADMIN" else state.public())

    @endpoint(
        "Activate or renew the license",
        auth="public",
        raw_body=True,
        body_content_type="text/plain",
        response=LicenseOut,
        description="Body: the content of the .lic file. Public while no user exists (first "
        "activation, before the first admin); after that only an ADMIN may renew.",
        responses={400: "Not a valid license (bad signature, malformed, expired)"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = None
        if User.select().exists():
            actor = req.context.auth.current_user(req)
            if actor.role != "ADMIN":
                raise errors.Forbidden("only an ADMIN may renew the license")
        raw = read_body(req, req.context.max_body_bytes)
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise errors.BadRequest("the license file must be UTF-8 text") from None
        if text.lstrip().startswith('"'):  # a JSON-encoded string of the file content
            try:
                text = msgspec.json.decode(text.encode(), type=str)
            except msgspec.DecodeError:
                pass
        state = self.license.activate(text)
        audit.record(
            actor,
            "license.activate",
            f"license:{state.license_id}",
            ip=req.context.ip,
            details={"organization": state.organization, "expires_at": state.expires_at},
        )
        send(resp, state.details())


class SetupAdminResource:
    def __init__(
        self,
        license: LicenseService,
        users: UserService,
        database: peewee.Database,
    ) -> None:
        self.license = license
        self.users = users
        self.database = database

    @endpoint(
        "Create the first administrator",
        auth="public",
        body=AdminSetup,
        status=201,
        description="Only while no user exists and the license is active; the email must be "
        "the license's.",
        responses={409: "A user already exists", 403: "No active license / wrong email"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: AdminSetup = req.context.body
        if User.select().exists():
            raise errors.Conflict("the first administrator already exists", code="setup_done")
        state = self.license.current(fresh=True)
        if state.status not in RUNNABLE:
            raise errors.LicenseForbids(f"activate a license first (status: {state.status})")
        if body.email.strip().lower() != (state.email or "").lower():
            raise errors.Forbidden(
                "the first administrator's email must be the license's email",
                code="email_mismatch",
            )
        db = self.database
        with db.atomic():
            if User.select().exists():
                raise errors.Conflict("the first administrator already exists", code="setup_done")
            user = self.users.create(
                email=body.email, password=body.password, name=body.name, role="ADMIN"
            )
            audit.record(user, "setup.admin", f"user:{user.id}", ip=req.context.ip)
        send(resp, user_dict(user), 201)


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/license", LicenseResource(hub.license))
    routes.add("/api/setup/admin", SetupAdminResource(hub.license, hub.users, hub.database))
