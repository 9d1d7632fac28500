"""Validate documents: OpenAPI with openapi-spec-validator, JSON Schema against its metaschema."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from stockplane.documents import Document
from stockplane.pointers import join_pointer

from .kinds import Kind

# openapi-spec-validator switches to jsonschema-rs whenever it is installed (ingestion
# installs it). Its messages then span several lines and its errors lose the context that
# best_match reads, so the registry keeps jsonschema's one-line, located messages unless
# an operator asks otherwise.
os.environ.setdefault("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")

__all__ = ["METASCHEMAS", "Problem", "validate_document"]

METASCHEMAS: dict[str, type[jsonschema.protocols.Validator]] = {
    "http://json-schema.org/draft-04/schema": jsonschema.Draft4Validator,
    "http://json-schema.org/draft-06/schema": jsonschema.Draft6Validator,
    "http://json-schema.org/draft-07/schema": jsonschema.Draft7Validator,
    "https://json-schema.org/draft/2019-09/schema": jsonschema.Draft201909Validator,
    "https://json-schema.org/draft/2020-12/schema": jsonschema.Draft202012Validator,
}


@dataclass(frozen=True)
class Problem:
    """One validation error, located like a finding."""

    pointer: str
    line: int | None
    message: str


def validate_document(document: Document, kind: Kind) -> list[Problem]:
    """Every problem with the document; an empty list means it is valid."""
    errors = _openapi_errors(document) if kind == "openapi" else _schema_errors(document.data)
    problems = []
    for path, message in errors:
        pointer = ""
        for token in path:
            pointer = join_pointer(pointer, token)
        problems.append(Problem(pointer, document.line_of(pointer), message))
    return problems


def _openapi_errors(document: Document) -> Iterable[tuple[Iterable[Any], str]]:
    # imported here: it takes a tenth of a second (it loads requests), which every CLI
    # command would otherwise pay at start-up
    from openapi_spec_validator import (
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
        OpenAPIV32SpecValidator,
    )

    version = str(document.data.get("openapi", ""))
    validator_class = (
        OpenAPIV30SpecValidator
        if version.startswith("3.0")
        else OpenAPIV32SpecValidator
        if version.startswith("3.2")
        else OpenAPIV31SpecValidator
    )
    base_uri = document.path.as_uri() if document.path else ""
    validator = validator_class(document.data, base_uri=base_uri)
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for error in validator.iter_errors():
        detail = best_match([error]) if getattr(error, "context", None) else error
        key = (tuple(detail.path), detail.message)
        if key not in seen:
            seen.add(key)
            yield tuple(detail.path), detail.message


def _schema_errors(schema: Any) -> Iterable[tuple[Iterable[Any], str]]:
    declared = schema.get("$schema", "") if isinstance(schema, dict) else ""
    validator_class = METASCHEMAS.get(str(declared).rstrip("#"), jsonschema.Draft202012Validator)
    meta = validator_class(validator_class.META_SCHEMA)
    for error in sorted(meta.iter_errors(schema), key=lambda e: list(e.path)):
        yield error.path, error.message
