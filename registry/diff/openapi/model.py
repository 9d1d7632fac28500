"""A flat view of an OpenAPI document: operations keyed so that old and new line up."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stockplane.pointers import join_pointer

from ..compatibility import Side

__all__ = ["METHODS", "Operation", "Parameter", "operations", "path_key"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")
_TEMPLATE = re.compile(r"\{[^}/]*\}")
_SKIPPED_STABILITY = frozenset({"draft", "alpha"})
STABILITY_LEVELS = ("draft", "alpha", "beta", "stable")
"""``x-stability-level`` values from least to most stable."""


def path_key(path: str) -> str:
    """The path with parameter names erased, so ``/a/{id}`` and ``/a/{aid}`` match."""
    return _TEMPLATE.sub("{}", path.rstrip("/") or "/")


@dataclass
class Parameter:
    """A parameter after ``$ref`` resolution, identified by location and name.

    Path parameters are identified by position in the template instead, so renaming
    ``{id}`` to ``{orderId}`` is not reported as a removal plus an addition.
    """

    key: tuple[str, str]
    name: str
    location: str
    spec: dict[str, Any]
    pointer: str


@dataclass
class Operation:
    path: str
    method: str
    spec: dict[str, Any]
    pointer: str
    path_item: dict[str, Any]
    parameters: dict[tuple[str, str], Parameter] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def deprecated(self) -> bool:
        return self.spec.get("deprecated") is True

    @property
    def stability(self) -> str | None:
        level = self.spec.get("x-stability-level", self.path_item.get("x-stability-level"))
        return str(level) if level is not None else None

    @property
    def skipped(self) -> bool:
        """Draft and alpha operations make no promises, so their changes are not checked."""
        level = self.spec.get("x-stability-level", self.path_item.get("x-stability-level"))
        return isinstance(level, str) and level.lower() in _SKIPPED_STABILITY


def operations(side: Side) -> dict[str, dict[str, Operation]]:
    """``{path key: {method: Operation}}`` for every operation of the document."""
    paths = side.document.data.get("paths") if isinstance(side.document.data, dict) else None
    result: dict[str, dict[str, Operation]] = {}
    if not isinstance(paths, dict):
        return result
    for path, item in paths.items():
        item_pointer = join_pointer("/paths", path)
        item, _ = side.resolver.deref(item)
        if not isinstance(item, dict):
            continue
        by_method = result.setdefault(path_key(path), {})
        for method in METHODS:
            spec = item.get(method)
            if isinstance(spec, dict):
                operation = Operation(path, method, spec, f"{item_pointer}/{method}", item)
                operation.parameters = dict(_parameters(side, path, item, item_pointer, operation))
                by_method[method] = operation
    return result


def _parameters(
    side: Side, path: str, item: dict[str, Any], item_pointer: str, operation: Operation
) -> Iterator[tuple[tuple[str, str], Parameter]]:
    placeholders = [name.strip("{}") for name in _TEMPLATE.findall(path)]
    merged: dict[tuple[str, str], Parameter] = {}
    for scope, pointer in ((item, item_pointer), (operation.spec, operation.pointer)):
        for index, raw in enumerate(scope.get("parameters") or []):
            spec, _ = side.resolver.deref(raw)
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                continue
            location = str(spec.get("in", "query"))
            name = spec["name"]
            if location == "path" and name in placeholders:
                key = ("path", f"#{placeholders.index(name)}")
            elif location == "header":
                key = ("header", name.lower())
            else:
                key = (location, name)
            merged[key] = Parameter(key, name, location, spec, f"{pointer}/parameters/{index}")
    yield from merged.items()
