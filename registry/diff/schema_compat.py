"""Can every instance valid under a *writer* schema be read by a *reader* schema?

This one primitive answers every compatibility question: BACKWARD asks whether the new
schema reads what the old one wrote, FORWARD the reverse, and OpenAPI request and
response checks ask it in the direction that protects existing clients. It is pure: no
I/O, no global state, and every answer is a list of :class:`Incompatibility` (empty means
"compatible").

Two policies decide how an *open* content model of the writer is read. ``strict`` takes
it literally: an object without ``additionalProperties`` may carry any other property,
so a reader that constrains a property the writer never declared might reject it.
``lenient`` assumes writers send only what they declare, which is what most people mean
when they say that adding an optional property is compatible.

The comparison is memoised on node identity, treats recursive schemas co-inductively
(a pair under comparison is assumed compatible when met again), and is bounded by a
step budget, so no input shape makes it exponential.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import jsonschema
import orjson

from ..refs import RefResolver

__all__ = ["Incompatibility", "Policy", "SchemaReader", "TooComplexError"]

Policy = Literal["strict", "lenient"]

_ANNOTATIONS = frozenset(
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
_ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
_FORMAT_WIDENINGS = {
    ("int32", "int64"),
    ("float", "double"),
    ("int32", "double"),
    ("int64", "double"),
    ("int32", "float"),
}
_STRING = frozenset({"string"})
_NUMERIC = frozenset({"number", "integer"})
_ARRAY = frozenset({"array"})
_OBJECT = frozenset({"object"})


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


class SchemaReader:
    """Compares schemas from two documents (each with its own ``$ref`` resolver)."""

    def __init__(
        self,
        writer: RefResolver,
        reader: RefResolver,
        *,
        policy: Policy = "lenient",
        budget: int = 300_000,
        max_depth: int = 64,
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.policy = policy
        self._budget_per_check = budget
        self._budget = budget
        self._max_depth = max_depth
        self._depth = 0
        self._memo: dict[tuple[int, int], list[Incompatibility]] = {}
        self._in_progress: set[tuple[int, int]] = set()
        self._keep_alive: list[Any] = []  # ids of merged schemas must stay unique while memoised
        self._merge_cache: dict[int, Any] = {}
        # Union branches with equal content share one object (per document), so nested
        # unions that repeat themselves hit the memo instead of multiplying the work.
        self._writer_canon: dict[bytes, Any] = {}
        self._reader_canon: dict[bytes, Any] = {}

    def swapped(self) -> SchemaReader:
        """The same comparison with writer and reader documents exchanged (for ``not``)."""
        other = SchemaReader(self.reader, self.writer, policy=self.policy, budget=max(self._budget, 0))
        other._depth = self._depth
        return other

    def check(
        self, writer: Any, reader: Any, *, writer_pointer: str = "", reader_pointer: str = ""
    ) -> list[Incompatibility]:
        """Everything the reader may reject; raises :class:`TooComplexError` past the budget.

        One reader can serve many checks between the same two documents: its memo carries
        over (shared components are compared once) while each check gets a fresh budget.
        """
        self._budget = self._budget_per_check
        return self._sub(writer, writer_pointer, reader, reader_pointer)

    # -- the recursion ---------------------------------------------------------------------

    def _sub(self, w: Any, wp: str, r: Any, rp: str) -> list[Incompatibility]:
        self._budget -= 1
        if self._budget < 0:
            raise TooComplexError("the comparison needed more steps than its budget allows")
        w, wp = self._deref(self.writer, w, wp)
        r, rp = self._deref(self.reader, r, rp)
        key = (id(w), id(r))
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if key in self._in_progress:
            return []  # recursive schemas: assume the pair compatible while proving it
        if self._depth >= self._max_depth:
            raise TooComplexError(f"schemas are nested more than {self._max_depth} levels deep")
        self._in_progress.add(key)
        self._depth += 1
        try:
            result = self._compare(w, wp, r, rp)
        finally:
            self._depth -= 1
            self._in_progress.discard(key)
        self._memo[key] = result
        return result

    def _deref(self, resolver: RefResolver, node: Any, pointer: str) -> tuple[Any, str]:
        if isinstance(node, dict) and "$ref" in node:
            target, name = resolver.deref(node)
            if name is not None:
                pointer = name.partition("#")[2]
            if target is not node:
                self._keep_alive.append(target)
            node = target
        return node, pointer

    def _compare(self, w: Any, wp: str, r: Any, rp: str) -> list[Incompatibility]:
        if w is False:
            return []
        if r is True or (isinstance(r, dict) and _ANNOTATIONS.issuperset(r)):
            return []
        if r is False:
            return [Incompatibility("false", "", "the reader accepts nothing here", wp, rp)]
        if w is True or not isinstance(w, dict):
            w = {}
        if not isinstance(r, dict):
            return []
        if w == r and not _mentions_ref(w):
            return []
        if "allOf" in w:
            w = self._merge_all_of(w)
            if w is False:
                return []
        branches = self._writer_branches(w, wp, r)
        if branches is not None:
            issues = self._all_branches(branches, wp, r, rp)
            if "anyOf" in w and "oneOf" in r and "anyOf" not in r:
                # anyOf admits values matching several branches; oneOf rejects them.
                issues.append(
                    Incompatibility(
                        "one-of",
                        "",
                        "the reader requires exactly one branch to match, the writer any",
                        f"{wp}/anyOf",
                        f"{rp}/oneOf",
                    )
                )
            return issues
        return self._compare_plain(w, wp, r, rp)

    def _all_branches(
        self, branches: list[tuple[Any, str]], wp: str, r: Any, rp: str
    ) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        seen: set[tuple[str, str]] = set()
        for branch, pointer in branches:
            for issue in self._sub(branch, pointer, r, rp):
                if (issue.kind, issue.path) not in seen:
                    seen.add((issue.kind, issue.path))
                    issues.append(issue)
        return issues

    def _writer_branches(self, w: dict[str, Any], wp: str, r: dict[str, Any]) -> list[tuple[Any, str]] | None:
        """Split a writer union into branches (each with the writer's other keywords)."""
        for keyword in ("anyOf", "oneOf"):
            options = w.get(keyword)
            if isinstance(options, list) and options:
                base = {k: v for k, v in w.items() if k != keyword}
                return [
                    (
                        self._with_base(base, self._canonical(self._writer_canon, option)),
                        f"{wp}/{keyword}/{index}",
                    )
                    for index, option in enumerate(options)
                ]
        types = _types(w)
        if types and len(types) > 1 and ("anyOf" in r or "oneOf" in r):
            return [(self._keep({**w, "type": t}), wp) for t in sorted(types)]
        return None

    def _canonical(self, table: dict[bytes, Any], node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        try:
            key = orjson.dumps(node, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return node
        return table.setdefault(key, node)

    def _with_base(self, base: dict[str, Any], option: Any) -> Any:
        if not base or _ANNOTATIONS.issuperset(base):
            return option
        return self._keep(self._merge_all_of({**base, "allOf": [option]}))

    def _keep(self, schema: Any) -> Any:
        self._keep_alive.append(schema)
        return schema

    def _compare_plain(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        r_base = r
        if "allOf" in r and isinstance(r["allOf"], list):
            for index, part in enumerate(r["allOf"]):
                issues += self._sub(w, wp, part, f"{rp}/allOf/{index}")
            r_base = {k: v for k, v in r.items() if k != "allOf"}
        for keyword in ("anyOf", "oneOf"):
            options = r.get(keyword)
            if isinstance(options, list):
                issues += self._reader_union(keyword, options, w, wp, rp)
        if "not" in r:
            issues += self._reader_not(w, wp, r["not"], f"{rp}/not")
        if "if" in r:
            issues += self._conditional(w, wp, r, rp)
        finite = self._finite_writer(w, wp, r_base, rp)
        if finite is not None:
            return issues + finite
        issues += self._keywords(w, wp, r_base, rp)
        return issues

    # -- combinators -----------------------------------------------------------------------

    def _reader_union(
        self, keyword: str, options: list[Any], w: dict[str, Any], wp: str, rp: str
    ) -> list[Incompatibility]:
        for index, option in enumerate(options):
            option = self._canonical(self._reader_canon, option)
            if not self._sub(w, wp, option, f"{rp}/{keyword}/{index}"):
                return []
        kind = "one-of" if keyword == "oneOf" else "any-of"
        return [
            Incompatibility(kind, "", f"no {keyword} branch of the reader accepts it", wp, f"{rp}/{keyword}")
        ]

    def _reader_not(self, w: dict[str, Any], wp: str, excluded: Any, rp: str) -> list[Incompatibility]:
        if "not" in w:
            # W = ... and not A, R = ... and not B: enough that B is within A.
            if not self.swapped()._sub(excluded, rp, w["not"], f"{wp}/not"):
                return []
        else:
            excluded_node, _ = self._deref(self.reader, excluded, rp)
            w_types = _types(w)
            x_types = _types(excluded_node) if isinstance(excluded_node, dict) else None
            if w_types is not None and x_types is not None and not _overlaps(w_types, x_types):
                return []
        return [Incompatibility("not", "", "the reader excludes values the writer may send", wp, rp)]

    def _conditional(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        w_if, _ = self._deref(self.writer, w.get("if"), wp)
        r_if, _ = self._deref(self.reader, r.get("if"), rp)
        if w_if != r_if:
            return [
                Incompatibility(
                    "if",
                    "",
                    "the `if` condition changed",
                    f"{wp}/if",
                    f"{rp}/if",
                    w.get("if"),
                    r.get("if"),
                )
            ]
        issues: list[Incompatibility] = []
        base = {k: v for k, v in w.items() if k not in ("if", "then", "else")}
        for keyword in ("then", "else"):
            if keyword in r:
                branch = self._with_base(base, w.get(keyword, True))
                issues += self._sub(branch, f"{wp}/{keyword}", r[keyword], f"{rp}/{keyword}")
        return issues

    def _merge_all_of(self, schema: dict[str, Any]) -> Any:
        """Fold ``allOf`` into one schema; where a merge is not exact it errs wider."""
        cached = self._merge_cache.get(id(schema))
        if cached is not None:
            return cached
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf") or []:
            part, _ = self._deref(self.writer, part, "")
            if part is False:
                merged = False  # type: ignore[assignment]
                break
            if not isinstance(part, dict):
                continue
            if "allOf" in part:
                part = self._merge_all_of(part)
                if part is False:
                    merged = False  # type: ignore[assignment]
                    break
            for keyword, value in part.items():
                merged[keyword] = _combine(keyword, merged[keyword], value) if keyword in merged else value
        self._keep(schema)
        self._merge_cache[id(schema)] = self._keep(merged)
        return merged

    # -- finite writers (enum / const) -------------------------------------------------

    def _finite_writer(
        self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str
    ) -> list[Incompatibility] | None:
        """Compare value sets when either side lists its values; None when neither does."""
        w_values = _values(w)
        r_values = _values(r)
        if r_values is not None:
            keyword = "const" if "const" in r and "enum" not in r else "enum"
            if w_values is None:
                if w.get("type") in ("boolean", "null") and keyword == "enum":
                    w_values = [True, False] if w["type"] == "boolean" else [None]
                else:
                    return [
                        Incompatibility(
                            f"{keyword}-set",
                            "",
                            f"the reader now only accepts {_short(r_values)}",
                            wp,
                            f"{rp}/{keyword}",
                            None,
                            r_values,
                        )
                    ]
            missing = [v for v in w_values if not any(_json_equal(v, x) for x in r_values)]
            if missing:
                kind = "const" if keyword == "const" and "const" in w else "enum"
                return [
                    Incompatibility(
                        kind,
                        "",
                        f"{_short(missing)} no longer accepted",
                        wp,
                        f"{rp}/{keyword}",
                        w_values,
                        r_values,
                    )
                ]
            others = {k: v for k, v in r.items() if k not in ("enum", "const")}
            return self._keywords(w, wp, others, rp) if _constrains(others) else []
        if w_values is not None and self._all_valid(w_values, r):
            return []
        return None

    def _all_valid(self, values: list[Any], r: dict[str, Any]) -> bool:
        if _mentions_ref(r):
            return False
        try:
            validator = jsonschema.validators.validator_for(r, default=jsonschema.Draft202012Validator)(r)
            return all(validator.is_valid(value) for value in values)
        except (jsonschema.SchemaError, TypeError, re.error):
            return False

    # -- keyword families ------------------------------------------------------------------

    def _keywords(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        w_types = _types(w)
        r_types = _types(r)
        if r_types is not None:
            issues += _type_issues(w_types, r_types, w, wp, r, rp)
        active = w_types if w_types is not None else _ALL_TYPES
        if r_types is not None:
            active = active & (r_types | ({"integer"} if "number" in r_types else set()))
        if active & _NUMERIC:
            issues += _numeric_issues(w, wp, r, rp)
        if active & _STRING:
            issues += _string_issues(w, wp, r, rp)
        if active & _ARRAY:
            issues += self._array_issues(w, wp, r, rp)
        if active & _OBJECT:
            issues += self._object_issues(w, wp, r, rp)
        return issues

    def _child(self, token: str, w: Any, wp: str, r: Any, rp: str) -> list[Incompatibility]:
        issues = self._sub(w, wp, r, rp)
        return [replace(issue, path=token + issue.path) for issue in issues] if issues else issues

    def _array_issues(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues = _bound_issues(w, wp, r, rp, "minItems", "maxItems", "min-items", "max-items")
        w_prefix, w_rest, w_rest_key = _tuple_view(w)
        r_prefix, r_rest, r_rest_key = _tuple_view(r)
        w_prefix_key = "prefixItems" if "prefixItems" in w else "items"
        r_prefix_key = "prefixItems" if "prefixItems" in r else "items"
        for index in range(max(len(w_prefix), len(r_prefix))):
            if index < len(w_prefix):
                ws, wsp = w_prefix[index], f"{wp}/{w_prefix_key}/{index}"
            else:
                ws, wsp = w_rest, f"{wp}/{w_rest_key}"
            if index < len(r_prefix):
                rs, rsp = r_prefix[index], f"{rp}/{r_prefix_key}/{index}"
            else:
                rs, rsp = r_rest, f"{rp}/{r_rest_key}"
            if ws is False or _is_max_reached(w, index):
                continue
            if rs is False:
                issues.append(
                    Incompatibility(
                        "tuple-item",
                        f"[{index}]",
                        f"the reader accepts no item at position {index}",
                        wsp,
                        rsp,
                    )
                )
                continue
            issues += self._child(f"[{index}]", ws, wsp, rs, rsp)
        if w_rest is not False and not _is_max_reached(w, max(len(w_prefix), len(r_prefix))):
            if r_rest is False and len(r_prefix) >= len(w_prefix):
                issues.append(
                    Incompatibility(
                        "tuple-item",
                        "[]",
                        f"the reader accepts no items past position {len(r_prefix) - 1}",
                        f"{wp}/{w_rest_key}",
                        f"{rp}/{r_rest_key}",
                    )
                )
            elif r_rest is not True:
                issues += self._child("[]", w_rest, f"{wp}/{w_rest_key}", r_rest, f"{rp}/{r_rest_key}")
        if r.get("uniqueItems") is True and w.get("uniqueItems") is not True:
            issues.append(
                Incompatibility(
                    "unique-items",
                    "",
                    "the reader requires unique items",
                    wp,
                    f"{rp}/uniqueItems",
                    w.get("uniqueItems"),
                    True,
                )
            )
        if "contains" in r:
            if "contains" not in w:
                issues.append(
                    Incompatibility(
                        "contains",
                        "",
                        "the reader requires an item matching `contains`",
                        wp,
                        f"{rp}/contains",
                    )
                )
            else:
                issues += self._child("[]", w["contains"], f"{wp}/contains", r["contains"], f"{rp}/contains")
        issues += _bound_issues(w, wp, r, rp, "minContains", "maxContains", "min-contains", "max-contains")
        return issues

    def _object_issues(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues = _bound_issues(
            w, wp, r, rp, "minProperties", "maxProperties", "min-properties", "max-properties"
        )
        w_props = _mapping(w.get("properties"))
        r_props = _mapping(r.get("properties"))
        w_patterns = _mapping(w.get("patternProperties"))
        r_patterns = _mapping(r.get("patternProperties"))
        open_default = self.policy == "strict"
        w_extra = w.get(
            "additionalProperties",
            open_default if "patternProperties" not in w or open_default else False,
        )
        r_extra = r.get("additionalProperties", True)
        for name in {**w_props, **r_props}:
            ws, wsp = _schema_for(name, w_props, w_patterns, w_extra, wp)
            rs, rsp = _schema_for(name, r_props, r_patterns, r_extra, rp)
            if ws is False:
                continue
            token = f".{name}"
            if rs is False:
                if name in w_props:
                    issues.append(
                        Incompatibility(
                            "property-not-accepted",
                            token,
                            f"property `{name}` is not accepted by the reader",
                            wsp,
                            rsp,
                        )
                    )
                else:
                    issues.append(
                        Incompatibility("false", token, f"the reader forbids property `{name}`", wsp, rsp)
                    )
                continue
            issues += self._child(token, ws, wsp, rs, rsp)
        for pattern, rs in r_patterns.items():
            if pattern in w_patterns:
                issues += self._child(
                    f".~{pattern}",
                    w_patterns[pattern],
                    f"{wp}/patternProperties/{pattern}",
                    rs,
                    f"{rp}/patternProperties/{pattern}",
                )
            elif w_extra is not False:
                issues += self._child(
                    f".~{pattern}",
                    w_extra,
                    f"{wp}/additionalProperties",
                    rs,
                    f"{rp}/patternProperties/{pattern}",
                )
        for pattern, ws in w_patterns.items():
            if pattern not in r_patterns:
                issues += self._child(
                    f".~{pattern}",
                    ws,
                    f"{wp}/patternProperties/{pattern}",
                    r_extra,
                    f"{rp}/additionalProperties",
                )
        if w_extra is not False and r_extra is not True:
            if r_extra is False:
                issues.append(
                    Incompatibility(
                        "additional-properties",
                        ".*",
                        "the reader no longer accepts undeclared properties",
                        f"{wp}/additionalProperties",
                        f"{rp}/additionalProperties",
                        w_extra,
                        False,
                    )
                )
            else:
                issues += self._child(
                    ".*",
                    w_extra,
                    f"{wp}/additionalProperties",
                    r_extra,
                    f"{rp}/additionalProperties",
                )
        issues += _required_issues(w, wp, r, rp, w_props)
        issues += self._dependency_issues(w, wp, r, rp)
        if "propertyNames" in r:
            if "propertyNames" in w:
                issues += self._child(
                    ".*",
                    w["propertyNames"],
                    f"{wp}/propertyNames",
                    r["propertyNames"],
                    f"{rp}/propertyNames",
                )
            elif r["propertyNames"] is not True:
                issues.append(
                    Incompatibility(
                        "property-names",
                        "",
                        "the reader restricts property names",
                        wp,
                        f"{rp}/propertyNames",
                    )
                )
        return issues

    def _dependency_issues(
        self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str
    ) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        w_required = set(_list(w.get("required")))
        w_deps = {
            **_mapping(w.get("dependencies")),
            **_mapping(w.get("dependentRequired")),
            **_mapping(w.get("dependentSchemas")),
        }
        for keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
            for trigger, needed in _mapping(r.get(keyword)).items():
                pointer = f"{rp}/{keyword}/{trigger}"
                have = w_deps.get(trigger)
                if isinstance(needed, list):
                    missing = set(needed) - set(_list(have)) - w_required
                    if missing:
                        issues.append(
                            Incompatibility(
                                "dependency",
                                "",
                                f"when `{trigger}` is present the reader also requires {_short(sorted(missing))}",
                                wp,
                                pointer,
                                have,
                                needed,
                            )
                        )
                elif have is None:
                    issues.append(
                        Incompatibility(
                            "dependency",
                            "",
                            f"the reader adds a schema dependency on `{trigger}`",
                            wp,
                            pointer,
                            None,
                            needed,
                        )
                    )
                elif isinstance(have, (dict, bool)):
                    issues += self._sub(have, f"{wp}/{keyword}/{trigger}", needed, pointer)
        return issues


# -- pure helpers -----------------------------------------------------------------------------


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
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


def _overlaps(a: frozenset[str], b: frozenset[str]) -> bool:
    widen = lambda types: types | ({"integer"} if "number" in types else set())  # noqa: E731
    return bool(widen(a) & widen(b))


def _type_issues(
    w_types: frozenset[str] | None,
    r_types: frozenset[str],
    w: dict[str, Any],
    wp: str,
    r: dict[str, Any],
    rp: str,
) -> list[Incompatibility]:
    if w_types is None:
        return [
            Incompatibility(
                "type",
                "",
                f"the reader accepts only {_type_text(r_types)}, the writer any type",
                wp,
                f"{rp}/type",
                None,
                r.get("type"),
            )
        ]
    extra = set(w_types - r_types)
    if "integer" in extra and "number" in r_types:
        extra.discard("integer")
    if not extra:
        return []
    if extra == {"null"}:
        return [
            Incompatibility("nullable", "", "the reader does not accept null", wp, f"{rp}/type", True, False)
        ]
    return [
        Incompatibility(
            "type",
            "",
            f"type {_type_text(w_types)} became {_type_text(r_types)}",
            f"{wp}/type",
            f"{rp}/type",
            w.get("type"),
            r.get("type"),
        )
    ]


def _type_text(types: Iterable[str]) -> str:
    return " or ".join(sorted(types))


def _lower(schema: dict[str, Any]) -> tuple[float, bool] | None:
    """The lower bound as (value, exclusive), reading draft-4 boolean exclusives too."""
    bound = None
    minimum = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    if _is_number(minimum):
        bound = (minimum, exclusive is True)
    if _is_number(exclusive) and (bound is None or exclusive >= bound[0]):
        bound = (exclusive, True)
    return bound


def _upper(schema: dict[str, Any]) -> tuple[float, bool] | None:
    bound = None
    maximum = schema.get("maximum")
    exclusive = schema.get("exclusiveMaximum")
    if _is_number(maximum):
        bound = (maximum, exclusive is True)
    if _is_number(exclusive) and (bound is None or exclusive <= bound[0]):
        bound = (exclusive, True)
    return bound


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_issues(w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
    issues: list[Incompatibility] = []
    r_low, w_low = _lower(r), _lower(w)
    if r_low is not None and (
        w_low is None or w_low[0] < r_low[0] or (w_low[0] == r_low[0] and r_low[1] and not w_low[1])
    ):
        issues.append(
            Incompatibility(
                "minimum",
                "",
                f"minimum {_bound_text(w_low)} became {_bound_text(r_low)}",
                f"{wp}/minimum",
                f"{rp}/minimum",
                _bound_value(w_low),
                _bound_value(r_low),
            )
        )
    r_high, w_high = _upper(r), _upper(w)
    if r_high is not None and (
        w_high is None or w_high[0] > r_high[0] or (w_high[0] == r_high[0] and r_high[1] and not w_high[1])
    ):
        issues.append(
            Incompatibility(
                "maximum",
                "",
                f"maximum {_bound_text(w_high)} became {_bound_text(r_high)}",
                f"{wp}/maximum",
                f"{rp}/maximum",
                _bound_value(w_high),
                _bound_value(r_high),
            )
        )
    r_step, w_step = r.get("multipleOf"), w.get("multipleOf")
    if (
        _is_number(r_step)
        and r_step > 0
        and not (_is_number(w_step) and w_step > 0 and _is_multiple(w_step, r_step))
    ):
        issues.append(
            Incompatibility(
                "multiple-of",
                "",
                f"multipleOf {w_step if w_step is not None else 'none'} became {r_step}",
                f"{wp}/multipleOf",
                f"{rp}/multipleOf",
                w_step,
                r_step,
            )
        )
    return issues


def _is_multiple(value: float, step: float) -> bool:
    quotient = value / step
    return math.isclose(quotient, round(quotient), rel_tol=1e-9, abs_tol=1e-9)


def _bound_text(bound: tuple[float, bool] | None) -> str:
    if bound is None:
        return "none"
    return f"{bound[0]} (exclusive)" if bound[1] else str(bound[0])


def _bound_value(bound: tuple[float, bool] | None) -> Any:
    return None if bound is None else bound[0]


def _bound_issues(
    w: dict[str, Any],
    wp: str,
    r: dict[str, Any],
    rp: str,
    low_key: str,
    high_key: str,
    low_kind: str,
    high_kind: str,
) -> list[Incompatibility]:
    issues: list[Incompatibility] = []
    r_low, w_low = r.get(low_key), w.get(low_key)
    if _is_number(r_low) and r_low > 0 and not (_is_number(w_low) and w_low >= r_low):
        issues.append(
            Incompatibility(
                low_kind,
                "",
                f"{low_key} {w_low if w_low is not None else 'none'} became {r_low}",
                f"{wp}/{low_key}",
                f"{rp}/{low_key}",
                w_low,
                r_low,
            )
        )
    r_high, w_high = r.get(high_key), w.get(high_key)
    if _is_number(r_high) and not (_is_number(w_high) and w_high <= r_high):
        issues.append(
            Incompatibility(
                high_kind,
                "",
                f"{high_key} {w_high if w_high is not None else 'none'} became {r_high}",
                f"{wp}/{high_key}",
                f"{rp}/{high_key}",
                w_high,
                r_high,
            )
        )
    return issues


def _string_issues(w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
    issues = _bound_issues(w, wp, r, rp, "minLength", "maxLength", "min-length", "max-length")
    if "pattern" in r and r["pattern"] != w.get("pattern"):
        kind = "pattern-set" if "pattern" not in w else "pattern"
        issues.append(
            Incompatibility(
                kind,
                "",
                f"pattern {w.get('pattern')!r} became {r['pattern']!r}",
                f"{wp}/pattern",
                f"{rp}/pattern",
                w.get("pattern"),
                r["pattern"],
            )
        )
    r_format, w_format = r.get("format"), w.get("format")
    if r_format is not None and r_format != w_format and (w_format, r_format) not in _FORMAT_WIDENINGS:
        kind = "format-set" if w_format is None else "format"
        issues.append(
            Incompatibility(
                kind,
                "",
                f"format {w_format or 'none'} became {r_format}",
                f"{wp}/format",
                f"{rp}/format",
                w_format,
                r_format,
            )
        )
    for keyword, kind in (
        ("contentEncoding", "content-encoding"),
        ("contentMediaType", "content-media-type"),
    ):
        if keyword in r and r[keyword] != w.get(keyword):
            issues.append(
                Incompatibility(
                    kind,
                    "",
                    f"{keyword} {w.get(keyword) or 'none'} became {r[keyword]}",
                    f"{wp}/{keyword}",
                    f"{rp}/{keyword}",
                    w.get(keyword),
                    r[keyword],
                )
            )
    return issues


def _required_issues(
    w: dict[str, Any], wp: str, r: dict[str, Any], rp: str, w_props: dict[str, Any]
) -> list[Incompatibility]:
    w_required = set(_list(w.get("required")))
    issues = []
    for name in _list(r.get("required")):
        if name not in w_required:
            kind = "became-required" if name in w_props else "required-added"
            issues.append(
                Incompatibility(
                    kind,
                    f".{name}",
                    f"property `{name}` is required by the reader, optional for the writer",
                    f"{wp}/properties/{name}",
                    f"{rp}/required",
                )
            )
    return issues


def _schema_for(
    name: str, props: dict[str, Any], patterns: dict[str, Any], extra: Any, pointer: str
) -> tuple[Any, str]:
    """The schema one side applies to a property name, and where it says so."""
    if name in props:
        return props[name], f"{pointer}/properties/{_escape(name)}"
    for pattern, schema in patterns.items():
        try:
            if re.search(pattern, name):
                return schema, f"{pointer}/patternProperties/{_escape(pattern)}"
        except re.error:
            continue
    return extra, f"{pointer}/additionalProperties"


def _tuple_view(schema: dict[str, Any]) -> tuple[Sequence[Any], Any, str]:
    """Positional item schemas, the schema for the rest, and the rest's keyword."""
    if isinstance(schema.get("prefixItems"), list):
        return schema["prefixItems"], schema.get("items", True), "items"
    items = schema.get("items", True)
    if isinstance(items, list):
        return items, schema.get("additionalItems", True), "additionalItems"
    return [], items, "items"


def _is_max_reached(schema: dict[str, Any], index: int) -> bool:
    limit = schema.get("maxItems")
    return _is_number(limit) and index >= limit


def _values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _constrains(schema: dict[str, Any]) -> bool:
    return any(k not in _ANNOTATIONS and k != "type" for k in schema)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _combine(keyword: str, a: Any, b: Any) -> Any:
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
        and _is_number(a)
        and _is_number(b)
    ):
        return max(a, b)
    if (
        keyword in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum")
        and _is_number(a)
        and _is_number(b)
    ):
        return min(a, b)
    if keyword == "enum" and isinstance(a, list) and isinstance(b, list):
        return [v for v in a if any(_json_equal(v, x) for x in b)]
    if (
        keyword in ("additionalProperties", "items", "propertyNames", "contains")
        and isinstance(a, dict)
        and isinstance(b, dict)
    ):
        return {"allOf": [a, b]}
    return a


def _mentions_ref(schema: Any) -> bool:
    """Whether a subtree may hold a ``$ref`` (serialising in C is far quicker than walking)."""
    try:
        return b'"$ref"' in orjson.dumps(schema)
    except TypeError:
        return True


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _short(values: Sequence[Any]) -> str:
    shown = ", ".join(orjson.dumps(v).decode() for v in list(values)[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")
