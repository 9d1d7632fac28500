"""Compatibility modes, following the schema-registry convention, built on one primitive.

``BACKWARD``: the new version reads what the old wrote. ``FORWARD``: the old reads what
the new writes. ``FULL``: both. The ``_TRANSITIVE`` forms check against every earlier
version given, not only the latest. ``NONE`` checks nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

from stockplane.documents import Document

from ..refs import RefResolver
from .catalogue import RULES, SCHEMA_CONTEXTS, schema_rule_id
from .findings import Finding, Location, Severity
from .schema_compat import Incompatibility, Policy, SchemaReader, TooComplexError

__all__ = ["Mode", "Side", "compare_schemas", "schema_compatibility", "to_findings"]


class Mode(StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")


@dataclass
class Side:
    """One version of a contract: the parsed document and its reference resolver."""

    document: Document
    resolver: RefResolver

    @classmethod
    def of(cls, document: Document, **kwargs: object) -> Side:
        return cls(document, RefResolver(document, **kwargs))  # type: ignore[arg-type]


def compare_schemas(
    writer: Side,
    writer_schema: object,
    writer_pointer: str,
    reader: Side,
    reader_schema: object,
    reader_pointer: str,
    *,
    policy: Policy,
    budget: int,
    engine: SchemaReader | None = None,
) -> list[Incompatibility]:
    """Run the primitive; a blown budget becomes one ``too-complex`` incompatibility.

    Pass the same ``engine`` for many checks between two documents to share its memo.
    """
    engine = engine or SchemaReader(writer.resolver, reader.resolver, policy=policy, budget=budget)
    try:
        issues = engine.check(
            writer_schema, reader_schema, writer_pointer=writer_pointer, reader_pointer=reader_pointer
        )
    except TooComplexError as exc:
        return [Incompatibility("too-complex", "", str(exc), writer_pointer, reader_pointer)]
    except RecursionError:
        reason = "schemas are nested too deeply to compare"
        return [Incompatibility("too-complex", "", reason, writer_pointer, reader_pointer)]
    # A recursive or shared schema can surface one cause along several instance paths:
    # report it once, at its shortest path.
    shortest: dict[tuple[str, str, str], Incompatibility] = {}
    for issue in sorted(issues, key=lambda i: len(i.path)):
        shortest.setdefault((issue.kind, issue.writer_pointer, issue.reader_pointer), issue)
    return [i for i in issues if shortest[(i.kind, i.writer_pointer, i.reader_pointer)] is i]


def to_findings(
    issues: Sequence[Incompatibility],
    *,
    new: Side,
    reader_is_new: bool,
    context_of: Callable[[Incompatibility], str],
    prefix: str = "",
    name: Callable[[Incompatibility], str] | None = None,
) -> list[Finding]:
    """Name each incompatibility as a catalogue rule, located in the new document."""
    findings: list[Finding] = []
    for issue in issues:
        pointer = issue.reader_pointer if reader_is_new else issue.writer_pointer
        location = Location(pointer, new.document.source, new.document.line_of(pointer))
        if issue.kind == "too-complex":
            findings.append(
                Finding("comparison-too-complex", Severity.ERROR, f"{prefix}{issue.detail}", location)
            )
            continue
        context = context_of(issue)
        rule_id = schema_rule_id(issue.kind, context, reader_is_new=reader_is_new)
        rule = RULES[rule_id]
        label = SCHEMA_CONTEXTS[context][0]
        subject = name(issue) if name else issue.path.lstrip(".")
        where = f"{label} `{subject}`" if subject else label
        old, new_value = (
            (issue.writer_value, issue.reader_value)
            if reader_is_new
            else (issue.reader_value, issue.writer_value)
        )
        summary = rule.summary.split(": ", 1)[-1]
        change = f" ({_show(old)} → {_show(new_value)})" if old is not None or new_value is not None else ""
        findings.append(
            Finding(rule_id, rule.severity, f"{prefix}{where}: {summary}{change}", location, old, new_value)
        )
    return findings


def schema_compatibility(
    old: Side,
    new: Side,
    *,
    mode: Mode,
    policy: Policy = "lenient",
    earlier: Sequence[Side] = (),
    budget: int = 300_000,
) -> list[Finding]:
    """Findings for an event (JSON Schema) contract change under ``mode``."""
    if mode is Mode.NONE:
        return []
    others = [*earlier, old] if mode.transitive else [old]
    findings: list[Finding] = []
    for previous in others:
        against = "" if previous is old else f"(against {previous.document.source}) "
        if mode.backward:
            issues = compare_schemas(
                previous, previous.document.data, "", new, new.document.data, "", policy=policy, budget=budget
            )
            findings += to_findings(
                issues, new=new, reader_is_new=True, context_of=lambda _: "schema", prefix=against
            )
        if mode.forward:
            issues = compare_schemas(
                new, new.document.data, "", previous, previous.document.data, "", policy=policy, budget=budget
            )
            findings += to_findings(
                issues, new=new, reader_is_new=False, context_of=lambda _: "schema", prefix=against
            )
    return _unique(findings)


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str]] = set()
    result = []
    for finding in findings:
        key = (finding.rule, finding.location.pointer, finding.message)
        if key not in seen:
            seen.add(key)
            result.append(finding)
    return result
