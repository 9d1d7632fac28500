"""Stored events and the transactions they form.

Events are stored once per ``event_id`` with their raw envelope; re-deliveries only bump a
counter (or flag a conflict). Each transaction row is the correlator's latest verdict, so
lists and filters never re-correlate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stockplane.database import Base, UtcDateTime

__all__ = ["SchemaUsage", "StoredEvent", "TransactionRecord"]


class StoredEvent(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    correlation_id: Mapped[str] = mapped_column(String(128), index=True)
    type: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    schema_version: Mapped[str | None] = mapped_column(String(32), default=None)
    inventory_status: Mapped[str | None] = mapped_column(String(32), default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    # business keys, for "which transactions touched this SKU / store / channel?"
    channel: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    location_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    sku: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    traceparent: Mapped[str | None] = mapped_column(String(55), default=None)  # W3C trace context
    content_hash: Mapped[str] = mapped_column(String(64))
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    conflicting: Mapped[bool] = mapped_column(Boolean, default=False)
    violations: Mapped[list[Any]] = mapped_column(JSON, default=list)  # payload vs its contract
    retired_schema: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, deferred=True)


class TransactionRecord(Base):
    __tablename__ = "inventory_transaction"
    # "the newest failed (or stalled) transactions" is the on-call engineer's first query:
    # read it straight off an index instead of sorting every failed transaction ever seen
    __table_args__ = (
        Index("ix_inventory_transaction_state_started", "state", "started_at", "correlation_id"),
    )

    correlation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    workflow: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)  # the SLA refresh
    event_count: Mapped[int] = mapped_column(Integer)
    anomalies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    failure: Mapped[str | None] = mapped_column(Text, default=None)
    sync_latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    resolution: Mapped[str | None] = mapped_column(String(16), default=None)  # acknowledged | resolved
    resolution_note: Mapped[str | None] = mapped_column(Text, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)


class SchemaUsage(Base):
    """Which schema version of a contract each system actually sends: the registry's answer
    to "who still sends inventory.adjusted 1.x?"."""

    __tablename__ = "schema_usage"
    __table_args__ = (UniqueConstraint("contract", "system", "schema_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(String(200), index=True)
    system: Mapped[str] = mapped_column(String(64))
    schema_version: Mapped[str] = mapped_column(String(32))
    events: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
