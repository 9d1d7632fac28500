"""Map JSON pointers to line numbers, so CI annotations point at the right line.

Both locators answer for the deepest part of the pointer the document holds: a pointer
that runs through a ``$ref`` or into something removed still lands on a useful line.
"""

from __future__ import annotations

import json
import re
from array import array
from bisect import bisect_right
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Protocol

__all__ = ["JsonLineLocator", "LineLocator", "YamlLineLocator", "join_pointer", "split_pointer"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def split_pointer(pointer: str) -> list[str]:
    """The unescaped tokens of an RFC 6901 JSON pointer (``""`` is the whole document)."""
    if not pointer or pointer == "#":
        return []
    pointer = pointer.removeprefix("#")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def join_pointer(base: str, token: str | int) -> str:
    """Append one token to a pointer, escaping ``~`` and ``/``."""
    text = str(token)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return f"{base}/{text}"


class LineLocator(Protocol):
    def line_of(self, data: Any, pointer: str) -> int | None: ...


class YamlLineLocator:
    """Reads the line table the YAML constructor filled in while building the data."""

    def __init__(self, table: dict[int, tuple[int, Any]]) -> None:
        self._table = table

    def line_of(self, data: Any, pointer: str) -> int | None:
        entry = self._table.get(id(data))
        line = entry[0] if entry else None
        node = data
        for token in split_pointer(pointer):
            entry = self._table.get(id(node))
            if entry is None:
                break
            if isinstance(node, dict) and token in node:
                line, node = entry[1][token], node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                line, node = entry[1][int(token)], node[int(token)]
            else:
                break
        return line


class JsonLineLocator:
    """Finds a pointer's line by scanning only the containers on its path.

    Sibling values are skipped with the C JSON decoder, and each scanned container is
    cached, so locating many findings costs at most about one extra parse.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines: array[int] | None = None
        self._containers: dict[str, dict[str, int]] = {}
        self._decoder = json.JSONDecoder()

    def line_of(self, data: Any, pointer: str) -> int | None:
        offset = _WHITESPACE.match(self._text, 0).end()  # type: ignore[union-attr]
        best = offset
        container_pointer = ""
        for token in split_pointer(pointer):
            start = self._children(container_pointer, offset).get(token)
            if start is None:
                break
            best, offset = start, self._value_at(start, in_object=self._text[offset] == "{")
            container_pointer = join_pointer(container_pointer, token)
        return self._line_at(best)

    def first_duplicate_key(self) -> tuple[str, int] | None:
        """The first key that repeats within one object, with the line of its repeat."""
        found: list[str] = []

        def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen and not found:
                    found.append(key)
                seen.add(key)
            return dict(pairs)

        json.loads(self._text, object_pairs_hook=check)
        if not found:
            return None
        key = found[0]
        pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
        matches = list(pattern.finditer(self._text))
        offset = matches[1].start() if len(matches) > 1 else matches[0].start()
        return key, self._line_at(offset)

    def _children(self, pointer: str, offset: int) -> dict[str, int]:
        """Where each member of the container at ``offset`` starts (its key, in an object).

        Only the start is cached, one machine-sized int per member: the value's own offset is
        found again from it when a pointer descends, which is cheaper than holding both.
        """
        cached = self._containers.get(pointer)
        if cached is not None:
            return cached
        children: dict[str, int] = {}
        text = self._text
        if offset < len(text) and text[offset] in "{[":
            is_object = text[offset] == "{"
            closing = "}" if is_object else "]"
            position = _WHITESPACE.match(text, offset + 1).end()  # type: ignore[union-attr]
            index = 0
            while position < len(text) and text[position] != closing:
                token_start = position
                if is_object:
                    key, _ = scanstring(text, position + 1)
                    position = self._value_at(position, in_object=True)
                else:
                    key = str(index)
                    index += 1
                children[key] = token_start
                _, position = self._decoder.raw_decode(text, position)
                position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
                if position < len(text) and text[position] == ",":
                    position = _WHITESPACE.match(text, position + 1).end()  # type: ignore[union-attr]
        self._containers[pointer] = children
        return children

    def _value_at(self, start: int, *, in_object: bool) -> int:
        """The offset of the value of a member starting at ``start`` (past ``"key":``)."""
        if not in_object:
            return start
        text = self._text
        _, position = scanstring(text, start + 1)
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        return _WHITESPACE.match(text, position + 1).end()  # type: ignore[union-attr]

    def _line_at(self, offset: int) -> int:
        if self._newlines is None:
            # machine integers, not a list of Python ints: a fifth of the memory per line
            self._newlines = array("q", (match.start() for match in re.finditer("\n", self._text)))
        return bisect_right(self._newlines, offset - 1) + 1
