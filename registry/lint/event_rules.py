"""Lint rules for event schemas: the canonical envelope and inventory conventions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..diff.schema_vocab import as_list, as_mapping
from .context import Hit, LintContext, check, subschemas

_ENVELOPE_TYPES = {
    "event_id": ("string", None),
    "correlation_id": ("string", None),
    "occurred_at": ("string", "date-time"),
    "schema_version": ("string", None),
    "source": ("object", None),
}
_QUANTITY = re.compile(r"^(quantity|qty)$|_(quantity|qty)$", re.IGNORECASE)
_IDENTIFIER = re.compile(r"^id$|_id$", re.IGNORECASE)


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    return {declared} if isinstance(declared, str) else set(declared or [])


def _root(context: LintContext) -> tuple[dict[str, Any], str]:
    root, pointer = context.deref(context.data, "")
    return (root if isinstance(root, dict) else {}), pointer


@check("event-envelope-field-missing")
def envelope_fields_present(context: LintContext) -> Iterator[Hit]:
    root, pointer = _root(context)
    properties = as_mapping(root.get("properties"))
    required = as_list(root.get("required"))
    for name in context.option("fields", list(_ENVELOPE_TYPES)):
        if name not in properties:
            yield f"{pointer}/properties", f"envelope field `{name}` is not declared"
        elif name not in required:
            yield f"{pointer}/required", f"envelope field `{name}` is declared but not required"


@check("event-envelope-field-type")
def envelope_field_types(context: LintContext) -> Iterator[Hit]:
    root, pointer = _root(context)
    properties = as_mapping(root.get("properties"))
    for name, (expected, fmt) in _ENVELOPE_TYPES.items():
        if name not in properties:
            continue
        schema, at = context.deref(properties[name], f"{pointer}/properties/{name}")
        if not isinstance(schema, dict):
            continue
        if _types(schema) != {expected}:
            yield at, f"`{name}` should be of type {expected}, not {schema.get('type', 'any type')}"
        elif fmt and schema.get("format") != fmt:
            yield at, f"`{name}` should have format {fmt} (RFC 3339 with an offset)"


@check("event-status-not-canonical")
def status_is_canonical(context: LintContext) -> Iterator[Hit]:
    canonical = set(context.pack.statuses.canonical)
    for schema, at, name in subschemas(context, context.data, ""):
        if name != "inventory_status" or not at.endswith("/inventory_status"):
            continue
        values = schema.get("enum") if "enum" in schema else [schema["const"]] if "const" in schema else None
        if values is None:
            yield (
                at,
                f"`inventory_status` should be an enum of the canonical statuses ({', '.join(sorted(canonical))})",
            )
            continue
        unknown = [value for value in values if value not in canonical]
        if unknown:
            yield (
                at,
                f"`inventory_status` allows {', '.join(map(str, unknown))}, not canonical statuses; map them in the policy pack",
            )


@check("event-quantity-not-integer")
def quantities_are_integers(context: LintContext) -> Iterator[Hit]:
    for schema, at, name in subschemas(context, context.data, ""):
        if _QUANTITY.search(name) and at.endswith(f"/{name}") and "integer" not in _types(schema):
            yield at, f"`{name}` should be an integer (units of stock), not {schema.get('type', 'any type')}"


@check("event-id-unbounded")
def identifiers_are_bounded(context: LintContext) -> Iterator[Hit]:
    for schema, at, name in subschemas(context, context.data, ""):
        if not (_IDENTIFIER.search(name) and at.endswith(f"/{name}")):
            continue
        if _types(schema) != {"string"} or not isinstance(schema.get("maxLength"), int):
            yield at, f"identifier `{name}` should be a string with a maxLength"


@check("event-schema-dialect-missing")
def dialect_declared(context: LintContext) -> Iterator[Hit]:
    if isinstance(context.data, dict) and "$schema" not in context.data:
        yield (
            "",
            "declare the JSON Schema dialect with `$schema` (e.g. https://json-schema.org/draft/2020-12/schema)",
        )
