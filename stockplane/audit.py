"""The audit log: every write, who made it (key name and id), when, what and under which
policy pack. Append-only: nothing in stockplane updates or deletes an entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .auth import Principal
from .database import Base, UtcDateTime

__all__ = ["AuditEntry", "query_audit", "record"]


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    actor_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(300), index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy_pack: Mapped[str | None] = mapped_column(String(128), default=None)


def record(
    session: Session,
    principal: Principal,
    action: str,
    target: str,
    summary: dict[str, Any],
    *,
    policy_pack: str | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction, so it commits or rolls back with the change."""
    entry = AuditEntry(
        at=dt.datetime.now(dt.UTC),
        actor_key_id=principal.key_id,
        actor=principal.name,
        action=action,
        target=target,
        summary=summary,
        policy_pack=policy_pack,
    )
    session.add(entry)
    return entry


def query_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Newest first; ``after_id`` is the cursor (entries older than it)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target.startswith(target, autoescape=True))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if after_id is not None:
        query = query.where(AuditEntry.id < after_id)
    return list(session.scalars(query))
