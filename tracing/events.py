"""The canonical event as the correlator sees it: the envelope's business facts, plus what
ingestion learnt about it (duplicate deliveries, contract violations)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAILURE_STATUSES", "Event", "event_from_envelope", "nul_fields"]

FAILURE_STATUSES = frozenset({"error", "dead_letter"})


@dataclass(frozen=True)
class Event:
    """One stored event. ``deliveries`` counts identical re-deliveries of the same
    ``event_id``; ``conflicting`` marks a re-delivery with different content."""

    event_id: str
    correlation_id: str
    type: str
    system: str
    occurred_at: dt.datetime
    status: str = "ok"
    instance: str = ""
    received_at: dt.datetime | None = None
    causation_id: str | None = None
    schema_version: str | None = None
    inventory_status: str | None = None
    channel: str | None = None
    location_id: str | None = None
    sku: str | None = None
    error_code: str | None = None
    traceparent: str | None = None
    """The W3C trace context of the span this event came from or was sent in."""
    deliveries: int = 1
    conflicting: bool = False
    violations: tuple[str, ...] = field(default_factory=tuple)  # contract problems found at ingestion
    retired_schema: bool = False


def _timestamp(value: Any, name: str) -> dt.datetime:
    # fromisoformat reads RFC 3339, "Z" included, since Python 3.11
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"{name} must carry a UTC offset (RFC 3339), got {value!r}")
    return parsed


def _key(value: Any) -> str | None:
    """Business keys are compared as text: a numeric store number and its string are one location."""
    return None if value is None else str(value)


def event_from_envelope(envelope: dict[str, Any], *, received_at: dt.datetime | None = None) -> Event:
    """Build an :class:`Event` from an already schema-validated envelope."""
    source = envelope.get("source") or {}
    error = envelope.get("error") or {}
    event = Event(
        event_id=str(envelope["event_id"]),
        correlation_id=str(envelope["correlation_id"]),
        type=str(envelope["type"]),
        system=str(source.get("system", "")),
        instance=str(source.get("instance", "")),
        occurred_at=_timestamp(envelope["occurred_at"], "occurred_at"),
        received_at=received_at,
        status=str(envelope.get("status", "ok")),
        causation_id=envelope.get("causation_id"),
        schema_version=envelope.get("schema_version"),
        inventory_status=envelope.get("inventory_status"),
        channel=_key(envelope.get("channel")),
        location_id=_key(envelope.get("location_id")),
        sku=_key(envelope.get("sku")),
        error_code=error.get("code") if isinstance(error, dict) else None,
        traceparent=envelope.get("traceparent"),
    )
    return event


def nul_fields(event: Event) -> list[str]:
    """The event's text fields holding a NUL character, which PostgreSQL cannot store and
    SQLite would: refused on both."""
    return [name for name, value in vars(event).items() if isinstance(value, str) and "\x00" in value]
