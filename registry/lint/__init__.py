"""Contract lint: governance rules a single document must follow, configured by the pack."""

from .catalogue import LINT_RULES, LintRule
from .engine import lint_document

__all__ = ["LINT_RULES", "LintRule", "lint_document"]
