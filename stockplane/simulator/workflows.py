"""The estate's workflows, step by step: who sends what, to whom, how long each step takes.

Each builder draws one transaction of its kind: where it happens, what it sells or moves,
and its steps in the order of the policy pack's workflow (a test checks they match).
Delays are seconds after the previous step reached the system that acts next.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .draws import between, pick
from .estate import Estate
from .faults import FaultRates

__all__ = ["BUILDERS", "PREFIX", "Step", "TransactionPlan"]


class Step(NamedTuple):
    """One step as the estate performs it: the event type, who sends it, from which
    instances (one event each), and how long after the previous step. (A named tuple:
    every transaction makes several, and a tuple is made in a third of the time.)"""

    type: str
    system: str
    instances: tuple[str, ...]
    delay: tuple[float, float]  # seconds after the previous step reached its next system
    inventory_status: str | None = None


@dataclass
class TransactionPlan:
    """One transaction before faults and timing: its workflow (``kind``), where it
    happens, the business facts its payloads draw on (``ctx``) and its steps."""

    kind: str
    number: int
    t0: float
    channel: str | None
    location: str | None
    ctx: dict[str, Any]
    steps: list[Step]


PREFIX = {
    "store_sale": "sale",
    "store_return": "return",
    "ecommerce_order": "web",
    "marketplace_order": "mkt",
    "click_and_collect": "cc",
    "cycle_count": "count",
    "transfer": "transfer",
}


Builder = Callable[[random.Random, Estate, FaultRates, int, float], TransactionPlan]


def _store_sale(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    store = pick(rng, estate.stores)
    quantity = 1 if rng.random() < 0.8 else between(rng, 2, 4)
    ctx = {
        "sku": estate.catalogue.pick(rng),
        "quantity": quantity,
        "number": number,
        "reason": "sale",
        "delta": -quantity,
    }
    return TransactionPlan(
        "store_sale",
        number,
        t0,
        "store",
        store,
        ctx,
        [
            Step("pos.sale", "pos", (store,), (0, 0), "on_hand"),
            Step("inventory.adjusted", "erp", (estate.instances["erp"],), (5, 60)),
            Step("availability.published", "ecommerce", (estate.instances["ecommerce"],), (5, 30)),
            Step("availability.published", "marketplace", estate.marketplaces, (10, 120)),
        ],
    )


def _store_return(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    store = pick(rng, estate.stores)
    disposition = rng.choices(("sellable", "damaged", "quarantined"), (0.7, 0.2, 0.1))[0]
    ctx = {
        "sku": estate.catalogue.pick(rng),
        "quantity": 1,
        "number": number,
        "reason": "return",
        "delta": 1,
        "disposition": disposition,
    }
    steps = [
        Step("return.received", "pos", (store,), (0, 0), "return"),
        Step(
            "return.dispositioned", "returns", (estate.instances["returns"],), (3600, 12 * 3600), disposition
        ),
        Step("inventory.adjusted", "erp", (estate.instances["erp"],), (60, 1800)),
    ]
    if disposition == "sellable":
        steps.append(Step("availability.published", "ecommerce", (estate.instances["ecommerce"],), (10, 60)))
    return TransactionPlan("store_return", number, t0, "store", store, ctx, steps)


def _order(
    rng: random.Random, estate: Estate, number: int, t0: float, marketplace: str | None
) -> TransactionPlan:
    centre = pick(rng, estate.distribution_centres)
    quantity = 1 if rng.random() < 0.85 else 2
    order_id = f"O-{number}"
    ctx = {
        "sku": estate.catalogue.pick(rng),
        "quantity": quantity,
        "number": number,
        "order_id": order_id,
        "channel": marketplace or "web",
    }
    steps: list[Step] = []
    if marketplace is not None:
        steps += [
            Step("order.placed", "marketplace", (marketplace,), (0, 0)),
            Step("order.normalized", "middleware", (estate.instances["middleware"],), (30, 300)),
        ]
    else:
        steps.append(Step("order.placed", "ecommerce", (estate.instances["ecommerce"],), (0, 0)))
    publisher = ("marketplace", marketplace) if marketplace else ("ecommerce", estate.instances["ecommerce"])
    steps += [
        Step("inventory.reserved", "oms", (estate.instances["oms"],), (1, 20), "allocated"),
        Step("availability.published", publisher[0], (publisher[1],), (5, 60)),
        Step("order.posted", "erp", (estate.instances["erp"],), (30, 300)),
        Step("shipment.picked", "wms", (centre,), (1800, 6 * 3600), "picked"),
        Step("shipment.shipped", "wms", (centre,), (1800, 4 * 3600)),
    ]
    kind = "marketplace_order" if marketplace else "ecommerce_order"
    return TransactionPlan(kind, number, t0, marketplace or "web", centre, ctx, steps)


def _ecommerce_order(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    return _order(rng, estate, number, t0, None)


def _marketplace_order(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    return _order(rng, estate, number, t0, pick(rng, estate.marketplaces))


def _click_and_collect(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    store = pick(rng, estate.stores)
    ctx = {
        "sku": estate.catalogue.pick(rng),
        "quantity": 1,
        "number": number,
        "order_id": f"O-{number}",
        "channel": "click_and_collect",
        "reason": "collection",
        "delta": -1,
    }
    return TransactionPlan(
        "click_and_collect",
        number,
        t0,
        "click_and_collect",
        store,
        ctx,
        [
            Step("order.placed", "ecommerce", (estate.instances["ecommerce"],), (0, 0)),
            Step("inventory.reserved", "pos", (store,), (120, 1500), "held_for_pickup"),
            Step("order.collected", "pos", (store,), (2 * 3600, 48 * 3600)),
            Step("inventory.adjusted", "erp", (estate.instances["erp"],), (10, 120)),
        ],
    )


def _cycle_count(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    options = estate.options
    store_counts = options.stores * options.counts_per_store
    at_store = (
        rng.random() * (store_counts + options.distribution_centres * options.counts_per_dc) < store_counts
    )
    location = pick(rng, estate.stores) if at_store else pick(rng, estate.distribution_centres)
    system = "pos" if at_store else "wms"
    sku = estate.catalogue.pick(rng)
    book = between(rng, 0, 200)
    counted = book
    discrepancy = faults.count_discrepancy > 0 and rng.random() < faults.count_discrepancy
    if discrepancy:
        counted = book + pick(rng, (-5, -3, -2, -1, 1, 2, 3)) if book >= 5 else book + between(rng, 1, 3)
    ctx = {
        "sku": sku,
        "quantity": counted,
        "number": number,
        "book": book,
        "counted": counted,
        "abc": estate.catalogue.abc[sku],
        "reason": "count",
        "delta": counted - book,
        "discrepancy": discrepancy,
    }
    transaction = TransactionPlan(
        "cycle_count",
        number,
        t0,
        None,
        location,
        ctx,
        [
            Step("count.recorded", system, (location,), (0, 0)),
            Step("adjustment.approved", system, (location,), (1800, 8 * 3600)),
            Step("inventory.adjusted", "erp", (estate.instances["erp"],), (60, 1200)),
        ],
    )
    return transaction


def _transfer(
    rng: random.Random, estate: Estate, faults: FaultRates, number: int, t0: float
) -> TransactionPlan:
    source = pick(rng, estate.distribution_centres)
    to_store = rng.random() < 0.8 or len(estate.distribution_centres) < 2
    target = (
        pick(rng, estate.stores)
        if to_store
        else pick(rng, [d for d in estate.distribution_centres if d != source])
    )
    quantity = between(rng, 6, 120)
    ctx = {
        "sku": estate.catalogue.pick(rng),
        "quantity": quantity,
        "number": number,
        "from": source,
        "to": target,
    }
    return TransactionPlan(
        "transfer",
        number,
        t0,
        None,
        source,
        ctx,
        [
            Step("transfer.created", "erp", (estate.instances["erp"],), (0, 0)),
            Step("transfer.shipped", "wms", (source,), (2 * 3600, 20 * 3600), "in_transit"),
            Step("transfer.received", "pos" if to_store else "wms", (target,), (86400, 3 * 86400)),
        ],
    )


BUILDERS: dict[str, Builder] = {
    "store_sale": _store_sale,
    "store_return": _store_return,
    "ecommerce_order": _ecommerce_order,
    "marketplace_order": _marketplace_order,
    "click_and_collect": _click_and_collect,
    "cycle_count": _cycle_count,
    "transfer": _transfer,
}
