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

import re
from dataclasses import replace
from typing import Any

import jsonschema
import orjson

from stockplane.errors import DocumentError

from ..refs import RefResolver
from .identity import pair_key
from .schema_keywords import numeric_issues, string_issues, type_issues
from .schema_structures import StructureChecks
from .schema_vocab import (
    ALL_TYPES,
    ANNOTATIONS,
    ARRAY,
    NUMERIC,
    OBJECT,
    STRING,
    Incompatibility,
    Policy,
    TooComplexError,
    combine,
    constrains,
    json_equal,
    mentions_ref,
    overlaps,
    ref_names,
    short_values,
    types_of,
    values_of,
)

__all__ = ["Incompatibility", "Policy", "SchemaReader", "TooComplexError"]


class SchemaReader(StructureChecks):
    """Compares schemas from two documents (each with its own ``$ref`` resolver)."""

    def __init__(
        self,
        writer: RefResolver,
        reader: RefResolver,
        *,
        policy: Policy = "lenient",
        budget: int = 300_000,
        max_depth: int = 64,
        absent_flag: str | None = None,
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.policy = policy
        # Properties marked with this flag never travel in this direction (OpenAPI:
        # readOnly ones are not in requests, writeOnly ones not in responses).
        self.absent_flag = absent_flag
        self._budget_per_check = budget
        self._budget = budget
        self._max_depth = max_depth
        self._depth = 0
        self._memo: dict[int, list[Incompatibility]] = {}
        self._in_progress: set[int] = set()
        self._keep_alive: list[Any] = []  # ids of merged schemas must stay unique while memoised
        self._merge_cache: dict[int, Any] = {}
        # Union branches with equal content share one object (per document), so nested
        # unions that repeat themselves hit the memo instead of multiplying the work.
        self._writer_canon: dict[bytes, Any] = {}
        self._reader_canon: dict[bytes, Any] = {}
        self._unchanged: dict[str, bool] = {}  # ref name -> target and its closure equal in both

    def swapped(self) -> SchemaReader:
        """The same comparison with writer and reader documents exchanged (for ``not``)."""
        other = SchemaReader(
            self.reader,
            self.writer,
            policy=self.policy,
            budget=max(self._budget, 0),
            absent_flag=self.absent_flag,
        )
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
        key = pair_key(w, r)
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
        if r is True or (isinstance(r, dict) and ANNOTATIONS.issuperset(r)):
            return []
        if r is False:
            return [Incompatibility("false", "", "the reader accepts nothing here", wp, rp)]
        if w is True or not isinstance(w, dict):
            w = {}
        if not isinstance(r, dict):
            return []
        if w == r and self._refs_unchanged(w):
            return []  # equal, and so is everything it refers to: nothing to compare
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
        types = types_of(w)
        if types and len(types) > 1 and ("anyOf" in r or "oneOf" in r):
            return [(self._keep({**w, "type": t}), wp) for t in sorted(types)]
        return None

    def _refs_unchanged(self, schema: Any) -> bool:
        """Whether every reference in ``schema`` resolves, in both documents, to equal targets
        whose own references do too. Checked with C-level equality, once per name."""
        names = ref_names(schema)
        return all(self._unchanged_target(name) for name in names)

    def _unchanged_target(self, name: str) -> bool:
        known = self._unchanged.get(name)
        if known is not None:
            return known
        seen, queue, same = {name}, [name], True
        while queue and same:
            current = queue.pop()
            if self._unchanged.get(current) is True:
                continue
            try:
                writer_target, _ = self.writer.resolve(current)
                reader_target, _ = self.reader.resolve(current)
            except DocumentError:
                same = False
                break
            if writer_target != reader_target or self._unchanged.get(current) is False:
                same = False
                break
            for child in ref_names(writer_target):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        if same:  # every name reached is equal, and so is everything each of them reaches
            self._unchanged.update(dict.fromkeys(seen, True))
        else:
            self._unchanged[name] = False
        return same

    def _canonical(self, table: dict[bytes, Any], node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        try:
            key = orjson.dumps(node, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return node
        return table.setdefault(key, node)

    def _with_base(self, base: dict[str, Any], option: Any) -> Any:
        if not base or ANNOTATIONS.issuperset(base):
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
            # evaluation spreads over the allOf parts: unevaluated* cannot be judged on the base
            r_base = {k: v for k, v in r.items() if k not in ("allOf", "unevaluatedProperties")}
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
            w_types = types_of(w)
            x_types = types_of(excluded_node) if isinstance(excluded_node, dict) else None
            if w_types is not None and x_types is not None and not overlaps(w_types, x_types):
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
                merged[keyword] = combine(keyword, merged[keyword], value) if keyword in merged else value
        self._keep(schema)
        self._merge_cache[id(schema)] = self._keep(merged)
        return merged

    # -- finite writers (enum / const) -------------------------------------------------

    def _finite_writer(
        self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str
    ) -> list[Incompatibility] | None:
        """Compare value sets when either side lists its values; None when neither does."""
        w_values = values_of(w)
        r_values = values_of(r)
        if r_values is not None:
            keyword = "const" if "const" in r and "enum" not in r else "enum"
            if w_values is None:
                w_types = types_of(w)
                r_types = types_of(r)
                if w_types and r_types is not None and not overlaps(w_types, r_types):
                    return type_issues(w_types, r_types, w, wp, r, rp)  # say "type", not "enum"
                if w.get("type") in ("boolean", "null") and keyword == "enum":
                    w_values = [True, False] if w["type"] == "boolean" else [None]
                else:
                    return [
                        Incompatibility(
                            f"{keyword}-set",
                            "",
                            f"the reader now only accepts {short_values(r_values)}",
                            wp,
                            f"{rp}/{keyword}",
                            None,
                            r_values,
                        )
                    ]
            missing = [v for v in w_values if not any(json_equal(v, x) for x in r_values)]
            if missing:
                kind = "const" if keyword == "const" and "const" in w else "enum"
                return [
                    Incompatibility(
                        kind,
                        "",
                        f"{short_values(missing)} no longer accepted",
                        wp,
                        f"{rp}/{keyword}",
                        w_values,
                        r_values,
                    )
                ]
            others = {k: v for k, v in r.items() if k not in ("enum", "const")}
            return self._keywords(w, wp, others, rp) if constrains(others) else []
        if w_values is not None and self._all_valid(w_values, r):
            return []
        return None

    def _all_valid(self, values: list[Any], r: dict[str, Any]) -> bool:
        if mentions_ref(r):
            return False
        try:
            validator = jsonschema.validators.validator_for(r, default=jsonschema.Draft202012Validator)(r)
            return all(validator.is_valid(value) for value in values)
        except (jsonschema.SchemaError, TypeError, re.error):
            return False

    # -- keyword families ------------------------------------------------------------------

    def _keywords(self, w: dict[str, Any], wp: str, r: dict[str, Any], rp: str) -> list[Incompatibility]:
        issues: list[Incompatibility] = []
        w_types = types_of(w)
        r_types = types_of(r)
        if r_types is not None:
            issues += type_issues(w_types, r_types, w, wp, r, rp)
        active = w_types if w_types is not None else ALL_TYPES
        if r_types is not None:
            active = active & (r_types | ({"integer"} if "number" in r_types else set()))
        if active & NUMERIC:
            issues += numeric_issues(w, wp, r, rp)
        if active & STRING:
            issues += string_issues(w, wp, r, rp)
        if active & ARRAY:
            issues += self._array_issues(w, wp, r, rp)
        if active & OBJECT:
            issues += self._object_issues(w, wp, r, rp)
        return issues

    def _child(self, token: str, w: Any, wp: str, r: Any, rp: str) -> list[Incompatibility]:
        issues = self._sub(w, wp, r, rp)
        return [replace(issue, path=token + issue.path) for issue in issues] if issues else issues
