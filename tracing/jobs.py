"""Scheduled work of the correlator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import PolicyPack

from .export import TransactionExporter
from .ingest import export, recorrelate
from .models import TransactionRecord

__all__ = ["sweep_stalled"]


def sweep_stalled(
    session: Session,
    *,
    pack: PolicyPack,
    now: dt.datetime,
    batch: int = 1000,
    exporter: TransactionExporter | None = None,
) -> int:
    """Re-evaluate in-progress transactions so those past a deadline become stalled.

    Returns how many changed state. The server runs it every
    ``STOCKPLANE_TRACING__SWEEP_SECONDS`` (30 by default); `stockplane trace sweep` runs it
    once. Ingestion already re-evaluates a transaction whenever its events arrive.
    """
    changed = 0
    after = ""
    while True:
        query = (
            select(TransactionRecord.correlation_id)
            .where(TransactionRecord.state == "in_progress", TransactionRecord.correlation_id > after)
            .order_by(TransactionRecord.correlation_id)
            .limit(batch)
        )
        ids = list(session.scalars(query))
        if not ids:
            return changed
        outcome = recorrelate(session, ids, pack=pack, now=now)
        export(exporter, outcome.state_changes)
        changed += sum(1 for verdict in outcome.verdicts if verdict.state != "in_progress")
        after = ids[-1]
