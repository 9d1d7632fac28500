"""What a lint rule sees, and the registry that maps rule ids to their checks.

A check is a pure function of the document (through :class:`LintContext`) that yields
``(pointer, message)`` pairs; the engine turns them into findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policies import PolicyPack
from stockplane.pointers import join_pointer

from ..diff.compatibility import Side

__all__ = ["CHECKS", "Check", "LintContext", "check", "subschemas"]

Hit = tuple[str, str]
Check = Callable[["LintContext"], Iterator[Hit]]
CHECKS: dict[str, Check] = {}


def check(rule_id: str) -> Callable[[Check], Check]:
    """Register the function that implements ``rule_id``."""

    def register(function: Check) -> Check:
        CHECKS[rule_id] = function
        return function

    return register


@dataclass
class LintContext:
    side: Side
    pack: PolicyPack
    rule_id: str = ""

    @property
    def data(self) -> Any:
        return self.side.document.data

    def option(self, name: str, default: Any) -> Any:
        return self.pack.lint_rule(self.rule_id).options.get(name, default)

    def deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow a ``$ref``; the pointer becomes the target's, where a finding belongs."""
        target, name = self.side.resolver.deref(node)
        return target, (name.partition("#")[2] if name else pointer)


_CHILD_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_CHILD_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_CHILD_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "additionalItems",
)


def subschemas(
    context: LintContext, schema: Any, pointer: str, seen: set[str] | None = None
) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Every schema reachable from ``schema`` once, as ``(schema, pointer, property name)``.

    References are followed (each target visited once), so a shared component is reported
    at its own definition, not once per use.
    """
    seen = set() if seen is None else seen
    stack: list[tuple[Any, str, str]] = [(schema, pointer, "")]
    while stack:
        node, at, name = stack.pop()
        node, at = context.deref(node, at)
        if not isinstance(node, dict) or at in seen:
            continue
        seen.add(at)
        yield node, at, name
        for key in _CHILD_MAPS:
            children = node.get(key)
            if isinstance(children, Mapping):
                base = f"{at}/{key}"
                stack.extend(
                    (child, join_pointer(base, child_name), str(child_name))
                    for child_name, child in children.items()
                )
        for key in _CHILD_LISTS:
            children = node.get(key)
            if isinstance(children, list):
                stack.extend((child, f"{at}/{key}/{index}", name) for index, child in enumerate(children))
        for key in _CHILD_ONE:
            child = node.get(key)
            if isinstance(child, dict):
                stack.append((child, f"{at}/{key}", name))
            elif isinstance(child, list):  # draft-4 tuple items
                stack.extend((item, f"{at}/{key}/{index}", name) for index, item in enumerate(child))
