"""Run the lint rules that apply to a document, as the policy pack configures them."""

from __future__ import annotations

from policies import PolicyPack

from ..diff.compatibility import Side
from ..diff.findings import Finding, Location, Severity
from . import event_rules, openapi_rules  # noqa: F401  (each registers its checks)
from .catalogue import LINT_RULES
from .context import CHECKS, LintContext

__all__ = ["lint_document"]


def lint_document(side: Side, kind: str, pack: PolicyPack) -> list[Finding]:
    """Findings of every enabled rule for this kind of document, in document order."""
    findings: list[Finding] = []
    document = side.document
    for rule in LINT_RULES.values():
        config = pack.lint_rule(rule.id)
        if rule.kind != kind or not config.enabled:
            continue
        severity = Severity(config.severity) if config.severity else rule.severity
        context = LintContext(side, pack, rule.id)
        for pointer, message in CHECKS[rule.id](context):
            location = Location(pointer, document.source, document.line_of(pointer))
            findings.append(Finding(rule.id, severity, message, location))
    findings.sort(key=lambda f: (f.location.line or 0, f.rule))
    return findings
