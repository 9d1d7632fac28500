"""Alembic environment: runs against the connection stockplane hands it (see stockplane/migrate.py)."""

from __future__ import annotations

from alembic import context

import registry.models  # noqa: F401  (registers the registry tables)
import sla.models  # noqa: F401
import stockplane.audit
import stockplane.auth  # noqa: F401
import tracing.models  # noqa: F401
from stockplane.database import Base

target_metadata = Base.metadata
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
