"""Turn validated, merged section data into the typed :class:`PolicyPack`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter

from .model import (
    BurnRateAlert,
    CompatibilityDefault,
    DeprecationPolicy,
    LintRuleConfig,
    PolicyPack,
    Slo,
    SloEvaluation,
    Statuses,
    Workflow,
    WorkflowStep,
)

__all__ = ["build_pack"]

_DURATION = TypeAdapter(timedelta)


def build_pack(meta: Mapping[str, Any], lineage: tuple[str, ...], sections: Mapping[str, Any]) -> PolicyPack:
    slos = sections.get("slos", {})
    alerts = {name: _alert(name, spec) for name, spec in slos.get("burn_rate_alerts", {}).items()}
    return PolicyPack(
        name=str(meta["name"]),
        version=str(meta["version"]),
        description=str(meta.get("description", "")).strip(),
        lineage=lineage,
        envelope=_frozen(sections.get("envelope", {})),
        statuses=_statuses(sections.get("statuses", {})),
        workflows=MappingProxyType(
            {
                name: _workflow(name, spec, sections.get("workflows", {}).get("instances", {}))
                for name, spec in sections.get("workflows", {}).get("workflows", {}).items()
            }
        ),
        slos=MappingProxyType(
            {name: _slo(name, spec, alerts) for name, spec in slos.get("slos", {}).items()}
        ),
        slo_evaluation=SloEvaluation(**slos.get("evaluation", {})),
        compatibility=MappingProxyType(
            {
                kind: CompatibilityDefault(spec.get("mode", "BACKWARD"), spec.get("policy", "lenient"))
                for kind, spec in sections.get("compatibility", {}).items()
            }
        ),
        deprecation=_deprecation(sections.get("deprecation", {})),
        lint=MappingProxyType(
            {
                rule: LintRuleConfig(
                    spec.get("enabled", True), spec.get("severity"), _frozen(spec.get("options", {}))
                )
                for rule, spec in sections.get("lint", {}).get("rules", {}).items()
            }
        ),
        sections=_frozen(dict(sections)),
    )


def _statuses(spec: Mapping[str, Any]) -> Statuses:
    canonical = spec.get("canonical", {})
    return Statuses(
        canonical=tuple(canonical),
        descriptions=MappingProxyType({k: (v or {}).get("description", "") for k, v in canonical.items()}),
        mappings=MappingProxyType(
            {system: MappingProxyType(dict(words)) for system, words in spec.get("mappings", {}).items()}
        ),
    )


def _workflow(name: str, spec: Mapping[str, Any], instances: Mapping[str, Any]) -> Workflow:
    steps = []
    for step in spec["steps"]:
        systems = _strings(step.get("system"))
        each_instance = bool(step.get("each_instance", False))
        expected = [i for system in systems for i in instances.get(system, ())] if each_instance else []
        steps.append(
            WorkflowStep(
                type=step["type"],
                systems=systems,
                deadline=_duration(step.get("deadline")),
                optional=bool(step.get("optional", False)),
                each_instance=each_instance,
                instances=tuple(dict.fromkeys(expected)),
                channels=_strings(step.get("channel")),
                description=step.get("description", ""),
            )
        )
    return Workflow(name, tuple(steps), spec.get("description", ""))


def _alert(name: str, spec: Mapping[str, Any]) -> BurnRateAlert:
    return BurnRateAlert(
        name,
        spec["severity"],
        float(spec["burn_rate"]),
        _DURATION.validate_python(spec["long_window"]),
        _DURATION.validate_python(spec["short_window"]),
    )


def _slo(name: str, spec: Mapping[str, Any], alerts: Mapping[str, BurnRateAlert]) -> Slo:
    threshold = spec.get("threshold")
    return Slo(
        name=name,
        indicator=spec["indicator"],
        target=float(spec["target"]),
        window=_DURATION.validate_python(spec["window"]),
        description=spec.get("description", ""),
        filter=MappingProxyType({k: _strings(v) for k, v in spec.get("filter", {}).items()}),
        group_by=tuple(spec.get("group_by", ())),
        threshold=_duration(threshold) if isinstance(threshold, str) else threshold,
        tolerance=_frozen(spec.get("tolerance", {})),
        alerts=tuple(alerts[alert] for alert in spec.get("alerts", ())),
    )


def _deprecation(spec: Mapping[str, Any]) -> DeprecationPolicy:
    return DeprecationPolicy(
        minimum_notice_days=MappingProxyType(dict(spec.get("minimum_notice_days", {}))),
        replacement_required=bool(spec.get("replacement_required", False)),
        block_retirement_with_consumers=bool(spec.get("block_retirement_with_consumers", True)),
    )


def _duration(value: Any) -> timedelta | None:
    return None if value is None else _DURATION.validate_python(value)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _frozen(value: Any) -> Any:
    """Read-only views all the way down, so a loaded pack cannot be changed by accident."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value
