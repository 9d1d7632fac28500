"""The ``stockplane`` command: one root, a sub-command group per domain package.

Errors meant for people (:class:`AppError`, usage mistakes) print one line on stderr and
exit 2; exit 1 is kept for "the check found problems". So do the failures of the world
around a command: a database that cannot be opened or is not migrated, a file that cannot
be read or written. A bug still shows its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from typer.exceptions import TyperException

from policies.cli import app as policy_app
from registry.cli import app as contracts_app
from sla.cli import sla_app
from stockplane import __version__
from stockplane.admin_cli import audit, db_app, keys_app, serve
from stockplane.demo import demo
from stockplane.errors import AppError
from stockplane.simulator.cli import simulate_app
from tracing.cli import ingest, trace_app

app = typer.Typer(
    help="stockplane: governance and observability for retail inventory integration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(contracts_app, name="contracts")
app.add_typer(policy_app, name="policy")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.command()(serve)
app.command()(audit)
app.command()(ingest)
app.add_typer(trace_app, name="trace")
app.add_typer(simulate_app, name="simulate")
app.add_typer(sla_app, name="sla")
app.command()(demo)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stockplane {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run `stockplane COMMAND --help` for the options of each command."""


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code instead of raising."""
    try:
        result = app(
            args=list(argv) if argv is not None else None, prog_name="stockplane", standalone_mode=False
        )
    except typer.Exit as exc:
        return exc.exit_code
    except TyperException as exc:  # usage errors: bad options or arguments
        print(f"stockplane: error: {exc.format_message()}", file=sys.stderr)
        return 2
    except typer.Abort:
        print("stockplane: interrupted", file=sys.stderr)
        return 130
    except AppError as exc:
        print(f"stockplane: error: {exc.message}", file=sys.stderr)
        return 2
    except RecursionError:
        print("stockplane: error: the input is nested too deeply to process", file=sys.stderr)
        return 2
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        print(f"stockplane: error: {message}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


def explain(exc: BaseException) -> str | None:
    """One line for a failure of the environment, or None for what must stay a traceback."""
    if "sqlalchemy" in sys.modules:  # loaded only by the commands that use a database
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            return _database_problem(exc)
    if isinstance(exc, UnicodeError):
        return f"the input is not UTF-8 text ({exc})"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return None


# SQLite says "no such table"; PostgreSQL raises undefined_table (42P01) or undefined_column
_NOT_MIGRATED = ("no such table", "no such column")
_UNDEFINED = ("42P01", "42703")


def _database_problem(exc: Exception) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from .settings import get_settings

    try:
        url = make_url(get_settings().database_url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is what the message is about
        url = "STOCKPLANE_DATABASE_URL"
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    detail = " ".join(str(cause).split()) or type(cause).__name__
    if getattr(cause, "sqlstate", None) in _UNDEFINED or any(phrase in detail for phrase in _NOT_MIGRATED):
        return (
            f"the database {url} is not migrated for this version ({detail[:120]}): "
            "run `stockplane db upgrade`"
        )
    return f"cannot use the database {url}: {detail[:300]}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
