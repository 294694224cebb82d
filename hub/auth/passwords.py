"""bcrypt hashing for user passwords and machine secrets.

bcrypt only reads 72 bytes: longer passwords are refused when set (400) and never match when
checked, so a long input can never be a prefix collision. An unknown account is checked against
a dummy hash so it answers in the same time as a wrong password.
"""

from __future__ import annotations

import functools

import bcrypt

MAX_BYTES = 72


def hash_secret(secret: str, rounds: int = 12) -> str:
    raw = secret.encode()
    if len(raw) > MAX_BYTES:
        raise ValueError(f"longer than {MAX_BYTES} bytes")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode()


def check_secret(secret: str, hashed: str | None, rounds: int = 12) -> bool:
    raw = secret.encode()
    target = hashed or dummy_hash(rounds)
    if len(raw) > MAX_BYTES:
        raw = raw[:MAX_BYTES]
        bcrypt.checkpw(raw, target.encode())  # same cost, never a match
        return False
    ok = bcrypt.checkpw(raw, target.encode())
    return ok and hashed is not None


@functools.cache
def dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"exekra-dummy-password", bcrypt.gensalt(rounds)).decode()
