"""Resolve ``$ref`` inside a document and relative files beside it, never over the network.

At load time every reference is checked once: remote ones (``http:``, ``https:`` or any
other scheme) and files outside the document's folder are refused, missing targets are
reported, and chains of bare references that loop are rejected. Recursive *schemas*
(a schema that refers to itself through ``properties`` or ``items``) are normal and fine.

External files are folded in: their own internal references are rewritten to name their
file, so a reference string alone identifies its target and the diff engine never needs
to know which file a node came from.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from stockplane.documents import Document
from stockplane.errors import DocumentError
from stockplane.pointers import split_pointer

__all__ = ["OpenRelative", "RefResolver"]

OpenRelative = Callable[[str], Document]
"""Opens a file by its path relative to the root document's folder (posix separators)."""

_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "summary",
        "example",
        "examples",
        "default",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "externalDocs",
        "xml",
        "$id",
        "id",
        "$schema",
    }
)


class RefResolver:
    """Resolves references of one root document and the files it pulls in."""

    def __init__(self, document: Document, *, open_relative: OpenRelative | None = None) -> None:
        self.document = document
        self._open_relative = open_relative
        self._files: dict[str, Document] = {"": document}
        self._anchors: dict[str, dict[str, Any]] = {}
        self._base_ids = _base_ids(document.data)
        self._cache: dict[str, Any] = {}
        self._check_references("", document)

    # -- public API --------------------------------------------------------------------

    def resolve(self, ref: str) -> tuple[Any, str]:
        """The target of ``ref`` and its canonical name (``file#/pointer``)."""
        key = self._canonical(ref)
        if key in self._cache:
            return self._cache[key], key
        file_part, _, fragment = key.partition("#")
        document = self._files.get(file_part)
        if document is None:
            raise DocumentError(self.document.source, f"$ref {ref!r}: file {file_part!r} is not loaded")
        target = self._follow(document, fragment, ref)
        self._cache[key] = target
        return target, key

    def deref(self, node: Any) -> tuple[Any, str | None]:
        """Follow a chain of references to a schema that is not just a reference.

        A reference with sibling keywords (allowed in OpenAPI 3.1 and JSON Schema 2019-09+)
        applies both: the result is an ``allOf`` of the siblings and the target.
        """
        name: str | None = None
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target, name = self.resolve(node["$ref"])
            if name in seen:
                raise DocumentError(self.document.source, f"$ref cycle through {name!r}")
            seen.add(name)
            if len(node) > 1 and not _ANNOTATIONS.issuperset(k for k in node if k != "$ref"):
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                return {"allOf": [siblings, target]}, name
            node = target
        return node, name

    # -- loading and checking ------------------------------------------------------------

    def _check_references(self, file_part: str, document: Document) -> None:
        containers = document.references
        if containers is None:
            containers = _containers_with_refs(document.data)
        containers = [c for c in containers if isinstance(c.get("$ref"), str)]
        for container in containers:
            ref = container["$ref"]
            key = self._canonical(ref, relative_to=file_part)
            if file_part:
                container["$ref"] = key  # an external file's refs now name their file
            target_file = key.partition("#")[0]
            if target_file not in self._files:
                self._load_file(target_file, ref)
        for container in containers:
            self.deref(container)  # raises on missing targets and bare cycles

    def _load_file(self, file_part: str, ref: str) -> None:
        if self._open_relative is None:
            raise DocumentError(
                self.document.source,
                f"$ref {ref!r} points to another file, which needs a document read from a folder",
            )
        document = self._open_relative(file_part)
        self._files[file_part] = document
        self._check_references(file_part, document)

    def _canonical(self, ref: str, *, relative_to: str = "") -> str:
        for base in self._base_ids:
            if ref.startswith(base):
                ref = ref[len(base) :] or "#"
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc:
            raise DocumentError(
                self.document.source,
                f"$ref {ref!r} is remote; stockplane never fetches references "
                "(vendor the file beside the document and refer to it by a relative path)",
            )
        file_part = unquote(parts.path)
        fragment = parts.fragment
        if "#" in ref and not file_part and relative_to and not ref.startswith(relative_to):
            file_part = relative_to
        elif file_part:
            if file_part.startswith("/"):
                raise DocumentError(
                    self.document.source,
                    f"$ref {ref!r} is an absolute path outside the document's folder",
                )
            folder = posixpath.dirname(relative_to)
            file_part = posixpath.normpath(posixpath.join(folder, file_part))
            if file_part == ".." or file_part.startswith("../"):
                raise DocumentError(self.document.source, f"$ref {ref!r} escapes the document's folder")
        elif not ref.startswith("#") and "#" not in ref:
            file_part = relative_to
        return f"{file_part}#{fragment}"

    def _follow(self, document: Document, fragment: str, ref: str) -> Any:
        if fragment and not fragment.startswith("/"):
            anchors = self._anchors.get(document.source)
            if anchors is None:
                anchors = self._anchors[document.source] = _anchor_index(document.data)
            if fragment not in anchors:
                raise DocumentError(self.document.source, f"$ref {ref!r}: no anchor {fragment!r}")
            return anchors[fragment]
        node = document.data
        for token in split_pointer(fragment):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                line = self.document.line_of("")
                raise DocumentError(
                    self.document.source,
                    f"$ref {ref!r} points to nothing (no {token!r} there)",
                    line=line if line and line > 1 else None,
                )
        return node


def _mappings(data: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a parsed document, once each (YAML aliases share nodes)."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            yield node
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


def _containers_with_refs(data: Any) -> list[dict[str, Any]]:
    return [node for node in _mappings(data) if isinstance(node.get("$ref"), str)]


def _anchor_index(data: Any) -> dict[str, Any]:
    """Plain-name fragments: ``$anchor`` and draft-07 ``$id: "#name"``."""
    anchors: dict[str, Any] = {}
    for node in _mappings(data):
        for key in ("$anchor", "$id", "id"):
            value = node.get(key)
            if isinstance(value, str):
                name = value.removeprefix("#") if key != "$anchor" else value
                if name and (key == "$anchor" or value.startswith("#")):
                    anchors.setdefault(name, node)
    return anchors


def _base_ids(data: Any) -> list[str]:
    """The root ``$id`` names this document itself, so references to it are internal."""
    if not isinstance(data, dict):
        return []
    value = data.get("$id") or data.get("id")
    if isinstance(value, str) and "://" in value:
        return [value.split("#", 1)[0]]
    return []
