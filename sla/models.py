"""What the SLA evaluator stores: per-transaction facts, per-minute SLO rollups, evaluations.

Facts and rollups are derived data, recomputed for the minutes whose transactions changed
since the last refresh (a watermark), so no evaluation rescans raw events and a refresh
that runs twice writes the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stockplane.database import Base, UtcDateTime

__all__ = ["SlaWatermark", "SloEvaluation", "SloMinute", "TransactionFacts"]


class TransactionFacts(Base):
    """One transaction as the indicators see it (see :class:`sla.indicators.Facts`)."""

    __tablename__ = "sla_transaction_facts"
    __table_args__ = (Index("ix_sla_transaction_facts_started", "started_at", "workflow"),)

    correlation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    workflow: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(64), default=None)
    system: Mapped[str | None] = mapped_column(String(64), default=None)
    location_id: Mapped[str | None] = mapped_column(String(64), default=None)
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    book_quantity: Mapped[float | None] = mapped_column(Float, default=None)
    counted_quantity: Mapped[float | None] = mapped_column(Float, default=None)
    abc_class: Mapped[str | None] = mapped_column(String(8), default=None)
    accepted_order: Mapped[bool] = mapped_column(Boolean, default=False)
    oversold: Mapped[bool] = mapped_column(Boolean, default=False)


class SloMinute(Base):
    """Good and total events of one SLO series in one minute (by transaction start)."""

    __tablename__ = "sla_slo_minute"

    slo: Mapped[str] = mapped_column(String(100), primary_key=True)
    series: Mapped[str] = mapped_column(String(300), primary_key=True)
    minute: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    good: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)


class SloEvaluation(Base):
    """One SLO series evaluated at one moment, with the pack version that defined it."""

    __tablename__ = "sla_slo_evaluation"
    __table_args__ = (Index("ix_sla_slo_evaluation_slo_at", "slo", "evaluated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slo: Mapped[str] = mapped_column(String(100))
    series: Mapped[str] = mapped_column(String(300))
    evaluated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    policy_pack: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(24))
    good: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    attainment: Mapped[float | None] = mapped_column(Float, default=None)
    budget_remaining: Mapped[float | None] = mapped_column(Float, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Budget, burn rate per alert window, forecast and the calendar views."""


class SlaWatermark(Base):
    """Up to when transaction changes have been folded into the facts and rollups."""

    __tablename__ = "sla_watermark"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
