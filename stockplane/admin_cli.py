"""Kernel commands: run the server, migrate the database, manage API keys, read the audit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from .roles import Role
from .settings import get_settings

if TYPE_CHECKING:
    from .database import Database

# The database layer (SQLAlchemy, Alembic) and the HTTP client load inside the commands
# that need them, so offline commands such as `contracts diff` start quickly.

db_app = typer.Typer(help="Migrate the database (STOCKPLANE_DATABASE_URL).", no_args_is_help=True)
keys_app = typer.Typer(
    help="Create, list and revoke API keys (directly in the database).", no_args_is_help=True
)


def _database() -> Database:
    from .database import Database

    return Database(get_settings().database_url)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    from .migrate import current_revision, upgrade

    with _database() as database:
        before = current_revision(database)
        upgrade(database)
        after = current_revision(database)
    typer.echo(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration and the one this code needs."""
    from .migrate import current_revision, head_revision

    with _database() as database:
        revision = current_revision(database)
    typer.echo(f"database: {revision or 'empty'}; code needs: {head_revision()}")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, architect, ingest or viewer.")],
    name: Annotated[str, typer.Option(help="A name for the key's owner, shown in the audit log.")],
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from .auth import create_key
    from .migrate import require_migrated

    with _database() as database:
        require_migrated(database, auto=get_settings().auto_migrate)
        with database.session() as session:
            _, plaintext = create_key(session, name=name, role=role)
    typer.echo(plaintext)
    typer.echo(f"created {role.value} key {name!r}; store it now, it cannot be shown again", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from .auth import list_keys
    from .migrate import require_migrated

    with _database() as database:
        require_migrated(database, auto=False)
        with database.session() as session:
            keys = list_keys(session)
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            typer.echo(f"{key.name:<24} {key.role:<10} sp_{key.prefix}_…  {state}")


@keys_app.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    from .auth import revoke_key
    from .migrate import require_migrated

    with _database() as database:
        require_migrated(database, auto=False)
        with database.session() as session:
            revoke_key(session, name=name)
    typer.echo(f"revoked {name!r}")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (stateless; share the database).")
    ] = 1,
) -> None:
    """Run the HTTP API with uvicorn. Refuses an un-migrated database (see `db upgrade`)."""
    import uvicorn

    from .migrate import require_migrated

    settings = get_settings()
    with _database() as database:
        require_migrated(database, auto=settings.auto_migrate)
    # A client that stalls mid-upload must not hold SIGTERM for as long as it likes: past
    # the grace period the remaining requests are cancelled and the process exits.
    uvicorn.run(
        "stockplane.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        timeout_keep_alive=settings.server.keep_alive_seconds,
        timeout_graceful_shutdown=settings.server.graceful_shutdown_seconds,
    )


def audit(
    actor: Annotated[str | None, typer.Option(help="Only this key name.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. contract.version.registered.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Only targets starting with this, e.g. a contract name.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Entries to show, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's JSON answer.")] = False,
) -> None:
    """Read the audit trail from the running server (STOCKPLANE_URL, STOCKPLANE_API_KEY)."""
    from .client import Client

    params = {
        k: v
        for k, v in {"actor": actor, "action": action, "target": target, "limit": limit}.items()
        if v is not None
    }
    page = Client().get("/v1/audit", params=params)
    if as_json:
        typer.echo(orjson.dumps(page, option=orjson.OPT_INDENT_2).decode())
        return
    for entry in page["items"]:
        summary = orjson.dumps(entry["summary"]).decode()
        typer.echo(
            f"{entry['at'][:19]}  {entry['actor']:<16} {entry['action']:<28} {entry['target']:<40} {summary}"
        )
