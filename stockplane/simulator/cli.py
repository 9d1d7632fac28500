"""`stockplane simulate`: a seeded retail estate's traffic, with faults and ground truth."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from stockplane.errors import InputError, UsageError
from stockplane.runtime import tune_for_throughput

from .estate import EstateOptions
from .faults import load_faults

if TYPE_CHECKING:
    from .arrivals import Block
    from .traffic import Simulation

simulate_app = typer.Typer(invoke_without_command=True)  # help: the callback's docstring


def parse_start(value: str | None, duration: dt.timedelta, *, now: dt.datetime | None = None) -> dt.datetime:
    """``--start``: an RFC 3339 instant (UTC if it names no offset); by default the
    window ends now (to the minute), so the history leads up to the present."""
    if value is None:
        current = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0)
        return current - duration
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--start: not an ISO 8601 date or time: {value!r}") from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def duration_of(days: float | None, hours: float | None) -> dt.timedelta:
    if hours is not None and days is not None:
        raise UsageError("give --days or --hours, not both")
    span = (
        dt.timedelta(hours=hours) if hours is not None else dt.timedelta(days=days if days is not None else 1)
    )
    if span <= dt.timedelta(0):
        raise UsageError("the simulated window must be longer than zero")
    return span


@simulate_app.callback()
def simulate(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(help="Write the events here (JSONL), in arrival order.")] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Write the ground truth here (JSONL, one line per transaction).")
    ] = None,
    to: Annotated[
        str | None, typer.Option(help="Send the events to this stockplane server (STOCKPLANE_API_KEY).")
    ] = None,
    stores: Annotated[int, typer.Option(min=1, help="Stores in the estate.")] = 400,
    days: Annotated[float | None, typer.Option(min=0, help="Days of traffic.", show_default="1")] = None,
    hours: Annotated[float | None, typer.Option(min=0, help="Hours of traffic, instead of --days.")] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Start of the window (ISO 8601, UTC unless it names an offset).",
            show_default="so that the window ends now",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed and options, same events.")] = 1,
    faults: Annotated[
        str | None,
        typer.Option(help="A YAML/JSON file of fault rates, or `none`.", show_default="the built-in rates"),
    ] = None,
    skus: Annotated[int, typer.Option(min=1, help="SKUs in the catalogue.")] = 3000,
    speed: Annotated[
        float,
        typer.Option(
            min=0, help="With --to: play simulated time this many times faster than real time (0: no pacing)."
        ),
    ] = 0.0,
    live: Annotated[
        bool, typer.Option(help="With --to: start now and send each event when it happens, in real time.")
    ] = False,
    otlp: Annotated[
        bool, typer.Option(help="With --to: send the middleware's events as OTLP spans to /v1/traces.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Processes generating traffic (the output is the same for any number).",
            show_default="every core when writing a file, else 1",
        ),
    ] = 0,
) -> None:
    """Write (or send) a seeded estate's events and the ground truth about each transaction.

    The estate has 400 stores (some uploading POS sales every 15 minutes), a web shop, two
    marketplaces behind a connector, an ERP with a nightly maintenance window, an OMS,
    three distribution centres and a returns service; all seven workflows of the policy
    pack run in realistic proportions, and faults are injected at their rates (see
    docs/simulator.md). Score the correlator afterwards with `stockplane simulate score`.
    """
    if ctx.invoked_subcommand is not None:
        return
    if out is None and to is None:
        raise UsageError("say where the events go: --out FILE, or --to URL")
    if (speed or live or otlp) and to is None:
        raise UsageError("--speed, --live and --otlp need --to URL")
    from policies import load_pack
    from stockplane.settings import get_settings

    from .traffic import Simulation, SimulationOptions

    span = duration_of(days, hours)
    begin = dt.datetime.now(dt.UTC) if live else parse_start(start, span)
    options = SimulationOptions(
        start=begin,
        end=begin + span,
        seed=seed,
        estate=EstateOptions(stores=stores, skus=skus),
        faults=load_faults(faults),
    )
    simulation = Simulation(options, load_pack(get_settings().policy_pack))
    pace = 1.0 if live else speed
    with ExitStack() as stack:
        truths = stack.enter_context(_open(truth)) if truth else None
        events = stack.enter_context(_open(out)) if out else None
        sender = _Sender(to, otlp=otlp) if to else None
        if sender is not None:
            stack.callback(sender.close)
        count = 0
        processes = workers or ((os.cpu_count() or 1) if to is None else 1)
        tune_for_throughput()  # and worker processes no longer copy the frozen objects
        pacer = _Pacer(begin, pace)
        for block in _progress(simulation, stack, processes):
            count += len(block)
            if events is not None:
                events.write(block.text)
            if sender is not None:
                for arrival, line in block.lines():
                    pacer.wait_for(arrival)
                    sender.add(line)
            if truths is not None:
                truths.write(simulation.drain_truth_lines())
        if sender is not None:
            sender.flush()
        if truths is not None:
            truths.write(simulation.drain_truth_lines())
    where = ", ".join(str(x) for x in (out, to) if x)
    typer.echo(
        f"{count} events from {simulation.transactions} transactions ({begin:%Y-%m-%d %H:%M} + {span}) to {where}"
    )


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("wb")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None


def _progress(simulation: Simulation, stack: ExitStack, workers: int) -> Iterator[Block]:
    """The simulation's blocks of events, moving a bar over the simulated window."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeRemainingColumn(),
    )
    progress = stack.enter_context(
        Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
    )
    start, end = simulation.options.start.timestamp(), simulation.options.end.timestamp()
    task = progress.add_task("simulating", total=end - start, events=0)
    events = 0
    for block in simulation.timed_blocks(workers=workers):
        if block:
            events += len(block)
            progress.update(task, completed=min(block.arrivals[-1], end) - start, events=events)
        yield block


