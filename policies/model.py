"""The policy pack as immutable, typed objects: what every other package reads.

Nothing outside :mod:`policies.loader` reads pack YAML; everything else receives a
:class:`PolicyPack` and asks it questions (which statuses are canonical, what a workflow
expects, which SLOs apply, how strict contract checks are).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

__all__ = [
    "BurnRateAlert",
    "CompatibilityDefault",
    "DeprecationPolicy",
    "LintRuleConfig",
    "PolicyPack",
    "Slo",
    "SloEvaluation",
    "Statuses",
    "Workflow",
    "WorkflowStep",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Statuses:
    """Canonical inventory statuses and each system's words for them."""

    canonical: tuple[str, ...]
    descriptions: Mapping[str, str] = field(default_factory=_empty)
    mappings: Mapping[str, Mapping[str, str]] = field(default_factory=_empty)

    def canonicalize(self, system: str, word: str) -> str | None:
        """The canonical status for a system's word; None when nobody mapped it (never a guess)."""
        if word in self.canonical:
            return word
        return self.mappings.get(system, _EMPTY).get(word)


@dataclass(frozen=True)
class WorkflowStep:
    """One expected ``(event type, system)`` of a workflow, due ``deadline`` after the first event."""

    type: str
    systems: tuple[str, ...] = ()
    deadline: timedelta | None = None
    optional: bool = False
    each_instance: bool = False
    instances: tuple[str, ...] = ()
    """With ``each_instance``: the instances that must each send it (the pack's ``instances``
    of the step's systems); the step arrives when the last of them has."""
    channels: tuple[str, ...] = ()
    """Only events of these channels count; tells apart workflows with the same first event."""
    description: str = ""


@dataclass(frozen=True)
class Workflow:
    name: str
    steps: tuple[WorkflowStep, ...]
    description: str = ""

    @property
    def initiating(self) -> WorkflowStep:
        return self.steps[0]


@dataclass(frozen=True)
class BurnRateAlert:
    """Alert when the error budget burns ``burn_rate`` times too fast over both windows."""

    name: str
    severity: str
    burn_rate: float
    long_window: timedelta
    short_window: timedelta


@dataclass(frozen=True)
class SloEvaluation:
    """Pack-wide evaluation settings: the calendar's time zone and the low-traffic floors."""

    time_zone: str = "UTC"
    min_events: int = 100
    min_bad_events: int = 5


@dataclass(frozen=True)
class Slo:
    name: str
    indicator: str
    target: float
    window: timedelta
    description: str = ""
    filter: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    group_by: tuple[str, ...] = ()
    threshold: timedelta | float | None = None
    tolerance: Mapping[str, Any] = field(default_factory=_empty)
    alerts: tuple[BurnRateAlert, ...] = ()

    @property
    def error_budget(self) -> float:
        """The share of bad events the window may hold: 1 - target."""
        return 1.0 - self.target


@dataclass(frozen=True)
class CompatibilityDefault:
    mode: str
    policy: str


@dataclass(frozen=True)
class DeprecationPolicy:
    minimum_notice_days: Mapping[str, int] = field(default_factory=_empty)
    replacement_required: bool = False
    block_retirement_with_consumers: bool = True

    def notice_days(self, stability: str | None) -> int:
        """Minimum notice for an item of this ``x-stability-level`` (stable when unset)."""
        return self.minimum_notice_days.get(stability or "stable", self.minimum_notice_days.get("stable", 90))


@dataclass(frozen=True)
class LintRuleConfig:
    enabled: bool = True
    severity: str | None = None
    options: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True)
class PolicyPack:
    """A loaded, validated and merged pack; ``label`` is recorded with every decision."""

    name: str
    version: str
    description: str = ""
    lineage: tuple[str, ...] = ()
    envelope: Mapping[str, Any] = field(default_factory=_empty)
    statuses: Statuses = field(default_factory=lambda: Statuses(()))
    workflows: Mapping[str, Workflow] = field(default_factory=_empty)
    slos: Mapping[str, Slo] = field(default_factory=_empty)
    slo_evaluation: SloEvaluation = field(default_factory=SloEvaluation)
    compatibility: Mapping[str, CompatibilityDefault] = field(default_factory=_empty)
    deprecation: DeprecationPolicy = field(default_factory=DeprecationPolicy)
    lint: Mapping[str, LintRuleConfig] = field(default_factory=_empty)
    sections: Mapping[str, Any] = field(default_factory=_empty)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def lint_rule(self, rule_id: str) -> LintRuleConfig:
        return self.lint.get(rule_id, LintRuleConfig())
