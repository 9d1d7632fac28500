"""Envelope validation: a compiled fast path for the common case, jsonschema to explain.

Nearly every event is valid, and asking jsonschema's Draft 2020-12 validator walks every
keyword of every event (about 60 % of ingestion time). fastjsonschema compiles the schema
into Python code once, but it implements draft-07; so it is used only when the pack's
envelope sticks to keywords that mean the same in both drafts, and only to *accept*.
Anything it rejects goes to jsonschema, whose verdict and messages are the ones reported
(fastjsonschema also checks ``format``, which jsonschema here does not, so an event it
refuses may still be valid).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import fastjsonschema
import jsonschema
import orjson

from stockplane.pointers import join_pointer

__all__ = ["EnvelopeValidator"]

# Keywords whose draft-07 meaning (fastjsonschema) equals their 2020-12 meaning.
_SAME_IN_BOTH = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "type",
        "enum",
        "const",
        "required",
        "minProperties",
        "maxProperties",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    }
)
_ONE_SUBSCHEMA = frozenset(
    {"additionalProperties", "items", "contains", "propertyNames", "not", "if", "then", "else"}
)
_SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties"})


def _subschemas(schema: dict[str, Any]) -> Iterator[Any]:
    for keyword, value in schema.items():
        if keyword in _ONE_SUBSCHEMA:
            yield value
        elif keyword in _SUBSCHEMA_LISTS:
            yield from value
        elif keyword in _SUBSCHEMA_MAPS:
            yield from value.values()


def _portable(schema: Any) -> bool:
    """True when every keyword, at every depth, means the same to both validators."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    known = _SAME_IN_BOTH | _ONE_SUBSCHEMA | _SUBSCHEMA_LISTS | _SUBSCHEMA_MAPS
    if not set(schema) <= known or isinstance(schema.get("items"), list):
        return False
    return all(_portable(sub) for sub in _subschemas(schema))


class EnvelopeValidator:
    """Says what is wrong with an event, or nothing; built once per policy pack."""

    def __init__(self, frozen: Mapping[str, Any]) -> None:
        # packs are frozen (mapping proxies, tuples); both validators want plain JSON values
        schema = orjson.loads(orjson.dumps(frozen, default=dict))
        self._explainer = jsonschema.Draft202012Validator(schema)
        self._fast: Callable[[Any], Any] | None = (
            fastjsonschema.compile(schema) if _portable(schema) else None
        )

    @property
    def compiled(self) -> bool:
        return self._fast is not None

    def errors(self, item: Any) -> list[str]:
        if not isinstance(item, dict):
            return [f"an event must be a JSON object, not {type(item).__name__}"]
        if self._fast is not None:
            try:
                self._fast(item)
                return []
            except fastjsonschema.JsonSchemaException:
                pass  # jsonschema decides, and explains
        found = sorted(self._explainer.iter_errors(item), key=lambda e: [str(p) for p in e.absolute_path])
        messages = []
        for error in found:
            pointer = ""
            for token in error.absolute_path:
                pointer = join_pointer(pointer, token)
            messages.append(f"{pointer or '/'}: {error.message}")
        return messages
