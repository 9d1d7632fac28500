"""The simulated estate: deterministic, shaped like a retail day, faults at their rates."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import orjson
import pytest

from policies import load_pack
from stockplane.simulator.estate import EstateOptions, black_friday
from stockplane.simulator.faults import FaultRates
from stockplane.simulator.traffic import Simulation, SimulationOptions
from tracing.correlate import _matches
from tracing.events import event_from_envelope

PACK = load_pack()
MONDAY = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)


def run(hours: float = 2, start: dt.datetime = MONDAY + dt.timedelta(hours=10), **options: object):  # type: ignore[no-untyped-def]
    settings = SimulationOptions(start=start, end=start + dt.timedelta(hours=hours), **options)  # type: ignore[arg-type]
    simulation = Simulation(settings, PACK)
    lines = list(simulation.timed_lines())
    return simulation, lines, simulation.drain_truths()


def test_the_same_seed_gives_the_same_events_and_truth() -> None:
    small = EstateOptions(stores=30)
    _, first, first_truth = run(estate=small, seed=7)
    _, again, again_truth = run(estate=small, seed=7)
    _, other, _ = run(estate=small, seed=8)
    assert first == again and first_truth == again_truth
    assert [line for _, line in first] != [line for _, line in other]


QUIET = EstateOptions(stores=1, online_orders=20, marketplace_orders=10, click_and_collect=5)


@pytest.mark.parametrize(
    ("start", "hours", "estate"),
    [(9.5, 3.5, EstateOptions(stores=30)), (1, 4, QUIET)],  # a quiet night has empty windows
    ids=["day", "quiet-night"],
)
def test_worker_processes_change_nothing_but_the_speed(
    start: float, hours: float, estate: EstateOptions
) -> None:
    options = SimulationOptions(
        start=MONDAY + dt.timedelta(hours=start),
        end=MONDAY + dt.timedelta(hours=start + hours),
        estate=estate,
    )
    if estate is QUIET:
        probe = Simulation(options, PACK)
        assert any(not probe.window(i)[0] for i in range(len(probe.windows())))
    alone = Simulation(options, PACK)
    together = Simulation(options, PACK)
    assert list(alone.timed_lines()) == list(together.timed_lines(workers=2))
    assert alone.drain_truths() == together.drain_truths()
    assert alone.transactions == together.transactions > 0


def test_events_come_in_arrival_order_and_are_valid_envelopes() -> None:
    from tracing.schemas import EnvelopeValidator

    _, lines, truths = run(estate=EstateOptions(stores=30))
    arrivals = [arrival for arrival, _ in lines]
    assert arrivals == sorted(arrivals)
    envelope = EnvelopeValidator(PACK.sections["envelope"])
    assert all(envelope.errors(orjson.loads(line)) == [] for _, line in lines)
    assert len({orjson.loads(line)["correlation_id"] for _, line in lines}) == len(truths)


def test_every_event_is_a_step_of_its_workflow_or_a_cancellation() -> None:
    _, lines, truths = run(estate=EstateOptions(stores=50), faults=FaultRates.none())
    workflow_of = {t.correlation_id: PACK.workflows[t.workflow] for t in truths}
    for _, line in lines:
        event = event_from_envelope(orjson.loads(line))
        workflow = workflow_of[event.correlation_id]
        assert any(_matches(event, step) for step in workflow.steps), (
            event.type,
            event.system,
            workflow.name,
        )


def test_the_day_has_a_shape_weekends_lift_stores_and_black_friday_peaks() -> None:
    estate = EstateOptions(stores=40)

    def sales(start: dt.datetime, hours: float = 1) -> int:
        _, _, truths = run(hours=hours, start=start, estate=estate, faults=FaultRates.none())
        return sum(1 for t in truths if t.workflow == "store_sale")

    night, noon = sales(MONDAY + dt.timedelta(hours=3)), sales(MONDAY + dt.timedelta(hours=12))
    assert night == 0 and noon > 100  # stores are closed at night
    saturday = sales(MONDAY + dt.timedelta(days=5, hours=12))
    assert saturday > noon * 1.1
    peak = black_friday(2026)
    assert peak == dt.date(2026, 11, 27)
    friday = sales(dt.datetime.combine(peak, dt.time(12), tzinfo=dt.UTC))
    assert friday > noon * 2


def test_returns_are_about_nine_percent_of_sales_and_all_workflows_run() -> None:
    _, _, truths = run(hours=6, estate=EstateOptions(stores=100), faults=FaultRates.none())
    workflows = Counter(t.workflow for t in truths)
    assert set(workflows) == set(PACK.workflows)
    assert 0.07 < workflows["store_return"] / workflows["store_sale"] < 0.11
    assert workflows["store_sale"] > workflows["ecommerce_order"] > workflows["click_and_collect"]


RATES = FaultRates(
    late=0.04,
    missing=0.04,
    error=0.04,
    dead_letter=0.04,
    retry=0.05,
    duplicate=0.05,
    conflicting_duplicate=0.05,
    out_of_order=0.05,
    orphan=0.2,
    contract_violation=0.05,
    retired_schema_version=0.1,
    unknown_status=0.05,
    clock_skew=0.1,
    count_discrepancy=0.3,
    oversell=0.05,
)


def _within(count: int, trials: int, rate: float) -> bool:
    """Binomial tolerance: four standard deviations."""
    spread = 4 * math.sqrt(trials * rate * (1 - rate)) + 1
    return abs(count - trials * rate) <= spread


def test_every_fault_appears_at_its_rate() -> None:
    _, _, truths = run(hours=8, estate=EstateOptions(stores=150), faults=RATES)
    faults = Counter(f for t in truths for f in set(t.faults))
    everyone = len(truths)
    by_workflow = Counter(t.workflow for t in truths)
    orders = by_workflow["ecommerce_order"] + by_workflow["marketplace_order"]
    # the chain faults exclude each other, so "not oversold" is the denominator of the rest
    for kind in ("late", "missing", "error", "dead_letter", "retry", "duplicate", "conflicting_duplicate"):
        assert _within(faults[kind], everyone, getattr(RATES, kind)), (kind, faults[kind], everyone)
    for kind in ("contract_violation", "unknown_status"):
        assert _within(faults[kind], everyone, getattr(RATES, kind)), (kind, faults[kind], everyone)
    # out-of-order is drawn first; skew only where the order was not already disturbed
    assert _within(faults["out_of_order"], everyone, RATES.out_of_order)
    assert _within(faults["clock_skew"], everyone - faults["out_of_order"], RATES.clock_skew)
    assert _within(faults["oversell"], orders, RATES.oversell)
    assert _within(faults["orphan"], by_workflow["marketplace_order"], RATES.orphan)
    assert _within(faults["count_discrepancy"], by_workflow["cycle_count"], RATES.count_discrepancy)
    sold = [t for t in truths if t.workflow == "store_sale" and t.outcome == "completed"]
    retired = sum(1 for t in sold if "retired_schema_version" in t.faults)
    assert _within(retired, len(sold), RATES.retired_schema_version)


def test_no_faults_means_no_anomalies_and_nothing_failed() -> None:
    _, _, truths = run(hours=3, estate=EstateOptions(stores=60), faults=FaultRates.none())
    assert all(t.faults == () and t.anomalies == () for t in truths)
    assert all(t.outcome != "failed" for t in truths)


def test_batch_stores_upload_every_fifteen_minutes() -> None:
    _, lines, _ = run(estate=EstateOptions(stores=30, batch_store_share=1.0), faults=FaultRates.none())
    pos = [(arrival, orjson.loads(line)) for arrival, line in lines if b'"system":"pos"' in line]
    assert pos
    for arrival, event in pos:
        occurred = dt.datetime.fromisoformat(event["occurred_at"])
        assert dt.timedelta(0) < arrival - occurred <= dt.timedelta(minutes=15, seconds=30)
        assert arrival.minute % 15 == 0 and arrival.second <= 30


def test_erp_postings_wait_for_the_maintenance_window_to_close() -> None:
    _, lines, _ = run(hours=2, start=MONDAY + dt.timedelta(hours=1), faults=FaultRates.none())
    erp = [orjson.loads(line) for _, line in lines if b'"system":"erp"' in line]
    times = [dt.datetime.fromisoformat(e["occurred_at"]) for e in erp]
    assert times and not any(dt.time(2, 0) <= t.time() < dt.time(2, 30) for t in times)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        Simulation(SimulationOptions(start=MONDAY, end=MONDAY), PACK)
