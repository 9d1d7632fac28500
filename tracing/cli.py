"""`stockplane ingest` and `stockplane trace`: feed events in, follow transactions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from stockplane.errors import DocumentError, UsageError
from stockplane.runtime import tune_for_throughput
from stockplane.settings import get_settings

Sender = Callable[[list[Any]], dict[str, Any]]
"""Stores or sends one batch; answers with accepted, duplicates and rejected."""

trace_app = typer.Typer(help="Follow inventory transactions across systems.", no_args_is_help=True)


def _batches(
    path: Path, size: int, progress: Progress, task: Any, problems: list[str]
) -> Iterator[list[tuple[int, Any]]]:
    """``(line number, event)`` pairs one batch at a time (memory stays flat); lines that
    are not JSON go straight to ``problems``."""
    batch: list[tuple[int, Any]] = []
    read = 0  # bytes since the bar last moved: moving it per line cost more than parsing
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            read += len(line)
            if not line.strip():
                continue
            try:
                batch.append((number, orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                problems.append(f"line {number}: not JSON ({exc.msg})")
                continue
            if len(batch) >= size:
                progress.update(task, advance=read)
                read = 0
                yield batch
                batch = []
    progress.update(task, advance=read)
    if batch:
        yield batch


def ingest(
    file: Annotated[Path, typer.Argument(help="A JSONL file: one envelope event per line.")],
    url: Annotated[
        str | None, typer.Option(help="Send to this server (default: store in the local database).")
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            min=1, max=10_000, help="Events per batch: one commit (and one request) each; larger is faster."
        ),
    ] = 5000,
) -> None:
    """Import events from a batch or flat-file system (late POS uploads, ERP exports).

    Safe to re-run after a crash: an event already stored is counted as a duplicate, never
    stored twice. Exit 1 when some lines were rejected (each is listed).
    """
    if not file.is_file():
        raise DocumentError(str(file), "not a file" if file.exists() else "no such file")
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    problems: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    console = Console(stderr=True)
    with (
        ExitStack() as stack,
        Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress,
    ):
        send = _remote(url) if url else stack.enter_context(_local())
        tune_for_throughput()
        task = progress.add_task(f"ingesting {file.name}", total=file.stat().st_size)
        for numbered in _batches(file, batch, progress, task, problems):
            result = send([event for _, event in numbered])
            totals["accepted"] += result["accepted"]
            totals["duplicates"] += result["duplicates"]
            problems += [
                f"line {numbered[r['index']][0]}: {'; '.join(r['errors'])}" for r in result["rejected"]
            ]
    totals["rejected"] = len(problems)
    for problem in problems[:50]:
        typer.echo(problem, err=True)
    if len(problems) > 50:
        typer.echo(f"… and {len(problems) - 50} more rejected", err=True)
    typer.echo(
        f"{totals['accepted']} stored, {totals['duplicates']} already stored, {totals['rejected']} rejected"
    )
    raise typer.Exit(1 if problems else 0)


@contextmanager
def _local() -> Iterator[Sender]:
    """Stores batches in the local database, closed again when the import ends."""
    from policies import load_pack
    from stockplane.database import Database
    from stockplane.migrate import require_migrated

    from .ingest import ingest as store

    settings = get_settings()
    pack = load_pack(settings.policy_pack)

    def send(items: list[Any]) -> dict[str, Any]:
        with database.session() as session:
            result = store(session, items, pack=pack, now=dt.datetime.now(dt.UTC))
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [{"index": r.index, "errors": r.errors} for r in result.rejected],
        }

    with Database(settings.database_url) as database:
        require_migrated(database, auto=settings.auto_migrate)
        yield send


def _remote(url: str) -> Sender:
    from stockplane.client import Client

    client = Client(url)

    def send(items: list[Any]) -> dict[str, Any]:
        body = b"\n".join(orjson.dumps(item) for item in items)
        result: dict[str, Any] = client.post(
            "/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"}
        )
        return result

    return send


_SINCE = re.compile(r"^(\d+)([smhd])$")


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    match = _SINCE.match(text.strip())
    if not match:
        raise UsageError(f"--since takes an age such as 30m, 1h or 2d, not {text!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(match.group(1))})


@trace_app.command("list")
def trace_list(
    state: Annotated[str | None, typer.Option(help="completed, in_progress, stalled or failed.")] = None,
    workflow: Annotated[str | None, typer.Option(help="e.g. store_sale.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only transactions started within this age, e.g. 1h.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="Touched by this source system, e.g. erp.")] = None,
    channel: Annotated[str | None, typer.Option(help="Touching this channel.")] = None,
    location: Annotated[str | None, typer.Option(help="Touching this location_id.")] = None,
    sku: Annotated[str | None, typer.Option(help="Touching this SKU.")] = None,
    anomaly: Annotated[str | None, typer.Option(help="With this anomaly, e.g. duplicate.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """List transactions, newest first (from the server at STOCKPLANE_URL)."""
    from stockplane.client import Client

    cutoff = _since(since)
    filters = {
        "state": state,
        "workflow": workflow,
        "since": cutoff.isoformat() if cutoff else None,
        "system": system,
        "channel": channel,
        "location": location,
        "sku": sku,
        "anomaly": anomaly,
        "limit": limit,
    }
    page = Client().get("/v1/transactions", params={k: v for k, v in filters.items() if v is not None})
    items = page["items"]
    if output_format == "json":
        typer.echo(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode())
        return
    for t in items:
        anomalies = ",".join(t["anomalies"]) or "-"
        typer.echo(
            f"{t['started_at'][:19]}  {t['state']:<11} {t['workflow'] or '?':<18} {t['correlation_id']:<32} {anomalies}"
        )


@trace_app.command("show")
def trace_show(
    correlation_id: str,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """A transaction's timeline: every event, what is missing, what is odd."""
    from stockplane.client import Client

    found = Client().get(f"/v1/transactions/{correlation_id}")
    if output_format == "json":
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    typer.echo(f"{found['correlation_id']}  {found['workflow'] or 'unknown workflow'}  [{found['state']}]")
    if found["failure"]:
        typer.echo(f"  failure: {found['failure']}")
    for event in found["events"]:
        typer.echo(
            f"  +{event['from_start_ms'] / 1000:>8.1f}s  (+{event['from_previous_ms'] / 1000:.1f}s)  "
            f"{event['system']:<12} {event['type']:<26} {event['status']:<11} {event['instance']}"
        )
        if event.get("traceparent"):
            typer.echo(f"             trace {event['traceparent']}")
    for step in found["missing"]:
        due = step["due_at"][:19] if step["due_at"] else "no deadline"
        senders = ", ".join(step.get("instances") or step["systems"]) or "any system"
        typer.echo(f"  missing: {step['type']} from {senders}, due {due}{' (late)' if step['late'] else ''}")
    for anomaly in found["details"]:
        typer.echo(f"  anomaly: {anomaly['kind']}: {anomaly['message']}")


@trace_app.command("sweep")
def trace_sweep() -> None:
    """Mark in-progress transactions past a deadline as stalled (schedule it, e.g. every 30 s)."""
    from policies import load_pack
    from stockplane.database import Database
    from stockplane.migrate import require_migrated

    from .jobs import sweep_stalled

    settings = get_settings()
    pack = load_pack(settings.policy_pack)
    with Database(settings.database_url) as database:
        require_migrated(database, auto=False)
        with database.session() as session:
            changed = sweep_stalled(session, pack=pack, now=dt.datetime.now(dt.UTC))
    typer.echo(f"{changed} transaction(s) changed state")
