"""A fast structural check of what the diff engine relies on, for documents too large to
validate fully on every diff (openapi-spec-validator takes about 1.2 s per MB).

It walks paths, operations, parameters, bodies and responses, never the schemas, so it
costs milliseconds even for a 20 MB document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stockplane.documents import Document
from stockplane.pointers import join_pointer

from .kinds import Kind
from .validation import Problem

__all__ = ["structural_problems"]

_LOCATIONS = frozenset({"query", "header", "path", "cookie", "querystring"})
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")


def structural_problems(document: Document, kind: Kind) -> list[Problem]:
    if kind != "openapi":
        ok = isinstance(document.data, (dict, bool))
        return [] if ok else [Problem("", None, "a JSON Schema must be a mapping or a boolean")]
    return [
        Problem(pointer, document.line_of(pointer), message) for pointer, message in _openapi(document.data)
    ]


def _openapi(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    info = data.get("info")
    if not isinstance(info, dict):
        yield "/info", "'info' is a required mapping"
    else:
        for key in ("title", "version"):
            if not isinstance(info.get(key), str):
                yield f"/info/{key}", f"'{key}' is a required string"
    paths = data.get("paths", {})
    if not isinstance(paths, dict):
        yield "/paths", "'paths' must be a mapping"
        return
    for path, item in paths.items():
        pointer = join_pointer("/paths", path)
        if not str(path).startswith("/"):
            yield pointer, f"path {path!r} must start with '/'"
        if not isinstance(item, dict):
            yield pointer, "a path item must be a mapping"
            continue
        yield from _parameters(item.get("parameters"), f"{pointer}/parameters")
        for method in _METHODS:
            if method in item:
                yield from _operation(item[method], f"{pointer}/{method}")


def _operation(operation: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if not isinstance(operation, dict):
        yield pointer, "an operation must be a mapping"
        return
    yield from _parameters(operation.get("parameters"), f"{pointer}/parameters")
    body = operation.get("requestBody")
    if body is not None and (not isinstance(body, dict) or not isinstance(body.get("content", {}), dict)):
        yield f"{pointer}/requestBody", "a request body must be a mapping with a 'content' mapping"
    responses = operation.get("responses", {})
    if not isinstance(responses, dict):
        yield f"{pointer}/responses", "'responses' must be a mapping"
        return
    for status, response in responses.items():
        if not isinstance(response, dict):
            yield join_pointer(f"{pointer}/responses", status), "a response must be a mapping"


def _parameters(parameters: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if parameters is None:
        return
    if not isinstance(parameters, list):
        yield pointer, "'parameters' must be a list"
        return
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict):
            yield f"{pointer}/{index}", "a parameter must be a mapping"
        elif "$ref" not in parameter and (
            not isinstance(parameter.get("name"), str) or parameter.get("in") not in _LOCATIONS
        ):
            yield (
                f"{pointer}/{index}",
                "a parameter needs a 'name' and an 'in' of query, header, path or cookie",
            )
