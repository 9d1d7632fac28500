"""API keys and roles. A key is shown once; only its SHA-256 hash is stored (keys are 256
random bits, so a fast hash is safe where a password would need a slow one)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .database import Base, UtcDateTime
from .errors import Conflict, NotFound, Unauthorized
from .roles import Role

__all__ = ["ApiKey", "Principal", "Role", "authenticate", "create_key", "list_keys", "revoke_key"]


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: recorded in the audit log with every write."""

    key_id: int | None
    name: str
    role: Role

    def has(self, role: Role) -> bool:
        return self.role is Role.ADMIN or self.role is role


ANONYMOUS = Principal(None, "anonymous", Role.VIEWER)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, name: str, role: Role) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored or shown again."""
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise Conflict(f"an API key named {name!r} already exists")
    prefix = secrets.token_hex(4)
    plaintext = f"sp_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name,
        role=role.value,
        prefix=prefix,
        key_hash=_hash(plaintext),
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(key)
    session.flush()
    return key, plaintext


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, *, name: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(f"no API key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = dt.datetime.now(dt.UTC)
    return key


def authenticate(session: Session, authorization: str | None) -> Principal:
    """The principal behind an ``Authorization: Bearer KEY`` header, or 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized(
            "send an API key as `Authorization: Bearer KEY` (create one with `stockplane keys create`)"
        )
    plaintext = authorization[7:].strip()
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != "sp":
        raise Unauthorized("the API key is malformed")
    digest = _hash(plaintext)
    for key in session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])):
        if hmac.compare_digest(key.key_hash, digest):
            if key.revoked_at is not None:
                raise Unauthorized(f"the API key {key.name!r} was revoked")
            return Principal(key.id, key.name, Role(key.role))
    raise Unauthorized("the API key is not valid")
