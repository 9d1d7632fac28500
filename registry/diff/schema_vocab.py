"""The vocabulary the schema engine shares: its result type, keyword groups and small
pure helpers over JSON Schema values."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

import orjson

__all__ = [
    "ALL_TYPES",
    "ANNOTATIONS",
    "ARRAY",
    "NUMERIC",
    "OBJECT",
    "STRING",
    "Incompatibility",
    "Policy",
    "TooComplexError",
    "as_list",
    "as_mapping",
    "combine",
    "constrains",
    "escape_token",
    "is_max_reached",
    "is_number",
    "json_equal",
    "mentions_ref",
    "overlaps",
    "ref_names",
    "schema_for",
    "short_values",
    "tuple_view",
    "types_of",
    "values_of",
]

Policy = Literal["strict", "lenient"]

ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "example",
        "$comment",
        "$schema",
        "$id",
        "id",
        "deprecated",
        "readOnly",
        "writeOnly",
        "definitions",
        "$defs",
        "externalDocs",
        "xml",
        "discriminator",
        "$anchor",
        "x-sunset",
        "x-stability-level",
    }
)
ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
STRING = frozenset({"string"})
NUMERIC = frozenset({"number", "integer"})
ARRAY = frozenset({"array"})
OBJECT = frozenset({"object"})


class TooComplexError(Exception):
    """The comparison exceeded its step budget or nesting limit."""


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """Why the reader may reject something the writer produces.

    ``kind`` names the constraint (see ``registry.diff.catalogue.SCHEMA_KINDS``), ``path``
    is the instance location (``.address.street``, ``[]``), and the two pointers say where
    each side declares it in its own document.
    """

    kind: str
    path: str
    detail: str
    writer_pointer: str
    reader_pointer: str
    writer_value: Any = None
    reader_value: Any = None


def types_of(schema: dict[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    types = (
        frozenset([declared])
        if isinstance(declared, str)
        else frozenset(t for t in declared if isinstance(t, str))
    )
    if schema.get("nullable") is True:
        types |= {"null"}
    return types


def _with_integers(types: frozenset[str]) -> frozenset[str]:
    return types | {"integer"} if "number" in types else types


def overlaps(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether some value has a type in both sets (``integer`` is within ``number``)."""
    return bool(_with_integers(a) & _with_integers(b))


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number: bools are ints to Python but not numbers to JSON Schema."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def schema_for(
    name: str, props: dict[str, Any], patterns: dict[str, Any], extra: Any, pointer: str
) -> tuple[Any, str]:
    """The schema one side applies to a property name, and where it says so."""
    if name in props:
        return props[name], f"{pointer}/properties/{escape_token(name)}"
    for pattern, schema in patterns.items():
        try:
            if re.search(pattern, name):
                return schema, f"{pointer}/patternProperties/{escape_token(pattern)}"
        except re.error:
            continue
    return extra, f"{pointer}/additionalProperties"


def tuple_view(schema: dict[str, Any]) -> tuple[Sequence[Any], Any, str]:
    """Positional item schemas, the schema for the rest, and the rest's keyword."""
    if isinstance(schema.get("prefixItems"), list):
        return schema["prefixItems"], schema.get("items", True), "items"
    items = schema.get("items", True)
    if isinstance(items, list):
        return items, schema.get("additionalItems", True), "additionalItems"
    return [], items, "items"


def is_max_reached(schema: dict[str, Any], index: int) -> bool:
    limit = schema.get("maxItems")
    return is_number(limit) and index >= limit


def values_of(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def constrains(schema: dict[str, Any]) -> bool:
    return any(k not in ANNOTATIONS and k != "type" for k in schema)


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and bool(a == b)
    return bool(a == b)


def combine(keyword: str, a: Any, b: Any) -> Any:
    """Merge two values of one keyword under allOf (intersection), erring wider."""
    if a == b:
        return a
    if keyword == "properties" and isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b, **{k: {"allOf": [a[k], b[k]]} for k in a.keys() & b.keys()}}
    if keyword == "required" and isinstance(a, list) and isinstance(b, list):
        return list(dict.fromkeys([*a, *b]))
    if keyword == "type":
        left = {a} if isinstance(a, str) else set(a)
        right = {b} if isinstance(b, str) else set(b)
        both = left & right
        if "integer" in left | right and "number" in left | right:
            both |= {"integer"}
        return sorted(both) if both else a
    if (
        keyword in ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum")
        and is_number(a)
        and is_number(b)
    ):
        return max(a, b)
    if (
        keyword in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum")
        and is_number(a)
        and is_number(b)
    ):
        return min(a, b)
    if keyword == "enum" and isinstance(a, list) and isinstance(b, list):
        return [v for v in a if any(json_equal(v, x) for x in b)]
    if (
        keyword in ("additionalProperties", "items", "propertyNames", "contains")
        and isinstance(a, dict)
        and isinstance(b, dict)
    ):
        return {"allOf": [a, b]}
    return a


_REF = re.compile(rb'"\$ref":"((?:[^"\\]|\\.)*)"')


def ref_names(schema: Any) -> set[str]:
    """Every ``$ref`` string inside a subtree (found in C: serialise, then scan)."""
    try:
        text = orjson.dumps(schema)
    except TypeError:
        return {"#unserialisable"}  # cannot tell: resolving it fails, so the subtree is walked
    if b'"$ref"' not in text:
        return set()
    return {orjson.loads(b'"' + match + b'"') for match in _REF.findall(text)}


def mentions_ref(schema: Any) -> bool:
    """Whether a subtree may hold a ``$ref`` (serialising in C is far quicker than walking)."""
    try:
        return b'"$ref"' in orjson.dumps(schema)
    except TypeError:
        return True


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def short_values(values: Sequence[Any]) -> str:
    shown = ", ".join(orjson.dumps(v).decode() for v in list(values)[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")
