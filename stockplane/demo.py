"""`stockplane demo`: the whole product on a simulated estate, on an embedded database.

1. creates a SQLite database under ``./.stockplane-demo/`` and migrates it;
2. loads the policy pack, registers its canonical contracts (deprecating and retiring old
   versions, and showing the registry refuse a breaking change), registers consumers;
3. simulates the last few hours of the estate with faults and ingests them through the
   real ingestion path;
4. runs the stall sweep (and the SLA evaluation, once it exists) and scores the
   correlator's verdicts against the simulator's truth;
5. unless ``--no-serve``: serves the API and keeps a live trickle of traffic flowing until
   Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .errors import AppError, Conflict, UsageError
from .settings import get_settings

if TYPE_CHECKING:  # the rest is imported when the demo runs: every command starts faster
    from sqlalchemy.orm import Session

    from policies import PolicyPack

    from .auth import Principal
    from .database import Database
    from .settings import Settings
    from .simulator.traffic import Simulation
    from .simulator.truth import Truth

__all__ = ["demo"]

Say = Callable[[str], None]


@dataclass(frozen=True)
class Consumer:
    contract: str
    system: str
    versions: str


CONSUMERS = (
    Consumer("pos.sale", "erp", ">=1.0,<3"),
    Consumer("inventory.adjusted", "oms", ">=2.0,<3"),
    Consumer("availability.published", "marketplace-connector", "==1.*"),
    Consumer("inventory-availability", "webshop", "==1.*"),
    Consumer("marketplace-order-intake", "marketplace-connector", "==1.*"),
)


def demo(
    hours: Annotated[float, typer.Option(min=0.1, help="Hours of history to simulate and ingest.")] = 3.0,
    stores: Annotated[int, typer.Option(min=1, help="Stores in the simulated estate.")] = 400,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 1,
    faults: Annotated[
        str | None,
        typer.Option(help="Fault rates: a YAML/JSON file, or `none`.", show_default="the built-in rates"),
    ] = None,
    directory: Annotated[
        Path, typer.Option(help="Where the demo keeps its database and truth file (recreated each run).")
    ] = Path(".stockplane-demo"),
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API and a live trickle after the history.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    live_speed: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Simulated seconds per real second of the live trickle: traffic follows the hour "
            "of day, so at night raise it (e.g. 30) to watch events arrive; their timestamps then "
            "run ahead of the clock.",
        ),
    ] = 1.0,
) -> None:
    """Run stockplane end to end on a simulated retail estate (the main job of `make demo`).

    With --no-serve it stops after the history and prints a summary: events, transactions
    by state, anomalies, and the score of the correlator against the simulator's truth
    (exit 1 if any state or anomaly kind scores below 0.98).
    """
    from policies import load_pack

    from .auth import Principal, create_key
    from .database import Database
    from .migrate import require_migrated
    from .roles import Role
    from .simulator.estate import EstateOptions
    from .simulator.faults import load_faults
    from .simulator.report import load_verdicts, render
    from .simulator.score import score
    from .simulator.traffic import Simulation, SimulationOptions

    console = Console(stderr=True)
    say: Say = typer.echo
    rates = load_faults(faults)  # mistakes in the options surface before any work is done
    if serve:
        _check_port(host, port)
    _fresh_directory(directory)
    settings = get_settings().model_copy(
        update={"database_url": f"sqlite:///{(directory / 'stockplane.db').resolve()}", "auto_migrate": True}
    )
    database = Database(settings.database_url)
    require_migrated(database, auto=True)
    say(f"[1/5] database   {directory / 'stockplane.db'} (SQLite, migrated)")

    pack = load_pack(settings.policy_pack)
    with database.session() as session:
        key, secret = create_key(session, name="demo", role=Role.ADMIN)
        principal = Principal(key.id, key.name, Role.ADMIN)
    _register_contracts(database, pack, settings, principal, say)

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    options = SimulationOptions(
        start=now - dt.timedelta(hours=hours),
        end=now,
        seed=seed,
        estate=EstateOptions(stores=stores),
        faults=rates,
    )
    simulation = Simulation(options, pack)
    truths = _ingest_history(database, pack, simulation, directory / "truth.jsonl", console, say)

    from tracing.jobs import sweep_stalled

    with database.session() as session:
        stalled = sweep_stalled(session, pack=pack, now=dt.datetime.now(dt.UTC))
    say(f"[4/5] sweep      {stalled} transactions passed a deadline since their last event")
    say("      SLA        evaluation not available yet (a later release)")

    with database.session() as session:
        verdicts = load_verdicts(session)
    result = score(truths, verdicts)
    _summary(verdicts, say)
    say("")
    say(render(result, 0.98))
    if not serve:
        database.dispose()
        raise typer.Exit(0 if result.meets(0.98) else 1)
    _serve(settings, database, pack, simulation, host, port, secret, say, live_speed)


_MARKER = ".stockplane-demo"


def _fresh_directory(directory: Path) -> None:
    """Empty the demo's own directory, and refuse any other: a mistyped --directory must
    never delete someone's files."""
    if directory.exists():
        if not directory.is_dir():
            raise UsageError(f"--directory {directory}: not a directory")
        if any(directory.iterdir()) and not (directory / _MARKER).is_file():
            raise UsageError(
                f"--directory {directory}: not empty and not made by `stockplane demo`; choose another"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / _MARKER).write_text("made by `stockplane demo`, which empties it on every run\n")


