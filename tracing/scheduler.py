"""The correlator's background job inside the server: the stall sweep, on APScheduler."""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]

from policies import PolicyPack
from stockplane.database import Database

from .export import TransactionExporter
from .jobs import sweep_stalled

__all__ = ["start_sweeper"]

log = logging.getLogger("stockplane.tracing")


def start_sweeper(
    database: Database, pack: PolicyPack, seconds: int, exporter: TransactionExporter | None
) -> BackgroundScheduler:
    """Run the sweep every ``seconds`` in a background thread; one run at a time."""

    def sweep() -> None:
        try:
            # a unit of work of its own, run again if it collides with ingestion
            changed = database.write(
                lambda session: sweep_stalled(
                    session, pack=pack, now=dt.datetime.now(dt.UTC), exporter=exporter
                )
            )
            if changed:
                log.info("sweep: %d transaction(s) became stalled", changed)
        except Exception:  # a failed run is logged and retried at the next interval
            log.exception("the stall sweep failed")

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(sweep, "interval", seconds=seconds, id="tracing.sweep", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
