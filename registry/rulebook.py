"""Every rule stockplane can report, diff and lint alike: one namespace for waivers,
reports and docs/rules.md."""

from __future__ import annotations

from .diff.catalogue import RULES, Rule
from .lint.catalogue import LINT_RULES

__all__ = ["ALL_RULES", "lint_rules_for"]

ALL_RULES: dict[str, Rule] = {
    **RULES,
    **{
        rule.id: Rule(rule.id, rule.severity, rule.summary, rule.example, f"lint-{rule.kind}")
        for rule in LINT_RULES.values()
    },
}


def lint_rules_for(kind: str) -> list[Rule]:
    return [
        rule
        for rule in ALL_RULES.values()
        if rule.group == f"lint-{kind}" or (kind == "mixed" and rule.group.startswith("lint-"))
    ]