def _check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"cannot serve on {host}:{port} ({exc.strerror}); pass --port or --no-serve"
            ) from None


def _register_contracts(
    database: Database, pack: PolicyPack, settings: Settings, principal: Principal, say: Say
) -> None:
    from policies import resolve_pack
    from registry.repository import find_contract
    from registry.service import add_consumer, deprecate, register, retire

    root = resolve_pack(settings.policy_pack) / "contracts"
    if not root.is_dir():
        say(f"[2/5] contracts  none in {root}: events are not checked against contracts")
        return
    # events: one folder per type, one file per version; APIs: one file each, at 1.0.0
    versions = [
        (folder.name, path, path.stem)
        for folder in sorted((root / "events").iterdir())
        for path in sorted(folder.glob("*.json"), key=lambda p: tuple(int(x) for x in p.stem.split(".")))
    ]
    versions += [(path.stem, path, "1.0.0") for path in sorted((root / "apis").glob("*.yaml"))]
    with database.session() as session:
        for name, path, version in versions:
            register(
                session,
                name=name,
                content=path.read_text(),
                principal=principal,
                pack=pack,
                settings=settings.registry,
                version=version,
                owner="integration-architecture",
            )
    registered = len(versions)
    say(f"[2/5] contracts  {registered} versions registered from {root} ({pack.label})")
    notice = pack.deprecation.notice_days("stable")
    sunset = dt.date.today() + dt.timedelta(days=notice + 30)
    # older tills still send pos.sale 1.0.0 (deprecated: fine until its sunset); nobody may
    # send inventory.adjusted 1.0.0 any more (retired: flagged on every event that does)
    lifecycle = (("pos.sale", False), ("inventory.adjusted", True))
    with database.session() as session:
        for name, retire_now in lifecycle:
            contract = find_contract(session, name)
            if contract is None:
                continue
            deprecate(
                session,
                contract=contract,
                version="1.0.0",
                sunset=sunset,
                replacement="2.0.0",
                principal=principal,
                pack=pack,
            )
            if retire_now:
                retire(
                    session, contract=contract, version="1.0.0", force=True, principal=principal, pack=pack
                )
                say(f"               {name} 1.0.0 retired ahead of its sunset (forced by an admin, audited)")
            else:
                say(f"               {name} 1.0.0 deprecated: sunset {sunset}, use 2.0.0")
    for proposal in sorted((root / "proposals").glob("*/*.json")):
        try:
            with database.session() as session:
                register(
                    session,
                    name=proposal.parent.name,
                    content=proposal.read_text(),
                    principal=principal,
                    pack=pack,
                    settings=settings.registry,
                    version=proposal.stem,
                )
            say(f"               {proposal.parent.name} {proposal.stem} registered")
        except AppError as refused:
            say(f"               {proposal.parent.name} {proposal.stem} REFUSED: {refused}")
    with database.session() as session:
        for consumer in CONSUMERS:
            contract = find_contract(session, consumer.contract)
            if contract is None:
                continue
            try:
                add_consumer(
                    session,
                    contract=contract,
                    system=consumer.system,
                    environment="production",
                    versions=consumer.versions,
                    principal=principal,
                )
            except Conflict:
                continue
    say(f"               {len(CONSUMERS)} consumers registered")


