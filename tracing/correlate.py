"""Correlation: from a transaction's events and the workflows of the policy pack to its state.

Pure: events and workflows in, a :class:`Transaction` out; no I/O, no clock (``now`` is a
parameter), so ingestion can re-evaluate one transaction incrementally and tests can
replay any order of arrival.

States, as the product brief defines them:

- ``failed``: an event has status ``error`` or ``dead_letter``, or a step was retried more
  often than the retry budget allows;
- ``completed``: every required step arrived;
- ``stalled``: a required step is missing past its deadline (measured from the first event);
- ``in_progress``: required steps are missing but still within their deadlines.

Anomalies are listed beside the state: duplicate and conflicting-duplicate deliveries,
out-of-order steps (a step that happened before the step it follows, by more than the
clock-skew tolerance), orphans (no initiating event), contract violations, retired schema
versions and inventory status words nobody mapped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from policies import Statuses, Workflow, WorkflowStep

from .events import FAILURE_STATUSES, Event

__all__ = [
    "Anomaly",
    "CorrelationSettings",
    "Hop",
    "StepProgress",
    "Transaction",
    "correlate",
    "match_workflow",
]


@dataclass(frozen=True)
class CorrelationSettings:
    retry_budget: int = 3
    """Retries of one step tolerated before the transaction counts as failed."""
    clock_skew: dt.timedelta = dt.timedelta(seconds=5)
    """How far a step may seem to precede the step it follows before that is an anomaly."""


@dataclass(frozen=True)
class Anomaly:
    kind: str  # duplicate, conflicting_duplicate, out_of_order, orphan, contract_violation, retired_schema_version, unknown_status
    message: str
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepProgress:
    """One expected step: the events that satisfied it, when it was due, whether it is late."""

    step: WorkflowStep
    events: tuple[Event, ...]
    due_at: dt.datetime | None
    late: bool
    at: dt.datetime | None
    """When the step happened (for a step expected from each instance, when the last of
    them first sent it); None until it arrives."""
    missing_instances: tuple[str, ...] = ()
    """Of a step expected from each instance, those not heard from yet."""

    @property
    def arrived(self) -> bool:
        return bool(self.events) and not self.missing_instances


@dataclass(frozen=True)
class Hop:
    """Latency into an arrived step, from the start and from the previous arrived step."""

    type: str
    system: str
    from_start: dt.timedelta
    from_previous: dt.timedelta
    late: bool


@dataclass(frozen=True)
class Transaction:
    correlation_id: str
    workflow: str | None
    state: str
    started_at: dt.datetime
    events: tuple[Event, ...]
    steps: tuple[StepProgress, ...] = ()
    hops: tuple[Hop, ...] = ()
    anomalies: tuple[Anomaly, ...] = field(default_factory=tuple)
    sync_latency: dt.timedelta | None = None
    failure: str | None = None

    @property
    def missing(self) -> tuple[StepProgress, ...]:
        return tuple(p for p in self.steps if not p.arrived and not p.step.optional)


def _matches(event: Event, step: WorkflowStep) -> bool:
    return (
        event.type == step.type
        and (not step.systems or event.system in step.systems)
        and (not step.channels or event.channel in step.channels)
    )


def match_workflow(
    events: Sequence[Event], workflows: Mapping[str, Workflow]
) -> tuple[Workflow | None, bool]:
    """The workflow a transaction follows, and whether its initiating event is present.

    The earliest initiating event (a workflow's first step) decides. When it starts
    several workflows (a web order shipped or collected in store), the one whose first
    step names it most precisely wins (a channel, then a system), then the one that
    explains most of the events. Without an initiating event, the workflow that explains
    most of the events is taken and the transaction is an orphan.
    """
    for event in sorted(events, key=lambda e: e.occurred_at):
        started = [w for w in workflows.values() if _matches(event, w.initiating)]
        if len(started) == 1:
            return started[0], True
        if started:
            return max(started, key=lambda w: (_specificity(w.initiating), _explained(w, events))), True
    best, best_score = None, 0
    for workflow in workflows.values():
        score = _explained(workflow, events)
        if score > best_score:
            best, best_score = workflow, score
    return best, False


def _specificity(step: WorkflowStep) -> tuple[bool, bool]:
    return bool(step.channels), bool(step.systems)


def _explained(workflow: Workflow, events: Sequence[Event]) -> int:
    return sum(1 for event in events if any(_matches(event, step) for step in workflow.steps))


def correlate(
    events: Iterable[Event],
    workflows: Mapping[str, Workflow],
    *,
    now: dt.datetime,
    statuses: Statuses | None = None,
    settings: CorrelationSettings | None = None,
) -> Transaction:
    """Evaluate one transaction (all events share a correlation id) as of ``now``."""
    settings = settings or CorrelationSettings()
    ordered = tuple(sorted(events, key=lambda e: (e.occurred_at, e.received_at or e.occurred_at, e.event_id)))
    if not ordered:
        raise ValueError("a transaction needs at least one event")
    workflow, initiated = match_workflow(ordered, workflows)
    started = ordered[0].occurred_at
    anomalies = list(_event_anomalies(ordered, statuses))
    if workflow is not None and not initiated:
        anomalies.append(
            Anomaly("orphan", f"no {workflow.initiating.type} event started this {workflow.name} transaction")
        )
    steps = _progress(workflow, ordered, started, now) if workflow else ()
    anomalies += _order_anomalies(steps, settings.clock_skew)
    failure = _failure(ordered, settings.retry_budget)
    state = _state(failure, steps, workflow)
    return Transaction(
        correlation_id=ordered[0].correlation_id,
        workflow=workflow.name if workflow else None,
        state=state,
        started_at=started,
        events=ordered,
        steps=steps,
        hops=_hops(steps, started),
        anomalies=tuple(anomalies),
        sync_latency=_sync_latency(steps, started),
        failure=failure,
    )


def _progress(
    workflow: Workflow, events: Sequence[Event], started: dt.datetime, now: dt.datetime
) -> tuple[StepProgress, ...]:
    """Each step's events and deadline; ``events`` must be in ``occurred_at`` order."""
    progress = []
    for step in workflow.steps:
        hits = tuple(e for e in events if _matches(e, step))
        due = started + step.deadline if step.deadline is not None else None
        at = hits[0].occurred_at if hits else None  # events come in occurred_at order
        missing = () if hits else step.instances
        if step.instances and hits:
            first: dict[str, dt.datetime] = {}
            for event in hits:
                first.setdefault(event.instance, event.occurred_at)
            missing = tuple(i for i in step.instances if i not in first)
            at = None if missing else max(first[i] for i in step.instances)
        late = due is not None and (at if at is not None else now) > due
        progress.append(StepProgress(step, hits, due, late, at, missing))
    return tuple(progress)


def _state(failure: str | None, steps: Sequence[StepProgress], workflow: Workflow | None) -> str:
    if failure is not None:
        return "failed"
    required = [p for p in steps if not p.step.optional]
    if workflow is not None and all(p.arrived for p in required):
        return "completed"
    if any(p.late and not p.arrived for p in required):
        return "stalled"
    return "in_progress"


def _failure(events: Sequence[Event], retry_budget: int) -> str | None:
    for event in events:
        if event.status in FAILURE_STATUSES:
            code = f" ({event.error_code})" if event.error_code else ""
            return f"{event.type} from {event.system} reported {event.status}{code}"
    retries: dict[tuple[str, str], int] = {}
    for event in events:
        if event.status == "retry":
            key = (event.type, event.system)
            retries[key] = retries.get(key, 0) + 1
            if retries[key] > retry_budget:
                return f"{event.type} from {event.system} was retried {retries[key]} times (budget {retry_budget})"
    return None


def _event_anomalies(events: Sequence[Event], statuses: Statuses | None) -> Iterable[Anomaly]:
    for event in events:
        if event.conflicting:
            yield Anomaly(
                "conflicting_duplicate",
                f"{event.event_id} was delivered again with different content",
                (event.event_id,),
            )
        elif event.deliveries > 1:
            yield Anomaly(
                "duplicate", f"{event.event_id} was delivered {event.deliveries} times", (event.event_id,)
            )
        for violation in event.violations:
            yield Anomaly(
                "contract_violation", f"{event.type}@{event.schema_version}: {violation}", (event.event_id,)
            )
        if event.retired_schema:
            yield Anomaly(
                "retired_schema_version",
                f"{event.type} uses retired schema version {event.schema_version}",
                (event.event_id,),
            )
        if (
            statuses is not None
            and event.inventory_status is not None
            and statuses.canonicalize(event.system, event.inventory_status) is None
        ):
            yield Anomaly(
                "unknown_status",
                f"{event.system} status {event.inventory_status!r} is not mapped to a canonical status",
                (event.event_id,),
            )


def _order_anomalies(steps: Sequence[StepProgress], skew: dt.timedelta) -> Iterable[Anomaly]:
    """A step that happened before the step it follows, beyond the clock-skew tolerance."""
    previous: StepProgress | None = None
    for progress in steps:
        if not progress.arrived or progress.step.optional:
            continue
        if (
            previous is not None
            and progress.at is not None
            and previous.at is not None
            and previous.at - progress.at > skew
        ):
            ids = (previous.events[0].event_id, progress.events[0].event_id)
            yield Anomaly(
                "out_of_order",
                f"{progress.step.type} happened {previous.at - progress.at} before {previous.step.type}, which it follows",
                ids,
            )
        previous = progress


def _hops(steps: Sequence[StepProgress], started: dt.datetime) -> tuple[Hop, ...]:
    hops, previous_at = [], started
    for progress in steps:
        if progress.at is None:
            continue
        event = progress.events[0]  # the earliest: events arrive here in occurred_at order
        hops.append(
            Hop(
                progress.step.type,
                event.system,
                progress.at - started,
                max(progress.at - previous_at, dt.timedelta(0)),
                progress.late,
            )
        )
        previous_at = max(previous_at, progress.at)
    return tuple(hops)


def _sync_latency(steps: Sequence[StepProgress], started: dt.datetime) -> dt.timedelta | None:
    """Start to the availability publication (or the workflow's last step), once it arrived."""
    published = [p for p in steps if p.step.type == "availability.published" and p.arrived]
    final = published[0] if published else (steps[-1] if steps and steps[-1].arrived else None)
    return final.at - started if final is not None and final.at is not None else None
