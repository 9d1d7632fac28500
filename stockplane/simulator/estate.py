"""The retail estate the simulator models: its locations, systems, catalogue and rhythm.

Every number is an option. The defaults describe a mid-sized omnichannel retailer: 400
stores, one web shop, two marketplaces behind a connector, a cloud ERP, an OMS, three
regional distribution centres and a returns service.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from .draws import pick

__all__ = ["Catalogue", "Estate", "EstateOptions", "black_friday"]

# Relative traffic per hour of the day (UTC is the estate's local time).
STORE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 7, 8, 9, 8, 8, 9, 10, 10, 9, 7, 5, 2, 0, 0)
ONLINE_HOURS = (2, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 10, 9, 6, 4)
OFFICE_HOURS = (0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 6, 6, 4, 6, 6, 6, 5, 3, 1, 0, 0, 0, 0, 0)
ABC_SHARE = {"A": 0.1, "B": 0.2, "C": 0.7}
"""Share of the catalogue in each class."""
ABC_DEMAND = {"A": 0.7, "B": 0.2, "C": 0.1}
"""Share of sales (and of cycle counts: A items are counted most often) per class."""


def black_friday(year: int) -> dt.date:
    """The day after the fourth Thursday of November: the default peak day."""
    first = dt.date(year, 11, 1)
    thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + dt.timedelta(days=1)


@dataclass(frozen=True)
class EstateOptions:
    stores: int = 400
    skus: int = 3000
    marketplaces: int = 2
    distribution_centres: int = 3
    batch_store_share: float = 0.2
    """Stores whose POS uploads sales in batches rather than one by one."""
    batch_minutes: int = 15
    sales_per_store: float = 150.0
    """Store sales per store per day (a normal weekday)."""
    online_orders: float = 8000.0
    """Web-shop orders shipped from a DC, per day."""
    marketplace_orders: float = 4000.0
    click_and_collect: float = 2000.0
    return_rate: float = 0.09
    """Store returns as a share of store sales."""
    counts_per_store: float = 20.0
    counts_per_dc: float = 200.0
    transfers_per_store: float = 2.0
    weekend_lift: float = 1.3
    peak_days: tuple[dt.date, ...] | None = None
    """Days with ``peak_multiplier`` times the traffic; None means Black Friday."""
    peak_multiplier: float = 2.5
    maintenance_start: dt.time = dt.time(2, 0)
    """The ERP's nightly maintenance window, during which postings queue."""
    maintenance_minutes: int = 30

    def is_peak(self, day: dt.date) -> bool:
        peaks = self.peak_days if self.peak_days is not None else (black_friday(day.year),)
        return day in peaks


@dataclass(frozen=True)
class Catalogue:
    skus: tuple[str, ...]
    abc: dict[str, str]
    by_class: dict[str, tuple[str, ...]]

    def pick(self, rng: random.Random) -> str:
        """A SKU, weighted by demand: most sales are of the few A items."""
        roll, cumulative = rng.random(), 0.0
        for klass, share in ABC_DEMAND.items():
            cumulative += share
            if roll < cumulative:
                return pick(rng, self.by_class[klass])
        return pick(rng, self.skus)


@dataclass(frozen=True)
class Estate:
    options: EstateOptions
    stores: tuple[str, ...]
    batch_stores: frozenset[str]
    distribution_centres: tuple[str, ...]
    marketplaces: tuple[str, ...]
    catalogue: Catalogue
    instances: dict[str, str] = field(default_factory=dict)
    """The single instance of each central system."""

    @classmethod
    def build(cls, options: EstateOptions, rng: random.Random) -> Estate:
        stores = tuple(f"store-{number:04d}" for number in range(1, options.stores + 1))
        batch = frozenset(store for store in stores if rng.random() < options.batch_store_share)
        regions = ("north", "central", "south", "east", "west", "coast", "valley", "highlands")
        centres = tuple(
            f"dc-{regions[i % len(regions)]}{'' if i < len(regions) else i // len(regions) + 1}"
            for i in range(options.distribution_centres)
        )
        marketplaces = tuple(f"marketplace-{chr(ord('a') + i)}" for i in range(options.marketplaces))
        skus = tuple(f"SKU-{number:06d}" for number in range(1, options.skus + 1))
        abc: dict[str, str] = {}
        edges = (ABC_SHARE["A"], ABC_SHARE["A"] + ABC_SHARE["B"])
        for index, sku in enumerate(skus):
            position = index / max(len(skus), 1)
            abc[sku] = "A" if position < edges[0] else "B" if position < edges[1] else "C"
        by_class = {k: tuple(s for s in skus if abc[s] == k) or skus for k in ABC_SHARE}
        return cls(
            options=options,
            stores=stores,
            batch_stores=batch,
            distribution_centres=centres,
            marketplaces=marketplaces,
            catalogue=Catalogue(skus, abc, by_class),
            instances={
                "erp": "erp-cloud",
                "oms": "oms-1",
                "ecommerce": "webshop",
                "middleware": "connector-1",
                "returns": "returns-saas",
            },
        )