class _Pacer:
    """Holds each event back until its arrival time, on a clock running ``pace`` times
    real time (0: no holding back)."""

    def __init__(self, begin: dt.datetime, pace: float) -> None:
        self._begin = begin.timestamp()
        self._pace = pace
        self._origin = time.monotonic()

    def wait_for(self, arrival: float) -> None:
        if self._pace <= 0:
            return
        wait = (arrival - self._begin) / self._pace - (time.monotonic() - self._origin)
        if wait > 0:
            time.sleep(wait)


class _Sender:
    """Batches events for ``POST /v1/events`` (and middleware spans for ``/v1/traces``)."""

    def __init__(self, url: str, *, otlp: bool, batch: int = 1000) -> None:
        from stockplane.client import Client

        self._client = Client(url)
        self._batch: list[bytes] = []
        self._size = batch
        self._last = time.monotonic()
        self._spans = None
        if otlp:
            from .otlp_spans import SpanSender

            self._spans = SpanSender(url)

    def add(self, line: bytes) -> None:
        if self._spans is not None and b'"system":"middleware"' in line:
            self._spans.send(orjson.loads(line))
            return
        self._batch.append(line)
        # a full batch, or a second's worth in a paced run: a live trickle is seen live
        if len(self._batch) >= self._size or time.monotonic() - self._last > 1:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if not self._batch:
            return
        body, self._batch = b"\n".join(self._batch), []
        self._client.post("/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"})

    def close(self) -> None:
        if self._spans is not None:
            self._spans.close()


@simulate_app.command("score")
def score_command(
    truth: Annotated[Path, typer.Option(help="The truth file `stockplane simulate --truth` wrote.")],
    bar: Annotated[
        float, typer.Option(min=0, max=1, help="Precision and recall every kind must reach.")
    ] = 0.98,
    as_json: Annotated[bool, typer.Option("--json", help="Print the score as JSON.")] = False,
) -> None:
    """Compare the correlator's verdicts in the database with the truth.

    Prints precision and recall for each state and each anomaly kind, and the confusion
    table of states. Exit 1 when any kind is below --bar.
    """
    from stockplane.database import Database
    from stockplane.settings import get_settings

    from .report import load_truths, load_verdicts, render

    if not truth.is_file():
        raise InputError(f"{truth}: no such file")
    from .score import score

    with Database(get_settings().database_url) as database, database.session() as session:
        verdicts = load_verdicts(session)
    result = score(load_truths(truth), verdicts)
    typer.echo(render(result, bar, as_json=as_json))
    raise typer.Exit(0 if result.meets(bar) else 1)
