"""``stockplane sla``: refresh the rollups, evaluate the pack's SLOs and show their status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated

import typer

from stockplane.api import parse_rfc3339
from stockplane.settings import get_settings

from .evaluation import SeriesStatus

sla_app = typer.Typer(
    help="Service-level objectives: evaluate the policy pack's SLOs and show budgets and alerts.",
    no_args_is_help=True,
)

_AT_HELP = "Evaluate as of this RFC 3339 time (default: now), e.g. 2026-12-01T09:00:00Z."


def _moment(text: str | None) -> dt.datetime:
    """``--at`` as an instant; a time without its UTC offset is refused (exit 2), not guessed."""
    return dt.datetime.now(dt.UTC) if text is None else parse_rfc3339(text)


def _run(at: dt.datetime, *, store: bool) -> list[SeriesStatus]:
    from policies import load_pack
    from stockplane.database import Database
    from stockplane.migrate import require_migrated

    from .service import evaluate, refresh

    settings = get_settings()
    pack = load_pack(settings.policy_pack)
    with Database(settings.database_url) as database:
        require_migrated(database, auto=settings.auto_migrate)
        with database.session(write=True) as session:
            refresh(session, pack, at)
            return evaluate(session, pack, at, store=store)


def render(statuses: Sequence[SeriesStatus]) -> list[str]:
    """The SLO table: one line per series, budget left and what fires."""
    lines = [
        f"{'SLO':<36} {'series':<28} {'state':<17} {'attained':>9} {'target':>7} {'budget left':>12}  firing"
    ]
    for status in statuses:
        rolling = status.rolling
        attained = "-" if rolling.attainment is None else f"{rolling.attainment:.2%}"
        left = "-" if rolling.remaining_share is None else f"{rolling.remaining_share:.0%}"
        lines.append(
            f"{status.slo:<36} {status.series or '(all)':<28} {status.state:<17} {attained:>9} "
            f"{rolling.target:>7.2%} {left:>12}  {', '.join(status.firing) or '-'}"
        )
    return lines


@sla_app.command("evaluate")
def sla_evaluate(at: Annotated[str | None, typer.Option(help=_AT_HELP)] = None) -> None:
    """Fold changed transactions into the rollups, evaluate every SLO and store the result."""
    statuses = _run(_moment(at), store=True)
    for line in render(statuses):
        typer.echo(line)


@sla_app.command("status")
def sla_status(at: Annotated[str | None, typer.Option(help=_AT_HELP)] = None) -> None:
    """Show every SLO's attainment, budget left and firing alerts without storing anything.

    Exits 1 when any SLO is breached (for scripts and CI), 0 otherwise.
    """
    statuses = _run(_moment(at), store=False)
    for line in render(statuses):
        typer.echo(line)
    if any(status.state == "breached" for status in statuses):
        raise typer.Exit(1)
