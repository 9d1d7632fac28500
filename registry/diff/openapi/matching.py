"""Pure helpers that line up parts of two OpenAPI documents: media types, status codes,
parameter schemas and object properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stockplane.pointers import join_pointer

from ..compatibility import Side
from ..schema_compat import Incompatibility
from .model import Parameter

__all__ = ["body_context", "match_media", "match_status", "parameter_schema", "properties_of"]


def parameter_schema(parameter: Parameter) -> tuple[Any, str]:
    if "schema" in parameter.spec:
        return parameter.spec["schema"], f"{parameter.pointer}/schema"
    content = parameter.spec.get("content")
    if isinstance(content, dict) and content:
        media, spec = next(iter(content.items()))
        if isinstance(spec, dict) and "schema" in spec:
            return spec["schema"], join_pointer(f"{parameter.pointer}/content", media) + "/schema"
    return None, parameter.pointer


def body_context(side: str) -> Callable[[Incompatibility], str]:
    """Findings at the root of a body name the body; deeper ones name a property."""

    def context(issue: Incompatibility) -> str:
        return f"{side}-body" if not issue.path else f"{side}-property"

    return context


def match_media(media: str, content: dict[str, Any], *, exact_or_narrower: bool = False) -> str | None:
    """The entry of ``content`` that serves ``media``: exact, or a wildcard that covers it."""
    if media in content:
        return media
    base = media.split(";")[0].strip().lower()
    for candidate in content:
        if candidate.split(";")[0].strip().lower() == base:
            return candidate
    if exact_or_narrower:
        # a response that promised `application/*` may now name `application/json`
        if base == "*/*":
            return next(iter(content), None)
        if base.endswith("/*"):
            family = base[:-1]
            return next((c for c in content if c.lower().startswith(family)), None)
        return None
    kind = base.split("/")[0]
    for wildcard in (f"{kind}/*", "*/*"):
        if wildcard in content:
            return wildcard
    return None


def match_status(status: str, responses: dict[str, Any]) -> str | None:
    if status in responses:
        return status
    for key in responses:
        if str(key) == status:
            return key
    wildcard = f"{status[0]}XX"
    for key in responses:
        if str(key).upper() == wildcard:
            return key
    if status.upper().endswith("XX"):
        return None
    return "default" if "default" in responses and not status.startswith("2") else None


def properties_of(schema: dict[str, Any], side: Side, depth: int = 0) -> dict[str, Any]:
    """Properties a schema may carry, including those of its allOf, anyOf and oneOf parts
    (so wrapping a schema in ``oneOf: [null, X]`` does not look like removing X's properties)."""
    props = dict(schema["properties"]) if isinstance(schema.get("properties"), dict) else {}
    if depth > 8:
        return props
    for keyword in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(keyword) or []:
            part, _ = side.resolver.deref(part)
            if isinstance(part, dict):
                for name, value in properties_of(part, side, depth + 1).items():
                    props.setdefault(name, value)
    return props
