"""Load contract documents (YAML or JSON) safely, keeping line numbers for findings.

Speed matters here more than anywhere else in a diff: parsing is the floor. YAML goes
through libyaml (``CSafeLoader``) with a constructor that records each key's line as it
builds the mapping, so line numbers cost no second pass. JSON goes through the standard
library's C decoder (as fast as orjson here, at a third of its peak memory) and line
numbers are located lazily, only for the pointers that a finding needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from stockplane.errors import DocumentError

from .pointers import JsonLineLocator, LineLocator, YamlLineLocator, join_pointer

__all__ = ["Document", "LoadWarning", "check_size", "load_document", "load_text"]

_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]+", re.MULTILINE)
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:float", "tag:yaml.org,2002:int"})
_VERSION_KEY = re.compile(r"(?:^|_)version$|^openapi$|^swagger$", re.IGNORECASE)


@dataclass(frozen=True)
class LoadWarning:
    """Something the loader repaired and the author should fix (e.g. a numeric version)."""

    pointer: str
    line: int | None
    message: str


@dataclass
class Document:
    """A parsed document: its data, where it came from and how to find a pointer's line."""

    data: Any
    source: str
    path: Path | None = None
    format: str = "yaml"
    locator: LineLocator | None = None
    warnings: list[LoadWarning] = field(default_factory=list)
    size: int = 0
    references: list[dict[str, Any]] | None = None
    """Every mapping holding a ``$ref``, collected while loading (None: not collected)."""

    def line_of(self, pointer: str) -> int | None:
        """The 1-based line of the deepest part of ``pointer`` that the document holds."""
        return self.locator.line_of(self.data, pointer) if self.locator else None


def load_document(path: Path, *, max_bytes: int, max_depth: int, source: str | None = None) -> Document:
    """Read and parse a file; every failure is a :class:`DocumentError` naming the file."""
    name = source or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(name, f"cannot read the file ({exc.strerror or exc})") from None
    if path.is_dir():
        raise DocumentError(name, "is a folder, not a document")
    check_size(name, size, max_bytes)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(name, f"cannot read the file ({exc.strerror or exc})") from None
    document = load_text(raw, source=name, max_bytes=max_bytes, max_depth=max_depth)
    document.path = path.resolve()
    return document


def load_text(raw: bytes | str, *, source: str, max_bytes: int, max_depth: int) -> Document:
    """Parse bytes or text as JSON or YAML, detected by content (JSON starts with ``{`` or ``[``).

    Text that arrived already decoded (a document inside an API request) is parsed as it
    is: encoding it back to bytes only to decode it again would hold two more copies.
    """
    if isinstance(raw, str):
        size = len(raw) if raw.isascii() else len(raw.encode())
        check_size(source, size, max_bytes)
        if "\x00" in raw:
            raise DocumentError(source, "is binary data, not a YAML or JSON document")
        text = raw.removeprefix("\ufeff")
    else:
        size = len(raw)
        check_size(source, size, max_bytes)
        if b"\x00" in raw:
            raise DocumentError(source, "is binary data, not a YAML or JSON document")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(source, f"is not UTF-8 text (invalid byte at offset {exc.start})") from None
    stripped = text.lstrip()
    if not stripped:
        raise DocumentError(source, "is empty")
    is_json = stripped[0] in "{["
    document, aliased = (_load_json(text, source), False) if is_json else _load_yaml(text, source)
    if not isinstance(document.data, (dict, bool)):
        raise DocumentError(source, f"must hold a mapping at the top, not {type(document.data).__name__}")
    if isinstance(document.data, dict):
        if aliased:
            _check_shape(document, max_depth)  # YAML aliases made a graph: walk it with care
        else:
            keys = _check_tree(document, max_depth)
            if is_json:
                _reject_json_duplicates(document, text, keys)
    document.size = size
    return document


