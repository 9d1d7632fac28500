"""Stored contracts, their immutable versions and the systems that consume them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stockplane.database import Base, UtcDateTime

__all__ = ["Consumer", "Contract", "ContractVersion"]


class Contract(Base):
    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    compatibility_mode: Mapped[str] = mapped_column(String(32))
    compatibility_policy: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))

    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", order_by="ContractVersion.id"
    )


class ContractVersion(Base):
    """One version; its content never changes once stored (identified by its hash)."""

    __tablename__ = "contract_version"
    __table_args__ = (
        UniqueConstraint("contract_id", "version"),
        UniqueConstraint("contract_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    patch: Mapped[int] = mapped_column(Integer)
    # The documents are large: loaded only when read (listing versions must stay cheap).
    content_text: Mapped[str] = mapped_column(Text, deferred=True)
    canonical_json: Mapped[str] = mapped_column(Text, deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="active")
    sunset_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    replacement: Mapped[str | None] = mapped_column(String(64), default=None)
    changelog: Mapped[list[Any]] = mapped_column(JSON, default=list)
    policy_pack: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))

    contract: Mapped[Contract] = relationship(back_populates="versions")

    @property
    def ordering(self) -> tuple[int, int, int]:
        return self.major, self.minor, self.patch


class Consumer(Base):
    """A system that reads a contract, at a version or a range, in one environment."""

    __tablename__ = "consumer"
    __table_args__ = (UniqueConstraint("contract_id", "system", "environment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(128))
    environment: Mapped[str] = mapped_column(String(64))
    versions: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
