"""One entry point for a contract diff: detect the kind, run its checks, summarise."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..kinds import Kind, detect_kind
from .catalogue import RULES, Rule
from .compatibility import Mode, Side, schema_compatibility
from .findings import Finding, Location, Severity
from .openapi import OpenApiOptions, diff_openapi, version_findings
from .schema_compat import Policy

__all__ = ["DiffOptions", "DiffReport", "diff_contracts", "rules_for"]


@dataclass(frozen=True)
class DiffOptions:
    kind: str = "auto"
    mode: Mode = Mode.BACKWARD
    policy: Policy = "lenient"
    deprecation_days: int = 90
    notice_by_stability: Mapping[str, int] = field(default_factory=dict)
    today: dt.date | None = None
    budget: int = 300_000


@dataclass
class DiffReport:
    """The outcome of one diff, ready for any output format."""

    old: str
    new: str
    kind: Kind | str  # "mixed" when `contracts check` merged several kinds
    mode: Mode
    policy: Policy
    findings: list[Finding] = field(default_factory=list)
    policy_pack: str | None = None  # name@version of the pack the decision was made under
    rules: list[Rule] | None = None  # the rules checked, when not just this kind's diff rules

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.waived]

    def counts(self) -> dict[str, int]:
        counts = Counter(f.severity.value for f in self.active)
        return {
            "error": counts["error"],
            "warning": counts["warning"],
            "info": counts["info"],
            "waived": sum(1 for f in self.findings if f.waived),
        }

    def fails(self, threshold: Severity | None) -> bool:
        """Whether any unwaived finding is at or above ``threshold`` (None: never fails)."""
        return threshold is not None and any(f.severity.rank >= threshold.rank for f in self.active)

    @property
    def rules_checked(self) -> list[Rule]:
        return self.rules if self.rules is not None else rules_for(self.kind)

    @property
    def subject(self) -> str:
        """What was checked: ``old → new`` for a diff, the file alone for lint."""
        return f"{self.old} → {self.new}" if self.old else self.new


def rules_for(kind: str) -> list[Rule]:
    """The rules a diff of this kind can report (one JUnit test case each)."""
    if kind == "jsonschema":
        return [r for r in RULES.values() if r.group in ("schema", "engine", "waivers")]
    if kind == "openapi":
        return [r for r in RULES.values() if r.group != "schema"]
    return list(RULES.values())  # a check of several kinds of contract


def diff_contracts(old: Side, new: Side, options: DiffOptions, *, earlier: Sequence[Side] = ()) -> DiffReport:
    """Compare two versions of a contract (``earlier`` feeds the transitive modes)."""
    old_kind = detect_kind(old.document.data, old.document.source, options.kind)
    kind = detect_kind(new.document.data, new.document.source, options.kind)
    if old_kind != kind:
        from stockplane.errors import UsageError

        raise UsageError(
            f"cannot compare {old_kind} ({old.document.source}) with {kind} ({new.document.source})"
        )
    report = DiffReport(old.document.source, new.document.source, kind, options.mode, options.policy)
    if kind == "openapi":
        if options.mode is not Mode.NONE:
            openapi_options = OpenApiOptions(
                options.policy,
                options.today,
                options.deprecation_days,
                options.budget,
                options.notice_by_stability,
            )
            findings = diff_openapi(old, new, openapi_options)
            findings += version_findings(old, new, findings)
            report.findings = findings
    else:
        report.findings = schema_compatibility(
            old, new, mode=options.mode, policy=options.policy, earlier=earlier, budget=options.budget
        )
    report.findings[:0] = [
        Finding(
            "api-version-not-a-string",
            RULES["api-version-not-a-string"].severity,
            warning.message,
            Location(warning.pointer, new.document.source, warning.line),
        )
        for warning in new.document.warnings
    ]
    report.findings.sort(key=lambda f: (-f.severity.rank, f.location.line or 0))
    return report