def check_size(source: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DocumentError(
            source,
            f"is {size / 1_048_576:.1f} MB, over the {max_bytes / 1_048_576:.1f} MB limit "
            "(raise STOCKPLANE_REGISTRY__MAX_DOCUMENT_BYTES to accept it)",
        )


def _check_tree(document: Document, max_depth: int) -> int:
    """Check the depth of a plain tree and collect its ``$ref`` holders in one walk.

    Returns the number of mapping keys, which the JSON loader compares with the text.
    """
    keys = 0
    references: list[dict[str, Any]] = []
    stack: list[tuple[Any, int]] = [(document.data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise DocumentError(document.source, f"is nested more than {max_depth} levels deep")
        if isinstance(node, dict):
            keys += len(node)
            if "$ref" in node:
                references.append(node)
            children = node.values()
        else:
            children = node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    document.references = references
    return keys


MAX_EXPANDED_NODES = 5_000_000
"""YAML aliases share nodes; past this many nodes once expanded, a document is refused."""


def _check_shape(document: Document, max_depth: int) -> None:
    """Refuse documents nested too deeply, recursive aliases, and alias bombs.

    YAML aliases make a document a graph: the walk visits each shared node once and
    computes, bottom-up, how deep and how large the document is once expanded, so a
    "billion laughs" document is refused here instead of hanging every later walk.
    """
    finished: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, list[Any] | None]] = [(document.data, None)]
    while stack:
        node, children = stack.pop()
        key = id(node)
        if children is None:
            if key in finished:
                continue
            if key in on_path:
                raise DocumentError(document.source, "has a YAML alias that contains itself")
            on_path.add(key)
            values = node.values() if isinstance(node, dict) else node
            children = [c for c in values if isinstance(c, (dict, list))]
            stack.append((node, children))
            stack.extend((child, None) for child in children if id(child) not in finished)
            continue
        depth = 1 + max((finished[id(c)][0] for c in children), default=0)
        size = 1 + len(node) + sum(finished[id(c)][1] for c in children)
        if depth > max_depth:
            raise DocumentError(document.source, f"is nested more than {max_depth} levels deep")
        if size > MAX_EXPANDED_NODES:
            raise DocumentError(
                document.source, f"expands to more than {MAX_EXPANDED_NODES:,} nodes through YAML aliases"
            )
        finished[key] = (depth, size)
        on_path.discard(key)


# --- JSON -------------------------------------------------------------------------------

_JSON_KEY = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?')


def _load_json(text: str, source: str) -> Document:
    """Parse with the standard library's C decoder, not orjson: orjson builds its own tree
    before the Python one and peaks at about three times the result (a 1.4 MiB OpenAPI
    document: +24 MiB against +7.5 MiB), which made parsing the costliest step of a
    registration. What orjson refused and ``json`` would take is refused here too."""
    if "\\u" in text and _LONE_SURROGATE.search(text):
        raise DocumentError(source, "invalid JSON: a \\u escape holds half a surrogate pair")
    try:
        data = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise DocumentError(source, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except ValueError as exc:  # NaN, Infinity
        raise DocumentError(source, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise DocumentError(source, "is nested too deeply to parse", line=1) from None
    locator = JsonLineLocator(text)
    warnings = _json_version_warnings(data, locator)
    return Document(data=data, source=source, format="json", locator=locator, warnings=warnings)


_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _reject_json_duplicates(document: Document, text: str, parsed_keys: int) -> None:
    """The decoder keeps the last of duplicate keys silently; count keys to catch them.

    The key count of the text (strings followed by a colon) is compared with the key count
    of the parsed data; only when they differ do we pay for a slow pass to name the key.
    """
    keys_in_text = sum(1 for match in _JSON_KEY.finditer(text) if match.group(1))
    if keys_in_text == parsed_keys:
        return
    assert isinstance(document.locator, JsonLineLocator)
    duplicate = document.locator.first_duplicate_key()
    if duplicate is None:  # pragma: no cover - counts differ only when a key repeats
        raise DocumentError(document.source, "has a duplicate key")
    key, line = duplicate
    raise DocumentError(document.source, f"duplicate key {key!r}", line=line)


def _json_version_warnings(data: Any, locator: LineLocator) -> list[LoadWarning]:
    """JSON numbers are explicit, but a numeric ``info.version`` is still a mistake."""
    warnings: list[LoadWarning] = []
    info = data.get("info") if isinstance(data, dict) else None
    if isinstance(info, dict) and isinstance(info.get("version"), (int, float)):
        value = info["version"]
        info["version"] = str(value)
        warnings.append(
            LoadWarning(
                "/info/version",
                locator.line_of(data, "/info/version"),
                f"version {value!r} is a number; write it as a string",
            )
        )
    return warnings


# --- YAML -------------------------------------------------------------------------------


class _ContractLoader(yaml.CSafeLoader):
    """libyaml loader that records lines, refuses duplicate keys and keeps versions as text.

    Keys are always strings (``200:`` becomes ``"200"``) and timestamps stay text, because
    contracts follow the JSON data model.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.line_table: dict[int, tuple[int, dict[Any, int] | list[int]]] = {}
        self.load_warnings: list[tuple[int, dict[str, Any], str, str]] = []

    def construct_contract_mapping(self, node: MappingNode):  # type: ignore[no-untyped-def]
        data: dict[str, Any] = {}
        yield data
        self.flatten_mapping(node)
        key_lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(None, None, "a mapping key must be a plain value", key_node.start_mark)
            key = key_node.value
            if key in data:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            if value_node.tag in _NUMBER_TAGS and _VERSION_KEY.search(key):
                value: Any = value_node.value
                self.load_warnings.append((key_node.start_mark.line + 1, data, key, value))
            else:
                value = self.construct_object(value_node)
            data[key] = value
            key_lines[key] = key_node.start_mark.line + 1
        self.line_table[id(data)] = (node.start_mark.line + 1, key_lines)

    def construct_contract_sequence(self, node: SequenceNode):  # type: ignore[no-untyped-def]
        data: list[Any] = []
        yield data
        data.extend(self.construct_object(child) for child in node.value)
        self.line_table[id(data)] = (
            node.start_mark.line + 1,
            [child.start_mark.line + 1 for child in node.value],
        )


_ContractLoader.add_constructor("tag:yaml.org,2002:map", _ContractLoader.construct_contract_mapping)
_ContractLoader.add_constructor("tag:yaml.org,2002:seq", _ContractLoader.construct_contract_sequence)
_ContractLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    yaml.constructor.SafeConstructor.construct_yaml_str,  # type: ignore[type-var]
)


def _load_yaml(text: str, source: str) -> tuple[Document, bool]:
    loader = _ContractLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:
            raise DocumentError(source, "is nested too deeply to parse", line=line) from None
        raise DocumentError(source, f"invalid YAML: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        raise DocumentError(source, "is empty")
    locator = YamlLineLocator(loader.line_table)
    warnings = [
        LoadWarning(
            _pointer_of(data, container, key),
            line,
            f'{key}: {value} was read by YAML as a number; quote it ("{value}") '
            "so it stays the version string it is",
        )
        for line, container, key, value in loader.load_warnings
    ]
    document = Document(data=data, source=source, format="yaml", locator=locator, warnings=warnings)
    # Aliases need anchors; without an `&name` the data is certainly a tree.
    return document, _ANCHOR.search(text) is not None


def _pointer_of(data: Any, container: Any, key: str) -> str:
    """Find where ``container`` sits in ``data`` (by identity); only used for rare warnings."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, pointer = stack.pop()
        if node is container:
            return join_pointer(pointer, key)
        if isinstance(node, dict):
            stack.extend(
                (v, join_pointer(pointer, k)) for k, v in node.items() if isinstance(v, (dict, list))
            )
        elif isinstance(node, list):
            stack.extend(
                (v, join_pointer(pointer, i)) for i, v in enumerate(node) if isinstance(v, (dict, list))
            )
    return join_pointer("", key)