def _batches(simulation: Simulation, size: int) -> Iterator[tuple[dt.datetime, list[Any]]]:
    batch: list[Any] = []
    arrival = simulation.options.start
    for arrival, line in simulation.timed_lines():
        batch.append(orjson.loads(line))
        if len(batch) >= size:
            yield arrival, batch
            batch = []
    if batch:
        yield arrival, batch


def _ingest_history(
    database: Database, pack: PolicyPack, simulation: Simulation, truth_path: Path, console: Console, say: Say
) -> list[Truth]:
    from tracing.ingest import ingest

    start, end = simulation.options.start, simulation.options.end
    truths: list[Truth] = []
    counts: Counter[str] = Counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeRemainingColumn(),
    )
    with (
        truth_path.open("wb") as truth_file,
        Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress,
    ):
        task = progress.add_task("[3/5] ingesting", total=(end - start).total_seconds(), events=0)
        for arrival, batch in _batches(simulation, 1000):
            with database.session() as session:
                result = ingest(session, batch, pack=pack, now=dt.datetime.now(dt.UTC))
            counts.update(
                accepted=result.accepted, duplicates=result.duplicates, rejected=len(result.rejected)
            )
            for truth in simulation.drain_truths():
                truths.append(truth)
                truth_file.write(orjson.dumps(truth.as_json()) + b"\n")
            progress.update(task, completed=(arrival - start).total_seconds(), events=counts["accepted"])
    say(
        f"[3/5] history    {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC, {simulation.options.estate.stores} stores: "
        f"{counts['accepted']:,} events stored, {counts['duplicates']:,} re-deliveries, "
        f"{counts['rejected']:,} rejected; truth in {truth_path}"
    )
    return truths


def _summary(verdicts: dict[str, Any], say: Say) -> None:
    states = Counter(v.state for v in verdicts.values())
    anomalies = Counter(kind for v in verdicts.values() for kind in v.anomalies)
    say(f"[5/5] summary    {len(verdicts):,} transactions")
    for state in ("completed", "in_progress", "stalled", "failed"):
        say(f"      {state:<12} {states.get(state, 0):>8,}")
    say("      anomalies    " + (", ".join(f"{k} {n:,}" for k, n in sorted(anomalies.items())) or "none"))


def _serve(
    settings: Settings,
    database: Database,
    pack: PolicyPack,
    history: Simulation,
    host: str,
    port: int,
    secret: str,
    say: Say,
    speed: float = 1.0,
) -> None:
    import time

    import uvicorn

    from tracing.ingest import ingest

    from .app import create_app
    from .simulator.traffic import Simulation, SimulationOptions

    stop = threading.Event()
    live = Simulation(
        SimulationOptions(
            start=history.options.end,
            end=history.options.end + dt.timedelta(days=7),
            seed=history.options.seed + 1,
            estate=history.options.estate,
            faults=history.options.faults,
            first_number=history.transactions + 1,
        ),
        pack,
    )

    def store(batch: list[Any], session: Session) -> None:
        ingest(session, batch, pack=pack, now=dt.datetime.now(dt.UTC))

    def trickle() -> None:
        """Ingest the live simulation's events as their (simulated) time comes, in small
        batches, beside the API's own writers."""
        pending: list[Any] = []
        began, origin = time.monotonic(), live.options.start
        for arrival, line in live.timed_lines():
            due = began + (arrival - origin).total_seconds() / speed
            while time.monotonic() < due:
                if stop.wait(0.2):
                    return
                if pending:
                    database.write(partial(store, list(pending)))
                    pending.clear()
            pending.append(orjson.loads(line))
            live.drain_truths()

    app = create_app(settings, database=database)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    worker = threading.Thread(target=trickle, name="live-trickle", daemon=True)
    base = f"http://{host}:{port}"
    say("")
    say(f"serving          {base}/docs (API reference), {base}/v1/transactions?state=failed")
    say(f"API key          {secret}   (admin; export STOCKPLANE_API_KEY={secret} STOCKPLANE_URL={base})")
    say("live traffic     a trickle of simulated events keeps arriving; Ctrl-C stops")
    worker.start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn hands the Ctrl-C back once it has shut down: that is the way out
    finally:
        stop.set()
        worker.join(timeout=5)
        database.dispose()
        say("stopped")
