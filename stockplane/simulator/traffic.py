"""Traffic: the estate's transactions over time, their events in arrival order, and the
truth about each.

Transactions start as a Poisson process whose rate follows the hour of day (stores open
08:00-22:00, the web shop peaks in the evening), the weekend and peak days. Each one
walks its workflow's steps: every step happens after the previous one reached the next
system (plus that system's processing time), and reaches stockplane after a transport
delay, or at the next upload for stores whose tills upload in batches; the ERP queues
postings during its nightly maintenance. Faults are then injected (see :mod:`.faults`),
events arriving after the end of the window are cut, and what remains is emitted in
arrival order with one :class:`~.truth.Truth` per transaction.

Memory stays bounded by the events still in flight (those arriving after the window
being generated), not by the length of the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from policies import PolicyPack, Workflow

from .arrivals import Block, Event, Merger, PackedWindow, pack
from .draws import between, pick
from .estate import OFFICE_HOURS, ONLINE_HOURS, STORE_HOURS, Estate, EstateOptions
from .faults import CHAIN_FAULTS, FaultRates
from .payloads import CURRENT_VERSION, LEGACY_VERSION, RETIRED_VERSIONS, payload, violation_field
from .truth import Truth, state_at, truth_lines
from .workflows import BUILDERS, PREFIX, Step, TransactionPlan

__all__ = ["Simulation", "SimulationOptions"]

WINDOW = dt.timedelta(minutes=15)
"""Generation unit: small enough that the few windows in flight stay light at peak."""
_PER_WINDOW = 1_000_000
"""Transaction numbers per window: window ``i`` numbers from ``i * _PER_WINDOW``."""


_UNMAPPED_WORDS = ("shrink", "blocked_stock", "b_grade", "lost_in_store")
_FAILURES = {
    "error": ("TIMEOUT", "the downstream system did not answer"),
    "dead_letter": ("DLQ", "moved to the dead-letter queue after repeated failures"),
}


@dataclass(frozen=True)
class SimulationOptions:
    start: dt.datetime
    end: dt.datetime
    seed: int = 1
    estate: EstateOptions = field(default_factory=EstateOptions)
    faults: FaultRates = field(default_factory=FaultRates)
    first_number: int = 0
    """Where transaction numbers start (a live trickle continues after the history)."""


@dataclass(slots=True)
class _Planned:
    """One event as planned, before it becomes an envelope."""

    type: str
    system: str
    instance: str
    at: float  # epoch seconds: date arithmetic on floats is several times cheaper
    arrival: float
    step: int  # index into the workflow's steps; -1 for an event outside the workflow
    status: str = "ok"
    inventory_status: str | None = None


class Simulation:
    """One deterministic run: the same options and pack give the same events and truth."""

    def __init__(self, options: SimulationOptions, pack: PolicyPack | Mapping[str, Workflow]) -> None:
        if options.end <= options.start:
            raise ValueError("the simulated window must end after it starts")
        self.options = options
        # a plain dict of plain dataclasses: worker processes receive it pickled
        self.workflows: dict[str, Workflow] = dict(pack.workflows if isinstance(pack, PolicyPack) else pack)
        missing = sorted(set(PREFIX) - set(self.workflows))
        if missing:
            raise ValueError(
                f"the policy pack lacks the workflow(s) the simulator models: {', '.join(missing)}"
            )
        self.rng = random.Random(options.seed)
        self.estate = Estate.build(options.estate, self.rng)
        self.legacy_stores = frozenset(s for s in self.estate.stores if self.rng.random() < 0.1)
        self.run_id = hashlib.blake2b(
            f"{options.seed}|{options.start.isoformat()}|{options.first_number}".encode(), digest_size=4
        ).hexdigest()
        self._events = 0
        self._event_prefix = f"{self.run_id}-0-"
        self._started = 0
        self._end = options.end.timestamp()
        opens = options.estate.maintenance_start
        self._maintenance = (opens.hour * 3600 + opens.minute * 60, options.estate.maintenance_minutes * 60)
        self._shifted_step: int | None = None
        self._number = options.first_number
        self.truths: list[Truth] = []
        """Truth records not yet collected by :meth:`drain_truths`."""
        self._truth_lines: list[bytes] = []  # the same, as worker processes send them

    # -- the clock ------------------------------------------------------------------------

    def _daily(self) -> dict[str, tuple[float, tuple[int, ...], bool]]:
        """Per workflow: transactions on a normal weekday, hourly shape, follows the shops."""
        e = self.options.estate
        return {
            "store_sale": (e.stores * e.sales_per_store, STORE_HOURS, True),
            "store_return": (e.stores * e.sales_per_store * e.return_rate, STORE_HOURS, True),
            "ecommerce_order": (e.online_orders, ONLINE_HOURS, False),
            "marketplace_order": (e.marketplace_orders if e.marketplaces else 0.0, ONLINE_HOURS, False),
            "click_and_collect": (e.click_and_collect if e.stores else 0.0, ONLINE_HOURS, False),
            "cycle_count": (
                e.stores * e.counts_per_store + e.distribution_centres * e.counts_per_dc,
                STORE_HOURS,
                True,
            ),
            "transfer": (
                e.stores * e.transfers_per_store if e.distribution_centres else 0.0,
                OFFICE_HOURS,
                True,
            ),
        }

    def _rate(self, daily: float, hours: tuple[int, ...], in_store: bool, at: dt.datetime) -> float:
        """Transactions per second at ``at``."""
        e = self.options.estate
        lift = e.weekend_lift if in_store and at.weekday() >= 5 else 1.0
        if e.is_peak(at.date()):
            lift *= e.peak_multiplier
        return daily * hours[at.hour] / sum(hours) * lift / 3600

    @property
    def transactions(self) -> int:
        """Transactions started so far."""
        return self._started

    def lines(self) -> Iterator[bytes]:
        """Envelopes in arrival order, serialised (one JSON document each); truths collect
        in :attr:`truths` as transactions start."""
        for _, line in self.timed_lines():
            yield line

    def windows(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """The stretches of time the run is generated in, each with its own random stream,
        so the same seed gives the same events however many processes generate them."""
        bounds, t = [], self.options.start
        while t < self.options.end:
            bounds.append((t, min(t + WINDOW, self.options.end)))
            t += WINDOW
        return bounds

    def window(self, index: int) -> tuple[list[Event], list[Truth], int]:
        """The events (in start order, newline-terminated) and truths of the transactions
        that start in window ``index``, and how many started."""
        begin, until = self.windows()[index]
        self.rng = random.Random(f"{self.options.seed}/{self.run_id}/{index}")
        self._events = 0
        self._event_prefix = f"{self.run_id}-{index:x}-"  # event ids: run, window, number
        self._number = self.options.first_number + index * _PER_WINDOW
        first, truths, self.truths = self._number, self.truths, []
        events: list[Event] = []
        daily = self._daily()
        t = begin
        while t < until:
            minute = min(t + dt.timedelta(minutes=1), until)
            for kind, (count, hours, in_store) in daily.items():
                rate = self._rate(count, hours, in_store, t)
                if rate <= 0:
                    continue
                at, stop = t.timestamp(), minute.timestamp()
                while True:
                    at += self.rng.expovariate(rate)
                    if at >= stop:
                        break
                    events += self._transaction(kind, at)
            t = minute
        generated, self.truths = self.truths, truths
        return events, generated, self._number - first

    def timed_lines(self, *, workers: int = 1) -> Iterator[tuple[dt.datetime, bytes]]:
        """``(arrival time, envelope)`` in arrival order; truths collect in :attr:`truths`."""
        for block in self.timed_blocks(workers=workers):
            for arrival, line in block.lines():
                yield dt.datetime.fromtimestamp(arrival, dt.UTC), line

    def timed_blocks(self, *, workers: int = 1) -> Iterator[Block]:
        """The envelopes in arrival order, a window's worth at a time; truths collect in
        :attr:`truths`.

        With ``workers`` > 1, windows are generated in that many processes (a few at a time,
        so memory stays bounded) and merged here; the output is the same.
        """
        merger = Merger()
        for window, truths, started in self._generated(workers):
            if isinstance(truths, bytes):
                self._truth_lines.append(truths)
            else:
                self.truths += truths
            self._started += started
            yield merger.add(window)
        yield merger.rest()

    def _generated(self, workers: int) -> Iterator[tuple[PackedWindow, list[Truth] | bytes, int]]:
        """Each window packed, in start order: here, or in worker processes that keep two
        windows each in hand (night windows are small, day ones large: a worker done early
        starts the next instead of waiting for the merge)."""
        count = len(self.windows())
        if workers <= 1 or count < 2:
            for index in range(count):
                yield self._packed(index)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: deque[Future[tuple[PackedWindow, bytes, int]]] = deque()
            submitted = 0
            while submitted < count or pending:
                while submitted < count and len(pending) < 2 * workers + 2:
                    pending.append(pool.submit(_window_in_worker, self.options, self.workflows, submitted))
                    submitted += 1
                yield pending.popleft().result()

    def _packed(self, index: int) -> tuple[PackedWindow, list[Truth], int]:
        events, truths, started = self.window(index)
        return pack(events, self.windows()[index][1].timestamp()), truths, started

    def events(self) -> Iterator[dict[str, Any]]:
        """The same envelopes as :meth:`lines`, as dictionaries."""
        for line in self.lines():
            yield orjson.loads(line)

    def drain_truths(self) -> list[Truth]:
        """The truth records collected since the last drain."""
        truths, self.truths = self.truths, []
        lines, self._truth_lines = self._truth_lines, []
        return truths + [Truth.from_json(orjson.loads(line)) for text in lines for line in text.splitlines()]

    def drain_truth_lines(self) -> bytes:
        """The same as :meth:`drain_truths`, as JSON lines (what a truth file holds)."""
        truths, self.truths = self.truths, []
        lines, self._truth_lines = self._truth_lines, []
        return b"".join(lines) + truth_lines(truths)

    # -- one transaction ------------------------------------------------------------------

    def _transaction(self, kind: str, t0: float) -> list[Event]:
        """One transaction starting at ``t0``: its emitted events, with its truth recorded."""
        self._number += 1
        transaction = BUILDERS[kind](self.rng, self.estate, self.options.faults, self._number, t0)
        workflow = self.workflows[kind]
        faults: list[str] = []
        planned = self._plan(transaction, workflow, faults)
        emitted = [p for p in planned if p.arrival <= self._end]
        if not emitted:
            return []
        anomalies: set[str] = set()
        if "orphan" in faults:
            anomalies.add("orphan")
        arrived = _arrived_steps(workflow, emitted)
        if "out_of_order" in faults and self._shifted_step in arrived:
            anomalies.add("out_of_order")
        if transaction.ctx.get("discrepancy"):
            faults.append("count_discrepancy")
        correlation_id = f"{PREFIX[kind]}-{self.run_id}-{transaction.number}"
        bodies = [self._envelope(transaction, correlation_id, p) for p in emitted]
        arrivals = [p.arrival for p in emitted]
        self._event_faults(transaction, emitted, bodies, arrivals, faults, anomalies)
        self.truths.append(self._truth(correlation_id, workflow, emitted, arrived, faults, anomalies))
        # orjson's bytes keep a 4 KiB buffer whatever their length: adding the newline
        # makes an exact-size copy at once, so the next event reuses the buffer (holding a
        # window's worth of them would grow and shrink the heap every window, and events
        # waiting for a later window, days for a transfer, would each hold 4 KiB)
        return [(arrival, orjson.dumps(body) + b"\n") for arrival, body in zip(arrivals, bodies, strict=True)]

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def _plan(self, tx: TransactionPlan, workflow: Workflow, faults: list[str]) -> list[_Planned]:
        """Walk the steps, with the chain faults (late, missing, error, dead letter,
        oversell), retries, orphans, and out-of-order steps or clock skew."""
        rng, rates, end = self.rng, self.options.faults, self._end
        chain = self._chain_fault(tx, rates)
        if chain is not None:
            faults.append(chain)
        steps = workflow.steps
        with_deadline = [k for k in range(1, len(tx.steps)) if steps[k].deadline is not None]
        fault_step = pick(rng, with_deadline) if with_deadline else 1
        retry_step = rng.randrange(1, len(tx.steps)) if self._chance(rates.retry) else None
        if retry_step is not None:
            faults.append("retry")
        planned: list[_Planned] = []
        previous_arrival = tx.t0
        for k, step in enumerate(tx.steps):
            if chain == "missing" and k == fault_step:
                break
            low, high = step.delay  # random.uniform's own formula, without its call
            at = tx.t0 if k == 0 else previous_arrival + (low + (high - low) * rng.random())
            if chain == "late" and k == fault_step:
                due = tx.t0 + (steps[k].deadline or dt.timedelta(0)).total_seconds()
                at = max(at, due + rng.uniform(60, 1800))
            if step.system == "erp":
                closes = self._maintenance_end(at)
                if closes is not None:
                    at = closes + rng.uniform(0, 120)
            step_events: list[_Planned] = []
            for i, instance in enumerate(step.instances):
                when = at + rng.uniform(0, 20) if i else at
                if k == retry_step and i == 0:  # one sender retries: within the budget per system
                    for _ in range(between(rng, 1, 2)):
                        step_events.append(self._event(step, instance, when, k, "retry"))
                        when += rng.uniform(5, 60)
                step_events.append(self._event(step, instance, when, k))
            if chain in ("error", "dead_letter") and k == fault_step:
                step_events[-1].status = chain
            planned += step_events
            previous_arrival = (
                step_events[0].arrival if len(step_events) == 1 else max(p.arrival for p in step_events)
            )
            if chain in ("error", "dead_letter") and k == fault_step:
                break
            if chain == "oversell" and step.type == "inventory.reserved":
                cancel_at = previous_arrival + rng.uniform(60, 1800)
                cancel = Step("order.cancelled", "oms", (self.estate.instances["oms"],), (0, 0))
                cancelled = self._event(cancel, cancel.instances[0], cancel_at, -1, "error")
                planned.append(cancelled)
                break
            if previous_arrival > end:
                break  # nothing after this can arrive in the window
        if tx.kind == "marketplace_order" and self._chance(rates.orphan):
            faults.append("orphan")
            planned = [p for p in planned if p.step != 0]
        self._shifted_step = None
        if self._chance(rates.out_of_order):
            faults.append("out_of_order")
            self._shift(planned, workflow, rng.uniform(30, 600))
        elif self._chance(rates.clock_skew):
            faults.append("clock_skew")
            self._shift(planned, workflow, rng.uniform(0.5, 4.0))
        return planned

    def _chain_fault(self, tx: TransactionPlan, rates: FaultRates) -> str | None:
        roll, cumulative = self.rng.random(), 0.0
        for kind in CHAIN_FAULTS:
            if kind == "oversell" and tx.kind not in ("ecommerce_order", "marketplace_order"):
                continue
            cumulative += getattr(rates, kind)
            if roll < cumulative:
                return kind
        return None

    def _shift(self, planned: list[_Planned], workflow: Workflow, seconds: float) -> None:
        """Make one required step seem to happen ``seconds`` before the step it follows."""
        present = sorted({p.step for p in planned if p.step >= 0 and not workflow.steps[p.step].optional})
        if len(present) < 2:
            return
        index = self.rng.randrange(1, len(present))
        step, before = present[index], present[index - 1]
        anchor = min(p.at for p in planned if p.step == before)
        current = min(p.at for p in planned if p.step == step)
        delta = current - (anchor - seconds)
        for p in planned:
            if p.step == step:
                p.at -= delta
        self._shifted_step = step

    def _maintenance_end(self, at: float) -> float | None:
        """When the ERP's nightly maintenance window ``at`` falls in closes, or None."""
        opens, length = self._maintenance
        into_day = at % 86400
        return at - into_day + opens + length if opens <= into_day < opens + length else None

    def _event(self, step: Step, instance: str, at: float, k: int, status: str = "ok") -> _Planned:
        if step.system == "pos" and instance in self.estate.batch_stores:
            every = self.options.estate.batch_minutes * 60
            arrival = (int(at) // every + 1) * every + self.rng.uniform(0, 30)
        else:
            arrival = at + (0.2 + (3.0 - 0.2) * self.rng.random())  # = uniform(0.2, 3.0)
        return _Planned(step.type, step.system, instance, at, arrival, k, status, step.inventory_status)

    def _envelope(self, tx: TransactionPlan, correlation_id: str, p: _Planned) -> dict[str, Any]:
        self._events += 1
        version = CURRENT_VERSION.get(p.type, "1.0.0")
        if p.type in LEGACY_VERSION and tx.location in self.legacy_stores:
            version = LEGACY_VERSION[p.type]
        event: dict[str, Any] = {
            "event_id": f"{self._event_prefix}{self._events:x}",
            "correlation_id": correlation_id,
            "type": p.type,
            "schema_version": version,
            "source": {"system": p.system, "instance": p.instance},
            # orjson writes it as isoformat() would, in a tenth of the time
            "occurred_at": dt.datetime.fromtimestamp(p.at, dt.UTC),
            "status": p.status,
            "sku": tx.ctx["sku"],
            "quantity": tx.ctx["quantity"],
            "payload": payload(p.type, version, self.rng, tx.ctx),
        }
        if tx.channel is not None:
            event["channel"] = tx.channel
        if tx.location is not None:
            event["location_id"] = tx.location
        if p.inventory_status is not None:
            event["inventory_status"] = p.inventory_status
        if p.status != "ok":
            code, message = _FAILURES.get(p.status, ("RETRYING", "transient failure; retrying"))
            if p.type == "order.cancelled":
                code, message = "OUT_OF_STOCK", "cancelled after acceptance: no stock to fulfil it"
            event["error"] = {"code": code, "message": message}
        return event

    def _event_faults(
        self,
        tx: TransactionPlan,
        emitted: list[_Planned],
        bodies: list[dict[str, Any]],
        arrivals: list[float],
        faults: list[str],
        anomalies: set[str],
    ) -> None:
        """Faults of single events: retired versions, contract violations, unknown status
        words, then re-deliveries (identical or not) of the finished envelopes."""
        rng, rates, end = self.rng, self.options.faults, self._end
        retirable = [i for i, body in enumerate(bodies) if body["type"] in RETIRED_VERSIONS]
        if retirable and self._chance(rates.retired_schema_version):
            faults.append("retired_schema_version")
            body = bodies[pick(rng, retirable)]
            body["schema_version"] = RETIRED_VERSIONS[body["type"]]
            body["payload"] = payload(body["type"], body["schema_version"], rng, tx.ctx)
            anomalies.add("retired_schema_version")
        if self._chance(rates.contract_violation):
            faults.append("contract_violation")
            body = pick(rng, bodies)
            body["payload"].pop(violation_field(body["type"], body["schema_version"]))
            anomalies.add("contract_violation")
        if self._chance(rates.unknown_status):
            faults.append("unknown_status")
            pick(rng, bodies)["inventory_status"] = pick(rng, _UNMAPPED_WORDS)
            anomalies.add("unknown_status")
        originals = len(bodies)
        redelivered: dict[str, str] = {}  # event id -> the kind of its re-delivery
        for kind in ("duplicate", "conflicting_duplicate"):
            if not self._chance(getattr(rates, kind)):
                continue
            faults.append(kind)
            # another event than the one already re-delivered, where there is one
            candidates = [i for i in range(originals) if bodies[i]["event_id"] not in redelivered]
            index = pick(rng, candidates or range(originals))
            later = arrivals[index] + rng.uniform(1, 600)
            if later > end:
                continue  # the re-delivery would come after the window: nothing to see
            copy = orjson.loads(orjson.dumps(bodies[index]))
            if kind == "conflicting_duplicate":
                copy["quantity"] = copy["quantity"] + 1
            bodies.append(copy)
            arrivals.append(later)
            redelivered[copy["event_id"]] = kind
        # an event delivered again with different content is a conflicting duplicate,
        # whatever identical copies it also had
        anomalies.update(redelivered.values())

    def _truth(
        self,
        correlation_id: str,
        workflow: Workflow,
        emitted: list[_Planned],
        arrived: set[int],
        faults: list[str],
        anomalies: set[str],
    ) -> Truth:
        """The brief's rules applied to what was emitted: failed on an error or dead
        letter, completed when every required step ``arrived``, otherwise open until the
        first deadline of a missing required step (measured from the first event)."""
        started = min(p.at for p in emitted)
        missing = [k for k, s in enumerate(workflow.steps) if not s.optional and k not in arrived]
        if any(p.status in ("error", "dead_letter") for p in emitted):
            outcome, stalls_at = "failed", None
        elif not missing:
            outcome, stalls_at = "completed", None
        else:
            deadlines = [workflow.steps[k].deadline for k in missing]
            dues = [started + deadline.total_seconds() for deadline in deadlines if deadline is not None]
            outcome = "open"
            stalls_at = dt.datetime.fromtimestamp(min(dues), dt.UTC) if dues else None
        return Truth(
            correlation_id=correlation_id,
            workflow=workflow.name,
            outcome=outcome,
            stalls_at=stalls_at,
            anomalies=tuple(sorted(anomalies)),
            faults=tuple(faults),
            events=len(emitted),
            state_at_end=state_at(outcome, stalls_at, self.options.end),
        )


def _arrived_steps(workflow: Workflow, emitted: list[_Planned]) -> set[int]:
    """The steps the correlator will count as arrived: those with an event, and for a step
    expected from each instance (every marketplace), an event from every one of them."""
    heard: dict[int, set[str]] = {}
    for p in emitted:
        heard.setdefault(p.step, set()).add(p.instance)
    return {k for k, senders in heard.items() if k >= 0 and senders.issuperset(workflow.steps[k].instances)}


_worker_simulation: Simulation | None = None


def _window_in_worker(
    options: SimulationOptions, workflows: dict[str, Workflow], index: int
) -> tuple[PackedWindow, bytes, int]:
    """One window, generated and packed in a worker process, truths as JSON lines (blocks
    of text pickle in a fraction of the time of an object per event or transaction); the
    estate is built from the seed once per process."""
    global _worker_simulation
    if _worker_simulation is None or _worker_simulation.options != options:
        _worker_simulation = Simulation(options, workflows)
    window, truths, started = _worker_simulation._packed(index)
    return window, truth_lines(truths), started
