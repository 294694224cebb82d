"""Users: the first admin, sign-in, and CRUD by administrators."""

from __future__ import annotations

import re
from typing import Any

import peewee

from .. import errors
from ..auth import passwords
from ..models import ROLES, User, iso, utcnow

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise errors.ValidationFailed(f"{email!r} is not a valid email address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise errors.ValidationFailed(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password.encode()) > passwords.MAX_BYTES:
        raise errors.ValidationFailed(f"the password is longer than {passwords.MAX_BYTES} bytes")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise errors.ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    return role


def to_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
    }


class UserService:
    def __init__(self, bcrypt_rounds: int) -> None:
        self.rounds = bcrypt_rounds

    def create(self, *, email: str, password: str, name: str, role: str = "OPERATOR") -> User:
        email = normalise_email(email)
        check_password(password)
        check_role(role)
        if not name.strip():
            raise errors.ValidationFailed("name must not be empty")
        try:
            return User.create(
                email=email,
                name=name.strip(),
                role=role,
                password_hash=passwords.hash_secret(password, self.rounds),
            )
        except peewee.IntegrityError:
            raise errors.Conflict(f"a user with email {email} exists", code="email_taken") from None

    def authenticate(self, email: str, password: str) -> User:
        user = User.get_or_none(User.email == email.strip().lower())
        ok = passwords.check_secret(password, user.password_hash if user else None, self.rounds)
        if not ok or user is None or not user.active:
            raise errors.Unauthorized("wrong email or password", code="bad_credentials")
        User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
        return user

    def sign_in(self, email: str, password: str, limiter: Any, limit: int) -> User:
        """``authenticate`` with a limit of failed attempts per account (per minute, shared by
        the API and the web view, whatever address they come from): past it, 429 before any
        password is checked."""
        key = "signin:" + email.strip().lower()[:254]
        retry = limiter.blocked(key, limit)
        if retry is not None:
            raise errors.RateLimited(
                retry, f"too many failed sign-ins for this account; try again in {retry} s"
            )
        try:
            return self.authenticate(email, password)
        except errors.Unauthorized:
            limiter.hit(key, limit=limit)
            raise

    def get(self, user_id: int) -> User:
        user = User.get_or_none(User.id == user_id)
        if user is None:
            raise errors.NotFound(f"no user {user_id}")
        return user

    def update(self, actor: User, user_id: int, changes: dict[str, Any]) -> User:
        user = self.get(user_id)
        fields: dict[str, Any] = {"updated_at": utcnow()}
        revoke = False
        if "email" in changes:
            fields["email"] = normalise_email(changes["email"])
        if "name" in changes:
            if not changes["name"].strip():
                raise errors.ValidationFailed("name must not be empty")
            fields["name"] = changes["name"].strip()
        if "role" in changes:
            fields["role"] = check_role(changes["role"])
        if "password" in changes:
            check_password(changes["password"])
            fields["password_hash"] = passwords.hash_secret(changes["password"], self.rounds)
            revoke = True
        if "active" in changes:
            fields["active"] = bool(changes["active"])
            revoke = revoke or not changes["active"]
        if user.id == actor.id and (
            fields.get("role", user.role) != "ADMIN" or fields.get("active", True) is False
        ):
            raise errors.Conflict(
                "you cannot demote or disable yourself; ask another administrator",
                code="self_lockout",
            )
        if revoke:
            fields["token_version"] = User.token_version + 1
        try:
            User.update(fields).where(User.id == user.id).execute()
        except peewee.IntegrityError:
            raise errors.Conflict("a user with that email exists", code="email_taken") from None
        return self.get(user.id)

    def delete(self, actor: User, user_id: int) -> User:
        user = self.get(user_id)
        if user.id == actor.id:
            raise errors.Conflict("you cannot delete yourself", code="self_lockout")
        user.delete_instance()
        return user
