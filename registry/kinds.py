"""Tell an OpenAPI document from an event schema, and refuse what we do not handle."""

from __future__ import annotations

from typing import Any, Literal

from stockplane.errors import DocumentError

__all__ = ["Kind", "detect_kind"]

Kind = Literal["openapi", "jsonschema"]

_SCHEMA_KEYWORDS = frozenset(
    {
        "$schema",
        "type",
        "properties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "enum",
        "const",
        "$ref",
        "$defs",
        "definitions",
        "required",
        "additionalProperties",
        "patternProperties",
        "if",
    }
)


def detect_kind(data: Any, source: str, requested: str = "auto") -> Kind:
    """The document's kind, checked against ``requested`` unless that is ``auto``."""
    if isinstance(data, dict) and "swagger" in data:
        raise DocumentError(
            source,
            f"is Swagger {data['swagger']}; convert it to OpenAPI 3 first "
            "(for example with swagger2openapi) and compare the converted documents",
        )
    if isinstance(data, dict) and "openapi" in data:
        found: Kind = "openapi"
        version = str(data["openapi"])
        if not version.startswith("3."):
            raise DocumentError(source, f"OpenAPI {version} is not supported (3.0, 3.1 and 3.2 are)")
    elif isinstance(data, bool) or (isinstance(data, dict) and (_SCHEMA_KEYWORDS & data.keys() or not data)):
        found = "jsonschema"
    else:
        raise DocumentError(
            source,
            "is neither an OpenAPI document (no `openapi` key) nor a JSON Schema; "
            "pass --kind to say which it is",
        )
    if requested not in ("auto", found):
        raise DocumentError(source, f"looks like {found}, not {requested}")
    return found
