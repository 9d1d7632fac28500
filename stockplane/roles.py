"""API-key roles (kept apart from :mod:`stockplane.auth` so the CLI can name them without
loading the database layer)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """What a key may do. ``admin`` may do everything the others may."""

    ADMIN = "admin"
    ARCHITECT = "architect"
    INGEST = "ingest"
    VIEWER = "viewer"
