"""Deprecation and sunset rules shared by operations, parameters and properties."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["parse_sunset", "removal_rule"]


def parse_sunset(value: Any) -> dt.date | None:
    """An ``x-sunset`` value as a date; raises ValueError when it is not RFC 3339."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"x-sunset {text!r} is not an RFC 3339 date") from None


def removal_rule(spec: dict[str, Any], prefix: str, today: dt.date) -> str:
    """Which rule a removal breaks: ``{prefix}-removed`` is fine only after deprecation and sunset."""
    if spec.get("deprecated") is not True:
        return f"{prefix}-removed-without-deprecation"
    try:
        sunset = parse_sunset(spec.get("x-sunset"))
    except ValueError:
        return f"{prefix}-removed-before-sunset"  # an unreadable sunset cannot have passed
    if sunset is not None and sunset > today:
        return f"{prefix}-removed-before-sunset"
    return f"{prefix}-removed"
