"""The pure correlator: every state and anomaly, arrival orders and clock skew."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from policies import load_pack
from tracing.correlate import CorrelationSettings, correlate
from tracing.events import Event, event_from_envelope

PACK = load_pack()
WORKFLOWS = PACK.workflows
T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
_ids = itertools.count()


def event(type_: str, system: str, at: float, **extra: object) -> Event:
    """An event ``at`` seconds after T0 in transaction sale-1."""
    return Event(
        event_id=f"e{next(_ids)}",
        correlation_id="sale-1",
        type=type_,
        system=system,
        occurred_at=T0 + dt.timedelta(seconds=at),
        **extra,
    )  # type: ignore[arg-type]


SALE = [
    event("pos.sale", "pos", 0),
    event("inventory.adjusted", "erp", 60),
    event("availability.published", "ecommerce", 90),
    event("availability.published", "marketplace", 110, instance="marketplace-b"),
    event("availability.published", "marketplace", 120, instance="marketplace-a"),
]


def run(events: list[Event], minutes: float = 1, **kwargs: object):  # type: ignore[no-untyped-def]
    return correlate(
        events, WORKFLOWS, now=T0 + dt.timedelta(minutes=minutes), statuses=PACK.statuses, **kwargs
    )  # type: ignore[arg-type]


def test_completed_store_sale_with_hops_and_sync_latency() -> None:
    transaction = run(SALE, minutes=3)
    assert (transaction.workflow, transaction.state, transaction.anomalies) == ("store_sale", "completed", ())
    assert [h.type for h in transaction.hops] == [
        "pos.sale",
        "inventory.adjusted",
        "availability.published",
        "availability.published",
    ]
    assert transaction.hops[1].from_previous == dt.timedelta(seconds=60)
    assert transaction.sync_latency == dt.timedelta(seconds=90)  # to the first availability publication
    assert transaction.missing == ()


def test_every_listed_marketplace_must_publish_a_store_sale() -> None:
    one_marketplace = SALE[:4]  # marketplace-b published, marketplace-a not yet
    waiting = run(one_marketplace, minutes=10)
    assert waiting.state == "in_progress"
    (missing,) = waiting.missing
    assert (missing.step.systems, missing.missing_instances) == (("marketplace",), ("marketplace-a",))
    assert run(one_marketplace, minutes=16).state == "stalled"  # marketplaces are due after 15 minutes
    unknown = [*SALE[:3], event("availability.published", "marketplace", 100, instance="marketplace-z")]
    assert run(unknown, minutes=3).missing[0].missing_instances == ("marketplace-a", "marketplace-b")
    # the step arrives with the last marketplace: its hop is measured to that one
    complete = run(SALE, minutes=3)
    assert complete.steps[3].at == T0 + dt.timedelta(seconds=120)
    assert complete.hops[3].from_previous == dt.timedelta(seconds=30)


def test_in_progress_then_stalled_as_deadlines_pass() -> None:
    started = SALE[:2]  # the ERP adjusted; no channel published yet
    assert run(started, minutes=5).state == "in_progress"
    stalled = run(started, minutes=11)  # e-commerce availability is due 10 minutes after the sale
    assert stalled.state == "stalled"
    assert stalled.missing[0].step.systems == ("ecommerce",)
    assert stalled.missing[0].due_at == T0 + dt.timedelta(minutes=10)


def test_late_arrival_reopens_a_stalled_transaction() -> None:
    assert run(SALE[:2], minutes=20).state == "stalled"
    late = [
        *SALE[:2],
        event("availability.published", "ecommerce", 16 * 60),
        event("availability.published", "marketplace", 17 * 60, instance="marketplace-a"),
        event("availability.published", "marketplace", 17 * 60, instance="marketplace-b"),
    ]
    reopened = run(late, minutes=20)
    assert reopened.state == "completed"
    assert [hop.late for hop in reopened.hops] == [False, False, True, True]


@pytest.mark.parametrize(("status", "code"), [("error", "E42"), ("dead_letter", None)])
def test_failed_on_error_or_dead_letter(status: str, code: str | None) -> None:
    broken = [SALE[0], event("inventory.adjusted", "erp", 60, status=status, error_code=code)]
    transaction = run(broken)
    assert transaction.state == "failed"
    assert status in (transaction.failure or "")


def test_retries_fail_only_past_the_budget() -> None:
    retries = [SALE[0], *(event("inventory.adjusted", "erp", 10 + i, status="retry") for i in range(3))]
    assert run(retries).state == "in_progress"
    assert run([*retries, event("inventory.adjusted", "erp", 20, status="retry")]).state == "failed"
    assert run(retries, settings=CorrelationSettings(retry_budget=2)).state == "failed"


def test_duplicates_and_conflicting_duplicates() -> None:
    kinds = {
        a.kind
        for a in run(
            [
                event("pos.sale", "pos", 0, deliveries=3),
                event("inventory.adjusted", "erp", 5, conflicting=True),
            ]
        ).anomalies
    }
    assert kinds == {"duplicate", "conflicting_duplicate"}


def test_orphan_when_the_initiating_event_is_missing() -> None:
    transaction = run(SALE[1:3])
    assert transaction.workflow == "store_sale"
    assert [a.kind for a in transaction.anomalies] == ["orphan"]


def test_out_of_order_beyond_skew_but_not_within() -> None:
    skewed = [
        SALE[0],
        event("inventory.adjusted", "erp", 60),
        event("availability.published", "ecommerce", 57),
    ]
    assert "out_of_order" not in {a.kind for a in run(skewed, minutes=3).anomalies}  # 3 s: clock skew
    backwards = [
        SALE[0],
        event("inventory.adjusted", "erp", 60),
        event("availability.published", "ecommerce", 30),
    ]
    anomaly = next(a for a in run(backwards, minutes=3).anomalies if a.kind == "out_of_order")
    assert len(anomaly.event_ids) == 2
    assert "out_of_order" not in {
        a.kind
        for a in run(
            backwards, minutes=3, settings=CorrelationSettings(clock_skew=dt.timedelta(minutes=1))
        ).anomalies
    }


def test_contract_violations_retired_versions_and_unknown_status_words() -> None:
    events = [
        event("pos.sale", "pos", 0, inventory_status="on_hand"),  # POS word, mapped: fine
        event(
            "inventory.adjusted",
            "erp",
            30,
            inventory_status="teleported",
            violations=("/quantity: 'x' is not of type 'integer'",),
        ),
        event("availability.published", "ecommerce", 60, retired_schema=True, schema_version="1.0.0"),
    ]
    kinds = [a.kind for a in run(events).anomalies]
    assert sorted(kinds) == ["contract_violation", "retired_schema_version", "unknown_status"]


def test_optional_steps_and_alternative_systems() -> None:
    returned = [
        Event("r1", "ret-1", "return.received", "pos", T0),
        Event("r2", "ret-1", "return.dispositioned", "returns", T0 + dt.timedelta(hours=2)),
        Event("r3", "ret-1", "inventory.adjusted", "erp", T0 + dt.timedelta(hours=3)),
    ]
    assert (
        correlate(returned, WORKFLOWS, now=T0 + dt.timedelta(days=2)).state == "completed"
    )  # availability is optional
    counted = [Event("c1", "cnt-1", "count.recorded", "pos", T0)]  # cycle counts come from the WMS or a store
    assert correlate(counted, WORKFLOWS, now=T0).workflow == "cycle_count"


def test_arrival_order_does_not_change_the_verdict() -> None:
    expected = run(SALE, minutes=3)
    shuffled = list(SALE)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        again = run(shuffled, minutes=3)
        assert (again.state, again.hops, again.anomalies) == (
            expected.state,
            expected.hops,
            expected.anomalies,
        )


def test_unknown_event_types_have_no_workflow_and_stay_in_progress() -> None:
    transaction = correlate([Event("x1", "x", "mystery.happened", "oms", T0)], WORKFLOWS, now=T0)
    assert (transaction.workflow, transaction.state) == (None, "in_progress")
    with pytest.raises(ValueError, match="at least one event"):
        correlate([], WORKFLOWS, now=T0)


def test_event_from_an_envelope() -> None:
    parsed = event_from_envelope(
        {
            "event_id": "e-9",
            "correlation_id": "order-1",
            "type": "order.placed",
            "schema_version": "1.0.0",
            "source": {"system": "ecommerce", "instance": "web-eu"},
            "occurred_at": "2026-11-28T10:00:00+01:00",
            "status": "error",
            "error": {"code": "E1", "message": "boom"},
        }
    )
    assert (parsed.system, parsed.instance, parsed.error_code) == ("ecommerce", "web-eu", "E1")
    assert parsed.occurred_at == dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="UTC offset"):
        event_from_envelope(
            {"event_id": "e", "correlation_id": "c", "type": "t.x", "occurred_at": "2026-11-28T10:00:00"}
        )


def test_a_channel_tells_apart_workflows_that_start_with_the_same_event() -> None:
    # click-and-collect and shipped web orders both start with order.placed@ecommerce
    collect = run([event("order.placed", "ecommerce", 0, channel="click_and_collect")], minutes=10)
    shipped = run([event("order.placed", "ecommerce", 0, channel="web")], minutes=10)
    assert (collect.workflow, collect.state) == ("click_and_collect", "in_progress")  # the store has 30 min
    assert (shipped.workflow, shipped.state) == ("ecommerce_order", "stalled")  # the OMS had 2 min


def test_availability_published_at_reservation_is_in_order() -> None:
    order = [
        event("order.placed", "ecommerce", 0, channel="web"),
        event("inventory.reserved", "oms", 5),
        event("availability.published", "ecommerce", 20),
        event("order.posted", "erp", 120),
        event("shipment.picked", "wms", 3600),
        event("shipment.shipped", "wms", 7200),
    ]
    transaction = run(order, minutes=180)
    assert (transaction.workflow, transaction.state, transaction.anomalies) == (
        "ecommerce_order",
        "completed",
        (),
    )
    assert transaction.sync_latency == dt.timedelta(seconds=20)
