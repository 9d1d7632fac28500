"""Database migrations with Alembic, configured in code (no alembic.ini to ship)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .database import Database
from .errors import AppError

__all__ = ["NotMigrated", "current_revision", "head_revision", "require_migrated", "upgrade"]

_SCRIPTS = Path(__file__).resolve().parent / "migrations"


class NotMigrated(AppError):
    status = 503
    problem = "database-not-migrated"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default), in one transaction."""
    config = _config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def require_migrated(database: Database, *, auto: bool) -> None:
    """Refuse to serve an out-of-date schema, or bring it up to date when told to."""
    current, head = current_revision(database), head_revision()
    if current == head:
        return
    if auto:
        upgrade(database)
        return
    raise NotMigrated(
        f"the database is at migration {current or 'none (empty)'}, the code needs {head}: "
        "run `stockplane db upgrade` (or set STOCKPLANE_AUTO_MIGRATE=true)"
    )
