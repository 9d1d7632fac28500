"""The faults the simulator injects, and at what rate.

Each rate is a probability per *eligible* transaction: an oversell can only happen to an
order, an orphan only to a marketplace order (it bypassed orchestration), a count
discrepancy only to a cycle count, a retired schema version only where an event type has
a retired contract version. The five faults that end a transaction's chain early or late
(``late``, ``missing``, ``error``, ``dead_letter``, ``oversell``) exclude each other, so
each still happens at exactly its own rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from stockplane.documents import load_document
from stockplane.errors import InputError

__all__ = ["CHAIN_FAULTS", "FaultRates", "load_faults"]

CHAIN_FAULTS = ("late", "missing", "error", "dead_letter", "oversell")


@dataclass(frozen=True)
class FaultRates:
    late: float = 0.02
    """A step arrives after its deadline."""
    missing: float = 0.01
    """A step never happens (a dropped WMS adjustment, an ERP posting that never comes)."""
    error: float = 0.005
    """A system reports an error and the transaction stops there."""
    dead_letter: float = 0.003
    """The middleware gives up on a message."""
    retry: float = 0.02
    """A step is retried once or twice before it succeeds (within the retry budget)."""
    duplicate: float = 0.01
    """An event is delivered twice, unchanged."""
    conflicting_duplicate: float = 0.003
    """An event id is delivered again with different content."""
    out_of_order: float = 0.005
    """A step's business time precedes the step it follows by minutes."""
    orphan: float = 0.03
    """A marketplace order reaches the connector without its order.placed event."""
    contract_violation: float = 0.005
    """A payload breaks its registered schema."""
    retired_schema_version: float = 0.01
    """An event still claims a retired schema version."""
    unknown_status: float = 0.003
    """An inventory status word nobody mapped."""
    clock_skew: float = 0.02
    """A step seems to precede its cause by a few seconds: skew, which must not be flagged."""
    count_discrepancy: float = 0.15
    """A counted quantity differs from the book quantity."""
    oversell: float = 0.01
    """An order accepted, then cancelled because the stock was not there."""

    @classmethod
    def none(cls) -> FaultRates:
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def load_faults(source: str | Path | None) -> FaultRates:
    """``None`` for the defaults, ``"none"`` for a fault-free estate, or a YAML/JSON file
    mapping fault kinds to rates (kinds not listed keep their default)."""
    if source is None:
        return FaultRates()
    if str(source) == "none":
        return FaultRates.none()
    document = load_document(Path(source), max_bytes=1 << 20, max_depth=8)
    data: Any = document.data
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of fault kinds to rates")
    known = {f.name for f in fields(FaultRates)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(
            f"{source}: unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    parsed = {kind: _rate(source, kind, rate) for kind, rate in data.items()}
    rates = replace(FaultRates(), **parsed)
    if sum(getattr(rates, kind) for kind in CHAIN_FAULTS) > 1:
        raise InputError(
            f"{source}: {', '.join(CHAIN_FAULTS)} exclude each other; their rates must sum to at most 1"
        )
    return rates


def _rate(source: str | Path, kind: str, value: Any) -> float:
    # the document loader keeps numbers under keys that mention "version" as text
    # (contract versions must stay strings), so a rate may arrive as "0.01"
    try:
        rate = float(value) if isinstance(value, str) and not isinstance(value, bool) else value
    except ValueError:
        rate = value
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise InputError(f"{source}: {kind} must be a rate between 0 and 1, got {value!r}")
    return float(rate)
