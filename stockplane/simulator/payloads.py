"""What each system puts in ``payload``, per event type and schema version.

The canonical contracts in the default policy pack (``contracts/events``) describe these
shapes; a test checks that fault-free simulated events satisfy them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .draws import between, pick

__all__ = ["CURRENT_VERSION", "RETIRED_VERSIONS", "event_types", "payload", "violation_field"]

CURRENT_VERSION = {"pos.sale": "2.0.0", "inventory.adjusted": "2.0.0"}
"""Event types with more than one version; every other type is at 1.0.0."""
LEGACY_VERSION = {"pos.sale": "1.0.0"}
"""Deprecated but still sent by some stores' older tills (not an anomaly)."""
RETIRED_VERSIONS = {"inventory.adjusted": "1.0.0"}
"""Retired versions a misconfigured sender may still claim (an anomaly)."""

Context = dict[str, Any]
Builder = Callable[[random.Random, Context], dict[str, Any]]


def _price(rng: random.Random) -> float:
    return 2 + (120 - 2) * rng.random()  # = rng.uniform(2, 120), without its call


def _money(rng: random.Random, quantity: int) -> dict[str, Any]:
    return {"amount": round(quantity * _price(rng), 2), "currency": "EUR"}


def _lines(rng: random.Random, ctx: Context) -> list[dict[str, Any]]:
    return [{"sku": ctx["sku"], "quantity": ctx["quantity"], "unit_price": round(_price(rng), 2)}]


_BUILDERS: dict[tuple[str, str], Builder] = {
    ("pos.sale", "2.0.0"): lambda rng, ctx: {
        "receipt_id": f"R-{ctx['number']}",
        "register": between(rng, 1, 8),
        "lines": _lines(rng, ctx),
        "total": _money(rng, ctx["quantity"]),
    },
    ("pos.sale", "1.0.0"): lambda rng, ctx: {
        "receipt": f"R-{ctx['number']}",
        "amount": round(ctx["quantity"] * rng.uniform(2, 120), 2),
    },
    ("inventory.adjusted", "2.0.0"): lambda rng, ctx: {
        "reason_code": ctx["reason"],
        "delta": ctx["delta"],
        "book_quantity": between(rng, 0, 400),
    },
    ("inventory.adjusted", "1.0.0"): lambda rng, ctx: {"reason": ctx["reason"], "delta": ctx["delta"]},
    ("availability.published", "1.0.0"): lambda rng, ctx: {
        "available_to_promise": between(rng, 0, 400),
        "listing": ctx["sku"],
    },
    ("order.placed", "1.0.0"): lambda rng, ctx: {
        "order_id": ctx["order_id"],
        "lines": _lines(rng, ctx),
        "total": _money(rng, ctx["quantity"]),
    },
    ("order.normalized", "1.0.0"): lambda rng, ctx: {
        "order_id": ctx["order_id"],
        "marketplace_order_id": f"{ctx['channel']}-{ctx['number']}",
    },
    ("inventory.reserved", "1.0.0"): lambda rng, ctx: {
        "reservation_id": f"RES-{ctx['number']}",
        "order_id": ctx["order_id"],
    },
    ("order.posted", "1.0.0"): lambda rng, ctx: {"document_number": f"SO{ctx['number']:010d}"},
    ("shipment.picked", "1.0.0"): lambda rng, ctx: {"pick_list": f"PL-{ctx['number']}"},
    ("shipment.shipped", "1.0.0"): lambda rng, ctx: {
        "carrier": pick(rng, ("DHL", "UPS", "DPD", "GLS")),
        "tracking_number": f"TRK{ctx['number']:012d}",
    },
    ("order.collected", "1.0.0"): lambda rng, ctx: {"pickup_code": f"{ctx['number'] % 1_000_000:06d}"},
    ("order.cancelled", "1.0.0"): lambda rng, ctx: {"order_id": ctx["order_id"], "reason": "out_of_stock"},
    ("return.received", "1.0.0"): lambda rng, ctx: {
        "return_id": f"RMA-{ctx['number']}",
        "reason": pick(rng, ("wrong_size", "damaged", "not_as_described", "changed_mind")),
    },
    ("return.dispositioned", "1.0.0"): lambda rng, ctx: {"disposition": ctx["disposition"]},
    ("count.recorded", "1.0.0"): lambda rng, ctx: {
        "book_quantity": ctx["book"],
        "counted_quantity": ctx["counted"],
        "abc_class": ctx["abc"],
    },
    ("adjustment.approved", "1.0.0"): lambda rng, ctx: {
        "approved_by": f"supervisor-{between(rng, 1, 40)}",
        "variance": ctx["counted"] - ctx["book"],
    },
    ("transfer.created", "1.0.0"): lambda rng, ctx: {
        "transfer_id": f"TR-{ctx['number']}",
        "from_location": ctx["from"],
        "to_location": ctx["to"],
    },
    ("transfer.shipped", "1.0.0"): lambda rng, ctx: {"transfer_id": f"TR-{ctx['number']}"},
    ("transfer.received", "1.0.0"): lambda rng, ctx: {
        "transfer_id": f"TR-{ctx['number']}",
        "received_quantity": ctx["quantity"],
    },
}

VIOLATIONS: dict[str, str] = {
    "pos.sale": "lines",
    "inventory.adjusted": "delta",
    "availability.published": "available_to_promise",
    "order.placed": "order_id",
    "order.normalized": "marketplace_order_id",
    "inventory.reserved": "reservation_id",
    "order.posted": "document_number",
    "shipment.picked": "pick_list",
    "shipment.shipped": "tracking_number",
    "order.collected": "pickup_code",
    "order.cancelled": "reason",
    "return.received": "return_id",
    "return.dispositioned": "disposition",
    "count.recorded": "counted_quantity",
    "adjustment.approved": "approved_by",
    "transfer.created": "transfer_id",
    "transfer.shipped": "transfer_id",
    "transfer.received": "received_quantity",
}
"""The required payload field a contract violation leaves out, per type (current version)."""
_OLD_VIOLATIONS = {("pos.sale", "1.0.0"): "receipt", ("inventory.adjusted", "1.0.0"): "delta"}


def violation_field(event_type: str, version: str) -> str:
    """A payload field the contract of ``event_type`` at ``version`` requires."""
    return _OLD_VIOLATIONS.get((event_type, version), VIOLATIONS[event_type])


def payload(event_type: str, version: str, rng: random.Random, ctx: Context) -> dict[str, Any]:
    return _BUILDERS[(event_type, version)](rng, ctx)


def event_types() -> list[tuple[str, str]]:
    """Every ``(type, version)`` the simulator sends."""
    return sorted(_BUILDERS)
